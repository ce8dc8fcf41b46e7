"""The fast IC kernel (geometric skipping over probability-sorted out-edges) against slow, obvious references."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from graphcrm.algorithms import edge_probabilities, simulate
from graphcrm.algorithms._diffusion_kernels import IC_EDGE, IC_EDGE_WIDE, ic_layout
from graphcrm.loaders import GraphBuilder


def test_layout_sorts_each_account_by_falling_probability_and_keeps_ties_in_order():
    rng = np.random.default_rng(3)
    degrees = np.array([0, 1, 5, 40, 2, 33, 0, 3])          # short rows (insertion sort) and long ones (argsort)
    indptr = np.concatenate([[0], np.cumsum(degrees)])
    indices = rng.integers(0, 1000, indptr[-1]).astype(np.int32)
    prob = rng.choice([0.0, 0.01, 0.05, 0.2, 0.5, 1.0, 1 / 3], indptr[-1])
    edges = ic_layout(indptr, indices, prob)
    assert edges.dtype == IC_EDGE
    for u in range(len(degrees)):
        a, b = indptr[u], indptr[u + 1]
        expected = sorted(zip(-prob[a:b].astype(np.float32), range(b - a), indices[a:b]))   # stable by position
        assert edges["v"][a:b].tolist() == [v for _, _, v in expected]
        assert np.array_equal(edges["p"][a:b], [-q for q, _, _ in expected])
    assert ic_layout(indptr, indices.astype(np.int64), prob).dtype == IC_EDGE_WIDE


def test_every_edge_of_a_hub_fires_with_its_own_probability():
    # a hub with 3,000 audience members of mixed probabilities: tried one by one (>= 0.2), by skipping (< 0.2),
    # never (0); each member's activation rate must match its probability (binomial tolerance, 5 sigma)
    rng = np.random.default_rng(7)
    probs = rng.choice([0.0, 0.001, 0.01, 0.03, 0.15, 0.19, 0.2, 0.45, 0.9, 1.0], 3000)
    probs = probs * rng.uniform(0.5, 1.0, 3000) * (probs < 1) + (probs == 1)      # many distinct values
    g = GraphBuilder().add_edges("x", np.zeros(3000, dtype=np.int64), np.arange(1, 3001),
                                 weight=probs).build()
    runs = 20_000
    # weighted cascade on a star is w / in-strength = 1 for every leaf; use the weights as probabilities instead
    lay = g.layer("x")
    p_out = lay.out_data()
    est = _simulate_with(g, p_out, runs)
    leaves = g.index_of(list(range(1, 3001)))
    got = est[leaves]
    want = probs
    sd = np.sqrt(want * (1 - want) / runs)
    assert (np.abs(got - want) <= 5 * sd + 1e-12).all()
    assert (got[want == 0] == 0).all() and (got[want == 1] == 1).all()
    # summed over the leaves (a sharper check of the skipping's total rate)
    assert abs(got.sum() - want.sum()) <= 5 * np.sqrt((want * (1 - want)).sum() / runs)


def _simulate_with(g, p_out, runs):
    """Activation probabilities from the kernel with explicit out-edge probabilities."""
    from graphcrm.algorithms import _diffusion_kernels as _k

    lay = g.layer("x")
    edges = ic_layout(lay.out_indptr, lay.out_indices, p_out)
    seeds = g.index_of([0]).astype(np.int64)
    _, _, act, _ = _k._simulate(False, seeds, lay.out_indptr, lay.out_indices, np.empty(0), edges, runs, 11, 0, -1, 2,
                                8, np.zeros(0, dtype=np.bool_))
    return act / runs


def ic_reference(out_adj, seeds, runs, rng):
    """Independent Cascade, one coin per edge, in plain Python (slow, obviously correct)."""
    sizes = []
    for _ in range(runs):
        active, todo = set(seeds), deque(seeds)
        while todo:
            for v, p in out_adj[todo.popleft()]:
                if v not in active and rng.random() < p:
                    active.add(v)
                    todo.append(v)
        sizes.append(len(active))
    return np.mean(sizes), np.std(sizes, ddof=1) / np.sqrt(runs)


def _out_adjacency(g, layer):
    lay = g.layer(layer)
    p = edge_probabilities(lay, "wc", side="out")
    return [list(zip(lay.out_indices[lay.out_indptr[u]:lay.out_indptr[u + 1]].tolist(),
                     p[lay.out_indptr[u]:lay.out_indptr[u + 1]].tolist())) for u in range(g.n_nodes)]


def test_ic_matches_the_python_reference_on_wiki_vote(wiki_graph):
    seeds = np.argsort(-wiki_graph.layer("votes").out_degree(), kind="stable")[:50]
    est = simulate(wiki_graph, wiki_graph.id_map.to_external(seeds), layer="votes", n_runs=10_000, seed=3)
    ref_mean, ref_se = ic_reference(_out_adjacency(wiki_graph, "votes"), seeds.tolist(), 400, np.random.default_rng(0))
    assert abs(est.mean - ref_mean) <= 4 * np.hypot(ref_se, (est.ci_high - est.ci_low) / 3.92), (est.mean, ref_mean)


def test_ic_matches_cynetdiff_on_wiki_vote(wiki_graph):
    models = pytest.importorskip("cynetdiff.models")
    lay = wiki_graph.layer("votes")
    seeds = np.argsort(-lay.out_degree(), kind="stable")[:50]
    prob = edge_probabilities(lay, "wc", side="out").astype(np.float32)
    cy = models.IndependentCascadeModel(np.ascontiguousarray(lay.out_indptr[:-1], dtype=np.uint32),
                                        np.ascontiguousarray(lay.out_indices, dtype=np.uint32),
                                        activation_probs=prob, rng=np.random.default_rng(5))
    cy.set_seeds(seeds.tolist())
    sizes = np.empty(5_000)
    for r in range(len(sizes)):
        cy.reset_model()
        cy.advance_until_completion()
        sizes[r] = cy.get_num_activated_nodes()
    est = simulate(wiki_graph, wiki_graph.id_map.to_external(seeds), layer="votes", n_runs=10_000, seed=4)
    cy_se = sizes.std(ddof=1) / np.sqrt(len(sizes))
    assert abs(est.mean - sizes.mean()) <= 4 * np.hypot(cy_se, (est.ci_high - est.ci_low) / 3.92), (est.mean,
                                                                                                     sizes.mean())
