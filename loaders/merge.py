"""Append to a snapshot on disk by merging: memory in proportion to the new rows, not to the stored graph.

:func:`append_snapshot` is what ``graphcrm load --append`` and the nightly pipeline call.  The new rows
are parsed and built into a small graph of their own (the *day*: its layers aggregated by the builder's
rules, in its own numbering); the stored version is then read in chunks and merged with it into the next
version, written file by file into a temporary directory that replaces the snapshot in one atomic rename
(as :func:`~graphcrm.loaders.snapshot.save_snapshot` does; the previous version moves to ``versions/``,
its files hard-linked, unchanged):

- **ids**: accounts are numbered by sorted external id, so the day's new accounts slot in between the
  stored ones; every stored index moves up by the number of new accounts sorted before it -- a monotone
  map, so stored CSR rows stay sorted after it.  ``ids.npy`` is rewritten in chunks.
- **CSR / CSC**: row by row, the stored row (mapped) and the day's row (mapped) are merged in one linear
  pass, duplicate pairs combined by the layer's rule (sum, max, min), and written in chunks of
  :data:`CHUNK` (65,536) entries.  The arrays are byte-identical to a full rebuild from all the input files: max and min
  do not depend on order, and a sum is merged only where it is exact (integer values -- counts, integer
  weights -- below 2**53); otherwise the append rebuilds (below).
- **event logs**: the day's events are one more file (``events-NNNNNN.parquet``); the stored files are
  hard-linked, not rewritten (see :func:`~graphcrm.loaders.snapshot.event_segments`: ends stored as arrival
  numbers, ``arrival.npy`` maps them; readers concatenate the files).  Late arrivals (day events at or
  before the latest stored time) reopen only the stored files whose times reach theirs -- usually the last
  one -- and are sorted together with them into the new file, in the full rebuild's order.
- **node attributes, side tables**: tables are hard-linked; node attributes, where there are any, are
  re-indexed in memory (O(accounts)).

What stays O(graph): the time of the streamed pass (every stored array is read once and written once: the
new accounts renumber the stored ones, so every index moves) and the bytes written; not the memory.
O(accounts) memory remains for string ids (read whole to find the new accounts' places) and node
attribute tables.

When the merge cannot give the exact full-rebuild result it falls back to the rebuild of
:func:`graphcrm.loaders.append.appended_graph` (the stored graph read into memory plus the new rows, as
before) and says why in :attr:`AppendResult.reason`: a summed layer with non-integer weights, a layer
aggregated by mean, ids of another kind, a layer
given with another spec, or an old snapshot without the layer build reports the merge needs.  (A snapshot
with stored self-loops is refused without ``self_loops="keep"`` and merges with it.)

Examples
--------
>>> import tempfile, pathlib
>>> import pandas as pd
>>> from graphcrm.loaders import build_graph, read_interactions
>>> from graphcrm.loaders.snapshot import load_snapshot, save_snapshot
>>> day1 = pd.DataFrame({"actor": [1, 2], "target": [3, 3], "type": ["RT", "RT"], "time": [10, 11]})
>>> day2 = pd.DataFrame({"actor": [1, 0], "target": [3, 1], "type": ["RT", "MT"], "time": [20, 21]})
>>> d = pathlib.Path(tempfile.mkdtemp()) / "snap"
>>> _ = save_snapshot(build_graph(read_interactions(day1))[0], d)
>>> result = append_snapshot(d, read_interactions(day2))
>>> result.mode, result.n_nodes
('merge', 4)
>>> load_snapshot(d).equals(build_graph(read_interactions(pd.concat([day1, day2])))[0])
True
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from graphcrm.loaders.builder import GraphBuilder
from graphcrm.loaders.errors import SnapshotError
from graphcrm.loaders.graph import INDPTR_DTYPE, WEIGHT_DTYPE
from graphcrm.loaders.idmap import INDEX_DTYPE
from graphcrm.loaders.layers import LayerSpec, counts_repeats
from graphcrm.loaders.locking import writer_lock
from graphcrm.loaders import snapshot as snap

#: entries (edges, ids) read and written per chunk of the streamed pass
CHUNK = 1 << 16
_AGG = {"sum": 0, "max": 2, "min": 3}


class _Rebuild(Exception):
    """The merge cannot give the full-rebuild result exactly: rebuild instead (the message says why)."""


@dataclass
class AppendResult:
    """What :func:`append_snapshot` did.

    Attributes
    ----------
    mode : {"merge", "rebuild"}
        ``merge``: the stored version was streamed and merged; ``rebuild``: read into memory and rebuilt.
    reason : str or None
        Why a rebuild was needed.
    version : int
    n_nodes : int
    layers : dict
        Per layer: ``spec`` (LayerSpec), ``edges`` (ties as the source counts them), ``arcs``.
    reports : list of LoadReport
    new_accounts : int
    """

    mode: str
    reason: str | None
    version: int
    n_nodes: int
    layers: dict
    reports: list
    new_accounts: int = 0
    graph: object = field(default=None, repr=False)


def append_snapshot(path, *sources, self_loops: str = "drop", inputs: list | None = None,
                    keep_versions: int | None = None, metadata: dict | None = None,
                    before_rebuild=None, before_reopen=None) -> AppendResult:
    """Add the parsed ``sources`` to the snapshot at ``path`` as its next version, atomically.

    The result equals :func:`~graphcrm.loaders.append.appended_graph` on the loaded snapshot followed by
    ``save_snapshot(..., history="append")`` -- the same arrays, byte for byte, as loading every file at
    once -- but by merging (see the module notes) where that is exact, so memory follows the new rows.

    Parameters
    ----------
    path : str or Path
        An existing snapshot directory.
    *sources : ParsedSource
        The new rows (``read_interactions``, ``read_edges``, ``read_nodes`` ...).
    self_loops : {"drop", "keep"}
    inputs : list of dict, optional
        The input files, kept in the manifest (see :func:`~graphcrm.loaders.snapshot.save_snapshot`).
    keep_versions : int, optional
        Keep at most this many earlier versions.
    metadata : dict, optional
        Keys to set in the new version's metadata (e.g. the pipeline's configured sources).
    before_rebuild : callable, optional
        Called with the reason when the merge cannot be exact and the append is about to rebuild the stored
        graph in memory; it may raise to refuse (the CLI's ``--max-memory`` check counts the stored rows
        then).  Nothing has been written when it is called.
    before_reopen : callable, optional
        Called with a reason and a row count when the day has late events, before the stored event files they
        reach (that many stored events) are read to be sorted with them; it may raise to refuse.

    Returns
    -------
    AppendResult

    Raises
    ------
    ParameterError
        New rows for a static layer aggregated by mean, or a snapshot with self-loops appended to without
        ``self_loops="keep"`` (as :func:`~graphcrm.loaders.append.appended_graph`).
    """
    root = snap.real_target(path)
    with writer_lock(root):                 # one writer at a time: a concurrent append or erase waits
        manifest = snap.read_manifest(root)
        try:
            return _merge(root, manifest, sources, self_loops, inputs, keep_versions, metadata or {}, before_reopen)
        except _Rebuild as why:
            if before_rebuild is not None:
                before_rebuild(str(why))
            return _rebuild(root, sources, self_loops, inputs, keep_versions, metadata or {}, str(why))


def _rebuild(root, sources, self_loops, inputs, keep_versions, metadata, reason) -> AppendResult:
    from graphcrm.loaders.append import appended_graph
    from graphcrm.loaders.graph import SocialGraph

    stored = snap.load_snapshot(root, text=True)
    n_before = stored.n_nodes
    graph, reports = appended_graph(stored, *sources, self_loops=self_loops)
    del stored
    if metadata:
        graph = SocialGraph(graph.id_map, graph.layers, graph.node_attributes, {**graph.metadata, **metadata})
    snap.save_snapshot(graph, root, tables=snap.load_snapshot_tables(root), inputs=inputs, history="append",
                       keep_versions=keep_versions)
    layers = {name: {"spec": lay.spec, "edges": lay.n_ties, "arcs": lay.n_edges} for name, lay in graph.layers.items()}
    return AppendResult("rebuild", reason, int(snap.read_manifest(root)["version"]), graph.n_nodes, layers, reports,
                        graph=graph, new_accounts=graph.n_nodes - n_before)


# ----------------------------------------------------------------------------------------------- file access
class _NpyReader:
    """Slices of a 1-d ``.npy`` file read with ``pread`` into fresh buffers (nothing stays mapped)."""

    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_RDONLY)
        with open(path, "rb") as fh:
            major, minor = np.lib.format.read_magic(fh)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if (major, minor) not in read_header:
                raise SnapshotError(f"{path}: .npy format {major}.{minor} is not read here")
            shape, fortran, dtype = read_header[(major, minor)](fh)
            self.offset = fh.tell()
        if len(shape) != 1 or fortran:
            raise SnapshotError(f"{path}: expected a 1-d array")
        self.n, self.dtype = shape[0], dtype

    def read(self, a: int, b: int) -> np.ndarray:
        out = np.empty(max(0, b - a), dtype=self.dtype)
        if len(out):
            view = memoryview(out).cast("B")
            got = os.preadv(self.fd, [view], self.offset + a * self.dtype.itemsize)
            if got != out.nbytes:
                raise SnapshotError(f"short read ({got} of {out.nbytes} bytes): the snapshot is damaged")
        return out

    def close(self):
        os.close(self.fd)


class _NpyWriter:
    """A 1-d ``.npy`` file written in pieces; the header (its length does not depend on the shape) is
    rewritten with the final length at the end, so the bytes equal ``numpy.save`` of the whole array."""

    def __init__(self, path: Path, dtype):
        self.path, self.dtype, self.n = path, np.dtype(dtype), 0
        self.fh = open(path, "wb")
        self.header = self._header(0)
        self.fh.write(self.header)

    def _header(self, n: int) -> bytes:
        import io

        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(self.dtype),
                                                   "fortran_order": False, "shape": (n,)})
        return buf.getvalue()

    def write(self, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values, dtype=self.dtype)
        self.fh.write(memoryview(values).cast("B"))
        self.n += len(values)

    def close(self) -> int:
        final = self._header(self.n)
        if len(final) != len(self.header):           # cannot happen for 1-d arrays (numpy pads for growth)
            raise SnapshotError(f"{self.path}: .npy header length changed")
        self.fh.seek(0)
        self.fh.write(final)
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        return self.path.stat().st_size


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        import shutil

        shutil.copy2(source, target)


# ------------------------------------------------------------------------------------------------ the merge
@dataclass
class _Plan:
    n_old: int
    q: np.ndarray            # stored-numbering insertion points of the new accounts (sorted)
    new_pos: np.ndarray      # their new indices
    day_to_new: np.ndarray   # the day's dense index -> new index
    day_arrival: np.ndarray  # the day's dense index -> arrival number

    @property
    def n_new(self) -> int:
        return self.n_old + len(self.q)


def _merge(root, manifest, sources, self_loops, inputs, keep_versions, metadata, before_reopen=None) -> AppendResult:
    files = dict(manifest.get("files", {}))
    layer_infos = dict(manifest["layers"])
    for rel, size in files.items():                   # cheap checks of what will be read or linked
        f = root / rel
        if not f.is_file() or f.stat().st_size != size:
            raise SnapshotError(f"{root}: {rel} is missing or has another size than the manifest says (damaged "
                                "copy?); re-create the snapshot")
        snap._check_header(root, rel, size)
    checksums = manifest.get("checksums") or {}
    if not checksums:
        raise _Rebuild("the snapshot predates checksums")
    for name, info in layer_infos.items():
        report = info.get("build_report") or {}
        if "self_loops" not in report or "rows" not in report:
            raise _Rebuild(f"layer '{name}' has no build report to carry on")
        if report["self_loops"] != report.get("self_loops_dropped", 0) and self_loops != "keep":
            raise _Rebuild(f"layer '{name}' keeps self-loops")

    builder = GraphBuilder(self_loops="keep" if self_loops == "keep" else "drop")
    for s in sources:
        s.add_to(builder)
    day = builder.build()
    n_old = int(manifest["n_nodes"])
    if day.n_nodes and n_old and day.id_map.kind != manifest["id_kind"]:
        raise _Rebuild(f"the new rows have {day.id_map.kind} account ids, the snapshot {manifest['id_kind']} ids")
    if n_old == 0:
        raise _Rebuild("the snapshot holds no accounts")
    touched = {s.layer for s in sources if s.kind == "edges"}
    reopen: dict[str, int] = {}                 # layer -> stored event files the day's late events go into
    reopen_rows: dict[str, int] = {}            # ... and the stored events those files hold
    for s in sources:                  # rows summed into stored edges must be integers (exact in any order)
        weight = s.columns.get("weight") if s.kind == "edges" else None
        if weight is None or s.layer not in layer_infos or layer_infos[s.layer]["aggregate"] != "sum":
            continue
        if not _integral(np.asarray(weight.to_numpy() if hasattr(weight, "to_numpy") else weight, dtype=np.float64)):
            raise _Rebuild(f"{s.report.source}: weights are not integers (a float sum depends on the order)")
    for name, lay in day.layers.items():
        info = layer_infos.get(name)
        if info is None:
            continue
        spec = _spec(name, info)
        if spec.aggregate == "mean" and lay.events is None and name in touched:
            raise _Rebuild("a layer aggregated by mean")   # the rebuild raises the user's error
        if spec != lay.spec:
            raise _Rebuild(f"layer '{name}' is given with another spec")
        if bool(info["event_fields"]) != (lay.events is not None):
            raise _Rebuild(f"layer '{name}' has timestamps on one side only")
        if spec.aggregate == "mean":
            raise _Rebuild(f"layer '{name}' is aggregated by mean")
        if lay.events is not None:
            reopen[name], reopen_rows[name] = _check_event_layer(root, name, info, lay)
        if spec.aggregate == "sum" and lay.weighted and not _integral(lay.out_weights):
            raise _Rebuild(f"layer '{name}': new weights are not integers (a float sum depends on the order)")

    late = {name: rows for name, rows in reopen_rows.items() if reopen[name] and rows}
    if late and before_reopen is not None:
        before_reopen("late events: " + ", ".join(f"layer '{n}' re-sorts {r:,} stored events" for n, r in late.items()),
                      sum(late.values()))
    plan = _plan(root, manifest, day)
    previous = manifest
    fields = snap._history_fields(previous, "append", inputs)
    version = fields["version"]
    state = {}

    def write(tmp: Path) -> None:
        state.update(_write_version(root, tmp, manifest, day, plan, sources, fields, metadata, version, reopen))

    snap.commit_snapshot(root, write, previous=previous, history="append", keep_versions=keep_versions)
    return AppendResult("merge", None, version, plan.n_new, state["layers"], state["reports"],
                        new_accounts=len(plan.q))


def _spec(name: str, info: dict) -> LayerSpec:
    return LayerSpec(name, info["direction"], info["type_weight"], info["aggregate"], info["signed"],
                     bool(info.get("undirected", False)))


def _integral(values: np.ndarray) -> bool:
    return bool(np.all(values == np.floor(values)) and (len(values) == 0 or np.abs(values).max() < 2.0 ** 31))


def _check_event_layer(root: Path, name: str, info: dict, lay) -> tuple[int, int]:
    """How many of the stored event files (the last ones) the day's events must be sorted into, and how many
    events those files hold; checks that a summed log's values are integers (then sums are exact in any order).

    Events that sort after every stored one make one more file (0 files reopened).  Late arrivals -- events
    at or before the latest stored time -- reopen the stored files whose times reach theirs (usually just the
    last one: a day's export that overlaps the previous one by a few seconds): those files and the day's
    events are sorted together into one new file, as the full rebuild orders them."""
    ldir = root / "layers" / name
    n_stored = 0
    segment_max, segment_rows = [], []
    for seg in snap.event_segments(info):
        meta = pq.ParquetFile(ldir / seg).metadata
        n_stored += meta.num_rows
        segment_rows.append(meta.num_rows)
        col = meta.schema.names.index("time")
        latest = None
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(col).statistics
            if meta.row_group(g).num_rows == 0:
                continue
            if stats is None or not stats.has_min_max:
                raise _Rebuild(f"layer '{name}': no time statistics in the stored events")
            latest = stats.max if latest is None else max(latest, stats.max)
        segment_max.append(latest)
    reopen = 0
    if len(lay.events):
        first = int(lay.events.time[0])
        while reopen < len(segment_max) and (segment_max[-1 - reopen] is None
                                             or int(segment_max[-1 - reopen]) >= first):
            reopen += 1
    reopened_rows = sum(segment_rows[len(segment_rows) - reopen:]) if reopen else 0
    if info["aggregate"] != "sum":
        return reopen, reopened_rows
    biggest = 1.0
    if "weight" in info["event_fields"]:
        for seg in snap.event_segments(info):
            pf = pq.ParquetFile(ldir / seg)
            if "weight" not in pf.schema_arrow.names:
                continue
            for batch in pf.iter_batches(batch_size=CHUNK, columns=["weight"]):
                w = batch.column(0).to_numpy()
                if not _integral(w):
                    raise _Rebuild(f"layer '{name}': stored event weights are not integers")
                biggest = max(biggest, float(np.abs(w).max()) if len(w) else 1.0)
    day_values = lay.events.values
    if not _integral(day_values):
        raise _Rebuild(f"layer '{name}': new event weights are not integers")
    if len(day_values):
        biggest = max(biggest, float(np.abs(day_values).max()))
    if biggest * (n_stored + len(day_values)) >= 2.0 ** 53:
        raise _Rebuild(f"layer '{name}': sums could exceed the exact range of a float")
    return reopen, reopened_rows


def _plan(root: Path, manifest: dict, day) -> _Plan:
    """Where the day's accounts go among the stored ones."""
    n_old = int(manifest["n_nodes"])
    day_ids = day.id_map.ids
    if manifest["id_kind"] == "int":
        old_ids = np.load(root / "ids.npy", mmap_mode="r", allow_pickle=False)
        pos = np.searchsorted(old_ids, day_ids) if len(day_ids) else np.empty(0, dtype=np.int64)
        found = np.zeros(len(day_ids), dtype=bool)
        inside = pos < n_old
        found[inside] = np.asarray(old_ids[pos[inside]]) == day_ids[inside]
        del old_ids
    else:
        old_ids = _string_ids(root)
        day_text = np.asarray(day_ids, dtype=object)
        pos = np.searchsorted(old_ids, day_text)
        inside = pos < n_old
        found = np.zeros(len(day_ids), dtype=bool)
        found[inside] = old_ids[pos[inside]] == day_text[inside]
        del old_ids
    pos = pos.astype(np.int64)
    q = pos[~found]
    new_pos = q + np.arange(len(q), dtype=np.int64)
    day_to_new = np.empty(len(day_ids), dtype=np.int64)
    day_to_new[~found] = new_pos
    day_to_new[found] = pos[found] + np.searchsorted(q, pos[found], side="right")
    day_arrival = np.empty(len(day_ids), dtype=np.int64)
    day_arrival[~found] = n_old + np.arange(len(q))
    if snap.ARRIVAL in manifest.get("files", {}):
        arrival = np.load(root / snap.ARRIVAL, mmap_mode="r", allow_pickle=False)
        day_arrival[found] = np.asarray(arrival[pos[found]])
        del arrival
    else:
        day_arrival[found] = pos[found]
    return _Plan(n_old, q, new_pos, day_to_new, day_arrival)


def _string_ids(root: Path) -> np.ndarray:
    """The stored text ids, Python strings (numpy's fixed-width text would take 4 bytes per character of the
    longest id for every id, and drop a trailing NUL)."""
    return np.asarray(pq.read_table(root / "ids.parquet").column("account_id").to_numpy(zero_copy_only=False),
                      dtype=object)


def _write_version(root, tmp, manifest, day, plan, sources, fields, metadata, version, reopen) -> dict:
    files, sums = {}, {}
    old_sums = manifest.get("checksums") or {}

    def linked(rel: str) -> None:
        _link(root / rel, tmp / rel)
        files[rel] = manifest["files"][rel]
        sums[rel] = old_sums[rel]

    def written(rel: str, size: int) -> None:
        files[rel] = size
        sums[rel] = snap._digest(tmp / rel)

    for name in manifest.get("tables", []):
        linked(f"tables/{name}.parquet")
    k = len(plan.q)
    # ids and arrival numbers: the stored ones in chunks, the new accounts slotted in
    if manifest["id_kind"] == "int":
        if k == 0:
            linked("ids.npy")
        else:
            written("ids.npy", _insert_stream(root / "ids.npy", tmp / "ids.npy", plan, _new_ids(day, plan)))
    else:
        if k == 0:
            linked("ids.parquet")
        else:
            old_ids = _string_ids(root)
            merged = np.insert(old_ids, plan.q, np.asarray(_new_ids(day, plan), dtype=object))
            written("ids.parquet", snap._write_parquet(tmp / "ids.parquet", pd.DataFrame({"account_id": merged})))
            del old_ids, merged
    has_arrival = snap.ARRIVAL in manifest.get("files", {})
    if k == 0 and has_arrival:
        linked(snap.ARRIVAL)
    elif k:
        new_numbers = plan.n_old + np.arange(k, dtype=np.int32)
        source = root / snap.ARRIVAL if has_arrival else None
        written(snap.ARRIVAL, _insert_stream(source, tmp / snap.ARRIVAL, plan, new_numbers, dtype=np.int32))
    # node attributes
    nodes = _node_table(root, manifest, day, plan, sources)
    node_columns = [str(c) for c in nodes.columns]
    written("nodes.parquet", snap._write_parquet(tmp / "nodes.parquet", nodes))
    del nodes
    # layers
    layers_out, summary = {}, {}
    for name in sorted(set(manifest["layers"]) | set(day.layers)):
        info = manifest["layers"].get(name)
        lay = day.layers.get(name)
        entry, counts = _write_layer(root, tmp, name, info, lay, plan, version, manifest["files"], linked, written,
                                     reopen.get(name, 0))
        layers_out[name] = entry
        summary[name] = counts
    reports = [s.report for s in sources]
    old_meta = dict(manifest.get("metadata", {}))
    meta = {**old_meta, "loads": list(old_meta.get("loads", [])) + [r.as_dict() for r in reports]}
    meta["sources"] = sorted(set(old_meta.get("sources", [])) | {r.source for r in reports})
    meta.update(metadata)
    for r in reports:
        if r.layer in layers_out:
            r.build = dict(layers_out[r.layer]["build_report"])
    out = {
        "format": snap.FORMAT_NAME,
        "format_version": snap.FORMAT_VERSION,
        **fields,
        "n_nodes": plan.n_new,
        "id_kind": manifest["id_kind"],
        "node_columns": node_columns,
        "layers": layers_out,
        "metadata": snap._jsonable(meta),
        "tables": list(manifest.get("tables", [])),
        "files": files,
        "checksum": "blake2b-128",
        "checksums": {rel: sums[rel] for rel in sorted(files)},
    }
    with open(tmp / snap.MANIFEST, "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    return {"layers": summary, "reports": reports}


def _new_ids(day, plan: _Plan) -> np.ndarray:
    """The day's accounts the snapshot does not hold, sorted."""
    is_new = np.zeros(len(plan.day_to_new), dtype=bool)
    is_new[np.searchsorted(plan.day_to_new, plan.new_pos)] = True
    return day.id_map.ids[is_new]


def _insert_stream(source: Path | None, target: Path, plan: _Plan, values: np.ndarray, dtype=np.int64) -> int:
    """``source`` (or the identity ``0..n_old-1`` when None) with ``values`` inserted at ``plan.q``, in chunks."""
    reader = _NpyReader(source) if source is not None else None
    writer = _NpyWriter(target, reader.dtype if reader is not None else dtype)
    try:
        for a in range(0, max(plan.n_old, 1), CHUNK):
            b = min(a + CHUNK, plan.n_old)
            chunk = reader.read(a, b) if reader is not None else np.arange(a, b, dtype=dtype)
            lo = np.searchsorted(plan.q, a, side="left")
            hi = np.searchsorted(plan.q, b, side="left") if b < plan.n_old else len(plan.q)
            writer.write(np.insert(chunk, plan.q[lo:hi] - a, values[lo:hi]))
    finally:
        if reader is not None:
            reader.close()
    return writer.close()


def _node_table(root: Path, manifest: dict, day, plan: _Plan, sources) -> pd.DataFrame:
    """The node attributes: none anywhere -- an empty table of the new size; else stored rows (in memory,
    O(accounts)) re-indexed, then the new tables on top, as the builder combines them."""
    has_new = any(s.kind == "nodes" for s in sources)
    if not manifest.get("node_columns") and not has_new and not day.node_attributes.shape[1]:
        return pd.DataFrame(index=pd.RangeIndex(plan.n_new))
    old_ids = np.load(root / "ids.npy", allow_pickle=False) if manifest["id_kind"] == "int" else \
        _string_ids(root).astype(object)
    stored = pq.read_table(root / "nodes.parquet").to_pandas() if manifest.get("node_columns") else None
    builder = GraphBuilder()
    builder.add_nodes(old_ids, stored if stored is not None and stored.shape[1] else None, source="<stored accounts>")
    for s in sources:
        if s.kind == "nodes":
            s.add_to(builder)
    builder.add_nodes(day.id_map.ids)
    return builder.build().node_attributes


def _write_layer(root, tmp, name, info, lay, plan, version, stored_files, linked, written, reopen=0):
    """One layer of the new version: CSR and CSC merged, events linked plus the day's file (sorted together with
    the last ``reopen`` stored files when the day has late events); its manifest entry."""
    ldir_old, ldir = root / "layers" / name, tmp / "layers" / name
    ldir.mkdir(parents=True)
    spec = _spec(name, info) if info is not None else lay.spec
    weighted = bool((info or {}).get("weighted")) or (lay is not None and lay.weighted)
    k = len(plan.q)
    if lay is None and k == 0:                       # nothing changes in this layer's arrays
        for arr in snap._ARRAYS:
            rel = f"layers/{name}/{arr}.npy"
            if rel in stored_files:
                linked(rel)
        n_edges = int(info["n_edges"])
    else:
        n_edges = None
        for side in ("out", "in"):
            day_arrays = None
            if lay is not None:
                day_arrays = (getattr(lay, f"{side}_indptr"), getattr(lay, f"{side}_indices"),
                              getattr(lay, f"{side}_weights"))
            m = _merge_side(ldir_old if info is not None else None, ldir, side, plan, day_arrays,
                            _AGG.get(spec.aggregate, 0), weighted, name)
            if not weighted and counts_repeats(spec) and m < int((info or {}).get("n_edges", 0)) + (
                    len(lay.out_indices) if lay is not None else 0):
                raise _Rebuild(f"layer '{name}': ties the stored version holds come again, and an unweighted "
                               "summed layer counts them: the counts need weights")
            for arr in ("indptr", "indices", "weights"):
                rel = f"layers/{name}/{side}_{arr}.npy"
                if (tmp / rel).exists():
                    written(rel, (tmp / rel).stat().st_size)
            n_edges = m
    # events: stored files linked, the day's events one more file (with the reopened stored files, if any)
    stored_segments = snap.event_segments(info) if info is not None else []
    reopened = stored_segments[len(stored_segments) - reopen:] if reopen else []
    segments = stored_segments[: len(stored_segments) - len(reopened)]
    for seg in list(segments):
        linked(f"layers/{name}/{seg}")
    fields = list((info or {}).get("event_fields") or [])
    n_day_events = repeats = 0
    if lay is not None and lay.events is not None:
        ev = lay.events
        n_day_events = len(ev)
        cols = {"src": plan.day_arrival[ev.src].astype(INDEX_DTYPE), "dst": plan.day_arrival[ev.dst].astype(INDEX_DTYPE),
                "time": ev.time}
        for opt in ("weight", "sentiment"):
            if getattr(ev, opt) is not None:
                cols[opt] = getattr(ev, opt)
        table = pa.Table.from_pandas(pd.DataFrame(cols), preserve_index=False)
        if ev.extra is not None:
            for c in ev.extra.column_names:
                table = table.append_column(c, ev.extra.column(c))
        if reopened:
            earlier, table, repeats = _sorted_with_stored(root, ldir_old, reopened, table, plan)
            if earlier is not None:     # the reopened events before the day's first: a file of their own
                kept = f"events-{version:06d}-before.parquet"
                written(f"layers/{name}/{kept}", snap._write_parquet(ldir / kept, earlier))
                segments = segments + [kept]
        seg = "events.parquet" if not segments else f"events-{version:06d}.parquet"
        written(f"layers/{name}/{seg}", snap._write_parquet(ldir / seg, table))
        segments = segments + [seg]
        order = ["src", "dst", "time", "weight", "sentiment", "topics", "message_id", "parent_id", "text"]
        have = set(fields) | set(table.column_names)
        fields = [c for c in order if c in have]
    stored_events = sum(pq.ParquetFile(ldir_old / seg).metadata.num_rows for seg in snap.event_segments(info)) \
        if info is not None else 0
    report = _build_report(info, lay, n_edges, stored_events, n_day_events)
    n_loops = report["self_loops"] - report["self_loops_dropped"]
    entry = {
        "direction": spec.direction,
        "type_weight": spec.type_weight,
        "aggregate": spec.aggregate,
        "signed": spec.signed,
        "undirected": spec.undirected,
        "n_edges": n_edges,
        "weighted": weighted,
        "event_fields": fields,
        "build_report": report,
    }
    if len(segments) > 1:
        entry["event_segments"] = segments
    ties = (n_edges + n_loops) // 2 if spec.undirected else n_edges
    return entry, {"spec": spec, "edges": ties, "arcs": n_edges, **({"repeated_events": repeats} if repeats else {})}


def _sorted_with_stored(root: Path, ldir_old: Path, reopened: list[str], day_table, plan: _Plan):
    """``(earlier, merged)``: the reopened stored events before the day's first event, unchanged (None if
    none), and the rest of them with the day's events (ends as arrival numbers) in the order of a full
    rebuild: the builder's sort -- time, then source, target (dense indices of the new version), weight,
    sentiment -- stable, stored events before the day's.  The earlier part stays a file of its own, so the
    next late day reopens only the merged file, not the whole history."""
    stored = [pq.read_table(ldir_old / seg) for seg in reopened]
    # the files are consecutive in time and each reaches the day's first event: only the first reopened file
    # can hold earlier events, as a prefix (files are sorted by time)
    first = int(pc.min(day_table.column("time")).as_py())
    split = int(np.searchsorted(stored[0].column("time").to_numpy(), first, side="left"))
    earlier = stored[0].slice(0, split) if split else None
    tables = [stored[0].slice(split), *stored[1:], day_table]
    sizes = [t.num_rows for t in tables]

    def numeric(c, fill, dtype):
        return np.concatenate([t.column(c).to_numpy().astype(dtype, copy=False) if c in t.column_names
                               else np.full(k, fill, dtype=dtype) for t, k in zip(tables, sizes)])

    src, dst = numeric("src", 0, INDEX_DTYPE), numeric("dst", 0, INDEX_DTYPE)
    time_ = numeric("time", 0, np.int64)
    weight = numeric("weight", 1.0, np.float64)
    has = lambda c: any(c in t.column_names for t in tables)  # noqa: E731
    sentiment = numeric("sentiment", np.nan, np.float64) if has("sentiment") else None
    n_day = sizes[-1]
    if "message_id" in day_table.column_names:       # ids tell same-second events apart: compare them
        stored_ids = [t.column("message_id").cast(pa.string()) for t in tables[:-1] if "message_id" in t.column_names]
        day_ids = pc.drop_null(day_table.column("message_id").cast(pa.string()))
        repeats = 0 if not stored_ids else int(pc.sum(pc.is_in(
            day_ids, value_set=pa.concat_arrays([c.combine_chunks() for c in stored_ids]))).as_py() or 0)
    else:
        repeats = _repeated(src, dst, time_, len(src) - n_day, weight)
    dense = _new_dense_of_arrival(root, plan)
    keys = ([sentiment] if sentiment is not None else []) + [weight, dense(dst), dense(src), time_]
    order = np.lexsort(keys)
    cols = {"src": src[order], "dst": dst[order], "time": time_[order]}
    if has("weight"):
        cols["weight"] = weight[order]
    if sentiment is not None:
        cols["sentiment"] = sentiment[order]
    out = pa.Table.from_pandas(pd.DataFrame(cols), preserve_index=False)
    for c in snap._MESSAGE_COLUMNS:
        if has(c):
            kind = pa.list_(pa.string()) if c == "topics" else pa.string()
            parts = [t.column(c).cast(kind) if c in t.column_names else pa.chunked_array([pa.nulls(k, kind)])
                     for t, k in zip(tables, sizes)]
            column = pa.chunked_array([ch for p in parts for ch in p.chunks], type=kind)
            out = out.append_column(c, column.take(pa.array(order)))
    return earlier, out, repeats


def _repeated(src: np.ndarray, dst: np.ndarray, time_: np.ndarray, n_stored: int, weight: np.ndarray) -> int:
    """How many of the rows after the first ``n_stored`` (the day's) have the source, target, time and weight of
    a stored row: an overlapping export or a re-encoded copy of a loaded file counts them twice (with message
    ids, the caller compares those instead).

    >>> _repeated(np.array([1, 2, 1, 3]), np.array([2, 3, 2, 1]), np.array([10, 11, 10, 12]), 2, np.ones(4))
    1
    """
    def key(a, b, t, w):                # one 64-bit key per row (a collision only over-warns)
        k = a.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        k ^= b.astype(np.uint64) + np.uint64(0x632BE59BD9B4E019) + (k << np.uint64(6)) + (k >> np.uint64(2))
        k = k * np.uint64(0xBF58476D1CE4E5B9) ^ t.astype(np.uint64)
        return k * np.uint64(0x94D049BB133111EB) ^ np.ascontiguousarray(w, dtype=np.float64).view(np.uint64)

    if n_stored == 0 or n_stored == len(src):
        return 0
    with np.errstate(over="ignore"):
        stored = key(src[:n_stored], dst[:n_stored], time_[:n_stored], weight[:n_stored])
        day = key(src[n_stored:], dst[n_stored:], time_[n_stored:], weight[n_stored:])
    return int(np.isin(day, stored).sum())


def _new_dense_of_arrival(root: Path, plan: _Plan):
    """Arrival number -> dense index in the new version: stored accounts move up by the new accounts sorted
    before them, new ones (arrival numbers ``n_old ..``) take their slots (O(accounts) memory, late path only)."""
    old_dense = (snap._dense_of_arrival(root, plan.n_old).astype(np.int64) if (root / snap.ARRIVAL).exists()
                 else np.arange(plan.n_old, dtype=np.int64))
    stored_new = old_dense + np.searchsorted(plan.q, old_dense, side="right")

    def dense(arrival: np.ndarray) -> np.ndarray:
        arrival = arrival.astype(np.int64)
        out = np.empty(len(arrival), dtype=np.int64)
        old = arrival < plan.n_old
        out[old] = stored_new[arrival[old]]
        out[~old] = plan.new_pos[arrival[~old] - plan.n_old]
        return out

    return dense


def _build_report(info, lay, n_edges: int, stored_events: int, n_day_events: int) -> dict:
    """The layer's build report as the rebuild of :func:`~graphcrm.loaders.append.appended_graph` gives it:
    every stored edge (or event) counts as a row of this build, then the day's rows."""
    old = dict((info or {}).get("build_report") or {})
    day = dict(lay.build_report) if lay is not None else {}
    kept_loops = int(old.get("self_loops", 0)) - int(old.get("self_loops_dropped", 0))
    timed = bool((info or {}).get("event_fields")) or (lay is not None and lay.events is not None)
    if timed:
        rows = stored_events + int(day.get("rows", 0))
        dup = stored_events + n_day_events - n_edges
    else:
        stored = int(info["n_edges"]) if info is not None else 0
        rows = stored + int(day.get("rows", 0))
        dup = rows - int(day.get("self_loops_dropped", 0)) - n_edges
    return {"rows": rows, "duplicates_aggregated": dup,
            "self_loops": kept_loops + int(day.get("self_loops", 0)),
            "self_loops_dropped": int(day.get("self_loops_dropped", 0))}


def _merge_side(old_dir, new_dir, side, plan: _Plan, day_arrays, aggregate, weighted, name) -> int:
    """Stream-merge one direction (``out``: CSR, ``in``: CSC) into ``new_dir``; returns the edge count.

    Chunks cover stored rows ``[i0, i1)`` holding about :data:`CHUNK` entries, plus the new accounts slotted
    in before them (new rows ``[i0 + #(q < i0), i1 + #(q < i1))``; the last chunk runs to the end).
    """
    from graphcrm.loaders import _merge_kernels as kernels

    n_old, n_new = plan.n_old, plan.n_new
    readers = {}
    if old_dir is not None:
        for arr in ("indptr", "indices", "weights"):
            f = old_dir / f"{side}_{arr}.npy"
            if f.exists():
                readers[arr] = _NpyReader(f)
    empty_i = np.empty(0, dtype=INDEX_DTYPE)
    empty_w = np.empty(0, dtype=WEIGHT_DTYPE)
    if day_arrays is None:                            # a layer the day has no rows for: empty rows
        day_arrays = (np.zeros(len(plan.day_to_new) + 1, dtype=INDPTR_DTYPE), empty_i, None)
    d_ptr, d_idx, d_w = day_arrays
    d_has_w = d_w is not None
    d_w = d_w if d_has_w else empty_w
    o_has_w = "weights" in readers
    writers = [_NpyWriter(new_dir / f"{side}_indptr.npy", INDPTR_DTYPE),
               _NpyWriter(new_dir / f"{side}_indices.npy", INDEX_DTYPE)]
    if weighted:
        writers.append(_NpyWriter(new_dir / f"{side}_weights.npy", WEIGHT_DTYPE))
    total = 0
    try:
        writers[0].write(np.zeros(1, dtype=INDPTR_DTYPE))
        i0 = 0
        while True:
            if "indptr" in readers:
                o_ptr = readers["indptr"].read(i0, min(n_old, i0 + CHUNK) + 1)
                i1 = i0 + max(1, int(np.searchsorted(o_ptr, o_ptr[0] + CHUNK, side="right")) - 1)
                i1 = min(i1, n_old)
                o_ptr = o_ptr[: i1 - i0 + 1].copy()
                o_idx = readers["indices"].read(int(o_ptr[0]), int(o_ptr[-1]))
                o_w = readers["weights"].read(int(o_ptr[0]), int(o_ptr[-1])) if o_has_w else empty_w
            else:
                i1 = min(n_old, i0 + CHUNK)
                o_ptr = np.zeros(i1 - i0 + 1, dtype=INDPTR_DTYPE)
                o_idx, o_w = empty_i, empty_w
            j0 = int(np.searchsorted(plan.q, i0, side="left"))
            r0 = i0 + j0
            r1 = i1 + int(np.searchsorted(plan.q, i1, side="left")) if i1 < n_old else n_new
            d0 = int(np.searchsorted(plan.day_to_new, r0, side="left"))
            d1 = int(np.searchsorted(plan.day_to_new, r1, side="left"))
            counts, idx, w, inexact = kernels._merge_rows(
                r0, r1, i0, j0, d0, d1, o_ptr, o_idx, o_w, o_has_w, plan.q, plan.new_pos, d_ptr, d_idx, d_w,
                d_has_w, plan.day_to_new, aggregate, weighted)
            if inexact:
                raise _Rebuild(f"layer '{name}': a stored weight summed with a new one is not an integer (a float "
                               "sum depends on the order)")
            writers[0].write(total + np.cumsum(counts))
            writers[1].write(idx)
            if weighted:
                writers[2].write(w)
            total += len(idx)
            if i1 >= n_old:
                break
            i0 = i1
    finally:
        for r in readers.values():
            r.close()
        for w_ in writers:
            w_.close()
    return total
