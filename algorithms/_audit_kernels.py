"""numba kernels for the audience-quality audit (:mod:`graphcrm.algorithms.suspicion`).

Arrays and scalars in, arrays and scalars out.  Every kernel is a single pass over sorted rows (two pointers),
so time and memory are linear in the edges / events, apart from the co-action pairs, which are capped per event.
"""

from __future__ import annotations

import numpy as np
from numba import prange

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



@jit
def _in_row(indptr, indices, v, w):
    """Is ``w`` in the sorted row ``v``?"""
    lo = indptr[v]
    end = indptr[v + 1]
    hi = end
    while lo < hi:
        mid = (lo + hi) // 2
        if indices[mid] < w:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and indices[lo] == w


@jit
def _tied(out_indptr, out_indices, in_indptr, in_indices, v, w):
    """Is there an edge ``v -> w`` or ``w -> v``?  Each is looked up in the shorter of its two rows."""
    if out_indptr[v + 1] - out_indptr[v] <= in_indptr[w + 1] - in_indptr[w]:
        forward = _in_row(out_indptr, out_indices, v, w)
    else:
        forward = _in_row(in_indptr, in_indices, w, v)
    if forward:
        return True
    if out_indptr[w + 1] - out_indptr[w] <= in_indptr[v + 1] - in_indptr[v]:
        return _in_row(out_indptr, out_indices, w, v)
    return _in_row(in_indptr, in_indices, v, w)


@jit(parallel=True)
def _followee_ties(accounts, in_indptr, in_indices, out_indptr, out_indices, degree, two_m, excluded,
                   max_followees, seed):
    """For each account of ``accounts``: the pairs of accounts it follows that are tied, the ties their
    popularity alone predicts on the same pairs, and how many pairs and followees were examined.

    The layer is in influence direction (an account's in-row lists whom it follows, its out-row its followers);
    a tie is an edge in either direction.  Followees marked ``excluded`` (the other mass-following candidates:
    a farm's members following each other are no community of real people) and the account itself are left
    out.  Every pair of the remaining followees is examined when there are at most ``max_followees`` of them;
    otherwise every pair of ``max_followees`` of them drawn without replacement (partial Fisher-Yates, a
    generator seeded with ``seed`` and the account: the same draw every run).  The prediction is the
    configuration model's, ``min(1, d_i d_j / 2m)`` per pair, with ``degree`` the undirected degree and
    ``two_m`` its sum.  Returns ``observed, expected, pairs, followees``; cost at most
    ``max_followees**2 / 2`` pairs of binary searches per account, whatever the degrees.
    """
    k_acc = accounts.shape[0]
    observed = np.zeros(k_acc)
    expected = np.zeros(k_acc)
    pairs = np.zeros(k_acc, dtype=np.int64)
    examined = np.zeros(k_acc, dtype=np.int64)
    for a in prange(k_acc):
        u = accounts[a]
        lo = in_indptr[u]
        hi = in_indptr[u + 1]
        kept = np.empty(hi - lo, dtype=in_indices.dtype)
        k = 0
        for i in range(lo, hi):
            v = in_indices[i]
            if v != u and not excluded[v]:
                kept[k] = v
                k += 1
        if k > max_followees:
            state = np.uint64((seed * 1_000_003 + u) * 2 + 1)
            for i in range(max_followees):
                state ^= state >> np.uint64(12)                 # xorshift64*
                state ^= state << np.uint64(25)
                state ^= state >> np.uint64(27)
                r = (state * np.uint64(2685821657736338717)) >> np.uint64(11)
                j = i + np.int64(r % np.uint64(k - i))
                tmp = kept[i]
                kept[i] = kept[j]
                kept[j] = tmp
            k = max_followees
        ties = 0
        exp = 0.0
        for i in range(k):
            v = kept[i]
            for j in range(i + 1, k):
                w = kept[j]
                exp += min(1.0, degree[v] * degree[w] / two_m)
                if _tied(out_indptr, out_indices, in_indptr, in_indices, v, w):
                    ties += 1
        observed[a] = ties
        expected[a] = exp
        pairs[a] = k * (k - 1) // 2
        examined[a] = k
    return observed, expected, pairs, examined

def _warmup():
    indptr = readonly_copy(np.array([0, 1, 2, 2], dtype=np.int64))
    indices = readonly_copy(np.array([1, 0], dtype=np.int32))
    _reciprocal_count(indptr, indices, indptr, indices)
    groups = np.array([0, 2, 3], dtype=np.int64)
    times = np.array([0, 5, 7], dtype=np.int64)
    _max_in_window(groups, times, 10)
    _co_action_pairs(groups, np.array([0, 1, 2], dtype=np.int32), times, 10, 5)
    _followee_ties(np.array([0], dtype=np.int64), indptr, indices, indptr, indices, np.ones(3), 2.0,
                   np.zeros(3, dtype=np.bool_), 2, 0)
