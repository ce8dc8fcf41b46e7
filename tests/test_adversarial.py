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


DAMAGE = {"flipped indptr": flip_middle_indptr, "damaged .npy header": damage_npy_header,
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
