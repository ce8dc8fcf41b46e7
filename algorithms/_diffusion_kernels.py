"""Monte-Carlo word-of-mouth kernels: Independent Cascade and Linear Threshold.

Run ``r`` under seed ``s`` draws from its own stream ``(s, r)``; activation
counts are integers; so results do not depend on the thread count or on how
runs are split.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from graphcrm.core import _rng
from graphcrm.core.numba_config import jit, readonly_copy


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


@jit
def _run_ic(seeds, state, out_indptr, out_indices, out_prob, mark, stamp, queue, step_of, max_steps):
    """One IC cascade; active nodes end in ``queue[:size]`` with their step in ``step_of``."""
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
            p = out_prob[k]
            if p <= 0.0:
                continue
            if p < 1.0:
                x, state = _rng.next_float(state)
                if x >= p:
                    continue
            mark[v] = stamp
            step_of[v] = step_of[u] + 1
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
def _simulate(model_lt, seeds, out_indptr, out_indices, out_value, n_runs, seed, first_run, max_steps, n_workers,
              n_steps_max):
    """Cascades ``first_run .. first_run + n_runs - 1`` from ``seeds`` (run r draws from stream (seed, r)).

    Returns
    -------
    sizes : int64 (n_runs,)
        Final number of active nodes per run.
    activations : int64 (n,)
        Runs in which each node ended active.
    new_per_step : int64 (n_steps_max + 1,)
        Newly active nodes per step, summed over runs (steps beyond the last
        bucket are counted in it).
    """
    n = out_indptr.shape[0] - 1
    sizes = np.zeros(n_runs, dtype=np.int64)
    per_worker = np.zeros((n_workers, n), dtype=np.int64)
    steps_worker = np.zeros((n_workers, n_steps_max + 1), dtype=np.int64)
    for w in prange(n_workers):
        mark = np.full(n, -1, dtype=np.int64)
        touched = np.full(n, -1, dtype=np.int64)
        threshold = np.zeros(n, dtype=np.float64)
        pressure = np.zeros(n, dtype=np.float64)
        queue = np.empty(n, dtype=np.int64)
        step_of = np.zeros(n, dtype=np.int64)
        counts = per_worker[w]
        steps = steps_worker[w]
        for r in range(n_runs * w // n_workers, n_runs * (w + 1) // n_workers):
            state = _rng.stream_state(seed, first_run + r)
            if model_lt:
                size, state = _run_lt(seeds, state, out_indptr, out_indices, out_value, mark, r, queue, step_of,
                                      max_steps, touched, threshold, pressure)
            else:
                size, state = _run_ic(seeds, state, out_indptr, out_indices, out_value, mark, r, queue, step_of,
                                      max_steps)
            sizes[r] = size
            for j in range(size):
                v = queue[j]
                counts[v] += 1
                s = step_of[v]
                steps[s if s < n_steps_max else n_steps_max] += 1
    activations = np.zeros(n, dtype=np.int64)
    new_per_step = np.zeros(n_steps_max + 1, dtype=np.int64)
    for w in range(n_workers):
        for v in range(n):
            activations[v] += per_worker[w, v]
        for s in range(n_steps_max + 1):
            new_per_step[s] += steps_worker[w, s]
    return sizes, activations, new_per_step


def _warmup():
    indptr = readonly_copy(np.array([0, 1, 2, 2], dtype=np.int64))
    indices = readonly_copy(np.array([1, 2], dtype=np.int32))
    prob = np.array([0.5, 1.0])
    seeds = np.array([0], dtype=np.int64)
    for lt in (False, True):
        _simulate(lt, seeds, indptr, indices, prob, 10, 1, 0, -1, 2, 8)
