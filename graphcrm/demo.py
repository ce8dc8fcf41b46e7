"""``graphcrm demo``: the main job on the bundled real sample, no server needed.

Today it loads the sample, saves a snapshot, summarises it, writes the
opinion-leader list with the reasons for each rank and the HTML report
(:mod:`graphcrm.report`).  Campaign planning and segments join the demo as
their issues land.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import pandas as pd

from graphcrm.loaders.snapshot import save_snapshot
from graphcrm.info import format_info, graph_info
from graphcrm.progress import step
from graphcrm.ranking import rank_table
from graphcrm.report import build_report, write_report
from graphcrm.tables import write_table
from graphcrm.loaders import build_graph, read_interactions

SAMPLE_NAME = "higgs-activity-sample.txt.gz"
#: columns the demo prints, per kind of leader list
STRUCTURAL_SHOWN = ("rank", "account_id", "influence_score", "pagerank_pct", "coreness_pct", "expected_reach_pct",
                    "expected_reach", "audience_size")
FORECAST_SHOWN = ("rank", "account_id", "leader_score", "forecast_engagement", "forecast_engagement_low",
                  "forecast_engagement_high", "distinct_engagers", "engagement_received")


def sample_path() -> Path:
    """Path of the bundled higgs-twitter sample (see ``graphcrm/data/SAMPLE.md``)."""
    return Path(str(resources.files("graphcrm") / "data" / SAMPLE_NAME))


def run_demo(out_dir, *, top: int = 10) -> dict:
    """Run the demo; write its outputs under ``out_dir``; return a summary.

    Examples
    --------
    >>> import tempfile
    >>> summary = run_demo(tempfile.mkdtemp())
    >>> summary["nodes"]
    25623
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with step("loading the bundled higgs-twitter sample"):
        parsed = read_interactions(sample_path(), format="higgs")
        graph, reports = build_graph(parsed)
    snapshot = save_snapshot(graph, out_dir / "snapshot")
    info = graph_info(graph)
    with step("ranking opinion leaders"):
        leaders = rank_table(graph, method="auto", top=top, seed=0)      # the list `graphcrm rank` writes
    ranking = leaders.attrs.pop("ranking", {})
    leaders_path = write_table(leaders, out_dir / "opinion_leaders.csv")
    report_path = write_report(build_report(graph, seed=0, source="graphcrm demo: bundled higgs-twitter sample"),
                               out_dir / "report.html")
    columns = (STRUCTURAL_SHOWN if ranking.get("scorer") == "combined" else FORECAST_SHOWN)
    shown = leaders[list(columns)].round(2)
    return {
        "sample": str(sample_path()),
        "snapshot": str(snapshot),
        "nodes": graph.n_nodes,
        "edges": {k: v["edges"] for k, v in info["layers"].items()},
        "events": reports[0].rows_loaded,
        "time_span": info["time_span"],
        "info": info,
        "opinion_leaders": shown.to_dict("records"),
        "leaders_ranking": ranking,
        "outputs": {"snapshot": str(snapshot), "opinion_leaders": str(leaders_path), "report": str(report_path)},
        "seconds": round(time.perf_counter() - started, 3),
    }


def format_demo(summary: dict) -> str:
    """Human-readable text of :func:`run_demo`'s summary."""
    lines = [
        "graphcrm demo: one hour of the Higgs-boson announcement on Twitter (SNAP higgs-twitter sample)",
        format_info(summary["info"]),
        "",
    ]
    ranking = summary.get("leaders_ranking", {})
    if ranking.get("scorer", "combined") == "combined":
        lines += [
            "opinion leaders on the combined interaction layer (retweets 1.0, replies 0.7, mentions 0.5; 7-day half-life);",
            "influence_score combines attention (PageRank), core position and expected reach (IC, weighted cascade);",
            "the _pct columns say where each account stands on each of them:",
        ]
    else:
        hours = ranking["horizon_seconds"] / 3600
        span = f"{hours / 24:.1f} days" if hours >= 24 else f"{hours:g} hours" if hours >= 1 else f"{hours * 60:.0f} minutes"
        lines += [
            f"opinion leaders as `graphcrm rank` lists them: by {ranking['scorer_words']}, the scorer that",
            f"predicted the held-out end of this log best ({ranking['scorer_reason']});",
            f"forecast_engagement: {ranking['layer']} expected in the next {span} (80% interval: _low, _high);",
            f"distinct_engagers / engagement_received: accounts that engaged so far / their {ranking['layer']}:",
        ]
    frame = pd.DataFrame(summary["opinion_leaders"])
    lines.append(frame.to_string(index=False))
    lines += ["", "outputs:"] + [f"  {k}: {v}" for k, v in summary["outputs"].items()]
    lines.append(f"done in {summary['seconds']:.1f} s")
    return "\n".join(lines)
