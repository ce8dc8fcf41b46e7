"""Churn exposure backtest on synthetic CRMs with and without a planted effect; writes RESULTS-churn.md.

``graphcrm.crm.synthetic.churn_world``: accounts retweet random others over the 60 days before ``as_of`` (and
the 30 after, which must not count); 8% post mostly negative messages.  Planted: churn probability within 30
days rises with negative exposure at ``as_of`` (``effect = 3``); null: churn independent of it, same mean rate
(6%).  Reported: the backtest on one planted and one null CRM (seed 0), how often null CRMs (new CRM draws on
the same graph) give p < 0.05 or a lift interval above 1, how often planted CRMs (new graphs) do (power), and
the time of ``negative_exposure`` on a larger graph.

    PYTHONPATH=. python benchmarks/bench_churn_exposure.py            # 3,000 accounts; 40 null, 20 planted draws
    PYTHONPATH=. python benchmarks/bench_churn_exposure.py --quick    # 10 null, 5 planted draws
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from graphcrm.crm.exposure import exposure_backtest, negative_exposure
from graphcrm.crm.synthetic import churn_world
from graphcrm.loaders.customers import read_customers


def run(world, n_boot=2000):
    customers, _ = read_customers(world.customers)
    return exposure_backtest(world.graph, customers, world.links, as_of=world.as_of, layer="retweets",
                             n_boot=n_boot)


def line(name, s):
    lo, hi = s["lift_ci95"]
    rlo, rhi = s["risk_ratio_ci95"]
    return (f"| {name} | {s['customers']:,} | {s['base_rate']:.3f} | {s['exposed_rate']:.3f} | "
            f"**{s['lift']:.2f}** ({lo:.2f}-{hi:.2f}) | {s['risk_ratio']:.2f} ({rlo:.2f}-{rhi:.2f}) | "
            f"{s['p_value']:.2g} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).with_name("RESULTS-churn.md")))
    args = ap.parse_args()
    n_null, n_planted = (10, 5) if args.quick else (40, 20)
    planted = churn_world(3000, effect=3.0, seed=0)
    null = churn_world(3000, effect=0.0, seed=0, graph=planted.graph)
    rp, rn = run(planted), run(null)
    fp_p = fp_ci = 0
    for seed in range(1, n_null + 1):
        s = run(churn_world(3000, effect=0.0, seed=seed, graph=planted.graph), n_boot=500).summary
        fp_p += s["p_value"] < 0.05
        fp_ci += s["lift_ci95"][0] > 1
    power = 0
    for seed in range(1, n_planted + 1):
        power += run(churn_world(3000, effect=3.0, seed=seed), n_boot=500).summary["lift_ci95"][0] > 1
    big = churn_world(100_000, effect=0.0, seed=0)
    events = sum(len(lay.events) for lay in big.graph.layers.values() if lay.events is not None)
    negative_exposure(big.graph, as_of=big.as_of, layer="retweets")
    t = time.perf_counter()
    negative_exposure(big.graph, as_of=big.as_of, layer="retweets")
    seconds = time.perf_counter() - t
    text = "\n".join([
        "# Churn exposure backtest on synthetic CRMs (`benchmarks/bench_churn_exposure.py`)", "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}.  3,000 accounts, 70% of them "
        "customers; as_of 2024-03-01, horizon 30 days, half-life 7 days, exposed group = top 10% by exposure.", "",
        "| CRM (seed 0) | customers | base rate | exposed rate | lift (95% bootstrap) | risk ratio vs others "
        "(95% Katz) | permutation p |", "|---|---|---|---|---|---|---|",
        line("planted (effect 3)", rp.summary), line("null (effect 0)", rn.summary), "",
        "Churn rate per exposure quintile (planted / null): " + ", ".join(
            f"{a:.3f} / {b:.3f}" for a, b in zip(rp.bins.churn_rate, rn.bins.churn_rate)), "",
        f"Null CRMs (seeds 1-{n_null}): p < 0.05 in {fp_p} of {n_null}, lift interval above 1 in {fp_ci} of "
        f"{n_null} (5% expected: {0.05 * n_null:g}).  Planted CRMs on new graphs (seeds 1-{n_planted}): lift "
        f"interval above 1 in {power} of {n_planted}.", "",
        f"`negative_exposure` on {len(big.exposure):,} accounts and {events:,} events: {seconds:.2f} s.", ""])
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
