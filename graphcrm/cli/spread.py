"""``graphcrm simulate``, ``plan``, ``reach`` and ``contain``: how far a message spreads, whom to seed, who reaches
one person, whom to seed against a negative cascade."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from graphcrm.cli.common import AS_OF, TOPIC, Timer, dask_client, emit, open_snapshot, parse_bytes
from graphcrm.loaders.errors import GraphCRMError, ParameterError
from graphcrm.progress import step


def register(app: typer.Typer) -> None:
    app.command()(simulate)
    app.command()(plan)
    app.command()(reach)
    app.command()(contain)


def simulate(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    as_of: Optional[str] = AS_OF,
    seeds: List[str] = typer.Option([], "--seeds", help="Seed account id (repeatable)."),
    seeds_file: Optional[Path] = typer.Option(None, "--seeds-file", help="Seed ids: one per line, or a CSV/Parquet "
                                                                      "table with account_id (plan --out's file)."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Influence layer (default: combined interaction "
                                                              "strength, else follows)."),
    model: str = typer.Option("ic", "--model", help="ic | lt | sir | sis (graphcrm.algorithms.diffusion.MODELS)."),
    prob: str = typer.Option("wc", "--prob", help="Edge probabilities: wc | const:P | trivalency | weight (the file's own) | learned."),
    recovery: Optional[float] = typer.Option(None, "--recovery", help="SIR/SIS: chance per step that an account "
                                                                       "stops spreading (default 0.5)."),
    negative: List[str] = typer.Option([], "--negative", help="Start a competing negative cascade here (repeatable): "
                                                              "--seeds are then the brand's advocates."),
    runs: int = typer.Option(10_000, "--runs", help="Monte-Carlo runs (at most, with --ci-width)."),
    ci_width: Optional[float] = typer.Option(None, "--ci-width", help="Stop once the 95% interval is narrower."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Stop every cascade after this many steps."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same output)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://...): "
                                                                      "split the runs over a cluster."),
    out: Optional[Path] = typer.Option(None, "--out", help="Reach per step (.csv or .parquet)."),
    probabilities: Optional[Path] = typer.Option(None, "--activation-out",
                                                 help="Each account's activation probability (.csv/.parquet)."),
    hourly_out: Optional[Path] = typer.Option(None, "--hourly-out",
                                              help="Expected reach per hour, from the delays in the layer's "
                                                   "interaction log (.csv/.parquet)."),
    topic: Optional[str] = TOPIC,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Word-of-mouth reach of a seed set: expected reach with a 95% interval, reach per step (and per hour).

    Example: graphcrm simulate graphs/higgs --seeds 88 --seeds 14454 --runs 5000
    """
    from graphcrm.algorithms.diffusion import CASCADE_MODELS, simulate as run, simulate_model
    from graphcrm.tables import check_outputs, write_tables

    timer = Timer()
    _check_counts(("--runs", runs, 1), ("--max-steps", max_steps, 0))
    if ci_width is not None and not ci_width > 0:
        raise ParameterError(f"--ci-width must be a number > 0, got {ci_width}")
    if not seeds and seeds_file is None:
        raise ParameterError("give seed accounts with --seeds ID (repeatable) or --seeds-file FILE")
    _refuse_unused(model, negative, {"--out": out, "--activation-out": probabilities, "--hourly-out": hourly_out,
                                     "--max-steps": max_steps, "--ci-width": ci_width, "--scheduler": scheduler,
                                     "--recovery": recovery})
    recovery = 0.5 if recovery is None else recovery
    check_outputs({"--out": out, "--activation-out": probabilities, "--hourly-out": hourly_out})
    from graphcrm.tables import check_known_ids, read_ids_with_lines

    from_file = read_ids_with_lines(seeds_file) if seeds_file is not None else None
    graph = open_snapshot(snapshot, as_of, topic)
    ids = list(seeds) + (check_known_ids(graph, seeds_file, *from_file) if from_file is not None else [])
    notes = []
    ids, negative = _unique(ids, "seed", notes), _unique(list(negative), "--negative", notes)
    lay = graph.resolve_layer(layer)
    delays = None
    if hourly_out is not None or prob == "learned":     # before the runs: a layer without a log stops here
        from graphcrm.algorithms.probabilities import propagation_delays

        delays = propagation_delays(lay)
    if negative or model not in CASCADE_MODELS:
        with step(f"simulating {runs:,} {'competing cascades' if negative else model.upper() + ' runs'}"):
            est = simulate_model(graph, ids, model=model, layer=lay, negative=negative, prob=prob, recovery=recovery,
                                 n_runs=runs, max_steps=max_steps, seed=seed)
        summary, human = _contagion_summary(est, ids, model=model, prob=prob, recovery=recovery, negative=negative,
                                            runs=runs, out=out)
        write_tables([(est.steps_frame(), out)] if not negative else [])
        summary["snapshot"] = str(snapshot)
        summary["notes"] = notes
        summary["seconds"] = timer.seconds()
        emit(summary, as_json, human + "".join(f"\nnote: {n}" for n in notes))
        return
    with step(f"simulating {runs:,} cascades"):
        est = run(graph, ids, layer=lay, model=model, prob=prob, n_runs=runs, seed=seed, max_steps=max_steps,
                  ci_width=ci_width, client=dask_client(scheduler) if scheduler else None)
    from graphcrm.algorithms.diffusion import MAX_STEP_BUCKETS

    last = len(est.new_per_step) - 1
    if last == MAX_STEP_BUCKETS and est.new_per_step[last] > 0 and (max_steps is None or max_steps > last):
        notes.append(f"some cascades ran past {last} steps: the step table's last row ({last}) sums every later "
                     "step, and reach over time spreads it as one step (the total reach counts the whole cascade)")
    hourly = None
    if delays is not None and (hourly_out is not None or len(delays)):
        from graphcrm.algorithms.diffusion import reach_over_time

        hourly = reach_over_time(est, delays, seed=seed)         # asked for with no delays on record: says so
    elif delays is not None:              # --prob learned shows reach over time where the log has delays
        notes.append("no reach over time: the log has no re-share delays to spread the steps over")
    # the step table, the activation probabilities and the hourly reach are one result: all written, or none
    write_tables([(est.steps_frame() if out else None, out), (est.to_frame() if probabilities else None, probabilities),
                  (hourly, hourly_out)])
    summary = {"snapshot": str(snapshot), "topic": topic, "seeds": len(ids), "model": model, "prob": est.info["prob"],
               "runs": est.info["runs"], "expected_reach": est.mean, "ci95": [est.ci_low, est.ci_high],
               "reach_per_step": est.reach_per_step[:20].round(3).tolist(), "steps": _cascade_steps(est),
               "reach_after_hours": None if hourly is None else {
                   int(h): round(float(r), 3) for h, r in zip(hourly["hours"], hourly["expected_reach"])
                   if h in (1, 6, 24, 48, 168)},
               "outputs": {"steps": str(out) if out else None, "activation": str(probabilities) if probabilities else None,
                           "hourly": str(hourly_out) if hourly_out else None},
               "notes": notes, "seconds": timer.seconds()}
    human = (f"expected reach {est.mean:,.2f} accounts (95% CI {est.ci_low:,.2f} .. {est.ci_high:,.2f}) "
             f"from {len(ids)} seeds, {est.info['runs']:,} {model.upper()} runs\n" +
             est.steps_frame().head(10).round(3).to_string(index=False) + _steps_cut(_cascade_steps(est), out)
             + "".join(f"\nnote: {n}" for n in notes))
    if prob.startswith("learned") and graph.layers.get(lay.name) is lay:
        from graphcrm.algorithms.calibration import reach_calibration

        try:
            cal = reach_calibration(graph, lay.name, prob, seed=seed)
            summary["calibration"] = cal.to_dict()
            human += "\n" + cal.describe()
        except GraphCRMError as exc:                 # a log too short to hold a window out
            summary["calibration"] = None
            human += f"\ncalibration not checked: {exc}"
    emit(summary, as_json, human)


def plan(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    as_of: Optional[str] = AS_OF,
    k: Optional[int] = typer.Option(None, "--k", help="Number of seeds."),
    budget: Optional[float] = typer.Option(None, "--budget", help="Total budget (with --costs or --cost-column)."),
    costs: Optional[Path] = typer.Option(None, "--costs", help="Table account_id,cost (.csv/.parquet)."),
    cost_column: str = typer.Option("cost", "--cost-column", help="Node attribute holding costs (without --costs)."),
    target_segment: Optional[Path] = typer.Option(None, "--target-segment",
                                                  help="Only reach in these accounts counts (ids, one per line, or "
                                                       "a table with account_id)."),
    exclude: Optional[Path] = typer.Option(None, "--exclude", help="Accounts never to seed (same formats)."),
    exclude_low_quality: bool = typer.Option(False, "--exclude-low-quality",
                                             help="Never seed accounts the audience audit flags as suspicious, nor "
                                                  "influencers whose audience is low quality (graphcrm audit)."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Influence layer (default: combined interaction "
                                                              "strength, else follows)."),
    model: str = typer.Option("ic", "--model", help="ic or lt."),
    prob: str = typer.Option("wc", "--prob", help="Edge probabilities: wc | const:P | trivalency | weight (the file's own) | learned."),
    eps: float = typer.Option(0.1, "--eps", help="Guarantee 1 - 1/e - eps (budget: 1 - 1/sqrt(e) - eps)."),
    delta: Optional[float] = typer.Option(None, "--delta", help="Failure probability (default 1/n)."),
    max_memory: Optional[str] = typer.Option(None, "--max-memory", help="Cap on sample memory, e.g. 2GiB."),
    fast: bool = typer.Option(False, "--fast", help="Fast mode: certify as OPIM-C does, re-select once on the "
                                                    "sets already drawn (same guarantee, slightly weaker seeds "
                                                    "than the default's refinement)."),
    evaluate_runs: int = typer.Option(10_000, "--evaluate-runs",
                                      help="Independent Monte-Carlo check of the seeds (0: skip)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://...)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same seeds)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Seed table (.csv or .parquet)."),
    topic: Optional[str] = TOPIC,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Whom to seed: k people, or people within a budget, for the most expected reach (certified).

    Example: graphcrm plan graphs/higgs --k 10 --out seeds.csv
    (add --fast for the fast mode: about plain OPIM-C's time, the same certified guarantee)
    """
    from graphcrm.algorithms.diffusion import simulate
    from graphcrm.algorithms.planning import plan_seeds
    from graphcrm.tables import check_outputs, read_costs, read_id_list, write_table

    timer = Timer()
    if (k is None) == (budget is None):
        raise ParameterError("give --k N or --budget B")
    _check_counts(("--k", k, 1), ("--evaluate-runs", evaluate_runs, 0))
    if budget is not None and not budget > 0:
        raise ParameterError(f"--budget {budget} is not a number > 0" if budget == budget else
                             "--budget nan is not a number; expected a total budget > 0")
    check_outputs({"--out": out})
    graph = open_snapshot(snapshot, as_of, topic)
    lay = graph.resolve_layer(layer)
    notes = []
    if costs is not None and budget is None:
        notes.append(f"--costs {costs} is used only with --budget: --k {k} plans without costs")
    cost_source = None
    if budget is not None:
        cost_source = read_costs(costs) if costs is not None else cost_column
        if costs is not None:
            notes += _unknown_note(graph, cost_source.index.tolist(), f"--costs {costs}", "priced")
    targets = read_id_list(target_segment) if target_segment is not None else None
    excluded = read_id_list(exclude) if exclude is not None else None
    if targets is not None:
        notes += _unknown_note(graph, targets, f"--target-segment {target_segment}", "counted")
    if excluded is not None:
        notes += _unknown_note(graph, excluded, f"--exclude {exclude}", "excluded")
    low_quality = None
    if exclude_low_quality:
        from graphcrm.audience import low_quality_accounts

        with step("auditing audiences"):
            low_quality = low_quality_accounts(graph)
        excluded = (excluded or []) + low_quality
    client = dask_client(scheduler) if scheduler else None
    import warnings

    with step("sampling and selecting seeds"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)        # ids not in the graph: the note below says so
        result = plan_seeds(graph, layer=lay, k=k, budget=budget, costs=cost_source, targets=targets,
                            exclude=excluded, model=model, prob=prob, eps=eps, delta=delta, seed=seed,
                            max_memory=parse_bytes(max_memory) if max_memory else None, client=client,
                            mode="fast" if fast else "default")
    summary = {"snapshot": str(snapshot), "topic": topic, **result.summary()}
    if low_quality is not None:
        summary["excluded_low_quality"] = len(low_quality)
    table = result.seeds
    if k is not None and len(table) < k:
        notes.append(f"--k {k:,} is more than the {len(table):,} accounts that can be seeded: planned {len(table):,}")
    summary["notes"] = notes
    if evaluate_runs > 0:
        known_targets = None
        if targets is not None:
            import numpy as np

            dense = graph.id_map.lookup(np.asarray(targets, dtype=object))
            known_targets = graph.ids_of(np.unique(dense[dense >= 0]))
        with step(f"checking the seeds with {evaluate_runs:,} simulations"):
            est = simulate(graph, result.seed_ids, layer=lay, model=model, prob=prob, n_runs=evaluate_runs,
                           seed=seed + 1, targets=known_targets)
        check = {"runs": evaluate_runs, "expected_reach": round(est.mean, 3),
                 "ci95": [round(est.ci_low, 3), round(est.ci_high, 3)]}
        if targets is not None:       # what the plan counts: target accounts reached, on the same runs
            mean, low, high = est.in_targets()
            check["expected_reach_in_targets"] = round(mean, 3)
            check["ci95_in_targets"] = [round(low, 3), round(high, 3)]
        summary["monte_carlo_check"] = check
    if out is not None:
        write_table(table, out)
        summary["outputs"] = {"seeds": str(out)}
    summary["seconds"] = timer.seconds()
    met = "met" if result.guarantee_met else "NOT met"
    # the estimate's 95% interval (Wilson, on the share of RR sets covered: never of width 0)
    low, high = result.info["expected_reach_ci95"]
    summary["expected_reach_ci95"] = [low, high]
    human = (f"{len(table)} seeds, expected reach {result.expected_reach:,.1f} (95% CI "
             f"{low:,.1f} .. {high:,.1f})"
             f"{' target accounts' if targets is not None else ' accounts'}; certified >= "
             f"{result.reach_lower_bound:,.1f}, within {result.certified_ratio:.3f} of the best possible "
             f"(target {result.target_ratio:.3f}: {met}, probability >= {1 - result.info['delta']:.6f})")
    if low_quality is not None:
        human += (f"\n{len(low_quality):,} accounts not seeded: flagged as suspicious or with a low-quality audience "
                  "(graphcrm audit)")
    if "monte_carlo_check" in summary:
        c = summary["monte_carlo_check"]
        if targets is not None:       # the headline's figure (target accounts) first, all accounts labelled
            low, high = c["ci95_in_targets"]
            human += (f"\nMonte-Carlo check ({c['runs']:,} runs): {c['expected_reach_in_targets']:,.1f} target "
                      f"accounts (95% CI {low:,.1f} .. {high:,.1f}); all accounts reached: "
                      f"{c['expected_reach']:,.1f} (95% CI {c['ci95'][0]:,.1f} .. {c['ci95'][1]:,.1f})")
        else:
            human += (f"\nMonte-Carlo check ({c['runs']:,} runs): {c['expected_reach']:,.1f} accounts "
                      f"(95% CI {c['ci95'][0]:,.1f} .. {c['ci95'][1]:,.1f})")
    human += "".join(f"\nnote: {n}" for n in notes)
    human += "\n" + table.head(20).round(3).to_string(index=False)
    emit(summary, as_json, human)


def reach(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    as_of: Optional[str] = AS_OF,
    target: str = typer.Option(..., "--target", help="The account to reach."),
    top: int = typer.Option(20, "--top", help="How many influencers to list."),
    samples: int = typer.Option(100_000, "--samples", help="RR samples rooted at the target."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Influence layer (default: combined interaction "
                                                              "strength, else follows)."),
    model: str = typer.Option("ic", "--model", help="ic or lt."),
    prob: str = typer.Option("wc", "--prob", help="Edge probabilities: wc | const:P | trivalency | weight (the file's own) | learned."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    out: Optional[Path] = typer.Option(None, "--out", help="Influencer table (.csv or .parquet)."),
    topic: Optional[str] = TOPIC,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Who can best reach one person: influence probability and the most likely path.

    Example: graphcrm reach graphs/higgs --target 14454 --top 5
    """
    from graphcrm.algorithms.planning import influencers_of
    from graphcrm.tables import check_outputs, write_table

    timer = Timer()
    _check_counts(("--top", top, 1), ("--samples", samples, 1))
    check_outputs({"--out": out})
    graph = open_snapshot(snapshot, as_of, topic)
    lay = graph.resolve_layer(layer)
    with step(f"sampling {samples:,} paths into {target}"):
        table = influencers_of(graph, target, layer=lay, model=model, prob=prob, n_samples=samples, top=top,
                               seed=seed)
    if out is not None:
        write_table(table, out)
    found = table.attrs["accounts_found"]
    stored_target = graph.ids_of(graph.index_of([target]))[0]      # the id as stored: 14454, not "14454"
    summary = {"snapshot": str(snapshot), "topic": topic,
               "target": stored_target.item() if hasattr(stored_target, "item") else stored_target,
               "samples": samples, "model": model, "prob": prob,
               "accounts_found": found, "listed": len(table),
               "influencers": table.head(top).to_dict("records"), "outputs": {"table": str(out) if out else None},
               "seconds": timer.seconds()}
    # how many accounts reach the target in the samples -- all of them, not only the --top listed
    shown = f"; the top {len(table)}:" if len(table) < found else ":"
    human = (f"{found:,} account{'s' if found != 1 else ''} can reach {target} ({samples:,} samples, "
             f"{model.upper()}, {prob}){shown}\n" + table.round(4).to_string(index=False) if found else
             f"no account reaches {target} in {samples:,} samples ({model.upper()}, {prob})")
    emit(summary, as_json, human)


def contain(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    as_of: Optional[str] = AS_OF,
    negative: List[str] = typer.Option([], "--negative", help="An account spreading the negative message "
                                                              "(repeatable)."),
    from_messages: bool = typer.Option(False, "--from-messages",
                                       help="Seed the negative cascade with the authors of negative messages "
                                            "(event sentiment below --threshold)."),
    topic: Optional[str] = typer.Option(None, "--topic", help="With --from-messages: only messages on this topic "
                                                              "(comma-separated: any of them). The cascade still "
                                                              "spreads over the whole influence layer."),
    since: Optional[str] = typer.Option(None, "--since", help="With --from-messages: only messages at or after "
                                                              "this time (ISO-8601 or Unix seconds)."),
    threshold: float = typer.Option(-0.05, "--threshold", help="A message is negative below this sentiment."),
    max_sources: Optional[int] = typer.Option(None, "--max-sources",
                                              help="Keep only the N authors with the most negative messages."),
    k: int = typer.Option(5, "--k", help="Number of advocates to seed."),
    candidates: Optional[Path] = typer.Option(None, "--candidates",
                                              help="Accounts that may be seeded (ids, one per line, or a table "
                                                   "with account_id); default: the 100 with most audience and "
                                                   "the 100 most exposed."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Influence layer (default: combined interaction "
                                                              "strength, else follows)."),
    prob: str = typer.Option("wc", "--prob", help="Edge probabilities: wc | const:P | trivalency | weight | learned."),
    runs: int = typer.Option(1_000, "--runs", help="Monte-Carlo runs per estimate while choosing."),
    check_runs: int = typer.Option(5_000, "--check-runs", help="Independent runs comparing the plan with the "
                                                               "top-degree and random advocates (0: skip)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same plan)."),
    out: Optional[Path] = typer.Option(None, "--out", help="The plan (.csv or .parquet)."),
    hourly_out: Optional[Path] = typer.Option(None, "--hourly-out",
                                              help="Expected negative reach per hour with and without the plan, "
                                                   "from the delays in the layer's log (.csv/.parquet)."),
    exposed_out: Optional[Path] = typer.Option(None, "--exposed-out",
                                               help="Which accounts the message reaches: each one's probability "
                                                    "without and with the plan (.csv/.parquet)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Negativity wave: whom to seed so a negative message reaches the fewest accounts (competing cascades).

    Example: graphcrm contain graphs/posts --from-messages --topic acme --k 5 --out plan.csv
    """
    import numpy as np

    from graphcrm.algorithms.containment import (compare_containment, exposed_accounts, negative_reach_by_hour,
                                                 negative_sources, observed_delays, plan_containment)
    from graphcrm.tables import check_outputs, read_id_list, write_tables

    timer = Timer()
    if bool(negative) == from_messages:
        raise ParameterError("give the negative accounts with --negative ID (repeatable) or --from-messages")
    if (topic or since) and not from_messages:
        raise ParameterError("--topic and --since select negative messages: use them with --from-messages")
    _check_counts(("--k", k, 1), ("--runs", runs, 2), ("--check-runs", check_runs, 0),
                  ("--max-sources", max_sources, 1))
    check_outputs({"--out": out, "--hourly-out": hourly_out, "--exposed-out": exposed_out})
    graph = open_snapshot(snapshot, as_of)
    lay = graph.resolve_layer(layer)
    # before the plan: --hourly-out needs a log to take delays from
    delays = observed_delays(graph, lay) if hourly_out is not None else None
    sources = None
    if from_messages:
        topics = [t for t in topic.split(",") if t.strip()] if topic else None
        sources = negative_sources(graph, topic=topics, since=since, threshold=threshold)
        if max_sources is not None:
            sources = sources.head(max_sources)
        if not len(sources):
            raise ParameterError(f"no message has sentiment below {threshold}"
                                 f"{' on ' + topic if topic else ''}{' since ' + since if since else ''}")
        negative = sources["account_id"].tolist()
    cands = read_id_list(candidates) if candidates is not None else None
    with step(f"choosing {k} advocates against {len(negative)} negative accounts"):
        plan_ = plan_containment(graph, negative, k=k, layer=lay, prob=prob, candidates=cands, n_runs=runs,
                                 seed=seed)
    table = plan_.table
    notes = [] if len(table) >= k else [f"--k {k} is more than the {plan_.info['candidates']} candidate advocates "
                                        f"left: planned {len(table)}"]
    summary = {"snapshot": str(snapshot), "negative_seeds": len(negative), "from_messages": from_messages,
               "topic": topic, "since": since, "k": k, "prob": prob, "runs": runs,
               "candidates": plan_.info["candidates"], "negative_reach_without": round(plan_.baseline[0], 3),
               "negative_reach_without_ci95": [round(plan_.baseline[1], 3), round(plan_.baseline[2], 3)],
               "negative_reach_with_plan": round(plan_.expected_negative_reach, 3),
               "plan": table.round(4).to_dict("records"), "notes": notes}
    if sources is not None:
        summary["negative_sources"] = sources.head(20).to_dict("records")
    human = (f"negative cascade from {len(negative)} accounts reaches {plan_.baseline[0]:,.1f} accounts "
             f"(95% CI {plan_.baseline[1]:,.1f} .. {plan_.baseline[2]:,.1f}); with {len(table)} advocates "
             f"{plan_.expected_negative_reach:,.1f} ({runs:,} runs each, common random numbers)\n"
             + table.round(3).to_string(index=False) + "".join(f"\nnote: {n}" for n in notes))
    if check_runs > 0:
        keep = np.ones(graph.n_nodes, dtype=bool)
        keep[graph.index_of(list(negative))] = False
        pool = np.flatnonzero(keep)
        deg = lay.positive().out_degree()[pool]
        top = graph.ids_of(pool[np.lexsort((pool, -deg))[:len(table)]])
        rand = graph.ids_of(np.sort(np.random.default_rng(seed).choice(pool, min(len(table), len(pool)),
                                                                       replace=False)))
        with step(f"checking the plan with {check_runs:,} independent runs"):
            cmp = compare_containment(graph, negative, {"plan": plan_.seed_ids, "top_degree": top, "random": rand},
                                      layer=lay, prob=prob, n_runs=check_runs, seed=seed + 1)
        summary["check"] = cmp.round(4).replace({np.nan: None}).to_dict("records")
        human += f"\ncheck on {check_runs:,} independent runs (diff: paired, vs the plan)\n" + \
            cmp.round(3).to_string(index=False)
    hourly = exposed = None
    if hourly_out is not None:
        with step("spreading the steps over the observed delays"):   # delays from the layer's log, or pooled
            hourly = negative_reach_by_hour(graph, negative, plan_.seed_ids, layer=lay, prob=prob,
                                            delays_seconds=delays, n_runs=max(check_runs, runs), seed=seed + 1)
        summary["negative_reach_after_hours"] = {
            int(h): [round(float(a), 3), round(float(b), 3)] for h, a, b in hourly.itertuples(index=False)
            if h in (1, 6, 24, 48, 168)}
    if exposed_out is not None:
        with step("estimating who is exposed"):
            exposed = exposed_accounts(graph, negative, plan_.seed_ids, layer=lay, prob=prob,
                                       n_runs=max(check_runs, runs), seed=seed + 1)
        summary["exposed_accounts"] = {"without": round(float(exposed.p_negative_without.sum()), 3),
                                       "with": round(float(exposed.p_negative_with.sum()), 3),
                                       "reached_at_least_once": len(exposed)}
    # the plan, its hourly curves and the exposed accounts are one result: all written, or none
    write_tables([(table, out), (hourly, hourly_out), (exposed, exposed_out)])
    summary["outputs"] = {"plan": str(out) if out else None, "hourly": str(hourly_out) if hourly_out else None,
                          "exposed": str(exposed_out) if exposed_out else None}
    summary["seconds"] = timer.seconds()
    emit(summary, as_json, human)


#: simulate's options that only some kinds of simulation use (every other option applies to all of them)
_CASCADE_ONLY = ("--activation-out", "--hourly-out", "--ci-width", "--scheduler")


def _refuse_unused(model: str, negative: list, given: dict) -> None:
    """A usage error naming the options given that this simulation would not use -- never a silent drop."""
    if negative:
        kind, unused = "--negative (competing cascades)", ("--out", "--max-steps", "--recovery", *_CASCADE_ONLY)
    elif model in ("sir", "sis"):
        kind, unused = f"--model {model}", _CASCADE_ONLY
    else:
        kind, unused = f"--model {model}", ("--recovery",)
    named = [name for name in unused if given.get(name) is not None]
    if named:
        raise ParameterError(f"{', '.join(named)} {'does' if len(named) == 1 else 'do'} not apply to {kind}: "
                             "drop {}".format("it" if len(named) == 1 else "them"))


def _unique(ids: list, what: str, notes: list) -> list:
    """``ids`` each once (first mention kept), with a note when some were given twice."""
    first: dict = {}
    for x in ids:                                   # one pass: the first mention of each id, in order
        first.setdefault(str(x), x)
    if len(first) < len(ids):
        notes.append(f"{len(ids) - len(first)} duplicate {what} id(s) ignored: {len(first)} distinct")
    return list(first.values())


def _unknown_note(graph, ids, source: str, verb: str) -> list:
    """A note (in a list, empty when none) counting the ids of ``source`` the snapshot does not have."""
    import numpy as np

    ids = list(ids)
    dense = np.asarray(graph.id_map.lookup(np.asarray(ids, dtype=object)), dtype=np.int64) if ids else np.empty(0)
    unknown = [ids[i] for i in np.flatnonzero(dense < 0)]
    if not unknown:
        return []
    return [f"{len(unknown):,} of the {len(ids):,} ids of {source} are not in the snapshot and are not {verb} "
            f"(first: {unknown[0]!r})"]


def _check_counts(*options) -> None:
    """Each ``(option, value, least)`` with a value (not None) must be >= ``least``: these counts size the
    kernels' tables, so a negative one is a usage error here, never a crash inside numba."""
    for name, value, least in options:
        if value is not None and value < least:
            raise ParameterError(f"{name} must be >= {least}, got {value}")


def _contagion_summary(est, ids, *, model, prob, recovery, negative, runs, out):
    """The summary and human text of an SIR / SIS epidemic or a competing negative cascade."""
    if negative:
        summary = {"model": "competing ic", "prob": prob, "runs": runs, "negative_seeds": len(negative),
                   "advocates": len(ids), "negative_reach": est.negative[0], "negative_ci95": list(est.negative[1:]),
                   "negative_reach_without_advocates": est.negative_alone[0], "positive_reach": est.positive[0],
                   "saved": est.saved, "saved_ci95": est.info["saved_ci95"]}
        human = (f"negative word-of-mouth reaches {est.negative[0]:,.1f} accounts (95% CI {est.negative[1]:,.1f} .. "
                 f"{est.negative[2]:,.1f}); without the {len(ids)} advocates {est.negative_alone[0]:,.1f}: they save "
                 f"{est.saved:,.1f} (95% CI {est.info['saved_ci95'][0]:,.1f} .. {est.info['saved_ci95'][1]:,.1f}); "
                 f"positive reach {est.positive[0]:,.1f}")
        return summary, human
    summary = {"model": model, "prob": prob, "recovery": recovery, "runs": runs, "seeds": len(ids),
               "expected_reach": est.mean, "ever_reached": est.mean, "ci95": [est.ci_low, est.ci_high],
               "infected_per_step": est.prevalence[:20].round(3).tolist(),
               "outputs": {"steps": str(out) if out else None}}
    human = (f"{model.upper()}: {est.mean:,.2f} accounts ever reached (95% CI {est.ci_low:,.2f} .. {est.ci_high:,.2f}) "
             f"from {len(ids)} seeds, {runs:,} runs; infected per step: "
             + ", ".join(f"{x:.1f}" for x in est.prevalence[:10]))
    return summary, human


def _cascade_steps(est) -> int:
    """Steps until the expected reach stops growing (the seeds' step 0 included; the kernel's per-step table
    has a fixed number of rows, the last ones flat)."""
    import numpy as np

    grew = np.flatnonzero(np.diff(est.reach_per_step) > 0)
    return int(grew[-1]) + 2 if len(grew) else 1


def _steps_cut(n_steps: int, out) -> str:
    """The line under a step table cut at 10 rows: how many steps there are and where they all are."""
    if n_steps <= 10:
        return ""
    where = f"all in {out}" if out else "--out FILE writes them all"
    return f"\n(first 10 of {n_steps} steps; {where})"
