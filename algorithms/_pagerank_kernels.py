"""numba kernels for PageRank by power iteration on a reduced system.

Every iterate equals plain power iteration's (Jacobi, pulling along in-edges,
dangling mass to the teleport distribution), but most of the work on social
layers is not repeated each iteration.  Nodes fall into four classes:

``C`` (core)
    has in-edges and out-strength: iterated row by row, the only class that
    is gathered from.
``D`` (dangling)
    has in-edges, no out-strength: nothing reads its value except the
    dangling mass, which is an inner product over ``C`` (``omega``), so its
    rows are summed only when the stopping test needs the exact change and
    once at the end.
``Z`` (no in-edges) and ``I`` (no edges that carry mass)
    after the first step every such node holds ``teleport[v] * c`` with
    ``c = (1 - damping) + damping * dangling_mass``: one scalar per iteration.
    A core row's edges from ``Z`` are summed once into ``zs`` (this is the
    reordering of Langville & Meyer, "A reordering for the PageRank problem",
    SIAM J. Sci. Comput. 2006, applied inside the iteration).

On the higgs retweet layer 89% of the edges end at a dangling node; on
wiki-Vote 44% start at a node without in-edges.  Core nodes are renumbered
``0..n_core-1`` in node order, so the gathered vector is compact and rows stay
sorted.  Where little would be removed (the R-MAT graphs: about 2% of the
edges) the layer is iterated as stored instead, since building the reduced
rows costs about as much as several iterations there.

The stopping test is the plain iteration's: the L1 change over *all* nodes.
The change on ``D`` is bracketed by a lower bound (the change of its total)
and an upper bound (``omega``-weighted change of the core); only when the two
straddle the tolerance are the dangling rows summed.  Reductions run over a
fixed number of chunks in a fixed order, so results do not depend on the
number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from graphcrm.algorithms._centrality_kernels import _balanced_bounds, _gather_sum, _gather_wsum, _n_chunks
from graphcrm.algorithms._centrality_kernels import _pagerank as _plain_pagerank
from graphcrm.loaders.numba_config import jit, readonly_copy

CORE, DANGLING, NO_IN, NO_MASS = 0, 1, 2, 3


@jit
def _classify(pull_indptr, inv_strength):
    """Class of each node, and each core / dangling node's row in its class (node order).

    Returns
    -------
    cls : int8 array, row_of : int64 array (-1 for the other classes), n_core, n_dangling
    """
    n = inv_strength.shape[0]
    cls = np.empty(n, dtype=np.int8)
    row_of = np.full(n, -1, dtype=np.int64)
    n_core = 0
    n_dang = 0
    for v in range(n):
        if pull_indptr[v + 1] > pull_indptr[v]:
            if inv_strength[v] > 0.0:
                cls[v] = CORE
                row_of[v] = n_core
                n_core += 1
            else:
                cls[v] = DANGLING
                row_of[v] = n_dang
                n_dang += 1
        else:
            cls[v] = NO_IN if inv_strength[v] > 0.0 else NO_MASS
    return cls, row_of, n_core, n_dang


@jit(parallel=True)
def _reduce(pull_indptr, pull_indices, weights, has_weights, inv_strength, teleport, uniform, uniform_p, cls, row_of,
            n_core, n_dang):
    """Core rows and dangling rows (node order) keeping only core sources, renumbered to their core rows
    (a monotone map: rows stay sorted); sums over no-in-edge sources.

    Two passes over the pull rows, both parallel and without a data-dependent branch: the first
    counts each row's core sources and sums ``inv * w`` over its no-in-edge sources (``inv`` is 0 for
    every other source, so the sums run in the order of the sources, as a push along their out-edges
    would); the second copies the core sources.  With unsigned indexing this beat pushing the sums
    along the out-edges of the no-in-edge sources (serial scatters): wiki-Vote 210 -> 173 us, higgs
    mentions 4.9 -> 2.9 ms.

    Returns
    -------
    core (indptr, indices, weights), dangling (indptr, indices, weights), and per row of each:
    zs0 (sum of ``inv * w`` over no-in-edge sources) and zs (the same, each term times the source's
    teleport probability)
    """
    n = cls.shape[0]
    core_row = np.full(n, -1, dtype=np.int32)    # core row of a core node, else -1
    zinv = np.zeros(n, dtype=np.float64)          # 1 / out-strength of a no-in-edge source, else 0
    for u in range(n):
        if cls[u] == CORE:
            core_row[u] = row_of[u]
        elif cls[u] == NO_IN:
            zinv[u] = inv_strength[u]
    c_counts = np.zeros(n_core + 1, dtype=np.int64)
    d_counts = np.zeros(n_dang + 1, dtype=np.int64)
    c_zs0 = np.empty(n_core, dtype=np.float64)
    c_zs = np.empty(n_core, dtype=np.float64)
    d_zs0 = np.empty(n_dang, dtype=np.float64)
    d_zs = np.empty(n_dang, dtype=np.float64)
    for v in prange(n):
        r = row_of[v]
        if r < 0:
            continue
        cnt = 0
        s0 = 0.0
        s1 = 0.0
        for k in range(np.uint64(pull_indptr[v]), np.uint64(pull_indptr[v + 1])):
            u = np.uint32(pull_indices[k])
            cnt += 1 + (core_row[u] >> 31)               # 1 for a core source, 0 for -1: no branch
            t = zinv[u] * (weights[k] if has_weights else 1.0)
            s0 += t
            if not uniform:
                s1 += t * teleport[u]
        zs = s0 * uniform_p if uniform else s1
        if cls[v] == CORE:
            c_counts[r + 1] = cnt
            c_zs0[r] = s0
            c_zs[r] = zs
        else:
            d_counts[r + 1] = cnt
            d_zs0[r] = s0
            d_zs[r] = zs
    c_indptr = np.cumsum(c_counts)
    d_indptr = np.cumsum(d_counts)
    c_indices = np.empty(c_indptr[n_core], dtype=np.int32)
    d_indices = np.empty(d_indptr[n_dang], dtype=np.int32)
    c_w = np.empty(c_indptr[n_core] if has_weights else 0, dtype=np.float64)
    d_w = np.empty(d_indptr[n_dang] if has_weights else 0, dtype=np.float64)
    for v in prange(n):
        r = row_of[v]
        if r < 0:
            continue
        if cls[v] == CORE:
            _compact_row(pull_indptr[v], pull_indptr[v + 1], pull_indices, weights, has_weights, core_row,
                         c_indptr[r], c_indptr[r + 1], c_indices, c_w)
        else:
            _compact_row(pull_indptr[v], pull_indptr[v + 1], pull_indices, weights, has_weights, core_row,
                         d_indptr[r], d_indptr[r + 1], d_indices, d_w)
    return c_indptr, c_indices, c_w, d_indptr, d_indices, d_w, c_zs0, c_zs, d_zs0, d_zs


@jit
def _compact_row(lo, hi, pull_indices, weights, has_weights, core_row, start, end, out, out_w):
    """Copy the core sources of one row to ``out[start:end]`` without a branch per source.

    Every source is written at the current slot, which only advances past a core source; a non-core
    source's write is overwritten by the next core one, and none is written once the row is full.
    """
    j = start
    for k in range(np.uint64(lo), np.uint64(hi)):
        cr = core_row[np.uint32(pull_indices[k])]
        if j < end:
            out[j] = cr
            if has_weights:
                out_w[j] = weights[k]
        j += 1 + (cr >> 31)


@jit
def _omega(d_indptr, d_indices, d_w, has_weights, n_core):
    """``omega[r]``: weight from core row ``r`` to dangling nodes (the dangling rows, scattered)."""
    omega = np.zeros(n_core, dtype=np.float64)
    for k in range(d_indptr[d_indptr.shape[0] - 1]):
        omega[d_indices[k]] += d_w[k] if has_weights else 1.0
    return omega


@jit(parallel=True)
def _core_step(bounds, indptr, indices, weights, has_weights, contrib, x, contrib_next, inv, omega,
               zm, zs, dangling, tp, uniform, uniform_p, damping, part):
    """One Jacobi step on the core rows: ``x`` updated in place, ``contrib_next = x * inv``.

    ``part[ch]`` gets (L1 change, sum of contrib_next * omega, sum of |contrib_next - contrib| * omega).
    """
    for ch in prange(bounds.shape[0] - 1):
        e = 0.0
        a = 0.0
        b = 0.0
        for r in range(bounds[ch], bounds[ch + 1]):
            if has_weights:
                acc = _gather_wsum(contrib, indices, weights, indptr[r], indptr[r + 1])
            else:
                acc = _gather_sum(contrib, indices, indptr[r], indptr[r + 1])
            t = uniform_p if uniform else tp[r]
            nv = damping * (acc + zm * zs[r] + dangling * t) + (1.0 - damping) * t
            e += abs(nv - x[r])
            x[r] = nv
            cn = nv * inv[r]
            a += cn * omega[r]
            b += abs(cn - contrib[r]) * omega[r]
            contrib_next[r] = cn
        part[ch, 0] = e
        part[ch, 1] = a
        part[ch, 2] = b


@jit(parallel=True)
def _dangling_step(bounds, indptr, indices, weights, has_weights, contrib, zm, zs, dangling, tp, uniform,
                   uniform_p, damping, out, old_contrib, old_zm, old_zs, old_dangling, old_is_start, x_start,
                   want_change, part):
    """Values of the dangling rows from ``contrib`` into ``out``; with ``want_change``, ``part[ch]`` gets
    the L1 change against the values of the previous iterate (``old_*``, or ``x_start``)."""
    for ch in prange(bounds.shape[0] - 1):
        e = 0.0
        for r in range(bounds[ch], bounds[ch + 1]):
            old = 0.0
            if has_weights:
                acc = _gather_wsum(contrib, indices, weights, indptr[r], indptr[r + 1])
                if want_change and not old_is_start:
                    old = _gather_wsum(old_contrib, indices, weights, indptr[r], indptr[r + 1])
            else:
                acc = _gather_sum(contrib, indices, indptr[r], indptr[r + 1])
                if want_change and not old_is_start:
                    old = _gather_sum(old_contrib, indices, indptr[r], indptr[r + 1])
            t = uniform_p if uniform else tp[r]
            nv = damping * (acc + zm * zs[r] + dangling * t) + (1.0 - damping) * t
            out[r] = nv
            if want_change:
                if old_is_start:
                    ov = x_start
                else:
                    ov = damping * (old + old_zm * old_zs[r] + old_dangling * t) + (1.0 - damping) * t
                e += abs(nv - ov)
        part[ch] = e


@jit
def _sum_col(a, col):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i, col]
    return s


@jit
def _sum(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s


@jit
def _power_iteration(c_indptr, c_indices, c_w, d_indptr, d_indices, d_w, has_weights, inv, omega,
                     c_zs0, c_zs, d_zs0, d_zs, c_tp, d_tp, uniform, uniform_p, t_no_in, t_no_mass, n_no_mass,
                     flat_change0, damping, tol, max_iter, x_start):
    """Power iteration on the reduced system (see the module docstring).

    Parameters
    ----------
    c_indptr, c_indices, c_w : core rows (node order), core sources only (as core rows).
    d_indptr, d_indices, d_w : dangling rows, the same way.
    inv, omega : per core row, 1 / out-strength and the weight into dangling nodes.
    c_zs0, c_zs, d_zs0, d_zs : per row, the sum over no-in-edge sources of ``inv * w`` (first step,
        every node at ``x_start``) and of ``inv * w * teleport`` (later steps).
    c_tp, d_tp : teleport probability per row (unused if ``uniform``; then it is ``uniform_p``).
    t_no_in, t_no_mass : teleport mass of the no-in-edge class and of the no-mass class.
    n_no_mass : nodes in the no-mass class (dangling at the start).
    flat_change0 : L1 change of the no-in-edge and no-mass classes in the first step.
    damping, tol, max_iter, x_start : as in plain power iteration (start: every node ``x_start``).

    Returns
    -------
    core values, dangling values, c (a no-in / no-mass node v holds ``teleport[v] * c``), iterations,
    converged, last change
    """
    n_core = inv.shape[0]
    n_dang = d_indptr.shape[0] - 1
    chunks = _n_chunks(max(n_core + n_dang, 1))
    c_bounds = _balanced_bounds(c_indptr, chunks)
    d_bounds = _balanced_bounds(d_indptr, chunks)
    part = np.zeros((chunks, 3), dtype=np.float64)
    dpart = np.zeros(chunks, dtype=np.float64)
    x = np.full(n_core, x_start)
    bufs = np.empty((3, n_core), dtype=np.float64)    # contributions x * inv of the core rows
    cur, prev, nxt = 0, 1, 2
    a = 0.0                                    # sum over core of contrib^k * omega
    for r in range(n_core):
        bufs[cur, r] = x_start * inv[r]
        a += x_start * inv[r] * omega[r]
    b = 0.0                                    # sum over core of |contrib^k - contrib^(k-1)| * omega
    d_out = np.empty(n_dang, dtype=np.float64)
    t_dang = uniform_p * n_dang if uniform else _sum(d_tp)
    s0_dang = _sum(d_zs0)
    s_dang = _sum(d_zs)
    mass_d = x_start * n_dang                  # mass of the dangling class at step k
    dangling = mass_d + x_start * n_no_mass    # all dangling mass at step k
    zm, c_zk, d_zk, s_d = x_start, c_zs0, d_zs0, s0_dang   # no-in-edge sources add zm * zk[row] to a row
    old_zm, old_d_zk, old_dangling = 0.0, d_zs0, 0.0
    c = 0.0
    c_prev = 0.0
    err = np.inf
    iterations = max_iter
    converged = False
    d_fresh = False
    for it in range(max_iter):
        _core_step(c_bounds, c_indptr, c_indices, c_w, has_weights, bufs[cur], x, bufs[nxt], inv,
                   omega, zm, c_zk, dangling, c_tp, uniform, uniform_p, damping, part)
        c = (1.0 - damping) + damping * dangling
        known = _sum_col(part, 0) + (flat_change0 if it == 0 else abs(c - c_prev) * (t_no_in + t_no_mass))
        mass_d_next = damping * (a + zm * s_d + dangling * t_dang) + (1.0 - damping) * t_dang
        exact = it <= 1
        err_d = 0.0
        if not exact:
            upper = damping * (b + abs(zm - old_zm) * s_d + abs(dangling - old_dangling) * t_dang)
            lower = abs(mass_d_next - mass_d)
            if known + upper < tol:
                err_d = upper
            elif known + lower >= tol:
                err_d = lower
            else:
                exact = True
        d_fresh = exact and n_dang > 0
        if d_fresh:
            _dangling_step(d_bounds, d_indptr, d_indices, d_w, has_weights, bufs[cur], zm, d_zk, dangling, d_tp,
                           uniform, uniform_p, damping, d_out, bufs[prev], old_zm, old_d_zk, old_dangling,
                           it == 0, x_start, True, dpart)
            err_d = _sum(dpart)
        err = known + err_d
        # step k -> k + 1
        old_zm, old_d_zk, old_dangling = zm, d_zk, dangling
        zm, c_zk, d_zk, s_d = c, c_zs, d_zs, s_dang
        mass_d = mass_d_next
        dangling = mass_d + c * t_no_mass
        c_prev = c
        a = _sum_col(part, 1)
        b = _sum_col(part, 2)
        cur, prev, nxt = nxt, cur, prev
        if err < tol:
            iterations = it + 1
            converged = True
            break
    if not d_fresh and n_dang > 0:
        # the last iterate's dangling rows: from contrib^k (now bufs[prev]) and step k's scalars
        _dangling_step(d_bounds, d_indptr, d_indices, d_w, has_weights, bufs[prev], old_zm, old_d_zk,
                       old_dangling, d_tp, uniform, uniform_p, damping, d_out, bufs[prev], 0.0, d_zs0, 0.0,
                       False, x_start, False, dpart)
    return x, d_out, c, iterations, converged, err


@jit
def _inv_strength(out_indptr, out_weights, has_weights):
    """1 / out-strength (sum of out-edge weights, or out-degree) of each node; 0 where it is 0."""
    n = out_indptr.shape[0] - 1
    inv = np.zeros(n, dtype=np.float64)
    for u in range(n):
        s = 0.0
        if has_weights:
            for k in range(out_indptr[u], out_indptr[u + 1]):
                s += out_weights[k]
        else:
            s = float(out_indptr[u + 1] - out_indptr[u])
        if s > 0.0:
            inv[u] = 1.0 / s
    return inv


@jit
def _reduce_pays(pull_indptr, out_indptr, cls, reduce_min_share):
    """Whether the reduced system removes at least ``reduce_min_share`` of the edges (edges from accounts
    without in-edges and into dangling accounts) or of the accounts (no edge that carries mass)."""
    n = cls.shape[0]
    removable = 0
    n_no_mass = 0
    for v in range(n):
        if cls[v] == DANGLING:
            removable += pull_indptr[v + 1] - pull_indptr[v]
        elif cls[v] == NO_IN:
            removable += out_indptr[v + 1] - out_indptr[v]
        elif cls[v] == NO_MASS:
            n_no_mass += 1
    return not (removable < reduce_min_share * pull_indptr[n] and n_no_mass < reduce_min_share * n)


@jit
def reduce_pays(pull_indptr, out_indptr, inv, reduce_min_share):
    """:func:`pagerank`'s choice: True where it iterates the reduced system, False where the layer as
    stored (``inv``: 1 / out-strength per node, see :func:`_inv_strength`)."""
    cls, _, _, _ = _classify(pull_indptr, inv)
    return _reduce_pays(pull_indptr, out_indptr, cls, reduce_min_share)


@jit
def pagerank(pull_indptr, pull_indices, pull_weights, out_indptr, out_weights, has_weights, teleport,
             uniform, damping, tol, max_iter, reduce_min_share, low_until):
    """PageRank of every node by power iteration, from the start vector ``1 / n`` everywhere.

    One compiled entry point: a single call does all the set-up (a cold process pays per call into
    compiled code and per NumPy operation, which dominated small graphs).

    Parameters
    ----------
    pull_indptr, pull_indices, pull_weights : CSR of the in-edges of the walk (row ``v`` lists ``u -> v``).
    out_indptr, out_weights : the out-edge offsets and weights of the walk (for out-strengths).
    has_weights : bool
    teleport : teleport (= dangling) distribution; ``uniform`` means it is ``1 / n`` everywhere.
    damping, tol, max_iter : stop when the L1 change of one iteration is below ``tol``.
    reduce_min_share : below this share of removable edges (and of accounts without edges), iterate the
        layer as stored instead of building the reduced system.
    low_until : on the layer as stored, gather float32 contributions while the L1 change is at least
        this (``inf``: never; see ``_centrality_kernels._pagerank``).

    Returns
    -------
    scores, iterations, converged, last change
    """
    n = teleport.shape[0]
    p = 1.0 / n
    inv = _inv_strength(out_indptr, out_weights, has_weights)
    cls, row_of, n_core, n_dang = _classify(pull_indptr, inv)
    n_no_mass = 0
    for v in range(n):
        if cls[v] == NO_MASS:
            n_no_mass += 1
    if not _reduce_pays(pull_indptr, out_indptr, cls, reduce_min_share):
        x, _, iterations, converged, err = _plain_pagerank(
            pull_indptr, pull_indices, pull_weights, has_weights, inv, teleport, uniform, p, np.empty(0),
            damping, tol, max_iter, p, low_until)
        return x, iterations, converged, err
    (c_indptr, c_indices, c_w, d_indptr, d_indices, d_w, c_zs0, c_zs, d_zs0,
     d_zs) = _reduce(pull_indptr, pull_indices, pull_weights, has_weights, inv, teleport, uniform, p, cls, row_of,
                     n_core, n_dang)
    omega = _omega(d_indptr, d_indices, d_w, has_weights, n_core)
    core_inv = np.empty(n_core, dtype=np.float64)
    c_tp = np.empty(n_core if not uniform else 0, dtype=np.float64)
    d_tp = np.empty(n_dang if not uniform else 0, dtype=np.float64)
    t_no_in = 0.0
    t_no_mass = 0.0
    c0 = (1.0 - damping) + damping * p * (n_dang + n_no_mass)      # every node starts at p
    flat_change0 = 0.0
    for v in range(n):
        r = row_of[v]
        c = cls[v]
        if c == CORE:
            core_inv[r] = inv[v]
            if not uniform:
                c_tp[r] = teleport[v]
        elif c == DANGLING:
            if not uniform:
                d_tp[r] = teleport[v]
        else:
            if c == NO_IN:
                t_no_in += teleport[v]
            else:
                t_no_mass += teleport[v]
            flat_change0 += abs(teleport[v] * c0 - p)
    x_core, x_dang, c, iterations, converged, err = _power_iteration(
        c_indptr, c_indices, c_w, d_indptr, d_indices, d_w, has_weights, core_inv, omega, c_zs0, c_zs, d_zs0,
        d_zs, c_tp, d_tp, uniform, p, t_no_in, t_no_mass, n_no_mass, flat_change0, damping, tol, max_iter, p)
    x = np.empty(n, dtype=np.float64)
    for v in range(n):
        r = row_of[v]
        if cls[v] == CORE:
            x[v] = x_core[r]
        elif cls[v] == DANGLING:
            x[v] = x_dang[r]
        else:
            x[v] = teleport[v] * c
    return x, iterations, converged, err


@jit(parallel=True)
def pagerank_from(pull_indptr, pull_indices, pull_weights, out_indptr, out_weights, has_weights, teleport,
                  x0, damping, tol, max_iter):
    """PageRank by plain power iteration from the start vector ``x0`` (a warm start).

    The same iteration and stopping test as :func:`pagerank` (Jacobi steps pulling along in-edges,
    dangling mass to ``teleport``, stop when the L1 change of one step is below ``tol``), so it reaches the
    same fixed point; from a start near it (yesterday's scores) it needs fewer steps.  Reductions run over
    a fixed number of chunks in a fixed order: results do not depend on the number of threads.

    Returns
    -------
    scores, iterations, converged, last change
    """
    n = teleport.shape[0]
    inv = _inv_strength(out_indptr, out_weights, has_weights)
    chunks = _n_chunks(n)
    bounds = _balanced_bounds(pull_indptr, chunks)
    x = x0.copy()
    new = np.empty(n, dtype=np.float64)
    contrib = np.empty(n, dtype=np.float64)
    dangling = 0.0
    for v in range(n):
        contrib[v] = x[v] * inv[v]
        if inv[v] == 0.0:
            dangling += x[v]
    err_part = np.zeros(chunks, dtype=np.float64)
    dang_part = np.zeros(chunks, dtype=np.float64)
    err = np.inf
    iterations = 0
    for it in range(max_iter):
        for ch in prange(chunks):
            e = 0.0
            d = 0.0
            for v in range(bounds[ch], bounds[ch + 1]):
                if has_weights:
                    acc = _gather_wsum(contrib, pull_indices, pull_weights, pull_indptr[v], pull_indptr[v + 1])
                else:
                    acc = _gather_sum(contrib, pull_indices, pull_indptr[v], pull_indptr[v + 1])
                tp = teleport[v]
                nv = damping * (acc + dangling * tp) + (1.0 - damping) * tp
                new[v] = nv
                e += abs(nv - x[v])
                if inv[v] == 0.0:
                    d += nv
            err_part[ch] = e
            dang_part[ch] = d
        err = 0.0
        dangling = 0.0
        for ch in range(chunks):
            err += err_part[ch]
            dangling += dang_part[ch]
        for v in prange(n):
            x[v] = new[v]
            contrib[v] = new[v] * inv[v]
        iterations = it + 1
        if err < tol:
            return x, iterations, True, err
    return x, iterations, False, err


def _warmup():
    # graph arrays are read-only (numba types them apart from writable ones): compile for those
    indptr = readonly_copy(np.array([0, 1, 2, 2, 3], dtype=np.int64))
    indices = readonly_copy(np.array([1, 0, 1], dtype=np.int32))
    out_indptr = readonly_copy(np.array([0, 1, 3, 3, 3], dtype=np.int64))
    w = readonly_copy(np.ones(3, dtype=np.float64))
    p = np.full(4, 0.25)
    for has_w in (True, False):
        weights = w if has_w else np.empty(0)
        for uniform in (True, False):
            for share in (0.0, 1.0):
                pagerank(indptr, indices, weights, out_indptr, weights, has_w, p, uniform, 0.85, 1e-10,
                         5, share, np.inf if share else 1e-5)
        pagerank_from(indptr, indices, weights, out_indptr, weights, has_w, p, p, 0.85, 1e-10, 5)
        reduce_pays(indptr, out_indptr, _inv_strength(out_indptr, weights, has_w), 0.1)
