"""numba kernels for FastRP node embeddings (:mod:`graphcrm.algorithms.embedding`).

Arrays and scalars in, arrays out.  The embedding is built one block of :data:`WIDTH` columns at a time,
in place in the result with one or two scratch arrays of ``n x WIDTH``.  Each kernel writes every row
from that row's own inputs in a fixed edge order, so results do not depend on the number of threads.

The random projection is never stored: entry ``(v, c)`` is a pure function of the seed, the node's key
(a 64-bit hash of its external id) and the column ``c`` (:func:`_entry`), so it is generated when needed.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from graphcrm.loaders.numba_config import jit, readonly_copy

#: columns per block (two cache lines per row).  The kernels take the width as an argument: with a constant
#: trip count of 16 or 32 LLVM unrolls the neighbour loop into scalar code (3-4x slower per column on
#: rmat17); with a run-time width it vectorises it, 32 columns at 1.1-1.3x the time per column of 64, and
#: half the scratch memory.  Indexing ``dst[v, off + j]`` instead of a slice of the row is not vectorised.
WIDTH = 32

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@jit
def _mix(x):
    """splitmix64's finaliser: a bijection of uint64 that scatters every input bit."""
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


@jit
def _entry(seed, key, c, sparsity):
    """Projection entry for (node key, column c): +sqrt(s) and -sqrt(s) with chance 1/(2s) each, else 0."""
    h = _mix(_mix(seed + key * _GOLDEN) + np.uint64(c + 1) * _GOLDEN)
    u = np.float64(h >> np.uint64(11)) * (1.0 / 9007199254740992.0)   # [0, 1) from the top 53 bits
    p = 0.5 / sparsity
    if u < p:
        return np.sqrt(sparsity)
    if u < 2.0 * p:
        return -np.sqrt(sparsity)
    return 0.0


@jit(parallel=True)
def _projection(keys, seed, col0, width, sparsity, scale, dst, off, block):
    """``dst[v, off + j] = scale[v] * entry(keys[v], col0 + j)`` for ``j < width``, 0 for ``width <= j < block``."""
    n = keys.shape[0]
    for v in prange(n):
        for j in range(block):
            dst[v, off + j] = np.float32(scale[v] * _entry(seed, keys[v], col0 + j, sparsity)) \
                if j < width else np.float32(0.0)


@jit(parallel=True)
def _projection_norms(keys, seed, dim, sparsity):
    """Squared L2 norm of each node's projection row (float64)."""
    n = keys.shape[0]
    sq = np.zeros(n, dtype=np.float64)
    for v in prange(n):
        s = 0.0
        for c in range(dim):
            x = _entry(seed, keys[v], c, sparsity)
            s += x * x
        sq[v] = s
    return sq


@jit(parallel=True)
def _propagate(o_ptr, o_idx, o_w, i_ptr, i_idx, i_w, has_w, inv_strength, bounds, src, s_off, dst, d_off, sq,
               norms, block):
    """One step ``dst = D^-1 (A + A^T) src`` on the ``block`` columns from ``s_off`` of ``src`` into those
    from ``d_off`` of ``dst`` (C-contiguous 2-D float32: the result itself or a scratch array); with ``norms``,
    also ``sq[v] += |dst[v]|^2``.

    ``A`` is the layer's out-edges (CSR ``o_*``) and ``A^T`` its in-edges (CSC ``i_*``): the graph is used as
    undirected without a copy.  Rows are split into ``bounds`` chunks of about equal work; each row is summed
    in edge order, so the result does not depend on the number of threads.
    """
    for ch in prange(bounds.shape[0] - 1):
        for v in range(bounds[ch], bounds[ch + 1]):
            row = dst[v, d_off:d_off + block]        # slices, not dst[v, d_off + j]: LLVM vectorises these
            for j in range(block):
                row[j] = 0.0
            for k in range(np.uint64(o_ptr[v]), np.uint64(o_ptr[v + 1])):
                other = src[np.uint32(o_idx[k]), s_off:s_off + block]
                w = np.float32(o_w[k]) if has_w else np.float32(1.0)
                for j in range(block):
                    row[j] += w * other[j]
            for k in range(np.uint64(i_ptr[v]), np.uint64(i_ptr[v + 1])):
                other = src[np.uint32(i_idx[k]), s_off:s_off + block]
                w = np.float32(i_w[k]) if has_w else np.float32(1.0)
                for j in range(block):
                    row[j] += w * other[j]
            s = inv_strength[v]
            t = np.float32(0.0)
            for j in range(block):
                x = row[j] * s
                row[j] = x
                t += x * x
            if norms:
                sq[v] += t


@jit(parallel=True)
def _combine(home, h_off, a, inv_a, z, z_off, b, inv_b, scale_home, block):
    """Row-wise ``home[v] = (a * inv_a[v] if scale_home else 1) * home[v] + b * inv_b[v] * z[v]`` on the
    ``block`` columns from ``h_off`` of ``home`` and ``z_off`` of ``z``."""
    n = inv_b.shape[0]
    for v in prange(n):
        fa = np.float32(a * inv_a[v]) if scale_home else np.float32(1.0)
        fb = np.float32(b * inv_b[v])
        row = home[v, h_off:h_off + block]
        other = z[v, z_off:z_off + block]
        for j in range(block):
            row[j] = fa * row[j] + fb * other[j]


def _warmup():
    indptr = readonly_copy(np.array([0, 1, 2, 2], dtype=np.int64))
    indices = readonly_copy(np.array([1, 0], dtype=np.int32))
    w = readonly_copy(np.ones(2, dtype=np.float64))
    keys = np.arange(3, dtype=np.uint64)
    scale = np.ones(3)
    buf = np.zeros((3, WIDTH), dtype=np.float32)
    out = np.zeros((3, 2 * WIDTH), dtype=np.float32)
    sq = np.zeros(3, dtype=np.float32)
    bounds = np.array([0, 3], dtype=np.int64)
    _projection(keys, np.uint64(1), 0, 4, 3.0, scale, buf, 0, WIDTH)
    _projection_norms(keys, np.uint64(1), 4, 3.0)
    for has_w in (True, False):
        for norms in (True, False):
            _propagate(indptr, indices, w, indptr, indices, w, has_w, sq, bounds, buf, 0, out, WIDTH, sq, norms,
                       WIDTH)
    for scale_home in (True, False):
        _combine(out, 0, 1.0, sq, buf, 0, 1.0, sq, scale_home, WIDTH)
