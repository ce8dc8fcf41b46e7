"""Rows for the Neo4j store: a SocialGraph's accounts and layers as plain rows, and ids checked.

No driver here: :mod:`graphcrm.loaders.neo4j_store` sends these rows in batches.  A
relationship row is in the source's direction ("src retweeted dst"), the way
:mod:`graphcrm.loaders.neo4j_cypher` stores it; the in-memory layers are in influence
direction, and each layer's spec says how to convert.

Examples
--------
>>> clean_id(" 42 "), clean_id(7), clean_id(None), clean_id(float("nan")), clean_id(True)
('42', 7, None, None, None)
>>> from graphcrm.loaders.builder import GraphBuilder
>>> graph = GraphBuilder().add_events("retweets", ["ann", "ann"], ["bob", "bob"], time=[10, 20]).build()
>>> rel_rows(graph, "retweets")[0]   # ann retweeted bob twice: (ann)-[:RETWEETED]->(bob)
{'src': 'ann', 'dst': 'bob', 'count': 2, 'first_time': 10, 'last_time': 20, 'weight': 2.0, 'sign': None}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd

from graphcrm.loaders import neo4j_cypher as cy
from graphcrm.loaders._tables import _INT_RE
from graphcrm.loaders.errors import InvalidInputError, ParameterError
from graphcrm.loaders.graph import SocialGraph

_INT64 = (-(2**63), 2**63 - 1)


def clean_id(value):
    """An account id fit for the store (int or non-blank str), or ``None`` if null / malformed.

    Floats, booleans, blank strings, NaN and containers are malformed: ids
    are integers or text at every boundary.
    """
    if isinstance(value, (bool, np.bool_)) or value is None:
        return None
    if isinstance(value, (int, np.integer)):
        value = int(value)
        return value if _INT64[0] <= value <= _INT64[1] else None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def int_id(text: str) -> int | None:
    """The integer a text id stands for under the id rule (``0|-?[1-9][0-9]{0,18}`` within int64: ``"007"`` and
    ``"-0"`` are text), else ``None``.

    >>> int_id("42"), int_id(" -7 "), int_id("007"), int_id("-0"), int_id("1e5"), int_id("99999999999999999999")
    (42, -7, None, None, None, None)
    """
    text = text.strip()
    if not _INT_RE.match(text):
        return None
    value = int(text)
    return value if _INT64[0] <= value <= _INT64[1] else None


def _scalar(value):
    """A property value as a plain Python scalar, ``None`` for missing values."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, pd.Timestamp):
        return int(value.timestamp())
    raise InvalidInputError(f"property value {value!r} of type {type(value).__name__} cannot be stored")


# -- rows from a graph ------------------------------------------------------------------
def _pair_stats(layer):
    """Per influence pair of a timestamped layer: keys, count, first, last, mean sentiment."""
    ev = layer.events
    if ev is None or not len(ev):
        return None
    n = np.int64(layer.n_nodes)
    key = ev.src.astype(np.int64) * n + ev.dst
    order = np.argsort(key, kind="stable")
    key, times = key[order], ev.time[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    count = np.diff(np.r_[starts, len(key)])
    first, last = np.minimum.reduceat(times, starts), np.maximum.reduceat(times, starts)
    sentiment = None
    if ev.sentiment is not None:
        s = ev.sentiment[order]
        seen = ~np.isnan(s)
        total = np.add.reduceat(np.where(seen, s, 0.0), starts)
        n_seen = np.add.reduceat(seen.astype(np.int64), starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            sentiment = np.where(n_seen > 0, total / np.maximum(n_seen, 1), np.nan)
    return key[starts], count, first, last, sentiment


def _sign(x) -> int | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else int(np.sign(x))


def rel_rows(graph: SocialGraph, layer: str, start: int = 0, stop: int | None = None) -> list[dict]:
    """Relationship rows of one layer (edges ``start:stop`` in CSR order), in the source's direction.

    Each row: ``src, dst`` (external ids, "src retweeted dst"), ``count``,
    ``first_time``, ``last_time`` (from the event log, else ``None``),
    ``weight`` (the layer's aggregated weight) and ``sign`` (of the mean
    sentiment, or of the weight on signed layers, else ``None``).
    """
    return _rel_table(graph, layer).rows(start, stop)


@dataclass
class _RelTable:
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    count: np.ndarray | None
    first: np.ndarray | None
    last: np.ndarray | None
    sign: np.ndarray | None

    def __len__(self):
        return len(self.src)

    def rows(self, start=0, stop=None) -> list[dict]:
        sl = slice(start, stop)
        cols = [self.src[sl].tolist(), self.dst[sl].tolist(), self.weight[sl].tolist()]
        none = [None] * len(cols[0])
        extra = [a[sl].tolist() if a is not None else none for a in (self.count, self.first, self.last)]
        signs = [_sign(x) for x in self.sign[sl].tolist()] if self.sign is not None else none
        return [{"src": s, "dst": d, "count": c, "first_time": f, "last_time": la, "weight": w, "sign": g}
                for s, d, w, c, f, la, g in zip(*cols, *extra, signs)]


    def sent(self) -> tuple:
        """The relationship properties this table has values for (the others are null in every row)."""
        have = {"count": self.count, "first_time": self.first, "last_time": self.last, "weight": self.weight,
                "sign": self.sign}
        return tuple(p for p in cy.REL_PROPERTIES if have[p] is not None)

    def lists(self, start=0, stop=None, rejected: list | None = None) -> list[list]:
        """Rows ``start:stop`` as lists ``[src, dst, <each property of sent()>]``, what ``merge_relationships``
        takes; rows with a null or malformed end (see :func:`clean_id`) are left out and counted in
        ``rejected[0]``.  The values are those of :meth:`rows` after the store's checks.
        """
        sl = slice(start, stop)
        ends = []
        for ids in (self.src[sl], self.dst[sl]):
            values = ids.tolist()
            if ids.dtype.kind not in "iu":            # int64 ids are always fit for the store
                values = [clean_id(v) for v in values]
            ends.append(values)
        cols = [a[sl].tolist() for a in (self.count, self.first, self.last) if a is not None]
        weight = self.weight[sl]
        cols.append([None if math.isnan(w) else w for w in weight.tolist()] if np.isnan(weight).any()
                    else weight.tolist())
        if self.sign is not None:
            cols.append([_sign(x) for x in self.sign[sl].tolist()])
        out = [[s, d, *rest] for s, d, *rest in zip(*ends, *cols)]
        if any(v is None for end in ends for v in end):
            kept = [row for row in out if row[0] is not None and row[1] is not None]
            if rejected is not None:
                rejected[0] += len(out) - len(kept)
            out = kept
        return out


def _rel_table(graph: SocialGraph, layer_name: str) -> _RelTable:
    layer = graph.layer(layer_name)
    src, dst, weight = layer.edge_arrays()
    ids = graph.id_map.ids
    count = first = last = sign = None
    stats = _pair_stats(layer)
    if stats is not None:
        keys, cnt, fst, lst, sentiment = stats
        edge_keys = src.astype(np.int64) * np.int64(layer.n_nodes) + dst
        pos = np.searchsorted(keys, edge_keys)
        if len(keys) != len(edge_keys) or not np.array_equal(keys[np.minimum(pos, len(keys) - 1)], edge_keys):
            raise InvalidInputError(f"layer '{layer_name}': its event log does not match its edges")
        count, first, last = cnt[pos], fst[pos], lst[pos]
        sign = sentiment[pos] if sentiment is not None else None
    if sign is None and layer.spec.signed:
        sign = np.asarray(weight, dtype=np.float64)
    actor, target = (dst, src) if layer.spec.direction == "reverse" else (src, dst)
    return _RelTable(ids[actor], ids[target], np.asarray(weight, dtype=np.float64), count, first, last, sign)


def _rel_type_of(layer: str, verb: str = "push") -> str:
    try:
        return cy.REL_TYPES[layer]
    except KeyError:
        raise ParameterError(f"layer '{layer}' has no relationship type in the allowlist "
                             f"({', '.join(cy.REL_TYPES)}); choose the layers to {verb}") from None


def _account_rows(graph: SocialGraph) -> Iterator[dict]:
    attrs = graph.node_attributes
    for column in attrs.columns:
        cy.check_identifier(str(column), "node attribute")
    ids = graph.id_map.ids
    columns = [attrs[c].tolist() for c in attrs.columns]
    names = list(attrs.columns)
    for i, key in enumerate(ids.tolist()):
        yield {"id": key, "props": {n: col[i] for n, col in zip(names, columns)}}


def _id_array(ids) -> np.ndarray:
    """int64 if every id is an int, else an object array."""
    if all(type(x) is int for x in ids):
        return np.fromiter(ids, dtype=np.int64, count=len(ids))
    return np.array(ids, dtype=object)


def _concat_ids(chunks: list) -> np.ndarray:
    if all(c.dtype == np.int64 for c in chunks):
        return np.concatenate(chunks)
    return np.concatenate([c.astype(object) for c in chunks])
