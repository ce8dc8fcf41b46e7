"""``graphcrm run PIPELINE.toml``: the nightly batch job, declared in one file.

A pipeline file names its sources, the steps to run with their parameters,
and where the outputs go (see ``examples/pipeline.toml``)::

    [pipeline]
    name = "nightly"
    seed = 1
    output_dir = "out/nightly"        # relative paths: relative to this file; $VARS are expanded
    format = "parquet"                # or "csv"
    pseudonymise = false              # true: account ids -> HMAC pseudonyms (salt: $GRAPHCRM_PSEUDONYM_SALT
                                      #       or salt_file = "..."; never written)
    [sources]
    interactions = ["events.csv"]     # also: edges = [{path = "...", layer = "follows"}], signed, nodes
    customers = "crm/customers.csv"
    accounts = "crm/accounts.csv"
    mode = "strict"                   # or "lenient": bad rows to rejects.csv
    [steps.link]         target_precision = 0.98   # or threshold = 0.9
    [steps.leaders]      top = 50      # exclude_low_quality = true: no flagged account or bought audience
                                       # method = "auto" (as graphcrm rank: the validated forecast where the
                                       # log allows, else "combined"); horizon = "2d" for the forecast
    [steps.communities]  method = "leiden"
    [steps.segments]     config = "segments.toml"
    [steps.economics]    top = 10, costs = "costs.csv"

Steps run in a fixed order -- load, link, leaders, communities, segments,
economics -- each only if its table is present.  Every output is written to
a staging directory beside ``output_dir``; only when every step has
succeeded is the staging directory swapped in, so a failed run leaves the
previous outputs untouched.  A run killed part-way (kill -9, power loss)
leaves its staging directory behind, or -- killed inside the swap -- the old
outputs under another name; the next run removes the first and puts the
second back before it starts (:func:`_recover`).  ``output_dir`` then holds ``snapshot/``, one
export per step (``links``, ``review``, ``leaders``, ``communities``,
``segments``, ``economics``, with ``.schema.json`` beside each) and
``run_summary.json`` (counts, timings).

Nightly reruns (the output directory holds an earlier run) build on that run:
the snapshot gets only the new source files (:func:`_load_step`), the leaders step keeps the scorer of
the earlier run while it stays within noise of the night's winner
(:func:`~graphcrm.forecast_leaders.keep_or_choose_scorer`), Leiden
starts from the earlier communities when the graph was appended to and keeps
their ids where membership allows (``stable_labels``), and ``segment_changes``
says who entered, left or stayed in each segment since the earlier run.  The
earlier run's communities and segments are kept for this in ``state/``, per
snapshot version, with the accounts' own ids (like the snapshot; the exports
are what a CRM sees).  A retried run (nothing new to append) starts from the
same earlier tables as the first try and writes the same bytes.

Exit codes (CLI): 0 ok; 1 bad input data or a failed step; 2 invalid
pipeline file (:class:`~graphcrm.loaders.errors.ConfigError`).
"""

from __future__ import annotations

import codecs
import inspect
import json
import math
import os
import re
import shutil
import socket
import time
import tomllib
from pathlib import Path

import pandas as pd

from graphcrm.crm._config import Key, check_table, unknown_key
from graphcrm.loaders.csvsafe import read_csv as read_escaped_csv
from graphcrm.loaders.errors import ConfigError, GraphCRMError, InputFileError, ParameterError
from graphcrm.loaders.snapshot import pid_alive, save_snapshot
from graphcrm.ranking import LEADER_METHODS

GRAPH_SOURCES = ("edges", "interactions", "signed", "nodes")
SUMMARY = "run_summary.json"
#: in a staging directory while the run is on: its pid and host (what a later run checks before cleaning up)
OWNER = ".graphcrm-run"
#: tables of this run the next run starts from (raw account ids, never pseudonymised)
STATE = "state"


def _horizon(value) -> int:
    from graphcrm.backtest import parse_horizon

    return parse_horizon(str(value))


def _codec(name) -> None:
    try:
        codecs.lookup(name)
    except LookupError:
        raise ParameterError(f"unknown encoding {name!r}; use a Python codec name such as 'utf-8' or 'latin-1'") \
            from None


#: ``[pipeline]`` and ``[sources]`` (the graph sources are checked per entry, against their reader)
PIPELINE_KEYS = {"name": Key("text"), "seed": Key("int", default=0, low=0), "output_dir": Key("path", required=True),
                 "format": Key("choice", default="parquet", choices=("parquet", "csv")),
                 "pseudonymise": Key("bool", default=False), "salt_file": Key("path"),
                 "keep_versions": Key("int", low=0)}
SOURCE_KEYS = {**{kind: Key("any", what="a path, {path = ...} or a list of them") for kind in GRAPH_SOURCES},
               "customers": Key("path"), "accounts": Key("path"),
               "mode": Key("choice", default="strict", choices=("strict", "lenient")),
               "encoding": Key("text", default="utf-8", parse=_codec), "allow_empty": Key("bool", default=False)}
#: ``[steps.NAME]``: every key a step takes, its type, range or choices and default (see the README's table)
STEP_KEYS = {
    "link": {"target_precision": Key("number", default=0.98, above=0, high=1),
             "threshold": Key("number", above=0, high=1), "review_floor": Key("number", default=0.3, low=0, high=1)},
    "leaders": {"top": Key("int", default=50, low=1), "method": Key("choice", default="auto", choices=LEADER_METHODS),
                "horizon": Key("value", parse=_horizon, what="a duration of 5 minutes or more, like '2d'"),
                "exclude_low_quality": Key("bool", default=False), "reach_samples": Key("int", default=20_000, low=1)},
    "communities": {"method": Key("choice", default="leiden", choices=("leiden", "louvain")),
                    "resolution": Key("number", default=1.0, above=0)},
    "segments": {"config": Key("path", required=True), "reach_samples": Key("int", default=20_000, low=1)},
    "economics": {"top": Key("int", default=10, low=1), "costs": Key("path"), "n_runs": Key("int", default=1000, low=1)},
}
STEPS = tuple(STEP_KEYS)


def _text(v) -> bool:
    return isinstance(v, str) and v != ""


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _names(v) -> bool:
    return ((isinstance(v, list) and all(_text(x) for x in v))
            or (isinstance(v, dict) and all(_text(k) and _text(x) for k, x in v.items())))


#: what each reader option of a ``[sources]`` entry takes, checked before anything runs (a wrong type reached
#: the readers as a Python error)
SOURCE_OPTION_TYPES = {
    "layer": (_text, "a layer name (text)"),
    "format": (_text, "a format name (text)"),
    "columns": (_names, "a list of column names or a table of role = column name"),
    "header": (lambda v: isinstance(v, bool) or v == "auto", 'true, false or "auto"'),
    "delimiter": (_text, "one character (text)"),
    "direction": (lambda v: _text(v) or (isinstance(v, dict) and all(_text(x) for x in v.values())),
                  'a direction ("forward" or "reverse") or a table of type = direction'),
    "aggregate": (_text, "an aggregation name (text)"),
    "self_loops": (_text, '"drop", "keep" or "error"'),
    "skip_rows": (_whole, "a whole number >= 0"),
    "undirected": (lambda v: isinstance(v, bool), "true or false (a TOML boolean)"),
    "topic_rules": (lambda v: _text(v) or isinstance(v, dict), "a topic rules file (path) or a table of rules"),
    "sentiment_from_text": (lambda v: isinstance(v, bool), "true or false (a TOML boolean)"),
    "id_column": (_text, "a column name (text)"),
}


def _source_option_ok(option: str, value) -> bool:
    """Whether a ``[sources]`` entry's reader option has a type its reader takes (unknown options pass: the
    reader's signature lists them, :func:`_reader_keys`)."""
    check = SOURCE_OPTION_TYPES.get(option)
    return check is None or check[0](value)


def _reader_keys(kind: str) -> list[str]:
    """The options a ``[sources]`` entry of ``kind`` may give: its reader's, less mode and encoding (the
    pipeline's own)."""
    from graphcrm import loaders

    reader = getattr(loaders, f"read_{kind}")
    options = inspect.signature(reader).parameters
    return ["path"] + [k for k, p in options.items() if p.kind is p.KEYWORD_ONLY and k not in ("mode", "encoding")]


def read_pipeline(path, *, output_dir=None) -> dict:
    """Parse and check a pipeline file; paths become absolute (relative to the file's folder).

    ``output_dir`` (``graphcrm run --output-dir``) replaces the file's ``pipeline.output_dir`` before that is
    resolved, so a ``$VARIABLE`` there need not be set.

    Every table is checked against its schema (:data:`PIPELINE_KEYS`, :data:`SOURCE_KEYS`, :data:`STEP_KEYS`)
    and every file it names must exist, so a bad file fails here, before anything is read or written.

    Raises
    ------
    ConfigError
        Not TOML, unknown tables or keys, missing ``output_dir`` or sources, a value of the wrong type or
        out of range, an unset ``$VARIABLE`` in a path, a named file that does not exist, an invalid segments
        file.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(path, None, "is a directory; expected a pipeline TOML file")
    if not path.is_file():
        raise ConfigError(path, None, "no such pipeline file")
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"not valid TOML: {exc}") from None
    for table in config:
        if table not in ("pipeline", "sources", "steps"):
            raise unknown_key(path, table, table, ["pipeline", "sources", "steps.*"], what="table")
    base = path.parent.resolve()
    inputs = []         # (file, key): every file the pipeline reads, checked last

    def resolve(value, key, read=True):
        for var in re.findall(r"\$(\w+|\{[^}]*\})", value):
            if var.strip("{}") not in os.environ:
                raise ConfigError(path, key, f"${var.strip('{}')} is not set (in {value!r}); set it or write the path "
                                  "out")
        p = Path(os.path.expandvars(value)).expanduser()
        p = Path(os.path.normpath(p if p.is_absolute() else (base / p)))
        if read:
            inputs.append((p, key))
        return p

    pipe = check_table(_table(path, config, "pipeline"), PIPELINE_KEYS, source=path, prefix="pipeline")
    pipe["output_dir"] = (Path(os.path.abspath(output_dir)) if output_dir is not None
                          else resolve(pipe["output_dir"], "pipeline.output_dir", read=False))
    pipe.setdefault("name", path.stem)
    if "salt_file" in pipe:
        pipe["salt_file"] = resolve(pipe["salt_file"], "pipeline.salt_file")
    sources = check_table(_table(path, config, "sources"), SOURCE_KEYS, source=path, prefix="sources")
    graph_sources = []
    for kind in GRAPH_SOURCES:
        entries = sources.get(kind, [])
        entries = entries if isinstance(entries, list) else [entries]
        for i, entry in enumerate(entries):
            key = f"sources.{kind}[{i}]"
            if not isinstance(entry, (str, dict)):
                raise ConfigError(path, key, f"expected a path or {{path = ...}}, got {entry!r}")
            entry = {"path": entry} if isinstance(entry, str) else dict(entry)
            if "path" not in entry:
                raise ConfigError(path, key, "needs a path")
            allowed = _reader_keys(kind)
            for option in entry:
                if option not in allowed:
                    raise unknown_key(path, f"{key}.{option}", option, allowed, what=f"option of a {kind} source")
            if not isinstance(entry["path"], str) or not entry["path"]:
                raise ConfigError(path, f"{key}.path", f"expected a path (text), got {entry['path']!r}")
            entry["path"] = resolve(entry["path"], key)
            for option, value in entry.items():
                if option != "path" and not _source_option_ok(option, value):
                    raise ConfigError(path, f"{key}.{option}", f"expected {SOURCE_OPTION_TYPES[option][1]}, got "
                                      f"{value!r}")
            if isinstance(entry.get("topic_rules"), str):        # a rules file: relative to the pipeline file
                entry["topic_rules"] = resolve(entry["topic_rules"], f"{key}.topic_rules")
            graph_sources.append((kind, entry))
    if not graph_sources:
        raise ConfigError(path, "sources", "no graph source: give edges, interactions, signed or nodes")
    for key in ("customers", "accounts"):
        if key in sources:
            sources[key] = resolve(sources[key], f"sources.{key}")
    steps = _table(path, config, "steps")
    for name, params in steps.items():
        if name not in STEP_KEYS:
            raise unknown_key(path, f"steps.{name}", name, STEPS, what="step")
        if not isinstance(params, dict):
            raise ConfigError(path, f"steps.{name}", "expected a table of parameters")
        steps[name] = check_table(params, STEP_KEYS[name], source=path, prefix=f"steps.{name}")
    if "link" in steps and not ("customers" in sources and "accounts" in sources):
        raise ConfigError(path, "steps.link", "linking needs sources.customers and sources.accounts")
    link = steps.get("link", {})
    if link.get("threshold") is not None and link["review_floor"] > link["threshold"]:    # checked now, not mid-run
        raise ConfigError(path, "steps.link.review_floor",
                          f"{link['review_floor']} is above threshold = {link['threshold']}; expected review_floor "
                          "<= threshold (pairs between the two go to the review queue)")
    if "segments" in steps:
        steps["segments"]["config"] = resolve(steps["segments"]["config"], "steps.segments.config")
    if "economics" in steps and "costs" in steps["economics"]:
        steps["economics"]["costs"] = resolve(steps["economics"]["costs"], "steps.economics.costs")
    if "leaders" in steps:
        horizon = steps["leaders"].get("horizon")
        steps["leaders"]["horizon"] = None if horizon is None else _horizon(horizon)
    if "economics" in steps and "leaders" not in steps:
        raise ConfigError(path, "steps.economics", "economics prices the leader list: add [steps.leaders]")
    out = Path(os.path.realpath(pipe["output_dir"]))
    for file, key in inputs:
        if not file.exists():
            raise ConfigError(path, key, f"{file}: no such file")
        if file.is_dir():
            raise ConfigError(path, key, f"{file}: is a directory, expected a file")
        if out in Path(os.path.realpath(file)).parents:
            raise ConfigError(path, key, f"{file} is inside pipeline.output_dir ({pipe['output_dir']}), which every "
                              "run replaces as a whole: the file would be deleted; keep inputs outside it")
    from graphcrm.loaders.snapshot import snapshot_holding

    holder = snapshot_holding(out)
    if holder is None:
        holder = next((p for p in out.parents if (p / "run_summary.json").is_file()), None)
    if holder is not None:
        raise ConfigError(path, "pipeline.output_dir", f"{pipe['output_dir']} is inside {holder}, a snapshot or "
                          "another pipeline's output, which replaces or prunes what it holds; write elsewhere")
    if "segments" in steps:
        from graphcrm.crm.segments import read_segments_config

        read_segments_config(steps["segments"]["config"])     # its own errors name the segments file and key
    return {"path": path, "pipeline": pipe, "graph_sources": graph_sources, "sources": sources, "steps": steps}


def _table(path, config: dict, name: str) -> dict:
    """``config[name]`` (empty if absent), which must be a table."""
    table = config.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(path, name, f"expected a table [{name}], got {table!r}")
    return dict(table)


def _json_safe(value):
    """``value`` with NaN and infinities as None (``run_summary.json`` stays strict JSON).

    >>> _json_safe({"spearman": float("nan"), "overlaps": [0.5, float("inf")], "scorer": "forecast"})
    {'spearman': None, 'overlaps': [0.5, None], 'scorer': 'forecast'}
    """
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _keep_nightly_scorer(leader_lists, state, horizon, seed):
    """Decide the scorer of the ``auto`` leader lists of this fit (horizon, seed): the night's winner, or the
    earlier run's while it is within noise of it (:func:`~graphcrm.forecast_leaders.keep_or_choose_scorer`),
    recorded for the next run and for retries; the fit keeps the earlier run's recent-engagement half-life
    unless another is clearly better (``keep_decay`` of :func:`~graphcrm.algorithms.forecast.fit_forecast`).  Returns the fitted model (None where the log cannot support
    a forecast)."""
    leader_lists.keep_decay(state.earlier("leader_decay"))     # and the half-life of its recent engagement
    model = leader_lists.model(horizon=horizon, seed=seed)
    if model is None:
        return None
    from graphcrm.forecast_leaders import keep_or_choose_scorer

    state.decided("leader_decay", model.decay_feature)

    earlier = state.earlier("leader_scorer")
    kept = state.decided("leader_scorer", list(keep_or_choose_scorer(model, earlier[0] if earlier else None)))
    leader_lists.keep_scorer(kept[0], kept[1], horizon=horizon, seed=seed)
    return model


def run_pipeline(path, *, output_dir=None, full: bool = False) -> dict:
    """Run a pipeline file; return the run summary (also written to ``output_dir/run_summary.json``).

    ``output_dir`` overrides the file's ``pipeline.output_dir``.  When an earlier run left its snapshot
    there, the load step appends only the source files it has not loaded yet (same bytes: skipped) as the
    snapshot's next version (merged on disk, :mod:`graphcrm.loaders.merge`); a file loaded before whose bytes changed, or
    ``full=True``, reloads everything (the history is kept either way).

    Raises
    ------
    ConfigError
        The pipeline file is invalid (nothing is read or written).
    GraphCRMError
        A step failed; the message names the step.  The previous outputs are untouched.
    """
    cfg = read_pipeline(path, output_dir=output_dir)
    pipe = cfg["pipeline"]
    out_dir: Path = pipe["output_dir"]
    salt = None
    if pipe["pseudonymise"]:
        from graphcrm.crm.export import load_salt

        try:
            salt = load_salt(pipe.get("salt_file"), salt_file_option="pipeline.salt_file")
        except GraphCRMError as exc:
            raise ConfigError(cfg["path"], "pipeline.pseudonymise", str(exc)) from None
    from graphcrm.loaders.locking import writer_lock
    from graphcrm.loaders.snapshot import real_target

    out_dir = real_target(out_dir)      # a symlinked output_dir: its target is replaced, the link kept
    with writer_lock(out_dir, create=True):     # two runs on one output_dir: the second waits for the first
        return _run_in(cfg, out_dir, salt, full)


def _run_in(cfg: dict, out_dir: Path, salt, full: bool) -> dict:
    """:func:`run_pipeline` once the output directory's writer lock is held."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _recover(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / SUMMARY).exists():
        raise ConfigError(cfg["path"], "pipeline.output_dir",
                          f"{out_dir} exists and is not a pipeline output directory; refusing to replace it")
    staging = _sibling(out_dir, "staging", os.getpid())
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    (staging / OWNER).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}) + "\n",
                                 encoding="utf-8")
    try:
        summary = _run_steps(cfg, staging, salt, previous=_previous_snapshot(out_dir), full=full,
                             state_root=out_dir / STATE)
        # the paths the outputs will have: run_summary.json is written before the swap
        summary["outputs"] = {k: str(out_dir / Path(v).relative_to(staging)) for k, v in summary["outputs"].items()}
        (staging / SUMMARY).write_text(json.dumps(_json_safe(summary), indent=2, default=str) + "\n",
                                         encoding="utf-8")
        _swap(staging, out_dir)
        (out_dir / OWNER).unlink(missing_ok=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return summary


def _sibling(out_dir: Path, kind: str, pid: int) -> Path:
    """The run's working directories beside ``output_dir``: ``.NAME.staging-PID``, ``.NAME.previous-PID``."""
    return out_dir.with_name(f".{out_dir.name}.{kind}-{pid}")


def _swap(staging: Path, out_dir: Path) -> None:
    """Put ``staging`` in place of ``out_dir``: two renames.  A crash between them leaves no ``out_dir`` and
    the old outputs in ``.NAME.previous-PID``; the next run puts them back (:func:`_recover`)."""
    old = _sibling(out_dir, "previous", os.getpid())
    if out_dir.exists():
        os.replace(out_dir, old)
    try:
        os.replace(staging, out_dir)
    except OSError:
        if old.exists() and not out_dir.exists():
            os.replace(old, out_dir)            # the old outputs back in place; the error is the run's
        raise
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def _recover(out_dir: Path) -> None:
    """Undo what runs killed part-way (kill -9, power loss) left beside ``output_dir``, before a new run.

    Only directories that are provably a run's are touched: ``.NAME.staging-PID`` holding the run's
    ``.graphcrm-run`` file (written first; its host is this machine) or empty, and ``.NAME.previous-PID``
    holding ``run_summary.json``, whose process ``PID`` is no longer running.  A run killed between the
    two renames of :func:`_swap` left no ``output_dir``: its ``previous`` directory -- the last complete
    outputs -- is renamed back.  The others are unfinished or superseded runs and are removed.
    """
    stale = []
    for path in out_dir.parent.iterdir():
        if not path.name.startswith(f".{out_dir.name}."):
            continue
        kind, _, pid = path.name[len(out_dir.name) + 2:].rpartition("-")
        if kind in ("staging", "previous") and pid.isdigit() and path.is_dir() and _ours(path, kind) \
                and not pid_alive(int(pid)):
            stale.append((kind, path))
    previous = sorted((p for kind, p in stale if kind == "previous"), key=lambda p: p.stat().st_mtime)
    if previous and not out_dir.exists():
        os.replace(previous.pop(), out_dir)
    for _, path in stale:
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)


def _ours(path: Path, kind: str) -> bool:
    """Whether a ``staging`` / ``previous`` directory was made by a pipeline run of this machine."""
    if kind == "previous":
        return (path / SUMMARY).is_file()
    if not any(path.iterdir()):
        return True
    try:
        return json.loads((path / OWNER).read_text(encoding="utf-8")).get("host") == socket.gethostname()
    except (OSError, ValueError, AttributeError):
        return False


class _Step:
    def __init__(self, name, timings):
        self.name, self.timings = name, timings

    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, kind, exc, tb):
        self.timings[self.name] = round(time.perf_counter() - self.started, 3)
        if isinstance(exc, GraphCRMError) and exc.args and not str(exc.args[0]).startswith("step "):
            exc.args = (f"step '{self.name}': {exc.args[0]}",) + exc.args[1:]
        return False


def _previous_snapshot(out_dir: Path) -> Path | None:
    from graphcrm.loaders.snapshot import is_snapshot

    return out_dir / "snapshot" if is_snapshot(out_dir / "snapshot") else None


def _load_step(cfg: dict, staging: Path, previous: Path | None, mode: str, encoding: str, full: bool = False,
               allow_empty: bool = False, keep_versions: int | None = None):
    """The pipeline's graph: a full load, or the previous run's snapshot plus the source files new since.

    The snapshot's metadata keeps the configured sources (path, kind, reader options, BLAKE2b of the bytes).
    A rerun appends only configured files it does not hold; a held file whose bytes changed, a source no
    longer configured or configured with other options, or ``full`` reloads everything.

    Returns (graph, reports, how) with ``how`` saying what was done.
    """
    from graphcrm.loaders import build_graph, read_edges, read_interactions, read_nodes, read_signed
    from graphcrm.loaders.errors import EmptyInputError
    from graphcrm.loaders.graph import SocialGraph
    from graphcrm.loaders.merge import append_snapshot
    from graphcrm.loaders.snapshot import file_digest, link_copy, load_snapshot, read_manifest

    readers = {"edges": read_edges, "interactions": read_interactions, "signed": read_signed, "nodes": read_nodes}
    configured = []
    for kind, entry in cfg["graph_sources"]:
        path = Path(entry["path"])
        options = json.dumps({k: v for k, v in entry.items() if k != "path"}, sort_keys=True, default=str)
        configured.append({"path": str(path), "kind": kind, "options": options,
                           "bytes": path.stat().st_size if path.is_file() else None,
                           "blake2b": file_digest(path) if path.is_file() else None})
    key = lambda s: (s["path"], s["kind"], s["options"])  # noqa: E731
    how = {"mode": "full", "files_loaded": len(configured), "files_skipped": 0}
    target = staging / "snapshot"
    todo = list(zip(cfg["graph_sources"], configured))
    if previous is not None:
        held = read_manifest(previous).get("metadata", {}).get("pipeline_sources")
        held = {key(s): s["blake2b"] for s in held} if isinstance(held, list) else None
        wanted = {key(s): s["blake2b"] for s in configured}
        if full:
            how["reason"] = "full reload asked for (--full)"
        elif held is None:
            how["reason"] = "the earlier snapshot does not say which source files it holds: everything reloaded"
        elif any(k not in wanted for k in held):
            gone = next(k for k in held if k not in wanted)
            how["reason"] = f"{gone[0]} is no longer configured (or its options changed): everything reloaded"
        elif any(k in held and held[k] != digest for k, digest in wanted.items()):
            changed = next(k for k, digest in wanted.items() if k in held and held[k] != digest)
            how["reason"] = f"{changed[0]} changed since it was loaded: everything reloaded"
        else:
            todo = [(source, s) for source, s in todo if key(s) not in held]
            how = {"mode": "append", "files_loaded": len(todo), "files_skipped": len(configured) - len(todo)}
        link_copy(previous, target)                       # the history (and, unchanged, the graph) carries over
    parsed, empty = [], []
    for (kind, entry), _ in todo:
        try:
            parsed.append(readers[kind](entry["path"], mode=mode, encoding=encoding,
                                        **{k: v for k, v in entry.items() if k != "path"}))
        except EmptyInputError:
            if not allow_empty:
                raise
            empty.append(entry["path"])         # a quiet day's header-only export: nothing to add from it
    if empty:
        how["empty_files"] = [str(p) for p in empty]
    todo = [(source, s) for source, s in todo if source[1]["path"] not in empty]
    if how["mode"] == "append":
        if not parsed:
            return load_snapshot(target), [], how
        result = append_snapshot(target, *parsed, inputs=[s for _, s in todo], keep_versions=keep_versions,
                                 metadata={"pipeline_sources": configured})
        how["append"] = result.mode          # merge (on disk) or rebuild (in memory), and why it rebuilt
        if result.reason:
            how["append_reason"] = result.reason
        return load_snapshot(target), result.reports, how
    if not parsed:
        from graphcrm.loaders.errors import InvalidInputError

        raise InvalidInputError("every configured source file is empty: nothing to build a graph from")
    graph, reports = build_graph(*parsed, consume=True)
    graph = SocialGraph(graph.id_map, graph.layers, graph.node_attributes,
                        {**graph.metadata, "pipeline_sources": configured})
    save_snapshot(graph, target, inputs=[s for _, s in todo], history="reload" if previous else "new",
                  keep_versions=keep_versions if previous else None)
    return graph, reports, how


class _State:
    """The tables a run leaves for the next one: ``state/vNNNNNN/<name>.parquet`` per snapshot version.

    A run on snapshot version ``V`` starts from the tables of the latest version before ``V`` -- so a
    retried run (nothing new appended, still version ``V``) starts from the same tables as the first try
    and, deciding as the first try did (``decided``, kept in ``run.json``), writes the same bytes.  The new
    directory keeps version ``V`` and the one it started from.
    """

    def __init__(self, earlier_root: Path | None, staging: Path, version: int):
        self.version = version
        self.out = staging / STATE / f"v{version:06d}"
        self.start = None
        self.recorded: dict = {}
        if earlier_root is not None and (earlier_root / self.out.name / "run.json").is_file():
            self.recorded = json.loads((earlier_root / self.out.name / "run.json").read_text(encoding="utf-8"))
        if earlier_root is not None and earlier_root.is_dir():
            older = sorted(p for p in earlier_root.iterdir() if p.name.startswith("v") and p.name[1:].isdigit()
                           and int(p.name[1:]) < version)
            if older:
                self.start = older[-1]
                shutil.copytree(self.start, staging / STATE / self.start.name)

    @property
    def since(self) -> str:
        return f"the run on snapshot version {int(self.start.name[1:])}" if self.start else ""

    def read(self, name: str) -> pd.DataFrame | None:
        """The earlier run's table ``name`` (None if there is none)."""
        path = None if self.start is None else self.start / f"{name}.parquet"
        return pd.read_parquet(path) if path is not None and path.is_file() else None

    def write(self, name: str, frame: pd.DataFrame) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        frame.reset_index(drop=True).to_parquet(self.out / f"{name}.parquet", index=False)

    def earlier(self, key: str):
        """What the run this one starts from decided for ``key`` (None: no such run, or it did not decide)."""
        path = None if self.start is None else self.start / "run.json"
        if path is None or not path.is_file():
            return None
        return json.loads(path.read_text(encoding="utf-8")).get(key)

    def decided(self, key: str, value):
        """``value``, or what the first run on this snapshot version decided for ``key`` (a retry)."""
        value = self.recorded.get(key, value)
        self.out.mkdir(parents=True, exist_ok=True)
        run = self.out / "run.json"
        record = json.loads(run.read_text(encoding="utf-8")) if run.is_file() else {}
        run.write_text(json.dumps({**record, key: value}, sort_keys=True) + "\n", encoding="utf-8")
        return value


def _run_steps(cfg: dict, staging: Path, salt, previous: Path | None = None, full: bool = False,
               state_root: Path | None = None) -> dict:
    from graphcrm.crm.export import write_export
    from graphcrm.loaders import write_rejects

    pipe, sources, steps = cfg["pipeline"], cfg["sources"], cfg["steps"]
    seed, ext = pipe["seed"], "." + pipe["format"]
    mode, encoding = sources.get("mode", "strict"), sources.get("encoding", "utf-8")
    timings, counts, outputs = {}, {}, {}
    rejects = []

    def export(frame, name, schema=None):
        p = write_export(frame, staging / f"{name}{ext}", schema or name, salt=salt)
        outputs[name] = str(p)
        counts[name] = len(frame)

    with _Step("load", timings):
        graph, reports, how = _load_step(cfg, staging, previous, mode, encoding, full,
                                         allow_empty=sources["allow_empty"], keep_versions=pipe.get("keep_versions"))
        rejects += reports
        counts["load"] = how
        outputs["snapshot"] = str(staging / "snapshot")
        from graphcrm.loaders.snapshot import read_manifest

        state = _State(state_root, staging, int(read_manifest(staging / "snapshot").get("version", 1)))
        counts["nodes"] = graph.n_nodes
        counts["edges"] = {name: graph.layer(name).n_ties for name in graph.layer_names}
    links = customers = partition = leaders = None
    from graphcrm.ranking import LeaderLists

    leader_lists = LeaderLists(graph)       # the leaders step and leader segments share measures and forecasts
    leader_model = None
    if "link" in steps:
        from graphcrm.crm.linking import link_customers
        from graphcrm.loaders.customers import read_customers, require_customers

        with _Step("link", timings):
            customers, report = read_customers(sources["customers"], mode=mode, encoding=encoding)
            rejects.append(report)
            require_customers(report, "the previous outputs are unchanged")     # never empty links and segments
            accounts = _read_table(sources["accounts"])
            if graph.id_map.kind == "int" and "account_id" in accounts:
                from graphcrm.loaders.idmap import as_int_id

                ids = pd.Series([as_int_id(v) for v in accounts["account_id"].tolist()], dtype="Int64")  # "007": text
                if ids.isna().any():
                    bad = int(ids.isna().to_numpy().argmax())
                    raise InputFileError(sources["accounts"], bad + 2, "account_id",
                                         f"{accounts['account_id'].iloc[bad]!r} is not an account id of this graph "
                                         "(integer ids)")
                accounts["account_id"] = ids.astype("int64")
            params = steps["link"]
            fixed = params.get("threshold")
            result = link_customers(customers, accounts, threshold=None if fixed is None else float(fixed),
                                    target_precision=float(params.get("target_precision", 0.98)),
                                    review_floor=float(params.get("review_floor", 0.3)))
            links = result.links
            export(result.links, "links")
            export(result.review, "review")
            counts["customers"] = len(customers)
    if "leaders" in steps:
        with _Step("leaders", timings):
            p = steps["leaders"]
            top = int(p.get("top", 50))
            excluded = []
            if p.get("exclude_low_quality", False):
                from graphcrm.audience import low_quality_accounts

                excluded = low_quality_accounts(graph)
            # the scorer `graphcrm rank` uses: the validated forecast where the log allows, else combined;
            # night after night the scorer of the run before stays while it is within noise of the winner
            if p["method"] == "auto":
                leader_model = _keep_nightly_scorer(leader_lists, state, p["horizon"], seed)
            elif p["method"] == "forecast":
                leader_model = leader_lists.model(horizon=p["horizon"], seed=seed)
            leaders = leader_lists.table(method=p["method"], top=top + len(excluded), horizon=p["horizon"],
                                         samples=int(p.get("reach_samples", 20_000)), seed=seed)
            counts["leaders_ranking"] = _json_safe(leaders.attrs.pop("ranking", {}))
            if excluded:        # flagged accounts and low-quality audiences are neither listed nor priced
                dropped = leaders.account_id.isin(excluded).to_numpy()
                kept = [i for i, out in enumerate(dropped) if not out][:top]
                # listed leaders the exclusion skipped: those ranked above the last one kept
                counts["leaders_low_quality_excluded"] = int(dropped[: kept[-1] + 1 if kept else len(dropped)].sum())
                leaders = leaders.iloc[kept].reset_index(drop=True)
                leaders["rank"] = range(1, len(leaders) + 1)
            export(leaders.round(6), "leaders")
    if "communities" in steps:
        from graphcrm.algorithms.community import leiden, louvain
        with _Step("communities", timings):
            p = steps["communities"]
            lay = graph.resolve_layer().positive()
            earlier = state.read("communities")
            earlier = None if earlier is None else pd.Series(earlier.community.to_numpy(),
                                                             index=earlier.account_id.to_numpy())
            warm = False
            if p.get("method", "leiden") == "louvain":
                part = louvain(graph, layer=lay, resolution=float(p.get("resolution", 1.0)), seed=seed)
            else:
                # an append starts from the earlier communities, a full reload cold; a retry as its first try
                warm = state.decided("communities_warm_start", how["mode"] == "append")
                part = leiden(graph, layer=lay, resolution=float(p.get("resolution", 1.0)), seed=seed,
                              initial=earlier if warm else None)
            frame = part.to_frame()
            if earlier is not None:             # the earlier run's community ids, where membership allows
                from graphcrm.algorithms.community import stable_labels

                frame["community"], tracking = stable_labels(earlier, part)
                counts["community_tracking"] = {**tracking, "warm_start": p.get("method", "leiden") != "louvain"
                                                and bool(warm) and earlier is not None}
            state.write("communities", frame)
            partition = pd.Series(frame.community.to_numpy(), index=frame.account_id.to_numpy())
            export(frame, "communities")
            counts["community_count"] = part.n_communities
    if "segments" in steps:
        from graphcrm.crm.segments import build_segments, read_segments_config

        with _Step("segments", timings):
            seg_cfg = read_segments_config(steps["segments"]["config"])
            if "leaders" not in steps and any(seg["kind"] == "leaders" and seg.get("method", "auto") == "auto"
                                              and seg.get("horizon") is None for seg in seg_cfg):
                _keep_nightly_scorer(leader_lists, state, None, seed)   # leader segments keep theirs too
            table = build_segments(graph, seg_cfg, links=links, customers=customers, partition=partition, seed=seed,
                                   reach_samples=int(steps["segments"].get("reach_samples", 20_000)),
                                   leader_lists=leader_lists)
            export(table, "segments")
            earlier = state.read("segments")
            if earlier is not None:
                from graphcrm.crm.segments import segment_changes

                changes = segment_changes(earlier, table, since=state.since)
                export(changes, "segment_changes")
                counts["segment_changes"] = {k: int(v) for k, v in changes.change.value_counts().sort_index().items()}
                configured = {c["name"] for c in seg_cfg}
                gone = sorted(set(earlier.segment) - configured)
                if gone:      # renamed or removed in the segments file: every member 'left' the old name
                    counts["segment_changes_notes"] = [
                        f"segment {name!r} of the earlier run is no longer configured (renamed or removed?): its "
                        "members are listed as left" for name in gone]
            state.write("segments", table)
            sizes = table.segment.value_counts()       # an empty segment shows 0
            counts["segment_rows"] = {k: int(sizes.get(k, 0)) for k in sorted(c["name"] for c in seg_cfg)}
            if table.attrs.get("low_quality_excluded"):
                counts["low_quality_excluded"] = dict(table.attrs["low_quality_excluded"])
            if table.attrs.get("churned_not_in_graph"):
                counts["churned_not_in_graph"] = dict(table.attrs["churned_not_in_graph"])
    if "economics" in steps:
        from graphcrm.crm.economics import influencer_economics

        with _Step("economics", timings):
            p = steps["economics"]
            chosen = leaders.account_id.head(int(p.get("top", 10))).tolist()
            costs = None
            if "costs" in p:
                from graphcrm.tables import read_costs

                costs = read_costs(p["costs"])
            table, econ = influencer_economics(graph, chosen, costs=costs, n_runs=int(p.get("n_runs", 1000)), seed=seed)
            export(table, "economics")
            from graphcrm.crm.economics import audience_overlap

            export(audience_overlap(graph, chosen), "overlap")
            counts["economics"] = econ
    if mode == "lenient":
        write_rejects(rejects, staging / "rejects.csv")
        outputs["rejects"] = str(staging / "rejects.csv")
    counts["rejected_rows"] = sum(r.n_rejected for r in rejects)
    if leader_model is not None:      # the leaders step's fit: `graphcrm rank OUT/snapshot` reuses it
        from graphcrm.forecast_store import save_model

        save_model(staging / "snapshot", leader_model)
    return {"pipeline": pipe["name"], "status": "ok", "pseudonymised": salt is not None, "seed": seed,
            "counts": counts, "outputs": outputs, "seconds": timings, "total_seconds": round(sum(timings.values()), 3)}


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputFileError(path, None, None, "no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    try:
        return read_escaped_csv(path, dtype=str, keep_default_na=False)
    except UnicodeDecodeError as exc:
        raise InputFileError(path, None, None, f"not valid UTF-8 ({exc.reason})") from None
