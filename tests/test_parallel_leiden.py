"""The numba Leiden: hand-made answers, slow references for each kernel, igraph cross-checks, determinism."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.sparse as sp

from graphcrm.algorithms import _leiden_kernels as _k
from graphcrm.algorithms import leiden, parallel_leiden
from graphcrm.algorithms.community import undirected_edges
from graphcrm.algorithms.leiden_parallel import _visit_order, undirected_csr
from graphcrm.loaders import GraphBuilder, ParameterError
from tests.conftest import dataset


def cliques(k, size, shuffle_seed=None):
    """``k`` cliques of ``size`` nodes in a ring, one tie between neighbouring cliques."""
    edges = [(c * size + a, c * size + b) for c in range(k) for a in range(size) for b in range(a + 1, size)]
    edges += [(c * size, ((c + 1) % k) * size + 1) for c in range(k)]
    if shuffle_seed is not None:
        np.random.default_rng(shuffle_seed).shuffle(edges)
    return GraphBuilder().add_edges("x", [a for a, _ in edges], [b for _, b in edges]).build()


def test_ring_of_cliques_is_one_community_per_clique():
    part = parallel_leiden(cliques(12, 6), layer="x", seed=3)
    assert part.n_communities == 12
    for c in range(12):
        assert len(set(part.membership[c * 6:(c + 1) * 6])) == 1


def test_undirected_csr_is_the_undirected_simple_graph():
    g = GraphBuilder().add_edges("x", [1, 2, 2, 3, 3, 4], [2, 1, 3, 3, 4, 1], weight=[1.0, 2.0, 5.0, 9.0, 1.5, 0.5],
                                 aggregate="sum").build()
    lay = g.layer("x")
    for weight in (True, False):
        indptr, indices, weights = undirected_csr(lay, weight)
        got = sp.csr_array((weights, indices, indptr), shape=(4, 4)).toarray()
        u, v, w = undirected_edges(lay, weight)
        want = sp.coo_array((w, (u, v)), shape=(4, 4)).toarray()
        assert np.array_equal(got, want + want.T)
        assert all((np.diff(indices[indptr[i]:indptr[i + 1]]) > 0).all() for i in range(4))   # sorted rows


def local_moving_reference(adj, k, comm, order, m2, gamma):
    """One sequential sweep of Louvain local moving in plain Python (dicts)."""
    tot = {}
    for v, c in enumerate(comm):
        tot[c] = tot.get(c, 0.0) + k[v]
    for v in order:
        own = comm[v]
        w_to = {}
        for u, w in adj[v]:
            w_to[comm[u]] = w_to.get(comm[u], 0.0) + w
        scale = gamma * k[v] / m2
        best, best_gain = own, w_to.get(own, 0.0) - scale * (tot[own] - k[v])
        for c in sorted(w_to):
            if c != own and w_to[c] - scale * tot[c] > best_gain:
                best, best_gain = c, w_to[c] - scale * tot[c]
        if best != own:
            tot[own] -= k[v]
            tot[best] += k[v]
            comm[v] = best
    return comm


def test_sequential_local_moving_matches_a_python_reference():
    from graphcrm.loaders import load_edges

    g = load_edges(dataset("email-Eu-core/email-Eu-core.txt.gz"), layer="email")
    indptr, indices, weights = undirected_csr(g.layer("email"))
    n = g.n_nodes
    k = _k._strengths(indptr, weights)
    adj = [list(zip(indices[indptr[v]:indptr[v + 1]].tolist(), weights[indptr[v]:indptr[v + 1]].tolist()))
           for v in range(n)]
    order = _visit_order(n, np.random.default_rng(2))
    comm = np.arange(n, dtype=np.int32)
    _k._local_moving(indptr, indices, weights, k, comm, order, k.sum(), 1.0, 1, 1, 0, 2)   # batch 1: sequential
    want = local_moving_reference(adj, k, list(range(n)), order.tolist(), k.sum(), 1.0)
    assert comm.tolist() == want


def test_aggregate_is_the_quotient_graph_and_refinement_nests():
    from graphcrm.loaders import load_edges

    g = load_edges(dataset("email-Eu-core/email-Eu-core.txt.gz"), layer="email")
    indptr, indices, weights = undirected_csr(g.layer("email"))
    n = g.n_nodes
    k = _k._strengths(indptr, weights)
    order = _visit_order(n, np.random.default_rng(4))
    comm = np.arange(n, dtype=np.int32)
    _k._local_moving(indptr, indices, weights, k, comm, order, k.sum(), 1.0, 1, 32, 0, 2)
    labels, n_comm = _k._renumber(comm)
    sub, n_sub = _k._renumber(_k._refine(indptr, indices, weights, k, labels, order, k.sum(), 1.0, 2))
    # the workers refine disjoint communities: the same sub-communities on 1 worker or 5
    for workers in (1, 5):
        again = _k._refine(indptr, indices, weights, k, labels, order, k.sum(), 1.0, workers)
        assert np.array_equal(_k._renumber(again)[0], sub)
    # every sub-community lies inside one community, and is connected
    assert all(len(set(labels[sub == s])) == 1 for s in range(n_sub))
    a = sp.csr_array((weights, indices, indptr), shape=(n, n))
    for s in range(n_sub):
        members = np.flatnonzero(sub == s)
        inner = a[members][:, members]
        assert sp.csgraph.connected_components(inner, directed=False)[0] == 1
    # the aggregated graph is C^T A C without its diagonal
    c_indptr, c_indices, c_weights = _k._aggregate(indptr, indices, weights, sub, n_sub, 2)
    member = sp.csr_array((np.ones(n), (np.arange(n), sub)), shape=(n, n_sub))
    quotient = (member.T @ a @ member).toarray()
    got = sp.csr_array((c_weights, c_indices, c_indptr), shape=(n_sub, n_sub)).toarray()
    assert np.allclose(got, quotient - np.diag(np.diag(quotient)))
    assert np.diag(got).sum() == 0


@pytest.mark.parametrize("which", ["wiki", "higgs"])
def test_modularity_is_igraphs_and_close_to_igraph_leiden(which, wiki_graph, higgs_graph):
    import igraph as ig

    g, lay = (wiki_graph, "votes") if which == "wiki" else (higgs_graph, higgs_graph.interaction_strength())
    ours = parallel_leiden(g, layer=lay, seed=1)
    theirs = leiden(g, layer=lay, seed=1, method="igraph")
    u, v, w = undirected_edges(lay if not isinstance(lay, str) else g.layer(lay))
    graph = ig.Graph(n=g.n_nodes, edges=np.column_stack([u, v]), directed=False)
    assert ours.quality == pytest.approx(graph.modularity(ours.membership.tolist(), weights=w.tolist()), abs=1e-12)
    assert ours.quality >= theirs.quality - 0.002, (ours.quality, theirs.quality)


def test_same_partition_whatever_the_threads_and_row_order(higgs_graph):
    lay = higgs_graph.interaction_strength()      # 304k accounts: large batches decide in parallel
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = parallel_leiden(higgs_graph, layer=lay, seed=9)
        numba.set_num_threads(before)
        many = parallel_leiden(higgs_graph, layer=lay, seed=9)
    finally:
        numba.set_num_threads(before)
    assert any(level["nodes"] >= 256 * 512 for level in one.info["levels"])
    assert np.array_equal(one.membership, many.membership) and one.quality == many.quality
    a, b = cliques(20, 5), cliques(20, 5, shuffle_seed=8)
    assert np.array_equal(parallel_leiden(a, layer="x", seed=2).membership,
                          parallel_leiden(b, layer="x", seed=2).membership)
    assert not np.array_equal(parallel_leiden(higgs_graph, layer=lay, seed=10).membership, one.membership)


def test_leiden_engine_choice_and_bad_parameters(wiki_graph):
    assert leiden(wiki_graph, layer="votes", seed=1).info["implementation"] == "igraph"       # 100k ties
    part = leiden(wiki_graph, layer="votes", seed=1, method="numba")
    assert part.info["implementation"] == "numba" and part.quality > 0.42
    with pytest.raises(ParameterError, match="undirected modularity"):
        leiden(wiki_graph, layer="votes", method="numba", objective="cpm")
    with pytest.raises(ParameterError, match="method"):
        leiden(wiki_graph, layer="votes", method="fast")
    with pytest.raises(ParameterError):
        parallel_leiden(wiki_graph, layer="votes", iterations=0)


def test_cli_engine_choice(tmp_path):
    import os
    import shutil
    import subprocess

    exe, env = shutil.which("graphcrm"), dict(os.environ, CI="true")
    snap = tmp_path / "email"
    subprocess.run([exe, "load", "--edges", str(dataset("email-Eu-core/email-Eu-core.txt.gz")), "--layer", "email",
                    "--out", str(snap)], check=True, env=env, capture_output=True)
    ok = subprocess.run([exe, "communities", str(snap), "--out", str(tmp_path / "p.csv"), "--engine", "numba",
                         "--json"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert '"implementation": "numba"' in ok.stdout
    bad = subprocess.run([exe, "communities", str(snap), "--out", str(tmp_path / "q.csv"), "--engine", "fast"],
                         env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "--engine must be one of" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "q.csv").exists()
