"""Stored reverse-reachable sets: a sampler bound to one layer and model, run on threads or Dask workers.

The sets are the raw material of influence maximization
(:mod:`graphcrm.algorithms.planning`) and of "who can reach this person"
(:func:`graphcrm.algorithms.planning.influencers_of`); counted without being
stored (:meth:`RRSampler.membership_counts`) they give every account's
expected reach (:func:`graphcrm.algorithms.centrality.expected_reach`).  Set
``i`` depends only on the sampler's seed and ``i``, so the same collection
comes out whatever the number of threads, chunks or Dask workers.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from graphcrm.algorithms import _rr_kernels as _k
from graphcrm.algorithms.diffusion import CASCADE_MODELS
from graphcrm.algorithms.probabilities import edge_probabilities, lt_weights
from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.graph import Layer

# a bookkeeping figure per stored set: its offset (8 B); members cost 4 B each
BYTES_PER_SET = 8
BYTES_PER_MEMBER = 4
#: fewest sets worth handing to another thread
MIN_PIECE = 4_096

_POOLS: dict = {}
_POOLS_LOCK = threading.Lock()


def _thread_pool(threads: int) -> ThreadPoolExecutor:
    """The process's sampling threads (one pool per thread count, made on first use; idle threads block)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(threads)
        if pool is None:
            pool = _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="graphcrm-rr")
        return pool


def _forget_pools_after_fork() -> None:
    """A forked child has none of the parent's threads: it must not wait on the parent's pools."""
    global _POOLS_LOCK
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)


@dataclass
class RRSets:
    """A collection of RR sets: ``members[offsets[i]:offsets[i + 1]]`` is set ``i`` (int32 node ids).

    Examples
    --------
    >>> sets = RRSets.empty()
    >>> sets.extend(RRSets(np.array([0, 2, 3]), np.array([4, 1, 0], dtype=np.int32)))
    >>> len(sets), sets.nbytes
    (2, 36)
    """

    offsets: np.ndarray
    members: np.ndarray

    @classmethod
    def empty(cls) -> "RRSets":
        return cls(np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.int32))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def nbytes(self) -> int:
        return int(self.offsets.nbytes + self.members.nbytes)

    def extend(self, other: "RRSets") -> None:
        """Append ``other``'s sets after these (one copy of each array)."""
        shifted = other.offsets[1:] + self.offsets[-1]
        self.offsets = np.concatenate([self.offsets, shifted])
        self.members = np.concatenate([self.members, other.members])


def concat_chunks(chunks) -> RRSets:
    """Join chunks ``(offsets, members)`` given in set order into one :class:`RRSets`."""
    chunks = list(chunks)
    if not chunks:
        return RRSets.empty()
    members = np.concatenate([m for _, m in chunks]) if len(chunks) > 1 else chunks[0][1]
    parts = [np.zeros(1, dtype=np.int64)]
    base = 0
    for offsets, m in chunks:
        parts.append(offsets[1:] + base)
        base += len(m)
    return RRSets(np.concatenate(parts), members)


class RRSampler:
    """Samples RR sets of one influence layer under IC or LT.

    Parameters
    ----------
    layer : Layer
        Influence edges ``u -> v`` (u can influence v); negative weights are dropped.
    model : {"ic", "lt"}
    prob : str
        Edge probability model (:mod:`graphcrm.algorithms.probabilities`); LT uses
        :func:`~graphcrm.algorithms.probabilities.lt_weights` of it.
    roots : array of int, optional
        Dense node ids the roots are drawn from (a target segment); default: everyone.
    seed : int
        Set ``i`` is a function of ``(seed, i)`` only.
    client : dask.distributed.Client, optional
        Sample on the cluster's workers instead of local threads (same sets).
    node_keys : numpy.ndarray of uint64, optional
        Per-account keys of a trivalency draw (:func:`~graphcrm.algorithms.probabilities.trivalency_keys`).

    Examples
    --------
    >>> from graphcrm.loaders.graph import Layer
    >>> chain = Layer.from_edges(3, [0, 1], [1, 2], spec="x")      # 0 -> 1 -> 2
    >>> sampler = RRSampler(chain, prob="const:1", roots=[2])
    >>> sets = sampler.sample(0, 2)
    >>> sets.offsets.tolist(), sorted(sets.members[:3].tolist())
    ([0, 3, 6], [0, 1, 2])
    """

    def __init__(self, layer: Layer, *, model: str = "ic", prob: str = "wc", roots=None, seed: int = 0,
                 client=None, node_keys=None):
        if model not in CASCADE_MODELS:
            raise ParameterError(f"model must be one of {CASCADE_MODELS}, got {model!r}")
        self.layer = layer.positive()
        self.model = model
        self.prob = prob
        self.seed = int(seed)
        self.n = self.layer.n_nodes
        self.client = client
        lay = self.layer
        self.node_p = _closed_form_node_probability(lay, model, prob)
        if self.node_p is not None:      # no per-edge array at all (16 M edges would cost 128 MB per array)
            self.edge_value = np.empty(0)
            self._finish(roots)
            return
        value = (lt_weights(lay, prob, node_keys=node_keys) if model == "lt"
                 else edge_probabilities(lay, prob, node_keys=node_keys))
        self.node_p = _uniform_per_node(lay.in_indptr, value)
        if model == "lt":
            heads = np.repeat(np.arange(self.n), lay.in_degree())
            running = np.cumsum(value)
            starts = lay.in_indptr[:-1]
            before = np.where(starts > 0, running[np.maximum(starts - 1, 0)], 0.0)
            value = running - before[heads]            # each node's own running sum of in-weights
        # where every account's in-edges share one probability the per-edge values are never read: drop them
        self.edge_value = value if (self.node_p < 0).any() else np.empty(0)
        self._finish(roots)

    def _finish(self, roots):
        self.node_skip = _k.subset_parameters(self.layer.in_indptr, self.node_p)
        self.roots = (np.empty(0, dtype=np.int64) if roots is None
                      else np.unique(np.asarray(roots, dtype=np.int64)))
        if roots is not None and len(self.roots) == 0:
            raise ParameterError("the target segment has no accounts in this graph")
        self.n_roots = len(self.roots) if roots is not None else self.n

    def _args(self):
        lay = self.layer
        return (self.model == "lt", lay.in_indptr, lay.in_indices, self.edge_value, self.node_p, self.node_skip,
                self.roots, self.seed)

    def sample(self, first: int, count: int, *, n_threads: int | None = None) -> RRSets:
        """Sets ``first .. first + count - 1``, split over threads (or the Dask cluster)."""
        return self.sample_ranges([(first, count)], n_threads=n_threads)[0]

    def sample_ranges(self, ranges, *, n_threads: int | None = None) -> list:
        """One :class:`RRSets` per ``(first, count)`` range, all drawn in one go on the same threads.

        Independent collections (OPIM-C's selection and check samples) are
        drawn side by side instead of one after the other; a range is split
        into pieces only when it is large enough to pay for the hand-over
        (pieces of at least ``MIN_PIECE`` sets).  Threads come from a pool
        kept for the process: starting threads per call cost more than
        sampling the few thousand sets of a small graph.
        """
        import numba

        ranges = [(int(a), int(c)) for a, c in ranges]
        if self.client is not None:
            return [self._sample_dask(a, c) if c > 0 else RRSets.empty() for a, c in ranges]
        threads = max(1, n_threads or numba.get_num_threads())
        total = sum(c for _, c in ranges)
        piece = max(MIN_PIECE, -(-total // (4 * threads)))
        tasks, owner = [], []
        for r, (first, count) in enumerate(ranges):
            pieces = max(1, -(-count // piece)) if count > 0 else 0
            bounds = np.linspace(first, first + count, pieces + 1).astype(np.int64)
            for a, b in zip(bounds[:-1], bounds[1:]):
                tasks.append((int(a), int(b - a)))
                owner.append(r)
        args = self._args()
        if threads == 1 or len(tasks) <= 1:
            chunks = [_k._sample_chunk(*args, a, c) for a, c in tasks]
        else:
            chunks = list(_thread_pool(threads).map(lambda t: _k._sample_chunk(*args, t[0], t[1]), tasks))
        return [concat_chunks([ch for ch, o in zip(chunks, owner) if o == r]) for r in range(len(ranges))]

    def _sample_dask(self, first: int, count: int) -> RRSets:
        client = self.client
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        pieces = 2 * workers
        bounds = np.linspace(first, first + count, pieces + 1).astype(np.int64)
        if getattr(self, "_scattered", None) is None:
            # unique keys (hash=False): another sampler's identical arrays being released must not take these
            self._scattered = client.scatter(list(self._args()), broadcast=True, hash=False)
        futures = [client.submit(_sample_chunk_task, *self._scattered, int(a), int(b - a), pure=False)
                   for a, b in zip(bounds[:-1], bounds[1:])]
        return concat_chunks(client.gather(futures))

    def membership_counts(self, n_sets: int, first: int = 0, *, n_workers: int | None = None,
                          count_root: bool = True, with_roots: bool = False):
        """How many of the sets ``first .. first + n_sets - 1`` contain each node, without storing them.

        ``count_root=False``: a set does not count for its own root (the part of a node's count that is
        known exactly -- it always reaches itself -- left out of the sampling noise).  ``with_roots`` (with
        ``count_root=False``): also return how many of the sets each node is the root of.

        Equal to counting the members of :meth:`sample` of the same range, in
        ``O(n)`` memory per thread (always local threads, also with a Dask
        client); the result does not depend on ``n_workers`` (default: numba's
        thread count).

        Returns
        -------
        counts : int64 array (n,)
        total_size : int, the sum of the set sizes

        Examples
        --------
        >>> from graphcrm.loaders.graph import Layer
        >>> chain = Layer.from_edges(3, [0, 1], [1, 2], spec="x")      # 0 -> 1 -> 2
        >>> counts, total = RRSampler(chain, prob="const:1", roots=[2]).membership_counts(10)
        >>> counts.tolist(), total
        ([10, 10, 10], 30)
        """
        import numba

        if with_roots and count_root:
            raise ParameterError("with_roots counts the roots the counts leave out: pass count_root=False")
        n_sets = int(n_sets)
        if n_sets <= 0 or self.n == 0:
            empty = np.zeros(self.n, dtype=np.int64)
            return (empty, 0, empty.copy()) if with_roots else (empty, 0)
        workers = max(1, n_workers or numba.get_num_threads())
        counts, total, rooted = _k._rr_membership_counts(*self._args(), int(first), n_sets, workers,
                                                         bool(count_root))
        return (counts, int(total), rooted) if with_roots else (counts, int(total))

    def without_trivial_roots(self) -> tuple["RRSampler", np.ndarray] | None:
        """This sampler restricted to the roots that have in-edges, and the roots that have none.

        A root without in-edges (none with a positive weight) has the RR set
        ``{root}`` every time, under IC and LT alike: its share of a seed set's
        reach is exactly 1 if it is a seed and 0 otherwise, so it need not be
        sampled.  :func:`~graphcrm.algorithms.planning.plan_seeds` counts those
        roots exactly and samples only the others (on wiki-Vote two thirds of the
        accounts have no in-edges).  ``None`` when every root or no root has
        in-edges (nothing to split).

        Examples
        --------
        >>> from graphcrm.loaders.graph import Layer
        >>> star = Layer.from_edges(4, [0, 0, 0], [1, 2, 3], spec="x")      # 0 -> 1, 2, 3
        >>> sampler, trivial = RRSampler(star, prob="const:1").without_trivial_roots()
        >>> sampler.roots.tolist(), sampler.n_roots, trivial.tolist()
        ([1, 2, 3], 3, [0])
        """
        pool = self.roots if len(self.roots) else np.arange(self.n, dtype=np.int64)
        has_in = self.layer.in_indptr[pool + 1] > self.layer.in_indptr[pool]
        if has_in.all() or not has_in.any():
            return None
        restricted = RRSampler.__new__(RRSampler)
        restricted.__dict__.update(self.__dict__)
        restricted._scattered = None
        restricted.roots = pool[has_in]
        restricted.n_roots = len(restricted.roots)
        return restricted, pool[~has_in]

    def mean_set_size(self, n_pilot: int = 1_000) -> float:
        """Average members per set, from a pilot batch on a separate stream (used for memory estimates)."""
        pilot = RRSampler.__new__(RRSampler)
        pilot.__dict__.update(self.__dict__)
        pilot.seed = self.seed ^ 0x5EED_F00D
        pilot.client = None
        sets = pilot.sample(0, n_pilot)
        return float(len(sets.members) / max(1, len(sets)))


def _sample_chunk_task(*args):
    """A Dask task: one chunk of sets (module-level so workers can import it)."""
    return _k._sample_chunk(*args)


def _closed_form_node_probability(layer: Layer, model: str, prob: str):
    """Per-account in-edge probability when the model makes it one number per account, else ``None``.

    Weighted cascade on an unweighted layer: ``1 / in-degree``; ``const:P``:
    ``P`` (LT: scaled to sum to at most 1).  Same values as
    :func:`~graphcrm.algorithms.probabilities.edge_probabilities`, without an array per edge.
    """
    indeg = np.diff(layer.in_indptr).astype(float)
    has = indeg > 0
    if prob == "wc" and not layer.weighted:
        return np.divide(1.0, indeg, out=np.zeros(len(indeg)), where=has)
    if prob.startswith("const:"):
        p = float(edge_probabilities(Layer.from_edges(2, [0], [1], spec="x"), prob)[0])   # parses and checks P
        if model == "lt":
            return np.where(has, p / np.maximum(1.0, indeg * p), 0.0)
        return np.where(has, p, 0.0)
    return None


def _uniform_per_node(indptr: np.ndarray, value: np.ndarray) -> np.ndarray:
    """``p`` where every in-edge of a node has the same value ``p`` (0 for no in-edges), else -1."""
    if len(value) == 0:
        return np.zeros(len(indptr) - 1)
    return _k._shared_in_value(indptr, value)
