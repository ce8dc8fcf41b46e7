"""The campaign-planner verbs (simulate, plan, reach, contain) as a user runs them: parameters checked before any
kernel runs, the same id files as every other verb, headlines that say what they count, no option silently
ignored, outputs written all or nothing (QA report on the planning verbs)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from graphcrm.algorithms.contagion import simulate_competition
from graphcrm.algorithms.containment import compare_containment, exposed_accounts
from graphcrm.algorithms.diffusion import simulate
from graphcrm.loaders.builder import GraphBuilder
from graphcrm.loaders.errors import ParameterError

EXE = shutil.which("graphcrm")


def run(*args, cwd=None):
    env = dict(os.environ, CI="true")
    proc = subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def one_line_error(err: str) -> bool:
    return err.startswith("error: ") and err.strip().count("\n") == 0 and "Traceback" not in err


@pytest.fixture(scope="module")
def wiki(tmp_path_factory, wiki_vote):
    out = tmp_path_factory.mktemp("campaign") / "wiki"
    code, _, err = run("load", "--edges", wiki_vote, "--layer", "votes", "--out", out)
    assert code == 0, err
    return out


def chain():
    return GraphBuilder().add_edges("x", [1, 2, 3], [2, 3, 4]).build()      # 1 -> 2 -> 3 -> 4


# -- finding 1: negative counts reached the numba kernels (memory corruption, segfaults) ----------------------


@pytest.mark.parametrize("args, message", [
    (("simulate", "--seeds", 2565, "--max-steps", -1), "--max-steps must be >= 0"),
    (("simulate", "--seeds", 2565, "--runs", 0), "--runs must be >= 1"),
    (("simulate", "--seeds", 2565, "--ci-width", -2), "--ci-width must be a number > 0"),
    (("plan", "--k", 2, "--evaluate-runs", -1), "--evaluate-runs must be >= 0"),
    (("plan", "--k", 0), "--k must be >= 1"),
    (("reach", "--target", 4037, "--samples", -5), "--samples must be >= 1"),
    (("contain", "--negative", 11, "--max-sources", -2), "--max-sources must be >= 1"),
])
def test_negative_counts_are_usage_errors_before_any_kernel_runs(wiki, args, message):
    verb, *rest = args
    for _ in range(3):          # the crash was intermittent: memory corruption, not a deterministic failure
        code, out, err = run(verb, wiki, *rest)
        assert code == 2 and one_line_error(err) and message in err, (code, err)


def test_api_refuses_negative_max_steps_and_run_counts():
    g = chain()
    with pytest.raises(ParameterError, match="max_steps must be a whole number >= 0"):
        simulate(g, [1], layer="x", prob="const:1", n_runs=100, max_steps=-1)
    with pytest.raises(ParameterError, match="ci_width"):
        simulate(g, [1], layer="x", prob="const:1", n_runs=100, ci_width=float("nan"))
    assert simulate(g, [1], layer="x", prob="const:1", n_runs=10, max_steps=0).mean == 1.0   # the seeds only
    with pytest.raises(ParameterError, match="n_runs must be >= 1"):
        simulate_competition(g, [1], [3], layer="x", prob="const:1", n_runs=0)
    with pytest.raises(ParameterError, match="n_runs must be >= 1"):
        compare_containment(g, [1], {"a": [3]}, layer="x", prob="const:1", n_runs=-3)
    with pytest.raises(ParameterError, match="n_runs must be >= 1"):
        exposed_accounts(g, [1], [3], layer="x", prob="const:1", n_runs=0)



@pytest.mark.parametrize("bad", ["1", -1, 2.5, None])
def test_every_seeded_verb_takes_a_whole_number_seed_only(bad):
    """A seed of "1" was accepted by some verbs (turned into something else) and raised raw numpy errors in
    others; one message everywhere now."""
    from graphcrm.algorithms.centrality import betweenness, expected_reach
    from graphcrm.algorithms.community import leiden
    from graphcrm.algorithms.contagion import simulate_epidemic
    from graphcrm.algorithms.embedding import fastrp
    from graphcrm.algorithms.planning import celf_greedy, plan_seeds

    g = chain()
    calls = [lambda s: simulate(g, [1], layer="x", n_runs=10, seed=s),
             lambda s: simulate_epidemic(g, [1], layer="x", n_runs=10, seed=s),
             lambda s: betweenness(g, layer="x", seed=s),
             lambda s: expected_reach(g, layer="x", seed=s),
             lambda s: leiden(g, layer="x", seed=s),
             lambda s: fastrp(g, layer="x", dim=8, seed=s),
             lambda s: plan_seeds(g, layer="x", k=1, seed=s),
             lambda s: celf_greedy(g, layer="x", k=1, seed=s)]
    for call in calls:
        with pytest.raises(ParameterError, match="seed must be a whole number >= 0"):
            call(bad)
    assert simulate(g, [1], layer="x", n_runs=10, seed=3.0).mean == simulate(g, [1], layer="x", n_runs=10, seed=3).mean

# -- finding 2: --seeds-file reads what every other id option reads, plan --out's file included ----------------


def test_simulate_seeds_file_reads_plan_output_headers_comments_and_bom(wiki, tmp_path):
    planned = tmp_path / "planned.csv"
    code, out, err = run("plan", wiki, "--k", 3, "--evaluate-runs", 0, "--out", planned, "--json")
    assert code == 0, err
    seeds = json.loads(out)["seeds"]
    code, out, err = run("simulate", wiki, "--seeds-file", planned, "--runs", 300, "--json")
    assert code == 0, err
    direct = json.loads(run("simulate", wiki, *sum((["--seeds", s] for s in seeds), []), "--runs", 300, "--json")[1])
    assert json.loads(out)["expected_reach"] == direct["expected_reach"] and json.loads(out)["seeds"] == 3
    files = {"header.csv": "account_id\n2565\n11\n", "comment.txt": "# our advocates\n2565\n\n11\n",
             "table.csv": "name,account_id\n\"Smith, J\",2565\nB,11\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf2565\r\n11\r\n")
    results = set()
    for name in [*files, "bom.txt"]:
        code, out, err = run("simulate", wiki, "--seeds-file", tmp_path / name, "--runs", 300, "--json")
        assert code == 0, (name, err)
        results.add((json.loads(out)["seeds"], json.loads(out)["expected_reach"]))
    assert len(results) == 1 and results.pop()[0] == 2


def test_simulate_seeds_file_unknown_id_names_the_file_and_line(wiki, tmp_path):
    bad = tmp_path / "seeds.txt"
    bad.write_text("# advocates\n2565\nnobody\n")
    code, _, err = run("simulate", wiki, "--seeds-file", bad, "--runs", 100)
    assert code == 1 and one_line_error(err)
    assert f"{bad}, line 3, field 'account_id'" in err and "'nobody'" in err
    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody yet\n")
    code, _, err = run("simulate", wiki, "--seeds-file", empty)
    assert code == 1 and one_line_error(err) and "no account ids" in err


# -- finding 3: reach's headline counts every account that reaches the target, not --top ---------------------


def test_reach_headline_counts_every_account_found_not_top(tmp_path):
    # 6 -> 5 -> 1 -> 2 -> 4 <- 3, 4 -> 7: with p = 1 five accounts reach 4 (6, 5, 1, 2, 3); nobody reaches 6
    edges = tmp_path / "edges.txt"
    edges.write_text("1 2\n2 4\n3 4\n5 1\n6 5\n4 7\n")
    snap = tmp_path / "g"
    assert run("load", "--edges", edges, "--layer", "x", "--out", snap)[0] == 0
    code, out, err = run("reach", snap, "--target", 4, "--top", 2, "--prob", "const:1", "--samples", 100)
    assert code == 0, err
    assert out.splitlines()[0] == "5 accounts can reach 4 (100 samples, IC, const:1); the top 2:"
    assert len(out.splitlines()) == 1 + 1 + 2
    code, out, err = run("reach", snap, "--target", 4, "--top", 20, "--prob", "const:1", "--samples", 100, "--json")
    summary = json.loads(out)
    assert summary["accounts_found"] == 5 and summary["listed"] == 5
    assert summary["target"] == 4 and summary["influencers"][0]["account_id"] in range(10)   # ids as stored, alike
    code, out, err = run("reach", snap, "--target", 6, "--prob", "const:1", "--samples", 100)
    assert code == 0 and out.strip() == "no account reaches 6 in 100 samples (IC, const:1)"
    for top in (0, -2):
        code, out, err = run("reach", snap, "--target", 4, "--top", top)
        assert code == 2 and one_line_error(err) and "--top must be >= 1" in err


# -- finding 4: options a kind of simulation does not use are refused, never silently dropped ------------------


def test_simulate_refuses_options_the_model_does_not_use(wiki, tmp_path):
    cases = [
        (["--negative", 11, "--out", tmp_path / "a.csv", "--activation-out", tmp_path / "b.csv",
          "--hourly-out", tmp_path / "c.csv", "--max-steps", 3],
         "--out, --max-steps, --activation-out, --hourly-out do not apply to --negative"),
        (["--model", "sis", "--out", tmp_path / "a.csv", "--activation-out", tmp_path / "b.csv", "--ci-width", 0.5],
         "--activation-out, --ci-width do not apply to --model sis"),
        (["--model", "sir", "--hourly-out", tmp_path / "c.csv"], "--hourly-out does not apply to --model sir"),
        (["--recovery", 0.3], "--recovery does not apply to --model ic"),
    ]
    for extra, message in cases:
        code, _, err = run("simulate", wiki, "--seeds", 2565, "--runs", 200, *extra)
        assert code == 2 and one_line_error(err) and message in err, (extra, err)
    assert not list(tmp_path.iterdir())                        # nothing written
    code, _, err = run("simulate", wiki, "--seeds", 2565, "--model", "sir", "--recovery", 0.3, "--max-steps", 5,
                       "--runs", 200, "--out", tmp_path / "sir.csv")
    assert code == 0, err
    assert pd.read_csv(tmp_path / "sir.csv")["step"].max() <= 5     # what SIR uses, it honours


# -- finding 5: plan --target-segment checks the headline's figure (target accounts), with its interval --------


def test_simulate_counts_target_reach_run_by_run():
    # 1 -> 2 -> 3 -> 4 at p = 0.5: account k (k >= 2) is reached with probability 0.5 ** (k - 1)
    est = simulate(chain(), [1], layer="x", prob="const:0.5", n_runs=40_000, seed=3, targets=[3, 4])
    mean, low, high = est.in_targets()
    assert abs(mean - (0.25 + 0.125)) < 4 * (high - low) / 3.92 and high - low < 0.02     # 4 standard errors
    assert mean == pytest.approx(est.activation_probability[[2, 3]].sum())      # same runs, same figure
    assert est.target_sizes.max() <= 2 and len(est.target_sizes) == 40_000
    with pytest.raises(ParameterError, match="counted no targets"):
        simulate(chain(), [1], layer="x", prob="const:1", n_runs=10).in_targets()


def test_plan_target_segment_check_reports_reach_in_targets_beside_the_headline(wiki, tmp_path):
    segment = tmp_path / "segment.txt"
    segment.write_text("\n".join(str(i) for i in range(1, 2500)) + "\n")
    args = ("plan", wiki, "--k", 5, "--target-segment", segment, "--evaluate-runs", 2000)
    code, out, err = run(*args, "--json")
    assert code == 0, err
    check = json.loads(out)["monte_carlo_check"]
    low, high = check["ci95_in_targets"]
    assert low <= check["expected_reach_in_targets"] <= high < check["expected_reach"]
    code, out, err = run(*args)
    assert code == 0, err
    line = out.splitlines()[1]
    assert line.startswith(f"Monte-Carlo check (2,000 runs): {check['expected_reach_in_targets']:,.1f} target "
                           f"accounts (95% CI {low:,.1f} .. {high:,.1f}); all accounts reached: "
                           f"{check['expected_reach']:,.1f}")


# -- finding 6: output names and prerequisites checked before computing; outputs written all or nothing --------


def test_failed_simulate_and_contain_leave_every_output_as_it_was(wiki, tmp_path):
    steps, act, hourly = tmp_path / "steps.csv", tmp_path / "act.csv", tmp_path / "hourly.csv"
    steps.write_text("old steps\n")
    # wiki-Vote has no interaction log: --hourly-out cannot be made, so nothing may be (over)written
    code, _, err = run("simulate", wiki, "--seeds", 2565, "--runs", 200, "--out", steps, "--activation-out", act,
                       "--hourly-out", hourly)
    assert code == 2 and one_line_error(err) and "no interaction log" in err
    assert steps.read_text() == "old steps\n" and not act.exists() and not hourly.exists()
    code, _, err = run("contain", wiki, "--negative", 11, "--k", 2, "--runs", 50, "--check-runs", 0,
                       "--out", tmp_path / "plan.csv", "--hourly-out", hourly)
    assert code == 2 and "no interaction log" in err and not (tmp_path / "plan.csv").exists()
    code, _, err = run("contain", wiki, "--negative", 11, "--k", 2, "--runs", 50, "--check-runs", 0,
                       "--out", tmp_path / "plan.csv", "--exposed-out", tmp_path / "exposed.txt")
    assert code == 2 and one_line_error(err) and "--exposed-out" in err and ".csv or .parquet" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["steps.csv"]


@pytest.mark.parametrize("verb, args", [
    ("plan", ("--k", 2, "--evaluate-runs", 0)),
    ("reach", ("--target", 4037)),
])
def test_plan_and_reach_check_the_output_name_first(wiki, tmp_path, verb, args):
    code, _, err = run(verb, wiki, *args, "--out", tmp_path / "seeds.txt")
    assert code == 2 and one_line_error(err) and "--out" in err and ".csv or .parquet" in err
    assert not list(tmp_path.iterdir())


def test_two_outputs_on_one_path_is_a_usage_error(wiki, tmp_path):
    same = tmp_path / "same.csv"
    code, _, err = run("simulate", wiki, "--seeds", 2565, "--runs", 200, "--out", same, "--activation-out",
                       tmp_path / "." / "same.csv")
    assert code == 2 and one_line_error(err) and "--out and --activation-out name the same file" in err
    assert not same.exists()
    code, _, err = run("simulate", wiki, "--seeds", 2565, "--runs", 200, "--out", same, "--activation-out",
                       tmp_path / "act.parquet")
    assert code == 0, err
    activation = pd.read_parquet(tmp_path / "act.parquet").set_index("account_id")["activation_probability"]
    assert pd.read_csv(same)["step"].iloc[0] == 0 and activation[2565] == 1.0


# -- finding 9: the plan's headline gives a labelled 95% interval, not an unlabelled standard error -------------


def test_plan_headline_interval_is_a_labelled_95_percent_interval(wiki):
    code, out, err = run("plan", wiki, "--k", 3, "--evaluate-runs", 0, "--json")
    assert code == 0, err
    summary = json.loads(out)
    half = 1.96 * summary["expected_reach_stderr"]
    low, high = summary["expected_reach_ci95"]        # Wilson: about +-1.96 se on many RR sets, never width 0
    assert low < summary["expected_reach"] < high
    assert high - low == pytest.approx(2 * half, rel=0.05)
    code, out, err = run("plan", wiki, "--k", 3, "--evaluate-runs", 0)
    assert code == 0, err
    assert f"expected reach {summary['expected_reach']:,.1f} (95% CI {low:,.1f} .. {high:,.1f}) accounts;" in out
    assert "+-" not in out


# -- finding 12: the README's spread_by_segment(est, communities) with the Partition leiden returns -------------


def test_readme_spread_by_segment_snippet_takes_a_partition(wiki_graph):
    from graphcrm.algorithms import leiden, spread_by_segment

    est = simulate(wiki_graph, ["2565"], layer="votes", n_runs=1000, seed=1)
    communities = leiden(wiki_graph, layer="votes", seed=1)
    by_partition = spread_by_segment(est, communities)                 # the README's line
    by_series = spread_by_segment(est, communities.to_series())
    pd.testing.assert_frame_equal(by_partition, by_series)
    assert by_partition["expected_reached"].sum() == pytest.approx(est.mean)
    assert by_partition["accounts"].sum() == wiki_graph.n_nodes
    with pytest.raises(ParameterError, match="segments must be a Partition"):
        spread_by_segment(est, ["not", "a", "mapping"])


# -- findings 10 / 11: bounds within the graph, strict JSON, duplicates counted once, notes for capped inputs -------


def test_plan_bounds_budget_and_notes(wiki, tmp_path):
    costs = tmp_path / "costs.csv"
    code, out, _ = run("plan", wiki, "--k", 100_000, "--evaluate-runs", 0, "--eps", 0.3, "--json")
    summary = json.loads(out)
    assert code == 0 and len(summary["seeds"]) == 7_115
    assert summary["optimum_upper_bound"] <= 7_115                       # never above the number of accounts
    assert summary["notes"] == ["--k 100,000 is more than the 7,115 accounts that can be seeded: planned 7,115"]
    costs.write_text("account_id,cost\n2565,10\n11,20\nnobody,5\n")
    code, _, err = run("plan", wiki, "--budget", "nan", "--costs", costs)
    assert code == 2 and one_line_error(err) and "--budget nan is not a number" in err
    code, out, err = run("plan", wiki, "--budget", 25, "--costs", costs, "--evaluate-runs", 0)
    assert code == 0, err
    assert "note: 1 of the 3 ids of --costs" in out and "(first: 'nobody')" in out
    code, out, err = run("plan", wiki, "--k", 2, "--costs", costs, "--evaluate-runs", 0)
    assert code == 0 and "note: --costs" in out and "used only with --budget" in out
    exclude = tmp_path / "exclude.txt"
    exclude.write_text("2565\ncompetitor-typo\n")
    code, out, err = run("plan", wiki, "--k", 2, "--exclude", exclude, "--evaluate-runs", 0)
    assert code == 0 and "note: 1 of the 2 ids of --exclude" in out and "'competitor-typo'" in out
    code, _, err = run("plan", wiki, "--k", 2, "--max-memory", 10)
    assert code == 2 and one_line_error(err)
    assert re.search(r"needs about [\d,]+ bytes", err) and not re.search(r"\d\.\d+ bytes", err)   # whole bytes


def test_simulate_duplicates_strict_json_and_saved_never_negative(wiki):
    code, out, err = run("simulate", wiki, "--seeds", 30, "--seeds", 30, "--runs", 200, "--json")
    summary = json.loads(out)
    assert code == 0 and summary["seeds"] == 1 and summary["notes"] == ["1 duplicate seed id(s) ignored: 1 distinct"]
    code, out, err = run("simulate", wiki, "--seeds", 2565, "--seeds", 2565, "--negative", 11, "--runs", 300)
    assert code == 0 and "without the 1 advocates" in out and "note: 1 duplicate seed id(s) ignored" in out
    code, out, err = run("simulate", wiki, "--seeds", 2565, "--runs", 1, "--json")
    assert code == 0 and "Infinity" not in out and json.loads(out)["ci95"] == [None, None]
    # paired live-edge worlds: advocates can only take accounts from the negative side, run by run
    g = GraphBuilder().add_edges("x", [1, 1, 2, 3, 3, 5], [2, 3, 4, 4, 5, 6]).build()
    for seed in range(5):
        est = simulate_competition(g, [1], [3], layer="x", prob="const:0.5", n_runs=300, seed=seed)
        assert est.saved >= 0 and est.info["saved_ci95"][0] >= 0


def test_contain_notes_fewer_candidates_than_k(wiki, tmp_path):
    candidates = tmp_path / "candidates.csv"
    candidates.write_text("account_id\n766\n457\n")
    code, out, err = run("contain", wiki, "--negative", 11, "--k", 5, "--candidates", candidates, "--runs", 100,
                         "--check-runs", 0, "--json")
    summary = json.loads(out)
    assert code == 0 and len(summary["plan"]) == 2
    assert summary["notes"] == ["--k 5 is more than the 2 candidate advocates left: planned 2"]


def test_simulate_says_when_its_step_table_is_cut(tmp_path):
    """The console table showed 10 steps and stopped without a word (QA README #7)."""
    from graphcrm.loaders import save_snapshot

    save_snapshot(GraphBuilder().add_edges("x", list(range(14)), list(range(1, 15))).build(), tmp_path / "chain")
    args = ("simulate", tmp_path / "chain", "--seeds", 0, "--runs", 20, "--prob", "const:1")
    code, out, err = run(*args)
    assert code == 0, err
    steps = json.loads(run(*args, "--json")[1])["steps"]
    assert steps == 15 and f"(first 10 of {steps} steps; --out FILE writes them all)" in out
