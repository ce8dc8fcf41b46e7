"""Conversions between :class:`SocialGraph` and scipy, networkx and igraph.

All conversions keep the influence direction: an edge ``u -> v`` of a layer
becomes ``u -> v`` in the other library, with external ids as node names.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graphcrm.loaders.builder import GraphBuilder
from graphcrm.loaders.errors import InvalidInputError
from graphcrm.loaders.graph import SocialGraph
from graphcrm.loaders._interop import _missing, to_igraph, to_networkx, to_scipy  # noqa: F401  (the to_* half)


def from_scipy(matrix, *, layer: str = "edges", ids=None, weighted: bool = True, self_loops: str = "drop") -> SocialGraph:
    """A one-layer graph from a square sparse matrix (``A[u, v]`` = weight of ``u -> v``).

    Parameters
    ----------
    ids : array-like, optional
        External id of each row; defaults to ``0..n-1``.
    weighted : bool, default True
        Keep the matrix values as weights; otherwise an unweighted layer.
    """
    coo = sp.coo_array(matrix)
    if coo.shape[0] != coo.shape[1]:
        raise InvalidInputError(f"adjacency matrix must be square, got shape {coo.shape}")
    n = coo.shape[0]
    ids = np.arange(n) if ids is None else np.asarray(ids)
    if len(ids) != n:
        raise InvalidInputError(f"{len(ids)} ids for a {n} x {n} matrix")
    b = GraphBuilder(self_loops=self_loops)
    b.add_edges(layer, ids[coo.row], ids[coo.col], coo.data if weighted else None, direction="forward",
                source="<scipy matrix>")
    b.add_nodes(ids, source="<scipy matrix>")
    return b.build()


def from_networkx(nx_graph, *, layer: str = "edges", weight: str | None = "weight", self_loops: str = "drop") -> SocialGraph:
    """A one-layer graph from a networkx graph; undirected edges become both directions.

    Node names must be ints or strings; ``weight`` names the edge attribute
    to keep (``None`` for an unweighted layer; missing values count 1).
    """
    nodes = list(nx_graph.nodes)
    src, dst, w = [], [], []
    for u, v, data in nx_graph.edges(data=True):
        try:
            val = float(data.get(weight, 1.0)) if weight is not None else 1.0
        except (TypeError, ValueError):
            raise InvalidInputError(f"edge ({u!r}, {v!r}): weight {data.get(weight)!r} is not a number") from None
        src.append(u)
        dst.append(v)
        w.append(val)
        if not nx_graph.is_directed() and u != v:
            src.append(v)
            dst.append(u)
            w.append(val)
    if not all(isinstance(x, (str, int, np.integer)) and not isinstance(x, bool) for x in nodes):
        bad = next(x for x in nodes if not isinstance(x, (str, int, np.integer)) or isinstance(x, bool))
        raise InvalidInputError(f"node {bad!r}: node names must be integers or strings")
    ids = np.array(nodes, dtype=object if any(isinstance(x, str) for x in nodes) else np.int64)
    b = GraphBuilder(self_loops=self_loops)
    b.add_edges(layer, np.array(src, dtype=ids.dtype), np.array(dst, dtype=ids.dtype),
                w if weight is not None else None, direction="forward", source="<networkx graph>")
    b.add_nodes(ids, source="<networkx graph>")
    return b.build()


def from_igraph(ig_graph, *, layer: str = "edges", weight: str | None = "weight", name: str = "name",
                self_loops: str = "drop") -> SocialGraph:
    """A one-layer graph from an ``igraph.Graph``; ids from vertex attribute ``name`` if present."""
    n = ig_graph.vcount()
    if name in ig_graph.vs.attributes():
        ids = np.asarray(ig_graph.vs[name])
    else:
        ids = np.arange(n)
    edges = np.asarray(ig_graph.get_edgelist(), dtype=np.int64).reshape(-1, 2)
    w = np.asarray(ig_graph.es[weight], dtype=float) if weight and weight in ig_graph.es.attributes() else None
    src, dst = edges[:, 0], edges[:, 1]
    if not ig_graph.is_directed():
        src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
        w = np.concatenate([w, w]) if w is not None else None
    b = GraphBuilder(self_loops=self_loops)
    b.add_edges(layer, ids[src], ids[dst], w, direction="forward", source="<igraph graph>")
    b.add_nodes(ids, source="<igraph graph>")
    return b.build()
