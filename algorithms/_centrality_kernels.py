"""numba kernels for influence scores: PageRank, HITS, coreness.

Arrays and scalars in, arrays and scalars out.  Reductions (dangling mass,
convergence error) are summed over a fixed number of chunks in a fixed order,
so results and iteration counts do not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from graphcrm.loaders.numba_config import jit, readonly_copy

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


@jit
def _n_chunks(n):
    """Chunks of a node loop: a function of ``n`` only, so sums never depend on the thread count."""
    return max(1, min(n, max(16, min(1024, n // 4096 + 1))))


@jit
def _balanced_bounds(indptr, chunks):
    """Node ranges with about equal work (edges + nodes) each; depends on the graph only."""
    n = indptr.shape[0] - 1
    total = indptr[n] + n
    bounds = np.empty(chunks + 1, dtype=np.int64)
    lo = 0
    for c in range(chunks + 1):
        goal = total * c // chunks
        while lo < n and indptr[lo] + lo < goal:
            lo += 1
        bounds[c] = lo
    bounds[0] = 0
    bounds[chunks] = n
    return bounds


#: unsigned constants: numba adds an unsigned and a signed integer as float64, so loop steps over
#: unsigned edge positions are unsigned too
_U1 = np.uint64(1)
_U2 = np.uint64(2)


@jit(inline="always")
def _gather_sum(values, indices, lo, hi):
    """``sum(values[indices[lo:hi]])``: the inner loop of a pull iteration.

    Two running sums (a single one waits on each addition's latency when the values are in cache:
    wiki-Vote's core rows 8.1 -> 6.8 us per pass), and unsigned positions and indices, so no access
    pays numba's negative-index check (a branch per access that also blocks unrolling: a pull pass
    over rmat20 13.2 -> 8.6 ms).  Inlined into the caller (numba IR), like a hand-written loop.
    """
    k = np.uint64(lo)
    end = np.uint64(hi)
    a0 = 0.0
    a1 = 0.0
    while k + _U2 <= end:
        a0 += values[np.uint32(indices[k])]
        a1 += values[np.uint32(indices[k + _U1])]
        k += _U2
    if k < end:
        a0 += values[np.uint32(indices[k])]
    return a0 + a1


@jit(inline="always")
def _gather_wsum(values, indices, weights, lo, hi):
    """``sum(values[indices[lo:hi]] * weights[lo:hi])``, the way :func:`_gather_sum` sums."""
    k = np.uint64(lo)
    end = np.uint64(hi)
    a0 = 0.0
    a1 = 0.0
    while k + _U2 <= end:
        a0 += values[np.uint32(indices[k])] * weights[k]
        a1 += values[np.uint32(indices[k + _U1])] * weights[k + _U1]
        k += _U2
    if k < end:
        a0 += values[np.uint32(indices[k])] * weights[k]
    return a0 + a1


@jit(parallel=True)
def _pagerank(indptr, indices, weights, has_weights, inv_strength, teleport, uniform, uniform_p, iso_teleport,
              damping, tol, max_iter, x_start, low_until):
    """Power iteration of PageRank, pulling along in-edges, one fused pass per iteration.

    Nodes without any edge in the layer ("isolated") are not iterated one by
    one: each such node ``v`` always holds ``teleport[v] * c`` with
    ``c = (1 - damping) + damping * dangling_mass`` (after the first step),
    so the class is carried as one scalar -- same result, far less memory
    traffic on a layer that touches few of the graph's accounts.

    Parameters
    ----------
    indptr, indices, weights : CSR of the *in*-edges of the walk graph over the active nodes
        (row ``v`` lists the ``u`` with an edge ``u -> v``).
    inv_strength : float64 array
        1 / (sum of out-edge weights) of each active node; 0 marks a dangling node.
    teleport : float64 array
        Teleport (= dangling) probability of each active node (unused if ``uniform``).
    uniform, uniform_p : bool, float
        Teleport is ``uniform_p`` (1 / total nodes) everywhere.
    iso_teleport : float64 array
        Teleport probability of each isolated node.
    damping, tol, max_iter : float, float, int
        Stop when the L1 change of one iteration (over all nodes) is below ``tol``.
    x_start : float
        Start value of every node (1 / total nodes).
    low_until : float
        While the L1 change is at least this, the contributions are gathered as float32 (half the
        cache footprint of the gathered vector: ~5% less time per PageRank call on a 16M-edge graph);
        everything else, and every step after the first change below it, is float64.  The float32
        rounding moves an iterate by at most ~6e-8 (L1), far below the switch point, and the float64
        steps converge to the same fixed point from there; the run never stops on a float32 step.
        ``inf`` turns this off.

    Returns
    -------
    scores of the active nodes, c (isolated node v scores ``iso_teleport[v] * c``), iterations, converged,
    last_error
    """
    n = inv_strength.shape[0]
    chunks = _n_chunks(n)
    bounds = _balanced_bounds(indptr, chunks)
    x = np.full(n, x_start)
    new = np.empty(n, dtype=np.float64)
    contrib = np.empty(n, dtype=np.float64)
    contrib_next = np.empty(n, dtype=np.float64)
    low = low_until < np.inf
    low_contrib = np.empty(n if low else 0, dtype=np.float32)
    low_next = np.empty(n if low else 0, dtype=np.float32)
    iso_mass = 0.0   # teleport mass of the isolated class
    for v in range(iso_teleport.shape[0]):
        iso_mass += iso_teleport[v]
    dangling = x_start * iso_teleport.shape[0]
    for v in range(n):
        contrib[v] = x[v] * inv_strength[v]
        if low:
            low_contrib[v] = contrib[v]
        if inv_strength[v] == 0.0:
            dangling += x[v]
    err_part = np.zeros(chunks, dtype=np.float64)
    dang_part = np.zeros(chunks, dtype=np.float64)
    c_prev = 0.0
    c = 0.0
    err = np.inf
    for it in range(max_iter):
        for ch in prange(chunks):
            e = 0.0
            d = 0.0
            for v in range(bounds[ch], bounds[ch + 1]):
                if low:
                    if has_weights:
                        acc = _gather_wsum(low_contrib, indices, weights, indptr[v], indptr[v + 1])
                    else:
                        acc = _gather_sum(low_contrib, indices, indptr[v], indptr[v + 1])
                elif has_weights:
                    acc = _gather_wsum(contrib, indices, weights, indptr[v], indptr[v + 1])
                else:
                    acc = _gather_sum(contrib, indices, indptr[v], indptr[v + 1])
                tp = uniform_p if uniform else teleport[v]
                nv = damping * (acc + dangling * tp) + (1.0 - damping) * tp
                new[v] = nv
                e += abs(nv - x[v])
                w = inv_strength[v]
                contrib_next[v] = nv * w
                if low:
                    low_next[v] = nv * w
                if w == 0.0:
                    d += nv
            err_part[ch] = e
            dang_part[ch] = d
        c = (1.0 - damping) + damping * dangling
        if it == 0:
            iso_err = 0.0
            for v in range(iso_teleport.shape[0]):
                iso_err += abs(iso_teleport[v] * c - x_start)
        else:
            iso_err = abs(c - c_prev) * iso_mass
        err = iso_err
        dangling = iso_mass * c
        for ch in range(chunks):
            err += err_part[ch]
            dangling += dang_part[ch]
        c_prev = c
        x, new = new, x
        contrib, contrib_next = contrib_next, contrib
        if low:
            low_contrib, low_next = low_next, low_contrib
            low = err >= low_until
        elif err < tol:
            return x, c, it + 1, True, err
    return x, c, max_iter, False, err


@jit(parallel=True)
def _spmv_pull(indptr, indices, weights, has_weights, x, out):
    """``out[v] = sum over row v of weight * x[index]``."""
    n = indptr.shape[0] - 1
    for v in prange(n):
        if has_weights:
            out[v] = _gather_wsum(x, indices, weights, indptr[v], indptr[v + 1])
        else:
            out[v] = _gather_sum(x, indices, indptr[v], indptr[v + 1])


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


@jit(parallel=True)
def _core_degrees(out_indptr, out_indices, in_indptr, use_out, use_in, check_loops):
    """Degrees for the k-core peeling, self-loops left out (the scan for them reads every edge once,
    so it runs in parallel; ``check_loops=False`` skips it for a layer known to hold none)."""
    n = out_indptr.shape[0] - 1
    # int32 state (node ids and degrees fit): half the bytes to move around in the random-access phase
    deg = np.zeros(n, dtype=np.int32)
    for v in prange(n):
        loops = 0   # a self-loop appears once among the out-edges and once among the in-edges
        if check_loops:
            for k in range(np.uint64(out_indptr[v]), np.uint64(out_indptr[v + 1])):
                loops += out_indices[k] == v
        d = 0
        if use_out:
            d += out_indptr[v + 1] - out_indptr[v] - loops
        if use_in:
            d += in_indptr[v + 1] - in_indptr[v] - loops
        deg[v] = d
    return deg


@jit
def _coreness(out_indptr, out_indices, in_indptr, in_indices, use_out, use_in, check_loops):
    """k-core numbers by level-synchronous peeling (the order of ParK, Dasari et al. 2014; O(n k_max + m)).

    The degree of a node counts its out-edges if ``use_out`` and its
    in-edges if ``use_in`` (both: the total degree of a directed graph, as
    networkx and igraph's ``mode="all"`` count it).  Self-loops are ignored
    (``check_loops=False``: the caller knows there are none).

    Level ``k`` takes every remaining node of degree ``<= k`` and peels it;
    a neighbour whose degree falls to ``k`` joins the same level.  Each edge
    costs one random access (the neighbour's degree), against four in the
    bucket-array algorithm of Batagelj & Zaversnik: 0.6x its time on rmat20.
    The remaining nodes are kept in a compacted list, so a level scans only
    them, and levels with no node are skipped.
    """
    n = out_indptr.shape[0] - 1
    deg = _core_degrees(out_indptr, out_indices, in_indptr, use_out, use_in, check_loops)
    remaining = np.arange(n).astype(np.int32)
    n_remaining = n
    level = np.empty(n, dtype=np.int32)          # the nodes peeled so far, in peeling order
    peeled = np.zeros(n, dtype=np.bool_)
    done = 0
    k = 0
    while done < n:
        # this level's nodes from the remaining ones (compacting the list); the smallest degree left
        start = done
        kept = 0
        low = np.int64(1) << 40
        for i in range(n_remaining):
            v = np.uint32(remaining[i])
            if peeled[v]:
                continue
            if deg[v] <= k:
                level[done] = v
                done += 1
            else:
                remaining[kept] = v
                kept += 1
                low = min(low, deg[v])
        n_remaining = kept
        head = start
        while head < done:
            v = np.uint32(level[head])
            head += 1
            peeled[v] = True
            # removing v lowers the degree of the nodes whose degree counted an edge with v:
            # v's out-neighbours counted it as an in-edge, v's in-neighbours as an out-edge
            if use_in:
                done = _peel(out_indices, out_indptr[v], out_indptr[v + 1], deg, k, level, done)
            if use_out:
                done = _peel(in_indices, in_indptr[v], in_indptr[v + 1], deg, k, level, done)
        k = k + 1 if done > start else max(k + 1, low)
    return deg


@jit
def _peel(nbrs, lo, hi, deg, k, level, done):
    """One less degree for the neighbours ``nbrs[lo:hi]`` above level ``k``; those falling to ``k`` join it."""
    for e in range(np.uint64(lo), np.uint64(hi)):     # unsigned: no negative-index check per access
        u = np.uint32(nbrs[e])
        du = deg[u]
        if du > k:
            du -= 1
            deg[u] = du
            if du == k:
                level[done] = u
                done += 1
    return done


@jit
def _voterank(out_indptr, out_indices, k, avg_degree):
    """VoteRank (Zhang et al. 2016) as networkx computes it on a directed graph.

    Each round every node's score is the summed voting ability of its
    out-neighbours (in influence direction: the people it reaches vote for
    it); the best unselected node is elected, loses its vote, and each of its
    out-neighbours loses ``1 / avg_degree`` of voting ability.  Ties go to the
    lowest dense index.  Returns the elected nodes and their scores.
    """
    n = out_indptr.shape[0] - 1
    ability = np.ones(n, dtype=np.float64)
    score = np.zeros(n, dtype=np.float64)
    elected = np.zeros(n, dtype=np.bool_)
    chosen = np.empty(k, dtype=np.int64)
    votes = np.empty(k, dtype=np.float64)
    count = 0
    for _ in range(k):
        best = -1
        best_score = 0.0
        for u in range(n):
            s = 0.0
            for j in range(out_indptr[u], out_indptr[u + 1]):
                s += ability[out_indices[j]]
            if elected[u]:
                s = 0.0
            score[u] = s
            if best == -1 or s > best_score:
                best = u
                best_score = s
        if best == -1 or best_score == 0.0:
            break
        chosen[count] = best
        votes[count] = best_score
        count += 1
        elected[best] = True
        ability[best] = 0.0
        for j in range(out_indptr[best], out_indptr[best + 1]):
            v = out_indices[j]
            ability[v] = max(ability[v] - 1.0 / avg_degree, 0.0)
    return chosen[:count].copy(), votes[:count].copy()


def _warmup():
    # graph arrays are read-only (numba types them apart from writable ones): compile for those
    indptr = readonly_copy(np.array([0, 1, 2, 2], dtype=np.int64))
    indices = readonly_copy(np.array([1, 0], dtype=np.int32))
    w = readonly_copy(np.ones(2, dtype=np.float64))
    empty = np.empty(0)
    p = np.full(3, 1 / 3)
    strength = np.array([1.0, 1.0, 0.0])
    for has_w in (True, False):
        weights = w if has_w else empty
        for uniform in (True, False):
            for low_until in (np.inf, 0.5):
                _pagerank(indptr, indices, weights, has_w, strength, p, uniform, 1 / 3, p[:1], 0.85, 1e-10, 5,
                          1 / 3, low_until)
        _hits(indptr, indices, weights, indptr, indices, weights, has_w, 1e-10, 5, np.ones(3))
    for check_loops in (True, False):
        _coreness(indptr, indices, indptr, indices, True, True, check_loops)
    _voterank(indptr, indices, 2, 1.0)
