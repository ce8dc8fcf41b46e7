"""Audience verbs: ``graphcrm lookalike`` (the accounts most like a seed set, from graph embeddings)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from graphcrm.cli.common import AS_OF, Timer, emit, open_snapshot
from graphcrm.loaders.errors import ParameterError
from graphcrm.progress import step


def register(app: typer.Typer) -> None:
    app.command()(lookalike)


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
    from graphcrm.tables import read_id_list, write_table

    timer = Timer()
    if score not in SCORES:
        raise ParameterError(f"--score {score!r}: expected one of {', '.join(SCORES)}")
    if top < 1 or dim < 1:
        raise ParameterError(f"--top and --dim must be at least 1 (got {top}, {dim})")
    ids = list(seeds)
    if seeds_file is not None:
        if not seeds_file.is_file():
            raise ParameterError(f"--seeds-file {seeds_file}: no such file")
        ids += read_id_list(seeds_file)
    if not ids:
        raise ParameterError("give seed accounts with --seeds ID (repeatable) or --seeds-file FILE")
    graph = open_snapshot(snapshot, as_of)
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
    shown = table if out is None else table.head(10)
    human = (f"{len(table)} lookalikes of {info.get('seeds')} seed accounts on layer {info.get('layer')}"
             + (f" ({len(unknown)} unknown seed ids skipped)" if unknown else "")
             + (f"; wrote {out}" if out else "") + "\n"
             + shown[["rank", "account_id", "similarity", "nearest_seed", "reason"]].to_string(index=False))
    emit(summary, as_json, human)
