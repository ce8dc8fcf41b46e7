"""How well a diffusion model's reach matches what the log did next: a calibration check on held-out days.

The log is cut at ``at - window``; probabilities are learned (or set) on what
came before, and the mean expected IC reach per account known before the cut
(each account seeded alone, :func:`graphcrm.algorithms.expected_reach`, minus the seed)
is set beside the mean reach those accounts actually had in the ``window``
after the cut (time-respecting chains of events,
:func:`graphcrm.algorithms.cascades.cascade_reach`).  ``ratio`` is predicted / actual:
1.0 is calibrated, within 0.8-1.2 is the ±20% a planner can budget on.

On bursty logs no constant factor transfers: on higgs-twitter the factor that
calibrates ``learned`` on the 32 hours before 2012-07-05 (the peak of the
Higgs announcement, 34 reached per account) is 85x too high for the three
days after it.  So the check is reported, not silently applied;
``--prob learned*S`` scales the learned probabilities by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from graphcrm.algorithms.centrality import expected_reach
from graphcrm.algorithms.forecast_features import known_accounts, log_span, window_targets
from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.graph import SocialGraph


@dataclass
class ReachCalibration:
    """Mean reach per known account: predicted by ``model`` vs actual in the held-out window."""

    model: str
    window: int
    cut: int
    accounts: int
    mean_predicted: float
    mean_actual: float

    @property
    def ratio(self) -> float | None:
        """Predicted / actual; None when nothing was reached in the held-out window (no ratio to speak of)."""
        return self.mean_predicted / self.mean_actual if self.mean_actual > 0 else None

    @property
    def within_20_percent(self) -> bool:
        return self.ratio is not None and 0.8 <= self.ratio <= 1.2

    def to_dict(self) -> dict:
        return asdict(self) | {"ratio": self.ratio, "within_20_percent": self.within_20_percent}

    def describe(self) -> str:
        verdict = (f"({self.ratio:.2f}x; {'within' if self.within_20_percent else 'outside'} +-20%)"
                   if self.ratio is not None else "(nothing was reached in the held-out window: no ratio)")
        return (f"calibration of --prob {self.model} on the last {self.window / 3600:.0f} hours of the log: mean reach "
                f"per account {self.mean_predicted:.3f} predicted vs {self.mean_actual:.3f} actual {verdict}, "
                f"{self.accounts:,} accounts")


def reach_calibration(graph: SocialGraph, layer: str, model: str = "learned", *, at: int | None = None,
                      window: int | None = None, n_samples: int = 100_000, seed: int = 0) -> ReachCalibration:
    """Check ``model``'s mean reach against the held-out window ``[at - window, at)`` of ``layer``'s log.

    Examples
    --------
    >>> import numpy as np
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> rng = np.random.default_rng(0)
    >>> n = 3000
    >>> g = GraphBuilder().add_events("retweets", rng.integers(0, 300, n), rng.integers(0, 300, n),
    ...                               time=np.sort(rng.integers(0, 30 * 86400, n))).build()
    >>> cal = reach_calibration(g, "retweets", n_samples=20_000)
    >>> cal.window // 86400, cal.mean_actual > 0       # a third of the 30-day log held out
    (9, True)
    """
    lay = graph.layer(layer)
    if lay.events is None or len(lay.events) == 0:
        raise ParameterError(f"layer '{layer}' has no interaction log to check the reach calibration on")
    first, end = log_span(graph)
    at = end if at is None else int(at)
    window = int(window or (at - first) // 3)
    cut = at - window
    if window < 60 or cut <= first:
        raise ParameterError("the log is too short to hold out a window for a calibration check")
    train = graph.window(end=cut)
    _, actual = window_targets(graph, layer, cut, at)
    known = known_accounts(train, cut)
    if not known.any():
        raise ParameterError("no account was active before the held-out window: nothing to check the reach "
                             "calibration on")
    est = expected_reach(train, layer=layer, model=model, n_samples=n_samples, seed=seed)
    return ReachCalibration(model, window, cut, int(known.sum()), float((est.values[known] - 1.0).mean()),
                            float(actual[known].mean()))
