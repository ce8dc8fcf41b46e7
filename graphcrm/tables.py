"""Writing result tables: CSV or Parquet by extension, atomically (temp file + rename)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from graphcrm.loaders.csvsafe import escape_frame, read_csv as read_escaped_csv
from graphcrm.loaders.errors import ParameterError

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def write_table(frame: pd.DataFrame, path, *, escape: bool | None = None) -> Path:
    """Write ``frame`` to ``path`` (``.csv`` or ``.parquet``); a reader never sees half a file.

    CSV text cells a spreadsheet would run as a formula are escaped (:mod:`graphcrm.loaders.csvsafe`;
    ``escape=False`` or ``GRAPHCRM_CSV_RAW=1`` to write them raw).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = write_table(pd.DataFrame({"a": [1]}), pathlib.Path(tempfile.mkdtemp()) / "t.csv")
    >>> out.read_text()
    'a\\n1\\n'
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ParameterError(f"{path}: output must end in .csv or .parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        if suffix == ".csv":
            escape_frame(frame, escape).to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_partition(path) -> pd.Series:
    """A community partition file: ``account_id,community`` (CSV with header, or Parquet)."""
    path = Path(path)
    frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else read_escaped_csv(path)
    cols = {c.lower(): c for c in frame.columns}
    id_col = cols.get("account_id") or cols.get("id")
    com_col = cols.get("community") or cols.get("community_id")
    if id_col is None or com_col is None:
        raise ParameterError(f"{path}: a partition file needs columns account_id and community "
                             f"(found: {', '.join(map(str, frame.columns))})")
    return pd.Series(frame[com_col].to_numpy(), index=frame[id_col].to_numpy())


def read_id_list(path) -> list:
    """Account ids from a file: one per line, or a CSV/Parquet table with an ``account_id`` (or ``id``) column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "seg.csv"
    >>> _ = f.write_text("account_id,segment\\n7,a\\n9,a\\n")
    >>> read_id_list(f)
    ['7', '9']
    """
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    else:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not lines:
            raise ParameterError(f"{path}: no account ids in the file")
        head = [c.strip().lower() for c in lines[0].split(",")]
        if "account_id" not in head and "id" not in head:
            return [line.split(",")[0].strip() for line in lines]
        frame = read_escaped_csv(path, dtype=str)
    cols = {str(c).lower(): c for c in frame.columns}
    col = cols.get("account_id") or cols.get("id")
    if col is None:
        raise ParameterError(f"{path}: expected a column account_id (found: {', '.join(map(str, frame.columns))})")
    return frame[col].dropna().astype(str).str.strip().tolist()


def read_costs(path) -> pd.Series:
    """Per-account costs from a table with columns ``account_id`` (or ``id``) and ``cost``.

    Raises
    ------
    InputFileError
        Naming the first row whose cost is not a positive number.
    """
    from graphcrm.loaders.errors import InputFileError

    path = Path(path)
    frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else read_escaped_csv(path, dtype=str)
    cols = {str(c).lower(): c for c in frame.columns}
    id_col = cols.get("account_id") or cols.get("id")
    if id_col is None or "cost" not in cols:
        raise ParameterError(f"{path}: a cost file needs columns account_id and cost "
                             f"(found: {', '.join(map(str, frame.columns))})")
    values = pd.to_numeric(frame[cols["cost"]], errors="coerce")
    bad = ~(values > 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFileError(path, row + 2, "cost", f"expected a positive number, got {frame[cols['cost']].iloc[row]!r}")
    return pd.Series(values.to_numpy(dtype=float), index=frame[id_col].astype(str).str.strip().to_numpy())
