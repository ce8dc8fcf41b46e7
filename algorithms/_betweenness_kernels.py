"""Sampled betweenness (Riondato & Kornaropoulos 2016): one random shortest path per sample.

Sample ``i`` under seed ``s`` depends on ``(s, i)`` only, and hits are counted
as integers, so results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from graphcrm.loaders import _rng
from graphcrm.loaders.numba_config import jit, readonly_copy


@jit
def _one_path(s, t, state, out_indptr, out_indices, in_indptr, in_indices, dist, sigma, stamp, mark, queue,
              hits):
    """BFS from ``s`` until ``t``'s level is complete, then walk back one shortest path chosen uniformly.

    Interior nodes of the path get one hit.  Returns the new random state.
    """
    mark[s] = stamp
    dist[s] = 0
    sigma[s] = 1.0
    queue[0] = s
    head, tail = 0, 1
    t_dist = -1
    while head < tail:
        v = np.uint32(queue[head])
        head += 1
        if t_dist >= 0 and dist[v] >= t_dist:
            break
        # unsigned positions and ids: no negative-index check (a branch) per access
        for k in range(np.uint64(out_indptr[v]), np.uint64(out_indptr[v + 1])):
            w = np.uint32(out_indices[k])
            if mark[w] != stamp:
                mark[w] = stamp
                dist[w] = dist[v] + 1
                sigma[w] = 0.0
                queue[tail] = w
                tail += 1
                if w == t:
                    t_dist = dist[w]
            if dist[w] == dist[v] + 1:
                sigma[w] += sigma[v]
    if t_dist < 0:
        return state
    cur = t
    while True:
        x, state = _rng.next_float(state)
        target = x * sigma[cur]
        acc = 0.0
        pred = -1
        for k in range(np.uint64(in_indptr[cur]), np.uint64(in_indptr[cur + 1])):
            u = np.uint32(in_indices[k])
            if mark[u] == stamp and dist[u] == dist[cur] - 1:
                acc += sigma[u]
                pred = np.int64(u)
                if acc > target:
                    break
        if pred == s or pred < 0:
            break
        hits[pred] += 1
        cur = pred
    return state


@jit(parallel=True)
def _sampled_betweenness(out_indptr, out_indices, in_indptr, in_indices, n_samples, seed, n_workers):
    """Hits per node over ``n_samples`` random (source, target) pairs."""
    n = out_indptr.shape[0] - 1
    per_worker = np.zeros((n_workers, n), dtype=np.int64)
    for wk in prange(n_workers):
        dist = np.zeros(n, dtype=np.int64)
        sigma = np.zeros(n, dtype=np.float64)
        mark = np.full(n, -1, dtype=np.int64)
        queue = np.empty(n, dtype=np.int64)
        hits = per_worker[wk]
        for i in range(n_samples * wk // n_workers, n_samples * (wk + 1) // n_workers):
            state = _rng.stream_state(seed, i)
            s, state = _rng.next_below(state, n)
            t, state = _rng.next_below(state, n - 1)
            if t >= s:
                t += 1
            _one_path(s, t, state, out_indptr, out_indices, in_indptr, in_indices, dist, sigma, i, mark, queue,
                      hits)
    out = np.zeros(n, dtype=np.int64)
    for wk in range(n_workers):
        for v in range(n):
            out[v] += per_worker[wk, v]
    return out


def _warmup():
    indptr = readonly_copy(np.array([0, 1, 2, 2], dtype=np.int64))
    indices = readonly_copy(np.array([1, 2], dtype=np.int32))
    in_indptr = readonly_copy(np.array([0, 0, 1, 2], dtype=np.int64))
    in_indices = readonly_copy(np.array([0, 1], dtype=np.int32))
    _sampled_betweenness(indptr, indices, in_indptr, in_indices, 10, 1, 2)
