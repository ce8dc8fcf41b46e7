"""Save and open :class:`~graphcrm.loaders.graph.SocialGraph` snapshots.

A snapshot is a directory::

    manifest.json            format name + version, node count, layers, file sizes and checksums
    ids.npy | ids.parquet    external ids (int64 array, or a string column)
    nodes.parquet            node attributes, one row per dense index
    layers/<name>/out_indptr.npy, out_indices.npy, out_weights.npy,
                  in_indptr.npy,  in_indices.npy,  in_weights.npy
    layers/<name>/events.parquet   (layers with an event log)
    layers/<name>/events-NNNNNN*.parquet  more of the log, written by the append of version NNNNNN (see event_segments)
    arrival.npy              each account's arrival number, when appends added accounts (see event_segments)
    tables/<name>.parquet    side tables stored with the graph (e.g. the CRM links ``graphcrm load
                             --customers`` makes); optional

Arrays are plain ``.npy`` files, opened memory-mapped and read-only by
default, so opening a snapshot costs milliseconds whatever its size; tables
are Parquet.  Saves are atomic: everything is written to a temporary sibling
directory, flushed to disk, and swapped in with one ``rename`` (an atomic
exchange on Linux), so an interrupted save leaves the previous snapshot as it
was.

Integrity: the manifest holds each file's size and BLAKE2b-128 checksum.
Opening checks sizes, file headers (``.npy`` magic, Parquet ``PAR1`` at both
ends) and the structure every kernel relies on -- ids sorted and unique,
``indptr`` starting at 0, non-decreasing and ending at the edge count,
neighbour indices and event endpoints in range -- so a damaged snapshot is one
:class:`SnapshotError` naming the file, never a crash inside a kernel.
:func:`verify_snapshot` (``graphcrm info --verify``) also re-reads every byte
against the checksums.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import re
import shutil
import sys
import time
import tokenize
import uuid
from pathlib import Path

import numpy as np

from graphcrm.loaders.errors import ParameterError, SnapshotError
from graphcrm.loaders.graph import INDPTR_DTYPE, WEIGHT_DTYPE, EventLog, Layer, SocialGraph
from graphcrm.loaders.idmap import INDEX_DTYPE, IdMap
from graphcrm.loaders.locking import writer_lock
from graphcrm.loaders.layers import LayerSpec

FORMAT_NAME = "graphcrm-snapshot"
FORMAT_VERSION = 2        # 2: event logs in segments, arrival.npy (see event_segments)
#: what a snapshot without event segments or arrival numbers is written as, so older graphcrm reads it
PLAIN_FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_ARRAYS = ("out_indptr", "out_indices", "out_weights", "in_indptr", "in_indices", "in_weights")
_ARRAY_DTYPES = {"indptr": INDPTR_DTYPE, "indices": INDEX_DTYPE, "weights": WEIGHT_DTYPE}   # by name's suffix
_LAYER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_npy(path: Path, array: np.ndarray) -> int:
    with open(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
        fh.flush()
        os.fsync(fh.fileno())
    return path.stat().st_size


def _arrow_errors() -> tuple:
    """pyarrow's error class once pyarrow is imported (it is imported lazily: an int-id snapshot opens without it)."""
    arrow = sys.modules.get("pyarrow")
    return (arrow.ArrowException,) if arrow is not None else ()


def _write_parquet(path: Path, frame) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    with open(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
        fh.flush()
        os.fsync(fh.fileno())
    return path.stat().st_size


def file_digest(path) -> str:
    """The BLAKE2b-128 hex digest of a file's bytes, read in 1 MiB blocks (the snapshot's checksum).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = f.write_bytes(b"1 2")
    >>> len(file_digest(f))
    32
    """
    return _digest(Path(path))


def prefix_digests(path, sizes) -> dict[int, str]:
    """:func:`file_digest` of the first ``n`` bytes of a file for each ``n`` in ``sizes``, in one read (a file
    that grew in place since it was hashed has its old digest at its old size).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = f.write_bytes(b"1 2")
    >>> old = file_digest(f)
    >>> _ = f.write_bytes(b"1 2, 3 4")
    >>> prefix_digests(f, {3})[3] == old, prefix_digests(f, {8})[8] == file_digest(f)
    (True, True)
    """
    h = hashlib.blake2b(digest_size=16)
    out, done = {}, 0
    with open(path, "rb") as fh:
        for n in sorted(set(int(v) for v in sizes)):
            while done < n:
                block = fh.read(min(n - done, 1 << 20))
                if not block:
                    break
                h.update(block)
                done += len(block)
            out[n] = h.copy().hexdigest() if done == n else ""
    return out


def _digest(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


_MAGIC = {".npy": (b"\x93NUMPY", b""), ".parquet": (b"PAR1", b"PAR1")}


def _check_header(root: Path, rel: str, size: int) -> None:
    head, tail = _MAGIC.get(Path(rel).suffix, (b"", b""))
    if not head:
        return
    with open(root / rel, "rb") as fh:
        start = fh.read(len(head))
        end = b""
        if tail and size >= len(tail):
            fh.seek(size - len(tail))
            end = fh.read(len(tail))
    if start != head or end != tail:
        kind = "NumPy array" if rel.endswith(".npy") else "Parquet file"
        raise SnapshotError(f"{root}: {rel} is damaged (not a valid {kind} header); re-create the snapshot "
                            "or restore it from a backup")
    expected = _npy_dtype(rel)
    if expected is not None:                 # the type graphcrm writes there (every reader, the merge included)
        try:
            with open(root / rel, "rb") as fh:
                version = np.lib.format.read_magic(fh)
                shape, _, dtype = (np.lib.format.read_array_header_1_0(fh) if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0(fh))
        except (ValueError, OSError, SyntaxError, TypeError) as exc:
            raise SnapshotError(f"{root}: {rel} is damaged (unreadable NumPy header: {exc}); re-create the "
                                "snapshot or restore it from a backup") from None
        if dtype.newbyteorder("=") != np.dtype(expected) or len(shape) != 1:
            raise SnapshotError(f"{root}: {rel} holds {len(shape)}-d {dtype.str} values where graphcrm writes "
                                f"1-d {np.dtype(expected).str} (damaged header); re-create the snapshot or restore "
                                "it from a backup")


def _npy_dtype(rel: str):
    """The type graphcrm writes in the snapshot array ``rel`` (None: not one of its arrays)."""
    name = Path(rel).name
    if name == "ids.npy":
        return np.int64
    if name == ARRIVAL:
        return np.int32
    suffix = name.removesuffix(".npy").rsplit("_", 1)[-1]
    return _ARRAY_DTYPES.get(suffix) if rel.startswith("layers/") else None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``)."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    rc = libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    return rc == 0


def snapshot_holding(path) -> Path | None:
    """The snapshot directory that ``path`` lies inside (a parent whose manifest is a graphcrm snapshot's), or
    None; ``path`` itself may be a snapshot.  Another tool's ``manifest.json`` (a web app's) is not one.

    >>> snapshot_holding("/") is None
    True
    """
    for parent in Path(os.path.abspath(path)).parents:
        manifest = parent / MANIFEST
        if manifest.is_file():
            try:
                if json.loads(manifest.read_text(encoding="utf-8")).get("format") == "graphcrm-snapshot":
                    return parent
            except (OSError, ValueError, AttributeError):
                continue
    return None


def is_snapshot(path) -> bool:
    """Whether ``path`` is a directory holding a graphcrm snapshot manifest."""
    return (Path(path) / MANIFEST).is_file()


def save_snapshot(graph: SocialGraph, path, *, tables: dict | None = None, inputs: list | None = None,
                  history: str = "new", keep_versions: int | None = None) -> Path:
    """Write ``graph`` (and side ``tables``) to the snapshot directory ``path``, atomically.

    An existing snapshot at ``path`` is replaced only once the new one is
    complete on disk.  A directory that exists but is not a snapshot is never
    touched.

    Parameters
    ----------
    graph : SocialGraph
    path : str or Path
    tables : dict of str to pandas.DataFrame, optional
        Side tables kept with the graph (read back with
        :func:`load_snapshot_tables`), e.g. ``customers`` / ``links`` /
        ``review`` from ``graphcrm load --customers``.
    inputs : list of dict, optional
        The input files this version was made from (``source``, ``kind``, ``blake2b``, ``bytes``), kept in
        the manifest with those of earlier versions, so re-appending a file can be recognised.
    history : {"new", "append", "reload", "replace"}, default "new"
        ``"new"``: a new history, version 1 (what ``graphcrm load --out`` does).  ``"append"``: the
        snapshot now at ``path`` becomes a stored earlier version (``versions/NNNNNN/``, files
        hard-linked, so unchanged bytes are not copied) and the new one is numbered after it
        (``graphcrm load --append``).  ``"reload"``: as ``"append"``, but the new version is built from
        ``inputs`` alone (a pipeline's full reload): only they count as loaded, so a file of an earlier
        version that is not among them can be appended again.  ``"replace"``: rewrite the current version
        in place -- same number, date and inputs, stored versions kept (``graphcrm erase``).
    keep_versions : int, optional
        With ``history="append"`` or ``"reload"``: keep at most this many earlier versions (the newest);
        ``None`` keeps all.

    Returns
    -------
    Path
        The snapshot directory.

    Raises
    ------
    SnapshotError
        ``path`` is a file or a non-empty directory that is not a snapshot.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", [1, 2], [2, 3]).build()
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "snap"
    >>> _ = save_snapshot(g, d)
    >>> load_snapshot(d).equals(g)
    True
    """
    target = real_target(path)
    if target.exists() and not target.is_dir():
        raise SnapshotError(f"{target}: exists and is a file, expected a snapshot directory")
    if target.is_dir() and any(target.iterdir()) and not is_snapshot(target):
        raise SnapshotError(
            f"{target}: directory exists and is not a graphcrm snapshot; refusing to replace it "
            "(choose an empty or new directory)"
        )
    for name in list(graph.layer_names) + list(tables or {}):
        if not _LAYER_NAME.match(name):
            raise ParameterError(f"name {name!r} cannot be saved: use letters, digits, '_', '-', '.'")
    if history not in ("new", "append", "reload", "replace"):
        raise ParameterError(f"history must be 'new', 'append', 'reload' or 'replace', got {history!r}")
    if keep_versions is not None and keep_versions < 0:
        raise ParameterError(f"keep_versions must be >= 0, got {keep_versions}")
    with writer_lock(target, create=True):     # one writer at a time (graphcrm.loaders.locking)
        previous = read_manifest(target) if history != "new" and is_snapshot(target) else None
        fields = _history_fields(previous, history, inputs)
        return commit_snapshot(target, lambda tmp: _write_contents(graph, tmp, tables or {}, fields),
                               previous=previous, history=history, keep_versions=keep_versions)


def real_target(path) -> Path:
    """``path`` with symlinks resolved: a snapshot reached through a link (``current -> /mnt/vol/graph``) is
    replaced where it lives, and the link keeps pointing at the new version -- swapping the link's own name
    would turn it into a plain directory and leave its target at the old version."""
    path = Path(path)
    return path.resolve() if path.is_symlink() else path


def commit_snapshot(target: Path, write, *, previous: dict | None, history: str, keep_versions: int | None) -> Path:
    """Write a snapshot with ``write(tmp)`` into a temporary sibling of ``target``, carry the stored versions
    over (``previous``: the manifest now at ``target``, or None), then swap it in with one atomic rename.

    An exception in ``write`` (or a kill) leaves ``target`` as it was; the temporary directory is removed
    (by this call, or by the next save after a kill).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(target)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        write(tmp)
        if previous is not None:
            adds = history in ("append", "reload")         # the current version becomes a stored one
            _carry_history(target, int(previous.get("version", 1)) if adds else None, tmp,
                           keep_versions if adds else None)
        _fsync_dir(tmp)
        if target.exists():
            if not _exchange(tmp, target):
                old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
                os.rename(target, old)
                os.rename(tmp, target)
                tmp = old
        else:
            os.rename(tmp, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        if getattr(exc, "filename", None) is None:         # e.g. a full disk mid-write: name the snapshot
            raise OSError(exc.errno, f"{exc.strerror or exc} while writing the new version; the stored one is "
                          "unchanged", str(target)) from None
        raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _remove_stale_temporaries(target: Path) -> None:
    for leftover in target.parent.glob(f".{target.name}.tmp-*"):
        try:
            pid = int(leftover.name.rsplit(".tmp-", 1)[1].split("-")[0])
        except ValueError:
            continue
        if pid == os.getpid() or not pid_alive(pid):
            shutil.rmtree(leftover, ignore_errors=True)


VERSIONS = "versions"


def _version_dir(number: int) -> str:
    return f"{number:06d}"


def _history_fields(previous: dict | None, history: str, inputs: list | None) -> dict:
    """``version``, ``created_at`` and ``inputs`` of the manifest being written."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if previous is None:
        return {"version": 1, "created_at": now, "inputs": [{**i, "version": 1} for i in inputs or []]}
    number = int(previous.get("version", 1))
    if history == "replace":
        return {"version": number, "created_at": previous.get("created_at") or now,
                "inputs": list(previous.get("inputs", [])),
                **({"reloaded": True} if previous.get("reloaded") else {})}
    held = [] if history == "reload" else list(previous.get("inputs", []))
    return {"version": number + 1, "created_at": now,
            "inputs": held + [{**i, "version": number + 1} for i in inputs or []],
            **({"reloaded": True} if history == "reload" else {})}


def _carry_history(current: Path, current_version: int | None, tmp: Path, keep: int | None) -> None:
    """Carry the stored versions of ``current`` over to the snapshot being written in ``tmp``; with
    ``current_version``, store ``current`` itself as that version too."""
    stored = {int(d.name): d for d in (current / VERSIONS).iterdir() if d.name.isdigit()} \
        if (current / VERSIONS).is_dir() else {}
    numbers = sorted(stored) + ([current_version] if current_version is not None else [])
    if not numbers:
        return
    if keep is not None:
        numbers = numbers[len(numbers) - keep:] if keep else []
    (tmp / VERSIONS).mkdir()
    for number in numbers:
        source = stored.get(number, current)
        _link_tree(source, tmp / VERSIONS / _version_dir(number), skip=VERSIONS if source is current else None)


def _link_tree(source: Path, target: Path, skip: str | None) -> None:
    """Hard-link every file of ``source`` into ``target`` (a copy where links are not possible)."""
    for folder, dirs, files in os.walk(source):
        rel = Path(folder).relative_to(source)
        if skip and rel == Path("."):
            dirs[:] = [d for d in dirs if d != skip]
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            try:
                os.link(Path(folder) / name, target / rel / name)
            except OSError:
                shutil.copy2(Path(folder) / name, target / rel / name)


def link_copy(source, target) -> Path:
    """A copy of the snapshot directory ``source`` (with its stored versions) at ``target``, by hard links.

    Snapshot files are never changed in place, so the copy costs no bytes and stays valid whatever later
    happens to ``source``.
    """
    _link_tree(Path(source), Path(target), skip=None)
    return Path(target)


def list_versions(path) -> list[dict]:
    """Every version of the snapshot at ``path``, oldest first: ``version``, ``created_at``, ``current``,
    ``n_nodes``, edges per layer, and the input files that version added.

    A snapshot saved before versions existed is version 1.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "snap"
    >>> _ = save_snapshot(GraphBuilder().add_edges("follows", [1], [2]).build(), d)
    >>> _ = save_snapshot(GraphBuilder().add_edges("follows", [1, 2], [2, 3]).build(), d, history="append")
    >>> [(v["version"], v["current"], v["n_nodes"]) for v in list_versions(d)]
    [(1, False, 2), (2, True, 3)]
    """
    root = Path(path)
    dirs = [(root / VERSIONS / d.name) for d in sorted((root / VERSIONS).iterdir()) if d.name.isdigit()] \
        if (root / VERSIONS).is_dir() else []
    out = []
    for folder in dirs + [root]:
        manifest = read_manifest(folder)
        number = int(manifest.get("version", 1))
        out.append({"version": number, "created_at": manifest.get("created_at"), "current": folder == root,
                    "n_nodes": manifest["n_nodes"],
                    "edges": {k: v.get("n_edges") for k, v in manifest["layers"].items()},
                    "inputs": [i for i in manifest.get("inputs", []) if i.get("version", 1) == number],
                    "reloaded": bool(manifest.get("reloaded", False)), "path": str(folder)})
    return out


def version_path(path, as_of=None, option: str = "--as-of") -> Path:
    """The directory of the version of ``path`` that ``as_of`` names: a version number, or a time (ISO-8601
    or Unix seconds) -- the newest version created at or before it.  ``None``: the current version.
    ``option`` is the command-line option a bad value is blamed on (``--as-of``, ``--since``).

    Raises
    ------
    ParameterError
        No such version: a usage error naming ``option`` (the message lists the versions there are).
    """
    root = Path(path)
    if as_of is None or str(as_of).strip() == "":
        return root
    versions = list_versions(root)
    text = str(as_of).strip()
    if text.isdigit() and len(text) < 9:               # a version number (Unix seconds have 9+ digits)
        chosen = [v for v in versions if v["version"] == int(text)]
    else:
        when = _as_unix(text, option)
        chosen = [v for v in versions if v["created_at"] and _as_unix(v["created_at"], option) <= when][-1:]
    if not chosen:
        have = ", ".join(f"{v['version']} ({v['created_at'] or 'no date'})" for v in versions)
        what = (f"no version {text!r}" if text.isdigit() and len(text) < 9
                else f"no version existed yet at {text!r} (the earliest kept was written later)")
        raise ParameterError(f"{option} {text}: {root}: {what}; versions: {have}")
    return Path(chosen[0]["path"])


def _as_unix(text: str, option: str = "--as-of") -> float:
    if text.replace(".", "", 1).isdigit():
        return float(text)
    import pandas as pd

    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise ParameterError(f"{option} {text!r}: expected a version number, an ISO-8601 time or Unix seconds")
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.timestamp()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` is running on this machine (a process of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_contents(graph: SocialGraph, root: Path, tables: dict, history: dict) -> None:
    import pandas as pd
    import pyarrow as pa

    files = {}
    for name, frame in sorted(tables.items()):
        (root / "tables").mkdir(exist_ok=True)
        files[f"tables/{name}.parquet"] = _write_parquet(root / "tables" / f"{name}.parquet",
                                                         frame.reset_index(drop=True))
    ids = graph.id_map.ids
    if graph.id_map.kind == "int":
        files["ids.npy"] = _write_npy(root / "ids.npy", ids)
    else:
        files["ids.parquet"] = _write_parquet(root / "ids.parquet", pd.DataFrame({"account_id": ids}))
    files["nodes.parquet"] = _write_parquet(root / "nodes.parquet", graph.node_attributes)
    layers = {}
    for name, layer in graph.layers.items():
        ldir = root / "layers" / name
        ldir.mkdir(parents=True)
        for arr in _ARRAYS:
            value = getattr(layer, arr)
            if value is not None:
                files[f"layers/{name}/{arr}.npy"] = _write_npy(ldir / f"{arr}.npy", value)
        event_fields = []
        if layer.events is not None:
            ev = layer.events
            cols = {"src": ev.src, "dst": ev.dst, "time": ev.time}
            for opt in ("weight", "sentiment"):
                if getattr(ev, opt) is not None:
                    cols[opt] = getattr(ev, opt)
            frame = pd.DataFrame(cols)
            if ev.extra is not None:           # message columns: topics (dictionary-encoded by Parquet), ids, text
                table = pa.Table.from_pandas(frame, preserve_index=False)
                for c in ev.extra.column_names:
                    table = table.append_column(c, ev.extra.column(c))
                frame = table
            event_fields = list(frame.column_names if isinstance(frame, pa.Table) else cols)
            files[f"layers/{name}/events.parquet"] = _write_parquet(ldir / "events.parquet", frame)
        spec = layer.spec
        layers[name] = {
            "direction": spec.direction,
            "type_weight": spec.type_weight,
            "aggregate": spec.aggregate,
            "signed": spec.signed,
            "undirected": spec.undirected,
            "n_edges": layer.n_edges,
            "weighted": layer.weighted,
            "event_fields": event_fields,
            "build_report": dict(layer.build_report),
        }
    manifest = {
        "format": FORMAT_NAME,
        "format_version": PLAIN_FORMAT_VERSION,     # one events file per layer, no arrival numbers
        **history,
        "n_nodes": graph.n_nodes,
        "id_kind": graph.id_map.kind,
        "node_columns": [str(c) for c in graph.node_attributes.columns],
        "layers": layers,
        "metadata": _jsonable(dict(graph.metadata)),
        "tables": sorted(tables),
        "files": files,
        "checksum": "blake2b-128",
        "checksums": {rel: _digest(root / rel) for rel in sorted(files)},
    }
    with open(root / MANIFEST, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return json.loads(json.dumps(value, default=str))


def read_manifest(path) -> dict:
    """The manifest of the snapshot at ``path`` (checked for format and version)."""
    root = Path(path)
    if not root.exists():
        raise SnapshotError(f"{root}: no such snapshot directory")
    if not is_snapshot(root):
        raise SnapshotError(f"{root}: not a graphcrm snapshot (no {MANIFEST}); create one with 'graphcrm load'")
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"{root / MANIFEST}: unreadable manifest ({exc})") from None
    if manifest.get("format") != FORMAT_NAME:
        raise SnapshotError(f"{root}: manifest format is {manifest.get('format')!r}, expected {FORMAT_NAME!r}")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise SnapshotError(
            f"{root}: snapshot format version {version!r} is newer than this graphcrm reads "
            f"(<= {FORMAT_VERSION}); upgrade graphcrm"
        )
    return manifest


def load_snapshot(path, *, mmap: bool = True, text: bool = False) -> SocialGraph:
    """Open the snapshot directory ``path``.

    Parameters
    ----------
    path : str or Path
    mmap : bool, default True
        Memory-map the CSR/CSC arrays (read-only) instead of reading them
        into memory; pages are read on first touch.
    text : bool, default False
        Also read the message text of the events (no algorithm needs it;
        appends and erasure read it so that a rewritten snapshot keeps it).

    Raises
    ------
    SnapshotError
        Missing, truncated or unknown-format snapshot, naming the file.
    """
    root = Path(path)
    manifest = read_manifest(root)
    try:
        files = dict(manifest["files"])
        layer_infos = dict(manifest["layers"])
        int(manifest["n_nodes"]), str(manifest["id_kind"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"{root}: manifest is damaged ({exc!r} missing or wrong); re-create the snapshot") from None
    for name in layer_infos:
        if not _LAYER_NAME.match(str(name)):
            raise SnapshotError(f"{root}: manifest names an invalid layer {name!r}")
    for rel, size in files.items():
        f = root / rel
        if not f.is_file():
            raise SnapshotError(f"{root}: snapshot is incomplete, {rel} is missing")
        if f.stat().st_size != size:
            raise SnapshotError(f"{root}: {rel} has {f.stat().st_size} bytes, the manifest says {size} (damaged copy?)")
        _check_header(root, rel, size)
    mode = "r" if mmap else None
    try:
        dense_of = _dense_of_arrival(root, int(manifest["n_nodes"])) if ARRIVAL in files else None
        if manifest["id_kind"] == "int":
            ids = _stored_array(root, "ids.npy", mmap_mode=None)
        else:
            import pyarrow.parquet as pq

            ids = pq.ParquetFile(root / "ids.parquet").read(columns=["account_id"]).column("account_id").to_numpy(zero_copy_only=False).astype(object)
        if manifest.get("node_columns", True):
            import pyarrow.parquet as pq

            nodes = pq.read_table(root / "nodes.parquet").to_pandas()
        else:  # no attributes (and Parquet keeps no row count for a table without columns): no pandas needed
            nodes = None
        layers = {}
        for name, info in manifest["layers"].items():
            ldir = root / "layers" / name
            arrays = {
                arr: (_stored_array(root, f"layers/{name}/{arr}.npy", mmap_mode=mode)
                      if (ldir / f"{arr}.npy").exists() else None)
                for arr in _ARRAYS
            }
            events = None
            if info["event_fields"]:
                events = _read_event_log(root, ldir, event_segments(info), text, dense_of)
            spec = LayerSpec(name, info["direction"], info["type_weight"], info["aggregate"], info["signed"],
                             bool(info.get("undirected", False)))
            layers[name] = Layer(spec, events=events, build_report=info.get("build_report", {}), **arrays)
    except (OSError, ValueError, KeyError, TypeError, SyntaxError, EOFError, tokenize.TokenError,
            *_arrow_errors()) as exc:
        raise SnapshotError(f"{root}: cannot read snapshot ({type(exc).__name__}: {exc}); the files are damaged -- "
                            "re-create the snapshot or restore it from a backup") from None
    if len(ids) != manifest["n_nodes"]:
        raise SnapshotError(f"{root}: {len(ids)} ids but the manifest says {manifest['n_nodes']} nodes")
    if nodes is not None and len(nodes) != manifest["n_nodes"]:
        raise SnapshotError(f"{root}: nodes.parquet has {len(nodes)} rows but the manifest says "
                            f"{manifest['n_nodes']} nodes")
    _check_ids(root, ids, "ids.npy" if manifest["id_kind"] == "int" else "ids.parquet")
    for name, layer in layers.items():
        _check_arrays(root, name, layer, len(ids))
    return SocialGraph(IdMap(ids), layers, nodes, manifest.get("metadata", {}))


def load_event_text(path, layer: str):
    """The message text of ``layer``'s events (a pyarrow string array in event-log order), or None.

    Text is stored with the events (``layers/<name>/events.parquet``, column ``text``) but never read by
    :func:`load_snapshot`: no algorithm needs it.

    Parameters
    ----------
    path : str or Path
        A snapshot directory.
    layer : str
        A layer with an event log.

    Examples
    --------
    >>> import tempfile
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_events("retweets", ["a"], ["b"], time=[10], extra={"text": ["hi"]}).build()
    >>> d = save_snapshot(g, tempfile.mkdtemp() + "/snap")
    >>> load_event_text(d, "retweets").to_pylist()
    ['hi']
    """
    root = Path(path)
    info = read_manifest(root)["layers"].get(layer, {})
    segments = [root / "layers" / layer / seg for seg in event_segments(info)] if info else \
        [root / "layers" / layer / "events.parquet"]
    if not segments or not segments[0].exists():
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    have = ["text" in pq.read_schema(f).names for f in segments]
    if not any(have):
        return None
    parts = [pq.read_table(f, columns=["text"]).column("text").cast(pa.string()) if h
             else pa.nulls(pq.ParquetFile(f).metadata.num_rows, pa.string()) for f, h in zip(segments, have)]
    return pa.chunked_array([c for p in parts for c in (p.chunks if isinstance(p, pa.ChunkedArray) else [p])],
                            type=pa.string()).combine_chunks()


#: the accounts' arrival numbers (see :func:`event_segments`); absent: arrival number = dense index
ARRIVAL = "arrival.npy"
_MESSAGE_COLUMNS = ("topics", "message_id", "parent_id", "text")


def event_segments(info: dict) -> list[str]:
    """The event-log files of a layer (its manifest entry), oldest first.

    A snapshot written by :func:`save_snapshot` keeps one file, ``events.parquet``.  An append
    (:func:`graphcrm.loaders.merge.append_snapshot`) adds the day's events as one more file
    (``events-NNNNNN.parquet``, NNNNNN the version) and hard-links the earlier ones.  A day with late events
    (at or before the latest stored time) reopens the last files their times reach: those files' events from
    the day's first time on are sorted with the day's into ``events-NNNNNN.parquet``, the ones before it are
    kept as ``events-NNNNNN-before.parquet``; the earlier files stay linked.  The log is the files'
    concatenation, in order, sorted by time throughout.  Event ends in these files are *arrival numbers* --
    the order in which accounts first appeared, which later appends never change -- turned into dense
    indices through the snapshot's ``arrival.npy`` (for each dense index, the account's arrival number;
    absent: the identity).
    """
    if not info.get("event_fields"):
        return []
    return list(info.get("event_segments") or ["events.parquet"])


def _dense_of_arrival(root: Path, n: int) -> np.ndarray:
    """Dense index of each arrival number (the inverse of the permutation ``arrival.npy`` holds)."""
    arrival = np.load(root / ARRIVAL, allow_pickle=False)
    if arrival.shape != (n,) or (n and (int(arrival.min()) < 0 or int(arrival.max()) >= n)):
        raise SnapshotError(f"{root}: {ARRIVAL} does not match the {n} accounts (damaged); re-create the snapshot")
    dense_of = np.full(n, -1, dtype=np.int32)
    dense_of[arrival] = np.arange(n, dtype=np.int32)
    if n and int(dense_of.min()) < 0:
        raise SnapshotError(f"{root}: {ARRIVAL} repeats an arrival number (damaged); re-create the snapshot")
    return dense_of


def _read_event_log(root: Path, ldir: Path, segments: list[str], text: bool, dense_of) -> EventLog:
    """The layer's event log: its segment files concatenated, event ends turned into dense indices."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = []
    for seg in segments:
        present = pq.read_schema(ldir / seg).names
        tables.append(pq.read_table(ldir / seg, columns=[c for c in present if c != "text" or text]))
    sizes = [t.num_rows for t in tables]

    def numeric(c, fill):
        if not any(c in t.column_names for t in tables):
            return None
        parts = [t.column(c).to_numpy() if c in t.column_names else np.full(k, fill) for t, k in zip(tables, sizes)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    src, dst, time_ = numeric("src", 0), numeric("dst", 0), numeric("time", 0)
    messages = [c for c in _MESSAGE_COLUMNS if any(c in t.column_names for t in tables)]
    extra = None
    if messages:
        kind = lambda c: pa.list_(pa.string()) if c == "topics" else pa.string()  # noqa: E731
        parts = [pa.table({c: (t.column(c).cast(kind(c)) if c in t.column_names else pa.nulls(k, kind(c)))
                           for c in messages}) for t, k in zip(tables, sizes)]   # Parquet names the list item 'element'
        extra = (parts[0] if len(parts) == 1 else pa.concat_tables(parts)).combine_chunks()
    if dense_of is not None:
        n = len(dense_of)
        if len(src) and (min(int(src.min()), int(dst.min())) < 0 or max(int(src.max()), int(dst.max())) >= n):
            raise SnapshotError(f"{root}: layer '{ldir.name}' has events naming accounts outside the snapshot "
                                "(damaged event files); re-create the snapshot")
        src, dst = dense_of[src], dense_of[dst]
    return EventLog(src, dst, time_, numeric("weight", 1.0), numeric("sentiment", np.nan), extra)


def verify_snapshot(path) -> dict:
    """Re-read every file of the snapshot at ``path`` against the manifest's checksums, then open it.

    Returns
    -------
    dict
        ``files`` checked, ``bytes`` read, ``checksum`` algorithm (``None`` for a snapshot written before
        checksums were kept: then only sizes, headers and structure are checked).

    Raises
    ------
    SnapshotError
        Naming the first file whose bytes differ from what was saved.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "snap"
    >>> _ = save_snapshot(GraphBuilder().add_edges("follows", [1, 2], [2, 3]).build(), d)
    >>> verify_snapshot(d)["checksum"]
    'blake2b-128'
    """
    root = Path(path)
    load_snapshot(root, mmap=True)                      # sizes, headers and structure first
    manifest = read_manifest(root)
    sums = manifest.get("checksums")
    files = dict(manifest["files"])
    if not sums:
        return {"files": len(files), "bytes": 0, "checksum": None}
    for rel in sorted(files):
        if rel not in sums or _digest(root / rel) != sums[rel]:
            raise SnapshotError(f"{root}: {rel} does not match its checksum (the file changed after it was "
                                "saved); re-create the snapshot or restore it from a backup")
    return {"files": len(files), "bytes": int(sum(files.values())), "checksum": manifest.get("checksum")}


def load_snapshot_tables(path) -> dict:
    """The side tables stored with the snapshot at ``path`` (``{}`` for a snapshot without any).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", [1, 2], [2, 3]).build()
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "snap"
    >>> import pandas as pd
    >>> _ = save_snapshot(g, d, tables={"links": pd.DataFrame({"customer_id": ["c1"], "account_id": [2]})})
    >>> load_snapshot_tables(d)["links"].values.tolist()
    [['c1', 2]]
    """
    root = Path(path)
    manifest = read_manifest(root)
    out = {}
    for name in manifest.get("tables", []):
        import pyarrow.parquet as pq

        try:
            out[name] = pq.read_table(root / "tables" / f"{name}.parquet").to_pandas()
        except (OSError, *_arrow_errors()) as exc:
            raise SnapshotError(f"{root}: cannot read table {name!r} ({exc!r})") from None
    return out


def _check_ids(root: Path, ids: np.ndarray, rel: str) -> None:
    """Dense index = rank in sorted order, so the ids must be strictly increasing."""
    if len(ids) < 2:
        return
    try:       # text ids compare as Python strings, element by element (no pandas import to open a snapshot)
        ordered = bool(np.all(ids[1:] > ids[:-1]))
    except TypeError:                     # not one comparable type: damaged
        ordered = False
    if not ordered:
        raise SnapshotError(f"{root}: {rel} holds duplicate or unsorted account ids (damaged); re-create the "
                            "snapshot")


def _stored_array(root: Path, rel: str, *, mmap_mode) -> np.ndarray:
    """``np.load`` of a snapshot array whose header :func:`_check_header` has checked (the type graphcrm writes
    there, in either byte order); one written on a machine of the other byte order is read as native values."""
    arr = np.load(root / rel, mmap_mode=mmap_mode, allow_pickle=False)
    return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))


def _check_arrays(root: Path, name: str, layer: Layer, n: int) -> None:
    """Shapes, monotone indptr and index ranges, so a damaged file fails here and not inside a kernel."""
    if layer.events is not None and len(layer.events):
        ev = layer.events
        if (len(ev.dst) != len(ev.src) or len(ev.time) != len(ev.src)
                or min(int(ev.src.min()), int(ev.dst.min())) < 0 or max(int(ev.src.max()), int(ev.dst.max())) >= n):
            raise SnapshotError(f"{root}: layer '{name}' has events naming accounts outside the snapshot (damaged "
                                "events.parquet); re-create the snapshot")
    for side in ("out", "in"):
        indptr, indices = getattr(layer, f"{side}_indptr"), getattr(layer, f"{side}_indices")
        weights = getattr(layer, f"{side}_weights")
        ok = len(indptr) == n + 1 and indptr[0] == 0 and indptr[-1] == len(indices)
        ok = ok and bool(np.all(indptr[1:] >= indptr[:-1]))
        ok = ok and (weights is None or len(weights) == len(indices))
        ok = ok and (len(indices) == 0 or (int(indices.min()) >= 0 and int(indices.max()) < n))
        if not ok:
            raise SnapshotError(f"{root}: layer '{name}' ({side}-edges) has inconsistent arrays; re-create the snapshot")
