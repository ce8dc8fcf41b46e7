"""Opinion-leader lists: who leads, why (component measures as percentiles), how far they reach, which side they are on.

Each component measure -- attention received (PageRank), core position
(coreness), expected word-of-mouth reach -- is turned into a percentile rank,
so no single scale dominates and each row can say *why*: "top 1% by reach,
top 10% by attention".  The combined score multiplies the *tail shares*
(the fraction of the ``n`` accounts at or above the account on a measure,
plus half an account): with ``G`` the weighted geometric mean of the tails,
``influence_score = 100 * ln(G) / ln(0.5 / n)`` (:func:`combined_score`) --
how many orders of magnitude into the top the account sits, 100 for first
on every measure.  Unlike a mean of percentiles it does not saturate at the
top: being 1 in 20,000 on reach counts for more than being 1 in 2,000, so a
coarse measure (coreness takes few values) cannot reorder the leaders on its
own.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from graphcrm.algorithms import coreness, expected_reach, pagerank
from graphcrm.algorithms.ranks import average_ranks
from graphcrm.loaders.errors import ParameterError, whole_number
from graphcrm.loaders.graph import Layer, SocialGraph
from graphcrm.loaders.results import labels_by_account, partition_match, settled


MEASURES = ("pagerank", "coreness", "expected_reach")
STANCE_THRESHOLD = 0.1


def default_layer(graph: SocialGraph) -> str | Layer:
    """The layer leaders are ranked on when none is named: :meth:`SocialGraph.default_layer`."""
    return graph.default_layer()


def percentile(values: np.ndarray) -> np.ndarray:
    """Percentile rank 0-100 (ties share the average rank).

    Examples
    --------
    >>> percentile(np.array([1.0, 5.0, 5.0, 10.0])).tolist()
    [25.0, 62.5, 62.5, 100.0]
    """
    if len(values) == 0:
        return np.empty(0)
    return average_ranks(settled(values)) / len(values) * 100.0


def combined_score(measures: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """``100 * log(G) / log(0.5 / n)``, G the weighted geometric mean of the account's tail shares.

    The tail share of a value is the fraction of the ``n`` accounts scoring at
    least as high (ties share the average), plus half an account so it is
    never zero.  The score is the weighted mean, over the measures, of how
    many orders of magnitude into the top the account sits, relative to the
    best possible: 100 is first on every measure, 50 is the top ``sqrt(0.5/n)``
    share, 0 the bottom.  On a log scale the top separates: on 76,000 Epinions
    accounts the first ten score 84-91 where ``100 * (1 - G)`` gave 99.93-99.99
    to all ten.  An account still has to stand out on every measure: one
    coarse measure cannot reorder the top alone.

    Examples
    --------
    >>> s = combined_score({"a": np.array([1.0, 2.0, 3.0, 4.0])}, {"a": 1.0})
    >>> s.round(1).tolist()
    [6.4, 22.6, 47.2, 100.0]
    """
    total = sum(weights[m] for m in measures)
    n = len(next(iter(measures.values())))
    log_tail = np.zeros(n)
    for m, values in measures.items():
        tail = (n - average_ranks(settled(values)) + 0.5) / n
        log_tail += weights[m] * np.log(tail)
    return 100.0 * (log_tail / total) / np.log(0.5 / n) if n > 0 else np.zeros(0)


def stance(graph: SocialGraph, *, layer: str | None = None, targets=None,
           threshold: float = STANCE_THRESHOLD) -> pd.DataFrame:
    """Supporter / critic / neutral from the signs an account *expresses*.

    Uses the signed layers (ratings, trust) and the layers whose events carry
    a sentiment -- all of them, pooled, unless ``layer`` names one.  An
    account's stance score is the mean sign (or sentiment, clipped to
    [-1, 1]) over every interaction it made on those layers (each event with
    a sentiment, each signed tie without one), towards ``targets`` only (e.g.
    the brand's accounts) when given: a like and four negative retweets are
    five interactions, mean -0.54 at sentiments +0.9 / -0.9.  Above
    ``threshold``: supporter; below ``-threshold``: critic; otherwise, or
    without evidence: neutral.

    Returns
    -------
    pandas.DataFrame
        ``account_id, stance, stance_score, stance_evidence`` for every account.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("trust", ["ann", "bob", "bob"], ["cat", "cat", "ann"], [5.0, -2.0, -8.0]).build()
    >>> stance(g).set_index("account_id").stance.to_dict()
    {'ann': 'supporter', 'bob': 'critic', 'cat': 'neutral'}
    """
    names = [layer] if layer else _stance_layers(graph)
    if layer and layer not in _stance_layers(graph):
        lay = graph.layer(layer)                          # an unknown name: the graph's own error
        raise ParameterError(f"layer '{lay.name}' expresses no sign: stance reads a signed layer (ratings, trust) or "
                             f"events with a sentiment; this graph's are: {', '.join(_stance_layers(graph)) or 'none'}")
    frame = pd.DataFrame({"account_id": graph.id_map.ids, "stance": "neutral", "stance_score": 0.0,
                          "stance_evidence": 0})
    if not names:
        return frame
    target_ids = None if targets is None else graph.index_of(list(targets))
    actors, values = [], []
    for name in names:
        actor, value = _expressed(graph.layer(name), target_ids)
        actors.append(actor)
        values.append(value)
    actor, value = np.concatenate(actors), np.concatenate(values)
    n = graph.n_nodes
    evidence = np.bincount(actor, minlength=n)
    total = np.bincount(actor, weights=value, minlength=n)
    score = np.divide(total, evidence, out=np.zeros(n), where=evidence > 0)
    label = np.where(score > threshold, "supporter", np.where(score < -threshold, "critic", "neutral"))
    frame["stance"] = label
    frame["stance_score"] = score
    frame["stance_evidence"] = evidence
    return frame


def _expressed(lay: Layer, target_ids):
    """``(actor, value)`` of every sign / sentiment expressed on one layer (values clipped to [-1, 1])."""
    if lay.events is not None and lay.events.sentiment is not None:
        src, dst, value = lay.events.src, lay.events.dst, lay.events.sentiment
    else:
        src, dst, value = lay.edge_arrays()
        value = np.sign(value)
    actor, target = (dst, src) if lay.spec.direction == "reverse" else (src, dst)
    keep = ~np.isnan(value)
    if target_ids is not None:
        keep &= np.isin(target, target_ids)
    return np.asarray(actor[keep], dtype=np.int64), np.clip(np.asarray(value[keep], dtype=float), -1.0, 1.0)


def _stance_layers(graph: SocialGraph) -> list[str]:
    """Every layer that expresses signs: signed layers and layers whose events carry a sentiment."""
    return [name for name, lay in graph.layers.items()
            if lay.spec.signed or (lay.events is not None and lay.events.sentiment is not None)]


def opinion_leaders(
    graph: SocialGraph,
    *,
    layer: str | Layer | None = None,
    top: int = 50,
    partition=None,
    measure_weights: Mapping[str, float] | None = None,
    model: str = "wc",
    reach_samples: int = 100_000,
    seed: int = 0,
    stance_layer: str | None = None,
    scores: "LeaderScores | None" = None,
) -> pd.DataFrame:
    """The top accounts by combined influence, overall or per community, with the reasons.

    Parameters
    ----------
    layer : str or Layer, optional
        Influence layer to rank on (default: :meth:`SocialGraph.default_layer`).
    top : int
        Rows overall, or per community when ``partition`` is given.
    partition : Partition, pandas.Series, mapping or pandas.DataFrame, optional
        The community of each account: a :class:`~graphcrm.loaders.results.Partition` (what ``leiden``
        returns), a Series or dict ``account_id -> community``, or the ``account_id, community`` table of
        ``Partition.to_frame()``.  Ranks are then within each community; accounts without one are left out
        (an :class:`InvalidInputError` when none of the partition's accounts is in the graph).
    measure_weights : mapping, optional
        Weights of ``pagerank``, ``coreness``, ``expected_reach`` in the
        combined score (default equal).
    model, reach_samples, seed
        Diffusion model and sampling of the expected reach.
    stance_layer : str, optional
        Signed / sentiment layer for the stance column (default: every
        signed layer and every layer whose events carry a sentiment, pooled,
        as :func:`stance`; none -> neutral).
    scores : LeaderScores, optional
        Reuse every account's measures across calls on the same graph (a batch
        job ranks overall, then per community, then for segments): each
        distinct set of the arguments above is computed once.

    Returns
    -------
    pandas.DataFrame
        ``rank, account_id, influence_score`` (see :func:`combined_score`), ``pagerank_pct, coreness_pct,
        expected_reach_pct, pagerank, coreness, expected_reach,
        expected_reach_stderr, audience_size, audience_note`` (why an account with no audience is listed),
        ``stance, stance_score,
        stance_evidence`` (+ ``community`` first when partitioned), sorted by
        community then rank.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["a", "b", "c", "d"], ["hub", "hub", "hub", "a"]).build()
    >>> opinion_leaders(g, top=2, reach_samples=2000)[["rank", "account_id"]].values.tolist()
    [[1, 'hub'], [2, 'a']]
    """
    top = whole_number(top, "top")
    scores = scores if scores is not None else LeaderScores(graph)
    frame = scores.table(layer=layer, measure_weights=measure_weights, model=model, reach_samples=reach_samples,
                         seed=seed, stance_layer=stance_layer)
    order_keys = ["influence_score", "expected_reach", "pagerank"]
    if partition is None:
        frame = _rank(frame, order_keys)
        return frame.head(top).reset_index(drop=True)
    frame.insert(0, "community", _community_of(graph, partition))
    frame = frame[frame.community.notna()]
    if not len(frame):
        return frame.head(0)
    return _rank_within(frame, order_keys, top)


class LeaderScores:
    """Every account's leader measures on one graph, computed once per set of arguments.

    :func:`opinion_leaders` ranks, cuts and groups a table of all accounts; the
    table (PageRank, coreness, a sampled expected reach, stance) is the costly
    part and does not depend on ``top`` or ``partition``.  Pass one instance to
    calls on the same graph to compute it once.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["a", "b", "c"], ["hub", "hub", "a"]).build()
    >>> cache = LeaderScores(g)
    >>> first = opinion_leaders(g, top=1, reach_samples=2000, scores=cache)
    >>> both = opinion_leaders(g, top=2, reach_samples=2000, scores=cache)
    >>> len(cache), first.account_id.tolist(), both.account_id.tolist()
    (1, ['hub'], ['hub', 'a'])
    """

    def __init__(self, graph: SocialGraph):
        self.graph = graph
        self._tables: dict = {}

    def __len__(self) -> int:
        return len(self._tables)

    def table(self, *, layer=None, measure_weights=None, model="wc", reach_samples=100_000, seed=0,
              stance_layer=None) -> pd.DataFrame:
        """All accounts in dense-id order: ``account_id, influence_score``, the percentiles, raw measures,
        audience and stance columns of :func:`opinion_leaders` (unranked; a copy, free to modify)."""
        weights = dict.fromkeys(MEASURES, 1.0) | dict(measure_weights or {})
        unknown = set(weights) - set(MEASURES)
        if unknown or sum(weights.values()) <= 0 or min(weights.values()) < 0:
            raise ParameterError(f"measure_weights: use non-negative weights for {MEASURES}, not all zero")
        lay = self.graph.resolve_layer(layer)     # named and default layers resolve to the same object each time
        key = (lay, tuple(sorted(weights.items())), model, int(reach_samples), seed, stance_layer)
        if key not in self._tables:
            self._tables[key] = _score_table(self.graph, lay.positive(), weights, model, reach_samples, seed,
                                             stance_layer)
        return self._tables[key].copy()


def _score_table(graph, lay, weights, model, reach_samples, seed, stance_layer) -> pd.DataFrame:
    scores = {
        "pagerank": pagerank(graph, layer=lay).values,
        "coreness": coreness(graph, layer=lay).values,
    }
    reach = expected_reach(graph, layer=lay, model=model, n_samples=reach_samples, seed=seed)
    scores["expected_reach"] = reach.values
    frame = pd.DataFrame({"account_id": graph.id_map.ids})
    frame.insert(1, "influence_score", combined_score({m: scores[m] for m in MEASURES}, weights))
    for m in MEASURES:
        frame[f"{m}_pct"] = percentile(scores[m])
    for m in MEASURES:
        frame[m] = scores[m]
    frame["expected_reach_stderr"] = reach.extras["expected_reach_stderr"]
    frame["audience_size"] = _audience(graph, lay)
    frame["audience_note"] = np.where(frame.audience_size.to_numpy() > 0, "", _no_audience_reason(graph, lay))
    return frame.join(stance(graph, layer=stance_layer).drop(columns="account_id"))


def _rank(frame: pd.DataFrame, keys) -> pd.DataFrame:
    # highest first; ties by external id order (the frame's row order is dense-id order)
    frame = frame.assign(_pos=np.arange(len(frame)))
    frame = frame.sort_values(keys + ["_pos"], ascending=[False] * len(keys) + [True], kind="stable")
    frame = frame.drop(columns="_pos")
    frame.insert(0 if "community" not in frame else 1, "rank", np.arange(1, len(frame) + 1))
    return frame


def _rank_within(frame: pd.DataFrame, keys, top: int) -> pd.DataFrame:
    """:func:`_rank` within each community (communities in sorted order), the first ``top`` of each."""
    rows, rank = top_per_community(frame, keys, top)
    out = frame.iloc[rows].reset_index(drop=True)
    out.insert(1, "rank", rank)
    return out


def top_per_community(frame: pd.DataFrame, keys, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the first ``top`` rows of each ``community`` (communities in sorted order; within one, by
    ``keys`` highest first, ties in row order) and their ranks: one sort of the whole table instead of one per
    community (higgs has 13,000 communities: 40 s the other way).

    Examples
    --------
    >>> f = pd.DataFrame({"community": [2, 1, 2, 1, 2], "score": [0.1, 0.5, 0.9, 0.7, 0.9]})
    >>> rows, rank = top_per_community(f, ["score"], 2)
    >>> rows.tolist(), rank.tolist()
    ([3, 1, 2, 4], [1, 2, 1, 2])
    """
    group = pd.factorize(frame["community"], sort=True)[0]
    position = np.arange(len(frame))
    order = np.lexsort([position] + [-frame[k].to_numpy(dtype=np.float64) for k in reversed(keys)] + [group])
    grouped = group[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    rank = position - np.repeat(starts, np.diff(np.r_[starts, len(order)])) + 1
    keep = rank <= top
    return order[keep], rank[keep]


def _audience(graph: SocialGraph, lay: Layer) -> np.ndarray:
    """Followers from the node table when known, else direct audience (out-degree) on the follows or ranked layer."""
    attrs = graph.node_attributes
    if "followers" in attrs:
        known = pd.to_numeric(attrs["followers"], errors="coerce")
        fallback = (graph.layer("follows") if "follows" in graph.layers else lay).out_degree()
        return np.where(known.notna(), known.fillna(0).to_numpy(), fallback).astype(np.int64)
    return (graph.layer("follows") if "follows" in graph.layers else lay).out_degree().astype(np.int64)


def _no_audience_reason(graph: SocialGraph, lay: Layer) -> str:
    """Why an account with no audience can still be on the list: its influence is measured on another layer."""
    where = ("no follower count and no followers in the follows layer" if "followers" in graph.node_attributes
             else "no followers in the follows layer" if "follows" in graph.layers else f"no out-ties on {lay.name}")
    return f"{where}; ranked by the attention it receives and passes on in {lay.name}"


def _community_of(graph: SocialGraph, partition) -> pd.Series:
    """The community of every account (dense-id order, None where the partition gives none).

    Raises
    ------
    InvalidInputError
        None of the partition's accounts is in the graph (a partition of another graph, or ids of another kind):
        the list would silently be empty.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 2], [2, 3]).build()
    >>> _community_of(g, {3: "b", 1: "a", 99: "c"}).tolist()
    ['a', None, 'b']
    >>> _community_of(g, pd.Series({99: 0}))
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.InvalidInputError: partition: none of its 1 accounts is in the graph (3 accounts): a partition of another graph?
    """
    series = labels_by_account(partition, what="partition")
    partition_match(series, graph, "partition")
    dense = graph.id_map.lookup(series.index.to_numpy())
    known = dense >= 0
    community = pd.Series([None] * graph.n_nodes, dtype=object)
    community.iloc[dense[known]] = series.to_numpy()[known]
    return community
