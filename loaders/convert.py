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
from graphcrm.loaders.layers import spec_for
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
    """A one-layer graph from a networkx graph, nodes named by their networkx names.

    An edge ``u -> v`` of a ``DiGraph`` becomes the influence edge ``u -> v`` (*u can influence v*), whatever
    the layer's name (a layer named ``friends`` is undirected in any case).  An undirected ``Graph`` gives an
    undirected layer: each tie both ways, counted once by degree and coreness, as ``load_edges(...,
    undirected=True)`` reads it.  For a directed layer with both arcs, pass ``nx_graph.to_directed()``.
    Parallel edges of a multigraph combine by the layer's rule (``edges``: weights add up).

    Parameters
    ----------
    nx_graph : networkx.Graph, DiGraph, MultiGraph or MultiDiGraph
        Node names must be integers or strings.
    layer : str
        Name of the layer (``"edges"``).
    weight : str or None
        The edge attribute to keep as weight (a missing value counts 1); ``None`` for an unweighted layer.

    Examples
    --------
    >>> import networkx as nx
    >>> g = from_networkx(nx.Graph([(1, 2), (2, 3)]))
    >>> g.layer("edges").undirected, g.layer("edges").n_edges, g.layer("edges").n_ties
    (True, 4, 2)
    >>> g.edges("edges")[["src", "dst"]].values.tolist()
    [[1, 2], [2, 1], [2, 3], [3, 2]]
    >>> from_networkx(nx.DiGraph([("a", "b")])).edges("edges")[["src", "dst"]].values.tolist()
    [['a', 'b']]
    """
    if not hasattr(nx_graph, "is_directed") or not hasattr(nx_graph, "nodes"):
        raise InvalidInputError(f"from_networkx needs a networkx graph, got {type(nx_graph).__name__}")
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
    if not all(isinstance(x, (str, int, np.integer)) and not isinstance(x, bool) for x in nodes):
        bad = next(x for x in nodes if not isinstance(x, (str, int, np.integer)) or isinstance(x, bool))
        raise InvalidInputError(f"node {bad!r}: node names must be integers or strings")
    text = any(isinstance(x, str) for x in nodes)
    if text:
        _refuse_colliding_names(nodes)
    ids = np.array(nodes, dtype=object if text else np.int64)
    b = GraphBuilder(self_loops=self_loops)
    b.add_edges(layer, np.array(src, dtype=ids.dtype), np.array(dst, dtype=ids.dtype),
                w if weight is not None else None, source="<networkx graph>",
                **_orientation(layer, nx_graph.is_directed()))
    b.add_nodes(ids, source="<networkx graph>")
    return b.build()


def _refuse_colliding_names(nodes) -> None:
    """Two node names that would become one account id, named, instead of a duplicate-row error: ``1`` and
    ``"1"`` (names mixing integers and text are read as text), ``"a"`` and ``" a"`` (ids are trimmed)."""
    seen = {}
    for x in nodes:
        key = str(x).strip()
        if key in seen:
            first = seen[key]
            why = ("a graph whose node names mix integers and text reads them all as text"
                   if isinstance(first, str) != isinstance(x, str) else "account ids do not keep surrounding spaces")
            raise InvalidInputError(f"nodes {first!r} and {x!r} would both be account '{key}': {why}; rename one "
                                    "of them")
        seen[key] = x


def from_igraph(ig_graph, *, layer: str = "edges", weight: str | None = "weight", name: str = "name",
                self_loops: str = "drop") -> SocialGraph:
    """A one-layer graph from an ``igraph.Graph``; ids from vertex attribute ``name`` if present, else ``0..n-1``.

    As :func:`from_networkx`: an edge ``u -> v`` of a directed graph is the influence edge ``u -> v``, and an
    undirected graph gives an undirected layer (each tie both ways, counted once by degree and coreness).

    Examples
    --------
    >>> import igraph as ig
    >>> g = from_igraph(ig.Graph([(0, 1), (1, 2)]))
    >>> g.layer("edges").undirected, g.layer("edges").n_edges
    (True, 4)
    >>> from_igraph(ig.Graph([(0, 1)], directed=True)).layer("edges").undirected
    False
    """
    if not hasattr(ig_graph, "vcount") or not hasattr(ig_graph, "get_edgelist"):
        raise InvalidInputError(f"from_igraph needs an igraph.Graph, got {type(ig_graph).__name__}")
    n = ig_graph.vcount()
    if name in ig_graph.vs.attributes():
        names = ig_graph.vs[name]
        if any(isinstance(x, str) for x in names):
            _refuse_colliding_names(names)
        ids = np.asarray(names)
    else:
        ids = np.arange(n)
    edges = np.asarray(ig_graph.get_edgelist(), dtype=np.int64).reshape(-1, 2)
    w = np.asarray(ig_graph.es[weight], dtype=float) if weight and weight in ig_graph.es.attributes() else None
    b = GraphBuilder(self_loops=self_loops)
    b.add_edges(layer, ids[edges[:, 0]], ids[edges[:, 1]], w, source="<igraph graph>",
                **_orientation(layer, ig_graph.is_directed()))
    b.add_nodes(ids, source="<igraph graph>")
    return b.build()


def _orientation(layer: str, directed: bool) -> dict:
    """Spec overrides for a layer read from another library: edges as given (``forward``), and an undirected
    graph's ties both ways, their duplicates combined by the layer's own rule.

    Examples
    --------
    >>> _orientation("edges", False)
    {'direction': 'forward', 'undirected': True, 'aggregate': 'sum'}
    >>> _orientation("edges", True)
    {'direction': 'forward'}
    """
    if directed:
        return {"direction": "forward"}
    return {"direction": "forward", "undirected": True, "aggregate": spec_for(layer).aggregate}
