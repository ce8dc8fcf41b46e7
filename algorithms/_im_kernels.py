"""Kernels for influence maximization: stored reverse-reachable (RR) sets and greedy max coverage.

RR sets (Borgs et al. 2014) are sampled backwards from random roots:

* Independent Cascade -- each in-edge ``u -> v`` is live with probability
  ``p(u, v)``.  Where all in-edges of ``v`` share one probability (weighted
  cascade, ``const:P``), live edges are found by geometric skipping (the
  subset sampling of SUBSIM, Guo et al. 2020): ``O(1 + d p)`` random numbers
  for ``d`` in-edges instead of ``d``.
* Linear Threshold -- a backward random walk: ``v`` picks at most one
  in-neighbour ``u`` with probability ``w(u, v)``; the walk stops at a node
  already in the set or when no one is picked.

Set ``i`` under seed ``s`` depends on ``(s, i)`` only, so a collection is the
same however it is split into chunks, threads or Dask tasks.

Sets are stored compactly: ``offsets`` (int64, one per set + 1) and
``members`` (int32 node ids), 4 bytes per member.
"""

from __future__ import annotations

import numpy as np

from graphcrm.core import _rng
from graphcrm.core.numba_config import jit, readonly_copy


@jit
def _add(u, mark, stamp, queue, size):
    mark[u] = stamp
    queue[size] = u
    return size + 1


@jit
def _rr_ic(root, state, indptr, indices, prob, node_p, node_log1mp, mark, stamp, queue):
    """One IC RR set into ``queue[:size]``; returns ``(size, state)``."""
    queue[0] = root
    mark[root] = stamp
    head = 0
    size = 1
    while head < size:
        v = queue[head]
        head += 1
        start = indptr[v]
        end = indptr[v + 1]
        pv = node_p[v]
        if pv >= 1.0:
            for k in range(start, end):
                u = indices[k]
                if mark[u] != stamp:
                    size = _add(u, mark, stamp, queue, size)
        elif pv > 0.0:       # one probability for every in-edge of v: jump from live edge to live edge
            pos = start - 1
            log1mp = node_log1mp[v]
            while True:
                x, state = _rng.next_float(state)
                jump = np.log(1.0 - x) / log1mp          # failures before the next success, >= 0
                if jump >= end - pos - 1:
                    break
                pos += 1 + np.int64(jump)
                u = indices[pos]
                if mark[u] != stamp:
                    size = _add(u, mark, stamp, queue, size)
        elif pv < 0.0:       # mixed probabilities: one coin per edge
            for k in range(start, end):
                u = indices[k]
                if mark[u] == stamp:
                    continue
                p = prob[k]
                if p < 1.0:
                    x, state = _rng.next_float(state)
                    if x >= p:
                        continue
                size = _add(u, mark, stamp, queue, size)
    return size, state


@jit
def _rr_lt(root, state, indptr, indices, cum, node_p, mark, stamp, queue):
    """One LT RR set (a backward random walk) into ``queue[:size]``; returns ``(size, state)``.

    ``cum`` holds each node's running sum of in-edge weights (restarting at
    every node); ``node_p[v] >= 0`` means all in-edges of ``v`` weigh ``node_p[v]``.
    """
    queue[0] = root
    mark[root] = stamp
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
        if mark[u] == stamp:
            break
        size = _add(u, mark, stamp, queue, size)
        v = u
    return size, state


@jit
def _sample_chunk(lt, indptr, indices, edge_value, node_p, node_log1mp, roots, seed, first, count):
    """RR sets ``first .. first + count - 1``: ``(offsets, members)`` with ``offsets[0] == 0``.

    Roots are uniform over all nodes, or over ``roots`` when it is not empty
    (reach within a target segment).
    """
    n = indptr.shape[0] - 1
    mark = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int32)
    offsets = np.empty(count + 1, dtype=np.int64)
    offsets[0] = 0
    capacity = max(1024, 8 * count)
    members = np.empty(capacity, dtype=np.int32)
    n_roots = roots.shape[0]
    for i in range(count):
        index = first + i
        state = _rng.stream_state(seed, index)
        if n_roots > 0:
            r, state = _rng.next_below(state, n_roots)
            root = roots[r]
        else:
            root, state = _rng.next_below(state, n)
        if lt:
            size, state = _rr_lt(root, state, indptr, indices, edge_value, node_p, mark, index, queue)
        else:
            size, state = _rr_ic(root, state, indptr, indices, edge_value, node_p, node_log1mp, mark, index,
                                 queue)
        used = offsets[i]
        if used + size > capacity:
            capacity = max(2 * capacity, used + size)
            grown = np.empty(capacity, dtype=np.int32)
            grown[:used] = members[:used]
            members = grown
        members[used:used + size] = queue[:size]
        offsets[i + 1] = used + size
    return offsets, members[:offsets[count]].copy()


@jit
def _membership_index(offsets, members, n):
    """The inverse of a set collection: for every node, the sets it belongs to (CSR, int32 set ids)."""
    n_sets = offsets.shape[0] - 1
    node_ptr = np.zeros(n + 1, dtype=np.int64)
    for j in range(members.shape[0]):
        node_ptr[members[j] + 1] += 1
    for v in range(n):
        node_ptr[v + 1] += node_ptr[v]
    fill = node_ptr[:-1].copy()
    node_sets = np.empty(members.shape[0], dtype=np.int32)
    for s in range(n_sets):
        for j in range(offsets[s], offsets[s + 1]):
            v = members[j]
            node_sets[fill[v]] = s
            fill[v] += 1
    return node_ptr, node_sets


@jit
def _heap_push_min(heap, size, value, k):
    """Keep the ``k`` largest values seen in a min-heap ``heap[:size]``; returns the new size."""
    if size < k:
        i = size
        heap[i] = value
        size += 1
        while i > 0:
            parent = (i - 1) // 2
            if heap[parent] <= heap[i]:
                break
            heap[parent], heap[i] = heap[i], heap[parent]
            i = parent
        return size
    if value <= heap[0]:
        return size
    heap[0] = value
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and heap[left + 1] < heap[left]:
            child = left + 1
        if heap[i] <= heap[child]:
            break
        heap[i], heap[child] = heap[child], heap[i]
        i = child
    return size


@jit
def _cover(offsets, members, node_ptr, node_sets, count, covered, v):
    """Mark the sets of ``v`` covered and lower the counts of their members; returns newly covered sets."""
    gained = 0
    for j in range(node_ptr[v], node_ptr[v + 1]):
        s = node_sets[j]
        if covered[s]:
            continue
        covered[s] = True
        gained += 1
        for t in range(offsets[s], offsets[s + 1]):
            count[members[t]] -= 1
    return gained


@jit
def _greedy_k(offsets, members, n, k, order):
    """Greedy max coverage of ``k`` nodes drawn from ``order`` (candidates, by decreasing initial count).

    Also returns OPIM-C's upper bound on the best coverage of any ``k``
    candidates: ``min_i  cover(S_i) + (sum of the k largest marginal counts
    given S_i)``, over the greedy prefixes ``S_0 .. S_k``.

    The scan for the largest counts walks ``order`` and stops as soon as no
    later node can beat what was found (counts only decrease), so a step
    usually touches a small part of the nodes.

    Returns
    -------
    chosen : int64 (k,), gains : int64 (k,), covered_total : int64, upper : int64
    """
    node_ptr, node_sets = _membership_index(offsets, members, n)
    count = np.zeros(n, dtype=np.int64)
    for v in range(n):
        count[v] = node_ptr[v + 1] - node_ptr[v]
    initial = count.copy()
    covered = np.zeros(offsets.shape[0] - 1, dtype=np.bool_)
    picked = np.zeros(n, dtype=np.bool_)
    chosen = np.full(k, -1, dtype=np.int64)
    gains = np.zeros(k, dtype=np.int64)
    heap = np.empty(max(k, 1), dtype=np.int64)
    total = 0
    upper = np.int64(np.iinfo(np.int64).max)
    for step in range(k + 1):
        best = -1
        best_count = -1
        size = 0
        for idx in range(order.shape[0]):
            v = order[idx]
            if size == k and initial[v] <= heap[0]:
                break
            if picked[v]:
                continue
            c = count[v]
            size = _heap_push_min(heap, size, c, k)
            if c > best_count:
                best = v
                best_count = c
        top = 0
        for i in range(size):
            top += heap[i]
        if total + top < upper:
            upper = total + top
        if step == k or best < 0:
            break
        picked[best] = True
        chosen[step] = best
        gains[step] = _cover(offsets, members, node_ptr, node_sets, count, covered, best)
        total += gains[step]
    return chosen, gains, total, upper


@jit
def _fractional_knapsack(count, cost, candidates, picked, budget):
    """Largest ``sum count[v] * x_v`` with ``sum cost[v] * x_v <= budget``, ``0 <= x_v <= 1`` (an upper bound)."""
    m = candidates.shape[0]
    ratio = np.empty(m, dtype=np.float64)
    for i in range(m):
        v = candidates[i]
        ratio[i] = -1.0 if picked[v] else count[v] / cost[v]
    by_ratio = np.argsort(-ratio, kind="mergesort")
    left = budget
    value = 0.0
    for i in range(m):
        v = candidates[by_ratio[i]]
        if picked[v] or count[v] <= 0:
            continue
        if cost[v] <= left:
            value += count[v]
            left -= cost[v]
        else:
            value += count[v] * left / cost[v]
            break
    return value


@jit
def _greedy_budget(offsets, members, n, budget, cost, order):
    """Cost-effective greedy within ``budget``, or the best single candidate if that covers more.

    ``order`` lists the candidates by decreasing initial ``count / cost``.
    The better of the two is within ``1 - 1/sqrt(e)`` of the best coverage
    within budget (Khuller, Moss & Naor 1999; Feldman, Nutov & Shoham prove
    at least 0.405).  Also returns an upper bound on that best coverage:
    ``min_i cover(S_i) + fractional knapsack of the marginal counts``,
    evaluated at a logarithmic number of greedy prefixes.

    Returns
    -------
    chosen : int64 (m,), gains : int64 (m,), covered_total : int64, upper : float64
    """
    node_ptr, node_sets = _membership_index(offsets, members, n)
    count = np.zeros(n, dtype=np.int64)
    for v in range(n):
        count[v] = node_ptr[v + 1] - node_ptr[v]
    initial = count.copy()
    picked = np.zeros(n, dtype=np.bool_)
    best_single = -1
    for idx in range(order.shape[0]):
        v = order[idx]
        if cost[v] <= budget and (best_single < 0 or initial[v] > initial[best_single]):
            best_single = v
    covered = np.zeros(offsets.shape[0] - 1, dtype=np.bool_)
    chosen = np.full(order.shape[0], -1, dtype=np.int64)
    gains = np.zeros(order.shape[0], dtype=np.int64)
    left = budget
    total = 0
    upper = np.inf
    step = 0
    next_bound = 0
    while True:
        if step == next_bound:
            bound = total + _fractional_knapsack(count, cost, order, picked, budget)
            upper = min(upper, bound)
            next_bound = max(1, 2 * step)
        best = -1
        best_ratio = 0.0
        for idx in range(order.shape[0]):
            v = order[idx]
            if initial[v] / cost[v] <= best_ratio:
                break
            if picked[v] or cost[v] > left:
                continue
            r = count[v] / cost[v]
            if r > best_ratio:
                best = v
                best_ratio = r
        if best < 0:
            break
        picked[best] = True
        chosen[step] = best
        gains[step] = _cover(offsets, members, node_ptr, node_sets, count, covered, best)
        total += gains[step]
        left -= cost[best]
        step += 1
    upper = min(upper, total + _fractional_knapsack(count, cost, order, picked, budget))
    if best_single >= 0 and initial[best_single] > total:
        chosen[0] = best_single
        gains[0] = initial[best_single]
        return chosen[:1], gains[:1], initial[best_single], upper
    return chosen[:step], gains[:step], total, upper


@jit
def _coverage(offsets, members, is_seed):
    """How many sets contain at least one seed."""
    covered = 0
    for s in range(offsets.shape[0] - 1):
        for j in range(offsets[s], offsets[s + 1]):
            if is_seed[members[j]]:
                covered += 1
                break
    return covered


@jit
def _membership_counts(offsets, members, n):
    """How many sets contain each node."""
    counts = np.zeros(n, dtype=np.int64)
    for j in range(members.shape[0]):
        counts[members[j]] += 1
    return counts


def _warmup():
    indptr = np.array([0, 0, 1, 3], dtype=np.int64)
    indices = np.array([0, 0, 1], dtype=np.int32)
    value = np.array([1.0, 0.5, 0.5])
    node_p = np.array([0.0, 1.0, 0.5])
    log1mp = np.log1p(-np.minimum(node_p, 0.5))
    roots = np.empty(0, dtype=np.int64)
    for prep in (lambda a: a, readonly_copy):
        for lt in (False, True):
            offsets, members = _sample_chunk(lt, prep(indptr), prep(indices), value, node_p, log1mp, roots, 1, 0, 20)
    order = np.array([2, 1, 0], dtype=np.int64)
    _greedy_k(offsets, members, 3, 2, order)
    _greedy_budget(offsets, members, 3, 2.0, np.array([1.0, 1.0, 1.5]), order)
    _coverage(offsets, members, np.array([True, False, False]))
    _membership_counts(offsets, members, 3)
