"""Per-topic opinion leaders: who leads a topic, and why (how much of their engagement is in it, its sentiment).

The graph of a topic is :func:`graphcrm.loaders.topics.topic_graph` (only the
events carrying the topic, all accounts kept); its leaders are ranked as
``graphcrm rank`` ranks any graph (:func:`graphcrm.ranking.rank_table`: the
validated forecast when the topic's log is long enough to learn and check it,
else the structural combined score -- ``table.attrs["ranking"]`` says which).
Two *why* columns come from the event logs:

* ``topic_share``: the account's engagement in the topic over its engagement in
  every topic and none -- engagement being the interaction events that make it
  an influencer (it was retweeted, replied to, liked; or it mentioned someone:
  the events whose influence edge leaves it);
* ``topic_sentiment``: the mean sentiment of the topic's events in which it
  takes part (about it or by it), NaN where none has a sentiment;

and ``topic_events``: how many events of the topic it took part in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphcrm.loaders.graph import SocialGraph
from graphcrm.loaders.topics import event_topic_mask, topic_graph
from graphcrm.ranking import rank_table

WHY_COLUMNS = ("topic_share", "topic_sentiment", "topic_events")


def _topics(topic) -> list[str]:
    return [topic] if isinstance(topic, str) else list(topic)


def topic_engagement(graph: SocialGraph, topic) -> pd.DataFrame:
    """Per account: engagement in ``topic`` and overall, the share, the topic's mean sentiment.

    Parameters
    ----------
    graph : SocialGraph
        The whole graph (every topic).
    topic : str or list of str
        A topic, or several (events carrying any of them).

    Returns
    -------
    pandas.DataFrame
        ``account_id, topic_engagement, engagement, topic_share, topic_sentiment, topic_events`` (one row per
        account, in dense id order).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_events("retweets", ["a", "b", "c"], ["x", "x", "x"], time=[1, 2, 3],
    ...                               sentiment=[0.5, 1.0, -1.0],
    ...                               extra={"topics": [["brand"], ["brand"], ["sports"]]}).build()
    >>> t = topic_engagement(g, "brand").set_index("account_id")
    >>> round(float(t.loc["x", "topic_share"]), 3), float(t.loc["x", "topic_sentiment"])
    (0.667, 0.75)
    """
    n = graph.n_nodes
    in_topic = np.zeros(n)
    total = np.zeros(n)
    sent_sum = np.zeros(n)
    sent_n = np.zeros(n)
    events_n = np.zeros(n, dtype=np.int64)
    for lay in graph.layers.values():
        ev = lay.events
        if ev is None or not len(ev):
            continue
        mask = np.zeros(len(ev), dtype=bool)
        for t in _topics(topic):
            mask |= event_topic_mask(ev, t)
        total += np.bincount(ev.src, minlength=n)
        in_topic += np.bincount(ev.src[mask], minlength=n)
        both = np.concatenate([ev.src[mask], ev.dst[mask]])
        events_n += np.bincount(both, minlength=n)
        if ev.sentiment is not None:
            s = np.concatenate([ev.sentiment[mask], ev.sentiment[mask]])
            ok = ~np.isnan(s)
            sent_sum += np.bincount(both[ok], weights=s[ok], minlength=n)
            sent_n += np.bincount(both[ok], minlength=n)
    return pd.DataFrame({
        "account_id": graph.id_map.ids,
        "topic_engagement": in_topic,
        "engagement": total,
        "topic_share": np.divide(in_topic, total, out=np.zeros(n), where=total > 0),
        "topic_sentiment": np.divide(sent_sum, sent_n, out=np.full(n, np.nan), where=sent_n > 0),
        "topic_events": events_n,
    })


def topic_why(graph: SocialGraph, table: pd.DataFrame, topic) -> pd.DataFrame:
    """``table`` (a leader list by ``account_id``) with the why columns of ``topic`` added (see the module).

    ``graph`` is the whole graph (every topic), so the share compares the topic with all of an account's
    engagement.
    """
    why = topic_engagement(graph, topic)[["account_id", *WHY_COLUMNS]]
    out = table.merge(why, on="account_id", how="left")
    out.attrs = dict(table.attrs)
    return out


def topic_leaders(graph: SocialGraph, topic, *, top: int = 20, method: str = "combined", layer=None,
                  seed: int = 0, samples: int = 20_000) -> pd.DataFrame:
    """The leaders of ``topic``: the graph restricted to the topic's events, ranked, with why columns.

    Parameters
    ----------
    graph : SocialGraph
        The whole graph; its events carry topics (a ``topics`` / ``hashtags``
        column or keyword rules at load).
    topic : str or list of str
        A topic or hashtag (any case, ``#`` optional), or several.
    top : int, default 20
    method : str, default "combined"
        As :func:`graphcrm.ranking.rank_table`; ``"auto"`` uses the validated
        forecast on the topic's own log where it is long enough (topic-specific
        learned influence), else the combined score.
    layer : str, optional
        Layer of the topic graph to rank on (default: combined interaction strength).
    seed, samples : int
        Random seed and reverse-reachable samples for expected reach.

    Returns
    -------
    pandas.DataFrame
        The leader list (``rank, account_id, influence_score, ...``) plus ``topic``,
        ``topic_share``, ``topic_sentiment`` and ``topic_events``.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> fans = [f"f{i}" for i in range(6)]
    >>> g = GraphBuilder().add_events(
    ...     "retweets", fans + fans, ["x"] * 6 + ["y"] * 6, time=list(range(12)),
    ...     extra={"topics": [["brand"]] * 6 + [["sports"]] * 6}).build()
    >>> topic_leaders(g, "brand", top=1).account_id.tolist(), topic_leaders(g, "sports", top=1).account_id.tolist()
    (['x'], ['y'])
    """
    sub = topic_graph(graph, topic)
    table = rank_table(sub, method=method, layer=layer, top=top, seed=seed, samples=samples)
    ranking = table.attrs.get("ranking", {})
    table = topic_why(graph, table, topic)
    table.insert(min(2, len(table.columns)), "topic", ",".join(_topics(topic)))
    table.attrs["ranking"] = ranking
    return table
