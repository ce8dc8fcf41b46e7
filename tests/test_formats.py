"""The format registry: every format reads its kinds, extensions pick formats, errors name the choices, the CLI lists them.

Adding a format to ``graphcrm.loaders.formats.FORMATS`` needs a writer in ``WRITERS`` here (the test that
every registered format has one fails otherwise).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graphcrm.loaders import read_edges, read_interactions, read_nodes, read_signed
from graphcrm.loaders.errors import InputFileError, InvalidInputError, ParameterError
from graphcrm.loaders.formats import (
    FORMATS,
    KINDS,
    Format,
    ReadRequest,
    TableSource,
    format_for,
    format_names,
)

READERS = {"edges": read_edges, "interactions": read_interactions, "signed": read_signed, "nodes": read_nodes}

#: a small source of each kind: header names and rows (text formats without a header write the rows only)
RECORDS = {
    "edges": (["source", "target", "weight"], [[1, 2, 0.5], [2, 3, 1.5], [3, 1, 2.0]]),
    "signed": (["source", "target", "rating"], [[1, 2, 5], [2, 3, -3], [3, 1, 10]]),
    "interactions": (["actor", "target", "time", "type"],
                     [[1, 2, 1341100972, "RT"], [2, 3, 1341100973, "MT"], [3, 1, 1341100974, "RE"]]),
    "nodes": (["id", "followers"], [[1, 10], [2, 0], [3, 7]]),
}

#: the parsed columns of each kind's RECORDS, whatever the format
EXPECTED = {
    "edges": {"actor": [1, 2, 3], "target": [2, 3, 1], "weight": [0.5, 1.5, 2.0]},
    "signed": {"actor": [1, 2, 3], "target": [2, 3, 1], "weight": [5.0, -3.0, 10.0]},
    "interactions": {"actor": [1, 2, 3], "target": [2, 3, 1], "time": [1341100972, 1341100973, 1341100974],
                     "type": ["retweets", "mentions", "replies"]},
    "nodes": {"id": [1, 2, 3], "followers": [10.0, 0.0, 7.0]},
}

#: each kind's default format (a file whose extension no format of the kind claims)
DEFAULTS = {"edges": "snap", "signed": "snap", "interactions": "higgs", "nodes": "csv"}


def _text(names, rows, sep, header):
    lines = ([sep.join(names)] if header else []) + [sep.join(map(str, r)) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _jsonl(names, rows):
    return "".join(json.dumps(dict(zip(names, r))) + "\n" for r in rows).encode()


def _parquet(names, rows):
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}), sink)
    return sink.getvalue().to_pybytes()


#: format name -> (names, rows) -> file bytes
WRITERS = {
    "snap": lambda names, rows: _text(names, rows, " ", header=False),
    "higgs": lambda names, rows: _text(names, rows, " ", header=False),
    "csv": lambda names, rows: _text(names, rows, ",", header=True),
    "tsv": lambda names, rows: _text(names, rows, "\t", header=True),
    "jsonl": _jsonl,
    "parquet": _parquet,
}

PAIRS = [(name, kind) for name, fmt in FORMATS.items() for kind in fmt.kinds]


def _values(col):
    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        return col.to_pylist()
    return np.asarray(col).tolist()


def _file_name(fmt: Format) -> str:
    return "data" + (fmt.extensions[0] if fmt.extensions else ".txt")


# --------------------------------------------------------------------------- the registry itself
def test_every_registered_format_has_a_test_writer():
    assert set(WRITERS) == set(FORMATS), "add a writer for the new format to WRITERS (and check its columns)"


def test_registry_shape():
    assert list(FORMATS) == ["snap", "higgs", "csv", "tsv", "jsonl", "parquet"]
    claimed = {}
    for name, fmt in FORMATS.items():
        assert fmt.name == name
        assert fmt.kinds and set(fmt.kinds) <= set(KINDS)
        assert fmt.description and "\n" not in fmt.description
        assert callable(fmt.reader)
        for ext in fmt.extensions:
            assert ext.startswith(".") and ext == ext.lower() and ext != ".gz"
            for kind in fmt.kinds:          # one format per extension and kind, or detection would be ambiguous
                assert (ext, kind) not in claimed, f"{ext} claimed by {claimed[ext, kind]} and {name} for {kind}"
                claimed[ext, kind] = name
    with pytest.raises(dataclasses.FrozenInstanceError):
        FORMATS["csv"].name = "comma"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_formats_and_its_default_first(kind):
    assert format_names(kind)[0] == DEFAULTS[kind]


def test_choices_per_kind_are_unchanged():
    assert format_names("edges") == ("snap", "csv", "tsv", "parquet")
    assert format_names("signed") == ("snap", "csv", "tsv", "parquet")
    assert format_names("interactions") == ("higgs", "csv", "tsv", "jsonl", "parquet")
    assert set(format_names("nodes")) == {"csv", "tsv", "parquet", "jsonl"}
    assert format_names() == tuple(FORMATS)


def test_unknown_kind_is_a_parameter_error():
    with pytest.raises(ParameterError, match="kind must be one of edges, interactions, signed, nodes"):
        format_for("x.csv", kind="follows")


# --------------------------------------------------------------------------- reading
def _read_cases():
    """(format, kind, how): every way each format can be picked; Parquet compresses inside the file (no .gz)."""
    for name, kind in PAIRS:
        for how in ("named", "by extension", "gzipped"):
            if how == "gzipped" and name == "parquet":
                continue
            if how != "named" and not FORMATS[name].extensions and DEFAULTS[kind] != name:
                continue                                  # chosen by name only for this kind
            yield name, kind, how


@pytest.mark.parametrize("name, kind, how", list(_read_cases()))
def test_every_format_reads_its_kinds_to_the_same_columns(tmp_path, name, kind, how):
    fmt = FORMATS[name]
    data = WRITERS[name](*RECORDS[kind])
    path = tmp_path / _file_name(fmt)
    if how == "gzipped":
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    parsed = READERS[kind](path, format=name if how == "named" else None)
    assert {k: _values(v) for k, v in parsed.columns.items()} == EXPECTED[kind]
    assert parsed.report.rows_read == parsed.report.rows_loaded == 3
    assert parsed.report.source == str(path)


@pytest.mark.parametrize("name", list(FORMATS))
def test_readers_return_a_table_or_a_text_layout(tmp_path, name):
    from graphcrm.loaders._source import TextLayout
    from graphcrm.loaders._tables import LoadReport

    fmt = FORMATS[name]
    kind = fmt.kinds[0]
    path = tmp_path / _file_name(fmt)
    path.write_bytes(WRITERS[name](*RECORDS[kind]))
    opened = fmt.reader(path, ReadRequest(kind), LoadReport(str(path)))
    assert isinstance(opened, (TableSource, TextLayout))
    if isinstance(opened, TableSource):
        assert opened.table.num_rows == 3
    else:
        assert opened.n_fields == len(RECORDS[kind][0])


def test_unreadable_parquet_keeps_its_message(tmp_path):
    path = tmp_path / "edges.parquet"
    path.write_text("1 2\n")
    with pytest.raises(InputFileError, match=r"edges\.parquet: not a readable Parquet file \("):
        read_edges(path)


def test_node_csv_keeps_a_sniffed_delimiter_edges_csv_means_comma(tmp_path):
    # as before the registry: a .csv node table sniffs its delimiter, a .csv edge list is comma-separated
    nodes = tmp_path / "accounts.csv"
    nodes.write_text("id followers\n1 10\n2 0\n")
    assert _values(read_nodes(nodes).columns["followers"]) == [10.0, 0.0]
    edges = tmp_path / "edges.csv"
    edges.write_text("1 2\n2 3\n")
    with pytest.raises(InvalidInputError, match="1 fields per row and no header"):
        read_edges(edges)


def test_a_new_format_is_one_reader_and_one_entry(tmp_path, monkeypatch):
    from graphcrm.loaders._source import sniff_text

    def read_psv(path, request, report):
        return sniff_text(path, encoding=request.encoding, delimiter="|", header=request.header,
                          header_aliases=request.header_aliases, skip_rows=request.skip_rows)

    monkeypatch.setitem(FORMATS, "psv", Format("psv", (".psv",), ("edges",), "pipe-separated text", read_psv))
    path = tmp_path / "edges.psv.gz"
    path.write_bytes(gzip.compress(b"source|target\n1|2\n2|3\n"))
    assert format_for(path).name == "psv"
    assert _values(read_edges(path).columns["target"]) == [2, 3]
    assert format_names("edges")[-1] == "psv"
    with pytest.raises(ParameterError, match="got 'psv'"):
        read_interactions(path, format="psv")


# --------------------------------------------------------------------------- extension detection
DETECTIONS = [(ext, kind, name) for name, fmt in FORMATS.items() for ext in fmt.extensions for kind in fmt.kinds]


@pytest.mark.parametrize("ext, kind, name", DETECTIONS)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_extension_detection(ext, kind, name, suffix):
    assert format_for(Path("some.dir") / f"file{ext}{suffix}", kind=kind).name == name
    assert format_for(f"FILE{ext.upper()}{suffix}", kind=kind).name == name


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("file", ["edges.txt", "edges.txt.gz", "edges", "wiki-Vote.edges", "data.csv.bak"])
def test_unclaimed_extensions_get_the_default(kind, file):
    assert format_for(file, kind=kind).name == DEFAULTS[kind]


def test_an_extension_of_a_format_the_kind_cannot_read_gets_the_default():
    assert format_for("events.jsonl", kind="edges").name == "snap"        # as before: jsonl is not an edge format
    assert format_for("events.json.gz", kind="signed").name == "snap"


def test_explicit_format_wins_over_the_extension():
    assert format_for("edges.csv", "tsv").name == "tsv"
    assert format_for("edges.parquet", "snap").name == "snap"


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kind, given", [("edges", "xml"), ("edges", "higgs"), ("signed", "jsonl"),
                                         ("interactions", "snap"), ("nodes", "higgs")])
def test_unknown_format_is_one_line_naming_the_choices(tmp_path, kind, given):
    path = tmp_path / "data.txt"
    path.write_text("1 2 3 4\n")
    with pytest.raises(ParameterError) as err:
        READERS[kind](path, format=given)
    message = str(err.value)
    assert message == f"format must be one of {', '.join(format_names(kind))}, got {given!r}"
    assert "\n" not in message


def test_unknown_format_messages_are_unchanged():
    with pytest.raises(ParameterError, match=r"^format must be one of snap, csv, tsv, parquet, got 'xml'$"):
        format_for("e.txt", "xml", kind="edges")
    with pytest.raises(ParameterError,
                       match=r"^format must be one of higgs, csv, tsv, jsonl, parquet, got 'snap'$"):
        format_for("e.txt", "snap", kind="interactions")


# --------------------------------------------------------------------------- the command line
def _graphcrm(*args):
    exe = shutil.which("graphcrm") or str(Path(sys.executable).with_name("graphcrm"))
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "GRAPHCRM_PROGRESS": "0", "COLUMNS": "200", "NO_COLOR": "1"})


def test_load_help_lists_every_registered_format():
    proc = _graphcrm("load", "--help")
    assert proc.returncode == 0, proc.stderr
    flat = " ".join(re.sub(r"[│╭╮╰╯─]", " ", proc.stdout).split())
    for name in FORMATS:
        assert re.search(rf"\b{name}\b", flat), f"{name} missing from graphcrm load --help"
    assert f"({'|'.join(format_names('edges', 'interactions'))})" in flat
    assert f"--edges-format Format of the --edges files only ({'|'.join(format_names('edges'))})" in " ".join(
        re.sub(r"<\w+>", " ", flat).split())


def test_cli_unknown_format_is_one_line(tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("1 2\n2 3\n")
    proc = _graphcrm("load", "--edges", path, "--format", "xml", "--out", tmp_path / "snap")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: format must be one of snap, csv, tsv, parquet, got 'xml'"
