"""Customer <-> account linking on a labelled synthetic CRM over real account ids; writes RESULTS-crm.md.

For each dataset, every real account id gets a synthetic person (graphcrm.crm.synthetic: Zipf-shaped name,
surname and city lists, so namesakes are frequent; handles, display names with accents / Cyrillic /
nicknames / taglines; hashed e-mails and phones for a share of the accounts), and a customers table is drawn
from a sample of them, dirtied the way CRM data is (typos, transliteration, nicknames, "Last, First", missing
fields, changed city, old e-mail / phone) plus 20% customers with no account.  Precision = correct links /
links; recall = correct links / customers that have an account.

    python benchmarks/bench_linking.py            # ego-Facebook (4,039 accounts) and higgs (304,691 accounts)
    python benchmarks/bench_linking.py --quick    # ego-Facebook only
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from graphcrm.crm.linking import link_customers
from graphcrm.crm.synthetic import synthetic_crm
from graphcrm.loaders.customers import read_customers

HERE = Path(__file__).resolve().parent
DATASETS = Path(os.environ.get("GRAPHCRM_DATASETS", HERE.parent.parent / "shared" / "datasets"))
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
OTHER_SEEDS = (4, 5, 6, 7, 8, 9)


def facebook_ids() -> np.ndarray:
    with gzip.open(DATASETS / "ego-Facebook" / "facebook_combined.txt.gz", "rt") as fh:
        return np.unique(np.loadtxt(fh, dtype=np.int64))


def higgs_ids() -> np.ndarray:
    frame = pd.read_csv(DATASETS / "higgs-twitter" / "higgs-activity_time.txt.gz", sep=" ", header=None,
                        usecols=[0, 1], dtype=np.int64)
    return np.unique(frame.to_numpy().ravel())


def score(links: pd.DataFrame, truth: pd.Series) -> tuple[float, float, int]:
    correct = links.account_id.to_numpy() == truth.reindex(links.customer_id).to_numpy()
    return float(correct.mean()) if len(links) else 1.0, float(correct.sum() / truth.notna().sum()), int(len(links))


def run(name: str, ids: np.ndarray, n_customers: int, seed: int) -> tuple[list[str], dict]:
    t0 = time.perf_counter()
    crm = synthetic_crm(ids, n_customers, seed=seed)
    t_gen = time.perf_counter() - t0
    customers, _ = read_customers(crm.customers)
    t0 = time.perf_counter()
    result = link_customers(customers, crm.accounts)
    t_link = time.perf_counter() - t0
    truth = crm.truth.set_index("customer_id").account_id
    precision, recall, n = score(result.links, truth)
    rows = [f"### {name}: {len(ids):,} accounts, {n_customers:,} customers "
            f"({int(truth.notna().sum()):,} with an account), seed {seed}", "",
            f"- default ({result.info['threshold_rule']}: threshold {result.info['threshold']:.3f} this run, expected "
            f"precision {result.info['expected_precision']:.4f}): **precision {precision:.4f}, recall {recall:.4f}** "
            f"({n:,} links); {result.info['review_customers']:,} customers to review",
            "- by method: " + ", ".join(f"{k} {v:,}" for k, v in result.info["linked_by_method"].items()),
            f"- exact links alone: recall {score(result.links[result.links.method != 'probabilistic'], truth)[1]:.4f}",
            f"- candidate pairs after blocking: {result.info['candidate_pairs']:,} "
            f"({result.info['candidate_pairs'] / max(len(customers) * len(ids), 1):.2e} of all pairs); "
            f"estimated share of unlinked customers with an account {result.info['prior_has_account']:.2f}",
            f"- time: generate {t_gen:.1f} s, link {t_link:.1f} s ({result.info['seconds']})", "",
            "| threshold | precision | recall | links |", "|---|---|---|---|"]
    exact = result.links[result.links.method != "probabilistic"]
    cand = result.candidates.sort_values(["customer_id", "probability"], ascending=[True, False])
    best = cand.drop_duplicates("customer_id")
    for t in THRESHOLDS:
        prob = best[(best.probability >= t) & ~best.customer_id.isin(exact.customer_id)]
        prob = prob[~prob.account_id.duplicated(keep=False)]
        links = pd.concat([exact[["customer_id", "account_id"]], prob[["customer_id", "account_id"]]])
        p, r, n = score(links, truth)
        rows.append(f"| {t} | {p:.4f} | {r:.4f} | {n:,} |")
    c = cand.assign(true=cand.account_id.to_numpy() == truth.reindex(cand.customer_id).to_numpy())
    c["bin"] = pd.cut(c.probability, [0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0])
    cal = c.groupby("bin", observed=True).agg(pairs=("true", "size"), mean_p=("probability", "mean"),
                                               share_true=("true", "mean"))
    rows += ["", "Calibration of the probabilistic candidates (mean predicted probability vs share that are the "
             "customer's account):", "", "| probability | pairs | mean predicted | share true |", "|---|---|---|---|"]
    rows += [f"| {b} | {int(r.pairs):,} | {r.mean_p:.3f} | {r.share_true:.3f} |" for b, r in cal.iterrows()]
    return rows + [""], {"precision": precision, "recall": recall, "threshold": result.info["threshold"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(HERE / "RESULTS-crm.md"))
    args = parser.parse_args()
    runs = [("ego-Facebook", facebook_ids(), 1500, 3)]
    if not args.quick:
        runs.append(("higgs-twitter", higgs_ids(), 20_000, 1))
    lines = ["# CRM linking benchmark", "",
             f"Written by `benchmarks/bench_linking.py` on {platform.machine()} / Python {platform.python_version()}, "
             f"{os.cpu_count()} cores.", "",
             "Labelled data: synthetic people on the real account ids of each dataset (see the script's docstring "
             "and `graphcrm/crm/synthetic.py`); the customers are dirty copies of a sample of them plus 20% "
             "customers without an account.  Precision = correct links / links; recall = correct links / "
             "customers that have an account.  Goal: precision >= 0.98 at recall >= 0.9.", ""]
    for name, ids, n, seed in runs:
        rows, _ = run(name, ids, n, seed)
        lines += rows
        print("\n".join(rows))
    # the linker was tuned on seed 3: other draws of the same benchmark, at the default
    others = [(seed, run("ego-Facebook", runs[0][1], 1500, seed)[1]) for seed in OTHER_SEEDS]
    lines += ["### ego-Facebook, other seeds (not used when tuning), at the default", "",
              "| seed | threshold chosen | precision | recall |", "|---|---|---|---|"]
    lines += [f"| {seed} | {r['threshold']:.3f} | {r['precision']:.4f} | {r['recall']:.4f} |" for seed, r in others]
    print("\n".join(lines[-len(others) - 4:]))
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
