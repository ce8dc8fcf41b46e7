#!/usr/bin/env python
"""Loading benchmarks for graphcrm: edge-list load, snapshot open, peak memory, compile time.

Run from the repository root::

    python benchmarks/bench_load.py            # full run (rmat20, ~16M edges); writes benchmarks/RESULTS.md
    python benchmarks/bench_load.py --quick    # rmat17 (~1M edges) instead; writes benchmarks/.cache/RESULTS-quick.md

The machine these run on is small and noisy, so every target is a *ratio* of two
things measured in the same run, never an absolute time:

1. ``graphcrm.loaders.load_edges(path, layer="edges")`` vs ``pyarrow.csv.read_csv`` alone
   on the same gzip file (target: the median ratio of 5 interleaved pairs <= 1.5), with
   igraph's ``Graph.Read_Edgelist`` on the decompressed text as a peer reference.
2. ``load_snapshot`` (memory-mapped, and ``mmap=False`` + touching the arrays)
   vs re-parsing the source with ``load_edges`` (target: >= 5x faster).
3. Peak RSS of ``load_edges`` and of the build step alone, in fresh
   subprocesses, next to the finished graph's size (targets: <= 24 bytes per
   stored edge; build peak <= 3x the finished graph).
4. First-call (numba compile) time of ``graphcrm.warmup.warmup()`` with an
   empty numba cache.

Not a test: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import gzip
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# Import graphcrm/loaders from this checkout, whatever copy is installed.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
CACHE = HERE / ".cache"
DATASETS = Path(os.environ.get("GRAPHCRM_DATASETS", REPO.parent / "shared" / "datasets"))
GEN_RMAT = DATASETS / "synthetic" / "gen_rmat.py"
MiB = 1024 * 1024


# --------------------------------------------------------------------------- timing
def paired_times(ours, peer, rounds: int) -> list[tuple[float, float]]:
    """``(time of ours(), time of peer())`` in ``rounds`` back-to-back pairs, order alternating.

    On this noisy machine (timings drift by up to 2x over minutes) each pair runs
    close together, so a slow phase hits both sides of it; the figure is the median
    of the pairs' ratios.
    """
    pairs = []
    for r in range(rounds):
        secs = {}
        for name, fn in ((("ours", ours), ("peer", peer)) if r % 2 == 0 else (("peer", peer), ("ours", ours))):
            gc.collect()
            t = time.perf_counter()
            fn()
            secs[name] = time.perf_counter() - t
        pairs.append((secs["ours"], secs["peer"]))
    return pairs


def paired_ratios(ours, peer, rounds: int) -> list[float]:
    """Time of ``ours()`` / time of ``peer()`` in ``rounds`` back-to-back pairs (see :func:`paired_times`)."""
    return [a / b for a, b in paired_times(ours, peer, rounds)]


#: interleaved (load_edges, pyarrow) pairs behind the load target's figure (their median ratio)
PAIRS = 5


# --------------------------------------------------------------------------- datasets
@dataclass
class Dataset:
    name: str
    path: Path
    n_nodes: int  # expected after load_edges (self-loops dropped, duplicates aggregated)
    n_edges: int
    reps: int  # best-of-N repetitions
    igraph_reps: int | None = None  # fewer rounds for the slow igraph reference (None: reps)

    @property
    def skip_rows(self) -> int:
        """Number of leading '#' comment lines (pyarrow's ``skip_rows``)."""
        return count_leading_comments(self.path)


def count_leading_comments(path: Path) -> int:
    n = 0
    with gzip.open(path, "rt") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            n += 1
    return n


def ensure_rmat20() -> Path:
    """benchmarks/.cache/rmat20.txt.gz, generated with the shared gen_rmat.py if missing (~15 s)."""
    out = CACHE / "rmat20.txt.gz"
    if out.exists():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".rmat20.tmp-{os.getpid()}.txt.gz")
    print(f"generating {out} with {GEN_RMAT} (about 15 s) ...", flush=True)
    subprocess.run([sys.executable, str(GEN_RMAT), "20", "16", str(tmp), "1"], check=True)
    os.replace(tmp, out)
    return out


def datasets(quick: bool) -> list[Dataset]:
    wiki = Dataset("wiki-Vote", DATASETS / "wiki-Vote" / "wiki-Vote.txt.gz", 7_115, 103_689, reps=5)
    if quick:
        big = Dataset("rmat17", DATASETS / "synthetic" / "rmat17.txt.gz", 77_410, 999_647, reps=3)
    else:
        big = Dataset("rmat20", ensure_rmat20(), 646_786, 16_085_580, reps=3, igraph_reps=2)
    return [wiki, big]


def warm_page_cache(path: Path) -> None:
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def decompress_for_igraph(ds: Dataset, tmpdir: Path) -> Path:
    """Plain text copy without comment lines (igraph's reader rejects '#'); not timed."""
    out = tmpdir / f"{ds.name}.txt"
    if not out.exists():
        with gzip.open(ds.path, "rb") as src, open(out, "wb") as dst:
            for _ in range(ds.skip_rows):
                src.readline()
            shutil.copyfileobj(src, dst, 1 << 24)
        os.sync()  # flush now, so background writeback does not disturb the timed runs
    return out


# --------------------------------------------------------------------------- contenders
def arrow_read(path: Path, skip_rows: int) -> pa.Table:
    """pyarrow alone: parse the gzip file into two int64 columns."""
    return pv.read_csv(
        path,
        read_options=pv.ReadOptions(skip_rows=skip_rows, column_names=["u", "v"]),
        parse_options=pv.ParseOptions(delimiter="\t"),
        convert_options=pv.ConvertOptions(column_types={"u": pa.int64(), "v": pa.int64()}),
    )


def arrow_read_isal(path: Path, skip_rows: int) -> pa.Table:
    """pyarrow parse fed by the ISA-L gzip decoder graphcrm uses (a stricter peer: same decoder)."""
    from isal import igzip

    with igzip.open(path, "rb") as stream:
        return pv.read_csv(
            stream,
            read_options=pv.ReadOptions(skip_rows=skip_rows, column_names=["u", "v"]),
            parse_options=pv.ParseOptions(delimiter="\t"),
            convert_options=pv.ConvertOptions(column_types={"u": pa.int64(), "v": pa.int64()}),
        )


def arrow_read_numpy(path: Path, skip_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """pyarrow parse, then two contiguous numpy int64 arrays (the table is dropped)."""
    table = arrow_read(path, skip_rows)
    u = table.column("u").to_numpy()
    v = table.column("v").to_numpy()
    del table
    return u, v


def graphcrm_load(path: Path):
    from graphcrm.loaders import load_edges

    return load_edges(path, layer="edges")


def igraph_load(txt: Path):
    import igraph

    return igraph.Graph.Read_Edgelist(str(txt), directed=True)


def timed(fn, *args):
    gc.collect()
    start = time.perf_counter()
    result = fn(*args)
    elapsed = time.perf_counter() - start
    return elapsed, result


def race(contenders: dict, reps: int, limit: dict[str, int] | None = None) -> dict[str, list[float]]:
    """Run every contender ``reps`` times, alternating the order each round; all samples.

    ``limit`` caps the rounds of slow reference contenders (they sit out later rounds).
    """
    names = list(contenders)
    samples = {n: [] for n in names}
    for r in range(reps):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            if limit and len(samples[name]) >= limit.get(name, reps):
                continue
            fn, args = contenders[name]
            t, result = timed(fn, *args)
            samples[name].append(t)
            del result
    return samples


def check_graph(g, ds: Dataset) -> None:
    n, m = g.n_nodes, g.layer("edges").n_edges
    if (n, m) != (ds.n_nodes, ds.n_edges):
        raise SystemExit(f"{ds.name}: loaded {n:,} nodes / {m:,} edges, expected {ds.n_nodes:,} / {ds.n_edges:,}")


# --------------------------------------------------------------------------- 1. load vs parse
def bench_load(ds: Dataset, tmpdir: Path) -> dict:
    skip = ds.skip_rows
    txt = decompress_for_igraph(ds, tmpdir)
    warm_page_cache(ds.path)
    warm_page_cache(txt)
    g = graphcrm_load(ds.path)  # also checks the counts before anything is timed
    check_graph(g, ds)
    table = arrow_read(ds.path, skip)
    if table.num_rows != g.layer("edges").build_report["rows"]:
        raise SystemExit(f"{ds.name}: pyarrow read {table.num_rows} rows, load_edges {g.layer('edges').build_report['rows']}")
    rows = table.num_rows
    del g, table
    load_before = os.getloadavg()
    pairs = paired_times(lambda: graphcrm_load(ds.path), lambda: arrow_read(ds.path, skip), PAIRS)
    load_after = os.getloadavg()
    samples = race(
        {
            "load_edges": (graphcrm_load, (ds.path,)),
            "pyarrow read_csv": (arrow_read, (ds.path, skip)),
            "pyarrow read_csv + isal": (arrow_read_isal, (ds.path, skip)),
            "igraph Read_Edgelist": (igraph_load, (txt,)),
        },
        ds.reps,
        limit={"igraph Read_Edgelist": ds.igraph_reps or ds.reps},
    )
    ratios = sorted(a / b for a, b in pairs)
    return {"rows": rows, "skip_rows": skip, "samples": samples, "best": {k: min(v) for k, v in samples.items()},
            "pairs": pairs, "pair_ratio_median": float(np.median(ratios)),
            "pair_median_s": {"load_edges": float(np.median([a for a, _ in pairs])),
                              "pyarrow read_csv": float(np.median([b for _, b in pairs]))},
            "loadavg": {"before pairs": load_before, "after pairs": load_after}}


def _union_seconds(intervals) -> float:
    """Wall-clock length covered by possibly overlapping ``(start, end)`` intervals."""
    total, cur_start, cur_end = 0.0, None, None
    for start, end in sorted(intervals):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    return total + (cur_end - cur_start if cur_end is not None else 0.0)


def profile_load_edges(ds: Dataset) -> dict:
    """Split one ``load_edges`` call into stages by wrapping the functions it calls.

    The wrappers are module attributes swapped for the duration of one call (numpy's
    ``argsort`` included: the builder sorts the distinct ids of each column once per load).  Each stage reports its *wall-clock* time (the union of its calls'
    intervals: the builder factorises the actor and target columns on two threads, so
    those two calls overlap) and the summed time of its calls.  "other" is the wall time
    covered by no wrapped stage: ``combine_chunks`` of the parsed columns, numpy copies,
    the checks in ``Layer.from_edges`` ...
    """
    import pyarrow.csv as pcsv

    import graphcrm.loaders._source as source
    import graphcrm.loaders._tables as tables
    import graphcrm.loaders.builder as builder
    from graphcrm.loaders import _kernels

    calls: dict[str, list[tuple[float, float]]] = {}
    patches = [
        (source, "sniff_text", "sniff header/delimiter"),   # the format readers import it from _source
        (pcsv, "read_csv", "pyarrow read_csv"),
        (tables, "_validate", "validate columns (graphcrm.loaders._tables._validate)"),
        (_kernels, "_factorize_chunk", "factorize ids (_factorize_chunk, per arrow chunk)"),
        (builder, "_direct_int_codes", "dense ids, direct-address table (_direct_int_codes)"),
        (np, "argsort", "rank distinct ids (np.argsort)"),
        (_kernels, "_merge_unique", "rank distinct ids (_merge_unique)"),
        (_kernels, "_rank_in", "rank distinct ids (_rank_in)"),
        (_kernels, "_remap_codes", "remap to dense ids (_remap_codes)"),
        (_kernels, "_build_layer", "CSR + CSC (_build_layer)"),
    ]
    originals = []
    for module, attr, label in patches:
        original = getattr(module, attr)
        originals.append((module, attr, original))
        calls[label] = []

        def wrapper(*a, __f=original, __label=label, **kw):
            t0 = time.perf_counter()
            try:
                return __f(*a, **kw)
            finally:
                calls[__label].append((t0, time.perf_counter()))  # list.append is thread-safe

        setattr(module, attr, wrapper)
    try:
        gc.collect()
        start = time.perf_counter()
        g = graphcrm_load(ds.path)
        end = time.perf_counter()
    finally:
        for module, attr, original in originals:
            setattr(module, attr, original)
    del g
    stages = {label: {"wall": _union_seconds(iv), "summed": sum(b - a for a, b in iv), "calls": len(iv)}
              for label, iv in calls.items()}
    covered = _union_seconds([x for iv in calls.values() for x in iv])
    stages["other (combine_chunks, copies, checks, ...)"] = {"wall": (end - start) - covered, "summed": None,
                                                            "calls": None}
    return {"total": end - start, "stages": stages}


# --------------------------------------------------------------------------- 2. snapshot
def touch(g) -> int:
    """Read every CSR/CSC array once (forces mmap pages in)."""
    total = 0
    for layer in g.layers.values():
        for a in (layer.out_indptr, layer.out_indices, layer.in_indptr, layer.in_indices,
                  layer.out_weights, layer.in_weights):
            if a is not None:
                total += int(a.sum())
    return total


def bench_snapshot(ds: Dataset, tmpdir: Path) -> dict:
    from graphcrm.loaders.snapshot import load_snapshot, save_snapshot

    g = graphcrm_load(ds.path)
    snap = tmpdir / f"snap-{ds.name}"
    t_save, _ = timed(save_snapshot, g, snap)
    reference = touch(g)
    del g
    if touch(load_snapshot(snap, mmap=False)) != reference or not load_snapshot(snap).equals(graphcrm_load(ds.path)):
        raise SystemExit(f"{ds.name}: snapshot does not round-trip")

    def mmap_open():
        return load_snapshot(snap)

    def mmap_open_touch():
        g = load_snapshot(snap)
        touch(g)
        return g

    def read_touch():
        g = load_snapshot(snap, mmap=False)
        touch(g)
        return g

    samples = race(
        {
            "load_edges": (graphcrm_load, (ds.path,)),
            "snapshot mmap open": (mmap_open, ()),
            "snapshot mmap open+touch": (mmap_open_touch, ()),
            "snapshot mmap=False+touch": (read_touch, ()),
        },
        ds.reps,
    )
    size = sum(f.stat().st_size for f in snap.rglob("*") if f.is_file())
    return {"save_s": t_save, "size_bytes": size, "samples": samples, "best": {k: min(v) for k, v in samples.items()}}


# --------------------------------------------------------------------------- 3. memory (subprocesses)
def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        return int(re.search(rf"^{field}:\s+(\d+) kB", fh.read(), re.M).group(1))


def _reset_peak() -> bool:
    """Reset the peak-RSS high-water mark to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def child_memory(kind: str, path: Path, skip_rows: int) -> dict:
    """Runs in a fresh interpreter: RSS before and peak RSS during one step (KiB).

    The peak is read from ``VmHWM`` (the process's high-water mark, reset to the current RSS
    right before the step), not from ``ru_maxrss``: in a child started by fork+exec,
    ``ru_maxrss`` starts at the *parent's* RSS (Linux keeps the pre-exec high-water mark in
    the signal struct, and ``clear_refs`` does not reset that), which would hide the step.
    ``ru_maxrss`` is recorded too, for reference.
    """
    from graphcrm.loaders.builder import GraphBuilder
    from graphcrm.warmup import warmup

    import graphcrm.loaders  # noqa: F401  (imports count towards the baseline)

    warmup()
    gc.collect()
    out = {"kind": kind, "hwm_after_warmup_kib": _status_kib("VmHWM"), "ru_maxrss_after_warmup_kib": _maxrss_kib()}
    if kind == "build":
        src, dst = arrow_read_numpy(path, skip_rows)
        pa.default_memory_pool().release_unused()
        gc.collect()
        out["input_bytes"] = int(src.nbytes + dst.nbytes)
    out["peak_reset"] = _reset_peak()
    out["rss_before_kib"] = _status_kib("VmRSS")
    out["hwm_before_kib"] = _status_kib("VmHWM")
    t0 = time.perf_counter()
    if kind == "parse":
        u, v = arrow_read_numpy(path, skip_rows)
        out["result_bytes"] = int(u.nbytes + v.nbytes)
    elif kind == "load":
        g = graphcrm_load(path)
    elif kind == "build":
        g = GraphBuilder().add_edges("edges", src, dst, direction="forward").build()
    else:
        raise ValueError(kind)
    out["seconds"] = time.perf_counter() - t0
    out["peak_kib"] = _status_kib("VmHWM")
    out["ru_maxrss_after_kib"] = _maxrss_kib()
    out["rss_after_kib"] = _status_kib("VmRSS")
    if kind in ("load", "build"):
        layer = g.layer("edges")
        out.update(graph_nbytes=int(g.nbytes), layer_nbytes=int(layer.nbytes), n_nodes=int(g.n_nodes),
                   n_edges=int(layer.n_edges), weighted=bool(layer.weighted))
    # with a reset high-water mark, peak - before is the step's own peak; without it, an upper bound
    out["peak_extra_bytes"] = (out["peak_kib"] - out["rss_before_kib"]) * 1024
    return out


def run_child(*args: str, env: dict | None = None) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", *args],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_memory(ds: Dataset) -> dict:
    skip = str(ds.skip_rows)
    res = {kind: run_child("memory", kind, str(ds.path), skip) for kind in ("parse", "load", "build")}
    for kind in ("load", "build"):
        r = res[kind]
        if (r["n_nodes"], r["n_edges"]) != (ds.n_nodes, ds.n_edges):
            raise SystemExit(f"{ds.name} ({kind}): {r['n_nodes']} nodes / {r['n_edges']} edges, expected "
                             f"{ds.n_nodes} / {ds.n_edges}")
    return res


# --------------------------------------------------------------------------- 4. compile time
def child_compile() -> dict:
    t0 = time.perf_counter()
    import numba  # noqa: F401

    import graphcrm.loaders._kernels  # noqa: F401  (defining the kernels compiles nothing yet)
    from graphcrm.warmup import warmup

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    per_module = warmup()
    return {"import_s": t_import, "warmup_s": time.perf_counter() - t0, "per_module": per_module,
            "cache_dir": os.environ.get("NUMBA_CACHE_DIR")}


def bench_compile() -> dict:
    with tempfile.TemporaryDirectory(prefix="graphcrm-numba-cache-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cold = run_child("compile", env=env)
        cached = run_child("compile", env=env)  # same (now filled) cache: loading instead of compiling
        n_files = sum(1 for _ in Path(cache).rglob("*.nbi"))
    return {"cold": cold, "cached": cached, "cache_index_files": n_files}


# --------------------------------------------------------------------------- report
def fmt_s(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def fmt_mib(b: float) -> str:
    return f"{b / MiB:,.0f} MiB" if b >= 10 * MiB else f"{b / MiB:,.1f} MiB"


def versions() -> dict:
    import numba

    out = {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
           "pyarrow": pa.__version__, "arrow_pool": pa.default_memory_pool().backend_name}
    try:
        import igraph

        out["igraph"] = igraph.__version__
    except ImportError:
        out["igraph"] = "not installed"
    return out


def machine() -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            m = re.search(r"^model name\s*:\s*(.+)$", fh.read(), re.M)
            cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": cpu, "ram_gib": round(mem / 2**30, 1),
            "os": f"{platform.system()} {platform.release()}"}


def row(benchmark, ours, peer, ratio, target, met):
    return {"benchmark": benchmark, "graphcrm": ours, "peer": peer, "ratio": ratio, "target": target,
            "met": {True: "yes", False: "**NO**", None: "n/a"}[met]}


def build_rows(results: dict) -> list[dict]:
    rows = []
    for name, r in results["load"].items():
        b = r["best"]
        ratio, med = r["pair_ratio_median"], r["pair_median_s"]
        rows.append(row(f"1. load_edges vs pyarrow read_csv, {name} (median of {len(r['pairs'])} interleaved pairs)",
                        fmt_s(med["load_edges"]), fmt_s(med["pyarrow read_csv"]), f"{ratio:.2f}", "<= 1.5",
                        ratio <= 1.5))
        ratio = b["load_edges"] / b["pyarrow read_csv + isal"]
        rows.append(row(f"1. load_edges vs pyarrow read_csv fed by isal (same gzip decoder), {name}, best of N",
                        fmt_s(b["load_edges"]), fmt_s(b["pyarrow read_csv + isal"]), f"{ratio:.2f}", "reference",
                        None))
        ratio = b["load_edges"] / b["igraph Read_Edgelist"]
        rows.append(row(f"1. load_edges vs igraph Read_Edgelist (plain text), {name}, best of N", fmt_s(b["load_edges"]),
                        fmt_s(b["igraph Read_Edgelist"]), f"{ratio:.2f}", "reference", None))
    for name, r in results["snapshot"].items():
        b = r["best"]
        for key, label in (("snapshot mmap open", "mmap open"), ("snapshot mmap open+touch", "mmap open + touch"),
                           ("snapshot mmap=False+touch", "mmap=False + touch")):
            speedup = b["load_edges"] / b[key]
            rows.append(row(f"2. snapshot {label} vs re-parse (load_edges), {name}", fmt_s(b[key]),
                            fmt_s(b["load_edges"]), f"{speedup:.2f}x faster" if speedup < 10 else f"{speedup:,.0f}x faster", ">= 5x faster", speedup >= 5))
    for name, m in results["memory"].items():
        parse, load, build = m["parse"], m["load"], m["build"]
        rows.append(row(f"3. peak RSS above baseline: load_edges vs pyarrow parse to numpy, {name}",
                        fmt_mib(load["peak_extra_bytes"]), fmt_mib(parse["peak_extra_bytes"]),
                        f"{load['peak_extra_bytes'] / parse['peak_extra_bytes']:.2f}", "report", None))
        bpe = load["layer_nbytes"] / load["n_edges"]
        rows.append(row(f"3. bytes per stored edge (CSR+CSC incl. indptr), {name}", f"{bpe:.2f} B",
                        "", "", "<= 24 B", bpe <= 24))
        ratio = build["peak_extra_bytes"] / build["graph_nbytes"]
        rows.append(row(f"3. build step peak above input / graph.nbytes, {name}", fmt_mib(build["peak_extra_bytes"]),
                        fmt_mib(build["graph_nbytes"]), f"{ratio:.2f}", "<= 3", ratio <= 3))
        ratio = load["peak_extra_bytes"] / load["graph_nbytes"]
        rows.append(row(f"3. whole load_edges peak above baseline / graph.nbytes, {name}",
                        fmt_mib(load["peak_extra_bytes"]), fmt_mib(load["graph_nbytes"]), f"{ratio:.2f}",
                        "report", None))
    c = results["compile"]
    rows.append(row("4. warmup() with an empty NUMBA_CACHE_DIR (compile) vs with the filled cache",
                    fmt_s(c["cold"]["warmup_s"]), fmt_s(c["cached"]["warmup_s"]),
                    f"{c['cold']['warmup_s'] / c['cached']['warmup_s']:.0f}x", "report", None))
    return rows


def table_md(rows: list[dict]) -> str:
    head = "| benchmark | graphcrm time | peer time | ratio | target | met? |\n|---|---:|---:|---:|---|---|\n"
    return head + "".join(
        f"| {r['benchmark']} | {r['graphcrm']} | {r['peer']} | {r['ratio']} | {r['target']} | {r['met']} |\n"
        for r in rows)


def table_text(rows: list[dict]) -> str:
    cols = ["benchmark", "graphcrm", "peer", "ratio", "target", "met"]
    heads = ["benchmark", "graphcrm", "peer", "ratio", "target", "met?"]
    cells = [heads] + [[str(r[c]).replace("**", "") for c in cols] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(cols))) for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def details_md(results: dict) -> str:
    out = []
    out.append("### 1. Load: the interleaved pairs behind the target (seconds; order alternates pair by pair)\n")
    for name, r in results["load"].items():
        la = r["loadavg"]
        out.append(f"- **{name}**: " + "; ".join(f"{a:.3f} / {b:.3f} = {a / b:.2f}" for a, b in r["pairs"])
                   + f" (load_edges / pyarrow read_csv); median ratio **{r['pair_ratio_median']:.2f}**; "
                   + "load averages (1, 5, 15 min) before the pairs " + ", ".join(f"{x:.2f}" for x in la["before pairs"])
                   + ", after " + ", ".join(f"{x:.2f}" for x in la["after pairs"]))
    out.append("\n### 1. Load: all samples of the reference race (seconds, in run order per contender)\n")
    for name, r in results["load"].items():
        out.append(f"- **{name}** ({r['rows']:,} rows, {r['skip_rows']} comment lines skipped): " + "; ".join(
            f"{k}: {', '.join(f'{t:.3f}' for t in v)}" for k, v in r["samples"].items()))
    out.append("\n### Where `load_edges` spends its time (one profiled call per dataset, wrapped functions)\n")
    for name, prof in results["profile"].items():
        total = prof["total"]
        out.append(f"**{name}** (total {fmt_s(total)}):\n")
        out.append("| stage | wall time | share | calls | summed call time |\n|---|---:|---:|---:|---:|")
        for stage, st in prof["stages"].items():
            summed = "" if st["summed"] is None else fmt_s(st["summed"])
            out.append(f"| {stage} | {fmt_s(st['wall'])} | {100 * st['wall'] / total:.0f}% | "
                       f"{'' if st['calls'] is None else st['calls']} | {summed} |")
        out.append("")
    out.append("### 2. Snapshot\n")
    for name, r in results["snapshot"].items():
        out.append(f"- **{name}**: save {fmt_s(r['save_s'])}, {fmt_mib(r['size_bytes'])} on disk; samples: " + "; ".join(
            f"{k}: {', '.join(f'{t:.4f}' for t in v)}" for k, v in r["samples"].items()))
    out.append("\n### 3. Memory (fresh subprocess per measurement; RSS and peak from /proc/self/status VmRSS / VmHWM)\n")
    for name, m in results["memory"].items():
        out.append(f"**{name}**:\n")
        out.append("| step | RSS before | peak RSS during step | peak - before | step time | notes |\n|---|---:|---:|---:|---:|---|")
        for kind, label in (("parse", "pyarrow parse -> 2 numpy int64 columns"), ("load", "load_edges"),
                            ("build", "GraphBuilder.add_edges(...).build() from int64 src,dst")):
            r = m[kind]
            notes = []
            if kind == "parse":
                notes.append(f"result {fmt_mib(r['result_bytes'])}")
            else:
                notes.append(f"graph.nbytes {fmt_mib(r['graph_nbytes'])}, layer {fmt_mib(r['layer_nbytes'])}")
            if kind == "build":
                notes.append(f"input src+dst {fmt_mib(r['input_bytes'])} already in 'before'")
            if not r["peak_reset"]:
                notes.append("peak not resettable: upper bound")
            out.append(f"| {label} | {fmt_mib(r['rss_before_kib'] * 1024)} | {fmt_mib(r['peak_kib'] * 1024)} | "
                       f"{fmt_mib(r['peak_extra_bytes'])} | {fmt_s(r['seconds'])} | {'; '.join(notes)} |")
        out.append("")
    c = results["compile"]
    out.append("### 4. Compile\n")
    out.append(f"- empty cache: import numba + kernels {fmt_s(c['cold']['import_s'])}, warmup {fmt_s(c['cold']['warmup_s'])}; "
               f"filled cache: import {fmt_s(c['cached']['import_s'])}, warmup {fmt_s(c['cached']['warmup_s'])} "
               f"({c['cache_index_files']} cache index files written)")
    return "\n".join(out) + "\n"


def write_results(path: Path, results: dict, rows: list[dict], quick: bool, elapsed: float) -> None:
    mach, vers = results["machine"], results["versions"]
    text = f"""# graphcrm loading benchmarks: latest results

Generated by `python benchmarks/bench_load.py{' --quick' if quick else ''}` on {results['date']} (run took {elapsed:.0f} s).
Do not edit by hand; re-run the script to refresh. How to read it: see `benchmarks/README.md`.

- machine: nproc {mach['nproc']}, {mach['cpu']}, {mach['ram_gib']} GiB RAM, {mach['os']}
- python {vers['python']}, numpy {vers['numpy']}, numba {vers['numba']}, pyarrow {vers['pyarrow']} (memory pool: {vers['arrow_pool']}), igraph {vers['igraph']}
- the load target's figure is the median ratio of {PAIRS} interleaved pairs (load_edges, pyarrow read_csv) run back to back, order alternating; its time columns are the medians of each side
- other times are the best of N runs (wiki-Vote N={results['reps']['wiki-Vote']}, {results['big']} N={results['reps'][results['big']]}; igraph on {results['big']}: N={results['igraph_reps'][results['big']]}), contenders alternating order, after one untimed run of load_edges and pyarrow; every ratio compares two numbers from this same run
- the machine is shared: load averages (1, 5, 15 min) at the start of the run {', '.join(f'{x:.2f}' for x in results['loadavg_start'])}, at the end {', '.join(f'{x:.2f}' for x in results['loadavg_end'])}; around each set of pairs in the details
- memory rows put MiB / bytes in the "time" columns; "peer" there is the comparison figure named in the row

{table_md(rows)}
Targets not met are marked **NO**; "report" / "reference" rows have no target.

## Details

{details_md(results)}"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="rmat17 (~1M edges) instead of rmat20 (~16M edges)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default: benchmarks/RESULTS.md; --quick: benchmarks/.cache/RESULTS-quick.md)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)  # internal: subprocess measurements
    args = parser.parse_args(argv)

    if args.child:
        kind = args.child[0]
        if kind == "memory":
            result = child_memory(args.child[1], Path(args.child[2]), int(args.child[3]))
        elif kind == "compile":
            result = child_compile()
        else:
            raise SystemExit(f"unknown child {kind}")
        print(json.dumps(result))
        return 0

    started = time.perf_counter()
    out = args.out or (CACHE / "RESULTS-quick.md" if args.quick else HERE / "RESULTS.md")
    sets = datasets(args.quick)
    from graphcrm.warmup import warmup

    print("warming up numba kernels ...", flush=True)
    warmup()
    results = {"date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), "machine": machine(),
               "loadavg_start": os.getloadavg(),
               "versions": versions(), "big": sets[-1].name, "reps": {d.name: d.reps for d in sets},
               "igraph_reps": {d.name: d.igraph_reps or d.reps for d in sets},
               "load": {}, "profile": {}, "snapshot": {}, "memory": {}}
    with tempfile.TemporaryDirectory(prefix="graphcrm-bench-") as tmp:
        tmpdir = Path(tmp)
        for ds in sets:
            print(f"[1] load {ds.name} ...", flush=True)
            results["load"][ds.name] = bench_load(ds, tmpdir)
            results["profile"][ds.name] = profile_load_edges(ds)
            print(f"[2] snapshot {ds.name} ...", flush=True)
            results["snapshot"][ds.name] = bench_snapshot(ds, tmpdir)
    print(f"[3] memory {sets[-1].name} (subprocesses) ...", flush=True)
    results["memory"][sets[-1].name] = bench_memory(sets[-1])
    print("[4] compile time (subprocesses) ...", flush=True)
    results["compile"] = bench_compile()

    results["loadavg_end"] = os.getloadavg()
    rows = build_rows(results)
    print()
    print(table_text(rows))
    print()
    print(details_md(results))
    elapsed = time.perf_counter() - started
    write_results(out, results, rows, args.quick, elapsed)
    (CACHE / "last-run.json").parent.mkdir(parents=True, exist_ok=True)
    (CACHE / "last-run.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
