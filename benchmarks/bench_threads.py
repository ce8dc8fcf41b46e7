"""Thread hygiene: graphcrm's kernels beside other libraries' thread pools, and under CPU load.

Issue 24: with NetworKit in the same process graphcrm's Leiden ran 8x slower, and PageRank was bimodal.
The cause measured here: GNU OpenMP's default wait policy lets a thread that finished its share of a
parallel loop spin before it sleeps; beside other busy threads -- a second OpenMP runtime (NetworKit and
scikit-learn each bring their own libgomp), BLAS, other processes -- the spinners take the CPU from the
threads still working, and each parallel loop waits for its slowest thread.  graphcrm now sets
``GOMP_SPINCOUNT=10000`` (a short spin; unless the user chose a policy) and sizes numba's pool to the CPUs the
process may use (:func:`graphcrm.loaders.numba_config.configure_threads`).

Each configuration runs in its own process, ``--reps`` times per kernel (after one untimed warm call), in
``--rounds`` interleaved rounds over all configurations (20 calls per kernel and configuration by default):

- ``clean``: graphcrm alone;
- ``shared``: igraph, NetworKit and scikit-learn imported and warmed first (NetworKit PageRank and PLM,
  scikit-learn KMeans, igraph Leiden on the same graph), then graphcrm's kernels;
- ``shared+load``: as ``shared`` while one extra busy process competes for the CPUs (a notebook beside a
  running job; the situation in which spinning hurts most);
- each of these under graphcrm's default (a short spin, ``GOMP_SPINCOUNT=10000``), passive waiting
  (``OMP_WAIT_POLICY=PASSIVE``) and GNU OpenMP's own default (``GOMP_SPINCOUNT=300000``: spin, the behaviour
  before the change).

Reported: median seconds per kernel, max/median (bimodality), and the ratio of each configuration to the
clean process with the same wait policy.  Targets: ratio <= 1.2 for every kernel, max/median <= 1.5.

Usage: ``python benchmarks/bench_threads.py [--reps 5] [--rounds 4] [--graph rmat17]``; writes
``benchmarks/RESULTS-threads.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASETS = Path(os.environ.get("GRAPHCRM_DATASETS", HERE.parent.parent / "shared" / "datasets"))

CHILD = r"""
import json, sys, time
graph_path, shared, reps = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
import numpy as np
from graphcrm.loaders import load_edges
g = load_edges(graph_path, layer="x")
if shared:
    import igraph as ig, networkit as nk
    from sklearn.cluster import KMeans
    s, d, _ = g.layer("x").edge_arrays()
    G = nk.graph.Graph(g.n_nodes, directed=True)
    G.addEdges((s.astype(np.uint64), d.astype(np.uint64)))
    nk.centrality.PageRank(G).run()
    nk.community.PLM(nk.graphtools.toUndirected(G)).run()
    KMeans(8, n_init=2, random_state=0).fit(np.random.default_rng(0).random((200_000, 16)))
    ig.Graph(n=g.n_nodes, edges=np.column_stack([s, d]).tolist(), directed=False).community_leiden(
        objective_function="modularity")
from graphcrm.algorithms import pagerank
from graphcrm.algorithms.community import leiden
from graphcrm.algorithms.diffusion import simulate
from graphcrm.algorithms.planning import plan_seeds
from graphcrm.loaders.numba_config import THREADS
import numba
seeds = g.id_map.ids[np.argsort(-np.diff(g.layer("x").out_indptr))[:20]]
kernels = {
    "pagerank": lambda: pagerank(g, layer="x"),
    "leiden": lambda: leiden(g, layer="x", method="numba", seed=1),
    "simulate": lambda: simulate(g, seeds, layer="x", n_runs=1000, seed=1),
    "plan": lambda: plan_seeds(g, layer="x", k=20, seed=1),
}
out = {}
for name, run in kernels.items():
    run()
    times = []
    for _ in range(reps):
        t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
    out[name] = times
print(json.dumps({"times": out, "threads": THREADS, "layer": numba.threading_layer()}))
"""

BUSY = "import time\nend = time.time() + 3600\nwhile time.time() < end: pass\n"


#: wait policies compared: graphcrm's default, a short spin, and GNU OpenMP's own default (the behaviour before)
POLICIES = {"graphcrm default (short spin, GOMP_SPINCOUNT=10000)": {},
            "passive (OMP_WAIT_POLICY=PASSIVE)": {"OMP_WAIT_POLICY": "PASSIVE"},
            "spin (GNU default, GOMP_SPINCOUNT=300000)": {"GOMP_SPINCOUNT": "300000"}}


def run_config(graph: Path, shared: bool, load: bool, policy: dict, reps: int) -> dict:
    env = dict(os.environ)
    for key in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        env.pop(key, None)
    env.update(policy)
    busy = subprocess.Popen([sys.executable, "-c", BUSY]) if load else None
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(graph), "1" if shared else "0", str(reps)],
                              capture_output=True, text=True, env=env)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    if proc.returncode:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5, help="calls per kernel per process")
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds over all configurations")
    ap.add_argument("--graph", default="rmat17", help="rmat17 (shared) or a path to an edge list")
    args = ap.parse_args()
    graph = DATASETS / "synthetic" / "rmat17.txt.gz" if args.graph == "rmat17" else Path(args.graph)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    configs = [(name, shared, load) for name, shared, load in
               (("clean", False, False), ("shared", True, False), ("shared+load", True, True))]
    results = {}
    for round_ in range(args.rounds):       # interleaved rounds: drift in the machine's load hits every config
        for policy, env in POLICIES.items():
            for name, shared, load in configs:
                run = run_config(graph, shared, load, env, args.reps)
                got = results.setdefault((name, policy), {"times": {k: [] for k in run["times"]}, **run})
                for k, v in run["times"].items():
                    got["times"][k] += v
                print(round_, name, policy, {k: round(statistics.median(v), 4) for k, v in run["times"].items()},
                      flush=True)
    default = next(iter(POLICIES))
    kernels = list(results[("clean", default)]["times"])
    info = results[("clean", default)]
    med = lambda key, k: statistics.median(results[key]["times"][k])  # noqa: E731
    lines = ["# Thread hygiene: graphcrm beside igraph, NetworKit and scikit-learn, and under load", "",
             f"Generated by `python benchmarks/bench_threads.py --reps {args.reps} --rounds {args.rounds}` on "
             f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} ({time.perf_counter() - started:.0f} s, "
             f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after), "
             f"graph {graph.name}, {os.cpu_count()} CPUs. numba layer `{info['layer']}`, {info['threads']['threads']} "
             "threads. Median seconds of " f"{args.reps * args.rounds} calls ({args.rounds} interleaved rounds of a fresh "
             f"process with {args.reps} calls after a warm call); max/median shows bimodality; "
             "*vs clean*: median / the clean process's median under the same wait policy; *vs default clean*: "
             "median / the clean process's median under graphcrm's default.", "",
             "| wait policy | process | " + " | ".join(f"{k} s | max/med | vs clean | vs default clean" for k in kernels)
             + " |", "|---|---|" + "---:|---:|---:|---:|" * len(kernels)]
    worst, bimodal = {}, {}
    for policy in POLICIES:
        worst[policy], bimodal[policy] = 0.0, 0.0
        for name, _, _ in configs:
            cells = []
            for k in kernels:
                times = results[(name, policy)]["times"][k]
                m = statistics.median(times)
                ratio = m / med(("clean", policy), k)
                if name == "shared":
                    worst[policy] = max(worst[policy], ratio)
                bimodal[policy] = max(bimodal[policy], max(times) / m)
                cells.append(f"{m:.4f} | {max(times) / m:.2f} | {ratio:.2f} | {m / med(('clean', default), k):.2f}")
            lines.append(f"| {policy} | {name} | " + " | ".join(cells) + " |")
    lines += ["", "Targets (issue 24, item 1), per wait policy:", ""]
    for policy in POLICIES:
        lines.append(f"- {policy}: shared process vs clean, worst kernel {worst[policy]:.2f}x "
                     f"({'met' if worst[policy] <= 1.2 else '**not met**'} at <= 1.2x); max/median worst "
                     f"{bimodal[policy]:.2f} ({'met' if bimodal[policy] <= 1.5 else '**not met**'} at <= 1.5).")
    lines.append("")
    (HERE / "RESULTS-threads.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
