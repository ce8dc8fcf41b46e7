"""Per-account features of the interaction log up to a moment: what the forecast learns from.

Every feature of an account is computed from events strictly before ``at``
(and from static layers such as ``follows``), so a forecast made "as of"
``at`` cannot see anything later.  Per event layer ``L``:

``L_received``            events of type L received (retweeted, replied to, mentioned, liked ...)
``L_received_distinct``   distinct accounts they came from
``L_made``                events of type L the account made
``L_received_6h/_24h/_72h``  received events, exponentially decayed with that half-life
``L_hours_since``         hours since the last one received (the log's span when never)

and on the target layer ``new_sources_24h`` (accounts engaging for the first
time in the last 24 hours), ``reach_past`` (distinct accounts reached by
time-respecting chains so far, Bakshy et al. 2011) and, when the forecast's
window ``w`` is given, ``L_received_w8/_w4/_w2/_w1``: received events decayed
with a half-life of ``w / 8 ... w`` -- recent engagement on the time scale of
the forecast (a 24-hour half-life is "the last day" on a log of retweets and
noise on years of ratings forecast 90 days ahead); ``hours_active`` since the
account's first event; per static layer ``S_out_degree`` / ``S_in_degree``
(e.g. followers), and the node table's ``followers`` column when present.

On a signed layer (trust ratings) only the positive events count as
engagement, in the features and in the targets (:func:`engagement_log`).
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from graphcrm.algorithms.cascades import cascade_reach
from graphcrm.loaders.graph import EventLog, Layer, SocialGraph

HOUR = 3600
DECAY_HALF_LIVES_H = (6, 24, 72)
# half-lives as fractions of the forecast window: column L_received_w{k} has half-life window / k
WINDOW_DECAY_FRACTIONS = (8, 4, 2, 1)


def window_decay_columns(layer: str) -> list[str]:
    """The target layer's window-scaled decayed columns, shortest half-life first.

    >>> window_decay_columns("retweets")
    ['retweets_received_w8', 'retweets_received_w4', 'retweets_received_w2', 'retweets_received_w1']
    """
    return [f"{layer}_received_w{k}" for k in WINDOW_DECAY_FRACTIONS]


def window_decay_half_life(column: str, window: int) -> float:
    """Seconds of half-life of a :func:`window_decay_columns` column for a forecast window of ``window`` s.

    >>> window_decay_half_life("retweets_received_w4", 86400)
    21600.0
    """
    return window / int(column.rsplit("_w", 1)[1])


def engaged_side(layer: Layer, log: EventLog | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per event of ``layer`` (or of ``log``, events of that layer): ``(engaged, actor)`` -- who received the
    engagement and who made it.

    A retweet row ``a RT b`` is stored as the influence edge ``b -> a``
    (direction ``reverse``), so the engaged account is the source; a mention
    ``a mentions b`` is stored ``a -> b`` (``forward``), so it is the target.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_events("retweets", ["a"], ["b"], time=[1]).build()
    >>> engaged, actor = engaged_side(g.layer("retweets"))
    >>> g.ids_of(engaged).tolist(), g.ids_of(actor).tolist()
    (['b'], ['a'])
    """
    return _sides(layer, layer.events if log is None else log)


def event_layers(graph: SocialGraph) -> list[str]:
    """Names of the layers that keep a timestamped event log, sorted."""
    return sorted(name for name, lay in graph.layers.items() if lay.events is not None and len(lay.events))


def log_span(graph: SocialGraph) -> tuple[int, int]:
    """``(first, last + 1)`` event time over every event layer (Unix seconds)."""
    lo, hi = None, None
    for name in event_layers(graph):
        t = graph.layer(name).events.time
        lo = int(t.min()) if lo is None else min(lo, int(t.min()))
        hi = int(t.max()) + 1 if hi is None else max(hi, int(t.max()) + 1)
    if lo is None:
        raise ValueError("no timestamped events")
    return lo, hi


def engagement_log(layer: Layer) -> EventLog:
    """The events of ``layer`` that count as engagement: all of them, or on a signed layer (trust ratings)
    the positive ones -- a negative rating is no endorsement to forecast or to score a leader by.

    Computed once per layer (kept with it), in time order.

    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("trust", ["a", "b", "c"], ["x", "x", "x"], [5.0, -3.0, 1.0],
    ...                              time=[1, 2, 3]).build()
    >>> engagement_log(g.layer("trust")).time.tolist()
    [1, 3]
    """
    ev = layer.events
    if ev is None or not layer.spec.signed:
        return ev
    return layer.derived("engagement_log", lambda: ev.select(ev.values > 0))


def _before(ev: EventLog, at: int) -> EventLog:
    k = int(np.searchsorted(ev.time, at, side="left"))      # events are sorted by time
    return EventLog(ev.src[:k], ev.dst[:k], ev.time[:k])


_FIRST_PAIR: "weakref.WeakKeyDictionary[EventLog, np.ndarray]" = weakref.WeakKeyDictionary()
_BY_SOURCE: "weakref.WeakKeyDictionary[EventLog, np.ndarray]" = weakref.WeakKeyDictionary()


def first_of_pair(ev: EventLog) -> np.ndarray:
    """Boolean per event: the log's first event between its two accounts (in that direction).

    The log is sorted by time, so the first is the earliest: the accounts
    that engaged with ``x`` before ``at`` are the first-of-pair events before
    ``at``.  Computed once per log (its arrays are read-only) and kept while
    the log lives, so the forecast's cutoffs share one sort.

    >>> ev = EventLog(np.array([0, 1, 0, 0]), np.array([1, 2, 1, 2]), np.array([1, 2, 3, 4]))
    >>> first_of_pair(ev).tolist()
    [True, True, False, True]
    """
    first = _FIRST_PAIR.get(ev)
    if first is None:
        key = (np.asarray(ev.src, dtype=np.int64) << 32) | np.asarray(ev.dst, dtype=np.int64)
        first = np.zeros(len(key), dtype=bool)
        first[np.unique(key, return_index=True)[1]] = True      # a stable sort: the first occurrence
        first.flags.writeable = False
        _FIRST_PAIR[ev] = first
    return first


def source_order(ev: EventLog) -> np.ndarray:
    """Event indices sorted by source, in time order within a source (stable): the adjacency order
    :func:`~graphcrm.algorithms.cascades.cascade_reach` walks, computed once per log.  The indices below
    ``k`` of it, in the same order, are that order for the first ``k`` events."""
    order = _BY_SOURCE.get(ev)
    if order is None:
        order = np.argsort(np.asarray(ev.src), kind="stable")
        if len(order) < np.iinfo(np.int32).max:
            order = order.astype(np.int32)              # 4 B per event kept, not 8
        order.flags.writeable = False
        _BY_SOURCE[ev] = order
    return order


def _distinct_per(engaged: np.ndarray, first: np.ndarray, n: int) -> np.ndarray:
    """Per account: distinct accounts it received from -- the first-of-pair events it received."""
    return np.bincount(engaged[first], minlength=n).astype(float)


def known_accounts(graph: SocialGraph, at: int) -> np.ndarray:
    """Boolean mask: accounts with an event before ``at`` or an edge in a static layer."""
    known = np.zeros(graph.n_nodes, dtype=bool)
    for name, lay in graph.layers.items():
        if lay.events is None:
            known |= (lay.out_degree() > 0) | (lay.in_degree() > 0)
            continue
        ev = _before(lay.events, at)
        known[ev.src] = True
        known[ev.dst] = True
    return known


def account_features(graph: SocialGraph, at: int, *, target_layer: str, reach_window: int | None = None
                     ) -> pd.DataFrame:
    """Features of every account from the log before ``at`` (one row per dense id).

    ``reach_past`` follows the chains of the last ``reach_window`` seconds before ``at`` (the forecast passes
    its window: the reach it learns from is measured as the reach it forecasts), or of the whole log before
    ``at`` when None; with a ``reach_window`` the target layer also gets the window-scaled decayed counts
    (:func:`window_decay_columns`).  The search costs up to accounts x events reached: on a log of ratings over years,
    where time-respecting chains reach most of the graph, the whole log took seconds per cutoff.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_events("retweets", ["a", "c", "b"], ["b", "b", "d"], time=[0, 60, 7200]).build()
    >>> f = account_features(g, 3600, target_layer="retweets")
    >>> f.loc[g.index_of(["b"]), ["retweets_received", "retweets_received_distinct", "reach_past"]].values.tolist()
    [[2.0, 2.0, 2.0]]
    """
    n = graph.n_nodes
    span_lo, _ = log_span(graph)
    feats: dict[str, np.ndarray] = {}
    first_seen = np.full(n, np.inf)
    for name in event_layers(graph):
        lay = graph.layer(name)
        log = engagement_log(lay)
        ev = _before(log, at)
        engaged, actor = _sides(lay, ev)
        first = first_of_pair(log)[:len(ev)]
        t = ev.time.astype(float)
        feats[f"{name}_received"] = np.bincount(engaged, minlength=n).astype(float)
        feats[f"{name}_received_distinct"] = _distinct_per(engaged, first, n)
        feats[f"{name}_made"] = np.bincount(actor, minlength=n).astype(float)
        for hl in DECAY_HALF_LIVES_H:
            w = np.exp2(-(at - t) / (hl * HOUR))
            feats[f"{name}_received_{hl}h"] = np.bincount(engaged, weights=w, minlength=n)
        last = np.full(n, -np.inf)
        np.maximum.at(last, engaged, t)
        feats[f"{name}_hours_since"] = np.where(np.isfinite(last), (at - last) / HOUR, (at - span_lo) / HOUR)
        np.minimum.at(first_seen, engaged, t)
        np.minimum.at(first_seen, actor, t)
        if name == target_layer:
            since = int(np.searchsorted(ev.time, at - 24 * HOUR, side="left"))
            feats["new_sources_24h"] = _distinct_per(engaged[since:], first[since:], n)
            if reach_window is not None:
                for k, column in zip(WINDOW_DECAY_FRACTIONS, window_decay_columns(name)):
                    w = np.exp2(-(at - t) * k / float(reach_window))
                    feats[column] = np.bincount(engaged, weights=w, minlength=n)
            order = source_order(log)
            lo = 0 if reach_window is None else int(np.searchsorted(ev.time, at - int(reach_window), side="left"))
            recent = EventLog(ev.src[lo:], ev.dst[lo:], ev.time[lo:])
            kept = order[(order >= lo) & (order < len(ev))] - lo
            feats["reach_past"] = cascade_reach(recent, n, by_source=kept,
                                                node_keys=graph.id_map.hash_keys).astype(float)
    feats["hours_active"] = np.where(np.isfinite(first_seen), (at - first_seen) / HOUR, 0.0)
    for name, lay in sorted(graph.layers.items()):
        if lay.events is None:
            feats[f"{name}_out_degree"] = lay.out_degree().astype(float)
            feats[f"{name}_in_degree"] = lay.in_degree().astype(float)
    if "followers" in graph.node_attributes:
        followers = pd.to_numeric(graph.node_attributes["followers"], errors="coerce").to_numpy(float)
        feats["followers"] = np.where(np.isfinite(followers), followers, 0.0)      # unreadable or infinite: unknown
    return pd.DataFrame(feats)


def _sides(lay: Layer, ev: EventLog) -> tuple[np.ndarray, np.ndarray]:
    if lay.spec.direction == "reverse":
        return np.asarray(ev.src), np.asarray(ev.dst)
    return np.asarray(ev.dst), np.asarray(ev.src)


def window_targets(graph: SocialGraph, layer: str, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """What happened in ``[start, end)`` on ``layer``: engagement received and cascade reach per account."""
    lay = graph.layer(layer)
    ev = engagement_log(lay)
    lo, hi = np.searchsorted(ev.time, [start, end], side="left")
    window = EventLog(ev.src[lo:hi], ev.dst[lo:hi], ev.time[lo:hi])
    engaged, _ = _sides(lay, window)
    engagement = np.bincount(engaged, minlength=graph.n_nodes).astype(float)
    return engagement, cascade_reach(window, graph.n_nodes, node_keys=graph.id_map.hash_keys).astype(float)
