"""``graphcrm demo``: the main job on the bundled real sample, no server needed.

Today it loads the sample, saves a snapshot, summarises it and lists the
accounts whose posts drew the most (time-decayed, type-weighted)
interactions.  Ranking, communities, campaign planning, segments and the
report join the demo as their issues land.
"""

from __future__ import annotations

import os
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from graphcrm.core.snapshot import save_snapshot
from graphcrm.info import format_info, graph_info
from graphcrm.progress import step
from loaders import build_graph, read_interactions

SAMPLE_NAME = "higgs-activity-sample.txt.gz"


def sample_path() -> Path:
    """Path of the bundled higgs-twitter sample (see ``graphcrm/data/SAMPLE.md``)."""
    return Path(str(resources.files("graphcrm") / "data" / SAMPLE_NAME))


def _write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


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
    strength = graph.interaction_strength(half_life=3600.0)
    exerted = strength.out_strength()
    order = np.lexsort((np.arange(graph.n_nodes), -exerted))[:top]
    retweets = graph.layer("retweets").out_strength()
    mentions = graph.layer("mentions").in_strength()
    leaders = pd.DataFrame({
        "rank": np.arange(1, len(order) + 1),
        "account_id": graph.ids_of(order),
        "interaction_strength": np.round(exerted[order], 4),
        "retweets_received": retweets[order].astype(int),
        "mentions_received": mentions[order].astype(int),
        "audience_reached": strength.out_degree()[order],
    })
    leaders_path = out_dir / "top_accounts.csv"
    _write_csv_atomic(leaders, leaders_path)
    return {
        "sample": str(sample_path()),
        "snapshot": str(snapshot),
        "nodes": graph.n_nodes,
        "edges": {k: v["edges"] for k, v in info["layers"].items()},
        "events": reports[0].rows_loaded,
        "time_span": info["time_span"],
        "info": info,
        "top_accounts": leaders.to_dict("records"),
        "outputs": {"snapshot": str(snapshot), "top_accounts": str(leaders_path)},
        "seconds": round(time.perf_counter() - started, 3),
    }


def format_demo(summary: dict) -> str:
    """Human-readable text of :func:`run_demo`'s summary."""
    lines = [
        "graphcrm demo: one hour of the Higgs-boson announcement on Twitter (SNAP higgs-twitter sample)",
        format_info(summary["info"]),
        "",
        "accounts whose posts drew the most interaction (retweets 1.0, replies 0.7, mentions 0.5; 1-hour half-life):",
    ]
    frame = pd.DataFrame(summary["top_accounts"])
    lines.append(frame.to_string(index=False))
    lines += ["", "outputs:"] + [f"  {k}: {v}" for k, v in summary["outputs"].items()]
    lines.append(f"done in {summary['seconds']:.1f} s")
    return "\n".join(lines)
