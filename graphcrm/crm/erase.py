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
* **Links**: an account's links to CRM customers go with it; the customers'
  own rows stay (the report names them as ``linked_customers``).
* **A CRM customer** (:func:`erase_customer`): their rows leave every export
  (links, review queue, segments), and the accounts they are linked to -- the
  same person -- are erased as above.
* **Neo4j**: pass ``graph_stores`` (e.g. ``[Neo4jStore(...).erase_account]``;
  ``graphcrm erase --neo4j-uri ...`` does it); without one the report says
  the graph store was not touched.
* **Reasons**: a ``reason`` text naming the person (the ``at_risk`` segment's
  "most from ID (0.04)", :data:`graphcrm.crm.export.REASON_ACCOUNT`) loses that
  phrase; the row, about someone else, stays.

**Order, and running it again.**  Nothing is written before the checks pass
(an ``exports`` directory that does not exist, pseudonymised exports without
the salt).  Then the exports go first, the rejects file and graph stores next,
the snapshot's earlier versions and the current snapshot last: a run cut short
(kill, full disk, a read-only export) leaves the person in the snapshot, and
the same command run again finishes the job.  A person already gone from the
snapshot but still named in the exports is erased from them too.  A customer's
linked accounts are written to ``SNAPSHOT.erasing.json`` while the customer is
being erased (the links that name them are among the rows removed), so that a
re-run still finds them; the file goes when the erasure is complete.  A person
found nowhere (never there, a mistyped id, or erased before) is an error that
says nothing was found, and nothing is written.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from graphcrm.loaders.csvsafe import escape_frame
from graphcrm.loaders.csvsafe import read_csv as read_escaped_csv
from graphcrm.loaders.errors import InvalidInputError, NodeNotFoundError, ParameterError
from graphcrm.loaders.locking import pipeline_dir_of, writer_locks
from graphcrm.loaders.snapshot import (is_snapshot, list_versions, load_snapshot, load_snapshot_tables, real_target,
                                       save_snapshot)
from graphcrm.crm.export import SALT_ENV, pseudonym, reasons_naming

ID_COLUMNS = ("account_id", "src", "dst", "seed", "target", "influencer_a", "influencer_b")
ID_LIST_COLUMNS = ("leaders", "bridges", "max_overlap_with")
CUSTOMER_COLUMNS = ("customer_id",)
REJECTS_COLUMNS = {"source", "line", "error", "text"}      # a rejects file: ``text`` is the raw input row
REASON_COLUMNS = ("reason",)


def erase_account(snapshot, account_id, *, exports=None, salt: bytes | None = None,
                  graph_stores: "list[Callable]" = ()) -> dict:
    """Remove ``account_id`` from a snapshot and from the exports under ``exports``; return what was removed.

    The account's links to CRM customers go with it, but the customers' own
    rows stay: the account holder asked, and a link may be wrong.  The report's
    ``linked_customers`` names them, so that an operator who knows it is the
    same person can run :func:`erase_customer` (``graphcrm erase --customer``).

    Examples
    --------
    >>> import tempfile
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> d = Path(tempfile.mkdtemp())
    >>> g = GraphBuilder().add_edges("follows", ["a", "b", "c"], ["b", "c", "a"]).build()
    >>> _ = save_snapshot(g, d / "snap")
    >>> report = erase_account(d / "snap", "b")
    >>> report["snapshot"]["edges_removed"], load_snapshot(d / "snap").n_nodes
    ({'follows': 2}, 2)
    """
    # one writer at a time: a nightly append or run waits for the erase, or the erase for them
    with writer_locks(pipeline_dir_of(snapshot), exports, snapshot):
        return _erase_account(snapshot, account_id, exports=exports, salt=salt, graph_stores=graph_stores,
                              find_customers=True)


def _erase_from_versions(snapshot, account_ids: set, customer_ids: set = frozenset()) -> dict:
    """Remove accounts (and customers' table rows) from every stored earlier version of ``snapshot``.

    Returns the versions changed, each with the accounts and table rows removed from it.
    """
    done = {}
    for version in list_versions(snapshot):
        if version["current"]:
            continue
        folder = Path(version["path"])
        graph = load_snapshot(folder, mmap=False, text=True)
        present = [i for i in graph.id_map.ids.tolist() if str(i) in account_ids]
        tables, rows = _without(load_snapshot_tables(folder), set(account_ids), set(customer_ids))
        if present or rows:
            ids = graph.id_map.ids
            kept = ids[~np.fromiter((str(i) in account_ids for i in ids.tolist()), bool, len(ids))] \
                if present else ids
            save_snapshot(graph.subgraph(kept) if present else graph, folder, tables=tables, history="replace")
            done[version["version"]] = {"accounts_removed": len(present), "table_rows_removed": rows}
    return done


def _erase_account(snapshot, account_id, *, exports, salt, graph_stores, find_customers=False) -> dict:
    """:func:`erase_account`; ``find_customers``: also report the customers linked to the account.

    Exports first, the snapshot last (see the module docstring): the person stays findable until the end.
    """
    _check_exports(exports, salt)
    _check_intact(snapshot)
    graph = load_snapshot(snapshot, mmap=False, text=True)
    found = graph.id_map.lookup(np.asarray([account_id]))
    if found[0] < 0:
        # gone from the current version (an earlier erase, maybe cut short; or a text id given on the command
        # line for an int-keyed graph): earlier versions and the exports may still hold the person
        ext, smaller, removed_edges, removed_events = account_id, None, {}, {}
    else:
        ext = graph.id_map.ids[found[0]]
        smaller = graph.subgraph(np.delete(graph.id_map.ids, found[0]))
        removed_edges = {name: int(graph.layer(name).n_ties - smaller.layer(name).n_ties)
                         for name in graph.layer_names}
        removed_events = {name: int(len(graph.layer(name).events) - len(smaller.layer(name).events))
                          for name in graph.layer_names if graph.layer(name).events is not None}
    keys = {str(ext)} | ({pseudonym(ext, salt)} if salt is not None else set())
    report = {"account_id": str(ext)}
    if find_customers:
        report["linked_customers"] = _linked_customers(snapshot, exports, keys)
    if exports is not None:
        report["exports"], edited = _erase_exports(exports, keys)
        if edited:
            report["exports_edited"] = edited
    rejects = _erase_rejects_beside(snapshot, keys, set())
    if rejects:
        report["rejects"] = rejects
    plain = ext.item() if hasattr(ext, "item") else ext
    report["graph_store"] = [erase(plain) for erase in graph_stores] or \
        "not touched: no graph store given (graphcrm erase --neo4j-uri ...)"
    # the snapshot last: stored versions first (the current one links them), then the current version
    earlier = _erase_from_versions(snapshot, {str(ext)})
    tables, table_rows = _without(load_snapshot_tables(snapshot), {str(ext)}, set())
    if smaller is not None or table_rows:
        save_snapshot(graph if smaller is None else smaller, snapshot, tables=tables, history="replace")
    del graph, smaller
    report["snapshot"] = {"path": str(snapshot), "nodes_removed": int(found[0] >= 0),
                          "edges_removed": removed_edges, "events_removed": removed_events,
                          "table_rows_removed": table_rows, "earlier_versions": earlier}
    if not (found[0] >= 0 or earlier or table_rows or report.get("exports") or rejects
            or _store_removed(report["graph_store"])):
        raise NodeNotFoundError(f"account {account_id!r} is not in the snapshot {snapshot} nor in any of its earlier "
                                "versions" + (f", nor in the exports under {exports}" if exports is not None else "")
                                + ": nothing to erase (erased before, or a mistyped id?)")
    return report


def _check_intact(snapshot) -> None:
    """Every stored version's files against their checksums, before anything is erased.

    Erasing rewrites the snapshot and gives its files fresh checksums: on damaged bytes that would certify the
    damage as good (``info --verify`` passing again) and leave no way to tell a backup is needed.
    """
    from graphcrm.loaders.errors import SnapshotError
    from graphcrm.loaders.snapshot import verify_snapshot

    if not is_snapshot(snapshot):
        return                                   # not a snapshot: the load after this names what is wrong
    for folder in [Path(v["path"]) for v in list_versions(snapshot) if not v["current"]] + [Path(snapshot)]:
        try:
            verify_snapshot(folder)
        except SnapshotError as exc:
            raise SnapshotError(f"{exc}; nothing erased (erase again once it is restored)") from None


def _store_removed(results) -> bool:
    """Whether a graph store's erase removed something (``accounts_removed`` > 0 in its report)."""
    return not isinstance(results, str) and any(isinstance(r, dict) and r.get("accounts_removed") for r in results)


def _check_exports(exports, salt) -> None:
    """Refuse before anything is written: ``exports`` is not a directory, or it holds pseudonymised exports
    and no salt is given (their rows could not be matched and would silently stay).

    Raises
    ------
    ParameterError
        No such exports directory.
    InvalidInputError
        A pseudonymised export (its ``.schema.json`` lists ``pseudonymised_columns``) and no salt.
    """
    if exports is None:
        return
    root = Path(exports)
    if not root.is_dir():
        raise ParameterError(f"--exports {root}: no such directory; give the directory the exports were "
                             "written to (nothing erased)")
    if salt is not None:
        return
    for side in sorted(root.rglob("*.schema.json")):
        if _inside_snapshot(side, root):
            continue
        try:
            columns = json.loads(side.read_text(encoding="utf-8")).get("pseudonymised_columns")
        except (OSError, ValueError, AttributeError):
            continue
        if columns:
            raise InvalidInputError(f"{side}: the export's account ids are pseudonymised; erasing needs the salt "
                                    f"they were made with (--salt-file FILE or ${SALT_ENV}); nothing erased")


def erase_customer(snapshot, customer_id, *, exports=None, salt: bytes | None = None,
                   graph_stores: "list[Callable]" = ()) -> dict:
    """Remove a CRM customer: their rows in every export under ``exports``, and the accounts linked to them.

    The links tables (``graphcrm link`` / pipeline exports of schema
    ``graphcrm.links``) say which accounts are the customer's; each is erased
    with :func:`erase_account` (snapshot, exports, graph stores).  Review
    candidates are other people and stay.

    Examples
    --------
    >>> import tempfile
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> from graphcrm.crm.export import write_export
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = save_snapshot(GraphBuilder().add_edges("follows", ["a", "b"], ["b", "c"]).build(), d / "snap")
    >>> links = pd.DataFrame({"customer_id": ["c1", "c2"], "account_id": ["b", "c"], "method": "handle",
    ...                       "probability": 0.999, "evidence": "exact:handle"})
    >>> _ = write_export(links, d / "out" / "links.csv", "links")
    >>> report = erase_customer(d / "snap", "c1", exports=d / "out")
    >>> report["linked_accounts"], report["exports"]
    (['b'], {'links.csv': 1})
    >>> load_snapshot(d / "snap").n_nodes, pd.read_csv(d / "out" / "links.csv").customer_id.tolist()
    (2, ['c2'])
    """
    with writer_locks(pipeline_dir_of(snapshot), exports, snapshot):
        return _erase_customer(snapshot, customer_id, exports=exports, salt=salt, graph_stores=graph_stores)


def _erase_customer(snapshot, customer_id, *, exports, salt, graph_stores) -> dict:
    """:func:`erase_customer`, the caller holding the snapshot's writer lock."""
    _check_exports(exports, salt)
    _check_intact(snapshot)
    customer_id = str(customer_id)
    stored = load_snapshot_tables(snapshot).get("links")
    linked = [] if stored is None else \
        list(dict.fromkeys(stored.account_id[stored.customer_id.astype(str) == customer_id].astype(str)))
    if exports is not None:
        linked += [a for a in _linked_accounts(exports, customer_id) if a not in linked]
    linked += [a for a in _pending(snapshot).get(customer_id, []) if a not in linked]   # a run cut short
    # resolve every linked id before erasing anything: a pseudonym needs the salt, and one account may be
    # named by its id (snapshot tables) and by its pseudonym (exports)
    ids = {}
    if linked:          # one HMAC per account with a salt: only when there is something to look up
        graph = load_snapshot(snapshot)
        ids = {str(i): i for i in graph.id_map.ids.tolist()}
        if salt is not None:
            ids.update({pseudonym(i, salt): i for i in graph.id_map.ids.tolist()})
        del graph
    unresolved = [a for a in linked if a not in ids]
    if salt is None and any(a.startswith("acct_") for a in unresolved):
        raise ParameterError(f"customer {customer_id!r} is linked to pseudonymised account ids; give the salt "
                             f"(--salt-file or ${SALT_ENV}) so they can be found and erased")
    accounts = list(dict.fromkeys(ids[a] for a in linked if a in ids))
    if accounts:        # erasing an account removes the links naming it: keep them until the end
        _set_pending(snapshot, customer_id, [str(a) for a in accounts])
    report = {"customer_id": customer_id, "linked_accounts": linked, "accounts": []}
    for account in accounts:
        report["accounts"].append(_erase_account(snapshot, account, exports=exports, salt=salt,
                                                 graph_stores=graph_stores))
    removed, edited = {}, {}
    for done in report["accounts"]:
        for name, n in done.get("exports", {}).items():
            removed[name] = _add_removed(removed.get(name, 0), n)
        for name, n in done.get("exports_edited", {}).items():
            edited[name] = edited.get(name, 0) + n
    # the customer's own rows, exports first; linked accounts no longer in the snapshot (erased before) may
    # still be named in the exports
    if exports is not None:
        more, more_edited = _erase_exports(exports, set(unresolved), customer_keys={customer_id})
        for name, n in more.items():
            removed[name] = _add_removed(removed.get(name, 0), n)
        for name, n in more_edited.items():
            edited[name] = edited.get(name, 0) + n
        report["exports"] = dict(sorted(removed.items()))
        if edited:
            report["exports_edited"] = dict(sorted(edited.items()))
    rejects = _erase_rejects_beside(snapshot, set(unresolved), {customer_id})
    if rejects:
        report["rejects"] = rejects
    earlier = _erase_from_versions(snapshot, set(unresolved), {customer_id})
    tables, table_rows = _without(load_snapshot_tables(snapshot), set(unresolved), {customer_id})
    if table_rows or earlier:   # the customer's own rows stored with the graph (graphcrm load --customers)
        save_snapshot(load_snapshot(snapshot, mmap=False, text=True), snapshot, tables=tables, history="replace")
        report["snapshot_table_rows_removed"] = table_rows
        if earlier:
            report["earlier_versions"] = earlier
    _set_pending(snapshot, customer_id, None)
    if not report["accounts"] and not table_rows:
        report["snapshot"] = "not touched: the customer is linked to no account in the snapshot"
    if not (linked or table_rows or earlier or removed or edited or rejects):
        raise NodeNotFoundError(f"customer {customer_id!r} is not in the snapshot {snapshot} nor in any of its earlier "
                                "versions" + (f", nor in the exports under {exports}" if exports is not None else "")
                                + ": nothing to erase (erased before, or a mistyped id?)")
    return report


def _pending_path(snapshot) -> Path:
    target = real_target(snapshot)       # one name for a snapshot reached through a link or directly
    return target.with_name(target.name + ".erasing.json")


def _pending(snapshot) -> dict:
    """Customers whose erasure was started and not finished: ``{customer_id: [account ids]}``."""
    path = _pending_path(snapshot)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _set_pending(snapshot, customer_id: str, accounts) -> None:
    """Record (``accounts`` a list) or clear (None) a customer's pending erasure; the file goes when empty."""
    path = _pending_path(snapshot)
    pending = _pending(snapshot)
    if accounts is None:
        if customer_id not in pending:
            return
        del pending[customer_id]
    else:
        pending[customer_id] = list(dict.fromkeys(pending.get(customer_id, []) + accounts))
    if not pending:
        path.unlink()
        return
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(pending, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _erase_rejects_beside(snapshot, keys: set, customer_keys: set) -> dict:
    """The rejects file ``graphcrm load`` writes beside the snapshot (raw rows): without the person's rows."""
    out = {}
    for name in dict.fromkeys([Path(snapshot), real_target(snapshot)]):     # beside a symlink and its target
        path = name.with_name(name.name + ".rejects.csv")
        if path.is_file():
            n = _erase_from_table(path, keys, customer_keys)
            if n is not None:
                out[str(path)] = n[0]
    return out


def _without(tables: dict, accounts: set, customers: set) -> tuple[dict, dict]:
    """Snapshot side tables without the rows naming ``accounts`` / ``customers``; and rows removed per table."""
    kept, removed = {}, {}
    for name, frame in tables.items():
        drop = np.zeros(len(frame), bool)
        if "account_id" in frame and accounts:
            drop |= frame.account_id.astype(str).isin(accounts).to_numpy()
        if "customer_id" in frame and customers:
            drop |= frame.customer_id.astype(str).isin(customers).to_numpy()
        kept[name] = frame[~drop].reset_index(drop=True)
        if drop.any():
            removed[name] = int(drop.sum())
    return kept, removed


def _links_tables(root):
    """The links tables (schema ``graphcrm.links``) exported under ``root``, as frames."""
    for side in sorted(Path(root).rglob("*.schema.json")):
        table = side.with_name(side.name[: -len(".schema.json")])
        if not table.exists() or _inside_snapshot(table, Path(root)):
            continue
        if json.loads(side.read_text(encoding="utf-8")).get("schema") != "graphcrm.links":
            continue
        yield pd.read_parquet(table) if table.suffix.lower() != ".csv" else \
            read_escaped_csv(table, dtype=str, keep_default_na=False)


def _linked_accounts(root, customer_id: str) -> list[str]:
    """Accounts the links tables under ``root`` give for ``customer_id`` (as text, in order of appearance)."""
    found = []
    for frame in _links_tables(root):
        hits = frame.account_id[frame.customer_id.astype(str) == customer_id].astype(str)
        found += [a for a in hits if a and a not in found]
    return found


def _linked_customers(snapshot, exports, account_keys: set) -> list[str]:
    """Customers the stored links (``load --customers``) and the exported links tables give for an account."""
    frames = [load_snapshot_tables(snapshot).get("links")] + (list(_links_tables(exports)) if exports else [])
    found = []
    for frame in frames:
        if frame is None:
            continue
        hits = frame.customer_id[frame.account_id.astype(str).isin(account_keys)].astype(str)
        found += [c for c in hits if c and c not in found]
    return found


def _add_removed(so_far, n):
    """Rows removed add up; a removed page (a message) stays a message."""
    return n if isinstance(n, str) or isinstance(so_far, str) and not isinstance(n, int) else (
        so_far if isinstance(so_far, str) else so_far + n)


def _inside_snapshot(path: Path, root: Path) -> bool:
    """Snapshots (dense-index arrays) are erased by rebuilding them, never by editing their files."""
    return any(is_snapshot(root / d) for d in path.relative_to(root).parents)


def erase_from_exports(root, keys: set[str], customer_keys: set[str] = frozenset()) -> dict:
    """Drop rows / list entries naming any of ``keys`` (accounts) or ``customer_keys`` in every table under ``root``.

    Returns ``{file: rows removed}`` for the files that changed (0 where only id lists or reason texts were
    edited).  HTML reports that show the person (as a cell, a label or a tooltip word) are removed -- a
    rendered page cannot be edited safely -- with ``"removed ..."`` in place of a row count.
    """
    return _erase_exports(root, keys, customer_keys)[0]


def _erase_exports(root, keys: set, customer_keys: set = frozenset()) -> tuple[dict, dict]:
    """:func:`erase_from_exports`, and ``{file: rows kept but edited}`` (the person cut from an id list or
    a reason text)."""
    root = Path(root)
    removed, edited = {}, {}
    tables = [p for p in root.rglob("*") if p.suffix.lower() in (".csv", ".parquet", ".pq")
              and not p.name.startswith(".")
              and not _inside_snapshot(p, root)]
    for path in sorted(tables):
        n = _erase_from_table(path, keys, customer_keys)
        if n is not None:
            removed[str(path.relative_to(root))] = n[0]
            if n[1]:
                edited[str(path.relative_to(root))] = n[1]
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in (".html", ".htm") and not p.name.startswith(".")
                       and not _inside_snapshot(p, root)):
        if _page_names(path, set(keys) | set(customer_keys)):
            path.unlink()                   # a rendered page cannot be edited safely: it goes, to be re-rendered
            removed[str(path.relative_to(root))] = "removed (it may name the person; re-run graphcrm report)"
    return removed, edited


def _page_names(path: Path, keys: set) -> bool:
    """Whether an HTML page shows one of ``keys`` as a whole word (not inside a number like 4,768).

    A small integer id can also match a count on the page; the page is then removed too -- erring on the
    side of the person, at the cost of re-rendering a report.
    """
    text = path.read_text(encoding="utf-8", errors="replace")
    for key in keys:
        if key and re.search(r"(?<![\w.,-])" + re.escape(html.escape(str(key))) + r"(?![\w.,-])", text):
            return True
    return False


def _raw_fields(text) -> set:
    """The fields of a raw input row (a rejects file's ``text``), quotes and spaces stripped."""
    return {f.strip().strip('"').strip() for f in re.split(r"[,;\t|]", str(text))}


def _set_if_changed(frame: pd.DataFrame, col: str, values: list) -> np.ndarray:
    """Put ``values`` in ``frame[col]`` if any differs (else the column, and its dtype, stay); which rows differ."""
    changed = np.array([not (a == b or pd.isna(a) and pd.isna(b)) for a, b in zip(values, frame[col])], dtype=bool)
    if changed.any():
        frame[col] = values
    return changed


def _erase_from_table(path: Path, keys: set, customer_keys: set):
    """Rewrite one table without the rows naming ``keys`` / ``customer_keys``; (rows removed, rows edited), or
    None if unchanged.

    Rejects files (``text`` holds the raw input row) lose every row with a
    field equal to one of the keys: the raw row may carry the person's name
    and contact details.  Rows that only mention the person -- in an id list,
    or a reason's "most from ID" -- stay, without the mention.
    """
    parquet = path.suffix.lower() != ".csv"
    frame = pd.read_parquet(path) if parquet else read_escaped_csv(path, dtype=str, keep_default_na=False)
    drop = np.zeros(len(frame), bool)
    for col in ID_COLUMNS:
        if col in frame:
            drop |= frame[col].astype(str).isin(keys).to_numpy()
    for col in CUSTOMER_COLUMNS:
        if col in frame and customer_keys:
            drop |= frame[col].astype(str).isin(customer_keys).to_numpy()
    if REJECTS_COLUMNS <= set(frame.columns):
        every = set(keys) | set(customer_keys)
        drop |= np.array([bool(_raw_fields(t) & every) for t in frame.text], dtype=bool)
    kept = frame[~drop].reset_index(drop=True)
    edited = np.zeros(len(kept), bool)
    for col in ID_LIST_COLUMNS:
        if col in kept:
            new = [";".join(p for p in str(v).split(";") if p not in keys) if isinstance(v, str) else v
                   for v in kept[col]]
            edited |= _set_if_changed(kept, col, new)
    for col in REASON_COLUMNS:
        if col in kept:
            edited |= _set_if_changed(kept, col, reasons_naming(kept[col], lambda a: None if a in keys else a))
    if not drop.any() and not edited.any():
        return None
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if parquet:
        pq.write_table(pa.Table.from_pandas(kept, preserve_index=False).replace_schema_metadata(None), tmp,
                       compression="zstd")
    else:
        escape_frame(kept).to_csv(tmp, index=False, lineterminator="\n")
    os.replace(tmp, path)
    side = path.with_name(path.name + ".schema.json")
    if side.exists():
        meta = json.loads(side.read_text(encoding="utf-8"))
        meta["rows"] = len(kept)
        side.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return int(drop.sum()), int(edited.sum())
