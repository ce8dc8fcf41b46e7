"""Monte-Carlo word-of-mouth kernels: Independent Cascade and Linear Threshold.

Run ``r`` under seed ``s`` draws from its own stream ``(s, r)``; activation
counts are integers; so results do not depend on the thread count or on how
runs are split.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from graphcrm.loaders import _rng
from graphcrm.loaders._prefetch import prefetch
from graphcrm.loaders.numba_config import jit, readonly_copy


@jit
def _activate_seeds(seeds, mark, stamp, queue, step_of):
    """Mark the (distinct) seeds active at step 0; returns how many."""
    size = 0
    for s in seeds:
        if mark[s] != stamp:
            mark[s] = stamp
            queue[size] = s
            step_of[s] = 0
            size += 1
    return size


# one out-edge of the IC layout: probability and target side by side, so one cache line serves both
IC_EDGE = np.dtype([("p", np.float32), ("v", np.int32)])
IC_EDGE_WIDE = np.dtype([("p", np.float64), ("v", np.int64)])    # for layers with int64 indices


def ic_layout(out_indptr, out_indices, out_prob):
    """The out-edges as :func:`_run_ic` reads them: per account, ``(p, v)`` records by falling ``p``.

    Ties keep the layer's order.  Memory: 8 bytes an edge (16 for int64 indices).

    Examples
    --------
    >>> import numpy as np
    >>> edges = ic_layout(np.array([0, 3]), np.array([7, 8, 9], dtype=np.int32), np.array([0.1, 0.5, 0.1]))
    >>> edges["v"].tolist(), edges["p"].astype(float).round(2).tolist()   # stored as float32
    ([8, 7, 9], [0.5, 0.1, 0.1])
    """
    wide = out_indices.dtype.itemsize > 4
    edges = np.empty(len(out_indices), dtype=IC_EDGE_WIDE if wide else IC_EDGE)
    _fill_ic_layout(out_indptr, out_indices, out_prob, edges)
    return edges


@jit(parallel=True)
def _fill_ic_layout(out_indptr, out_indices, out_prob, edges):
    n = out_indptr.shape[0] - 1
    for u in prange(n):
        a, b = out_indptr[u], out_indptr[u + 1]
        if b - a <= 32:     # insertion sort, stable: equal probabilities keep their order
            for j in range(a, b):
                edges[j].p = out_prob[j]
                p = edges[j].p     # compared as stored (float32), so equal probabilities keep their order
                v = out_indices[j]
                i = j
                while i > a and edges[i - 1].p < p:
                    edges[i].p = edges[i - 1].p
                    edges[i].v = edges[i - 1].v
                    i -= 1
                edges[i].p = p
                edges[i].v = v
        else:
            order = np.argsort(-out_prob[a:b], kind="mergesort")
            for j in range(b - a):
                edges[a + j].p = out_prob[a + order[j]]
                edges[a + j].v = out_indices[a + order[j]]


# below this probability an edge is not tried on its own: the scan jumps to the next success (see _run_ic)
_SKIP_BELOW = 0.2
# how many queued accounts ahead _run_ic prefetches (graphcrm.loaders._prefetch)
_PREFETCH_AHEAD = 16


@jit
def _run_ic(seeds, state, out_indptr, edges, mark, stamp, queue, step_of, max_steps):
    """One IC cascade; active nodes end in ``queue[:size]`` with their step in ``step_of``.

    Out-edges come as ``(p, v)`` records sorted by falling ``p`` (:func:`ic_layout`),
    so at position ``k`` the bound ``b = p[k]`` holds for every edge left.
    Edges with ``b >= 0.2`` get one Bernoulli trial each; below that the scan
    jumps straight to the next success of Bernoulli(``b``) trials (a geometric
    draw) and keeps it with probability ``p[c] / b``: every edge still fires
    with exactly its own probability, but a hub whose audience is each
    reached with probability 1/500 costs a handful of draws, not 500.  This
    is the geometric skipping of SUBSIM (Guo et al., SIGMOD 2020) applied to
    forward cascades.
    """
    size = _activate_seeds(seeds, mark, stamp, queue, step_of)
    head = 0
    while head < size:
        # the queue says who comes next: start loading their offsets and first out-edges now
        if head + 2 * _PREFETCH_AHEAD < size:
            prefetch(out_indptr, queue[head + 2 * _PREFETCH_AHEAD])
        if head + _PREFETCH_AHEAD < size:
            prefetch(edges, out_indptr[queue[head + _PREFETCH_AHEAD]])
        u = queue[head]
        head += 1
        if max_steps >= 0 and step_of[u] >= max_steps:
            continue
        k, end = out_indptr[u], out_indptr[u + 1]
        next_step = step_of[u] + 1
        while k < end:
            b = np.float64(edges[k].p)
            if b <= 0.0:
                break
            c = k
            if b < _SKIP_BELOW:
                x, state = _rng.next_float(state)
                jump = np.log(1.0 - x) / np.log1p(-b)    # failures before the first Bernoulli(b) success
                if jump >= end - k:
                    break
                c = k + np.int64(jump)
                pc = np.float64(edges[c].p)
                if pc < b:
                    y, state = _rng.next_float(state)
                    if y * b >= pc:
                        k = c + 1
                        continue
            elif b < 1.0:
                x, state = _rng.next_float(state)
                if x >= b:
                    k += 1
                    continue
            k = c + 1
            v = edges[c].v
            if mark[v] == stamp:
                continue
            mark[v] = stamp
            step_of[v] = next_step
            queue[size] = v
            size += 1
    return size, state


@jit
def _run_lt(seeds, state, out_indptr, out_indices, out_weight, mark, stamp, queue, step_of, max_steps,
            touched, threshold, pressure):
    """One Linear Threshold cascade (thresholds uniform on [0, 1), drawn when a node is first pushed)."""
    size = _activate_seeds(seeds, mark, stamp, queue, step_of)
    head = 0
    while head < size:
        u = queue[head]
        head += 1
        if max_steps >= 0 and step_of[u] >= max_steps:
            continue
        for k in range(out_indptr[u], out_indptr[u + 1]):
            v = out_indices[k]
            if mark[v] == stamp:
                continue
            if touched[v] != stamp:
                touched[v] = stamp
                x, state = _rng.next_float(state)
                threshold[v] = x
                pressure[v] = 0.0
            pressure[v] += out_weight[k]
            if pressure[v] >= threshold[v] and pressure[v] > 0.0:
                mark[v] = stamp
                step_of[v] = step_of[u] + 1
                queue[size] = v
                size += 1
    return size, state


@jit(parallel=True)
def _simulate(model_lt, seeds, out_indptr, out_indices, lt_weight, ic_edges, n_runs, seed, first_run, max_steps,
              n_workers,
              n_steps_max, in_targets):
    """Cascades ``first_run .. first_run + n_runs - 1`` from ``seeds`` (run r draws from stream (seed, r)).

    LT reads ``out_indices`` and ``lt_weight`` (aligned with them); IC reads
    ``ic_edges``, the layout of :func:`ic_layout`.  The arrays the model does
    not read may be empty.

    ``in_targets`` (bool, one per node, or empty): the nodes ``target_sizes`` counts.

    Returns
    -------
    sizes : int64 (n_runs,)
        Final number of active nodes per run.
    target_sizes : int64 (n_runs,)
        Final number of active nodes of ``in_targets`` per run (zeros when it is empty).
    activations : int64 (n,)
        Runs in which each node ended active.
    new_per_step : int64 (n_steps_max + 1,)
        Newly active nodes per step, summed over runs (steps beyond the last
        bucket are counted in it).
    """
    n = out_indptr.shape[0] - 1
    sizes = np.zeros(n_runs, dtype=np.int64)
    target_sizes = np.zeros(n_runs, dtype=np.int64)
    has_targets = in_targets.shape[0] > 0
    per_worker = np.zeros((n_workers, n), dtype=np.int64)
    steps_worker = np.zeros((n_workers, n_steps_max + 1), dtype=np.int64)
    for w in prange(n_workers):
        # O(n) state per worker, 4 bytes an account where a run touches it at random (int32 stamps)
        mark = np.full(n, -1, dtype=np.int32)
        touched = np.full(n, -1, dtype=np.int32)
        threshold = np.zeros(n, dtype=np.float64)
        pressure = np.zeros(n, dtype=np.float64)
        queue = np.empty(n, dtype=np.int32)
        step_of = np.zeros(n, dtype=np.int32)
        counts = per_worker[w]
        steps = steps_worker[w]
        stamp = np.int32(-1)
        for r in range(n_runs * w // n_workers, n_runs * (w + 1) // n_workers):
            stamp += np.int32(1)
            if stamp == np.int32(2**31 - 1):   # stamps wrap: start the marks afresh
                mark[:] = -1
                touched[:] = -1
                stamp = np.int32(0)
            state = _rng.stream_state(seed, first_run + r)
            if model_lt:
                size, state = _run_lt(seeds, state, out_indptr, out_indices, lt_weight, mark, stamp, queue, step_of,
                                      max_steps, touched, threshold, pressure)
            else:
                size, state = _run_ic(seeds, state, out_indptr, ic_edges, mark, stamp, queue, step_of, max_steps)
            sizes[r] = size
            in_target = 0
            for j in range(size):
                if j + _PREFETCH_AHEAD < size:
                    prefetch(counts, queue[j + _PREFETCH_AHEAD])
                v = queue[j]
                counts[v] += 1
                s = step_of[v]
                steps[s if s < n_steps_max else n_steps_max] += 1
                if has_targets and in_targets[v]:
                    in_target += 1
            target_sizes[r] = in_target
    activations = np.zeros(n, dtype=np.int64)
    new_per_step = np.zeros(n_steps_max + 1, dtype=np.int64)
    for w in range(n_workers):
        for v in range(n):
            activations[v] += per_worker[w, v]
        for s in range(n_steps_max + 1):
            new_per_step[s] += steps_worker[w, s]
    return sizes, target_sizes, activations, new_per_step


def _warmup():
    indptr = readonly_copy(np.array([0, 1, 2, 2], dtype=np.int64))
    indices = readonly_copy(np.array([1, 2], dtype=np.int32))
    prob = np.array([0.5, 1.0])
    seeds = np.array([0], dtype=np.int64)
    for ro in (indices, readonly_copy(indices.astype(np.int64))):
        edges = ic_layout(indptr, ro, prob)
        for lt in (False, True):
            for targets in (np.zeros(0, dtype=np.bool_), np.array([False, True, True])):
                _simulate(lt, seeds, indptr, ro, prob, edges, 10, 1, 0, -1, 2, 8, targets)
