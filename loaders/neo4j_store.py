"""Neo4j as graphcrm's persistent graph store: push, pull, write-back, erase.

Everything goes through the official ``neo4j`` driver over Bolt, always with
the database named, in managed write transactions of ``batch_size`` rows
(``UNWIND $rows ... MERGE``), nodes before relationships, after an
idempotent uniqueness constraint on ``Account.id``.  Re-running any write
changes nothing.  The statements and the allowlists of labels, relationship
types and property names are in :mod:`graphcrm.loaders.neo4j_cypher`.

Reliability: the driver retries transient errors inside each managed
transaction (up to ``retry_time`` seconds); a batch that still fails because
the server went away is retried ``retries`` more times with a growing pause.
After that, or for a permanent error (bad credentials, unknown database,
rejected statement), one :class:`~graphcrm.loaders.errors.GraphCRMError` with a
one-line message is raised; a push can simply be run again to resume.

Examples
--------
>>> Neo4jStore("bolt://127.0.0.1:7687", "neo4j", "secret", "crm")
Neo4jStore('bolt://127.0.0.1:7687', user='neo4j', database='crm')
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from graphcrm.loaders.builder import GraphBuilder
from graphcrm.loaders.errors import (
    GraphCRMError,
    InvalidInputError,
    ParameterError,
    StoreAuthError,
    StoreDatabaseError,
    StoreQueryError,
    StoreUnavailableError,
)
from graphcrm.loaders.graph import SocialGraph
from graphcrm.loaders.layers import STRENGTH_LAYER, spec_for
from graphcrm.loaders.results import NodeScores, Partition
from graphcrm.loaders import neo4j_cypher as cy
from graphcrm.loaders.neo4j_rows import (  # noqa: F401  (clean_id, rel_rows: part of this module's API)
    _account_rows,
    _concat_ids,
    _id_array,
    _rel_table,
    _rel_type_of,
    _scalar,
    clean_id,
    int_id,
    rel_rows,
)

#: rows per write transaction
DEFAULT_BATCH_SIZE = 5000
#: records per fetch when reading
DEFAULT_FETCH_SIZE = 5000
#: segment value -> label written back (segments without one are stored as a property only)
SEGMENT_LABELS = {"leaders": "Leader", "leader": "Leader", "advocates": "Advocate", "advocate": "Advocate",
                  "critics": "Critic", "critic": "Critic", "supporters": "Supporter", "supporter": "Supporter",
                  "bridges": "Bridge", "bridge": "Bridge", "at_risk": "AtRisk", "at-risk": "AtRisk",
                  "influencers": "Influencer", "influencer": "Influencer"}
LEADER_LABEL = "OpinionLeader"
def _names(value) -> list:
    """Segment names of one account: a name or a list of them, blanks and repeats left out, order kept."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return list(dict.fromkeys(str(v).strip() for v in items if v is not None and not pd.isna(v) and str(v).strip()))


# -- the store -------------------------------------------------------------------------
@dataclass
class WriteReport:
    """What a write did: rows sent per step, rows rejected before sending, retries."""

    written: dict = field(default_factory=dict)
    rejected: dict = field(default_factory=dict)
    step_seconds: dict = field(default_factory=dict)
    batches: int = 0
    retries: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"written": dict(self.written), "rejected": dict(self.rejected),
                "step_seconds": {k: round(v, 3) for k, v in self.step_seconds.items()}, "batches": self.batches,
                "retries": self.retries, "seconds": round(self.seconds, 3)}


class Neo4jStore:
    """A connection to one Neo4j database (or any Bolt server speaking Neo4j's Cypher).

    Parameters
    ----------
    uri : str
        ``bolt://host:7687`` or ``neo4j://...``.
    user, password : str
        Credentials (the password is never logged or put in messages).
    database : str
        Every statement names it.
    batch_size : int
        Rows per write transaction.
    fetch_size : int
        Records per fetch when reading.
    retries : int
        Extra attempts of a batch after the server went away.
    retry_time : float
        Seconds the driver retries a transaction on transient errors.

    Examples
    --------
    >>> Neo4jStore("bolt://127.0.0.1:1", "neo4j", "secret", batch_size=0)
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.ParameterError: batch_size must be at least 1, got 0
    """

    def __init__(self, uri: str, user: str, password: str, database: str = "neo4j", *,
                 batch_size: int = DEFAULT_BATCH_SIZE, fetch_size: int = DEFAULT_FETCH_SIZE,
                 retries: int = 3, retry_time: float = 15.0, retry_wait: float = 1.0,
                 connection_timeout: float = 10.0):
        for name, value in (("batch_size", batch_size), ("fetch_size", fetch_size)):
            if value < 1:
                raise ParameterError(f"{name} must be at least 1, got {value}")
        if retries < 0:
            raise ParameterError(f"retries must be >= 0, got {retries}")
        if not isinstance(database, str) or not cy.DATABASE_NAME.fullmatch(database):
            raise ParameterError(f"database name {database!r} is not valid")
        self.uri, self.user, self.database = uri, user, database
        self.batch_size, self.fetch_size = int(batch_size), int(fetch_size)
        self.retries, self.retry_wait = int(retries), float(retry_wait)
        import neo4j

        try:
            self._driver = neo4j.GraphDatabase.driver(
                uri, auth=(user, password), max_transaction_retry_time=retry_time,
                connection_timeout=connection_timeout, connection_acquisition_timeout=connection_timeout + 5)
        except (ValueError, neo4j.exceptions.ConfigurationError) as exc:
            raise ParameterError(f"bad Neo4j URI {uri!r}: {exc}") from None

    # -- connection ----------------------------------------------------------------------
    def __enter__(self) -> "Neo4jStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the driver and its connections."""
        self._driver.close()

    def __repr__(self) -> str:
        return f"Neo4jStore({self.uri!r}, user={self.user!r}, database={self.database!r})"

    @contextmanager
    def _errors(self, doing: str):
        """Translate driver errors into one-line graphcrm errors."""
        import neo4j.exceptions as ne

        where = f"Neo4j at {self.uri} (database '{self.database}')"
        try:
            yield
        except GraphCRMError:
            raise
        except ne.AuthError:
            raise StoreAuthError(f"{where} refused the credentials of user '{self.user}' while {doing}") from None
        except (ne.ServiceUnavailable, ne.SessionExpired, OSError) as exc:
            raise StoreUnavailableError(f"cannot reach {where} while {doing}: {_first_line(exc)}") from None
        except ne.TransientError as exc:  # still failing after the driver's own retries
            raise StoreUnavailableError(f"{where} kept failing while {doing}: {exc.code} {_first_line(exc)}") from None
        except ne.Neo4jError as exc:
            code = exc.code or ""
            if code.endswith("DatabaseNotFound") or "does not exist" in (exc.message or "") and "atabase" in code:
                raise StoreDatabaseError(f"{where}: the database does not exist") from None
            raise StoreQueryError(f"{where} rejected a statement while {doing}: {code} {_first_line(exc)}") from None
        except ne.DriverError as exc:
            raise StoreUnavailableError(f"{where}: {doing} failed: {_first_line(exc)}") from None

    def check(self) -> dict:
        """Connect and run a trivial statement (fails fast on credentials, database, server down)."""
        with self._errors("connecting"), self._driver.session(database=self.database) as session:
            session.run(cy.PING).consume()
            info = self._driver.get_server_info()
        return {"uri": self.uri, "database": self.database, "server": info.agent}

    def ensure_schema(self) -> None:
        """Create the uniqueness constraint on ``Account.id`` if it is missing (idempotent)."""
        with self._errors("creating the Account.id constraint"):
            self._driver.execute_query(cy.CREATE_ACCOUNT_CONSTRAINT, database_=self.database)

    def query(self, statement: str, **params) -> list[dict]:
        """Run one read statement (values as parameters) and return its records as dicts."""
        with self._errors("reading"):
            records = self._driver.execute_query(statement, parameters_=params, database_=self.database,
                                                 routing_="r").records
        return [r.data() for r in records]

    def counts(self) -> dict:
        """Accounts and relationships per type stored now."""
        out = {"accounts": self.query(cy.COUNT_ACCOUNTS)[0]["n"]}
        out["relationships"] = {t: self.query(cy.count_relationships(t))[0]["n"] for t in cy.REL_TYPES.values()}
        return out

    def keys_of(self, texts: Iterable[str]) -> dict:
        """Each text id as the store keys it: the integer where the text is a plain integer (the id rule, see
        :func:`int_id`) and the store holds that integer id, else the text itself (also for ids not stored).

        For tables read as text (no type inference): ``"7"`` finds account 7 of a store loaded with integer
        ids and account ``"7"`` of one loaded with text ids; ``"007"`` is always text.
        """
        out = {t: t for t in texts}
        ints = {t: v for t in out if (v := int_id(t)) is not None}
        found: set = set()
        for batch in _batches(sorted(set(ints.values())), self.batch_size):
            found.update(r["id"] for r in self.query(cy.FIND_ACCOUNTS, ids=batch) if type(r["id"]) is int)
        out.update({t: v for t, v in ints.items() if v in found})
        return out

    # -- batched writes ------------------------------------------------------------------
    def _write(self, statement: str, param: str, rows: list, report: WriteReport, **extra) -> list[dict]:
        """One batch in one managed write transaction, with bounded retries if the server went away."""
        def work(tx):
            return [r.data() for r in tx.run(statement, {param: rows, **extra})]

        attempt = 0
        while True:
            try:
                with self._errors("writing"), self._driver.session(database=self.database) as session:
                    result = session.execute_write(work)
                report.batches += 1
                return result
            except StoreUnavailableError:  # server gone or transient errors past the driver's retries
                if attempt >= self.retries:
                    raise
            attempt += 1
            report.retries += 1
            time.sleep(self.retry_wait * 2 ** (attempt - 1))

    def _write_all(self, statement: str, rows: Iterable, report: WriteReport, step: str, total: int, *,
                   param: str = "rows", done: int = 0) -> int:
        """Send ``rows`` in batches; ``done`` rows of this step were written before (they count in the report)."""
        written = done
        started = time.perf_counter() - report.step_seconds.get(step, 0.0) if done else time.perf_counter()
        try:
            for batch in _batches(rows, self.batch_size):
                self._write(statement, param, batch, report)
                written += len(batch)
                report.written[step] = written
                report.step_seconds[step] = time.perf_counter() - started
        except StoreUnavailableError as exc:
            raise StoreUnavailableError(f"{exc} -- {step}: {written} of {total} rows were written before it; "
                                        "run the same command again to resume (writes are idempotent)") from None
        report.written.setdefault(step, written)
        return written

    def push_accounts(self, rows: Iterable[Mapping], report: WriteReport | None = None) -> WriteReport:
        """Upsert accounts from rows ``{"id": ..., "props": {...}}``; null / malformed ids are rejected.

        Property names must be identifiers; values are plain scalars
        (``None`` skips the property).
        """
        report = report or WriteReport()
        bare, clean, rejected = [], [], 0    # accounts without properties go as a plain list of ids
        for row in rows:
            key = clean_id(row.get("id")) if isinstance(row, Mapping) else None
            if key is None:
                rejected += 1
                continue
            props = {cy.check_identifier(k, "property"): _scalar(v) for k, v in (row.get("props") or {}).items()}
            for name in cy.RESERVED_PROPERTIES:
                props.pop(name, None)
            props = {k: v for k, v in props.items() if v is not None}
            if props:
                clean.append({"id": key, "props": props})
            else:
                bare.append(key)
        report.rejected["accounts"] = report.rejected.get("accounts", 0) + rejected
        self.ensure_schema()
        started = time.perf_counter()
        total = len(bare) + len(clean)
        done = self._write_all(cy.MERGE_ACCOUNT_IDS, bare, report, "accounts", total, param="ids")
        self._write_all(cy.MERGE_ACCOUNTS, clean, report, "accounts", total, done=done)
        report.seconds += time.perf_counter() - started
        return report

    def push_relationships(self, rel_type: str, rows: Iterable[Mapping], report: WriteReport | None = None,
                           total: int | None = None) -> WriteReport:
        """Upsert relationships of one allowlisted type from rows ``src, dst, count, ..., sign``.

        Rows whose ``src`` or ``dst`` is null or malformed are rejected (and
        counted) before anything is sent; the end accounts must exist.
        """
        rejected = [0]

        def checked():
            for row in rows:
                src, dst = (clean_id(row.get("src")), clean_id(row.get("dst"))) if isinstance(row, Mapping) \
                    else (None, None)
                if src is None or dst is None:
                    rejected[0] += 1
                    continue
                yield [src, dst, *(_scalar(row.get(p)) for p in cy.REL_PROPERTIES)]

        return self._push_rel_lists(cy.merge_relationships(rel_type), rel_type, checked(), rejected, report, total)

    def _push_rel_lists(self, statement: str, rel_type: str, rows: Iterable[list], rejected: list,
                        report: WriteReport | None, total: int | None) -> WriteReport:
        """Send relationship rows already in ``statement``'s list form; ``rejected[0]`` counts rows left out."""
        report = report or WriteReport()
        started = time.perf_counter()
        try:
            self._write_all(statement, rows, report, rel_type, total if total is not None else -1, param="rels")
        finally:
            report.rejected[rel_type] = report.rejected.get(rel_type, 0) + rejected[0]
            report.seconds += time.perf_counter() - started
        return report

    def push(self, graph: SocialGraph, layers: Iterable[str] | None = None) -> WriteReport:
        """Push a graph: every account with its attributes, then each layer's relationships.

        Parameters
        ----------
        graph : SocialGraph
        layers : list of str, optional
            Layers to push (default: every layer but the derived ``strength``;
            a layer without a relationship type in the allowlist is an error).

        Returns
        -------
        WriteReport
            Rows written per step (``accounts``, ``FOLLOWS``, ...), rejects,
            batches, retries.
        """
        names = [n for n in graph.layer_names if n != STRENGTH_LAYER] if layers is None else list(layers)
        types = {name: _rel_type_of(name) for name in names}
        for name in names:
            graph.layer(name)
        report = WriteReport()
        self.push_accounts(_account_rows(graph), report)
        for name, rel_type in types.items():
            table = _rel_table(graph, name)
            rejected = [0]
            # lists straight from the table's columns; properties null in every row are not sent
            rows = (row for start in range(0, len(table), self.batch_size)
                    for row in table.lists(start, start + self.batch_size, rejected))
            statement = cy.merge_relationships(rel_type, table.sent())
            self._push_rel_lists(statement, rel_type, rows, rejected, report, len(table))
        return report

    # -- reads ---------------------------------------------------------------------------
    def _stream(self, statement: str, params: dict, consume) -> None:
        """Run a read statement and hand its records to ``consume`` page by page (``fetch_size``)."""

        def work(tx):
            result = tx.run(statement, params)
            page = []
            for record in result:
                page.append(record.values())
                if len(page) >= self.fetch_size:
                    consume(page)
                    page = []
            if page:
                consume(page)

        with self._errors("reading"), self._driver.session(database=self.database, fetch_size=self.fetch_size,
                                                           default_access_mode="READ") as session:
            session.execute_read(work)

    def pull(self, layers: Iterable[str] | None = None, *, start: int | None = None, end: int | None = None,
             label: str | None = None) -> SocialGraph:
        """Read accounts and relationships back into a :class:`SocialGraph`.

        Parameters
        ----------
        layers : list of str, optional
            Layers to read (default: all allowlisted types).
        start, end : int, optional
            Unix seconds: keep relationships whose first..last time overlaps
            ``[start, end)``; relationships without times are kept.
        label : str, optional
            Only accounts with this (allowlisted) label, and relationships
            between them.

        Returns
        -------
        SocialGraph
            One layer per relationship type that has rows; weights are the
            stored aggregated weights (event logs are not stored).
        """
        names = list(cy.REL_TYPES) if layers is None else list(layers)
        types = {name: _rel_type_of(name, "pull") for name in names}
        builder = GraphBuilder(self_loops="keep")
        ids, frames = [], []

        def accounts(page):
            ids.extend(r[0] for r in page)
            frames.append(pd.DataFrame([{k: v for k, v in r[1].items() if k != "id"} for r in page], index=range(len(page))))

        self._stream(cy.read_accounts(label), {}, accounts)
        attrs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(index=range(len(ids)))
        frames.clear()
        if ids:
            builder.add_nodes(ids, attrs.reindex(sorted(attrs.columns), axis=1), source="neo4j:accounts")
        for name, rel_type in types.items():
            chunks = ([], [], [])

            def edges(page, chunks=chunks):  # one page -> compact numpy chunks (ints stay int64)
                src, dst, weight = zip(*page)
                chunks[0].append(_id_array(src))
                chunks[1].append(_id_array(dst))
                chunks[2].append(np.array([1.0 if w is None else w for w in weight], dtype=np.float64))

            self._stream(cy.read_relationships(rel_type, label), {"start": start, "end": end}, edges)
            if chunks[0]:
                spec = spec_for(name)
                builder.add_edges(name, _concat_ids(chunks[0]), _concat_ids(chunks[1]), np.concatenate(chunks[2]),
                                  direction=spec.direction, source=f"neo4j:{rel_type}")
        return builder.build({"source": "neo4j", "uri": self.uri, "database": self.database,
                              "window": [start, end], "label": label})

    # -- write-back ----------------------------------------------------------------------
    def _none_in_store(self, n: int) -> InvalidInputError:
        return InvalidInputError(f"none of the {n:,} accounts to write back is in Neo4j at {self.uri} (database "
                                 f"'{self.database}'): nothing was written or removed; push the graph first "
                                 "(graphcrm neo4j push) or check --uri / --database")

    def write_back(self, *, scores: Iterable[NodeScores] = (), partition: Partition | pd.Series | None = None,
                   segments: pd.Series | None = None, leaders: Iterable | None = None,
                   properties: pd.DataFrame | None = None, changed_only: bool = False,
                   segment_kinds: pd.Series | None = None) -> dict:
        """Write results onto accounts as properties and labels; stale ones from earlier runs are removed.

        Parameters
        ----------
        scores : NodeScores, repeatable
            Each becomes property ``score_<name>``.
        partition : Partition or pandas.Series, optional
            Property ``community`` (a Series: community per account id).
        segments : pandas.Series, optional
            Segment name per account id, or a list of names for an account in
            several segments: property ``segment`` (several names joined by
            ``"; "``) and, for known segments (:data:`SEGMENT_LABELS`), a label
            such as ``:Critic``.
        segment_kinds : pandas.Series, optional
            Per account id, the segment kinds (a name or a list) the labels
            come from instead of the names (a ``segments`` export's ``kind``
            column: ``key_leaders`` of kind ``leaders`` gets ``:Leader``).
        leaders : iterable of account ids, optional
            Label ``:OpinionLeader``.
        properties : pandas.DataFrame, optional
            Extra properties indexed by account id (column names must be
            identifiers).
        changed_only : bool, default False
            Read the stored values first and send only the accounts whose
            properties or labels differ (the nightly case: most scores did not
            move).  The store ends in the same state either way.

        Returns
        -------
        dict
            Per property and label: accounts holding it now (``written``),
            stale values removed, and with ``changed_only`` the accounts left
            as they were (``unchanged``); ids not found in the store; ids
            rejected as malformed.

        Raises
        ------
        InvalidInputError
            Before anything is written or removed, when every row of one
            property or label has a null or malformed id, or when none of the
            accounts is in the store (its stale-removal step would clear every
            value an earlier run stored).
        """
        table = pd.DataFrame() if properties is None else properties.copy()
        for s in ([scores] if isinstance(scores, NodeScores) else scores):
            table = table.join(pd.Series(s.values, index=s.id_map.ids, name=f"score_{s.name}"), how="outer")
        if partition is not None:
            series = partition.to_series() if isinstance(partition, Partition) else partition.rename("community")
            table = table.join(series, how="outer")
        labels: dict[str, list] = {}
        if segments is not None:
            names = segments.map(_names)
            kinds = names if segment_kinds is None else segment_kinds.map(_names).reindex(names.index)
            joined = names.map(lambda n: "; ".join(n) if n else None).astype("string")
            table = table.join(joined.rename("segment"), how="outer")
            for label in sorted(set(SEGMENT_LABELS.values())):
                labels[label] = []
            for account, these in kinds.items():
                for label in dict.fromkeys(SEGMENT_LABELS.get(k.lower()) for k in these or []):
                    if label:
                        labels[label].append(account)
        if leaders is not None:
            labels[LEADER_LABEL] = list(leaders)
        for column in table.columns:
            cy.check_identifier(str(column), "property")
            if column in cy.RESERVED_PROPERTIES:
                raise ParameterError(f"property '{column}' is reserved")
        for label in labels:
            cy.check_label(label)
        keys = [clean_id(k) for k in table.index]
        _check_not_all_rejected(table, keys, labels)
        report = {"properties": {}, "labels": {}, "rejected_ids": 0, "missing_ids": 0}
        self.ensure_schema()
        wr = WriteReport()

        report["rejected_ids"] += sum(k is None for k in keys)
        rows, keep = [], {c: [] for c in table.columns}
        columns = list(table.columns)
        for key, values in zip(keys, table.itertuples(index=False, name=None)):
            if key is None:
                continue
            props = {c: _scalar(v) for c, v in zip(columns, values)}
            props = {c: v for c, v in props.items() if v is not None}
            for c in props:
                keep[c].append(key)
            rows.append({"id": key, "props": props})
        found: set = set()
        all_ids = {r["id"] for r in rows}
        stored = self._stored_properties(columns) if changed_only else None
        unchanged = {c: 0 for c in columns}
        if stored is not None:
            found = {r["id"] for r in rows if r["id"] in stored}
            changed = []
            for r in rows:
                now = stored.get(r["id"])
                if now is None:
                    continue
                # same value and type (a full write would turn a stored 3 into 3.0)
                same = [c for c, v in r["props"].items() if type(now.get(c)) is type(v) and now.get(c) == v]
                for c in same:
                    unchanged[c] += 1
                if len(same) < len(r["props"]):
                    changed.append({"id": r["id"], "props": {c: v for c, v in r["props"].items() if c not in same}})
            rows = changed
        for batch in _batches(rows, self.batch_size):
            found.update(r["id"] for r in self._write(cy.set_properties(), "rows", batch, wr))
        if all_ids and not found:           # nothing matched (another database?): removing stale values would wipe it
            raise self._none_in_store(len(all_ids))
        report["missing_ids"] = len(all_ids - found)
        for column in columns:
            written = sorted({k for k in keep[column] if k in found}, key=str)
            report["properties"][column] = {"written": len(written),
                                            "stale_removed": self._remove_stale(column, written, wr, True)}
            if stored is not None:
                report["properties"][column]["unchanged"] = unchanged[column]
        for label, members in labels.items():
            ids = sorted({k for k in map(clean_id, members) if k is not None}, key=str)
            report["rejected_ids"] += len(members) - len(ids)
            labelled: set = set()
            held = set() if stored is None else {r["id"] for r in self.query(cy.read_labelled(label))}
            labelled.update(k for k in ids if k in held)
            todo = [k for k in ids if k not in held and (stored is None or k in stored)]
            for batch in _batches(todo, self.batch_size):
                labelled.update(r["id"] for r in self._write(cy.add_label(label), "ids", batch, wr))
            if ids and not labelled and not found:
                raise self._none_in_store(len(ids))
            written = sorted(labelled, key=str)
            report["labels"][label] = {"written": len(written), "missing": len(ids) - len(written),
                                       "stale_removed": self._remove_stale(label, written, wr, False)}
            if stored is not None:
                report["labels"][label]["unchanged"] = len(held & set(ids))
        report["batches"], report["retries"] = wr.batches, wr.retries
        return report

    def _stored_properties(self, columns: list) -> dict:
        """The stored values of ``columns`` of every account, by id (read page by page, those columns only)."""
        stored: dict = {}

        def consume(page):
            for key, *values in page:
                stored[key] = dict(zip(columns, values))

        self._stream(cy.read_account_values(columns), {}, consume)
        return stored

    def _remove_stale(self, name: str, written: list, wr: WriteReport, is_property: bool) -> int:
        """Remove ``name`` from holders not written in this run (``written``: the accounts that now hold it)."""
        count = cy.count_with_property(name) if is_property else cy.count_with_label(name)
        if self.query(count)[0]["n"] == len(written):
            return 0  # every holder was written in this run: nothing stale
        remove = cy.remove_stale_property(name) if is_property else cy.remove_stale_label(name)
        return self._write(remove, "keep", written, wr)[0]["n"]

    # -- erase ---------------------------------------------------------------------------
    def erase_account(self, account) -> dict:
        """Remove one account and all its relationships; report what was removed.

        Returns
        -------
        dict
            ``account``, ``accounts_removed`` (0 or 1) and
            ``relationships_removed`` per type.
        """
        key = clean_id(account)
        if key is None:
            raise InvalidInputError(f"account id {account!r} is null or malformed")

        def work(tx):
            rels = {r["type"]: r["n"] for r in tx.run(cy.ERASE_ACCOUNT_RELATIONSHIPS, id=key)}
            removed = tx.run(cy.ERASE_ACCOUNT, id=key).single()["n"]
            return rels, removed

        with self._errors("erasing an account"), self._driver.session(database=self.database) as session:
            rels, removed = session.execute_write(work)
        return {"account": key, "accounts_removed": removed, "relationships_removed": dict(sorted(rels.items())),
                "database": self.database}


def _check_not_all_rejected(table: pd.DataFrame, keys: list, labels: dict) -> None:
    """Stop a write-back before it touches the store when every row of one of its kinds (a property, a label)
    has a null or malformed id: the stale-removal step would otherwise delete every value an earlier run
    stored (one blank id cell once turned a whole id column into floats)."""
    valid = np.array([k is not None for k in keys], dtype=bool)
    for column in table.columns:
        given = table[column].notna().to_numpy(dtype=bool)
        if given.any() and not (given & valid).any():
            raise InvalidInputError(f"property '{column}': all {int(given.sum())} rows have a null or malformed "
                                    "account id; nothing was written or removed (ids are integers or text)")
    for label, members in labels.items():
        members = list(members)
        if members and all(clean_id(m) is None for m in members):
            raise InvalidInputError(f"label '{label}': all {len(members)} account ids are null or malformed; "
                                    "nothing was written or removed (ids are integers or text)")


def _batches(rows: Iterable, size: int) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _first_line(exc: BaseException) -> str:
    """The driver's message on one line (they sometimes span several)."""
    text = " ".join(str(getattr(exc, "message", None) or exc).split())
    return text[:300] or type(exc).__name__
