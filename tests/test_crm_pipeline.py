"""`graphcrm run PIPELINE.toml` and `graphcrm erase` through the installed executable (issue #8, parts 5-6)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphcrm.loaders.errors import InvalidInputError
from graphcrm.loaders.snapshot import load_snapshot, load_snapshot_tables
from graphcrm.crm.export import SALT_ENV, read_export
from tests.conftest import REPO, dataset

EXAMPLE = REPO / "examples" / "pipeline.toml"
EXPORTS = ("links", "review", "leaders", "communities", "segments", "economics", "overlap")


def graphcrm(*args, cwd=None, env=None):
    exe = shutil.which("graphcrm")
    assert exe, "the graphcrm executable is installed by pip install -e ."
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300, env=env)


def export_bytes(out):
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and p.name != "run_summary.json"}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    dataset("soc-sign-bitcoin/soc-sign-bitcoinalpha.csv.gz")   # a clear failure if the datasets are missing
    out = tmp_path_factory.mktemp("pipeline") / "nightly"
    proc = graphcrm("run", EXAMPLE, "--output-dir", out, "--json")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


def test_example_pipeline_runs_and_reruns_byte_identically(first_run):
    out, summary = first_run
    assert summary["status"] == "ok" and summary["counts"]["nodes"] == 3783
    assert set(summary["seconds"]) == {"load", "link", "leaders", "communities", "segments", "economics"}
    for name in EXPORTS:
        assert (out / f"{name}.parquet").is_file() and (out / f"{name}.parquet.schema.json").is_file()
    assert summary["counts"]["links"] > 250 and summary["counts"]["leaders"] == 50
    assert set(summary["counts"]["segment_rows"]) >= {"key_opinion_leaders", "advocates", "critics", "bridges",
                                                        "reach_our_vips", "engaged_fans"}
    assert load_snapshot(out / "snapshot").n_nodes == 3783
    before = export_bytes(out)
    proc = graphcrm("run", EXAMPLE, "--output-dir", out)
    assert proc.returncode == 0, proc.stderr
    assert export_bytes(out) == before
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]   # no staging left behind


def test_a_failed_step_leaves_the_previous_outputs_untouched(first_run, tmp_path):
    out, _ = first_run
    before = export_bytes(out)
    customers = (REPO / "examples" / "crm" / "customers.csv").read_text().splitlines()
    customers.insert(5, "C999999,Eve Bad,eve-at-example.com,,,,False")
    (tmp_path / "customers.csv").write_text("\n".join(customers) + "\n")
    text = EXAMPLE.read_text()
    text = text.replace('"crm/customers.csv"', f'"{tmp_path / "customers.csv"}"')
    for rel in ("../../shared/datasets", "crm/accounts.csv", "crm/costs.csv", "segments.toml"):
        text = text.replace(f'"{rel}', f'"{(EXAMPLE.parent / rel).resolve()}')
    bad = tmp_path / "pipeline.toml"
    bad.write_text(text)
    proc = graphcrm("run", bad, "--output-dir", out)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: step 'link': {tmp_path / 'customers.csv'}, line 6, field 'email': 'eve-at-example.com' is not an "
        "e-mail address; expected local@domain.tld"]
    assert export_bytes(out) == before
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("body, key", [
    ('[pipeline]\noutput_dir = "o"\n[sources]\nsigned = ["x.csv"]\n[steps.nonsense]\n', "steps.nonsense"),
    ('[pipeline]\n[sources]\nsigned = ["x.csv"]\n', "pipeline.output_dir"),
    ('[pipeline]\noutput_dir = "o"\n[sources]\n', "sources"),
    ('[pipeline]\noutput_dir = "o"\nformat = "xlsx"\n[sources]\nsigned = ["x.csv"]\n', "pipeline.format"),
    ('[pipeline]\noutput_dir = "o"\n[sources]\nsigned = ["x.csv"]\n[steps.link]\n', "steps.link"),
    ('[pipeline]\noutput_dir = "o"\n[sources]\nsigned = ["x.csv"]\n[steps.leaders]\nmethod = "best"\n',
     "steps.leaders.method"),
    ('[pipeline]\noutput_dir = "o"\n[sources]\nsigned = ["x.csv"]\n[steps.leaders]\nhorizon = "soon"\n',
     "steps.leaders.horizon"),
])
def test_invalid_pipeline_files_exit_2_naming_the_key(tmp_path, body, key):
    path = tmp_path / "p.toml"
    path.write_text(body)
    proc = graphcrm("run", path)
    assert proc.returncode == 2
    assert f"key '{key}'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def _retweet_log(path, days: int = 30, seed: int = 1):
    """A month of retweets: one account draws a third of them, 300 others the rest, with times."""
    rng = np.random.default_rng(seed)
    n = 6000
    time = 1_600_000_000 + np.sort(rng.integers(0, days * 86_400, n))
    target = np.where(rng.random(n) < 0.3, "star", rng.choice([f"q{i}" for i in range(300)], n))
    pd.DataFrame({"src": rng.choice([f"f{i}" for i in range(2000)], n), "dst": target, "time": time,
                  "type": "RT"}).to_csv(path, index=False)


def _run_on_retweets(tmp_path, leaders: str | None, segment: str) -> dict:
    """`graphcrm run` on a month of retweets with ``[steps.leaders]`` (none for None) and one leaders segment
    (their TOML lines); the run summary (outputs in ``tmp_path / "out"``)."""
    log = tmp_path / "events.csv"
    _retweet_log(log)
    (tmp_path / "segments.toml").write_text('[[segment]]\nname = "kol"\nkind = "leaders"\n' + segment)
    toml = tmp_path / "p.toml"
    toml.write_text(f'[pipeline]\nname = "x"\nseed = 1\noutput_dir = "out"\nformat = "csv"\n[sources]\n'
                    f'interactions = ["{log}"]\n'
                    + ("" if leaders is None else f"[steps.leaders]\n{leaders}")
                    + '[steps.segments]\nconfig = "segments.toml"\n')
    proc = graphcrm("run", toml, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("method", ["auto", "combined"])
def test_pipeline_leaders_are_graphcrm_ranks_list(tmp_path, method):
    """The nightly leader list is the one `graphcrm rank` gives on the same snapshot: by default the scorer that
    won on held-out days of the log (issue 18), stated in the run summary; `method = "combined"` as asked."""
    summary = _run_on_retweets(tmp_path, f'top = 20\nmethod = "{method}"\n', f'top = 5\nmethod = "{method}"\n')
    ranking = summary["counts"]["leaders_ranking"]
    leaders = read_export(tmp_path / "out" / "leaders.csv")
    rank = graphcrm("rank", tmp_path / "out" / "snapshot", "--method", method, "--top", "20", "--seed", "1",
                    "--samples", "20000", "--out", tmp_path / "rank.csv", "--json")
    assert rank.returncode == 0, rank.stderr
    assert leaders.account_id.tolist() == pd.read_csv(tmp_path / "rank.csv", dtype=str).account_id.tolist()
    assert ranking["scorer"] == json.loads(rank.stdout)["ranking"]["scorer"]
    segments = read_export(tmp_path / "out" / "segments.csv")
    assert segments.account_id.tolist() == leaders.account_id.head(5).tolist()
    if method == "auto":                     # a month of retweets: the forecast validates on held-out days
        assert ranking["scorer"] in ("forecast", "engagement_decayed", "in_degree")
        assert "held-out window" in ranking["scorer_reason"] and "why" in leaders
        assert segments.reason.tolist() == leaders.why.head(5).tolist()
    else:
        assert ranking["scorer"] == "combined" and "influence_score" in leaders
        assert segments.reason.str.startswith("influence ").all()
    assert leaders.account_id.iloc[0] == "star"
    from graphcrm.forecast_store import load_model

    stored, note = load_model(tmp_path / "out" / "snapshot", load_snapshot(tmp_path / "out" / "snapshot"), "retweets")
    assert (stored is not None) == (method == "auto"), note      # the run's fit, kept for `graphcrm rank`
    if method == "auto":                     # the scorer is recorded for the next night (kept while within noise)
        run = json.loads(next((tmp_path / "out" / "state").glob("v*/run.json")).read_text())
        assert run["leader_scorer"] == [ranking["scorer"], ranking["scorer_reason"]]


def test_a_segment_with_its_own_horizon_ranks_by_its_own_fit(tmp_path):
    """The leaders step's fit (and the scorer it keeps) stays with the step's horizon: a leaders segment with
    another horizon is the list `graphcrm rank --horizon` gives, and the model stored for `rank` is the step's."""
    _run_on_retweets(tmp_path, 'top = 10\nhorizon = "2d"\n', 'top = 10\nhorizon = "1d"\n')
    snap = tmp_path / "out" / "snapshot"
    assert json.loads((snap / "models" / "forecast-retweets.json").read_text())["horizon"] == 2 * 86_400

    def ranked(*extra):
        out = tmp_path / f"rank{len(extra)}.csv"
        done = graphcrm("rank", snap, "--top", "10", "--seed", "1", "--out", out, *extra)
        assert done.returncode == 0, done.stderr
        return pd.read_csv(out, dtype=str).account_id.tolist()

    # the stored 2d fit, reused by `rank --horizon 2d` (a plain `rank` fits the default horizon)
    assert read_export(tmp_path / "out" / "leaders.csv").account_id.tolist() == ranked("--horizon", "2d")
    assert read_export(tmp_path / "out" / "segments.csv").account_id.tolist() == ranked("--horizon", "1d")


def test_leader_segments_without_a_leaders_step_record_their_scorer_for_the_next_night(tmp_path):
    _run_on_retweets(tmp_path, None, "top = 10\n")
    run = json.loads(next((tmp_path / "out" / "state").glob("v*/run.json")).read_text())
    scorer, reason = run["leader_scorer"]
    assert "held-out window" in reason
    assert run["leader_decay"].startswith("retweets_received_w")       # the next night keeps this half-life
    why = read_export(tmp_path / "out" / "segments.csv").reason.iloc[0]
    words = {"forecast": "forecast", "engagement_decayed": "ranked by recent", "in_degree": "ranked by distinct"}
    assert why.startswith(words[scorer])


BASE_PIPELINE = """[pipeline]
output_dir = "o"
[sources]
signed = ["trust.csv"]
customers = "customers.csv"
accounts = "accounts.csv"
mode = "strict"
[steps.link]
target_precision = 0.98
[steps.leaders]
top = 50
[steps.communities]
method = "leiden"
resolution = 1.0
[steps.segments]
config = "segments.toml"
[steps.economics]
top = 10
costs = "costs.csv"
n_runs = 1000
"""


def _pipeline_file(tmp_path, text=BASE_PIPELINE, segments='[[segment]]\nname = "kols"\nkind = "leaders"\ntop = 2\n'):
    """A pipeline file and the small files it names (a 3-account trust graph, one customer), in ``tmp_path``."""
    (tmp_path / "trust.csv").write_text("1,2,5\n2,3,-2\n3,1,4\n1,3,1\n")
    (tmp_path / "customers.csv").write_text("customer_id,name\nC1,Ann Lee\n")
    (tmp_path / "accounts.csv").write_text("account_id,name\n1,Ann Lee\n")
    (tmp_path / "costs.csv").write_text("account_id,cost\n1,10\n")
    (tmp_path / "segments.toml").write_text(segments)
    (tmp_path / "p.toml").write_text(text)
    return tmp_path / "p.toml"


@pytest.mark.parametrize("old, new, key, message", [
    ("top = 50", 'top = "fifty"', "steps.leaders.top", "expected an integer >= 1, got 'fifty'"),
    ("top = 50", "top = true", "steps.leaders.top", "expected an integer >= 1, got True"),
    ("top = 50", "top = 2.5", "steps.leaders.top", "expected an integer >= 1, got 2.5"),
    ("top = 50", "topp = 3", "steps.leaders.topp", "unknown key; did you mean 'top'?"),
    ("top = 10", 'top = "ten"', "steps.economics.top", "expected an integer >= 1, got 'ten'"),
    ("n_runs = 1000", 'n_runs = "many"', "steps.economics.n_runs", "expected an integer >= 1, got 'many'"),
    ("resolution = 1.0", 'resolution = "high"', "steps.communities.resolution", "expected a number > 0, got 'high'"),
    ('method = "leiden"', 'method = "kmeans"', "steps.communities.method",
     "expected one of 'leiden', 'louvain', got 'kmeans'"),
    ("target_precision = 0.98", 'target_precision = "high"', "steps.link.target_precision",
     "expected a number > 0 and <= 1, got 'high'"),
    ("target_precision = 0.98", "target_precison = 0.9", "steps.link.target_precison",
     "unknown key; did you mean 'target_precision'?"),
    ("target_precision = 0.98", 'threshold = "x"', "steps.link.threshold", "expected a number > 0 and <= 1, got 'x'"),
    ("target_precision = 0.98", "threshold = 0.5\nreview_floor = 0.6", "steps.link.review_floor",
     "0.6 is above threshold = 0.5"),
    ('signed = ["trust.csv"]', 'signed = [{path = "trust.csv", bogus = 1}]', "sources.signed[0].bogus",
     "unknown option of a signed source"),
    ('mode = "strict"', 'encoding = "klingon"', "sources.encoding", "unknown encoding 'klingon'"),
    ('output_dir = "o"', 'output_dir = "o"\npseudonymise = "false"', "pipeline.pseudonymise",
     "expected true or false (a TOML boolean, not text), got 'false'"),
    # the files the pipeline names are checked before anything runs; each error names its key
    ('signed = ["trust.csv"]', 'signed = ["missing.csv"]', "sources.signed[0]", "missing.csv: no such file"),
    ('customers = "customers.csv"', 'customers = "nope.csv"', "sources.customers", "nope.csv: no such file"),
    ('costs = "costs.csv"', 'costs = "nope.csv"', "steps.economics.costs", "nope.csv: no such file"),
    ('costs = "costs.csv"', 'costs = "."', "steps.economics.costs", "is a directory, expected a file"),
    ('config = "segments.toml"', 'config = "nope.toml"', "steps.segments.config", "nope.toml: no such file"),
    ('customers = "customers.csv"', 'customers = "$GRAPHCRM_TEST_UNSET/customers.csv"', "sources.customers",
     "$GRAPHCRM_TEST_UNSET is not set"),
])
def test_bad_pipeline_values_are_one_line_config_errors(tmp_path, old, new, key, message):
    path = _pipeline_file(tmp_path, BASE_PIPELINE.replace(old, new))
    proc = graphcrm("run", path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}, key '{key}': ") and message in lines[0]
    assert not (tmp_path / "o").exists()


def test_output_dir_given_on_the_command_line_replaces_an_unset_variable_in_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv("GRAPHCRM_TEST_UNSET", raising=False)
    path = _pipeline_file(tmp_path, BASE_PIPELINE.replace('output_dir = "o"', 'output_dir = "$GRAPHCRM_TEST_UNSET/o"'))
    proc = graphcrm("run", path)
    assert proc.returncode == 2 and "$GRAPHCRM_TEST_UNSET is not set" in proc.stderr
    proc = graphcrm("run", path, "--output-dir", tmp_path / "elsewhere")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "elsewhere" / "run_summary.json").exists()


def test_a_bad_segments_file_fails_the_pipeline_before_it_runs(tmp_path):
    path = _pipeline_file(tmp_path, segments='[[segment]]\nname = "kols"\nkind = "leaders"\nper_community = "no"\n')
    proc = graphcrm("run", path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: {tmp_path / 'segments.toml'}, key 'segment[1].per_community': segment "
                                   "'kols' (leaders): expected true or false (a TOML boolean, not text), got 'no'")
    assert not (tmp_path / "o").exists()


def test_run_messages_name_what_run_has(tmp_path, monkeypatch):
    proc = graphcrm("run", tmp_path)
    assert proc.returncode == 2 and "is a directory; expected a pipeline TOML file" in proc.stderr
    path = _pipeline_file(tmp_path, BASE_PIPELINE.replace('output_dir = "o"', 'output_dir = "o"\npseudonymise = true'))
    monkeypatch.delenv(SALT_ENV, raising=False)
    proc = graphcrm("run", path)
    assert proc.returncode == 2 and "key 'pipeline.pseudonymise'" in proc.stderr
    assert "(pipeline.salt_file)" in proc.stderr and "--salt-file" not in proc.stderr


def test_unknown_brand_accounts_are_named_with_their_segment_and_key(tmp_path):
    path = _pipeline_file(tmp_path, BASE_PIPELINE.split("[steps.link]")[0] + "[steps.segments]\nconfig = "
                          '"segments.toml"\n', segments='[[segment]]\nname = "fans"\nkind = "engaged_fans"\n'
                          'brand_accounts = [1, 99]\n')
    proc = graphcrm("run", path)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: step 'segments': segment 'fans', key 'brand_accounts': account id(s) "
                                          "not in the graph: 99")


def test_every_example_config_loads():
    from graphcrm.crm.pipeline import read_pipeline
    from graphcrm.crm.segments import read_segments_config

    cfg = read_pipeline(EXAMPLE)
    assert cfg["steps"]["leaders"]["top"] == 50 and cfg["steps"]["economics"]["n_runs"] == 1000
    assert [s["name"] for s in read_segments_config(REPO / "examples" / "segments.toml")][:2] == \
        ["key_opinion_leaders", "community_leaders"]


def test_the_readme_lists_every_step_key():
    from graphcrm.crm.pipeline import STEP_KEYS

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for step, keys in STEP_KEYS.items():
        rows = readme.split(f"| `[steps.{step}]` |", 1)[1].split("| `[", 1)[0]
        assert all(f"`{key}`" in rows for key in keys), step


def test_erase_removes_one_person_everywhere_and_nothing_else(first_run, tmp_path):
    out = tmp_path / "nightly"
    shutil.copytree(first_run[0], out)
    before_graph = load_snapshot(out / "snapshot", mmap=False)
    before = {name: read_export(out / f"{name}.parquet") for name in EXPORTS}
    overlap = before["overlap"]
    listed = set(overlap.influencer_a.astype(str)) | set(overlap.influencer_b.astype(str))
    # the top leader that is in every export: leaders, segments, economics, overlap, communities
    person = next(int(a) for a in before["leaders"].account_id.astype(str) if a in listed)
    proc = graphcrm("erase", out / "snapshot", "--account", person, "--exports", out, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    after_graph = load_snapshot(out / "snapshot")
    assert person not in set(after_graph.id_map.ids.tolist())
    others = [i for i in before_graph.id_map.ids.tolist() if i != person]
    assert after_graph.equals(before_graph.subgraph(others))
    assert report["snapshot"]["edges_removed"]["trust"] == (
        before_graph.layer("trust").n_edges - after_graph.layer("trust").n_edges) > 0
    for name in EXPORTS:
        old, new = before[name], read_export(out / f"{name}.parquet")
        if name == "overlap":
            gone = (old.influencer_a.astype(str) == str(person)) | (old.influencer_b.astype(str) == str(person))
            assert gone.any() and len(new) == (~gone).sum()
            pd.testing.assert_frame_equal(new, old[~gone].reset_index(drop=True))
            continue
        gone = old.account_id.astype(str) == str(person)
        assert not (new.account_id.astype(str) == str(person)).any()
        assert report["exports"].get(f"{name}.parquet", 0) == int(gone.sum())
        expected = old[~gone].reset_index(drop=True)
        if "max_overlap_with" in expected:
            expected["max_overlap_with"] = [";".join(p for p in v.split(";") if p != str(person))
                                            for v in expected.max_overlap_with]
        pd.testing.assert_frame_equal(new, expected)
    assert report["exports"]["leaders.parquet"] == 1 and report["exports"]["segments.parquet"] >= 1
    assert "not touched" in report["graph_store"]
    # erasing again: the person is not there any more
    again = graphcrm("erase", out / "snapshot", "--account", person)
    assert again.returncode == 1 and "not in the snapshot" in again.stderr
    assert np.isin(before_graph.id_map.ids, after_graph.id_map.ids).sum() == before_graph.n_nodes - 1


def test_lenient_pseudonymised_run_writes_rejects_and_no_raw_ids(tmp_path, monkeypatch):
    from graphcrm.crm.export import SALT_ENV
    from graphcrm.crm.pipeline import run_pipeline

    customers = (REPO / "examples" / "crm" / "customers.csv").read_text().splitlines()
    customers.insert(3, "C999998,Bad Phone,,phone me,,,False")
    (tmp_path / "customers.csv").write_text("\n".join(customers) + "\n")
    text = EXAMPLE.read_text().replace('mode = "strict"', 'mode = "lenient"')
    text = text.replace("pseudonymise = false", "pseudonymise = true")
    text = text.replace('"crm/customers.csv"', f'"{tmp_path / "customers.csv"}"')
    for rel in ("../../shared/datasets", "crm/accounts.csv", "crm/costs.csv", "segments.toml"):
        text = text.replace(f'"{rel}', f'"{(EXAMPLE.parent / rel).resolve()}')
    text = text.replace("[steps.leaders]", "[steps.leaders]\nreach_samples = 2000\n").replace("reach_samples = 20000", "")
    path = tmp_path / "pipeline.toml"
    path.write_text(text)
    salt = "nightly-salt-0123456789abcdef"
    monkeypatch.setenv(SALT_ENV, salt)
    summary = run_pipeline(path, output_dir=tmp_path / "out")
    out = tmp_path / "out"
    assert summary["pseudonymised"] and summary["counts"]["rejected_rows"] == 1
    rejects = pd.read_csv(out / "rejects.csv")
    assert rejects[["line", "field", "error"]].values.tolist() == [[4, "phone", "bad_phone"]]
    graph_ids = set(load_snapshot(out / "snapshot").id_map.ids.astype(str).tolist())
    for name in EXPORTS:
        frame = read_export(out / f"{name}.parquet")
        for col in ("account_id", "influencer_a", "influencer_b"):
            if col in frame:
                values = frame[col].astype(str)
                assert values.str.startswith("acct_").all() and not set(values) & graph_ids, (name, col)
    for file in out.rglob("*"):
        if file.is_file():
            assert salt.encode() not in file.read_bytes()


def test_link_segments_economics_verbs(tmp_path, capsys):
    """The single verbs, in-process through graphcrm.cli.main (same code path as the executable)."""
    from graphcrm.cli import main as cli_main

    def main(argv):
        try:
            return cli_main(argv)
        except SystemExit as exc:      # typer exits with the code on success
            return exc.code or 0

    crm = REPO / "examples" / "crm"
    customers = (crm / "customers.csv").read_text().splitlines()
    customers.insert(2, "C000001,Duplicate Id,,,,,False")
    (tmp_path / "customers.csv").write_text("\n".join(customers) + "\n")
    assert main(["link", "--customers", str(tmp_path / "customers.csv"), "--accounts", str(crm / "accounts.csv"),
                 "--out", str(tmp_path / "links.csv")]) == 1
    assert "line 3, field 'customer_id': customer id 'C000001' already on line 2" in capsys.readouterr().err
    assert not (tmp_path / "links.csv").exists()
    assert main(["link", "--customers", str(tmp_path / "customers.csv"), "--accounts", str(crm / "accounts.csv"),
                 "--out", str(tmp_path / "links.csv"), "--mode", "lenient", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rejected_rows"] == 1 and summary["linked"] > 250
    assert pd.read_csv(tmp_path / "links.csv.rejects.csv").error.tolist() == ["duplicate_id"]
    assert (tmp_path / "links_review.csv").is_file()
    # links and review queue are written together: a review path that cannot be written keeps the old links
    before = (tmp_path / "links.csv").read_bytes()
    assert main(["link", "--customers", str(crm / "customers.csv"), "--accounts", str(crm / "accounts.csv"),
                 "--out", str(tmp_path / "links.csv"), "--review", str(tmp_path / "review.txt")]) == 2
    assert "review.txt: export must end in .csv or .parquet" in capsys.readouterr().err
    assert (tmp_path / "links.csv").read_bytes() == before and not (tmp_path / "review.txt").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    # one file named for both outputs: refused before anything is written
    assert main(["link", "--customers", str(crm / "customers.csv"), "--accounts", str(crm / "accounts.csv"),
                 "--out", str(tmp_path / "links.csv"), "--review", str(tmp_path / "links.csv")]) == 2
    assert "--out and --review name the same file" in capsys.readouterr().err
    assert (tmp_path / "links.csv").read_bytes() == before
    snap = tmp_path / "snap"
    assert main(["load", "--signed", str(dataset("soc-sign-bitcoin/soc-sign-bitcoinalpha.csv.gz")),
                 "--out", str(snap)]) == 0
    capsys.readouterr()
    assert main(["segments", str(snap), "--config", str(REPO / "examples" / "segments.toml"), "--links",
                 str(tmp_path / "links.csv"), "--customers", str(crm / "customers.csv"),
                 "--out", str(tmp_path / "segments.csv"), "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)["segments"]
    assert counts["bridges"] == 50 and counts["community_leaders"] > 0 and counts["reach_our_vips"] > 0
    assert main(["economics", str(snap), "--influencer", "1", "--influencer", "2", "--influencer", "3", "--costs",
                 str(crm / "costs.csv"), "--out", str(tmp_path / "econ.csv"), "--overlap-out",
                 str(tmp_path / "overlap.csv"), "--runs", "300", "--json"]) == 0
    econ = json.loads(capsys.readouterr().out)
    assert econ["influencers"] == 3 and 0 < econ["unique_reach"] < econ["total_audience"]
    assert len(pd.read_csv(tmp_path / "overlap.csv")) == 3



def test_erase_a_linked_account_names_its_customer_and_keeps_the_customer_rows(first_run, tmp_path):
    out = tmp_path / "nightly"
    shutil.copytree(first_run[0], out)
    links = read_export(out / "links.parquet")
    segments = read_export(out / "segments.parquet")
    customer = next(c for c in links.customer_id if (segments.customer_id == c).any())
    account = links.account_id[links.customer_id == customer].item()
    proc = graphcrm("erase", out / "snapshot", "--account", str(account), "--exports", out)
    assert proc.returncode == 0, proc.stderr
    assert f"linked to CRM customer {customer}" in proc.stdout and f"--customer {customer}" in proc.stdout
    after_links = read_export(out / "links.parquet")
    assert not (after_links.account_id.astype(str) == str(account)).any()
    assert len(after_links) == len(links) - 1
    # the customer's own segment rows are about the customer, not the account: rows naming the account go
    after_segments = read_export(out / "segments.parquet")
    kept = segments[segments.account_id.astype(str) != str(account)] if "account_id" in segments else segments
    assert len(after_segments) == len(kept)
    # the JSON report names the customer too
    other = after_links.iloc[0]
    proc = graphcrm("erase", out / "snapshot", "--account", str(other.account_id), "--exports", out, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["linked_customers"] == [str(other.customer_id)]

def test_erase_a_customer_removes_their_rows_and_their_linked_account(first_run, tmp_path):
    out = tmp_path / "nightly"
    shutil.copytree(first_run[0], out)
    before_graph = load_snapshot(out / "snapshot", mmap=False)
    before = {name: read_export(out / f"{name}.parquet") for name in EXPORTS}
    links, segments = before["links"], before["segments"]
    # a linked customer who is in a segment and has review rows for other customers' accounts too
    customer = next(c for c in links.customer_id if (segments.customer_id == c).any())
    account = links.account_id[links.customer_id == customer].item()
    proc = graphcrm("erase", out / "snapshot", "--customer", customer, "--exports", out, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["linked_accounts"] == [str(account)] and report["accounts"][0]["account_id"] == str(account)
    after_graph = load_snapshot(out / "snapshot")
    others = [i for i in before_graph.id_map.ids.tolist() if i != account]
    assert after_graph.equals(before_graph.subgraph(others))
    for name in EXPORTS:
        old, new = before[name], read_export(out / f"{name}.parquet")
        gone = np.zeros(len(old), bool)
        for col in ("account_id", "influencer_a", "influencer_b"):
            if col in old:
                gone |= (old[col].astype(str) == str(account)).to_numpy()
        if "customer_id" in old:
            gone |= (old.customer_id.astype(str) == customer).to_numpy()
        assert len(new) == (~gone).sum(), name
        if "customer_id" in new:
            assert not (new.customer_id == customer).any()
    # a customer linked to nobody: only their rows go; the snapshot stays as it was
    unlinked = next(c for c in before["review"].customer_id if c not in set(links.customer_id))
    snapshot_files = {p: p.read_bytes() for p in (out / "snapshot").rglob("*") if p.is_file()}
    proc = graphcrm("erase", out / "snapshot", "--customer", unlinked, "--exports", out, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["linked_accounts"] == [] and "not touched" in report["snapshot"]
    assert report["exports"]["review.parquet"] == int((before["review"].customer_id == unlinked).sum())
    assert {p: p.read_bytes() for p in (out / "snapshot").rglob("*") if p.is_file()} == snapshot_files
    # one of --account / --customer, and --customer needs the exports
    for args in ((), ("--account", "1", "--customer", unlinked), ("--customer", unlinked)):
        proc = graphcrm("erase", out / "snapshot", *args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--customer" in proc.stderr, args


def test_load_customers_links_them_into_the_snapshot(tmp_path):
    crm = REPO / "examples" / "crm"
    trust = dataset("soc-sign-bitcoin/soc-sign-bitcoinalpha.csv.gz")
    snap = tmp_path / "snap"
    load = ("load", "--signed", trust, "--nodes", crm / "accounts.csv", "--out", snap)
    proc = graphcrm(*load, "--customers", crm / "customers.csv", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    tables = load_snapshot_tables(snap)
    assert sorted(tables) == ["customers", "links", "review"]
    assert summary["crm"]["customers"] == len(tables["customers"]) == 600
    assert summary["crm"]["linked"] == len(tables["links"]) > 250
    # the same links as `graphcrm link` against the same accounts
    assert graphcrm("link", "--customers", crm / "customers.csv", "--accounts", snap,
                    "--out", tmp_path / "links.parquet").returncode == 0
    pd.testing.assert_frame_equal(tables["links"], read_export(tmp_path / "links.parquet"))
    # only ids, hashes and churn flags are stored: no name, e-mail or phone
    raw = pd.read_csv(crm / "customers.csv", dtype=str, keep_default_na=False)
    assert list(tables["customers"].columns) == ["customer_id", "email_sha256", "phone_sha256", "churned"]
    stored = b"".join(p.read_bytes() for p in (snap / "tables").iterdir())
    assert not any(v.encode() in stored for v in raw.name.tolist() + raw.email.tolist() if len(v) > 4)
    # `info` says what the snapshot holds besides the graph
    proc = graphcrm("info", snap, "--json")
    assert json.loads(proc.stdout)["tables"] == {"customers": 600, "links": len(tables["links"]),
                                                 "review": len(tables["review"])}
    # segments take the stored links and churn flags by default
    proc = graphcrm("segments", snap, "--config", REPO / "examples" / "segments.toml", "--out",
                    tmp_path / "segments.csv", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["segments"]["at_risk"] > 0
    # erase a linked customer with no exports: their rows and their account leave the snapshot
    links = tables["links"]
    customer, account = links.customer_id.iloc[0], links.account_id.iloc[0]
    before = load_snapshot(snap, mmap=False)
    proc = graphcrm("erase", snap, "--customer", customer, "--json")
    assert proc.returncode == 0, proc.stderr
    after, left = load_snapshot(snap), load_snapshot_tables(snap)
    assert after.equals(before.subgraph([i for i in before.id_map.ids.tolist() if i != account]))
    for name, frame in tables.items():
        gone = (frame.customer_id == customer) | ((frame.account_id == account) if "account_id" in frame else False)
        pd.testing.assert_frame_equal(left[name], frame[~gone].reset_index(drop=True))
    # a bad customers file: the load fails naming the row, and the snapshot already there stays as it was
    bad = tmp_path / "bad.csv"
    bad.write_text((crm / "customers.csv").read_text() + "C999999,Eve,eve-at-example.com,,,,no\n")
    files = {p: p.read_bytes() for p in snap.rglob("*") if p.is_file()}
    proc = graphcrm(*load, "--customers", bad)
    assert proc.returncode == 1 and "line 602, field 'email'" in proc.stderr and "Traceback" not in proc.stderr
    assert {p: p.read_bytes() for p in snap.rglob("*") if p.is_file()} == files


def test_erase_customer_with_pseudonymised_exports_and_raw_rejects(tmp_path):
    """Links stored with ids in the snapshot and pseudonymised in the exports; the raw rejected row goes too."""
    from graphcrm.loaders.builder import GraphBuilder
    from graphcrm.loaders.snapshot import save_snapshot
    from graphcrm.crm.erase import erase_customer
    from graphcrm.crm.export import pseudonym, write_export

    salt = b"0123456789abcdef0123"
    graph = GraphBuilder().add_edges("follows", [1, 2, 3], [2, 3, 1]).build()
    links = pd.DataFrame({"customer_id": ["c1", "c2"], "account_id": [2, 3], "method": "handle",
                          "probability": 0.999, "evidence": "exact:handle"})
    save_snapshot(graph, tmp_path / "snap", tables={"links": links})
    write_export(links, tmp_path / "out" / "links.csv", "links", salt=salt)
    pd.DataFrame({"source": ["customers.csv"], "line": [3], "field": ["customer_id"], "error": ["duplicate_id"],
                  "message": ["customer id 'c1' already on line 2"], "text": ["c1,Ann Lee,ann@example.com"]}
                 ).to_csv(tmp_path / "snap.rejects.csv", index=False)
    # without the salt the pseudonymised link cannot be resolved: refused, nothing erased
    with pytest.raises(InvalidInputError, match="pseudonymised"):
        erase_customer(tmp_path / "snap", "c1", exports=tmp_path / "out")
    assert load_snapshot(tmp_path / "snap").n_nodes == 3
    report = erase_customer(tmp_path / "snap", "c1", exports=tmp_path / "out", salt=salt)
    # one account, named by its id and by its pseudonym: erased once
    assert report["linked_accounts"] == ["2", pseudonym(2, salt)] and len(report["accounts"]) == 1
    assert sorted(load_snapshot(tmp_path / "snap").id_map.ids.tolist()) == [1, 3]
    assert load_snapshot_tables(tmp_path / "snap")["links"].customer_id.tolist() == ["c2"]
    assert pd.read_csv(tmp_path / "out" / "links.csv").customer_id.tolist() == ["c2"]
    assert pd.read_csv(tmp_path / "snap.rejects.csv").empty


def _every_value_in(path) -> set[str]:
    """Every value a store holds that can name a person, as text: text cells and id columns of tables, JSON
    leaves, snapshot ids, words of a page.  (Numeric measure columns and a snapshot's dense-index arrays are
    skipped: a rank of 188 is not account 188.)"""
    import re

    suffix = path.suffix.lower()
    if "layers" in path.parts:
        return set()
    if suffix in (".parquet", ".pq", ".csv"):
        frame = pd.read_parquet(path) if suffix != ".csv" else pd.read_csv(path, keep_default_na=False)
        values = {str(c) for c in frame.columns}
        for col in frame.columns:
            if frame[col].dtype == object or "id" in str(col) or str(col).startswith(("influencer", "max_overlap")):
                for v in frame[col].tolist():
                    values |= set(str(v).split(";")) | {str(v)}
        return values
    if suffix == ".json":
        out = set()

        def walk(x):
            if isinstance(x, dict):
                for k, v in x.items():
                    out.add(str(k))
                    walk(v)
            elif isinstance(x, list):
                for v in x:
                    walk(v)
            else:
                out.add(str(x))
        walk(json.loads(path.read_text()))
        return out
    if suffix == ".npy":
        return {str(v) for v in np.load(path, allow_pickle=False).ravel().tolist()} if path.name == "ids.npy" else set()
    return set(re.findall(r"[\w.@-]+", path.read_text(encoding="utf-8", errors="replace")))


def test_erase_leaves_the_person_in_no_store(first_run, tmp_path):
    """Erase a linked customer, then read every file of every store back: their customer id, account id,
    handle and e-mail hash are nowhere -- snapshot, exports, segments, rejects, the HTML report, CSV leader list."""
    from graphcrm.loaders.customers import normalize_email, sha256_hex

    out = tmp_path / "nightly"
    shutil.copytree(first_run[0], out)
    links = pd.read_parquet(out / "links.parquet")
    segments = pd.read_parquet(out / "segments.parquet")
    linked = links[links.account_id.astype(str).isin(segments.account_id.astype(str))
                   & (links.account_id.astype(str).str.len() >= 3)].iloc[0]
    customer, account = str(linked.customer_id), str(linked.account_id)
    customers = pd.read_csv(REPO / "examples/crm/customers.csv", dtype=str, keep_default_na=False)
    email = customers.set_index("customer_id").email[customer]
    accounts = pd.read_csv(REPO / "examples/crm/accounts.csv", dtype=str, keep_default_na=False).set_index("account_id")
    keys = {customer, account, accounts.handle[account]} | ({sha256_hex(normalize_email(email))} if email else set())
    assert graphcrm("rank", out / "snapshot", "--out", out / "leaders.csv", "--top", "5000").returncode == 0
    assert graphcrm("report", out / "snapshot", "--out", out / "report.html", "--segments", out / "segments.parquet",
                    "--runs", "200", "--top", "5000").returncode == 0
    stores = [p for p in out.rglob("*") if p.is_file()]
    assert any(keys & _every_value_in(p) for p in stores)            # the person is there before
    proc = graphcrm("erase", out / "snapshot", "--customer", customer, "--exports", out, "--json")
    assert proc.returncode == 0, proc.stderr
    assert "removed" in json.loads(proc.stdout)["exports"]["report.html"]
    left = {str(p.relative_to(out)): keys & _every_value_in(p) for p in out.rglob("*") if p.is_file()}
    assert not {k: v for k, v in left.items() if v}, left


# ---------------------------------------------------------------- erase: order, re-runs, reasons, salt (QA F1-F4)
SALT = "erase-test-salt-0123456789"


def _small_world(root, salt: str | None = None):
    """A 4-account snapshot and pipeline-like exports: account b is linked to customer c1 and is named in a's
    at_risk reason, in the exports and in state/ (raw ids, as the pipeline keeps them).  Returns (snapshot, exports)."""
    from graphcrm.loaders.builder import GraphBuilder
    from graphcrm.loaders.snapshot import save_snapshot
    from graphcrm.crm.export import write_export

    snap, out = root / "out" / "snapshot", root / "out"
    save_snapshot(GraphBuilder().add_edges("follows", ["a", "b", "c", "d"], ["b", "c", "a", "a"]).build(), snap)
    key = None if salt is None else salt.encode()
    links = pd.DataFrame({"customer_id": ["c1", "c2"], "account_id": ["b", "c"], "method": "handle",
                          "probability": 0.999, "evidence": "exact:handle"})
    segments = pd.DataFrame({"segment": "at_risk", "kind": "at_risk", "rank": [1, 2], "account_id": ["a", "b"],
                             "customer_id": [None, "c1"], "score": [0.5, 0.2],
                             "reason": ["negative exposure 0.50 from 2 of 3 influencers, most from b (0.40)",
                                        "negative exposure 0.20 from 1 of 1 influencers, most from c (0.20)"]})
    write_export(links, out / "links.csv", "links", salt=key)
    write_export(segments, out / "segments.csv", "segments", salt=key)
    write_export(pd.DataFrame({"account_id": ["a", "b", "c", "d"], "community": [0, 0, 1, 1]}),
                 out / "communities.csv", "communities", salt=key)
    (out / "state" / "v000001").mkdir(parents=True)
    segments.to_parquet(out / "state" / "v000001" / "segments.parquet", index=False)
    return snap, out


def _files(root) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_pseudonymised_exports_carry_no_raw_id_in_reason_texts(tmp_path):
    from graphcrm.crm.export import pseudonym

    _, out = _small_world(tmp_path, salt=SALT)
    reasons = read_export(out / "segments.csv").reason.tolist()
    assert reasons == [f"negative exposure 0.50 from 2 of 3 influencers, most from {pseudonym('b', SALT.encode())} "
                       "(0.40)", f"negative exposure 0.20 from 1 of 1 influencers, most from "
                       f"{pseudonym('c', SALT.encode())} (0.20)"]


@pytest.mark.parametrize("salt", [None, SALT])
def test_erase_cuts_the_person_from_reason_texts_in_exports_and_state(tmp_path, salt):
    snap, out = _small_world(tmp_path, salt=salt)
    env = {**os.environ, SALT_ENV: salt} if salt else {k: v for k, v in os.environ.items() if k != SALT_ENV}
    proc = graphcrm("erase", snap, "--account", "b", "--exports", out, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["exports_edited"] == {"segments.csv": 1, "state/v000001/segments.parquet": 1}
    assert report["linked_customers"] == ["c1"]
    for table in (read_export(out / "segments.csv"), pd.read_parquet(out / "state/v000001/segments.parquet")):
        assert table.reason.tolist() == ["negative exposure 0.50 from 2 of 3 influencers"]     # a's row stays
    text = proc.stdout + "".join(p.read_text(errors="replace") for p in out.rglob("*.csv"))
    assert "most from b " not in text


def test_erase_refuses_pseudonymised_exports_without_the_salt(tmp_path):
    snap, out = _small_world(tmp_path, salt=SALT)
    before = _files(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != SALT_ENV}
    proc = graphcrm("erase", snap, "--account", "b", "--exports", out, env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "pseudonymised" in proc.stderr and "--salt-file" in proc.stderr and "nothing erased" in proc.stderr
    assert _files(tmp_path) == before
    (tmp_path / "salt.txt").write_text(SALT + "\n")
    proc = graphcrm("erase", snap, "--account", "b", "--exports", out, "--salt-file", tmp_path / "salt.txt",
                    "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["linked_customers"] == ["c1"]
    assert report["exports"] == {"communities.csv": 1, "links.csv": 1, "segments.csv": 1,
                                 "state/v000001/segments.parquet": 1}


def test_erase_of_someone_found_nowhere_is_an_error_and_writes_nothing(tmp_path):
    snap, out = _small_world(tmp_path)
    before = _files(tmp_path)
    for args in (("--customer", "NOSUCH", "--exports", out), ("--account", "nosuch", "--exports", out)):
        proc = graphcrm("erase", snap, *args)
        assert proc.returncode == 1 and "nothing to erase" in proc.stderr and not proc.stdout, args
        assert _files(tmp_path) == before
    proc = graphcrm("erase", snap, "--account", "b", "--exports", tmp_path / "no-such-dir")
    assert proc.returncode == 2 and "no-such-dir: no such directory" in proc.stderr
    assert _files(tmp_path) == before
    proc = graphcrm("erase", snap, "--customer", "c1", "--exports", out)
    assert proc.returncode == 0 and proc.stdout.startswith("erased customer c1 (linked accounts: b)"), proc.stderr
    again = graphcrm("erase", snap, "--customer", "c1", "--exports", out)      # erasing twice: nothing found
    assert again.returncode == 1 and "nothing to erase" in again.stderr and "erased" not in again.stdout


def test_erase_resumes_after_a_failure_part_way(tmp_path):
    """A failed export write leaves the person in the snapshot; the same command run again finishes."""
    from graphcrm.crm.erase import erase_account, erase_customer

    snap, out = _small_world(tmp_path)
    blocker = out / f".segments.csv.tmp-{os.getpid()}"       # where the rewrite of segments.csv would go
    blocker.mkdir()
    with pytest.raises(OSError):
        erase_account(snap, "b", exports=out)
    assert "b" in set(load_snapshot(snap).id_map.ids.tolist())          # the snapshot last: still findable
    blocker.rmdir()
    proc = graphcrm("erase", snap, "--account", "b", "--exports", out, "--json")
    assert proc.returncode == 0, proc.stderr
    assert "b" not in set(load_snapshot(snap).id_map.ids.tolist())
    assert not (read_export(out / "segments.csv").account_id == "b").any()
    # a snapshot erased by an older run whose exports were not: a re-run finishes the exports
    snap, out = _small_world(tmp_path / "older")
    erase_account(snap, "c")
    proc = graphcrm("erase", snap, "--account", "c", "--exports", out, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["snapshot"]["nodes_removed"] == 0 and report["exports"]["links.csv"] == 1
    assert not (read_export(out / "communities.csv").account_id == "c").any()
    # a customer: the links naming the account go early, the pending record still names it
    snap, out = _small_world(tmp_path / "customer")
    blocker = out / f".segments.csv.tmp-{os.getpid()}"
    blocker.mkdir()
    with pytest.raises(OSError):
        erase_customer(snap, "c1", exports=out)
    assert not (read_export(out / "links.csv").customer_id == "c1").any()
    assert json.loads(snap.with_name("snapshot.erasing.json").read_text()) == {"c1": ["b"]}
    blocker.rmdir()
    proc = graphcrm("erase", snap, "--customer", "c1", "--exports", out, "--json")
    assert proc.returncode == 0, proc.stderr
    assert "b" not in set(load_snapshot(snap).id_map.ids.tolist())
    assert not (read_export(out / "segments.csv").account_id == "b").any()
    assert not snap.with_name("snapshot.erasing.json").exists()


# ---------------------------------------------------------------- pipeline: killed runs, summary paths (QA F8-F9)
def test_run_summary_on_disk_names_the_final_outputs(first_run):
    out, summary = first_run
    on_disk = json.loads((out / "run_summary.json").read_text())
    assert on_disk["outputs"] == summary["outputs"]
    assert all(Path(p).parent == out and Path(p).exists() for p in on_disk["outputs"].values())


def test_a_run_killed_mid_way_leaves_a_staging_directory_the_next_run_removes(first_run, tmp_path):
    out = tmp_path / "nightly"
    shutil.copytree(first_run[0], out)
    before = export_bytes(out)
    proc = subprocess.Popen([shutil.which("graphcrm"), "run", str(EXAMPLE), "--output-dir", str(out), "--full"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staging = tmp_path / f".nightly.staging-{proc.pid}"
    deadline = time.monotonic() + 60
    while not (staging / "snapshot").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL and staging.is_dir()
    assert export_bytes(out) == before
    # not ours to remove: a live process's staging directory, and one holding files a run does not write
    live = tmp_path / f".nightly.staging-{os.getpid()}"
    live.mkdir()
    foreign = tmp_path / f".nightly.staging-{proc.pid + 1000000}"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not graphcrm's")
    assert graphcrm("run", EXAMPLE, "--output-dir", out).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == sorted([live.name, foreign.name])
    assert export_bytes(out) == before


def test_a_run_killed_inside_the_swap_gets_its_outputs_back_on_the_next_run(first_run, tmp_path):
    """SIGKILL right after the first rename of the swap (the output directory moved aside, the new one not yet
    in place): the next run puts the old outputs back and appends to their history."""
    out = tmp_path / "nightly"
    shutil.copytree(first_run[0], out)
    before = export_bytes(out)
    crash = tmp_path / "crash_in_swap.py"
    crash.write_text("import os, signal, sys\n"
                     "replace = os.replace\n"
                     "def crash_after_moving_aside(a, b):\n"
                     "    replace(a, b)\n"
                     "    if '.previous-' in str(b):\n"
                     "        os.kill(os.getpid(), signal.SIGKILL)\n"
                     "os.replace = crash_after_moving_aside\n"
                     "from graphcrm.crm.pipeline import run_pipeline\n"
                     "run_pipeline(sys.argv[1], output_dir=sys.argv[2])\n")
    proc = subprocess.run([sys.executable, crash, EXAMPLE, out], capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    proc = graphcrm("run", EXAMPLE, "--output-dir", out, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["counts"]["load"]["mode"] == "append"       # the history carried on
    assert export_bytes(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_erase_counts_an_undirected_tie_once(tmp_path):
    from graphcrm.crm.erase import erase_account
    from graphcrm.loaders import save_snapshot
    from graphcrm.loaders.builder import GraphBuilder

    graph = GraphBuilder().add_edges("friends", ["a", "b", "c", "b"], ["b", "c", "a", "d"]).build()
    save_snapshot(graph, tmp_path / "snap")
    report = erase_account(tmp_path / "snap", "b")
    assert report["snapshot"]["edges_removed"] == {"friends": 3}        # b's friends: a, c, d


def test_erase_refuses_a_damaged_snapshot_instead_of_certifying_it(tmp_path):
    """erase rewrote a snapshot whose bytes no longer matched their checksums and stored fresh checksums for the
    damage: `info --verify` passed again (QA reliability F2)."""
    from graphcrm.crm.erase import erase_account
    from graphcrm.loaders import save_snapshot
    from graphcrm.loaders.builder import GraphBuilder
    from graphcrm.loaders.errors import SnapshotError
    from graphcrm.loaders.snapshot import verify_snapshot

    graph = GraphBuilder().add_edges("trust", ["a", "b", "c"], ["b", "c", "a"], [1.0, -2.0, 3.0]).build()
    save_snapshot(graph, tmp_path / "snap")
    weights = next((tmp_path / "snap").rglob("out_weights.npy"))
    data = bytearray(weights.read_bytes())
    data[-8:] = np.float64(1e18).tobytes()
    weights.write_bytes(bytes(data))
    with pytest.raises(SnapshotError, match="out_weights.npy does not match its checksum.*nothing erased"):
        erase_account(tmp_path / "snap", "b")
    with pytest.raises(SnapshotError, match="does not match its checksum"):
        verify_snapshot(tmp_path / "snap")                      # still reported as damaged


def test_a_pipeline_refuses_inputs_inside_its_output_dir_and_an_output_dir_inside_a_snapshot(tmp_path):
    """QA: a costs file kept in output_dir was read, then deleted by the run's final swap; an output_dir inside
    another run's output or a snapshot was moved into the snapshot's versions by the next append."""
    path = _pipeline_file(tmp_path)
    proc = graphcrm("run", path)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "o" / "my_costs.csv").write_text("account_id,cost\n1,10\n")
    inside = BASE_PIPELINE.replace('costs = "costs.csv"', 'costs = "o/my_costs.csv"')
    path.write_text(inside)
    proc = graphcrm("run", path)
    assert proc.returncode == 2 and "key 'steps.economics.costs'" in proc.stderr
    assert "inside pipeline.output_dir" in proc.stderr and (tmp_path / "o" / "my_costs.csv").exists()
    for nested in ("o/snapshot/sub", "o/weekly"):
        path.write_text(BASE_PIPELINE.replace('output_dir = "o"', f'output_dir = "{nested}"'))
        proc = graphcrm("run", path)
        assert proc.returncode == 2 and "key 'pipeline.output_dir'" in proc.stderr, proc.stderr
        assert "a snapshot or another pipeline's output" in proc.stderr and not (tmp_path / nested).exists()
    path.write_text(BASE_PIPELINE)
    proc = graphcrm("run", path, "--output-dir", tmp_path / "o" / "snapshot" / "sub")     # the option: the CLI's check
    assert proc.returncode == 2 and "is inside the snapshot" in proc.stderr


def test_outputs_inside_a_snapshot_or_named_twice_are_refused(tmp_path):
    """QA: ``rank SNAP --out SNAP/nodes.parquet`` damaged the snapshot; ``audit --out a.csv --accounts-out a.csv``
    lost the first table."""
    path = _pipeline_file(tmp_path)
    assert graphcrm("run", path).returncode == 0
    snap = tmp_path / "o" / "snapshot"
    before = {p.name: p.read_bytes() for p in snap.iterdir() if p.is_file()}
    for args in (("rank", snap, "--out", snap / "nodes.parquet"),
                 ("load", "--signed", tmp_path / "trust.csv", "--out", tmp_path / "s2", "--rejects", snap / "manifest.json")):
        proc = graphcrm(*args)
        assert proc.returncode == 2 and "is inside the snapshot" in proc.stderr, proc.stderr
    assert {p.name: p.read_bytes() for p in snap.iterdir() if p.is_file()} == before
    assert graphcrm("info", snap).returncode == 0
    proc = graphcrm("audit", snap, "--out", tmp_path / "a.csv", "--accounts-out", tmp_path / "a.csv")
    assert proc.returncode == 2 and "--out and --accounts-out name the same file" in proc.stderr
    assert not (tmp_path / "a.csv").exists()


@pytest.mark.parametrize("option, message", [
    ("layer = 5", "expected a layer name (text), got 5"),
    ('layer = ["a"]', "expected a layer name (text)"),
    ("columns = 5", "expected a list of column names or a table"),
    ("header = 1", 'expected true, false or "auto"'),
    ("skip_rows = -1", "expected a whole number >= 0"),
])
def test_a_source_option_of_the_wrong_type_is_a_config_error_before_anything_runs(tmp_path, option, message):
    """QA: ``layer = 5`` failed in the snapshot writer after the whole graph was built, ``columns = 5`` in the
    reader, both as Python tracebacks; ``undirected = "yes"`` was taken as true."""
    path = _pipeline_file(tmp_path, BASE_PIPELINE.replace('signed = ["trust.csv"]',
                                                          f'signed = [{{path = "trust.csv", {option}}}]'))
    proc = graphcrm("run", path)
    key = option.split(" ")[0]
    assert proc.returncode == 2 and f"key 'sources.signed[0].{key}'" in proc.stderr and message in proc.stderr, \
        proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()
    path.write_text(BASE_PIPELINE.replace('signed = ["trust.csv"]',
                                          'signed = ["trust.csv"]\nedges = [{path = "trust.csv", undirected = "yes"}]'))
    proc = graphcrm("run", path)
    assert proc.returncode == 2 and "key 'sources.edges[0].undirected': expected true or false" in proc.stderr


def test_a_topic_rules_file_is_found_relative_to_the_pipeline_file(tmp_path):
    """QA: ``topic_rules = "rules.toml"`` in a source entry was looked up in the current directory."""
    job = tmp_path / "job"
    job.mkdir()
    (job / "ev.csv").write_text("actor,target,type,time,text\n1,2,RT,1341100000,the higgs boson\n"
                                "2,3,RT,1341100100,more higgs\n3,1,MT,1341100200,hello\n")
    (job / "rules.toml").write_text('[topics]\nphysics = ["higgs"]\n')
    (job / "p.toml").write_text('[pipeline]\noutput_dir = "o"\n[sources]\n'
                                'interactions = [{path = "ev.csv", topic_rules = "rules.toml"}]\n')
    proc = graphcrm("run", job / "p.toml", cwd="/")
    assert proc.returncode == 0, proc.stderr
