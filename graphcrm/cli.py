"""The ``graphcrm`` command line.

Exit codes: 0 ok, 1 domain error (bad input data, missing snapshot ...),
2 usage or configuration error.  Errors print as one line on stderr; only
real bugs show a traceback.  ``--json`` prints a machine-readable summary on
stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from graphcrm.core.errors import GraphCRMError
from graphcrm.progress import step

app = typer.Typer(
    name="graphcrm",
    help="Social-graph influence analytics for social CRM.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


class Mode(str, Enum):
    strict = "strict"
    lenient = "lenient"


class SelfLoops(str, Enum):
    drop = "drop"
    keep = "keep"
    error = "error"


def _emit(summary: dict, as_json: bool, human: str) -> None:
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
    else:
        typer.echo(human)


@app.command()
def load(
    out: Path = typer.Option(..., "--out", help="Snapshot directory to write (replaced atomically)."),
    edges: List[Path] = typer.Option([], "--edges", help="Edge list (SNAP text, CSV, TSV, gz, Parquet). Repeatable."),
    layer: List[str] = typer.Option([], "--layer", help="Layer of each --edges file (one for all, or one each). Default: follows."),
    interactions: List[Path] = typer.Option([], "--interactions", help="Interaction events (higgs, CSV, JSONL, Parquet). Repeatable."),
    signed: List[Path] = typer.Option([], "--signed", help="Signed trust edges (bitcoin OTC/alpha format). Repeatable."),
    signed_layer: str = typer.Option("trust", "--signed-layer", help="Layer of the --signed files."),
    nodes: List[Path] = typer.Option([], "--nodes", help="Node table (id + attributes, follower counts, cost). Repeatable."),
    customers: Optional[Path] = typer.Option(None, "--customers", help="CRM customers table: linked to the accounts "
                                             "(node table attributes) and stored with the snapshot."),
    threshold: Optional[float] = typer.Option(None, "--link-threshold", help="With --customers: link when the "
                                              "match probability is at least this (default: chosen for an expected "
                                              "precision of 0.98)."),
    format: Optional[str] = typer.Option(None, "--format", help="Format of every --edges and --interactions file "
                                         "(snap|csv|tsv|parquet|higgs|jsonl); default: from the extension."),
    edges_format: Optional[str] = typer.Option(None, "--edges-format", help="Format of the --edges files only."),
    interactions_format: Optional[str] = typer.Option(None, "--interactions-format",
                                                      help="Format of the --interactions files only."),
    mode: Mode = typer.Option(Mode.strict, "--mode", help="strict: stop at the first bad row; lenient: skip bad rows, write rejects."),
    rejects: Optional[Path] = typer.Option(None, "--rejects", help="Rejects CSV (lenient mode). Default: OUT.rejects.csv."),
    self_loops: SelfLoops = typer.Option(SelfLoops.drop, "--self-loops", help="drop (default), keep, or error."),
    encoding: str = typer.Option("utf-8", "--encoding", help="Text encoding of the input files."),
    undirected: bool = typer.Option(False, "--undirected", help="Each --edges row is a tie both ways (friends, "
                                                               "co-authors); the layer counts each tie once."),
    skip_rows: int = typer.Option(0, "--skip-rows", help="Lines at the top of each --edges/--interactions/--signed "
                                                       "file to skip, e.g. 1 for a size line 'n m'."),
    header: Optional[bool] = typer.Option(None, "--header/--no-header", help="Whether the first line names the "
                                          "columns (default: detected)."),
    source_col: Optional[str] = typer.Option(None, "--source-col", help="Column of the acting account (a header "
                                             "name, or a 1-based position in a file without header)."),
    target_col: Optional[str] = typer.Option(None, "--target-col", help="Column of the account acted on."),
    weight_col: Optional[str] = typer.Option(None, "--weight-col", help="Column of the edge weight or "
                                             "probability (SNAP/TSV: the third field when there is one)."),
    time_col: Optional[str] = typer.Option(None, "--time-col", help="Column of the timestamp."),
    type_col: Optional[str] = typer.Option(None, "--type-col", help="Column of the interaction type "
                                           "(--interactions)."),
    sentiment_col: Optional[str] = typer.Option(None, "--sentiment-col", help="Column of the sentiment in [-1, 1]."),
    max_memory: Optional[str] = typer.Option(None, "--max-memory", help="Refuse, before reading, a load estimated "
                                             "to need more than this, e.g. 8GiB (default: the memory available)."),
    allow_empty: bool = typer.Option(False, "--allow-empty", help="Write the snapshot even when a file gave no "
                                                                  "usable row (default: stop, keep what --out holds)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Load follows / interactions / signed edges / node tables into a graph snapshot.

    Example: graphcrm load --interactions higgs-activity_time.txt.gz --out graphs/higgs
    """
    from graphcrm.core.errors import ParameterError
    from graphcrm.core.snapshot import save_snapshot
    from graphcrm.info import graph_info
    from loaders import build_graph, read_edges, read_interactions, read_nodes, read_signed, write_rejects

    if not (edges or interactions or signed or nodes):
        raise ParameterError("nothing to load: give at least one of --edges, --interactions, --signed, --nodes")
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise ParameterError(f"--link-threshold must be in (0, 1], got {threshold}")
    if layer and len(layer) not in (1, len(edges)):
        raise ParameterError(f"{len(layer)} --layer values for {len(edges)} --edges files: give one, or one per file")
    started = time.perf_counter()
    _check_load_memory(edges, signed, interactions, max_memory)
    common = {"mode": mode.value, "self_loops": self_loops.value, "encoding": encoding, "skip_rows": skip_rows,
              "header": "auto" if header is None else header}
    mapping = {"actor": source_col, "target": target_col, "weight": weight_col, "time": time_col, "type": type_col,
               "sentiment": sentiment_col}
    edge_columns = _column_mapping(mapping, ("actor", "target", "weight", "time", "sentiment"), "--edges")
    signed_columns = _column_mapping(mapping, ("actor", "target", "weight", "time"), "--signed")
    event_columns = _column_mapping(mapping, ("actor", "target", "type", "time", "sentiment"), "--interactions")
    parsed = []
    for i, path in enumerate(edges):
        name = (layer[i] if len(layer) == len(edges) else layer[0]) if layer else "follows"
        with step(f"reading {path.name}"):
            parsed.append(read_edges(path, layer=name, format=edges_format or format, columns=edge_columns,
                                     undirected=True if undirected else None, **common))
    for path in interactions:
        with step(f"reading {path.name}"):
            parsed.append(read_interactions(path, format=interactions_format or format, columns=event_columns,
                                            **common))
    for path in signed:
        with step(f"reading {path.name}"):
            parsed.append(read_signed(path, layer=signed_layer, columns=signed_columns, **common))
    for path in nodes:
        with step(f"reading {path.name}"):
            parsed.append(read_nodes(path, mode=mode.value, encoding=encoding))
    customer_table = None
    if customers is not None:
        from loaders.customers import read_customers

        with step(f"reading {customers.name}"):
            customer_table, customer_report = read_customers(customers, mode=mode.value, encoding=encoding)
    with step("building the graph"):
        graph, reports = build_graph(*parsed, self_loops=self_loops.value)
    if customer_table is not None:
        reports = [*reports, customer_report]
    rejects_path = None
    n_rejected = sum(r.n_rejected for r in reports)
    if mode is Mode.lenient:
        rejects_path = write_rejects(reports, rejects or out.with_name(out.name + ".rejects.csv"))
    empty = [r for r in reports if r.rows_loaded == 0]
    if (empty or graph.n_nodes == 0) and not allow_empty:
        from graphcrm.core.errors import InvalidInputError

        what = (f"{empty[0].source}: none of its {empty[0].rows_read:,} rows could be loaded" if empty
                else "the input holds no accounts")
        where = f" (see {rejects_path})" if rejects_path and n_rejected else ""
        raise InvalidInputError(f"{what}{where}; nothing written, {out} is unchanged "
                                "(--allow-empty writes it anyway)")
    tables, crm = {}, None
    if customer_table is not None:
        tables, crm = _link_into_snapshot(graph, customer_table, threshold)
    with step(f"writing {out}"):
        save_snapshot(graph, out, tables=tables)
    info = graph_info(graph)
    summary = {
        "snapshot": str(out),
        "nodes": graph.n_nodes,
        "edges": {k: v["edges"] for k, v in info["layers"].items()},
        **({"undirected_layers": sorted(k for k, v in info["layers"].items() if v.get("undirected"))}
           if any(v.get("undirected") for v in info["layers"].values()) else {}),
        "sources": [r.as_dict() for r in reports],
        "rejected_rows": n_rejected,
        "rejects_file": str(rejects_path) if rejects_path else None,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if crm is not None:
        summary["crm"] = crm
    summary["read_as"] = _how_rows_were_read(parsed, graph)
    lines = [f"wrote {out}: {graph.n_nodes:,} nodes"]
    lines += [f"  {k}: {v:,} edges" for k, v in summary["edges"].items()]
    if crm is not None:
        lines.append(f"  customers: {crm['customers']:,}, linked {crm['linked']:,} "
                     f"({', '.join(f'{k}: {v:,}' for k, v in crm['linked_by_method'].items()) or 'none'}), "
                     f"{crm['review_customers']:,} to review")
    readings = _how_rows_were_read(parsed, graph)
    for r in reports:
        lines.append(f"  {r.source}: {r.rows_loaded:,} of {r.rows_read:,} rows loaded")
        if r.source in readings:
            lines.append(f"    read as: {readings[r.source]}")
        for cls, count in sorted(r.rejected.items()):
            lines.append(f"    rejected {count:,} rows: {cls}")
    if rejects_path:
        lines.append(f"rejects: {rejects_path} ({n_rejected:,} rows)")
    for r in reports:
        for warning in getattr(r, "warnings", []):
            typer.echo(f"warning: {warning}", err=True)
    _emit(summary, as_json, "\n".join(lines))


#: peak bytes per input row while loading, measured with margin: 16.7M-row rmat20 edges peak at 43 B/row
LOAD_BYTES_PER_ROW = {"edges": 64, "signed": 96, "interactions": 160}


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _check_load_memory(edges, signed, interactions, max_memory: Optional[str]) -> None:
    """Fail fast, before anything is allocated, when the files cannot fit in ``--max-memory`` (or in RAM)."""
    from graphcrm.cli_plan import parse_bytes
    from graphcrm.core.errors import InvalidInputError
    from loaders._source import estimate_rows

    cap = parse_bytes(max_memory) if max_memory else _available_memory()
    if not cap:
        return
    rows = {kind: sum(estimate_rows(p) for p in paths)
            for kind, paths in (("edges", edges), ("signed", signed), ("interactions", interactions))}
    need = sum(rows[k] * LOAD_BYTES_PER_ROW[k] for k in rows)
    if need > cap:
        noun = {"edges": "edge", "signed": "rating", "interactions": "interaction"}
        what = ", ".join(f"~{n:,} {noun[k]} rows" for k, n in rows.items() if n)
        limit = f"--max-memory {max_memory}" if max_memory else "the memory available on this machine"
        raise InvalidInputError(f"loading {what} needs about {_size(need)}, more than {limit} ({_size(cap)}); "
                                "nothing was read or written -- split the input, raise --max-memory, or load on "
                                "a larger machine")


def _size(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


ROW_VERBS = {"follows": "follows", "retweets": "retweeted", "replies": "replied to", "mentions": "mentioned",
             "likes": "liked", "trust": "rated"}


def _how_rows_were_read(parsed, graph) -> dict:
    """Per edge / event file: its first row, the layer it went to, and which way influence runs on it."""
    out = {}
    for src in parsed:
        if src.kind not in ("edges", "events") or not src.report.rows_loaded:
            continue
        cols = src.columns
        a, b = (str(cols[r][0].as_py() if hasattr(cols[r][0], "as_py") else cols[r][0]) for r in ("actor", "target"))
        name = src.layer if src.kind == "edges" else str(cols["type"][0].as_py() if hasattr(cols["type"][0], "as_py")
                                                          else cols["type"][0])
        if name not in graph.layers:
            continue
        spec = graph.layer(name).spec
        verb = ROW_VERBS.get(name, "->")
        flow = (f"{a} <-> {b}" if spec.undirected else f"{b} -> {a}" if spec.direction == "reverse"
                else f"{a} -> {b}")
        if spec.undirected:
            out[src.report.source] = (f"row '{a} {b}' = a tie between {a} and {b}: layer '{name}' (undirected, "
                                      f"stored both ways), influence {flow}")
            continue
        out[src.report.source] = (f"row '{a} {b}' = {a} {verb} {b}: layer '{name}' ({spec.direction}), influence "
                                  f"{flow}" + ("; use --layer NAME for another convention" if src.kind == "edges"
                                               else ""))
    return out


def _column_mapping(given: dict, roles: tuple, what: str):
    """``--source-col`` & co. as the readers' ``columns``: a dict of header names, or roles by 1-based position."""
    chosen = {r: v.strip() for r, v in given.items() if v is not None and v.strip()}
    if not chosen:
        return None
    chosen = {r: v for r, v in chosen.items() if r in roles}
    if not chosen:
        return None
    if all(v.isdigit() for v in chosen.values()):
        positions = {r: int(v) for r, v in chosen.items()}
        if min(positions.values()) < 1 or len(set(positions.values())) < len(positions):
            raise typer.BadParameter(f"column positions for {what} must be distinct and start at 1, got {positions}")
        return positions            # the readers keep the usual roles of the positions not named
    if any(v.isdigit() for v in chosen.values()):
        raise typer.BadParameter("give every --*-col as a header name or every one as a 1-based position, not both")
    return chosen


def _link_into_snapshot(graph, customers, threshold: float | None) -> tuple[dict, dict]:
    """Link the customers to the graph's accounts; the tables to store with the snapshot, and counts.

    Only ids, hashes and churn flags are stored: names, cities and handles
    served the linking and stay out of the snapshot.
    """
    from graphcrm.crm.linking import link_customers

    with step(f"linking {len(customers):,} customers to {graph.n_nodes:,} accounts"):
        result = link_customers(customers, graph.nodes, threshold=threshold,
                                review_floor=min(0.3, threshold if threshold is not None else 0.3))
    stored = customers[["customer_id", "email_sha256", "phone_sha256", "churned"]].reset_index(drop=True)
    tables = {"customers": stored, "links": result.links, "review": result.review}
    crm = {"customers": len(customers), "linked": len(result.links),
           "linked_by_method": {k: int(v) for k, v in result.info["linked_by_method"].items()},
           "review_customers": result.info["review_customers"], "threshold": result.info["threshold"],
           "threshold_rule": result.info["threshold_rule"]}
    return tables, crm


@app.command()
def info(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    verify: bool = typer.Option(False, "--verify", help="Re-read every file against the checksums saved with the "
                                                        "snapshot (opening always checks sizes, headers, structure)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Nodes, edges per layer, degree and weight stats, time span, memory.

    Example: graphcrm info graphs/higgs --verify
    """
    from graphcrm.core.snapshot import load_snapshot, load_snapshot_tables, verify_snapshot
    from graphcrm.info import format_info, graph_info

    verified = verify_snapshot(snapshot) if verify else None
    summary = graph_info(load_snapshot(snapshot))
    summary["snapshot"] = str(snapshot)
    if verified is not None:
        summary["verified"] = verified
    summary["tables"] = {name: len(frame) for name, frame in load_snapshot_tables(snapshot).items()}
    text = format_info(summary)
    if summary["tables"]:       # e.g. the CRM links `graphcrm load --customers` stored
        text += "\ntables: " + ", ".join(f"{name} {rows:,} rows" for name, rows in summary["tables"].items())
    if verified is not None:
        text += (f"\nverified: {verified['files']} files, {verified['bytes']:,} bytes match their "
                 f"{verified['checksum']} checksums" if verified["checksum"] else
                 "\nverified: sizes, headers and structure only (this snapshot was saved without checksums)")
    _emit(summary, as_json, f"snapshot {snapshot}\n" + text)


class RankMethod(str, Enum):
    auto = "auto"
    forecast = "forecast"
    combined = "combined"
    pagerank = "pagerank"
    hits = "hits"
    coreness = "coreness"
    betweenness = "betweenness"
    reach = "reach"
    voterank = "voterank"
    degree = "degree"


@app.command()
def rank(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    out: Path = typer.Option(..., "--out", help="Output table (.csv or .parquet)."),
    method: RankMethod = typer.Option(RankMethod.auto, "--method",
                                      help="auto = leader list by the validated forecast when the snapshot has a "
                                           "timestamped interaction log, else combined; forecast; combined = "
                                           "structural leader list with reasons; or one measure."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Layer to rank on (default: combined interaction "
                                                              "strength, else follows)."),
    top: int = typer.Option(50, "--top", help="Rows (per community with --partition)."),
    partition: Optional[Path] = typer.Option(None, "--partition", help="CSV/Parquet account_id,community: "
                                                                        "leaders per community."),
    model: str = typer.Option("wc", "--prob", help="Edge probabilities for reach: wc | const:P | trivalency | weight (the file's own)."),
    samples: int = typer.Option(100_000, "--samples", help="Reverse-reachable samples for expected reach."),
    horizon: Optional[str] = typer.Option(None, "--horizon", help="Forecast horizon of the leader list, like 3d or "
                                                                  "12h (default: 7 days, at most a third of the log)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same output)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Influence scores and an opinion-leader list, with the reasons for each rank.

    Example: graphcrm rank graphs/higgs --out leaders.csv   (by the validated forecast; says which scorer won)
    """
    from graphcrm.backtest import parse_duration
    from graphcrm.core.snapshot import load_snapshot
    from graphcrm.ranking import rank_table
    from graphcrm.tables import read_partition, write_table

    started = time.perf_counter()
    graph = load_snapshot(snapshot)
    parts = read_partition(partition) if partition else None
    seconds = parse_duration(horizon) if horizon is not None else None
    stored = None
    if method.value in ("auto", "forecast"):
        stored = _stored_forecast(snapshot, graph, layer, seconds)
    with step(f"ranking by {method.value}"):
        table = rank_table(graph, method=method.value, layer=layer, top=top, partition=parts, model=model,
                           samples=samples, seed=seed, horizon=seconds, forecast_model=stored)
    ranking = table.attrs.pop("ranking", {})
    write_table(table, out)
    summary = {"snapshot": str(snapshot), "method": method.value, "rows": len(table), "out": str(out),
               "ranking": ranking, "top": table.head(10).to_dict("records"),
               "seconds": round(time.perf_counter() - started, 3)}
    head = f"wrote {out}: {len(table)} rows"
    if ranking:
        head += f"\nleader score: {ranking['scorer']}" + (f" on {ranking['layer']}" if "layer" in ranking else "")
        head += f" ({ranking['scorer_reason']})"
    shown = table.drop(columns=[c for c in ("why",) if c in table]).head(10)
    _emit(summary, as_json, head + "\n" + shown.to_string(index=False))


def _stored_forecast(snapshot: Path, graph, layer: Optional[str], horizon: Optional[int]):
    """The forecast model stored by ``graphcrm forecast`` when it still fits the snapshot, else None."""
    from algorithms.forecast import default_target_layer
    from graphcrm.forecast_leaders import has_interaction_log
    from graphcrm.forecast_store import load_model

    if not has_interaction_log(graph):
        return None
    name = layer or default_target_layer(graph)
    if name not in graph.layers:
        return None
    return load_model(snapshot, graph, name, horizon)[0]


class CommunityMethod(str, Enum):
    leiden = "leiden"
    louvain = "louvain"


@app.command()
def communities(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    out: Path = typer.Option(..., "--out", help="Partition table account_id,community (.csv or .parquet)."),
    profiles: Optional[Path] = typer.Option(None, "--profiles", help="Community profiles table (.csv or .parquet)."),
    method: CommunityMethod = typer.Option(CommunityMethod.leiden, "--method", help="leiden or louvain."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Layer (default: combined interaction strength, "
                                                              "else follows)."),
    objective: str = typer.Option("modularity", "--objective", help="Leiden objective: modularity or cpm."),
    resolution: float = typer.Option(1.0, "--resolution", help="Resolution parameter."),
    directed: bool = typer.Option(False, "--directed", help="Directed modularity (Leiden via leidenalg)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same partition)."),
    engine: str = typer.Option("auto", "--engine", help="Leiden implementation: auto (numba above a million "
                                                        "ties, else igraph), igraph or numba."),
    runs: int = typer.Option(1, "--runs", help="Consensus over this many seeds (Leiden); adds each account's "
                                               "membership confidence."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Community partition and a profile per community (size, density, conductance, leaders, bridges).

    Example: graphcrm communities graphs/higgs --out communities.csv --profiles profiles.csv --seed 1
    """
    from algorithms.community import community_profiles, consensus, leiden, louvain
    from graphcrm.core.snapshot import load_snapshot
    from graphcrm.leaders import default_layer
    from graphcrm.tables import write_table

    from algorithms.community import LEIDEN_METHODS
    from graphcrm.core.errors import ParameterError

    if engine not in LEIDEN_METHODS:
        raise ParameterError(f"--engine must be one of {', '.join(LEIDEN_METHODS)}, got {engine!r}")
    started = time.perf_counter()
    graph = load_snapshot(snapshot)
    lay = default_layer(graph) if layer is None else layer
    lay = (lay if not isinstance(lay, str) else graph.layer(lay)).positive()   # as the report: positive ties
    with step(f"finding communities ({method.value})"):
        if runs > 1:
            part = consensus(graph, layer=lay, n_runs=runs, seed=seed, objective=objective, resolution=resolution)
        elif method is CommunityMethod.leiden:
            part = leiden(graph, layer=lay, objective=objective, resolution=resolution, directed=directed, seed=seed,
                          method=engine)
        else:
            part = louvain(graph, layer=lay, resolution=resolution, seed=seed)
    table = part.to_frame()
    if "confidence" in part.info:
        table["confidence"] = part.info["confidence"]
    write_table(table, out)
    prof = community_profiles(graph, part, layer=lay)
    if profiles is not None:
        write_table(prof, profiles)
    summary = {"snapshot": str(snapshot), "method": part.info["method"],
               "implementation": part.info.get("implementation"), "communities": part.n_communities,
               "quality": part.quality, "mean_confidence": part.info.get("mean_confidence"),
               "largest": prof.head(5).to_dict("records"), "out": str(out),
               "profiles": str(profiles) if profiles else None, "seconds": round(time.perf_counter() - started, 3)}
    human = (f"wrote {out}: {part.n_communities} communities, {part.info['objective'] if 'objective' in part.info else 'modularity'} "
             f"{part.quality:.4f}\n" + prof.head(10).to_string(index=False))
    _emit(summary, as_json, human)


@app.command()
def simulate(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    seeds: List[str] = typer.Option([], "--seeds", help="Seed account id (repeatable)."),
    seeds_file: Optional[Path] = typer.Option(None, "--seeds-file", help="Text file with one seed id per line."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Influence layer (default: combined interaction "
                                                              "strength, else follows)."),
    model: str = typer.Option("ic", "--model", help="ic | lt | sir | sis."),
    prob: str = typer.Option("wc", "--prob", help="Edge probabilities: wc | const:P | trivalency | weight (the file's own) | learned."),
    recovery: float = typer.Option(0.5, "--recovery", help="SIR/SIS: chance per step that an account stops spreading."),
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
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Word-of-mouth reach of a seed set: expected reach with a 95% interval, reach per step (and per hour).

    Example: graphcrm simulate graphs/higgs --seeds 88 --seeds 14454 --runs 5000
    """
    from algorithms.diffusion import simulate as run
    from graphcrm.core.errors import ParameterError
    from graphcrm.core.snapshot import load_snapshot
    from graphcrm.leaders import default_layer
    from graphcrm.tables import write_table

    started = time.perf_counter()
    ids = list(seeds)
    if seeds_file is not None:
        ids += [line.strip() for line in seeds_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not ids:
        raise ParameterError("give seed accounts with --seeds ID (repeatable) or --seeds-file FILE")
    graph = load_snapshot(snapshot)
    lay = default_layer(graph) if layer is None else layer
    if negative or model in ("sir", "sis"):
        from graphcrm.cli_plan import contagion_summary

        summary, human = contagion_summary(graph, ids, lay, model=model, prob=prob, recovery=recovery,
                                           negative=negative, runs=runs, max_steps=max_steps, seed=seed, out=out)
        summary["snapshot"] = str(snapshot)
        summary["seconds"] = round(time.perf_counter() - started, 3)
        _emit(summary, as_json, human)
        return
    with step(f"simulating {runs:,} cascades"):
        est = run(graph, ids, layer=lay, model=model, prob=prob, n_runs=runs, seed=seed, max_steps=max_steps,
                  ci_width=ci_width, client=_dask_client(scheduler) if scheduler else None)
    if out is not None:
        write_table(est.steps_frame(), out)
    if probabilities is not None:
        write_table(est.to_frame(), probabilities)
    hourly = None
    if hourly_out is not None or prob == "learned":
        from algorithms.diffusion import reach_over_time
        from algorithms.probabilities import propagation_delays

        lay_obj = graph.layer(lay) if isinstance(lay, str) else lay
        hourly = reach_over_time(est, propagation_delays(lay_obj), seed=seed)
        if hourly_out is not None:
            write_table(hourly, hourly_out)
    summary = {"snapshot": str(snapshot), "seeds": len(ids), "model": model, "prob": est.info["prob"],
               "runs": est.info["runs"], "expected_reach": est.mean, "ci95": [est.ci_low, est.ci_high],
               "reach_per_step": est.reach_per_step[:20].round(3).tolist(),
               "reach_after_hours": None if hourly is None else {
                   int(h): round(float(r), 3) for h, r in zip(hourly["hours"], hourly["expected_reach"])
                   if h in (1, 6, 24, 48, 168)},
               "outputs": {"steps": str(out) if out else None, "activation": str(probabilities) if probabilities else None,
                           "hourly": str(hourly_out) if hourly_out else None},
               "seconds": round(time.perf_counter() - started, 3)}
    human = (f"expected reach {est.mean:,.2f} accounts (95% CI {est.ci_low:,.2f} .. {est.ci_high:,.2f}) "
             f"from {len(ids)} seeds, {est.info['runs']:,} {model.upper()} runs\n" +
             est.steps_frame().head(10).round(3).to_string(index=False))
    if prob.startswith("learned") and isinstance(lay, str):
        from algorithms.calibration import reach_calibration

        try:
            cal = reach_calibration(graph, lay, prob, seed=seed)
            summary["calibration"] = cal.to_dict()
            human += "\n" + cal.describe()
        except GraphCRMError as exc:                 # a log too short to hold a window out
            summary["calibration"] = None
            human += f"\ncalibration not checked: {exc}"
    _emit(summary, as_json, human)


@app.command()
def demo(
    out: Path = typer.Option(Path("graphcrm-demo-output"), "--out", help="Directory for the demo's outputs."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """The main job on the bundled real sample (one hour of the Higgs announcement on Twitter).

    Example: graphcrm demo --out graphcrm-demo-output
    """
    from graphcrm.demo import format_demo, run_demo

    summary = run_demo(out)
    _emit(summary, as_json, format_demo(summary))


@app.command()
def warmup(as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Compile every numba kernel now (it is cached on disk for later runs).

    Example: graphcrm warmup
    """
    from graphcrm.warmup import warmup as run

    with step("compiling kernels"):
        timings = run()
    total = sum(timings.values())
    _emit({"kernel_modules": timings, "seconds": round(total, 3)}, as_json,
          f"compiled {len(timings)} kernel modules in {total:.1f} s")


from graphcrm.cli_plan import _dask_client, plan as _plan_command, reach as _reach_command  # noqa: E402

app.command("plan")(_plan_command)
app.command("reach")(_reach_command)

# CRM bridge verbs (graphcrm/cli_crm.py)
from graphcrm.cli_crm import economics_cmd, erase_cmd, link_cmd, run_pipeline_cmd, segments_cmd  # noqa: E402

app.command("link")(link_cmd)
app.command("segments")(segments_cmd)
app.command("economics")(economics_cmd)
app.command("run")(run_pipeline_cmd)
app.command("erase")(erase_cmd)

from graphcrm.cli_report import report as _report_command  # noqa: E402

app.command("report")(_report_command)

from graphcrm.cli_forecast import backtest_cmd, forecast_cmd  # noqa: E402

app.command("forecast")(forecast_cmd)
app.command("backtest")(backtest_cmd)


def main(argv=None) -> int:
    """Entry point: run the app; graphcrm errors become one line and an exit code.

    Usage errors are reported by typer itself (exit code 2).
    """
    try:
        app(args=argv, prog_name="graphcrm")
    except GraphCRMError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except OSError as exc:  # a path the user gave cannot be read or written
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        typer.echo(f"error: {where}{exc.strerror or exc}", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("aborted", err=True)
        return 130
    return 0


from graphcrm.cli_neo4j import db_app, neo4j_app  # noqa: E402  (Neo4j store verbs, issue #7)

app.add_typer(neo4j_app, name="neo4j")
app.add_typer(db_app, name="db")


def run() -> None:
    """The ``graphcrm`` console script: :func:`main`, and an exit code that is always 0, 1, 2 or 130.

    After an error has been reported nothing is left to write, so the process ends at once
    (``os._exit``) instead of tearing the interpreter down: a native thread pool (numba, Arrow)
    destroyed during teardown can abort the process (exit 134, "terminate called without an active
    exception") after the one-line error was already printed, which breaks the exit-code contract
    batch jobs rely on.
    """
    try:
        code = main()
    except SystemExit as exc:               # usage errors and --help leave through click's SystemExit
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if code:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
