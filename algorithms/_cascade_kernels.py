"""numba kernels of :mod:`graphcrm.algorithms.cascades`: earliest-arrival search over time-ordered events, capped,
and HyperLogLog sketches of time-respecting reach for the accounts past the cap."""

from __future__ import annotations

import numpy as np
from numba import prange

from graphcrm.loaders.numba_config import jit


@jit
def _first_at_or_after(time, lo, hi, t):
    """First index in ``[lo, hi)`` with ``time >= t`` (times ascending there)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if time[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@jit
def _reach_from(s, indptr, dst, time, arrival, stack, touched, cap, max_pushes):
    """Accounts reached from ``s`` by time-respecting chains; -1 past ``cap`` accounts (or ``max_pushes`` pushes:
    the caller passes events + 1, which a search never needs).

    ``arrival`` is all ``never`` on entry and on return (only the touched entries are reset).
    """
    never = np.iinfo(np.int64).max
    arrival[s] = np.iinfo(np.int64).min
    n_touched = 1
    touched[0] = s
    top = 1
    pushes = 1
    stack[0] = s
    over = False
    while top > 0 and not over:
        top -= 1
        u = stack[top]
        t_u = arrival[u]
        lo = indptr[u] if u == s else _first_at_or_after(time, indptr[u], indptr[u + 1], t_u)
        for k in range(lo, indptr[u + 1]):
            t = time[k]
            v = dst[k]
            if t < arrival[v]:              # an earlier arrival can pass content on to more events
                if arrival[v] == never:
                    if n_touched > cap:
                        over = True
                        break
                    touched[n_touched] = v
                    n_touched += 1
                arrival[v] = t
                if pushes >= max_pushes:
                    over = True
                    break
                stack[top] = v
                top += 1
                pushes += 1
    for j in range(n_touched):
        arrival[touched[j]] = never
    return -1 if over else n_touched - 1


@jit(parallel=True)
def _capped_reach(indptr, dst, time, n, starts, cap, max_pushes, n_chunks):
    """Exact reach of each start up to ``cap`` accounts (-1 past it); starts split into ``n_chunks`` parts run in
    parallel, each with its own scratch arrays (the result does not depend on the number of threads)."""
    out = np.empty(len(starts), dtype=np.int64)
    bounds = np.linspace(0, len(starts), n_chunks + 1).astype(np.int64)
    for c in prange(n_chunks):
        arrival = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        stack = np.empty(max_pushes + 1, dtype=np.int64)
        touched = np.empty(cap + 2, dtype=np.int64)
        for i in range(bounds[c], bounds[c + 1]):
            out[i] = _reach_from(starts[i], indptr, dst, time, arrival, stack, touched, cap, max_pushes)
    return out


@jit
def _hll_ranks(keys, p):
    """Register (low ``p`` bits) and rank (1 + leading zeros of the other ``64 - p`` bits) of each 64-bit key."""
    j = np.empty(len(keys), dtype=np.int64)
    rho = np.empty(len(keys), dtype=np.uint8)
    bits = 64 - p
    for i in range(len(keys)):
        h = keys[i]
        j[i] = np.int64(h & np.uint64((1 << p) - 1))
        w = h >> np.uint64(p)
        r = 1
        top = np.uint64(1) << np.uint64(bits - 1)
        while r <= bits and (w & top) == 0:
            r += 1
            w = w << np.uint64(1)
        rho[i] = r
    return j, rho


@jit
def _hll_merge(regs, a, b, j, rho):
    """``regs[a] |= regs[b] + {the account of register j, rank rho}``; whether ``regs[a]`` changed (branch-free
    inner loop: it vectorises)."""
    ra = regs[a]
    rb = regs[b]
    diff = np.uint8(0)
    for r in range(ra.shape[0]):
        x = ra[r]
        y = max(x, rb[r])
        diff |= x ^ y
        ra[r] = y
    if rho > ra[j]:
        ra[j] = rho
        diff = np.uint8(1)
    return diff != 0


@jit
def _hll_reach_sketches(src, dst, time, own_j, own_rho, regs):
    """Sketch, for each account, the accounts its time-respecting chains reach: events in *decreasing* time,
    ``u -> v`` at ``t`` adds ``v`` and everything ``v``'s sketch holds (chains from ``v`` at ``t`` or later, the
    events already seen).  Events of one timestamp are swept again until nothing changes when one of them
    starts where another ends (a chain may use several events of the same second).  ``src, dst, time`` sorted
    by time (ascending); ids compact."""
    m = len(time)
    mark = np.full(regs.shape[0], -1, dtype=np.int64)      # group (its last index) whose events end here
    hi = m
    while hi > 0:
        lo = hi - 1
        while lo > 0 and time[lo - 1] == time[hi - 1]:
            lo -= 1
        chained = False
        if hi - lo > 1:
            for k in range(lo, hi):
                mark[dst[k]] = hi
            for k in range(lo, hi):
                if mark[src[k]] == hi:
                    chained = True
                    break
        changed = True
        while changed:
            changed = False
            for k in range(hi - 1, lo - 1, -1):
                v = dst[k]
                if _hll_merge(regs, src[k], v, own_j[v], own_rho[v]):
                    changed = True
            if not chained:
                break
        hi = lo


@jit
def _hll_estimates(regs, rows):
    """HyperLogLog estimate (Flajolet et al. 2007, linear counting below 2.5 m) of each listed row's count."""
    m = regs.shape[1]
    alpha = 0.7213 / (1.0 + 1.079 / m)
    out = np.empty(len(rows), dtype=np.float64)
    for i in range(len(rows)):
        r = regs[rows[i]]
        total = 0.0
        zeros = 0
        for j in range(m):
            total += 2.0 ** (-np.float64(r[j]))
            if r[j] == 0:
                zeros += 1
        e = alpha * m * m / total
        if e <= 2.5 * m and zeros > 0:
            e = m * np.log(m / zeros)
        out[i] = e
    return out


def _warmup():
    indptr = np.array([0, 1, 1], dtype=np.int64)
    one = np.array([1], dtype=np.int64)
    _capped_reach(indptr, one, np.array([5], dtype=np.int64), 2, np.array([0, 1], dtype=np.int64), 4, 16, 2)
    regs = np.zeros((2, 16), dtype=np.uint8)
    _hll_reach_sketches(np.array([0], dtype=np.int64), one, np.array([5], dtype=np.int64),
                        np.array([0, 3], dtype=np.int64), np.array([1, 2], dtype=np.uint8), regs)
    _hll_estimates(regs, np.array([0], dtype=np.int64))
    _hll_ranks(np.array([7, 1 << 40], dtype=np.uint64), 4)
