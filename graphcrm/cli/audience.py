"""Audience verbs: ``graphcrm audit`` (how real is each influencer's audience, with the signals and a reason in
plain words) and ``graphcrm lookalike`` (the accounts most like a seed set, from graph embeddings).

Registered by :mod:`graphcrm.cli`.  Heavy imports stay inside the verbs.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from graphcrm.cli.common import AS_OF, Timer, emit, open_snapshot
from graphcrm.loaders.errors import ParameterError
from graphcrm.progress import step


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
    app.command()(lookalike)


def audit(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    as_of: Optional[str] = AS_OF,
    accounts: Optional[Path] = typer.Option(None, "--accounts", help="Influencers to audit: one id per line, or a "
                                            "table with an account_id column (.csv/.parquet). Default: the --top "
                                            "accounts with the largest audiences."),
    top: int = typer.Option(100, "--top", help="Accounts audited when --accounts is not given."),
    audience: str = typer.Option("auto", "--audience", help="auto | followers | engagers: whose quality is "
                                 "measured (auto: followers when there is a follow layer)."),
    follow_layer: Optional[str] = typer.Option(None, "--follow-layer", help="Layer of follow ties (default: "
                                               "follows, else the only structural layer, e.g. trust)."),
    threshold: float = typer.Option(0.5, "--threshold", help="Suspicion (0-1) at or above which an account is "
                                    "flagged."),
    low_quality: float = typer.Option(60.0, "--low-quality", help="Audience-quality score (0-100) below which an "
                                      "audience is low quality."),
    known_suspicious: Optional[Path] = typer.Option(None, "--known-suspicious", help="Accounts known to be fake "
                                                    "(same formats as --accounts): flagged, and following them "
                                                    "counts."),
    out: Optional[Path] = typer.Option(None, "--out", help="Audit table (.csv or .parquet), one row per audited "
                                       "account."),
    accounts_out: Optional[Path] = typer.Option(None, "--accounts-out", help="Every account's suspicion signals "
                                                "(.csv or .parquet)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Audience quality 0-100 per influencer: the share that looks automated or mass-following, engagement vs the
    rate expected for its audience size, growth spikes; every signal as a column and a reason in plain words.

    Example: graphcrm audit graphs/audience --top 50 --out audit.csv
    """
    from graphcrm.audience import audit as run_audit
    from graphcrm.tables import write_table

    timer = Timer()
    for path in (out, accounts_out):
        if path is not None and path.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise ParameterError(f"{path}: output must end in .csv or .parquet")
    if not 0.0 < threshold <= 1.0:
        raise ParameterError(f"--threshold must be in (0, 1], got {threshold}")
    with step(f"opening {snapshot}"):
        graph = open_snapshot(snapshot, as_of)
    ids = _read_accounts(graph, accounts) if accounts is not None else None
    known = _read_accounts(graph, known_suspicious, must_exist=False) if known_suspicious is not None else None
    with step("auditing audiences"):
        result = run_audit(graph, ids, top=top, audience=audience, follow_layer=follow_layer, threshold=threshold,
                           known_suspicious=known, low_quality_score=low_quality)
    table = result.table
    outputs = {}
    if out is not None:
        write_table(table, out)
        outputs["audit"] = str(out)
    if accounts_out is not None:
        write_table(result.suspicion.to_frame(), accounts_out)
        outputs["accounts"] = str(accounts_out)
    summary = {"snapshot": str(snapshot), **result.summary(), "outputs": outputs, "seconds": timer.seconds()}
    summary["lowest"] = table.sort_values(["audience_quality", "account_id"], kind="stable").head(10)[
        ["account_id", "audience_quality", "reason"]].to_dict("records")
    s = result.suspicion
    lines = [f"audited {len(table):,} accounts' {summary['audience']}: {summary['low_quality_audiences']:,} "
             f"low-quality audiences in the graph; {summary['flagged']:,} of {summary['accounts']:,} accounts "
             f"flagged as suspicious ({100 * summary['flagged_share']:.2f}%, threshold {s.info['threshold']:g})"]
    lines += [f"note: {w}" for w in summary["warnings"]]
    if len(table):
        shown = table.sort_values(["audience_quality", "account_id"], kind="stable").head(15)
        lines.append(shown[["account_id", "audience_quality", "audience_size", "suspicious_share", "reason"]]
                     .round(3).to_string(index=False))
    emit(summary, as_json, "\n".join(lines))


def _read_accounts(graph, path: Path, must_exist: bool = True) -> list:
    """Account ids from ``path`` (one per line, or a table with ``account_id`` / ``id``); every id must name an
    account of the graph (``must_exist``), else one error naming the file and the line."""
    from graphcrm.tables import known_ids_from, read_id_list

    return known_ids_from(graph, path) if must_exist else read_id_list(path)


def lookalike(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    as_of: Optional[str] = AS_OF,
    seeds: List[str] = typer.Option([], "--seeds", help="Seed account id (repeatable)."),
    seeds_file: Optional[Path] = typer.Option(None, "--seeds-file",
                                              help="Seed ids: one per line, or a CSV/Parquet table with an "
                                                   "account_id column."),
    top: int = typer.Option(100, "--top", help="Number of lookalike accounts."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Layer whose ties define similarity, used as "
                                                              "undirected (default: combined interaction "
                                                              "strength, else follows)."),
    dim: int = typer.Option(128, "--dim", help="Embedding dimension."),
    score: str = typer.Option("centroid", "--score", help="Similarity to the seeds: centroid (cosine to the "
                                                          "seeds' mean direction) or max (to the closest seed)."),
    skip_unknown: bool = typer.Option(False, "--skip-unknown", help="Skip seed ids not in the graph (counted in "
                                                                    "the summary) instead of stopping."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the embedding (same seed, same list)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Lookalike table (.csv or .parquet)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Accounts most like the seed accounts (FastRP graph embeddings), each with its nearest seed and why.

    Example: graphcrm lookalike graphs/audience --seeds-file advocates.csv --top 200 --out lookalikes.csv
    """
    from graphcrm.lookalike import SCORES, lookalikes
    from graphcrm.tables import check_known_ids, read_ids_with_lines, write_table

    timer = Timer()
    if score not in SCORES:
        raise ParameterError(f"--score {score!r}: expected one of {', '.join(SCORES)}")
    if top < 1 or dim < 1:
        raise ParameterError(f"--top and --dim must be at least 1 (got {top}, {dim})")
    ids = list(seeds)
    if not ids and seeds_file is None:
        raise ParameterError("give seed accounts with --seeds ID (repeatable) or --seeds-file FILE")
    from_file = read_ids_with_lines(seeds_file) if seeds_file is not None else None
    graph = open_snapshot(snapshot, as_of)
    if from_file is not None:           # an unknown id names the file and line, unless --skip-unknown
        ids += from_file[0] if skip_unknown else check_known_ids(graph, seeds_file, *from_file)
    with step(f"embedding {graph.n_nodes:,} accounts and ranking lookalikes"):
        table = lookalikes(graph, ids, top=top, layer=layer, dim=dim, seed=seed, score=score,
                           missing="skip" if skip_unknown else "error")
    info = dict(table.attrs)
    table.attrs.clear()
    if out is not None:
        write_table(table, out)
    unknown = [str(x) for x in info.get("unknown_seeds", [])]
    summary = {"snapshot": str(snapshot), "layer": info.get("layer"), "seeds": info.get("seeds"),
               "unknown_seeds": len(unknown), "unknown_seed_ids": unknown[:20], "score": score, "dim": dim,
               "seed": seed, "rows": len(table),
               "top": table.head(10)[["account_id", "similarity", "nearest_seed"]].to_dict(orient="records"),
               "outputs": {"lookalikes": str(out) if out else None},
               "embedding_seconds": round(float(info.get("embedding_seconds", 0.0)), 3),
               "seconds": timer.seconds()}
    tieless = [str(x) for x in info.get("seeds_without_ties", [])]
    summary["seeds_without_ties"] = tieless
    shown = table if out is None else table.head(10)
    human = (f"{len(table)} lookalikes of {info.get('seeds')} seed accounts on layer {info.get('layer')}"
             + (f" ({len(unknown)} unknown seed ids skipped)" if unknown else "")
             + (f"; {len(tieless)} of them without a tie on that layer add nothing "
                f"({', '.join(map(repr, tieless[:5]))}{' ...' if len(tieless) > 5 else ''})" if tieless else "")
             + (f"; wrote {out}" if out else "") + "\n"
             + shown[["rank", "account_id", "similarity", "nearest_seed", "reason"]].to_string(index=False))
    emit(summary, as_json, human)
