"""numba kernel of :mod:`graphcrm.algorithms.cascades`: earliest-arrival search over time-ordered events."""

from __future__ import annotations

import numpy as np

from graphcrm.loaders.numba_config import jit


@jit
def _earliest_arrival_reach(indptr, dst, time, n, starts):
    never = np.iinfo(np.int64).max
    arrival = np.full(n, never, dtype=np.int64)
    out = np.zeros(len(starts), dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    touched = np.empty(n, dtype=np.int64)
    for i in range(len(starts)):
        s = starts[i]
        arrival[s] = np.iinfo(np.int64).min
        n_touched = 1
        touched[0] = s
        top = 1
        stack[0] = s
        while top > 0:
            top -= 1
            u = stack[top]
            t_u = arrival[u]
            for k in range(indptr[u], indptr[u + 1]):
                t = time[k]
                if t >= t_u:
                    v = dst[k]
                    if t < arrival[v]:          # an earlier arrival can pass content on to more events
                        if arrival[v] == never:
                            touched[n_touched] = v
                            n_touched += 1
                        arrival[v] = t
                        stack[top] = v
                        top += 1
        out[i] = n_touched - 1
        for j in range(n_touched):
            arrival[touched[j]] = never
    return out


def _warmup():
    indptr = np.array([0, 1, 1], dtype=np.int64)
    _earliest_arrival_reach(indptr, np.array([1], dtype=np.int64), np.array([5], dtype=np.int64), 2,
                            np.array([0, 1], dtype=np.int64))
