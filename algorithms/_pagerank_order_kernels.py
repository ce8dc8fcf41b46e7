"""numba kernels for PageRank on a locality-ordered copy of a layer's pull rows.

Why an order helps (rmat20, 16M edges, 2 threads; ``benchmarks/RESULTS-centrality.md``): a pull pass
gathers ``contrib[u]`` for every in-edge ``u -> v`` row by row.  In the stored order (R-MAT ids are a
random permutation) two costs dominate: the exit of each row's loop is mispredicted (row lengths vary at
random from one row to the next: a pass whose every index is 0 costs ~60% of a real one), and the
gathered values are spread over the whole vector.  Numbering the accounts by falling in-degree (the walk's
pull-row length), ties by falling out-degree, fixes both: rows of equal length follow each other, and the
accounts gathered most often (in- and out-degree go together on social graphs) share the first cache
lines.  Reverse Cuthill-McKee and out-degree orders were measured too and helped less (R-MAT has no
bandwidth to reduce; the row lengths stay random).

The order is computed once per layer and direction and kept with the layer
(:meth:`graphcrm.loaders.graph.Layer.derived`); the kernels here take the relabelled arrays, and the
caller maps scores back to the account order.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from graphcrm.algorithms._centrality_kernels import _balanced_bounds, _n_chunks
from graphcrm.loaders.numba_config import jit, readonly_copy

#: fast-math flags of the gather loops only: reassociating the row sum lets LLVM vectorise it (AVX-512 /
#: AVX2 gathers, several running sums).  The order of the additions is then fixed by the compiled code and
#: the row's length, never by the thread count; it differs from a sequential sum by rounding (~1e-16
#: relative per row).
_GATHER_FLAGS = {"reassoc", "nsz", "contract"}


@jit
def degree_order(in_degree, out_degree):
    """Accounts by falling in-degree, ties by falling out-degree, then by account (new -> old labels).

    Two stable counting-sort passes (out-degree, then in-degree): O(n + largest degree).
    """
    n = in_degree.shape[0]
    top = 0
    for v in range(n):
        top = max(top, in_degree[v], out_degree[v])
    by_out = np.empty(n, dtype=np.int32)
    perm = np.empty(n, dtype=np.int32)
    start = np.zeros(top + 2, dtype=np.int64)
    for v in range(n):
        start[top - out_degree[v] + 1] += 1
    for b in range(top + 1):
        start[b + 1] += start[b]
    for v in range(n):
        b = top - out_degree[v]
        by_out[start[b]] = v
        start[b] += 1
    start[:] = 0
    for v in range(n):
        start[top - in_degree[v] + 1] += 1
    for b in range(top + 1):
        start[b + 1] += start[b]
    for i in range(n):
        v = by_out[i]
        b = top - in_degree[v]
        perm[start[b]] = v
        start[b] += 1
    return perm


@jit
def rank_of(perm):
    """Inverse permutation: ``rank[perm[i]] = i``."""
    rank = np.empty(perm.shape[0], dtype=np.int32)
    for i in range(perm.shape[0]):
        rank[perm[i]] = i
    return rank


@jit(parallel=True)
def relabel_pull(pull_indptr, pull_indices, pull_weights, has_weights, perm, rank, indptr_out):
    """Pull rows (in-edges) of the relabelled graph: new row ``r`` is old row ``perm[r]`` with each source
    renamed ``rank[u]`` (kept in the old row's order; sorting the rows measured no faster).

    Parameters
    ----------
    pull_indptr, pull_indices, pull_weights : CSR of the walk's in-edges (row ``v`` lists ``u -> v``).
    perm, rank : new -> old and old -> new labels.
    indptr_out : int32 or int64 array of ``n + 1`` zeros, filled with the new row offsets (int32 when the
        edge count fits: half the bytes of the offsets each iteration reads).

    Returns
    -------
    indices (int32, new labels), weights (float64; empty without weights)
    """
    n = perm.shape[0]
    for r in range(n):
        v = perm[r]
        indptr_out[r + 1] = indptr_out[r] + (pull_indptr[v + 1] - pull_indptr[v])
    m = pull_indptr[n]
    indices = np.empty(m, dtype=np.int32)
    weights = np.empty(m if has_weights else 0, dtype=np.float64)
    for r in prange(n):
        v = perm[r]
        p = indptr_out[r]
        for k in range(pull_indptr[v], pull_indptr[v + 1]):
            indices[p] = rank[pull_indices[k]]
            if has_weights:
                weights[p] = pull_weights[k]
            p += 1
    return indices, weights


@jit(fastmath=_GATHER_FLAGS)
def _row_sum(values, indices, lo, hi):
    """``sum(values[indices[lo:hi]])`` in float64 (values float32 or float64), vectorised."""
    a = 0.0
    for k in range(np.uint64(lo), np.uint64(hi)):
        a += values[np.uint32(indices[k])]
    return a


@jit(fastmath=_GATHER_FLAGS)
def _row_sum32(values, indices, lo, hi):
    """``sum(values[indices[lo:hi]])`` of float32 values in float32 lanes (16 per AVX-512 gather)."""
    a = np.float32(0.0)
    for k in range(np.uint64(lo), np.uint64(hi)):
        a += values[np.uint32(indices[k])]
    return a


@jit(fastmath=_GATHER_FLAGS)
def _row_wsum(values, indices, weights, lo, hi):
    """``sum(values[indices[lo:hi]] * weights[lo:hi])``, vectorised."""
    a = 0.0
    for k in range(np.uint64(lo), np.uint64(hi)):
        a += values[np.uint32(indices[k])] * weights[k]
    return a


@jit(parallel=True)
def _step(bounds, indptr, indices, weights, has_weights, contrib, contrib32, low, x, inv, teleport, uniform,
          uniform_p, damping, dangling, next_contrib, next32, part):
    """One fused Jacobi step: gather, update ``x`` in place, next contributions, L1 change and dangling
    mass per chunk (``part[ch] = (change, dangling mass)``)."""
    for ch in prange(bounds.shape[0] - 1):
        e = 0.0
        d = 0.0
        for r in range(bounds[ch], bounds[ch + 1]):
            lo = indptr[r]
            hi = indptr[r + 1]
            if low:
                if has_weights:
                    acc = _row_wsum(contrib32, indices, weights, lo, hi)
                else:
                    acc = np.float64(_row_sum32(contrib32, indices, lo, hi))
            elif has_weights:
                acc = _row_wsum(contrib, indices, weights, lo, hi)
            else:
                acc = _row_sum(contrib, indices, lo, hi)
            tp = uniform_p if uniform else teleport[r]
            nv = damping * (acc + dangling * tp) + (1.0 - damping) * tp
            e += abs(nv - x[r])
            x[r] = nv
            w = inv[r]
            c = nv * w
            if low:
                next32[r] = c
            else:
                next_contrib[r] = c
            if w == 0.0:
                d += nv
        part[ch, 0] = e
        part[ch, 1] = d


@jit
def pagerank_ordered(indptr, indices, weights, has_weights, inv, teleport, uniform, uniform_p, x0, damping, tol,
                     max_iter, low_until):
    """Power iteration of PageRank over relabelled pull rows, one fused pass per iteration.

    Each pass gathers, updates the scores in place (Jacobi: the gathers read the previous step's
    contributions, never ``x``), writes the next contributions and sums the L1 change and the dangling
    mass per chunk; chunks are a function of the graph only, so results and iteration counts do not depend
    on the number of threads.

    Parameters
    ----------
    indptr, indices, weights : pull rows in new labels (:func:`relabel_pull`).
    inv : float64, 1 / out-strength per new label (0: dangling).
    teleport : teleport (= dangling) probability per new label (unused if ``uniform``: ``uniform_p``).
    x0 : float64 start vector per new label (copied).
    damping, tol, max_iter : stop when the L1 change of one iteration is below ``tol``.
    low_until : gather float32 contributions while the L1 change is at least this (``inf``: never); the
        run never stops on a float32 step (as ``_centrality_kernels._pagerank``).

    Returns
    -------
    scores per new label, iterations, converged, last change
    """
    n = inv.shape[0]
    chunks = _n_chunks(max(n, 1))
    bounds = _balanced_bounds(indptr, chunks)
    x = x0.copy()
    low = low_until < np.inf
    contrib = np.empty(n, dtype=np.float64)
    contrib32 = np.empty(n if low else 0, dtype=np.float32)
    next_contrib = np.empty(n, dtype=np.float64)
    next32 = np.empty(n if low else 0, dtype=np.float32)
    dangling = 0.0
    for v in range(n):
        c = x[v] * inv[v]
        if low:
            contrib32[v] = c
        else:
            contrib[v] = c
        if inv[v] == 0.0:
            dangling += x[v]
    part = np.zeros((chunks, 2), dtype=np.float64)
    err = np.inf
    for it in range(max_iter):
        _step(bounds, indptr, indices, weights, has_weights, contrib, contrib32, low, x, inv, teleport, uniform,
              uniform_p, damping, dangling, next_contrib, next32, part)
        err = 0.0
        dangling = 0.0
        for ch in range(chunks):
            err += part[ch, 0]
            dangling += part[ch, 1]
        if low:
            contrib32, next32 = next32, contrib32
            if err < low_until:
                low = False
                for v in range(n):          # the float64 steps start from the float32 step's exact scores
                    contrib[v] = x[v] * inv[v]
        else:
            contrib, next_contrib = next_contrib, contrib
            if err < tol:
                return x, it + 1, True, err
    return x, max_iter, False, err


def _warmup():
    # a directed 4-cycle with a chord and a dangling node; graph arrays are read-only
    pull_indptr = readonly_copy(np.array([0, 1, 2, 4, 4], dtype=np.int64))
    pull_indices = readonly_copy(np.array([2, 0, 0, 1], dtype=np.int32))
    w = readonly_copy(np.array([1.0, 1.0, 2.0, 1.0]))
    deg = np.array([1, 1, 2, 0], dtype=np.int64)          # np.diff of the graph's offsets: writable
    perm = degree_order(deg, deg)
    rank = rank_of(perm)
    p = np.full(4, 0.25)
    for has_w in (True, False):
        weights = w if has_w else np.empty(0)
        for dtype in (np.int32, np.int64):
            indptr = np.zeros(5, dtype=dtype)
            indices, wts = relabel_pull(pull_indptr, pull_indices, weights, has_w, perm, rank, indptr)
            # kept with the layer read-only; an unweighted call passes a fresh empty weights array
            indptr, indices = readonly_copy(indptr), readonly_copy(indices)
            wts = readonly_copy(wts) if has_w else np.empty(0)
            inv = readonly_copy(np.array([0.5, 1.0, 1.0, 0.0]))     # kept with the layer, read-only
            for uniform in (True, False):
                for low in (np.inf, 1e-5):
                    pagerank_ordered(indptr, indices, wts, has_w, inv, p, uniform, 0.25, p, 0.85, 1e-10, 5, low)
