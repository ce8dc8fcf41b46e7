"""The file formats the loaders read: one registry, one reader per format.

A :class:`Format` says what a format is called (``--format NAME``), which
file extensions it claims (``.gz`` is always allowed on top), which kinds of
source it can hold (``edges``, ``interactions``, ``signed``, ``nodes``), and
which function reads it.  :data:`FORMATS` holds them all, name -> format;
:func:`format_for` picks one for a file.  The ``read_*`` functions of
:mod:`graphcrm.loaders.api` look formats up here and nowhere else.

A reader is called as ``reader(path, request, report)`` with a
:class:`ReadRequest` and the load's :class:`~graphcrm.loaders._tables.LoadReport`,
and returns either

* a :class:`TableSource` -- a table whose columns are named (Parquet, JSON
  lines); the loader matches column names to roles, or
* a :class:`~graphcrm.loaders._source.TextLayout` -- delimited text, sniffed
  (delimiter, header, first data line); the loader reads the fields once it
  knows which role each one plays.

Adding a format is a reader function, one :class:`Format` entry in
:data:`FORMATS` and a test in ``tests/test_formats.py``.  Order matters only
for defaults: a file whose extension no format claims is read with the first
registered format of its kind (``snap`` for edges and signed edges,
``higgs`` for interactions, ``csv`` for node tables).

This module is imported by the command line at startup (its help lists the
formats), so it imports nothing heavy at module level: each reader imports
pyarrow & co. when it runs.

Examples
--------
>>> list(FORMATS)
['snap', 'higgs', 'csv', 'tsv', 'jsonl', 'parquet']
>>> format_for("ratings.csv.gz", kind="signed").name
'csv'
>>> format_names("nodes")
('csv', 'tsv', 'jsonl', 'parquet')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from graphcrm.loaders.errors import InputFileError, ParameterError

if TYPE_CHECKING:
    from graphcrm.loaders._source import TextLayout
    from graphcrm.loaders._tables import LoadReport

#: the kinds of source a format can hold (``graphcrm load --edges / --interactions / --signed / --nodes``)
KINDS = ("edges", "interactions", "signed", "nodes")


@dataclass(frozen=True)
class ReadRequest:
    """What a loader asks of a reader, beside the path.

    Parameters
    ----------
    kind : {"edges", "interactions", "signed", "nodes"}
        The kind of source being read.
    encoding : str, default "utf-8"
    mode : {"strict", "lenient"}, default "strict"
        Readers that find bad records themselves (JSON lines) raise on the
        first one in strict mode and collect them in lenient mode.
    delimiter : str, None or "auto", default "auto"
        Text formats: the caller's delimiter; ``"auto"`` lets the format
        choose (``csv``: comma, ``tsv``: tab) or sniff it.
    header : bool or "auto", default "auto"
        Text formats: whether the first line names the columns.
    header_aliases : tuple of str
        Text formats: column names that make a first line a header.
    skip_rows : int, default 0
        Text formats: lines after the leading comments to skip whatever they hold.

    Examples
    --------
    >>> ReadRequest("edges", delimiter=";").delimiter
    ';'
    """

    kind: str
    encoding: str = "utf-8"
    mode: str = "strict"
    delimiter: str | None = "auto"
    header: bool | str = "auto"
    header_aliases: tuple = ()
    skip_rows: int = 0


@dataclass
class TableSource:
    """A reader's result for formats whose records name their fields (Parquet, JSON lines).

    Attributes
    ----------
    table : pyarrow.Table
    lines : array of int, optional
        Each row's line in the file (JSON lines); ``None``: problems name the 1-based row.
    problems : graphcrm.loaders._tables._Problems, optional
        Problems the reader already found (records it could not parse); validation adds to them.
    """

    table: Any
    lines: Any = None
    problems: Any = None


@dataclass(frozen=True)
class Format:
    """One file format the loaders read.

    Parameters
    ----------
    name : str
        What ``format=`` / ``--format`` calls it.
    extensions : tuple of str
        Lower-case file name endings it claims (``.gz`` may follow any of them).
        Empty: chosen by name, or as the default of its kinds.
    kinds : tuple of str
        Kinds of source it can hold, from :data:`KINDS`.
    description : str
        One line for people.
    reader : callable
        ``reader(path, request, report)`` -> :class:`TableSource` or
        :class:`~graphcrm.loaders._source.TextLayout`.

    Examples
    --------
    >>> fmt = FORMATS["jsonl"]
    >>> fmt.claims("events.ndjson.gz"), fmt.claims("events.csv"), fmt.reads("edges")
    (True, False, False)
    """

    name: str
    extensions: tuple[str, ...]
    kinds: tuple[str, ...]
    description: str
    reader: Callable[[Path, ReadRequest, "LoadReport"], "TableSource | TextLayout"]

    def claims(self, path) -> bool:
        """Whether the file name of ``path`` (``.gz`` or not) ends with one of this format's extensions."""
        return Path(path).name.lower().removesuffix(".gz").endswith(self.extensions)

    def reads(self, kind: str) -> bool:
        """Whether a source of ``kind`` can be in this format."""
        return kind in self.kinds


# ---------------------------------------------------------------------------------- readers
def _sniff(path: Path, request: ReadRequest, delimiter: str | None) -> "TextLayout":
    """Sniff a delimited text file; ``delimiter`` is the one the format implies (``None``: sniffed)."""
    from graphcrm.loaders._source import sniff_text

    given = request.delimiter
    if request.kind == "nodes":
        # node tables: tsv always means tab, while a .csv node table keeps the caller's delimiter ("auto":
        # sniffed), as read_nodes has always done
        given = "\t" if delimiter == "\t" else given
    elif given == "auto" and delimiter is not None:
        given = "csv" if delimiter == "," else delimiter     # a .csv: commas, or semicolons (decimal-comma locales)
    return sniff_text(path, encoding=request.encoding, delimiter=given, header=request.header,
                      header_aliases=request.header_aliases, skip_rows=request.skip_rows)


def read_snap(path: Path, request: ReadRequest, report: "LoadReport") -> "TextLayout":
    """Sniff SNAP-style text: whitespace-separated fields (tabs or commas are detected), ``#`` / ``%`` comments.

    Parameters
    ----------
    path : pathlib.Path
        The file, plain or gzipped.
    request : ReadRequest
    report : LoadReport
        Not written to: the fields are read, and counted, once the loader
        knows their roles.

    Returns
    -------
    TextLayout

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from graphcrm.loaders._tables import LoadReport
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "follows.txt"
    >>> _ = f.write_text("# from to\\n1 2\\n2 3\\n")
    >>> layout = read_snap(f, ReadRequest("edges"), LoadReport(str(f)))
    >>> layout.delimiter is None, layout.n_fields, layout.first_data_line
    (True, 2, 2)
    """
    return _sniff(path, request, None)


def read_higgs(path: Path, request: ReadRequest, report: "LoadReport") -> "TextLayout":
    """Sniff a SNAP higgs-activity log: ``userA userB unix_ts RT|MT|RE``, space separated, no header.

    Parameters and result are as for :func:`read_snap`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from graphcrm.loaders._tables import LoadReport
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "higgs-activity_time.txt"
    >>> _ = f.write_text("1 2 1341100972 RT\\n2 3 1341100973 MT\\n")
    >>> layout = read_higgs(f, ReadRequest("interactions"), LoadReport(str(f)))
    >>> layout.header, layout.n_fields
    (None, 4)
    """
    return _sniff(path, request, None)


def read_csv(path: Path, request: ReadRequest, report: "LoadReport") -> "TextLayout":
    """Sniff comma-separated text (a header line is detected; quoted fields allowed).

    Parameters and result are as for :func:`read_snap`; ``request.delimiter``
    other than ``"auto"`` overrides the comma.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from graphcrm.loaders._tables import LoadReport
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "edges.csv"
    >>> _ = f.write_text("source,target\\n1,2\\n")
    >>> layout = read_csv(f, ReadRequest("edges", header_aliases=("source",)), LoadReport(str(f)))
    >>> layout.delimiter, layout.header
    (',', ['source', 'target'])
    """
    return _sniff(path, request, ",")


def read_tsv(path: Path, request: ReadRequest, report: "LoadReport") -> "TextLayout":
    """Sniff tab-separated text (a header line is detected).

    Parameters and result are as for :func:`read_snap`; ``request.delimiter``
    other than ``"auto"`` overrides the tab (except for node tables).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from graphcrm.loaders._tables import LoadReport
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "accounts.tsv"
    >>> _ = f.write_text("id\\tfollowers\\n1\\t10\\n")
    >>> layout = read_tsv(f, ReadRequest("nodes", header_aliases=("id",)), LoadReport(str(f)))
    >>> layout.delimiter, layout.header
    ('\\t', ['id', 'followers'])
    """
    return _sniff(path, request, "\t")


def read_parquet(path: Path, request: ReadRequest, report: "LoadReport") -> TableSource:
    """Read an Apache Parquet file into a :class:`TableSource`.

    Raises
    ------
    InputFileError
        The file is not readable as Parquet.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pyarrow as pa, pyarrow.parquet as pq
    >>> from graphcrm.loaders._tables import LoadReport
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "edges.parquet"
    >>> pq.write_table(pa.table({"source": [1, 2], "target": [2, 3]}), f)
    >>> read_parquet(f, ReadRequest("edges"), LoadReport(str(f))).table.column_names
    ['source', 'target']
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return TableSource(pq.read_table(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(path, None, None, f"not a readable Parquet file ({exc})") from None


def read_jsonl(path: Path, request: ReadRequest, report: "LoadReport") -> TableSource:
    """Read JSON lines (one flat object per line) into a :class:`TableSource` with each row's line.

    pyarrow's reader is used when its rows map one-to-one onto the file's
    lines (UTF-8, valid JSON, no blank lines, no nested values); otherwise
    records are parsed line by line so every problem names its line: in
    strict mode the first one raises, in lenient mode they are handed on in
    ``problems``.  Sets ``report.rows_read`` (and ``path_taken = "precise"``
    for the line-by-line parse).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from graphcrm.loaders._tables import LoadReport
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "events.jsonl"
    >>> _ = f.write_text('{"actor": 1, "target": 2}\\n\\n{"actor": 2, "target": 3}\\n')
    >>> src = read_jsonl(f, ReadRequest("interactions"), LoadReport(str(f)))
    >>> src.table.column_names, src.lines.tolist()
    (['actor', 'target'], [1, 3])
    """
    import json

    import numpy as np
    import pyarrow as pa
    import pyarrow.json as pj

    from graphcrm.loaders._source import open_binary
    from graphcrm.loaders._tables import LineNumbers, _Problems

    encoding, mode = request.encoding, request.mode
    lists_ok = request.kind == "interactions"     # a list of scalars: a topics / hashtags cell
    problems = _Problems(str(path), "line")
    if encoding.lower().replace("-", "").replace("_", "") == "utf8":
        try:
            with open_binary(path) as fh:
                data = fh.read()
            no_blank = not data.startswith((b"\n", b"\r\n")) and b"\n\n" not in data and b"\n\r\n" not in data
            if no_blank:
                table = pj.read_json(pa.BufferReader(data))
                if not any(pa.types.is_nested(t) and not (lists_ok and _flat_list(t)) for t in table.schema.types):
                    report.rows_read = table.num_rows
                    return TableSource(table, LineNumbers(1, table.num_rows), problems)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
            pass                # not a clean file for the fast reader: the line-by-line reader below names the bad line
    report.path_taken = "precise"
    records, lines = [], []
    with open_binary(path) as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                problems.add(number, None, "encoding",
                             f"bytes not valid {encoding} (0x{raw[exc.start:exc.start + 1].hex()}); "
                             "pass --encoding latin-1 (or the right one; Python: encoding=...) or re-encode the file as UTF-8")
                report.rows_read += 1
                continue
            if number == 1 and text.startswith("\ufeff"):      # a byte-order mark, as the text readers drop it
                text = text[1:]
            if not text.strip():
                continue
            report.rows_read += 1
            try:
                rec = json.loads(text)
                if not isinstance(rec, dict):
                    raise ValueError("a JSON array: write one object per line (JSON lines)" if isinstance(rec, list)
                                     else "not an object")
            except ValueError as exc:
                problems.add(number, None, "malformed_row", f"not a JSON object ({exc})", text[:200])
                continue
            nested = [k for k, v in rec.items() if isinstance(v, dict) or (
                isinstance(v, list) and not (lists_ok and all(not isinstance(x, (dict, list)) for x in v)))]
            if nested:
                problems.add(number, nested[0], "malformed_row",
                             f"field {nested[0]!r} holds a nested {type(rec[nested[0]]).__name__}; expected a plain value",
                             text[:200])
                continue
            records.append(rec)
            lines.append(number)
    if problems.rows and mode == "strict":
        raise problems.first_error()
    keys = sorted({k for r in records for k in r})
    columns = {}
    for k in keys:
        values = [r.get(k) for r in records]
        kinds = {type(v) for v in values if v is not None}
        if list in kinds:    # topics given as lists (maybe beside text cells): JSON text, parsed by the validator
            values = [None if v is None else (json.dumps(v) if isinstance(v, list) else str(v)) for v in values]
        elif len(kinds) > 1:   # mixed types (e.g. int and text ids): text, the validators decide
            values = [None if v is None else str(v) for v in values]
        columns[k] = pa.array(values, from_pandas=True)
    return TableSource(pa.table(columns) if columns else pa.table({}), np.asarray(lines, dtype=np.int64), problems)


def _flat_list(t) -> bool:
    """A list of scalars (JSON ``["a", "b"]``), not of objects or lists."""
    import pyarrow as pa

    return (pa.types.is_list(t) or pa.types.is_large_list(t)) and not pa.types.is_nested(t.value_type)


# --------------------------------------------------------------------------------- registry
#: every format the loaders read, name -> :class:`Format`; the first of a kind is its default
FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("snap", (), ("edges", "signed"),
           "SNAP-style text: whitespace-separated fields, # / % comments; the default for edges and signed edges",
           read_snap),
    Format("higgs", (), ("interactions",),
           "SNAP higgs-activity log 'userA userB unix_ts RT|MT|RE', no header; the default for interactions",
           read_higgs),
    Format("csv", (".csv",), ("edges", "interactions", "signed", "nodes"),
           "comma-separated text, header line detected; the default for node tables", read_csv),
    Format("tsv", (".tsv",), ("edges", "interactions", "signed", "nodes"),
           "tab-separated text, header line detected", read_tsv),
    Format("jsonl", (".jsonl", ".ndjson", ".json"), ("interactions", "nodes"),
           "JSON lines: one flat object per line, its keys the column names", read_jsonl),
    Format("parquet", (".parquet", ".pq"), ("edges", "interactions", "signed", "nodes"),
           "Apache Parquet table", read_parquet),
)}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ParameterError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def format_names(*kinds: str) -> tuple[str, ...]:
    """Names of the formats that can hold any of ``kinds`` (every format when none is given), in registry order.

    Parameters
    ----------
    *kinds : str
        Kinds from :data:`KINDS`.

    Returns
    -------
    tuple of str
        The first name is the kind's default when one kind is given.

    Examples
    --------
    >>> format_names("edges")
    ('snap', 'csv', 'tsv', 'parquet')
    >>> "|".join(format_names("edges", "interactions"))
    'snap|higgs|csv|tsv|jsonl|parquet'
    """
    for kind in kinds:
        _check_kind(kind)
    return tuple(name for name, fmt in FORMATS.items() if not kinds or any(fmt.reads(k) for k in kinds))


def format_for(path, given: str | None = None, *, kind: str = "edges") -> Format:
    """The format to read ``path`` as: the one named ``given``, else the one its extension claims.

    Parameters
    ----------
    path : str or pathlib.Path
        The file (only its name is looked at; ``.gz`` at the end is ignored).
    given : str, optional
        An explicit format name (``format=`` / ``--format``).
    kind : {"edges", "interactions", "signed", "nodes"}, default "edges"
        The kind of source: only formats that can hold it are chosen, and a
        file whose extension no such format claims gets the kind's default
        (its first format, e.g. ``snap`` for edges).

    Returns
    -------
    Format

    Raises
    ------
    ParameterError
        ``given`` is not a format of this kind (the message lists the ones that are).

    Examples
    --------
    >>> format_for("wiki-Vote.txt.gz").name
    'snap'
    >>> format_for("events.ndjson.gz", kind="interactions").name
    'jsonl'
    >>> format_for("events.txt", "higgs", kind="edges")
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.ParameterError: format must be one of snap, csv, tsv, parquet, got 'higgs'
    """
    _check_kind(kind)
    choices = format_names(kind)
    if given is not None:
        if given not in choices:
            raise ParameterError(f"format must be one of {', '.join(choices)}, got {given!r}")
        return FORMATS[given]
    for name in choices:
        if FORMATS[name].claims(path):
            return FORMATS[name]
    return FORMATS[choices[0]]


def estimate_rows(path) -> int:
    """Rows a file holds, estimated without reading it all: a table format's metadata, else size / line length.

    Used to refuse a load that cannot fit in memory before anything is allocated
    (see :func:`graphcrm.loaders._source.estimate_text_rows` for text and gzip).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "e.txt"
    >>> _ = f.write_text("".join(f"{i} {i + 1}\\n" for i in range(1000)))
    >>> 900 <= estimate_rows(f) <= 1100
    True
    """
    from graphcrm.loaders._source import check_exists, estimate_text_rows

    path = check_exists(path)
    if path.suffix.lower() in FORMATS["parquet"].extensions:      # a gzip of Parquet is not Parquet
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:           # an unreadable file: its reader says why, later
            return 0
    return estimate_text_rows(path)
