"""CRM exports: versioned schemas, optional pseudonymised account ids, atomic and byte-identical writes.

Every export is a CSV or Parquet table whose columns follow one of
``SCHEMAS`` (name -> version and columns, documented in the README).  Next to
each table, ``NAME.schema.json`` says which schema and version it follows and
whether account ids are pseudonymised.

Pseudonymisation replaces every account id (``account_id`` and id-list
columns such as ``max_overlap_with``) with ``acct_`` + the first 32 hex
digits of HMAC-SHA256(salt, id), and so does the one phrase in which a
``reason`` text names another account (:data:`REASON_ACCOUNT`).  The salt
comes from the environment variable ``GRAPHCRM_PSEUDONYM_SALT`` or a salt
file, is never written anywhere, and the same salt gives the same
pseudonyms on every run (so the CRM can join nightly exports).

Identical input gives byte-identical files: rows are in a fixed order, no
pandas index or timestamps are written, floats are rounded where computed,
and Parquet is written without the pandas metadata block.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from graphcrm.loaders.atomic import FileGroup
from graphcrm.loaders.csvsafe import escape_frame, read_csv as read_escaped_csv
from graphcrm.loaders.errors import InputFileError, InvalidInputError, ParameterError

SALT_ENV = "GRAPHCRM_PSEUDONYM_SALT"
#: The one phrase in which a ``reason`` text names another account, at the end of the text (the ``at_risk``
#: segment: "negative exposure 0.83 from 3 of 7 influencers, most from 17 (0.50)"); groups: the phrase's
#: start, the account id, the amount.  Exports pseudonymise the id with the id columns; erase cuts the phrase.
REASON_ACCOUNT = re.compile(r"(, most from )(.+)( \([0-9.]+\))$")
SCHEMAS = {
    "links": {"version": 1, "columns": ["customer_id", "account_id", "method", "probability", "evidence"],
              "id_columns": ["account_id"]},
    "review": {"version": 1, "columns": ["customer_id", "account_id", "candidate_rank", "probability", "reason",
                                         "evidence"], "id_columns": ["account_id"]},
    "segments": {"version": 1, "columns": ["segment", "kind", "rank", "account_id", "customer_id", "score", "reason"],
                 "id_columns": ["account_id"]},
    "segment_changes": {"version": 1, "columns": ["segment", "kind", "change", "account_id", "customer_id",
                                                  "rank_before", "rank_after", "score_before", "score_after",
                                                  "reason"], "id_columns": ["account_id"]},
    "leaders": {"version": 1, "columns": None, "id_columns": ["account_id"]},
    "communities": {"version": 1, "columns": ["account_id", "community"], "id_columns": ["account_id"]},
    "overlap": {"version": 1, "columns": ["influencer_a", "influencer_b", "shared", "overlap"],
                "id_columns": ["influencer_a", "influencer_b"]},
    "economics": {"version": 1, "columns": ["account_id", "audience_size", "exclusive_followers", "max_overlap",
                                            "max_overlap_with", "engagement_rate", "expected_reach",
                                            "expected_reach_ci_low", "expected_reach_ci_high", "cost",
                                            "cost_per_expected_reach"],
                  "id_columns": ["account_id", "max_overlap_with"]},
    "churn_exposure": {"version": 1, "columns": ["customer_id", "account_id", "exposure", "exposed", "churn_date",
                                                 "churned", "bin"], "id_columns": ["account_id"]},
}


def load_salt(salt_file=None, *, salt_file_option: str = "--salt-file") -> bytes:
    """The pseudonymisation salt: from ``salt_file`` if given, else ``$GRAPHCRM_PSEUDONYM_SALT``.

    ``salt_file_option`` is how the caller's user names a salt file, for the message (``graphcrm run``:
    ``pipeline.salt_file``).

    Raises
    ------
    ParameterError
        Neither is set, or the salt is shorter than 16 characters.
    """
    if salt_file is not None:
        salt = Path(salt_file).read_text(encoding="utf-8").strip()
    else:
        salt = os.environ.get(SALT_ENV, "")
    if len(salt) < 16:
        raise ParameterError(f"pseudonymisation needs a salt of at least 16 characters in ${SALT_ENV} or a salt "
                             f"file ({salt_file_option}); it is never written to any output")
    return salt.encode("utf-8")


def pseudonym(account_id, salt: bytes) -> str:
    """``acct_`` + 32 hex digits of HMAC-SHA256(salt, str(id)).

    Examples
    --------
    >>> pseudonym(88, b"0123456789abcdef") == pseudonym("88", b"0123456789abcdef")
    True
    >>> pseudonym(88, b"0123456789abcdef")[:5]
    'acct_'
    """
    return "acct_" + hmac.new(salt, str(account_id).encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def pseudonymise(frame: pd.DataFrame, columns, salt: bytes) -> pd.DataFrame:
    """A copy of ``frame`` with every id in ``columns`` (``;``-separated lists too) pseudonymised; blanks stay blank."""
    out = frame.copy()
    for col in columns:
        if col in out:
            out[col] = [";".join(pseudonym(p, salt) for p in str(v).split(";")) if str(v) not in ("", "nan", "None")
                        else "" for v in out[col]]
    return out


def reasons_naming(texts, rewrite) -> list:
    """``texts`` with the account a reason names (:data:`REASON_ACCOUNT`) passed through ``rewrite(id)``.

    ``rewrite`` returns the new id, or None to cut the whole phrase; other texts (and non-text cells) stay.

    Examples
    --------
    >>> texts = ["negative exposure 0.06 from 10 of 15 influencers, most from u114 (0.04)", "ties to 3 communities"]
    >>> reasons_naming(texts, str.upper)[0]
    'negative exposure 0.06 from 10 of 15 influencers, most from U114 (0.04)'
    >>> reasons_naming(texts, lambda account: None)
    ['negative exposure 0.06 from 10 of 15 influencers', 'ties to 3 communities']
    """
    def one(match):
        new = rewrite(match[2])
        return "" if new is None else match[1] + new + match[3]

    return [REASON_ACCOUNT.sub(one, t) if isinstance(t, str) else t for t in texts]


def write_export(frame: pd.DataFrame, path, schema: str, *, salt: bytes | None = None) -> Path:
    """Write ``frame`` under ``schema`` to ``path`` (CSV or Parquet), atomically, plus ``path.schema.json``.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> frame = pd.DataFrame({"account_id": [2, 1], "community": [0, 0]})
    >>> a = write_export(frame, d / "a.parquet", "communities").read_bytes()
    >>> a == write_export(frame, d / "b.parquet", "communities").read_bytes()
    True
    >>> json.loads((d / "a.parquet.schema.json").read_text())["schema"]
    'graphcrm.communities'
    """
    return write_exports([(frame, path, schema)], salt=salt)[0]


def write_exports(items, *, salt: bytes | None = None, files: FileGroup | None = None) -> list[Path]:
    """Write several exports all or nothing: ``items`` are ``(frame, path, schema)``.

    Every table and its ``.schema.json`` is written under a temporary name
    next to its target first; only when all are written are they renamed into
    place (:class:`~graphcrm.loaders.atomic.FileGroup`).  A bad schema, column
    or suffix, one path named twice, a failed write or a target that cannot
    be replaced (a directory) leaves every existing file as it was (e.g. a
    links table and its review queue).  With ``files``, the exports join that
    group and are renamed when it commits, together with the other files of
    the command (e.g. its rejects file).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> frame = pd.DataFrame({"account_id": [1], "community": [0]})
    >>> _ = write_export(frame, d / "old.csv", "communities")
    >>> write_exports([(frame, d / "new.csv", "communities"), (frame, d / "old.csv", "no-such-schema")])
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.ParameterError: unknown export schema 'no-such-schema'; expected one of ...
    >>> sorted(p.name for p in d.iterdir())
    ['old.csv', 'old.csv.schema.json']
    """
    prepared = [_prepare(frame, Path(path), schema, salt) for frame, path, schema in items]
    if files is None:
        with FileGroup() as group:
            return _stage_exports(prepared, group)
    return _stage_exports(prepared, files)


def _stage_exports(prepared, files: FileGroup) -> list[Path]:
    for out, path, meta in prepared:
        if path.suffix.lower() == ".csv":
            files.write(path, lambda tmp: escape_frame(out).to_csv(tmp, index=False, lineterminator="\n"))
        else:
            table = pa.Table.from_pandas(out, preserve_index=False).replace_schema_metadata(None)
            files.write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        files.write(path.with_name(path.name + ".schema.json"),
                    lambda tmp: tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8"))
    return [path for _, path, _ in prepared]


def _prepare(frame: pd.DataFrame, path: Path, schema: str, salt: bytes | None):
    """Check an export before anything is written; returns (table to write, path, schema metadata)."""
    if schema not in SCHEMAS:
        raise ParameterError(f"unknown export schema {schema!r}; expected one of {', '.join(SCHEMAS)}")
    spec = SCHEMAS[schema]
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise ParameterError(f"{path}: export must end in .csv or .parquet")
    cols = spec["columns"] or list(frame.columns)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"{schema} export: missing columns {', '.join(missing)}")
    out = frame[cols].reset_index(drop=True)
    if salt is not None:
        out = pseudonymise(out, spec["id_columns"], salt)
        if "reason" in out:     # a raw id in the text would undo the pseudonyms
            out["reason"] = reasons_naming(out["reason"], lambda account: pseudonym(account, salt))
    meta = {"schema": f"graphcrm.{schema}", "version": spec["version"], "columns": cols,
            "pseudonymised_columns": spec["id_columns"] if salt is not None else [], "rows": len(out)}
    return out, path, meta


def read_export(path) -> pd.DataFrame:
    """Read an export back (CSV or Parquet)."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return read_escaped_csv(path, dtype=str, keep_default_na=False)


def read_links(path, graph) -> pd.DataFrame:
    """A links table (``graphcrm link``'s ``customer_id, account_id, ...``; CSV or Parquet) with its account ids
    as the graph's: integers on an integer-id graph.

    Raises
    ------
    InputFileError
        Naming the file: a missing ``customer_id`` / ``account_id`` column (the customers file given by mistake),
        or the line and field of the first empty or non-integer ``account_id`` on an integer-id graph.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", [1, 2], [2, 3]).build()
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "links.csv"
    >>> _ = f.write_text("customer_id,account_id\\nC1,2\\nC2,x\\n")
    >>> read_links(f, g)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.InputFileError: .../links.csv, line 3, field 'account_id': 'x' is not an account id; ...
    """

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, None, None, "is a directory, expected a links table" if path.is_dir()
                             else "no such links file")
    table = read_export(path)
    missing = [c for c in ("customer_id", "account_id") if c not in table.columns]
    if missing:
        raise InputFileError(path, None, None, f"no {' or '.join(missing)} column (found: "
                             f"{', '.join(map(str, table.columns)) or 'none'}); expected a links table from "
                             "`graphcrm link` (customer_id, account_id, ...)")
    if graph.id_map.kind == "int":
        parquet = path.suffix.lower() in (".parquet", ".pq")
        raw = table["account_id"]
        text = raw.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else
                       str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip())
        from graphcrm.loaders.idmap import as_int_id

        number = pd.Series([as_int_id(v) if v else None for v in text.tolist()], dtype="Int64")  # "007" is text
        bad = np.flatnonzero(number.isna().to_numpy())
        if len(bad):
            i = int(bad[0])
            more = f" ({len(bad) - 1} more)" if len(bad) > 1 else ""
            what = "empty account id" if text.iloc[i] == "" else f"{text.iloc[i]!r} is not an account id"
            raise InputFileError(path, i + (1 if parquet else 2), "account_id",
                                 f"{what}{more}; expected the integer ids of this snapshot's accounts",
                                 unit="row" if parquet else "line")
        table["account_id"] = number.astype("int64")
    return table
