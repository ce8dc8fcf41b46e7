"""Nightly appends: ``graphcrm load --append`` makes a new snapshot version equal to loading everything at once.

Append == rebuild (a property test on random logs split at random points, and the real higgs log split in
two); re-appending the same file is a no-op; ``--as-of`` reads the earlier version exactly; a kill -9
during an append leaves a readable snapshot (the old version or the new, never a mix); bad appended rows
follow the strict / lenient rules of ``load``; retention prunes old versions; erase reaches every version.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphcrm.loaders import build_graph, read_edges, read_interactions
from graphcrm.loaders.append import appended_graph
from graphcrm.loaders.builder import GraphBuilder
from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.snapshot import list_versions, load_snapshot, read_manifest
from tests.conftest import dataset
from tests.killing import run_killed_after


def graphcrm(*args, env=None) -> subprocess.CompletedProcess:
    exe = shutil.which("graphcrm")
    assert exe, "the graphcrm console script is installed by pip install -e ."
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=600,
                          env=None if env is None else {**os.environ, **env})


def run_pipeline(tmp_path, out, files, *extra, steps=""):
    """Write a pipeline reading ``files`` (higgs format) into ``out``, run it; the run summary's load counts."""
    import json

    toml = tmp_path / "pipeline.toml"
    listed = ", ".join(f'{{ path = "{f}", format = "higgs" }}' for f in files)
    toml.write_text(f'[pipeline]\nname = "n"\nseed = 1\noutput_dir = "{out}"\nformat = "csv"\n\n'
                    f'[sources]\ninteractions = [{listed}]\n\n{steps}')
    proc = graphcrm("run", toml, "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["counts"]["load"]


# ------------------------------------------------------------------------------------------ append == rebuild
events = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30), st.sampled_from(["RT", "MT", "RE"]),
                            st.integers(1_000_000, 1_000_500)), min_size=2, max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=events, cut=st.floats(0.0, 1.0), follows=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)),
                                                              max_size=20))
def test_append_equals_rebuild_on_random_logs(rows, cut, follows):
    frame = pd.DataFrame(rows, columns=["actor", "target", "type", "time"])
    k = int(cut * len(frame))
    first, second = frame.iloc[:k], frame.iloc[k:]
    ties = pd.DataFrame(follows, columns=["src", "dst"])
    half = len(ties) // 2
    sources_all = [read_interactions(frame)] + ([read_edges(ties)] if len(ties) else [])
    full, _ = build_graph(*sources_all)
    before = [read_interactions(first)] if len(first) else []
    before += [read_edges(ties.iloc[:half])] if half else []
    old, _ = build_graph(*before) if before else (GraphBuilder().build(), [])
    after = ([read_interactions(second)] if len(second) else []) + \
        ([read_edges(ties.iloc[half:])] if len(ties) - half else [])
    new, _ = appended_graph(old, *after)
    assert new.equals(full)


def test_append_keeps_max_and_sum_layers_exact_and_refuses_a_mean_layer():
    old = GraphBuilder().add_edges("calls", ["a", "b"], ["b", "c"], [2.0, 1.0], aggregate="max") \
        .add_edges("votes", ["a"], ["c"], [1.0]).build()
    today = read_edges(pd.DataFrame({"src": ["a", "d"], "dst": ["b", "a"], "weight": [5.0, 1.0]}), layer="calls",
                       aggregate="max")
    both = GraphBuilder().add_edges("calls", ["a", "b", "a", "d"], ["b", "c", "b", "a"], [2.0, 1.0, 5.0, 1.0],
                                    aggregate="max").add_edges("votes", ["a"], ["c"], [1.0]).build()
    assert appended_graph(old, today)[0].equals(both)
    rated = GraphBuilder().add_edges("trust", ["a"], ["b"], [3.0]).build()       # trust: duplicates by mean
    with pytest.raises(ParameterError, match="mean"):
        appended_graph(rated, read_edges(pd.DataFrame({"src": ["a"], "dst": ["b"], "weight": [1.0]}),
                                         layer="trust"))


# ------------------------------------------------------------------------------------------ the CLI, on higgs
@pytest.fixture(scope="module")
def higgs_days(tmp_path_factory):
    """The first 60,000 events of the higgs log as one file, and split into two 'days'."""
    root = tmp_path_factory.mktemp("days")
    with gzip.open(dataset("higgs-twitter/higgs-activity_time.txt.gz"), "rt") as fh:
        lines = [next(fh) for _ in range(60_000)]
    (root / "all.txt").write_text("".join(lines))
    (root / "day1.txt").write_text("".join(lines[:35_000]))
    (root / "day2.txt").write_text("".join(lines[35_000:]))
    return root


def test_cli_append_equals_full_load_and_reappend_is_a_no_op(higgs_days, tmp_path):
    snap, full = tmp_path / "snap", tmp_path / "full"
    assert graphcrm("load", "--interactions", higgs_days / "all.txt", "--format", "higgs", "--out", full).returncode == 0
    assert graphcrm("load", "--interactions", higgs_days / "day1.txt", "--format", "higgs", "--out",
                    snap).returncode == 0
    appended = graphcrm("load", "--append", snap, "--interactions", higgs_days / "day2.txt", "--format", "higgs",
                        "--json")
    assert appended.returncode == 0, appended.stderr
    assert '"version": 2' in appended.stdout
    assert load_snapshot(snap).equals(load_snapshot(full))
    again = graphcrm("load", "--append", snap, "--interactions", higgs_days / "day2.txt", "--format", "higgs")
    assert again.returncode == 0 and "nothing new to append" in again.stdout
    assert "already loaded in version 2" in again.stderr
    assert read_manifest(snap)["version"] == 2 and len(list_versions(snap)) == 2
    first = graphcrm("load", "--append", snap, "--interactions", higgs_days / "day1.txt", "--format", "higgs")
    assert "nothing new" in first.stdout           # the file the snapshot was made from counts too


def test_as_of_reads_the_earlier_version_exactly(higgs_days, tmp_path):
    snap, day1 = tmp_path / "snap", tmp_path / "day1"
    graphcrm("load", "--interactions", higgs_days / "day1.txt", "--format", "higgs", "--out", day1)
    graphcrm("load", "--interactions", higgs_days / "day1.txt", "--format", "higgs", "--out", snap)
    graphcrm("load", "--append", snap, "--interactions", higgs_days / "day2.txt", "--format", "higgs")
    assert load_snapshot(snap / "versions" / "000001").equals(load_snapshot(day1))
    for verb in (["rank", "--method", "pagerank"], ["communities", "--seed", "1"]):
        old = graphcrm(verb[0], snap, "--as-of", "1", "--out", tmp_path / "old.csv", *verb[1:])
        ref = graphcrm(verb[0], day1, "--out", tmp_path / "ref.csv", *verb[1:])
        now = graphcrm(verb[0], snap, "--out", tmp_path / "now.csv", *verb[1:])
        assert old.returncode == ref.returncode == now.returncode == 0, old.stderr + ref.stderr + now.stderr
        assert (tmp_path / "old.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
        assert (tmp_path / "now.csv").read_bytes() != (tmp_path / "ref.csv").read_bytes()
    later = read_manifest(snap)["created_at"]
    by_time = graphcrm("info", snap, "--as-of", later, "--json")
    assert '"version": 2' in by_time.stdout
    missing = graphcrm("info", snap, "--as-of", "9")
    assert missing.returncode == 2 and missing.stderr.startswith("error: --as-of 9: ") and \
        "no version '9'" in missing.stderr and missing.stderr.count("\n") == 1      # a usage error: exit 2
    early = graphcrm("info", snap, "--as-of", "2001-01-01")
    assert early.returncode == 2 and "no version existed yet at '2001-01-01'" in early.stderr


def test_bad_appended_rows_follow_strict_and_lenient(higgs_days, tmp_path):
    snap = tmp_path / "snap"
    graphcrm("load", "--interactions", higgs_days / "day1.txt", "--format", "higgs", "--out", snap)
    before = load_snapshot(snap)
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 1341100972 RT\n3 4 yesterday RT\n4 5 1341100974 RT\n")
    strict = graphcrm("load", "--append", snap, "--interactions", bad, "--format", "higgs")
    assert strict.returncode == 1 and "bad.txt, line 2" in strict.stderr
    assert read_manifest(snap)["version"] == 1 and load_snapshot(snap).equals(before)
    lenient = graphcrm("load", "--append", snap, "--interactions", bad, "--format", "higgs", "--mode", "lenient",
                       "--json")
    assert lenient.returncode == 0, lenient.stderr
    assert '"rejected_rows": 1' in lenient.stdout
    assert read_manifest(snap)["version"] == 2
    assert load_snapshot(snap).layer("retweets").n_edges == before.layer("retweets").n_edges + 2


def test_keep_versions_prunes_the_oldest(tmp_path):
    snap = tmp_path / "snap"
    for day in range(4):
        f = tmp_path / f"d{day}.txt"
        f.write_text(f"{day} {day + 1} {1341100972 + day} RT\n")
        args = ["--out", snap] if day == 0 else ["--append", snap, "--keep-versions", "2"]
        assert graphcrm("load", "--interactions", f, "--format", "higgs", *args).returncode == 0
    assert [v["version"] for v in list_versions(snap)] == [2, 3, 4]
    assert load_snapshot(snap / "versions" / "000002").n_nodes == 3


def test_kill_9_during_append_leaves_a_readable_version(higgs_days, tmp_path):
    """Killed at several moments, the snapshot is always the old version or the new, and verifies."""
    big = tmp_path / "big.txt"
    with gzip.open(dataset("higgs-twitter/higgs-activity_time.txt.gz"), "rt") as fh:     # the rows after day 1
        big.write_text("".join(line for i, line in zip(range(435_000), fh) if i >= 35_000))
    base = tmp_path / "base"
    graphcrm("load", "--interactions", higgs_days / "day1.txt", "--format", "higgs", "--out", base)
    old = load_snapshot(base)
    outcomes = set()
    for delay in (0.5, 1.5, 3.0, 6.0):
        snap = tmp_path / f"snap-{delay}"
        shutil.copytree(base, snap)
        outcomes.add(run_killed_after([shutil.which("graphcrm"), "load", "--append", snap, "--interactions", big,
                                       "--format", "higgs"], delay))
        verify = graphcrm("info", snap, "--verify")
        assert verify.returncode == 0, verify.stderr
        graph = load_snapshot(snap)
        version = read_manifest(snap)["version"]
        assert (version == 1 and graph.equals(old)) or (version == 2 and graph.n_nodes > old.n_nodes)
        if version == 2:
            assert load_snapshot(snap / "versions" / "000001").equals(old)
    assert "killed" in outcomes                    # at least one kill landed mid-append


def test_erase_reaches_every_version(higgs_days, tmp_path):
    snap = tmp_path / "snap"
    graphcrm("load", "--interactions", higgs_days / "day1.txt", "--format", "higgs", "--out", snap)
    graphcrm("load", "--append", snap, "--interactions", higgs_days / "day2.txt", "--format", "higgs")
    account = int(load_snapshot(snap / "versions" / "000001").id_map.ids[0])
    erased = graphcrm("erase", snap, "--account", account, "--json")
    assert erased.returncode == 0, erased.stderr
    for version in list_versions(snap):
        ids = load_snapshot(version["path"]).id_map.ids
        assert account not in set(np.asarray(ids).tolist()), version
    assert [v["version"] for v in list_versions(snap)] == [1, 2]      # history kept, the person gone from it


def test_segment_changes_are_the_set_differences_of_two_full_runs(higgs_days, tmp_path):
    snap = tmp_path / "snap"
    graphcrm("load", "--interactions", higgs_days / "day1.txt", "--format", "higgs", "--out", snap)
    graphcrm("load", "--append", snap, "--interactions", higgs_days / "day2.txt", "--format", "higgs")
    config = tmp_path / "seg.toml"
    config.write_text('[[segment]]\nname = "kols"\nkind = "leaders"\ntop = 30\n')
    run = graphcrm("segments", snap, "--config", config, "--out", tmp_path / "now.csv", "--since", "1", "--json")
    assert run.returncode == 0, run.stderr
    old = graphcrm("segments", snap, "--as-of", "1", "--config", config, "--out", tmp_path / "old.csv")
    assert old.returncode == 0, old.stderr
    before = set(pd.read_csv(tmp_path / "old.csv").account_id)
    after = set(pd.read_csv(tmp_path / "now.csv").account_id)
    changes = pd.read_csv(tmp_path / "now.changes.csv")
    assert set(changes.account_id[changes.change == "entered"]) == after - before
    assert set(changes.account_id[changes.change == "left"]) == before - after
    assert set(changes.account_id[changes.change == "stayed"]) == before & after
    assert after != before                          # the appended day moved the list: the test can fail
    stayed = changes[changes.change == "stayed"].iloc[0]
    assert f"score {stayed.score_before:g} -> {stayed.score_after:g}" in stayed.reason


def test_stable_labels_follow_continuing_communities_and_number_new_ones_after():
    from graphcrm.algorithms.community import stable_labels
    from graphcrm.loaders.idmap import IdMap
    from graphcrm.loaders.results import Partition

    before = pd.Series([4, 4, 4, 8, 8, 8], index=list("abcdef"))
    # a,b,c stay together; d,e,f split: e,f with new g; d alone
    after = Partition(np.array([0, 0, 0, 2, 1, 1, 1]), IdMap(list("abcdefg")))
    labels, info = stable_labels(before, after)
    by = dict(zip(list("abcdefg"), labels.tolist()))
    assert by["a"] == by["b"] == by["c"] == 4
    assert by["e"] == by["f"] == by["g"] == 8               # the larger part of 8 keeps its id
    assert by["d"] == 9                                      # new ids come after the largest earlier one
    assert info["kept_share"] == pytest.approx(5 / 6)


def _slow_stable_labels(before: dict, ids: list, membership: list) -> list:
    """Reference: count shared accounts per (now, then) pair, keep mutual best matches (ties: smaller id)."""
    shared: dict = {}
    for account, now in zip(ids, membership):
        if str(account) in before:
            key = (now, before[str(account)])
            shared[key] = shared.get(key, 0) + 1
    best_then = {}
    best_now = {}
    for (now, then), count in sorted(shared.items()):
        if now not in best_then or count > shared[(now, best_then[now])]:
            best_then[now] = then
        if then not in best_now or count > shared[(best_now[then], then)]:
            best_now[then] = now
    mapping = {now: then for now, then in best_then.items() if best_now[then] == now}
    next_id = max(before.values()) + 1 if before else 0
    for community in sorted(set(membership)):
        if community not in mapping:
            mapping[community], next_id = next_id, next_id + 1
    return [mapping[c] for c in membership]


@pytest.mark.parametrize("seed", range(30))
def test_stable_labels_equal_a_slow_reference(seed):
    from graphcrm.algorithms.community import stable_labels
    from graphcrm.loaders.idmap import IdMap
    from graphcrm.loaders.results import Partition

    rng = np.random.default_rng(seed)
    ids = np.unique(rng.integers(0, 300, rng.integers(1, 200)))
    membership = rng.integers(0, rng.integers(1, 15), len(ids))
    earlier_ids = np.unique(rng.integers(0, 300, rng.integers(0, 200)))
    earlier = pd.Series(rng.integers(0, rng.integers(1, 20), len(earlier_ids)) * 3, index=earlier_ids)
    if seed % 3 == 1:                                 # ids read back from a file as text
        earlier.index = earlier.index.astype(str)
    current_ids = ids.astype(str).astype(object) if seed % 3 == 2 else ids
    if seed % 3 == 2:
        earlier.index = earlier.index.astype(str)
    current = Partition(membership, IdMap(current_ids))     # relabels: largest community first
    labels, info = stable_labels(earlier, current)
    expected = _slow_stable_labels({str(k): int(v) for k, v in earlier.items()}, [str(i) for i in current_ids],
                                   current.membership.tolist())
    assert labels.tolist() == expected


def test_stable_labels_skip_accounts_without_an_earlier_community_and_refuse_repeats():
    from graphcrm.algorithms.community import stable_labels
    from graphcrm.loaders.errors import InvalidInputError
    from graphcrm.loaders.idmap import IdMap
    from graphcrm.loaders.results import Partition

    earlier = pd.Series([np.nan, np.nan, 7, 9, 9, 9], index=[1, 2, 3, 4, 5, 6])   # a file with blank cells
    labels, info = stable_labels(earlier, Partition(np.array([0, 0, 0, 1, 1, 1]), IdMap([1, 2, 3, 4, 5, 6])))
    assert labels.tolist() == [7, 7, 7, 9, 9, 9] and info["kept_share"] == 1.0
    with pytest.raises(InvalidInputError, match="more than one row"):
        stable_labels(pd.Series([1, 2], index=[5, 5]), Partition(np.array([0]), IdMap([5])))


def test_communities_since_warm_starts_and_keeps_ids(higgs_days, tmp_path):
    snap = tmp_path / "snap"
    graphcrm("load", "--interactions", higgs_days / "day1.txt", "--format", "higgs", "--out", snap)
    graphcrm("load", "--append", snap, "--interactions", higgs_days / "day2.txt", "--format", "higgs")
    import json

    warm = graphcrm("communities", snap, "--since", "1", "--seed", "1", "--out", tmp_path / "warm.csv", "--json")
    cold = graphcrm("communities", snap, "--seed", "1", "--out", tmp_path / "cold.csv", "--json")
    then = graphcrm("communities", snap, "--as-of", "1", "--seed", "1", "--out", tmp_path / "then.csv")
    assert warm.returncode == cold.returncode == then.returncode == 0, warm.stderr + cold.stderr
    w, c = json.loads(warm.stdout), json.loads(cold.stdout)
    assert abs(w["quality"] - c["quality"]) <= 0.005
    before = pd.read_csv(tmp_path / "then.csv").set_index("account_id").community
    now = pd.read_csv(tmp_path / "warm.csv").set_index("account_id").community
    common = before.index.intersection(now.index)
    kept = float((before[common] == now[common]).mean())
    assert kept == pytest.approx(w["tracking"]["kept_share"])
    assert kept > 0.5                                        # most accounts keep their community id
    bad = graphcrm("communities", snap, "--since", "1", "--runs", "3", "--out", tmp_path / "x.csv")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_pipeline_rerun_appends_new_source_files_and_full_reloads(higgs_days, tmp_path):
    out = tmp_path / "nightly"

    def pipeline(files, *extra):
        return run_pipeline(tmp_path, out, files, *extra, steps="[steps.leaders]\ntop = 10\nreach_samples = 2000\n")

    assert pipeline([higgs_days / "day1.txt"]) == {"mode": "full", "files_loaded": 1, "files_skipped": 0}
    assert pipeline([higgs_days / "day1.txt", higgs_days / "day2.txt"]) == \
        {"mode": "append", "files_loaded": 1, "files_skipped": 1, "append": "merge"}
    full = tmp_path / "full"
    graphcrm("load", "--interactions", higgs_days / "all.txt", "--format", "higgs", "--out", full)
    assert load_snapshot(out / "snapshot").equals(load_snapshot(full))
    assert [v["version"] for v in list_versions(out / "snapshot")] == [1, 2]
    assert pipeline([higgs_days / "day1.txt", higgs_days / "day2.txt"])["files_skipped"] == 2    # nothing new
    assert pipeline([higgs_days / "day1.txt", higgs_days / "day2.txt"], "--full")["mode"] == "full"
    assert load_snapshot(out / "snapshot").equals(load_snapshot(full))
    assert [v["version"] for v in list_versions(out / "snapshot")] == [1, 2, 3]   # a full reload keeps history
    grown = tmp_path / "growing.txt"                   # a log file that grows in place
    grown.write_text("5 6 1341400000 RT\n")
    assert pipeline([higgs_days / "day1.txt", higgs_days / "day2.txt", grown])["append"] == "merge"
    with grown.open("a") as fh:
        fh.write("1 2 1341400000 RT\n")
    load = pipeline([higgs_days / "day1.txt", higgs_days / "day2.txt", grown])
    assert load["mode"] == "full" and "changed since it was loaded" in load["reason"]   # never counted twice
    assert load_snapshot(out / "snapshot").layer("retweets").n_edges == \
        load_snapshot(full).layer("retweets").n_edges + 2


# ------------------------------------------------------------------------------------------ review regressions
def test_appended_node_tables_win_and_untouched_mean_layers_carry_over(tmp_path):
    old = GraphBuilder().add_edges("trust", ["a"], ["b"], [3.0]) \
        .add_nodes(["a"], pd.DataFrame({"followers": [10]})).build()
    from graphcrm.loaders import read_nodes

    nodes = tmp_path / "n2.csv"
    nodes.write_text("id,followers\na,11\n")
    new, _ = appended_graph(old, read_nodes(nodes))
    assert new.nodes.set_index("account_id").followers["a"] == 11             # the later table wins
    assert new.layer("trust").equals(old.layer("trust"))                      # a mean layer nobody adds to


def test_append_refuses_to_drop_stored_self_loops(tmp_path):
    looped = GraphBuilder(self_loops="keep").add_edges("follows", ["c", "a"], ["c", "b"]).build()
    with pytest.raises(ParameterError, match="self-loops"):
        appended_graph(looped, read_edges(pd.DataFrame({"src": ["d"], "dst": ["a"]})))
    assert appended_graph(looped, read_edges(pd.DataFrame({"src": ["d"], "dst": ["a"]})),
                          self_loops="keep")[0].layer("follows").n_edges == 3


def test_same_bytes_into_another_layer_is_not_skipped_and_legacy_snapshots_skip_by_name(tmp_path):
    edges = tmp_path / "e.txt"
    edges.write_text("1 2\n2 3\n")
    twice = graphcrm("load", "--edges", edges, "--edges", edges, "--layer", "follows", "--layer", "friends",
                     "--out", tmp_path / "two")
    assert twice.returncode == 0, twice.stderr
    assert set(load_snapshot(tmp_path / "two").layer_names) == {"follows", "friends"}
    snap = tmp_path / "legacy"
    graphcrm("load", "--edges", edges, "--out", snap)
    manifest = snap / "manifest.json"
    import json

    data = json.loads(manifest.read_text())
    for key in ("inputs", "version", "created_at"):
        data.pop(key)                                # as written before versions were kept
    manifest.write_text(json.dumps(data))
    again = graphcrm("load", "--append", snap, "--edges", edges)
    assert again.returncode == 0 and "nothing new" in again.stdout and "before versions were kept" in again.stderr
    assert load_snapshot(snap).layer("follows").out_data().tolist() == [1.0, 1.0]


def test_as_of_nat_is_a_one_line_error(higgs_days, tmp_path):
    snap = tmp_path / "snap"
    graphcrm("load", "--interactions", higgs_days / "day1.txt", "--format", "higgs", "--out", snap)
    bad = graphcrm("info", snap, "--as-of", "nan")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--as-of 'nan'" in bad.stderr


def test_erase_reaches_an_account_only_earlier_versions_hold(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("1 2 1341100972 RT\n")
    second.write_text("3 4 1341100999 RT\n")
    out = tmp_path / "nightly"

    run_pipeline(tmp_path, out, [first, second])
    run_pipeline(tmp_path, out, [second])                                           # account 1's file removed: a full reload
    snap = out / "snapshot"
    assert 1 not in set(load_snapshot(snap).id_map.ids.tolist())
    assert 1 in set(load_snapshot(snap / "versions" / "000001").id_map.ids.tolist())
    erased = graphcrm("erase", snap, "--account", 1, "--json")
    assert erased.returncode == 0, erased.stderr
    for version in list_versions(snap):
        assert 1 not in set(np.asarray(load_snapshot(version["path"]).id_map.ids).tolist())
    gone = graphcrm("erase", snap, "--account", 1)
    assert gone.returncode == 1 and "nor in any of its earlier versions" in gone.stderr


def test_pipeline_reloads_when_a_source_is_removed(higgs_days, tmp_path):
    out = tmp_path / "nightly"
    run_pipeline(tmp_path, out, [higgs_days / "day1.txt", higgs_days / "day2.txt"])
    load = run_pipeline(tmp_path, out, [higgs_days / "day1.txt"])
    assert load["mode"] == "full" and "no longer configured" in load["reason"]
    day1 = tmp_path / "day1"
    graphcrm("load", "--interactions", higgs_days / "day1.txt", "--format", "higgs", "--out", day1)
    assert load_snapshot(out / "snapshot").equals(load_snapshot(day1))


def test_communities_previous_file_keeps_ids_night_after_night(higgs_days, tmp_path):
    import json

    snap = tmp_path / "snap"
    graphcrm("load", "--interactions", higgs_days / "day1.txt", "--format", "higgs", "--out", snap)
    assert graphcrm("communities", snap, "--seed", "1", "--out", tmp_path / "night1.csv").returncode == 0
    graphcrm("load", "--append", snap, "--interactions", higgs_days / "day2.txt", "--format", "higgs")
    night2 = graphcrm("communities", snap, "--seed", "1", "--previous", tmp_path / "night1.csv", "--out",
                      tmp_path / "night2.csv", "--json")
    assert night2.returncode == 0, night2.stderr
    one = pd.read_csv(tmp_path / "night1.csv").set_index("account_id").community
    two = pd.read_csv(tmp_path / "night2.csv").set_index("account_id").community
    common = one.index.intersection(two.index)
    assert float((one[common] == two[common]).mean()) == pytest.approx(json.loads(night2.stdout)["tracking"]["kept_share"])


def test_pipeline_rerun_warm_starts_communities_and_writes_segment_changes(higgs_days, tmp_path):
    """The nightly rerun: community ids carried over, and who entered / left / stayed in each segment equal
    to the set differences of the two runs' segment tables (also when the exports are pseudonymised)."""
    import json

    (tmp_path / "segments.toml").write_text('[[segment]]\nname = "kols"\nkind = "leaders"\ntop = 30\n\n'
                                            '[[segment]]\nname = "bridges"\nkind = "bridges"\nmin_degree = 3\n'
                                            'top = 20\n')
    steps = (f'[steps.communities]\nmethod = "leiden"\n\n[steps.segments]\nconfig = "{tmp_path / "segments.toml"}"\n'
             'reach_samples = 2000\n')
    out = tmp_path / "nightly"
    run_pipeline(tmp_path, out, [higgs_days / "day1.txt"], steps=steps)
    first = pd.read_csv(out / "segments.csv")
    communities_1 = pd.read_csv(out / "communities.csv").set_index("account_id").community
    assert not (out / "segment_changes.csv").exists()           # nothing to compare the first run with
    assert run_pipeline(tmp_path, out, [higgs_days / "day1.txt", higgs_days / "day2.txt"], steps=steps)["mode"] \
        == "append"
    summary = json.loads((out / "run_summary.json").read_text())
    second = pd.read_csv(out / "segments.csv")
    changes = pd.read_csv(out / "segment_changes.csv")
    for seg in ("kols", "bridges"):
        before = set(first.account_id[first.segment == seg])
        after = set(second.account_id[second.segment == seg])
        mine = changes[changes.segment == seg]
        assert set(mine.account_id[mine.change == "entered"]) == after - before
        assert set(mine.account_id[mine.change == "left"]) == before - after
        assert set(mine.account_id[mine.change == "stayed"]) == before & after
    assert summary["counts"]["segment_changes"] == changes.change.value_counts().to_dict()
    tracking = summary["counts"]["community_tracking"]
    communities_2 = pd.read_csv(out / "communities.csv").set_index("account_id").community
    common = communities_1.index.intersection(communities_2.index)
    assert tracking["warm_start"] is True
    assert float((communities_1[common] == communities_2[common]).mean()) == pytest.approx(tracking["kept_share"])
    assert tracking["kept_share"] > 0.5
    night2 = {name: (out / name).read_bytes() for name in ("communities.csv", "segments.csv", "segment_changes.csv")}
    assert run_pipeline(tmp_path, out, [higgs_days / "day1.txt", higgs_days / "day2.txt"], steps=steps) == \
        {"mode": "append", "files_loaded": 0, "files_skipped": 2}           # a retried night: the same bytes
    assert {name: (out / name).read_bytes() for name in night2} == night2
    assert run_pipeline(tmp_path, out, [higgs_days / "day1.txt", higgs_days / "day2.txt"], "--full",
                        steps=steps)["mode"] == "full"                        # a full reload starts Leiden cold
    reloaded = {name: (out / name).read_bytes() for name in night2}
    assert json.loads((out / "run_summary.json").read_text())["counts"]["community_tracking"]["warm_start"] is False
    run_pipeline(tmp_path, out, [higgs_days / "day1.txt", higgs_days / "day2.txt"], steps=steps)   # its retry
    assert {name: (out / name).read_bytes() for name in night2} == reloaded

    # pseudonymised exports: the changes are computed on the accounts' own ids, then pseudonymised
    env_salt = {"GRAPHCRM_PSEUDONYM_SALT": "a-salt-of-enough-length"}
    secret = tmp_path / "secret"
    toml_steps = steps
    for files in ([higgs_days / "day1.txt"], [higgs_days / "day1.txt", higgs_days / "day2.txt"]):
        toml = tmp_path / "secret.toml"
        listed = ", ".join(f'{{ path = "{f}", format = "higgs" }}' for f in files)
        toml.write_text(f'[pipeline]\nname = "s"\nseed = 1\noutput_dir = "{secret}"\nformat = "csv"\n'
                        f'pseudonymise = true\n\n[sources]\ninteractions = [{listed}]\n\n{toml_steps}')
        proc = graphcrm("run", toml, "--json", env=env_salt)
        assert proc.returncode == 0, proc.stderr
    hidden = pd.read_csv(secret / "segment_changes.csv")
    assert hidden.account_id.str.startswith("acct_").all()
    assert hidden.change.value_counts().to_dict() == changes.change.value_counts().to_dict()


def test_a_file_that_grew_in_place_is_refused_and_a_reused_export_path_is_appended(tmp_path):
    """`>>` onto a file already appended would count its earlier rows twice: refused, nothing written. The same
    path holding a new day's rows (a fixed export path) is a new file and is appended."""
    today = tmp_path / "today.csv"
    today.write_text("actor,target,type,time\n1,2,RT,2012-07-04T10:00:00Z\n3,1,MT,2012-07-04T11:00:00Z\n")
    snap = tmp_path / "snap"
    assert graphcrm("load", "--interactions", today, "--out", snap).returncode == 0
    before = read_manifest(snap)["version"]
    with open(today, "a") as fh:
        fh.write("5,1,RT,2012-07-04T12:00:00Z\n")
    grown = graphcrm("load", "--append", snap, "--interactions", today)
    assert grown.returncode == 1 and "grew in place" in grown.stderr and "twice" in grown.stderr, grown.stderr
    assert "Traceback" not in grown.stderr and read_manifest(snap)["version"] == before
    assert len(load_snapshot(snap).events("retweets")) == 1
    today.write_text("actor,target,type,time\n7,8,RT,2012-07-05T10:00:00Z\n")
    nextday = graphcrm("load", "--append", snap, "--interactions", today)
    assert nextday.returncode == 0, nextday.stderr
    assert len(load_snapshot(snap).events("retweets")) == 2


def test_allow_empty_skips_a_day_without_rows(tmp_path):
    """A nightly export with no activity (header only, or 0 bytes) is refused by default and, with --allow-empty,
    skipped with a warning: the append writes no version."""
    day = tmp_path / "day1.csv"
    day.write_text("actor,target,type,time\n1,2,RT,2012-07-04T10:00:00Z\n")
    snap = tmp_path / "snap"
    assert graphcrm("load", "--interactions", day, "--out", snap).returncode == 0
    for content in ("actor,target,type,time\n", ""):
        quiet = tmp_path / "quiet.csv"
        quiet.write_text(content)
        refused = graphcrm("load", "--append", snap, "--interactions", quiet)
        assert refused.returncode == 1 and "no data rows" in refused.stderr, refused.stderr
        allowed = graphcrm("load", "--append", snap, "--interactions", quiet, "--allow-empty")
        assert allowed.returncode == 0 and "nothing to add" in allowed.stderr, allowed.stderr
        assert read_manifest(snap)["version"] == 1
    # an empty day loaded beside a real one is not recorded: the next day's file, which starts with the same
    # header, is no "file that grew in place"
    quiet = tmp_path / "quiet.csv"
    quiet.write_text("actor,target,type,time\n")
    day2 = tmp_path / "day2.csv"
    day2.write_text("actor,target,type,time\n3,4,RT,2012-07-05T10:00:00Z\n")
    both = graphcrm("load", "--append", snap, "--interactions", quiet, "--interactions", day2, "--allow-empty")
    assert both.returncode == 0, both.stderr
    day3 = tmp_path / "day3.csv"
    day3.write_text("actor,target,type,time\n5,6,RT,2012-07-06T10:00:00Z\n")
    later = graphcrm("load", "--append", snap, "--interactions", day3)
    assert later.returncode == 0 and "grew in place" not in later.stderr, later.stderr
    assert len(load_snapshot(snap).events("retweets")) == 3


def test_a_tie_repeated_across_days_counts_in_an_unweighted_interaction_layer(tmp_path):
    """Day 1 holds each tie once (stored unweighted); day 2 repeats one: the append equals loading both files at
    once (that tie weighs 2), through the rebuild the merge falls back to."""
    day1, day2, both = tmp_path / "d1.txt", tmp_path / "d2.txt", tmp_path / "both.txt"
    day1.write_text("1 2\n2 3\n3 4\n")
    day2.write_text("2 3\n5 6\n")
    both.write_text(day1.read_text() + day2.read_text())
    snap, full = tmp_path / "snap", tmp_path / "full"
    assert graphcrm("load", "--edges", day1, "--layer", "mentions", "--out", snap).returncode == 0
    assert load_snapshot(snap).layer("mentions").out_weights is None
    assert graphcrm("load", "--append", snap, "--edges", day2, "--layer", "mentions").returncode == 0
    assert graphcrm("load", "--edges", both, "--layer", "mentions", "--out", full).returncode == 0
    appended, loaded = load_snapshot(snap), load_snapshot(full)
    assert appended.equals(loaded) and sorted(loaded.layer("mentions").out_weights.tolist()) == [1, 1, 1, 2]


def _started_waiting(args):
    """Start ``graphcrm *args``; return it once it says it waits for the writer lock (60 s at most)."""
    import threading
    import time

    proc = subprocess.Popen([shutil.which("graphcrm"), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: list = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while not any("waiting: another graphcrm command is writing" in line for line in lines):
        assert proc.poll() is None, f"finished without waiting for the lock: {lines}"
        assert time.monotonic() < deadline, f"never waited: {lines}"
        time.sleep(0.05)
    return proc, reader, lines


def test_two_writers_on_one_snapshot_take_turns(tmp_path):
    """No lock: an append and an erase (or two appends) started together each began from the same stored version,
    and the one that swapped last silently dropped the other's work -- the day lost, its file still recorded as
    loaded (QA nightly F1). The second writer now waits for the first and starts from what it stored."""
    from graphcrm.loaders.locking import writer_lock

    snap = tmp_path / "snap"
    for name, row in (("base.csv", "1,2,100,RT"), ("a.csv", "3,4,200,RT"), ("b.csv", "5,6,300,MT")):
        (tmp_path / name).write_text(f"source,target,time,type\n{row}\n")
    assert graphcrm("load", "--interactions", tmp_path / "base.csv", "--out", snap).returncode == 0
    with writer_lock(snap):                                     # a writer at work: the next ones must wait
        waiting = [_started_waiting(["load", "--append", snap, "--interactions", tmp_path / f])
                   for f in ("a.csv", "b.csv")]
        assert [proc.poll() for proc, _, _ in waiting] == [None, None]
    for proc, reader, lines in waiting:
        assert proc.wait(timeout=120) == 0, lines
    assert graphcrm("erase", snap, "--account", 3).returncode == 0
    versions = list_versions(snap)
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert sorted(load_snapshot(snap).id_map.ids.tolist()) == [1, 2, 4, 5, 6]
    assert 3 not in load_snapshot(versions[1]["path"]).id_map.ids.tolist()


def test_erase_waits_for_a_pipeline_run_on_its_output_directory(tmp_path):
    """The run copies its snapshot and exports at the start and swaps the whole output directory in at the end: an
    erase in between (it locked only the snapshot) was undone by the swap (review)."""
    from graphcrm.loaders.locking import writer_lock

    (tmp_path / "ev.csv").write_text("source,target,time,type\n1,2,100,RT\n2,3,101,RT\n")
    toml = tmp_path / "p.toml"
    toml.write_text('[pipeline]\noutput_dir = "out"\nformat = "csv"\n[sources]\ninteractions = ["ev.csv"]\n')
    assert graphcrm("run", toml).returncode == 0
    out = tmp_path / "out"
    with writer_lock(out):                                      # what graphcrm run holds while it runs
        proc, reader, lines = _started_waiting(["erase", out / "snapshot", "--account", 1, "--exports", out])
    assert proc.wait(timeout=120) == 0, lines
    assert 1 not in load_snapshot(out / "snapshot").id_map.ids.tolist()


def test_a_mistyped_snapshot_path_leaves_no_directories(tmp_path):
    (tmp_path / "a.csv").write_text("source,target,time,type\n1,2,100,RT\n")
    proc = graphcrm("load", "--append", tmp_path / "no" / "such" / "snap", "--interactions", tmp_path / "a.csv")
    assert proc.returncode != 0 and not (tmp_path / "no").exists()


def test_a_snapshot_reached_through_a_symlink_is_replaced_where_it_lives(tmp_path):
    """The swap replaced the link itself with a plain directory: the link's target stayed at the old version and
    a `.cur.tmp-PID` link was left behind (QA nightly F4)."""
    real, link = tmp_path / "vol" / "graph", tmp_path / "current"
    (tmp_path / "base.csv").write_text("source,target,time,type\n1,2,100,RT\n")
    (tmp_path / "day.csv").write_text("source,target,time,type\n3,4,200,RT\n")
    assert graphcrm("load", "--interactions", tmp_path / "base.csv", "--out", real).returncode == 0
    link.symlink_to(real)
    proc = graphcrm("load", "--append", link, "--interactions", tmp_path / "day.csv")
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert read_manifest(real)["version"] == 2 and load_snapshot(link).n_nodes == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.csv", "current", "day.csv", "vol"]


def test_a_full_reload_counts_only_its_own_files_as_loaded(tmp_path):
    """After the pipeline reloaded in full without mon.csv, the snapshot still listed mon.csv as loaded, so
    `load --append` of it was skipped though its rows were gone (QA nightly F2); the run said nothing."""
    (tmp_path / "mon.csv").write_text("source,target,time,type\n1,2,100,RT\n2,3,101,RT\n")
    (tmp_path / "tue.csv").write_text("source,target,time,type\n3,4,200,RT\n4,5,201,RT\n")
    toml = tmp_path / "p.toml"
    for files in ('"mon.csv", "tue.csv"', '"tue.csv"'):
        toml.write_text(f'[pipeline]\noutput_dir = "out"\nformat = "csv"\n[sources]\ninteractions = [{files}]\n')
        run = graphcrm("run", toml)
        assert run.returncode == 0, run.stderr
    assert "warning: " in run.stderr and "mon.csv is no longer configured" in run.stderr
    snap = tmp_path / "out" / "snapshot"
    assert load_snapshot(snap).n_nodes == 3
    info = graphcrm("info", snap)
    assert "reloaded from tue.csv" in info.stdout and "added mon.csv, tue.csv" in info.stdout
    assert graphcrm("erase", snap, "--account", 5).returncode == 0           # a rewrite keeps the reload's mark
    assert [v["reloaded"] for v in list_versions(snap)] == [False, True]
    appended = graphcrm("load", "--append", snap, "--interactions", tmp_path / "mon.csv")
    assert appended.returncode == 0 and "skipped" not in appended.stderr, appended.stderr
    assert load_snapshot(snap).n_nodes == 4


def test_pipeline_skips_a_quiet_days_empty_export_and_keeps_n_versions(tmp_path):
    """A header-only export failed the whole nightly job, with no `allow_empty` to say it may happen; and the
    pipeline kept every version of its snapshot forever, with no `keep_versions` (QA nightly F6, F7)."""
    days = {"mon.csv": "1,2,100,RT\n", "tue.csv": "3,4,200,RT\n", "wed.csv": "", "thu.csv": "5,6,400,RT\n"}
    for name, rows in days.items():
        (tmp_path / name).write_text("source,target,time,type\n" + rows)
    toml = tmp_path / "p.toml"

    def night(files, allow_empty):
        listed = ", ".join(f'"{f}"' for f in files)
        toml.write_text(f'[pipeline]\noutput_dir = "out"\nformat = "csv"\nkeep_versions = 1\n[sources]\n'
                        f'interactions = [{listed}]\n' + ("allow_empty = true\n" if allow_empty else ""))
        return graphcrm("run", toml, "--json")

    assert night(["mon.csv"], True).returncode == 0 and night(["mon.csv", "tue.csv"], True).returncode == 0
    failed = night(["mon.csv", "tue.csv", "wed.csv"], False)
    assert failed.returncode == 1 and "wed.csv: the file has a header" in failed.stderr
    quiet = night(["mon.csv", "tue.csv", "wed.csv"], True)
    assert quiet.returncode == 0, quiet.stderr
    import json

    assert json.loads(quiet.stdout)["counts"]["load"]["empty_files"] == [str(tmp_path / "wed.csv")]
    assert night(["mon.csv", "tue.csv", "wed.csv", "thu.csv"], True).returncode == 0
    snap = tmp_path / "out" / "snapshot"
    assert load_snapshot(snap).n_nodes == 6
    assert [v["version"] for v in list_versions(snap)] == [2, 3]        # one earlier version kept


def test_since_a_version_that_does_not_exist_is_a_usage_error_naming_since(tmp_path):
    (tmp_path / "a.csv").write_text("source,target,time,type\n1,2,100,RT\n2,3,101,RT\n")
    (tmp_path / "b.csv").write_text("source,target,time,type\n3,4,200,RT\n")
    snap = tmp_path / "snap"
    graphcrm("load", "--interactions", tmp_path / "a.csv", "--out", snap)
    graphcrm("load", "--append", snap, "--interactions", tmp_path / "b.csv")
    proc = graphcrm("communities", snap, "--since", 99, "--out", tmp_path / "c.csv")
    assert proc.returncode == 2 and proc.stderr.startswith("error: --since 99:") and "no version '99'" in proc.stderr
    assert not (tmp_path / "c.csv").exists()


def test_an_overlapping_export_is_warned_about(tmp_path):
    """Rows an export repeats from the previous one, and a gzip copy of a loaded file, were counted again without
    a word (QA nightly F3): the repeats are counted in a warning and in --json."""
    import json

    (tmp_path / "mon.csv").write_text("source,target,time,type\n1,2,1700000100,RT\n2,3,1700000110,RT\n"
                                      "3,1,1700000120,MT\n")
    (tmp_path / "tue.csv").write_text("source,target,time,type\n2,3,1700000110,RT\n3,1,1700000120,MT\n"
                                      "4,1,1700000200,RT\n")
    (tmp_path / "wed.csv").write_text("source,target,time,type\n1,4,1700000300,RT\n")
    snap = tmp_path / "snap"
    graphcrm("load", "--interactions", tmp_path / "mon.csv", "--out", snap)
    tue = graphcrm("load", "--append", snap, "--interactions", tmp_path / "tue.csv", "--json")
    assert tue.returncode == 0 and json.loads(tue.stdout)["repeated_events"] == {"mentions": 1, "retweets": 1}
    assert "warning: 1 new mentions events, 1 new retweets events may repeat stored ones" in tue.stderr
    wed = graphcrm("load", "--append", snap, "--interactions", tmp_path / "wed.csv", "--json")
    assert "repeated_events" not in json.loads(wed.stdout) and "warning" not in wed.stderr


def test_pipeline_notes_a_segment_renamed_between_runs(tmp_path):
    """A renamed segment showed every member leaving the old name and entering the new one, without a word
    (QA nightly F8)."""
    import json

    rows = "".join(f"u{i},u{(i * 7) % 40},{100 + i},RT\nu{i},u{(i * 3) % 40},{200 + i},MT\n" for i in range(40))
    (tmp_path / "ev.csv").write_text("source,target,time,type\n" + rows)
    (tmp_path / "ev2.csv").write_text("source,target,time,type\nu1,u2,900,RT\n")
    toml = tmp_path / "p.toml"
    for name, files in (("kols", '"ev.csv"'), ("key_leaders", '"ev.csv", "ev2.csv"')):     # night 2: a new file
        toml.write_text(f'[pipeline]\noutput_dir = "out"\nformat = "csv"\n[sources]\ninteractions = [{files}]\n'
                        '[steps.segments]\nconfig = "seg.toml"\n')
        (tmp_path / "seg.toml").write_text(f'[[segment]]\nname = "{name}"\nkind = "leaders"\ntop = 5\n'
                                           'method = "combined"\n')
        run = graphcrm("run", toml, "--json")
        assert run.returncode == 0, run.stderr
    notes = json.loads(run.stdout)["counts"]["segment_changes_notes"]
    assert notes == ["segment 'kols' of the earlier run is no longer configured (renamed or removed?): its members "
                     "are listed as left"]


def test_late_events_with_their_own_message_ids_are_not_called_repeats(tmp_path):
    """Two replies in the same second (or day-granular times) are different events when their message ids differ:
    the warning told the operator to drop valid data (review)."""
    import json

    (tmp_path / "mon.csv").write_text("source,target,time,type,message_id\n1,2,2024-01-01,reply,m1\n"
                                      "1,2,2024-01-01,reply,m2\n3,4,2024-01-02,reply,m3\n")
    (tmp_path / "tue.csv").write_text("source,target,time,type,message_id\n1,2,2024-01-01,reply,m4\n"
                                      "5,6,2024-01-03,reply,m5\n")
    (tmp_path / "again.csv").write_text("source,target,time,type,message_id\n3,4,2024-01-02,reply,m3\n")
    snap = tmp_path / "snap"
    graphcrm("load", "--interactions", tmp_path / "mon.csv", "--out", snap)
    tue = graphcrm("load", "--append", snap, "--interactions", tmp_path / "tue.csv", "--json")
    assert tue.returncode == 0 and "repeated_events" not in json.loads(tue.stdout) and "warning" not in tue.stderr
    again = graphcrm("load", "--append", snap, "--interactions", tmp_path / "again.csv", "--json")
    assert json.loads(again.stdout)["repeated_events"] == {"replies": 1}
