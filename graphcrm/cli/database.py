"""``graphcrm neo4j push | pull | write-back | erase`` and ``graphcrm db serve``.

Connection options are the same for every verb: ``--uri``, ``--user``,
``--database`` (or ``GRAPHCRM_NEO4J_URI`` / ``_USER`` / ``_DATABASE``); the
password comes from ``GRAPHCRM_NEO4J_PASSWORD`` or a hidden prompt and is
never echoed or logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from graphcrm.cli.common import AS_OF, Timer, emit, neo4j_password, neo4j_store, open_snapshot
from graphcrm.loaders.errors import InputFileError, ParameterError
from graphcrm.progress import step

neo4j_app = typer.Typer(name="neo4j", help="Neo4j store: push a graph, pull it back, write results back, erase.",
                        no_args_is_help=True, add_completion=False)
db_app = typer.Typer(name="db", help="A local Bolt server (ArcadeDB) for users without Neo4j.",
                     no_args_is_help=True, add_completion=False)

URI = typer.Option("bolt://127.0.0.1:7687", "--uri", envvar="GRAPHCRM_NEO4J_URI", help="Bolt URI of the server.")
USER = typer.Option("neo4j", "--user", envvar="GRAPHCRM_NEO4J_USER", help="User name.")
DATABASE = typer.Option("neo4j", "--database", envvar="GRAPHCRM_NEO4J_DATABASE", help="Database name.")
BATCH = typer.Option(5000, "--batch-size", help="Rows per write transaction.")
JSON = typer.Option(False, "--json", help="Print a JSON summary.")


def register(app: typer.Typer) -> None:
    app.add_typer(neo4j_app, name="neo4j")
    app.add_typer(db_app, name="db")


@neo4j_app.command()
def push(
    snapshot: Path = typer.Argument(..., help="Snapshot directory to push."),
    as_of: Optional[str] = AS_OF,
    layer: List[str] = typer.Option([], "--layer", help="Layer to push (repeatable; default: all known layers)."),
    uri: str = URI, user: str = USER, database: str = DATABASE, batch_size: int = BATCH, as_json: bool = JSON,
):
    """Push accounts (with attributes) and relationships into Neo4j, idempotently (MERGE).

    Example: graphcrm neo4j push graphs/higgs --uri bolt://localhost:7687
    """

    graph = open_snapshot(snapshot, as_of)
    with neo4j_store(uri, user, database, batch_size) as store, step(f"pushing {graph} to {uri}"):
        report = store.push(graph, layer or None)
        counts = store.counts()
    summary = {"snapshot": str(snapshot), "uri": uri, "database": database, **report.as_dict(), "stored": counts}
    emit(summary, as_json, f"pushed {graph} to {uri} ({database}) in {report.seconds:.1f} s: "
          f"{report.written}; rejected {report.rejected}; stored now {counts}")


@neo4j_app.command()
def pull(
    out: Path = typer.Option(..., "--out", help="Snapshot directory to write."),
    layer: List[str] = typer.Option([], "--layer", help="Layer to read (repeatable; default: all)."),
    start: Optional[int] = typer.Option(None, "--start", help="Window start, Unix seconds (inclusive)."),
    end: Optional[int] = typer.Option(None, "--end", help="Window end, Unix seconds (exclusive)."),
    label: Optional[str] = typer.Option(None, "--label", help="Only accounts with this label (e.g. OpinionLeader)."),
    uri: str = URI, user: str = USER, database: str = DATABASE, as_json: bool = JSON,
):
    """Read accounts and relationships from Neo4j into a graph snapshot.

    A pull that finds no relationship for the layers asked for (and window, label) is an error that writes
    nothing: it would replace a snapshot with a graph without layers.

    Example: graphcrm neo4j pull --out graphs/from-neo4j --uri bolt://localhost:7687
    """
    from graphcrm.loaders.errors import InvalidInputError
    from graphcrm.loaders.neo4j_cypher import REL_TYPES
    from graphcrm.loaders.snapshot import save_snapshot

    timer = Timer()
    with neo4j_store(uri, user, database) as store, step(f"pulling from {uri}"):
        graph = store.pull(layer or None, start=start, end=end, label=label)
        if not any(v.n_edges for v in graph.layers.values()):
            stored = {t: n for t, n in store.counts()["relationships"].items() if n}
            asked = ", ".join(f"{name} ({REL_TYPES[name]})" for name in dict.fromkeys(layer)) or "any layer"
            where = "".join([f" from {start}" if start is not None else "", f" until {end}" if end is not None
                             else "", f" between :{label} accounts" if label else ""])
            has = ", ".join(f"{t} {n}" for t, n in stored.items()) or "no relationships at all"
            raise InvalidInputError(f"no relationships to pull for {asked}{where} in {uri} ({database}): the "
                                    f"store has {has}; nothing written to {out}")
    save_snapshot(graph, out)
    summary = {"out": str(out), "uri": uri, "database": database, "nodes": graph.n_nodes,
               "edges": {k: v.n_ties for k, v in graph.layers.items()},
               "seconds": timer.seconds()}
    emit(summary, as_json, f"wrote {out}: {graph}")


class _Table:
    """A write-back input file read as text (no NA inference: ``NA``, ``null`` are ids), graphcrm's formula
    escapes undone, with the line (row for Parquet) of every row, checked as the costs reader checks."""

    def __init__(self, path: Path, what: str, unique: bool):
        from graphcrm.loaders.csvsafe import unescape_cell
        from graphcrm.loaders.customers import missing_column, normalized_name, read_table_rows

        self.label, self.header, rows, lines, problems = read_table_rows(path, expected=f"account_id, {what}")
        self.unit = problems.unit
        self.names = [normalized_name(unescape_cell(h)) for h in self.header]
        id_i = next((self.names.index(n) for n in ("account_id", "id") if n in self.names), None)
        if id_i is None:
            raise missing_column(self.label, "account_id", self.header,
                                 f"; a write-back table has columns account_id (or id) and {what}")
        self.id_i = id_i
        self.rows, self.lines, self.ids, self.rejected = [], [], [], []
        seen: dict[str, int] = {}
        for row, line in zip(rows, lines):
            account = unescape_cell(row[id_i].strip())
            if not account:
                self.rejected.append(line)          # counted with the rows the store rejects
                continue
            if unique and account in seen:
                problems.add(line, self.header[id_i], "duplicate_id",
                             f"account id {account!r} already on line {seen[account]}")
            seen.setdefault(account, line)
            self.rows.append(row)
            self.lines.append(line)
            self.ids.append(account)
        if problems.rows:
            raise problems.first_error()
        if self.rejected and not self.ids:
            raise InputFileError(self.label, None, self.header[id_i],
                                 f"all {len(self.rejected)} rows have an empty account id; nothing was written or "
                                 "removed")

    def column(self, what: str, *names: str) -> int:
        """The index of the first of ``names`` in the header (a one-line error naming ``what`` if none is)."""
        from graphcrm.loaders.customers import missing_column

        index = next((self.names.index(n) for n in names if n in self.names), None)
        if index is None:
            raise missing_column(self.label, names[0], self.header, f"; {what} has columns account_id and {names[0]}")
        return index

    def cells(self, index: int) -> list[str]:
        """Column ``index`` as text: stripped, formula escapes undone."""
        from graphcrm.loaders.csvsafe import unescape_cell

        return [unescape_cell(row[index].strip()) for row in self.rows]

    def values(self, index: int, *, numbers: bool) -> list | None:
        """Column ``index`` as values (``None`` for an empty cell): ints if every value is an integer, else
        floats if every value is a number; ``numbers``: an error at the first cell that is not a number, and
        ``None`` (a text column, or no value at all) when no cell is; else text where any cell is not a number."""
        cells = self.cells(index)
        if numbers and not any(cells):
            return None
        parsed = [_number(c) if c else None for c in cells]
        if all(p is not None for p, c in zip(parsed, cells) if c):
            if all(type(p) is int for p in parsed if p is not None):
                return parsed
            return [None if p is None else float(p) for p in parsed]
        if not numbers:
            return [c or None for c in cells]
        if all(p is None for p in parsed):
            return None
        line, cell = next((ln, c) for ln, c, p in zip(self.lines, cells, parsed) if c and p is None)
        raise InputFileError(self.label, line, self.header[index].strip(),
                             f"{cell!r} is not a number; expected a score such as 0.25 (leave the cell empty for "
                             "an account without one)", unit=self.unit)


def _number(text: str):
    """``text`` as an int (plain integers) or a finite float, else ``None``."""
    import math
    import re

    if re.fullmatch(r"[+-]?[0-9]+", text):
        value = int(text)
        return value if -(2**63) <= value < 2**63 else float(value)
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _read_scores(paths: List[Path]) -> tuple[dict, dict, list]:
    """Measures by name (``score_<column>``): ``{account text id: value}``; the text columns skipped by file;
    the tables read."""
    from graphcrm.loaders.csvsafe import unescape_cell

    measures: dict[str, dict] = {}
    origin: dict[str, str] = {}
    skipped: dict[str, list] = {}
    tables = []
    for path in paths:
        table = _Table(path, "a measure such as pagerank", unique=True)
        tables.append(table)
        for index, name in enumerate(table.header):
            if index == table.id_i or table.names[index] == "rank":
                continue
            name = unescape_cell(name.strip())
            values = table.values(index, numbers=True)
            if values is None:
                skipped.setdefault(table.label, []).append(name)
                continue
            prop = f"score_{name}"
            if prop in measures:
                raise ParameterError(f"measure '{name}' is in both {origin[prop]} and {table.label}: give it once")
            origin[prop] = table.label
            measures[prop] = {a: v for a, v in zip(table.ids, values) if v is not None}
    return measures, skipped, tables


@neo4j_app.command("write-back")
def write_back(
    scores: List[Path] = typer.Option([], "--scores", help="Score table (account_id, <measure>[, rank]) as "
                                                           "written by `graphcrm rank`; each numeric column "
                                                           "becomes score_<measure>. Repeatable."),
    partition: Optional[Path] = typer.Option(None, "--partition", help="account_id,community table."),
    segments: Optional[Path] = typer.Option(None, "--segments", help="account_id,segment table (a segments "
                                            "export: an account in several segments gets them all, its labels "
                                            "from the kind column)."),
    leaders: Optional[Path] = typer.Option(None, "--leaders", help="Table whose account_ids get :OpinionLeader."),
    changed_only: bool = typer.Option(False, "--changed-only", help="Read the stored values first and write only "
                                                                  "the accounts whose values or labels changed "
                                                                  "(nightly runs)."),
    uri: str = URI, user: str = USER, database: str = DATABASE, batch_size: int = BATCH, as_json: bool = JSON,
):
    """Write scores, communities, segments and opinion-leader flags onto accounts (stale ones removed).

    Ids are read as text and matched to the store's ids (integers where the store has them); a row with an
    empty id is rejected and counted, a measure cell that is not a number or an id listed twice is an error.

    Example: graphcrm neo4j write-back --leaders leaders.csv --partition communities.csv --changed-only
    """
    import pandas as pd

    if not (scores or partition or segments or leaders):
        raise ParameterError("nothing to write: give --scores, --partition, --segments and/or --leaders")
    columns, skipped, tables = _read_scores(scores)          # every file is read and checked before connecting
    segment_of = None
    leader_ids = None
    if partition:
        table = _Table(partition, "community", unique=True)
        values = table.values(table.column("a partition file", "community", "community_id"), numbers=False)
        columns["community"] = {a: v for a, v in zip(table.ids, values) if v is not None}
        tables.append(table)
    if segments:                # an account may be in several segments (a segments export lists each)
        table = _Table(segments, "segment", unique=False)
        values = table.cells(table.column("a segments file", "segment"))
        kinds = table.cells(table.names.index("kind")) if "kind" in table.names else values
        segment_of, kind_of = {}, {}
        for a, v, k in zip(table.ids, values, kinds):
            segment_of.setdefault(a, [])
            kind_of.setdefault(a, [])
            if v and v not in segment_of[a]:
                segment_of[a].append(v)
                kind_of[a].append(k)
        tables.append(table)
    if leaders:
        table = _Table(leaders, "any other columns", unique=False)
        leader_ids = list(dict.fromkeys(table.ids))
        tables.append(table)
    rejected = sum(len(t.rejected) for t in tables)
    with neo4j_store(uri, user, database, batch_size) as store, step("writing back"):
        texts = {a for values in columns.values() for a in values} | set(segment_of or ()) | set(leader_ids or ())
        key = store.keys_of(sorted(texts))
        order = list(dict.fromkeys(key[a] for values in columns.values() for a in values))
        index = pd.Index(order, dtype=object)
        props = pd.DataFrame(index=index)
        for name, values in columns.items():
            by_key = {key[a]: v for a, v in values.items()}
            props[name] = pd.Series([by_key.get(k) for k in order], index=index, dtype=object)
        kwargs = {"properties": props}
        if segment_of is not None:
            index = pd.Index([key[a] for a in segment_of], dtype=object)
            kwargs["segments"] = pd.Series([segment_of[a] for a in segment_of], dtype=object, index=index)
            kwargs["segment_kinds"] = pd.Series([kind_of[a] for a in segment_of], dtype=object, index=index)
        if leader_ids is not None:
            kwargs["leaders"] = [key[a] for a in leader_ids]
        report = store.write_back(**kwargs, changed_only=changed_only)
    report["rejected_ids"] += rejected
    if skipped:
        report["skipped_columns"] = skipped
    note = "".join(f"; not numbers, not written: {', '.join(cols)} of {f}" for f, cols in skipped.items())
    emit({"uri": uri, "database": database, **report}, as_json,
          f"wrote back to {uri} ({database}): properties {report['properties']}; labels {report['labels']}; "
          f"{report['missing_ids']} ids not in the store, {report['rejected_ids']} rejected{note}")


@neo4j_app.command()
def erase(
    account: str = typer.Option(..., "--account", help="Account id to remove with all its relationships."),
    id_type: str = typer.Option("auto", "--id-type", help="auto (a plain integer such as 42 is looked for as an "
                                                          "integer, then as text; 007 is text) | int | str."),
    uri: str = URI, user: str = USER, database: str = DATABASE, as_json: bool = JSON,
):
    """Remove one account and its relationships from Neo4j; says what was removed (an id found nowhere: exit 1).

    Example: graphcrm neo4j erase --account 14454
    """
    from graphcrm.loaders.errors import NodeNotFoundError
    from graphcrm.loaders.neo4j_rows import int_id

    if id_type not in ("auto", "int", "str"):
        raise ParameterError(f"--id-type must be auto, int or str, got {id_type!r}")
    if id_type == "int":
        try:
            keys: list = [int(account)]
        except ValueError:
            raise ParameterError(f"--account {account!r} is not an integer") from None
    elif id_type == "auto" and int_id(account) is not None:
        keys = [int_id(account), account.strip()]   # the id rule first; a store loaded with text ids has "7"
    else:
        keys = [account]
    with neo4j_store(uri, user, database) as store:
        for key in keys:
            report = store.erase_account(key)
            if report["accounts_removed"]:
                break
    if not report["accounts_removed"]:
        tried = " or ".join("an integer" if isinstance(k, int) else "text" for k in keys)
        raise NodeNotFoundError(f"account {account!r} found nowhere in {uri} ({database}), looked for as {tried}: "
                                "nothing erased (erased before, or a mistyped id?)")
    emit(report, as_json, f"removed {report['accounts_removed']} account(s) {report['account']!r} and relationships "
          f"{report['relationships_removed'] or 'none'} from {uri} ({database})")


@db_app.command()
def serve(
    root: Path = typer.Option(Path("graphcrm-db"), "--root", help="Server data directory (kept between runs)."),
    port: int = typer.Option(7687, "--port", help="Bolt port on 127.0.0.1."),
    database: str = typer.Option("graphcrm", "--database", help="Database to create."),
):
    """Run a local Bolt server (ArcadeDB) until Ctrl-C; user 'root', password from GRAPHCRM_NEO4J_PASSWORD.

    Example: graphcrm db serve --port 7687
    """
    from graphcrm.loaders.bolt_server import serve as run

    password = neo4j_password()
    typer.echo(f"serving bolt://127.0.0.1:{port} database '{database}' (user root) from {root}; Ctrl-C stops",
               err=True)
    run(root, password, bolt_port=port, database=database)
