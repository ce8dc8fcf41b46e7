"""Edge propagation probabilities for the diffusion models: a model choice, never hard-wired.

Probabilities are returned aligned with a layer's in-edge arrays (the order
reverse-reachable sampling walks them) or its out-edge arrays (forward
simulation).

Models (``model=`` strings, as on the command line):

* ``"wc"`` -- weighted cascade: ``p(u, v) = w(u, v) / sum of w(., v)`` (each
  person is influenced in proportion to how much of their attention the
  sender gets; ``1 / in-degree`` on an unweighted layer);
* ``"const:P"`` -- the same ``P`` on every edge, e.g. ``"const:0.01"``;
* ``"trivalency"`` -- each edge draws one of 0.1, 0.01, 0.001 at random, from
  the edge's two account ids (so the draw depends neither on array order nor on
  which other accounts the graph holds) and a fixed key:
  the model is the same whatever seed a simulation samples with (the
  simulators pass none), so ``plan``'s Monte-Carlo check, run with another
  sampling seed, checks the model the plan was made on.

* ``"weight"`` -- the layer's own edge weights *are* the probabilities (an
  influence-maximization edge file ``u v p``, loaded with its third column or
  ``--weight-col``); every one must be in [0, 1];

* ``"learned"`` -- learned from the layer's interaction log (Goyal, Bonchi &
  Lakshmanan, WSDM 2010, static Bernoulli model), see
  :func:`learned_probabilities`; ``"learned*S"`` scales them by ``S``
  (clipped at 1) -- the calibrated form :mod:`graphcrm.algorithms.calibration` fits on
  held-out days.
"""

from __future__ import annotations

import numpy as np

from graphcrm.loaders.errors import ParameterError, whole_number
from graphcrm.loaders.graph import Layer

TRIVALENCY = (0.1, 0.01, 0.001)


def edge_probabilities(layer: Layer, model: str = "wc", *, seed: int = 0, side: str = "in",
                       node_keys: np.ndarray | None = None) -> np.ndarray:
    """Propagation probability of every edge of ``layer`` under ``model``.

    Parameters
    ----------
    seed : int
        The key of the trivalency draw (default 0, what every simulator uses: a model, not sampling noise).
    side : {"in", "out"}
        Align with the in-edge arrays (``layer.in_indices``, what
        reverse-reachable sampling walks) or the out-edge arrays (forward
        simulation).  An edge gets the same probability on both sides.
    node_keys : numpy.ndarray of uint64, optional
        Per-account keys of the trivalency draw (``graph.id_map.hash_keys()``, see :func:`trivalency_keys`):
        with them an edge's draw depends on its two account ids only, not on the dense indices, so renaming
        or adding accounts leaves every other edge's probability as it was.  Without them the dense indices
        key the draw.

    Examples
    --------
    >>> from graphcrm.loaders.graph import Layer
    >>> lay = Layer.from_edges(3, [0, 1, 0], [2, 2, 1], spec="x")
    >>> edge_probabilities(lay, "wc").tolist()     # in-edges of 1: (0); of 2: (0, 1)
    [1.0, 0.5, 0.5]
    >>> edge_probabilities(lay, "wc", side="out").tolist()   # out-edges of 0: (1, 2); of 1: (2)
    [1.0, 0.5, 0.5]
    >>> edge_probabilities(lay, "const:0.2").tolist()
    [0.2, 0.2, 0.2]
    """
    seed = whole_number(seed, "seed", 0)
    if side not in ("in", "out"):
        raise ParameterError(f"side must be 'in' or 'out', got {side!r}")
    if side == "in":
        def heads():
            return np.repeat(np.arange(layer.n_nodes), layer.in_degree())  # the edge's target

        def tails():
            return layer.in_indices                                         # the edge's source
    else:
        def heads():
            return layer.out_indices

        def tails():
            return np.repeat(np.arange(layer.n_nodes), layer.out_degree())
    if model == "wc":
        if not layer.weighted:     # 1 / in-degree of the target
            indeg = layer.in_degree()
            inv = np.divide(1.0, indeg, out=np.zeros(layer.n_nodes), where=indeg > 0)
            return inv[heads()]
        w = layer.in_data() if side == "in" else layer.out_data()
        if (w < 0).any():
            raise ParameterError(f"layer '{layer.name}' has negative weights; weighted cascade needs weights >= 0")
        totals = layer.in_strength()[heads()]
        return np.divide(w, totals, out=np.zeros(len(w)), where=totals > 0)
    if model in ("weight", "given"):
        if not layer.weighted:
            raise ParameterError(f"--prob weight: layer '{layer.name}' has no edge weights; load the file's probability "
                                 "column as the weight (third field, or --weight-col NAME)")
        w = np.asarray(layer.in_data() if side == "in" else layer.out_data(), dtype=np.float64)
        bad = ~np.isfinite(w) | (w < 0) | (w > 1)
        if bad.any():
            raise ParameterError(f"--prob weight: {int(bad.sum()):,} of {len(w):,} edge weights on layer '{layer.name}' "
                                 f"are outside [0, 1] (min {np.nanmin(w):g}, max {np.nanmax(w):g}); a probability must "
                                 "be in [0, 1] -- repeated rows of one pair add up, so keep one row per pair")
        return w
    if model.startswith("const:"):
        try:
            p = float(model.split(":", 1)[1])
        except ValueError:
            raise ParameterError(f"model {model!r}: expected const:P with a number P, e.g. const:0.01") from None
        if not 0.0 <= p <= 1.0:
            raise ParameterError(f"model {model!r}: P must be in [0, 1]")
        return np.full(layer.n_edges, p)
    if model == "trivalency":
        src, dst = tails(), heads()
        if node_keys is not None:
            if len(node_keys) != layer.n_nodes:
                raise ParameterError(f"node_keys has {len(node_keys):,} keys for {layer.n_nodes:,} accounts")
            src, dst = node_keys[src], node_keys[dst]
        return np.asarray(TRIVALENCY)[_edge_hash(src, dst, seed) % np.uint64(3)]
    if model == "learned" or model.startswith("learned*"):
        p_in = learned_probabilities(layer)
        if model != "learned":
            try:
                scale = float(model.split("*", 1)[1])
            except ValueError:
                raise ParameterError(f"model {model!r}: expected learned*S with a number S, e.g. learned*0.5") from None
            if not np.isfinite(scale) or scale < 0:
                raise ParameterError(f"model {model!r}: S must be a finite number >= 0")
            p_in = np.clip(p_in * scale, 0.0, 1.0)
        return p_in if side == "in" else p_in[_in_to_out_order(layer)]
    raise ParameterError(f"unknown probability model {model!r}; use 'wc', 'const:P', 'trivalency', 'weight', "
                         "'learned' or 'learned*S'")


LEARN_BUCKET_SECONDS = 3600
LEARN_PRIOR_STRENGTH = 2.0


def learned_probabilities(layer: Layer, *, bucket_seconds: int = LEARN_BUCKET_SECONDS,
                          prior_strength: float = LEARN_PRIOR_STRENGTH) -> np.ndarray:
    """Per-edge propagation probabilities learned from the layer's event log, aligned with its in-edges.

    Goyal, Bonchi & Lakshmanan's static Bernoulli model, ``p(u, v) = A(u->v) / A(u)``,
    on logs without post ids: time is cut into buckets (an hour by
    default) and

    * ``A(u)`` -- the buckets in which ``u`` was active (acted, or had content passed on);
    * ``A(u->v)`` -- the buckets in which ``v`` passed on ``u``'s content.

    Smoothing (explicit): a Beta prior with mean ``m`` (the pooled rate
    ``sum A(u->v) / sum A(u)`` over all edges) and weight ``prior_strength``
    pseudo-observations, ``p = (A(u->v) + s m) / (A(u) + s)``.  A pair seen
    once from a rarely active account is pulled towards ``m``; a pair with
    many observations keeps its own rate.  Edges without any event get
    ``s m / (A(u) + s)``.

    Examples
    --------
    ``1`` is active in 4 hours; ``2`` passed on its content in 2 of them, ``3`` in 1:

    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> h = 3600
    >>> b = GraphBuilder().add_events("retweets", [2, 2, 3, 1], [1, 1, 1, 9],
    ...                               time=[0, h, 2 * h, 3 * h])      # actor retweeted target
    >>> lay = b.build().layer("retweets")
    >>> learned_probabilities(lay, prior_strength=0).round(3).tolist()   # in-edges of 1 (from 9), 2, 3
    [1.0, 0.5, 0.25]
    """
    ev = layer.events
    if ev is None or len(ev.src) == 0:
        raise ParameterError(f"layer '{layer.name}' has no interaction log to learn probabilities from; "
                             "use a typed interaction layer (e.g. retweets) or another model (wc, const:P)")
    n = layer.n_nodes
    bucket = ev.time // int(bucket_seconds)
    bucket = bucket - bucket.min()
    n_buckets = int(bucket.max()) + 1
    if float(n) * n * n_buckets >= 2.0 ** 62:
        raise ParameterError(f"the log spans too many {bucket_seconds}-second buckets for {n:,} accounts; "
                             "use a longer bucket")
    # A(u -> v): distinct (u, v, bucket), one int64 key each
    pair_key = ev.src.astype(np.int64) * n + ev.dst
    triples = _sorted_unique(pair_key * n_buckets + bucket)
    pairs, pair_counts = _sorted_unique(triples // n_buckets, counts=True)
    # A(u): distinct (u, bucket) with u acting or being passed on
    who = np.concatenate([ev.src, ev.dst]).astype(np.int64)
    active = _sorted_unique(who * n_buckets + np.concatenate([bucket, bucket]))
    activity = np.bincount(active // n_buckets, minlength=n).astype(float)
    heads = np.repeat(np.arange(n, dtype=np.int64), layer.in_degree())
    tails = layer.in_indices.astype(np.int64)
    keys = tails * n + heads
    pos = np.minimum(np.searchsorted(pairs, keys), max(len(pairs) - 1, 0))
    a_uv = np.where(pairs[pos] == keys, pair_counts[pos], 0).astype(float)
    a_u = np.maximum(activity[tails], a_uv)
    mean = a_uv.sum() / max(a_u.sum(), 1.0)
    s = float(prior_strength)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (a_uv + s * mean) / (a_u + s)
    return np.clip(np.nan_to_num(p, nan=mean), 0.0, 1.0)


def _sorted_unique(keys: np.ndarray, counts: bool = False):
    """``np.unique`` by sorting (faster than hashing for int64 keys), optionally with counts."""
    keys = np.sort(keys)
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    if not counts:
        return keys[first]
    starts = np.flatnonzero(first)
    return keys[starts], np.diff(np.append(starts, len(keys)))


def propagation_delays(layer: Layer, *, lookback_seconds: int = 48 * 3600) -> np.ndarray:
    """Observed delays (seconds) between an account acting and someone passing its content on.

    For each event ``u -> v`` at time ``t`` (``v`` passed on ``u``'s content),
    the delay is ``t`` minus ``u``'s latest own action before ``t`` (an event
    in which ``u`` passed on someone else), if within ``lookback_seconds``.
    Original posts are not in the log, so hops from accounts that never act
    themselves give no sample.  Used to turn reach per step into reach per
    hour (:func:`graphcrm.algorithms.diffusion.reach_over_time`).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> b = GraphBuilder().add_events("retweets", [2, 3], [1, 2], time=[0, 1800])
    >>> propagation_delays(b.build().layer("retweets")).tolist()     # 2 acted at 0, 3 passed it on at 1800
    [1800]
    """
    ev = layer.events
    if ev is None or len(ev.src) == 0:
        raise ParameterError(f"layer '{layer.name}' has no interaction log to learn delays from")
    # own actions of each account, sorted by (account, time): u acts when it passes someone on (u is dst)
    order = np.lexsort((ev.time, ev.dst))
    actor, act_time = ev.dst[order].astype(np.int64), ev.time[order]
    key = actor * (1 << 40) + act_time
    query = ev.src.astype(np.int64) * (1 << 40) + ev.time
    pos = np.searchsorted(key, query, side="right") - 1
    ok = pos >= 0
    ok[ok] &= actor[pos[ok]] == ev.src[ok]
    delay = np.where(ok, ev.time - act_time[np.maximum(pos, 0)], -1)
    keep = ok & (delay >= 0) & (delay <= lookback_seconds)
    return delay[keep].astype(np.int64)


def lt_weights(layer: Layer, model: str = "wc", *, seed: int = 0, side: str = "in",
               node_keys: np.ndarray | None = None) -> np.ndarray:
    """Linear Threshold edge weights from any probability model: ``p(u, v)``, scaled down where they sum past 1.

    LT needs each account's in-weights to sum to at most 1; where the model's
    probabilities sum to more (``const:0.5`` on a popular account), they are
    divided by their sum.  Weighted cascade already sums to 1.

    Examples
    --------
    >>> from graphcrm.loaders.graph import Layer
    >>> lay = Layer.from_edges(3, [0, 1, 0], [2, 2, 1], spec="x")
    >>> lt_weights(lay, "const:0.8").tolist()     # in-edges of 1: (0); of 2: (0, 1) -> 0.8 / 1.6 each
    [0.8, 0.5, 0.5]
    """
    seed = whole_number(seed, "seed", 0)
    p = edge_probabilities(layer, model, seed=seed, side="in", node_keys=node_keys)
    heads = np.repeat(np.arange(layer.n_nodes), layer.in_degree())
    totals = np.bincount(heads, weights=p, minlength=layer.n_nodes)
    scale = np.maximum(totals, 1.0)
    w_in = p / scale[heads]
    if side == "in":
        return w_in
    if side != "out":
        raise ParameterError(f"side must be 'in' or 'out', got {side!r}")
    return w_in[_in_to_out_order(layer)]


def trivalency_keys(graph, prob: str) -> np.ndarray | None:
    """The per-account keys of the trivalency draw (``graph.id_map.hash_keys()``) when ``prob`` is
    ``"trivalency"``, else ``None`` (no other model draws per edge): what the simulators pass as ``node_keys``.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", ["a"], ["b"]).build()
    >>> trivalency_keys(g, "wc") is None, trivalency_keys(g, "trivalency").dtype
    (True, dtype('uint64'))
    """
    return graph.id_map.hash_keys() if prob == "trivalency" else None


def _in_to_out_order(layer: Layer) -> np.ndarray:
    """For each out-edge position, the position of the same edge in the in-edge arrays."""
    tails_out = np.repeat(np.arange(layer.n_nodes), layer.out_degree())
    heads_in = np.repeat(np.arange(layer.n_nodes), layer.in_degree())
    in_key = heads_in.astype(np.int64) * layer.n_nodes + layer.in_indices      # sorted by (head, tail)
    out_key = layer.out_indices.astype(np.int64) * layer.n_nodes + tails_out
    return np.searchsorted(in_key, out_key)


def _edge_hash(src, dst, seed: int) -> np.ndarray:
    """splitmix64 of (source, target, seed): a per-edge random draw that does not depend on array order."""
    with np.errstate(over="ignore"):
        z = (np.asarray(src, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             + np.asarray(dst, dtype=np.uint64) * np.uint64(0xBF58476D1CE4E5B9)
             + np.uint64(seed) * np.uint64(0x94D049BB133111EB))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
