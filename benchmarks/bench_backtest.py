"""Backtest benchmark: does graphcrm's influence answer beat the naive baselines out of time?

Runs ``graphcrm backtest`` -- the command a user runs -- on the higgs-twitter activity log (July 1-7 2012)
at two splits, 2012-07-05T00:00Z (the issue's) and 2012-07-06T00:00Z (a second, later one), horizon to the
end of the log.  Each run is a separate process; its wall time and peak resident memory come from the
operating system (``getrusage`` of a launcher that runs only it), so they are what a user would see, interpreter and imports included.

Written to ``benchmarks/RESULTS-backtest.md``:

* per split and target (engagement received, time-respecting reach), every scorer's Spearman on all accounts
  and on those active in training, overlap@20/100/1000, NDCG@100, median abs log error of counts and the
  forecast's interval coverage -- beside plain in-degree, the spreadsheet baseline;
* the issue's targets, each marked met or not, computed from those numbers (nothing typed in by hand);
* mean reach per known account predicted by IC (``wc``, ``learned``) and by the forecast vs actual;
* time and peak memory per run against the targets (<= 60 s, <= 2 GiB).

The scorers are compared with each other in the same run, so the figures do not drift with the machine;
time and memory are absolute because the issue states them so.

Usage: ``python benchmarks/bench_backtest.py [--quick]`` (``--quick``: 20,000 RR samples, for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_load import DATASETS  # noqa: E402

SPLITS = ("2012-07-05T00:00:00Z", "2012-07-06T00:00:00Z")
TIME_TARGET_S, MEMORY_TARGET_GIB = 60.0, 2.0
BASELINES = ("in_degree", "engagement_count", "engagement_decayed", "pagerank", "coreness", "ic_wc", "ic_learned",
             "influence_score", "past_reach")


def exe() -> str:
    found = shutil.which("graphcrm")
    if found is None:
        raise SystemExit("the graphcrm command is not on PATH: pip install -e . first")
    return found


MEASURE = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)")


def run_measured(argv: list[str]) -> tuple[float, float, str]:
    """Run ``argv`` under a fresh launcher; return (wall seconds, its peak RSS in GiB, stdout).

    The launcher's ``RUSAGE_CHILDREN`` holds only this one child, so the peak is the run's own.
    """
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", MEASURE, *argv], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    return seconds, int(proc.stderr.strip().splitlines()[-1]) / 2**20, proc.stdout


def check_targets(metrics: pd.DataFrame, summary: dict) -> list[tuple[str, str, bool]]:
    """The issue's targets on one split: (target, measured, met)."""
    def get(scorer, target, group, column):
        row = metrics[(metrics.scorer == scorer) & (metrics.target == target) & (metrics.group == group)]
        return float(row[column].iloc[0])

    out = []
    for target in ("engagement", "reach"):
        for group in ("all", "active_in_training"):
            f, d = get("forecast", target, group, "spearman"), get("in_degree", target, group, "spearman")
            out.append((f"{target} Spearman ({group}) >= in-degree + 0.03",
                        f"{f:.3f} vs {d:.3f} ({f - d:+.3f})", f >= d + 0.03))
            best = max(BASELINES, key=lambda s: get(s, target, group, "spearman"))
            b = get(best, target, group, "spearman")
            out.append((f"{target} Spearman ({group}) >= every baseline", f"{f:.3f} vs best {best} {b:.3f}", f >= b))
    for column in ("overlap_100", "ndcg_100"):
        f, d = get("forecast", "engagement", "all", column), get("in_degree", "engagement", "all", column)
        out.append((f"engagement {column} >= in-degree", f"{f:.3f} vs {d:.3f}", f >= d))
    f = get("forecast", "engagement", "all", "median_abs_log_error")
    counting = [s for s in BASELINES if pd.notna(get(s, "engagement", "all", "median_abs_log_error"))]
    best = min(counting, key=lambda s: get(s, "engagement", "all", "median_abs_log_error"))
    b = get(best, "engagement", "all", "median_abs_log_error")
    out.append(("engagement median abs log error <= 0.9x best baseline", f"{f:.3f} vs {best} {b:.3f} ({f / b:.2f}x)",
                f <= 0.9 * b))
    ld, d = get("leader_default", "engagement", "all", "overlap_100"), get("in_degree", "engagement", "all",
                                                                            "overlap_100")
    out.append((f"default rank top-100 overlap >= in-degree's (rank used {summary['leader_default_scorer']['scorer']})",
                f"{ld:.3f} vs {d:.3f}", ld >= d))
    return out


def table(frame: pd.DataFrame) -> list[str]:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" if c == "scorer" else "---:" for c in cols) + "|"]
    for row in frame.itertuples(index=False):
        cells = [v if isinstance(v, str) else ("" if pd.isna(v) else f"{v:.3f}") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 RR samples instead of the default")
    args = parser.parse_args()
    samples = ["--samples", "20000"] if args.quick else []
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-backtest-"))
    try:
        snap = work / "higgs"
        log = DATASETS / "higgs-twitter" / "higgs-activity_time.txt.gz"
        load_s, _, _ = run_measured([exe(), "load", "--interactions", str(log), "--out", str(snap)])
        runs = []
        for split in SPLITS:
            out = work / f"backtest-{split[:10]}.json"
            seconds, gib, stdout = run_measured([exe(), "backtest", str(snap), "--split", split, "--out", str(out),
                                                 "--json", *samples])
            result = json.loads(out.read_text())
            runs.append((split, seconds, gib, pd.DataFrame(result["metrics"]), result["summary"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    lines = ["# Backtest: influence scorers out of time on higgs-twitter", "",
             f"Generated by `python benchmarks/bench_backtest.py{' --quick' if args.quick else ''}` on "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC ({os.cpu_count()} cores). Each split is one "
             f"`graphcrm backtest SNAPSHOT --split T` process on the snapshot of `higgs-activity_time.txt.gz` "
             f"(loaded in {load_s:.0f} s, not counted); scorers see only events before the split, the horizon runs "
             "to the end of the log. Targets: engagement received (retweets, by the retweeted account) and reach "
             "(distinct accounts reached through time-respecting retweet chains).", ""]
    for split, seconds, gib, metrics, summary in runs:
        fm = summary["forecast_model"]
        lines += [f"## Split {split}", "",
                  f"{summary['events_before_split']:,} retweets before, {summary['events_in_horizon']:,} in the "
                  f"{summary['horizon_seconds'] / 86400:.2f}-day horizon; {summary['accounts_engaged_in_horizon']:,} "
                  f"accounts re-shared there, {summary['of_them_new_after_split']:,} of them first seen after the "
                  f"split (no scorer can rank those above zero). Forecast: feature set `{fm['feature_set']}`, chosen "
                  f"on its own held-out fold inside the training period. Default `rank` scorer here: "
                  f"`{summary['leader_default_scorer']['scorer']}` ({summary['leader_default_scorer']['reason']}).",
                  "", f"Run: **{seconds:.1f} s**, peak memory **{gib:.2f} GiB** "
                  f"(targets {TIME_TARGET_S:.0f} s, {MEMORY_TARGET_GIB:.0f} GiB: "
                  f"{'met' if seconds <= TIME_TARGET_S and gib <= MEMORY_TARGET_GIB else 'NOT met'}).", ""]
        for target in ("engagement", "reach"):
            m = metrics[metrics.target == target]
            wide = m.pivot_table(index="scorer", columns="group", values="spearman", sort=False)
            wide = wide[["all", "active_in_training", "top_1000"]].add_prefix("spearman_")
            first = m[m.group == "all"].set_index("scorer")[["overlap_20", "overlap_100", "overlap_1000", "ndcg_100",
                                                            "median_abs_log_error", "interval_coverage"]]
            frame = wide.join(first).sort_values("spearman_all", ascending=False).reset_index()
            lines += [f"### {target}", ""] + table(frame) + [""]
        lines += ["### The issue's targets", "", "| target | measured | met |", "|---|---|---|"]
        lines += [f"| {name} | {measured} | {'yes' if met else '**no**'} |"
                  for name, measured, met in check_targets(metrics, summary)]
        cal = summary["reach_calibration"]
        lines += ["", "### Mean reach per account known before the split: predicted vs actual", "",
                  "| scorer | mean predicted | mean actual | ratio |", "|---|---:|---:|---:|"]
        lines += [f"| {k} | {v['mean_predicted']:.3f} | {v['mean_actual']:.3f} | {v['ratio']:.2f} |"
                  for k, v in cal.items()]
        lines += [""]
    lines += [f"Whole benchmark: {time.perf_counter() - started:.0f} s."]
    text = "\n".join(lines) + "\n"
    (HERE / "RESULTS-backtest.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
