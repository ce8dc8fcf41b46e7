"""Topics of interaction events: keyword rules, topic lists, and the graph restricted to one topic.

An event's topics come from a ``topics`` / ``hashtags`` column of the file
(see :func:`graphcrm.loaders._tables.parse_topics`) and from keyword rules
matched on its text (:func:`read_topic_rules`, :func:`match_topics`).  They are
kept in the layer's event log (:attr:`~graphcrm.loaders.graph.EventLog.extra`,
column ``topics``) and stored in the snapshot's ``events.parquet``.

:func:`topic_graph` gives the graph whose interaction layers hold only the
events of a topic (all accounts kept, so dense ids are unchanged); every verb's
``--topic`` uses it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from graphcrm.loaders.errors import ConfigError, ParameterError
from graphcrm.loaders.graph import SocialGraph, _layer_from_events


def read_topic_rules(path) -> dict[str, list[str]]:
    """Keyword rules ``{topic: [keyword, ...]}`` from a TOML or CSV file.

    TOML: a ``[topics]`` table of ``topic = ["keyword", ...]``.  CSV: a header
    ``topic,keyword`` and one keyword per row.  Topics are normalised like
    hashtags (lower case, no ``#``); keywords match case-insensitively as whole
    words (``acme`` matches "Acme's new phone", not "acmes").

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "rules.toml"
    >>> _ = f.write_text('[topics]\\nbrand = ["Acme", "acme corp"]\\n')
    >>> read_topic_rules(f)
    {'brand': ['Acme', 'acme corp']}
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, None, "no such topic rules file")
    rules: dict[str, list[str]] = {}
    if path.suffix.lower() == ".toml":
        import tomllib

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigError(path, None, f"not UTF-8 text (byte {exc.start})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(path, None, f"not valid TOML ({exc})") from None
        table = data.get("topics")
        if not isinstance(table, dict):
            raise ConfigError(path, "topics", "expected a [topics] table of topic = [\"keyword\", ...]")
        for topic, words in table.items():
            words = [words] if isinstance(words, str) else words
            if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
                raise ConfigError(path, f"topics.{topic}", "needs a list of non-empty keywords")
            rules.setdefault(_norm(topic), []).extend(w.strip() for w in words)
    else:
        import csv
        import io

        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(path, None, f"not UTF-8 text (byte {exc.start})") from None
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if reader.fieldnames is None or {"topic", "keyword"} - {f.strip().lower() for f in reader.fieldnames}:
            raise ConfigError(path, None, "expected a CSV with the header topic,keyword")
        for i, row in enumerate(reader, start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            if not row["topic"] or not row["keyword"]:
                raise ConfigError(path, None, f"line {i}: empty topic or keyword")
            rules.setdefault(_norm(row["topic"]), []).append(row["keyword"])
    if not rules:
        raise ConfigError(path, None, "no topic rules")
    return rules


def _norm(topic) -> str:
    return str(topic).strip().lstrip("#").strip().lower()


#: scripts written without spaces between words (Han, kana, Hangul syllables and jamo, Thai, Lao, Myanmar,
#: Khmer): a letter of these next to a keyword does not make it part of a longer word ("我喜欢Acme手机")
_UNSPACED = ("\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\uFF66-\uFF9F\u1100-\u11FF\u3130-\u318F"
             "\uAC00-\uD7AF\u0E00-\u0EFF\u1000-\u109F\u1780-\u17FF")
#: one character that continues a word: a word character of a script written with spaces
_WORD = f"(?![{_UNSPACED}])\\w"


def _keyword_pattern(word: str) -> str:
    """``word`` as a whole word; an end in a script written without spaces needs no boundary there ("手机" is
    found in "买了iPhone手机")."""
    unspaced = re.compile(f"[{_UNSPACED}]")
    before = "" if unspaced.match(word[:1]) else f"(?<!{_WORD})"
    after = "" if unspaced.match(word[-1:]) else f"(?!{_WORD})"
    return f"{before}{re.escape(word)}{after}"


def match_topics(texts, rules: dict) -> list:
    """Per text, the topics of ``rules`` whose keywords it contains (whole words, any case), or None.

    A word ends at anything but a letter, digit or ``_`` of a script written with spaces, so "Acme" is found in
    "Acme's", "Acme-Produkte" and "我喜欢Acme手机" (Chinese and Japanese put no spaces between words), not in "acmes".

    Examples
    --------
    >>> match_topics(["Loving my new ACME phone", "football tonight", None, "Acmeの新しい電話"],
    ...              {"brand": ["acme"], "sports": ["football", "match"]})
    [['brand'], ['sports'], None, ['brand']]
    """
    compiled = [(_norm(t), re.compile("|".join(_keyword_pattern(w) for w in words), re.IGNORECASE))
                for t, words in rules.items() if words]
    texts = texts.to_pylist() if hasattr(texts, "to_pylist") else list(texts)
    out = []
    for text in texts:
        if not isinstance(text, str) or not text:
            out.append(None)
            continue
        found = [t for t, rx in compiled if rx.search(text)]
        out.append(found or None)
    return out


def merge_topics(a, b) -> list:
    """Row by row union of two topic columns (lists or None), first occurrence first."""
    out = []
    for x, y in zip(a, b):
        merged = list(x or [])
        merged += [t for t in (y or []) if t not in merged]
        out.append(merged or None)
    return out


#: layers whose event is a reaction to someone else's post: the message (its text and sentiment) is the
#: original poster's, i.e. the row's target -- a retweet repeats b's post, a like rates it
REACTION_LAYERS = ("retweets", "likes")


def event_authors(name: str, layer) -> np.ndarray:
    """Who wrote the message of each event of ``layer`` (dense ids), for sentiment and topics by author.

    A reply or a mention is the actor's own message (the row's ``a`` in "a replied to b"); a retweet or a like
    carries the original poster's message (the row's ``b``); on any other layer the actor wrote it.  The actor
    is the influence edge's target on a ``reverse`` layer and its source on a ``forward`` one.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = (GraphBuilder().add_events("replies", ["a"], ["b"], time=[1])
    ...      .add_events("retweets", ["a"], ["b"], time=[2]).build())
    >>> [g.id_map.ids[event_authors(n, g.layer(n))].tolist() for n in ("replies", "retweets")]
    [['a'], ['b']]
    """
    ev = layer.events
    reverse = layer.spec.direction == "reverse"
    actor, target = (ev.dst, ev.src) if reverse else (ev.src, ev.dst)
    return np.asarray(target if name in REACTION_LAYERS else actor)


def event_topic_mask(events, topic: str) -> np.ndarray:
    """Boolean mask of the events carrying ``topic`` (all false when the log has no topics)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(events)
    if events.extra is None or "topics" not in events.extra.column_names:
        return np.zeros(n, dtype=bool)
    col = events.extra.column("topics")
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if n == 0:
        return np.zeros(0, dtype=bool)
    flat = pc.list_flatten(col)
    parents = np.asarray(pc.list_parent_indices(col).to_numpy(zero_copy_only=False))
    hit = np.asarray(pc.equal(flat, _norm(topic)).to_numpy(zero_copy_only=False), dtype=bool)
    mask = np.zeros(n, dtype=bool)
    mask[parents[hit]] = True
    return mask


def topic_counts(graph: SocialGraph) -> dict[str, int]:
    """Events per topic over all layers, most frequent first (empty when no event has topics).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_events("retweets", ["a", "b"], ["c", "c"], time=[1, 2],
    ...                               extra={"topics": [["brand"], ["brand", "sports"]]}).build()
    >>> topic_counts(g)
    {'brand': 2, 'sports': 1}
    """
    counts: dict[str, int] = {}
    for lay in graph.layers.values():
        ev = lay.events
        if ev is None or ev.extra is None or "topics" not in ev.extra.column_names:
            continue
        import pyarrow.compute as pc    # events with message columns: pyarrow is loaded already

        flat = pc.list_flatten(ev.extra.column("topics").combine_chunks())
        if len(flat) == 0:
            continue
        vc = pc.value_counts(flat)
        for item in vc.to_pylist():
            counts[item["values"]] = counts.get(item["values"], 0) + int(item["counts"])
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def topic_graph(graph: SocialGraph, topic: str) -> SocialGraph:
    """The graph whose event layers hold only the events carrying ``topic``.

    Every layer with an event log is rebuilt from its events of the topic (a
    layer whose events carry no topics becomes empty); layers without an event
    log (follows, trust without times) are kept as they are.  All accounts are
    kept, so dense ids -- and score arrays -- line up with ``graph``.  The
    result equals loading only that topic's events (tested).

    Parameters
    ----------
    graph : SocialGraph
    topic : str or list of str
        A topic or hashtag (any case, with or without ``#``); a list keeps the
        events carrying any of them.

    Raises
    ------
    ParameterError
        No event of the graph carries ``topic`` (the message names the most
        frequent topics).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_events("retweets", ["a", "b"], ["c", "c"], time=[1, 2],
    ...                               extra={"topics": [["brand"], ["sports"]]}).build()
    >>> topic_graph(g, "#Brand").edges("retweets").values.tolist()
    [['c', 'a', 1.0]]
    """
    names = [_norm(t) for t in ([topic] if isinstance(topic, str) else topic)]
    if not names or not all(names):
        raise ParameterError(f"empty topic in {topic!r}")
    name = names[0] if len(names) == 1 else names
    layers = {}
    found = 0
    for lname, lay in graph.layers.items():
        if lay.events is None:
            layers[lname] = lay
            continue
        mask = np.zeros(len(lay.events), dtype=bool)
        for t in names:
            mask |= event_topic_mask(lay.events, t)
        found += int(mask.sum())
        layers[lname] = _layer_from_events(graph.n_nodes, lay.spec, lay.events.select(mask), lay.weighted)
    if not found:
        known = list(topic_counts(graph))
        hint = f"topics in this graph: {', '.join(known[:10])}" if known else \
            "no event of this graph has topics (load a file with a topics / hashtags column, or --topic-rules)"
        raise ParameterError(f"no event carries the topic {name!r}; {hint}")
    meta = dict(graph.metadata)
    meta["topic"] = name
    return SocialGraph(graph.id_map, layers, graph.node_attributes, meta)
