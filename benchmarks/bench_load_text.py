#!/usr/bin/env python
"""Loading files whose account ids are text: peak memory per input row and time, beside pyarrow and pandas.

Run from the repository root::

    python benchmarks/bench_load_text.py             # 2M follows + 2M events; writes benchmarks/RESULTS-load-text.md
    python benchmarks/bench_load_text.py --rows 500000

A synthetic follow list and interaction log (ids ``u0000123``, skewed in-degrees, three interaction types) are
written to ``benchmarks/.cache``.  Each contender runs in a fresh interpreter after its imports, with the
high-water mark reset (``/proc/self/clear_refs``), so *peak above baseline* is the memory the step itself needs:

- ``graphcrm`` -- ``read_edges`` + ``read_interactions`` + ``build_graph`` (what ``graphcrm load`` does before it
  writes): parse, ids ranked, CSR/CSC and event logs built;
- ``pyarrow read_csv`` -- the two files parsed into arrow tables, nothing else (the floor of any loader here);
- ``pandas read_csv + factorize`` -- the two files into DataFrames and the id columns factorised together,
  the first step of a hand-written loader (no adjacency built).

The finished graph's own size is reported too (``SocialGraph.nbytes``).  Not a test: nothing here is collected
by pytest.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
CACHE = HERE / ".cache"
MiB = 1024 * 1024


def write_inputs(rows: int, seed: int = 1) -> tuple[Path, Path]:
    """A follow list and an event log of ``rows`` rows each, text ids, in ``benchmarks/.cache``."""
    CACHE.mkdir(exist_ok=True)
    follows, events = CACHE / f"text-follows-{rows}.csv", CACHE / f"text-events-{rows}.csv"
    if follows.exists() and events.exists():
        return follows, events
    rng = np.random.default_rng(seed)
    n = max(rows // 4, 10)

    def ids(k):
        popular = (rng.pareto(1.2, k) * 1000).astype(np.int64) % n
        return np.char.add("u", np.char.zfill(popular.astype(str), 7)), \
            np.char.add("u", np.char.zfill(rng.integers(0, n, k).astype(str), 7))

    dst, src = ids(rows)
    with open(follows, "w") as fh:
        fh.write("source,target\n")
        fh.writelines(f"{a},{b}\n" for a, b in zip(src.tolist(), dst.tolist()))
    dst, src = ids(rows)
    times = np.sort(rng.integers(1_600_000_000, 1_600_000_000 + 7 * 86400, rows))
    kinds = np.array(["RT", "RE", "MT"])[rng.integers(0, 3, rows)]
    with open(events, "w") as fh:
        fh.write("source,target,timestamp,type\n")
        fh.writelines(f"{a},{b},{t},{k}\n" for a, b, t, k in zip(src.tolist(), dst.tolist(), times.tolist(),
                                                                   kinds.tolist()))
    return follows, events


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        return int(re.search(rf"^{field}:\s+(\d+) kB", fh.read(), re.M).group(1))


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def child(kind: str, follows: str, events: str) -> dict:
    """In a fresh interpreter: one contender's peak above its baseline (after imports) and its time."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pv

    from graphcrm.loaders import build_graph, read_edges, read_interactions
    from graphcrm.warmup import warmup

    if kind == "graphcrm":
        warmup()
    gc.collect()
    _reset_peak()
    before = _status_kib("VmRSS")
    t0 = time.perf_counter()
    out: dict = {"kind": kind}
    if kind == "graphcrm":
        g, _ = build_graph(read_edges(follows), read_interactions(events))
        out["graph_bytes"] = int(g.nbytes)
        out["n_nodes"] = int(g.n_nodes)
    elif kind == "pyarrow":
        tables = [pv.read_csv(follows), pv.read_csv(events)]
        out["table_bytes"] = int(sum(t.nbytes for t in tables))
    elif kind == "pandas":
        a, b = pd.read_csv(follows), pd.read_csv(events)
        codes, uniques = pd.factorize(pd.concat([a["source"], a["target"], b["source"], b["target"]],
                                                ignore_index=True))
        out["n_nodes"] = int(len(uniques))
    else:
        raise ValueError(kind)
    out["seconds"] = time.perf_counter() - t0
    out["peak_above_baseline"] = (_status_kib("VmHWM") - before) * 1024
    del pa
    return out


def run_child(kind: str, follows: Path, events: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(follows), str(events)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000, help="rows per file (default 2,000,000)")
    ap.add_argument("--reps", type=int, default=3, help="runs per contender; the median is reported")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS-load-text.md")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    started = time.time()
    follows, events = write_inputs(args.rows)
    total_rows = 2 * args.rows
    results: dict[str, list[dict]] = {k: [] for k in ("graphcrm", "pyarrow", "pandas")}
    for _ in range(args.reps):
        for kind in results:                                 # interleaved: the machine's drift is shared
            results[kind].append(run_child(kind, follows, events))
    med = {k: sorted(v, key=lambda r: r["peak_above_baseline"])[len(v) // 2] for k, v in results.items()}
    sec = {k: float(np.median([r["seconds"] for r in v])) for k, v in results.items()}
    lines = [
        "# Loading text ids: peak memory per input row",
        "",
        f"Generated by `python benchmarks/bench_load_text.py --rows {args.rows}` on "
        f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC (run took {time.time() - started:.0f} s; "
        f"load average {os.getloadavg()[0]:.1f} at the end, 2 CPUs).",
        "",
        f"Input: {args.rows:,} follows + {args.rows:,} events (3 types), ids like `u0001234` "
        f"({med['graphcrm']['n_nodes']:,} accounts); {total_rows:,} rows in all. Each contender in a fresh "
        f"process, peak RSS above its own baseline after imports; median of {args.reps} interleaved runs.",
        "",
        "| contender | what it builds | peak above baseline | bytes per input row | seconds |",
        "|---|---|---:|---:|---:|",
    ]
    what = {"graphcrm": "graph: ids ranked, CSR + CSC of 4 layers, 3 event logs",
            "pyarrow": "two arrow tables (parse only)",
            "pandas": "two DataFrames + the ids factorised (no adjacency)"}
    for k in results:
        peak = med[k]["peak_above_baseline"]
        lines.append(f"| {k} | {what[k]} | {peak / MiB:,.0f} MiB | {peak / total_rows:,.0f} | {sec[k]:.2f} |")
    g = med["graphcrm"]
    lines += [
        "",
        f"- the finished graph holds {g['graph_bytes'] / MiB:,.0f} MiB ({g['graph_bytes'] / total_rows:,.0f} B per "
        f"input row); graphcrm's peak is {med['graphcrm']['peak_above_baseline'] / g['graph_bytes']:.1f}x that, "
        f"{med['graphcrm']['peak_above_baseline'] / med['pyarrow']['peak_above_baseline']:.2f}x pyarrow's parse "
        f"alone and {med['graphcrm']['peak_above_baseline'] / med['pandas']['peak_above_baseline']:.2f}x pandas' "
        "read + factorise",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
