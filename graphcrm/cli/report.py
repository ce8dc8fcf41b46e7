"""``graphcrm report``: one self-contained HTML page with leaders, communities, reach curves and segments.

Registered by :mod:`graphcrm.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer



from graphcrm.cli.common import AS_OF, Timer, emit, open_snapshot, read_escaped_csv, snapshot_dir, stored_forecast


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    as_of: Optional[str] = AS_OF,
    out: Path = typer.Option(..., "--out", help="HTML file to write (replaced atomically)."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Influence layer (default: combined interaction "
                                                              "strength, else follows); the leaders are ranked "
                                                              "on it as graphcrm rank --layer ranks."),
    top: int = typer.Option(20, "--top", help="Rows of the opinion-leader table."),
    k: int = typer.Option(10, "--k", help="Seeds per compared seed set (top leaders, degree discount, random)."),
    runs: int = typer.Option(2_000, "--runs", help="Monte-Carlo runs per seed set."),
    segments: List[Path] = typer.Option([], "--segments", help="Table account_id,segment (.csv/.parquet) shown "
                                                               "with the segment sizes; repeatable."),
    title: str = typer.Option("Audience influence report", "--title", help="Page title."),
    backtest_split: str = typer.Option("auto", "--backtest-split", help="Add a backtest section scored after this "
                                       "time (ISO-8601 or Unix seconds); 'auto': two thirds into the interaction "
                                       "log when there is one; 'none': leave it out."),
    method: str = typer.Option("auto", "--method", help="Leader order, as graphcrm rank: auto (the scorer that won "
                               "on held-out days of the interaction log, else combined), forecast or combined."),
    horizon: Optional[str] = typer.Option(None, "--horizon", help="Forecast horizon of the leader order, like 3d or "
                                                                  "12h (default: the forecast's own)."),
    samples: int = typer.Option(100_000, "--samples", help="Reverse-reachable samples for expected reach (as "
                                                           "graphcrm rank --samples)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same figures)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """A self-contained HTML report for marketers: leaders, communities, reach per step, segments.

    Example: graphcrm report graphs/higgs --out report.html
    """
    import pandas as pd

    from graphcrm.backtest import backtest, default_split, parse_horizon
    from graphcrm.loaders.errors import GraphCRMError, ParameterError
    from graphcrm.progress import step
    from graphcrm.ranking import LEADER_METHODS
    from graphcrm.report import build_report, segments_from_table, write_report

    timer = Timer()
    if samples < 1:
        raise ParameterError(f"--samples must be >= 1, got {samples}")
    if runs < 10:
        raise ParameterError(f"--runs must be at least 10 (the reach bands are intervals over 10 batches), got {runs}")
    if backtest_split.strip().lower() not in ("auto", "none"):
        from graphcrm.backtest import parse_time

        try:
            parse_time(backtest_split)
        except ParameterError as exc:
            raise ParameterError(str(exc).replace("--split", "--backtest-split", 1)) from None
    if method not in LEADER_METHODS:
        raise ParameterError(f"--method must be one of {', '.join(LEADER_METHODS)}, got {method!r}")
    seconds = parse_horizon(horizon) if horizon is not None else None
    if out.suffix.lower() not in (".html", ".htm"):
        raise ParameterError(f"--out {out}: the report is HTML; name it like report.html")
    with step(f"opening {snapshot}"):
        graph = open_snapshot(snapshot, as_of)
    extra, dropped = {}, []
    for path in segments:
        frame = (pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq")
                 else read_escaped_csv(path, dtype=str, keep_default_na=False))      # "NA" is an id like any other
        extra[path.stem] = segments_from_table(graph, frame, name=str(path))
        if extra[path.stem].attrs["unmatched"]:
            dropped.append(f"{path}: {extra[path.stem].attrs['unmatched']:,} of {len(frame):,} rows name no account of "
                           f"the snapshot (the first: {extra[path.stem].attrs['first_unmatched']!r}) and are left out")
    bt = None
    split = default_split(graph) if backtest_split.strip().lower() == "auto" else (
        None if backtest_split.strip().lower() == "none" else backtest_split)
    skipped = None
    if split is not None:
        with step(f"backtest at {split}"):
            try:
                bt = backtest(graph, split, seed=seed, samples=50_000)
            except (GraphCRMError, ValueError) as exc:
                if backtest_split.strip().lower() != "auto":
                    raise
                skipped = f"no backtest section ({exc})"       # a log too short to score out of time
    stored = stored_forecast(snapshot_dir(snapshot, as_of), graph, layer, seconds) if method != "combined" else None
    rep = build_report(graph, layer=layer, top=top, k=k, n_runs=runs, seed=seed, segments=extra, title=title,
                       source=f"snapshot {snapshot}", backtest=bt, method=method, horizon=seconds,
                       forecast_model=stored, reach_samples=samples)
    write_report(rep, out)
    summary = {"snapshot": str(snapshot), "out": str(out), **rep.summary, "segment_rows_left_out": dropped,
               "seconds": timer.seconds()}
    reach = summary["expected_reach"]
    human = (f"wrote {out}: {len(rep.leaders)} opinion leaders (by {summary['leaders_ranking']['scorer']}), "
             f"{summary['communities']:,} communities "
             f"(modularity {summary['modularity']:.3f}), reach of {summary['seeds_per_set']} seeds: " +
             ", ".join(f"{name} {v['mean']:,.1f}" for name, v in reach.items()) +
             (f"; backtest after {bt.summary['split']}: at that split rank would have used "
              f"{bt.summary['leader_default_scorer']['scorer']}"
              if bt is not None else f"; {skipped}" if skipped else
              "; no backtest (no timestamped interaction log)" if backtest_split == "auto" else "")
             + f"; {summary['seconds']:.1f} s" + "".join(f"\nnote: {d}" for d in dropped))
    emit(summary, as_json, human)
