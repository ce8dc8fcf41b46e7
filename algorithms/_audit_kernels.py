"""numba kernels for the audience-quality audit (:mod:`graphcrm.algorithms.suspicion`).

Arrays and scalars in, arrays and scalars out.  Every kernel is a single pass over sorted rows (two pointers),
so time and memory are linear in the edges / events, apart from the co-action pairs, which are capped per event.
"""

from __future__ import annotations

import numpy as np

from graphcrm.loaders.numba_config import jit, readonly_copy


@jit
def _reciprocal_count(out_indptr, out_indices, in_indptr, in_indices):
    """Per node, how many of its in-neighbours are also out-neighbours (rows sorted by neighbour).

    On a follow layer in influence direction (followed -> follower) that is how many of the accounts a node
    follows follow it back.
    """
    n = out_indptr.shape[0] - 1
    out = np.zeros(n, dtype=np.int64)
    for v in range(n):
        i = out_indptr[v]
        i_end = out_indptr[v + 1]
        j = in_indptr[v]
        j_end = in_indptr[v + 1]
        c = 0
        while i < i_end and j < j_end:
            a = out_indices[i]
            b = in_indices[j]
            if a == b:
                c += 1
                i += 1
                j += 1
            elif a < b:
                i += 1
            else:
                j += 1
        out[v] = c
    return out


@jit
def _max_in_window(indptr, times, window):
    """Per group (rows of ``indptr`` over ``times`` sorted within each row), the most items in any span
    ``[t, t + window)``, and the start time of that busiest span (-1 for an empty row)."""
    n = indptr.shape[0] - 1
    best = np.zeros(n, dtype=np.int64)
    start = np.full(n, -1, dtype=np.int64)
    for g in range(n):
        lo = indptr[g]
        hi = indptr[g + 1]
        j = lo
        for i in range(lo, hi):
            while times[i] - times[j] >= window:
                j += 1
            if i - j + 1 > best[g]:
                best[g] = i - j + 1
                start[g] = times[j]
    return best, start


@jit
def _co_action_pairs(indptr, actor, times, window, cap):
    """Pairs of different actors acting on the same target within ``window`` seconds of each other.

    ``indptr`` groups the events by target; within a target they are sorted by time.  Each event is paired
    with at most ``cap`` later events of its target (a viral post cannot make the output quadratic).  Returns
    ``(a, b, target)`` with ``a < b``; the same pair may repeat on one target (callers count distinct targets).
    """
    n = indptr.shape[0] - 1
    total = 0
    for g in range(n):
        hi = indptr[g + 1]
        for i in range(indptr[g], hi):
            k = 0
            j = i + 1
            while j < hi and k < cap and times[j] - times[i] < window:
                if actor[j] != actor[i]:
                    k += 1
                j += 1
            total += k
    a_out = np.empty(total, dtype=np.int32)
    b_out = np.empty(total, dtype=np.int32)
    t_out = np.empty(total, dtype=np.int32)
    p = 0
    for g in range(n):
        hi = indptr[g + 1]
        for i in range(indptr[g], hi):
            k = 0
            j = i + 1
            while j < hi and k < cap and times[j] - times[i] < window:
                if actor[j] != actor[i]:
                    x = actor[i]
                    y = actor[j]
                    a_out[p] = min(x, y)
                    b_out[p] = max(x, y)
                    t_out[p] = g
                    p += 1
                    k += 1
                j += 1
    return a_out, b_out, t_out


def _warmup():
    indptr = readonly_copy(np.array([0, 1, 2, 2], dtype=np.int64))
    indices = readonly_copy(np.array([1, 0], dtype=np.int32))
    _reciprocal_count(indptr, indices, indptr, indices)
    groups = np.array([0, 2, 3], dtype=np.int64)
    times = np.array([0, 5, 7], dtype=np.int64)
    _max_in_window(groups, times, 10)
    _co_action_pairs(groups, np.array([0, 1, 2], dtype=np.int32), times, 10, 5)
