"""What every verb of the ``graphcrm`` command line shares: output, options, snapshots, timing.

Each verb module (:mod:`graphcrm.cli.load`, :mod:`~graphcrm.cli.scores`, ...) imports this module and
nothing else of the CLI; :mod:`graphcrm.cli` registers the verbs.  Heavy imports stay inside the verb
functions, so ``graphcrm --help`` does not load numba, igraph or pandas.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Callable, Iterator, Sequence

import typer

from graphcrm.loaders.errors import ParameterError

#: ``--json`` on every verb
JSON = typer.Option(False, "--json", help="Print a JSON summary.")
#: ``--layer`` on every verb that scores or simulates
LAYER = typer.Option(None, "--layer", help="Layer (default: combined interaction strength, else follows).")
#: ``--as-of`` on every verb that reads a snapshot
AS_OF = typer.Option(None, "--as-of", help="Read an earlier version of the snapshot: a version number "
                                           "('graphcrm info' lists them) or a time (the version current then).")
#: ``--topic`` on the verbs that read interactions (rank, communities, simulate, plan, reach, segments)
TOPIC = typer.Option(None, "--topic", help="Only the events of this topic or hashtag (comma-separated: any of "
                                           "them); accounts and ids are kept. 'graphcrm info' lists the topics.")
#: ``--seed`` on every verb with randomness
SEED = typer.Option(0, "--seed", help="Random seed (same seed, same output).")


def registry_parser(names: Callable[[], Sequence[str]], option: str) -> Callable[[str], str]:
    """A typer ``parser`` that accepts only the names a registry holds, read when the option is used.

    ``graphcrm --help`` and the other verbs never import the registry's modules.

    Examples
    --------
    >>> parse = registry_parser(lambda: ("auto", "pagerank"), "--method")
    >>> parse("pagerank")
    'pagerank'
    >>> try:
    ...     parse("nope")
    ... except typer.BadParameter as exc:
    ...     print(exc)
    'nope': expected one of auto, pagerank
    """

    def parse(value: str) -> str:
        known = tuple(names())
        if value not in known:
            raise typer.BadParameter(f"{value!r}: expected one of {', '.join(known)}", param_hint=option)
        return value

    return parse


class Mode(str, Enum):
    strict = "strict"
    lenient = "lenient"


class SelfLoops(str, Enum):
    drop = "drop"
    keep = "keep"
    error = "error"


def emit(summary: dict, as_json: bool, human: str) -> None:
    """Print the verb's result: ``summary`` as JSON with ``--json``, else the human text.

    Examples
    --------
    >>> emit({"rows": 3}, True, "wrote 3 rows")
    {
      "rows": 3
    }
    >>> emit({"rows": 3}, False, "wrote 3 rows")
    wrote 3 rows
    """
    typer.echo(json.dumps(_strict(summary), indent=2, default=str, allow_nan=False) if as_json else human)


def _strict(value):
    """``value`` with every NaN or infinite float replaced by None: strict JSON (an interval from one run is
    unknown, ``null``, not ``-Infinity``).

    Examples
    --------
    >>> _strict({"ci95": [float("-inf"), float("inf")], "n": [1, 2.5]})
    {'ci95': [None, None], 'n': [1, 2.5]}
    """
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


class Timer:
    """Seconds since the verb started, rounded as every summary reports them.

    Examples
    --------
    >>> t = Timer()
    >>> 0.0 <= t.seconds() < 5.0
    True
    """

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 3)


def read_escaped_csv(path, **kwargs):
    """:func:`graphcrm.loaders.csvsafe.read_csv` (CSV graphcrm wrote, formula escapes undone), imported on use
    so that ``graphcrm --help`` does not load pandas."""
    from graphcrm.loaders.csvsafe import read_csv

    return read_csv(path, **kwargs)


def snapshot_dir(path: Path, as_of: str | None = None, option: str = "--as-of") -> Path:
    """The directory of the version of snapshot ``path`` that ``--as-of`` (or ``option``) names (``None``: the
    current one)."""
    from graphcrm.loaders.snapshot import version_path

    return version_path(path, as_of, option)


def earlier_version(snapshot: Path, as_of: str | None, since: str, purpose: str) -> int:
    """The version ``--since`` names, checked to be earlier than the one read (``--as-of``, else the current);
    errors name ``--since`` (exit 2).  ``purpose`` ends the message: what the earlier version is for."""
    from graphcrm.loaders.errors import ParameterError
    from graphcrm.loaders.snapshot import read_manifest

    then = int(read_manifest(snapshot_dir(snapshot, since, "--since")).get("version", 1))     # none: names --since
    now = int(read_manifest(snapshot_dir(snapshot, as_of)).get("version", 1))
    if then >= now:
        read = f"--as-of {as_of} (version {now})" if as_of is not None else f"the current version ({now})"
        raise ParameterError(f"--since {since} (version {then}) is not earlier than {read}: --since names the "
                             f"earlier version {purpose}")
    return then


def open_snapshot(path: Path, as_of: str | None = None, topic: str | None = None, option: str = "--as-of"):
    """The :class:`~graphcrm.loaders.SocialGraph` saved in ``path`` (checked as it opens), or an earlier version
    (``as_of``, given as ``option``); with ``topic`` (``--topic``) restricted to the events of that topic (see
    :func:`restrict_topic`)."""
    from graphcrm.loaders.snapshot import load_snapshot

    return restrict_topic(load_snapshot(snapshot_dir(path, as_of, option)), topic)


def restrict_topic(graph, topic: str | None):
    """``graph`` with its event layers restricted to the events of ``topic`` (``--topic``); unchanged for None.

    A comma-separated ``topic`` keeps the events of any of the topics.  See
    :func:`graphcrm.loaders.topics.topic_graph`.
    """
    if topic is None:
        return graph
    from graphcrm.loaders.topics import topic_graph

    topics = [t.strip() for t in topic.split(",") if t.strip()]
    if not topics:
        raise ParameterError("--topic needs a topic or hashtag, e.g. --topic brand")
    return topic_graph(graph, topics if len(topics) > 1 else topics[0])


def open_layer(graph, layer: str | None):
    """The layer a verb works on: the one named, else the graph's default (see ``SocialGraph.resolve_layer``)."""
    return graph.resolve_layer(layer)


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def parse_bytes(text: str) -> int:
    """``"512MB"``, ``"2GiB"``, ``"1000000"`` -> bytes.

    Examples
    --------
    >>> parse_bytes("2GiB"), parse_bytes("512 MB"), parse_bytes("1000")
    (2147483648, 512000000, 1000)
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise ParameterError(f"--max-memory {text!r}: expected a size such as 512MB or 2GiB")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def dask_client(address: str):
    """A Dask client for ``--scheduler tcp://...``, or a one-line error."""
    try:
        from distributed import Client
    except ImportError:
        raise ParameterError("--scheduler needs Dask: pip install 'graphcrm[dask]'") from None
    try:
        return Client(address, timeout=10)
    except OSError as exc:
        raise ParameterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


PASSWORD_ENV = "GRAPHCRM_NEO4J_PASSWORD"


def neo4j_password() -> str:
    """The Neo4j password from ``GRAPHCRM_NEO4J_PASSWORD``, else asked for on a terminal."""
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return password
    if not sys.stdin.isatty():
        raise ParameterError(f"no password: set {PASSWORD_ENV} (or run interactively to be prompted)")
    return typer.prompt("Neo4j password", hide_input=True)


@contextmanager
def neo4j_store(uri: str, user: str, database: str, batch_size: int = 5000) -> Iterator:
    """An open, checked :class:`~graphcrm.loaders.neo4j_store.Neo4jStore`, closed on leaving."""
    from graphcrm.loaders.neo4j_store import Neo4jStore

    store = Neo4jStore(uri, user, neo4j_password(), database, batch_size=batch_size)
    try:
        store.check()
        yield store
    finally:
        store.close()


def stored_forecast(snapshot: Path, graph, layer: str | None, horizon: int | None):
    """The forecast model stored by ``graphcrm forecast`` when it still fits the snapshot, else None."""
    from graphcrm.algorithms.forecast import default_target_layer
    from graphcrm.forecast_leaders import has_interaction_log
    from graphcrm.forecast_store import load_model

    if not has_interaction_log(graph):
        return None
    name = layer or default_target_layer(graph)
    if name not in graph.layers:
        return None
    return load_model(snapshot, graph, name, horizon)[0]


#: options that name a file a command writes (besides every ``--...-out``)
OUTPUT_OPTIONS = ("--out", "--rejects", "--review", "--output-dir")


def protect_inputs(app) -> None:
    """Make every command of ``app`` (and of its sub-groups) refuse an output option that names one of the
    files it reads: ``load --edges in.csv --rejects in.csv`` would replace the user's data with the rejects
    report.  Outputs are ``--out``, ``--rejects`` and every ``--...-out``; inputs are the other path values
    that are existing files.  The check runs before the command does any work (exit 2)."""
    for info in app.registered_commands:
        info.callback = _refusing_outputs_over_inputs(info.callback)
    for group in app.registered_groups:
        protect_inputs(group.typer_instance)


def _refusing_outputs_over_inputs(func):
    import functools
    import inspect

    signature = inspect.signature(func)
    outputs = {}
    for name, parameter in signature.parameters.items():
        flags = [d for d in (getattr(parameter.default, "param_decls", None) or ()) if d.startswith("--")]
        flag = next((f for f in flags if f in OUTPUT_OPTIONS or f.endswith("-out")), None)
        if flag:
            outputs[name] = flag

    @functools.wraps(func)
    def checked(*args, **kwargs):
        given = signature.bind_partial(*args, **kwargs).arguments
        read = {}
        for name, value in given.items():
            if name in outputs:
                continue
            for path in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(path, Path) and path.is_file():
                    read.setdefault(path.resolve(), path)
        named = {}
        for name, option in outputs.items():
            path = given.get(name)
            if not isinstance(path, Path):
                continue
            resolved = path.resolve()
            if resolved in read:
                raise ParameterError(f"{option} {path} is a file this command reads ({read[resolved]}): "
                                     "writing it would replace your data; give the output another name")
            if resolved in named:
                raise ParameterError(f"{named[resolved]} and {option} name the same file {path}: give each output "
                                     "its own file")
            named[resolved] = option
            from graphcrm.loaders.snapshot import snapshot_holding

            inside = snapshot_holding(resolved)
            if inside is not None:
                raise ParameterError(f"{option} {path} is inside the snapshot {inside}: writing there would damage "
                                     "it; write outside the snapshot's directory")
        return func(*args, **kwargs)

    return checked
