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
from collections.abc import Mapping

import numpy as np
import pandas as pd

from graphcrm.algorithms._igraph_import import igraph_module
from graphcrm.algorithms.leiden_parallel import check_resolution, parallel_leiden, sums_weights
from graphcrm.loaders.errors import InvalidInputError, ParameterError, whole_number
from graphcrm.loaders.graph import Layer, SocialGraph, layer_of
from graphcrm.loaders.results import Partition, labels_by_account

OBJECTIVES = ("modularity", "cpm")
LEIDEN_METHODS = ("auto", "igraph", "numba")
# above this many ties, method="auto" runs the numba Leiden (benchmarks/RESULTS-communities.md)
NUMBA_LEIDEN_MIN_EDGES = 1_000_000
#: Leiden iterations from singletons (igraph's default) and from a warm start (the earlier partition is already
#: optimised; one pass moves what changed)
COLD_ITERATIONS = 2
WARM_ITERATIONS = 1


def _layer(graph: SocialGraph, layer) -> Layer:
    lay = layer_of(graph, layer)
    return lay.positive()


def undirected_edges(lay: Layer, weight: bool = True):
    """``(u, v, w)`` with ``u < v``: the undirected simple version of a layer.

    Unweighted (or ``weight=False``): every tie weighs 1, whichever directions
    it has.  Weighted: the weights of both directions are summed (two people
    who retweet each other are tied by all of it) -- on an undirected layer,
    whose ties are stored as two equal arcs, each tie keeps its own weight.  A
    static layer whose weights are all 1 counts as unweighted
    (:func:`~graphcrm.algorithms.leiden_parallel.sums_weights`).
    Self-loops are dropped.
    """
    src, dst, w = lay.edge_arrays()
    keep = src != dst
    a, b, w = np.minimum(src, dst)[keep], np.maximum(src, dst)[keep], w[keep]
    key = a.astype(np.int64) * lay.n_nodes + b
    uniq, inverse = np.unique(key, return_inverse=True)
    summed = sums_weights(lay, weight)
    total = np.bincount(inverse, weights=w) if summed else np.ones(len(uniq))
    if summed and lay.undirected:
        total = total / 2.0             # an undirected tie is stored as two arcs of the same weight
    return (uniq // lay.n_nodes).astype(np.int64), (uniq % lay.n_nodes).astype(np.int64), total


def _igraph(graph: SocialGraph, lay: Layer, *, directed: bool, weight: bool, active=None):
    """igraph version of a layer; with ``active`` (sorted dense ids) only those nodes, relabelled 0..k-1."""
    ig = igraph_module()

    if directed:
        src, dst, w = lay.edge_arrays()
        keep = src != dst
        src, dst, w = src[keep], dst[keep], (w[keep] if weight else np.ones(int(keep.sum())))
    else:
        src, dst, w = undirected_edges(lay, weight)
    n = graph.n_nodes
    if active is not None:
        src, dst, n = np.searchsorted(active, src), np.searchsorted(active, dst), len(active)
    g = ig.Graph(n=n, edges=list(zip(src.tolist(), dst.tolist())), directed=directed)  # tuples: 2x a 2-d array
    g.es["weight"] = np.asarray(w, dtype=float).tolist()
    return g


def _active_nodes(lay: Layer) -> np.ndarray | None:
    """Dense ids with at least one tie, or None when every node has one."""
    active = (lay.out_degree() > 0) | (lay.in_degree() > 0)
    return None if active.all() else np.flatnonzero(active)


def _expand(membership, active, n) -> np.ndarray:
    """Membership of the active nodes -> all nodes (isolated nodes: one singleton community each)."""
    if active is None:
        return np.asarray(membership)
    full = np.empty(n, dtype=np.int64)
    full[active] = membership
    is_isolated = np.ones(n, dtype=bool)
    is_isolated[active] = False
    isolated = np.flatnonzero(is_isolated)         # (setdiff1d of arange(n) hashes every id: 0.15 s on higgs)
    full[isolated] = (max(membership) + 1 if len(membership) else 0) + np.arange(len(isolated))
    return full


def leiden(
    graph: SocialGraph,
    *,
    layer: str | Layer,
    objective: str = "modularity",
    resolution: float = 1.0,
    directed: bool = False,
    weight: bool = True,
    seed: int = 0,
    n_iterations: int | None = None,
    method: str = "auto",
    initial=None,
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
    n_iterations : int, optional
        Leiden iterations: by default 2 (igraph's default) from singletons and
        :data:`WARM_ITERATIONS` (1) from a warm start, which refines a partition
        that was already optimised (higgs day by day: modularity within 0.001 of
        a cold 2-iteration run at about half its time,
        ``benchmarks/RESULTS-incremental.md``) -- unless most ties touch
        accounts new since the earlier partition (then 2); -1 iterates until an iteration
        no longer improves the partition (about 0.1% higher modularity on the
        higgs retweet layer, 10x the time; igraph only).
    method : {"auto", "igraph", "numba"}
        ``igraph``: igraph's C Leiden (leidenalg when ``directed``).
        ``numba``: :func:`graphcrm.algorithms.leiden_parallel.parallel_leiden`, on all
        cores (undirected modularity only).  ``auto`` (default): numba for
        undirected modularity on layers with more than a million ties, where
        it is faster than igraph at the same modularity; igraph otherwise.
    initial : Partition or pandas.Series, optional
        A warm start (igraph, undirected): the communities of an earlier version of the graph, by external
        id (a :class:`Partition` of that version, or ``account_id -> community``); accounts new since
        then start alone.  Leiden then refines that partition instead of starting from singletons.

    Returns
    -------
    Partition
        ``quality`` is the objective's value at ``resolution``: modularity
        with resolution gamma (Newman's Q when gamma is 1; directed
        modularity with ``directed``), or CPM (igraph's scale: the sum over
        communities of 2 * internal weight - resolution * size^2, over twice
        the total weight; leidenalg's unnormalised value with ``directed``).
        ``info["modularity"]`` is always the modularity at resolution 1
        (Newman's Q; directed with ``directed``) of the same partition, to
        compare runs of different objectives or resolutions.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> edges = [(a, b) for a in range(4) for b in range(4) if a < b] + \\
    ...         [(a, b) for a in range(4, 8) for b in range(4, 8) if a < b] + [(3, 4)]
    >>> g = GraphBuilder().add_edges("x", [a for a, _ in edges], [b for _, b in edges]).build()
    >>> leiden(g, layer="x").membership.tolist()
    [0, 0, 0, 0, 1, 1, 1, 1]
    """
    seed = whole_number(seed, "seed", 0)
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    resolution = check_resolution(resolution)
    if method not in LEIDEN_METHODS:
        raise ParameterError(f"method must be one of {LEIDEN_METHODS}, got {method!r}")
    lay = _layer(graph, layer)
    numba_ok = objective == "modularity" and not directed
    if initial is not None:
        if directed or method == "numba":
            raise ParameterError("a warm start (initial=) runs igraph's undirected Leiden: use method='igraph' "
                                 "or 'auto', directed=False")
        method = "igraph"
    if method == "numba" and not numba_ok:
        raise ParameterError("method='numba' covers undirected modularity only; use method='igraph' for "
                             "directed or CPM communities")
    if method == "numba" or (method == "auto" and numba_ok and lay.n_edges > NUMBA_LEIDEN_MIN_EDGES):
        n_iterations = COLD_ITERATIONS if n_iterations is None else n_iterations
        if n_iterations < 1:
            raise ParameterError("method='numba' needs n_iterations >= 1")
        part = parallel_leiden(graph, layer=lay, resolution=resolution, weight=weight, seed=seed,
                               iterations=n_iterations)
        info = {"method": "leiden", "implementation": "numba", "layer": lay.name, "objective": objective,
                "resolution": resolution, "modularity": part.info["modularity"], "directed": False,
                "weighted": weight, "seed": seed,
                "n_iterations": n_iterations, "seconds": part.info["seconds"], "levels": part.info["levels"]}
        return Partition(part.membership, graph.id_map, part.quality, info)
    active = _active_nodes(lay)    # nodes without a tie are their own communities; igraph never sees them
    g = _igraph(graph, lay, directed=directed, weight=weight, active=active)
    started = time.perf_counter()
    if directed:
        import leidenalg as la      # igraph itself is already imported (by _igraph)

        n_iterations = COLD_ITERATIONS if n_iterations is None else n_iterations

        kind = la.RBConfigurationVertexPartition if objective == "modularity" else la.CPMVertexPartition
        part = la.find_partition(g, kind, weights="weight", resolution_parameter=resolution, seed=seed,
                                 n_iterations=n_iterations)
        membership = np.asarray(part.membership)
        quality = g.modularity(membership.tolist(), weights="weight", resolution=resolution, directed=True) \
            if objective == "modularity" else float(part.quality())
        newman = g.modularity(membership.tolist(), weights="weight", directed=True)
    else:
        random.seed(seed)   # igraph draws from Python's random module
        ig = igraph_module()

        ig.set_random_number_generator(random)
        start = fresh = None
        if initial is not None:
            start, fresh = _initial_membership(graph, initial, active)
        if n_iterations is None:
            n_iterations = _default_iterations(lay, fresh)
        clustering = g.community_leiden(objective_function="modularity" if objective == "modularity" else "CPM",
                                        weights="weight", resolution=resolution, n_iterations=n_iterations,
                                        initial_membership=start)
        membership = np.asarray(clustering.membership)
        quality = g.modularity(membership.tolist(), weights="weight", resolution=resolution) \
            if objective == "modularity" else float(clustering.quality)
        newman = g.modularity(membership.tolist(), weights="weight")
    info = {"method": "leiden", "implementation": "leidenalg" if directed else "igraph", "layer": lay.name,
            "objective": objective, "resolution": resolution, "modularity": float(newman), "directed": directed,
            "weighted": weight,
            "seed": seed, "n_iterations": n_iterations, "warm_start": initial is not None,
            "seconds": time.perf_counter() - started}
    return Partition(_expand(membership, active, graph.n_nodes), graph.id_map, float(quality), info)


def _by_account(partition) -> pd.Series:
    """``account_id -> community`` from a Partition or a Series."""
    if isinstance(partition, Partition):
        return pd.Series(partition.membership, index=partition.id_map.ids)
    return pd.Series(partition)


def _default_iterations(lay: Layer, fresh) -> int:
    """Cold: :data:`COLD_ITERATIONS`.  Warm: :data:`WARM_ITERATIONS`, unless most ties (arcs) touch accounts the
    earlier partition does not have -- then the earlier partition is no longer a good start (on higgs, the day
    of the announcement brought 80% of the ties: one warm iteration left modularity 0.008 short of a cold run,
    the quieter days 5-7 (2-16% new) within 0.001)."""
    if fresh is None:
        return COLD_ITERATIONS
    new_arcs = fresh[lay.out_indices] | np.repeat(fresh, lay.out_degree())
    touched = float(new_arcs.mean()) if len(new_arcs) else 0.0
    return WARM_ITERATIONS if touched <= 0.5 else COLD_ITERATIONS


def _initial_membership(graph: SocialGraph, initial, active) -> tuple[list, np.ndarray]:
    """The warm start for igraph: earlier communities of the nodes igraph sees, new accounts alone; and which
    accounts (dense ids) are new."""
    earlier = _by_account(initial)
    index = pd.Index(earlier.index).astype(str).to_numpy(dtype=object) if graph.id_map.kind == "str" else \
        np.asarray(earlier.index)
    dense = graph.id_map.lookup(index)
    start = np.full(graph.n_nodes, -1, dtype=np.int64)
    known = dense >= 0
    codes = pd.factorize(earlier.to_numpy()[known])[0]
    start[dense[known]] = codes
    fresh = start < 0
    start[fresh] = (codes.max() + 1 if len(codes) else 0) + np.arange(int(fresh.sum()))
    return (start if active is None else start[active]).tolist(), fresh


def stable_labels(earlier, current: Partition) -> tuple[np.ndarray, dict]:
    """Community ids of ``current`` that keep the ids of ``earlier`` (an earlier version's partition).

    Each current community takes the id of the earlier community it shares most accounts with, when that
    earlier community shares most of its accounts with it too (a mutual best match); other communities get
    new ids after the largest earlier one.  Tracking a community across nightly versions then reads one id.

    Returns
    -------
    labels : numpy.ndarray
        The stable id of each account of ``current`` (dense order).
    info : dict
        ``kept_share``: of the accounts in both versions (``shared``), the share whose id did not change
        (NaN when they share none); ``matched`` / ``new`` communities.

    Examples
    --------
    >>> from graphcrm.loaders.idmap import IdMap
    >>> before = pd.Series([7, 7, 9, 9], index=["a", "b", "c", "d"])
    >>> after = Partition(np.array([0, 0, 1, 1, 2]), IdMap(["a", "b", "c", "d", "e"]))
    >>> labels, info = stable_labels(before, after)
    >>> labels.tolist(), info["kept_share"]
    ([7, 7, 9, 9, 10], 1.0)
    """
    old = _integer_labels(_by_account(earlier))
    before, now_ids = pd.Index(old.index), pd.Index(current.id_map.ids)
    if not (before.dtype.kind in "iu" and now_ids.dtype.kind in "iu"):   # ids read back as text match by text
        before, now_ids = before.astype(str), now_ids.astype(str)
    if not before.is_unique:
        raise InvalidInputError(f"earlier partition: account {str(before[before.duplicated()][0])!r} appears in "
                                "more than one row")
    pos = before.get_indexer(now_ids)
    both = pos >= 0
    now = current.membership[both].astype(np.int64)
    then = old.to_numpy()[pos[both]]
    mapping = _mutual_best(now, then)
    communities, member_of = np.unique(current.membership, return_inverse=True)
    stable = np.array([mapping.get(c, 0) for c in communities.tolist()], dtype=np.int64)
    unmatched = np.array([c not in mapping for c in communities.tolist()], dtype=bool)
    # communities without a mutual match get new ids after the largest earlier one, in community order
    stable[unmatched] = (int(old.max()) + 1 if len(old) else 0) + np.arange(int(unmatched.sum()))
    labels = stable[member_of.reshape(-1)]
    kept = float((labels[both] == then).mean()) if both.any() else float("nan")
    return labels, {"kept_share": kept, "shared": int(both.sum()), "matched": len(mapping),
                    "new": int(unmatched.sum())}


def _integer_labels(labels: pd.Series) -> pd.Series:
    """The earlier communities as int64 (text ``"7"`` or ``7.0`` read as 7); accounts without one dropped.

    Kept ids are integers: a text label (``"sales"``) is a :class:`ParameterError`, not a guess."""
    values = labels.to_numpy()
    if values.dtype.kind in "iu":                                   # a partition or an int column: as it is
        return pd.Series(values.astype(np.int64), index=labels.index)
    if values.dtype.kind == "f":                                    # ints read back as float (a blank made NaN)
        kept = ~np.isnan(values)
        if (np.isfinite(values[kept]) & (values[kept] == np.round(values[kept]))).all():
            return pd.Series(values[kept].astype(np.int64), index=labels.index[kept])
    raw = pd.Series(labels.to_numpy(), index=labels.index, dtype=object)
    raw = raw[raw.notna() & (raw.astype(str).str.strip() != "")]   # no community in the earlier table: not matched
    numbers = pd.to_numeric(raw.astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(numbers) & (numbers == np.round(numbers)))
    if bad.any():
        raise ParameterError(f"earlier partition: community {str(raw.iloc[int(np.flatnonzero(bad)[0])])!r} is not "
                             "an integer id; stable ids continue integer community ids (number named groups first)")
    return pd.Series(numbers.astype(np.int64), index=raw.index)


def _mutual_best(now: np.ndarray, then: np.ndarray) -> dict:
    """``{current community: earlier community}`` for the mutual best matches by shared accounts (``now[i]``,
    ``then[i]``: account i's two communities); ties go to the smaller id."""
    if not len(now):
        return {}
    then_code, then_values = pd.factorize(then)
    key = now * len(then_values) + then_code
    pair, shared = np.unique(key, return_counts=True)
    pair_now, pair_then = pair // len(then_values), then_values[pair % len(then_values)]

    def best(group, other):           # per group: most shared, then the smaller other id
        order = np.lexsort((other, -shared, group))
        first = np.ones(len(order), dtype=bool)
        first[1:] = group[order][1:] != group[order][:-1]
        return order[first]

    mutual = np.intersect1d(best(pair_now, pair_then), best(pair_then, pair_now))
    return dict(zip(pair_now[mutual].tolist(), pair_then[mutual].tolist()))


def louvain(graph: SocialGraph, *, layer: str | Layer, resolution: float = 1.0, weight: bool = True,
            seed: int = 0) -> Partition:
    """Louvain communities (Blondel et al. 2008) on the undirected simple version, igraph's multilevel.

    ``quality`` is the modularity at ``resolution``; ``info["modularity"]`` Newman's Q (resolution 1).
    """
    seed = whole_number(seed, "seed", 0)
    resolution = check_resolution(resolution)
    ig = igraph_module()

    lay = _layer(graph, layer)
    active = _active_nodes(lay)
    g = _igraph(graph, lay, directed=False, weight=weight, active=active)
    started = time.perf_counter()
    random.seed(seed)
    ig.set_random_number_generator(random)
    clustering = g.community_multilevel(weights="weight", resolution=resolution)
    membership = np.asarray(clustering.membership)
    quality = g.modularity(membership.tolist(), weights="weight", resolution=resolution)
    info = {"method": "louvain", "layer": lay.name, "objective": "modularity", "resolution": resolution,
            "modularity": float(g.modularity(membership.tolist(), weights="weight")), "weighted": weight,
            "seed": seed, "seconds": time.perf_counter() - started}
    return Partition(_expand(membership, active, graph.n_nodes), graph.id_map, float(quality), info)


def compare_partitions(a, b, *, method: str = "nmi") -> float:
    """Agreement of two partitions: ``"nmi"`` (normalised mutual information) or ``"ari"`` (adjusted Rand).

    Parameters
    ----------
    a, b : Partition, pandas.Series, dict, pandas.DataFrame or array-like
        The community (or any group label, such as a department) of each account:

        * a :class:`~graphcrm.loaders.results.Partition` labels every account of its graph;
        * a Series (indexed by account id), a dict (keyed by it) or the ``account_id, community`` table of
          ``Partition.to_frame()`` is matched **by account id**, in any row order; a missing label (NaN)
          leaves the account out;
        * a list or numpy array is read **by position**: label ``i`` belongs to dense index ``i`` (the
          ``i``-th account in sorted id order, the order of ``Partition.membership``), so it needs one label
          per account.
    method : {"nmi", "ari"}

    Notes
    -----
    Two partitions must be of the same accounts.  Labels by id beside a Partition must name accounts of its
    graph (:class:`NodeNotFoundError` otherwise) and are compared on the accounts they label; two sets of
    labels by id are compared on the accounts both label.  An array beside labels by id is refused (its
    positions mean nothing without a graph).

    Examples
    --------
    >>> from graphcrm.loaders.idmap import IdMap
    >>> part = Partition(np.array([0, 0, 1, 1]), IdMap([10, 20, 30, 40]))
    >>> compare_partitions(part, pd.Series({40: "y", 30: "y", 20: "x", 10: "x"}))      # by id
    1.0
    >>> round(compare_partitions(part, ["x", "y", "x", "y"], method="ari"), 6)         # by position
    -0.5
    """
    ig = igraph_module()

    if method not in ("nmi", "ari"):
        raise ParameterError(f"method must be 'nmi' or 'ari', got {method!r}")
    la_, lb = (pd.factorize(x)[0] for x in _paired_labels(a, b))
    if not len(la_):
        raise InvalidInputError("compare_partitions: no account is labelled by both partitions")
    return float(ig.compare_communities(list(map(int, la_)), list(map(int, lb)),
                                        method="nmi" if method == "nmi" else "adjusted_rand"))


def _by_id(labels) -> bool:
    """Whether ``labels`` names its accounts (Partition, Series, mapping, table) rather than listing dense labels."""
    return isinstance(labels, (Partition, pd.Series, pd.DataFrame, Mapping))


def _paired_labels(a, b) -> tuple[np.ndarray, np.ndarray]:
    """The labels of ``a`` and ``b`` for the same accounts, in the same order (see :func:`compare_partitions`)."""
    if not _by_id(a) and not _by_id(b):
        la_, lb = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
        if len(la_) != len(lb):
            raise ParameterError(f"partitions of {len(la_)} and {len(lb)} nodes")
        return la_, lb
    if isinstance(b, Partition) and not isinstance(a, Partition):
        lb, la_ = _paired_labels(b, a)
        return la_, lb
    if not isinstance(a, Partition):
        if not _by_id(a) or not _by_id(b):
            raise ParameterError("compare_partitions: an array of labels is read by dense index, which needs a "
                                 "Partition beside it; pass a pandas Series indexed by account id instead")
        sa, sb = labels_by_account(a, what="a"), labels_by_account(b, what="b")
        common = sa.index.intersection(sb.index)
        return sa.loc[common].to_numpy(), sb.loc[common].to_numpy()
    if isinstance(b, Partition):
        if b.id_map != a.id_map:
            raise ParameterError(f"partitions of different graphs ({len(a.id_map):,} and {len(b.id_map):,} "
                                 "accounts): compare a.to_series() with b.to_series() on their shared accounts")
        return a.membership, b.membership
    if not _by_id(b):
        lb = np.asarray(b).reshape(-1)
        if len(lb) != len(a.membership):
            raise ParameterError(f"{len(lb)} labels for a partition of {len(a.membership)} accounts (an array is "
                                 "read by dense index; pass a pandas Series indexed by account id)")
        return a.membership, lb
    sb = labels_by_account(b, what="b")
    dense = a.id_map.to_dense(sb.index.to_numpy())
    return a.membership[dense], sb.to_numpy()


def community_profiles(graph: SocialGraph, partition: Partition, *, layer: str | Layer, leaders: int = 3,
                       bridges: int = 3) -> pd.DataFrame:
    """One row per community: size, internal density, conductance, leaders, bridges, dominant interaction.

    * ``internal_density``: internal (undirected) ties / possible ties;
    * ``conductance``: weight of ties leaving / min(volume, rest of the graph's volume);
    * ``leaders``: top accounts by PageRank attention *within* the community;
    * ``bridges``: up to ``bridges`` members with ties to other communities,
      highest participation coefficient first (Guimera & Amaral 2005: ties
      spread over many communities); a member without a tie outside its
      community is never a bridge, so the list is shorter, or empty (and
      ``bridge_participation`` 0), when fewer members have one;
    * ``dominant_interaction``: the interaction layer with the most internal
      interactions, where the graph has interaction layers;
    * activity over time, where those layers keep their timestamped events:
      ``internal_interactions`` (events between members), ``first_activity``
      and ``last_activity`` (UTC), ``active_days``, ``busiest_day`` with its
      ``busiest_day_interactions``, and ``activity_trend`` -- (events in the
      second half of the log's time span - events in the first half) /
      events, from -1 (faded) to +1 (all recent).

    ``partition`` must be a partition of ``graph`` (its accounts, in its order): one of another graph or
    version is a :class:`ParameterError`.
    """
    from graphcrm.algorithms.centrality import pagerank
    from graphcrm.loaders.layers import INTERACTION_TYPES

    _check_same_accounts(graph, partition)
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
    activity = _activity_over_time(graph, interaction_layers, m, k)
    members_by_c = pd.Series(np.arange(n)).groupby(m)
    for c, members in members_by_c:
        members = members.to_numpy()
        lead = members[np.lexsort((members, -pr[members]))][:leaders]
        crossing = members[participation[members] > 0]      # at least one tie to another community
        br = crossing[np.lexsort((crossing, -participation[crossing]))][:bridges]
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
    frame = pd.DataFrame(rows)
    return frame if activity is None else frame.join(activity, on="community")


def _check_same_accounts(graph: SocialGraph, partition) -> None:
    """A :class:`ParameterError` unless ``partition`` is a partition of ``graph``'s accounts (same ids, same
    dense order), e.g. one computed on another graph or another version of it."""
    if not isinstance(partition, Partition):
        raise ParameterError(f"partition must be a Partition (from leiden, louvain, consensus ...), got "
                             f"{type(partition).__name__}")
    ours, theirs = graph.id_map, partition.id_map
    if ours is theirs:
        return
    if len(theirs) != len(ours):
        raise ParameterError(f"the partition has {len(theirs):,} accounts, the graph {len(ours):,}: the partition "
                             "belongs to another graph (or another version of it); compute it on this graph")
    if not np.array_equal(np.asarray(theirs.ids), np.asarray(ours.ids)):
        raise ParameterError("the partition's accounts are not the graph's (same count, other ids): the partition "
                             "belongs to another graph; compute it on this graph")


def _activity_over_time(graph: SocialGraph, layer_names, membership, k) -> pd.DataFrame | None:
    """Per community, when its members interact with each other (None without timestamped events)."""
    logs = [graph.layer(name).events for name in layer_names]
    logs = [ev for ev in logs if ev is not None and len(ev.time)]
    if not logs:
        return None
    src = np.concatenate([ev.src for ev in logs])
    dst = np.concatenate([ev.dst for ev in logs])
    t = np.concatenate([ev.time for ev in logs])
    middle = (int(t.min()) + int(t.max())) / 2
    inside = membership[src] == membership[dst]
    c, t = membership[src][inside], t[inside]
    events = np.bincount(c, minlength=k)
    late = np.bincount(c, weights=(t > middle).astype(float), minlength=k)
    first = np.full(k, np.iinfo(np.int64).max)
    last = np.full(k, np.iinfo(np.int64).min)
    np.minimum.at(first, c, t)
    np.maximum.at(last, c, t)
    day = t // 86_400
    frame = pd.DataFrame({"c": c, "day": day}).value_counts().rename("n").reset_index()
    frame = frame.sort_values(["c", "n", "day"], ascending=[True, False, True], kind="stable")
    active_days = np.bincount(frame.c.to_numpy(), minlength=k)
    top = frame.drop_duplicates("c").set_index("c")
    has = events > 0

    def stamp(seconds):
        return pd.to_datetime(np.where(has, seconds, 0), unit="s", utc=True).where(has)

    busiest = np.full(k, "", dtype=object)
    busiest[top.index] = pd.to_datetime(top.day.to_numpy() * 86_400, unit="s").strftime("%Y-%m-%d")
    return pd.DataFrame({
        "internal_interactions": events.astype(np.int64),
        "first_activity": stamp(first), "last_activity": stamp(last),
        "active_days": active_days.astype(np.int64),
        "busiest_day": busiest,
        "busiest_day_interactions": top.n.reindex(range(k), fill_value=0).to_numpy().astype(np.int64),
        "activity_trend": np.divide(2 * late - events, events, out=np.zeros(k), where=has),
    })


# ------------------------------------------------------------------------------ stability
def consensus(
    graph: SocialGraph,
    *,
    layer: str | Layer,
    n_runs: int = 10,
    seed: int = 0,
    threshold: float = 0.5,
    **leiden_kwargs,
) -> Partition:
    """A consensus partition over ``n_runs`` seeds, with each node's membership confidence.

    Consensus clustering restricted to the graph's ties (Lancichinetti &
    Fortunato 2012): each tie is weighted by the share of runs that put its
    two ends together, ties below ``threshold`` are dropped, and Leiden runs
    once more on that agreement graph.  A node's confidence is the share of
    runs in which it sat in the run's best match of its consensus community
    (1.0: always with the same group).

    ``leiden_kwargs`` (``objective``, ``resolution``, ``directed``, ``method``)
    apply to every run; the final run on the agreement graph is undirected
    (agreement is symmetric) with the same objective, resolution and method.

    Returns
    -------
    Partition
        ``quality`` is the objective's value of the consensus partition on ``layer``, on the scale
        :func:`leiden` reports it (:func:`objective_quality`); ``info["modularity"]`` its modularity at
        resolution 1.  ``info["confidence"]`` holds the per-node confidence (dense order);
        ``to_frame()`` gains it through :func:`membership_confidence_frame`.
    """
    seed = whole_number(seed, "seed", 0)
    if n_runs < 2:
        raise ParameterError(f"n_runs must be >= 2, got {n_runs}")
    if not 0 < threshold <= 1:
        raise ParameterError(f"threshold must be in (0, 1], got {threshold}")
    lay = _layer(graph, layer)
    started = time.perf_counter()
    runs = [leiden(graph, layer=lay, seed=seed + r, **leiden_kwargs).membership for r in range(n_runs)]
    u, v, _ = undirected_edges(lay)
    agreement = np.zeros(len(u))
    for m in runs:
        agreement += m[u] == m[v]
    agreement /= n_runs
    keep = agreement >= threshold
    agree_layer = Layer.from_edges(graph.n_nodes, u[keep], v[keep], agreement[keep],
                                   spec=lay.spec.with_overrides(name="agreement", direction="forward"),
                                   self_loops="keep")
    final = leiden(graph, layer=agree_layer, seed=seed, **{k: v for k, v in leiden_kwargs.items() if k != "directed"})
    confidence = membership_confidence(final.membership, runs)
    objective = leiden_kwargs.get("objective", "modularity")
    resolution = leiden_kwargs.get("resolution", 1.0)
    directed = bool(leiden_kwargs.get("directed", False))
    weight = leiden_kwargs.get("weight", True)
    quality = objective_quality(graph, lay, final.membership, objective=objective, resolution=resolution,
                                directed=directed, weight=weight)
    modularity = quality if (objective, resolution) == ("modularity", 1.0) else \
        objective_quality(graph, lay, final.membership, directed=directed, weight=weight)
    info = dict(final.info, method="consensus", runs=n_runs, threshold=threshold, confidence=confidence,
                layer=lay.name, objective=objective, resolution=resolution, directed=directed, modularity=modularity,
                mean_confidence=float(confidence.mean()) if len(confidence) else 1.0,
                seconds=time.perf_counter() - started)
    return Partition(final.membership, graph.id_map, quality, info)


def membership_confidence(reference: np.ndarray, runs: list[np.ndarray]) -> np.ndarray:
    """Share of ``runs`` in which each node is in the run community that best overlaps its reference community."""
    reference = np.asarray(reference)
    n = len(reference)
    hits = np.zeros(n)
    for m in runs:
        m = np.asarray(m)
        pair = reference.astype(np.int64) * (m.max() + 1) + m
        keys, counts = np.unique(pair, return_counts=True)
        ref_of = keys // (m.max() + 1)
        run_of = keys % (m.max() + 1)
        order = np.lexsort((run_of, -counts, ref_of))        # per reference community: largest overlap first
        first = np.ones(len(order), dtype=bool)
        first[1:] = ref_of[order][1:] != ref_of[order][:-1]
        best = np.full(reference.max() + 1, -1)
        best[ref_of[order][first]] = run_of[order][first]
        hits += best[reference] == m
    return hits / len(runs)


def objective_quality(graph: SocialGraph, layer: str | Layer, membership, *, objective: str = "modularity",
                      resolution: float = 1.0, directed: bool = False, weight: bool = True) -> float:
    """The value of Leiden's objective for ``membership``, on the scale :func:`leiden` reports it.

    Modularity with resolution gamma (directed with ``directed``); CPM: the sum over communities of
    2 * internal weight - resolution * size^2 over twice the total weight (igraph's scale, accounts with a tie
    only), leidenalg's unnormalised value with ``directed``.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [0, 1, 2, 3], [1, 2, 0, 4]).build()    # a triangle and a pair
    >>> objective_quality(g, "x", [0, 0, 0, 1, 1])              # (3/4 - (6/8)^2) + (1/4 - (2/8)^2)
    0.375
    >>> objective_quality(g, "x", [0, 0, 0, 1, 1], objective="cpm", resolution=0.5)   # (6 - 4.5 + 2 - 2) / 8
    0.1875
    """
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    resolution = check_resolution(resolution)
    lay = _layer(graph, layer)
    active = _active_nodes(lay)
    g = _igraph(graph, lay, directed=directed, weight=weight, active=active)
    membership = np.asarray(membership)
    labels = pd.factorize(membership if active is None else membership[active])[0].tolist()
    if objective == "modularity":
        return float(g.modularity(labels, weights="weight", resolution=resolution, directed=directed))
    if directed:
        import leidenalg as la

        return float(la.CPMVertexPartition(g, initial_membership=labels, weights="weight",
                                           resolution_parameter=resolution).quality())
    total = float(sum(g.es["weight"]))
    if total == 0:
        return 0.0
    edges = np.asarray(g.get_edgelist(), dtype=np.int64).reshape(-1, 2)
    labels = np.asarray(labels, dtype=np.int64)
    w = np.asarray(g.es["weight"], dtype=float)
    inside = labels[edges[:, 0]] == labels[edges[:, 1]]
    sizes = np.bincount(labels).astype(float)
    internal = np.bincount(labels[edges[inside, 0]], weights=w[inside], minlength=len(sizes))
    return float((2 * internal - resolution * sizes**2).sum() / (2 * total))


def leiden_quality(graph: SocialGraph, lay: Layer, membership) -> float:
    """Modularity of ``membership`` on the undirected simple version of ``lay``."""
    g = _igraph(graph, lay, directed=False, weight=True)
    return float(g.modularity(list(map(int, membership)), weights="weight"))


TRACK_EVENTS = ("born", "continued", "grown", "shrunk", "merged", "split", "dissolved")


def track_communities(
    graph: SocialGraph,
    windows: list,
    *,
    layer: str | None = None,
    min_size: int = 3,
    overlap: float = 0.5,
    change: float = 0.1,
    seed: int = 0,
    **leiden_kwargs,
) -> pd.DataFrame:
    """Communities of consecutive time windows, matched and labelled born / grown / shrunk / merged / split / dissolved.

    Each window ``(start, end)`` gets its own Leiden partition of the accounts
    active in it (communities smaller than ``min_size`` are ignored).  A
    community of window t+1 *continues* one of window t when at least
    ``overlap`` of either's members are shared.  One-to-one continuations
    that changed size by more than ``change`` are ``grown`` / ``shrunk``;
    several predecessors make a ``merged`` community, several successors a
    ``split``; no successor: ``dissolved``; no predecessor: ``born``.

    Parameters
    ----------
    windows : list of (start, end)
        Time windows (Unix seconds or ISO-8601), in order.
    layer : str, optional
        Layer name; default the combined interaction strength of each window.

    Returns
    -------
    pandas.DataFrame
        ``window, community, size, event, related, leaders`` -- ``related``
        lists the matched communities of the previous window (or, for
        ``dissolved``/``split``, of the next), ``window`` is the index in
        ``windows``.
    """
    seed = whole_number(seed, "seed", 0)
    if len(windows) < 1:
        raise ParameterError("give at least one time window")
    logged = [name for name, lay in graph.layers.items() if lay.events is not None]
    if not logged or (layer is not None and layer not in logged):
        graph.layer(layer) if layer is not None else None        # an unknown name: the graph's own error
        raise ParameterError("communities are tracked over time windows of the interaction log: "
                             + (f"layer '{layer}' has no timestamps" if layer is not None else
                                "this graph has no timestamped events")
                             + " (load interactions with times: --interactions)")
    from graphcrm.algorithms.centrality import pagerank

    ids = graph.id_map.ids
    snapshots = []
    for start, end in windows:
        sub = graph.window(start, end, keep_static=False)
        lay = sub.interaction_strength() if layer is None else sub.layer(layer)
        active = (lay.out_degree() > 0) | (lay.in_degree() > 0)
        part = leiden(sub, layer=lay, seed=seed, **leiden_kwargs).membership if lay.n_edges else np.zeros(sub.n_nodes)
        pr = pagerank(sub, layer=lay).values if lay.n_edges else np.zeros(sub.n_nodes)
        groups = {}
        nodes = np.flatnonzero(active)
        order = nodes[np.lexsort((nodes, part[nodes]))]          # active nodes grouped by community
        labels = part[order]
        bounds = np.flatnonzero(np.diff(labels)) + 1
        for members in np.split(order, bounds):
            if len(members) >= min_size:
                lead = members[np.lexsort((members, -pr[members]))][:3]
                groups[int(part[members[0]])] = (set(members.tolist()), ";".join(map(str, ids[lead])))
        snapshots.append(groups)
    rows = []
    for t, groups in enumerate(snapshots):
        prev = snapshots[t - 1] if t > 0 else {}
        nxt = snapshots[t + 1] if t + 1 < len(snapshots) else None
        for c, (members, leaders) in sorted(groups.items(), key=lambda kv: (-len(kv[1][0]), kv[0])):
            preds = [p for p, (pm, _) in prev.items() if _continues(pm, members, overlap)]
            if t == 0 or not preds:
                event, related = "born", []
            elif len(preds) > 1:
                event, related = "merged", preds
            else:
                p = preds[0]
                succ_of_p = [s for s, (sm, _) in groups.items() if _continues(prev[p][0], sm, overlap)]
                if len(succ_of_p) > 1:
                    event = "split"
                else:
                    ratio = len(members) / len(prev[p][0])
                    event = "grown" if ratio > 1 + change else "shrunk" if ratio < 1 - change else "continued"
                related = preds
            rows.append({"window": t, "community": c, "size": len(members), "event": event,
                         "related": ";".join(map(str, related)), "leaders": leaders})
        if nxt is not None:
            for c, (members, leaders) in groups.items():
                if not any(_continues(members, nm, overlap) for nm, _ in nxt.values()):
                    rows.append({"window": t + 1, "community": c, "size": 0, "event": "dissolved",
                                 "related": str(c), "leaders": leaders})
    return pd.DataFrame(rows, columns=["window", "community", "size", "event", "related", "leaders"])


def _continues(before: set, after: set, overlap: float) -> bool:
    shared = len(before & after)
    return shared >= overlap * len(before) or shared >= overlap * len(after)


# ------------------------------------------------------------------------------ signed and multi-layer
def signed_communities(graph: SocialGraph, *, layer: str, seed: int = 0, resolution: float = 1.0) -> Partition:
    """Supporter / critic camps on a signed layer: positive ties inside, negative ties between.

    leidenalg's multiplex optimisation with the positive ties as one layer
    (weight +1) and the negative ties as another (weight -1), so modularity
    is rewarded for positive ties within and negative ties across
    communities (Traag & Bruggeman 2009).  ``quality`` is the signed
    objective; ``info`` has the share of negative ties that fall between
    communities.  A layer without negative ties is a :class:`ParameterError`
    (use :func:`leiden`).
    """
    seed = whole_number(seed, "seed", 0)
    resolution = check_resolution(resolution)
    ig = igraph_module()
    import leidenalg as la

    lay = graph.layer(layer)
    src, dst, w = lay.edge_arrays()
    keep = src != dst
    src, dst, w = src[keep], dst[keep], w[keep]
    pos, neg = w > 0, w < 0
    if not (lay.weighted and neg.any()):
        raise ParameterError(f"layer {layer!r} has no negative ties: signed_communities needs a signed layer "
                             "(trust, from load_signed); for communities of an unsigned layer use leiden")
    g_pos = ig.Graph(n=graph.n_nodes, edges=np.column_stack([src[pos], dst[pos]]), directed=False)
    g_pos.es["weight"] = w[pos].tolist()
    g_neg = ig.Graph(n=graph.n_nodes, edges=np.column_stack([src[neg], dst[neg]]), directed=False)
    g_neg.es["weight"] = (-w[neg]).tolist()
    started = time.perf_counter()
    p_pos = la.RBConfigurationVertexPartition(g_pos, weights="weight", resolution_parameter=resolution)
    p_neg = la.RBConfigurationVertexPartition(g_neg, weights="weight", resolution_parameter=resolution)
    optimiser = la.Optimiser()
    optimiser.set_rng_seed(seed)
    optimiser.optimise_partition_multiplex([p_pos, p_neg], layer_weights=[1, -1], n_iterations=-1)
    membership = np.asarray(p_pos.membership)
    between_neg = float((membership[src[neg]] != membership[dst[neg]]).mean()) if neg.any() else float("nan")
    within_pos = float((membership[src[pos]] == membership[dst[pos]]).mean()) if pos.any() else float("nan")
    info = {"method": "signed-leiden", "layer": layer, "seed": seed, "resolution": resolution,
            "negative_ties_between": between_neg, "positive_ties_within": within_pos,
            "seconds": time.perf_counter() - started}
    return Partition(membership, graph.id_map, float(p_pos.quality() - p_neg.quality()), info)


def multilayer_leiden(graph: SocialGraph, *, layers: dict, seed: int = 0, resolution: float = 1.0,
                      n_iterations: int = COLD_ITERATIONS) -> Partition:
    """One partition for several layers over the same accounts (e.g. follows + interactions).

    ``layers`` maps layer names (or ``"strength"`` for the combined
    interaction layer) to their weight in the summed modularity; leidenalg
    optimises all layers at once, over the accounts with a tie in any of
    them (the others are their own communities, as in :func:`leiden`).
    ``n_iterations``: Leiden iterations (2, as :func:`leiden` from scratch;
    -1 iterates until no iteration improves, several times slower).
    leidenalg's multiplex optimiser is single-threaded C++: on large graphs
    restrict it to the accounts of interest with :meth:`SocialGraph.subgraph`.
    ``quality`` is the weighted sum of the layers' modularity terms
    (leidenalg's unnormalised scale); ``info["modularity"]`` gives each
    layer's Newman modularity of the partition.
    """
    seed = whole_number(seed, "seed", 0)
    igraph_module()
    import leidenalg as la

    if not layers:
        raise ParameterError("give at least one layer")
    resolution = check_resolution(resolution)
    if n_iterations == 0 or n_iterations < -1:
        raise ParameterError(f"n_iterations must be >= 1, or -1 (until no improvement), got {n_iterations}")
    chosen, weights = [], []
    for name, weight in sorted(layers.items()):
        lay = graph.interaction_strength() if name == "strength" else _layer(graph, name)
        if not lay.n_edges:
            what = ("no interaction layers to combine" if name == "strength" and lay.name == "strength"
                    else "no ties with positive weight")
            raise ParameterError(f"layer {name!r} has {what} (the graph's layers: {', '.join(graph.layer_names)}): "
                                 "leave it out of layers=")
        chosen.append((name, lay))
        weights.append(float(weight))
    tied = np.zeros(graph.n_nodes, dtype=bool)          # the accounts with a tie in any layer: the shared vertices
    for _, lay in chosen:
        tied |= (lay.out_degree() > 0) | (lay.in_degree() > 0)
    active = None if tied.all() else np.flatnonzero(tied)
    graphs = [_igraph(graph, lay, directed=False, weight=True, active=active) for _, lay in chosen]
    partitions = [la.RBConfigurationVertexPartition(g, weights="weight", resolution_parameter=resolution)
                  for g in graphs]
    started = time.perf_counter()
    optimiser = la.Optimiser()
    optimiser.set_rng_seed(seed)
    optimiser.optimise_partition_multiplex(partitions, layer_weights=weights, n_iterations=n_iterations)
    membership = np.asarray(partitions[0].membership)
    newman = {name: float(g.modularity(membership.tolist(), weights="weight")) for (name, _), g in zip(chosen, graphs)}
    info = {"method": "multilayer-leiden", "layers": dict(layers), "seed": seed, "resolution": resolution,
            "n_iterations": n_iterations, "modularity": newman, "seconds": time.perf_counter() - started}
    quality = float(sum(w * p.quality() for w, p in zip(weights, partitions)))
    return Partition(_expand(membership, active, graph.n_nodes), graph.id_map, quality, info)
