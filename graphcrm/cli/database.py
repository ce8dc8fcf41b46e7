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

from graphcrm.cli.common import AS_OF, Timer, emit, neo4j_password, neo4j_store, open_snapshot, read_escaped_csv
from graphcrm.loaders.errors import ParameterError
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

    Example: graphcrm neo4j pull --out graphs/from-neo4j --uri bolt://localhost:7687
    """
    from graphcrm.loaders.snapshot import save_snapshot

    timer = Timer()
    with neo4j_store(uri, user, database) as store, step(f"pulling from {uri}"):
        graph = store.pull(layer or None, start=start, end=end, label=label)
    save_snapshot(graph, out)
    summary = {"out": str(out), "uri": uri, "database": database, "nodes": graph.n_nodes,
               "edges": {k: v.n_edges for k, v in graph.layers.items()},
               "seconds": timer.seconds()}
    emit(summary, as_json, f"wrote {out}: {graph}")


def _read(path: Path):
    import pandas as pd

    frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else read_escaped_csv(path)
    cols = {str(c).lower(): c for c in frame.columns}
    id_col = cols.get("account_id") or cols.get("id")
    if id_col is None:
        raise ParameterError(f"{path}: needs an account_id column (found: {', '.join(map(str, frame.columns))})")
    return frame.set_index(id_col)


@neo4j_app.command("write-back")
def write_back(
    scores: List[Path] = typer.Option([], "--scores", help="Score table (account_id, <measure>[, rank]) as "
                                                           "written by `graphcrm rank`; each measure becomes "
                                                           "score_<measure>. Repeatable."),
    partition: Optional[Path] = typer.Option(None, "--partition", help="account_id,community table."),
    segments: Optional[Path] = typer.Option(None, "--segments", help="account_id,segment table."),
    leaders: Optional[Path] = typer.Option(None, "--leaders", help="Table whose account_ids get :OpinionLeader."),
    changed_only: bool = typer.Option(False, "--changed-only", help="Read the stored values first and write only "
                                                                  "the accounts whose values or labels changed "
                                                                  "(nightly runs)."),
    uri: str = URI, user: str = USER, database: str = DATABASE, batch_size: int = BATCH, as_json: bool = JSON,
):
    """Write scores, communities, segments and opinion-leader flags onto accounts (stale ones removed).

    Example: graphcrm neo4j write-back --leaders leaders.csv --partition communities.csv --changed-only
    """
    import pandas as pd

    from graphcrm.tables import read_partition

    if not (scores or partition or segments or leaders):
        raise ParameterError("nothing to write: give --scores, --partition, --segments and/or --leaders")
    props = pd.DataFrame()
    for path in scores:
        frame = _read(path)
        for column in frame.columns:
            if str(column).lower() != "rank" and pd.api.types.is_numeric_dtype(frame[column]):
                props = props.join(frame[column].rename(f"score_{column}"), how="outer")
    kwargs = {"properties": props}
    if partition:
        kwargs["partition"] = read_partition(partition)
    if segments:
        frame = _read(segments)
        if "segment" not in frame.columns:
            raise ParameterError(f"{segments}: needs a segment column")
        kwargs["segments"] = frame["segment"]
    if leaders:
        kwargs["leaders"] = _read(leaders).index.tolist()
    with neo4j_store(uri, user, database, batch_size) as store, step("writing back"):
        report = store.write_back(**kwargs, changed_only=changed_only)
    emit({"uri": uri, "database": database, **report}, as_json,
          f"wrote back to {uri} ({database}): properties {report['properties']}; labels {report['labels']}; "
          f"{report['missing_ids']} ids not in the store, {report['rejected_ids']} rejected")


@neo4j_app.command()
def erase(
    account: str = typer.Option(..., "--account", help="Account id to remove with all its relationships."),
    id_type: str = typer.Option("auto", "--id-type", help="auto (digits are integers) | int | str."),
    uri: str = URI, user: str = USER, database: str = DATABASE, as_json: bool = JSON,
):
    """Remove one account and its relationships from Neo4j; says what was removed.

    Example: graphcrm neo4j erase --account 14454
    """
    if id_type not in ("auto", "int", "str"):
        raise ParameterError(f"--id-type must be auto, int or str, got {id_type!r}")
    key: object = account
    if id_type == "int" or (id_type == "auto" and account.strip().lstrip("-").isdigit()):
        try:
            key = int(account)
        except ValueError:
            raise ParameterError(f"--account {account!r} is not an integer") from None
    with neo4j_store(uri, user, database) as store:
        report = store.erase_account(key)
    emit(report, as_json, f"removed {report['accounts_removed']} account(s) '{key}' and relationships "
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
