"""PageRank on the degree-ordered copy of a layer's pull rows gives the scores of the layer as stored.

The ordered path (``algorithms/_pagerank_order_kernels.py``) runs by default only on large layers where the
reduced system does not pay (rmat20); here it is forced on every graph (``force_order``) and compared with
the stored-order kernels, with networkx on real data, and with an exact linear solve on hand-made graphs.
"""

from __future__ import annotations

import gzip

import networkx as nx
import numba
import numpy as np
import pytest

from graphcrm.algorithms import _pagerank_order_kernels as _po
from graphcrm.algorithms import centrality
from graphcrm.algorithms.centrality import ordered_pull_rows, pagerank, personalized_pagerank
from graphcrm.loaders.builder import GraphBuilder
from graphcrm.loaders.errors import ParameterError


@pytest.fixture
def force_order(monkeypatch):
    """Every PageRank call takes the ordered path (no size threshold; the reduced system never chosen)."""
    monkeypatch.setattr(centrality, "ORDER_MIN_EDGES", 0)
    monkeypatch.setattr(centrality, "REDUCE_MIN_SHARE", np.inf)


def stored_order(monkeypatch):
    """Plain power iteration on the layer as stored (the un-relabelled kernel)."""
    monkeypatch.setattr(centrality, "ORDER_MIN_EDGES", None)
    monkeypatch.setattr(centrality, "REDUCE_MIN_SHARE", np.inf)


@pytest.fixture(scope="module")
def wiki_nx(wiki_vote):
    with gzip.open(wiki_vote, "rt") as fh:
        return nx.read_edgelist(fh, comments="#", create_using=nx.DiGraph, nodetype=int)


def l1(scores, ref: dict) -> float:
    got = dict(zip(scores.id_map.ids.tolist(), scores.values.tolist()))
    return sum(abs(got[k] - v) for k, v in ref.items())


def exact_pagerank(n, src, dst, w, teleport, damping=0.85):
    """Solve x = d (P^T x + dangling(x) t) + (1 - d) t densely."""
    a = np.zeros((n, n))
    np.add.at(a, (src, dst), w)
    out = a.sum(axis=1)
    p = np.divide(a, out[:, None], out=np.zeros_like(a), where=out[:, None] > 0)
    m = damping * (p.T + np.outer(teleport, out == 0))
    return np.linalg.solve(np.eye(n) - m, (1 - damping) * teleport)


# ---------------------------------------------------------------- the order itself
def test_order_is_a_degree_sorted_permutation_kept_with_the_layer(wiki_graph):
    lay = wiki_graph.layer("votes")
    for direction in ("attention", "influence"):
        rows = ordered_pull_rows(lay, direction)
        walk = lay.reversed() if direction == "attention" else lay
        n = walk.n_nodes
        assert sorted(rows.perm.tolist()) == list(range(n))
        np.testing.assert_array_equal(rows.rank[rows.perm], np.arange(n))
        indeg, outdeg = walk.in_degree()[rows.perm], walk.out_degree()[rows.perm]
        assert (np.diff(indeg) <= 0).all()
        ties = np.diff(indeg) == 0
        assert (np.diff(outdeg)[ties] <= 0).all()
        assert (np.diff(rows.perm)[ties & (np.diff(outdeg) == 0)] > 0).all()     # then by account
        assert rows.indptr.dtype == np.int32 and rows.indices.dtype == np.int32
        # the same edges, renamed
        new_dst = np.repeat(np.arange(n), np.diff(rows.indptr))
        got = set(zip(rows.perm[rows.indices].tolist(), rows.perm[new_dst].tolist()))
        src, dst, _ = walk.edge_arrays()
        assert got == set(zip(src.tolist(), dst.tolist()))
        assert ordered_pull_rows(lay, direction) is rows          # computed once per layer and direction
        assert not rows.perm.flags.writeable and not rows.indices.flags.writeable
    with pytest.raises(ParameterError, match="direction"):
        ordered_pull_rows(lay, "sideways")


def test_degree_order_kernel_matches_a_lexsort():
    rng = np.random.default_rng(4)
    indeg, outdeg = rng.integers(0, 6, 500), rng.integers(0, 6, 500)
    np.testing.assert_array_equal(_po.degree_order(indeg, outdeg), np.lexsort((-outdeg, -indeg)))


# ---------------------------------------------------------------- hand-made graphs, exact answers
HAND_MADE = {
    "star": ([1, 2, 3, 4, 5], [0, 0, 0, 0, 0], None),
    "cycle with chord": ([0, 1, 2, 3, 0], [1, 2, 3, 0, 2], None),
    "dangling and isolated": ([0, 1, 1, 2, 4], [1, 2, 3, 0, 1], None),          # 3 dangling, 5 isolated
    "weighted": ([0, 0, 1, 2, 2, 3], [1, 2, 2, 0, 3, 0], [1.0, 3.0, 0.5, 2.0, 2.0, 1.0]),
}


@pytest.mark.parametrize("name", sorted(HAND_MADE))
@pytest.mark.parametrize("personalized", [False, True])
def test_ordered_pagerank_solves_hand_made_graphs_exactly(force_order, name, personalized):
    src, dst, w = HAND_MADE[name]
    n = 6
    builder = GraphBuilder().add_nodes(np.arange(n))
    g = builder.add_edges("x", src, dst, w, direction="forward").build()
    teleport = np.zeros(n)
    seeds = {1: 2.0, 4: 1.0} if personalized else None
    if personalized:
        teleport[[1, 4]] = [2 / 3, 1 / 3]
    else:
        teleport[:] = 1 / n
    ours = pagerank(g, layer="x", direction="influence", tol=1e-14, personalization=seeds)
    assert ours.info["order"] == "degree"
    ref = exact_pagerank(n, np.asarray(src), np.asarray(dst), np.ones(len(src)) if w is None else np.asarray(w),
                         teleport)
    np.testing.assert_allclose(ours.values[g.index_of(np.arange(n))], ref, atol=1e-13)


# ---------------------------------------------------------------- real data
def test_ordered_pagerank_equals_networkx_on_wiki_vote(force_order, wiki_graph, wiki_nx):
    ours = pagerank(wiki_graph, layer="votes", direction="influence", tol=1e-13)
    assert ours.info["order"] == "degree"
    assert l1(ours, nx.pagerank(wiki_nx, alpha=0.85, tol=1e-15, max_iter=1000)) < 1e-9
    att = pagerank(wiki_graph, layer="votes", tol=1e-13)
    assert l1(att, nx.pagerank(wiki_nx.reverse(copy=False), alpha=0.85, tol=1e-15, max_iter=1000)) < 1e-9
    seeds = [30, 1412, 3352, 5254]
    ppr = personalized_pagerank(wiki_graph, seeds, layer="votes", direction="influence", tol=1e-13)
    ref = nx.pagerank(wiki_nx, alpha=0.85, tol=1e-15, max_iter=1000, personalization={s: 1 for s in seeds})
    assert l1(ppr, ref) < 1e-9


@pytest.mark.parametrize("layer,weight", [("retweets", True), ("mentions", True), ("replies", False)])
@pytest.mark.parametrize("tol", [1e-12, 1e-8])
def test_ordered_equals_the_stored_order_kernel_on_higgs(monkeypatch, higgs_graph, layer, weight, tol):
    """Same iterations; scores equal to rounding at tol 1e-12 (float64 throughout), and within the
    tolerance at 1e-8, where both start with float32 contributions (304,691 accounts)."""
    stored_order(monkeypatch)
    ref = pagerank(higgs_graph, layer=layer, weight=weight, tol=tol)
    assert "order" not in ref.info
    monkeypatch.setattr(centrality, "ORDER_MIN_EDGES", 0)
    ours = pagerank(higgs_graph, layer=layer, weight=weight, tol=tol)
    assert ours.info["order"] == "degree"
    assert ours.info["iterations"] == ref.info["iterations"]
    assert np.abs(ours.values - ref.values).sum() < (1e-13 if tol < 1e-8 else tol)
    assert ours.values.sum() == pytest.approx(1.0, abs=1e-12 if tol < 1e-8 else tol)


def test_ordered_weighted_pagerank_equals_networkx_on_higgs_retweets(force_order, higgs_graph):
    from graphcrm.loaders.convert import to_networkx

    ours = pagerank(higgs_graph, layer="retweets", direction="influence", tol=1e-13)
    ref = nx.pagerank(to_networkx(higgs_graph, "retweets"), alpha=0.85, tol=1e-18, max_iter=1000, weight="weight")
    assert l1(ours, ref) < 1e-9


# ---------------------------------------------------------------- determinism
def test_ordered_pagerank_is_deterministic_and_thread_count_free(force_order, higgs_graph):
    before = numba.get_num_threads()
    results = []
    try:
        for threads in sorted({1, before, 2}):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            for _ in range(2):
                pr = pagerank(higgs_graph, layer="retweets")
                results.append((pr.values, pr.info["iterations"]))
    finally:
        numba.set_num_threads(before)
    for values, iterations in results[1:]:
        np.testing.assert_array_equal(values, results[0][0])
        assert iterations == results[0][1]


def test_large_layers_take_the_ordered_path_by_default(monkeypatch, higgs_graph):
    """The default switch: the ordered path from ``ORDER_MIN_EDGES`` edges, where the reduced system does
    not pay (higgs mentions: the reduced system pays and is kept)."""
    monkeypatch.setattr(centrality, "ORDER_MIN_EDGES", 10_000)
    assert "order" not in pagerank(higgs_graph, layer="mentions").info
    monkeypatch.setattr(centrality, "REDUCE_MIN_SHARE", np.inf)
    g = GraphBuilder().add_edges("x", np.arange(20_000) % 997, (np.arange(20_000) * 7) % 1009).build()
    pr = pagerank(g, layer="x")
    assert pr.info["order"] == "degree" and pr.info["order_seconds"] > 0
    assert pagerank(g, layer="x").info["order_seconds"] == 0.0            # built once, then reused
