"""Leader lists from the validated forecast: who will be engaged with next, with the interval and the reason.

When the graph keeps a timestamped interaction log, ``graphcrm rank`` ranks
on what the log says will happen next: the forecast of
:mod:`graphcrm.algorithms.forecast` (engagement received in the next horizon, with an
80% interval).  The forecast is validated on the most recent stretch of the
log before it is used: if, there, it put fewer of the actual top 100 in its
top 100 than plain in-degree (distinct accounts that engaged), the list is
ranked by in-degree instead -- never silently by a scorer that lost to the
naive baseline -- and the ``scorer`` column and the summary say which was used
and why.  A stored model (``graphcrm forecast``, :mod:`graphcrm.forecast_store`)
is reused when it was fitted on the same log.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphcrm.algorithms.forecast import ForecastModel, default_target_layer, describe_duration, fit_forecast, forecast
from graphcrm.algorithms.forecast_features import event_layers
from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.graph import SocialGraph
from graphcrm.loaders.layers import INTERACTION_TYPES
from graphcrm.leaders import _audience, _community_of, stance, top_per_community

SCORERS = ("forecast", "engagement_decayed", "in_degree")
SCORER_WORDS = {"forecast": "forecast", "engagement_decayed": "recent engagement", "in_degree": "in-degree"}


def scorer_words(scorer: str, model: ForecastModel | None = None) -> str:
    """The scorer in words; recent engagement with the half-life ``model`` chose for it.

    >>> scorer_words("in_degree")
    'in-degree'
    """
    words = SCORER_WORDS[scorer]
    if scorer == "engagement_decayed" and model is not None and model.decay_feature:
        words += f" (half-life {describe_duration(model.decay_half_life)})"
    return words


def has_interaction_log(graph: SocialGraph) -> bool:
    """Whether an interaction layer (retweets, replies, mentions, likes) or a signed rating layer (trust; its
    positive ratings count as engagement) keeps timestamped events."""
    return any(name in INTERACTION_TYPES or graph.layer(name).spec.signed for name in event_layers(graph))


def choose_scorer(model: ForecastModel) -> tuple[str, str]:
    """``(scorer, reason)``: whichever put most of the actual top 100 in its own top 100 on the held-out window.

    The candidates are the forecast, recent engagement (received, decayed with the half-life the fit chose on
    its training windows, ``model.decay_feature``: a fraction of the forecast window) and in-degree (distinct
    accounts engaged); ties go to the forecast, then to recent engagement.
    """
    overlap, figures = _overlaps(model)
    chosen = max(SCORERS, key=lambda s: overlap[s])          # max keeps the first of equals: SCORERS' order
    error = _standard_error(overlap[chosen], model.validation["engagement"]["top_k"])
    runner_up = max((overlap[s] for s in SCORERS if s != chosen), default=-1.0)
    if runner_up >= 0 and overlap[chosen] - runner_up <= error:
        figures += (f"; a margin within one standard error ({error:.2f}): on this window the scorers are "
                    "statistically tied")
    if chosen == "forecast":
        return chosen, figures
    return chosen, figures + f" (the forecast lost, so the list is ranked by {scorer_words(chosen, model)})"


def _standard_error(share: float, k: int) -> float:
    """Binomial standard error of a top-``k`` overlap share: ``sqrt(p (1 - p) / k)``."""
    return float(np.sqrt(max(share * (1.0 - share), 0.0) / max(k, 1)))


def _overlaps(model: ForecastModel) -> tuple[dict, str]:
    """Each scorer's top-k overlap on the model's held-out window (-1: not validated), and the figures in words."""
    v = model.validation["engagement"]
    k = v["top_k"]
    overlap = {"forecast": v["forecast_top_overlap"], "engagement_decayed": v.get("decayed_top_overlap", -1.0),
               "in_degree": v["in_degree_top_overlap"]}
    figures = (f"top-{k} overlap with the actual top {k} on the held-out window "
               f"{_day(v['window'][0])}..{_day(v['window'][1])}: " +
               ", ".join(f"{scorer_words(s, model)} {overlap[s]:.2f}" for s in SCORERS if overlap[s] >= 0))
    return overlap, figures


def keep_or_choose_scorer(model: ForecastModel, earlier: str | None) -> tuple[str, str]:
    """:func:`choose_scorer` for a job that runs every night: it keeps the scorer it used the night before
    (``earlier``) while that one's top-k overlap is within one standard error of the winner's.

    Overlaps on one held-out window differ by a few accounts from night to night; switching scorers on such a
    difference would reorder the whole list (and every segment built on it) for nothing measurable.  The
    standard error is the binomial one of the winner's overlap share ``p`` among ``k``: ``sqrt(p (1 - p) / k)``.
    """
    chosen, why = choose_scorer(model)
    overlap, figures = _overlaps(model)
    if earlier is None or earlier == chosen or overlap.get(earlier, -1.0) < 0:
        return chosen, why
    error = _standard_error(overlap[chosen], model.validation["engagement"]["top_k"])
    if overlap[chosen] - overlap[earlier] <= error:
        return earlier, (figures + f" (kept {scorer_words(earlier, model)}, the scorer of the run before: "
                                   f"within one standard error, {error:.2f}, of the best, "
                                   f"{scorer_words(chosen, model)})")
    return chosen, why


def _day(t: int) -> str:
    return pd.Timestamp(int(t), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%MZ")


def forecast_leaders(graph: SocialGraph, *, top: int = 50, layer: str | None = None, horizon: int | None = None,
                     model: ForecastModel | None = None, partition=None, scorer: str | None = None,
                     seed: int = 0, forecasted=None, explain: int | None = None) -> tuple[pd.DataFrame, dict]:
    """The leader list ranked by the validated forecast (or by in-degree where that won), with the reasons.

    Parameters
    ----------
    top : int
        Rows overall, or per community with ``partition``.
    layer, horizon, seed
        Passed to :func:`graphcrm.algorithms.forecast.fit_forecast` when no ``model`` is given.
    model : ForecastModel, optional
        A fitted (e.g. stored) model.
    scorer : {"forecast", "engagement_decayed", "in_degree"}, optional
        Force a scorer (default: :func:`choose_scorer`).
    forecasted : optional
        ``forecast(graph, model)`` when the caller already has it (lists of one graph share it).
    explain : int, optional
        Only the first ``explain`` rows get a ``why`` (the others an empty string): a caller ordering
        every account but showing a few skips a sentence per account (default: every row).

    Returns
    -------
    (pandas.DataFrame, dict)
        Rows ``rank, account_id, leader_score, scorer, forecast_engagement(_low/_high),
        forecast_reach(_low/_high), engagement_received, distinct_engagers, audience_size, stance,
        stance_score, stance_evidence, why`` (``community`` first when partitioned), and a summary
        (layer, horizon, scorer and why, the model's validation).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> rng = np.random.default_rng(1)
    >>> t = np.sort(rng.integers(0, 30 * 86400, 4000))
    >>> star = np.where(rng.random(4000) < 0.5, "star", rng.choice([f"q{i}" for i in range(200)], 4000))
    >>> g = GraphBuilder().add_events("retweets", [f"f{i}" for i in range(4000)], star, time=t).build()
    >>> table, info = forecast_leaders(g, top=3, horizon=86400)
    >>> table.account_id.iloc[0], info["scorer"] in SCORERS
    ('star', True)
    """
    if top < 1:
        raise ParameterError(f"top must be >= 1, got {top}")
    model = model or fit_forecast(graph, layer=layer or default_target_layer(graph), horizon=horizon, seed=seed)
    fc = forecasted if forecasted is not None else forecast(graph, model)
    chosen, why_scorer = choose_scorer(model) if scorer is None else (scorer, "chosen by the caller")
    if chosen not in SCORERS:
        raise ParameterError(f"scorer must be one of {SCORERS}, got {chosen!r}")
    lay = model.layer
    received = fc.features[f"{lay}_received"].to_numpy()
    distinct = fc.features[f"{lay}_received_distinct"].to_numpy()
    recent = fc.features[model.decay_feature].to_numpy()
    by = {"forecast": fc.score["engagement"], "engagement_decayed": recent, "in_degree": distinct}
    frame = pd.DataFrame({"account_id": graph.id_map.ids})
    frame["leader_score"] = {"forecast": fc.values["engagement"], "engagement_decayed": recent.round(2),
                             "in_degree": distinct}[chosen]
    frame["scorer"] = chosen
    for t in ("engagement", "reach"):
        frame[f"forecast_{t}"] = fc.values[t].round(2)
        frame[f"forecast_{t}_low"] = fc.low[t].round(2)
        frame[f"forecast_{t}_high"] = fc.high[t].round(2)
    frame["engagement_received"] = received.astype(np.int64)
    frame["distinct_engagers"] = distinct.astype(np.int64)
    frame["audience_size"] = _audience(graph, graph.layer(lay).positive())     # signed: who rates it positively
    frame = frame.join(stance(graph).drop(columns="account_id"))
    primary = by[chosen]
    secondary = distinct if chosen == "forecast" else fc.score["engagement"]
    frame["_k1"], frame["_k2"], frame["_pos"] = primary, secondary, np.arange(len(frame))
    frame["why"] = ""
    if partition is not None:
        frame.insert(0, "community", _community_of(graph, partition))
        frame = frame[frame.community.notna()]
        table = _ranked_within(frame, top) if len(frame) else _ranked(frame, top)
    else:
        table = _ranked(frame, top)
    others = [c for c in fc.features.columns if c.endswith("_received") and c != f"{lay}_received"]
    received_other = fc.features[others].to_numpy(dtype=np.float64)      # rows: accounts, for the why
    shown = len(table) if explain is None else max(0, min(int(explain), len(table)))
    positions = table.pop("_pos_kept").to_numpy()
    table["why"] = [_why(row, model, chosen, others, received_other[int(pos)])
                    for row, pos in zip(table.head(shown).itertuples(index=False), positions[:shown])] + \
        [""] * (len(table) - shown)
    summary = {"layer": lay, "horizon_seconds": model.horizon, "scorer": chosen,
               "scorer_words": scorer_words(chosen, model), "scorer_reason": why_scorer,
               "forecast_at": _day(model.fitted_at), "validation": model.validation["engagement"],
               "feature_set": model.feature_set["engagement"]}
    return table, summary


def _ranked(frame: pd.DataFrame, top: int) -> pd.DataFrame:
    frame = frame.sort_values(["_k1", "_k2", "_pos"], ascending=[False, False, True], kind="stable").head(top)
    frame = frame.rename(columns={"_pos": "_pos_kept"}).drop(columns=["_k1", "_k2"])
    frame.insert(0 if "community" not in frame else 1, "rank", np.arange(1, len(frame) + 1))
    return frame.reset_index(drop=True)


def _ranked_within(frame: pd.DataFrame, top: int) -> pd.DataFrame:
    """:func:`_ranked` within each community (communities in sorted order)."""
    rows, rank = top_per_community(frame, ["_k1", "_k2"], top)    # ties in row order: by _pos
    out = frame.iloc[rows].rename(columns={"_pos": "_pos_kept"}).drop(columns=["_k1", "_k2"])
    out.insert(1, "rank", rank)
    return out.reset_index(drop=True)


def _why(row, model: ForecastModel, scorer: str, other_layers: list, other_received: np.ndarray) -> str:
    layer, span = model.layer, describe_duration(model.horizon)
    parts = [f"forecast {row.forecast_engagement:,.0f} {layer} received in the next {span} "
             f"(80%: {row.forecast_engagement_low:,.0f}-{row.forecast_engagement_high:,.0f})"]
    if row.distinct_engagers:
        parts.append(f"{row.distinct_engagers:,} accounts engaged so far ({row.engagement_received:,} {layer})")
    else:
        others = [f"{int(n):,} {c.removesuffix('_received')}" for c, n in zip(other_layers, other_received) if n > 0]
        parts.append(f"no {layer} received yet; ranked on " + (", ".join(others) + " received" if others
                                                               else "activity only"))
    if row.audience_size == 0:
        parts.append("no direct audience on record (no followers known, nobody engaged on this layer)")
    if scorer == "in_degree":
        parts.insert(0, f"ranked by distinct accounts engaged ({row.distinct_engagers:,})")
    elif scorer == "engagement_decayed":
        parts.insert(0, f"ranked by recent {layer} received ({row.leader_score:,.1f}, half-life "
                        f"{describe_duration(model.decay_half_life)})")
    return "; ".join(parts)
