"""A :class:`~graphcrm.loaders.graph.SocialGraph` layer as scipy, networkx and igraph objects.

The ``to_*`` half of :mod:`graphcrm.loaders.convert`, kept apart so the graph type's
``to_scipy`` / ``to_networkx`` / ``to_igraph`` methods can call it without an import circle
(the ``from_*`` half needs the builder, which needs the graph type).  The functions only read
the graph (``layer()``, ``n_nodes``, ``id_map``, ``edges()``, ``node_attributes``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from graphcrm.loaders.errors import ParameterError

def to_scipy(graph, layer: str, *, direction: str = "out") -> sp.csr_array:
    """The adjacency matrix of ``layer`` as a ``scipy.sparse.csr_array``.

    Parameters
    ----------
    direction : {"out", "in"}
        ``"out"``: ``A[u, v]`` is the weight of ``u -> v`` (rows = sources);
        ``"in"``: the transpose (rows = targets), built from the stored CSC
        without a transpose.

    Notes
    -----
    The index and weight arrays are shared with the graph (read-only); for
    fewer than 2**31 edges the row pointer is narrowed to int32 so scipy does
    not copy the indices.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("votes", [1, 1], [2, 3]).build()
    >>> to_scipy(g, "votes").toarray().tolist()
    [[0.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    lay = graph.layer(layer)
    if direction not in ("out", "in"):
        raise ParameterError(f"direction must be 'out' or 'in', got {direction!r}")
    indptr, indices, data = (
        (lay.out_indptr, lay.out_indices, lay.out_data())
        if direction == "out"
        else (lay.in_indptr, lay.in_indices, lay.in_data())
    )
    if lay.n_edges < np.iinfo(np.int32).max:
        indptr = indptr.astype(np.int32)
    n = graph.n_nodes
    return sp.csr_array((data, indices, indptr), shape=(n, n))


def to_networkx(graph, layer: str | None = None):
    """``networkx.DiGraph`` of one layer (a ``networkx.Graph``, each tie once, when the layer is undirected),
    nodes named by external id with their attributes.

    ``layer`` may be omitted when the graph has exactly one layer.

    >>> import networkx as nx
    >>> from graphcrm.loaders.convert import from_networkx
    >>> back = to_networkx(from_networkx(nx.path_graph(3)))
    >>> type(back).__name__, sorted(back.edges())
    ('Graph', [(0, 1), (1, 2)])
    """
    import networkx as nx

    if layer is None:
        if len(graph.layers) != 1:
            raise ParameterError(f"name the layer to convert (layers: {', '.join(graph.layer_names)})")
        layer = graph.layer_names[0]
    lay = graph.layer(layer)
    src, dst, w = lay.edge_arrays()
    undirected = lay.spec.undirected
    if undirected:                      # stored both ways: each tie once
        once = src <= dst
        src, dst, w = src[once], dst[once], w[once]
    g = nx.Graph() if undirected else nx.DiGraph()
    attrs = graph.node_attributes
    ids = graph.id_map.ids.tolist()
    if attrs.shape[1]:
        records = attrs.to_dict("records")
        g.add_nodes_from((i, {k: v for k, v in r.items() if not _missing(v)}) for i, r in zip(ids, records))
    else:
        g.add_nodes_from(ids)
    external = graph.id_map.ids
    g.add_weighted_edges_from(zip(external[src].tolist(), external[dst].tolist(), np.asarray(w, float).tolist()))
    return g


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like attribute values are kept
        return False


def to_igraph(graph, layer: str):
    """``igraph.Graph`` of one layer, directed (undirected, each tie once, when the layer is); vertex ``name`` =
    external id, edge ``weight``."""
    import igraph as ig

    lay = graph.layer(layer)
    src, dst, w = lay.edge_arrays()
    if lay.spec.undirected:             # stored both ways: each tie once
        once = src <= dst
        src, dst, w = src[once], dst[once], w[once]
    g = ig.Graph(n=graph.n_nodes, edges=np.column_stack([src, dst]), directed=not lay.spec.undirected)
    g.vs["name"] = graph.id_map.ids.tolist()
    g.es["weight"] = w.tolist()
    return g
