"""Public loaders: edge lists, interaction events, signed trust edges, node tables.

Every ``read_*`` function parses and validates one source into a
:class:`ParsedSource` (columns + :class:`~graphcrm.loaders._tables.LoadReport`);
:func:`build_graph` combines any number of them into one
:class:`~graphcrm.loaders.graph.SocialGraph` with one id map.  The ``load_*``
functions do both for the common one-source case.

Row meaning: every row is ``(actor, target)`` in the source's words ("actor
follows / retweets / mentions / rates target"); the layer's convention turns
it into an influence edge (see :mod:`graphcrm.loaders.layers`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphcrm.loaders.builder import GraphBuilder, release_arrow_memory
from graphcrm.loaders.errors import InvalidInputError, ParameterError
from graphcrm.loaders.formats import ReadRequest, format_for
from graphcrm.loaders.graph import SocialGraph
from graphcrm.loaders.layers import SELF_LOOP_POLICIES
from graphcrm.loaders._source import TextLayout, _is_number, check_exists, size_line_warning
from graphcrm.loaders._tables import ColumnSpec, LoadReport, _Problems, read_frame, read_text

ALIASES = {
    "actor": ("actor", "source", "src", "from", "u", "user", "user_a", "usera", "follower", "rater", "node1",
              "from_id", "source_id", "fromnodeid"),
    "target": ("target", "dst", "to", "v", "target_id", "user_b", "userb", "followee", "ratee", "node2", "to_id",
               "tonodeid"),
    "weight": ("weight", "w", "count", "rating", "value"),
    "time": ("time", "timestamp", "ts", "date", "datetime", "created_at", "unix_ts"),
    "type": ("type", "interaction", "interaction_type", "kind", "action", "event"),
    "sentiment": ("sentiment", "polarity", "sign"),
    "id": ("id", "account_id", "account", "user_id", "node", "node_id", "user"),
    "text": ("text", "message", "body", "content", "tweet", "full_text"),
    "topics": ("topics", "hashtags", "topic", "tags", "hashtag"),
    "message_id": ("message_id", "msg_id", "post_id", "tweet_id", "status_id"),
    "parent_id": ("parent_id", "parent", "in_reply_to", "in_reply_to_id", "reply_to_id", "parent_message_id"),
}

#: the optional message columns of interaction events (kept in the event log, never needed by an algorithm)
MESSAGE_ROLES = ("topics", "message_id", "parent_id", "text")

#: accepted spellings of interaction types -> layer name
INTERACTION_TYPE_NAMES = {
    **{k: "retweets" for k in ("rt", "retweet", "retweets", "repost", "share")},
    **{k: "mentions" for k in ("mt", "mention", "mentions")},
    **{k: "replies" for k in ("re", "reply", "replies", "comment")},
    **{k: "likes" for k in ("lk", "like", "likes", "fav", "favorite", "favourite")},
}

ID_SPEC = "an integer or text account id"


@dataclass
class ParsedSource:
    """One parsed and validated source, ready to add to a :class:`GraphBuilder`.

    Attributes
    ----------
    kind : {"edges", "events", "nodes"}
    layer : str or None
        Target layer (edges); events are split by their type column.
    columns : dict
        Parsed columns by role.
    report : LoadReport
    options : dict
        ``direction``, ``aggregate`` ... overrides for the builder.
    consumed : bool
        Set once :func:`build_graph` took it over (``consume=True``; only its first row is kept then): building
        it again is an error, not a graph of one row.
    """

    kind: str
    layer: str | None
    columns: dict
    report: LoadReport
    options: dict
    consumed: bool = False

    def keep_first_row(self) -> None:
        """Drop every parsed row but the first (a copy), e.g. once the builder holds them.

        :func:`build_graph` with ``consume=True`` (the CLI, the pipeline) calls it on edge and event sources once
        all are added: otherwise their id columns (tens of bytes a row with text ids) would stay alive through
        the build beside the builder's own copies.
        """
        def first(col):
            if isinstance(col, (pa.Array, pa.ChunkedArray)):
                return pa.array(col[:1].to_pylist(), type=col.type)
            if isinstance(col, pd.Series):
                return col.iloc[:1].copy()
            return None if col is None else np.array(col[:1], copy=True)

        self.columns = {k: first(v) for k, v in self.columns.items()}
        self.consumed = True

    def add_to(self, builder: GraphBuilder) -> GraphBuilder:
        if self.consumed:
            raise ParameterError(f"{self.report.source}: this parsed source was handed to build_graph(consume=True) "
                                 "(its rows let go); read the file again to build another graph from it")
        c, src = self.columns, self.report.source
        if self.kind == "nodes":
            attrs = pd.DataFrame({k: v for k, v in c.items() if k != "id"})
            return builder.add_nodes(c["id"], attrs, source=src)
        if self.kind == "edges":
            return builder.add_edges(self.layer, c["actor"], c["target"], c.get("weight"), time=c.get("time"),
                                     sentiment=c.get("sentiment"), source=src, **self.options)
        types = c["type"]
        for layer in sorted(set(types.tolist()) - {""}):
            mask = types == layer
            pick = lambda k: None if c.get(k) is None else _take(c[k], mask)  # noqa: E731
            extra = {k: pick(k) for k in MESSAGE_ROLES if c.get(k) is not None}
            builder.add_events(layer, _take(c["actor"], mask), _take(c["target"], mask), time=pick("time"),
                               weight=pick("weight"), sentiment=pick("sentiment"), source=src,
                               direction=self.options.get("direction", {}).get(layer), extra=extra or None)
        return builder


def _take(col, mask):
    return col.filter(pa.array(mask)) if isinstance(col, (pa.Array, pa.ChunkedArray)) else col[mask]


def _match_roles(names, wanted, explicit, source) -> dict:
    """role -> column name, from explicit mapping or aliases."""
    lower = {str(n).strip().lower(): n for n in names}
    out = {}
    for role in wanted:
        if explicit and role in explicit:
            if explicit[role] not in names:
                raise InvalidInputError(f"{source}: no column {explicit[role]!r} (columns: {', '.join(map(str, names))})")
            out[role] = explicit[role]
            continue
        for alias in ALIASES.get(role, (role,)):
            if alias in lower and lower[alias] not in out.values():
                out[role] = lower[alias]
                break
    return out


def _require(mapping, required, names, source):
    missing = [r for r in required if r not in mapping]
    if missing:
        hint = "; ".join(f"{r}: one of {', '.join(ALIASES.get(r, (r,))[:6])}" for r in missing)
        raise InvalidInputError(
            f"{source}: missing column(s) {', '.join(missing)} (found: {', '.join(map(str, names))}); "
            f"name them ({hint}), or map them with --source-col / --target-col / --weight-col / --time-col / "
            f"--type-col (Python: columns={{'role': 'column name'}})"
        )


def _self_loop_check(policy):
    if policy not in SELF_LOOP_POLICIES:
        raise ParameterError(f"self_loops must be one of {SELF_LOOP_POLICIES}, got {policy!r}")
    if policy != "error":
        return None

    def check(parsed, lines, problems: _Problems):
        a, t = parsed["actor"], parsed["target"]
        arrow = (pa.Array, pa.ChunkedArray)
        if isinstance(a, arrow) and isinstance(t, arrow) and a.type == t.type:
            same = np.asarray(pc.equal(a, t).to_numpy(zero_copy_only=False), dtype=bool)
        else:
            def as_text(x):
                x = x.to_pylist() if isinstance(x, arrow) else x
                return np.asarray([str(v) for v in x], dtype=object)
            same = np.asarray(as_text(a) == as_text(t), dtype=bool)
        loops = np.flatnonzero(same)
        problems.add_many(lines[loops], "target", "self_loop",
                          ["actor and target are the same account (--self-loops error)"] * len(loops))
    return check


def _read_any(source, request: ReadRequest, *, specs, required, positional_roles, columns, fmt,
              extra_check) -> tuple[dict, LoadReport]:
    """One source (path or table) as ``(columns by role, report)``.

    A file is opened by the reader of its format (``fmt``, else its extension; see
    :mod:`graphcrm.loaders.formats`): a table's columns are matched to roles by name, delimited text's fields
    by header name or by position (``positional_roles``).
    """
    mode = request.mode
    wanted = [s.role for s in specs]
    if isinstance(columns, dict):
        unknown = sorted(set(columns) - set(wanted))
        if unknown:
            raise ParameterError(f"unknown column role(s) {unknown}; roles are {', '.join(wanted)}")
    if isinstance(source, (pd.DataFrame, pa.Table)):
        label = "<DataFrame>" if isinstance(source, pd.DataFrame) else "<arrow table>"
        names = list(source.columns) if isinstance(source, pd.DataFrame) else source.column_names
        roles = _match_roles(names, wanted, columns if isinstance(columns, dict) else None, label)
        _require(roles, required, names, label)
        report = LoadReport(label)
        cols = read_frame(source, roles, specs, source=label, mode=mode, report=report, extra_check=extra_check)
        _time_warnings(cols, report, text=False)
        return cols, report
    path = check_exists(source)
    report = LoadReport(str(path))
    opened = format_for(path, fmt, kind=request.kind).reader(path, request, report)
    if not isinstance(opened, TextLayout):        # a table (Parquet, JSON lines): its columns are named
        table = opened.table
        roles = _match_roles(table.column_names, wanted, columns if isinstance(columns, dict) else None, str(path))
        _require(roles, required, table.column_names, str(path))
        cols = read_frame(table, roles, specs, source=str(path), mode=mode, report=report, extra_check=extra_check,
                          lines=opened.lines, problems=opened.problems)
        _time_warnings(cols, report, text=False)
        return cols, report
    layout = opened
    if isinstance(columns, dict) and columns and all(isinstance(v, int) for v in columns.values()):
        columns = _by_position(columns, layout, positional_roles, str(path))
    if layout.header is not None:
        if isinstance(columns, (list, tuple)):
            raise ParameterError(f"{path}: the file has a header ({', '.join(layout.header)}); pass columns as a "
                                 "dict {'role': 'column name'}, or header=False to name the fields by position")
        if len(set(layout.header)) != len(layout.header):
            raise InvalidInputError(f"{path}: {_duplicate_names(layout.header)}")
        roles_by_name = _match_roles(layout.header, wanted, columns if isinstance(columns, dict) else None, str(path))
        _require(roles_by_name, required, layout.header, str(path))
        by_name = {v: k for k, v in roles_by_name.items()}
        field_roles = [by_name.get(h) for h in layout.header]
    else:
        if isinstance(columns, dict):
            raise ParameterError(f"{path}: the file has no header; pass columns as a list of roles in file order")
        field_roles = list(columns) if columns is not None else positional_roles(layout.n_fields, str(path))
        if columns is not None and len(field_roles) < layout.n_fields:      # roles by position: the rest skipped
            field_roles += [None] * (layout.n_fields - len(field_roles))
        field_roles = [None if r in (None, "_", "") else r for r in field_roles]
        unknown = [r for r in field_roles if r is not None and r not in wanted]
        if unknown:
            raise ParameterError(f"unknown column role(s) {unknown}; roles are {', '.join(wanted)} or None to skip")
        _require({r: r for r in field_roles if r}, required, field_roles, str(path))
    active = [s for s in specs if s.role in field_roles]
    cols = read_text(layout, field_roles, active, mode=mode, report=report, extra_check=extra_check)
    release_arrow_memory()           # the parse's block buffers: returned now, not held through the build
    warning = null_marker_warning(cols, [s.role for s in active if s.kind == "id"], report.source)
    if warning:
        report.warnings.append(warning)
    _time_warnings(cols, report)
    if request.kind in ("edges", "signed"):
        warning = size_line_warning(layout, report.rows_read)
        if warning:
            report.warnings.append(warning)
    if request.header == "auto" and layout.header is None:
        warning = header_row_warning(layout, cols, report.rows_read)
        if warning:
            report.warnings.append(warning)
    return cols, report


def _time_warnings(cols: dict, report: LoadReport, *, text: bool = True) -> None:
    """The warnings about event times: outlying times whatever format the rows came in; times that all fall
    before 1980 in text, where a date written ``20120704`` reads as Unix seconds."""
    for warning in (early_times_warning(cols.get("time"), report.source) if text else None,
                    outlying_times_warning(cols.get("time"), report.source)):
        if warning:
            report.warnings.append(warning)


def header_row_warning(layout: TextLayout, columns: dict, rows_read: int) -> str | None:
    """A warning when the first row, read as data, may be a header no column name of which is known: a row of
    words (``Name,Friend``) whose two accounts appear in no other row.

    Examples
    --------
    >>> from pathlib import Path
    >>> lay = TextLayout(Path("e.csv"), False, "utf-8", ",", 0, False, None, 1, 2,
    ...                  (("Name", "Friend"), ("ann", "bob"), ("bob", "cat")))
    >>> cols = {"actor": np.array(["Name", "ann", "bob"], dtype=object),
    ...         "target": np.array(["Friend", "bob", "cat"], dtype=object)}
    >>> header_row_warning(lay, cols, 3)[:61]
    "e.csv, line 1 ('Name', 'Friend') was loaded as a tie between "
    >>> cols["actor"][1] = "Friend"
    >>> header_row_warning(lay, cols, 3) is None
    True
    """
    if rows_read < 3 or not layout.sample or any(_is_number(f) for f in layout.sample[0]):
        return None
    ends = []
    for role in ("actor", "target"):
        col = columns.get(role)
        if col is None or not len(col):
            return None
        ends.append(col)
    firsts = []
    for col in ends:
        first = col[0].as_py() if isinstance(col, (pa.Array, pa.ChunkedArray)) else col[0]
        if not isinstance(first, str):
            return None
        firsts.append(first)
    if firsts[0] == firsts[1] or not set(firsts) <= set(layout.sample[0]):
        return None
    for value in firsts:
        seen = 0
        for col in ends:
            if isinstance(col, (pa.Array, pa.ChunkedArray)):
                seen += pc.sum(pc.equal(col, value)).as_py() or 0
            else:
                seen += int(np.count_nonzero(np.asarray(col) == value))
        if seen > 1:
            return None
    return (f"{layout.path}, line {layout.first_data_line} ({firsts[0]!r}, {firsts[1]!r}) was loaded as a tie "
            f"between two accounts that appear in no other row: if it is a header, load again with --header "
            f"--source-col {_shell_word(firsts[0])} --target-col {_shell_word(firsts[1])} (Python: header=True, "
            f"columns={{'actor': {firsts[0]!r}, 'target': {firsts[1]!r}}})")


def _shell_word(text: str) -> str:
    """``text`` quoted for a shell command line where it needs it.

    >>> _shell_word("Name"), _shell_word("Who follows")
    ('Name', "'Who follows'")
    """
    import shlex

    return shlex.quote(text)


def _duplicate_names(names: list) -> str:
    """Why a header is refused: the names it repeats, or its empty names (a spreadsheet's trailing columns).

    >>> _duplicate_names(["source", "target", "", ""])
    "the header has 2 empty column names (columns 3, 4: a spreadsheet's empty trailing columns?); name them or delete them"
    >>> _duplicate_names(["a", "b", "a"])
    'the header names a column more than once: a (columns 1, 3)'
    """
    empty = [i + 1 for i, n in enumerate(names) if not str(n).strip()]
    if len(empty) > 1:
        return (f"the header has {len(empty)} empty column names (columns {', '.join(map(str, empty))}: a "
                "spreadsheet's empty trailing columns?); name them or delete them")
    repeated = [n for n in dict.fromkeys(names) if names.count(n) > 1]
    return "the header names a column more than once: " + "; ".join(
        f"{n} (columns {', '.join(str(i + 1) for i, m in enumerate(names) if m == n)})" for n in repeated)


#: what spreadsheets, databases and pandas write for a missing value
NULL_MARKERS = ("NULL", "null", "None", "none", "NaN", "nan", "NA", "N/A", "n/a", "#N/A", "<NA>", "nil", "-")


def null_marker_warning(columns: dict, id_roles: list, source: str) -> str | None:
    """A warning when account ids read as missing-value markers (``NULL``, ``#N/A``, ``nan`` ...): loaded as
    accounts of that name -- an account really called "null" exists -- but a column of them is a hub of
    missing values, so the load says how many and where.

    >>> null_marker_warning({"src": np.array(["a", "NULL", "NULL"], dtype=object)}, ["src"], "e.csv")
    "e.csv: 2 account ids read as missing-value markers (NULL: 2) in src: loaded as accounts of that name; if they are missing values, drop those rows (an exporter's empty cell)"
    """
    found, where = {}, []
    for role in id_roles:
        col = columns.get(role)
        if col is None:
            continue
        if isinstance(col, (pa.Array, pa.ChunkedArray)):
            if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
                continue
            hits = pc.filter(col, pc.is_in(col, value_set=pa.array(NULL_MARKERS))).to_pylist()
        else:
            arr = np.asarray(col)
            if arr.dtype.kind != "O":
                continue
            hits = arr[np.isin(arr, NULL_MARKERS)].tolist()
        if hits:
            where.append(role)
            for h in hits:
                found[h] = found.get(h, 0) + 1
    if not found:
        return None
    total = sum(found.values())
    listed = ", ".join(f"{k}: {v:,}" for k, v in sorted(found.items(), key=lambda kv: -kv[1]))
    return (f"{source}: {total:,} account ids read as missing-value markers ({listed}) in {', '.join(where)}: "
            "loaded as accounts of that name; if they are missing values, drop those rows (an exporter's empty cell)")


#: 1980-01-01 UTC: a log of social interactions is later -- times before it are dates written another way
EARLIEST_PLAUSIBLE = 315_532_800


def early_times_warning(times, source: str) -> str | None:
    """A warning when every timestamp read falls before 1980: numbers such as ``20120704`` (a date written
    YYYYMMDD) or ``41094.375`` (Excel serial days) are valid Unix seconds -- in 1970.

    >>> early_times_warning(np.array([20120704.0, 20120705.0]), "e.csv")[:72]
    'e.csv: every timestamp falls before 1980 (1970-08-21T21:05:04Z .. 1970-0'
    >>> early_times_warning(np.array([1341100000.0]), "e.csv") is None
    True
    """
    if times is None:
        return None
    values = np.asarray(times.to_numpy(zero_copy_only=False) if isinstance(times, (pa.Array, pa.ChunkedArray))
                        else times, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values) or values.max() >= EARLIEST_PLAUSIBLE:
        return None
    lo, hi = (pd.Timestamp(int(v), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ") for v in (values.min(), values.max()))
    return (f"{source}: every timestamp falls before 1980 ({lo} .. {hi}) read as Unix seconds; dates written "
            "as 20120704 or as spreadsheet serial days are no Unix seconds -- write them as ISO-8601 (2012-07-04)")


#: a tail of the log counts as outlying when it holds at most this share of the events (and at most
#: ``OUTLIER_MAX_ROWS``) and lies further from the rest than the rest's own span
OUTLIER_SHARE = 0.001
OUTLIER_MAX_ROWS = 100
#: events dated later than the wall clock by more than this (seconds) are named in a warning
FUTURE_SLACK = 86_400


def outlying_times_warning(times, source: str, *, now: float | None = None) -> str | None:
    """A warning naming the few events dated far from all the others, or in the future: the forecast, the
    backtest and the decayed scores take the latest event as "now", so one row dated a year late makes every
    real event a year old (QA: communities of a 3-week log went from modularity 0.57 to 0; ``rank`` fell back
    to structure).

    >>> t = np.r_[np.arange(1341100000, 1341100000 + 21 * 86400, 600), 1341100000 + 400 * 86400]
    >>> outlying_times_warning(t, "e.csv", now=1.9e9)[:86]
    'e.csv: 1 event lies far after the other 3,024 (2013-08-04T23:46:40Z; the others end 20'
    >>> outlying_times_warning(t[:-1], "e.csv", now=1.9e9) is None
    True
    """
    if times is None:
        return None
    values = np.asarray(times.to_numpy(zero_copy_only=False) if isinstance(times, (pa.Array, pa.ChunkedArray))
                        else times, dtype=np.float64)
    values = np.sort(values[np.isfinite(values)])
    n = len(values)
    def iso(v) -> str:
        try:
            return pd.Timestamp(int(v), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
        except (ValueError, OverflowError, NotImplementedError):    # past what a timestamp prints
            return f"{int(v)} s"

    notes = []
    tail = min(max(int(n * OUTLIER_SHARE), 1), OUTLIER_MAX_ROWS)
    if n >= 50:
        body_lo, body_hi = values[tail], values[n - 1 - tail]
        span = max(body_hi - body_lo, 1.0)
        late = values[values > body_hi + span]
        early = values[values < body_lo - span]
        for found, where, edge in ((late, "after", f"the others end {iso(body_hi)}"),
                                   (early, "before", f"the others start {iso(body_lo)}")):
            if len(found):
                first = iso(found[-1] if where == "after" else found[0])
                notes.append(f"{len(found):,} event{'s' * (len(found) != 1)} {'lies' if len(found) == 1 else 'lie'} "
                             f"far {where} the other {n - len(found):,} ({first}; {edge})")
    now = time.time() if now is None else now
    future = int(np.count_nonzero(values > now + FUTURE_SLACK))
    if future and not any("after" in note for note in notes):
        notes.append(f"{future:,} event{'s' * (future != 1)} {'is' if future == 1 else 'are'} dated after today "
                     f"(latest {iso(values[-1])})")
    if not notes:
        return None
    return (f"{source}: " + "; ".join(notes) + ". The latest event is taken as 'now' by the forecast, the backtest "
            "and the decayed scores: fix or remove such rows (a wrong year, a placeholder date)")


def _by_position(positions: dict, layout, positional_roles, source: str):
    """``{role: 1-based position}`` as the reader's columns: header names, or roles in file order where the
    positions not named keep their usual roles (``--weight-col 3`` alone is enough)."""
    n = layout.n_fields
    if max(positions.values()) > n:
        raise ParameterError(f"{source}: column position {max(positions.values())} given, but the rows have {n} "
                             "fields")
    if layout.header is not None:
        return {role: layout.header[pos - 1] for role, pos in positions.items()}
    try:
        roles = list(positional_roles(n, source))
    except InvalidInputError:
        roles = [None] * n
    roles = [None if r in positions else r for r in roles]
    for role, pos in positions.items():
        roles[pos - 1] = role
    return roles


# ------------------------------------------------------------------------------------- edges
def _edge_roles(n_fields, source):
    if n_fields == 2:
        return ["actor", "target"]
    if n_fields == 3:
        return ["actor", "target", "weight"]
    if n_fields == 4:
        return ["actor", "target", "weight", "time"]
    raise InvalidInputError(
        f"{source}: {n_fields} fields per row and no header; give it a header row, or map the fields with "
        "--source-col / --target-col / --weight-col / --time-col (Python: columns=['actor', 'target', 'weight', "
        "...], None to skip one); fields are separated by commas, tabs or spaces (a semicolon file: save it with "
        "commas)"
    )


def read_edges(source, *, layer: str = "follows", format: str | None = None, columns=None, header="auto",
               delimiter="auto", direction: str | None = None, aggregate: str | None = None,
               self_loops: str = "drop", mode: str = "strict", encoding: str = "utf-8",
               skip_rows: int = 0, undirected: bool | None = None) -> ParsedSource:
    """Parse an edge list into a :class:`ParsedSource` for layer ``layer``.

    Parameters
    ----------
    source : path or pandas.DataFrame or pyarrow.Table
        SNAP-style whitespace text (``#`` / ``%`` comments), CSV, TSV, any of
        them gzipped, Parquet, or a table.
    layer : str, default "follows"
        Layer name; its convention gives the direction (``follows``: row
        ``a b`` = a follows b = influence ``b -> a``; unknown names: ``a -> b``).
    format : {"snap", "csv", "tsv", "parquet"}, optional
        A format of :data:`~graphcrm.loaders.formats.FORMATS` that reads
        edges.  Default: from the file extension (``snap`` otherwise).
    columns : list or dict, optional
        Headerless text: roles in file order, e.g. ``["actor", "target",
        "weight"]`` (``None`` skips a field).  Header / tables: ``{"actor":
        "from_id", ...}``.  Default: by position (2-4 fields: actor, target,
        weight, time) or by header names (``source/target/weight/...``).
    header : bool or "auto"
    delimiter : str, None or "auto"
    direction, aggregate : optional
        Override the layer's conventions.
    undirected : bool, optional
        Each row is a tie both ways (friends, co-authors); default: the
        layer's convention (``friends`` is undirected, other names are not).
    skip_rows : int, default 0
        Lines at the top to skip whatever they hold: 1 for the size line
        ``n m`` of influence-maximization and Matrix Market edge files.  A
        first row that looks like one is an error (fewer fields than the rows
        after it) or, when it was loaded as an edge, a warning in
        ``report.warnings``.
    self_loops : {"drop", "keep", "error"}, default "drop"
    mode : {"strict", "lenient"}, default "strict"
    encoding : str, default "utf-8"

    Examples
    --------
    >>> import pandas as pd
    >>> parsed = read_edges(pd.DataFrame({"source": [1, 2], "target": [2, 3]}), layer="votes")
    >>> parsed.report.rows_loaded
    2
    """
    specs = [
        ColumnSpec("actor", "id", expected=ID_SPEC),
        ColumnSpec("target", "id", expected=ID_SPEC),
        ColumnSpec("weight", "float", expected="a finite number (edge weight)"),
        ColumnSpec("time", "time", expected="Unix seconds or ISO-8601"),
        ColumnSpec("sentiment", "float", expected="a number in [-1, 1]"),
    ]
    request = ReadRequest("edges", encoding=encoding, mode=mode, delimiter=delimiter, header=header,
                          header_aliases=_header_words(), skip_rows=skip_rows)
    cols, report = _read_any(source, request, specs=specs, required=["actor", "target"],
                             positional_roles=_edge_roles, columns=columns, fmt=format,
                             extra_check=_self_loop_check(self_loops))
    report.layer = layer
    if "weight" in cols:
        w = np.asarray(cols["weight"], dtype=float)
        if (w < 0).any():
            report.warnings.append(f"{report.source}: {int((w < 0).sum()):,} negative weights on layer '{layer}' "
                                   f"(min {w.min():g}); a negative strength reverses influence -- for trust / "
                                   "distrust ratings load the file with --signed")
    opts = {"direction": direction, "aggregate": aggregate, "undirected": undirected}
    return ParsedSource("edges", layer, cols, report, {k: v for k, v in opts.items() if v is not None})


def _header_words():
    return tuple(a for aliases in ALIASES.values() for a in aliases if len(a) > 2)


# ------------------------------------------------------------------------------------ events
def _event_roles(n_fields, source):
    if n_fields == 4:
        return ["actor", "target", "time", "type"]
    if n_fields == 5:
        return ["actor", "target", "time", "type", "sentiment"]
    raise InvalidInputError(
        f"{source}: {n_fields} fields per row and no header; interaction rows are 'actor target unix_time type "
        "[sentiment]' (the higgs-twitter layout) or need a header naming the columns"
    )


def read_interactions(source, *, format: str | None = None, columns=None, header="auto", delimiter="auto",
                      direction: dict | None = None, self_loops: str = "drop", mode: str = "strict",
                      encoding: str = "utf-8", skip_rows: int = 0, topic_rules=None,
                      sentiment_from_text: bool = True) -> ParsedSource:
    """Parse interaction events ``(actor, target, type, time[, sentiment][, weight][, message columns])``.

    Types (case-insensitive): ``RT``/``retweet``, ``MT``/``mention``,
    ``RE``/``reply``, ``LK``/``like`` (see ``INTERACTION_TYPE_NAMES``); each
    goes to its layer (``retweets``, ``mentions``, ``replies``, ``likes``).
    Unknown types and unparseable timestamps are errors.

    Parameters
    ----------
    format : {"higgs", "csv", "tsv", "jsonl", "parquet"}, optional
        A format of :data:`~graphcrm.loaders.formats.FORMATS` that reads
        interactions; default: from the file extension (``higgs`` otherwise).
        ``higgs``: ``userA userB unix_ts RT|MT|RE``, space separated, no
        header (the SNAP higgs-activity file).
    direction : dict, optional
        Per-type direction overrides, e.g. ``{"mentions": "reverse"}``.
    topic_rules : dict or path, optional
        Keyword rules ``{topic: [keyword, ...]}`` (or a TOML / CSV file, see
        :func:`graphcrm.loaders.topics.read_topic_rules`) matched on the text
        column; matches are added to the event's topics.
    sentiment_from_text : bool, default True
        With a ``text`` column and no ``sentiment`` column, score each text
        with VADER (:func:`graphcrm.loaders.sentiment.text_sentiment`).  A
        sentiment column always wins.

    Other parameters are as in :func:`read_edges`.

    Notes
    -----
    Optional message columns (matched by header name or ``columns=``):

    * ``text`` (aliases ``message``, ``body``, ``content``, ``tweet``): any string;
    * ``topics`` (``hashtags``, ``topic``, ``tags``): a JSON list or words
      separated by spaces, commas, semicolons or ``|``; normalised to lower
      case without ``#``; a cell that is not a list is a bad row
      (``bad_topics``: an error in strict mode, a reject in lenient mode);
    * ``message_id`` (``msg_id``, ``post_id``, ``tweet_id``) and ``parent_id``
      (``in_reply_to``, ``reply_to_id``): the cascade identity, as text.

    They are kept in the event log (:attr:`~graphcrm.loaders.graph.EventLog.extra`)
    and the snapshot; no algorithm needs them.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"actor": ["a", "b"], "target": ["c", "c"], "time": [1, 2], "type": ["RT", "RT"],
    ...                      "text": ["I love Acme", "meh"], "hashtags": ["#Acme #phones", ""]})
    >>> parsed = read_interactions(rows)
    >>> parsed.columns["topics"].tolist(), parsed.columns["sentiment"].round(3).tolist()
    ([['acme', 'phones'], None], [0.637, -0.077])
    """
    _check_directions(direction)
    specs = [
        ColumnSpec("actor", "id", expected=ID_SPEC),
        ColumnSpec("target", "id", expected=ID_SPEC),
        ColumnSpec("time", "time", expected="Unix seconds or ISO-8601"),
        ColumnSpec("type", "category", categories=INTERACTION_TYPE_NAMES, expected="an interaction type"),
        ColumnSpec("sentiment", "float", expected="a number (sentiment)"),
        ColumnSpec("weight", "float", expected="a finite number (weight)"),
        ColumnSpec("text", "text", required=False, expected="message text"),
        ColumnSpec("topics", "topics", required=False, expected="a list of topics"),
        ColumnSpec("message_id", "text", required=False, expected="a message id"),
        ColumnSpec("parent_id", "text", required=False, expected="a parent message id"),
    ]
    request = ReadRequest("interactions", encoding=encoding, mode=mode, delimiter=delimiter, header=header,
                          header_aliases=_header_words(), skip_rows=skip_rows)
    cols, report = _read_any(source, request, specs=specs, required=["actor", "target", "time", "type"],
                             positional_roles=_event_roles, columns=columns, fmt=format,
                             extra_check=_self_loop_check(self_loops))
    report.layer = "interactions"
    if "message_id" in cols:
        _warn_repeated_message_ids(cols["message_id"], report)
    if topic_rules is not None:
        from graphcrm.loaders.topics import match_topics, merge_topics, read_topic_rules

        rules = topic_rules if isinstance(topic_rules, dict) else read_topic_rules(topic_rules)
        if "text" not in cols:
            report.warnings.append(f"{report.source}: topic rules given but the file has no text column")
        else:
            matched = match_topics(cols["text"], rules)
            merged = merge_topics(cols["topics"], matched) if "topics" in cols else matched
            cols["topics"] = np.empty(len(merged), dtype=object)
            for i, value in enumerate(merged):
                cols["topics"][i] = value
    if sentiment_from_text and "text" in cols and "sentiment" not in cols:
        from graphcrm.loaders.sentiment import text_sentiment

        cols["sentiment"] = text_sentiment(cols["text"])
    return ParsedSource("events", None, cols, report, {"direction": dict(direction or {})})


def _warn_repeated_message_ids(ids, report) -> None:
    """A message id given to two events (the cascade identity: replies and shares name it as their parent) is
    loaded as it is, and counted in a warning with the first one repeated."""
    import pyarrow as pa
    import pyarrow.compute as pc

    import pandas as pd

    column = ids if isinstance(ids, (pa.Array, pa.ChunkedArray)) else pa.array(
        [None if not isinstance(v, str) and pd.isna(v) else str(v) for v in ids], pa.string())
    column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column) if len(column) else column
    column = pc.drop_null(column)
    if len(column) == 0:
        return
    counts = pc.value_counts(column)
    repeated = pc.filter(counts, pc.greater(counts.field("counts"), 1))
    if len(repeated):
        first = repeated[0]["values"].as_py()
        extra = int(pc.sum(repeated.field("counts")).as_py()) - len(repeated)
        report.warnings.append(f"{report.source}: {len(repeated):,} message ids are given to more than one event "
                               f"({extra:,} repeats; first: {first!r}): a reply or share naming one as its parent "
                               "cannot tell which it means")


def _check_directions(direction):
    if direction is None:
        return
    layers = sorted(set(INTERACTION_TYPE_NAMES.values()))
    for key, value in direction.items():
        if key not in layers:
            raise ParameterError(f"direction override for unknown interaction layer {key!r}; layers are {layers}")
        if value not in ("forward", "reverse"):
            raise ParameterError(f"direction of {key!r} must be 'forward' or 'reverse', got {value!r}")


# ------------------------------------------------------------------------------------ signed
SIGNED_SCALE = 10          # bitcoin OTC / alpha ratings run from -10 to +10
def read_signed(source, *, layer: str = "trust", format: str | None = None, columns=None, header="auto",
                delimiter="auto", direction: str | None = None, self_loops: str = "drop", mode: str = "strict",
                encoding: str = "utf-8", skip_rows: int = 0) -> ParsedSource:
    """Parse signed trust edges ``actor, target, rating[, time]`` (bitcoin OTC / alpha format).

    The rating is the edge weight (its sign says trust or distrust); with a
    time column the ratings are kept as an event log.  A header line is
    detected automatically.
    """
    def roles(n_fields, src):
        if n_fields in (3, 4):
            return ["actor", "target", "weight", "time"][:n_fields]
        raise InvalidInputError(f"{src}: signed rows are 'actor,target,rating[,time]'; found {n_fields} fields")

    specs = [
        ColumnSpec("actor", "id", expected=ID_SPEC),
        ColumnSpec("target", "id", expected=ID_SPEC),
        ColumnSpec("weight", "float", expected="a signed number (rating)"),
        ColumnSpec("time", "time", expected="Unix seconds or ISO-8601"),
    ]
    request = ReadRequest("signed", encoding=encoding, mode=mode, delimiter=delimiter, header=header,
                          header_aliases=_header_words(), skip_rows=skip_rows)
    cols, report = _read_any(source, request, specs=specs, required=["actor", "target", "weight"],
                             positional_roles=roles, columns=columns, fmt=format,
                             extra_check=_self_loop_check(self_loops))
    report.layer = layer
    w = np.asarray(cols["weight"], dtype=float)
    if len(w) and np.abs(w).max() > SIGNED_SCALE:
        far = np.abs(w) > SIGNED_SCALE
        report.warnings.append(f"{report.source}: {int(far.sum()):,} ratings outside -{SIGNED_SCALE}..+{SIGNED_SCALE} "
                               f"(the bitcoin OTC / alpha scale), up to {w[far][np.argmax(np.abs(w[far]))]:g}; "
                               "they weigh that much more in every trust score -- check the file")
    if "time" in cols:
        w = cols["weight"]
        cols["sentiment"] = np.sign(w)
    opts = {"signed": True, **({"direction": direction} if direction else {})}
    return ParsedSource("edges", layer, cols, report, opts)


# ------------------------------------------------------------------------------------- nodes
NODE_ATTRIBUTE_ALIASES = {
    "followers": ("followers", "follower_count", "followers_count", "audience"),
    "cost": ("cost", "price", "fee"),
}


def read_nodes(source, *, id_column: str | None = None, format: str | None = None, mode: str = "strict",
               encoding: str = "utf-8", delimiter="auto", header="auto", columns: list | None = None) -> ParsedSource:
    """Parse a node table: one row per account, an id column and any attributes.

    Well-known attributes are renamed: ``followers`` (follower count) and
    ``cost`` (per-person cost for budgeted campaigns); both must be
    non-negative numbers.  Other columns are kept as they are (numbers or
    text).  An account listed twice is an error.

    Parameters
    ----------
    header : bool or "auto"
        Text files: whether the first line names the columns.  Without a
        header the columns are named by ``columns`` (default ``id``,
        ``column_2``, ``column_3`` ...).
    columns : list of str, optional
        Column names of a headerless text file, e.g. ``["id", "department"]``.

    Examples
    --------
    >>> import pandas as pd
    >>> parsed = read_nodes(pd.DataFrame({"account_id": [1, 2], "followers": [10, 0]}))
    >>> parsed.columns["followers"].tolist()
    [10.0, 0.0]
    """
    report = LoadReport("<DataFrame>")
    lines = problems = None
    if isinstance(source, (pd.DataFrame, pa.Table)):
        names = list(source.columns) if isinstance(source, pd.DataFrame) else source.column_names
        label = "<DataFrame>"
    else:
        path = check_exists(source)
        label = str(path)
        report = LoadReport(label)
        request = ReadRequest("nodes", encoding=encoding, mode=mode, delimiter=delimiter, header=header,
                              header_aliases=ALIASES["id"] + tuple(a for v in NODE_ATTRIBUTE_ALIASES.values() for a in v))
        opened = format_for(path, format, kind="nodes").reader(path, request, report)
        if not isinstance(opened, TextLayout):      # a table (Parquet, JSON lines): its columns are named
            source, lines, problems = opened.table, opened.lines, opened.problems
            names = source.column_names
        else:
            layout = opened
            if layout.header is not None:
                names = layout.header
            else:
                names = list(columns) if columns else ["id"] + [f"column_{i}" for i in range(2, layout.n_fields + 1)]
                if len(names) != layout.n_fields:
                    raise ParameterError(f"{label}: {layout.n_fields} fields per row but {len(names)} column names")
    if len(set(map(str, names))) != len(names):
        raise InvalidInputError(f"{label}: {_duplicate_names([str(n) for n in names])}")
    if "account_id" in names and (id_column or "account_id") != "account_id":
        raise InvalidInputError(f"{label}: a column 'account_id' that is not the id column; rename it")
    id_name = id_column or _match_roles(names, ["id"], None, label).get("id")
    if id_name is None or id_name not in names:
        raise InvalidInputError(f"{label}: no account id column (found: {', '.join(map(str, names))}); "
                                "name it 'id' / 'account_id' or pass id_column=")
    renamed = {}
    for canon, aliases in NODE_ATTRIBUTE_ALIASES.items():
        for n in names:
            if str(n).lower() in aliases and n != id_name:
                renamed[canon] = n
                break
    specs = [ColumnSpec("id", "id", expected=ID_SPEC)]
    roles = {"id": id_name}
    for n in names:
        if n == id_name:
            continue
        canon = next((c for c, orig in renamed.items() if orig == n), str(n))
        kind = "float" if canon in NODE_ATTRIBUTE_ALIASES else "auto"
        specs.append(ColumnSpec(canon, kind, required=False, expected="a non-negative number"))
        roles[canon] = n

    def check(parsed, lines, problems):
        ids = parsed["id"]
        ids = ids.to_pandas().to_numpy() if isinstance(ids, (pa.Array, pa.ChunkedArray)) else ids
        dup = pd.Series(ids).duplicated().to_numpy()
        problems.add_many(lines[dup], "id", "duplicate_id",
                          [f"account {v!r} is listed more than once" for v in ids[dup].tolist()])
        for canon in NODE_ATTRIBUTE_ALIASES:
            if canon in parsed:
                neg = np.asarray(parsed[canon]) < 0
                problems.add_many(lines[neg], canon, "bad_number", [f"{canon} must be >= 0"] * int(neg.sum()))

    if isinstance(source, (pd.DataFrame, pa.Table)):
        cols = read_frame(source, roles, specs, source=label, mode=mode, report=report, extra_check=check,
                          lines=lines, problems=problems)
    else:
        field_roles = [next((r for r, n in roles.items() if n == h), None) for h in names]
        cols = read_text(layout, field_roles, specs, mode=mode, report=report, extra_check=check)
    report.layer = "nodes"
    return ParsedSource("nodes", None, cols, report, {})


# ------------------------------------------------------------------------------ graph builds
def build_graph(*sources: ParsedSource, self_loops: str = "drop", consume: bool = False
                ) -> tuple[SocialGraph, list[LoadReport]]:
    """One graph from several parsed sources (one id map for all of them).

    ``self_loops="error"`` was already enforced by the readers; here
    ``"keep"`` keeps self-loops and anything else drops them (counted in
    each layer's ``build_report``).  With ``consume=True`` (the CLI and the
    pipeline) edge and event sources are handed over once all are added: each
    keeps its first row only (:meth:`ParsedSource.keep_first_row`), so a load of
    millions of rows does not hold every id twice while the graph is built.
    """
    builder = GraphBuilder(self_loops="keep" if self_loops == "keep" else "drop")
    for s in sources:
        s.add_to(builder)
    if consume:
        for s in sources:
            if s.kind != "nodes":           # node ids are read again below, by the spelling check
                s.keep_first_row()
    graph = builder.build(metadata={"loads": [s.report.as_dict() for s in sources]})
    reports = [s.report for s in sources]
    for r in reports:
        if r.layer in graph.layers:
            r.build = dict(graph.layer(r.layer).build_report)
    _warn_unmatched_node_ids(graph, sources)
    return graph, reports


def _warn_unmatched_node_ids(graph: SocialGraph, sources) -> None:
    """A warning on a node table none of whose ids is an account of the graph's ties or events: ids written
    another way (``1.0`` in one file, ``1`` in the other; a prefix; another id space) make two accounts each."""
    if not graph.layers or not any(s.kind != "nodes" for s in sources):
        return
    tied = np.zeros(graph.n_nodes, dtype=bool)
    for lay in graph.layers.values():
        tied |= (lay.out_degree() > 0) | (lay.in_degree() > 0)
    for s in sources:
        if s.kind != "nodes" or not len(s.columns["id"]):
            continue
        ids = s.columns["id"]
        ids = ids.to_numpy(zero_copy_only=False) if isinstance(ids, (pa.Array, pa.ChunkedArray)) else np.asarray(ids)
        dense = np.asarray(graph.index_of(ids), dtype=np.int64)
        alone = ~tied[dense]
        if alone.all():
            s.report.warnings.append(
                f"{s.report.source}: none of its {len(ids):,} ids is an account of the ties or events loaded with "
                f"it (first: {ids[0]}); ids must be written alike in every file (1 and 1.0, or @ann and ann, are "
                "different accounts)")
        elif alone.any():
            found = _spelled_otherwise(graph, ids[alone][:SPELLING_CHECK_LIMIT], tied)
            if found:
                count, mine, theirs = found
                s.report.warnings.append(
                    f"{s.report.source}: {count:,} of its ids without ties match a tied account written another "
                    f"way (first: {mine!r} here, {theirs!r} in the ties): they were loaded as separate accounts; "
                    "write ids alike in every file")


#: node ids without ties checked for another spelling of a tied account (a sample: the check is per id)
SPELLING_CHECK_LIMIT = 200_000


def _spelled_otherwise(graph: SocialGraph, ids: np.ndarray, tied: np.ndarray):
    """``(count, id, tied spelling)`` of the ``ids`` that name a tied account when written as a number
    (``1.0`` / ``1``), without ``@``, or in lower case; ``None`` when none does."""
    text = pd.Series(ids.astype(str) if ids.dtype.kind != "O" else ids, dtype=object).astype(str)
    integral = text.str.fullmatch(r"[+-]?\d+\.0*")
    variants = [
        text.where(~integral, text.str.replace(r"\.0*$", "", regex=True)),
        text.where(~text.str.fullmatch(r"-?\d+"), text + ".0"),
        text.str.lstrip("@"),
        "@" + text,
        text.str.lower(),
    ]
    hit = np.full(len(text), -1, dtype=np.int64)
    for variant in variants:
        changed = (variant != text).to_numpy() & (hit < 0)
        if not changed.any():
            continue
        dense = np.asarray(graph.id_map.lookup(variant[changed].to_numpy(dtype=object)), dtype=np.int64)
        ok = dense >= 0
        ok[ok] = tied[dense[ok]]
        where = np.flatnonzero(changed)
        hit[where[ok]] = dense[ok]
    matched = np.flatnonzero(hit >= 0)
    if not len(matched):
        return None
    first = matched[0]
    return len(matched), text.iloc[first], str(graph.ids_of(np.array([hit[first]]))[0])


def load_edges(source, **kwargs) -> SocialGraph:
    """Read an edge list (see :func:`read_edges`) and build a graph.

    Examples
    --------
    >>> import pandas as pd
    >>> g = load_edges(pd.DataFrame({"src": ["ann", "bob"], "dst": ["bob", "cat"]}))
    >>> g.edges("follows").values.tolist()    # ann follows bob: bob influences ann
    [['bob', 'ann', 1.0], ['cat', 'bob', 1.0]]
    """
    policy = kwargs.get("self_loops", "drop")
    return build_graph(read_edges(source, **kwargs), self_loops=policy)[0]


def load_interactions(source, **kwargs) -> SocialGraph:
    """Read interaction events (see :func:`read_interactions`) and build a graph."""
    policy = kwargs.get("self_loops", "drop")
    return build_graph(read_interactions(source, **kwargs), self_loops=policy)[0]


def load_signed(source, **kwargs) -> SocialGraph:
    """Read signed trust edges (see :func:`read_signed`) and build a graph."""
    policy = kwargs.get("self_loops", "drop")
    return build_graph(read_signed(source, **kwargs), self_loops=policy)[0]


def load_nodes(source, **kwargs) -> SocialGraph:
    """A graph of accounts and attributes only (no layers); combine with :func:`build_graph`."""
    return build_graph(read_nodes(source, **kwargs))[0]
