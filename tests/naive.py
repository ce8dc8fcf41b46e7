"""Slow, obviously correct reference implementations for the kernels."""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def build_layer(n, src, dst, weights, aggregate="sum", keep_self_loops=False):
    """Dict-of-dicts aggregation, then sorted CSR and CSC."""
    groups = defaultdict(list)
    for i, (u, v) in enumerate(zip(src, dst)):
        if u == v and not keep_self_loops:
            continue
        groups[(int(u), int(v))].append(1.0 if weights is None else float(weights[i]))
    agg = {"sum": lambda xs: float(np.sum(sorted(xs))), "mean": lambda xs: float(np.sum(sorted(xs))) / len(xs),
           "max": max, "min": min}[aggregate]
    edges = sorted((u, v, agg(ws)) for (u, v), ws in groups.items())

    def csr(pairs):
        indptr = np.zeros(n + 1, dtype=np.int64)
        for u, _, _ in pairs:
            indptr[u + 1] += 1
        return np.cumsum(indptr), np.array([v for _, v, _ in pairs], dtype=np.int32), np.array(
            [w for _, _, w in pairs], dtype=np.float64)

    out = csr(edges)
    inn = csr(sorted((v, u, w) for u, v, w in edges))
    return out, inn


def live_edge_worlds(n, src, dst, prob, model="ic"):
    """Every possible world of a tiny graph with its probability (exact, exponential).

    IC: each edge is live independently with its probability.  LT: each node
    keeps at most one in-edge, ``u -> v`` with probability ``w(u, v)`` and none
    with ``1 - sum`` (Kempe, Kleinberg & Tardos 2003).  Yields
    ``(live edge indices, probability)``.
    """
    import itertools

    m = len(src)
    if model == "ic":
        for bits in itertools.product((0, 1), repeat=m):
            p = 1.0
            for e, b in enumerate(bits):
                p *= prob[e] if b else 1.0 - prob[e]
            if p > 0:
                yield [e for e, b in enumerate(bits) if b], p
        return
    choices = []
    for v in range(n):
        ins = [e for e in range(m) if dst[e] == v]
        opts = [(None, 1.0 - sum(prob[e] for e in ins))] + [(e, prob[e]) for e in ins]
        choices.append([o for o in opts if o[1] > 1e-15])
    for combo in itertools.product(*choices):
        p = 1.0
        for _, q in combo:
            p *= q
        yield [e for e, _ in combo if e is not None], p


def exact_reach_table(n, src, dst, prob, model="ic"):
    """``(masks, weights)``: for every world, the bitmask of nodes each node reaches, and the world's probability.

    ``spread(S) = sum_w weight_w * popcount(OR of masks[w, s] for s in S)``.
    """
    masks, weights = [], []
    for live, p in live_edge_worlds(n, src, dst, prob, model):
        adj = [[] for _ in range(n)]
        for e in live:
            adj[src[e]].append(dst[e])
        row = []
        for s in range(n):
            seen, stack = {s}, [s]
            while stack:
                for w in adj[stack.pop()]:
                    if w not in seen:
                        seen.add(w)
                        stack.append(w)
            row.append(sum(1 << v for v in seen))
        masks.append(row)
        weights.append(p)
    return np.array(masks, dtype=np.int64), np.array(weights)


def exact_spread(table, seeds, within=None):
    """Exact expected number of (``within``-) nodes reached from ``seeds`` (dense ids)."""
    masks, weights = table
    union = np.zeros(len(weights), dtype=np.int64)
    for s in seeds:
        union |= masks[:, s]
    if within is not None:
        union &= sum(1 << v for v in within)
    counts = np.array([bin(int(x)).count("1") for x in union])
    return float((counts * weights).sum())
