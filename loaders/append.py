"""Append new events, ties and accounts to an existing graph: the result equals loading everything at once.

In memory: the graph goes back into a :class:`~graphcrm.loaders.builder.GraphBuilder` as its stored events
(interaction layers), aggregated edges (static layers) and node attributes, beside the new rows, and the
builder makes one graph of both -- the same graph, bit for bit, as loading the old files and the new ones
together, because the builder sorts and aggregates and does not depend on row order.  Its memory is that of
a full build.  ``graphcrm load --append SNAP --interactions today.csv`` goes through
:func:`graphcrm.loaders.merge.append_snapshot` instead, which merges on disk with memory in proportion to the
new rows and falls back to this rebuild only where a merge could not be exact.

A static layer whose duplicates aggregate by ``mean`` cannot be appended to (a mean of means is not the
mean of the rows); a static layer whose duplicates aggregate by ``sum`` adds the new weights, by
``max`` / ``min`` keeps the extreme -- exactly as a full load.

Examples
--------
>>> from graphcrm.loaders.builder import GraphBuilder
>>> day1 = GraphBuilder().add_events("retweets", ["a"], ["b"], time=[10]).build()
>>> day2 = GraphBuilder().add_events("retweets", ["c"], ["b"], time=[20])
>>> both = append_to(day1, day2).build()
>>> both.n_nodes, both.layer("retweets").n_edges
(3, 2)
"""

from __future__ import annotations

from graphcrm.loaders.builder import GraphBuilder
from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.graph import SocialGraph


def append_to(graph: SocialGraph, builder: GraphBuilder, touched: frozenset = frozenset()) -> GraphBuilder:
    """Add ``graph``'s layers, events and accounts to ``builder`` (which holds the new rows); returns it.

    Rows are added in the layer's own row sense (``actor, target``), with the layer's stored spec, so the
    builder turns them back into the same influence edges.

    Call it before adding the new rows: for node attributes the later table wins, as in a full load.

    Raises
    ------
    ParameterError
        New rows (``touched`` names their static layers) for a static layer aggregated by ``mean`` (its rows
        are gone; only their mean is stored).
    """
    ids = graph.id_map.ids
    for name, layer in graph.layers.items():
        spec = layer.spec
        options = {"direction": spec.direction, "aggregate": spec.aggregate, "signed": spec.signed,
                   "undirected": spec.undirected or None, "source": f"<stored layer {name}>"}
        if layer.events is not None:
            ev = layer.events
            src, dst = ev.src, ev.dst
            actor, target = (src, dst) if spec.direction == "forward" else (dst, src)
            builder.add_events(name, ids[actor], ids[target], time=ev.time, weight=ev.weight,
                               sentiment=ev.sentiment, extra=ev.extra, **options)
            continue
        if spec.aggregate == "mean" and name in touched:
            raise ParameterError(f"layer '{name}' keeps only the mean weight of duplicate rows, so new rows cannot "
                                 "be appended to it exactly; reload it from all its files (or load it with "
                                 "timestamps: a timestamped layer keeps every row)")
        src, dst, weight = layer.edge_arrays()
        if spec.undirected:             # stored both ways: give each tie once, as its row said
            keep = src <= dst
            src, dst, weight = src[keep], dst[keep], weight[keep]
        actor, target = (src, dst) if spec.direction == "forward" else (dst, src)
        builder.add_edges(name, ids[actor], ids[target], weight if layer.weighted else None, **options)
    attributes = graph.node_attributes
    builder.add_nodes(ids, attributes if attributes.shape[1] else None, source="<stored accounts>")
    return builder


def appended_graph(graph: SocialGraph, *sources, self_loops: str = "drop"):
    """``graph`` with the parsed ``sources`` (:class:`~graphcrm.loaders.api.ParsedSource`) added.

    Returns
    -------
    (SocialGraph, list of LoadReport)
        The new graph (equal to building the old and new sources at once) and the new sources' reports.
    """
    if self_loops != "keep" and any(_has_self_loop(layer) for layer in graph.layers.values()):
        raise ParameterError("the snapshot keeps self-loops (it was loaded with --self-loops keep): append with "
                             "--self-loops keep too, or they would be dropped")
    builder = GraphBuilder(self_loops="keep" if self_loops == "keep" else "drop")
    append_to(graph, builder, frozenset(s.layer for s in sources if s.kind == "edges"))
    for s in sources:
        s.add_to(builder)
    metadata = dict(graph.metadata)
    metadata["loads"] = list(metadata.get("loads", [])) + [s.report.as_dict() for s in sources]
    new = builder.build(metadata=metadata)
    new_sources = sorted(set(metadata.get("sources", [])) | {s.report.source for s in sources})
    new = SocialGraph(new.id_map, new.layers, new.node_attributes, {**new.metadata, "sources": new_sources})
    reports = [s.report for s in sources]
    for r in reports:
        if r.layer in new.layers:
            r.build = dict(new.layer(r.layer).build_report)
    return new, reports


def _has_self_loop(layer) -> bool:
    if layer.loop_free:
        return False
    src, dst, _ = layer.edge_arrays()
    return bool((src == dst).any())
