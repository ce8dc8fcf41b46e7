"""numba kernels of the snapshot merge (:mod:`graphcrm.loaders.merge`): stored CSR rows + a day's CSR rows.

Both inputs are deduplicated CSR with sorted rows.  The stored rows are in the stored version's numbering,
the day's in the day's own; both numberings map into the new one by monotone functions (accounts are
numbered by sorted external id, so new accounts slot in between), so every mapped row stays sorted and two
rows merge in one linear pass.
"""

from __future__ import annotations

import numpy as np

from graphcrm.loaders.numba_config import jit, readonly_copy

# aggregation codes, as graphcrm.loaders._kernels.AGG_* (mean never reaches a merge)
AGG_SUM = 0
AGG_MAX = 2
AGG_MIN = 3

#: below this every integer is a float64 exactly, so sums of integers are exact whatever their order
EXACT_INT = 2.0 ** 53


@jit
def _old_to_new(x, q):
    """The new index of stored index ``x``: ``x`` plus the new accounts inserted at or before it."""
    return x + np.searchsorted(q, x, side="right")


@jit
def _merge_rows(r0, r1, i0, j0, d0, d1, o_ptr, o_idx, o_w, o_has_w, q, new_pos, d_ptr, d_idx, d_w, d_has_w,
                d_to_new, aggregate, has_w):
    """Merged rows ``r0 .. r1 - 1`` of the new numbering.

    Parameters
    ----------
    r0, r1 : int
        New row range.
    i0 : int
        The stored row that is new row ``r0`` or the first after it.
    j0 : int
        The first entry of ``new_pos`` at or after ``r0``.
    d0, d1 : int
        The day's rows falling in ``[r0, r1)``.
    o_ptr : int64 array
        Stored indptr of rows ``i0 .. i0 + len(o_ptr) - 1`` (absolute offsets; ``o_idx``/``o_w`` start at
        ``o_ptr[0]``).
    q : int64 array
        Sorted stored-numbering insertion points of the new accounts.
    new_pos : int64 array
        Sorted new indices of the new accounts (``q + arange``).
    d_ptr, d_idx, d_w : the day's CSR (its own numbering); ``d_to_new`` maps its indices.
    aggregate : int
        AGG_SUM, AGG_MAX or AGG_MIN.
    has_w : bool
        Write weights (ones stand in for a side without them).

    Returns
    -------
    counts : int64 array (entries per new row), indices : int32, weights : float64, inexact : int
        ``inexact`` counts summed pairs whose float sum might depend on the order of the rows (a value not
        an integer, or too large): the caller then rebuilds instead.
    """
    base = o_ptr[0]
    cap = (o_ptr[o_ptr.shape[0] - 1] - base) + (d_ptr[d1] - d_ptr[d0])
    counts = np.zeros(r1 - r0, dtype=np.int64)
    out_idx = np.empty(cap, dtype=np.int32)
    out_w = np.empty(cap if has_w else 0, dtype=np.float64)
    n_new = new_pos.shape[0]
    i, j, d = i0, j0, d0
    pos = 0
    inexact = 0
    for r in range(r0, r1):
        a = b = 0
        if j < n_new and new_pos[j] == r:
            j += 1
        else:
            a = o_ptr[i - i0] - base
            b = o_ptr[i - i0 + 1] - base
            i += 1
        c = e = 0
        if d < d1 and d_to_new[d] == r:
            c = d_ptr[d]
            e = d_ptr[d + 1]
            d += 1
        start = pos
        while a < b or c < e:
            x = _old_to_new(o_idx[a], q) if a < b else np.int64(2**62)
            y = d_to_new[d_idx[c]] if c < e else np.int64(2**62)
            if x < y:
                out_idx[pos] = x
                if has_w:
                    out_w[pos] = o_w[a] if o_has_w else 1.0
                a += 1
            elif y < x:
                out_idx[pos] = y
                if has_w:
                    out_w[pos] = d_w[c] if d_has_w else 1.0
                c += 1
            else:
                out_idx[pos] = x
                if has_w:
                    u = o_w[a] if o_has_w else 1.0
                    v = d_w[c] if d_has_w else 1.0
                    if aggregate == AGG_SUM:
                        if u != np.floor(u) or v != np.floor(v) or abs(u) + abs(v) >= EXACT_INT:
                            inexact += 1
                        out_w[pos] = u + v
                    elif aggregate == AGG_MAX:
                        out_w[pos] = max(u, v)
                    else:
                        out_w[pos] = min(u, v)
                a += 1
                c += 1
            pos += 1
        counts[r - r0] = pos - start
    return counts, out_idx[:pos], out_w[:pos] if has_w else out_w, inexact


def _warmup():
    o_ptr = np.array([0, 1, 2], dtype=np.int64)
    o_idx = np.array([1, 0], dtype=np.int32)
    w = np.array([1.0, 2.0])
    q = np.array([1], dtype=np.int64)
    new_pos = q + np.arange(1)
    d_ptr = np.array([0, 1, 1], dtype=np.int64)
    d_idx = np.array([1], dtype=np.int32)
    d_to_new = np.array([0, 1], dtype=np.int64)
    for prep in (lambda a: a, readonly_copy):      # the day's arrays are a built Layer's: read-only
        for has_w in (True, False):
            _merge_rows(0, 3, 0, 0, 0, 2, o_ptr, o_idx, w, has_w, q, new_pos, prep(d_ptr), prep(d_idx),
                        prep(w[:1]), has_w, d_to_new, AGG_SUM, has_w)
