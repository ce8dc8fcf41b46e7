"""``graphcrm load`` and ``graphcrm info``: files into a snapshot, and what a snapshot holds."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from graphcrm.cli.common import AS_OF, Mode, SelfLoops, Timer, emit, open_snapshot, parse_bytes, snapshot_dir
from graphcrm.loaders.formats import format_names
from graphcrm.progress import step


def register(app: typer.Typer) -> None:
    app.command()(load)
    app.command()(info)


def load(
    out: Optional[Path] = typer.Option(None, "--out", help="Snapshot directory to write (replaced atomically; "
                                                          "a new history, version 1)."),
    append: Optional[Path] = typer.Option(None, "--append", help="Existing snapshot to add the given files to, as "
                                          "its next version (the earlier versions stay readable with --as-of); a "
                                          "file already loaded or appended (same bytes) is skipped."),
    keep_versions: Optional[int] = typer.Option(None, "--keep-versions", help="With --append: keep at most this "
                                                "many earlier versions (default: all)."),
    edges: List[Path] = typer.Option([], "--edges", help=f"Edge list ({'|'.join(format_names('edges'))}; text "
                                     "may be gzipped). Repeatable."),
    layer: List[str] = typer.Option([], "--layer", help="Layer of each --edges file (one for all, or one each). Default: follows."),
    interactions: List[Path] = typer.Option([], "--interactions", help="Interaction events "
                                            f"({'|'.join(format_names('interactions'))}; text may be gzipped). "
                                            "Repeatable."),
    signed: List[Path] = typer.Option([], "--signed", help="Signed trust edges (bitcoin OTC/alpha format). Repeatable."),
    signed_layer: str = typer.Option("trust", "--signed-layer", help="Layer of the --signed files."),
    nodes: List[Path] = typer.Option([], "--nodes", help="Node table (id + attributes, follower counts, cost). Repeatable."),
    customers: Optional[Path] = typer.Option(None, "--customers", help="CRM customers table: linked to the accounts "
                                             "(node table attributes) and stored with the snapshot."),
    threshold: Optional[float] = typer.Option(None, "--link-threshold", help="With --customers: link when the "
                                              "match probability is at least this (default: chosen for an expected "
                                              "precision of 0.98)."),
    format: Optional[str] = typer.Option(None, "--format", help="Format of every --edges and --interactions file "
                                         f"({'|'.join(format_names('edges', 'interactions'))}); default: from the "
                                         "extension."),
    edges_format: Optional[str] = typer.Option(None, "--edges-format", help="Format of the --edges files only "
                                               f"({'|'.join(format_names('edges'))})."),
    interactions_format: Optional[str] = typer.Option(None, "--interactions-format",
                                                      help=f"Format of the --interactions files only "
                                                           f"({'|'.join(format_names('interactions'))})."),
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
    text_col: Optional[str] = typer.Option(None, "--text-col", help="Column of the message text (--interactions; "
                                           "scored with VADER when there is no sentiment column)."),
    topics_col: Optional[str] = typer.Option(None, "--topics-col", help="Column of the topics / hashtags "
                                             "(--interactions): '#a #b', 'a;b' or a JSON list."),
    message_id_col: Optional[str] = typer.Option(None, "--message-id-col", help="Column of the message id."),
    parent_id_col: Optional[str] = typer.Option(None, "--parent-id-col", help="Column of the parent message id "
                                                "(the message replied to or shared)."),
    topic_rules: Optional[Path] = typer.Option(None, "--topic-rules", help="TOML (\\[topics] brand = \\[\"acme\"]) or "
                                               "CSV (topic,keyword) rules: events whose text has a keyword (whole "
                                               "word, any case) get the topic."),
    max_memory: Optional[str] = typer.Option(None, "--max-memory", help="Refuse, before reading, a load estimated "
                                             "to need more than this, e.g. 8GiB (default: the memory available)."),
    allow_empty: bool = typer.Option(False, "--allow-empty", help="Write the snapshot even when a file gave no "
                                                                  "usable row, and skip files with no data rows (an "
                                                                  "empty day: an append then writes no version) "
                                                                  "(default: stop, keep what --out holds)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Load follows / interactions / signed edges / node tables into a graph snapshot.

    Example: graphcrm load --interactions higgs-activity_time.txt.gz --out graphs/higgs
    (nightly: graphcrm load --append graphs/higgs --interactions today.csv)
    """
    from graphcrm.loaders.errors import ParameterError
    from graphcrm.loaders.snapshot import save_snapshot
    from graphcrm.info import graph_info
    from graphcrm.loaders import build_graph, read_edges, read_interactions, read_nodes, read_signed, write_rejects

    if (out is None) == (append is None):
        raise ParameterError("give --out SNAPSHOT (a new snapshot) or --append SNAPSHOT (a new version of one)")
    if keep_versions is not None and append is None:
        raise ParameterError("--keep-versions goes with --append")
    if not (edges or interactions or signed or nodes):
        raise ParameterError("nothing to load: give at least one of --edges, --interactions, --signed, --nodes")
    target = out if out is not None else append
    layer = list(layer)
    if (layer or undirected) and not edges:          # both shape --edges files only: never ignored without a word
        raise ParameterError(f"{'--layer' if layer else '--undirected'} applies to --edges files; "
                             + ("name the signed layer with --signed-layer" if signed and layer else
                                "interactions go to the layer of their type column"))
    if layer and len(layer) not in (1, len(edges)):
        raise ParameterError(f"{len(layer)} --layer values for {len(edges)} --edges files: give one, or one per file")
    if len(layer) == 1 and len(edges) > 1:
        layer = layer * len(edges)
    from graphcrm.loaders.layers import near_conventional

    for name in dict.fromkeys(layer):
        known = near_conventional(name)
        if known:
            typer.echo(f"warning: --layer {name} is not the conventional layer '{known}' (names are case-sensitive): "
                       f"it is read as a custom layer of its own direction; use --layer {known} for that convention",
                       err=True)
    if keep_versions is not None and keep_versions < 0:
        raise ParameterError(f"--keep-versions must be >= 0, got {keep_versions}")
    items = ([("edges", p, layer[i] if layer else "follows") for i, p in enumerate(edges)]
             + [("interactions", p, None) for p in interactions] + [("signed", p, signed_layer) for p in signed]
             + [("nodes", p, None) for p in nodes])
    # the whole append (which files are new, the merge, the swap) under the snapshot's writer lock: a second
    # append or an erase started meanwhile waits, instead of both starting from the same stored version
    with _writer_lock_of(append):
        inputs, skipped, items = _new_inputs(append, items)
        edges = [p for kind, p, _ in items if kind == "edges"]
        layer = [name for kind, _, name in items if kind == "edges"]
        interactions, signed, nodes = ([p for kind, p, _ in items if kind == k] for k in ("interactions", "signed", "nodes"))
        for s in skipped:
            typer.echo(f"skipped {s['path']}: the same bytes were already loaded"
                       + (f" in version {s['version']}" if s.get("version") else " (before versions were kept)"),
                       err=True)
        if out is not None:
            _warn_replacing_history(out)
        if not inputs:
            emit({"snapshot": str(target), "appended_files": 0, "skipped": skipped, **_current_version(append)}, as_json,
                 f"{target}: nothing new to append (every file was already loaded); no new version written")
            return
        if threshold is not None and not 0.0 < threshold <= 1.0:
            raise ParameterError(f"--link-threshold must be in (0, 1], got {threshold}")
        timer = Timer()
        # an append merges the stored version in chunks (graphcrm.loaders.merge): only the new rows count -- unless
        # --customers makes it rebuild the stored graph in memory
        _check_load_memory(edges, signed, interactions, max_memory, stored=append if customers is not None else None)
        common = {"mode": mode.value, "self_loops": self_loops.value, "encoding": encoding, "skip_rows": skip_rows,
                  "header": "auto" if header is None else header}
        mapping = {"actor": source_col, "target": target_col, "weight": weight_col, "time": time_col, "type": type_col,
                   "sentiment": sentiment_col, "text": text_col, "topics": topics_col, "message_id": message_id_col,
                   "parent_id": parent_id_col}
        edge_columns = _column_mapping(mapping, ("actor", "target", "weight", "time", "sentiment"), "--edges")
        signed_columns = _column_mapping(mapping, ("actor", "target", "weight", "time"), "--signed")
        event_columns = _column_mapping(mapping, ("actor", "target", "type", "time", "sentiment", "text", "topics",
                                                  "message_id", "parent_id"), "--interactions")
        def read(reader, path, **kwargs):
            with step(f"reading {path.name}"):
                try:
                    return [reader(path, **kwargs)]
                except EmptyInputError as exc:
                    if not allow_empty:
                        raise
                    typer.echo(f"warning: {exc}: nothing to add from it (--allow-empty)", err=True)
                    # not recorded as loaded: its header would make the next day's file look like it grew in place
                    inputs[:] = [i for i in inputs if i["path"] != str(path)]
                    return []

        from graphcrm.loaders.errors import EmptyInputError

        parsed = []
        for i, path in enumerate(edges):
            parsed += read(read_edges, path, layer=layer[i] if layer else "follows", format=edges_format or format,
                           columns=edge_columns, undirected=True if undirected else None, **common)
        for path in interactions:
            parsed += read(read_interactions, path, format=interactions_format or format, columns=event_columns,
                           topic_rules=topic_rules, **common)
        for path in signed:
            parsed += read(read_signed, path, layer=signed_layer, columns=signed_columns, **common)
        for path in nodes:
            parsed += read(read_nodes, path, mode=mode.value, encoding=encoding)
        if append is not None and not parsed and customers is None:
            emit({"snapshot": str(target), "appended_files": 0, "skipped": skipped, **_current_version(append)}, as_json,
                 f"{target}: nothing new to append (the new files hold no rows); no new version written")
            return
        customer_table = None
        if customers is not None:
            from graphcrm.loaders.customers import read_customers

            with step(f"reading {customers.name}"):
                customer_table, customer_report = read_customers(customers, mode=mode.value, encoding=encoding)
        if append is not None and customer_table is None:
            def before_rebuild(why):        # the merge cannot be exact: the stored graph is read into memory
                _check_load_memory(edges, signed, interactions, max_memory, stored=append,
                                   because=f"the append cannot merge on disk ({why}), so the stored graph is read")

            def before_reopen(why, rows):   # late events: the stored event files they reach are read to re-sort
                _check_load_memory(edges, signed, interactions, max_memory, stored_rows=rows,
                                   because=f"{why}, read to be sorted with them")

            _append_files(append, parsed, inputs, skipped, keep_versions, mode, rejects, allow_empty, timer, as_json,
                          self_loops.value, before_rebuild, before_reopen)
            return
        with step("building the graph" if append is None else f"adding {len(parsed)} files to {append}"):
            if append is None:
                graph, reports = build_graph(*parsed, self_loops=self_loops.value, consume=True)
            else:
                from graphcrm.loaders.append import appended_graph
                from graphcrm.loaders.snapshot import load_snapshot

                graph, reports = appended_graph(load_snapshot(append, text=True), *parsed, self_loops=self_loops.value)
        if customer_table is not None:
            reports = [*reports, customer_report]
        rejects_path = None
        n_rejected = sum(r.n_rejected for r in reports)
        if mode is Mode.lenient:
            rejects_path = write_rejects(reports, rejects or target.with_name(target.name + ".rejects.csv"))
        empty = [r for r in reports if r.rows_loaded == 0]
        if (empty or graph.n_nodes == 0) and not allow_empty:
            from graphcrm.loaders.errors import InvalidInputError

            what = (f"{empty[0].source}: none of its {empty[0].rows_read:,} rows could be loaded" if empty
                    else "the input holds no accounts")
            where = f" (see {rejects_path})" if rejects_path and n_rejected else ""
            raise InvalidInputError(f"{what}{where}; nothing written, {target} is unchanged "
                                    "(--allow-empty writes it anyway)")
        tables, crm = {}, None
        if customer_table is not None:
            tables, crm = _link_into_snapshot(graph, customer_table, threshold)
        elif append is not None:
            from graphcrm.loaders.snapshot import load_snapshot_tables

            tables = load_snapshot_tables(append)           # the CRM links stay with the snapshot
        with step(f"writing {target}"):
            save_snapshot(graph, target, tables=tables, inputs=inputs, history="new" if append is None else "append",
                          keep_versions=keep_versions)
        from graphcrm.loaders.snapshot import read_manifest

        version = read_manifest(target).get("version", 1)
        info = graph_info(graph)
        summary = {
            "snapshot": str(target),
            "version": version,
            **({"skipped": skipped} if skipped else {}),
            "nodes": graph.n_nodes,
            "edges": {k: v["edges"] for k, v in info["layers"].items()},
            **({"undirected_layers": sorted(k for k, v in info["layers"].items() if v.get("undirected"))}
               if any(v.get("undirected") for v in info["layers"].values()) else {}),
            "sources": [r.as_dict() for r in reports],
            "rejected_rows": n_rejected,
            "rejects_file": str(rejects_path) if rejects_path else None,
            "seconds": timer.seconds(),
        }
        if crm is not None:
            summary["crm"] = crm
        specs = {name: lay.spec for name, lay in graph.layers.items()}
        summary["read_as"] = _how_rows_were_read(parsed, specs)
        lines = [f"wrote {target} (version {version}): {graph.n_nodes:,} nodes"]
        lines += [f"  {k}: {v:,} edges" for k, v in summary["edges"].items()]
        loops = {name: int(lay.build_report.get("self_loops_dropped", 0)) for name, lay in graph.layers.items()}
        lines += [f"  {name}: {n:,} self-loop rows dropped (--self-loops keep keeps them)" for name, n in loops.items()
                  if n]
        if crm is not None:
            lines.append(f"  customers: {crm['customers']:,}, linked {crm['linked']:,} "
                         f"({', '.join(f'{k}: {v:,}' for k, v in crm['linked_by_method'].items()) or 'none'}), "
                         f"{crm['review_customers']:,} to review")
        _report_lines(lines, reports, summary["read_as"], rejects_path, n_rejected)
        emit(summary, as_json, "\n".join(lines))


def _current_version(snapshot: Optional[Path]) -> dict:
    """``version`` and ``nodes`` of the snapshot as it stands (a retried night's summary names them too)."""
    from graphcrm.loaders.snapshot import is_snapshot, read_manifest

    if snapshot is None or not is_snapshot(snapshot):
        return {}
    manifest = read_manifest(snapshot)
    return {"version": int(manifest.get("version", 1)), "nodes": int(manifest["n_nodes"])}


def _writer_lock_of(append: Optional[Path]):
    """The writer lock of the snapshot being appended to (:mod:`graphcrm.loaders.locking`), or no lock."""
    from contextlib import nullcontext

    from graphcrm.loaders.locking import pipeline_dir_of, writer_locks
    from graphcrm.loaders.snapshot import real_target

    return nullcontext() if append is None else writer_locks(pipeline_dir_of(append), real_target(append))


def _append_files(append, parsed, inputs, skipped, keep_versions, mode, rejects, allow_empty, timer, as_json,
                  self_loops, before_rebuild, before_reopen=None) -> None:
    """``load --append`` without --customers: merged into the snapshot on disk (graphcrm.loaders.merge)."""
    from graphcrm.loaders import write_rejects
    from graphcrm.loaders.errors import InvalidInputError
    from graphcrm.loaders.merge import append_snapshot

    reports = [p.report for p in parsed]
    rejects_path = None
    n_rejected = sum(r.n_rejected for r in reports)
    if mode is Mode.lenient:
        rejects_path = write_rejects(reports, rejects or append.with_name(append.name + ".rejects.csv"))
    empty = [r for r in reports if r.rows_loaded == 0]
    if empty and not allow_empty:
        where = f" (see {rejects_path})" if rejects_path and n_rejected else ""
        raise InvalidInputError(f"{empty[0].source}: none of its {empty[0].rows_read:,} rows could be loaded{where}; "
                                f"nothing written, {append} is unchanged (--allow-empty writes it anyway)")
    with step(f"adding {len(parsed)} files to {append}"):
        result = append_snapshot(append, *parsed, self_loops=self_loops, inputs=inputs, keep_versions=keep_versions,
                                 before_rebuild=before_rebuild, before_reopen=before_reopen)
    layers = result.layers
    specs = {name: lay["spec"] for name, lay in layers.items()}
    summary = {
        "snapshot": str(append),
        "version": result.version,
        **({"skipped": skipped} if skipped else {}),
        "nodes": result.n_nodes,
        "edges": {k: v["edges"] for k, v in sorted(layers.items())},
        **({"undirected_layers": sorted(k for k, v in specs.items() if v.undirected)}
           if any(v.undirected for v in specs.values()) else {}),
        "sources": [r.as_dict() for r in result.reports],
        "rejected_rows": n_rejected,
        "rejects_file": str(rejects_path) if rejects_path else None,
        "append": {"mode": result.mode, "new_accounts": result.new_accounts,
                   **({"reason": result.reason} if result.reason else {})},
        "seconds": timer.seconds(),
    }
    repeated = {k: v["repeated_events"] for k, v in sorted(layers.items()) if v.get("repeated_events")}
    if repeated:                # an overlapping export, or a re-encoded copy of a loaded file: counted twice
        summary["repeated_events"] = repeated
        typer.echo("warning: " + ", ".join(f"{n:,} new {k} events" for k, n in repeated.items())
                   + " may repeat stored ones (same message id, or same accounts, time and weight: an export "
                   "overlapping an earlier one, or a copy of a loaded file?): they are counted again; if they are "
                   f"the same events, load the files without the overlap (the previous version stays: --as-of "
                   f"{result.version - 1})",
                   err=True)
    summary["read_as"] = _how_rows_were_read(parsed, specs)
    how = "merged into the stored version" if result.mode == "merge" else f"rebuilt ({result.reason})"
    lines = [f"wrote {append} (version {result.version}, {how}): {result.n_nodes:,} nodes"]
    lines += [f"  {k}: {v:,} edges" for k, v in summary["edges"].items()]
    _report_lines(lines, result.reports, summary["read_as"], rejects_path, n_rejected)
    emit(summary, as_json, "\n".join(lines))


def _report_lines(lines, reports, readings, rejects_path, n_rejected) -> None:
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


def _new_inputs(append: Optional[Path], items: list) -> tuple[list, list, list]:
    """Manifest entries for the input files (path, kind, layer, size, BLAKE2b digest), those ``append`` holds
    already, and the ``(kind, path, layer)`` items still to read.

    A file counts as loaded when the same bytes went into the same kind and layer before (a retried nightly
    append is then a no-op, not a second count); in a snapshot saved before inputs were recorded, when its
    file name is one of the snapshot's sources.  Files given twice in one run are both read.
    """
    from graphcrm.loaders.snapshot import file_digest, read_manifest

    seen, legacy, held = {}, set(), []
    if append is not None:
        manifest = read_manifest(append)
        if "inputs" in manifest:
            seen = {(i.get("blake2b"), i.get("kind"), i.get("layer")): i.get("version", 1)
                    for i in manifest["inputs"]}
            held = manifest["inputs"]
        else:
            meta = manifest.get("metadata", {})
            legacy = {Path(str(s)).name for s in meta.get("sources", [])}
            legacy |= {Path(str(entry.get("source"))).name for entry in meta.get("loads", []) if entry.get("source")}
    inputs, skipped, todo = [], [], []
    for kind, path, layer_name in items:
        if not Path(path).is_file():        # kept: the reader names the missing file
            inputs.append({"path": str(path), "kind": kind, "layer": layer_name, "bytes": None, "blake2b": None})
            todo.append((kind, path, layer_name))
            continue
        entry = {"path": str(path), "kind": kind, "layer": layer_name, "bytes": Path(path).stat().st_size,
                 "blake2b": file_digest(path)}
        key = (entry["blake2b"], kind, layer_name)
        if key not in seen:
            _refuse_grown_file(path, kind, layer_name, entry["bytes"], held, append)
        if key in seen or Path(path).name in legacy:
            skipped.append({**entry, "version": seen.get(key)})
        else:
            inputs.append(entry)
            todo.append((kind, path, layer_name))
    return inputs, skipped, todo


def _refuse_grown_file(path, kind: str, layer, size: int, held: list, snapshot) -> None:
    """Refuse a file that grew in place since it was loaded: its first bytes are a file the snapshot holds (same
    kind and layer), so appending it again would count those rows twice.  A file of the same name with other
    bytes -- a fixed export path holding each day's rows -- is a new file and is appended."""
    from graphcrm.loaders.errors import InvalidInputError
    from graphcrm.loaders.snapshot import prefix_digests

    shorter = [old for old in held if old.get("kind") == kind and old.get("layer") == layer
               and old.get("blake2b") and old.get("bytes") and 0 < int(old["bytes"]) < size]
    if not shorter:
        return
    digests = prefix_digests(path, {int(old["bytes"]) for old in shorter})
    for old in shorter:
        if digests[int(old["bytes"])] == old["blake2b"]:
            raise InvalidInputError(
                f"{path}: its first {int(old['bytes']):,} bytes are {old.get('path')} as loaded in version "
                f"{old.get('version', 1)} of {snapshot}, so the file grew in place since; appending it again would "
                "count those rows twice. Append a file holding only the new rows, or rebuild the snapshot from "
                "every file with `graphcrm load --out`; nothing written")


def _warn_replacing_history(out: Path) -> None:
    from graphcrm.loaders.snapshot import is_snapshot, list_versions

    if is_snapshot(out):
        earlier = [v for v in list_versions(out) if not v["current"]]
        if earlier:
            typer.echo(f"warning: {out} is replaced with a new history; its {len(earlier)} earlier version(s) go "
                       "too (use --append to add to it)", err=True)


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


def _check_load_memory(edges, signed, interactions, max_memory: Optional[str], stored: Optional[Path] = None,
                       because: str = "", stored_rows: Optional[int] = None) -> None:
    """Fail fast, before anything is allocated, when the files cannot fit in ``--max-memory`` (or in RAM)."""
    from graphcrm.loaders.errors import InvalidInputError
    from graphcrm.loaders.formats import estimate_rows

    cap = parse_bytes(max_memory) if max_memory else _available_memory()
    if not cap:
        return
    rows = {kind: sum(estimate_rows(p) for p in paths)
            for kind, paths in (("edges", edges), ("signed", signed), ("interactions", interactions))}
    if stored is not None:              # an append that rebuilds the stored graph: its rows count too
        from graphcrm.loaders.snapshot import read_manifest

        layers = read_manifest(stored)["layers"].values()
        rows["stored"] = sum(int(v.get("build_report", {}).get("rows", v.get("n_edges", 0)) or 0) for v in layers)
    if stored_rows is not None:         # some stored rows are read (the event files late events reach)
        rows["stored"] = int(stored_rows)
    need = sum(rows[k] * LOAD_BYTES_PER_ROW.get(k, LOAD_BYTES_PER_ROW["interactions"]) for k in rows)
    if need > cap:
        noun = {"edges": "edge", "signed": "rating", "interactions": "interaction", "stored": "stored"}
        what = ", ".join(f"~{n:,} {noun[k]} rows" for k, n in rows.items() if n)
        limit = f"--max-memory {max_memory}" if max_memory else "the memory available on this machine"
        raise InvalidInputError(f"loading {what}{f' ({because})' if because else ''} needs about {_size(need)}, "
                                f"more than {limit} ({_size(cap)}); "
                                "nothing was read or written -- split the input, raise --max-memory, or load on "
                                "a larger machine")


def _size(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


ROW_VERBS = {"follows": "follows", "retweets": "retweeted", "replies": "replied to", "mentions": "mentioned",
             "likes": "liked", "trust": "rated"}


def _how_rows_were_read(parsed, specs: dict) -> dict:
    """Per edge / event file: its first row, the layer it went to (``specs``: layer name -> LayerSpec of the
    graph), and which way influence runs on it."""
    out = {}
    for src in parsed:
        if src.kind not in ("edges", "events") or not src.report.rows_loaded:
            continue
        cols = src.columns
        a, b = (str(cols[r][0].as_py() if hasattr(cols[r][0], "as_py") else cols[r][0]) for r in ("actor", "target"))
        name = src.layer if src.kind == "edges" else str(cols["type"][0].as_py() if hasattr(cols["type"][0], "as_py")
                                                          else cols["type"][0])
        if name not in specs:
            continue
        spec = specs[name]
        verb = ROW_VERBS.get(name, "->")
        flow = (f"{a} <-> {b}" if spec.undirected else f"{b} -> {a}" if spec.direction == "reverse"
                else f"{a} -> {b}")
        if spec.undirected:
            out[src.report.source] = (f"row '{a} {b}' = a tie between {a} and {b}: layer '{name}' (undirected, "
                                      f"stored both ways), influence {flow}")
            continue
        out[src.report.source] = (f"row '{a} {b}' = {a} {verb} {b}: layer '{name}' ({spec.direction}), influence "
                                  f"{flow}" + (("; use --signed-layer NAME for another layer" if spec.signed else
                                                "; use --layer NAME for another convention") if src.kind == "edges"
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


def info(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    as_of: Optional[str] = AS_OF,
    verify: bool = typer.Option(False, "--verify", help="Re-read every file against the checksums saved with the "
                                                        "snapshot (opening always checks sizes, headers, structure)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Nodes, edges per layer, degree and weight stats, time span, memory.

    Example: graphcrm info graphs/higgs --verify   (graphcrm info graphs/higgs --as-of 3: version 3)
    """
    from graphcrm.loaders.snapshot import list_versions, load_snapshot_tables, verify_snapshot
    from graphcrm.info import format_info, graph_info

    folder = snapshot_dir(snapshot, as_of)
    verified = verify_snapshot(folder) if verify else None
    summary = graph_info(open_snapshot(snapshot, as_of))
    summary["snapshot"] = str(snapshot)
    versions = list_versions(snapshot)
    summary["version"] = next(v["version"] for v in versions if v["path"] == str(folder))
    summary["versions"] = [{k: v[k] for k in ("version", "created_at", "current", "n_nodes", "edges", "inputs")}
                           for v in versions]
    if verified is not None:
        summary["verified"] = verified
    summary["tables"] = {name: len(frame) for name, frame in load_snapshot_tables(folder).items()}
    text = format_info(summary)
    if len(versions) > 1 or (versions and versions[0]["version"] != 1):      # pruned to one: still say which
        text += "\nversions:" + "".join(
            f"\n  {v['version']}{' (current)' if v['current'] else ''}{' <- shown' if v['path'] == str(folder) else ''}"
            f"  {v['created_at'] or '?'}  {v['n_nodes']:,} nodes, {sum(v['edges'].values()):,} edges"
            + (f"; {'reloaded from' if v.get('reloaded') else 'added'} "
               f"{', '.join(Path(i['path']).name for i in v['inputs'])}" if v["inputs"] else "")
            for v in versions)
    if summary["tables"]:       # e.g. the CRM links `graphcrm load --customers` stored
        text += "\ntables: " + ", ".join(f"{name} {rows:,} rows" for name, rows in summary["tables"].items())
    if verified is not None:
        text += (f"\nverified: {verified['files']} files, {verified['bytes']:,} bytes match their "
                 f"{verified['checksum']} checksums" if verified["checksum"] else
                 "\nverified: sizes, headers and structure only (this snapshot was saved without checksums)")
    emit(summary, as_json, f"snapshot {snapshot}\n" + text)
