"""Greedy max coverage over stored reverse-reachable (RR) sets, for influence maximization.

The sets come from :func:`graphcrm.algorithms._rr_kernels._sample_chunk`:
``offsets`` (int64, one per set + 1) and ``members`` (int32 node ids),
set ``i`` being ``members[offsets[i]:offsets[i + 1]]``.  A node's coverage
(the sets it belongs to) estimates its share of the reach; greedy max coverage
of ``k`` nodes (or within a budget) gives OPIM-C's seed sets and bounds.

Counts are integers in a scaled unit: a sampled set weighs ``unit`` and a node
adds ``bonus[v]`` on its own when picked -- the exact share of roots whose RR
set is always ``{root}`` (no in-edges), which planning counts instead of
sampling.  ``unit = 1`` with a zero ``bonus`` is plain max coverage.
"""

from __future__ import annotations

import numpy as np

from graphcrm.loaders.numba_config import jit


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
def _cover(offsets, members, node_ptr, node_sets, count, covered, v, unit):
    """Mark the sets of ``v`` covered and lower the counts of their members by ``unit``; returns newly covered sets."""
    gained = 0
    for j in range(node_ptr[v], node_ptr[v + 1]):
        s = node_sets[j]
        if covered[s]:
            continue
        covered[s] = True
        gained += 1
        for t in range(offsets[s], offsets[s + 1]):
            count[members[t]] -= unit
    return gained


@jit
def _initial_counts(node_ptr, unit, bonus):
    """Scaled count per node: ``unit`` per set it belongs to, plus its ``bonus``."""
    n = node_ptr.shape[0] - 1
    count = np.empty(n, dtype=np.int64)
    for v in range(n):
        count[v] = unit * (node_ptr[v + 1] - node_ptr[v]) + bonus[v]
    return count


@jit
def _greedy_k(offsets, members, n, k, order, unit, bonus):
    """Greedy max coverage of ``k`` nodes drawn from ``order`` (candidates, by decreasing initial count).

    Counts are scaled (``unit`` per set, ``bonus[v]`` for ``v`` itself; see the module docstring).

    Also returns OPIM-C's upper bound on the best coverage of any ``k``
    candidates: ``min_i  cover(S_i) + (sum of the k largest marginal counts
    given S_i)``, over the greedy prefixes ``S_0 .. S_k``.

    The scan for the largest counts walks ``order`` and stops as soon as no
    later node can beat what was found (counts only decrease), so a step
    usually touches a small part of the nodes.

    Returns
    -------
    chosen : int64 (k,), gains : int64 (k,), covered_total : int64, upper : int64 (all scaled)
    """
    node_ptr, node_sets = _membership_index(offsets, members, n)
    count = _initial_counts(node_ptr, unit, bonus)
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
        gains[step] = unit * _cover(offsets, members, node_ptr, node_sets, count, covered, best, unit) + bonus[best]
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
def _greedy_budget(offsets, members, n, budget, cost, order, unit, bonus):
    """Cost-effective greedy within ``budget``, or the best single candidate if that covers more.

    ``order`` lists the candidates by decreasing initial ``count / cost``.
    The better of the two is within ``1 - 1/sqrt(e)`` of the best coverage
    within budget (Khuller, Moss & Naor 1999; Feldman, Nutov & Shoham prove
    at least 0.405).  Also returns an upper bound on that best coverage:
    ``min_i cover(S_i) + fractional knapsack of the marginal counts``,
    evaluated at a logarithmic number of greedy prefixes.

    Returns
    -------
    chosen : int64 (m,), gains : int64 (m,), covered_total : int64, upper : float64 (all scaled, as in
    :func:`_greedy_k`)
    """
    node_ptr, node_sets = _membership_index(offsets, members, n)
    count = _initial_counts(node_ptr, unit, bonus)
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
        gains[step] = unit * _cover(offsets, members, node_ptr, node_sets, count, covered, best, unit) + bonus[best]
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
def _coverage_difference(offsets, members, before, after):
    """``(sets only after covers, sets only before covers)`` for two seed masks."""
    only_after = 0
    only_before = 0
    for s in range(offsets.shape[0] - 1):
        a = False
        b = False
        for j in range(offsets[s], offsets[s + 1]):
            v = members[j]
            a = a or after[v]
            b = b or before[v]
        if a and not b:
            only_after += 1
        elif b and not a:
            only_before += 1
    return only_after, only_before


@jit
def _membership_counts(offsets, members, n):
    """How many sets contain each node."""
    counts = np.zeros(n, dtype=np.int64)
    for j in range(members.shape[0]):
        counts[members[j]] += 1
    return counts


def _warmup():
    offsets = np.array([0, 2, 4, 5], dtype=np.int64)      # three sets over three nodes: {2, 1}, {1, 0}, {0}
    members = np.array([2, 1, 1, 0, 0], dtype=np.int32)
    order = np.array([1, 0, 2], dtype=np.int64)
    bonus = np.array([0, 2, 0], dtype=np.int64)
    _greedy_k(offsets, members, 3, 2, order, 3, bonus)
    _greedy_budget(offsets, members, 3, 2.0, np.array([1.0, 1.0, 1.5]), order, 3, bonus)
    _coverage(offsets, members, np.array([True, False, False]))
    _coverage_difference(offsets, members, np.array([True, False, False]), np.array([False, True, False]))
    _membership_counts(offsets, members, 3)
