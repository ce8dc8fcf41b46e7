"""Negativity waves: who carries a negative message, who can answer it, and how far it goes hour by hour.

* :func:`negative_sources` -- the authors of negative messages (events whose
  sentiment is below a threshold, optionally on one topic and since a time):
  the seeds of the negative cascade.
* :func:`plan_containment` -- ``k`` advocates to seed against it: the
  competing-cascade model of :func:`graphcrm.algorithms.contagion.simulate_competition`
  (each account adopts the first side to reach it, ties go to the negative
  side), advocates chosen greedily to minimise the expected negative reach,
  with CELF lazy evaluation (Leskovec et al. 2007) over Monte-Carlo estimates
  that use common random numbers (run ``r`` draws from the same stream for
  every candidate).  This is the "eventual influence limitation" problem of
  Budak, Agrawal & El Abbadi (WWW 2011) and He, Song, Chen & Jiang (SDM 2012).
* :func:`compare_containment` -- several advocate sets against the same
  negative seeds on the same runs: expected negative reach of each with a 95%
  interval, and the paired difference to the first set.
* :func:`exposed_accounts` -- which accounts it reaches: each account's
  probability of adopting the negative side without and with advocates.
* :func:`negative_reach_by_hour` -- expected negative reach per hour with and
  without advocates, spreading the steps over the delays observed in the log
  (:func:`graphcrm.algorithms.diffusion.reach_over_time`).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from graphcrm.algorithms import _contagion_kernels as _k
from graphcrm.algorithms.probabilities import edge_probabilities, trivalency_keys
from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.graph import Layer, SocialGraph, _to_unix, layer_of
from graphcrm.loaders.topics import event_authors
from graphcrm.loaders.idmap import id_list

MAX_STEPS = 64


def negative_sources(graph: SocialGraph, *, topic=None, since=None, until=None,
                     threshold: float = -0.05) -> pd.DataFrame:
    """The authors of negative messages: events with sentiment below ``threshold``, counted per author.

    The author of an event is who wrote its message
    (:func:`graphcrm.loaders.topics.event_authors`): the replier or the
    mentioner, but for a retweet or a like the original poster.  Events
    without sentiment (NaN) are skipped.

    Parameters
    ----------
    graph : SocialGraph
    topic : str or list of str, optional
        Only the events carrying this topic (:func:`graphcrm.loaders.topics.topic_graph`).
    since, until : int or str, optional
        Only events at or after ``since`` / before ``until`` (Unix seconds or ISO-8601).
    threshold : float, default -0.05
        An event is negative when its sentiment is below this (VADER's usual cut).

    Returns
    -------
    pandas.DataFrame
        ``account_id, negative_messages, mean_sentiment, first_time, last_time``, most negative messages
        first (ties: lowest mean sentiment).

    Raises
    ------
    ParameterError
        No event of the graph has a sentiment.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_events("mentions", ["a", "a", "b", "c"], ["x", "y", "x", "x"], time=[1, 2, 3, 4],
    ...                               sentiment=[-0.8, -0.4, 0.9, -0.1]).build()
    >>> negative_sources(g)[["account_id", "negative_messages"]].values.tolist()
    [['a', 2], ['c', 1]]
    >>> negative_sources(g, since=3).account_id.tolist()
    ['c']
    """
    if topic is not None:
        from graphcrm.loaders.topics import topic_graph

        graph = topic_graph(graph, topic)
    lo, hi = (None if t is None else int(t) if isinstance(t, str) and t.strip().lstrip("-").isdigit()
              else _to_unix(t, what) for t, what in ((since, "since"), (until, "until")))
    authors, sents, times = [], [], []
    with_sentiment = 0
    for name, lay in graph.layers.items():
        ev = lay.events
        if ev is None or not len(ev) or ev.sentiment is None:
            continue
        with_sentiment += int((~np.isnan(ev.sentiment)).sum())
        keep = ev.sentiment < threshold
        if lo is not None:
            keep &= ev.time >= lo
        if hi is not None:
            keep &= ev.time < hi
        author = event_authors(name, lay)
        authors.append(np.asarray(author[keep], dtype=np.int64))
        sents.append(np.asarray(ev.sentiment[keep]))
        times.append(np.asarray(ev.time[keep]))
    if not with_sentiment:
        raise ParameterError("no event of this graph has a sentiment (load a file with a sentiment or text column)")
    a = np.concatenate(authors) if authors else np.empty(0, dtype=np.int64)
    frame = pd.DataFrame({"a": a, "s": np.concatenate(sents) if sents else np.empty(0),
                          "t": np.concatenate(times) if times else np.empty(0, dtype=np.int64)})
    agg = frame.groupby("a").agg(negative_messages=("s", "size"), mean_sentiment=("s", "mean"),
                                 first_time=("t", "min"), last_time=("t", "max")).reset_index()
    agg = agg.sort_values(["negative_messages", "mean_sentiment", "a"], ascending=[False, True, True])
    authors_of = agg.pop("a").to_numpy()
    agg.insert(0, "account_id", graph.id_map.ids[authors_of] if len(agg) else [])
    return agg.reset_index(drop=True).astype({"negative_messages": np.int64})


def _interval(x: np.ndarray) -> tuple[float, float, float]:
    x = np.asarray(x, dtype=float)
    mean = float(x.mean())
    half = 1.96 * float(x.std(ddof=1)) / np.sqrt(len(x)) if len(x) > 1 else float("inf")
    return mean, mean - half, mean + half


def _dense(graph: SocialGraph, ids, what: str) -> np.ndarray:
    ids = id_list(ids) if ids is not None else []
    if not ids:
        return np.empty(0, dtype=np.int64)
    from graphcrm.loaders.errors import NodeNotFoundError

    try:
        dense = graph.index_of(ids)
    except NodeNotFoundError as exc:
        raise NodeNotFoundError(f"{what}: {exc}") from None
    return np.unique(np.asarray(dense, dtype=np.int64))


def _setup(graph, layer, negative_seeds, prob, seed, n_runs=None):
    if n_runs is not None and n_runs < 1:        # the kernels size their per-run tables by it
        raise ParameterError(f"n_runs must be >= 1, got {n_runs}")
    lay = layer_of(graph, layer).positive()
    neg = _dense(graph, negative_seeds, "negative seed")
    if len(neg) == 0:
        raise ParameterError("give at least one negative seed account")
    return lay, neg, edge_probabilities(lay, prob, side="out", node_keys=trivalency_keys(graph, prob))


def _workers() -> int:
    import numba

    return max(1, numba.get_num_threads())


@dataclass(frozen=True, eq=False)
class ContainmentPlan:
    """Advocates chosen against a negative cascade.

    Attributes
    ----------
    table : pandas.DataFrame
        ``rank, account_id, marginal_saved, expected_negative_reach, ci_low, ci_high``: the expected negative
        reach once the advocates up to this rank are seeded, with its 95% interval (the selection runs).
    baseline : tuple
        Expected negative reach without containment ``(mean, ci_low, ci_high)``, same runs.
    seed_ids : numpy.ndarray
        The advocates, in order of choice.
    info : mapping
    """

    table: pd.DataFrame
    baseline: tuple
    seed_ids: np.ndarray
    info: Mapping = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    def __repr__(self) -> str:
        shown = ", ".join(map(repr, self.table["account_id"].tolist()[:5])) + (", ..." if len(self.table) > 5 else "")
        return (f"ContainmentPlan({len(self.table)} advocates [{shown}], negative reach {float(self.baseline[0]):,.1f}"
                f" -> {self.expected_negative_reach:,.1f}; .table)")

    def to_frame(self) -> pd.DataFrame:
        """The advocate table (:attr:`table`)."""
        return self.table.copy()

    @property
    def expected_negative_reach(self) -> float:
        """Expected negative reach with every advocate seeded (selection runs)."""
        return float(self.table["expected_negative_reach"].iloc[-1]) if len(self.table) else self.baseline[0]


def default_candidates(graph: SocialGraph, negative_seeds, *, layer=None, prob: str = "wc", n: int = 100,
                       n_runs: int = 200, seed: int = 0) -> np.ndarray:
    """Who could answer: the ``n`` accounts with the most audience (out-degree) and the ``n`` most exposed to
    the negative cascade (reached most often when it runs alone), negative seeds excluded; external ids.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 2, 2], [2, 3, 4]).build()
    >>> sorted(default_candidates(g, [1], layer="x", prob="const:1", n=1).tolist())   # 2 has most audience and exposure
    [2]
    """
    lay, neg, p = _setup(graph, layer, negative_seeds, prob, seed, n_runs)
    deg = lay.out_degree().astype(float)
    _, _, _, neg_act = _k._simulate_competing(np.empty(0, dtype=np.int64), neg, lay.out_indptr, lay.out_indices, p,
                                              True, int(n_runs), int(seed), 0, _workers(), False)
    idx = np.arange(graph.n_nodes)
    picked = []
    for score in (deg, neg_act.astype(float)):
        score = score.copy()
        score[neg] = -1.0
        order = np.lexsort((idx, -score))
        picked.append(order[:n][score[order[:n]] > 0])
    dense = np.unique(np.concatenate(picked))
    return graph.ids_of(dense)


def plan_containment(graph: SocialGraph, negative_seeds, *, k: int, layer: str | Layer | None = None,
                     prob: str = "wc", candidates=None, n_candidates: int = 100, n_runs: int = 1_000,
                     seed: int = 0) -> ContainmentPlan:
    """``k`` advocates that minimise the expected reach of a negative cascade from ``negative_seeds``.

    Greedy with CELF lazy evaluation: each round seeds the candidate whose
    addition lowers the Monte-Carlo estimate of the negative reach most.
    Every estimate uses the same ``n_runs`` random streams (common random
    numbers), so the differences between candidates are not swamped by run
    to run noise.  The competing model is
    :func:`~graphcrm.algorithms.contagion.simulate_competition` (each account
    adopts the first side that reaches it; ties: the negative side).

    Parameters
    ----------
    graph : SocialGraph
    negative_seeds : list
        Accounts (external ids) spreading the negative message, e.g. from :func:`negative_sources`.
    k : int
        Number of advocates.
    layer : str or Layer, optional
        Influence layer (default: the graph's default influence layer).
    prob : str, default "wc"
        Edge probabilities (:mod:`graphcrm.algorithms.probabilities`).
    candidates : list, optional
        Accounts that may be seeded (default: :func:`default_candidates` with ``n_candidates``).
    n_runs : int, default 1000
        Monte-Carlo runs per estimate.
    seed : int

    Returns
    -------
    ContainmentPlan

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> fans = [f"f{i}" for i in range(5)]
    >>> g = GraphBuilder().add_edges("x", ["bad", "bad", "b"] + ["b"] * 5,
    ...                              ["a", "b", "c"] + fans).build()     # b is the bridge to the audience
    >>> plan = plan_containment(g, ["bad"], k=1, layer="x", prob="const:1", n_runs=20)
    >>> plan.seed_ids.tolist(), plan.baseline[0], plan.expected_negative_reach
    (['b'], 9.0, 2.0)
    """
    if k < 1:
        raise ParameterError(f"k must be >= 1, got {k}")
    if n_runs < 2:
        raise ParameterError(f"n_runs must be >= 2, got {n_runs}")
    started = time.perf_counter()
    lay, neg, p = _setup(graph, layer, negative_seeds, prob, seed)
    if candidates is None:
        candidates = default_candidates(graph, negative_seeds, layer=lay, prob=prob, n=n_candidates,
                                        n_runs=min(n_runs, 500), seed=seed)
    cands = np.setdiff1d(_dense(graph, candidates, "candidate"), neg)
    if len(cands) == 0:
        raise ParameterError("no candidate advocate left (every candidate is a negative seed)")
    k = min(k, len(cands))
    args = (neg, lay.out_indptr, lay.out_indices, p, True, int(n_runs), int(seed), _workers())

    def runs(base, cs):
        return _k._containment_runs(np.asarray(base, dtype=np.int64), np.asarray(cs, dtype=np.int64), *args)

    base_runs = runs([], [-1])[0]
    baseline = _interval(base_runs)
    first = runs([], cands)
    means = first.mean(axis=1)
    heap = [(float(m - baseline[0]), int(c), 0) for m, c in zip(means, cands)]   # (-marginal saved, account, round)
    heapq.heapify(heap)
    chosen: list[int] = []
    rows = []
    current = baseline
    evaluations = len(cands)
    row_runs = {int(c): first[i] for i, c in enumerate(cands)}
    while len(chosen) < k and heap:
        _, c, rnd = heapq.heappop(heap)
        if rnd == len(chosen):        # fresh this round and ahead of every stale gain, which can only shrink: best
            r = row_runs[c]
            est = _interval(r)
            rows.append((len(chosen) + 1, c, current[0] - est[0], *est))
            chosen.append(c)
            current = est
            row_runs = {}
            continue
        r = runs(chosen, [c])[0]
        evaluations += 1
        row_runs[c] = r
        heapq.heappush(heap, (float(r.mean() - current[0]), c, len(chosen)))
    table = pd.DataFrame(rows, columns=["rank", "account_id", "marginal_saved", "expected_negative_reach",
                                        "ci_low", "ci_high"])
    table["account_id"] = graph.ids_of(table["account_id"].to_numpy(dtype=np.int64)) if len(table) else []
    info = {"prob": prob, "runs": int(n_runs), "seed": int(seed), "candidates": int(len(cands)),
            "negative_seeds": int(len(neg)), "evaluations": int(evaluations),
            "method": "celf greedy, common random numbers",
            "seconds": time.perf_counter() - started}
    return ContainmentPlan(table, baseline, np.asarray(table["account_id"].to_numpy()), info)


def compare_containment(graph: SocialGraph, negative_seeds, plans: dict, *, layer=None, prob: str = "wc",
                        n_runs: int = 2_000, seed: int = 1) -> pd.DataFrame:
    """Each advocate set of ``plans`` (name -> ids) against the same negative seeds, on the same runs.

    Run ``r`` draws from the same stream for every set, so differences are
    paired: ``diff_vs_first`` is the expected negative reach of the set minus
    that of the first set, with its 95% interval (``diff_ci_low``,
    ``diff_ci_high``).  Use a ``seed`` other than the plan's so the check is
    independent of the selection.  A row ``none`` (no advocates) is added first.

    Returns
    -------
    pandas.DataFrame
        ``strategy, advocates, expected_negative_reach, ci_low, ci_high, saved, diff_vs_first, diff_ci_low,
        diff_ci_high``.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 2, 2], [2, 3, 4]).build()
    >>> t = compare_containment(g, [1], {"bridge": [2], "leaf": [4]}, layer="x", prob="const:1", n_runs=10)
    >>> t[["strategy", "expected_negative_reach", "diff_vs_first"]].values.tolist()
    [['none', 4.0, nan], ['bridge', 1.0, 0.0], ['leaf', 3.0, 2.0]]
    """
    lay, neg, p = _setup(graph, layer, negative_seeds, prob, seed, n_runs)
    args = (lay.out_indptr, lay.out_indices, p, True, int(n_runs), int(seed), _workers(), 2)
    alone, _, _ = _k._competing_steps(np.empty(0, dtype=np.int64), neg, *args)
    rows = [("none", 0, *_interval(alone), 0.0, np.nan, np.nan, np.nan)]
    first = None
    for name, ids in plans.items():
        pos = _dense(graph, ids, f"advocate of {name!r}")
        sizes, _, _ = _k._competing_steps(pos, neg, *args)
        if first is None:
            first = sizes
        d = _interval(sizes - first) if len(sizes) > 1 else (0.0, 0.0, 0.0)
        rows.append((name, len(pos), *_interval(sizes), float(alone.mean() - sizes.mean()), *d))
    return pd.DataFrame(rows, columns=["strategy", "advocates", "expected_negative_reach", "ci_low", "ci_high",
                                       "saved", "diff_vs_first", "diff_ci_low", "diff_ci_high"])


def exposed_accounts(graph: SocialGraph, negative_seeds, advocates=(), *, layer=None, prob: str = "wc",
                     n_runs: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """Which accounts the negative message reaches: each account's probability without and with ``advocates``.

    Both on the same live-edge runs.  Accounts never reached are left out; negative seeds are listed (1.0).

    Returns
    -------
    pandas.DataFrame
        ``account_id, p_negative_without, p_negative_with, p_saved``, most exposed (without) first.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 2, 2], [2, 3, 4]).build()
    >>> t = exposed_accounts(g, [1], [3], layer="x", prob="const:1", n_runs=10)
    >>> t.account_id.tolist(), t.p_negative_with.tolist()      # 3 answered first, the rest reached
    ([1, 2, 3, 4], [1.0, 1.0, 0.0, 1.0])
    """
    lay, neg, p = _setup(graph, layer, negative_seeds, prob, seed, n_runs)
    pos = _dense(graph, advocates, "advocate")
    args = (lay.out_indptr, lay.out_indices, p, True, int(n_runs), int(seed), _workers(), 2)
    _, _, without = _k._competing_steps(np.empty(0, dtype=np.int64), neg, *args)
    _, _, with_ = _k._competing_steps(pos, neg, *args)
    idx = np.flatnonzero(without > 0)
    order = idx[np.lexsort((idx, -without[idx]))]
    a, b = without[order] / n_runs, with_[order] / n_runs
    return pd.DataFrame({"account_id": graph.ids_of(order), "p_negative_without": a, "p_negative_with": b,
                         "p_saved": a - b})


def observed_delays(graph: SocialGraph, layer=None) -> np.ndarray:
    """The propagation delays (seconds) :func:`negative_reach_by_hour` spreads steps over: those of the layer's
    log, or -- a layer without a log, such as the combined strength -- of every layer's log pooled.

    Raises
    ------
    ParameterError
        No layer of the graph has an interaction log.
    """
    from graphcrm.algorithms.probabilities import propagation_delays

    lay = layer_of(graph, layer)
    logs = [lay] if lay.events is not None else \
        [x for x in graph.layers.values() if x.events is not None and len(x.events)]
    if not logs:
        raise ParameterError(f"layer '{lay.name}' has no interaction log to learn delays from, and no other layer "
                             "has one")
    return np.concatenate([propagation_delays(x) for x in logs])


def negative_reach_by_hour(graph: SocialGraph, negative_seeds, advocates=(), *, layer=None, prob: str = "wc",
                           delays_seconds=None, hours=None, n_runs: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """Expected negative reach per hour without and with ``advocates``.

    New negative adopters per step come from the competing-cascade runs; each
    hop takes a delay drawn from ``delays_seconds`` (default: the delays
    observed in the layer's log, :func:`graphcrm.algorithms.probabilities.propagation_delays`; a layer
    without a log, such as the combined strength, pools the logs of every layer), as in
    :func:`graphcrm.algorithms.diffusion.reach_over_time`; both curves use
    the same sampled delays and the same live-edge runs, so with advocates
    the curve is never above the one without.  The advocates are assumed to
    start at hour 0 with the negative seeds.

    Returns
    -------
    pandas.DataFrame
        ``hours, negative_reach_without, negative_reach_with``.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 2, 2], [2, 3, 4]).build()
    >>> t = negative_reach_by_hour(g, [1], [4], layer="x", prob="const:1", delays_seconds=[3600], hours=[0, 1, 2],
    ...                            n_runs=10)
    >>> t.values.tolist()      # 1 at hour 0, 2 at hour 1, 3 and 4 at hour 2 (4 answered first: 3)
    [[0.0, 1.0, 1.0], [1.0, 2.0, 2.0], [2.0, 4.0, 3.0]]
    """
    lay_full = layer_of(graph, layer)
    lay, neg, p = _setup(graph, lay_full, negative_seeds, prob, seed, n_runs)
    if delays_seconds is None:
        delays_seconds = observed_delays(graph, lay_full)
    delays = np.asarray(delays_seconds, dtype=float) / 3600.0
    if len(delays) == 0:
        raise ParameterError("no observed delays to spread steps over time")
    pos = _dense(graph, advocates, "advocate")
    new = []
    for seeds in (np.empty(0, dtype=np.int64), pos):
        _, per_step, _ = _k._competing_steps(seeds, neg, lay.out_indptr, lay.out_indices, p, True, int(n_runs),
                                          int(seed), _workers(), MAX_STEPS)
        new.append(per_step / n_runs)
    # the same sampled delay sums for both curves (reach_over_time's estimator), so they differ only by the runs
    last = max(int(np.flatnonzero(x)[-1]) if x.any() else 0 for x in new)
    n_draws = 20_000
    sums = np.cumsum(np.random.default_rng(seed).choice(delays, size=(n_draws, max(last, 1))), axis=1)
    if hours is None:
        horizon = float(np.quantile(sums[:, -1], 0.99)) if last else 1.0
        hours = np.arange(0, min(max(np.ceil(horizon), 1.0), 24 * 14) + 1)
    hours = np.asarray(hours, dtype=float)
    share = [np.searchsorted(np.sort(sums[:, s - 1]), hours, side="right") / n_draws for s in range(1, last + 1)]
    curves = [x[0] + sum(x[s] * share[s - 1] for s in range(1, last + 1)) for x in new]
    return pd.DataFrame({"hours": hours, "negative_reach_without": np.asarray(curves[0], dtype=float),
                         "negative_reach_with": np.asarray(curves[1], dtype=float)})
