"""Summaries of a graph: what ``graphcrm info`` prints."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from graphcrm.loaders.graph import SocialGraph


def _stats(values: np.ndarray) -> dict:
    if len(values) == 0:
        return {"min": 0, "mean": 0.0, "max": 0}
    return {"min": float(values.min()), "mean": round(float(values.mean()), 4), "max": float(values.max())}


#: topics ``graphcrm info`` lists (the most frequent)
TOPICS_LISTED = 20


def graph_info(graph: SocialGraph) -> dict:
    """Nodes, edges per layer, degree and weight statistics, time span, memory.

    Returns
    -------
    dict
        JSON-ready; ``layers`` is keyed by layer name.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", [1, 2], [2, 3]).build()
    >>> info = graph_info(g)
    >>> info["nodes"], info["layers"]["follows"]["edges"]
    (3, 2)
    """
    layers = {}
    for name, lay in graph.layers.items():
        entry = {
            "edges": lay.n_ties,
            "direction": "undirected" if lay.undirected else lay.spec.direction,
            **({"undirected": True, "arcs": lay.n_edges} if lay.undirected else {}),
            "weighted": lay.weighted,
            "signed": lay.spec.signed,
            "out_degree": _stats(lay.out_degree()),
            "in_degree": _stats(lay.in_degree()),
            "bytes": lay.nbytes,
            "bytes_per_edge": round(lay.nbytes / lay.n_ties, 2) if lay.n_edges else None,
        }
        if lay.weighted:
            weights = _tie_weights(lay) if lay.undirected else lay.out_weights
            entry["weight"] = _stats(weights) | {"sum": float(weights.sum())}
        if lay.events is not None:
            entry["events"] = len(lay.events)
            if lay.events.extra is not None:
                entry["message_columns"] = list(lay.events.extra.column_names)
        entry["build"] = dict(lay.build_report)
        if lay.undirected and "rows" in entry["build"]:     # the builder saw both arcs of each tie, a self-tie once
            arcs, loops = int(entry["build"]["rows"]), int(entry["build"].get("self_loops", 0))
            entry["build"].update(rows=(arcs + loops) // 2, arcs=arcs)
        layers[name] = entry
    span = graph.time_span()
    from graphcrm.loaders.topics import topic_counts

    topics = topic_counts(graph)
    iso = lambda t: datetime.fromtimestamp(t, tz=timezone.utc).isoformat().replace("+00:00", "Z")  # noqa: E731
    return {
        "nodes": graph.n_nodes,
        "id_kind": graph.id_map.kind,
        "layers": layers,
        "node_attributes": graph.node_attribute_names,
        "time_span": None if span is None else {"start": iso(span[0]), "end": iso(span[1]),
                                                "start_unix": span[0], "end_unix": span[1]},
        "memory_bytes": graph.nbytes,
        **({"topics": dict(list(topics.items())[:TOPICS_LISTED]), "n_topics": len(topics)} if topics else {}),
    }


def _tie_weights(lay) -> np.ndarray:
    """Weights of an undirected layer's ties, each once (the arc ``u -> v`` with ``u <= v``)."""
    rows = np.repeat(np.arange(len(lay.out_indptr) - 1), np.diff(lay.out_indptr))
    return lay.out_weights[rows <= lay.out_indices]


def format_info(info: dict) -> str:
    """Human-readable text of :func:`graph_info`."""
    out = [f"nodes: {info['nodes']:,} (ids: {info['id_kind']})"]
    for name, lay in info["layers"].items():
        w = "weighted" if lay["weighted"] else "unweighted"
        flow = {"reverse": "b -> a", "forward": "a -> b", "undirected": "a <-> b, stored both ways"}[lay["direction"]]
        line = f"layer {name}: {lay['edges']:,} edges, {w}, direction {lay['direction']} (row 'a b': influence {flow})"
        if "events" in lay:
            line += f", {lay['events']:,} events"
        out.append(line)
        out.append(f"  out-degree mean {lay['out_degree']['mean']:.2f} max {lay['out_degree']['max']:.0f}; "
                   f"in-degree max {lay['in_degree']['max']:.0f}")
        if "weight" in lay:
            ws = lay["weight"]
            out.append(f"  weight min {ws['min']:g} mean {ws['mean']:g} max {ws['max']:g} sum {ws['sum']:g}")
        b = lay["build"]
        if b:
            rows = f"{b.get('rows', 0):,} rows" + (f" ({b['arcs']:,} arcs)" if "arcs" in b else "")
            dup = "duplicate arcs" if "arcs" in b else "duplicates"
            out.append(f"  built from {rows}: {b.get('duplicates_aggregated', 0):,} {dup} "
                       f"aggregated, {b.get('self_loops_dropped', 0):,} self-loops dropped")
    if info["node_attributes"]:
        out.append("node attributes: " + ", ".join(info["node_attributes"]))
    if info.get("topics"):
        out.append(f"topics ({info['n_topics']:,}; events per topic): "
                   + ", ".join(f"{t} {c:,}" for t, c in info["topics"].items()))
    if info["time_span"]:
        out.append(f"time span: {info['time_span']['start']} .. {info['time_span']['end']}")
    out.append(f"memory: {info['memory_bytes'] / 2**20:,.1f} MiB")
    return "\n".join(out)
