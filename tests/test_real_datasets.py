"""Counts on the real files equal the published ones; layers equal the higgs network files."""

from __future__ import annotations

import gzip

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from graphcrm.loaders import load_edges, load_signed, read_edges, read_interactions
from tests.conftest import dataset


def test_higgs_activity_counts(higgs_graph):
    g = higgs_graph
    assert g.n_nodes == 304_691
    events = {name: len(g.layer(name).events) for name in g.layer_names}
    assert events == {"retweets": 354_930, "mentions": 171_237, "replies": 36_902}
    assert sum(events.values()) == 563_069
    assert g.time_span() == (1_341_100_972, 1_341_705_593)


@pytest.mark.parametrize("layer, file, lines", [
    ("retweets", "higgs-retweet_network.edgelist.gz", 328_132),
    ("replies", "higgs-reply_network.edgelist.gz", 32_523),
    ("mentions", "higgs-mention_network.edgelist.gz", 150_818),
])
def test_higgs_layer_weights_equal_network_files(higgs_graph, layer, file, lines):
    """Activity 'A B t RT' aggregated = the published weighted network 'A B w' (in influence direction)."""
    net = pd.read_csv(dataset(f"higgs-twitter/{file}"), sep=" ", header=None, names=["a", "b", "w"])
    assert len(net) == lines
    ours = higgs_graph.edges(layer)
    if higgs_graph.layer(layer).spec.direction == "reverse":   # RT / RE: B influences A
        ours = ours.rename(columns={"src": "b", "dst": "a"})
    else:                                                     # MT: A influences B
        ours = ours.rename(columns={"src": "a", "dst": "b"})
    merged = net.merge(ours, on=["a", "b"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    np.testing.assert_array_equal(merged["w"].to_numpy(), merged["weight"].to_numpy())


def test_wiki_vote_counts_and_degrees_match_networkx(wiki_graph, wiki_vote):
    g = wiki_graph
    assert (g.n_nodes, g.layer("votes").n_edges) == (7_115, 103_689)
    with gzip.open(wiki_vote, "rt") as fh:
        ref = nx.read_edgelist(fh, comments="#", create_using=nx.DiGraph, nodetype=int)
    ids = g.id_map.ids
    lay = g.layer("votes")
    assert dict(zip(ids.tolist(), lay.out_degree().tolist())) == dict(ref.out_degree())
    assert dict(zip(ids.tolist(), lay.in_degree().tolist())) == dict(ref.in_degree())


def test_email_eu_core_counts():
    path = dataset("email-Eu-core/email-Eu-core.txt.gz")
    kept = load_edges(path, layer="email", self_loops="keep")
    assert (kept.n_nodes, kept.layer("email").n_edges) == (1_005, 25_571)
    dropped = read_edges(path, layer="email")
    from graphcrm.loaders import build_graph
    g, reports = build_graph(dropped)
    loops = reports[0].build["self_loops_dropped"]
    assert g.layer("email").n_edges == 25_571 - loops and loops > 0


@pytest.mark.parametrize("file, nodes, edges", [
    ("soc-sign-bitcoinotc.csv.gz", 5_881, 35_592),
    ("soc-sign-bitcoinalpha.csv.gz", 3_783, 24_186),   # this copy has a header line
])
def test_bitcoin_signed_counts(file, nodes, edges):
    g = load_signed(dataset(f"soc-sign-bitcoin/{file}"))
    trust = g.layer("trust")
    assert (g.n_nodes, trust.n_edges) == (nodes, edges)
    assert trust.spec.signed and trust.out_weights.min() >= -10 and trust.out_weights.max() <= 10
    assert (trust.out_weights < 0).sum() > 0
    assert len(trust.events) == edges
    assert set(np.unique(trust.events.sentiment)) <= {-1.0, 1.0}


def test_ego_facebook_and_rmat17_counts():
    fb = load_edges(dataset("ego-Facebook/facebook_combined.txt.gz"), layer="friends")
    friends = fb.layer("friends")              # undirected by convention: each tie stored both ways, counted once
    assert (fb.n_nodes, friends.n_ties, friends.n_edges) == (4_039, 88_234, 2 * 88_234) and friends.undirected
    rmat = load_edges(dataset("synthetic/rmat17.txt.gz"), layer="edges")
    assert (rmat.n_nodes, rmat.layer("edges").n_edges) == (77_410, 999_647)


def test_higgs_through_the_precise_reader_gives_the_same_graph(tmp_path, higgs_graph):
    """Force the line-by-line reader (a comment mid-file) on a slice and compare with the fast reader."""
    src = dataset("higgs-twitter/higgs-activity_time.txt.gz")
    with gzip.open(src, "rt") as fh:
        lines = [next(fh) for _ in range(20_000)]
    clean = tmp_path / "clean.txt"
    clean.write_text("".join(lines))
    dirty = tmp_path / "dirty.txt"
    dirty.write_text("".join(lines[:10_000]) + "# a comment in the middle\n" + "".join(lines[10_000:]))
    a, b = read_interactions(clean), read_interactions(dirty)
    assert a.report.path_taken == "fast" and b.report.path_taken == "precise"
    from graphcrm.loaders import build_graph
    assert build_graph(a)[0].equals(build_graph(b)[0])


def test_shuffled_file_rows_give_the_same_graph(tmp_path):
    """Row order of a real file does not change the graph (ids, edges, weights, events)."""
    src = dataset("higgs-twitter/higgs-activity_time.txt.gz")
    with gzip.open(src, "rt") as fh:
        lines = [next(fh) for _ in range(50_000)]
    shuffled = list(lines)
    np.random.default_rng(11).shuffle(shuffled)
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("".join(lines))
    b.write_text("".join(shuffled))
    from graphcrm.loaders import load_interactions
    assert load_interactions(a).equals(load_interactions(b))
