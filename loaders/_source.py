"""Opening text sources: compression, encoding, comment lines, delimiter and header sniffing."""

from __future__ import annotations

import codecs
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isal import igzip

from graphcrm.loaders.errors import EmptyInputError, InputFileError, InvalidInputError, ParameterError

COMMENT_CHARS = ("#", "%")
SNIFF_LINES = 50


@dataclass(frozen=True)
class TextLayout:
    """What sniffing found out about a delimited text file."""

    path: Path
    compressed: bool
    encoding: str
    delimiter: str | None  # None: runs of whitespace
    leading_skip: int  # comment / blank lines before the first data (or header) line
    leading_blank: bool  # whether blank lines are among them (pyarrow's skip_rows would miscount)
    header: list[str] | None
    first_data_line: int  # 1-based line number of the first data row
    n_fields: int
    sample: tuple = ()  # fields of the first data rows (up to SNIFF_LINES)
    skip_rows: int = 0  # lines 1..skip_rows are skipped whatever they hold (a size line like "n m")


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def open_binary(path: Path):
    """A binary stream of the decompressed content.

    gzip goes through ISA-L (``isal``), which decompresses about twice as
    fast as zlib; decompression is most of the time spent reading a
    compressed edge list.
    """
    return igzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def check_exists(path) -> Path:
    """``path`` as a Path to an existing file; anything but a path (a list of edges, an array, a networkx
    graph) is a :class:`ParameterError` saying what the loaders read."""
    if not isinstance(path, (str, os.PathLike)):
        kind = f"{type(path).__module__.split('.')[0]}.{type(path).__name__}"
        hint = (" (for a networkx / igraph graph use graphcrm.from_networkx / from_igraph)"
                if kind.startswith(("networkx.", "igraph.")) else
                " (for edges in memory: pandas.DataFrame({'source': [...], 'target': [...]}))")
        raise ParameterError(f"source must be a file path, a pandas DataFrame or a pyarrow Table, got {kind}{hint}")
    p = Path(path)
    if not p.exists():
        raise InvalidInputError(f"{p}: no such file")
    if p.is_dir():
        raise InvalidInputError(f"{p}: is a directory, expected a file")
    return p


def _decode_head(path: Path, raw: bytes, encoding: str) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not encoding.lower().startswith("utf-16"):
        raise InputFileError(path, None, None, "the file is UTF-16 encoded; convert it to UTF-8 or pass encoding='utf-16'")
    # bytes that do not decode are reported with their line by the reader itself
    return raw.decode(encoding, errors="replace")


def sniff_text(path, *, encoding: str = "utf-8", delimiter: str | None = "auto", header="auto",
               header_aliases=(), skip_rows: int = 0) -> TextLayout:
    """Look at the first lines of a delimited text file.

    Parameters
    ----------
    delimiter : str, None or "auto"
        ``"auto"``: tab if the first data line has one, else comma if it has
        one, else whitespace.  ``None`` means runs of whitespace.
        A first line ``sep=;`` (as Excel writes it) names the delimiter
        unless one is given, and is skipped.
    header : bool or "auto"
        ``"auto"``: the first non-comment line is a header when none of its
        fields is a number and one of them is a known column name
        (``header_aliases``) or the next line has a number; a line with a
        number is a header only when its first field, or two of its
        fields, are known column names (``id,2020``).
    skip_rows : int
        Rows to skip after the leading comment lines, whatever they hold,
        e.g. 1 for a size line ``n m`` before the edges (or the ``rows cols
        entries`` line after a Matrix Market banner).  Without it, a first
        row of integers with another field count than the rows after it is
        an error that says so.
    """
    path = check_exists(path)
    if not isinstance(skip_rows, (int, np.integer)) or skip_rows < 0:
        raise ParameterError(f"skip_rows must be a whole number >= 0, got {skip_rows!r}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ParameterError(f"unknown encoding {encoding!r}; use a Python codec name such as 'utf-8' or 'latin-1'") from None
    if delimiter not in ("auto", "csv", None) and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise ParameterError(f"delimiter must be one character, None (whitespace) or 'auto', got {delimiter!r}")
    try:
        with open_binary(path) as fh:
            raw = fh.read(1 << 16)
            at_end = len(raw) < 1 << 16
            # more while the head is comments only or holds no complete data row after a header (a first post
            # of 66 kB of text read as "a header but no data rows")
            while not at_end and len(raw) < (1 << 24) and (_only_comments(raw) or raw.count(b"\n") < 3):
                more = fh.read(len(raw))
                at_end = len(more) < len(raw)
                raw += more
    except (OSError, EOFError) as exc:
        raise InputFileError(path, None, None, f"cannot read the file: {exc} (truncated or not really gzip?)") from None
    text = _decode_head(path, raw, encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    if not at_end and lines:
        lines = lines[:-1]  # possibly cut in the middle
    def is_comment(line: str) -> bool:
        return not line.strip() or line.lstrip().startswith(COMMENT_CHARS)

    skip = 0
    while skip < len(lines) and is_comment(lines[skip]):
        skip += 1
    for _ in range(int(skip_rows)):         # N rows after the leading comments (a Matrix Market banner is one)
        skip += 1
        while skip < len(lines) and is_comment(lines[skip]):
            skip += 1
    excel_sep = _EXCEL_SEP.match(lines[skip]) if skip < len(lines) else None
    if excel_sep:                           # Excel's first line "sep=;" names the delimiter, and is no data
        if delimiter in ("auto", "csv"):
            delimiter = excel_sep.group(1)
        skip += 1
        while skip < len(lines) and is_comment(lines[skip]):
            skip += 1
    skip_through = skip if skip_rows or excel_sep else 0  # the precise reader skips every line up to this one
    data = [ln for ln in lines[skip : skip + SNIFF_LINES] if ln.strip() and not ln.lstrip().startswith(COMMENT_CHARS)]
    if not data:
        raise EmptyInputError(path, None, None, "the file has no data rows")
    first = data[0]
    if delimiter == "auto":
        delimiter = "\t" if "\t" in first else (";" if _semicolon_separated(first)
                                                else ("," if "," in first else None))
    elif delimiter == "csv":            # a .csv file: comma-separated, or semicolon-separated as some locales write
        delimiter = ";" if _semicolon_separated(first) else ","
    split = (lambda s: s.split()) if delimiter is None else (lambda s: [f.strip().strip('"') for f in s.split(delimiter)])
    fields = split(first)
    if not skip_rows and header is not True and len(data) > 2 and all(_INT_TEXT.match(f) for f in fields):
        later = {len(split(ln)) for ln in data[1:]}
        if len(later) == 1 and later.pop() != len(fields):
            raise InputFileError(path, skip + 1, None,
                                 f"{first.strip()!r} has {len(fields)} numbers and the rows after it have "
                                 f"{len(split(data[1]))} fields: it looks like a size line ('n m'); skip it with "
                                 "--skip-rows 1 (skip_rows=1)")
    if header == "auto":
        aliases = {a.lower() for a in header_aliases}
        known = [f.lower() in aliases for f in fields]
        numeric_now = any(_is_number(f) for f in fields)
        numeric_next = len(data) > 1 and any(_is_number(f) for f in split(data[1]))
        # a row holding a number is data, even where a text field happens to be a column name
        # ("1,user,10": the account 1 with the role "user"), as a row without one before rows with one is a
        # header -- unless it starts with a column name or names two ("id,2020,2021": sales by year)
        header = ((known[0] or sum(known) > 1) if numeric_now else (any(known) or numeric_next))
    hdr = fields if header else None
    if header and len(data) == 1:
        raise EmptyInputError(path, None, None, f"the file has a header ({', '.join(fields)}) but no data rows")
    first_data_line = skip + 1 + (1 if header else 0)
    leading_blank = any(not ln.strip() for ln in lines[:skip])
    sample = tuple(tuple(split(ln)) for ln in (data[1:] if header else data))
    return TextLayout(path, _is_gzip(path), encoding, delimiter, skip, leading_blank, hdr, first_data_line,
                      len(fields), sample, skip_through)


_INT_TEXT = re.compile(r"^[+-]?\d+$")
_EXCEL_SEP = re.compile(r'^"?sep=([^"\r\n])"?[ \t]*$')      # sep=; or "sep=;" (quoted by another tool), sep=<tab>


def size_line_warning(layout: TextLayout, rows_read: int) -> str | None:
    """A warning when the first row, read as data, looks like a size line: its last number counts the rows after it.

    Examples
    --------
    >>> from pathlib import Path
    >>> lay = TextLayout(Path("g.txt"), False, "utf-8", None, 0, False, None, 1, 2, (("3", "2"), ("1", "2")))
    >>> size_line_warning(lay, 3)[:46]
    "g.txt, line 1 ('3 2') looks like a size line: "
    >>> size_line_warning(lay, 9) is None
    True
    """
    if layout.header is not None or layout.skip_rows or not layout.sample or rows_read < 2:
        return None
    first = layout.sample[0]
    if not all(_INT_TEXT.match(f) for f in first) or int(first[-1]) != rows_read - 1:
        return None
    return (f"{layout.path}, line {layout.first_data_line} ({' '.join(first)!r}) looks like a size line: its last "
            f"number is the count of the {rows_read - 1:,} rows after it, and it was loaded as an edge; "
            "load again with --skip-rows 1 (skip_rows=1)")


_DECIMAL_COMMA = re.compile(r"\d,\d")


def _semicolon_separated(line: str) -> bool:
    """Whether a line is semicolon-separated (a spreadsheet export in a decimal-comma locale): it has a ``;``
    and no comma other than between digits -- ``1;2;0,5`` is three fields, not ``"1;2;0"`` and ``5``.

    >>> _semicolon_separated("1;2;0,5"), _semicolon_separated("a;b"), _semicolon_separated("a,b;c")
    (True, True, False)
    """
    return ";" in line and "," not in _DECIMAL_COMMA.sub("", line)


def _only_comments(raw: bytes) -> bool:
    """Whether every complete line of ``raw`` is blank or a comment (read on to find data)."""
    for line in raw.split(b"\n")[:-1]:
        stripped = line.strip()
        if stripped and not stripped.startswith((b"#", b"%")):
            return False
    return True


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def iter_lines(layout: TextLayout):
    """Yield ``(line_number, text)`` for every line; decoding errors raise ``InputFileError``.

    Used by the precise (line-by-line) reader only.
    """
    path = layout.path
    number = 0
    try:
        with open_binary(path) as fh:
            for number, raw in enumerate(io.BufferedReader(fh) if not layout.compressed else fh, start=1):
                try:
                    line = raw.decode(layout.encoding)
                except UnicodeDecodeError as exc:
                    yield number, exc
                    continue
                if number == 1 and line.startswith("\ufeff"):
                    line = line[1:]
                yield number, line.rstrip("\r\n")
    except (OSError, EOFError) as exc:
        raise InputFileError(path, number + 1, None, f"cannot read past this line: {exc} (truncated gzip?)") from None


def estimate_text_rows(path) -> int:
    """Rows a text file holds, estimated without reading it all: size / mean line length.

    The uncompressed size of a gzip file is its trailer's ISIZE when that agrees (within 2x, after the 4 GiB
    wrap) with the compression ratio of the first MiB, else the ratio's estimate -- ISIZE covers only the
    last member of a multi-member (``cat a.gz b.gz``, BGZF) file.  The mean line length comes from the
    first MiB.  Used to refuse a load that cannot fit in
    memory before anything is allocated.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "e.txt"
    >>> _ = f.write_text("".join(f"{i} {i + 1}\\n" for i in range(1000)))
    >>> 900 <= estimate_text_rows(f) <= 1100
    True
    """
    path = check_exists(path)
    size = path.stat().st_size
    try:
        with open_binary(path) as fh:
            head = fh.read(1 << 20)
    except (OSError, EOFError):
        return 0
    if _is_gzip(path):
        size = _gzip_uncompressed_size(path, size)
    lines = head.count(b"\n")
    if not head or lines == 0:
        return 1 if head else 0
    return int(size / (len(head) / lines))


def _gzip_uncompressed_size(path: Path, size: int) -> int:
    import zlib

    with open(path, "rb") as fh:
        chunk = fh.read(1 << 20)
        fh.seek(-4, 2)
        isize = int.from_bytes(fh.read(4), "little")
    d = zlib.decompressobj(wbits=31)
    try:
        out = len(d.decompress(chunk))
    except zlib.error:
        return size
    used = len(chunk) - len(d.unused_data) - len(d.unconsumed_tail)
    by_ratio = size * out / used if used and out else size
    while isize and isize < by_ratio / 2 and isize + (1 << 32) <= 2 * by_ratio:
        isize += 1 << 32                    # ISIZE wraps at 4 GiB
    return isize if isize and by_ratio / 2 <= isize <= 2 * by_ratio else int(by_ratio)
