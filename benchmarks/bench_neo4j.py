#!/usr/bin/env python
"""Neo4j store throughput: push and pull of the higgs interaction graph, and batched vs naive loading.

Run from the repository root::

    python benchmarks/bench_neo4j.py --full       # all 563,069 higgs events; writes benchmarks/RESULTS-neo4j.md
    python benchmarks/bench_neo4j.py              # the earliest 150,000 events only
    python benchmarks/bench_neo4j.py --events 20000 --out /tmp/r.md   # a quick look

The server is the local ArcadeDB Bolt server (``graphcrm.loaders.bolt_server``), started
in a temporary directory; figures against a real Neo4j 5 will differ.  Measured
in one run:

1. ``Neo4jStore.push``: accounts/s and relationships/s (UNWIND batches of
   ``--batch-size`` rows, MERGE on the constrained ``Account.id``), then a second
   push of the same graph (idempotent re-run).
2. ``Neo4jStore.pull``: relationships/s read back into a SocialGraph (checked
   edge for edge against the pushed graph).
3. First, on a subset (``--naive-rels`` relationships and their accounts, into
   an empty database each time, after warm-up rounds: ArcadeDB's JIT roughly
   triples its throughput in the first minute): the same rows loaded one row
   per transaction (the naive loader) vs ``push``, in ``--pairs`` interleaved
   pairs (order alternating, so a busy spell of the shared machine hits both
   sides of a pair); the figure is the median of the pairs' time ratios
   (goal >= 20x), with the load averages around the pairs.

Not a test: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
DATASETS = Path(os.environ.get("GRAPHCRM_DATASETS", REPO.parent / "shared" / "datasets"))
PASSWORD = "graphcrm-bench-password"

NAIVE_ACCOUNT = "MERGE (a:Account {id: $id})"
NAIVE_REL = ("MATCH (a:Account {id: $src}) MATCH (b:Account {id: $dst}) MERGE (a)-[e:{type}]->(b) "
             "SET e.count = $count, e.first_time = $first_time, e.last_time = $last_time, e.weight = $weight, "
             "e.sign = $sign")


def higgs_subset(n_events: int | None):
    """The higgs interaction graph of the earliest ``n_events`` events, on the accounts they touch."""
    from graphcrm.loaders import load_interactions

    graph = load_interactions(DATASETS / "higgs-twitter" / "higgs-activity_time.txt.gz")
    if n_events is None:
        return graph
    times = np.sort(np.concatenate([lay.events.time for lay in graph.layers.values()]))
    if n_events >= len(times):
        return graph
    window = graph.window(int(times[0]), int(times[n_events]))
    touched = set()
    for name in window.layer_names:
        edges = window.edges(name)
        touched.update(edges["src"].tolist())
        touched.update(edges["dst"].tolist())
    return window.subgraph(touched)


def wipe(store) -> None:
    while True:  # in slices, so one transaction never holds the whole graph
        n = store._driver.execute_query("MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(n) AS n",
                                        database_=store.database).records[0]["n"]
        if n == 0:
            return


def n_rels(graph) -> int:
    from graphcrm.loaders.neo4j_cypher import REL_TYPES

    return sum(graph.layer(name).n_edges for name in graph.layer_names if name in REL_TYPES)


def naive_load(store, graph) -> float:
    """One row per transaction: every account, then every relationship."""
    from graphcrm.loaders.neo4j_cypher import REL_TYPES
    from graphcrm.loaders.neo4j_store import rel_rows

    started = time.perf_counter()
    store.ensure_schema()
    with store._driver.session(database=store.database) as session:
        for key in graph.id_map.ids.tolist():
            session.execute_write(lambda tx, key=key: tx.run(NAIVE_ACCOUNT, id=key).consume())
        for name in graph.layer_names:
            statement = NAIVE_REL.replace("{type}", REL_TYPES[name])
            for row in rel_rows(graph, name):
                session.execute_write(lambda tx, row=row: tx.run(statement, row).consume())
    return time.perf_counter() - started


def subset_of(graph, n_rel: int):
    """The first accounts (by dense id) whose induced subgraph has about ``n_rel`` relationships."""
    lo, hi = 1, graph.n_nodes
    while lo < hi:
        mid = (lo + hi) // 2
        if n_rels(graph.subgraph(graph.id_map.ids[:mid])) < n_rel:
            lo = mid + 1
        else:
            hi = mid
    return graph.subgraph(graph.id_map.ids[:lo])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=150_000, help="Earliest N higgs events (default 150000).")
    parser.add_argument("--full", action="store_true", help="All higgs events.")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--naive-rels", type=int, default=5000, help="Relationships in the naive-vs-batched subset.")
    parser.add_argument("--pairs", type=int, default=5, help="Interleaved (naive, batched) pairs (default 5).")
    parser.add_argument("--warmup", type=int, default=6,
                        help="Untimed pushes of the subset before the pairs (the server's JIT; default 6).")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-neo4j.md")
    args = parser.parse_args(argv)

    import pandas as pd

    from graphcrm.loaders.bolt_server import start_server
    from graphcrm.loaders.neo4j_store import Neo4jStore

    n_events = None if args.full else args.events
    t0 = time.perf_counter()
    graph = higgs_subset(n_events)
    print(f"graph {graph} ({n_rels(graph)} relationships) in {time.perf_counter() - t0:.1f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-neo4j-") as tmp:
        t0 = time.perf_counter()
        server = start_server(Path(tmp), PASSWORD)
        started_in = time.perf_counter() - t0
        print(f"server up in {started_in:.1f} s: {server.uri}", flush=True)
        try:
            store = Neo4jStore(server.uri, server.user, PASSWORD, server.database, batch_size=args.batch_size)
            info = store.check()
            rels = n_rels(graph)

            # 1. naive vs batched on a subset; the JVM warms up first (its JIT triples throughput)
            small = subset_of(graph, args.naive_rels)
            small_rels = n_rels(small)
            for _ in range(args.warmup):
                store.push(small)
                wipe(store)
            naive_load(store, subset_of(small, 200))
            wipe(store)
            t_naive = naive_load(store, small)
            naive_counts = store.counts()
            wipe(store)

            def batched():
                t0 = time.perf_counter()
                store.push(small)
                return time.perf_counter() - t0

            loadavg_before = os.getloadavg()
            pairs = []
            for r in range(args.pairs):
                secs = {}
                for name in (("naive", "batched") if r % 2 else ("batched", "naive")):
                    secs[name] = naive_load(store, small) if name == "naive" else batched()
                    assert store.counts() == naive_counts
                    wipe(store)
                pairs.append((secs["naive"], secs["batched"]))
                print(f"pair {r + 1}: naive {secs['naive']:.2f} s, batched {secs['batched']:.3f} s, "
                      f"{secs['naive'] / secs['batched']:.1f}x", flush=True)
            loadavg_after = os.getloadavg()
            t_naive = float(np.median([a for a, _ in pairs]))
            t_batched = float(np.median([b for _, b in pairs]))
            ratio = float(np.median([a / b for a, b in pairs]))
            print(f"subset {small}: naive {t_naive:.1f} s, batched {t_batched:.2f} s (medians), "
                  f"median ratio {ratio:.1f}x", flush=True)

            # 2. the whole graph: push into the empty store, push again, pull back
            t0 = time.perf_counter()
            report = store.push(graph)      # empty store: accounts, then relationships
            t_push = time.perf_counter() - t0
            t_accounts = report.step_seconds["accounts"]
            t_rels = sum(v for k, v in report.step_seconds.items() if k != "accounts")
            t0 = time.perf_counter()
            report2 = store.push(graph)
            t_repush = time.perf_counter() - t0
            assert report2.written == report.written
            counts = store.counts()
            assert counts["accounts"] == graph.n_nodes and sum(counts["relationships"].values()) == rels, counts
            print(f"push: accounts {t_accounts:.1f} s, relationships {t_rels:.1f} s, re-push {t_repush:.1f} s",
                  flush=True)

            t0 = time.perf_counter()
            pulled = store.pull()
            t_pull = time.perf_counter() - t0
            for name in graph.layer_names:
                a = graph.edges(name).sort_values(["src", "dst"]).reset_index(drop=True)
                b = pulled.edges(name).sort_values(["src", "dst"]).reset_index(drop=True)
                pd.testing.assert_frame_equal(a, b)
            print(f"pull {t_pull:.1f} s (checked edge for edge)", flush=True)
            store.close()
        finally:
            server.stop()

    figures = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}",
        "server": info["server"], "server_start_s": round(started_in, 1),
        "events": "all 563,069" if n_events is None else f"earliest {n_events:,}",
        "accounts": graph.n_nodes, "relationships": rels, "batch_size": args.batch_size,
        "accounts_per_s": round(graph.n_nodes / t_accounts),
        "accounts_s": round(t_accounts, 1), "rels_s": round(t_rels, 1), "push_s": round(t_push, 1),
        "push_rels_per_s": round(rels / t_rels),
        "repush_s": round(t_repush, 1), "repush_rels_per_s": round(rels / t_repush),
        "pull_s": round(t_pull, 1), "pull_rels_per_s": round(rels / t_pull),
        "subset_accounts": small.n_nodes, "subset_relationships": small_rels,
        "naive_s": round(t_naive, 2), "batched_s": round(t_batched, 2),
        "naive_rows_per_s": round((small.n_nodes + small_rels) / t_naive),
        "batched_rows_per_s": round((small.n_nodes + small_rels) / t_batched),
        "ratio": round(ratio, 1),
        "pairs": [(round(a, 2), round(b, 3), round(a / b, 1)) for a, b in pairs],
        "loadavg": [[round(x, 2) for x in loadavg_before], [round(x, 2) for x in loadavg_after]],
        "driver": driver_info(),
    }
    write_results(args.out, figures, report.as_dict())
    print(json.dumps(figures, indent=2))
    return 0


def driver_info() -> str:
    """The neo4j driver's version and whether its Rust packstream extension (``neo4j-rust-ext``) is in use."""
    import neo4j
    from neo4j._codec.packstream import v1

    rust = getattr(v1, "_rust_pack", None) is not None
    return f"neo4j {neo4j.__version__}, packstream in {'Rust (neo4j-rust-ext)' if rust else 'pure Python'}"


def write_results(path: Path, f: dict, report: dict) -> None:
    text = f"""# Neo4j store benchmark

Written by `python benchmarks/bench_neo4j.py` (don't edit by hand). {f['date']}; {f['machine']}.
Server: {f['server']} (local ArcadeDB via `graphcrm.loaders.bolt_server`, started in {f['server_start_s']} s), not a real
Neo4j 5: absolute figures against Neo4j will differ.

Graph: higgs-twitter activity, {f['events']} events -> {f['accounts']:,} accounts, {f['relationships']:,}
relationships (RETWEETED / REPLIED / MENTIONED with count, first/last time, weight). Batch size {f['batch_size']}.

| step | time | rate |
|---|---|---|
| push, accounts step (empty store) | {f['accounts_s']} s | {f['accounts_per_s']:,} accounts/s |
| push, relationships step | {f['rels_s']} s | **{f['push_rels_per_s']:,} relationships/s** |
| push, total | {f['push_s']} s | |
| push again (idempotent re-run, nothing changes) | {f['repush_s']} s | {f['repush_rels_per_s']:,} relationships/s |
| pull into a SocialGraph (checked edge for edge) | {f['pull_s']} s | **{f['pull_rels_per_s']:,} relationships/s** |

Batched vs naive, same rows into an empty database each time: {f['subset_accounts']:,} accounts +
{f['subset_relationships']:,} relationships, in {len(f['pairs'])} interleaved pairs (order alternating); times are
the medians of each side, the ratio is the median of the pairs' ratios. Driver: {f['driver']}.

| loader | time | rows/s |
|---|---|---|
| naive: one row per transaction (`MERGE` one account / one relationship per `execute_write`) | {f['naive_s']} s | {f['naive_rows_per_s']:,} |
| `Neo4jStore.push` (UNWIND batches of id lists / positional row lists) | {f['batched_s']} s | {f['batched_rows_per_s']:,} |
| **ratio** | **{f['ratio']}x** (goal >= 20x) | |

Pairs (naive s, batched s, ratio): {'; '.join(f'{a}, {b}, {r}x' for a, b, r in f['pairs'])}.
The machine is shared (2 cores): load averages (1, 5, 15 min) before the pairs {', '.join(map(str, f['loadavg'][0]))},
after {', '.join(map(str, f['loadavg'][1]))}.

Push report: `{json.dumps(report)}`
"""
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
