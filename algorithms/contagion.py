"""Time-stepped epidemics (SIR, SIS) and competing positive / negative word-of-mouth.

* :func:`simulate_epidemic` -- SIR: an infected account keeps trying its
  audience every step until it recovers (probability ``recovery`` per
  step), so a message lingers; ``recovery=1`` is Independent Cascade.  SIS:
  recovered accounts become susceptible again (recurring chatter).
* :func:`simulate_competition` -- the negative word-of-mouth scenario: a
  negative cascade from unhappy customers races a positive one from the
  brand's advocates (two Independent Cascades, each account adopts the first
  campaign that reaches it; Budak, Agrawal & El Abbadi, WWW 2011).  Reports
  how far the negative side goes with and without the advocates, i.e. how
  many accounts the advocates save.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from graphcrm.algorithms import _contagion_kernels as _k
from graphcrm.algorithms.probabilities import edge_probabilities, trivalency_keys
from graphcrm.loaders.errors import ParameterError, whole_number
from graphcrm.loaders.graph import Layer, SocialGraph, layer_of
from graphcrm.loaders.idmap import id_list


def _interval(sizes: np.ndarray) -> tuple[float, float, float]:
    mean = float(sizes.mean())
    half = 1.96 * float(sizes.std(ddof=1)) / np.sqrt(len(sizes)) if len(sizes) > 1 else float("inf")
    return mean, mean - half, mean + half


@dataclass(frozen=True, eq=False)
class EpidemicEstimate:
    """SIR / SIS outcome: ever-infected accounts (mean, 95% interval), infected per step, per-account probability."""

    mean: float
    ci_low: float
    ci_high: float
    sizes: np.ndarray
    prevalence: np.ndarray
    ever_infected_probability: np.ndarray
    info: Mapping = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    def __repr__(self) -> str:
        return (f"EpidemicEstimate(ever infected {self.mean:,.1f} (95% CI {self.ci_low:,.1f} .. {self.ci_high:,.1f}), "
                f"{len(self.sizes):,} runs, {len(self.prevalence)} steps; .steps_frame())")

    def steps_frame(self) -> pd.DataFrame:
        """``step, infected`` (mean accounts infected at each step)."""
        return pd.DataFrame({"step": np.arange(len(self.prevalence)), "infected": self.prevalence})


@dataclass(frozen=True, eq=False)
class CompetitionEstimate:
    """Two competing cascades: reach of each side (mean, 95% interval) and the negative reach without advocates."""

    positive: tuple
    negative: tuple
    negative_alone: tuple
    positive_probability: np.ndarray
    negative_probability: np.ndarray
    info: Mapping = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    def __repr__(self) -> str:
        def side(t):
            return f"{float(t[0]):,.1f} (95% CI {float(t[1]):,.1f} .. {float(t[2]):,.1f})" if len(t) >= 3 else str(t)

        return (f"CompetitionEstimate(positive reach {side(self.positive)}, negative reach {side(self.negative)}, "
                f"negative alone {side(self.negative_alone)})")

    @property
    def saved(self) -> float:
        """Accounts the advocates keep from the negative side (expected)."""
        return self.negative_alone[0] - self.negative[0]


def _prepare(graph, layer, seeds, prob, seed):
    lay = layer_of(graph, layer).positive()
    dense = np.unique(graph.index_of(id_list(seeds))).astype(np.int64)
    return lay, dense, edge_probabilities(lay, prob, side="out", node_keys=trivalency_keys(graph, prob))


def simulate_epidemic(
    graph: SocialGraph,
    seeds,
    *,
    layer: str | Layer,
    model: str = "sir",
    prob: str = "wc",
    recovery: float = 0.5,
    n_runs: int = 10_000,
    max_steps: int = 100,
    seed: int = 0,
) -> EpidemicEstimate:
    """Monte-Carlo SIR or SIS from ``seeds`` (external ids) on an influence layer.

    Parameters
    ----------
    model : {"sir", "sis"}
    prob : str
        Per-step transmission probability of each edge (:mod:`graphcrm.algorithms.probabilities`).
    recovery : float
        Probability that an infected account stops spreading at the end of a step.
    max_steps : int
        Steps simulated (SIS may never die out).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> chain = GraphBuilder().add_edges("x", [1, 2], [2, 3]).build()
    >>> simulate_epidemic(chain, [1], layer="x", prob="const:1", recovery=1.0, n_runs=50).mean   # = IC, p = 1
    3.0
    >>> est = simulate_epidemic(chain, [1], layer="x", prob="const:0.5", recovery=0.5, n_runs=20_000, seed=1)
    >>> bool(abs(est.ever_infected_probability[1] - 2 / 3) < 0.02)   # each step: reach 2 (0.5), else stay (0.5): 0.5 / 0.75
    True
    """
    seed = whole_number(seed, "seed", 0)
    if model not in ("sir", "sis"):
        raise ParameterError(f"model must be 'sir' or 'sis', got {model!r}")
    if not 0.0 <= recovery <= 1.0:
        raise ParameterError(f"recovery must be in [0, 1], got {recovery}")
    if n_runs < 1 or max_steps < 1:
        raise ParameterError("n_runs and max_steps must be >= 1")
    import numba

    started = time.perf_counter()
    lay, dense, p = _prepare(graph, layer, seeds, prob, seed)
    if len(dense) == 0:
        raise ParameterError("give at least one seed account")
    sizes, act, prevalence = _k._simulate_sir(model == "sis", dense, lay.out_indptr, lay.out_indices, p,
                                              float(recovery), int(n_runs), int(seed), 0, int(max_steps),
                                              max(1, numba.get_num_threads()), int(max_steps) + 1)
    mean, lo, hi = _interval(sizes)
    info = {"model": model, "prob": prob, "recovery": recovery, "runs": int(n_runs), "max_steps": int(max_steps),
            "seed": int(seed), "seconds": time.perf_counter() - started}
    return EpidemicEstimate(mean, lo, hi, sizes, prevalence / n_runs, act / n_runs, info)


def simulate_competition(
    graph: SocialGraph,
    negative,
    positive,
    *,
    layer: str | Layer,
    prob: str = "wc",
    ties: str = "negative",
    n_runs: int = 10_000,
    seed: int = 0,
) -> CompetitionEstimate:
    """Negative word-of-mouth from ``negative`` seeds racing advocates seeded at ``positive``.

    Each account adopts the first side that reaches it (Independent Cascade
    on the same edge probabilities for both); reached by both in the same
    step, ``ties`` decides (``"negative"``: bad news wins, the cautious
    default).  The negative cascade is also simulated alone, run ``r`` in
    the same live-edge world as with advocates (edge ``k`` of run ``r`` is
    live when draw ``k`` of stream ``(seed, r)`` is below its probability,
    as :mod:`~graphcrm.algorithms.containment` draws them), so the advocates
    never add negative reach in any run; ``info["saved_ci95"]`` is the 95%
    interval of the per-run difference.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 2, 3, 9], [2, 3, 4, 3]).build()   # 1 -> 2 -> 3 -> 4, 9 -> 3
    >>> out = simulate_competition(g, [1], [9], layer="x", prob="const:1", n_runs=10)
    >>> out.negative[0], out.positive[0], out.saved          # 9 takes 3 (and 4) before the bad news arrives
    (2.0, 3.0, 2.0)
    """
    seed = whole_number(seed, "seed", 0)
    if ties not in ("negative", "positive"):
        raise ParameterError(f"ties must be 'negative' or 'positive', got {ties!r}")
    if n_runs < 1:
        raise ParameterError(f"n_runs must be >= 1, got {n_runs}")
    import numba

    started = time.perf_counter()
    lay, neg, p = _prepare(graph, layer, negative, prob, seed)
    pos = np.unique(graph.index_of(id_list(positive))).astype(np.int64)
    if len(neg) == 0:
        raise ParameterError("give at least one negative seed account")
    workers = max(1, numba.get_num_threads())
    # live-edge worlds: run r is the same world with and without advocates, so per run the advocates can only
    # take accounts from the negative side (saved >= 0 run by run; the law of each cascade is unchanged)
    args = (lay.out_indptr, lay.out_indices, p, ties == "negative", int(n_runs), int(seed), 0, workers, True)
    pos_sizes, neg_sizes, pos_act, neg_act = _k._simulate_competing(pos, neg, *args)
    _, alone, _, _ = _k._simulate_competing(np.empty(0, dtype=np.int64), neg, *args)
    info = {"prob": prob, "ties": ties, "runs": int(n_runs), "seed": int(seed),
            "saved_ci95": _paired_interval(alone - neg_sizes), "seconds": time.perf_counter() - started}
    return CompetitionEstimate(_interval(pos_sizes), _interval(neg_sizes), _interval(alone), pos_act / n_runs,
                               neg_act / n_runs, info)


def _paired_interval(diff: np.ndarray) -> list:
    mean, lo, hi = _interval(diff.astype(float))
    return [round(lo, 4), round(hi, 4)]
