"""Writing result tables: CSV or Parquet by extension, atomically (temp file + rename)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from graphcrm.core.errors import ParameterError

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def write_table(frame: pd.DataFrame, path) -> Path:
    """Write ``frame`` to ``path`` (``.csv`` or ``.parquet``); a reader never sees half a file.

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
            frame.to_csv(tmp, index=False)
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
    frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    cols = {c.lower(): c for c in frame.columns}
    id_col = cols.get("account_id") or cols.get("id")
    com_col = cols.get("community") or cols.get("community_id")
    if id_col is None or com_col is None:
        raise ParameterError(f"{path}: a partition file needs columns account_id and community "
                             f"(found: {', '.join(map(str, frame.columns))})")
    return pd.Series(frame[com_col].to_numpy(), index=frame[id_col].to_numpy())
