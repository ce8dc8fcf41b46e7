"""Reverse-reachable (RR) set sampling: the one sampler behind expected reach and seed planning.

An RR set is the set of nodes that reach a random root through live edges
(Borgs et al. 2014).  ``n * P(v in RR set)`` is the expected spread of the
single seed ``v``, so one batch of samples estimates the reach of every node
at once (:func:`_rr_membership_counts`, nothing stored); influence
maximization (IMM, OPIM-C) keeps the sets themselves (:func:`_sample_chunk`)
for greedy max coverage (:mod:`graphcrm.algorithms._im_kernels`).

Sets are sampled backwards from the root:

* Independent Cascade -- each in-edge ``u -> v`` is live with probability
  ``p(u, v)``.  Where all in-edges of ``v`` share one probability (weighted
  cascade, ``const:P``), the live ones are a random subset drawn in
  ``O(1 + d p)`` random numbers for ``d`` in-edges instead of ``d`` (subset
  sampling, as in SUBSIM, Guo et al. 2020).  Where ``d p <= BINOMIAL_MAX_MEAN``
  (weighted cascade always: ``d p = 1``) the number of live edges ``K ~
  Binomial(d, p)`` is drawn by inverse transform from ``(1 - p)^d`` and the
  odds ``p / (1 - p)`` (one uniform, no logarithm), then ``K`` distinct edges
  by Floyd's algorithm; otherwise live edges are found by geometric skipping
  (one logarithm per live edge).  Both give each edge independently live with
  probability ``p``.
* Linear Threshold -- a backward random walk: ``v`` picks at most one
  in-neighbour ``u`` with probability ``w(u, v)``; the walk stops at a node
  already in the set or when no one is picked.

Both kernels take the same arguments ``(lt, indptr, indices, edge_value,
node_p, node_skip, roots, seed, first, count)``
(:meth:`graphcrm.algorithms.rr_sampling.RRSampler._args` builds them):
``node_p[v]`` is the probability (LT: weight) shared by every in-edge of
``v``, or ``-1`` when they differ and ``edge_value`` is read instead (IC: the
per-edge probability; LT: each node's running sum of its in-weights);
``node_skip[v]`` is ``(log(1 - p), (1 - p)^d, p / (1 - p))`` for the subset
sampling, the odds ``-1`` where geometric skipping is used
(:func:`subset_parameters`).  Roots
are uniform over all nodes, or over ``roots`` when it is not empty.

Set ``i`` under seed ``s`` is a function of ``(s, i)`` only (its own random
stream), so a collection is the same however it is split into chunks,
threads or Dask tasks, and the counts equal the membership counts of the
stored sets of the same range.

Stored sets are compact: ``offsets`` (int64, one per set + 1) and
``members`` (int32 node ids), 4 bytes per member.  A set's members are
marked in a byte per node while it grows and unmarked after (``n`` bytes of
scratch per thread, which stays in cache where an int64 stamp per node did not).

The per-set helpers are inlined (``inline="always"``) into both kernels: a
call between numba functions passes every array as a struct, which doubled
the time of the short sets of sparse layers (higgs retweets: 0.05 -> 0.02 s
for 300k sets on one thread).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from graphcrm.loaders import _rng
from graphcrm.loaders.numba_config import jit, readonly_copy

#: largest expected number of live in-edges ``d p`` for which the number of live edges is drawn directly
#: (binomial inverse transform); above it, geometric skipping
BINOMIAL_MAX_MEAN = 4.0


def subset_parameters(indptr: np.ndarray, node_p: np.ndarray) -> np.ndarray:
    """Per node ``(log(1 - p), (1 - p)^d, p / (1 - p))`` for the shared in-edge probability ``p = node_p[v]``
    over its ``d`` in-edges; the odds are ``-1`` where geometric skipping is used instead (``d p`` large,
    or ``p`` not shared).  An ``(n, 3)`` float64 array, one row read per visited node."""
    d = np.diff(indptr).astype(np.float64)
    p = np.asarray(node_p, dtype=np.float64)
    uniform = (p > 0) & (p < 1)
    q = np.where(uniform, 1.0 - p, 1.0)
    out = np.zeros((len(p), 3))
    out[:, 0] = np.where(uniform, np.log(q), 0.0)
    direct = uniform & (d * p <= BINOMIAL_MAX_MEAN)
    out[:, 1] = np.where(direct, q ** d, 0.0)
    out[:, 2] = np.where(direct, p / q, -1.0)
    return out


@jit
def _shared_in_value(indptr, value):
    """Per node, the value all its in-edges share (0 without in-edges), or -1 when they differ (or one is NaN)."""
    n = indptr.shape[0] - 1
    out = np.zeros(n)
    for v in range(n):
        start = indptr[v]
        end = indptr[v + 1]
        if start == end:
            continue
        first = value[start]
        same = first == first
        for k in range(start + 1, end):
            if value[k] != first:
                same = False
                break
        out[v] = first if same else -1.0
    return out


@jit(inline="always")
def _add(u, mark, queue, size):
    mark[u] = 1
    queue[size] = u
    return size + 1


@jit(inline="always")
def _rr_ic(root, state, indptr, indices, prob, node_p, node_skip, mark, queue, picks):
    """One IC RR set into ``queue[:size]``; returns ``(size, state)``.

    ``mark[v] == 1`` means in this set (the caller unmarks the members after); ``picks`` is scratch for
    the edge positions of one node (as long as the largest in-degree).
    """
    queue[0] = root
    mark[root] = 1
    head = 0
    size = 1
    while head < size:
        v = queue[head]
        head += 1
        start = indptr[v]
        end = indptr[v + 1]
        pv = node_p[v]
        if pv >= 1.0:
            # unsigned positions and ids: no negative-index check (a branch) per access
            for k in range(np.uint64(start), np.uint64(end)):
                u = np.uint32(indices[k])
                if mark[u] == 0:
                    size = _add(u, mark, queue, size)
        elif pv > 0.0 and node_skip[v, 2] >= 0.0:     # shared p, few live edges expected: K ~ Binomial(d, p)
            d = end - start
            odds = node_skip[v, 2]
            live = -1
            while live < 0:
                x, state = _rng.next_float(state)
                pk = node_skip[v, 1]                   # P(K = 0) = (1 - p)^d
                cdf = pk
                if x < cdf:
                    live = 0
                j = 0
                while live < 0 and j < d:              # P(K = j + 1) = P(K = j) (d - j) / (j + 1) p / (1 - p)
                    pk *= (d - j) / (j + 1.0) * odds
                    j += 1
                    cdf += pk
                    if x < cdf:
                        live = j
                # still -1: x fell above the rounded total of the probabilities (about 1e-11 for d = 1e6);
                # taking K = d there would make every in-edge live -- draw again instead
            if live == 0:
                continue
            for j in range(live):                      # K distinct in-edges, uniformly (Floyd's algorithm)
                t, state = _rng.next_below(state, d - live + j + 1)
                for c in range(j):
                    if picks[c] == t:
                        t = d - live + j
                        break
                picks[j] = t
                u = indices[start + t]
                if mark[u] == 0:
                    size = _add(u, mark, queue, size)
        elif pv > 0.0:       # one probability for every in-edge of v: jump from live edge to live edge
            pos = start - 1  # signed: uint64 mixed with int64 would be float64
            log1mp = node_skip[v, 0]
            while True:
                x, state = _rng.next_float(state)
                jump = np.log(1.0 - x) / log1mp          # failures before the next success, >= 0
                if jump >= end - pos - 1:
                    break
                pos += 1 + np.int64(jump)
                u = indices[pos]
                if mark[u] == 0:
                    size = _add(u, mark, queue, size)
        elif pv < 0.0:       # mixed probabilities: one coin per edge
            for k in range(np.uint64(start), np.uint64(end)):
                u = np.uint32(indices[k])
                if mark[u] != 0:
                    continue
                p = prob[k]
                if p < 1.0:
                    x, state = _rng.next_float(state)
                    if x >= p:
                        continue
                size = _add(u, mark, queue, size)
    return size, state


@jit(inline="always")
def _rr_lt(root, state, indptr, indices, cum, node_p, mark, queue):
    """One LT RR set (a backward random walk) into ``queue[:size]``; returns ``(size, state)``.

    ``cum`` holds each node's running sum of in-edge weights (restarting at
    every node); ``node_p[v] >= 0`` means all in-edges of ``v`` weigh ``node_p[v]``.
    """
    queue[0] = root
    mark[root] = 1
    size = 1
    v = root
    while True:
        start = indptr[v]
        end = indptr[v + 1]
        if start == end:
            break
        x, state = _rng.next_float(state)
        pv = node_p[v]
        if pv >= 0.0:
            if pv == 0.0:
                break
            j = x / pv
            if j >= end - start:
                break
            k = start + np.int64(j)
        else:
            if x >= cum[end - 1]:
                break
            lo = start
            hi = end - 1
            while lo < hi:               # first k with cum[k] > x
                mid = (lo + hi) // 2
                if cum[mid] > x:
                    hi = mid
                else:
                    lo = mid + 1
            k = lo
        u = indices[k]
        if mark[u] != 0:
            break
        size = _add(u, mark, queue, size)
        v = u
    return size, state


@jit(inline="always")
def _rr_set(lt, indptr, indices, edge_value, node_p, node_skip, roots, seed, index, mark, queue, picks):
    """RR set ``index`` under ``seed`` into ``queue[:size]``: draws its root, then walks back; returns ``size``.

    ``mark`` (one byte per node, all 0) is all 0 again on return; ``picks``: see :func:`_rr_ic`."""
    state = _rng.stream_state(seed, index)
    n_roots = roots.shape[0]
    if n_roots > 0:
        r, state = _rng.next_below(state, n_roots)
        root = roots[r]
    else:
        root, state = _rng.next_below(state, indptr.shape[0] - 1)
    if lt:
        size, state = _rr_lt(root, state, indptr, indices, edge_value, node_p, mark, queue)
    else:
        size, state = _rr_ic(root, state, indptr, indices, edge_value, node_p, node_skip, mark, queue, picks)
    for j in range(size):
        mark[queue[j]] = 0
    return size


@jit
def _scratch(indptr):
    """Per-thread scratch: the byte marks, the queue and the edge picks (see :func:`_rr_set`)."""
    n = indptr.shape[0] - 1
    widest = 1
    for v in range(n):
        widest = max(widest, indptr[v + 1] - indptr[v])
    return np.zeros(n, dtype=np.uint8), np.empty(n, dtype=np.int32), np.empty(widest, dtype=np.int64)


@jit
def _sample_chunk(lt, indptr, indices, edge_value, node_p, node_skip, roots, seed, first, count):
    """RR sets ``first .. first + count - 1``: ``(offsets, members)`` with ``offsets[0] == 0``."""
    mark, queue, picks = _scratch(indptr)
    offsets = np.empty(count + 1, dtype=np.int64)
    offsets[0] = 0
    capacity = max(1024, 4 * count)
    members = np.empty(capacity, dtype=np.int32)
    for i in range(count):
        size = _rr_set(lt, indptr, indices, edge_value, node_p, node_skip, roots, seed, first + i, mark, queue,
                       picks)
        used = offsets[i]
        if used + size > capacity:
            capacity = max(2 * capacity, used + size)
            grown = np.empty(capacity, dtype=np.int32)
            grown[:used] = members[:used]
            members = grown
        members[used:used + size] = queue[:size]
        offsets[i + 1] = used + size
    return offsets, members[:offsets[count]].copy()


@jit(parallel=True)
def _rr_membership_counts(lt, indptr, indices, edge_value, node_p, node_skip, roots, seed, first, count,
                          n_workers, count_root=True):
    """How many of the sets ``first .. first + count - 1`` contain each node; nothing is stored.

    The same sets as :func:`_sample_chunk` with the same arguments; with ``count_root=False`` a set does
    not count for its own root (``queue[0]``).
    ``n_workers`` splits the sets (one scratch area each); the counts do not
    depend on it.

    Returns
    -------
    counts : int64 array (n,)
    total_size : int64, sum of the set sizes
    rooted : int64 array, how many of the sets each node is the root of (n,) with ``count_root=False``;
        empty otherwise (nothing kept: the per-thread arrays cost n x threads x 8 B)
    """
    n = indptr.shape[0] - 1
    per_worker = np.zeros((n_workers, n), dtype=np.int64)
    n_rooted = 0 if count_root else n
    roots_per_worker = np.zeros((n_workers, n_rooted), dtype=np.int64)
    sizes = np.zeros(n_workers, dtype=np.int64)
    for w in prange(n_workers):
        mark, queue, picks = _scratch(indptr)
        counts = per_worker[w]
        rooted = roots_per_worker[w]
        total = 0
        for i in range(first + count * w // n_workers, first + count * (w + 1) // n_workers):
            size = _rr_set(lt, indptr, indices, edge_value, node_p, node_skip, roots, seed, i, mark, queue, picks)
            if not count_root:
                rooted[queue[0]] += 1
            for j in range(0 if count_root else 1, size):
                counts[queue[j]] += 1
            total += size
        sizes[w] = total
    out = np.zeros(n, dtype=np.int64)
    rooted_all = np.zeros(n_rooted, dtype=np.int64)
    for w in range(n_workers):
        for v in range(n):
            out[v] += per_worker[w, v]
        for v in range(n_rooted):
            rooted_all[v] += roots_per_worker[w, v]
    return out, sizes.sum(), rooted_all


def _warmup():
    indptr = np.array([0, 0, 1, 3], dtype=np.int64)
    indices = np.array([0, 0, 1], dtype=np.int32)
    value = np.array([1.0, 0.5, 0.5])
    node_p = np.array([0.0, 1.0, 0.5])
    skip = subset_parameters(indptr, node_p)
    mixed = np.array([0.0, -1.0, -1.0])          # nodes 1 and 2 read per-edge values
    for prep in (lambda a: a, readonly_copy):
        _shared_in_value(prep(indptr), prep(value))
        for roots in (np.empty(0, dtype=np.int64), np.array([2], dtype=np.int64)):
            for lt in (False, True):
                for p in (node_p, mixed):
                    _sample_chunk(lt, prep(indptr), prep(indices), value, p, skip, roots, 1, 0, 20)
                    _rr_membership_counts(lt, prep(indptr), prep(indices), value, p, skip, roots, 1, 0, 20, 2)
                    _rr_membership_counts(lt, prep(indptr), prep(indices), value, p, skip, roots, 1, 0, 20, 2, False)
