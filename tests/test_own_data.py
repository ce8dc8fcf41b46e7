"""Users' own files: size lines, probability columns, renamed headers, given probabilities (issue 19).

Every case is generated at test time from the real shared files, in the shapes users bring: the
influence-maximization format (``n m`` first line, rows ``u v p``), a CSV whose headers are not ours.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphcrm.algorithms.planning import plan_seeds
from graphcrm.loaders import GraphBuilder
from graphcrm.loaders.snapshot import load_snapshot
from tests.conftest import dataset

WIKI_NODES, WIKI_EDGES = 7_115, 103_689          # SNAP's published counts for wiki-Vote


def graphcrm(*args, env=None) -> subprocess.CompletedProcess:
    exe = shutil.which("graphcrm") or str(Path(sys.executable).with_name("graphcrm"))
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "GRAPHCRM_PROGRESS": "0", **(env or {})})


@pytest.fixture(scope="module")
def wiki_pairs():
    with gzip.open(dataset("wiki-Vote/wiki-Vote.txt.gz"), "rt") as fh:
        rows = [line.split() for line in fh if line.strip() and not line.startswith("#")]
    src = np.array([int(r[0]) for r in rows])
    dst = np.array([int(r[1]) for r in rows])
    p = np.round(np.random.default_rng(7).uniform(0.01, 0.2, len(src)), 6)
    return src, dst, p


@pytest.fixture(scope="module")
def im_file(tmp_path_factory, wiki_pairs):
    """wiki-Vote as an influence-maximization file: 'n m', then 'u v p'."""
    src, dst, p = wiki_pairs
    path = tmp_path_factory.mktemp("im") / "wiki-im.txt"
    n = len(np.unique(np.r_[src, dst]))
    with open(path, "w") as fh:
        fh.write(f"{n} {len(src)}\n")
        fh.writelines(f"{a} {b} {q}\n" for a, b, q in zip(src, dst, p))
    return path


def test_size_line_is_an_error_that_names_skip_rows(im_file, tmp_path):
    proc = graphcrm("load", "--edges", im_file, "--out", tmp_path / "s")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "line 1" in proc.stderr and "--skip-rows 1" in proc.stderr and "size line" in proc.stderr
    assert not (tmp_path / "s").exists()


def test_size_line_loaded_as_an_edge_is_warned_about(im_file, tmp_path):
    two = tmp_path / "two-columns.txt"
    with open(im_file) as fh, open(two, "w") as out:
        out.writelines(" ".join(line.split()[:2]) + "\n" for line in fh)
    proc = graphcrm("load", "--edges", two, "--out", tmp_path / "s")
    assert proc.returncode == 0
    assert "warning:" in proc.stderr and "looks like a size line" in proc.stderr and "--skip-rows 1" in proc.stderr
    proc = graphcrm("load", "--edges", two, "--skip-rows", "1", "--out", tmp_path / "s", "--json")
    assert proc.returncode == 0 and "warning" not in proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["nodes"] == WIKI_NODES and summary["edges"] == {"follows": WIKI_EDGES}


def test_given_probabilities_plan_like_the_same_probabilities_in_memory(im_file, wiki_pairs, tmp_path):
    snap = tmp_path / "wiki"
    proc = graphcrm("load", "--edges", im_file, "--skip-rows", "1", "--layer", "influence", "--out", snap, "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["nodes"] == WIKI_NODES and summary["edges"] == {"influence": WIKI_EDGES}
    first = summary["read_as"][str(im_file)]
    assert "layer 'influence' (forward)" in first and "influence" in first
    src, dst, p = wiki_pairs
    memory = GraphBuilder().add_edges("influence", src, dst, p).build()
    loaded = load_snapshot(snap)
    a = plan_seeds(loaded, layer="influence", k=10, prob="weight", seed=3)
    b = plan_seeds(memory, layer="influence", k=10, prob="weight", seed=3)
    assert a.seed_ids == b.seed_ids and a.expected_reach == pytest.approx(b.expected_reach)
    assert a.seed_ids != plan_seeds(memory, layer="influence", k=10, prob="wc", seed=3).seed_ids
    proc = graphcrm("plan", snap, "--layer", "influence", "--k", "10", "--prob", "weight", "--seed", "3",
                    "--evaluate-runs", "200", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [str(s) for s in json.loads(proc.stdout)["seeds"]] == [str(s) for s in a.seed_ids]
    proc = graphcrm("simulate", snap, "--layer", "influence", "--prob", "weight", "--seeds", str(a.seed_ids[0]),
                    "--runs", "500")
    assert proc.returncode == 0, proc.stderr


def test_probabilities_outside_0_1_and_bad_values_are_named(wiki_pairs, tmp_path):
    src, dst, p = wiki_pairs
    big = tmp_path / "big.txt"
    q = p.copy()
    q[100] = 1.5
    big.write_text("".join(f"{a} {b} {x}\n" for a, b, x in zip(src[:2000], dst[:2000], q[:2000])))
    snap = tmp_path / "big"
    assert graphcrm("load", "--edges", big, "--layer", "influence", "--out", snap).returncode == 0
    proc = graphcrm("simulate", snap, "--layer", "influence", "--prob", "weight", "--seeds", str(src[0]))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "outside [0, 1]" in proc.stderr
    assert "max 1.5" in proc.stderr and "'influence'" in proc.stderr
    unweighted = tmp_path / "plain"
    plain = tmp_path / "plain.txt"
    plain.write_text("1 2\n2 3\n")
    assert graphcrm("load", "--edges", plain, "--layer", "influence", "--out", unweighted).returncode == 0
    proc = graphcrm("simulate", unweighted, "--layer", "influence", "--prob", "weight", "--seeds", "1")
    assert proc.returncode == 2 and "no edge weights" in proc.stderr
    for bad_value in ("nan", "abc", "inf"):
        f = tmp_path / f"bad-{bad_value}.txt"
        rows = [f"{a} {b} {x}\n" for a, b, x in zip(src[:50], dst[:50], p[:50])]
        rows[9] = f"{src[9]} {dst[9]} {bad_value}\n"
        f.write_text("".join(rows))
        proc = graphcrm("load", "--edges", f, "--layer", "influence", "--out", tmp_path / "x")
        assert proc.returncode == 1 and proc.stderr.count("\n") == 1, (bad_value, proc.stderr)
        assert f"{f}, line 10, field 'weight'" in proc.stderr, proc.stderr
        proc = graphcrm("load", "--edges", f, "--layer", "influence", "--mode", "lenient", "--out", tmp_path / "x",
                        "--json")
        assert proc.returncode == 0 and json.loads(proc.stdout)["rejected_rows"] == 1


def test_renamed_headers_map_with_column_options(wiki_pairs, tmp_path):
    src, dst, p = wiki_pairs
    f = tmp_path / "crm-export.csv"
    pd.DataFrame({"voter": src, "candidate": dst, "strength": p, "note": "x"}).to_csv(f, index=False)
    proc = graphcrm("load", "--edges", f, "--layer", "influence", "--out", tmp_path / "s", "--json")
    assert proc.returncode == 1 and "missing column" in proc.stderr          # our names are not theirs
    proc = graphcrm("load", "--edges", f, "--layer", "influence", "--source-col", "voter", "--target-col", "candidate",
                    "--weight-col", "strength", "--out", tmp_path / "s", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["nodes"] == WIKI_NODES and summary["edges"] == {"influence": WIKI_EDGES}
    g = load_snapshot(tmp_path / "s")
    assert g.layer("influence").weighted
    np.testing.assert_allclose(np.sort(g.layer("influence").out_weights), np.sort(p))
    # by position, in a file without header: target first
    f2 = tmp_path / "swapped.txt"
    f2.write_text("".join(f"{b} {a} {q}\n" for a, b, q in zip(src[:500], dst[:500], p[:500])))
    proc = graphcrm("load", "--edges", f2, "--layer", "influence", "--source-col", "2", "--target-col", "1",
                    "--weight-col", "3", "--out", tmp_path / "s2", "--json")
    assert proc.returncode == 0, proc.stderr
    assert f"row '{src[0]} {dst[0]}'" in json.loads(proc.stdout)["read_as"][str(f2)]


# ---------------------------------------------------------------------------- undirected ties
FB_NODES, FB_EDGES = 4_039, 88_234            # SNAP's published counts for ego-Facebook (undirected)


@pytest.fixture(scope="module")
def facebook(tmp_path_factory):
    snap = tmp_path_factory.mktemp("fb") / "fb"
    proc = graphcrm("load", "--edges", dataset("ego-Facebook/facebook_combined.txt.gz"), "--layer", "friends",
                    "--out", snap, "--json")
    assert proc.returncode == 0, proc.stderr
    return snap, json.loads(proc.stdout)


def test_undirected_ties_count_once_like_the_publisher_and_networkx(facebook):
    import networkx as nx

    from graphcrm.algorithms import coreness, degree
    from graphcrm.leaders import opinion_leaders

    snap, summary = facebook
    assert summary["nodes"] == FB_NODES and summary["edges"] == {"friends": FB_EDGES}
    assert summary["undirected_layers"] == ["friends"]
    g = load_snapshot(snap)
    lay = g.layer("friends")
    assert lay.undirected and lay.n_ties == FB_EDGES and lay.n_edges == 2 * FB_EDGES
    ref = nx.read_edgelist(dataset("ego-Facebook/facebook_combined.txt.gz"), nodetype=int)
    ids = g.id_map.ids
    want_degree = np.array([ref.degree(int(i)) for i in ids])
    assert np.array_equal(degree(g, layer="friends", mode="out").values, want_degree)
    assert np.array_equal(degree(g, layer="friends", mode="in").values, want_degree)
    core = nx.core_number(ref)
    assert np.array_equal(coreness(g, layer="friends").values, [core[int(i)] for i in ids])
    leaders = opinion_leaders(g, layer="friends", top=20, reach_samples=20_000).set_index("account_id")
    assert all(leaders.audience_size[i] == ref.degree(int(i)) for i in leaders.index)
    proc = graphcrm("info", snap)
    assert "layer friends: 88,234 edges" in proc.stdout and "undirected" in proc.stdout


def test_undirected_flag_and_duplicates_both_ways(tmp_path):
    f = tmp_path / "coauthors.txt"
    f.write_text("a b 3\nb a 3\nb c 1\nc c 2\n")       # a-b listed both ways, and a self-tie
    proc = graphcrm("load", "--edges", f, "--layer", "coauthors", "--undirected", "--self-loops", "keep",
                    "--out", tmp_path / "s", "--json")
    assert proc.returncode == 0, proc.stderr
    g = load_snapshot(tmp_path / "s")
    lay = g.layer("coauthors")
    assert lay.undirected and lay.n_ties == 3 and json.loads(proc.stdout)["edges"] == {"coauthors": 3}
    from graphcrm.algorithms.community import undirected_edges
    u, v, w = undirected_edges(lay)
    pairs = {(g.id_map.ids[a], g.id_map.ids[b]): x for a, b, x in zip(u, v, w)}
    assert pairs == {("a", "b"): 3.0, ("b", "c"): 1.0}                 # a tie weighs what the file says, once
    directed = GraphBuilder().add_edges("coauthors", ["a", "b", "b"], ["b", "a", "c"], [3.0, 3.0, 1.0]).build()
    assert directed.layer("coauthors").n_ties == 3 and not directed.layer("coauthors").undirected
    with pytest.raises(Exception, match="undirected layer cannot keep a timestamped event log"):
        GraphBuilder().add_edges("friends", [1], [2], time=[5]).build()


def test_info_counts_an_undirected_layer_in_ties_like_networkx(tmp_path):
    """`info` of an undirected layer: ties, the rows read and the weight sum as networkx counts them (each tie once,
    a repeated tie at its largest weight), not the stored arcs."""
    import networkx as nx

    f = tmp_path / "friends.txt"
    f.write_text("a b 2\nb c 3\nc a 5\na b 7\nb a 1\nd d 4\n")
    assert graphcrm("load", "--edges", f, "--layer", "friends", "--out", tmp_path / "s").returncode == 0
    proc = graphcrm("info", tmp_path / "s", "--json")
    lay = json.loads(proc.stdout)["layers"]["friends"]
    ref = nx.Graph()
    for line in f.read_text().split("\n"):
        if line and line.split()[0] != line.split()[1]:
            u, v, w = line.split()
            ref.add_edge(u, v, weight=max(float(w), ref.get_edge_data(u, v, {"weight": 0})["weight"]))
    assert lay["edges"] == ref.number_of_edges() == 3
    assert lay["weight"]["sum"] == ref.size(weight="weight") == 15
    assert lay["build"]["rows"] == 6 and lay["build"]["arcs"] == 11
    text = graphcrm("info", tmp_path / "s").stdout
    assert "sum 15" in text and "built from 6 rows (11 arcs)" in text


def test_communities_and_report_agree_on_a_signed_snapshot(tmp_path):
    snap = tmp_path / "trust"
    assert graphcrm("load", "--signed", dataset("soc-sign-bitcoin/soc-sign-bitcoinalpha.csv.gz"),
                    "--out", snap).returncode == 0
    proc = graphcrm("communities", snap, "--out", tmp_path / "part.csv", "--json", "--seed", "2")
    assert proc.returncode == 0, proc.stderr
    communities = json.loads(proc.stdout)
    proc = graphcrm("report", snap, "--out", tmp_path / "r.html", "--runs", "200", "--seed", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["communities"] == communities["communities"]
    assert report["modularity"] == pytest.approx(communities["quality"], abs=1e-4)
    # a trust log's positive ratings are its engagement: the report checks the leader score out of time there too
    assert report["backtest"]["split"] and report["backtest"]["leader_default_scorer"]["scorer"] in (
        "forecast", "engagement_decayed", "in_degree", "combined")


VERBS = ["load", "info", "rank", "forecast", "backtest", "communities", "simulate", "plan", "reach", "contain",
         "link", "segments", "economics", "run", "erase", "report", "demo", "warmup", "neo4j push", "neo4j pull",
         "neo4j write-back", "neo4j erase", "db serve"]


def test_every_verb_help_has_a_runnable_looking_example():
    for verb in VERBS:
        proc = graphcrm(*verb.split(), "--help", env={"COLUMNS": "200"})
        assert proc.returncode == 0, (verb, proc.stderr)
        assert f"Example: graphcrm {verb}" in proc.stdout, verb


def test_options_that_do_not_apply_are_refused_not_ignored(tmp_path):
    """`--layer` with only --signed or --interactions, and `--undirected` without --edges, were silently ignored;
    self-loop rows dropped are counted in the load summary."""
    rows = tmp_path / "r.txt"
    rows.write_text("1 2 1\n2 3 -1\n3 3 1\n")
    signed = graphcrm("load", "--signed", rows, "--layer", "foo", "--out", tmp_path / "a")
    assert signed.returncode == 2 and "--signed-layer" in signed.stderr
    events = tmp_path / "e.csv"
    events.write_text("actor,target,type,time\n1,2,RT,5\n")
    for option in (("--undirected",), ("--layer", "x")):
        done = graphcrm("load", "--interactions", events, *option, "--out", tmp_path / "b")
        assert done.returncode == 2 and "applies to --edges files" in done.stderr, done.stderr
    loaded = graphcrm("load", "--edges", rows, "--layer", "calls", "--out", tmp_path / "c")
    assert loaded.returncode == 0 and "calls: 1 self-loop rows dropped" in loaded.stdout


def test_own_files_from_spreadsheets_load_as_written(tmp_path):
    """QA own-data F4/F5/F7/F11: a headerless first row with a number was read as a header because a text field
    was a column name ("1,user,10"); NULL / #N/A ids became a hub without a word; zip codes and phone numbers
    in a node table lost their leading zeros and plus signs; a row starting with a hashtag vanished as a
    comment."""
    (tmp_path / "e.csv").write_text("1,2\n2,3\n")
    (tmp_path / "n.csv").write_text("1,user,10\n2,admin,20\n")
    proc = graphcrm("load", "--edges", tmp_path / "e.csv", "--nodes", tmp_path / "n.csv", "--out", tmp_path / "a")
    assert proc.returncode == 0, proc.stderr
    g = load_snapshot(tmp_path / "a")
    assert g.id_map.ids.tolist() == [1, 2, 3] and g.node_attributes.iloc[:2, 0].tolist() == ["user", "admin"]

    (tmp_path / "nulls.csv").write_text("source,target\n1,NULL\n2,NULL\n3,#N/A\n4,x\n")
    proc = graphcrm("load", "--edges", tmp_path / "nulls.csv", "--out", tmp_path / "b")
    assert proc.returncode == 0 and "3 account ids read as missing-value markers (NULL: 2, #N/A: 1)" in proc.stderr

    (tmp_path / "people.csv").write_text("id,zip,phone,handle,score\n1,02134,+4917612345678,0012,1e5\n"
                                         "2,10115,+33123,abc,2.5\n")
    proc = graphcrm("load", "--edges", tmp_path / "e.csv", "--nodes", tmp_path / "people.csv", "--out", tmp_path / "c")
    assert proc.returncode == 0, proc.stderr
    attrs = load_snapshot(tmp_path / "c").node_attributes
    assert attrs.zip.tolist()[:2] == ["02134", "10115"] and attrs.phone.tolist()[:2] == ["+4917612345678", "+33123"]
    assert attrs.handle.tolist()[:2] == ["0012", "abc"] and attrs.score.tolist()[:2] == [100000.0, 2.5]

    (tmp_path / "tags.csv").write_text("source,target\nbob,#acme\n#acme,carol\n")
    proc = graphcrm("load", "--edges", tmp_path / "tags.csv", "--out", tmp_path / "d")
    assert proc.returncode == 0 and "1 line among the data starting with # or % skipped as comments" in proc.stderr
    (tmp_path / "tags.csv").write_text('source,target\nbob,#acme\n"#acme",carol\n')
    graphcrm("load", "--edges", tmp_path / "tags.csv", "--out", tmp_path / "e")
    assert load_snapshot(tmp_path / "e").n_nodes == 3


def test_dates_that_are_no_unix_seconds_are_said(tmp_path):
    """QA own-data F9: 20120704 (a date written YYYYMMDD) and Excel serial days are valid Unix seconds in 1970."""
    (tmp_path / "ymd.csv").write_text("actor,target,time,type\n1,2,20120704,RT\n2,3,41094.375,RT\n")
    proc = graphcrm("load", "--interactions", tmp_path / "ymd.csv", "--out", tmp_path / "s")
    assert proc.returncode == 0 and "every timestamp falls before 1980" in proc.stderr
    (tmp_path / "iso.csv").write_text("actor,target,time,type\n1,2,2012-07-04,RT\n2,3,1341400000,RT\n")
    proc = graphcrm("load", "--interactions", tmp_path / "iso.csv", "--out", tmp_path / "t")
    assert proc.returncode == 0 and "1980" not in proc.stderr


def test_a_layer_name_near_a_conventional_one_is_warned_about(tmp_path):
    """QA own-data F15: --layer Follows (or follow) is a custom forward layer, influence the opposite way to follows,
    and only the "read as" line showed it."""
    (tmp_path / "e.csv").write_text("1,2\n2,3\n")
    proc = graphcrm("load", "--edges", tmp_path / "e.csv", "--layer", "Follows", "--out", tmp_path / "s")
    assert proc.returncode == 0 and "--layer Follows is not the conventional layer 'follows'" in proc.stderr
    proc = graphcrm("load", "--edges", tmp_path / "e.csv", "--layer", "votes", "--out", tmp_path / "t")
    assert proc.returncode == 0 and "conventional" not in proc.stderr


def test_a_node_table_matching_no_account_of_the_ties_is_warned_about(tmp_path):
    """QA own-data F10: edges written 1.0, 2.0 (a pandas float export) and nodes 1, 2, 3 made 6 accounts
    without a word."""
    (tmp_path / "e.csv").write_text("source,target\n1.0,2.0\n2.0,3.0\n")
    (tmp_path / "n.csv").write_text("id,city\n1,Paris\n2,Rome\n3,Oslo\n")
    proc = graphcrm("load", "--edges", tmp_path / "e.csv", "--nodes", tmp_path / "n.csv", "--out", tmp_path / "s")
    assert proc.returncode == 0 and "none of its 3 ids is an account of the ties or events" in proc.stderr
    (tmp_path / "e.csv").write_text("source,target\n1,2\n2,3\n")
    proc = graphcrm("load", "--edges", tmp_path / "e.csv", "--nodes", tmp_path / "n.csv", "--out", tmp_path / "t")
    assert proc.returncode == 0 and "none of its" not in proc.stderr


def test_node_ids_spelled_another_way_than_some_tied_accounts_are_warned_about(tmp_path):
    """QA own-data: only a node table matching *no* tied account was warned about; `1.0` or `@2` among
    matching ids made separate accounts silently."""
    (tmp_path / "e.csv").write_text("source,target\n1,2\n2,3\n3,1\n")
    (tmp_path / "n.csv").write_text("id,city\n1.0,Paris\n@2,Rome\n3,Oslo\n4,Bonn\n")
    proc = graphcrm("load", "--edges", tmp_path / "e.csv", "--nodes", tmp_path / "n.csv", "--out", tmp_path / "s")
    assert proc.returncode == 0
    assert "2 of its ids without ties match a tied account written another way (first: '1.0' here, '1'" in proc.stderr
    (tmp_path / "n.csv").write_text("id,city\n1,Paris\n2,Rome\n4,Bonn\n")
    proc = graphcrm("load", "--edges", tmp_path / "e.csv", "--nodes", tmp_path / "n.csv", "--out", tmp_path / "t")
    assert proc.returncode == 0 and "written another way" not in proc.stderr


def test_a_header_naming_a_column_by_a_number_is_still_a_header(tmp_path):
    """QA own-data: `id,2020,2021` (sales by year) was read as data since a row with a number is data; a row
    starting with a column name, or naming two, is a header."""
    from graphcrm.loaders import read_edges, read_nodes

    (tmp_path / "n.csv").write_text("id,2020,2021\nann,5,6\nbob,7,8\n")
    parsed = read_nodes(tmp_path / "n.csv")
    assert parsed.report.rows_loaded == 2 and list(parsed.columns)[:3] == ["id", "2020", "2021"]
    (tmp_path / "e.csv").write_text("source,target,2020\n1,2,5\n2,3,6\n")
    assert read_edges(tmp_path / "e.csv", layer="x", columns={"actor": "source", "target": "target"}).report.rows_loaded == 2
    (tmp_path / "d.csv").write_text("1,user,10\n2,admin,20\n")       # still data: starts with no column name
    assert read_nodes(tmp_path / "d.csv").report.rows_loaded == 2


def test_a_top_list_cut_through_a_tie_shares_the_rank_and_says_so(tmp_path):
    """QA invariance F2: 97 accounts tie at the top coreness of email-Eu-core; `rank --method coreness --top 10`
    numbered ten of them 1..10 in id order (1 of 10 in common after renaming the accounts), without a word."""
    rows = [f"{a},{b}" for a in range(6) for b in range(6) if a != b] + ["5,6", "6,7"]       # a 6-clique and a tail
    (tmp_path / "e.csv").write_text("source,target\n" + "\n".join(rows) + "\n")
    assert graphcrm("load", "--edges", tmp_path / "e.csv", "--out", tmp_path / "s").returncode == 0
    proc = graphcrm("rank", tmp_path / "s", "--method", "coreness", "--top", "3", "--out", tmp_path / "r.csv")
    assert proc.returncode == 0, proc.stderr
    assert ("note: 6 accounts tie at coreness 10 (rank 1); the top 3 lists 3 of them, in account-id order"
            in proc.stdout) and "--top 6 lists the whole tie" in proc.stdout
    table = pd.read_csv(tmp_path / "r.csv")
    assert table["rank"].tolist() == [1, 1, 1]
    proc = graphcrm("rank", tmp_path / "s", "--method", "coreness", "--top", "6", "--out", tmp_path / "r.csv")
    assert pd.read_csv(tmp_path / "r.csv")["rank"].tolist() == [1] * 6 and "tie at" not in proc.stdout
    proc = graphcrm("rank", tmp_path / "s", "--method", "coreness", "--top", "8", "--out", tmp_path / "r.csv")
    assert pd.read_csv(tmp_path / "r.csv")["rank"].tolist() == [1] * 6 + [7, 7] and "tie at" not in proc.stdout
