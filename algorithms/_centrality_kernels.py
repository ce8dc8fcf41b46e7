"""numba kernels for influence scores: PageRank, HITS, coreness.

Arrays and scalars in, arrays and scalars out.  Reductions (dangling mass,
convergence error) are summed over a fixed number of chunks in a fixed order,
so results and iteration counts do not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from graphcrm.core.numba_config import jit

#: chunks for deterministic parallel sums
N_SUM_CHUNKS = 64


@jit(parallel=True)
def _chunked_abs_diff(a, b):
    n = a.shape[0]
    partial = np.zeros(N_SUM_CHUNKS, dtype=np.float64)
    for c in prange(N_SUM_CHUNKS):
        s = 0.0
        for i in range(n * c // N_SUM_CHUNKS, n * (c + 1) // N_SUM_CHUNKS):
            s += abs(a[i] - b[i])
        partial[c] = s
    total = 0.0
    for c in range(N_SUM_CHUNKS):
        total += partial[c]
    return total


@jit(parallel=True)
def _chunked_sum(a):
    n = a.shape[0]
    partial = np.zeros(N_SUM_CHUNKS, dtype=np.float64)
    for c in prange(N_SUM_CHUNKS):
        s = 0.0
        for i in range(n * c // N_SUM_CHUNKS, n * (c + 1) // N_SUM_CHUNKS):
            s += a[i]
        partial[c] = s
    total = 0.0
    for c in range(N_SUM_CHUNKS):
        total += partial[c]
    return total


@jit(parallel=True)
def _pagerank(indptr, indices, weights, has_weights, out_strength, teleport, dangling_to, damping, tol, max_iter,
              x0):
    """Power iteration of PageRank, pulling along in-edges.

    Parameters
    ----------
    indptr, indices, weights : CSR of the *in*-edges of the walk graph
        (row ``v`` lists the ``u`` with an edge ``u -> v``).
    out_strength : float64 array
        Sum of out-edge weights of each node in the walk graph (0: dangling).
    teleport, dangling_to : float64 arrays summing to 1
        Where the random surfer jumps, and where dangling nodes' mass goes.
    damping, tol, max_iter : float, float, int
        Stop when the L1 change of one iteration is below ``tol``.
    x0 : float64 array
        Start vector.

    Returns
    -------
    scores, iterations, converged, last_error
    """
    n = teleport.shape[0]
    x = x0.copy()
    new = np.empty(n, dtype=np.float64)
    contrib = np.empty(n, dtype=np.float64)
    dangling_x = np.empty(n, dtype=np.float64)
    err = np.inf
    for it in range(max_iter):
        for u in prange(n):
            if out_strength[u] > 0.0:
                contrib[u] = x[u] / out_strength[u]
                dangling_x[u] = 0.0
            else:
                contrib[u] = 0.0
                dangling_x[u] = x[u]
        dangling = _chunked_sum(dangling_x)
        for v in prange(n):
            acc = 0.0
            if has_weights:
                for k in range(indptr[v], indptr[v + 1]):
                    acc += contrib[indices[k]] * weights[k]
            else:
                for k in range(indptr[v], indptr[v + 1]):
                    acc += contrib[indices[k]]
            new[v] = damping * (acc + dangling * dangling_to[v]) + (1.0 - damping) * teleport[v]
        err = _chunked_abs_diff(new, x)
        x, new = new, x
        if err < tol:
            return x, it + 1, True, err
    return x, max_iter, False, err


@jit(parallel=True)
def _spmv_pull(indptr, indices, weights, has_weights, x, out):
    """``out[v] = sum over row v of weight * x[index]``."""
    n = indptr.shape[0] - 1
    for v in prange(n):
        acc = 0.0
        if has_weights:
            for k in range(indptr[v], indptr[v + 1]):
                acc += x[indices[k]] * weights[k]
        else:
            for k in range(indptr[v], indptr[v + 1]):
                acc += x[indices[k]]
        out[v] = acc


@jit
def _hits(out_indptr, out_indices, out_w, in_indptr, in_indices, in_w, has_weights, tol, max_iter, a0):
    """HITS by power iteration: ``a <- A^T A a`` normalised to sum 1; ``h = A a`` normalised.

    Returns
    -------
    hubs, authorities, iterations, converged, last_error
    """
    n = a0.shape[0]
    a = a0 / _chunked_sum(a0)
    h = np.empty(n, dtype=np.float64)
    new = np.empty(n, dtype=np.float64)
    err = np.inf
    iterations = max_iter
    converged = False
    for it in range(max_iter):
        _spmv_pull(out_indptr, out_indices, out_w, has_weights, a, h)    # h = A a
        _spmv_pull(in_indptr, in_indices, in_w, has_weights, h, new)     # a' = A^T h
        total = _chunked_sum(new)
        if total == 0.0:
            break
        new /= total
        err = _chunked_abs_diff(new, a)
        a, new = new, a
        if err < tol:
            iterations = it + 1
            converged = True
            break
    _spmv_pull(out_indptr, out_indices, out_w, has_weights, a, h)
    total = _chunked_sum(h)
    if total > 0.0:
        h /= total
    return h, a, iterations, converged, err


@jit
def _coreness(out_indptr, out_indices, in_indptr, in_indices, use_out, use_in):
    """k-core numbers (Batagelj & Zaversnik 2003, O(n + m)).

    The degree of a node counts its out-edges if ``use_out`` and its
    in-edges if ``use_in`` (both: the total degree of a directed graph, as
    networkx and igraph's ``mode="all"`` count it).  Self-loops are ignored.
    """
    n = out_indptr.shape[0] - 1
    deg = np.zeros(n, dtype=np.int64)
    for v in range(n):
        d = 0
        if use_out:
            for k in range(out_indptr[v], out_indptr[v + 1]):
                if out_indices[k] != v:
                    d += 1
        if use_in:
            for k in range(in_indptr[v], in_indptr[v + 1]):
                if in_indices[k] != v:
                    d += 1
        deg[v] = d
    max_deg = 0
    for v in range(n):
        if deg[v] > max_deg:
            max_deg = deg[v]
    bins = np.zeros(max_deg + 2, dtype=np.int64)
    for v in range(n):
        bins[deg[v]] += 1
    start = 0
    for d in range(max_deg + 1):
        count = bins[d]
        bins[d] = start
        start += count
    pos = np.empty(n, dtype=np.int64)
    vert = np.empty(n, dtype=np.int64)
    for v in range(n):
        pos[v] = bins[deg[v]]
        vert[pos[v]] = v
        bins[deg[v]] += 1
    for d in range(max_deg, 0, -1):
        bins[d] = bins[d - 1]
    bins[0] = 0
    for i in range(n):
        v = vert[i]
        # removing v lowers the degree of the nodes whose degree counted an edge with v:
        # v's out-neighbours counted it as an in-edge, v's in-neighbours as an out-edge
        for side in range(2):
            if side == 0:
                if not use_in:
                    continue
                lo, hi, nbrs = out_indptr[v], out_indptr[v + 1], out_indices
            else:
                if not use_out:
                    continue
                lo, hi, nbrs = in_indptr[v], in_indptr[v + 1], in_indices
            for k in range(lo, hi):
                u = nbrs[k]
                if u == v or deg[u] <= deg[v]:
                    continue
                du = deg[u]
                pu = pos[u]
                pw = bins[du]
                w = vert[pw]
                if u != w:
                    pos[u] = pw
                    vert[pu] = w
                    pos[w] = pu
                    vert[pw] = u
                bins[du] += 1
                deg[u] -= 1
    return deg


def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _warmup():
    # graph arrays are read-only (numba types them apart from writable ones): compile for those
    indptr = _readonly(np.array([0, 1, 2, 2], dtype=np.int64))
    indices = _readonly(np.array([1, 0], dtype=np.int32))
    w = _readonly(np.ones(2, dtype=np.float64))
    empty = np.empty(0)
    p = np.full(3, 1 / 3)
    strength = np.array([1.0, 1.0, 0.0])
    for has_w in (True, False):
        weights = w if has_w else empty
        _pagerank(indptr, indices, weights, has_w, strength, p, p, 0.85, 1e-10, 5, p)
        _hits(indptr, indices, weights, indptr, indices, weights, has_w, 1e-10, 5, np.ones(3))
    _coreness(indptr, indices, indptr, indices, True, True)
