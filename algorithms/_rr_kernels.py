"""Reverse-reachable (RR) set sampling under the Independent Cascade model.

An RR set is the set of nodes that reach a uniformly random root through
live edges, each in-edge ``u -> v`` being live with probability ``p(u, v)``
(Borgs et al. 2014).  ``n * P(v in RR set)`` is the expected spread of the
single seed ``v``, so one batch of samples estimates the reach of every node
at once; the influence-maximization methods (IMM, OPIM-C) use the same sets.

Set ``i`` under seed ``s`` is a function of ``(s, i)`` only (its own random
stream), so results do not depend on thread count or on how sets are split.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from graphcrm.core import _rng
from graphcrm.core.numba_config import jit, readonly_copy


@jit
def _sample_rr_set(root, state, in_indptr, in_indices, in_prob, mark, stamp, queue):
    """Breadth-first search backwards from ``root`` over live in-edges.

    ``mark[v] == stamp`` means visited in this set (no clearing between sets).
    The members are left in ``queue[:size]``; returns ``(size, state)``.
    """
    queue[0] = root
    mark[root] = stamp
    head = 0
    size = 1
    while head < size:
        v = queue[head]
        head += 1
        # unsigned positions and ids: no negative-index check (a branch) per access
        for k in range(np.uint64(in_indptr[v]), np.uint64(in_indptr[v + 1])):
            u = np.uint32(in_indices[k])
            if mark[u] == stamp:
                continue
            p = in_prob[k]
            if p < 1.0:
                x, state = _rng.next_float(state)
                if x >= p:
                    continue
            mark[u] = stamp
            queue[size] = u
            size += 1
    return size, state


@jit(parallel=True)
def _rr_membership_counts(in_indptr, in_indices, in_prob, n_sets, seed, first_set, n_workers):
    """How many of the sets ``first_set .. first_set + n_sets - 1`` contain each node.

    ``n_workers`` splits the sets (one scratch area each); the counts do not
    depend on it.

    Returns
    -------
    counts : int64 array (n,)
    total_size : int64, sum of the set sizes
    """
    n = in_indptr.shape[0] - 1
    per_worker = np.zeros((n_workers, n), dtype=np.int64)
    sizes = np.zeros(n_workers, dtype=np.int64)
    for w in prange(n_workers):
        mark = np.full(n, -1, dtype=np.int64)
        queue = np.empty(n, dtype=np.int64)
        counts = per_worker[w]
        total = 0
        for i in range(first_set + n_sets * w // n_workers, first_set + n_sets * (w + 1) // n_workers):
            state = _rng.stream_state(seed, i)
            root, state = _rng.next_below(state, n)
            size, state = _sample_rr_set(root, state, in_indptr, in_indices, in_prob, mark, i, queue)
            for j in range(size):
                counts[queue[j]] += 1
            total += size
        sizes[w] = total
    out = np.zeros(n, dtype=np.int64)
    for w in range(n_workers):
        for v in range(n):
            out[v] += per_worker[w, v]
    return out, sizes.sum()


def _warmup():
    indptr = np.array([0, 0, 1, 2], dtype=np.int64)
    indices = np.array([0, 1], dtype=np.int32)
    prob = np.array([0.5, 1.0])
    for prep in (lambda a: a, readonly_copy):
        _rr_membership_counts(prep(indptr), prep(indices), prob, 10, 1, 0, 2)


def rr_membership_counts(in_indptr, in_indices, in_prob, n_sets, seed, first_set=0):
    """:func:`_rr_membership_counts` with one scratch area per numba thread."""
    import numba

    return _rr_membership_counts(in_indptr, in_indices, in_prob, int(n_sets), int(seed), int(first_set),
                                 max(1, numba.get_num_threads()))
