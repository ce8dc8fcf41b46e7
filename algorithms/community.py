"""Community detection: Leiden and Louvain through igraph / leidenalg, quality measures and profiles.

Graphs are taken as the **undirected simple version** of a layer by default
(see :func:`undirected_edges`: one tie per pair; on a weighted layer it
weighs ``w(u, v) + w(v, u)``); ``directed=True`` keeps directions
(leidenalg's directed modularity).  The graph's dense ids are sorted by external id, so a
fixed seed gives the same partition whatever the order of the input rows.
"""

from __future__ import annotations

import random
import time

import numpy as np
import pandas as pd

from graphcrm.core.errors import ParameterError
from graphcrm.core.graph import Layer, SocialGraph
from graphcrm.core.results import Partition

OBJECTIVES = ("modularity", "cpm")


def _layer(graph: SocialGraph, layer) -> Layer:
    lay = layer if isinstance(layer, Layer) else graph.layer(layer)
    return lay.positive()


def undirected_edges(lay: Layer, weight: bool = True):
    """``(u, v, w)`` with ``u < v``: the undirected simple version of a layer.

    Unweighted (or ``weight=False``): every tie weighs 1, whichever directions
    it has.  Weighted: the weights of both directions are summed (two people
    who retweet each other are tied by all of it).  Self-loops are dropped.
    """
    src, dst, w = lay.edge_arrays()
    keep = src != dst
    a, b, w = np.minimum(src, dst)[keep], np.maximum(src, dst)[keep], w[keep]
    key = a.astype(np.int64) * lay.n_nodes + b
    uniq, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse, weights=w) if (weight and lay.weighted) else np.ones(len(uniq))
    return (uniq // lay.n_nodes).astype(np.int64), (uniq % lay.n_nodes).astype(np.int64), total


def _igraph(graph: SocialGraph, lay: Layer, *, directed: bool, weight: bool):
    import igraph as ig

    if directed:
        src, dst, w = lay.edge_arrays()
        keep = src != dst
        g = ig.Graph(n=graph.n_nodes, edges=np.column_stack([src[keep], dst[keep]]), directed=True)
        g.es["weight"] = (w[keep] if weight else np.ones(int(keep.sum()))).tolist()
    else:
        u, v, w = undirected_edges(lay, weight)
        g = ig.Graph(n=graph.n_nodes, edges=np.column_stack([u, v]), directed=False)
        g.es["weight"] = w.tolist()
    return g


def leiden(
    graph: SocialGraph,
    *,
    layer: str | Layer,
    objective: str = "modularity",
    resolution: float = 1.0,
    directed: bool = False,
    weight: bool = True,
    seed: int = 0,
    n_iterations: int = -1,
) -> Partition:
    """Leiden communities (Traag, Waltman & van Eck 2019).

    Parameters
    ----------
    objective : {"modularity", "cpm"}
        Modularity (with ``resolution`` gamma) or the Constant Potts Model
        (``resolution`` is the density threshold).
    directed : bool, default False
        Undirected simple version (igraph's C implementation) or directed
        modularity / CPM (leidenalg).
    n_iterations : int, default -1
        Until an iteration no longer improves the partition.

    Returns
    -------
    Partition
        ``quality`` is the objective's value (modularity: Newman's Q).

    Examples
    --------
    >>> from graphcrm.core.builder import GraphBuilder
    >>> edges = [(a, b) for a in range(4) for b in range(4) if a < b] + \\
    ...         [(a, b) for a in range(4, 8) for b in range(4, 8) if a < b] + [(3, 4)]
    >>> g = GraphBuilder().add_edges("x", [a for a, _ in edges], [b for _, b in edges]).build()
    >>> leiden(g, layer="x").membership.tolist()
    [0, 0, 0, 0, 1, 1, 1, 1]
    """
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if resolution <= 0:
        raise ParameterError(f"resolution must be > 0, got {resolution}")
    lay = _layer(graph, layer)
    g = _igraph(graph, lay, directed=directed, weight=weight)
    started = time.perf_counter()
    if directed:
        import leidenalg as la

        kind = la.RBConfigurationVertexPartition if objective == "modularity" else la.CPMVertexPartition
        part = la.find_partition(g, kind, weights="weight", resolution_parameter=resolution, seed=seed,
                                 n_iterations=n_iterations)
        membership = np.asarray(part.membership)
        quality = g.modularity(membership.tolist(), weights="weight", resolution=resolution, directed=True) \
            if objective == "modularity" else float(part.quality())
    else:
        random.seed(seed)   # igraph draws from Python's random module
        import igraph as ig

        ig.set_random_number_generator(random)
        clustering = g.community_leiden(objective_function="modularity" if objective == "modularity" else "CPM",
                                        weights="weight", resolution=resolution, n_iterations=n_iterations)
        membership = np.asarray(clustering.membership)
        quality = g.modularity(membership.tolist(), weights="weight", resolution=resolution) \
            if objective == "modularity" else float(clustering.quality)
    info = {"method": "leiden", "layer": lay.name, "objective": objective, "resolution": resolution,
            "directed": directed, "weighted": weight, "seed": seed, "seconds": time.perf_counter() - started}
    return Partition(membership, graph.id_map, float(quality), info)


def louvain(graph: SocialGraph, *, layer: str | Layer, resolution: float = 1.0, weight: bool = True,
            seed: int = 0) -> Partition:
    """Louvain communities (Blondel et al. 2008) on the undirected simple version, igraph's multilevel."""
    if resolution <= 0:
        raise ParameterError(f"resolution must be > 0, got {resolution}")
    import igraph as ig

    lay = _layer(graph, layer)
    g = _igraph(graph, lay, directed=False, weight=weight)
    started = time.perf_counter()
    random.seed(seed)
    ig.set_random_number_generator(random)
    clustering = g.community_multilevel(weights="weight", resolution=resolution)
    membership = np.asarray(clustering.membership)
    info = {"method": "louvain", "layer": lay.name, "resolution": resolution, "weighted": weight, "seed": seed,
            "seconds": time.perf_counter() - started}
    quality = g.modularity(membership.tolist(), weights="weight", resolution=resolution)
    return Partition(membership, graph.id_map, float(quality), info)


def compare_partitions(a, b, *, method: str = "nmi") -> float:
    """Agreement of two partitions: ``"nmi"`` (normalised mutual information) or ``"ari"`` (adjusted Rand).

    ``a`` and ``b`` are :class:`Partition` objects or label arrays of equal length.
    """
    import igraph as ig

    if method not in ("nmi", "ari"):
        raise ParameterError(f"method must be 'nmi' or 'ari', got {method!r}")
    la_ = a.membership if isinstance(a, Partition) else pd.factorize(np.asarray(a))[0]
    lb = b.membership if isinstance(b, Partition) else pd.factorize(np.asarray(b))[0]
    if len(la_) != len(lb):
        raise ParameterError(f"partitions of {len(la_)} and {len(lb)} nodes")
    return float(ig.compare_communities(list(map(int, la_)), list(map(int, lb)),
                                        method="nmi" if method == "nmi" else "adjusted_rand"))


def community_profiles(graph: SocialGraph, partition: Partition, *, layer: str | Layer, leaders: int = 3,
                       bridges: int = 3) -> pd.DataFrame:
    """One row per community: size, internal density, conductance, leaders, bridges, dominant interaction.

    * ``internal_density``: internal (undirected) ties / possible ties;
    * ``conductance``: weight of ties leaving / min(volume, rest of the graph's volume);
    * ``leaders``: top accounts by PageRank attention *within* the community;
    * ``bridges``: members with the highest participation coefficient
      (Guimera & Amaral 2005: ties spread over many communities);
    * ``dominant_interaction``: the interaction layer with the most internal
      interactions, where the graph has interaction layers.
    """
    from algorithms.centrality import pagerank
    from graphcrm.core.layers import INTERACTION_TYPES

    lay = _layer(graph, layer)
    m = partition.membership
    k = partition.n_communities
    u, v, w = undirected_edges(lay)
    cu, cv = m[u], m[v]
    internal = cu == cv
    sizes = partition.sizes()
    internal_ties = np.bincount(cu[internal], minlength=k)
    internal_w = np.bincount(cu[internal], weights=w[internal], minlength=k)
    cut_w = np.bincount(cu[~internal], weights=w[~internal], minlength=k) + \
        np.bincount(cv[~internal], weights=w[~internal], minlength=k)
    volume = 2 * internal_w + cut_w
    total_volume = volume.sum()
    possible = sizes * (sizes - 1) / 2
    density = np.divide(internal_ties, possible, out=np.zeros(k), where=possible > 0)
    denom = np.minimum(volume, total_volume - volume)
    conductance = np.divide(cut_w, denom, out=np.zeros(k), where=denom > 0)
    # participation coefficient: 1 - sum over communities of (ties to it / degree)^2
    n = graph.n_nodes
    ends = np.concatenate([u, v])
    other = np.concatenate([cv, cu])
    ww = np.concatenate([w, w])
    strength = np.bincount(ends, weights=ww, minlength=n)
    pair = ends.astype(np.int64) * k + other
    keys, inv = np.unique(pair, return_inverse=True)
    per = np.bincount(inv, weights=ww)
    share = per / strength[keys // k]
    participation = 1.0 - np.bincount(keys // k, weights=share**2, minlength=n)
    participation[strength == 0] = 0.0
    ids = graph.id_map.ids
    pr = pagerank(graph, layer=lay).values
    rows = []
    interaction_layers = [name for name in graph.layer_names if name in INTERACTION_TYPES]
    type_counts = {}
    for name in interaction_layers:
        s, d, ew = graph.layer(name).edge_arrays()
        inside = m[s] == m[d]
        type_counts[name] = np.bincount(m[s][inside], weights=ew[inside], minlength=k)
    members_by_c = pd.Series(np.arange(n)).groupby(m)
    for c, members in members_by_c:
        members = members.to_numpy()
        lead = members[np.lexsort((members, -pr[members]))][:leaders]
        br = members[np.lexsort((members, -participation[members]))][:bridges]
        row = {
            "community": int(c), "size": int(sizes[c]), "internal_ties": int(internal_ties[c]),
            "internal_density": float(density[c]), "conductance": float(conductance[c]),
            "leaders": ";".join(map(str, ids[lead])), "bridges": ";".join(map(str, ids[br])),
            "bridge_participation": float(participation[br[0]]) if len(br) else 0.0,
        }
        if type_counts:
            counts = {name: type_counts[name][c] for name in interaction_layers}
            best = max(counts, key=lambda name: (counts[name], name))
            row["dominant_interaction"] = best if counts[best] > 0 else ""
        rows.append(row)
    return pd.DataFrame(rows)
