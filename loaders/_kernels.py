"""numba kernels of the core: id factorisation and CSR/CSC construction.

Kernels take arrays and scalars only; validation and id mapping live in the
callers (:mod:`graphcrm.loaders.builder`, :mod:`graphcrm.loaders.graph`).

Construction is stable counting sorts (by target, then by source), so each
CSR row comes out sorted by column without a comparison sort, in O(E + n)
time and with one temporary copy of the edges.  Duplicates then sit next to
each other and are aggregated in place.  The sorts run in parallel chunks and
give the same arrays whatever the number of threads.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from graphcrm.loaders.numba_config import jit, readonly_copy

# aggregation codes (see graphcrm.loaders.layers.AGGREGATIONS)
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


@jit(parallel=True)
def _remap_codes(codes, new_of_old):
    """In place: ``codes[i] = new_of_old[codes[i]]``."""
    for i in prange(codes.shape[0]):
        codes[i] = new_of_old[codes[i]]
    return codes


# Direct-address id mapping (integer ids whose span is not much larger than the number of rows).  The
# per-chunk kernels are serial and release the GIL: the builder runs them on its two threads, one share of
# the chunks each (pyarrow hands a column over in hundreds of ~1 MiB chunks; a parallel launch per chunk
# would cost more than the work).
@jit
def _min_max(keys):
    """``(min, max)`` of a non-empty int64 array."""
    lo = hi = keys[0]
    for i in range(keys.shape[0]):
        k = keys[i]
        if k < lo:
            lo = k
        if k > hi:
            hi = k
    return lo, hi


@jit
def _mark_present(keys, low, marks):
    """``marks[k - low] = 1`` for every key (two threads may write the same 1 to a byte: harmless)."""
    for i in range(keys.shape[0]):
        marks[keys[i] - low] = 1


@jit
def _rank_present(marks, low):
    """Dense ids from the marks of :func:`_mark_present`: ``(table, keys)``.

    ``table[k - low]`` is the rank of key ``k`` among the marked keys, sorted -- its dense id; ``keys`` are
    the marked keys in increasing order.
    """
    count = 0
    for j in range(marks.shape[0]):
        count += marks[j]
    keys = np.empty(count, dtype=np.int64)
    table = np.empty(marks.shape[0], dtype=np.int32)
    rank = 0
    for j in range(marks.shape[0]):
        table[j] = rank
        if marks[j]:
            keys[rank] = low + j
            rank += 1
    return table, keys


@jit
def _lookup_dense(keys, low, table, codes):
    """``codes[i] = table[keys[i] - low]``: external integer ids to dense ids through a direct-address table."""
    for i in range(keys.shape[0]):
        codes[i] = table[keys[i] - low]


@jit
def _sorted_sum(values):
    # summing in sorted order makes a float sum independent of input order
    s = np.sort(values)
    total = 0.0
    for v in s:
        total += v
    return total


@jit(parallel=True)
def _chunk_offsets(counts, n_buckets, n_chunks):
    """Turn per-chunk bucket counts into per-chunk write positions; return the bucket indptr.

    Chunk ``c`` writes bucket ``v`` after every earlier chunk, so the scatter
    is stable whatever the number of chunks (and threads).
    """
    indptr = np.zeros(n_buckets + 1, dtype=np.int64)
    for v in prange(n_buckets):
        s = 0
        for c in range(n_chunks):
            s += counts[c, v]
        indptr[v + 1] = s
    for v in range(n_buckets):
        indptr[v + 1] += indptr[v]
    for v in prange(n_buckets):
        run = indptr[v]
        for c in range(n_chunks):
            t = counts[c, v]
            counts[c, v] = run
            run += t
    return indptr


@jit(parallel=True)
def _scatter_flat(keys, values, weights, has_weights, n_buckets, skip_equal, n_chunks):
    """Stable counting sort of ``(values, weights)`` by ``keys``; entries with key == value skipped if asked.

    Returns ``indptr, values_sorted, weights_sorted, n_equal`` (entries with key == value).
    """
    m = keys.shape[0]
    counts = np.zeros((n_chunks, n_buckets), dtype=np.int64)
    equal = np.zeros(n_chunks, dtype=np.int64)
    for c in prange(n_chunks):
        for e in range(m * c // n_chunks, m * (c + 1) // n_chunks):
            if keys[e] == values[e]:
                equal[c] += 1
                if skip_equal:
                    continue
            counts[c, keys[e]] += 1
    indptr = _chunk_offsets(counts, n_buckets, n_chunks)
    total = indptr[n_buckets]
    out_v = np.empty(total, dtype=np.int32)
    out_w = np.empty(total if has_weights else 0, dtype=np.float64)
    for c in prange(n_chunks):
        for e in range(m * c // n_chunks, m * (c + 1) // n_chunks):
            if skip_equal and keys[e] == values[e]:
                continue
            k = keys[e]
            pos = counts[c, k]
            out_v[pos] = values[e]
            if has_weights:
                out_w[pos] = weights[e]
            counts[c, k] = pos + 1
    return indptr, out_v, out_w, equal.sum()


@jit
def _row_chunk_bounds(indptr, n_chunks):
    """Row ranges ``bounds[c]:bounds[c + 1]`` holding about equal numbers of entries."""
    n_rows = indptr.shape[0] - 1
    m = indptr[n_rows]
    bounds = np.empty(n_chunks + 1, dtype=np.int64)
    for c in range(n_chunks + 1):
        bounds[c] = np.searchsorted(indptr, m * c // n_chunks)
    bounds[0] = 0
    bounds[n_chunks] = n_rows
    return bounds


@jit(parallel=True)
def _transpose_chunked(n_buckets, indptr, indices, weights, has_weights, n_chunks):
    """CSR of the transpose (rows of the result come out sorted), by row chunks in parallel."""
    n_rows = indptr.shape[0] - 1
    m = indptr[n_rows]
    bounds = _row_chunk_bounds(indptr, n_chunks)
    counts = np.zeros((n_chunks, n_buckets), dtype=np.int64)
    for c in prange(n_chunks):
        for u in range(bounds[c], bounds[c + 1]):
            for k in range(indptr[u], indptr[u + 1]):
                counts[c, indices[k]] += 1
    t_indptr = _chunk_offsets(counts, n_buckets, n_chunks)
    t_indices = np.empty(m, dtype=np.int32)
    t_w = np.empty(m if has_weights else 0, dtype=np.float64)
    for c in prange(n_chunks):
        for u in range(bounds[c], bounds[c + 1]):
            for k in range(indptr[u], indptr[u + 1]):
                v = indices[k]
                pos = counts[c, v]
                t_indices[pos] = u
                if has_weights:
                    t_w[pos] = weights[k]
                counts[c, v] = pos + 1
    return t_indptr, t_indices, t_w


@jit
def _aggregate(values, aggregate):
    size = values.shape[0]
    if size == 1:
        return values[0]
    if aggregate == AGG_SUM:
        return _sorted_sum(values)
    if aggregate == AGG_MEAN:
        return _sorted_sum(values) / size
    if aggregate == AGG_MAX:
        return values.max()
    return values.min()


@jit(parallel=True)
def _dedup_sorted_rows(indptr, indices, weights, has_weights, aggregate, n_chunks):
    """Merge equal neighbours within each sorted row (in place per chunk, then packed)."""
    n = indptr.shape[0] - 1
    m = indptr[n]
    bounds = _row_chunk_bounds(indptr, n_chunks)
    row_len = np.empty(n, dtype=np.int64)
    kept = np.zeros(n_chunks, dtype=np.int64)
    for c in prange(n_chunks):
        write = indptr[bounds[c]]
        for u in range(bounds[c], bounds[c + 1]):
            k = indptr[u]
            end = indptr[u + 1]
            row_start = write
            while k < end:
                j = indices[k]
                g_end = k + 1
                while g_end < end and indices[g_end] == j:
                    g_end += 1
                if has_weights:
                    val = _aggregate(weights[k:g_end], aggregate)
                    weights[write] = val
                indices[write] = j
                write += 1
                k = g_end
            row_len[u] = write - row_start
        kept[c] = write - indptr[bounds[c]]
    total = kept.sum()
    if total == m:
        return indptr, indices, weights, 0
    new_indptr = np.zeros(n + 1, dtype=np.int64)
    for u in range(n):
        new_indptr[u + 1] = new_indptr[u] + row_len[u]
    out_idx = np.empty(total, dtype=np.int32)
    out_w = np.empty(total if has_weights else 0, dtype=np.float64)
    for c in prange(n_chunks):
        src = indptr[bounds[c]]
        dst = new_indptr[bounds[c]]
        for i in range(kept[c]):
            out_idx[dst + i] = indices[src + i]
            if has_weights:
                out_w[dst + i] = weights[src + i]
    return new_indptr, out_idx, out_w, m - total


def _n_chunks():
    return max(1, numba.get_num_threads())


def _build_layer(n, src, dst, weights, has_weights, aggregate, keep_self_loops):
    """Build deduplicated CSR (out-edges) and CSC (in-edges) arrays.

    Three stable counting sorts (by target; by source, scanning targets in
    order so every row comes out sorted; the final transpose), each split in
    chunks that run in parallel.  The output does not depend on the number of
    threads: chunk ``c`` always writes after chunks ``< c``.

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
    chunks = _n_chunks()
    tmp_indptr, tmp_src, tmp_w, n_self = _scatter_flat(dst, src, weights, has_weights, n, not keep_self_loops,
                                                       chunks)
    out_indptr, out_indices, out_w = _transpose_chunked(n, tmp_indptr, tmp_src, tmp_w, has_weights, chunks)
    del tmp_indptr, tmp_src, tmp_w
    out_indptr, out_indices, out_w, n_dup = _dedup_sorted_rows(out_indptr, out_indices, out_w, has_weights,
                                                               aggregate, chunks)
    in_indptr, in_indices, in_w = _transpose_chunked(n, out_indptr, out_indices, out_w, has_weights, chunks)
    return out_indptr, out_indices, out_w, in_indptr, in_indices, in_w, int(n_dup), int(n_self)


def _transpose(n, indptr, indices, weights, has_weights):
    """CSR of the transpose; rows of the result come out sorted."""
    return _transpose_chunked(n, indptr, indices, weights, has_weights, _n_chunks())


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


@jit
def _parse_plain_ints(offsets, data, out):
    """Parse string ``i`` (``data[offsets[i]:offsets[i + 1]]``) into ``out[i]`` when every string is a plain
    integer -- ``0|-?[1-9][0-9]{0,18}`` within int64 (``-0`` is not one: it stays its own text id) -- and
    return True; False at the first that is not.
    Releases the GIL: the id columns of a file parse on threads side by side."""
    for i in range(out.shape[0]):
        s = offsets[i]
        e = offsets[i + 1]
        neg = e > s and data[s] == 45          # '-'
        if neg:
            s += 1
        n_digits = e - s
        if n_digits < 1 or n_digits > 19 or (n_digits > 1 and data[s] == 48):      # empty, too long, '0' first
            return False
        v = np.uint64(0)
        for k in range(s, e):
            c = np.int64(data[k]) - 48
            if c < 0 or c > 9:
                return False
            v = v * np.uint64(10) + np.uint64(c)
        if neg:
            if v > np.uint64(9223372036854775808) or v == np.uint64(0):
                return False
            out[i] = -np.int64(v - np.uint64(1)) - 1
        else:
            if v > np.uint64(9223372036854775807):
                return False
            out[i] = np.int64(v)
    return True


def _warmup():
    # graph arrays are read-only and numba types them apart from writable ones: compile both
    src = np.array([0, 1, 1, 2], dtype=np.int32)
    dst = np.array([1, 2, 2, 2], dtype=np.int32)
    w = np.ones(4, dtype=np.float64)
    for prep in (lambda a: a, readonly_copy):
        for has_w in (True, False):
            weights = prep(w) if has_w else _EMPTY_F64
            ip, ix, wt, *_ = _build_layer(3, prep(src), prep(dst), weights, has_w, AGG_SUM, False)
            _induced_subgraph(prep(ip), prep(ix), prep(wt), has_w, np.array([0, -1, 1], dtype=np.int32))
        _decayed_values(prep(np.array([0, 10], dtype=np.int64)), prep(w[:2]), 10, 5.0)
    codes, uniq = _factorize_int64(np.array([5, 3, 5], dtype=np.int64))
    _remap_codes(codes, np.array([1, 0], dtype=np.int32))
    universe = _merge_unique(np.array([3, 5], dtype=np.int64), np.array([4, 5], dtype=np.int64))
    _rank_in(np.array([3, 5], dtype=np.int64), np.array([1, 0], dtype=np.int64), universe)
    text = readonly_copy(np.frombuffer(b"12-3", dtype=np.uint8))      # arrow's text buffers are read-only
    for offsets in (np.array([0, 2, 4], dtype=np.int32), np.array([0, 2, 4], dtype=np.int64)):
        _parse_plain_ints(readonly_copy(offsets), text, np.empty(2, dtype=np.int64))
    for prep in (lambda a: a, readonly_copy):      # arrow's integer columns arrive read-only
        keys = prep(np.array([7, 4, 7], dtype=np.int64))
        low, high = _min_max(keys)
        marks = np.zeros(high - low + 1, dtype=np.uint8)
        _mark_present(keys, low, marks)
        table, _ = _rank_present(marks, low)
        _lookup_dense(keys, low, table, np.empty(3, dtype=np.int32))
