"""Writing result tables: CSV or Parquet by extension, atomically (temp file + rename)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from graphcrm.loaders.atomic import write_atomic
from graphcrm.loaders.csvsafe import escape_frame, read_csv as read_escaped_csv
from graphcrm.loaders.errors import InputFileError, ParameterError

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def check_table_path(path) -> Path:
    """``path`` if :func:`write_table` can write it (``.csv`` or ``.parquet``), else a :class:`ParameterError`:
    verbs check every output path before they compute or write anything.

    Examples
    --------
    >>> check_table_path("leaders.parquet").name
    'leaders.parquet'
    >>> check_table_path("profiles.txt")
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.ParameterError: profiles.txt: output must end in .csv or .parquet
    """
    path = Path(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise ParameterError(f"{path}: output must end in .csv or .parquet")
    if path.is_dir():
        raise ParameterError(f"{path}: is a directory; expected a file name ending in .csv or .parquet")
    return path


def check_outputs(outputs: dict) -> None:
    """Check output paths before any work: ``outputs`` maps an option name (``"--out"``) to its path or None.

    Each must end in ``.csv`` or ``.parquet`` and not be a directory, and no two options may name one file.

    Raises
    ------
    ParameterError
        Naming the option and the path.

    Examples
    --------
    >>> check_outputs({"--out": Path("a.csv"), "--activation-out": None})
    >>> try:
    ...     check_outputs({"--out": Path("a.csv"), "--hourly-out": Path("./a.csv")})
    ... except ParameterError as exc:
    ...     print(exc)
    --out and --hourly-out name the same file a.csv: give each output its own file
    """
    seen: dict = {}
    for option, path in outputs.items():
        if path is None:
            continue
        try:
            path = check_table_path(path)
        except ParameterError as exc:           # the same checks as write_table, with the option named
            raise ParameterError(f"{option} {exc}") from None
        key = path.resolve()
        if key in seen:
            raise ParameterError(f"{seen[key]} and {option} name the same file {path}: give each output its own file")
        seen[key] = option


def write_tables(tables) -> list[Path]:
    """Write several ``(frame, path)`` tables all or nothing (:class:`~graphcrm.loaders.atomic.FileGroup`): a
    failure leaves every earlier file as it was.  ``path`` None is skipped."""
    from graphcrm.loaders.atomic import FileGroup

    with FileGroup() as files:
        return [write_table(frame, path, files=files) for frame, path in tables if path is not None]


def write_table(frame: pd.DataFrame, path, *, escape: bool | None = None, files=None) -> Path:
    """Write ``frame`` to ``path`` (``.csv`` or ``.parquet``); a reader never sees half a file.

    CSV text cells a spreadsheet would run as a formula are escaped (:mod:`graphcrm.loaders.csvsafe`;
    ``escape=False`` or ``GRAPHCRM_CSV_RAW=1`` to write them raw).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = write_table(pd.DataFrame({"a": [1]}), pathlib.Path(tempfile.mkdtemp()) / "t.csv")
    >>> out.read_text()
    'a\\n1\\n'

    With ``files`` (a :class:`~graphcrm.loaders.atomic.FileGroup`) the file is renamed into place when the
    group commits, with the group's other files.
    """
    path = check_table_path(path)
    write = files.write if files is not None else write_atomic
    if path.suffix.lower() == ".csv":
        return write(path, lambda tmp: escape_frame(frame, escape).to_csv(tmp, index=False))
    return write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def read_partition(path) -> pd.Series:
    """A community partition file: ``account_id,community`` (CSV with header, or Parquet)."""
    path = Path(path)
    frame = (pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq")
             else read_escaped_csv(path, dtype=str, keep_default_na=False))      # ids as written ("NA" included)
    cols = {c.lower(): c for c in frame.columns}
    id_col = cols.get("account_id") or cols.get("id")
    com_col = cols.get("community") or cols.get("community_id")
    if id_col is None or com_col is None:
        raise ParameterError(f"{path}: a partition file needs columns account_id and community "
                             f"(found: {', '.join(map(str, frame.columns))})")
    return pd.Series(_as_numbers(frame[com_col]).to_numpy(), index=frame[id_col].to_numpy())


def _as_numbers(column: pd.Series) -> pd.Series:
    """A column read as text back as integers (or floats) when every value is one, else as it is.

    Examples
    --------
    >>> _as_numbers(pd.Series(["2", "10", "1"])).tolist(), _as_numbers(pd.Series(["a", "1"])).tolist()
    ([2, 10, 1], ['a', '1'])
    """
    if pd.api.types.is_numeric_dtype(column):
        return column
    try:
        numbers = pd.to_numeric(column.astype(object).replace("", np.nan))
    except (ValueError, TypeError):
        return column
    if numbers.notna().all() and (numbers == np.floor(numbers)).all():
        return numbers.astype(np.int64)
    return numbers


def read_previous_partition(path) -> pd.Series:
    """A partition written before, to warm-start from and keep the ids of (``communities --previous``).

    :func:`read_partition`, checked: every community id an integer (as graphcrm writes them; ``3.0`` reads as
    3), every account once.  A row with an empty community is left out (the account starts alone).

    Returns
    -------
    pandas.Series
        Community (int64) by account id.

    Raises
    ------
    InputFileError
        Naming the file and the line (row for Parquet) of the first community id that is not an integer, or of
        an account listed twice.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "p.csv"
    >>> _ = f.write_text("account_id,community\\n7,10\\n9,9\\n")
    >>> read_previous_partition(f).to_dict()
    {'7': 10, '9': 9}
    >>> _ = f.write_text("account_id,community\\n7,sales\\n")
    >>> read_previous_partition(f)
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.InputFileError: ...p.csv, line 2, field 'community': 'sales' is not an integer community id; --previous keeps the integer ids graphcrm writes (number named groups first)
    """
    path = Path(path)
    series = read_partition(path)
    raw = pd.Series(series.to_numpy(), dtype=object)
    text = raw.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
    given = (text != "").to_numpy()
    numbers = pd.to_numeric(text.where(given), errors="coerce").to_numpy(dtype=float)
    bad = given & ~(np.isfinite(numbers) & (numbers == np.round(numbers)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        line, unit = _row_line(path, i)
        raise InputFileError(path, line, "community", f"{text.iloc[i]!r} is not an integer community id; --previous "
                             "keeps the integer ids graphcrm writes (number named groups first)", unit=unit)
    ids = pd.Index(series.index)
    twice = ids.duplicated()
    if twice.any():
        i = int(np.flatnonzero(twice)[0])
        line, unit = _row_line(path, i)
        raise InputFileError(path, line, "account_id", f"account {str(ids[i])!r} appears in more than one row; "
                             "a partition lists each account once", unit=unit)
    return pd.Series(numbers[given].astype(np.int64), index=series.index[given])


def _row_line(path: Path, i: int) -> tuple[int, str]:
    """Where data row ``i`` (0-based) of a partition table is: ``(line, "line")`` of a CSV, ``(row, "row")``."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return i + 1, "row"
    from graphcrm.loaders.customers import read_table_rows

    try:
        lines = read_table_rows(path)[3]
    except InputFileError:
        lines = []
    return (lines[i], "line") if i < len(lines) else (i + 2, "line")


def partition_note(match: dict, path, option: str) -> str | None:
    """A one-line note when a partition file and the graph do not cover each other (None when they do); ``match``
    is what :func:`graphcrm.loaders.results.partition_match` returns.

    Examples
    --------
    >>> partition_note({"rows": 3, "in_graph": 2, "graph_accounts": 5, "graph_covered": 2}, "p.csv", "--previous")
    'note: --previous p.csv: 2 of its 3 accounts are in the graph, which gives 2 of its 5 accounts a community'
    """
    if match["in_graph"] == match["rows"] and match["graph_covered"] == match["graph_accounts"]:
        return None
    return (f"note: {option} {path}: {match['in_graph']:,} of its {match['rows']:,} accounts are in the graph, "
            f"which gives {match['graph_covered']:,} of its {match['graph_accounts']:,} accounts a community")


def read_id_list(path) -> list:
    """Account ids from a file: one per line, or a CSV/Parquet table with an ``account_id`` (or ``id``) column.

    In a text file (whatever its extension) blank lines and ``#`` / ``%`` comment lines are skipped, as the
    loaders skip them, and a first line naming ``account_id`` (or ``id``) is the header of a table.  Fields
    follow CSV quoting (``"Smith, John",u001``), graphcrm's spreadsheet escape is undone (``'=x`` -> ``=x``),
    and every id is text as written: ``NA`` or ``null`` is an id like any other; a row whose id cell is empty
    (a customer with no linked account) names no account and is skipped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "seg.csv"
    >>> _ = f.write_text("account_id,segment\\n7,a\\n9,a\\n")
    >>> read_id_list(f)
    ['7', '9']
    >>> _ = f.write_text("# our advocates\\n7\\n\\nNA\\n")
    >>> read_id_list(f)
    ['7', 'NA']
    >>> _ = f.write_text('name,account_id\\n"Smith, John",u001\\n')
    >>> read_id_list(f)
    ['u001']
    """
    return read_ids_with_lines(path)[0]


def read_ids_with_lines(path) -> tuple[list[str], list[int], str]:
    """:func:`read_id_list` with where each id came from: ``(ids, numbers, unit)``, ``unit`` ``"line"`` (the
    physical line of a text file) or ``"row"`` (of a Parquet table), for errors that name them."""
    import csv

    from graphcrm.loaders._source import COMMENT_CHARS
    from graphcrm.loaders.csvsafe import unescape_cell
    from graphcrm.loaders.errors import InputFileError

    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise InputFileError(path, None, None, f"not a readable Parquet file ({exc})") from None
        cols = {str(c).lower(): c for c in frame.columns}
        col = cols.get("account_id") or cols.get("id")
        if col is None:
            raise InputFileError(path, None, None, "expected a column account_id (found: "
                                 f"{', '.join(map(str, frame.columns))})")
        keep = frame[col].notna().to_numpy()
        values = frame[col][keep].astype(str).str.strip().tolist()
        return values, (np.flatnonzero(keep) + 1).tolist(), "row"
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(path, raw[:exc.start].count(b"\n") + 1, None,
                             "bytes that are not UTF-8 text; expected account ids, one per line") from None
    values, numbers, column = [], [], None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith(COMMENT_CHARS):
            continue
        cells = [c.strip() for c in next(csv.reader([line], skipinitialspace=True))]
        if column is None:
            lowered = [c.lower() for c in cells]
            column = next((i for i, c in enumerate(lowered) if c in ("account_id", "id")), None)
            if column is not None:
                continue                    # the header of a table
            column = 0
        if column >= len(cells) or not cells[column]:
            continue            # an empty id cell of a table (a customer without a linked account): no account
        values.append(unescape_cell(cells[column]))
        numbers.append(number)
    if not values:
        raise InputFileError(path, None, None, "no account ids in the file")
    return values, numbers, "line"


def known_ids_from(graph, path) -> list:
    """The ids of :func:`read_ids_with_lines` ``(path)`` as the graph's own ids, each once in file order; an id
    the graph does not have is an error naming the file and its line (an integer-id graph finds ``"7"``)."""
    values, lines, unit = read_ids_with_lines(path)
    first: dict = {}
    for value, line in zip(values, lines):
        first.setdefault(value, line)
    return check_known_ids(graph, path, list(first), list(first.values()), unit)


def check_known_ids(graph, path, values: list, lines: list, unit: str = "line") -> list:
    """The graph's own ids for ``values`` read from ``path`` (as :func:`read_ids_with_lines` returns them); the
    first the graph does not have is an :class:`InputFileError` naming the file and its line."""
    dense = graph.id_map.lookup(np.asarray(values, dtype=object))
    bad = np.flatnonzero(dense < 0)
    if len(bad):
        more = f" ({len(bad) - 1} more unknown)" if len(bad) > 1 else ""
        raise InputFileError(path, lines[bad[0]], "account_id", f"account {values[bad[0]]!r} is not in the "
                             f"snapshot{more}; expected ids of the snapshot's accounts", unit=unit)
    return graph.id_map.ids[dense].tolist()


COST_COLUMNS = ("cost", "price", "fee")        # as the node tables name it (graphcrm.loaders.api.NODE_ATTRIBUTE_ALIASES)


def read_costs(path) -> pd.Series:
    """Per-account costs from a table with columns ``account_id`` (or ``id``) and ``cost`` (or ``price``, ``fee``).

    CSV (optionally gzip, or ``sep=;`` as its first line) or Parquet, read and checked as a customers table is:
    every account once, every cost a positive number.  An account whose cost is not known is left out of the
    file, not given an empty cost.

    Returns
    -------
    pandas.Series
        Cost (float) by account id (text).

    Raises
    ------
    InputFileError
        Naming the file, and the line and field of the first bad row: a missing column (with a hint when the
        file is semicolon-separated), an id listed twice, an empty id or cost, a cost that is not a number or
        not positive; or a file without a single cost.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "costs.csv"
    >>> _ = f.write_text("account_id,cost\\n7,250\\n9,99.5\\n")
    >>> read_costs(f).to_dict()
    {'7': 250.0, '9': 99.5}
    >>> _ = f.write_text("account_id,cost\\n7,250\\n9,-5\\n")
    >>> read_costs(f)
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.InputFileError: ...costs.csv, line 3, field 'cost': -5 is not a positive cost; expected a number > 0
    """
    import math

    from graphcrm.loaders.customers import missing_column, normalized_name, read_table_rows

    label, header, rows, lines, problems = read_table_rows(path, expected="account_id, cost")
    names = [normalized_name(h) for h in header]
    id_i = next((names.index(n) for n in ("account_id", "id") if n in names), None)
    cost_i = next((names.index(n) for n in COST_COLUMNS if n in names), None)
    for i, column in ((id_i, "account_id"), (cost_i, "cost")):
        if i is None:
            raise missing_column(label, column, header, "; a cost file has columns account_id (or id) and cost (or price, fee)")
    seen: dict[str, int] = {}
    costs = {}
    for row, line in zip(rows, lines):
        text = ",".join(row)[:200]
        account, raw = row[id_i].strip(), row[cost_i].strip()
        if not account:
            problems.add(line, header[id_i], "missing_value", "empty account id", text)
        elif account in seen:
            problems.add(line, header[id_i], "duplicate_id", f"account id {account!r} already on line {seen[account]}",
                         text)
        else:
            seen[account] = line
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not raw:
            problems.add(line, header[cost_i], "missing_value", "empty cost; expected a positive number (leave out "
                         "an account whose cost is not known)", text)
        elif not math.isfinite(value):
            problems.add(line, header[cost_i], "bad_number", f"{raw!r} is not a number; expected a positive cost "
                         "such as 250 or 99.5", text)
        elif value <= 0:
            problems.add(line, header[cost_i], "bad_number", f"{raw} is not a positive cost; expected a number > 0",
                         text)
        costs.setdefault(account, value)
    if problems.rows:
        raise problems.first_error()
    if not costs:
        raise InputFileError(label, None, None, "no costs in the file (a header only); expected rows account_id,cost")
    return pd.Series(costs, dtype=float)
