"""Influence scores: PageRank (global and personalized), HITS, coreness, degrees and engagement.

Direction.  Layers store influence edges ``u -> v`` ("u can influence v").
Attention flows the other way: ``v`` pays attention to ``u``.  Scores that
measure *who receives attention* -- PageRank, HITS authorities -- therefore
walk the **attention** direction by default (``direction="attention"``),
which uses the stored in-edges as out-edges: no transpose is built.  Pass
``direction="influence"`` to walk the edges as stored (for a file loaded into
a layer whose rows are already ``a -> b`` in the walk's sense, e.g. to compare
with other libraries on the raw file).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from graphcrm.algorithms import _centrality_kernels as _k
from graphcrm.algorithms import _pagerank_kernels as _pr
from graphcrm.algorithms import _pagerank_order_kernels as _po
from graphcrm.algorithms.registry import rank_measure
from graphcrm.loaders.errors import ConvergenceError, ParameterError, whole_number
from graphcrm.loaders.graph import Layer, SocialGraph, layer_of
from graphcrm.loaders.results import NodeScores
from graphcrm.loaders.idmap import id_list

DIRECTIONS = ("attention", "influence")


def _hits_table(result):
    """``graphcrm rank --method hits``: authorities by falling score, with each account's hub score."""
    hubs, auth = result
    return auth.to_frame().merge(hubs.to_frame()[["account_id", "hub"]], on="account_id", how="left")


def _walk_layer(graph: SocialGraph, layer: str | Layer, direction: str) -> Layer:
    lay = layer_of(graph, layer)
    if direction not in DIRECTIONS:
        raise ParameterError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    return lay.reversed() if direction == "attention" else lay


def _distribution(graph: SocialGraph, values, what: str) -> np.ndarray:
    """A probability vector over nodes from None (uniform), external ids, or a mapping id -> weight."""
    n = graph.n_nodes
    if values is None:
        return np.full(n, 1.0 / n)
    vec = np.zeros(n)
    if isinstance(values, dict):
        ids = list(values)
        weights = np.asarray([values[i] for i in ids], dtype=float)
    else:
        ids = id_list(values)
        weights = np.ones(len(ids))
    if len(ids) == 0:
        raise ParameterError(f"{what} is empty: give at least one account")
    if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
        raise ParameterError(f"{what} weights must be finite, non-negative and not all zero")
    np.add.at(vec, graph.index_of(ids), weights)
    return vec / vec.sum()


@rank_measure("pagerank", "attention received: PageRank on the reverse of the influence layer")
def pagerank(
    graph: SocialGraph,
    *,
    layer: str | Layer,
    weight: bool = True,
    damping: float = 0.85,
    personalization=None,
    direction: str = "attention",
    tol: float = 1e-10,
    max_iter: int = 1000,
    raise_on_no_convergence: bool = True,
    start=None,
) -> NodeScores:
    """PageRank of every account on one layer.

    Parameters
    ----------
    graph : SocialGraph
    layer : str or Layer
        A layer name, or a derived layer such as
        ``graph.interaction_strength()``.
    weight : bool, default True
        Use edge weights (transition probabilities proportional to weight).
    damping : float, default 0.85
    personalization : sequence of ids or dict id -> weight, optional
        Teleport (and dangling) distribution: a seed set, a segment or one
        person gives personalized PageRank.  Default: uniform.
    direction : {"attention", "influence"}, default "attention"
        Walk who-pays-attention-to-whom (scores mean attention received) or
        the influence edges as stored.
    tol : float, default 1e-10
        Stop when the L1 change of an iteration is below ``tol``.
    max_iter : int, default 1000
    raise_on_no_convergence : bool, default True
        Raise :class:`ConvergenceError` after ``max_iter``; else return the
        last iterate with ``info["converged"] == False``.
    start : NodeScores, pandas Series or dict id -> score, optional
        Warm start: iterate from these scores (yesterday's PageRank of an
        earlier snapshot version) instead of ``1 / n``.  Accounts it does not
        name start at their teleport share; the vector is rescaled to sum 1.
        Same fixed point and the same stopping test, so the result differs
        from a cold run by less than the tolerance allows (L1 below
        ``tol * damping / (1 - damping)``); fewer iterations when the graph
        changed little.

    Returns
    -------
    NodeScores
        Scores sum to 1; ``info`` has iterations, converged, error, seconds
        (and ``warm_start`` with the share of accounts the start vector named;
        ``order="degree"`` and ``order_seconds`` -- 0 once built -- where a
        large layer was iterated in degree order, see
        :func:`ordered_pull_rows`; the scores are in account order either way).

    Notes
    -----
    Dangling nodes (no out-edge in the walk direction) give their mass to the
    teleport distribution, as networkx does, so the scores equal
    ``networkx.pagerank(G, alpha=damping, personalization=...)`` on the same
    directed weighted graph.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["a", "b", "c"], ["hub", "hub", "hub"]).build()
    >>> pr = pagerank(g, layer="follows")      # everyone follows the hub: it gets the attention
    >>> pr.to_frame().account_id[0]
    'hub'
    >>> round(float(pr.values.sum()), 12)
    1.0
    """
    if not 0.0 <= damping < 1.0:
        raise ParameterError(f"damping must be in [0, 1), got {damping}")
    if tol <= 0 or max_iter < 1:
        raise ParameterError(f"tol must be > 0 and max_iter >= 1 (got {tol}, {max_iter})")
    walk = _walk_layer(graph, layer, direction)
    base = layer_of(graph, layer)
    n = graph.n_nodes
    if n == 0:
        return NodeScores("pagerank", np.empty(0), graph.id_map, {"iterations": 0, "converged": True})
    use_w = bool(weight and walk.weighted)
    if use_w and (walk.out_weights < 0).any():
        raise ParameterError(f"layer '{walk.name}' has negative weights; PageRank needs weight=False or a "
                             "non-negative layer")
    started = time.perf_counter()
    teleport = _distribution(graph, personalization, "personalization")
    extra = {}
    if start is None:
        x, iterations, converged, err, extra = _power_iteration(walk, base, direction, use_w, teleport,
                                                                personalization is None, damping, tol, max_iter)
    else:
        x0, named = _start_vector(graph, start, teleport, damping)
        empty = np.empty(0)
        x, iterations, converged, err = _pr.pagerank_from(
            walk.in_indptr, walk.in_indices, walk.in_weights if use_w else empty, walk.out_indptr,
            walk.out_weights if use_w else empty, use_w, teleport, x0, float(damping), float(tol), int(max_iter))
        extra = {"warm_start": named}
    info = {"layer": walk.name, "direction": direction, "weighted": use_w, "damping": damping,
            "personalized": personalization is not None, "tol": tol, "iterations": int(iterations),
            "converged": bool(converged), "error": float(err), **extra, "seconds": time.perf_counter() - started}
    if not converged and raise_on_no_convergence:
        raise ConvergenceError(f"PageRank did not reach L1 change {tol} in {max_iter} iterations "
                               f"(last change {err:.3g}); raise max_iter or tol")
    return NodeScores("pagerank", x, graph.id_map, info)


def _start_vector(graph: SocialGraph, start, teleport: np.ndarray, damping: float):
    """A warm-start vector over the graph's accounts: (vector summing to 1, share of accounts it named)."""
    if isinstance(start, NodeScores):
        ids, values = start.id_map.ids, np.asarray(start.values, dtype=float)
    elif isinstance(start, dict):
        ids, values = np.asarray(list(start), dtype=object), np.asarray(list(start.values()), dtype=float)
    elif hasattr(start, "index") and hasattr(start, "to_numpy"):
        ids, values = start.index.to_numpy(), start.to_numpy(dtype=float)
    else:
        raise ParameterError("start must be NodeScores, a pandas Series or a dict id -> score "
                             f"(got {type(start).__name__})")
    if len(values) and (not np.isfinite(values).all() or (values < 0).any()):
        raise ParameterError("start scores must be finite and non-negative")
    x0 = (1.0 - damping) * teleport
    known = graph.id_map.lookup(ids) if len(ids) else np.empty(0, dtype=np.int64)
    hit = known >= 0
    x0[known[hit]] = values[hit]
    named = np.zeros(graph.n_nodes, dtype=bool)
    named[known[hit]] = True
    share = float(named.sum() / max(graph.n_nodes, 1))
    total = x0.sum()
    return (x0 / total if total > 0 else teleport.copy()), share


#: below this share of edges that the reduced system removes (edges from accounts without in-edges and
#: into dangling accounts) and this share of accounts without edges, plain power iteration on the layer
#: as stored is faster than building the reduced system
REDUCE_MIN_SHARE = 0.1

#: from this many accounts (1 MiB of float64 scores: more than a core's L2 cache) and a tolerance of at
#: least ``LOW_PRECISION_MIN_TOL``, the early steps of plain iteration gather float32 contributions
#: (~5% less time per call on rmat20, median of 15 pairs); they end at an L1 change of
#: ``LOW_PRECISION_UNTIL`` (or ``tol`` if larger) and the remaining steps are float64
#: (``graphcrm.algorithms._centrality_kernels._pagerank``).  The
#: rounding moves the iterate by ~1e-9 (L1) along slowly decaying directions: harmless at tol 1e-8
#: (same 11 steps on rmat20), but at tol 1e-10 it costs extra steps (13 -> 19), so it is off there.
LOW_PRECISION_MIN_NODES = 1 << 17
LOW_PRECISION_MIN_TOL = 1e-8
LOW_PRECISION_UNTIL = 1e-5


#: from this many edges, where the reduced system does not pay, PageRank iterates a locality-ordered copy
#: of the walk's pull rows (:func:`ordered_pull_rows`; ``algorithms/_pagerank_order_kernels.py``): built
#: once per layer and direction and kept with the layer (4 B/edge, + 8 B/edge on a weighted layer, and
#: 12 B/node for the rows and the two permutations, 8 B/node for 1 / out-strength per weighting).  rmat17 (1M edges) and rmat20 (16M) gain, and the build costs about the time one call saves
#: (``benchmarks/RESULTS-centrality.md``); much smaller layers fit in the L2 cache in any order.  ``None``
#: turns it off.
ORDER_MIN_EDGES = 1 << 19


def _power_iteration(walk: Layer, base: Layer, direction: str, use_w: bool, teleport, uniform: bool, damping, tol,
                     max_iter):
    """Scores, iterations, converged, last change, extra info (see :mod:`graphcrm.algorithms._pagerank_kernels`
    and :mod:`graphcrm.algorithms._pagerank_order_kernels`)."""
    empty = np.empty(0)
    low = walk.n_nodes >= LOW_PRECISION_MIN_NODES and tol >= LOW_PRECISION_MIN_TOL
    low_until = max(LOW_PRECISION_UNTIL, tol) if low else np.inf
    if ORDER_MIN_EDGES is not None and walk.n_edges >= ORDER_MIN_EDGES:
        built = False

        def plan():
            """1 / out-strength in the new order, or None where the reduced system pays (kept with the layer:
            the choice and the strengths depend on the layer, the direction and ``use_w`` only)."""
            nonlocal built
            inv = _pr._inv_strength(walk.out_indptr, walk.out_weights if use_w else empty, use_w)
            if _pr.reduce_pays(walk.in_indptr, walk.out_indptr, inv, REDUCE_MIN_SHARE):
                return None
            rows, built = _ordered_pull_rows(base, direction)
            inv = inv[rows.perm]
            inv.flags.writeable = False
            return inv

        inv = base.derived(("pagerank_ordered_inv", direction, use_w, REDUCE_MIN_SHARE), plan)
        if inv is not None:
            rows, built_now = _ordered_pull_rows(base, direction)
            perm = rows.perm
            tp = empty if uniform else teleport[perm]
            x0 = np.full(walk.n_nodes, 1.0 / walk.n_nodes)
            y, iterations, converged, err = _po.pagerank_ordered(
                rows.indptr, rows.indices, rows.weights if use_w else empty, use_w, inv, tp, uniform,
                1.0 / walk.n_nodes, x0, float(damping), float(tol), int(max_iter), float(low_until))
            x = np.empty_like(y)
            x[perm] = y
            return x, iterations, converged, err, {"order": "degree",
                                                   "order_seconds": rows.seconds if built or built_now else 0.0}
    x, iterations, converged, err = _pr.pagerank(
        walk.in_indptr, walk.in_indices, walk.in_weights if use_w else empty, walk.out_indptr,
        walk.out_weights if use_w else empty, use_w, teleport, uniform, float(damping), float(tol), int(max_iter),
        REDUCE_MIN_SHARE, float(low_until))
    return x, iterations, converged, err, {}


class OrderedPullRows(NamedTuple):
    """A layer's pull rows (in-edges of the walk) with the accounts renumbered for locality.

    ``perm[i]`` is the account of new label ``i``, ``rank`` the inverse; ``indptr`` (int32 while the edge
    count fits), ``indices`` (int32, new labels, each row in the stored row's order) and ``weights`` (empty
    when the layer has none) are the pull CSR in new labels; ``seconds`` is what building it took.
    """

    perm: np.ndarray
    rank: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    seconds: float


def ordered_pull_rows(layer: Layer, direction: str = "attention") -> OrderedPullRows:
    """The walk's pull rows with accounts numbered by falling in-degree, ties by falling out-degree, then by
    account (a function of the layer only); computed on first use and kept with ``layer``.

    Rows of equal length follow each other (their loop exits are predicted) and the accounts gathered
    most often share the first cache lines: a PageRank pass over rmat20 takes about half the time of
    one in the stored order (``benchmarks/RESULTS-centrality.md``).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 2, 3, 3], [2, 3, 1, 2]).build()
    >>> rows = ordered_pull_rows(g.layer("x"), "influence")
    >>> g.ids_of(rows.perm).tolist()          # 2 has two in-edges; 3 two out-edges
    [2, 3, 1]
    >>> rows is ordered_pull_rows(g.layer("x"), "influence")
    True
    """
    if direction not in DIRECTIONS:
        raise ParameterError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    return _ordered_pull_rows(layer, direction)[0]


def _ordered_pull_rows(layer: Layer, direction: str) -> tuple[OrderedPullRows, bool]:
    """:func:`ordered_pull_rows`, and whether this call built them."""
    built = False

    def build():
        nonlocal built
        built = True
        started = time.perf_counter()
        walk = layer.reversed() if direction == "attention" else layer
        n = walk.n_nodes
        perm = _po.degree_order(walk.in_degree(), walk.out_degree())
        rank = _po.rank_of(perm)
        indptr = np.zeros(n + 1, dtype=np.int32 if walk.n_edges < 2**31 else np.int64)
        empty = np.empty(0)
        indices, weights = _po.relabel_pull(walk.in_indptr, walk.in_indices,
                                            walk.in_weights if walk.weighted else empty, walk.weighted, perm,
                                            rank, indptr)
        for a in (perm, rank, indptr, indices, weights):
            a.flags.writeable = False
        return OrderedPullRows(perm, rank, indptr, indices, weights, time.perf_counter() - started)

    return layer.derived(("pagerank_pull_rows", "degree", direction), build), built


def personalized_pagerank(graph: SocialGraph, seeds, **kwargs) -> NodeScores:
    """PageRank that teleports to ``seeds`` (ids, or a dict id -> weight).

    Scores are the attention each account gets from the seeds' neighbourhood:
    who this segment (or this one person) listens to.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["a", "a", "b"], ["x", "y", "z"]).build()
    >>> ppr = personalized_pagerank(g, ["a"], layer="follows")
    >>> ppr["z"] == 0.0 and ppr["x"] > 0
    True
    """
    scores = pagerank(graph, personalization=seeds, **kwargs)
    return NodeScores("personalized_pagerank", scores.values, graph.id_map, scores.info)


@rank_measure("hits", "HITS authority (attention received from good hubs), with the hub score beside it",
              table=_hits_table)
def hits(
    graph: SocialGraph,
    *,
    layer: str | Layer,
    weight: bool = True,
    direction: str = "attention",
    tol: float = 1e-12,
    max_iter: int = 10_000,
    raise_on_no_convergence: bool = True,
) -> tuple[NodeScores, NodeScores]:
    """HITS hubs and authorities (each normalised to sum 1).

    In the default attention direction an *authority* is someone many good
    hubs pay attention to (an opinion leader) and a *hub* someone who pays
    attention to many authorities (a curator).

    Returns
    -------
    hubs, authorities : NodeScores

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("v", [1, 1, 2], [3, 4, 3]).build()
    >>> hubs, auth = hits(g, layer="v", direction="influence")
    >>> int(auth.to_frame().account_id[0]), int(hubs.to_frame().account_id[0])
    (3, 1)
    """
    walk = _walk_layer(graph, layer, direction)
    n = graph.n_nodes
    use_w = bool(weight and walk.weighted)
    if use_w and (walk.out_weights < 0).any():
        raise ParameterError(f"layer '{walk.name}' has negative weights; HITS needs weight=False")
    empty = np.empty(0)
    started = time.perf_counter()
    if n == 0 or walk.n_edges == 0:
        h = a = np.full(n, 1.0 / n) if n else np.empty(0)
        iterations, converged, err = 0, True, 0.0
    else:
        h, a, iterations, converged, err = _k._hits(
            walk.out_indptr, walk.out_indices, walk.out_weights if use_w else empty,
            walk.in_indptr, walk.in_indices, walk.in_weights if use_w else empty,
            use_w, float(tol), int(max_iter), walk.in_degree().astype(np.float64) + 1.0)
    info = {"layer": walk.name, "direction": direction, "weighted": use_w, "iterations": int(iterations),
            "converged": bool(converged), "error": float(err), "seconds": time.perf_counter() - started}
    if not converged and raise_on_no_convergence:
        raise ConvergenceError(f"HITS did not reach L1 change {tol} in {max_iter} iterations (last {err:.3g})")
    return NodeScores("hub", h, graph.id_map, info), NodeScores("authority", a, graph.id_map, info)


CORENESS_MODES = ("all", "in", "out")


@rank_measure("coreness", "core position: the k-core the account belongs to")
def coreness(graph: SocialGraph, *, layer: str | Layer, mode: str = "all") -> NodeScores:
    """k-core number of every account (Kitsak et al. 2010: a better spreader predictor than degree).

    Parameters
    ----------
    mode : {"all", "in", "out"}, default "all"
        Which degree the cores are defined by: total (in + out, a reciprocal
        pair counting twice, as networkx's ``core_number`` and igraph's
        ``coreness(mode="all")`` count on a directed graph), in or out.
        Self-loops are ignored.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> tri = GraphBuilder().add_edges("x", [1, 2, 3, 3], [2, 3, 1, 4]).build()
    >>> coreness(tri, layer="x").values.tolist()   # a directed triangle plus a pendant node
    [2.0, 2.0, 2.0, 1.0]
    """
    if mode not in CORENESS_MODES:
        raise ParameterError(f"mode must be one of {CORENESS_MODES}, got {mode!r}")
    lay = layer_of(graph, layer)
    if lay.undirected and mode == "all":
        mode = "out"                # both arcs of a tie are stored: out-degree is the undirected degree
    started = time.perf_counter()
    core = _k._coreness(lay.out_indptr, lay.out_indices, lay.in_indptr, lay.in_indices,
                        mode in ("all", "out"), mode in ("all", "in"), not lay.loop_free)
    info = {"layer": lay.name, "mode": mode, "seconds": time.perf_counter() - started}
    return NodeScores("coreness", core.astype(np.float64), graph.id_map, info)


@rank_measure("degree", "audience size: how many accounts the account can influence directly",
              defaults={"mode": "out"})
def degree(graph: SocialGraph, *, layer: str | Layer, mode: str = "in", weight: bool = False) -> NodeScores:
    """In- or out-degree (``weight=True``: summed weights) on one layer.

    In influence direction, out-degree is the audience an account can reach
    directly and in-degree the number of accounts it listens to.
    """
    if mode not in ("in", "out"):
        raise ParameterError(f"mode must be 'in' or 'out', got {mode!r}")
    lay = layer_of(graph, layer)
    if weight:
        values = lay.in_strength() if mode == "in" else lay.out_strength()
    else:
        values = (lay.in_degree() if mode == "in" else lay.out_degree()).astype(np.float64)
    name = f"{'weighted_' if weight else ''}{mode}_degree"
    return NodeScores(name, values, graph.id_map, {"layer": lay.name, "mode": mode, "weighted": weight})


def engagement(graph: SocialGraph):
    """Interactions each account *received* and *made*, per interaction layer.

    ``<layer>_received`` counts rows where the account was the target
    ("was retweeted / replied to / mentioned / liked"), ``<layer>_made``
    rows where it was the actor, whatever the layer's influence direction.

    Returns
    -------
    pandas.DataFrame
        ``account_id`` then two columns per layer that has a weighted
        interaction convention, in layer-name order.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = (GraphBuilder().add_events("retweets", ["fan", "fan"], ["star", "star"], time=[1, 2])
    ...      .add_events("mentions", ["fan"], ["star"], time=[3]).build())
    >>> engagement(g).set_index("account_id").loc["star"].tolist()
    [1.0, 0.0, 2.0, 0.0]
    """
    import pandas as pd

    from graphcrm.loaders.layers import INTERACTION_TYPES

    frame = pd.DataFrame({"account_id": graph.id_map.ids})
    for name in graph.layer_names:
        if name not in INTERACTION_TYPES:
            continue
        lay = graph.layer(name)
        target_side, actor_side = ((lay.out_strength(), lay.in_strength()) if lay.spec.direction == "reverse"
                                   else (lay.in_strength(), lay.out_strength()))
        frame[f"{name}_received"] = target_side
        frame[f"{name}_made"] = actor_side
    return frame


@rank_measure("voterank", "spreaders chosen one by one, each lowering its neighbours' votes (Zhang et al. 2016)",
              options=("k",), table=lambda frame: frame)
def voterank(graph: SocialGraph, *, layer: str | Layer, k: int = 10, direction: str = "influence"):
    """VoteRank spreaders: ``k`` influential accounts whose audiences overlap little (Zhang et al. 2016).

    The people an account reaches vote for it; once elected, its audience's
    votes weaken, so the next pick tends to reach other people.  Equals
    ``networkx.voterank`` on the same directed graph.

    Returns
    -------
    pandas.DataFrame
        ``account_id, rank, votes`` in election order (fewer than ``k`` rows
        when nobody has votes left).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", ["a", "a", "a", "b", "b"], ["c", "d", "e", "d", "f"]).build()
    >>> voterank(g, layer="x", k=2).account_id.tolist()
    ['a', 'b']
    """
    import pandas as pd

    k = whole_number(k, "k")
    walk = _walk_layer(graph, layer, direction)
    n = graph.n_nodes
    if n == 0 or walk.n_edges == 0:
        return pd.DataFrame({"account_id": [], "rank": [], "votes": []})
    avg_degree = walk.n_edges / n
    chosen, votes = _k._voterank(walk.out_indptr, walk.out_indices, int(min(k, n)), float(avg_degree))
    return pd.DataFrame({"account_id": graph.id_map.ids[chosen], "rank": np.arange(1, len(chosen) + 1),
                         "votes": votes})


@rank_measure("reach", "expected word-of-mouth reach seeded alone (reverse-reachable sampling)",
              options=("model", "n_samples", "seed"))
def expected_reach(
    graph: SocialGraph,
    *,
    layer: str | Layer,
    model: str = "wc",
    n_samples: int = 100_000,
    seed: int = 0,
    prob: str | None = None,
) -> NodeScores:
    """Expected word-of-mouth reach of every account seeded alone, under Independent Cascade.

    Estimated from ``n_samples`` reverse-reachable sets (Borgs et al. 2014):
    ``reach(v) = 1 + (n - 1) * (share of the sets rooted at another account
    that contain v)``, so all accounts cost one batch of samples.  Reach counts
    the seed itself exactly (never below 1; ``n * share of all sets`` put
    accounts that reach no one at 0.2-1.8 on wiki-Vote).  The
    sets are those :func:`~graphcrm.algorithms.planning.plan_seeds` samples
    (:class:`~graphcrm.algorithms.rr_sampling.RRSampler`), counted without
    being stored.

    Parameters
    ----------
    layer : str or Layer
        Influence edges ``u -> v`` (u can influence v); negative weights are dropped.
    model : str, default "wc"
        Edge probabilities (see :mod:`graphcrm.algorithms.probabilities`); ``prob`` is the same option under
        the name :func:`~graphcrm.algorithms.simulate` and :func:`~graphcrm.algorithms.plan_seeds` give it
        (their ``model`` is the diffusion model, ``ic`` or ``lt``; this function runs IC).
    n_samples : int
        RR sets; the standard error of each estimate shrinks as
        ``1 / sqrt(n_samples)``.
    seed : int
        Same seed, same estimate (whatever the number of threads).

    Returns
    -------
    NodeScores
        ``expected_reach`` with an ``expected_reach_stderr`` extra column
        (binomial standard error; a 95% interval is about +-1.96 of it).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> chain = GraphBuilder().add_edges("x", [1, 2], [2, 3]).build()     # 1 -> 2 -> 3, p = 1
    >>> expected_reach(chain, layer="x", n_samples=30_000).values.round(1).tolist()
    [3.0, 2.0, 1.0]
    """
    seed = whole_number(seed, "seed", 0)
    from graphcrm.algorithms.probabilities import trivalency_keys
    from graphcrm.algorithms.rr_sampling import RRSampler

    if n_samples < 1:
        raise ParameterError(f"n_samples must be >= 1, got {n_samples}")
    if prob is not None:
        model = prob
    elif model in ("ic", "lt"):
        raise ParameterError(f"expected_reach runs Independent Cascade; model= names its edge probabilities here "
                             f"(wc, const:P, weight, learned), not {model!r}: pass prob='wc' or another")
    lay = layer_of(graph, layer)
    n = graph.n_nodes
    started = time.perf_counter()
    counts, total, rooted = RRSampler(lay, model="ic", prob=model, seed=seed,
                                      node_keys=trivalency_keys(graph, model)).membership_counts(
        n_samples, count_root=False, with_roots=True)
    others = np.maximum(n_samples - rooted, 1)      # the sets rooted at another account: their roots are uniform
    share = counts / others                          # over the n - 1 others: E[share] = (reach(v) - 1) / (n - 1)
    stderr = max(n - 1, 0) * np.sqrt(share * (1.0 - share) / others)
    info = {"layer": lay.name, "model": model, "n_samples": int(n_samples), "seed": int(seed),
            "mean_rr_set_size": float(total / n_samples), "seconds": time.perf_counter() - started}
    return NodeScores("expected_reach", 1.0 + max(n - 1, 0) * share, graph.id_map, info,
                      {"expected_reach_stderr": stderr})


@rank_measure("betweenness", "bridging: sampled betweenness with a stated error bound", options=("seed",))
def betweenness(
    graph: SocialGraph,
    *,
    layer: str | Layer,
    epsilon: float = 0.01,
    delta: float = 0.1,
    seed: int = 0,
    n_samples: int | None = None,
) -> NodeScores:
    """Sampled betweenness with a stated error bound (Riondato & Kornaropoulos 2016).

    Brokers sit on many shortest paths between others.  Each sample picks a
    random ordered pair ``(s, t)`` and one of its shortest paths (unweighted,
    along the layer's edges) uniformly; interior nodes get ``1 / r``.  With

        r = ceil(0.5 / epsilon**2 * (floor(log2(VD - 2)) + 1 + ln(1 / delta)))

    samples, every node's estimate is within ``epsilon`` of its exact
    betweenness normalised by ``n (n - 1)``, with probability at least
    ``1 - delta``.  ``VD`` (the most nodes on a shortest path) is bounded by
    the size of the largest weakly connected component -- safe on directed
    graphs, at the price of a few more samples.

    Scores are returned normalised like ``networkx.betweenness_centrality``
    (by ``(n - 1)(n - 2)``); ``info["bound"]`` is the error bound on that
    scale (``epsilon * n / (n - 2)``).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> path = GraphBuilder().add_edges("x", [1, 2], [2, 3]).build()    # 1 -> 2 -> 3: 2 brokers one of 6 pairs
    >>> b = betweenness(path, layer="x", epsilon=0.05)
    >>> abs(b[2] - 0.5) <= b.info["bound"], b[1], b[3]
    (True, 0.0, 0.0)
    """
    seed = whole_number(seed, "seed", 0)
    import math

    import numba
    from scipy.sparse.csgraph import connected_components

    from graphcrm.algorithms import _betweenness_kernels as _b

    if not (0 < epsilon < 1 and 0 < delta < 1):
        raise ParameterError(f"epsilon and delta must be in (0, 1), got {epsilon}, {delta}")
    lay = layer_of(graph, layer)
    n = graph.n_nodes
    if n < 3:
        return NodeScores("betweenness", np.zeros(n), graph.id_map, {"samples": 0, "bound": 0.0})
    _, labels = connected_components(_as_csr(lay), directed=True, connection="weak")
    vd = int(np.bincount(labels).max())
    if n_samples is not None:
        n_samples = whole_number(n_samples, "n_samples")
    else:
        n_samples = math.ceil(0.5 / epsilon**2 * (math.floor(math.log2(max(vd - 2, 2))) + 1 + math.log(1 / delta)))
    started = time.perf_counter()
    hits = _b._sampled_betweenness(lay.out_indptr, lay.out_indices, lay.in_indptr, lay.in_indices,
                                   int(n_samples), int(seed), max(1, numba.get_num_threads()))
    scale = n / (n - 2)   # from the n(n-1) normalisation of the estimator to networkx's (n-1)(n-2)
    values = hits / n_samples * scale
    info = {"layer": lay.name, "epsilon": epsilon, "delta": delta, "samples": int(n_samples),
            "vertex_diameter_bound": vd, "bound": epsilon * scale, "seed": seed,
            "seconds": time.perf_counter() - started}
    return NodeScores("betweenness", values, graph.id_map, info)


def _as_csr(lay: Layer):
    import scipy.sparse as sp

    return sp.csr_array((lay.out_data(), lay.out_indices, lay.out_indptr), shape=(lay.n_nodes, lay.n_nodes))
