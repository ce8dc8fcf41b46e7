"""``graphcrm forecast`` and ``graphcrm backtest``: the forecast of next-window engagement, and its out-of-time check.

Registered by :mod:`graphcrm.cli`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


from graphcrm.cli.common import AS_OF, Timer, emit, open_snapshot, snapshot_dir


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast_cmd)
    app.command("backtest")(backtest_cmd)


def forecast_cmd(
    snapshot: Path = typer.Argument(..., help="Snapshot directory with a timestamped interaction log."),
    as_of: Optional[str] = AS_OF,
    out: Optional[Path] = typer.Option(None, "--out", help="Per-account forecast table (.csv or .parquet)."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Engagement to forecast (default: retweets when "
                                                              "logged, else the first event layer)."),
    horizon: Optional[str] = typer.Option(None, "--horizon", help="How far ahead, like 3d or 12h (default: 7 days, "
                                                                  "at most a third of the log)."),
    top: int = typer.Option(10, "--top", help="Rows to print."),
    seed: int = typer.Option(0, "--seed", help="Random seed (row sample on very large logs)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Fit the engagement / reach forecast on the log, store it with the snapshot, write per-account forecasts.

    Example: graphcrm forecast graphs/higgs --horizon 3d --out forecast.csv
    """
    from graphcrm.algorithms.forecast import default_target_layer, describe_duration, fit_forecast, forecast
    from graphcrm.backtest import parse_horizon
    from graphcrm.forecast_store import save_model
    from graphcrm.progress import step
    from graphcrm.tables import write_table

    timer = Timer()
    graph = open_snapshot(snapshot, as_of)
    name = layer or default_target_layer(graph)
    with step("fitting the forecast"):
        model = fit_forecast(graph, layer=name, horizon=parse_horizon(horizon) if horizon else None, seed=seed)
        fc = forecast(graph, model)
    stored = save_model(snapshot_dir(snapshot, as_of), model)      # with the version it was fitted on
    frame = fc.to_frame()
    if out is not None:
        write_table(frame, out)
    v = model.validation["engagement"]
    summary = {"snapshot": str(snapshot), "layer": name, "horizon_seconds": model.horizon,
               "model": str(stored), "out": str(out) if out else None, "feature_set": model.feature_set,
               "validation": model.validation, "top": frame.head(top).to_dict("records"),
               "seconds": timer.seconds()}
    human = (f"forecast of {name} received in the next {describe_duration(model.horizon)}, stored in {stored}"
             f"{f'; wrote {out}' if out else ''}\n"
             f"validated on the last {describe_duration(model.window)} of the log: Spearman {v['forecast']:.3f} "
             f"(in-degree {v['in_degree']:.3f}); top-{v['top_k']} overlap {v['forecast_top_overlap']:.2f} "
             f"(in-degree {v['in_degree_top_overlap']:.2f})\n" + frame.head(top).round(1).to_string(index=False))
    emit(summary, as_json, human)


def backtest_cmd(
    snapshot: Path = typer.Argument(..., help="Snapshot directory with a timestamped interaction log."),
    as_of: Optional[str] = AS_OF,
    split: str = typer.Option(..., "--split", help="Scorers see only events before this time (ISO-8601, UTC if "
                                                   "no zone, or Unix seconds)."),
    horizon: Optional[str] = typer.Option(None, "--horizon", help="How long after the split to score, like 3d "
                                                                  "(default: to the end of the log)."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Engagement that counts (default: retweets when logged)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Metrics table (.csv / .parquet) or everything (.json)."),
    samples: int = typer.Option(200_000, "--samples", help="Reverse-reachable samples for the IC reach scorers."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same table)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Out-of-time check of every influence scorer and the forecast against what happened after --split.

    Example: graphcrm backtest graphs/higgs --split 2012-07-05 --out backtest.csv
    """
    from graphcrm.algorithms.forecast import describe_duration
    from graphcrm.backtest import backtest, headline
    from graphcrm.loaders.errors import ParameterError
    from graphcrm.progress import step
    from graphcrm.tables import write_table

    timer = Timer()
    if out is not None and out.suffix.lower() not in (".csv", ".parquet", ".pq", ".json"):
        raise ParameterError(f"--out {out}: use .csv, .parquet or .json")
    if samples < 1:
        raise ParameterError(f"--samples must be >= 1, got {samples}")
    graph = open_snapshot(snapshot, as_of)
    with step("backtest"):
        result = backtest(graph, split, horizon=horizon, layer=layer, samples=samples, seed=seed)
    if out is not None and out.suffix.lower() == ".json":
        _write_json(out, {"summary": result.summary, "metrics": result.metrics.to_dict("records")})
    elif out is not None:
        write_table(result.metrics, out)
    summary = dict(result.summary, snapshot=str(snapshot), out=str(out) if out else None,
                   headline={t: headline(result, t).to_dict("records") for t in ("engagement", "reach")},
                   seconds=timer.seconds())
    s = result.summary
    lines = [f"backtest on {snapshot}: scorers saw {s['events_before_split']:,} {s['layer']} before "
             f"{s['split']}; scored on the next {describe_duration(s['horizon_seconds'])} "
             + (f"(the log ends there, {describe_duration(s['horizon_requested_seconds'] - s['horizon_seconds'])} "
                f"short of the {describe_duration(s['horizon_requested_seconds'])} asked) "
                if "horizon_requested_seconds" in s else "") +
             f"({s['events_in_horizon']:,} events, {s['accounts_engaged_in_horizon']:,} accounts engaged, "
             f"{s['of_them_new_after_split']:,} of them first seen after the split)",
             f"leader_default = what rank would have listed at the split, by {s['leader_default_scorer']['scorer']}: "
             f"{s['leader_default_scorer']['reason']}"]
    for target in ("engagement", "reach"):
        table = headline(result, target).drop(columns=["spearman_top_1000", "overlap_20", "overlap_1000"])
        lines += ["", f"{target} after the split (Spearman on the accounts with any; overlap/NDCG of the top 100):",
                  table.round(3).to_string(index=False)]
        lines.append(f"winner: {s['winner'][target]} (best mean of the two Spearman columns; the table's order)")
    if graph.layer(s["layer"]).spec.direction == "forward":       # mentions: the two targets rank two roles
        lines.append(f"note: on {s['layer']} (influence from the one who acts to the one named) engagement counts "
                     "what an account received and reach how far its own events travel: two roles, two different "
                     "top lists")
    engaged = s["accounts_engaged_in_horizon"]
    if engaged < 100:
        lines.append(f"note: only {engaged} account{'s' * (engaged != 1)} engaged after the split: overlap_k compares "
                     f"the top {engaged} where k is larger, and a Spearman over fewer than 30 is left empty -- "
                     "too few to tell the scorers apart; choose an earlier split or a longer horizon")
    coverage = s["forecast_interval_coverage_all_known"]
    if any(v == v for v in coverage.values()):          # not NaN: a forecast ran
        lines.append("forecast 80% intervals: the interval_coverage column is over the accounts engaged after the "
                     "split; over every account known before it (most stay quiet, inside an interval from 0) "
                     + ", ".join(f"{t} {v:.0%}" for t, v in coverage.items()))
    if out is not None:
        lines.append(f"wrote {out}")
    emit(summary, as_json, "\n".join(lines))


def _write_json(path: Path, payload: dict) -> None:
    from graphcrm.loaders.atomic import write_atomic

    from graphcrm.cli.common import _strict

    text = json.dumps(_strict(payload), indent=1, default=float, allow_nan=False)   # strict JSON: NaN is null
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
