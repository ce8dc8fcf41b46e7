"""Erase one person: their account leaves the snapshot and every export, and the command says what it removed.

* **Snapshot**: the graph is rebuilt on every other account (their edges,
  events and attributes unchanged; edges to or from the person dropped) and
  saved atomically over the old snapshot.
* **Exports** (``exports`` directory, searched recursively): every CSV /
  Parquet table loses the rows whose ``account_id`` (or another account-id
  column) is the person, and the person is cut out of ``;``-separated id
  lists (``leaders``, ``bridges``, ``max_overlap_with``).  Pseudonymised
  exports are matched through the pseudonym when the salt is available.
  Each file is rewritten atomically; files without the person are left
  byte-for-byte alone.
* **Neo4j**: pass ``graph_stores`` (e.g. ``[Neo4jStore(...).erase_account]``;
  ``graphcrm erase --neo4j-uri ...`` does it); without one the report says
  the graph store was not touched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from graphcrm.core.errors import NodeNotFoundError
from graphcrm.core.snapshot import is_snapshot, load_snapshot, save_snapshot
from graphcrm.crm.export import pseudonym

ID_COLUMNS = ("account_id", "src", "dst", "seed", "target", "influencer_a", "influencer_b")
ID_LIST_COLUMNS = ("leaders", "bridges", "max_overlap_with")


def erase_account(snapshot, account_id, *, exports=None, salt: bytes | None = None,
                  graph_stores: "list[Callable]" = ()) -> dict:
    """Remove ``account_id`` from a snapshot and from the exports under ``exports``; return what was removed.

    Examples
    --------
    >>> import tempfile
    >>> from graphcrm.core.builder import GraphBuilder
    >>> d = Path(tempfile.mkdtemp())
    >>> g = GraphBuilder().add_edges("follows", ["a", "b", "c"], ["b", "c", "a"]).build()
    >>> _ = save_snapshot(g, d / "snap")
    >>> report = erase_account(d / "snap", "b")
    >>> report["snapshot"]["edges_removed"], load_snapshot(d / "snap").n_nodes
    ({'follows': 2}, 2)
    """
    graph = load_snapshot(snapshot, mmap=False)
    found = graph.id_map.lookup(np.asarray([account_id]))
    if found[0] < 0:
        # a text id given on the command line for an int-keyed graph, or unknown
        raise NodeNotFoundError(f"account {account_id!r} is not in the snapshot {snapshot}")
    ext = graph.id_map.ids[found[0]]
    others = np.delete(graph.id_map.ids, found[0])
    smaller = graph.subgraph(others)
    removed_edges = {name: int(graph.layer(name).n_edges - smaller.layer(name).n_edges) for name in graph.layer_names}
    removed_events = {name: int(len(graph.layer(name).events) - len(smaller.layer(name).events))
                      for name in graph.layer_names if graph.layer(name).events is not None}
    del graph
    save_snapshot(smaller, snapshot)
    report = {"account_id": str(ext),
              "snapshot": {"path": str(snapshot), "nodes_removed": 1, "edges_removed": removed_edges,
                           "events_removed": removed_events}}
    if exports is not None:
        keys = {str(ext)} | ({pseudonym(ext, salt)} if salt is not None else set())
        report["exports"] = erase_from_exports(exports, keys)
    plain = ext.item() if hasattr(ext, "item") else ext
    report["graph_store"] = [erase(plain) for erase in graph_stores] or \
        "not touched: no graph store given (graphcrm erase --neo4j-uri ...)"
    return report


def _inside_snapshot(path: Path, root: Path) -> bool:
    """Snapshots (dense-index arrays) are erased by rebuilding them, never by editing their files."""
    return any(is_snapshot(root / d) for d in path.relative_to(root).parents)


def erase_from_exports(root, keys: set[str]) -> dict:
    """Drop rows / list entries naming any of ``keys`` in every table under ``root``; ``{file: rows removed}``."""
    root = Path(root)
    out = {}
    tables = [p for p in root.rglob("*") if p.suffix.lower() in (".csv", ".parquet", ".pq")
              and not p.name.startswith(".")
              and not _inside_snapshot(p, root)]
    for path in sorted(tables):
        parquet = path.suffix.lower() != ".csv"
        frame = pd.read_parquet(path) if parquet else pd.read_csv(path, dtype=str, keep_default_na=False)
        drop = np.zeros(len(frame), bool)
        for col in ID_COLUMNS:
            if col in frame:
                drop |= frame[col].astype(str).isin(keys).to_numpy()
        changed = bool(drop.any())
        kept = frame[~drop].reset_index(drop=True)
        for col in ID_LIST_COLUMNS:
            if col in kept:
                new = [";".join(p for p in str(v).split(";") if p not in keys) if isinstance(v, str) else v
                       for v in kept[col]]
                if any(a != b for a, b in zip(new, kept[col])):
                    kept[col] = new
                    changed = True
        if not changed:
            continue
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        if parquet:
            pq.write_table(pa.Table.from_pandas(kept, preserve_index=False).replace_schema_metadata(None), tmp,
                           compression="zstd")
        else:
            kept.to_csv(tmp, index=False, lineterminator="\n")
        os.replace(tmp, path)
        side = path.with_name(path.name + ".schema.json")
        if side.exists():
            meta = json.loads(side.read_text(encoding="utf-8"))
            meta["rows"] = len(kept)
            side.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        out[str(path.relative_to(root))] = int(drop.sum())
    return out
