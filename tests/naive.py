"""Slow, obviously correct reference implementations for the kernels."""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def build_layer(n, src, dst, weights, aggregate="sum", keep_self_loops=False):
    """Dict-of-dicts aggregation, then sorted CSR and CSC."""
    groups = defaultdict(list)
    for i, (u, v) in enumerate(zip(src, dst)):
        if u == v and not keep_self_loops:
            continue
        groups[(int(u), int(v))].append(1.0 if weights is None else float(weights[i]))
    agg = {"sum": lambda xs: float(np.sum(sorted(xs))), "mean": lambda xs: float(np.sum(sorted(xs))) / len(xs),
           "max": max, "min": min}[aggregate]
    edges = sorted((u, v, agg(ws)) for (u, v), ws in groups.items())

    def csr(pairs):
        indptr = np.zeros(n + 1, dtype=np.int64)
        for u, _, _ in pairs:
            indptr[u + 1] += 1
        return np.cumsum(indptr), np.array([v for _, v, _ in pairs], dtype=np.int32), np.array(
            [w for _, _, w in pairs], dtype=np.float64)

    out = csr(edges)
    inn = csr(sorted((v, u, w) for u, v, w in edges))
    return out, inn
