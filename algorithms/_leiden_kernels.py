"""Parallel Leiden kernels: undirected simple CSR, batched local moving, refinement, aggregation, modularity.

Determinism: nodes are visited in a seeded order, in batches; every node of a
batch chooses its best community from the state at the start of the batch
(in parallel), then the batch's moves are applied in visiting order.  A
node's choice therefore depends only on the seed and the graph, never on the
number of threads or on how the batch was split among them.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from graphcrm.algorithms._centrality_kernels import _balanced_bounds, _n_chunks
from graphcrm.loaders.numba_config import jit, readonly_copy


@jit(parallel=True)
def _undirected_csr(out_indptr, out_indices, out_w, in_indptr, in_indices, in_w, has_w):
    """The undirected simple graph of a layer: ``(indptr, indices, weights)``, rows sorted, no self-loops.

    Row ``v`` merges ``v``'s out-row and in-row (both sorted by neighbour); a
    tie present in both directions weighs the sum of both weights (1 when
    ``has_w`` is false).
    """
    n = out_indptr.shape[0] - 1
    counts = np.zeros(n + 1, dtype=np.int64)
    no_idx = np.empty(0, dtype=np.int32)
    no_w = np.empty(0, dtype=np.float64)
    for v in prange(n):
        counts[v + 1] = _merge_row(v, out_indptr, out_indices, out_w, in_indptr, in_indices, in_w, has_w,
                                   no_idx, no_w, 0, False)
    indptr = np.cumsum(counts)
    indices = np.empty(indptr[n], dtype=np.int32)
    weights = np.empty(indptr[n], dtype=np.float64)
    for v in prange(n):
        _merge_row(v, out_indptr, out_indices, out_w, in_indptr, in_indices, in_w, has_w, indices, weights,
                   indptr[v], True)
    return indptr, indices, weights


@jit
def _merge_row(v, oi, ox, ow, ii, ix, iw, has_w, dst_idx, dst_w, start, write):
    """Merge the sorted out- and in-rows of ``v``; returns the number of distinct neighbours (written if ``write``)."""
    a, a_end, b, b_end = oi[v], oi[v + 1], ii[v], ii[v + 1]
    count = 0
    while a < a_end or b < b_end:
        if b >= b_end or (a < a_end and ox[a] < ix[b]):
            u = ox[a]
            w = ow[a] if has_w else 1.0
            a += 1
        elif a >= a_end or ix[b] < ox[a]:
            u = ix[b]
            w = iw[b] if has_w else 1.0
            b += 1
        else:                                   # both directions: one tie
            u = ox[a]
            w = (ow[a] + iw[b]) if has_w else 1.0
            a += 1
            b += 1
        if u == v:
            continue
        if write:
            dst_idx[start + count] = u
            dst_w[start + count] = w
        count += 1
    return count


@jit(parallel=True)
def _strengths(indptr, weights):
    n = indptr.shape[0] - 1
    k = np.zeros(n, dtype=np.float64)
    for v in prange(n):
        s = 0.0
        for e in range(np.uint64(indptr[v]), np.uint64(indptr[v + 1])):
            s += weights[e]
        k[v] = s
    return k


# batches smaller than this decide on one thread (the decisions are the same)
_PARALLEL_BATCH = 256


@jit(parallel=True)
def _local_moving(indptr, indices, weights, k, comm, order, m2, gamma, batch, max_sweeps, min_moves, n_workers):
    """Louvain local moving from the partition ``comm`` (updated in place); returns (sweeps, moves).

    ``k``: strength of each node (an aggregated node's internal ties
    included).  A node moves to the neighbouring community with the largest
    modularity gain ``w(v, C) - gamma k_v tot_C / m2`` if that beats staying
    (ties: stay, else the smaller community id).  Only nodes with a neighbour
    that moved since they were last looked at are looked at again (vertex
    pruning): the rest would make the same choice.
    """
    n = indptr.shape[0] - 1
    tot = np.zeros(n, dtype=np.float64)
    members = np.zeros(n, dtype=np.int64)
    for v in range(n):
        tot[comm[v]] += k[v]
        members[comm[v]] += 1
    best = np.empty(max(batch, 1), dtype=np.int32)
    active = np.ones(n, dtype=np.uint8)
    movers = np.empty(max(batch, 1), dtype=np.int32)
    # per worker: position of each community in the worker's list of neighbouring communities (-1: absent)
    pos = np.full((n_workers, n), -1, dtype=np.int32)
    found = np.empty((n_workers, n), dtype=np.int32)
    found_w = np.empty((n_workers, n), dtype=np.float64)
    sweeps = 0
    moves = 0
    for sweep in range(max_sweeps):
        sweeps += 1
        moved = 0
        for b0 in range(0, n, batch):
            b1 = min(n, b0 + batch)
            if b1 - b0 < _PARALLEL_BATCH:       # small batches: plain sequential Louvain, each move seen at once
                for j in range(b0, b1):
                    v = order[j]
                    c = _decide(v, indptr, indices, weights, k, comm, tot, m2, gamma, active, pos[0], found[0],
                                found_w[0])
                    if c != comm[v]:
                        _move(v, c, comm, tot, members, k)
                        _wake_neighbours(v, indptr, indices, active)
                        moved += 1
                continue
            size = b1 - b0
            for w in prange(n_workers):
                for j in range(b0 + size * w // n_workers, b0 + size * (w + 1) // n_workers):
                    v = order[j]
                    best[j - b0] = _decide(v, indptr, indices, weights, k, comm, tot, m2, gamma, active,
                                      pos[w], found[w], found_w[w])
            n_movers = 0
            for j in range(b0, b1):
                v = order[j]
                c = best[j - b0]          # indexed by position: each thread writes its own stretch
                if c == comm[v]:
                    continue
                # two lone nodes of one batch choosing each other would swap forever: only the smaller label joins
                if members[comm[v]] == 1 and members[c] == 1 and c > comm[v]:
                    active[v] = 1
                    continue
                _move(v, c, comm, tot, members, k)
                movers[n_movers] = v
                n_movers += 1
            moved += n_movers
            for i in prange(n_movers):      # every writer writes 1: the result does not depend on the threads
                _wake_neighbours(movers[i], indptr, indices, active)
        moves += moved
        if moved <= min_moves:
            break
    return sweeps, moves


@jit
def _move(v, c, comm, tot, members, k):
    old = comm[v]
    tot[old] -= k[v]
    tot[c] += k[v]
    members[old] -= 1
    members[c] += 1
    comm[v] = c


@jit
def _wake_neighbours(v, indptr, indices, active):
    for e in range(np.uint64(indptr[v]), np.uint64(indptr[v + 1])):
        u = np.uint32(indices[e])
        if active[u] == 0:      # read first: threads then write a shared cache line only when it changes
            active[u] = 1


@jit
def _decide(v, indptr, indices, weights, k, comm, tot, m2, gamma, active, pos, found, found_w):
    """``v``'s best community (its own if it is not active or nothing beats staying)."""
    own = comm[v]
    if active[v] == 0:
        return own
    active[v] = 0
    n_found = 0
    w_own = 0.0
    for e in range(np.uint64(indptr[v]), np.uint64(indptr[v + 1])):
        c = comm[np.uint32(indices[e])]
        if c == own:
            w_own += weights[e]
            continue
        # sparse accumulator, written out here and in _refine_node: as a shared helper it measured 2-5x slower
        p = pos[c]
        if p < 0:
            p = n_found
            pos[c] = p
            found[p] = c
            found_w[p] = 0.0
            n_found += 1
        found_w[p] += weights[e]
    kv = k[v]
    scale = gamma * kv / m2
    best_c = own
    best_gain = w_own - scale * (tot[own] - kv)
    for i in range(n_found):
        c = found[i]
        pos[c] = -1
        gain = found_w[i] - scale * tot[c]
        if gain > best_gain or (gain == best_gain and best_c != own and c < best_c):
            best_gain = gain
            best_c = c
    return best_c


@jit(parallel=True)
def _refine(indptr, indices, weights, k, comm, order, m2, gamma, n_workers):
    """Leiden's refinement, greedy: split each community of ``comm`` into well-merged sub-communities.

    Every node starts alone; visited in ``order``, a node that is still alone
    joins the sub-community of its own community with the largest positive
    modularity gain, if any (Traag et al. 2019 draw among the positive ones
    at random; the greedy choice is the limit of small randomness).  Returns
    each node's sub-community (labelled by one of its members).

    Communities never interact here, so each worker refines its own share of
    them (about equal numbers of ties), all walking the same visiting order
    and skipping the other workers' nodes: every community sees its members
    in the same order whatever the number of threads, so the result is the
    same, and the walk keeps the visiting order's memory locality (refining
    community by community measured slower).  ``comm`` must be renumbered
    ``0..C-1``.
    """
    n = indptr.shape[0] - 1
    n_comm = 0
    for v in range(n):
        n_comm = max(n_comm, comm[v] + 1)
    work = np.zeros(n_comm, dtype=np.int64)
    for v in range(n):
        work[comm[v]] += indptr[v + 1] - indptr[v] + 1
    owner = np.empty(n_comm, dtype=np.int32)
    load = np.zeros(n_workers, dtype=np.int64)
    for c in range(n_comm):                  # each community to the least loaded worker so far
        w = 0
        for x in range(1, n_workers):
            if load[x] < load[w]:
                w = x
        owner[c] = w
        load[w] += work[c]
    sub = np.arange(n, dtype=np.int32)
    tot = k.copy()
    alone = np.ones(n, dtype=np.uint8)
    pos = np.full((n_workers, n), -1, dtype=np.int32)
    found = np.empty((n_workers, n), dtype=np.int32)
    found_w = np.empty((n_workers, n), dtype=np.float64)
    for w in prange(n_workers):
        for j in range(n):
            v = order[j]
            if owner[comm[v]] == w:
                _refine_node(v, indptr, indices, weights, k, comm, sub, tot, alone, m2, gamma, pos[w], found[w],
                             found_w[w])
    return sub


@jit
def _balanced_split(start, parts):
    """Community ranges with about equal numbers of nodes each (``start``: cumulative community sizes)."""
    n_comm = start.shape[0] - 1
    bounds = np.empty(parts + 1, dtype=np.int64)
    bounds[0] = 0
    c = 0
    for p in range(1, parts):
        target = start[n_comm] * p // parts
        while c < n_comm and start[c] < target:
            c += 1
        bounds[p] = c
    bounds[parts] = n_comm
    return bounds


@jit
def _refine_node(v, indptr, indices, weights, k, comm, sub, tot, alone, m2, gamma, pos, found, found_w):
    if alone[v] == 0:
        return
    own = comm[v]
    n_found = 0
    for e in range(np.uint64(indptr[v]), np.uint64(indptr[v + 1])):
        u = np.uint32(indices[e])
        if comm[u] != own or u == v:
            continue
        s = sub[u]
        p = pos[s]
        if p < 0:
            p = n_found
            pos[s] = p
            found[p] = s
            found_w[p] = 0.0
            n_found += 1
        found_w[p] += weights[e]
    kv = k[v]
    scale = gamma * kv / m2
    best_s = sub[v]
    best_gain = 0.0
    for i in range(n_found):
        s = found[i]
        pos[s] = -1
        if s == sub[v]:
            continue
        gain = found_w[i] - scale * tot[s]
        if gain > best_gain or (gain == best_gain and gain > 0.0 and s < best_s):
            best_gain = gain
            best_s = s
    if best_s != sub[v]:
        tot[sub[v]] -= kv
        tot[best_s] += kv
        sub[v] = best_s
        alone[v] = 0
        alone[best_s] = 0      # the sub-community's first member (its label) is no longer alone either


@jit
def _renumber(comm):
    """Community labels ``0..C-1`` in order of first appearance; returns (labels, C)."""
    n = comm.shape[0]
    new_id = np.full(n, -1, dtype=np.int32)
    out = np.empty(n, dtype=np.int32)
    c_count = 0
    for v in range(n):
        c = comm[v]
        if new_id[c] < 0:
            new_id[c] = c_count
            c_count += 1
        out[v] = new_id[c]
    return out, c_count


@jit(parallel=True)
def _aggregate(indptr, indices, weights, comm, n_comm, n_workers):
    """The graph of communities: CSR without self-loops (a community's strength carries its inner ties).

    ``comm`` must be renumbered ``0..n_comm-1``.  Rows list neighbouring
    communities in order of first appearance over the members (in node
    order).  One pass over the ties writes each community's row into a slot
    as long as its members' degrees, then the rows are moved together; the
    returned arrays may be views of buffers as long as ``indices``.
    """
    n = indptr.shape[0] - 1
    start = np.zeros(n_comm + 1, dtype=np.int64)     # members of each community, in node order
    slot = np.zeros(n_comm + 1, dtype=np.int64)      # where each community's row may be written
    for v in range(n):
        start[comm[v] + 1] += 1
        slot[comm[v] + 1] += indptr[v + 1] - indptr[v]
    for c in range(n_comm):
        start[c + 1] += start[c]
        slot[c + 1] += slot[c]
    members = np.empty(n, dtype=np.int32)
    fill = start[:-1].copy()
    for v in range(n):
        members[fill[comm[v]]] = v
        fill[comm[v]] += 1
    new_indices = np.empty(slot[n_comm], dtype=np.int32)
    new_weights = np.empty(slot[n_comm], dtype=np.float64)
    lengths = np.zeros(n_comm, dtype=np.int64)
    pos = np.full((n_workers, n_comm), -1, dtype=np.int64)
    bounds = _balanced_split(slot, n_workers)
    for w in prange(n_workers):
        for c in range(bounds[w], bounds[w + 1]):
            row = slot[c]
            nxt = row
            for i in range(start[c], start[c + 1]):
                v = members[i]
                for e in range(np.uint64(indptr[v]), np.uint64(indptr[v + 1])):
                    d = comm[np.uint32(indices[e])]
                    if d == c:
                        continue
                    p = pos[w, d]
                    if p < row:                   # first time in this row (earlier rows sit lower)
                        p = nxt
                        pos[w, d] = p
                        new_indices[p] = d
                        new_weights[p] = 0.0
                        nxt += 1
                    new_weights[p] += weights[e]
            lengths[c] = nxt - row
    new_indptr = np.zeros(n_comm + 1, dtype=np.int64)
    for c in range(n_comm):            # move the rows together, in order (each moves left or stays)
        dst = new_indptr[c]
        src = slot[c]
        for i in range(lengths[c]):
            new_indices[dst + i] = new_indices[src + i]
            new_weights[dst + i] = new_weights[src + i]
        new_indptr[c + 1] = dst + lengths[c]
    total = new_indptr[n_comm]
    return new_indptr, new_indices[:total], new_weights[:total]


@jit(parallel=True)
def _modularity(indptr, indices, weights, comm, gamma):
    """Newman's modularity (resolution ``gamma``) of ``comm`` on an undirected CSR (both arcs stored).

    The ties inside communities are summed in parallel over fixed ranges of
    rows (a function of the graph only), then added in range order: the same
    value whatever the number of threads.
    """
    n = indptr.shape[0] - 1
    k = _strengths(indptr, weights)
    tot = np.zeros(n, dtype=np.float64)
    m2 = 0.0
    for v in range(n):
        tot[comm[v]] += k[v]
        m2 += k[v]
    if m2 == 0.0:
        return 0.0
    bounds = _balanced_bounds(indptr, _n_chunks(n))
    part = np.zeros(bounds.shape[0] - 1, dtype=np.float64)
    for ch in prange(bounds.shape[0] - 1):
        s = 0.0
        for v in range(bounds[ch], bounds[ch + 1]):
            c = comm[v]
            for e in range(np.uint64(indptr[v]), np.uint64(indptr[v + 1])):
                if comm[np.uint32(indices[e])] == c:
                    s += weights[e]
        part[ch] = s
    inside = 0.0
    for ch in range(part.shape[0]):
        inside += part[ch]
    q = inside / m2
    for c in range(n):
        q -= gamma * (tot[c] / m2) ** 2
    return q


def _warmup():
    oi = readonly_copy(np.array([0, 1, 2, 2], dtype=np.int64))
    ox = readonly_copy(np.array([1, 2], dtype=np.int32))
    ii = readonly_copy(np.array([0, 0, 1, 2], dtype=np.int64))
    ix = readonly_copy(np.array([0, 1], dtype=np.int32))
    w = readonly_copy(np.array([1.0, 2.0]))
    for has_w in (False, True):
        indptr, indices, weights = _undirected_csr(oi, ox, w, ii, ix, w, has_w)
    k = _strengths(indptr, weights)
    comm = np.arange(3, dtype=np.int32)
    for batch in (1, 512):
        _local_moving(indptr, indices, weights, k, comm, np.arange(3, dtype=np.int64), k.sum(), 1.0, batch, 4, 0, 2)
    labels, c = _renumber(comm)
    _refine(indptr, indices, weights, k, labels, np.arange(3, dtype=np.int64), k.sum(), 1.0, 2)
    _aggregate(indptr, indices, weights, labels, c, 2)
    _modularity(indptr, indices, weights, labels, 1.0)
