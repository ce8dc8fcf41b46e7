"""Communities: hand-made graphs, determinism, quality against igraph/networkx, email-Eu-core departments, CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from graphcrm.algorithms import community_profiles, compare_partitions, leiden, louvain
from graphcrm.loaders import GraphBuilder
from graphcrm.loaders import load_edges, load_nodes
from tests.conftest import dataset


def two_cliques(shuffle_seed=None):
    edges = [(a, b) for a in range(5) for b in range(5) if a < b]
    edges += [(a, b) for a in range(5, 10) for b in range(5, 10) if a < b] + [(4, 5)]
    if shuffle_seed is not None:
        np.random.default_rng(shuffle_seed).shuffle(edges)
    return GraphBuilder().add_edges("x", [a for a, _ in edges], [b for _, b in edges]).build(), edges


def test_two_cliques_are_two_communities():
    g, edges = two_cliques()
    for part in (leiden(g, layer="x"), louvain(g, layer="x"), leiden(g, layer="x", directed=True)):
        assert part.membership.tolist() == [0] * 5 + [1] * 5
    expected_q = nx.algorithms.community.modularity(nx.Graph(edges), [set(range(5)), set(range(5, 10))])
    assert leiden(g, layer="x").quality == pytest.approx(expected_q)


def test_profiles_by_hand():
    g, _ = two_cliques()
    part = leiden(g, layer="x")
    prof = community_profiles(g, part, layer="x").set_index("community")
    assert prof["size"].tolist() == [5, 5] and prof.internal_density.tolist() == [1.0, 1.0]
    # each clique: 10 internal ties (volume 20) + 1 cut tie -> conductance 1 / 21
    assert prof.conductance.tolist() == pytest.approx([1 / 21, 1 / 21])
    # bridge ends 4 and 5: 4 ties inside, 1 outside -> participation 1 - (0.8^2 + 0.2^2) = 0.32
    assert prof.loc[0, "bridges"].split(";")[0] == "4" and prof.loc[0, "bridge_participation"] == pytest.approx(0.32)


def test_same_seed_same_partition_whatever_the_row_order():
    a, _ = two_cliques()
    b, _ = two_cliques(shuffle_seed=3)
    assert np.array_equal(leiden(a, layer="x", seed=5).membership, leiden(b, layer="x", seed=5).membership)
    w1 = load_edges(dataset("wiki-Vote/wiki-Vote.txt.gz"), layer="votes")
    edges = w1.edges("votes").sample(frac=1.0, random_state=1)
    w2 = GraphBuilder().add_edges("votes", edges.src.to_numpy(), edges.dst.to_numpy(), direction="forward").build()
    p1, p2 = leiden(w1, layer="votes", seed=7), leiden(w2, layer="votes", seed=7)
    assert np.array_equal(p1.membership, p2.membership) and p1.quality == p2.quality


def test_quality_is_igraphs_modularity_and_beats_louvain_on_wiki_vote(wiki_graph):
    import igraph as ig

    part = leiden(wiki_graph, layer="votes", seed=1)
    g = ig.Graph(n=wiki_graph.n_nodes, edges=wiki_graph.edges("votes")[["src", "dst"]].map(
        lambda x: int(wiki_graph.index_of([x])[0])).to_numpy(), directed=False).simplify()
    assert part.quality == pytest.approx(g.modularity(part.membership.tolist()))
    assert part.quality > 0.42
    assert part.quality >= louvain(wiki_graph, layer="votes", seed=1).quality - 0.01


def test_email_departments_nmi():
    g = load_edges(dataset("email-Eu-core/email-Eu-core.txt.gz"), layer="email")
    labels = load_nodes(dataset("email-Eu-core/email-Eu-core-department-labels.txt.gz"), columns=["id", "department"])
    truth = labels.nodes.department.to_numpy()
    nmi = compare_partitions(leiden(g, layer="email", seed=1), truth)
    assert 0.5 < nmi <= 1.0
    assert compare_partitions(truth, truth) == pytest.approx(1.0)
    assert compare_partitions(truth, truth, method="ari") == pytest.approx(1.0)


def test_compare_partitions_matches_labels_by_account_id():
    """QA API F2: a Series of departments by account id was read by position (NMI 0.077 for 0.596 shuffled)."""
    from graphcrm.loaders import NodeNotFoundError, ParameterError

    g = load_edges(dataset("email-Eu-core/email-Eu-core.txt.gz"), layer="email")
    labels = load_nodes(dataset("email-Eu-core/email-Eu-core-department-labels.txt.gz"), columns=["id", "department"])
    dense = labels.nodes.department.to_numpy()                      # by dense index (sorted ids)
    by_id = pd.Series(dense, index=g.id_map.ids).sample(frac=1, random_state=0)
    part = leiden(g, layer="email", seed=1)
    nmi = compare_partitions(part, dense)
    assert 0.5 < nmi <= 1.0
    for labels_b in (by_id, by_id.to_dict(), pd.DataFrame({"account_id": by_id.index, "community": by_id.values})):
        assert compare_partitions(part, labels_b) == pytest.approx(nmi)
        assert compare_partitions(labels_b, part, method="ari") == pytest.approx(compare_partitions(
            part, dense, method="ari"))
    assert compare_partitions(part.to_frame().sample(frac=1, random_state=1), by_id) == pytest.approx(nmi)
    some = by_id.iloc[:500]                                         # labels of some accounts: compared on those
    assert compare_partitions(part, some) == pytest.approx(compare_partitions(
        part.membership[g.index_of(some.index.to_numpy())], some.to_numpy()))
    with pytest.raises(NodeNotFoundError, match="99999"):
        compare_partitions(part, pd.concat([by_id, pd.Series({99999: 1})]))
    with pytest.raises(ParameterError, match="dense index"):
        compare_partitions(by_id, dense)
    with pytest.raises(ParameterError, match="2 labels for a partition of 1005"):
        compare_partitions(part, [0, 1])


EXE = shutil.which("graphcrm")


def test_communities_cli(tmp_path):
    env = dict(os.environ, CI="true")
    snap = tmp_path / "email"
    subprocess.run([EXE, "load", "--edges", str(dataset("email-Eu-core/email-Eu-core.txt.gz")), "--layer", "email",
                    "--out", str(snap)], check=True, env=env, capture_output=True)
    proc = subprocess.run([EXE, "communities", str(snap), "--out", str(tmp_path / "p.csv"), "--profiles",
                           str(tmp_path / "prof.parquet"), "--seed", "3", "--json"], env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    part = pd.read_csv(tmp_path / "p.csv")
    prof = pd.read_parquet(tmp_path / "prof.parquet")
    assert len(part) == 1005 and part.community.nunique() == summary["communities"] == len(prof)
    assert prof["size"].sum() == 1005 and prof["size"].is_monotonic_decreasing


def test_consensus_confidence():
    from graphcrm.algorithms import consensus

    g, _ = two_cliques()
    part = consensus(g, layer="x", n_runs=5, seed=1)
    assert part.membership.tolist() == [0] * 5 + [1] * 5
    assert (part.info["confidence"] == 1.0).all()
    email = load_edges(dataset("email-Eu-core/email-Eu-core.txt.gz"), layer="email")
    noisy = consensus(email, layer="email", n_runs=6, seed=2)
    conf = noisy.info["confidence"]
    assert 0.5 < conf.mean() < 1.0 and conf.min() < 1.0 and len(conf) == email.n_nodes


def test_membership_confidence_by_hand():
    from graphcrm.algorithms.community import membership_confidence

    reference = np.array([0, 0, 0, 1, 1])
    runs = [np.array([7, 7, 7, 3, 3]), np.array([1, 1, 2, 2, 2])]
    # run 2: community 0's best match is label 1 (two members), so node 2 is off; community 1 -> label 2
    np.testing.assert_allclose(membership_confidence(reference, runs), [1.0, 1.0, 0.5, 1.0, 1.0])


def test_tracking_events_on_hand_made_windows():
    from graphcrm.algorithms import track_communities

    day = 86400
    a = [(i, j) for i in range(6) for j in range(6) if i < j]          # group A, days 0 and 1
    b = [(i, j) for i in range(10, 16) for j in range(10, 16) if i < j]  # group B, day 0 only
    c = [(i, j) for i in range(20, 26) for j in range(20, 26) if i < j]  # group C, day 1 only
    a_big = [(i, j) for i in range(9) for j in range(9) if i < j]        # A grows on day 1
    rows = [(u, v, 0) for u, v in a + b] + [(u, v, day) for u, v in a_big + c]
    g = GraphBuilder().add_events("retweets", [r[0] for r in rows], [r[1] for r in rows],
                                  time=[r[2] for r in rows]).build()
    tr = track_communities(g, [(0, day), (day, 2 * day)], min_size=3)
    day1 = tr[tr.window == 1].set_index("event")
    assert set(tr[tr.window == 0].event) == {"born"}
    assert {"grown", "born", "dissolved"} <= set(day1.index)
    assert day1.loc["grown", "size"] == 9 and day1.loc["born", "size"] == 6


def test_signed_camps_on_bitcoin():
    from graphcrm.algorithms import signed_communities
    from graphcrm.loaders import load_signed

    g = load_signed(dataset("soc-sign-bitcoin/soc-sign-bitcoinalpha.csv.gz"))
    part = signed_communities(g, layer="trust", seed=1)
    # negative ties fall between camps far more often than positive ones do
    assert part.info["negative_ties_between"] > 0.8 > 1 - part.info["positive_ties_within"]
    h = GraphBuilder().add_edges("trust", [0, 1, 0, 2, 3, 4], [1, 2, 2, 3, 4, 5], [5, 5, 5, -5, 5, 5]).build()
    camps = signed_communities(h, layer="trust", seed=0)
    m = camps.membership
    assert m[0] == m[1] == m[2] and m[3] == m[4] == m[5] and m[2] != m[3]


def test_multilayer_partition_uses_both_layers():
    from graphcrm.algorithms import multilayer_leiden

    # follows says {0..3} {4..7}; interactions agree; one layer alone would miss nothing, together they agree
    f = [(a, b) for a in range(4) for b in range(4) if a != b] + [(a, b) for a in range(4, 8) for b in range(4, 8) if a != b]
    i = [(0, 1), (1, 2), (2, 3), (4, 5), (5, 6), (6, 7), (3, 4)]
    g = (GraphBuilder().add_edges("follows", [a for a, _ in f], [b for _, b in f])
         .add_events("retweets", [a for a, _ in i], [b for _, b in i], time=[1] * len(i)).build())
    part = multilayer_leiden(g, layers={"follows": 1.0, "retweets": 1.0}, seed=0)
    assert part.membership.tolist() == [0] * 4 + [1] * 4


def test_profiles_report_activity_over_time_by_hand():
    day = 86_400
    # two triangles of retweets joined by one tie; triangle 1..3 is active on days 0 and 2, 4..6 only on day 9
    src = [1, 2, 3, 2, 3, 4, 5, 6, 3]
    dst = [2, 3, 1, 1, 2, 5, 6, 4, 4]
    when = [0, 2 * day, 2 * day + 60, 2 * day + 120, 2 * day + 180, 9 * day, 9 * day + 1, 9 * day + 2, 5 * day]
    g = GraphBuilder().add_events("retweets", src, dst, time=when).build()
    part = leiden(g, layer="retweets", seed=1)
    assert len(set(part.membership[:3])) == 1 and len(set(part.membership[3:])) == 1
    prof = community_profiles(g, part, layer="retweets").set_index("community")
    a, b = int(part.membership[0]), int(part.membership[3])
    assert prof.loc[a, "internal_interactions"] == 5 and prof.loc[b, "internal_interactions"] == 3
    assert prof.loc[a, "active_days"] == 2 and prof.loc[b, "active_days"] == 1
    assert prof.loc[a, "busiest_day"] == "1970-01-03" and prof.loc[a, "busiest_day_interactions"] == 4
    assert prof.loc[a, "first_activity"] == pd.Timestamp(0, unit="s", tz="UTC")
    assert prof.loc[b, "last_activity"] == pd.Timestamp(9 * day + 2, unit="s", tz="UTC")
    # the log spans days 0..9 (middle 4.5): all of a's events are early, all of b's late
    assert prof.loc[a, "activity_trend"] == -1.0 and prof.loc[b, "activity_trend"] == 1.0
    g2, _ = two_cliques()       # no timestamps: no activity columns
    assert "internal_interactions" not in community_profiles(g2, leiden(g2, layer="x"), layer="x").columns


def test_a_command_line_process_imports_igraph_without_matplotlib(tmp_path):
    """The CLI sets GRAPHCRM_LEAN_IGRAPH: Leiden runs, matplotlib (0.3 s of start-up) is never imported."""
    from graphcrm.algorithms._igraph_import import LEAN_ENV

    code = ("import sys\nfrom graphcrm.loaders import GraphBuilder\nfrom graphcrm.algorithms import leiden\n"
            "g = GraphBuilder().add_edges('x', [0, 1, 2, 3, 4, 5, 2], [1, 2, 0, 4, 5, 3, 3]).build()\n"
            "print(sorted(set(leiden(g, layer='x').membership.tolist())), 'matplotlib' in sys.modules)\n")
    env = dict(os.environ)
    env.pop(LEAN_ENV, None)
    lean = subprocess.run([sys.executable, "-c", code], env={**env, LEAN_ENV: "1"}, capture_output=True, text=True)
    assert lean.returncode == 0, lean.stderr
    assert lean.stdout.split() == ["[0,", "1]", "False"]
    import importlib.util

    if importlib.util.find_spec("matplotlib") is not None:   # elsewhere igraph keeps its plotting backend
        usual = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert usual.stdout.split()[-1] == "True", usual.stderr
    cli = (Path(__file__).resolve().parents[1] / "graphcrm" / "cli" / "__init__.py").read_text()
    assert f'"{LEAN_ENV}", "1"' in cli


def test_a_warm_start_runs_one_iteration_unless_most_ties_are_new():
    """A grown graph (5% more ties) refines the earlier partition in one pass, within 0.002 of a cold run;
    when most ties touch accounts the earlier partition lacks, the cold iteration count is used."""
    g = load_edges(dataset("email-Eu-core/email-Eu-core.txt.gz"), layer="email")
    src, dst, _ = g.layer("email").edge_arrays()
    ids = g.id_map.ids
    rng = np.random.default_rng(3)
    keep = rng.random(len(src)) < 0.95

    def built(mask):
        return GraphBuilder().add_edges("email", ids[src[mask]], ids[dst[mask]]).build()

    earlier = leiden(built(keep), layer="email", seed=2)
    warm = leiden(g, layer="email", seed=2, initial=earlier)
    cold = leiden(g, layer="email", seed=2)
    assert warm.info["n_iterations"] == 1 and cold.info["n_iterations"] == 2
    assert abs(warm.quality - cold.quality) <= 0.002
    few = np.isin(src, np.arange(100)) & np.isin(dst, np.arange(100))      # 100 of 1,005 accounts
    sparse = leiden(g, layer="email", seed=2, initial=leiden(built(few), layer="email", seed=2))
    assert sparse.info["n_iterations"] == 2
    assert leiden(g, layer="email", seed=2, initial=earlier, n_iterations=3).info["n_iterations"] == 3


# ------------------------------------------------------------------------------ QA (analyst journey) regressions
@pytest.fixture(scope="module")
def email_snapshot(tmp_path_factory):
    snap = tmp_path_factory.mktemp("email") / "email"
    proc = subprocess.run([EXE, "load", "--edges", str(dataset("email-Eu-core/email-Eu-core.txt.gz")), "--out",
                           str(snap)], env=dict(os.environ, CI="true"), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return snap


def cli(*args):
    proc = subprocess.run([EXE, *map(str, args)], env=dict(os.environ, CI="true"), capture_output=True, text=True,
                          timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def one_line_error(err: str) -> str:
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_previous_with_text_community_labels_is_a_one_line_error(tmp_path, email_snapshot):
    named = tmp_path / "named.csv"
    named.write_text("account_id,community\n0,7\n1,it\n2,it\n")
    code, _, err = cli("communities", email_snapshot, "--previous", named, "--out", tmp_path / "w.csv")
    assert code == 1 and not (tmp_path / "w.csv").exists()
    assert one_line_error(err) == (f"error: {named}, line 3, field 'community': 'it' is not an integer community id; "
                                   "--previous keeps the integer ids graphcrm writes (number named groups first)")
    twice = tmp_path / "twice.csv"
    twice.write_text("account_id,community\n0,1\n5,1\n0,2\n")
    code, _, err = cli("communities", email_snapshot, "--previous", twice, "--out", tmp_path / "w.csv")
    assert code == 1 and "np.int64" not in err
    assert one_line_error(err).startswith(f"error: {twice}, line 4, field 'account_id': account '0' appears in more")
    floats = tmp_path / "floats.csv"        # a spreadsheet round trip: 3.0 is community 3
    floats.write_text("account_id,community\n0,3.0\n1,3.0\n2,\n")
    code, _, err = cli("communities", email_snapshot, "--previous", floats, "--out", tmp_path / "w.csv")
    assert code == 0, err


def test_stable_labels_number_new_communities_after_the_largest_earlier_id_read_as_text():
    from graphcrm.algorithms.community import stable_labels
    from graphcrm.loaders.errors import ParameterError
    from graphcrm.loaders.idmap import IdMap
    from graphcrm.loaders.results import Partition

    # ids read back from a CSV are text: "9" > "10" as text, so a new community must still get 11, not 10
    before = pd.Series(["9", "9", "10", "10"], index=["a", "b", "c", "d"])
    after = Partition(np.array([0, 0, 1, 1, 2]), IdMap(["a", "b", "c", "d", "e"]))
    labels, info = stable_labels(before, after)
    assert labels.tolist() == [9, 9, 10, 10, 11] and info["kept_share"] == 1.0
    with pytest.raises(ParameterError, match="'sales' is not an integer id"):
        stable_labels(pd.Series(["sales", "sales", "it", "it"], index=["a", "b", "c", "d"]), after)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "0", "-1"])
def test_resolution_must_be_a_finite_number_above_zero(tmp_path, email_snapshot, bad):
    code, _, err = cli("communities", email_snapshot, "--out", tmp_path / "c.csv", f"--resolution={bad}")
    assert code == 2 and not (tmp_path / "c.csv").exists()
    assert one_line_error(err) == f"error: --resolution must be a finite number > 0, got {float(bad)}"


def test_the_python_functions_refuse_a_nan_or_infinite_resolution():
    from graphcrm.algorithms import consensus, multilayer_leiden, signed_communities
    from graphcrm.loaders.errors import ParameterError

    g, _ = two_cliques()
    s = GraphBuilder().add_edges("trust", [0, 1, 2], [1, 2, 0], [1, -1, 1]).build()
    calls = [lambda r: leiden(g, layer="x", resolution=r), lambda r: leiden(g, layer="x", resolution=r, method="numba"),
             lambda r: leiden(g, layer="x", resolution=r, directed=True), lambda r: louvain(g, layer="x", resolution=r),
             lambda r: consensus(g, layer="x", n_runs=2, resolution=r),
             lambda r: multilayer_leiden(g, layers={"x": 1.0}, resolution=r),
             lambda r: signed_communities(s, layer="trust", resolution=r)]
    for call in calls:
        for bad in (float("nan"), float("inf")):
            with pytest.raises(ParameterError, match="resolution must be a finite number > 0"):
                call(bad)


@pytest.mark.parametrize("args, message", [
    (["--method", "louvain", "--runs", "3"], "--runs applies to --method leiden only"),
    (["--method", "louvain", "--directed"], "--directed applies to --method leiden only"),
    (["--method", "louvain", "--objective", "cpm"], "--objective applies to --method leiden only"),
    (["--method", "louvain", "--engine", "numba"], "--engine applies to --method leiden only"),
    (["--method", "louvain", "--runs", "2", "--directed"], "--runs and --directed apply to --method leiden only"),
    (["--runs", "0"], "--runs must be >= 1, got 0"),
    (["--runs", "-3"], "--runs must be >= 1, got -3"),
    (["--engine", "numba", "--directed"], "--engine numba covers undirected modularity only: use --engine igraph"),
    (["--engine", "numba", "--objective", "cpm"], "--engine numba covers undirected modularity only"),
])
def test_options_that_would_not_apply_are_refused_not_ignored(tmp_path, email_snapshot, args, message):
    code, _, err = cli("communities", email_snapshot, "--out", tmp_path / "c.csv", *args)
    assert code == 2 and message in one_line_error(err) and not (tmp_path / "c.csv").exists()


def test_consensus_runs_apply_directed_and_engine(tmp_path, email_snapshot):
    """--runs N with --directed / --engine numba runs every seed that way (they were silently dropped)."""
    for args, key, value in ((["--directed"], "directed", True), (["--engine", "numba"], "implementation", "numba")):
        code, out, err = cli("communities", email_snapshot, "--out", tmp_path / "c.csv", "--runs", "2", "--json", *args)
        assert code == 0, err
        summary = json.loads(out)
        assert summary["method"] == "consensus" and summary[key] == value


def _cpm_by_hand(edges: pd.DataFrame, labels: dict, gamma: float) -> float:
    """igraph's CPM scale: sum over communities of (2 * internal ties - gamma * size^2) / (2 * ties), over the
    accounts with a tie."""
    g = nx.Graph()
    g.add_edges_from(zip(edges.src, edges.dst))
    g.remove_edges_from(nx.selfloop_edges(g))
    g.remove_nodes_from(list(nx.isolates(g)))         # an account whose only tie was to itself
    groups = pd.Series({n: labels[n] for n in g.nodes})
    internal = sum(1 for a, b in g.edges if labels[a] == labels[b])
    return (2 * internal - gamma * (groups.value_counts() ** 2).sum()) / (2 * g.number_of_edges())


@pytest.mark.parametrize("args", [["--objective", "cpm", "--resolution", "0.05"],
                                  ["--objective", "cpm", "--resolution", "0.05", "--runs", "3"],
                                  ["--resolution", "2"], ["--resolution", "2", "--runs", "3"]])
def test_the_printed_quality_is_named_for_what_it_is(tmp_path, email_snapshot, args):
    """Modularity (resolution 1) under its name, and the objective's own value beside it: --runs printed Newman's
    Q labelled "cpm", a single run at resolution 2 printed the resolution-2 value labelled "modularity"."""
    out = tmp_path / "c.csv"
    code, text, err = cli("communities", email_snapshot, "--out", out, "--seed", "1", "--json", *args)
    assert code == 0, err
    summary = json.loads(text)
    part = pd.read_csv(out)
    labels = dict(zip(part.account_id, part.community))
    edges = pd.read_csv(dataset("email-Eu-core/email-Eu-core.txt.gz"), sep=" ", names=["src", "dst"])
    g = nx.Graph()
    g.add_edges_from(zip(edges.src, edges.dst))
    g.remove_edges_from(nx.selfloop_edges(g))
    groups = pd.Series(labels).loc[list(g.nodes)]
    communities = [set(members) for _, members in groups.groupby(groups).groups.items()]
    assert summary["modularity"] == pytest.approx(nx.algorithms.community.modularity(g, communities), abs=1e-9)
    if "cpm" in args:
        assert summary["objective"] == "cpm" and summary["quality"] == pytest.approx(_cpm_by_hand(edges, labels, 0.05))
        name = "cpm"
    else:
        assert summary["quality"] == pytest.approx(
            nx.algorithms.community.modularity(g, communities, resolution=2), abs=1e-9)
        name = "modularity"
    code, text, err = cli("communities", email_snapshot, "--out", out, "--seed", "1", *args)
    assert text.splitlines()[0] == (f"wrote {out}: {summary['communities']} communities, modularity "
                                    f"{summary['modularity']:.4f} (resolution 1); objective {name} "
                                    f"{summary['quality']:.4f} at resolution {float(args[args.index('--resolution') + 1]):g}")


def test_bridges_are_members_with_a_tie_to_another_community():
    """Two 5-cliques joined by 4-5, a separate triangle and an isolated account: the only bridges are 4 and 5;
    the triangle has none and the isolated account is not its own bridge."""
    edges = [(a, b) for a in range(5) for b in range(5) if a < b]
    edges += [(a, b) for a in range(5, 10) for b in range(5, 10) if a < b] + [(4, 5), (20, 21), (21, 22), (20, 22)]
    g = (GraphBuilder().add_edges("x", [a for a, _ in edges], [b for _, b in edges])
         .add_edges("other", [30], [31]).build())                   # 30 and 31 have no tie on layer x
    part = leiden(g, layer="x", seed=0)
    prof = community_profiles(g, part, layer="x")
    rows = prof.set_index("community")
    by_member = {a: rows.loc[int(part.membership[g.index_of([a])[0]])] for a in (0, 9, 20, 30, 31)}
    assert by_member[0].bridges == "4" and by_member[9].bridges == "5"
    assert by_member[0].bridge_participation == pytest.approx(0.32)
    for lone in (20, 30, 31):
        assert by_member[lone].bridges == "" and by_member[lone].bridge_participation == 0.0


def test_every_output_path_is_checked_before_anything_is_written(tmp_path, email_snapshot):
    out = tmp_path / "p.csv"
    code, _, err = cli("communities", email_snapshot, "--out", out, "--profiles", tmp_path / "prof.txt")
    assert code == 2 and not out.exists()             # --out was written before --profiles was refused
    assert one_line_error(err) == f"error: {tmp_path / 'prof.txt'}: output must end in .csv or .parquet"
    code, _, err = cli("communities", email_snapshot, "--out", out, "--profiles", out)
    assert code == 2 and not out.exists() and "--out and --profiles name the same file" in one_line_error(err)


def test_a_partition_file_of_no_account_of_the_graph_is_an_error_and_a_partial_one_a_note(tmp_path, email_snapshot):
    nomatch = tmp_path / "nomatch.csv"
    nomatch.write_text("account_id,community\nx,1\ny,2\n")
    expected = f"error: {nomatch}: none of its 2 accounts is in the graph (1,005 accounts): a partition of another graph?"
    for verb, option in (("communities", "--previous"), ("rank", "--partition")):
        code, out, err = cli(verb, email_snapshot, option, nomatch, "--out", tmp_path / "o.csv")
        assert code == 1 and one_line_error(err) == expected and not (tmp_path / "o.csv").exists(), out
    # the first 300 accounts of a real partition, one of them unknown to the graph
    part = tmp_path / "p.csv"
    assert cli("communities", email_snapshot, "--out", part, "--seed", "1")[0] == 0
    half = tmp_path / "half.csv"
    pd.concat([pd.read_csv(part).head(300), pd.DataFrame({"account_id": [99999], "community": [0]})]).to_csv(
        half, index=False)
    note = f"note: {{}} {half}: 300 of its 301 accounts are in the graph, which gives 300 of its 1,005 accounts a community"
    code, out, err = cli("rank", email_snapshot, "--partition", half, "--out", tmp_path / "r.csv", "--top", "2")
    assert code == 0 and note.format("--partition") in out.splitlines(), err
    code, out, err = cli("communities", email_snapshot, "--previous", half, "--out", tmp_path / "w.csv", "--json")
    assert code == 0, err
    tracking = json.loads(out)["tracking"]
    assert tracking["previous_match"] == {"rows": 301, "in_graph": 300, "graph_accounts": 1005, "graph_covered": 300}
    assert tracking["shared"] == 300 and 0 < tracking["kept_share"] <= 1
    code, out, err = cli("communities", email_snapshot, "--previous", half, "--out", tmp_path / "w.csv")
    assert note.format("--previous") in out.splitlines()


def test_kept_share_of_no_shared_account_is_not_a_hundred_percent():
    from graphcrm.algorithms.community import stable_labels
    from graphcrm.loaders.idmap import IdMap
    from graphcrm.loaders.results import Partition

    labels, info = stable_labels(pd.Series([1, 2], index=["x", "y"]), Partition(np.array([0, 0, 1]), IdMap(["a", "b", "c"])))
    assert np.isnan(info["kept_share"]) and info["shared"] == 0 and labels.tolist() == [3, 3, 4]


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    """Version 1: layer 'a' (two triangles); version 2 adds layer 'b'."""
    root = tmp_path_factory.mktemp("versions")
    (root / "a.csv").write_text("src,dst\n1,2\n2,3\n3,1\n4,5\n5,6\n6,4\n3,4\n")
    (root / "b.csv").write_text("src,dst\n1,5\n2,6\n")
    snap = root / "snap"
    assert cli("load", "--edges", root / "a.csv", "--layer", "a", "--out", snap)[0] == 0
    code, _, err = cli("load", "--append", snap, "--edges", root / "b.csv", "--layer", "b")
    assert code == 0, err
    return snap


def test_since_must_name_an_earlier_version(tmp_path, two_versions):
    out = tmp_path / "c.csv"
    code, _, err = cli("communities", two_versions, "--as-of", "1", "--since", "2", "--out", out, "--layer", "a")
    assert code == 2 and not out.exists()
    assert one_line_error(err) == ("error: --since 2 (version 2) is not earlier than --as-of 1 (version 1): --since "
                                   "names the earlier version to warm-start from")
    code, _, err = cli("communities", two_versions, "--since", "2", "--out", out, "--layer", "a")
    assert code == 2 and "is not earlier than the current version (2)" in one_line_error(err)
    code, out_text, err = cli("communities", two_versions, "--since", "1", "--out", out, "--layer", "a")
    assert code == 0 and "since 1: 100.0% of the accounts in both kept their community id" in out_text, err


def test_since_errors_name_the_option_and_the_version(tmp_path, two_versions):
    code, _, err = cli("communities", two_versions, "--since", "foo", "--out", tmp_path / "c.csv")
    assert code == 2 and one_line_error(err) == ("error: --since 'foo': expected a version number, an ISO-8601 "
                                                 "time or Unix seconds")
    code, _, err = cli("communities", two_versions, "--since", "1", "--layer", "b", "--out", tmp_path / "c.csv")
    assert code == 2 and one_line_error(err) == (f"error: --since 1: version 1 of {two_versions} has no layer 'b' "
                                                 "yet (its layers: a); give a later --since")


def test_communities_on_a_signed_layer_say_the_negative_ties_are_left_out(tmp_path):
    path = dataset("soc-sign-bitcoin/soc-sign-bitcoinalpha.csv.gz")
    snap = tmp_path / "alpha"
    assert cli("load", "--signed", path, "--out", snap)[0] == 0
    ratings = pd.read_csv(path).set_axis(["src", "dst", "rating", "time"], axis=1)
    negative = int((ratings[ratings.src != ratings.dst].drop_duplicates(["src", "dst"]).rating < 0).sum())
    code, out, err = cli("communities", snap, "--layer", "trust", "--out", tmp_path / "c.csv", "--json")
    assert code == 0, err
    assert json.loads(out)["negative_ties_ignored"] == negative == 1536
    code, out, err = cli("communities", snap, "--layer", "trust", "--out", tmp_path / "c.csv")
    assert out.splitlines()[-1] == (f"note: trust: {negative:,} negative ties left out (communities of the positive "
                                    "ties; supporter / critic camps: signed_communities(graph, layer='trust') in Python)")
    code, out, _ = cli("communities", "--help")
    assert "signed_communities" in " ".join(out.split())


def test_python_api_mixups_are_clear_parameter_errors():
    from graphcrm.algorithms import multilayer_leiden, signed_communities
    from graphcrm.loaders.errors import ParameterError

    email = load_edges(dataset("email-Eu-core/email-Eu-core.txt.gz"), layer="follows")
    small, _ = two_cliques()
    with pytest.raises(ParameterError, match="the partition has 10 accounts, the graph 1,005: the partition belongs "
                                             "to another graph"):
        community_profiles(email, leiden(small, layer="x", seed=1), layer="follows")
    with pytest.raises(ParameterError, match="the partition has 1,005 accounts, the graph 10"):
        community_profiles(small, leiden(email, layer="follows", seed=1), layer="x")
    other = GraphBuilder().add_edges("x", list(range(100, 109)), list(range(101, 110))).build()   # 10 other ids
    with pytest.raises(ParameterError, match="same count, other ids"):
        community_profiles(small, leiden(other, layer="x"), layer="x")
    with pytest.raises(ParameterError, match="layer 'strength' has no interaction layers to combine"):
        multilayer_leiden(email, layers={"strength": 1.0})
    with pytest.raises(ParameterError, match="layer 'follows' has no negative ties: signed_communities needs a "
                                             "signed layer"):
        signed_communities(email, layer="follows")


def test_notebook_01_and_the_leaders_docstring_state_what_the_code_computes():
    """Conductance is cut / min(volume, rest) -- a share of tie ends, not 'the share of a community's ties that
    leave it'; the influence score is 100 ln G / ln(0.5 / n), not 100 (1 - t)."""
    import graphcrm.leaders as leaders_module

    g = load_edges(dataset("email-Eu-core/email-Eu-core.txt.gz"), layer="email")
    part = leiden(g, layer="email", seed=1)
    row = community_profiles(g, part, layer="email").iloc[0]
    nxg = nx.Graph(g.to_networkx("email").to_undirected())
    nxg.remove_edges_from(nx.selfloop_edges(nxg))
    members = {n for n, c in zip(g.id_map.ids, part.membership) if c == row.community}
    internal = nxg.subgraph(members).number_of_edges()
    cut = sum(1 for a, b in nxg.edges if (a in members) != (b in members))
    volume = 2 * internal + cut
    assert row.conductance == pytest.approx(cut / min(volume, 2 * nxg.number_of_edges() - volume))
    assert row.conductance < cut / (internal + cut) - 0.1        # the notebook's old wording: far off here
    notebook = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "01-communities.ipynb").read_text())
    text = " ".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown").replace("\n", " ")
    assert "share of a community's ties that leave it" not in text
    assert "over the smaller of its volume -- twice its internal ties plus the leaving ones -- and the rest" in text
    doc = " ".join(leaders_module.__doc__.split())
    assert "100 * (1 - t)" not in doc and "influence_score = 100 * ln(G) / ln(0.5 / n)" in doc
    values = np.array([1.0, 2.0, 3.0, 4.0])
    tails = (4 - np.array([1, 2, 3, 4]) + 0.5) / 4            # accounts at or above, plus half an account
    np.testing.assert_allclose(leaders_module.combined_score({"a": values}, {"a": 1.0}),
                               100 * np.log(tails) / np.log(0.5 / 4))


def test_multilayer_leaves_accounts_without_ties_alone_and_reports_each_layers_modularity():
    """QA (API) F18: multilayer_leiden took 342 s on higgs (one-layer Leiden 0.6 s): it iterated until no
    improvement and optimised every account of every layer, isolated ones included. It now runs 2 iterations
    (as leiden) on the accounts with a tie in some layer; info['modularity'] gives each layer's Newman Q,
    checked against networkx."""
    import networkx as nx

    from graphcrm.algorithms import multilayer_leiden

    f = [(a, b) for a in range(4) for b in range(4) if a != b] + [(a, b) for a in range(4, 8) for b in range(4, 8) if a != b]
    i = [(0, 1), (1, 2), (2, 3), (4, 5), (5, 6), (6, 7), (3, 4)]
    g = (GraphBuilder().add_edges("follows", [a for a, _ in f], [b for _, b in f])
         .add_events("retweets", [a for a, _ in i], [b for _, b in i], time=[1] * len(i))
         .add_nodes([100, 101]).build())
    part = multilayer_leiden(g, layers={"follows": 1.0, "retweets": 1.0}, seed=0)
    labels = dict(zip(g.id_map.ids.tolist(), part.membership.tolist()))
    assert len({labels[a] for a in range(4)}) == 1 and len({labels[a] for a in range(4, 8)}) == 1
    assert labels[100] != labels[101] and {labels[100], labels[101]}.isdisjoint({labels[0], labels[4]})
    ref = nx.Graph()
    ref.add_edges_from(i)
    groups = [{a for a in range(8) if labels[a] == c} for c in {labels[a] for a in range(8)}]
    assert part.info["modularity"]["retweets"] == pytest.approx(nx.community.modularity(ref, groups), abs=1e-12)
    assert part.info["n_iterations"] == 2


@pytest.mark.parametrize("method", ["leiden", "louvain"])
def test_a_weight_column_of_ones_gives_the_communities_of_the_file_without_it(method):
    """QA invariance F4: a pair listed both ways weighed 1 in an unweighted layer but 2 in a weighted one, even
    when every weight was 1 (a column of 1s, or networkx's default): 27 communities and Q 0.4175 without the
    column, 26 and 0.4282 with it, on email-Eu-core."""
    from graphcrm.loaders import from_networkx, load_edges

    rng = np.random.default_rng(2)
    src, dst = rng.integers(0, 300, 3000), rng.integers(0, 300, 3000)
    src = np.r_[src, dst[:800]]                       # 800 pairs listed both ways
    dst = np.r_[dst, src[:800]]
    frame = pd.DataFrame({"source": src, "target": dst}).drop_duplicates()    # a repeated row would weigh 2
    frame = frame[frame.source != frame.target]
    plain = load_edges(frame, layer="x")
    ones = load_edges(frame.assign(weight=1.0), layer="x")
    nxg = from_networkx(nx.DiGraph(list(zip(frame.source.tolist(), frame.target.tolist()))), layer="x")
    assert ones.layer("x").weighted and not plain.layer("x").weighted
    run = leiden if method == "leiden" else louvain
    results = [run(g, layer="x", seed=3) for g in (plain, ones, nxg)]
    for g, r in zip((ones, nxg), results[1:]):
        assert r.quality == pytest.approx(results[0].quality, abs=1e-12)
        order = np.argsort(g.ids_of(np.arange(g.n_nodes)))
        assert np.array_equal(r.membership[order], results[0].membership[np.argsort(plain.ids_of(np.arange(plain.n_nodes)))])
    counted = load_edges(frame.assign(weight=np.where(np.arange(len(frame)) < 1000, 2.0, 1.0)), layer="x")
    assert run(counted, layer="x", seed=3).quality != pytest.approx(results[0].quality)
