"""The on-disk merge of ``load --append`` (graphcrm.loaders.merge): byte-identical to a full rebuild.

Random logs cut into two or three days (times increasing day over day, or overlapping), with
integer and string ids, per-event integer weights, sentiment, a static max layer, a static summed layer
and an undirected one: every CSR/CSC array and the id list equal a full rebuild's byte for byte, the graph read back
equals it, manifests and metadata equal those of the in-memory rebuild (appended_graph), and each stored
version still reads as the graph of its days; days that overlap in time (late arrivals) re-sort only the stored
event files they reach.  Non-integer sums fall back to the rebuild, with the same result.  A kill -9 during a merging append leaves the old version or the new one.
"""

from __future__ import annotations

import filecmp
import gzip
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from graphcrm.loaders import build_graph, read_edges, read_interactions
from graphcrm.loaders.append import appended_graph
from graphcrm.loaders.merge import append_snapshot
from graphcrm.loaders.snapshot import list_versions, load_snapshot, read_manifest, save_snapshot, verify_snapshot
from tests.conftest import dataset
from tests.killing import run_killed_after

event = st.tuples(st.integers(0, 25), st.integers(0, 25), st.sampled_from(["RT", "MT", "RE"]), st.integers(0, 400),
                  st.integers(1, 3), st.sampled_from([-0.5, 0.0, 0.25]))
tie = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(1, 4))


def _day_sources(events, ties, day, *, weights, sentiment, names, day_length=1_000):
    """Parsed sources of one day: its events (times shifted into the day) and its static ties.  Event times
    span 0..400 within a day: a ``day_length`` below 400 makes days overlap (late arrivals)."""
    out = []
    if events:
        frame = pd.DataFrame(events, columns=["actor", "target", "type", "time", "weight", "sentiment"])
        frame["time"] += 1_000_000 + day_length * day
        if not weights:
            frame = frame.drop(columns="weight")
        if not sentiment:
            frame = frame.drop(columns="sentiment")
        if names:
            frame["actor"] = "u" + frame.actor.astype(str)
            frame["target"] = "u" + frame.target.astype(str)
        out.append(read_interactions(frame))
    if ties:
        frame = pd.DataFrame(ties, columns=["src", "dst", "weight"])
        if names:
            frame["src"] = "u" + frame.src.astype(str)
            frame["dst"] = "u" + frame.dst.astype(str)
        out.append(read_edges(frame[["src", "dst"]], layer="follows"))
        out.append(read_edges(frame, layer="votes"))
        out.append(read_edges(frame[["src", "dst"]], layer="friends", undirected=True))
    return out


def _same_arrays(a: Path, b: Path) -> None:
    """Every .npy file of snapshot ``b`` (ids, CSR, CSC) is in ``a`` with the same bytes."""
    for f in sorted(b.rglob("*.npy")):
        rel = f.relative_to(b)
        if rel.parts[0] == "versions":
            continue
        assert filecmp.cmp(a / rel, f, shallow=False), rel


@settings(max_examples=40, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(events=st.lists(event, min_size=1, max_size=50), ties=st.lists(tie, max_size=16),
       cuts=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=2), weights=st.booleans(), sentiment=st.booleans(),
       names=st.booleans(), day_length=st.sampled_from([1_000, 150, 0]))
def test_merged_append_is_byte_identical_to_a_full_rebuild(tmp_path_factory, events, ties, cuts, weights, sentiment,
                                                            names, day_length):
    """Also with days that overlap in time (``day_length`` 150) or share one time range (0): late events are
    sorted into the stored event files they reach."""
    tmp = tmp_path_factory.mktemp("merge")
    bounds = [0] + sorted(int(c * len(events)) for c in cuts) + [len(events)]
    tie_bounds = [0] + sorted(int(c * len(ties)) for c in cuts) + [len(ties)]
    parts = [(events[a:b], ties[c:d], i)
             for i, (a, b, c, d) in enumerate(zip(bounds, bounds[1:], tie_bounds, tie_bounds[1:])) if b > a or d > c]

    def day(k):         # parsed afresh for each use: a load report records the build it went into
        return _day_sources(*parts[k], weights=weights, sentiment=sentiment, names=names, day_length=day_length)

    merged, rebuilt = tmp / "merged", tmp / "rebuilt"
    first = build_graph(*day(0))[0]
    save_snapshot(first, merged)
    save_snapshot(build_graph(*day(0))[0], rebuilt)
    graphs = [first]
    for i in range(1, len(parts)):
        result = append_snapshot(merged, *day(i))
        assert result.mode == "merge", result.reason
        reference, _ = appended_graph(load_snapshot(rebuilt, text=True), *day(i))
        save_snapshot(reference, rebuilt, history="append")
        full = build_graph(*(s for k in range(i + 1) for s in day(k)))[0]
        graphs.append(full)
        assert load_snapshot(merged).equals(full)
        assert load_snapshot(merged).equals(reference)
        whole = tmp / f"full-{i}"
        save_snapshot(full, whole)
        _same_arrays(merged, whole)
        got, want = read_manifest(merged), read_manifest(rebuilt)
        assert got["metadata"] == want["metadata"]
        assert got["n_nodes"] == want["n_nodes"] and got["node_columns"] == want["node_columns"]
        for name, info in want["layers"].items():
            mine = dict(got["layers"][name])
            mine.pop("event_segments", None)
            assert mine == info, name
        assert result.n_nodes == full.n_nodes
        assert {k: v["edges"] for k, v in result.layers.items()} == {k: v.n_ties for k, v in full.layers.items()}
    verify_snapshot(merged)
    for version, graph in zip(list_versions(merged), graphs):
        assert load_snapshot(version["path"]).equals(graph)


def test_late_events_reopen_only_the_stored_files_they_reach(tmp_path):
    day1 = pd.DataFrame({"actor": [1, 2], "target": [3, 3], "type": ["RT", "RT"], "time": [100, 200]})
    day2 = pd.DataFrame({"actor": [5, 1], "target": [3, 5], "type": ["RT", "RT"], "time": [300, 400],
                         "text": ["second day", None]})
    late = pd.DataFrame({"actor": [4, 0], "target": [3, 1], "type": ["RT", "RT"], "time": [350, 400],
                         "text": ["late", "tie at 400"]})
    snap = tmp_path / "snap"
    save_snapshot(build_graph(read_interactions(day1))[0], snap)
    assert append_snapshot(snap, read_interactions(day2)).mode == "merge"
    result = append_snapshot(snap, read_interactions(late))
    assert result.mode == "merge", result.reason
    full = build_graph(read_interactions(pd.concat([day1, day2, late])))[0]
    assert load_snapshot(snap, text=True).equals(full)
    whole = tmp_path / "whole"
    save_snapshot(full, whole)
    _same_arrays(snap, whole)
    # day 1's file is still linked, not rewritten; day 2's is split: its event before the late day's first stays a
    # file of its own (so a next late day does not reopen it), the rest is sorted with the late day
    segments = read_manifest(snap)["layers"]["retweets"]["event_segments"]
    assert segments == ["events.parquet", "events-000003-before.parquet", "events-000003.parquet"]
    import pyarrow.parquet as pq

    assert pq.read_table(snap / "layers/retweets" / segments[1]).column("time").to_pylist() == [300]
    assert (snap / "layers/retweets/events.parquet").samefile(
        list_versions(snap)[0]["path"] + "/layers/retweets/events.parquet")
    events = load_snapshot(snap).events("retweets")
    assert events.time.tolist() == [100, 200, 300, 350, 400, 400]
    # at 400 the late retweet of 1 (influence 1 -> 0) sorts before the stored retweet of 5 (5 -> 1), by source
    assert events.src.tolist()[-2:] == [1, 5]
    verify_snapshot(snap)


def test_fractional_sums_fall_back_to_the_rebuild(tmp_path):

    calls = pd.DataFrame({"src": ["a", "b"], "dst": ["b", "c"], "weight": [0.1, 0.2]})
    more = pd.DataFrame({"src": ["a"], "dst": ["b"], "weight": [0.7]})
    snap = tmp_path / "calls"
    save_snapshot(build_graph(read_edges(calls, layer="calls"))[0], snap)
    result = append_snapshot(snap, read_edges(more, layer="calls"))
    assert result.mode == "rebuild" and "integer" in result.reason
    old = build_graph(read_edges(calls, layer="calls"))[0]
    assert load_snapshot(snap).equals(appended_graph(old, read_edges(more, layer="calls"))[0])


def test_new_accounts_renumber_stored_event_files_without_rewriting_them(tmp_path):
    """Day 2 brings accounts that sort before day 1's: the day-1 event file is hard-linked, not rewritten."""
    day1 = pd.DataFrame({"actor": [10, 20], "target": [30, 30], "type": ["RT", "MT"], "time": [100, 200]})
    day2 = pd.DataFrame({"actor": [5, 25], "target": [10, 1], "type": ["RT", "MT"], "time": [300, 400]})
    snap = tmp_path / "snap"
    save_snapshot(build_graph(read_interactions(day1))[0], snap)
    before = (snap / "layers" / "retweets" / "events.parquet").stat().st_ino
    result = append_snapshot(snap, read_interactions(day2))
    assert result.mode == "merge" and result.new_accounts == 3
    assert (snap / "layers" / "retweets" / "events.parquet").stat().st_ino == before
    manifest = read_manifest(snap)
    assert manifest["layers"]["retweets"]["event_segments"] == ["events.parquet", "events-000002.parquet"]
    assert "arrival.npy" in manifest["files"]
    assert load_snapshot(snap).equals(build_graph(read_interactions(pd.concat([day1, day2])))[0])
    assert load_snapshot(snap / "versions" / "000001").equals(build_graph(read_interactions(day1))[0])


def test_node_tables_merge_as_the_builder_combines_them(tmp_path):
    from graphcrm.loaders import read_nodes

    (tmp_path / "n1.csv").write_text("id,followers\n1,10\n3,30\n")
    (tmp_path / "n2.csv").write_text("id,followers\n1,11\n0,5\n")
    day1 = pd.DataFrame({"actor": [1, 2], "target": [3, 3], "type": ["RT", "RT"], "time": [100, 200]})
    day2 = pd.DataFrame({"actor": [0], "target": [3], "type": ["RT"], "time": [300]})
    snap = tmp_path / "snap"
    old = build_graph(read_interactions(day1), read_nodes(tmp_path / "n1.csv"))[0]
    save_snapshot(old, snap)
    new = [read_interactions(day2), read_nodes(tmp_path / "n2.csv")]
    assert append_snapshot(snap, *new).mode == "merge"
    reference = appended_graph(old, *new)[0]
    assert load_snapshot(snap).equals(reference)
    pd.testing.assert_frame_equal(load_snapshot(snap).node_attributes, reference.node_attributes)


@pytest.fixture(scope="module")
def higgs_by_time(tmp_path_factory):
    """The higgs log sorted by time: its first 40,000 events, and the next 300,000 (a day after them)."""
    root = tmp_path_factory.mktemp("sorted")
    with gzip.open(dataset("higgs-twitter/higgs-activity_time.txt.gz"), "rt") as fh:
        rows = sorted(fh, key=lambda line: int(line.split()[2]))
    (root / "day1.txt").write_text("".join(rows[:40_000]))
    cut = int(rows[40_000 - 1].split()[2])
    later = [r for r in rows[40_000:] if int(r.split()[2]) > cut][:300_000]
    (root / "day2.txt").write_text("".join(later))
    (root / "all.txt").write_text("".join(rows[:40_000] + later))
    return root


def test_cli_merge_append_equals_full_load_on_higgs(higgs_by_time, tmp_path):
    exe = shutil.which("graphcrm")
    snap, full = tmp_path / "snap", tmp_path / "full"
    for args in (["--interactions", higgs_by_time / "all.txt", "--out", full],
                 ["--interactions", higgs_by_time / "day1.txt", "--out", snap]):
        assert subprocess.run([exe, "load", "--format", "higgs", *map(str, args)]).returncode == 0
    proc = subprocess.run([exe, "load", "--append", str(snap), "--interactions", str(higgs_by_time / "day2.txt"),
                           "--format", "higgs", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    import json

    summary = json.loads(proc.stdout)
    assert summary["append"]["mode"] == "merge" and summary["version"] == 2
    assert load_snapshot(snap).equals(load_snapshot(full))
    _same_arrays(snap, full)
    assert summary["nodes"] == load_snapshot(full).n_nodes


def test_kill_9_during_a_merging_append_leaves_a_readable_version(higgs_by_time, tmp_path):
    exe = shutil.which("graphcrm")
    base = tmp_path / "base"
    subprocess.run([exe, "load", "--interactions", str(higgs_by_time / "day1.txt"), "--format", "higgs", "--out",
                    str(base)], check=True)
    old = load_snapshot(base)
    outcomes = set()
    for delay in (0.3, 0.8, 1.4, 2.2, 3.5):
        snap = tmp_path / f"snap-{delay}"
        shutil.copytree(base, snap)
        outcomes.add(run_killed_after([exe, "load", "--append", snap, "--interactions", higgs_by_time / "day2.txt",
                                       "--format", "higgs"], delay))
        verify_snapshot(snap)
        graph = load_snapshot(snap)
        version = read_manifest(snap)["version"]
        assert (version == 1 and graph.equals(old)) or (version == 2 and graph.n_nodes > old.n_nodes)
        if version == 2:
            assert load_snapshot(snap / "versions" / "000001").equals(old)
    assert "killed" in outcomes


def test_erase_and_as_of_after_merging_appends(higgs_by_time, tmp_path):
    """Erasure rewrites every version, merged ones (event files shared by hard links) included."""
    import json

    exe = shutil.which("graphcrm")
    snap = tmp_path / "snap"
    subprocess.run([exe, "load", "--interactions", str(higgs_by_time / "day1.txt"), "--format", "higgs", "--out",
                    str(snap)], check=True)
    proc = subprocess.run([exe, "load", "--append", str(snap), "--interactions", str(higgs_by_time / "day2.txt"),
                           "--format", "higgs", "--json"], capture_output=True, text=True)
    assert json.loads(proc.stdout)["append"]["mode"] == "merge"
    account = int(load_snapshot(snap / "versions" / "000001").id_map.ids[0])
    erased = subprocess.run([exe, "erase", str(snap), "--account", str(account), "--json"], capture_output=True,
                            text=True)
    assert erased.returncode == 0, erased.stderr
    for version in list_versions(snap):
        graph = load_snapshot(version["path"])
        assert account not in set(np.asarray(graph.id_map.ids).tolist())
        for layer in graph.layers.values():
            if layer.events is not None:
                assert layer.events.src.max() < graph.n_nodes
        verify_snapshot(version["path"])


def test_max_memory_still_counts_the_stored_graph_when_the_append_falls_back(tmp_path):
    """Fractional weights make the append rebuild the stored graph in memory: --max-memory refuses it, nothing
    written."""
    rng = np.random.default_rng(1)
    big = tmp_path / "big.csv"
    rows = [f"{a},{b},{w:.2f}" for (a, b), w in zip(rng.integers(0, 5000, (50_000, 2)).tolist(), rng.random(50_000))]
    big.write_text("src,dst,weight\n" + "\n".join(rows) + "\n")
    more = tmp_path / "more.csv"
    more.write_text("src,dst,weight\n1,2,0.5\n")
    snap = tmp_path / "snap"
    assert _cli("load", "--edges", big, "--layer", "calls", "--out", snap).returncode == 0
    before = sorted((p.relative_to(snap), p.stat().st_size) for p in snap.rglob("*") if p.is_file())
    refused = _cli("load", "--append", snap, "--edges", more, "--layer", "calls", "--max-memory", "1MiB")
    assert refused.returncode == 1 and "stored rows" in refused.stderr and "--max-memory 1MiB" in refused.stderr
    assert "integers" in refused.stderr
    assert sorted((p.relative_to(snap), p.stat().st_size) for p in snap.rglob("*") if p.is_file()) == before
    fits = _cli("load", "--append", snap, "--edges", more, "--layer", "calls", "--max-memory", "4GiB", "--json")
    assert fits.returncode == 0, fits.stderr


def test_max_memory_counts_the_stored_events_late_arrivals_reopen(tmp_path):
    """Late events re-sort the stored event file they reach: --max-memory counts its rows, not the whole graph."""
    rng = np.random.default_rng(1)
    big = tmp_path / "big.csv"
    rows = [f"{a},{b},{1000 + i},RT" for i, (a, b) in enumerate(rng.integers(0, 5000, (50_000, 2)).tolist())]
    big.write_text("src,dst,time,type\n" + "\n".join(rows) + "\n")
    late = tmp_path / "late.csv"
    late.write_text("src,dst,time,type\n1,2,1500,RT\n")
    snap = tmp_path / "snap"
    assert _cli("load", "--interactions", big, "--out", snap).returncode == 0
    before = sorted((p.relative_to(snap), p.stat().st_size) for p in snap.rglob("*") if p.is_file())
    refused = _cli("load", "--append", snap, "--interactions", late, "--max-memory", "1MiB")
    assert refused.returncode == 1 and "late events: layer 'retweets' re-sorts 49,9" in refused.stderr
    assert "~1 interaction rows" not in refused.stderr and "stored rows" in refused.stderr
    assert sorted((p.relative_to(snap), p.stat().st_size) for p in snap.rglob("*") if p.is_file()) == before
    fits = _cli("load", "--append", snap, "--interactions", late, "--max-memory", "4GiB", "--json")
    assert fits.returncode == 0, fits.stderr
    import json

    assert json.loads(fits.stdout)["append"]["mode"] == "merge"
    assert load_snapshot(snap).equals(build_graph(read_interactions(big), read_interactions(late))[0])


def test_plain_snapshots_stay_format_1_and_merged_ones_are_format_2(tmp_path):
    """Only a snapshot with event segments or arrival numbers needs a graphcrm that reads format 2."""
    first = tmp_path / "d1.csv"
    first.write_text("src,dst,time,type\n1,2,100,RT\n2,3,110,RT\n")
    second = tmp_path / "d2.csv"
    second.write_text("src,dst,time,type\n0,2,200,RT\n")
    snap = tmp_path / "snap"
    assert _cli("load", "--interactions", first, "--out", snap).returncode == 0
    assert read_manifest(snap)["format_version"] == 1
    assert _cli("load", "--append", snap, "--interactions", second).returncode == 0
    assert read_manifest(snap)["format_version"] == 2
    assert load_snapshot(snap).n_nodes == 4


def _cli(*args):
    return subprocess.run(["graphcrm", *map(str, args)], capture_output=True, text=True)
