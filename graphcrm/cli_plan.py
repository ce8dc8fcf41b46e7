"""``graphcrm plan`` and ``graphcrm reach``: whom to seed, and who can reach one person.

Registered on the main app in :mod:`graphcrm.cli`.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from graphcrm.core.errors import ParameterError
from graphcrm.progress import step

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def parse_bytes(text: str) -> int:
    """``"512MB"``, ``"2GiB"``, ``"1000000"`` -> bytes.

    Examples
    --------
    >>> parse_bytes("2GiB"), parse_bytes("512 MB"), parse_bytes("1000")
    (2147483648, 512000000, 1000)
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise ParameterError(f"--max-memory {text!r}: expected a size such as 512MB or 2GiB")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def plan(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    k: Optional[int] = typer.Option(None, "--k", help="Number of seeds."),
    budget: Optional[float] = typer.Option(None, "--budget", help="Total budget (with --costs or --cost-column)."),
    costs: Optional[Path] = typer.Option(None, "--costs", help="Table account_id,cost (.csv/.parquet)."),
    cost_column: str = typer.Option("cost", "--cost-column", help="Node attribute holding costs (without --costs)."),
    target_segment: Optional[Path] = typer.Option(None, "--target-segment",
                                                  help="Only reach in these accounts counts (ids, one per line, or "
                                                       "a table with account_id)."),
    exclude: Optional[Path] = typer.Option(None, "--exclude", help="Accounts never to seed (same formats)."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Influence layer (default: combined interaction "
                                                              "strength, else follows)."),
    model: str = typer.Option("ic", "--model", help="ic or lt."),
    prob: str = typer.Option("wc", "--prob", help="Edge probabilities: wc | const:P | trivalency | weight (the file's own) | learned."),
    eps: float = typer.Option(0.1, "--eps", help="Guarantee 1 - 1/e - eps (budget: 1 - 1/sqrt(e) - eps)."),
    delta: Optional[float] = typer.Option(None, "--delta", help="Failure probability (default 1/n)."),
    max_memory: Optional[str] = typer.Option(None, "--max-memory", help="Cap on sample memory, e.g. 2GiB."),
    evaluate_runs: int = typer.Option(10_000, "--evaluate-runs",
                                      help="Independent Monte-Carlo check of the seeds (0: skip)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://...)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same seeds)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Seed table (.csv or .parquet)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Whom to seed: k people, or people within a budget, for the most expected reach (certified).

    Example: graphcrm plan graphs/higgs --k 10 --out seeds.csv
    """
    from algorithms.diffusion import simulate
    from algorithms.planning import plan_seeds
    from graphcrm.cli import _emit
    from graphcrm.core.snapshot import load_snapshot
    from graphcrm.leaders import default_layer
    from graphcrm.tables import read_costs, read_id_list, write_table

    started = time.perf_counter()
    if (k is None) == (budget is None):
        raise ParameterError("give --k N or --budget B")
    graph = load_snapshot(snapshot)
    lay = default_layer(graph) if layer is None else layer
    cost_source = None
    if budget is not None:
        cost_source = read_costs(costs) if costs is not None else cost_column
    targets = read_id_list(target_segment) if target_segment is not None else None
    excluded = read_id_list(exclude) if exclude is not None else None
    client = _dask_client(scheduler) if scheduler else None
    with step("sampling and selecting seeds"):
        result = plan_seeds(graph, layer=lay, k=k, budget=budget, costs=cost_source, targets=targets,
                            exclude=excluded, model=model, prob=prob, eps=eps, delta=delta, seed=seed,
                            max_memory=parse_bytes(max_memory) if max_memory else None, client=client)
    summary = {"snapshot": str(snapshot), **result.summary()}
    table = result.seeds
    if evaluate_runs > 0:
        with step(f"checking the seeds with {evaluate_runs:,} simulations"):
            est = simulate(graph, result.seed_ids, layer=lay, model=model, prob=prob, n_runs=evaluate_runs,
                           seed=seed + 1)
        check = {"runs": evaluate_runs, "expected_reach": round(est.mean, 3),
                 "ci95": [round(est.ci_low, 3), round(est.ci_high, 3)]}
        if targets is not None:
            dense = graph.id_map.lookup(np.asarray(targets, dtype=object))
            check["expected_reach_in_targets"] = round(float(est.activation_probability[dense[dense >= 0]].sum()), 3)
        summary["monte_carlo_check"] = check
    if out is not None:
        write_table(table, out)
        summary["outputs"] = {"seeds": str(out)}
    summary["seconds"] = round(time.perf_counter() - started, 3)
    met = "met" if result.guarantee_met else "NOT met"
    human = (f"{len(table)} seeds, expected reach {result.expected_reach:,.1f} (+- {result.info['expected_reach_stderr']:,.1f})"
             f"{' target accounts' if targets is not None else ' accounts'}; certified >= "
             f"{result.reach_lower_bound:,.1f}, within {result.certified_ratio:.3f} of the best possible "
             f"(target {result.target_ratio:.3f}: {met}, probability >= {1 - result.info['delta']:.6f})")
    if "monte_carlo_check" in summary:
        c = summary["monte_carlo_check"]
        human += f"\nMonte-Carlo check ({c['runs']:,} runs): {c['expected_reach']:,.1f} (95% CI {c['ci95'][0]:,.1f} .. {c['ci95'][1]:,.1f})"
    human += "\n" + table.head(20).round(3).to_string(index=False)
    _emit(summary, as_json, human)


def reach(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    target: str = typer.Option(..., "--target", help="The account to reach."),
    top: int = typer.Option(20, "--top", help="How many influencers to list."),
    samples: int = typer.Option(100_000, "--samples", help="RR samples rooted at the target."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Influence layer (default: combined interaction "
                                                              "strength, else follows)."),
    model: str = typer.Option("ic", "--model", help="ic or lt."),
    prob: str = typer.Option("wc", "--prob", help="Edge probabilities: wc | const:P | trivalency | weight (the file's own) | learned."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    out: Optional[Path] = typer.Option(None, "--out", help="Influencer table (.csv or .parquet)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Who can best reach one person: influence probability and the most likely path.

    Example: graphcrm reach graphs/higgs --target 14454 --top 5
    """
    from algorithms.planning import influencers_of
    from graphcrm.cli import _emit
    from graphcrm.core.snapshot import load_snapshot
    from graphcrm.leaders import default_layer
    from graphcrm.tables import write_table

    started = time.perf_counter()
    graph = load_snapshot(snapshot)
    lay = default_layer(graph) if layer is None else layer
    with step(f"sampling {samples:,} paths into {target}"):
        table = influencers_of(graph, target, layer=lay, model=model, prob=prob, n_samples=samples, top=top,
                               seed=seed)
    if out is not None:
        write_table(table, out)
    summary = {"snapshot": str(snapshot), "target": target, "samples": samples, "model": model, "prob": prob,
               "influencers": table.head(top).to_dict("records"), "outputs": {"table": str(out) if out else None},
               "seconds": round(time.perf_counter() - started, 3)}
    human = (f"{len(table)} accounts can reach {target} ({samples:,} samples, {model.upper()}, {prob})\n"
             + (table.round(4).to_string(index=False) if len(table) else "nobody reaches this account"))
    _emit(summary, as_json, human)


def contagion_summary(graph, ids, layer, *, model, prob, recovery, negative, runs, max_steps, seed, out):
    """``graphcrm simulate`` for SIR / SIS epidemics and competing negative word-of-mouth: (summary, human text)."""
    from algorithms.contagion import simulate_competition, simulate_epidemic
    from graphcrm.tables import write_table

    if negative:
        if model != "ic":
            raise ParameterError("--negative races two Independent Cascades: use --model ic")
        with step(f"simulating {runs:,} competing cascades"):
            est = simulate_competition(graph, negative, ids, layer=layer, prob=prob, n_runs=runs, seed=seed)
        summary = {"model": "competing ic", "prob": prob, "runs": runs, "negative_seeds": len(negative),
                   "advocates": len(ids), "negative_reach": est.negative[0], "negative_ci95": list(est.negative[1:]),
                   "negative_reach_without_advocates": est.negative_alone[0], "positive_reach": est.positive[0],
                   "saved": est.saved, "saved_ci95": est.info["saved_ci95"]}
        human = (f"negative word-of-mouth reaches {est.negative[0]:,.1f} accounts (95% CI {est.negative[1]:,.1f} .. "
                 f"{est.negative[2]:,.1f}); without the {len(ids)} advocates {est.negative_alone[0]:,.1f}: they save "
                 f"{est.saved:,.1f} (95% CI {est.info['saved_ci95'][0]:,.1f} .. {est.info['saved_ci95'][1]:,.1f}); "
                 f"positive reach {est.positive[0]:,.1f}")
        return summary, human
    steps = 100 if max_steps is None else max_steps
    with step(f"simulating {runs:,} {model.upper()} epidemics"):
        est = simulate_epidemic(graph, ids, layer=layer, model=model, prob=prob, recovery=recovery, n_runs=runs,
                                max_steps=steps, seed=seed)
    if out is not None:
        write_table(est.steps_frame(), out)
    summary = {"model": model, "prob": prob, "recovery": recovery, "runs": runs, "seeds": len(ids),
               "ever_reached": est.mean, "ci95": [est.ci_low, est.ci_high],
               "infected_per_step": est.prevalence[:20].round(3).tolist(),
               "outputs": {"steps": str(out) if out else None}}
    human = (f"{model.upper()}: {est.mean:,.2f} accounts ever reached (95% CI {est.ci_low:,.2f} .. {est.ci_high:,.2f}) "
             f"from {len(ids)} seeds, {runs:,} runs; infected per step: "
             + ", ".join(f"{x:.1f}" for x in est.prevalence[:10]))
    return summary, human


def _dask_client(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise ParameterError("--scheduler needs Dask: pip install 'graphcrm[dask]'") from None
    try:
        return Client(address, timeout=10)
    except OSError as exc:
        raise ParameterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
