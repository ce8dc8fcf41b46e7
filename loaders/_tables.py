"""Reading and validating tables: one fast path, one precise path, one validator.

* **Fast path** (text files): pyarrow's multithreaded CSV reader with typed
  columns.  It is taken whenever the file is clean, i.e. almost always.
* **Precise path**: if pyarrow refuses the file (a row with too many fields,
  a word where a number belongs, a comment in the middle...), the file is
  tokenised line by line in Python so every problem is tied to its line.
* **Validation** is columnar and shared by both paths and by Parquet and
  DataFrame inputs: missing values, numbers, timestamps, interaction types.

In *strict* mode the first bad row (by line) raises
:class:`~graphcrm.loaders.errors.InputFileError` naming file, line, field and
what was expected.  In *lenient* mode bad rows are left out and described in
a :class:`LoadReport` (counts per error class, and a rejects table that can be
written to a file).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from graphcrm.loaders.csvsafe import escape_frame
from graphcrm.loaders.errors import InputFileError, InvalidInputError, ParameterError
from graphcrm.loaders._source import COMMENT_CHARS, TextLayout, _is_number, iter_lines, open_binary

MODES = ("strict", "lenient")
MAX_KEPT_REJECTS = 100_000

#: error classes reported in lenient mode
ERROR_CLASSES = {
    "column_count": "wrong number of fields",
    "missing_value": "empty or missing value",
    "bad_id": "account id is not usable",
    "bad_number": "not a finite number",
    "bad_timestamp": "not a timestamp",
    "unknown_type": "unknown interaction type",
    "encoding": "bytes not valid in the file's encoding",
    "self_loop": "actor and target are the same account",
    "duplicate_id": "account listed twice",
    "malformed_row": "row is not one flat JSON object (JSON lines)",
    "bad_email": "not an e-mail address (customers table)",
    "bad_phone": "not a phone number (customers table)",
    "bad_value": "value not in the accepted set (customers table)",
    "bad_topics": "topics / hashtags cell is not a list of topics",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column a loader needs.

    Parameters
    ----------
    role : str
        Name the loader uses (``actor``, ``target``, ``weight``, ``time``, ...).
    kind : {"id", "float", "time", "category", "text", "topics", "auto"}
        How values are parsed; ``auto`` keeps numbers as numbers and the rest
        as text (node attributes); ``text`` keeps any string (empty: null);
        ``topics`` parses a list of topics (see :func:`parse_topics`).
    required : bool
        Whether a missing value is an error.
    categories : dict, optional
        For ``category``: accepted spellings (lower case) -> canonical value.
    expected : str
        Words for messages ("an integer or text account id", ...).
    """

    role: str
    kind: str
    required: bool = True
    categories: dict | None = None
    expected: str = ""


@dataclass
class LoadReport:
    """What a load read, kept and rejected.

    Attributes
    ----------
    source : str
    rows_read : int
        Data rows seen (comments, blank lines and headers excluded).
    rows_loaded : int
    rejected : collections.Counter
        Rejected rows per error class (see ``ERROR_CLASSES``).
    rejects : pandas.DataFrame
        ``source, line, field, error, message, text`` of rejected rows (the
        first 100,000; the counts are always complete).
    path_taken : str
        ``"fast"`` or ``"precise"`` (which reader parsed the file).
    warnings : list of str
        Values that loaded but look implausible (a rating far outside its scale, negative follow weights).
    """

    source: str
    rows_read: int = 0
    rows_loaded: int = 0
    rejected: Counter = field(default_factory=Counter)
    rejects: pd.DataFrame | None = None
    path_taken: str = "fast"
    layer: str | None = None
    build: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    @property
    def n_rejected(self) -> int:
        return int(sum(self.rejected.values()))

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "layer": self.layer,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rejected": dict(sorted(self.rejected.items())),
            "reader": self.path_taken,
            **({"build": self.build} if self.build else {}),
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }


def write_rejects(reports, path, *, files=None) -> Path:
    """Write the rejected rows of ``reports`` to one CSV file, atomically.

    With ``files`` (a :class:`~graphcrm.loaders.atomic.FileGroup`) the file is renamed into place when that
    group commits, together with the command's other outputs.
    """
    from graphcrm.loaders.atomic import write_atomic

    frames = [r.rejects for r in reports if r.rejects is not None and len(r.rejects)]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["source", "line", "field", "error", "message", "text"])

    def write(tmp):
        escape_frame(frame).to_csv(tmp, index=False)       # raw rows are user text: no formulas

    return write_atomic(path, write) if files is None else files.write(path, write)


class _Problems:
    """Bad rows found so far: (line, field, error class, message, text)."""

    def __init__(self, source: str, unit: str, layout=None):
        self.source, self.unit, self.layout = source, unit, layout       # layout: a text file's lines to quote
        self.rows: list[tuple] = []

    def add(self, line, fld, cls, message, text=""):
        self.rows.append((int(line), fld, cls, message, text))

    def add_many(self, lines, fld, cls, messages, texts=None):
        texts = texts if texts is not None else [""] * len(lines)
        for ln, msg, t in zip(lines, messages, texts):
            self.rows.append((int(ln), fld, cls, msg, t))

    def first_error(self) -> InputFileError:
        line, fld, _, message, _ = min(self.rows, key=lambda r: r[0])
        return InputFileError(self.source, line, fld, message, unit=self.unit)

    def lines(self) -> set:
        return {r[0] for r in self.rows}

    def fill(self, report: LoadReport) -> None:
        by_line: dict[int, tuple] = {}
        for row in sorted(self.rows, key=lambda r: r[0]):
            by_line.setdefault(row[0], row)  # one class per rejected row: the first problem found
        report.rejected.update(Counter(r[2] for r in by_line.values()))
        kept = self._with_text(list(by_line.values())[:MAX_KEPT_REJECTS])
        report.rejects = pd.DataFrame(
            [(self.source, *r) for r in kept], columns=["source", "line", "field", "error", "message", "text"]
        )


    def _with_text(self, kept: list) -> list:
        """The rejected rows with the file's own line as ``text`` where the check did not give one (one pass
        over the file up to the last rejected line; text files only)."""
        wanted = {r[0] for r in kept if not r[4]}
        if self.layout is None or not wanted:
            return kept
        from graphcrm.loaders._source import iter_lines

        found, last = {}, max(wanted)
        try:
            for number, text in iter_lines(self.layout):
                if number in wanted and isinstance(text, str):
                    found[number] = text
                if number >= last:
                    break
        except InvalidInputError:                     # unreadable further on: quote what was read
            pass
        return [r if r[4] else (*r[:4], found.get(r[0], "")) for r in kept]


class LineNumbers:
    """Line numbers of consecutive rows (``first, first + 1, ...``), computed only where asked.

    Stands in for ``np.arange(first, first + n)`` so a clean 16M-row file does
    not pay for an array of line numbers nobody reads.
    """

    def __init__(self, first: int, n: int):
        self.first, self.n = int(first), int(n)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index):
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return index.astype(np.int64) + self.first

    def __array__(self, dtype=None, copy=None):
        return np.arange(self.first, self.first + self.n, dtype=dtype or np.int64)


def _as_text(values) -> np.ndarray:
    """Strings of an arrow/numpy column, '' for nulls, stripped."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = pc.fill_null(pc.cast(values, pa.string()), "").to_numpy(zero_copy_only=False)
    arr = np.asarray(values, dtype=object)
    return np.array(["" if _missing(v) else str(v).strip() for v in arr], dtype=object)


def _as_id_text(values) -> np.ndarray:
    """:func:`_as_text` for account ids: a whole number stored as a float is the integer's text (``2.0`` is
    account ``2``, as :func:`~graphcrm.loaders.builder._clean_ids` reads it), not a second account "2.0".

    >>> _as_id_text(np.array([1.0, "z", None, 2.5], dtype=object)).tolist()
    ['1', 'z', '', '2.5']
    """
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return _as_text(values)
    arr = np.asarray(values, dtype=object)
    whole = [isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer() for v in arr]
    if any(whole):
        arr = np.array([str(int(v)) if w else v for v, w in zip(arr, whole)], dtype=object)
    return _as_text(arr)


#: why a text id with a NUL character is refused (numpy, parquet readers and terminals disagree about it)
NUL_ID_MESSAGE = ("account id contains a NUL character (\\x00): is the file UTF-16 or binary? save it as UTF-8 "
                  "text")


def _missing(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # list-like values
        return False


#: ids that are read as integers: optional minus, no leading zeros (so "007" and "-0" stay text), int64 range
_INT_RE = re.compile(r"^(0|-?[1-9][0-9]{0,18})$")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _as_int_ids(text: np.ndarray) -> np.ndarray | None:
    """int64 ids if every non-empty value is a plain integer in range, else None (keep as text)."""
    values = []
    for t in text:
        if t == "":
            values.append(0)
            continue
        if not _INT_RE.match(t):
            return None
        v = int(t)
        if v < _INT64_MIN or v > _INT64_MAX:
            return None
        values.append(v)
    return np.array(values, dtype=np.int64)


def _validate(columns: dict, specs: list[ColumnSpec], lines: np.ndarray, problems: _Problems) -> dict:
    """Parse and check every column; record problems; return parsed columns (bad rows still present)."""
    out = {}
    for spec in specs:
        if spec.role not in columns:
            continue
        col = columns[spec.role]
        out[spec.role] = _validate_column(col, spec, lines, problems)
    return out


def _unsigned_past_int64(col, arrow: bool) -> bool:
    """Whether an unsigned integer column holds a value past int64 (a uint64 hash): int64 would wrap it."""
    if arrow:
        if not pa.types.is_unsigned_integer(col.type) or col.type.bit_width < 64 or len(col) == 0:
            return False
        top = pc.max(col).as_py()
        return top is not None and top > _INT64_MAX
    arr = np.asarray(col)
    return arr.dtype.kind == "u" and arr.dtype.itemsize >= 8 and len(arr) > 0 and int(arr.max()) > _INT64_MAX


def _null_mask(col) -> np.ndarray:
    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        if col.null_count == 0 and not pa.types.is_floating(col.type):
            return np.zeros(len(col), dtype=bool)
        return np.asarray(pc.is_null(col, nan_is_null=True).to_numpy(zero_copy_only=False), dtype=bool)
    return pd.isna(np.asarray(col, dtype=object) if np.asarray(col).dtype.kind == "O" else np.asarray(col))


def _validate_column(col, spec: ColumnSpec, lines, problems: _Problems):
    role = spec.role
    arrow = isinstance(col, (pa.Array, pa.ChunkedArray))
    typ = col.type if arrow else None
    is_text = (arrow and (pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_dictionary(typ))) or (
        not arrow and np.asarray(col).dtype.kind in "OUS")

    if spec.kind == "id" and arrow and is_text:
        return _arrow_ids(col, role, lines, problems)

    if spec.kind == "category" and arrow and pa.types.is_dictionary(typ):
        return _arrow_categories(col, spec, lines, problems)

    if spec.kind == "id":
        if not is_text:
            if arrow and pa.types.is_floating(typ):
                col = col.to_numpy(zero_copy_only=False)  # NaN for nulls; checked below as numbers
                arrow = False
            if arrow and not pa.types.is_integer(typ):
                col = _as_text(col)
                is_text = True
            else:
                unsigned_past = _unsigned_past_int64(col, arrow)
                if arrow and col.null_count == 0 and pa.types.is_integer(typ) and not unsigned_past:
                    return col  # the common case: arrow integers, no copy (possibly chunked)
                nulls = _null_mask(col)
                arr = col.to_numpy(zero_copy_only=False) if arrow else np.asarray(col)
                if not nulls.any() and arr.dtype.kind in "iu" and not unsigned_past:
                    return np.ascontiguousarray(arr, dtype=np.int64)
                if nulls.any():
                    problems.add_many(lines[nulls], role, "missing_value", ["missing account id"] * int(nulls.sum()))
                if arr.dtype.kind == "f":  # an int column with missing values became float
                    arr = np.where(nulls, 0, arr)
                    frac = ((arr != np.floor(arr)) | (np.abs(arr) >= 2.0**63)) & ~nulls
                    if frac.any():
                        problems.add_many(lines[frac], role, "bad_id",
                                          [f"account id {v!r} is not an integer" for v in arr[frac].tolist()])
                        arr = np.where(frac, 0, arr)
                elif arr.dtype.kind == "u" and len(arr) and arr.max() > _INT64_MAX:
                    big = arr > _INT64_MAX          # hashed ids (uint64): wrapping would merge or invent accounts
                    problems.add_many(lines[big], role, "bad_id",
                                      [f"account id {v} does not fit in int64 (load hashed ids as text: "
                                       "cast the column to str)" for v in arr[big].tolist()])
                    arr = np.where(big, 0, arr)
                return np.where(nulls, 0, arr).astype(np.int64)
        text = _as_id_text(col)
        empty = text == ""
        if empty.any():
            problems.add_many(lines[empty], role, "missing_value", ["missing account id"] * int(empty.sum()))
        nul = np.array(["\x00" in t for t in text], dtype=bool)
        if nul.any():
            problems.add_many(lines[nul], role, "bad_id", [NUL_ID_MESSAGE] * int(nul.sum()))
        ints = _as_int_ids(text)
        return ints if ints is not None else text

    if spec.kind == "float":
        if is_text:
            text = _as_text(col)
            vals = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(dtype=np.float64)
            empty = text == ""
        else:
            vals = (col.to_numpy(zero_copy_only=False) if arrow else np.asarray(col)).astype(np.float64)
            empty = _null_mask(col)
            text = None
        bad = ~np.isfinite(vals) & ~empty
        if spec.required and empty.any():
            problems.add_many(lines[empty], role, "missing_value", [f"missing {role}, expected {spec.expected}"] * int(empty.sum()))
        if bad.any():
            shown = text[bad] if text is not None else vals[bad]
            problems.add_many(lines[bad], role, "bad_number", [f"{v!r} is not {spec.expected}" for v in shown])
        return vals

    if spec.kind == "time":
        return _parse_times(col, is_text, arrow, spec, lines, problems)

    if spec.kind == "text":
        if arrow and not is_text:
            col = pc.cast(col, pa.string()) if not pa.types.is_floating(typ) else col.to_numpy(zero_copy_only=False)
            arrow = not isinstance(col, np.ndarray)
        if arrow:
            if pa.types.is_dictionary(col.type):
                col = pc.cast(col, pa.string())
            return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
        vals = np.asarray(col, dtype=object)
        out = np.empty(len(vals), dtype=object)
        for i, v in enumerate(vals.tolist()):
            if _missing(v) or v == "":
                out[i] = None
            elif isinstance(v, float) and v.is_integer():
                out[i] = str(int(v))           # a numeric id column with gaps became float
            else:
                out[i] = str(v)
        return out

    if spec.kind == "topics":
        cells = col.to_pylist() if arrow else np.asarray(col, dtype=object).tolist()
        out = np.empty(len(cells), dtype=object)
        bad_rows, messages = [], []
        for i, cell in enumerate(cells):
            try:
                out[i] = parse_topics(cell)
            except ValueError as exc:
                out[i] = None
                bad_rows.append(i)
                messages.append(str(exc))
        if bad_rows:
            problems.add_many(lines[np.asarray(bad_rows)], role, "bad_topics", messages)
        return out

    if spec.kind == "category":
        text = _as_text(col)
        lowered = np.char.lower(text.astype(str))
        mapped = pd.Series(lowered).map(spec.categories)
        unknown = mapped.isna().to_numpy()
        if unknown.any():
            accepted = ", ".join(sorted(set(spec.categories)))
            problems.add_many(lines[unknown], role, "unknown_type",
                              [f"unknown {role} {t!r}; expected one of: {accepted}" for t in text[unknown]])
        return mapped.fillna("").to_numpy(dtype=object)

    # auto: numbers stay numbers, text stays text -- and so does a code written with digits (02134, +4917..)
    if is_text:
        text = _as_text(col)
        nums = pd.to_numeric(pd.Series(text).replace("", np.nan), errors="coerce")
        if nums.notna().sum() == (text != "").sum() and not _written_as_code(text):
            return nums.to_numpy()
        return pd.Series(text).replace("", None).to_numpy(dtype=object)
    return col.to_numpy(zero_copy_only=False) if arrow else np.asarray(col)


_CODE_RE = re.compile(r"^(?:0\d|\+)")


def _written_as_code(text: np.ndarray) -> bool:
    """Whether a column of digits is written as a code, not a quantity: a value with a leading zero (02134,
    0012) or a plus sign (+4917...) -- as account ids, such a column stays text, so no zero is lost.

    >>> _written_as_code(np.array(["02134", "10115"], dtype=object)), _written_as_code(np.array(["5", "0.5"]))
    (True, False)
    """
    return any(_CODE_RE.match(str(v)) for v in text)


_TOPIC_SPLIT = re.compile(r"[\s,;|]+")


def _topic(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, np.integer)):
        raise ValueError(f"{value!r} is not a topic (expected a word or hashtag)")
    word = str(value).strip().lstrip("#").strip().lower()
    return word


def parse_topics(cell) -> list | None:
    """One topics / hashtags cell as a list of normalised topics (lower case, no ``#``), or None when empty.

    A cell is a JSON list (``["#Brand", "sports"]``) or words separated by spaces, commas, semicolons or
    ``|`` (``"#brand #sports"``, ``"brand;sports"``); a list-valued cell (Parquet, JSON lines) is taken as it
    is.  Duplicates are dropped, first occurrence first.

    Raises
    ------
    ValueError
        A cell that starts with ``[`` but is not a JSON list of strings, or a list holding something else.

    Examples
    --------
    >>> parse_topics("#Brand #sports #brand")
    ['brand', 'sports']
    >>> parse_topics('["Brand", "#Sports"]')
    ['brand', 'sports']
    >>> parse_topics("") is None
    True
    """
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return None
    if isinstance(cell, (list, tuple, np.ndarray)):
        items = list(cell)
    elif isinstance(cell, str):
        text = cell.strip()
        if not text:
            return None
        if text.startswith("["):
            import json

            try:
                items = json.loads(text)
            except ValueError:
                raise ValueError(f"{text[:60]!r} is not a JSON list; expected e.g. [\"brand\", \"sports\"] or "
                                 "'#brand #sports'") from None
            if not isinstance(items, list):
                raise ValueError(f"{text[:60]!r} is not a JSON list of topics")
        else:
            items = _TOPIC_SPLIT.split(text)
    elif isinstance(cell, (int, np.integer)) and not isinstance(cell, bool):
        items = [cell]
    else:
        raise ValueError(f"{cell!r} is not a list of topics")
    out = []
    for item in items:
        word = _topic(item)
        if word and word not in out:
            out.append(word)
    return out or None


def _arrow_ids(col, role, lines, problems):
    """Text ids from arrow: kept as an arrow string array, or int64 if every id is an integer."""
    if pa.types.is_dictionary(col.type):
        col = pc.cast(col, pa.string())
    col = pc.fill_null(pc.utf8_trim_whitespace(col), "")
    empty = np.asarray(pc.equal(col, "").to_numpy(zero_copy_only=False), dtype=bool)
    if empty.any():
        problems.add_many(lines[empty], role, "missing_value", ["missing account id"] * int(empty.sum()))
    nul = np.asarray(pc.match_substring(col, "\x00").to_numpy(zero_copy_only=False), dtype=bool)
    if nul.any():
        problems.add_many(lines[nul], role, "bad_id", [NUL_ID_MESSAGE] * int(nul.sum()))
    is_int = pc.match_substring_regex(col, _INT_RE.pattern)
    if pc.all(pc.or_(is_int, pc.equal(col, ""))).as_py():
        try:
            return np.asarray(pc.cast(pc.if_else(pc.equal(col, ""), "0", col), pa.int64()).to_numpy(), dtype=np.int64)
        except pa.ArrowInvalid:  # beyond int64: keep them as text ids
            pass
    return col


def _arrow_categories(col, spec, lines, problems):
    names = [None if v is None else spec.categories.get(v.strip().lower()) for v in col.dictionary.to_pylist()]
    lookup = np.array(names + [None], dtype=object)
    idx = pc.fill_null(col.indices, len(names)).to_numpy(zero_copy_only=False)
    mapped = lookup[idx]
    unknown = pd.isna(mapped)
    if unknown.any():
        accepted = ", ".join(sorted(set(spec.categories)))
        raw = np.array(col.dictionary.to_pylist() + [""], dtype=object)[idx[unknown]]
        problems.add_many(lines[unknown], spec.role, "unknown_type",
                          [f"unknown {spec.role} {t!r}; expected one of: {accepted}" for t in raw])
    return np.where(unknown, "", mapped).astype(object)


#: accepted range of timestamps: years 1 to 9999
MIN_TIME, MAX_TIME = -62_135_596_800, 253_402_300_799
_TIME_HINT = "expected Unix seconds or ISO-8601 like 2012-07-04T09:00:00Z"


def _unit_hint(value: float) -> str:
    """A hint for a number that would be a recent time in milliseconds or microseconds since 1970.

    >>> _unit_hint(1341392400000), _unit_hint(1e30)
    (' (it looks like milliseconds: divide by 1,000)', '')
    """
    for unit, scale in (("milliseconds", 1e3), ("microseconds", 1e6), ("nanoseconds", 1e9)):
        if 1e8 <= abs(value) / scale <= MAX_TIME:
            return f" (it looks like {unit}: divide by {scale:,.0f})"
    return ""


def _parse_times(col, is_text, arrow, spec, lines, problems):
    """Unix seconds (int64, fractions floored) from numbers, datetimes or ISO-8601 text."""
    role = spec.role
    if arrow and (pa.types.is_timestamp(col.type) or pa.types.is_date(col.type)):
        col = col.to_pandas()  # datetime64 of the column's unit (nulls: NaT), tz-aware stays UTC-correct
        arrow = False
    if arrow and not is_text:
        col = col.to_numpy(zero_copy_only=False)
        arrow = False
    if not is_text:
        vals = np.asarray(col)
        if isinstance(col, pd.Series) or vals.dtype.kind == "M":
            series = pd.Series(col)
            if getattr(series.dtype, "tz", None) is not None:
                series = series.dt.tz_convert("UTC").dt.tz_localize(None)
            nat = series.isna().to_numpy()
            if nat.any():
                problems.add_many(lines[nat], role, "missing_value", ["missing timestamp"] * int(nat.sum()))
            ns = series.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64(0, "ns")).astype(np.int64)
            return np.floor_divide(ns, 10**9)
        vals = vals.astype(np.float64)
        nan = np.isnan(vals)
        bad = ~nan & ~((vals >= MIN_TIME) & (vals <= MAX_TIME))
        if nan.any():
            problems.add_many(lines[nan], role, "missing_value", ["missing timestamp"] * int(nan.sum()))
        if bad.any():
            problems.add_many(lines[bad], role, "bad_timestamp",
                              [f"{v!r} is out of range; {_TIME_HINT}{_unit_hint(v)}" for v in vals[bad].tolist()])
        return np.floor(np.where(nan | bad, 0, vals)).astype(np.int64)
    text = _as_text(col)
    nums = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(dtype=np.float64)
    numeric = np.isfinite(nums)
    in_range = numeric & (nums >= MIN_TIME) & (nums <= MAX_TIME)
    secs = np.floor(np.where(in_range, nums, 0)).astype(np.int64)
    out_of_range = numeric & ~in_range
    if out_of_range.any():
        problems.add_many(lines[out_of_range], role, "bad_timestamp",
                          [f"{t!r} is out of range; {_TIME_HINT}{_unit_hint(v)}"
                           for t, v in zip(text[out_of_range], nums[out_of_range])])
    need = ~numeric & (text != "")
    if need.any():
        idx = np.flatnonzero(need)
        # ISO-8601 letters are case-insensitive (RFC 3339): '2012-07-04t09:00:00z' too
        parsed = pd.to_datetime(pd.Series(text[idx]).str.upper(), errors="coerce", utc=True, format="ISO8601")
        ok = parsed.notna().to_numpy()
        ns = parsed[ok].dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype(np.int64)
        secs[idx[ok]] = np.floor_divide(ns, 10**9)
        bad = idx[~ok]
        if len(bad):
            problems.add_many(lines[bad], role, "bad_timestamp",
                              [f"{t!r} is not a timestamp; {_TIME_HINT}" for t in text[bad]])
    empty = text == ""
    if empty.any():
        problems.add_many(lines[empty], role, "missing_value", ["missing timestamp"] * int(empty.sum()))
    return secs


def finish(parsed: dict, problems: _Problems, lines: np.ndarray, report: LoadReport, mode: str, extra_check=None) -> dict:
    """Apply the mode: raise on the first problem, or drop bad rows and fill the report."""
    if extra_check is not None:
        extra_check(parsed, lines, problems)
    report.rows_read = max(report.rows_read, len(lines))
    if problems.rows:
        if mode == "strict":
            raise problems.first_error()
        problems.fill(report)
        bad_lines = np.fromiter(problems.lines(), dtype=np.int64)
        keep = ~np.isin(np.asarray(lines), bad_lines)
        parsed = {k: (v[keep] if isinstance(v, np.ndarray) else v.filter(pa.array(keep))) for k, v in parsed.items()}
    pa.default_memory_pool().release_unused()  # hand pyarrow's freed parse buffers back to the system
    report.rows_loaded = len(next(iter(parsed.values()))) if parsed else 0
    return parsed


# ---------------------------------------------------------------- text files
def read_text(layout: TextLayout, roles: list[str], specs: list[ColumnSpec], *, mode: str,
              report: LoadReport, extra_check=None) -> dict:
    """Read a delimited text file whose fields are ``roles`` in order (``None`` = ignore)."""
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {MODES}, got {mode!r}")
    fast = _read_fast(layout, roles, specs, mode)
    if fast is not None:
        columns, n, lines = fast
        lines = LineNumbers(layout.first_data_line, n) if lines is None else lines
        problems = _Problems(str(layout.path), "line", layout)
        parsed = _validate(columns, specs, lines, problems)
        report.path_taken = "fast"
        report.rows_read = n
        return finish(parsed, problems, lines, report, mode, extra_check)
    report.path_taken = "precise"
    return _read_precise(layout, roles, specs, mode=mode, report=report, extra_check=extra_check)


def _read_fast(layout: TextLayout, roles, specs, mode: str = "strict"):
    """pyarrow read; ``None`` when the file needs the precise reader.

    Id columns are read as text, then kept as int64 when every id is written
    as a plain integer (:func:`_int_id_column`: no leading zeros, so "007" and
    "7" stay two accounts wherever in the file the "007" is).
    """
    if layout.leading_blank:
        return None
    by_role = {s.role: s for s in specs}
    names = [f"c{i}" for i in range(len(roles))]
    types = {}
    include = []
    int_candidates = []
    for i, (name, role) in enumerate(zip(names, roles)):
        if role is None:
            continue
        include.append(name)
        kind = by_role[role].kind
        if kind == "float":
            types[name] = pa.float64()
        elif kind == "category":
            types[name] = pa.dictionary(pa.int32(), pa.string())
        elif kind == "id":
            sample = [row[i] for row in layout.sample if i < len(row)]
            if sample and all(_INT_RE.match(v) for v in sample):
                int_candidates.append(name)
            types[name] = pa.string()
        elif kind == "time":
            sample = [row[i] for row in layout.sample if i < len(row)]
            types[name] = pa.float64() if sample and all(_is_number(v) for v in sample) else pa.string()
        elif kind in ("text", "topics", "auto"):
            types[name] = pa.string()       # attributes as text first: a zip code 02134 is no number
    try:
        with open_binary(layout.path) as stream:
            table = _read_csv(stream, layout, names, types, include)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, OSError, EOFError):
        return None
    bad = _malformed_quoted_record(table, layout)
    if bad is not None:             # an unclosed quote took the lines after it as its text
        line, span = bad
        if mode == "strict":
            raise InputFileError(layout.path, line, None, f"{UNCLOSED_QUOTE} (the {span - 1:,} lines after it were "
                                 "read as one text)")
        return None                 # lenient: the line-by-line reader rejects that line and reads on
    if len(int_candidates) > 1:                 # the parse releases the GIL: actor and target side by side
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(int_candidates)) as pool:
            parsed = list(pool.map(lambda name: _int_id_column(table.column(name)), int_candidates))
    else:
        parsed = [_int_id_column(table.column(name)) for name in int_candidates]
    for name, ints in zip(int_candidates, parsed):
        if ints is not None:
            table = table.set_column(table.schema.get_field_index(name), name, ints)
    return _collect_columns(table, names, roles, by_role, layout)


def _int_id_column(col: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The text id column as int64 chunks when every id is a plain integer (``_INT_RE``: no sign but ``-``,
    no leading zeros, no spaces, within int64), else ``None`` (the ids stay text).

    pyarrow's own integer parsing reads "007" as 7, which would merge two accounts; this parses the text's
    bytes in one pass (:func:`graphcrm.loaders._kernels._parse_plain_ints`).

    >>> _int_id_column(pa.chunked_array([["1", "-20", "0"], ["-9223372036854775808"]])).to_pylist()
    [1, -20, 0, -9223372036854775808]
    >>> [_int_id_column(pa.chunked_array([v])) for v in (["007"], ["-07"], ["+6"], [" 7"], [""], ["1e5"],
    ...                                                   ["9223372036854775808"], ["-"])]
    [None, None, None, None, None, None, None, None]
    """
    from graphcrm.loaders._kernels import _parse_plain_ints

    chunks = []
    for chunk in col.chunks:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)) or chunk.null_count:
            return None
        n = len(chunk)
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if pa.types.is_large_string(chunk.type)
                                else np.int32)[chunk.offset: chunk.offset + n + 1]
        if n == 0:
            continue
        data_buf = chunk.buffers()[2]
        out = np.empty(n, dtype=np.int64)
        if data_buf is None or not _parse_plain_ints(offsets, np.frombuffer(data_buf, dtype=np.uint8), out):
            return None                     # (no text buffer: every id empty)
        chunks.append(pa.array(out))
    return pa.chunked_array(chunks, pa.int64())


#: the message of a row whose quote opens a field and is never closed
UNCLOSED_QUOTE = ("a quote opens a field in this line and is not closed (a field spanning lines needs its closing "
                  "quote; a quote inside a quoted field is written twice: \"\")")


def _malformed_quoted_record(table: pa.Table, layout: TextLayout):
    """``(line, lines spanned)`` of the first row whose field spans lines but is not one well-formed CSV record,
    or None.

    pyarrow reads a quoted field across line breaks, so ``"hello`` with no closing quote takes every later line
    as its text -- up to the end of the file, or to the next quote -- and those rows vanish while the count still
    adds up.  Rows with a line break inside a field are rare, so only they are re-read from the file (one more
    pass over it, only then) and parsed strictly (:mod:`csv`, ``strict=True``): a legitimate multi-line text is
    one record; a runaway quote is an error ("unexpected end of data", or a quote followed by more text).
    """
    if layout.delimiter not in (",", "\t") or table.num_rows == 0:
        return None
    inside = np.zeros(table.num_rows, dtype=np.int64)
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            inside += pc.fill_null(pc.count_substring(col, "\n"), 0).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(inside)
    if not len(rows):
        return None
    starts = layout.first_data_line + rows + (np.cumsum(inside) - inside)[rows]
    spans = inside[rows] + 1
    wanted = {int(a): int(b) for a, b in zip(starts, spans)}
    last = max(a + b - 1 for a, b in wanted.items())
    texts: dict[int, list] = {}
    active: list = []                    # records being collected: [first line, last line]
    for number, text in iter_lines(layout):
        if isinstance(text, UnicodeDecodeError):
            return None                  # the precise reader names the bytes
        if number in wanted:
            active.append((number, number + wanted[number] - 1))
            texts[number] = []
        for first, _ in active:
            texts[first].append(text)
        active = [(a, b) for a, b in active if b > number]
        if number >= last:
            break
    for first in sorted(wanted):
        try:
            records = _csv_records(["\n".join(texts.get(first, []))], layout.delimiter, strict=True)
        except csv.Error:
            return first, wanted[first]
        if len(records) != 1:
            return first, wanted[first]
    return None


def _read_csv(stream, layout: TextLayout, names, types, include) -> pa.Table:
    return pv.read_csv(
        stream,
        read_options=pv.ReadOptions(
            skip_rows=layout.leading_skip + (1 if layout.header else 0),
            column_names=names,
            encoding=layout.encoding,
        ),
        parse_options=pv.ParseOptions(
            delimiter=layout.delimiter or " ",
            quote_char='"' if layout.delimiter in (",", "\t") else False,
            ignore_empty_lines=False,
        ),
        convert_options=pv.ConvertOptions(
            column_types={k: v for k, v in types.items() if v is not None},
            include_columns=include,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _collect_columns(table: pa.Table, names, roles, by_role, layout: TextLayout):
    table = table.select([n for n, r in zip(names, roles) if r is not None])
    blank = _blank_rows(table)
    before = _newlines_before(table) if layout.delimiter in (",", "\t") else None      # quoted fields only
    lines = None
    if blank is not None or before is not None:   # every kept row's true line number
        lines = np.arange(table.num_rows, dtype=np.int64) + layout.first_data_line
        if before is not None:
            lines += before
        if blank is not None:                       # blank lines: drop them
            keep = ~blank
            lines = lines[keep]
            table = table.filter(pa.array(keep))
    columns = {}
    for name, role in zip(names, roles):
        if role is None:
            continue
        col = table.column(name)
        if not (by_role[role].kind == "id" and pa.types.is_integer(col.type)):
            col = col.combine_chunks()  # integer ids stay chunked: the builder reads them chunk by chunk
        if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
            return None  # bytes that are not valid in the encoding: the precise reader names the line
        if by_role[role].kind == "id" and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            if pc.any(pc.starts_with(col, COMMENT_CHARS[0])).as_py() or pc.any(pc.starts_with(col, COMMENT_CHARS[1])).as_py():
                return None  # a comment line in the middle of the file
        columns[role] = col
    return columns, table.num_rows, lines


def _newlines_before(table: pa.Table):
    """Per row, the line breaks inside quoted fields of the rows before it (a text field spanning lines), or
    None when there are none -- so a rejected row is named by its line in the file, not its record number."""
    counts = None
    for col in table.columns:
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            continue
        inside = pc.fill_null(pc.count_substring(col, "\n"), 0).to_numpy(zero_copy_only=False)
        if inside.any():
            counts = inside.astype(np.int64) if counts is None else counts + inside
    if counts is None:
        return None
    return np.cumsum(counts) - counts


def _blank_rows(table: pa.Table):
    """Mask of rows where every field is empty (blank lines), or None when there are none."""
    if all(col.null_count == 0 for col in table.columns) and not any(
        pa.types.is_string(col.type) or pa.types.is_dictionary(col.type) for col in table.columns
    ):
        return None
    blank = np.ones(table.num_rows, dtype=bool)
    for col in table.columns:
        empty = pc.is_null(col)
        if pa.types.is_dictionary(col.type):
            col = pc.cast(col, pa.string())
        if pa.types.is_string(col.type):
            empty = pc.or_(empty, pc.equal(col, ""))
        blank &= np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)
        if not blank.any():
            return None
    return blank


def _opens_unclosed_quote(text: str, delimiter: str) -> bool:
    """Whether a field of the line opens a quote the line does not close (``5" screen`` in an unquoted field is
    a plain character, as for every CSV reader)."""
    try:
        _csv_records([text], delimiter, strict=True)
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


# a quoted field may span lines up to this much text: a runaway quote stops there, not at the end of the file
MAX_RECORD_CHARS = 1 << 24


def _multi_line_record(first: str, source, pushed: list, delimiter: str, n_fields: int):
    r"""``(fields, [])``: the record a quoted field opened on line ``first`` makes with the lines after it, read
    on from ``source`` (``pushed`` first) until the quote closes; or ``(None, lines read)`` when it never closes
    (end of file, :data:`MAX_RECORD_CHARS`, a line that cannot be read) or does not make one record of
    ``n_fields`` fields -- a runaway quote, as the fast reader's check calls it.

    >>> lines = iter([(2, 'two"'), (3, "3,4,x")])
    >>> _multi_line_record('1,2,"one', lines, [], ",", 3)
    (['1', '2', 'one\ntwo'], [])
    """
    parts, ahead, size = [first], [], len(first)
    while size <= MAX_RECORD_CHARS:
        item = pushed.pop() if pushed else next(source, None)
        if item is None:
            break
        ahead.append(item)
        if isinstance(item[1], UnicodeDecodeError):
            break
        parts.append(item[1])
        size += len(item[1]) + 1
        if '"' not in item[1]:           # only a quote can close the field
            continue
        try:
            records = _csv_records(["\n".join(parts)], delimiter, strict=True)
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                continue                 # still inside the quoted field
            break
        if len(records) == 1 and len(records[0]) == n_fields:
            return [f.strip() for f in records[0]], []
        break
    return None, ahead


# a field may be as long as a line may be (the csv module's default limit is 128 KiB: a long message would
# raise "field larger than field limit" -- a traceback, or a valid multi-line text refused as an unclosed quote)
_FIELD_LIMIT = 1 << 30


def _csv_records(lines, delimiter: str, strict: bool = False) -> list[list[str]]:
    """``list(csv.reader(lines, ...))`` with the field size limit raised for the call (and restored).

    >>> _csv_records(['a,"' + 'x' * 200_000 + '"'], ",")[0][1] == 'x' * 200_000
    True
    """
    previous = csv.field_size_limit(_FIELD_LIMIT)
    try:
        return list(csv.reader(lines, delimiter=delimiter, strict=strict))
    finally:
        csv.field_size_limit(previous)


def _split_line(text: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return text.split()
    if '"' in text:
        return [f.strip() for f in _csv_records([text], delimiter)[0]]
    return [f.strip() for f in text.split(delimiter)]


def _read_precise(layout: TextLayout, roles, specs, *, mode, report, extra_check) -> dict:
    path = str(layout.path)
    problems = _Problems(path, "line", layout)
    n_fields = len(roles)
    wanted = [(i, r) for i, r in enumerate(roles) if r is not None]
    values = {r: [] for _, r in wanted}
    lines = []
    header_line = layout.first_data_line - 1 if layout.header else None
    first_fatal = None
    role_names = " ".join(r or "_" for r in roles)
    source = iter_lines(layout)
    pushed: list = []                    # lines read ahead for a multi-line record that did not close
    comments_inside: list = []           # (line, text) of comment lines among the data rows
    while True:
        item = pushed.pop() if pushed else next(source, None)
        if item is None:
            break
        number, text = item
        if isinstance(text, UnicodeDecodeError):
            msg = (f"bytes not valid {layout.encoding} (0x{text.object[text.start:text.start + 1].hex()} at "
                   f"column {text.start + 1}); pass the file's encoding, e.g. --encoding latin-1 (Python: encoding='latin-1'), or re-encode it as UTF-8")
            problems.add(number, None, "encoding", msg)
            report.rows_read += 1
            if mode == "strict":
                first_fatal = number
                break
            continue
        stripped = text.strip()
        if number == header_line or number <= layout.skip_rows or not stripped:
            continue
        if stripped.startswith(COMMENT_CHARS):
            if lines or report.rows_read:            # after the data began: said, not dropped without a word
                comments_inside.append((number, stripped[:60]))
            continue
        report.rows_read += 1
        fields = None
        if layout.delimiter in (",", "\t") and '"' in text and _opens_unclosed_quote(text, layout.delimiter):
            fields, ahead = _multi_line_record(text, source, pushed, layout.delimiter, n_fields)
            if fields is None:           # never closed (or not one record): the lines after it are rows again
                pushed.extend(reversed(ahead))
                problems.add(number, None, "unclosed_quote", UNCLOSED_QUOTE, text[:200])
                if mode == "strict":
                    first_fatal = number
                    break
                continue
        if fields is None:
            fields = _split_line(text, layout.delimiter)
        if len(fields) != n_fields:
            problems.add(number, None, "column_count",
                         f"expected {n_fields} fields ({role_names}), found {len(fields)}", text[:200])
            if mode == "strict":
                first_fatal = number
                break
            continue
        for i, r in wanted:
            values[r].append(fields[i])
        lines.append(number)
    if comments_inside:
        line, text = comments_inside[0]
        report.warnings.append(
            f"{path}: {len(comments_inside):,} line{'s' * (len(comments_inside) != 1)} among the data starting with "
            f"{' or '.join(COMMENT_CHARS)} skipped as comments (first: line {line}, {text!r}); a row whose first "
            "account id starts with # (a hashtag) is read as a comment: quote that id (\"#acme\") to load it")
    lines_arr = np.asarray(lines, dtype=np.int64)
    columns = {r: np.asarray(v, dtype=object) for r, v in values.items()}
    parsed = _validate(columns, specs, lines_arr, problems)
    if first_fatal is not None:
        # strict: the fatal row ends the read; report it unless an earlier row was already bad
        raise problems.first_error()
    read_rows = report.rows_read
    parsed = finish(parsed, problems, lines_arr, report, mode, extra_check)
    report.rows_read = read_rows
    return parsed


# ---------------------------------------------------------- tables (Parquet / DataFrame)
def read_frame(frame, roles: dict[str, str], specs: list[ColumnSpec], *, source: str, mode: str,
               report: LoadReport, extra_check=None, lines=None, problems: "_Problems | None" = None) -> dict:
    """Validate a pandas DataFrame or pyarrow Table; ``roles`` maps role -> column name.

    ``lines`` gives each row's line in its file (JSONL); otherwise problems
    name the 1-based row.  ``problems`` continues a list started by a reader.
    """
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {MODES}, got {mode!r}")
    columns = {}
    for role, name in roles.items():
        if isinstance(frame, pa.Table):
            col = frame.column(name)
            columns[role] = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        else:
            columns[role] = frame[name].to_numpy()
    n = frame.num_rows if isinstance(frame, pa.Table) else len(frame)
    if lines is None:
        lines = LineNumbers(1, n)
    if problems is None:
        problems = _Problems(source, "row")
    parsed = _validate(columns, specs, lines, problems)
    report.path_taken = report.path_taken if report.path_taken != "fast" else "table"
    rows_read = max(report.rows_read, n)
    parsed = finish(parsed, problems, lines, report, mode, extra_check)
    report.rows_read = rows_read
    return parsed
