"""Parallel Leiden for large graphs (numba): modularity communities, deterministic for a seed whatever the threads.

The scheme of Leiden (Traag, Waltman & van Eck 2019): local moving, then a
refinement that splits each community into sub-communities grown greedily
from single nodes, then aggregation of the *refined* partition with every
aggregated node starting in its community -- so a whole sub-community can
still change community on the coarser level -- repeated until no move
helps; then a second iteration from that partition (igraph's default is two
as well).  Local moving visits nodes in a seeded order (shuffled blocks of
consecutive ids), prunes nodes whose neighbourhood did not change, and on
large levels decides a batch of nodes in parallel from the state at the
start of the batch, applying the moves in order (see
:mod:`graphcrm.algorithms._leiden_kernels`): the same seed gives the same partition
on 1 thread or 64.

For graphs up to a million ties :func:`graphcrm.algorithms.community.leiden` calls
igraph's C Leiden, which is as good and fast there; above that it calls this
implementation (``benchmarks/RESULTS-communities.md`` compares both with
leidenalg and NetworKit's PLM).
"""

from __future__ import annotations

import time

import numba
import numpy as np

from graphcrm.algorithms import _leiden_kernels as _k
from graphcrm.loaders.errors import ParameterError, whole_number


def check_resolution(resolution, name: str = "resolution") -> float:
    """``resolution`` as a float, or a :class:`ParameterError` unless it is a finite number > 0 (NaN, inf and
    0 would leave every account alone, or all in one community, without a word).

    Examples
    --------
    >>> check_resolution(0.5)
    0.5
    >>> check_resolution(float("nan"))
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.ParameterError: resolution must be a finite number > 0, got nan
    """
    try:
        value = float(resolution)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a finite number > 0, got {resolution!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise ParameterError(f"{name} must be a finite number > 0, got {resolution}")
    return value
from graphcrm.loaders.graph import Layer, SocialGraph, layer_of
from graphcrm.loaders.results import Partition

MAX_LEVELS = 64


def undirected_csr(lay: Layer, weight: bool = True):
    """The undirected simple version of ``lay`` as CSR ``(indptr, indices, weights)`` (both arcs of each tie).

    Same ties and weights as :func:`graphcrm.algorithms.community.undirected_edges`:
    self-loops dropped, the two directions of a tie summed when weighted,
    1 per tie otherwise.

    Examples
    --------
    >>> from graphcrm.loaders.graph import Layer
    >>> lay = Layer.from_edges(3, [0, 1, 1], [1, 0, 2], spec="x")
    >>> indptr, indices, weights = undirected_csr(lay)
    >>> indptr.tolist(), indices.tolist(), weights.tolist()
    ([0, 1, 3, 4], [1, 0, 2, 1], [1.0, 1.0, 1.0, 1.0])
    """
    use_w = sums_weights(lay, weight)
    empty = np.empty(0)
    return _k._undirected_csr(lay.out_indptr, lay.out_indices, lay.out_weights if use_w else empty,
                              lay.in_indptr, lay.in_indices, lay.in_weights if use_w else empty, use_w)


def sums_weights(lay: Layer, weight: bool = True) -> bool:
    """Whether the undirected simple version of ``lay`` sums the weights of a tie's two directions.

    It does for a weighted layer, except a static one whose weights are all 1 (a file's weight column of 1s,
    a networkx graph without weights): those carry nothing an unweighted layer does not, so a pair listed
    both ways is one tie of weight 1 there too -- the same communities and modularity as the file without
    the column.  An interaction layer's weights are counts: a pair who retweet each other once each are
    tied by 2.

    Examples
    --------
    >>> from graphcrm.loaders.graph import Layer
    >>> sums_weights(Layer.from_edges(2, [0, 1], [1, 0], [1.0, 1.0], spec="x"))
    False
    >>> sums_weights(Layer.from_edges(2, [0, 1], [1, 0], [1.0, 2.0], spec="x"))
    True
    """
    if not (weight and lay.weighted):
        return False
    return lay.events is not None or not bool((lay.out_weights == 1.0).all())


def parallel_leiden(
    graph: SocialGraph,
    *,
    layer: str | Layer,
    resolution: float = 1.0,
    weight: bool = True,
    seed: int = 0,
    iterations: int = 2,
    max_sweeps: int = 32,
    min_move_share: float = 0.02,
    batch: int | None = None,
) -> Partition:
    """Modularity communities of a (large) layer's undirected simple version.

    Parameters
    ----------
    resolution : float, default 1.0
        Modularity resolution gamma (higher: smaller communities).
    seed : int
        The order nodes are visited in; same seed, same partition, whatever
        the number of threads.
    iterations : int, default 2
        Leiden iterations, each starting from the previous partition (igraph's
        default is 2 as well).
    max_sweeps : int
        Local-moving sweeps per level at most.
    min_move_share : float
        A level's local moving stops when a sweep moves at most this share of
        its nodes.
    batch : int, optional
        Nodes whose moves are decided together (from the same state).
        Default: ``n / 512``; batches under 256 nodes run one node at a
        time (plain sequential local moving).  Smaller is closer to
        sequential, larger is more parallel.

    Returns
    -------
    Partition
        ``quality`` is the modularity at ``resolution``; ``info["modularity"]`` Newman's Q (resolution 1);
        ``info`` also has levels, sweeps and timings.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> edges = [(a, b) for a in range(4) for b in range(4) if a < b] + \\
    ...         [(a, b) for a in range(4, 8) for b in range(4, 8) if a < b] + [(3, 4)]
    >>> g = GraphBuilder().add_edges("x", [a for a, _ in edges], [b for _, b in edges]).build()
    >>> parallel_leiden(g, layer="x").membership.tolist()
    [0, 0, 0, 0, 1, 1, 1, 1]
    """
    seed = whole_number(seed, "seed", 0)
    resolution = check_resolution(resolution)
    if max_sweeps < 1 or iterations < 1 or not 0 <= min_move_share < 1 or (batch is not None and batch < 1):
        raise ParameterError("need max_sweeps >= 1, iterations >= 1, 0 <= min_move_share < 1 and batch >= 1")
    lay = layer_of(graph, layer).positive()
    started = time.perf_counter()
    indptr, indices, weights = undirected_csr(lay, weight)
    t_csr = time.perf_counter() - started
    n = graph.n_nodes
    k = _k._strengths(indptr, weights)
    m2 = float(k.sum())
    rng = np.random.default_rng(seed)
    levels = []
    membership = np.arange(n, dtype=np.int32)
    if m2 > 0:
        for _ in range(iterations):
            membership = _leiden(indptr, indices, weights, k, m2, float(resolution), rng, membership, max_sweeps,
                                 min_move_share, batch, levels)
    membership, _ = _k._renumber(membership)
    quality = float(_k._modularity(indptr, indices, weights, membership, float(resolution)))
    newman = quality if resolution == 1.0 else float(_k._modularity(indptr, indices, weights, membership, 1.0))
    info = {"method": "parallel_leiden", "layer": lay.name, "resolution": resolution, "modularity": newman,
            "weighted": weight,
            "seed": seed, "iterations": iterations, "levels": levels, "seconds_csr": round(t_csr, 4),
            "seconds": time.perf_counter() - started}
    return Partition(membership.astype(np.int64), graph.id_map, quality, info)


# nodes are visited in shuffled blocks of consecutive ids: random enough for local moving, and each block reads
# its rows from one stretch of memory (about 2x faster than a full permutation on a 16M-edge graph)
VISIT_BLOCK = 64


def _visit_order(n, rng):
    blocks = rng.permutation((n + VISIT_BLOCK - 1) // VISIT_BLOCK)
    order = (blocks[:, None] * VISIT_BLOCK + np.arange(VISIT_BLOCK)).ravel()
    return order[order < n].astype(np.int64)


def _leiden(indptr, indices, weights, k, m2, gamma, rng, comm, max_sweeps, min_move_share, batch, levels):
    """One Leiden iteration from the partition ``comm`` of the finest level; returns the new membership."""
    workers = max(1, numba.get_num_threads())
    maps = []           # node -> aggregated node, level by level
    while True:
        n = len(k)
        order = _visit_order(n, rng)
        t = time.perf_counter()
        sweeps, moves = _k._local_moving(indptr, indices, weights, k, comm, order, m2, gamma,
                                         batch or max(1, n // 512), max_sweeps, int(min_move_share * n), workers)
        labels, n_comm = _k._renumber(comm)
        record = {"nodes": n, "arcs": int(indptr[-1]), "sweeps": int(sweeps), "moves": int(moves),
                  "communities": int(n_comm), "seconds": round(time.perf_counter() - t, 4)}
        levels.append(record)
        if n_comm == n or len(levels) >= MAX_LEVELS:
            break
        # aggregate the refined partition; each aggregated node starts in the community its members are in
        t = time.perf_counter()
        sub, n_sub = _k._renumber(_k._refine(indptr, indices, weights, k, labels, order, m2, gamma, workers))
        if n_sub == n:                  # refinement merged nothing: aggregate the communities themselves
            sub, n_sub = labels, n_comm
        record["refined"] = int(n_sub)
        record["refine_seconds"] = round(time.perf_counter() - t, 4)
        t = time.perf_counter()
        indptr, indices, weights = _k._aggregate(indptr, indices, weights, sub, n_sub, workers)
        record["aggregate_seconds"] = round(time.perf_counter() - t, 4)
        comm = np.empty(n_sub, dtype=np.int32)
        comm[sub] = labels
        k = np.bincount(sub, weights=k, minlength=n_sub)
        maps.append(sub)
    membership = labels
    for sub in reversed(maps):
        membership = membership[sub]
    return membership
