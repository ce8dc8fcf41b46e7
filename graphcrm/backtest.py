"""Out-of-time check of every influence scorer against what people did after a split (``graphcrm backtest``).

Every scorer sees only the events before ``split`` (the graph is cut with
:meth:`SocialGraph.window` before any scorer runs); what happened in
``[split, split + horizon)`` on the target layer is the truth:

* **engagement** -- events received per account (retweets received, say);
* **reach** -- distinct accounts reached by time-respecting chains of those
  events (:func:`graphcrm.algorithms.cascades.cascade_reach`).

Scorers: the naive baselines (in-degree = distinct accounts that engaged,
engagement count, time-decayed count with a half-life of a quarter of the
horizon -- a fixed rule, no fit), PageRank attention, coreness, the
structural ``influence_score`` of the leader list, Independent-Cascade
expected reach under weighted cascade and learned probabilities, past
cascade reach (Bakshy et al. 2011) and the forecast
(:mod:`graphcrm.algorithms.forecast`).

Metrics, per scorer and target: Spearman correlation on the accounts that
received anything after the split (``all``), on those of them that had also
received engagement before it (``active_in_training``) and on the actual top
1,000 (``top_1000``: the tie at the 1,000th count whole, or left out where it would more than double the
group); overlap@20/100/1000 and NDCG@100 of the
scorer's top accounts against the actual top (over every account); median absolute error
of ``log(1 + count)`` for scorers that predict a count; the share of actual
counts inside the forecast's 80% interval.  Overlap and NDCG are their expectations with every tie -- in the
counts (hundreds of accounts received exactly one retweet) and in the scores (coreness, in-degree) -- in
random order (:mod:`graphcrm.algorithms.topk`): cut by account index, they changed when the accounts were
renamed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graphcrm.algorithms import coreness, expected_reach, pagerank
from graphcrm.algorithms.forecast import (MIN_VALIDATION_ACCOUNTS, MIN_WINDOW, TARGETS, describe_duration,
                                         fit_forecast, forecast)
from graphcrm.algorithms.forecast_features import event_layers, log_span, window_targets
from graphcrm.algorithms.ranks import spearman
from graphcrm.algorithms.topk import ndcg as topk_ndcg, top_group, top_membership
from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.graph import SocialGraph, _to_unix
from graphcrm.forecast_leaders import choose_scorer
from graphcrm.leaders import combined_score

GROUPS = ("all", "active_in_training", "top_1000")
OVERLAP_KS = (20, 100, 1000)
NAIVE = ("in_degree", "engagement_count", "engagement_decayed")
NAIVE_DECAY_FRACTION = 4          # the naive decayed count's half-life: the horizon / 4
_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text) -> int:
    """Seconds in ``'3d'``, ``'12h'``, ``'90m'``, ``'1w'`` or plain seconds.

    Examples
    --------
    >>> parse_duration("3d"), parse_duration("90m"), parse_duration(3600), parse_duration("7D")
    (259200, 5400, 3600, 604800)
    """
    if isinstance(text, (int, np.integer)):
        seconds = int(text)
    else:
        m = _DURATION.match(str(text))
        if not m:
            raise ParameterError(f"duration {text!r}: expected a number with a unit s, m, h, d or w (like 3d)")
        seconds = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if seconds <= 0:
        raise ParameterError(f"duration {text!r} must be positive")
    return seconds


def parse_horizon(text) -> int:
    """:func:`parse_duration` of a forecast horizon, at least the shortest window a forecast fits on (5 minutes).

    Examples
    --------
    >>> parse_horizon("12h")
    43200
    >>> parse_horizon("1m")
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.ParameterError: horizon '1m' is 1 minute; it must be at least 5 minutes
    """
    seconds = parse_duration(text)
    if seconds < MIN_WINDOW:
        raise ParameterError(f"horizon {text!r} is {describe_duration(seconds)}; it must be at least "
                             f"{MIN_WINDOW // 60} minutes")
    return seconds


#: what ``--split`` accepts besides Unix seconds: ISO-8601 dates and times, as the loaders read them
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?", re.I)


def parse_time(text) -> int:
    """Unix seconds from an ISO-8601 time (UTC if no zone) or a number of Unix seconds (a fraction floored, as the
    loaders read event times).  Nothing else: ``05/07/2012`` is 7 May to one reader and 5 July to another.

    >>> parse_time("2012-07-05"), parse_time("1341446400.5"), parse_time("2012-07-05T02:00:00+02:00")
    (1341446400, 1341446400, 1341446400)
    >>> parse_time("05/07/2012")
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.ParameterError: --split '05/07/2012' is not a time: use ISO-8601 like 2012-07-05 or 2012-07-05T12:00:00Z, or Unix seconds
    """
    if isinstance(text, str) and re.fullmatch(r"\s*-?\d+(\.\d*)?\s*", text):
        return int(np.floor(float(text))) if "." in text else int(text)
    if text is None or not str(text).strip():
        raise ParameterError("--split is empty: use ISO-8601 like 2012-07-05 or 2012-07-05T12:00:00Z, or Unix seconds")
    if isinstance(text, str) and not _ISO_TIME.fullmatch(text.strip()):
        raise ParameterError(f"--split {text!r} is not a time: use ISO-8601 like 2012-07-05 or "
                             "2012-07-05T12:00:00Z, or Unix seconds")
    try:
        return _to_unix(text, "split")
    except ParameterError:
        raise ParameterError(f"--split {text!r} is not a time: use ISO-8601 like 2012-07-05 or "
                             "2012-07-05T12:00:00Z, or Unix seconds") from None


def _iso(t: int) -> str:
    return pd.Timestamp(int(t), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Backtest:
    """The result of :func:`backtest`: a metrics table, the per-account scores and truths behind it."""

    metrics: pd.DataFrame
    summary: dict
    scores: dict[str, np.ndarray] = field(repr=False)
    counts: dict[str, np.ndarray] = field(repr=False)
    actual: dict[str, np.ndarray] = field(repr=False)
    interval: dict[str, tuple[np.ndarray, np.ndarray]] = field(repr=False)
    known: np.ndarray | None = field(default=None, repr=False)

    def winner(self, target: str = "engagement") -> str | None:
        """The scorer with the best mean Spearman over the groups ``all`` and ``active_in_training``."""
        m = self.metrics[(self.metrics.target == target) & self.metrics.group.isin(GROUPS[:2])]
        # both groups or no figure: a scorer constant on one group (NaN there) does not win on the other alone
        means = m.groupby("scorer", sort=False).spearman.agg(lambda s: s.mean(skipna=False))
        return None if means.isna().all() else str(means.idxmax())     # too few engaged accounts to rank


def _check_split(graph: SocialGraph, split: int, horizon: int | None) -> tuple[int, int, int, int]:
    names = event_layers(graph)
    if not names:
        raise ParameterError("backtest needs timestamped interaction events; this snapshot has none "
                             "(load events with times via --interactions)")
    first, end = log_span(graph)
    if not first < split < end:
        raise ParameterError(f"--split {_iso(split)} is outside the log ({_iso(first)} .. {_iso(end - 1)}): "
                             "choose a time with events before and after it")
    if split - first < 3 * MIN_WINDOW:
        raise ParameterError(f"--split {_iso(split)} leaves {(split - first) / 60:.0f} minutes of events before it; "
                             f"the forecast needs at least {3 * MIN_WINDOW // 60} minutes to learn from")
    if end - split < MIN_WINDOW:
        raise ParameterError(f"--split {_iso(split)} leaves {describe_duration(end - split)} of events after it; "
                             f"a backtest needs at least {MIN_WINDOW // 60} minutes after the split to score")
    horizon = end - split if horizon is None else int(horizon)
    if horizon < MIN_WINDOW:
        raise ParameterError(f"--horizon must be at least {MIN_WINDOW // 60} minutes, got {describe_duration(horizon)}")
    return first, end, split, min(horizon, end - split)        # no truth past the log's end: scored to its end


def _spearman(score, actual, mask) -> float:
    if mask.sum() < MIN_VALIDATION_ACCOUNTS:        # a rank correlation over a handful of accounts is noise
        return float("nan")
    rho = spearman(score[mask], actual[mask])
    return rho if np.isfinite(rho) else float("nan")   # a constant scorer orders nothing: no figure, no winner


def _scorers(train: SocialGraph, layer: str, split: int, first: int, horizon: int, samples: int, seed: int,
             progress) -> tuple[dict, dict, dict, dict]:
    """Per scorer: a ranking score, and (where it predicts one) a count per target."""
    lay = train.layer(layer).positive()           # a signed log: influence flows along the positive ties
    from graphcrm.algorithms.forecast_features import account_features
    feats = account_features(train, split, target_layer=layer, reach_window=horizon)   # reach: the last horizon
    per_time = horizon / max(split - first, 1)
    decay_rate = np.log(2) * NAIVE_DECAY_FRACTION / horizon       # per second: decayed sum -> count per second
    indeg = feats[f"{layer}_received_distinct"].to_numpy()
    count = feats[f"{layer}_received"].to_numpy()
    decayed = feats[f"{layer}_received_w{NAIVE_DECAY_FRACTION}"].to_numpy()
    scores = {"in_degree": indeg, "engagement_count": count, "engagement_decayed": decayed}
    as_count = {"in_degree": indeg * per_time, "engagement_count": count * per_time,
                "engagement_decayed": decayed * decay_rate * horizon}
    counts = {t: dict(as_count) for t in TARGETS}
    progress("PageRank and coreness")
    scores["pagerank"] = pagerank(train, layer=lay).values
    scores["coreness"] = coreness(train, layer=lay).values
    progress("expected reach (IC: weighted cascade, learned)")
    reach = {}
    for model in ("wc", "learned"):
        reach[model] = expected_reach(train, layer=lay, model=model, n_samples=samples, seed=seed).values - 1.0
        scores[f"ic_{model}"] = reach[model]
        for t in TARGETS:
            counts[t][f"ic_{model}"] = reach[model]
    progress("leader-list influence score")
    strength = train.resolve_layer().positive()
    wc_on_strength = expected_reach(train, layer=strength, model="wc", n_samples=samples, seed=seed).values
    scores["influence_score"] = combined_score(
        {"pagerank": pagerank(train, layer=strength).values, "coreness": coreness(train, layer=strength).values,
         "expected_reach": wc_on_strength}, dict.fromkeys(("pagerank", "coreness", "expected_reach"), 1.0))
    scores["past_reach"] = feats["reach_past"].to_numpy()             # chains of the last horizon before the split
    for t in TARGETS:
        counts[t]["past_reach"] = scores["past_reach"] * (horizon / max(min(horizon, split - first), 1))
    progress("forecast")
    try:
        model = fit_forecast(train, layer=layer, horizon=horizon, at=split, seed=seed)
    except ParameterError as exc:        # too little before the split to validate one: `rank` would fall back
        return _without_forecast(scores, counts, feats, str(exc))
    fc = forecast(train, model)
    per_target = {t: dict(scores) for t in TARGETS}
    intervals = {}
    chosen, reason = choose_scorer(model)
    for t in TARGETS:
        per_target[t]["forecast"] = fc.score[t]
        # what `graphcrm rank` would have listed at the split: its validated choice, ties by the other scorer
        tie = fc.score["engagement"]
        per_target[t]["leader_default"] = {
            "forecast": fc.score["engagement"],
            "in_degree": indeg + (tie - tie.min()) / (np.ptp(tie) + 1.0) * 0.5,
            "engagement_decayed": _lexicographic(fc.features[model.decay_feature].to_numpy(), tie)}[chosen]
        counts[t]["forecast"] = fc.values[t]
        intervals[t] = (fc.low[t], fc.high[t])
    return per_target, counts, intervals, {"forecast_model": model.to_dict(), "known": feats,
                                           "leader_default": {"scorer": chosen, "reason": reason}}


def _without_forecast(scores: dict, counts: dict, feats, why: str) -> tuple[dict, dict, dict, dict]:
    """The scorers without a forecast: ``graphcrm rank`` at this split would have ranked by the structural
    combined score (the ``influence_score`` scorer), so that is the ``leader_default`` row."""
    per_target = {t: dict(scores, leader_default=scores["influence_score"]) for t in TARGETS}
    reason = f"the structural combined score, as no forecast could be validated before the split: {why}"
    return per_target, counts, {}, {"forecast_model": None, "known": feats,
                                    "leader_default": {"scorer": "combined", "reason": reason}}


def backtest(graph: SocialGraph, split, *, horizon=None, layer: str | None = None, samples: int = 200_000,
             seed: int = 0, progress=None) -> Backtest:
    """Score every influence scorer on what happened after ``split``, beside the naive baselines.

    Parameters
    ----------
    graph : SocialGraph
        With a timestamped interaction log.
    split : str or int
        ISO-8601 time (UTC if no zone) or Unix seconds: scorers see only the events before it.
    horizon : str or int, optional
        How long after the split to score (``'3d'``, seconds ...); default: to the end of the log.
    layer : str, optional
        The engagement that counts (default: ``retweets`` when logged).
    samples : int
        Reverse-reachable samples for the IC expected-reach scorers.
    seed : int
        Same seed, same table.

    Returns
    -------
    Backtest
        ``.metrics`` (one row per scorer, target and group), ``.summary``, ``.winner()``.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> rng = np.random.default_rng(0)
    >>> t = np.sort(rng.integers(0, 20 * 86400, 3000))
    >>> hub = rng.choice([f"a{i}" for i in range(60)], 3000)
    >>> g = GraphBuilder().add_events("retweets", [f"f{i}" for i in rng.integers(0, 800, 3000)], hub, time=t).build()
    >>> bt = backtest(g, 15 * 86400, samples=2000)
    >>> sorted(set(bt.metrics.scorer)) [:3]
    ['coreness', 'engagement_count', 'engagement_decayed']
    """
    from graphcrm.algorithms.forecast import default_target_layer

    progress = progress or (lambda _msg: None)
    started = time.perf_counter()
    split = parse_time(split)
    requested = None if horizon is None else parse_horizon(horizon)
    first, end, split, horizon = _check_split(graph, split, requested)
    layer = layer or default_target_layer(graph)
    if layer not in graph.layers or graph.layer(layer).events is None:
        raise ParameterError(f"--layer {layer!r}: not a timestamped layer of this graph "
                             f"(timestamped: {', '.join(event_layers(graph))})")
    train = graph.window(end=split)
    scores, counts, intervals, extra = _scorers(train, layer, split, first, horizon, samples, seed, progress)
    engagement, reach = window_targets(graph, layer, split, split + horizon)
    actual = {"engagement": engagement, "reach": reach}
    warm = extra["known"][f"{layer}_received"].to_numpy() > 0
    rows = []
    for target in TARGETS:
        y = actual[target]
        # the top 1000 without a cut by index (that group changed with the ids): the tie at the 1000th count
        # whole, or left out where it would more than double the group (graphcrm.algorithms.topk.top_group)
        masks = {"all": y > 0, "active_in_training": (y > 0) & warm, "top_1000": top_group(y, 1000) & (y > 0)}
        engaged = int(np.count_nonzero(y > 0))
        # the actual top k are accounts that engaged: with fewer than k, the top `engaged` (quiet accounts are no
        # one's top; counting them credited scorers for quiet accounts of low id)
        top_k = {k: min(k, engaged) for k in OVERLAP_KS}
        # expected overlap and NDCG with the ties (in the counts and in the scores) in random order
        # (graphcrm.algorithms.topk): the same whatever the accounts are called
        truth = {k: top_membership(y, top_k[k]) for k in OVERLAP_KS}
        for scorer, score in scores[target].items():
            overlap = {f"overlap_{k}": float(np.dot(top_membership(score, top_k[k]), truth[k]) / top_k[k])
                       if top_k[k] else float("nan") for k in OVERLAP_KS}
            ndcg = topk_ndcg(score, y, 100)
            count = counts[target].get(scorer)
            for group, mask in masks.items():
                mae = (float(np.median(np.abs(np.log1p(np.maximum(count[mask], 0)) - np.log1p(y[mask]))))
                       if count is not None and mask.any() else float("nan"))
                cover = float("nan")
                if scorer == "forecast" and mask.any():
                    lo, hi = intervals[target]
                    cover = float(np.mean((y[mask] >= np.floor(lo[mask])) & (y[mask] <= np.ceil(hi[mask]))))
                rows.append({"scorer": scorer, "target": target, "group": group, "n": int(mask.sum()),
                             "spearman": _spearman(score, y, mask), **overlap, "ndcg_100": ndcg,
                             "median_abs_log_error": mae, "interval_coverage": cover})
    metrics = pd.DataFrame(rows)
    known = _known_mask(train, split)
    summary = {"split": _iso(split), "horizon_seconds": int(horizon), "layer": layer,
               "log": [_iso(first), _iso(end - 1)],
               "events_before_split": int(len(train.layer(layer).events)),
               "events_in_horizon": int(engagement.sum()),
               "accounts_engaged_in_horizon": int((engagement > 0).sum()),
               "of_them_new_after_split": int(((engagement > 0) & ~known).sum()),
               "forecast_interval_coverage_all_known": {
                   t: float(np.mean((actual[t][known] >= np.floor(intervals[t][0][known]))
                                    & (actual[t][known] <= np.ceil(intervals[t][1][known]))))
                   if t in intervals else float("nan") for t in TARGETS},
               "forecast_model": ({k: extra["forecast_model"][k] for k in ("feature_set", "window", "validation")}
                                  if extra["forecast_model"] is not None else None),
               "leader_default_scorer": extra["leader_default"],
               "reach_calibration": {
                   scorer: {"mean_predicted": float(counts["reach"][scorer][known].mean()),
                            "mean_actual": float(reach[known].mean()),
                            "ratio": (float(counts["reach"][scorer][known].mean() / reach[known].mean())
                                      if reach[known].mean() > 0 else float("nan"))}
                   for scorer in ("ic_wc", "ic_learned", "forecast") if scorer in counts["reach"]},
               "samples": int(samples), "seed": int(seed),
               **({"horizon_requested_seconds": int(requested)} if requested and requested > horizon else {})}
    result = Backtest(metrics, summary, scores, counts, actual, intervals, known)
    summary["winner"] = {t: result.winner(t) for t in TARGETS}
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return result


def _lexicographic(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """A score ordering by ``primary``, ties by ``secondary``; equal pairs stay tied (dense ranks of the pairs).

    Examples
    --------
    >>> _lexicographic(np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.0, 5.0, 2.0, 5.0])).tolist()
    [1.0, 0.0, 2.0, 0.0]
    """
    order = np.lexsort((secondary, primary))
    p, s = primary[order], secondary[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (p[1:] != p[:-1]) | (s[1:] != s[:-1])
    out = np.empty(len(order))
    out[order] = np.cumsum(new) - 1.0
    return out


def default_split(graph: SocialGraph) -> int | None:
    """Two thirds into the interaction log -- the split a report backtests at -- or None without a usable log.

    Only interaction layers (retweets, replies, mentions, likes) count: a timestamped trust log is
    not an engagement forecast.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> default_split(GraphBuilder().add_events("retweets", [1, 2], [0, 0], time=[0, 9000]).build())
    6000
    >>> default_split(GraphBuilder().add_edges("follows", [1], [0]).build()) is None
    True
    """
    from graphcrm.forecast_leaders import has_interaction_log

    if not has_interaction_log(graph):          # retweets, replies, mentions, likes with times
        return None
    first, end = log_span(graph)
    split = first + 2 * (end - first) // 3
    return split if split - first >= 3 * MIN_WINDOW else None


def _known_mask(train: SocialGraph, split: int) -> np.ndarray:
    from graphcrm.algorithms.forecast_features import known_accounts
    return known_accounts(train, split)


def headline(result: Backtest, target: str = "engagement") -> pd.DataFrame:
    """One row per scorer: Spearman per group, overlap@100, NDCG@100 and median abs log error (group ``all``)."""
    m = result.metrics[result.metrics.target == target]
    wide = m.pivot_table(index="scorer", columns="group", values="spearman", sort=False, dropna=False)
    wide = wide.reindex(columns=list(GROUPS))                # a group with no engaged account stays, as NaN
    wide.columns = [f"spearman_{g}" for g in GROUPS]
    first = m[m.group == "all"].set_index("scorer")
    out = wide.join(first[["overlap_20", "overlap_100", "overlap_1000", "ndcg_100", "median_abs_log_error",
                           "interval_coverage"]])
    # in the order of the winner line: the mean Spearman over the two groups (the best first)
    order = out[["spearman_all", "spearman_active_in_training"]].mean(axis=1, skipna=False)
    return out.iloc[np.argsort(-order.fillna(-np.inf).to_numpy(), kind="stable")].reset_index()


PREDICTED_BIN_EDGES = (0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 63.5, 127.5, 255.5, 511.5, np.inf)


def predicted_vs_actual(result: Backtest, target: str = "engagement",
                        scorers: tuple[str, ...] = ("forecast", "in_degree")) -> pd.DataFrame:
    """Mean actual count per bin of predicted count, over the accounts known before the split.

    Bins of the predicted count double in width (0, 1, 2-3, 4-7, ... 512+); per bin: accounts, mean predicted,
    mean actual and its 10th-90th percentile.  A calibrated scorer's bins lie on the diagonal; this is the
    report's predicted-vs-actual chart.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> rng = np.random.default_rng(0)
    >>> t = np.sort(rng.integers(0, 20 * 86400, 3000))
    >>> hub = rng.choice([f"a{i}" for i in range(60)], 3000)
    >>> g = GraphBuilder().add_events("retweets", [f"f{i}" for i in rng.integers(0, 800, 3000)], hub, time=t).build()
    >>> bins = predicted_vs_actual(backtest(g, 15 * 86400, samples=2000))
    >>> list(bins.columns)
    ['scorer', 'bin', 'accounts', 'mean_predicted', 'mean_actual', 'actual_p10', 'actual_p90']
    >>> int(bins[bins.scorer == "forecast"].accounts.sum()) == int(bins[bins.scorer == "in_degree"].accounts.sum())
    True
    """
    known = result.known if result.known is not None else np.ones(len(result.actual[target]), dtype=bool)
    y = result.actual[target][known]
    rows = []
    for scorer in scorers:
        count = result.counts[target].get(scorer)
        if count is None:
            raise ParameterError(f"scorer {scorer!r} predicts no {target} count; "
                                 f"those that do: {', '.join(result.counts[target])}")
        pred = np.maximum(count[known], 0.0)
        which = np.digitize(pred, PREDICTED_BIN_EDGES[1:-1])
        for b in np.unique(which):
            sel = which == b
            lo, hi = PREDICTED_BIN_EDGES[b], PREDICTED_BIN_EDGES[b + 1]
            label = f"{int(np.ceil(lo))}+" if not np.isfinite(hi) else (
                f"{int(np.ceil(lo))}" if np.floor(hi) == np.ceil(lo) else f"{int(np.ceil(lo))}-{int(np.floor(hi))}")
            rows.append({"scorer": scorer, "bin": label, "accounts": int(sel.sum()),
                         "mean_predicted": float(pred[sel].mean()), "mean_actual": float(y[sel].mean()),
                         "actual_p10": float(np.quantile(y[sel], 0.1)), "actual_p90": float(np.quantile(y[sel], 0.9))})
    return pd.DataFrame(rows)
