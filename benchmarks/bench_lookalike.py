"""Lookalike benchmarks: recall on email-Eu-core departments, FastRP time and memory on rmat20.

Targets (issue 23, part 2):

* Lookalikes: on email-Eu-core, seeds = half of a department, the other half ranks in the top k: recall@50
  of FastRP lookalikes >= the best of personalized PageRank and Jaccard neighbourhood similarity, measured
  in the same run.
* FastRP on rmat20 (16M edges, dim 128) <= 2x the time of 3 scipy sparse mat-mults of the same shape
  (the undirected CSR n x n, float32, times a dense n x 128 float32); memory <= n x dim x 4 B + the graph.

Tuning is honest: the departments of >= 20 members are split once (fixed seed) into a validation half and
a test half.  Every method's variants (FastRP settings and score, PageRank direction, Jaccard max / mean)
are chosen on the validation departments only; the test departments are scored once with the chosen
variant of each method, and only those figures count for the target.

Usage: ``python benchmarks/bench_lookalike.py [--quick] [--out PATH]``; ``--quick`` uses rmat17 for part (b).
The full run writes ``benchmarks/RESULTS-lookalike.md``.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numba
import numpy as np
import scipy
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_load import DATASETS, ensure_rmat20  # noqa: E402

from graphcrm.algorithms import fastrp, personalized_pagerank  # noqa: E402
from graphcrm.loaders import load_edges  # noqa: E402
from graphcrm.loaders.graph import Layer  # noqa: E402
from graphcrm.lookalike import FASTRP_DEFAULTS, similarity_to_seeds  # noqa: E402

LOAD_AT_START = os.getloadavg()
K = 50
MIN_DEPT = 20
HALVES = 5                       # random halves per department
SPLIT_SEED = 2026                # the one validation / test split of departments
EMAIL = DATASETS / "email-Eu-core" / "email-Eu-core.txt.gz"
LABELS = DATASETS / "email-Eu-core" / "email-Eu-core-department-labels.txt.gz"

#: FastRP variants tried on the validation departments: (iteration weights, beta, sparsity)
FASTRP_GRID = [
    ((0.0, 1.0, 1.0), 0.0, 3.0),
    ((0.0, 1.0, 1.0, 1.0), 0.0, 3.0),
    ((1.0, 1.0, 1.0), 0.0, 3.0),
    ((0.0, 1.0, 1.0), -0.5, 3.0),
    ((0.0, 1.0, 1.0, 1.0), -0.5, 3.0),
    ((0.0, 0.0, 1.0, 1.0), 0.0, 3.0),
    ((0.0, 1.0, 1.0), 0.0, "sqrt"),
    ((0.0, 1.0, 1.0, 1.0), 0.0, "sqrt"),
]
SCORES = ("centroid", "max")
EMB_SEEDS = (0, 1, 2)            # projection seeds averaged over (the embedding is random)


# ------------------------------------------------------------------------------ (a) recall on email-Eu-core
def email_data():
    g = load_edges(EMAIL, layer="email")
    with gzip.open(LABELS, "rt") as fh:
        rows = [line.split() for line in fh if line.strip()]
    ids = np.array([int(a) for a, _ in rows])
    dept = np.array([int(b) for _, b in rows])
    dense = g.id_map.lookup(ids)
    labels = np.full(g.n_nodes, -1)
    labels[dense[dense >= 0]] = dept[dense >= 0]
    return g, labels


def trials(labels):
    """(split, department, seeds, held_out) for every department of >= MIN_DEPT members, HALVES halves each."""
    depts = sorted(d for d in np.unique(labels[labels >= 0]) if (labels == d).sum() >= MIN_DEPT)
    rng = np.random.default_rng(SPLIT_SEED)
    shuffled = list(rng.permutation(depts))
    validation = set(shuffled[:len(shuffled) // 2])
    out = []
    for d in depts:
        members = np.flatnonzero(labels == d)
        for h in range(HALVES):
            perm = np.random.default_rng([SPLIT_SEED, int(d), h]).permutation(members)
            half = len(perm) // 2
            out.append(("validation" if d in validation else "test", int(d), np.sort(perm[:half]),
                        np.sort(perm[half:])))
    return out


def recall_at(scores, seeds, held, k=K):
    s = np.asarray(scores, dtype=float).copy()
    s[seeds] = -np.inf
    order = np.lexsort((np.arange(len(s)), -s))[:k]
    return len(np.intersect1d(order, held)) / len(held)


def undirected_binary(layer):
    n = layer.n_nodes
    a = sp.csr_array((np.ones(layer.n_edges), layer.out_indices, layer.out_indptr), shape=(n, n))
    a = ((a + a.T) > 0).astype(np.float64)
    a.setdiag(0)
    a.eliminate_zeros()
    return a.tocsr()


def jaccard_scores(a, deg, seeds, how):
    inter = (a @ a[seeds].T).toarray()
    union = deg[:, None] + deg[seeds][None, :] - inter
    jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return jac.max(axis=1) if how == "max" else jac.mean(axis=1)


def baseline_variants(g):
    lay = g.layer("email")
    a = undirected_binary(lay)
    deg = np.asarray(a.sum(axis=1)).ravel()
    src, dst, _ = lay.edge_arrays()
    und = Layer.from_edges(g.n_nodes, np.concatenate([src, dst]), np.concatenate([dst, src]), spec="undirected")
    gu = g.with_layer(und)

    def ppr(direction, graph, layer):
        return lambda seeds: personalized_pagerank(graph, g.ids_of(seeds), layer=layer,
                                                   direction=direction).values

    return {
        "ppr": {"attention": ppr("attention", g, "email"), "influence": ppr("influence", g, "email"),
                "undirected": ppr("influence", gu, "undirected")},
        "jaccard": {"max": lambda seeds: jaccard_scores(a, deg, seeds, "max"),
                    "mean": lambda seeds: jaccard_scores(a, deg, seeds, "mean")},
    }


def lookalike_scores(vectors, seeds, score):
    """The ranking ``graphcrm.lookalike.lookalikes`` uses: similarity to the seeds, accounts without ties last."""
    sim = similarity_to_seeds(vectors, seeds, score=score)
    sim[~np.any(vectors != 0, axis=1)] = -np.inf
    return sim


def fastrp_variants(g):
    out = {}
    for weights, beta, sparsity in FASTRP_GRID:
        embs = [fastrp(g, layer="email", dim=128, iteration_weights=weights, normalization_strength=beta,
                       sparsity=sparsity, seed=s).vectors for s in EMB_SEEDS]
        for score in SCORES:
            name = f"w={','.join(f'{w:g}' for w in weights)} beta={beta:g} s={sparsity} score={score}"
            out[name] = (lambda seeds, embs=embs, score=score: [lookalike_scores(e, seeds, score) for e in embs])
    return out


def evaluate(fn, rows):
    """Mean recall@K over the trial rows (a FastRP variant returns one score per projection seed: averaged)."""
    rec = []
    for _, _, seeds, held in rows:
        scores = fn(seeds)
        if isinstance(scores, list):
            rec.append(np.mean([recall_at(s, seeds, held) for s in scores]))
        else:
            rec.append(recall_at(scores, seeds, held))
    return float(np.mean(rec))


def bench_recall():
    g, labels = email_data()
    rows = trials(labels)
    val = [r for r in rows if r[0] == "validation"]
    test = [r for r in rows if r[0] == "test"]
    methods = {"fastrp": fastrp_variants(g), **baseline_variants(g)}
    chosen, val_table = {}, []
    for method, variants in methods.items():
        scored = {name: evaluate(fn, val) for name, fn in variants.items()}
        best = max(scored, key=lambda k: (scored[k], k))
        chosen[method] = best
        val_table += [(method, name, r, name == best) for name, r in scored.items()]
    test_recall = {m: evaluate(methods[m][chosen[m]], test) for m in methods}
    per_dept = {}
    for m in methods:
        for split, d, seeds, held in test:
            scores = methods[m][chosen[m]](seeds)
            r = (np.mean([recall_at(s, seeds, held) for s in scores]) if isinstance(scores, list)
                 else recall_at(scores, seeds, held))
            per_dept.setdefault(d, {}).setdefault(m, []).append(r)
    sizes = {d: int((labels == d).sum()) for d in np.unique(labels[labels >= 0])}
    return {"val": val_table, "chosen": chosen, "test": test_recall, "per_dept": per_dept, "sizes": sizes,
            "n_val": len({r[1] for r in val}), "n_test": len({r[1] for r in test}), "n_nodes": g.n_nodes,
            "n_edges": g.layer("email").n_edges}


# ------------------------------------------------------------------------------ (b) FastRP time and memory
def peak_rss_child(code: str) -> dict:
    """Run ``code`` in a fresh interpreter and return the dict it prints (peak RSS measured there)."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=str(HERE.parent))
    return eval(proc.stdout.strip().splitlines()[-1])  # noqa: S307 - our own child's repr of a dict


MEMORY_CHILD = """
import gc, sys, threading, time
import numpy as np, psutil
sys.path.insert(0, {repo!r})
from graphcrm.loaders import load_edges
from graphcrm.algorithms import fastrp
from graphcrm.algorithms._embedding_kernels import _warmup
_warmup()
g = load_edges({path!r}, layer="g")
lay = g.layer("g")
gc.collect()
proc = psutil.Process()
base = proc.memory_info().rss
peak = [base]
done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.002)
t = threading.Thread(target=sample)
t.start()
started = time.perf_counter()
emb = fastrp(g, layer="g", dim={dim}, iteration_weights={weights!r}, seed=0)
sec = time.perf_counter() - started
done.set()
t.join()
peak[0] = max(peak[0], proc.memory_info().rss)
print(dict(n=g.n_nodes, edges=lay.n_edges, graph_bytes=lay.nbytes, rss_before=base, peak=peak[0], seconds=sec,
           out_bytes=emb.vectors.nbytes))
"""


def bench_speed(path: Path, dim: int = 128, reps: int = 3, weights=(0.0, 1.0, 1.0)):
    g = load_edges(path, layer="g")
    lay = g.layer("g")
    n = g.n_nodes
    a = sp.csr_array((np.ones(lay.n_edges, dtype=np.float32), lay.out_indices, lay.out_indptr), shape=(n, n))
    a = (a + a.T).tocsr()                    # the undirected layer FastRP walks: the same nonzeros
    a.data = a.data.astype(np.float32)
    x = np.random.default_rng(0).standard_normal((n, dim), dtype=np.float32)

    def scipy_three():
        y = x
        for _ in range(3):
            y = a @ y
        return y

    def ours():
        return fastrp(g, layer="g", dim=dim, iteration_weights=weights, seed=0)

    ours()
    scipy_three()
    pairs, t_ours, t_sp = [], [], []
    for r in range(reps):
        order = (ours, scipy_three) if r % 2 == 0 else (scipy_three, ours)
        times = {}
        for fn in order:
            gc.collect()
            t = time.perf_counter()
            fn()
            times[fn.__name__] = time.perf_counter() - t
        t_ours.append(times["ours"])
        t_sp.append(times["scipy_three"])
        pairs.append(times["ours"] / times["scipy_three"])
    mem = peak_rss_child(MEMORY_CHILD.format(repo=str(HERE.parent), path=str(path), dim=dim, weights=weights))
    return {"n": n, "edges": lay.n_edges, "nnz": a.nnz, "ours": min(t_ours), "scipy": min(t_sp),
            "ratio": float(np.median(pairs)), "ratios": pairs, "mem": mem, "dim": dim, "weights": weights}


# ------------------------------------------------------------------------------ report
def report(rec, speed, started, args) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "python benchmarks/bench_lookalike.py" + (" --quick" if args.quick else "")
    lines = ["# graphcrm lookalike benchmarks: latest results", "",
             f"Generated by `{cmd}` on {now} (run took {time.perf_counter() - started:.0f} s).", "",
             f"- machine: {numba.get_num_threads()} threads, python {platform.python_version()}, numpy "
             f"{np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}; load average "
             f"{LOAD_AT_START[0]:.1f} at the start and {os.getloadavg()[0]:.1f} at the end of the run (the cores are "
             "shared: timings drift with other work, so ratios compare back-to-back pairs)", ""]
    if rec is not None:
        t = rec["test"]
        best_base = max(t["ppr"], t["jaccard"])
        met = "**met**" if t["fastrp"] >= best_base else "**NOT met**"
        lines += [
            "## (a) Lookalikes on email-Eu-core departments: recall@50", "",
            f"email-Eu-core ({rec['n_nodes']:,} accounts, {rec['n_edges']:,} directed edges). For every department "
            f"of >= {MIN_DEPT} members, {HALVES} random halves are the seeds; recall@{K} = share of the other "
            f"half among the {K} best-ranked non-seed accounts (so at most {K}/|held-out half| for large "
            "departments). Departments were split once (seed "
            f"{SPLIT_SEED}) into {rec['n_val']} validation and {rec['n_test']} test departments; every method's "
            "variant was chosen on the validation departments, and the test departments were scored once. "
            f"FastRP figures are the mean over projection seeds {EMB_SEEDS} (dim 128).", "",
            "**Test departments (the figures that count):**", "",
            "| method | chosen variant (on validation) | mean recall@50 |", "|---|---|---:|"]
        for m, label in (("fastrp", "FastRP lookalikes"), ("ppr", "personalized PageRank"),
                         ("jaccard", "Jaccard neighbourhood similarity")):
            lines.append(f"| {label} | {rec['chosen'][m]} | {t[m]:.3f} |")
        lines += ["", f"`graphcrm.lookalike` defaults: {FASTRP_DEFAULTS}, score centroid (set from the variant chosen "
                  "here).", "", f"Target (FastRP >= best of PPR and Jaccard = {best_base:.3f}): {met} "
                  f"(FastRP {t['fastrp']:.3f}, difference {t['fastrp'] - best_base:+.3f}).", "",
                  "Per test department (mean over the halves):", "",
                  "| department | members | FastRP | PPR | Jaccard |", "|---:|---:|---:|---:|---:|"]
        for d in sorted(rec["per_dept"]):
            r = rec["per_dept"][d]
            lines.append(f"| {d} | {rec['sizes'][d]} | {np.mean(r['fastrp']):.3f} | {np.mean(r['ppr']):.3f} | "
                         f"{np.mean(r['jaccard']):.3f} |")
        lines += ["", "Validation departments (every variant tried; chosen = best per method):", "",
                  "| method | variant | mean recall@50 | chosen |", "|---|---|---:|:---:|"]
        for m, name, r, chosen in rec["val"]:
            lines.append(f"| {m} | {name} | {r:.3f} | {'yes' if chosen else ''} |")
        lines.append("")
    if speed is not None:
        mem = speed["mem"]
        emb_bytes = speed["n"] * speed["dim"] * 4
        budget = emb_bytes + mem["graph_bytes"]
        extra = mem["peak"] - mem["rss_before"]
        lines += [
            f"## (b) FastRP time and memory ({args.graph_name})", "",
            f"{speed['n']:,} accounts, {speed['edges']:,} directed edges ({speed['nnz']:,} nonzeros undirected); "
            f"dim {speed['dim']}, iteration weights {speed['weights']} (the lookalike default: 3 steps). Peer: "
            "3 scipy products `A @ Y` with `A` the undirected n x n CSR (float32 data) and `Y` a dense n x 128 "
            "float32 matrix, timed after one untimed call; FastRP timed from the graph to the embedding. "
            "Ratio = median of back-to-back pairs (order alternating).", "",
            "| FastRP | 3 scipy mat-mults | ratio (target <= 2) |", "|---:|---:|---:|",
            f"| {speed['ours']:.2f} s | {speed['scipy']:.2f} s | {speed['ratio']:.2f} "
            f"{'yes' if speed['ratio'] <= 2 else '**NO**'} ({', '.join(f'{r:.2f}' for r in speed['ratios'])}) |",
            "", "Memory (a fresh process: load the graph, warm the kernels, then FastRP; peak RSS during FastRP, "
            "sampled every 2 ms, minus RSS before it):", "",
            "| n x dim x 4 B | graph (CSR + CSC) | budget: embedding + graph | peak RSS growth in FastRP | "
            "growth / embedding | within budget |", "|---:|---:|---:|---:|---:|:---:|",
            f"| {emb_bytes / 2**20:,.0f} MiB | {mem['graph_bytes'] / 2**20:,.0f} MiB | {budget / 2**20:,.0f} MiB | "
            f"{extra / 2**20:,.0f} MiB | {extra / emb_bytes:.2f} | {'yes' if extra <= budget else '**NO**'} |", "",
            f"The growth counts everything FastRP allocates: the result ({emb_bytes / 2**20:,.0f} MiB), one "
            f"scratch block of n x 32 float32 ({speed['n'] * 128 / 2**20:,.0f} MiB: a quarter of the result at dim "
            "128), per-step row norms (n x steps float32), the per-account keys and degree arrays. The graph was "
            "in memory before and is not copied. Beyond the result itself FastRP uses "
            f"{(extra - emb_bytes) / 2**20:,.0f} MiB = {(extra - emb_bytes) / max(mem['graph_bytes'], 1):.2f} x "
            "the graph's bytes. Trade-off measured while choosing the block width: 64-column blocks (a scratch "
            "block of half the result: 485 MiB growth, over this budget) ran FastRP in 0.64x the scipy time in "
            "a run at lower machine load, and about 0.55-0.7x the time of 32-column blocks in the same process; "
            "32 columns is the narrowest width numba vectorises at speed (16 ran 2-4x slower per column).", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="rmat17 instead of rmat20 for the speed part")
    parser.add_argument("--only", choices=("recall", "speed"), default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    rec = speed = None
    if args.only in (None, "recall"):
        rec = bench_recall()
        print(rec["chosen"], rec["test"], flush=True)
    if args.only in (None, "speed"):
        path = DATASETS / "synthetic" / "rmat17.txt.gz" if args.quick else ensure_rmat20()
        args.graph_name = "rmat17" if args.quick else "rmat20"
        speed = bench_speed(path)
        print({k: v for k, v in speed.items()}, flush=True)
    else:
        args.graph_name = ""
    text = report(rec, speed, started, args)
    out = args.out or (HERE / ".cache" / "RESULTS-lookalike-quick.md" if args.quick or args.only
                       else HERE / "RESULTS-lookalike.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
