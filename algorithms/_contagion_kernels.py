"""Monte-Carlo kernels for time-stepped epidemics (SIR, SIS) and two competing cascades.

As in :mod:`graphcrm.algorithms._diffusion_kernels`, run ``r`` under seed ``s`` draws
from its own stream ``(s, r)`` and counts are integers, so results do not
depend on the thread count.  Per-run state is O(n) (stamped arrays, never
cleared between runs), never O(m).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from graphcrm.loaders import _rng
from graphcrm.loaders.numba_config import jit

SUSCEPTIBLE, INFECTED, RECOVERED = 0, 1, 2


@jit
def _run_sir(sis, seeds, state, indptr, indices, prob, recovery, max_steps, stamp, status_stamp, status, ever,
             ever_list, current, nxt, prevalence):
    """One SIR / SIS epidemic; returns ``(ever infected, state)``; adds the infected count per step to ``prevalence``.

    Each step every infected account tries each susceptible out-neighbour
    with the edge probability, then recovers with probability ``recovery``
    (SIS: back to susceptible).  ``ever[v] == stamp`` marks accounts ever
    infected; they are listed in ``ever_list[:n_ever]``.
    """
    n_cur = 0
    n_ever = 0
    for s in seeds:
        if status_stamp[s] != stamp or status[s] != INFECTED:
            status_stamp[s] = stamp
            status[s] = INFECTED
            current[n_cur] = s
            n_cur += 1
            if ever[s] != stamp:
                ever[s] = stamp
                ever_list[n_ever] = s
                n_ever += 1
    steps = prevalence.shape[0]
    t = 0
    while n_cur > 0 and t < max_steps:
        prevalence[min(t, steps - 1)] += n_cur
        n_next = 0
        for i in range(n_cur):                       # infections (synchronous: from this step's infected)
            u = current[i]
            for k in range(indptr[u], indptr[u + 1]):
                v = indices[k]
                if status_stamp[v] == stamp and status[v] != SUSCEPTIBLE:
                    continue
                p = prob[k]
                if p <= 0.0:
                    continue
                if p < 1.0:
                    x, state = _rng.next_float(state)
                    if x >= p:
                        continue
                status_stamp[v] = stamp
                status[v] = -1                       # infected from the next step on
                nxt[n_next] = v
                n_next += 1
                if ever[v] != stamp:
                    ever[v] = stamp
                    ever_list[n_ever] = v
                    n_ever += 1
        kept = 0
        for i in range(n_cur):                       # recoveries
            u = current[i]
            x, state = _rng.next_float(state)
            if x < recovery:
                status[u] = SUSCEPTIBLE if sis else RECOVERED
            else:
                current[kept] = u
                kept += 1
        for i in range(n_next):
            v = nxt[i]
            status[v] = INFECTED
            current[kept] = v
            kept += 1
        n_cur = kept
        t += 1
    if n_cur > 0 and t < steps:
        prevalence[min(t, steps - 1)] += n_cur
    return n_ever, state


@jit(parallel=True)
def _simulate_sir(sis, seeds, indptr, indices, prob, recovery, n_runs, seed, first_run, max_steps, n_workers,
                  n_steps):
    """Epidemics ``first_run ..``: ever-infected per run, runs in which each account was ever infected,
    infected accounts per step summed over runs."""
    n = indptr.shape[0] - 1
    sizes = np.zeros(n_runs, dtype=np.int64)
    per_worker = np.zeros((n_workers, n), dtype=np.int64)
    prev_worker = np.zeros((n_workers, n_steps), dtype=np.int64)
    for w in prange(n_workers):
        status_stamp = np.full(n, -1, dtype=np.int64)
        status = np.zeros(n, dtype=np.int8)
        ever = np.full(n, -1, dtype=np.int64)
        ever_list = np.empty(n, dtype=np.int64)
        current = np.empty(n, dtype=np.int64)
        nxt = np.empty(n, dtype=np.int64)
        counts = per_worker[w]
        for r in range(n_runs * w // n_workers, n_runs * (w + 1) // n_workers):
            state = _rng.stream_state(seed, first_run + r)
            size, state = _run_sir(sis, seeds, state, indptr, indices, prob, recovery, max_steps, r, status_stamp,
                                   status, ever, ever_list, current, nxt, prev_worker[w])
            sizes[r] = size
            for j in range(size):
                counts[ever_list[j]] += 1
    activations = np.zeros(n, dtype=np.int64)
    prevalence = np.zeros(n_steps, dtype=np.int64)
    for w in range(n_workers):
        activations += per_worker[w]
        prevalence += prev_worker[w]
    return sizes, activations, prevalence


@jit
def _run_competing(pos_seeds, neg_seeds, state, live, indptr, indices, prob, negative_wins, stamp, owner_stamp,
                   owner, claim_step, frontier, nxt, adopted):
    """Two Independent Cascades racing (Budak et al. 2011): an account adopts the first campaign to reach it;
    reached by both in the same step, the tie rule decides.  Adopters are listed in ``adopted``.

    ``live=False``: each try draws the next number of the stream ``state``.  ``live=True``: a live-edge world,
    edge ``k`` is live when the ``k``-th draw of the stream starting at ``state`` is below its probability (each
    edge is tried at most once, so the law is the same); every seed set run on the same ``state`` sees the same
    world -- common random numbers that make differences between advocate sets exact per run.
    Returns ``(positive, negative, state)`` (``state`` unchanged when live)."""
    n_adopted = 0
    n_front = 0
    n_pos = 0
    n_neg = 0
    for s in neg_seeds:
        if owner_stamp[s] != stamp:
            owner_stamp[s] = stamp
            owner[s] = 2
            claim_step[s] = 0
            adopted[n_adopted] = s
            n_adopted += 1
            frontier[n_front] = s
            n_front += 1
            n_neg += 1
    for s in pos_seeds:
        if owner_stamp[s] != stamp:
            owner_stamp[s] = stamp
            owner[s] = 1
            claim_step[s] = 0
            adopted[n_adopted] = s
            n_adopted += 1
            frontier[n_front] = s
            n_front += 1
            n_pos += 1
        elif not negative_wins and owner[s] == 2:   # seeded by both: the tie rule
            owner[s] = 1
            n_neg -= 1
            n_pos += 1
    t = 0
    while n_front > 0:
        n_next = 0
        for i in range(n_front):
            u = frontier[i]
            side = owner[u]
            for k in range(indptr[u], indptr[u + 1]):
                v = indices[k]
                if owner_stamp[v] == stamp and claim_step[v] <= t:
                    continue                          # adopted earlier
                p = prob[k]
                if p <= 0.0:
                    continue
                if p < 1.0:
                    if live:
                        x, _ = _rng.next_float(state + np.uint64(k) * _rng._GOLDEN)
                    else:
                        x, state = _rng.next_float(state)
                    if x >= p:
                        continue
                if owner_stamp[v] != stamp:
                    owner_stamp[v] = stamp
                    owner[v] = side
                    claim_step[v] = t + 1
                    adopted[n_adopted] = v
                    n_adopted += 1
                    nxt[n_next] = v
                    n_next += 1
                elif owner[v] != side and ((side == 2) == negative_wins):
                    owner[v] = side                  # same step, the tie rule's campaign wins
        for i in range(n_next):
            if owner[nxt[i]] == 1:
                n_pos += 1
            else:
                n_neg += 1
            frontier[i] = nxt[i]
        n_front = n_next
        t += 1
    return n_pos, n_neg, state


@jit(parallel=True)
def _simulate_competing(pos_seeds, neg_seeds, indptr, indices, prob, negative_wins, n_runs, seed, first_run,
                        n_workers, live):
    """Positive and negative adopters per run, and runs in which each account adopted each side.

    ``live``: run ``r`` is the live-edge world of stream ``(seed, first_run + r)`` (see :func:`_run_competing`),
    so two calls with different seed sets see the same worlds -- paired runs whose difference has a sign."""
    n = indptr.shape[0] - 1
    pos_sizes = np.zeros(n_runs, dtype=np.int64)
    neg_sizes = np.zeros(n_runs, dtype=np.int64)
    pos_worker = np.zeros((n_workers, n), dtype=np.int64)
    neg_worker = np.zeros((n_workers, n), dtype=np.int64)
    for w in prange(n_workers):
        owner_stamp = np.full(n, -1, dtype=np.int64)
        owner = np.zeros(n, dtype=np.int8)
        claim_step = np.zeros(n, dtype=np.int64)
        frontier = np.empty(n, dtype=np.int64)
        nxt = np.empty(n, dtype=np.int64)
        adopted = np.empty(n, dtype=np.int64)
        for r in range(n_runs * w // n_workers, n_runs * (w + 1) // n_workers):
            state = _rng.stream_state(seed, first_run + r)
            a, b, state = _run_competing(pos_seeds, neg_seeds, state, live, indptr, indices, prob, negative_wins,
                                         r, owner_stamp, owner, claim_step, frontier, nxt, adopted)
            pos_sizes[r] = a
            neg_sizes[r] = b
            for j in range(a + b):
                v = adopted[j]
                if owner[v] == 1:
                    pos_worker[w, v] += 1
                else:
                    neg_worker[w, v] += 1
    pos_act = np.zeros(n, dtype=np.int64)
    neg_act = np.zeros(n, dtype=np.int64)
    for w in range(n_workers):
        pos_act += pos_worker[w]
        neg_act += neg_worker[w]
    return pos_sizes, neg_sizes, pos_act, neg_act


@jit(parallel=True)
def _containment_runs(base_pos, cands, neg_seeds, indptr, indices, prob, negative_wins, n_runs, seed, n_workers):
    """Negative adopters of run ``r`` with advocates ``base_pos`` plus candidate ``cands[c]`` (``-1``: none),
    as ``sizes[c, r]``.  Run ``r`` is the live-edge world of stream ``(seed, r)`` for every candidate (common
    random numbers); the ``len(cands) * n_runs`` simulations are split evenly over the workers."""
    n = indptr.shape[0] - 1
    n_c = cands.shape[0]
    total = n_c * n_runs
    sizes = np.zeros((n_c, n_runs), dtype=np.int32)
    for w in prange(n_workers):
        owner_stamp = np.full(n, -1, dtype=np.int64)
        owner = np.zeros(n, dtype=np.int8)
        claim_step = np.zeros(n, dtype=np.int64)
        frontier = np.empty(n, dtype=np.int64)
        nxt = np.empty(n, dtype=np.int64)
        adopted = np.empty(n, dtype=np.int64)
        pos = np.empty(base_pos.shape[0] + 1, dtype=np.int64)
        for i in range(base_pos.shape[0]):
            pos[i] = base_pos[i]
        for job in range(total * w // n_workers, total * (w + 1) // n_workers):
            c = job // n_runs
            r = job - c * n_runs
            m = base_pos.shape[0]
            if cands[c] >= 0:
                pos[m] = cands[c]
                m += 1
            _, b, _ = _run_competing(pos[:m], neg_seeds, _rng.stream_state(seed, r), True, indptr, indices, prob,
                                     negative_wins, job, owner_stamp, owner, claim_step, frontier, nxt, adopted)
            sizes[c, r] = b
    return sizes


@jit(parallel=True)
def _competing_steps(pos_seeds, neg_seeds, indptr, indices, prob, negative_wins, n_runs, seed, n_workers,
                     n_steps):
    """Negative adopters per run (live-edge world of stream ``(seed, r)``), new negative adopters per step
    summed over runs (steps past ``n_steps - 1`` counted in the last), and runs in which each account adopted
    the negative side."""
    n = indptr.shape[0] - 1
    neg_sizes = np.zeros(n_runs, dtype=np.int64)
    steps_worker = np.zeros((n_workers, n_steps), dtype=np.int64)
    neg_worker = np.zeros((n_workers, n), dtype=np.int64)
    for w in prange(n_workers):
        owner_stamp = np.full(n, -1, dtype=np.int64)
        owner = np.zeros(n, dtype=np.int8)
        claim_step = np.zeros(n, dtype=np.int64)
        frontier = np.empty(n, dtype=np.int64)
        nxt = np.empty(n, dtype=np.int64)
        adopted = np.empty(n, dtype=np.int64)
        for r in range(n_runs * w // n_workers, n_runs * (w + 1) // n_workers):
            a, b, _ = _run_competing(pos_seeds, neg_seeds, _rng.stream_state(seed, r), True, indptr, indices, prob,
                                     negative_wins, r, owner_stamp, owner, claim_step, frontier, nxt, adopted)
            neg_sizes[r] = b
            for j in range(a + b):
                v = adopted[j]
                if owner[v] == 2:
                    steps_worker[w, min(claim_step[v], n_steps - 1)] += 1
                    neg_worker[w, v] += 1
    per_step = np.zeros(n_steps, dtype=np.int64)
    neg_act = np.zeros(n, dtype=np.int64)
    for w in range(n_workers):
        per_step += steps_worker[w]
        neg_act += neg_worker[w]
    return neg_sizes, per_step, neg_act


def _warmup():
    from graphcrm.loaders.numba_config import readonly_copy

    indptr = np.array([0, 1, 2, 2], dtype=np.int64)
    indices = np.array([1, 2], dtype=np.int32)
    prob = np.array([0.5, 1.0])
    seeds = np.array([0], dtype=np.int64)
    for prep in (lambda a: a, readonly_copy):
        for sis in (False, True):
            _simulate_sir(sis, seeds, prep(indptr), prep(indices), prob, 0.5, 10, 1, 0, 20, 2, 21)
        for live in (False, True):
            _simulate_competing(seeds, np.array([2], dtype=np.int64), prep(indptr), prep(indices), prob, True, 10,
                                1, 0, 2, live)
        _containment_runs(np.empty(0, dtype=np.int64), np.array([1, -1], dtype=np.int64), seeds, prep(indptr),
                          prep(indices), prob, True, 10, 1, 2)
        _competing_steps(seeds, np.array([2], dtype=np.int64), prep(indptr), prep(indices), prob, True, 10, 1, 2,
                         8)
