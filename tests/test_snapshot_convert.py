"""Snapshots (exact round trip, atomic replace) and conversions to scipy / networkx / igraph."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import igraph as ig
import networkx as nx
import numpy as np
import pytest

from graphcrm.loaders import GraphBuilder, SnapshotError
from graphcrm.loaders.convert import from_igraph, from_networkx, from_scipy, to_igraph, to_networkx, to_scipy
from graphcrm.loaders.snapshot import FORMAT_VERSION, PLAIN_FORMAT_VERSION, load_snapshot, read_manifest, save_snapshot
from graphcrm.loaders import build_graph, read_nodes, read_signed
from tests.conftest import dataset


def test_round_trip_real_higgs(tmp_path, higgs_graph):
    path = save_snapshot(higgs_graph, tmp_path / "higgs")
    for mmap in (True, False):
        back = load_snapshot(path, mmap=mmap)
        assert back.equals(higgs_graph)
    assert read_manifest(path)["format_version"] == PLAIN_FORMAT_VERSION     # no event segments: readable by graphcrm before format 2
    assert load_snapshot(path).layer("retweets").out_indices.flags.writeable is False


def test_round_trip_string_ids_attributes_and_signed(tmp_path):
    nodes = tmp_path / "n.csv"
    nodes.write_text("id,handle,cost\nann,@ann,2.5\nbob,@bob,1\n")
    signed = tmp_path / "s.csv"
    signed.write_text("ann,bob,-3,1700000000\nbob,cat,5,1700000100\n")
    g, _ = build_graph(read_nodes(nodes), read_signed(signed))
    back = load_snapshot(save_snapshot(g, tmp_path / "snap"))
    assert back.equals(g) and back.id_map.kind == "str"
    assert back.nodes.set_index("account_id").loc["ann", "handle"] == "@ann"


def test_replacing_keeps_only_the_new_snapshot(tmp_path):
    a = GraphBuilder().add_edges("x", [1], [2]).build()
    b = GraphBuilder().add_edges("x", [1, 2], [2, 3]).build()
    save_snapshot(a, tmp_path / "s")
    save_snapshot(b, tmp_path / "s")
    assert load_snapshot(tmp_path / "s").equals(b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_refuses_to_replace_a_foreign_directory(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("precious")
    with pytest.raises(SnapshotError, match="not a graphcrm snapshot; refusing"):
        save_snapshot(GraphBuilder().add_edges("x", [1], [2]).build(), tmp_path / "docs")
    assert (tmp_path / "docs" / "thesis.tex").read_text() == "precious"


def test_damaged_or_newer_snapshots_are_reported(tmp_path):
    path = save_snapshot(GraphBuilder().add_edges("x", [1], [2], [2.0]).build(), tmp_path / "s")
    with open(path / "layers" / "x" / "out_weights.npy", "ab") as fh:
        fh.write(b"junk")
    with pytest.raises(SnapshotError, match="out_weights.npy has .* bytes"):
        load_snapshot(path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SnapshotError, match="newer than this graphcrm reads"):
        load_snapshot(path)
    with pytest.raises(SnapshotError, match="no such snapshot"):
        load_snapshot(tmp_path / "missing")


SAVER = """
import sys
from graphcrm.loaders import load_edges
from graphcrm.loaders.snapshot import save_snapshot
g = load_edges(sys.argv[1], layer="edges")
print("ready", flush=True)
while True:
    save_snapshot(g, sys.argv[2])
"""


def test_interrupted_save_leaves_the_previous_snapshot_intact(tmp_path):
    """Kill a process in the middle of saving and open what is left (retried until caught mid-save)."""
    small = GraphBuilder().add_edges("edges", [1], [2]).build()
    target = tmp_path / "snap"
    rmat = dataset("synthetic/rmat17.txt.gz")
    caught = False
    for attempt in range(6):
        save_snapshot(small, target)
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(rmat), str(target)], stdout=subprocess.PIPE,
                                text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            deadline = time.monotonic() + 60
            while not list(tmp_path.glob(".snap.tmp-*")) and time.monotonic() < deadline:
                time.sleep(0.0005)
            time.sleep(0.003 * attempt)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        back = load_snapshot(target)   # the previous snapshot, or a complete new one: never a mix
        assert back.equals(small) or back.layer("edges").n_edges == 999_647
        if list(tmp_path.glob(".snap.tmp-*")):
            caught = True
            break
    assert caught, "no kill landed in the middle of a save in 6 attempts"
    save_snapshot(small, target)   # the next save cleans up what the killed one left behind
    assert not list(tmp_path.glob(".snap.tmp-*"))
    assert load_snapshot(target).equals(small)


def test_scipy_round_trip(wiki_graph):
    a = to_scipy(wiki_graph, "votes")
    assert a.shape == (7115, 7115) and a.nnz == 103_689
    back = from_scipy(a, layer="votes", ids=wiki_graph.id_map.ids)
    np.testing.assert_array_equal(back.layer("votes").out_indices, wiki_graph.layer("votes").out_indices)
    np.testing.assert_array_equal(to_scipy(wiki_graph, "votes", direction="in").toarray(), a.T.toarray())


def test_networkx_round_trip_and_cross_check(wiki_graph):
    nxg = to_networkx(wiki_graph, "votes")
    assert nxg.number_of_nodes() == 7115 and nxg.number_of_edges() == 103_689
    back = from_networkx(nxg, layer="votes")
    assert back.edges("votes").equals(wiki_graph.edges("votes"))
    undirected = from_networkx(nx.karate_club_graph(), layer="friends")
    assert undirected.layer("friends").n_edges == 2 * 78


def test_undirected_networkx_and_igraph_graphs_give_undirected_layers():
    """QA API F7: an undirected nx.Graph gave a directed layer of both arcs, so coreness was twice nx.core_number."""
    import gzip

    from graphcrm.algorithms import coreness

    with gzip.open(dataset("ego-Facebook/facebook_combined.txt.gz"), "rt") as f:
        friends = nx.read_edgelist(f, nodetype=int)
    expected = nx.core_number(friends)
    g = from_networkx(friends)
    lay = g.layer("edges")
    assert lay.undirected and lay.n_ties == friends.number_of_edges() == lay.n_edges // 2
    core = coreness(g, layer="edges")
    assert {k: int(core[k]) for k in expected} == expected
    ig_friends = ig.Graph.from_networkx(friends)
    ig_friends.vs["name"] = ig_friends.vs["_nx_name"]
    from_ig = from_igraph(ig_friends)
    assert from_ig.layer("edges").undirected and from_ig.edges("edges").equals(g.edges("edges"))
    assert {k: int(v) for k, v in zip(from_ig.id_map.ids, coreness(from_ig, layer="edges").values)} == expected
    directed = from_networkx(friends.to_directed())                 # both arcs, on purpose: a directed layer
    assert not directed.layer("edges").undirected and directed.edges("edges").equals(g.edges("edges"))
    multi = from_networkx(nx.MultiGraph([(1, 2, {"weight": 2.0}), (2, 1, {"weight": 3.0})]))
    assert multi.edges("edges").weight.tolist() == [5.0, 5.0]      # parallel ties add up, as on a MultiDiGraph


def test_converters_are_exported():
    """QA API F22: from_networkx / from_igraph / from_scipy lived in graphcrm.loaders.convert only."""
    import graphcrm
    import graphcrm.loaders

    for name in ("from_networkx", "from_igraph", "from_scipy"):
        assert getattr(graphcrm, name) is getattr(graphcrm.loaders, name) is globals()[name]
        assert name in graphcrm.__all__ and name in graphcrm.loaders.__all__


def test_igraph_round_trip_and_cross_check(higgs_graph):
    g = to_igraph(higgs_graph, "retweets")
    assert g.vcount() == 304_691 and g.ecount() == 328_132
    lay = higgs_graph.layer("retweets")
    np.testing.assert_array_equal(np.array(g.degree(mode="out")), lay.out_degree())
    np.testing.assert_allclose(np.array(g.strength(mode="in", weights="weight")), lay.in_strength())
    back = from_igraph(g, layer="retweets")
    assert back.edges("retweets").equals(higgs_graph.edges("retweets"))
    assert from_igraph(ig.Graph.Famous("Zachary"), layer="k").layer("k").n_edges == 156


def test_a_full_disk_while_writing_names_the_snapshot(tmp_path):
    """ENOSPC mid-write said only "No space left on device" (QA nightly F8); the old version stays."""
    import errno

    from graphcrm.loaders.builder import GraphBuilder
    from graphcrm.loaders.snapshot import commit_snapshot, load_snapshot, save_snapshot

    snap = save_snapshot(GraphBuilder().add_edges("follows", [1], [2]).build(), tmp_path / "snap")

    def full_disk(tmp):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as caught:
        commit_snapshot(snap, full_disk, previous=None, history="replace", keep_versions=None)
    assert caught.value.filename == str(snap) and "the stored one is unchanged" in caught.value.strerror
    assert load_snapshot(snap).n_nodes == 2 and [p.name for p in tmp_path.iterdir()] == ["snap"]


def test_arrays_of_the_other_byte_order_read_as_the_same_values(tmp_path):
    """The header type check refused a snapshot copied from a big-endian machine as damaged (review)."""
    import numpy as np

    from graphcrm.loaders.builder import GraphBuilder
    from graphcrm.loaders.snapshot import load_snapshot, save_snapshot

    graph = GraphBuilder().add_edges("trust", [1, 2, 3], [2, 3, 1], [1.0, -2.0, 3.0]).build()
    snap = save_snapshot(graph, tmp_path / "snap")
    for rel in ("ids.npy", "layers/trust/out_weights.npy", "layers/trust/out_indices.npy"):
        values = np.load(snap / rel)
        np.save(snap / rel, values.astype(values.dtype.newbyteorder(">")))
    assert load_snapshot(snap).equals(graph)


def test_node_names_that_would_become_one_account_are_named():
    """``1`` and ``"1"`` in one networkx graph gave 'the same account id appears on several rows'."""
    from graphcrm.loaders.convert import from_igraph, from_networkx
    from graphcrm.loaders.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=r"nodes 1 and '1' would both be account '1': .*mix integers and text"):
        from_networkx(nx.DiGraph([(1, "1"), ("1", 2)]))
    with pytest.raises(InvalidInputError, match=r"nodes 'a' and ' a' would both be account 'a': .*surrounding spaces"):
        from_networkx(nx.DiGraph([("a", " a")]))
    named = ig.Graph([(0, 1), (1, 2)], directed=True)
    named.vs["name"] = [7, "7", "b"]
    with pytest.raises(InvalidInputError, match="nodes 7 and '7'"):
        from_igraph(named)
    assert from_networkx(nx.DiGraph([(1, "a"), ("b", 2)])).id_map.ids.tolist() == ["1", "2", "a", "b"]
