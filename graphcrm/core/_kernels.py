"""numba kernels of the core: id factorisation and CSR/CSC construction.

Kernels take arrays and scalars only; validation and id mapping live in the
callers (:mod:`graphcrm.core.builder`, :mod:`graphcrm.core.graph`).

Construction is two stable counting sorts (by target, then by source), so each
CSR row comes out sorted by column without a comparison sort, in O(E + n)
time and with one temporary copy of the edges.  Duplicates then sit next to
each other and are aggregated in place.
"""

from __future__ import annotations

import numpy as np

from graphcrm.core.numba_config import jit

# aggregation codes (see graphcrm.core.layers.AGGREGATIONS)
AGG_SUM = 0
AGG_MEAN = 1
AGG_MAX = 2
AGG_MIN = 3

_EMPTY_F64 = np.empty(0, dtype=np.float64)


@jit
def _hash_slot(key, mask):
    # Fibonacci hashing of the 64-bit key
    h = np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)
    return np.int64((h >> np.uint64(20)) ^ h) & mask


class FactorizeState:
    """Hash-table state carried between calls of :func:`_factorize_chunk`.

    Lets a column that arrives in chunks (pyarrow's parse) be factorised
    without first concatenating it.
    """

    __slots__ = ("table_keys", "table_vals", "uniques", "n_unique")

    def __init__(self):
        self.table_keys = np.empty(1024, dtype=np.int64)
        self.table_vals = np.full(1024, -1, dtype=np.int32)
        self.uniques = np.empty(1024, dtype=np.int64)
        self.n_unique = 0

    def feed(self, keys, codes_out):
        """Factorise ``keys`` into ``codes_out`` (same length), updating the table."""
        self.table_keys, self.table_vals, self.uniques, self.n_unique = _factorize_chunk(
            keys, codes_out, self.table_keys, self.table_vals, self.uniques, self.n_unique)

    def distinct(self):
        """Distinct keys in first-seen order."""
        return self.uniques[: self.n_unique].copy()


@jit
def _factorize_chunk(keys, codes, table_keys, table_vals, uniques, n_unique):
    """Open-addressing hash factorisation of one chunk; returns the updated state.

    The table doubles when half full; memory is about 24-48 bytes per
    *distinct* key, independent of how large the keys are.
    """
    cap = table_keys.shape[0]
    mask = cap - 1
    for i in range(keys.shape[0]):
        key = keys[i]
        slot = _hash_slot(key, mask)
        while True:
            val = table_vals[slot]
            if val == -1:
                if n_unique == uniques.shape[0]:
                    grown = np.empty(uniques.shape[0] * 2, dtype=np.int64)
                    grown[:n_unique] = uniques[:n_unique]
                    uniques = grown
                uniques[n_unique] = key
                table_keys[slot] = key
                table_vals[slot] = n_unique
                codes[i] = n_unique
                n_unique += 1
                if 2 * n_unique > cap:  # keep the load factor at or below 1/2
                    cap *= 2
                    mask = cap - 1
                    table_keys = np.empty(cap, dtype=np.int64)
                    table_vals = np.full(cap, -1, dtype=np.int32)
                    for j in range(n_unique):
                        s = _hash_slot(uniques[j], mask)
                        while table_vals[s] != -1:
                            s = (s + 1) & mask
                        table_keys[s] = uniques[j]
                        table_vals[s] = j
                break
            if table_keys[slot] == key:
                codes[i] = val
                break
            slot = (slot + 1) & mask
    return table_keys, table_vals, uniques, n_unique


def _factorize_int64(keys):
    """First-seen ``int32`` codes of ``keys`` and the distinct keys in first-seen order."""
    state = FactorizeState()
    codes = np.empty(len(keys), dtype=np.int32)
    state.feed(np.ascontiguousarray(keys, dtype=np.int64), codes)
    return codes, state.distinct()


@jit
def _merge_unique(a, b):
    """Sorted union of two sorted arrays of distinct values (linear merge)."""
    out = np.empty(a.shape[0] + b.shape[0], dtype=a.dtype)
    i = j = k = 0
    while i < a.shape[0] and j < b.shape[0]:
        if a[i] < b[j]:
            out[k] = a[i]
            i += 1
        elif b[j] < a[i]:
            out[k] = b[j]
            j += 1
        else:
            out[k] = a[i]
            i += 1
            j += 1
        k += 1
    while i < a.shape[0]:
        out[k] = a[i]
        i += 1
        k += 1
    while j < b.shape[0]:
        out[k] = b[j]
        j += 1
        k += 1
    return out[:k].copy()


@jit
def _rank_in(sorted_values, order, universe):
    """``rank[order[i]]`` = position of ``sorted_values[i]`` in the sorted ``universe`` (a superset)."""
    rank = np.empty(sorted_values.shape[0], dtype=np.int32)
    j = 0
    for i in range(sorted_values.shape[0]):
        while universe[j] != sorted_values[i]:
            j += 1
        rank[order[i]] = j
    return rank


@jit
def _remap_codes(codes, new_of_old):
    """In place: ``codes[i] = new_of_old[codes[i]]``."""
    for i in range(codes.shape[0]):
        codes[i] = new_of_old[codes[i]]
    return codes


@jit
def _sorted_sum(values):
    # summing in sorted order makes a float sum independent of input order
    s = np.sort(values)
    total = 0.0
    for v in s:
        total += v
    return total


@jit
def _build_layer(n, src, dst, weights, has_weights, aggregate, keep_self_loops):
    """Build deduplicated CSR (out-edges) and CSC (in-edges) arrays.

    Parameters
    ----------
    n : int
        Number of nodes.
    src, dst : int32 arrays
        Dense ids of the edge ends (influence direction).
    weights : float64 array
        Edge weights, ignored when ``has_weights`` is false.
    aggregate : int
        How duplicate edges combine (AGG_*).
    keep_self_loops : bool
        Drop ``u -> u`` edges when false.

    Returns
    -------
    out_indptr, out_indices, out_weights, in_indptr, in_indices, in_weights,
    n_duplicates, n_self_loops
    """
    m = src.shape[0]
    # pass 1: counting sort by target -> temporary in-lists holding sources
    in_count = np.zeros(n + 1, dtype=np.int64)
    n_self = 0
    for e in range(m):
        if src[e] == dst[e]:
            n_self += 1
            if not keep_self_loops:
                continue
        in_count[dst[e] + 1] += 1
    for v in range(n):
        in_count[v + 1] += in_count[v]
    kept = in_count[n]
    tmp_src = np.empty(kept, dtype=np.int32)
    tmp_w = np.empty(kept if has_weights else 0, dtype=np.float64)
    fill = in_count[:-1].copy()
    for e in range(m):
        if src[e] == dst[e] and not keep_self_loops:
            continue
        pos = fill[dst[e]]
        tmp_src[pos] = src[e]
        if has_weights:
            tmp_w[pos] = weights[e]
        fill[dst[e]] = pos + 1
    # pass 2: counting sort by source, scanning targets in order -> sorted rows
    out_indptr = np.zeros(n + 1, dtype=np.int64)
    for k in range(kept):
        out_indptr[tmp_src[k] + 1] += 1
    for u in range(n):
        out_indptr[u + 1] += out_indptr[u]
    out_indices = np.empty(kept, dtype=np.int32)
    out_w = np.empty(kept if has_weights else 0, dtype=np.float64)
    fill = out_indptr[:-1].copy()
    for v in range(n):
        for k in range(in_count[v], in_count[v + 1]):
            u = tmp_src[k]
            pos = fill[u]
            out_indices[pos] = v
            if has_weights:
                out_w[pos] = tmp_w[k]
            fill[u] = pos + 1
    # pass 3: aggregate duplicates (adjacent within each sorted row), compacting
    write = 0
    start = 0
    for u in range(n):
        end = out_indptr[u + 1]
        k = start
        while k < end:
            j = out_indices[k]
            g_end = k + 1
            while g_end < end and out_indices[g_end] == j:
                g_end += 1
            out_indices[write] = j
            if has_weights:
                size = g_end - k
                if size == 1:
                    val = out_w[k]
                elif aggregate == AGG_SUM:
                    val = _sorted_sum(out_w[k:g_end])
                elif aggregate == AGG_MEAN:
                    val = _sorted_sum(out_w[k:g_end]) / size
                elif aggregate == AGG_MAX:
                    val = out_w[k:g_end].max()
                else:
                    val = out_w[k:g_end].min()
                out_w[write] = val
            write += 1
            k = g_end
        start = end
        out_indptr[u + 1] = write
    n_dup = kept - write
    out_indices = out_indices[:write].copy()
    if has_weights:
        out_w = out_w[:write].copy()
    in_indptr, in_indices, in_w = _transpose(n, out_indptr, out_indices, out_w, has_weights)
    return out_indptr, out_indices, out_w, in_indptr, in_indices, in_w, n_dup, n_self


@jit
def _transpose(n, indptr, indices, weights, has_weights):
    """CSR of the transpose; rows of the result come out sorted."""
    m = indices.shape[0]
    t_indptr = np.zeros(n + 1, dtype=np.int64)
    for k in range(m):
        t_indptr[indices[k] + 1] += 1
    for v in range(n):
        t_indptr[v + 1] += t_indptr[v]
    t_indices = np.empty(m, dtype=np.int32)
    t_w = np.empty(m if has_weights else 0, dtype=np.float64)
    fill = t_indptr[:-1].copy()
    for u in range(n):
        for k in range(indptr[u], indptr[u + 1]):
            v = indices[k]
            pos = fill[v]
            t_indices[pos] = u
            if has_weights:
                t_w[pos] = weights[k]
            fill[v] = pos + 1
    return t_indptr, t_indices, t_w


@jit
def _induced_subgraph(indptr, indices, weights, has_weights, new_id):
    """Keep edges whose both ends have ``new_id >= 0``; relabel them."""
    n_new = 0
    for i in range(new_id.shape[0]):
        if new_id[i] >= 0:
            n_new += 1
    sub_indptr = np.zeros(n_new + 1, dtype=np.int64)
    m = 0
    for u in range(new_id.shape[0]):
        nu = new_id[u]
        if nu < 0:
            continue
        for k in range(indptr[u], indptr[u + 1]):
            if new_id[indices[k]] >= 0:
                m += 1
        sub_indptr[nu + 1] = m
    sub_indices = np.empty(m, dtype=np.int32)
    sub_w = np.empty(m if has_weights else 0, dtype=np.float64)
    pos = 0
    for u in range(new_id.shape[0]):
        if new_id[u] < 0:
            continue
        for k in range(indptr[u], indptr[u + 1]):
            nv = new_id[indices[k]]
            if nv >= 0:
                sub_indices[pos] = nv
                if has_weights:
                    sub_w[pos] = weights[k]
                pos += 1
    return sub_indptr, sub_indices, sub_w


@jit
def _decayed_values(times, values, reference_time, half_life):
    """``values * 0.5 ** ((reference_time - times) / half_life)``."""
    out = np.empty(times.shape[0], dtype=np.float64)
    inv = 1.0 / half_life
    for i in range(times.shape[0]):
        age = reference_time - times[i]
        out[i] = values[i] * 0.5 ** (age * inv)
    return out


def _warmup():
    src = np.array([0, 1, 1, 2], dtype=np.int32)
    dst = np.array([1, 2, 2, 2], dtype=np.int32)
    w = np.ones(4, dtype=np.float64)
    for has_w in (True, False):
        ip, ix, wt, *_ = _build_layer(3, src, dst, w if has_w else _EMPTY_F64, has_w, AGG_SUM, False)
        _induced_subgraph(ip, ix, wt, has_w, np.array([0, -1, 1], dtype=np.int32))
    codes, uniq = _factorize_int64(np.array([5, 3, 5], dtype=np.int64))
    _remap_codes(codes, np.array([1, 0], dtype=np.int32))
    universe = _merge_unique(np.array([3, 5], dtype=np.int64), np.array([4, 5], dtype=np.int64))
    _rank_in(np.array([3, 5], dtype=np.int64), np.array([1, 0], dtype=np.int64), universe)
    _decayed_values(np.array([0, 10], dtype=np.int64), w[:2], 10, 5.0)
