"""Reading a CRM customers table: validated, contact details normalised and hashed.

A customers table (CSV, optionally gzip, or Parquet) has one row per customer:

=============  ========  ==========================================================
column         required  meaning
=============  ========  ==========================================================
customer_id    yes       the CRM's id (kept as text)
name           no [1]_   full name (or ``first_name`` + ``last_name`` columns)
email          no [1]_   an e-mail address
phone          no [1]_   a phone number, any usual formatting
city           no        city of residence
handles        no [1]_   known social handles, separated by ``;``, ``,`` or spaces
churned        no        churn flag: true/false, yes/no, 1/0 (empty: false)
churn_date     no        when the customer churned: ISO-8601 date / time or Unix
                         seconds (empty: not churned); a date implies ``churned``
=============  ========  ==========================================================

.. [1] at least one of ``name``, ``email``, ``phone``, ``handles``.

Contact details never leave this module in clear: e-mails are trimmed and
lower-cased, phones reduced to E.164 digits (country code, no ``+``; a
national number gets ``default_country_code``), and both are replaced by the
hex SHA-256 of the normalised value -- the same normalisation the ad platforms
use for hashed-contact matching, so hashes from an account export can be
compared directly.  Only the e-mail's local part is kept (column
``email_local``, in memory only) because it often resembles the customer's
handle; no export writes it.

Bad rows: a missing ``customer_id``, a customer id listed twice, an e-mail
that is not ``local@domain.tld``, a phone with letters or fewer than 7 / more
than 15 digits, an unreadable churn flag or churn date (or a date on a row
whose flag says not churned), bytes not valid in the encoding.
Strict mode raises :class:`~graphcrm.loaders.errors.InputFileError` naming file,
line (row for Parquet), field and what was expected; lenient mode leaves the
row out and records it in the :class:`~graphcrm.loaders._tables.LoadReport`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from graphcrm.loaders.errors import InputFileError, InvalidInputError, ParameterError
from graphcrm.loaders._source import check_exists, open_binary
from graphcrm.loaders._tables import MODES, UNCLOSED_QUOTE, LoadReport, _Problems

COLUMNS = ("customer_id", "name", "email", "phone", "city", "handles", "churned", "churn_date")
ALIASES = {
    "customer_id": ("customer_id", "customer", "id", "crm_id"),
    "name": ("name", "full_name", "customer_name"),
    "email": ("email", "e_mail", "email_address", "mail"),
    "phone": ("phone", "phone_number", "mobile", "telephone"),
    "city": ("city", "town", "location"),
    "handles": ("handles", "handle", "known_handles", "social_handles", "twitter"),
    "churned": ("churned", "churn", "is_churned"),
    "churn_date": ("churn_date", "churned_at", "churn_time", "churned_on", "date_churned"),
    "first_name": ("first_name", "firstname", "given_name"),
    "last_name": ("last_name", "lastname", "surname", "family_name"),
}
EMAIL_RE = re.compile(r"^[^@\s,;<>()]+@[^@\s,;<>()]+\.[^@\s,;<>()]{2,}$")
PHONE_CHARS_RE = re.compile(r"^\+?[0-9 ().\-/]+$")
TRUE = {"1", "true", "yes", "y", "t"}
FALSE = {"0", "false", "no", "n", "f", ""}


def sha256_hex(value: str) -> str:
    """Hex SHA-256 of a UTF-8 string.

    Examples
    --------
    >>> sha256_hex("ann@example.com")[:16]
    '71d4f55f72fa128d'
    """
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalize_email(value: str) -> str | None:
    """Trimmed, lower-cased e-mail, or None when it is not ``local@domain.tld``.

    Examples
    --------
    >>> normalize_email("  Ann.Lee@Example.COM ")
    'ann.lee@example.com'
    >>> normalize_email("ann.example.com") is None
    True
    """
    text = str(value).strip().lower()
    return text if EMAIL_RE.match(text) else None


def normalize_phone(value: str, default_country_code: str = "1") -> str | None:
    """E.164 digits without ``+`` (country code first), or None when it is not a phone number.

    ``+`` or ``00`` start an international number (a ``(0)`` trunk prefix in it is dropped); otherwise leading zeros
    (a trunk prefix) are dropped and ``default_country_code`` is prepended
    unless the number already has 11+ digits starting with it.  A North American number (country code 1) needs its
    area code: 10 digits after the 1.

    Examples
    --------
    >>> normalize_phone("(555) 123-4567")
    '15551234567'
    >>> normalize_phone("+44 20 7946 0958")
    '442079460958'
    >>> normalize_phone("0049 30 1234567"), normalize_phone("+49 (0)30 1234567")
    ('49301234567', '49301234567')
    >>> normalize_phone("call me") is None, normalize_phone("555-1234") is None
    (True, True)
    """
    text = str(value).strip()
    if not text or not PHONE_CHARS_RE.match(text):
        return None
    if text.startswith(("+", "00")):
        text = text.replace("(0)", "")          # +49 (0)30 ...: the national trunk 0, not dialled from abroad
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        number = digits
    elif digits.startswith("00"):
        number = digits[2:]
    else:
        national = digits.lstrip("0")
        if len(national) > 10 and national.startswith(default_country_code):
            number = national
        else:
            number = default_country_code + national
    if number.startswith("1") and len(number) != 11:
        return None         # North America: area code + 7 digits; "555-1234" alone is anyone's in some area code
    return number if 7 <= len(number) <= 15 else None


def split_handles(value) -> list[str]:
    """Known handles of one customer, normalised: lower case, no leading ``@``, sorted, unique.

    Examples
    --------
    >>> split_handles("@AnnLee; ann_l, AnnLee")
    ['ann_l', 'annlee']
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    parts = re.split(r"[;,\s]+", str(value))
    return sorted({p.strip().lstrip("@").lower() for p in parts if p.strip().lstrip("@")})


def parse_churn_date(text: str):
    """A churn date as a naive UTC ``pandas.Timestamp``, or None when ``text`` is not one.

    ISO-8601 dates and times (an offset is converted to UTC) or Unix seconds.

    Examples
    --------
    >>> parse_churn_date("2024-03-01"), parse_churn_date("2024-03-01T02:00:00+02:00")
    (Timestamp('2024-03-01 00:00:00'), Timestamp('2024-03-01 00:00:00'))
    >>> parse_churn_date("1709251200"), parse_churn_date("2024-13-45")
    (Timestamp('2024-03-01 00:00:00'), None)
    """
    text = str(text).strip()
    try:
        if re.fullmatch(r"\d{9,11}(\.\d*)?", text):
            stamp = pd.Timestamp(int(float(text)), unit="s")
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?", text):
            stamp = pd.Timestamp(text)
            if stamp.tzinfo is not None:
                stamp = stamp.tz_convert("UTC").tz_localize(None)
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return stamp


def read_customers(source, *, mode: str = "strict", encoding: str = "utf-8",
                   default_country_code: str = "1") -> tuple[pd.DataFrame, LoadReport]:
    """Read and validate a customers table (CSV / CSV.gz / Parquet path, or a DataFrame).

    Returns
    -------
    customers : pandas.DataFrame
        ``customer_id`` (text), ``name``, ``city``, ``handles`` (``;``-joined,
        normalised), ``email_sha256``, ``phone_sha256``, ``email_local``,
        ``churned`` (bool), ``churn_date`` (``datetime64``, UTC, NaT when not churned or no
        ``churn_date`` column), ``line`` (source line / row), in input order.
    report : LoadReport
        Rows read, loaded and rejected (per class: ``missing_value``,
        ``duplicate_id``, ``bad_email``, ``bad_phone``, ``bad_value``,
        ``column_count``, ``encoding``).

    Raises
    ------
    InputFileError
        Missing columns, or (strict mode) the first bad row.

    Examples
    --------
    >>> frame = pd.DataFrame({"customer_id": ["c1", "c2"], "name": ["Ann Lee", "Bo Chan"],
    ...                       "email": ["Ann@x.com", ""], "phone": ["", "555 123 4567"]})
    >>> customers, report = read_customers(frame)
    >>> customers[["customer_id", "name", "churned"]].values.tolist()
    [['c1', 'Ann Lee', False], ['c2', 'Bo Chan', False]]
    >>> customers.email_sha256[0] == sha256_hex("ann@x.com"), customers.phone_sha256[1] == sha256_hex("15551234567")
    (True, True)
    """
    label, header, rows, lines, problems = read_table_rows(source, mode=mode, encoding=encoding,
                                                           expected="customer_id, name, email, phone, city, handles")
    report = LoadReport(label)
    report.path_taken = "precise"
    roles = _match_columns(header, label)
    local_phones: list = []
    parsed = _parse_rows(rows, lines, header, roles, problems, default_country_code, local_phones)
    if local_phones:
        report.warnings.append(f"{len(local_phones):,} phone number(s) without an area code (like '555-1234', "
                               f"first on line {local_phones[0]}) are left out of matching: without it a number "
                               "names nobody in particular")
    report.rows_read = len(rows) + sum(1 for r in problems.rows if r[2] in ("encoding", "column_count"))
    if problems.rows:
        if mode == "strict":
            raise problems.first_error()
        problems.fill(report)
    bad = problems.lines()
    keep = [i for i, ln in enumerate(parsed["line"]) if ln not in bad]
    frame = pd.DataFrame({k: [v[i] for i in keep] for k, v in parsed.items()},
                         columns=["customer_id", "name", "city", "handles", "email_sha256", "phone_sha256",
                                  "email_local", "churned", "churn_date", "line"])
    for col in ("customer_id", "name", "city", "handles", "email_sha256", "phone_sha256", "email_local"):
        frame[col] = frame[col].astype(object)       # text even when no row survived (merges key on these)
    frame["churned"] = frame["churned"].astype(bool)
    frame["churn_date"] = pd.to_datetime(frame["churn_date"]).astype("datetime64[ns]")
    frame["line"] = frame["line"].astype(np.int64)
    frame.attrs["churn_date_given"] = "churn_date" in roles     # the column exists either way; was it in the file?
    report.rows_loaded = len(frame)
    return frame, report


def read_table_rows(source, *, mode: str = "strict", encoding: str = "utf-8", expected: str = ""):
    """The header and the rows (as text) of a small table to validate row by row: CSV / CSV.gz, Parquet or a
    DataFrame.  Shared by the customers and the costs readers.

    A CSV whose first line is ``sep=;`` (as Excel writes it) is read with that delimiter.  Rows with the wrong
    number of fields and bytes not valid in ``encoding`` are recorded in ``problems`` (strict mode: raised
    by the caller, in line order, with the other problems).

    Returns
    -------
    label : str
        The file (``<DataFrame>`` for a DataFrame), as messages name it.
    header : list of str
    rows : list of list of str
    lines : list of int
        Line (row for Parquet / DataFrames) of each row.
    problems : _Problems
        Rows already found bad.

    Raises
    ------
    InputFileError
        No such file, an empty file (``expected`` names the columns wanted), or a column named twice.

    Examples
    --------
    >>> label, header, rows, lines, _ = read_table_rows(pd.DataFrame({"account_id": ["7"], "cost": [9.5]}))
    >>> header, rows, lines
    (['account_id', 'cost'], [['7', '9.5']], [1])
    """
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {MODES}, got {mode!r}")
    if isinstance(source, pd.DataFrame) or str(source).lower().endswith((".parquet", ".pq")):
        label = "<DataFrame>" if isinstance(source, pd.DataFrame) else str(check_exists(source))
        frame = source if isinstance(source, pd.DataFrame) else pd.read_parquet(source)
        raw = frame.astype(object).where(frame.notna(), "").astype(str)
        header, rows = [str(c) for c in raw.columns], raw.values.tolist()
        lines, problems = list(range(1, len(rows) + 1)), _Problems(label, "row")
    else:
        path = check_exists(source)
        label, problems = str(path), _Problems(str(path), "line")
        header, rows, lines = _read_csv_rows(path, encoding, mode, problems, expected)
    _check_header(header, label)
    return label, header, rows, lines, problems


def normalized_name(column) -> str:
    """A column name as the readers match it: trimmed, lower case, spaces and dashes as ``_``.

    Examples
    --------
    >>> normalized_name(" Customer-ID ")
    'customer_id'
    """
    return re.sub(r"[\s\-]+", "_", str(column).strip().lower())


def missing_column(label: str, column: str, header: list[str], wanted: str = "") -> InputFileError:
    """The error for a missing required column: what was found, ``wanted`` (``"; a cost file has ..."``), and a
    hint when the delimiter looks wrong.

    Examples
    --------
    >>> print(missing_column("c.csv", "customer_id", ["customer_id;name"]))  # doctest: +ELLIPSIS
    c.csv, field 'customer_id': missing column 'customer_id' (found: customer_id;name); the file looks semicolon...
    """
    found = ", ".join(header) or "none"
    hint = ""
    if len(header) == 1 and ";" in header[0]:
        hint = ("; the file looks semicolon-separated: save it as comma-separated CSV, or make its first line "
                "sep=; (as Excel does)")
    elif len(header) == 1 and "\t" in header[0]:
        hint = "; the file looks tab-separated: save it as comma-separated CSV"
    return InputFileError(label, None, column, f"missing column '{column}' (found: {found}){wanted}{hint}")


def _check_header(header: list[str], label: str) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        key = normalized_name(name)
        if key in seen and key:
            raise InputFileError(label, None, name, f"column '{name}' appears twice (columns {seen[key]} and {i}); "
                                 "expected each column once: rename or remove one")
        seen[key] = i


def require_customers(report: LoadReport, unchanged: str, rejects=None) -> None:
    """Stop when not one customer row could be read: a header-only file, or every row rejected (lenient).

    A nightly job must not replace good links with empty ones ("nothing good, nothing written", as
    ``graphcrm load`` does).

    Parameters
    ----------
    report : LoadReport
        The report :func:`read_customers` returned.
    unchanged : str
        What stays as it was, for the message (``"links.csv and links_review.csv are unchanged"``).
    rejects : path, optional
        The rejects file written, named in the message.

    Raises
    ------
    InvalidInputError
        ``report`` loaded no row.

    Examples
    --------
    >>> require_customers(read_customers(pd.DataFrame({"customer_id": ["c1"], "name": ["Ann"]}))[1], "x")
    >>> require_customers(LoadReport("crm.csv"), "links.csv is unchanged")
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.InvalidInputError: crm.csv: no customer rows, only a header; nothing written, links.csv is unchanged
    """
    if report.rows_loaded:
        return
    what = (f"{report.source}: no customer rows, only a header" if report.rows_read == 0
            else f"{report.source}: none of its {report.rows_read:,} rows could be loaded")
    where = ""
    if report.n_rejected:
        reasons = ", ".join(f"{n:,} {reason}" for reason, n in report.rejected.most_common())
        first = ""
        if report.rejects is not None and len(report.rejects):
            row = report.rejects.iloc[0]
            field = f", field {row['field']!r}" if isinstance(row.get("field"), str) and row["field"] else ""
            first = f"; the first: line {row['line']}{field}: {row['message']}"
        where = f" ({reasons}{first}" + (f"; every row in {rejects}" if rejects is not None else "") + ")"
    raise InvalidInputError(f"{what}{where}; nothing written, {unchanged}")


FIELD_LIMIT = 1 << 24        # 16 MiB per field: far above any real name or address, still bounded


def _read_csv_rows(path: Path, encoding: str, mode: str, problems: _Problems, expected: str = ""):
    try:
        with open_binary(path) as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:       # truncated / damaged gzip (EOFError would read as "Aborted." in a CLI)
        raise InputFileError(path, None, None, f"cannot read the file: {exc} (truncated or not really gzip?)") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) and not encoding.lower().startswith("utf-16"):
        raise InputFileError(path, None, None, "the file is UTF-16 encoded; convert it to UTF-8 or pass --encoding utf-16")
    try:
        text = data.decode(encoding)
    except LookupError:
        raise ParameterError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        if mode == "strict":
            raise InputFileError(path, line, None, f"bytes not valid {encoding} ({data[exc.start:exc.start + 4]!r}); "
                                 "pass the file's encoding, e.g. --encoding latin-1") from None
        decoded = []
        for number, raw in enumerate(data.split(b"\n"), start=1):
            try:
                decoded.append(raw.decode(encoding))
            except UnicodeDecodeError:
                problems.add(number, None, "encoding", f"bytes not valid {encoding}", raw[:80].decode("latin-1"))
                decoded.append("")
        text = "\n".join(decoded)
    text = text.lstrip("\ufeff")
    excel_sep = re.match(r"sep=(.)[ \t]*(\r?\n|$)", text)        # Excel's delimiter line: sep=;
    header, rows, lines = None, [], []
    previous_limit = csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    try:
        for line_num, fields in _records(text, excel_sep.group(1) if excel_sep else ",", path, mode, problems):
            if not fields or all(not f.strip() for f in fields) or (excel_sep and line_num == 1):
                continue
            if header is None:
                header = [f.strip() for f in fields]
                continue
            if len(fields) != len(header):
                problems.add(line_num, None, "column_count",
                             f"{len(fields)} fields, the header has {len(header)}", ",".join(fields)[:200])
                continue
            rows.append(fields)
            lines.append(line_num)
    finally:
        csv.field_size_limit(previous_limit)
    if header is None:
        raise InputFileError(path, None, None, f"empty file: expected a header line naming the columns ({expected})")
    return header, rows, lines


def _records(text: str, delimiter: str, path: Path, mode: str, problems: _Problems):
    """``(line where it ends, fields)`` per CSV record; a quote never closed is named by the line it opens in.

    Python's reader takes an unclosed quote's field to the end of the file, or to the next quote: the rows in
    between would vanish into it.  A record spanning lines is therefore re-parsed strictly (a multi-line
    address is one well-formed record; a runaway quote is not).  Strict: an error naming the line it opens in.
    Lenient: that line is an ``unclosed_quote`` reject and the lines after it are read on.
    """
    offset = 0
    while True:
        physical = io.StringIO(text, newline="").readlines()       # the lines csv counts (\n, \r\n, \r)
        reader = csv.reader(physical, delimiter=delimiter)
        records, before = [], 0
        for fields in _rows_or_error(reader, path, offset):
            records.append((offset + before + 1, offset + reader.line_num, fields))
            before = reader.line_num
        bad = next((first for first, end, fields in records
                    if end > first and not _one_record("".join(physical[first - offset - 1:end - offset]), delimiter)),
                   None)
        if bad is None:
            yield from ((end, fields) for _, end, fields in records)
            return
        if mode == "strict":
            raise InputFileError(path, bad, None, UNCLOSED_QUOTE)
        yield from ((end, fields) for first, end, fields in records if first < bad)
        problems.add(bad, None, "unclosed_quote", UNCLOSED_QUOTE, physical[bad - offset - 1].rstrip("\r\n")[:200])
        text, offset = "".join(physical[bad - offset:]), bad


def _one_record(raw: str, delimiter: str) -> bool:
    """Whether ``raw`` (the lines of one record) parses strictly as exactly one CSV record."""
    try:
        return len(list(csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter, strict=True))) == 1
    except csv.Error:
        return False


def _rows_or_error(reader, path: Path, offset: int = 0):
    """The reader's rows; a malformed CSV (an over-long field, a stray NUL) is one error naming the line."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputFileError(path, offset + reader.line_num, None, f"not readable as CSV ({exc}); fields may be at most "
                                 f"{FIELD_LIMIT // (1 << 20)} MiB") from None


def _match_columns(header: list[str], label: str) -> dict:
    lowered = {normalized_name(h): i for i, h in enumerate(header)}
    roles = {}
    for role, names in ALIASES.items():
        for name in names:
            if name in lowered:
                roles[role] = lowered[name]
                break
    found = ", ".join(header) or "none"
    if "customer_id" not in roles:
        raise missing_column(label, "customer_id", header)
    if not ({"name", "email", "phone", "handles", "last_name"} & set(roles)):
        raise InputFileError(label, None, None, "a customers table needs at least one of the columns name, email, "
                             f"phone, handles (found: {found})")
    return roles


def _local_number(value: str, country: str) -> bool:
    """A North American local number without its area code (``555-1234``): a valid way to write a phone, but
    it names nobody in particular, so it is not matched.

    Examples
    --------
    >>> _local_number("555-1234", "1"), _local_number("call me", "1"), _local_number("555-1234", "44")
    (True, False, False)
    """
    text = str(value).strip()
    if not PHONE_CHARS_RE.match(text) or text.startswith(("+", "00")):
        return False
    return country == "1" and len(re.sub(r"\D", "", text).lstrip("0")) == 7


def _parse_rows(rows, lines, header, roles, problems: _Problems, country: str, local_phones: list) -> dict:
    out = {k: [] for k in ("customer_id", "name", "city", "handles", "email_sha256", "phone_sha256", "email_local",
                           "churned", "churn_date", "line")}
    seen: dict[str, int] = {}

    def get(row, role):
        i = roles.get(role)
        return row[i].strip() if i is not None else ""

    for row, line in zip(rows, lines):
        text = ",".join(row)[:200]
        cid = get(row, "customer_id")
        if not cid:
            problems.add(line, header[roles["customer_id"]], "missing_value", "empty customer id", text)
        elif cid in seen:
            problems.add(line, header[roles["customer_id"]], "duplicate_id",
                         f"customer id {cid!r} already on line {seen[cid]}", text)
        else:
            seen[cid] = line
        name = get(row, "name")
        if not name and ("first_name" in roles or "last_name" in roles):
            name = " ".join(p for p in (get(row, "first_name"), get(row, "last_name")) if p)
        email_raw, email_hash, local = get(row, "email"), "", ""
        if email_raw:
            email = normalize_email(email_raw)
            if email is None:
                problems.add(line, header[roles["email"]], "bad_email",
                             f"{email_raw!r} is not an e-mail address; expected local@domain.tld", text)
            else:
                email_hash, local = sha256_hex(email), email.split("@", 1)[0]
        phone_raw, phone_hash = get(row, "phone"), ""
        if phone_raw:
            phone = normalize_phone(phone_raw, country)
            if phone is None and _local_number(phone_raw, country):
                local_phones.append(line)           # a number, but not one person's: left out of matching
            elif phone is None:
                problems.add(line, header[roles["phone"]], "bad_phone",
                             f"{phone_raw!r} is not a phone number; expected 7-15 digits with the area code, e.g. "
                             "+1 555 123 4567", text)
            else:
                phone_hash = sha256_hex(phone)
        churn_raw = get(row, "churned").lower()
        if churn_raw not in TRUE and churn_raw not in FALSE:
            problems.add(line, header[roles["churned"]], "bad_value",
                         f"{get(row, 'churned')!r} is not a churn flag; expected true/false, yes/no or 1/0", text)
        out["customer_id"].append(cid)
        out["name"].append(name)
        out["city"].append(get(row, "city"))
        out["handles"].append(";".join(split_handles(get(row, "handles"))))
        out["email_sha256"].append(email_hash)
        out["phone_sha256"].append(phone_hash)
        out["email_local"].append(local)
        date_raw = get(row, "churn_date")
        when = parse_churn_date(date_raw) if date_raw else None
        if date_raw and when is None:
            problems.add(line, header[roles["churn_date"]], "bad_value",
                         f"{date_raw!r} is not a churn date; expected ISO-8601 (2024-03-01, 2024-03-01T12:00:00Z) "
                         "or Unix seconds", text)
        elif when is not None and churn_raw in FALSE and churn_raw:
            problems.add(line, header[roles["churn_date"]], "bad_value",
                         f"churn date {date_raw!r} on a row whose churn flag is {churn_raw!r}", text)
        out["churned"].append(churn_raw in TRUE or when is not None)
        out["churn_date"].append(when if when is not None else pd.NaT)
        out["line"].append(line)
    return out
