"""The CLI as a user runs it: a real `graphcrm` process, exit codes, one-line errors, --json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import dataset

EXE = shutil.which("graphcrm")


def run(*args, cwd=None):
    env = dict(os.environ, CI="true")
    proc = subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module", autouse=True)
def _installed():
    if EXE is None:
        pytest.fail("the graphcrm command is not on PATH: install the package (pip install -e '.[test]')")


def test_demo_runs_on_the_bundled_sample(tmp_path):
    code, out, err = run("demo", "--out", tmp_path / "demo", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["nodes"] == 25_623 and summary["events"] == 35_030
    leaders = pd.read_csv(summary["outputs"]["opinion_leaders"])
    assert len(leaders) == 10 and leaders.leader_score.is_monotonic_decreasing
    # the demo's list is the one `graphcrm rank` writes (the scorer that won on the log's held-out end)
    rank = tmp_path / "rank.csv"
    assert run("rank", summary["snapshot"], "--top", "10", "--out", rank)[0] == 0
    assert leaders.account_id.tolist() == pd.read_csv(rank).account_id.tolist()
    assert summary["leaders_ranking"]["scorer"] in ("forecast", "engagement_decayed", "in_degree", "combined")
    assert leaders["rank"].tolist() == list(range(1, 11))
    assert "Opinion leaders" in Path(summary["outputs"]["report"]).read_text(encoding="utf-8")
    code, out, _ = run("info", summary["snapshot"], "--json")
    assert code == 0 and json.loads(out)["layers"]["retweets"]["events"] == 23_683


def test_load_and_info_on_real_files(tmp_path):
    snap = tmp_path / "g"
    code, out, err = run("load", "--interactions", dataset("higgs-twitter/higgs-activity_time.txt.gz"),
                         "--edges", dataset("wiki-Vote/wiki-Vote.txt.gz"), "--layer", "votes",
                         "--signed", dataset("soc-sign-bitcoin/soc-sign-bitcoinalpha.csv.gz"),
                         "--out", snap, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["edges"]["votes"] == 103_689 and summary["edges"]["trust"] == 24_186
    code, out, _ = run("info", snap)
    assert code == 0 and "layer retweets:" in out and "time span: 2010-11-08" in out


def test_lenient_load_writes_rejects(tmp_path):
    src = tmp_path / "events.txt"
    src.write_text("1 2 1341100972 RT\n2 3 oops MT\n3 4 1341100974 XX\n")
    code, out, err = run("load", "--interactions", src, "--mode", "lenient", "--out", tmp_path / "g", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["rejected_rows"] == 2
    rejects = pd.read_csv(summary["rejects_file"])
    assert rejects.line.tolist() == [2, 3]


def test_bad_input_is_one_line_and_exit_1(tmp_path):
    src = tmp_path / "events.txt"
    src.write_text("1 2 1341100972 RT\n2 3 oops MT\n")
    snap = tmp_path / "g"
    code, _, err = run("load", "--interactions", src, "--out", snap)
    assert code == 1
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert err.startswith(f"error: {src}, line 2, field 'time': 'oops' is not a timestamp")
    assert not snap.exists()   # nothing half-written


def test_failed_load_keeps_the_existing_snapshot(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("1 2\n2 3\n")
    snap = tmp_path / "g"
    assert run("load", "--edges", good, "--out", snap)[0] == 0
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2\n2 x y\n")
    assert run("load", "--edges", bad, "--out", snap)[0] == 1
    code, out, _ = run("info", snap, "--json")
    assert code == 0 and json.loads(out)["layers"]["follows"]["edges"] == 2


def test_usage_errors_exit_2(tmp_path):
    assert run("load", "--no-such-flag")[0] == 2
    assert run("load", "--out", tmp_path / "g")[0] == 2          # nothing to load
    assert run("load", "--edges", "a", "--edges", "b", "--layer", "x", "--layer", "y", "--layer", "z",
               "--out", tmp_path / "g")[0] == 2
    code, _, err = run("info", tmp_path / "missing")
    assert code == 1 and "no such snapshot directory" in err


def test_warmup_compiles_every_kernel():
    code, out, err = run("warmup", "--json")
    assert code == 0, err
    assert "graphcrm.loaders._kernels" in json.loads(out)["kernel_modules"]


def test_rank_on_signed_ratings_says_what_it_left_out_and_why_no_forecast(tmp_path):
    """On a bitcoin-style log `rank` said 'no timestamped interaction log' (there is one: of ratings) and listed
    the structural combined score; unlike `communities`, it did not say that negative ratings are left out.
    It ranks by the scorer validated on the positive ratings received now, and says what it left out."""
    snap = tmp_path / "btc"
    assert run("load", "--signed", dataset("soc-sign-bitcoin/soc-sign-bitcoinalpha.csv.gz"), "--out", snap)[0] == 0
    code, out, err = run("rank", snap, "--out", tmp_path / "r.csv")
    assert code == 0, err
    assert "leader score: " in out and " on trust (top-" in out
    negative = int((pd.read_csv(dataset("soc-sign-bitcoin/soc-sign-bitcoinalpha.csv.gz")).iloc[:, 2] < 0).sum())
    assert f"note: trust: {negative:,} negative ties left out of the scores: only positive ratings count" in out
    table = pd.read_csv(tmp_path / "r.csv")
    assert table.scorer.iloc[0] in ("forecast", "engagement_decayed", "in_degree")
    assert np.isfinite(table.leader_score).all() and np.isfinite(table.forecast_engagement_high).all()
    code, out, _ = run("rank", snap, "--out", tmp_path / "p.csv", "--method", "pagerank", "--json")
    assert code == 0 and json.loads(out)["negative_ties_ignored"] == negative


def test_no_output_option_may_overwrite_a_file_the_command_reads(tmp_path):
    data = tmp_path / "ties.csv"
    data.write_text("source,target,weight\n1,2,3\n2,3,x\n")
    before = data.read_bytes()
    code, out, err = run("load", "--edges", data, "--mode", "lenient", "--rejects", data, "--out", tmp_path / "s")
    assert code == 2 and err.startswith(f"error: --rejects {data} is a file this command reads"), err
    assert data.read_bytes() == before and not (tmp_path / "s").exists()
    code, out, err = run("load", "--edges", data, "--mode", "lenient", "--out", tmp_path / "s")
    assert code == 0, err
    seeds = tmp_path / "seeds.csv"
    seeds.write_text("account_id\n1\n")
    code, out, err = run("simulate", tmp_path / "s", "--seeds-file", seeds, "--out", seeds)
    assert code == 2 and "--out" in err and "is a file this command reads" in err, err
    assert seeds.read_text() == "account_id\n1\n"


def test_simulate_learned_on_a_log_without_delays_still_simulates(tmp_path):
    """QA spread F2: `--prob learned` computed re-share delays for the hourly summary even when no
    --hourly-out was asked for, and a log with none stopped the run."""
    log = tmp_path / "rt.csv"
    log.write_text("actor,target,type,time\n2,1,retweet,0\n2,1,retweet,3600\n3,1,retweet,7200\n1,9,retweet,10800\n")
    assert run("load", "--interactions", log, "--out", tmp_path / "g")[0] == 0
    code, out, err = run("simulate", tmp_path / "g", "--seeds", "9", "--layer", "retweets", "--prob", "learned", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["reach_after_hours"] is None and any("no reach over time" in n for n in summary["notes"])
    assert abs(summary["expected_reach"] - 2.131) < 0.05                  # exact: 2.131 (every live-edge world)
    code, out, err = run("simulate", tmp_path / "g", "--seeds", "9", "--layer", "retweets", "--prob", "learned",
                         "--hourly-out", tmp_path / "h.csv")
    assert code != 0 and "no observed delays" in err                        # asked for: says why not


def test_a_cascade_longer_than_the_step_table_is_said(tmp_path):
    """QA spread F5: steps past 64 were summed into step 64 without a word (a 101-account chain at p = 1)."""
    (tmp_path / "chain.csv").write_text("".join(f"{i},{i + 1}\n" for i in range(100)))
    assert run("load", "--edges", tmp_path / "chain.csv", "--layer", "infl", "--out", tmp_path / "g")[0] == 0
    code, out, err = run("simulate", tmp_path / "g", "--seeds", "0", "--prob", "const:1", "--runs", "50", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["expected_reach"] == 101 and any("ran past 64 steps" in n for n in summary["notes"])
    code, out, err = run("simulate", tmp_path / "g", "--seeds", "0", "--prob", "const:1", "--runs", "50",
                         "--max-steps", "10", "--json")
    assert code == 0 and not any("ran past" in n for n in json.loads(out)["notes"])


def test_plan_says_unknown_ids_once_as_a_note_not_a_python_warning(tmp_path):
    (tmp_path / "e.csv").write_text("0,1\n1,2\n2,3\n")
    assert run("load", "--edges", tmp_path / "e.csv", "--layer", "infl", "--out", tmp_path / "g")[0] == 0
    (tmp_path / "ex.txt").write_text("99\n1\n")
    code, out, err = run("plan", tmp_path / "g", "--k", "1", "--exclude", tmp_path / "ex.txt", "--evaluate-runs", "0")
    assert code == 0, err
    assert "UserWarning" not in err and "warnings.warn" not in err and "not in the snapshot" in out + err
