"""Nightly appends: higgs-twitter replayed day by day, ``load --append`` beside a full reload of the log so far.

July 1..7 of the higgs activity log (UTC days): version 1 is day 1 loaded with ``graphcrm load``; each next
day is appended with ``graphcrm load --append``.  In the same run, for every day, the whole log so far is
loaded from scratch (``graphcrm load --out``), and the two snapshots are compared array by array.  Reported
per day: append seconds and peak RSS, full-load seconds and peak RSS, their ratios, and whether the appended
snapshot equals the full one.

Also per day: the nightly job itself (``graphcrm run pipeline.toml`` with leaders, communities and segments),
rerun in one output directory with one more day file listed each night (append, warm-started Leiden,
segment changes) beside a full run of the same pipeline into a fresh directory; and, in one process,
PageRank warm-started from the day before (``pagerank(start=...)``) against a cold run, and the time of a
full coreness recompute.

Usage: ``python benchmarks/bench_incremental.py``; writes ``benchmarks/RESULTS-incremental.md``.
"""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_backtest import exe, run_measured  # noqa: E402

DATASETS = Path(__import__("os").environ.get("GRAPHCRM_DATASETS", HERE.parent.parent / "shared" / "datasets"))
LOG = DATASETS / "higgs-twitter" / "higgs-activity_time.txt.gz"
DAY = 86_400


def split_days(work: Path) -> list[Path]:
    """The log's rows by UTC day, one file per day, in file order."""
    days: dict[int, list[str]] = {}
    with gzip.open(LOG, "rt") as fh:
        for line in fh:
            days.setdefault(int(line.split()[2]) // DAY, []).append(line)
    paths = []
    for i, key in enumerate(sorted(days)):
        path = work / f"day{i + 1}.txt"
        path.write_text("".join(days[key]))
        paths.append(path)
    return paths


def communities_warm_vs_cold(snap: Path, since: int, work: Path) -> tuple:
    """Leiden warm-started from version ``since`` (``communities --since``) against a cold run, same seed.

    Returns (warm Q, cold Q, warm seconds, cold seconds, share of accounts keeping their id warm, the same
    for the cold run matched to the earlier partition afterwards, share of the accounts whose community
    did not change (Jaccard >= 0.5 between their earlier and cold current community) that kept their id).
    """
    import numpy as np
    import pandas as pd

    from graphcrm.algorithms.community import stable_labels
    from graphcrm.loaders.idmap import IdMap
    from graphcrm.loaders.results import Partition

    def run(*extra):
        out = work / "communities.csv"
        seconds, _, stdout = run_measured([exe(), "communities", str(snap), "--seed", "1", "--json", "--out",
                                           str(out), *extra])
        return json.loads(stdout), pd.read_csv(out), seconds

    earlier, before, _ = run("--as-of", str(since))
    warm, warm_table, warm_s = run("--since", str(since))
    cold, cold_table, cold_s = run()
    old = pd.Series(before.community.to_numpy(), index=before.account_id.to_numpy())
    cold_part = Partition(cold_table.community.to_numpy(), IdMap(cold_table.account_id.to_numpy()))
    cold_labels, cold_info = stable_labels(old, cold_part)
    # accounts whose community did not change: earlier and (cold) current community overlap by Jaccard >= 0.5
    both = pd.DataFrame({"then": old}).join(pd.DataFrame({"now": cold_table.community.to_numpy()},
                                                          index=cold_table.account_id.to_numpy()), how="inner")
    sizes_then = old.value_counts()
    sizes_now = cold_table.community.value_counts()
    shared = both.value_counts().rename("shared").reset_index()
    shared["jaccard"] = shared.shared / (shared.then.map(sizes_then) + shared.now.map(sizes_now) - shared.shared)
    both = both.reset_index().merge(shared, on=["then", "now"])
    unchanged = both[both.jaccard >= 0.5]["index"]
    warm_ids = pd.Series(warm_table.community.to_numpy(), index=warm_table.account_id.to_numpy())
    kept_unchanged = float(np.mean(warm_ids.reindex(unchanged).to_numpy() == old.reindex(unchanged).to_numpy())) \
        if len(unchanged) else 1.0
    return (warm["quality"], cold["quality"], warm_s, cold_s, warm["tracking"]["kept_share"],
            cold_info["kept_share"], kept_unchanged, len(unchanged) / max(1, len(both)))


SEGMENTS = """[[segment]]
name = "key_opinion_leaders"
kind = "leaders"
top = 50

[[segment]]
name = "community_leaders"
kind = "leaders"
per_community = true
min_community_size = 50
top = 3

[[segment]]
name = "bridges"
kind = "bridges"
min_degree = 10
top = 50
"""


def pipeline_file(work: Path, days: list[Path], out: Path) -> Path:
    """A nightly pipeline over ``days`` writing to ``out``: leaders, communities, segments."""
    (work / "segments.toml").write_text(SEGMENTS)
    listed = ", ".join(f'{{ path = "{d}", format = "higgs" }}' for d in days)
    toml = work / f"pipeline-{out.name}.toml"
    toml.write_text(f'[pipeline]\nname = "higgs"\nseed = 1\noutput_dir = "{out}"\nformat = "parquet"\n\n'
                    f'[sources]\ninteractions = [{listed}]\n\n[steps.leaders]\ntop = 50\n\n'
                    f'[steps.communities]\nmethod = "leiden"\n\n[steps.segments]\nconfig = "{work / "segments.toml"}"\n')
    return toml


def pipeline_nights(work: Path, days: list[Path]) -> list[tuple]:
    """Per day: (day, nightly rerun s, GiB, its step seconds, full run s, GiB, its step seconds, changes)."""
    nightly = work / "pipeline-nightly"
    rows = []
    for i in range(len(days)):
        n_s, n_gib, out = run_measured([exe(), "run", str(pipeline_file(work, days[: i + 1], nightly)), "--json"])
        night = json.loads(out)
        fresh = work / f"pipeline-full-{i + 1}"
        f_s, f_gib, out = run_measured([exe(), "run", str(pipeline_file(work, days[: i + 1], fresh)), "--json"])
        full = json.loads(out)
        rows.append((i + 1, n_s, n_gib, night["seconds"], f_s, f_gib, full["seconds"],
                     night["counts"].get("segment_changes", {}), night["counts"]["load"]["mode"]))
        print(rows[-1], flush=True)
    return rows


def pagerank_warm_vs_cold(snap: Path, n_versions: int) -> list[tuple]:
    """Per version v >= 2: (v, cold iterations, cold s, warm iterations, warm s, L1 warm-cold, coreness s)."""
    import numpy as np

    from graphcrm.algorithms import coreness, pagerank
    from graphcrm.loaders.snapshot import load_snapshot, version_path

    def graph_of(v):
        return load_snapshot(version_path(snap, v) if v < n_versions else snap)

    rows = []
    before = graph_of(1)
    previous = pagerank(before, layer=before.resolve_layer())
    for v in range(2, n_versions + 1):
        graph = graph_of(v)
        lay = graph.resolve_layer()
        pagerank(graph, layer=lay, start=previous)              # compiled, caches warm
        t = time.perf_counter()
        cold = pagerank(graph, layer=lay)
        cold_s = time.perf_counter() - t
        t = time.perf_counter()
        warm = pagerank(graph, layer=lay, start=previous)
        warm_s = time.perf_counter() - t
        t = time.perf_counter()
        coreness(graph, layer=lay)
        core_s = time.perf_counter() - t
        rows.append((v, cold.info["iterations"], cold_s, warm.info["iterations"], warm_s,
                     float(np.abs(cold.values - warm.values).sum()), core_s))
        print(rows[-1], flush=True)
        previous = cold
    return rows


def main() -> None:
    from graphcrm.loaders.snapshot import load_snapshot

    started = time.perf_counter()
    load_before = __import__("os").getloadavg()[0]
    rows, tracked = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        days = split_days(work)
        snap = work / "nightly"
        run_measured([exe(), "load", "--interactions", str(days[0]), "--format", "higgs", "--out", str(snap)])
        for i in range(1, len(days)):
            so_far = work / f"so-far-{i + 1}.txt"
            so_far.write_text("".join(p.read_text() for p in days[: i + 1]))
            a_s, a_gib, _ = run_measured([exe(), "load", "--append", str(snap), "--interactions", str(days[i]),
                                          "--format", "higgs"])
            full = work / f"full-{i + 1}"
            f_s, f_gib, _ = run_measured([exe(), "load", "--interactions", str(so_far), "--format", "higgs",
                                          "--out", str(full)])
            same = load_snapshot(snap).equals(load_snapshot(full))
            events = sum(1 for _ in days[i].open())
            rows.append((i + 1, events, a_s, f_s, a_gib, f_gib, same))
            print(rows[-1], flush=True)
            tracked.append((i + 1, *communities_warm_vs_cold(snap, i, work)))
            print(tracked[-1], flush=True)
        ranks = pagerank_warm_vs_cold(snap, len(days))
        nights = pipeline_nights(work, days)
    lines = ["# Nightly appends: higgs-twitter day by day", "",
             f"Generated by `python benchmarks/bench_incremental.py` on "
             f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} (whole run "
             f"{time.perf_counter() - started:.0f} s; load average {load_before:.1f} before, "
             f"{__import__('os').getloadavg()[0]:.1f} after, on {__import__('os').cpu_count()} CPUs). Each figure "
             "is one run of the CLI, in its own process (wall seconds, peak RSS); with other work on the machine "
             "single figures are noisy, the equality columns are not.", "",
             "| day | events that day | append s | full reload s | ratio | append peak GiB | full peak GiB | "
             "ratio | append == full reload |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for day, events, a_s, f_s, a_gib, f_gib, same in rows:
        lines.append(f"| {day} | {events:,} | {a_s:.2f} | {f_s:.2f} | {a_s / f_s:.2f} | {a_gib:.2f} | {f_gib:.2f} | "
                     f"{a_gib / f_gib:.2f} | {'yes' if same else '**no**'} |")
    lines += ["", "## Communities: Leiden warm-started from the day before (`communities --since`) vs a cold run", "",
              "Same seed, same layer (the combined interaction strength). *Unchanged* accounts: those whose "
              "community the day before and (cold) today overlap by Jaccard >= 0.5.", "",
              "| day | warm Q | cold Q | Q difference | warm s | cold s | accounts keeping their id: warm | "
              "cold, matched after | unchanged accounts keeping their id (warm) | share of accounts unchanged |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for day, wq, cq, ws, cs, kept, cold_kept, kept_unchanged, unchanged in tracked:
        lines.append(f"| {day} | {wq:.4f} | {cq:.4f} | {wq - cq:+.4f} | {ws:.2f} | {cs:.2f} | {kept:.1%} | "
                     f"{cold_kept:.1%} | {kept_unchanged:.1%} | {unchanged:.1%} |")
    lines += ["", "## The nightly job: `graphcrm run` rerun each night vs a full run of the same pipeline", "",
              "Steps: load, leaders (top 50), communities (Leiden), segments (3 segments). *Nightly*: one output "
              "directory, one more day file listed each night (the load appends it, Leiden starts from the "
              "earlier communities, `segment_changes` is exported). *Full*: the same pipeline into a fresh "
              "directory. Wall seconds and peak RSS of the whole process; step seconds from `run_summary.json`.",
              "", "| day | load mode | nightly s | full s | ratio | nightly GiB | full GiB | nightly steps (load / leaders / "
              "communities / segments) | full steps | entered / left / stayed |",
              "|---:|---|---:|---:|---:|---:|---:|---|---|---|"]
    for day, n_s, n_gib, n_steps, f_s, f_gib, f_steps, changes, mode in nights:
        steps = lambda d: " / ".join(f"{d.get(k, 0):.2f}" for k in ("load", "leaders", "communities", "segments"))  # noqa: E731
        moved = " / ".join(str(changes.get(k, 0)) for k in ("entered", "left", "stayed")) if changes else "-"
        lines.append(f"| {day} | {mode} | {n_s:.2f} | {f_s:.2f} | {n_s / f_s:.2f} | {n_gib:.2f} | {f_gib:.2f} | "
                     f"{steps(n_steps)} | {steps(f_steps)} | {moved} |")
    lines += ["", "## PageRank warm-started from the day before vs cold, and a full coreness recompute", "",
              "In one process, caches warm; the combined interaction strength layer; tol 1e-10.", "",
              "| version | cold iterations | cold s | warm iterations | warm s | L1(warm - cold) | coreness s |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    for v, ci, cs, wi, ws, l1, core_s in ranks:
        lines.append(f"| {v} | {ci} | {cs:.3f} | {wi} | {ws:.3f} | {l1:.1e} | {core_s:.3f} |")
    ratios = [n_s / f_s for _, n_s, _, _, f_s, *_ in nights[1:]]
    lines += ["", "Targets (issue 22) and where this stands:", "",
              "- append == full reload: every day above (also a property test on random logs).",
              f"- append + warm-started pipeline <= 0.15x the full pipeline: **not met** -- the nightly rerun costs "
              f"{min(ratios):.2f}-{max(ratios):.2f}x the full run here. On this log the job is dominated by "
              "fixed costs (process start, imports and the JIT cache: about 1.5 s of every run) and by steps that "
              "recompute in full: the append rebuilds the CSR from the stored graph plus the new rows (load "
              "column), Leiden warm-started is no faster than cold (the same igraph passes run until stable), "
              "and leaders/segments recompute their scores.",
              "- PageRank L1 <= 1e-6 to a full recompute: met (table above). The warm start saves few iterations "
              "(power iteration shrinks the error by the damping factor per step whatever the start: a start "
              "10x closer saves about 14 steps) and runs the plain iteration, slower per step than the cold "
              "path's reduced system, so the pipeline keeps the cold path.",
              "- same coreness: a full recompute (table: tens of ms) -- no local update was built; it would "
              "save little at this size.",
              "- memory proportional to the day: **not met** -- the append's peak is that of a full build.",
              "- Leiden modularity within 0.002 of a full recompute, and ids stable for >= 90% of the accounts "
              "whose community did not change: see the communities table (columns Q difference and unchanged "
              "accounts keeping their id).",
              "- segment deltas equal to the set difference of two full runs: tested (`tests/test_append.py`); "
              "counts per night in the pipeline table.", ""]
    (HERE / "RESULTS-incremental.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
