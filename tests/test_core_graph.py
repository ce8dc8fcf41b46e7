"""SocialGraph on hand-made graphs with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphcrm.loaders import GraphBuilder, Layer, LayerNotFoundError, NodeNotFoundError, ParameterError, SocialGraph
from graphcrm.loaders.idmap import IdMap
from graphcrm.loaders.layers import spec_for


def test_influence_direction_per_type():
    g = (GraphBuilder()
         .add_edges("follows", ["ann"], ["bob"])        # ann follows bob -> bob influences ann
         .add_events("retweets", ["ann"], ["bob"], time=[1])  # ann retweets bob -> bob -> ann
         .add_events("replies", ["ann"], ["bob"], time=[1])
         .add_events("likes", ["ann"], ["bob"], time=[1])
         .add_events("mentions", ["ann"], ["bob"], time=[1])  # ann mentions bob -> ann -> bob
         .add_edges("votes", ["ann"], ["bob"])          # unknown type: as written
         .build())
    for name in ("follows", "retweets", "replies", "likes"):
        assert g.edges(name)[["src", "dst"]].values.tolist() == [["bob", "ann"]], name
    for name in ("mentions", "votes"):
        assert g.edges(name)[["src", "dst"]].values.tolist() == [["ann", "bob"]], name


def test_direction_override():
    g = GraphBuilder().add_edges("follows", [1], [2], direction="forward").build()
    assert g.edges("follows")[["src", "dst"]].values.tolist() == [[1, 2]]
    assert g.layer("follows").spec.direction == "forward"


def test_csr_and_csc_agree_and_are_sorted():
    rng = np.random.default_rng(7)
    src, dst = rng.integers(0, 50, 400), rng.integers(0, 50, 400)
    g = GraphBuilder().add_edges("x", src, dst, rng.random(400)).build()
    lay = g.layer("x")
    a = g.to_scipy("x").toarray()
    b = g.to_scipy("x", direction="in").toarray()
    np.testing.assert_array_equal(a, b.T)
    for indptr, indices in ((lay.out_indptr, lay.out_indices), (lay.in_indptr, lay.in_indices)):
        for u in range(g.n_nodes):
            row = indices[indptr[u]:indptr[u + 1]]
            assert (np.diff(row) > 0).all()
    assert lay.out_indptr.dtype == np.int64 and lay.out_indices.dtype == np.int32
    assert lay.out_weights.dtype == np.float64


def test_duplicates_aggregate_by_documented_rule():
    g = (GraphBuilder()
         .add_edges("retweets", [1, 1, 1], [2, 2, 3], [1.0, 2.0, 5.0])
         .add_edges("follows", [1, 1], [2, 2], [3.0, 4.0])
         .add_edges("trust", [1, 1], [2, 2], [10.0, -4.0])
         .build())
    assert g.edges("retweets").sort_values("dst").weight.tolist() == [3.0, 5.0]   # sum
    assert g.edges("follows").weight.tolist() == [4.0]                             # max
    assert g.edges("trust").weight.tolist() == [3.0]                               # mean
    assert g.layer("retweets").build_report["duplicates_aggregated"] == 1


def test_self_loops_policy():
    dropped = GraphBuilder().add_edges("x", [1, 2], [1, 3]).build()
    assert dropped.layer("x").n_edges == 1
    assert dropped.layer("x").build_report["self_loops_dropped"] == 1
    kept = GraphBuilder(self_loops="keep").add_edges("x", [1, 2], [1, 3]).build()
    assert kept.layer("x").n_edges == 2
    with pytest.raises(ParameterError):
        GraphBuilder(self_loops="sometimes")


def test_immutable_arrays_and_views():
    g = GraphBuilder().add_edges("x", [1, 2], [2, 3]).build()
    lay = g.layer("x")
    with pytest.raises(ValueError):
        lay.out_indices[0] = 5
    with pytest.raises(ValueError):
        g.id_map.ids[0] = 9
    with pytest.raises(TypeError):
        g.layers["y"] = lay
    with pytest.raises(AttributeError):
        lay.spec = spec_for("y")
    nodes = g.nodes
    nodes["extra"] = 1
    assert "extra" not in g.nodes


def test_memory_per_edge_at_most_24_bytes():
    rng = np.random.default_rng(1)
    n, m = 1000, 50_000
    g = GraphBuilder().add_edges("w", rng.integers(0, n, m), rng.integers(0, n, m), rng.random(m)).build()
    lay = g.layer("w")
    per_edge = (lay.nbytes - lay.out_indptr.nbytes - lay.in_indptr.nbytes) / lay.n_edges
    assert per_edge == 24.0
    unweighted = GraphBuilder().add_edges("u", rng.integers(0, n, m), rng.integers(0, n, m)).build().layer("u")
    assert (unweighted.nbytes - 2 * unweighted.out_indptr.nbytes) / unweighted.n_edges == 8.0


def test_ids_sorted_and_lookup():
    g = GraphBuilder().add_edges("x", [30, 10], [20, 10]).add_nodes([40]).build()
    assert g.id_map.ids.tolist() == [10, 20, 30, 40]
    assert g.index_of([40, 10]).tolist() == [3, 0]
    with pytest.raises(NodeNotFoundError, match="99"):
        g.index_of([99])
    with pytest.raises(LayerNotFoundError, match="layers: x"):
        g.layer("nope")
    mixed = GraphBuilder().add_edges("x", [1], ["b"]).build()
    assert mixed.id_map.kind == "str" and mixed.id_map.ids.tolist() == ["1", "b"]


def test_idmap_never_sized_by_largest_id():
    big = np.array([2**62, 5, 2**40], dtype=np.int64)
    g = GraphBuilder().add_edges("x", big, big[::-1]).build()
    assert g.n_nodes == 3
    assert g.layer("x").out_indptr.shape == (4,)
    assert IdMap.from_unsorted(big).to_dense([2**62]).tolist() == [2]


def test_interaction_strength_by_hand():
    day = 86400
    g = (GraphBuilder()
         .add_events("retweets", ["a", "a"], ["b", "b"], time=[0, 2 * day])   # b -> a twice
         .add_events("mentions", ["b"], ["c"], time=[2 * day])                # b -> c
         .add_events("replies", ["c"], ["b"], time=[day])                     # b -> c
         .build())
    s = g.interaction_strength(half_life=day)
    got = {(g.ids_of([u])[0], g.ids_of([v])[0]): x for u, v, x in zip(*s.edge_arrays())}
    assert got[("b", "a")] == pytest.approx(1.0 * (0.25 + 1.0))
    assert got[("b", "c")] == pytest.approx(0.5 * 1.0 + 0.7 * 0.5)
    no_decay = g.interaction_strength(half_life=None, type_weights={"retweets": 2.0})
    assert no_decay.out_weights.tolist() == [4.0]
    with pytest.raises(ParameterError):
        g.interaction_strength(half_life=0)


def test_window_and_subgraph():
    g = (GraphBuilder()
         .add_events("retweets", [1, 1, 2], [2, 3, 3], time=[10, 20, 30])
         .add_edges("follows", [1], [2])
         .build())
    w = g.window(15, 30)
    assert w.n_nodes == g.n_nodes
    assert w.edges("retweets")[["src", "dst"]].values.tolist() == [[3, 1]]
    assert w.layer("follows").n_edges == 1
    assert "follows" not in g.window(15, 30, keep_static=False).layers
    assert g.window("1970-01-01T00:00:20Z").layer("retweets").n_edges == 2
    with pytest.raises(ParameterError):
        g.window(30, 10)
    sub = g.subgraph([1, 3])
    assert sub.id_map.ids.tolist() == [1, 3]
    assert sub.edges("retweets")[["src", "dst"]].values.tolist() == [[3, 1]]
    assert sub.layer("follows").n_edges == 0
    assert len(sub.layer("retweets").events) == 1


def test_node_attributes_align_with_ids():
    attrs = pd.DataFrame({"followers": [100, 5], "cost": [10.0, 1.0]})
    g = GraphBuilder().add_edges("x", [3, 1], [1, 2]).add_nodes([3, 1], attrs).build()
    nodes = g.nodes.set_index("account_id")
    assert nodes.loc[3, "followers"] == 100 and nodes.loc[1, "cost"] == 1.0
    assert pd.isna(nodes.loc[2, "followers"])


def test_layer_from_edges_validates():
    with pytest.raises(Exception, match="dense ids"):
        Layer.from_edges(2, [0], [5], spec="x")
    with pytest.raises(Exception, match="finite"):
        Layer.from_edges(2, [0], [1], [np.nan], spec="x")
    lay = Layer.from_edges(3, [0, 1], [1, 2], spec="x")
    assert SocialGraph(IdMap([7, 8, 9]), {"x": lay}).n_nodes == 3


def test_a_mixed_id_list_names_only_the_unknown_ids():
    """`brand_accounts = [1, "nosuch"]` on a graph with integer ids reported 1 as unknown too (the list became
    text and no integer id matched)."""
    g = GraphBuilder().add_edges("follows", [1, 2], [2, 3]).build()
    assert g.id_map.lookup([1, "nosuch", "3"]).tolist() == [0, -1, 2]
    with pytest.raises(NodeNotFoundError, match=r"not in the graph: 'nosuch'$"):
        g.id_map.to_dense([1, "nosuch"])


def test_a_layer_of_another_graph_is_refused_not_a_segfault():
    """QA (API) F1: pagerank / plan_seeds with a subgraph's layer indexed past the arrays in a numba kernel and
    killed the process (exit 139: the analyst's Jupyter kernel)."""
    from graphcrm.algorithms import pagerank, plan_seeds, simulate

    g = GraphBuilder().add_edges("x", list(range(50)), [(i * 7 + 1) % 50 for i in range(50)]).build()
    sub = g.subgraph(g.id_map.ids[:20])
    for call in (lambda: pagerank(g, layer=sub.layer("x")), lambda: plan_seeds(g, layer=sub.layer("x"), k=2),
                 lambda: simulate(g, [3], layer=sub.layer("x"), n_runs=10),
                 lambda: pagerank(sub, layer=g.layer("x"))):
        with pytest.raises(ParameterError, match="belongs to another graph"):
            call()
    with pytest.raises(ParameterError, match="layer must be a layer name"):
        pagerank(g, layer=3)


def test_builder_ids_missing_float_and_hashed_are_checked():
    """QA (API) F3/F4: GraphBuilder made an account named "nan" from a missing id (and turned the graph's ids
    into text), split account 2 into "2" and "2.0", and a uint64 hash past int64 wrapped to account -1 (also
    through load_edges of a DataFrame)."""
    from graphcrm.loaders import InvalidInputError, load_edges

    with pytest.raises(InvalidInputError, match=r"row 2, field 'actor': missing account id"):
        GraphBuilder().add_edges("x", pd.Series([1.0, np.nan, 3.0]), pd.Series([2.0, 3.0, 1.0]))
    with pytest.raises(InvalidInputError, match="missing account id"):
        GraphBuilder().add_edges("x", ["a", None], ["b", "c"])
    assert GraphBuilder().add_edges("x", pd.Series([1, 2]), pd.Series([2.0, 3.0])).build().id_map.ids.tolist() \
        == [1, 2, 3]
    with pytest.raises(InvalidInputError, match="is not an integer"):
        GraphBuilder().add_edges("x", [1.5], [2])
    hashed = pd.DataFrame({"source": np.array([2**64 - 1, 2], dtype=np.uint64),
                           "target": np.array([2, 3], dtype=np.uint64)})
    with pytest.raises(InvalidInputError, match="does not fit in int64"):
        load_edges(hashed, layer="x")
    with pytest.raises(InvalidInputError, match="does not fit in int64"):
        GraphBuilder().add_edges("x", hashed.source, hashed.target)
    assert load_edges(hashed.astype(str), layer="x").id_map.kind == "str"


def test_ids_given_as_a_set_a_table_or_a_score_list_and_bad_dense_indices():
    """QA (API) F12/F14: a set of seeds was read as one id ("not in the graph: {1, 2}"), a leader table /
    scores.top(k) gave an IndexError, and ids_of([-1]) silently returned the last account."""
    from graphcrm.algorithms import pagerank, simulate

    g = GraphBuilder().add_edges("x", [1, 2, 3, 4], [2, 3, 4, 1]).build()
    by_set = simulate(g, {1, 3}, layer="x", n_runs=50)
    assert by_set.mean == simulate(g, [1, 3], layer="x", n_runs=50).mean
    top = pagerank(g, layer="x").top(2)
    assert simulate(g, top, layer="x", n_runs=50).mean >= 2
    assert g.index_of(pd.DataFrame({"account_id": [4, 2]})).tolist() == g.index_of([4, 2]).tolist()
    with pytest.raises(ParameterError, match="flat list"):
        simulate(g, [[1, 2]], layer="x")
    with pytest.raises(ParameterError, match="needs an account_id column"):
        g.index_of(pd.DataFrame({"id": [1]}))
    for bad in ([-1], [4]):
        with pytest.raises(ParameterError, match="outside 0 .. 3"):
            g.ids_of(bad)


def test_loaders_given_something_else_than_a_path_or_table_say_what_they_read():
    """QA (API) F9: load_edges([(1, 2)]) (or an array, a dict, a networkx graph) failed inside pathlib."""
    import networkx as nx

    from graphcrm.loaders import load_edges, load_interactions

    for source in ([(1, 2), (2, 3)], np.array([[1, 2]]), {"source": [1], "target": [2]}):
        with pytest.raises(ParameterError, match="source must be a file path, a pandas DataFrame"):
            load_edges(source)
    with pytest.raises(ParameterError, match="from_networkx"):
        load_interactions(nx.DiGraph([(1, 2)]))
