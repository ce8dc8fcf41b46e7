"""Lookalike audiences: the accounts most like a given set of accounts ("more people like my best advocates").

Every account gets a FastRP embedding (:func:`graphcrm.algorithms.fastrp`: accounts with similar
neighbourhoods get similar vectors).  An account's **similarity** to the seed set is the cosine between its
vector and the seeds' centroid (the mean of the seeds' unit vectors; ``score="centroid"``, the default) or
its largest cosine to any one seed (``score="max"``).  The centroid ranked the held-out half of email-Eu-core
departments better on the validation departments (``benchmarks/RESULTS-lookalike.md``): a seed set is a
group, and the centroid looks for the group's common neighbourhood instead of the neighbourhood of its most
idiosyncratic member.

Each row says why: the similarity, the **nearest seed** (the seed whose vector is most like the account's:
with centroid scoring it is the closest single seed, not what the rank is based on, and the reason says so)
and the evidence in plain ties: how many seeds the account is tied to and how many of its neighbours are
also the seeds' neighbours.

Search.  The centroid score is one product of the ``n x dim`` embedding with one vector: exact, and faster
than building any nearest-neighbour index.  The max score needs every account against every seed: one
BLAS product per block of :data:`ROW_BLOCK` rows (bounded memory), exact.  An approximate index does not pay
here: on rmat17 (77,410 accounts, dim 128) the exact max score took 0.12 s for 100 seeds and 0.44 s for
1,000, while building a PyNNDescent 0.7 index and querying each seed's nearest accounts took 29 s (89 s with
its first compile) and, merged, found 41 (100 seeds) and 6 (1,000 seeds) of the exact top 100 at the
index's default settings (measured by hand; pynndescent is not a dependency).  Brute force stays the method
until seed sets of hundreds of thousands of accounts.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from graphcrm.algorithms.embedding import Embedding, fastrp
from graphcrm.loaders.errors import InvalidInputError, NodeNotFoundError, ParameterError
from graphcrm.loaders.graph import Layer, SocialGraph
from graphcrm.loaders.idmap import id_list

SCORES = ("centroid", "max")
LOOKALIKE_COLUMNS = ["account_id", "rank", "similarity", "nearest_seed", "nearest_seed_similarity",
                     "seed_ties", "shared_neighbours", "neighbours", "reason"]

#: FastRP settings the lookalike ranking uses unless told otherwise (chosen on the validation departments of
#: email-Eu-core, see benchmarks/bench_lookalike.py)
FASTRP_DEFAULTS = {"iteration_weights": (0.0, 1.0, 1.0), "normalization_strength": 0.0, "sparsity": "sqrt"}

#: rows of the embedding scored at once (bounds the scratch to ROW_BLOCK x seeds floats)
ROW_BLOCK = 65_536


def resolve_seeds(graph: SocialGraph, seeds, *, missing: str = "error") -> tuple[np.ndarray, list]:
    """Dense indices of the seed accounts (distinct, ascending) and the ids not found in the graph.

    Parameters
    ----------
    missing : {"error", "skip"}
        Unknown ids raise :class:`NodeNotFoundError` naming them, or are skipped (and returned).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", [1, 2], [3, 3]).build()
    >>> dense, unknown = resolve_seeds(g, ["3", 1, "nope"], missing="skip")
    >>> dense.tolist(), unknown
    ([0, 2], ['nope'])
    """
    if missing not in ("error", "skip"):
        raise ParameterError(f"missing must be 'error' or 'skip', got {missing!r}")
    ids = id_list(seeds)
    if not ids:
        raise ParameterError("no seed accounts given: give at least one account id")
    found, unknown = [], []
    for ext in ids:
        d = int(graph.id_map.lookup(np.asarray([ext], dtype=object))[0])
        (found if d >= 0 else unknown).append(d if d >= 0 else ext)
    if unknown and missing == "error":
        shown = ", ".join(repr(x) for x in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise NodeNotFoundError(f"seed account id(s) not in the graph: {shown}{more} "
                                f"({len(unknown)} of {len(ids)} seeds; check the ids, or skip unknown ones: "
                                "graphcrm lookalike --skip-unknown, skip_unknown = true in a lookalike segment, missing='skip' in "
                                "Python)")
    if not found:
        raise NodeNotFoundError(f"none of the {len(ids)} seed ids is in the graph (e.g. {unknown[0]!r})")
    return np.unique(np.asarray(found, dtype=np.int64)), unknown


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def similarity_to_seeds(vectors: np.ndarray, seeds: np.ndarray, *, score: str = "centroid") -> np.ndarray:
    """Each account's similarity to the seed set (float64, one per row of ``vectors``).

    ``centroid``: cosine to the mean of the seeds' unit vectors.  ``max``: largest cosine to one seed.
    Zero vectors (accounts without ties, when no self-influence is used) get similarity 0.

    Examples
    --------
    >>> v = np.array([[1, 0], [0.9, 0.1], [0, 1], [0, 0]], dtype=np.float32)
    >>> similarity_to_seeds(v, np.array([0])).round(3).tolist()
    [1.0, 0.994, 0.0, 0.0]
    """
    if score not in SCORES:
        raise ParameterError(f"score must be one of {SCORES}, got {score!r}")
    n = vectors.shape[0]
    norms = np.linalg.norm(vectors, axis=1).astype(np.float64)
    inv = np.divide(1.0, norms, out=np.zeros(n), where=norms > 0)
    unit_seeds = _unit_rows(np.asarray(vectors[seeds], dtype=np.float64))
    if score == "centroid":
        centre = unit_seeds.mean(axis=0)
        length = np.linalg.norm(centre)
        if length == 0:
            return np.zeros(n)
        return (vectors @ (centre / length).astype(np.float32)).astype(np.float64) * inv
    out = np.empty(n)
    q = unit_seeds.T.astype(np.float32)
    for r0 in range(0, n, ROW_BLOCK):
        block = vectors[r0:r0 + ROW_BLOCK] @ q
        out[r0:r0 + ROW_BLOCK] = block.max(axis=1) * inv[r0:r0 + ROW_BLOCK]
    return out


def _undirected_neighbours(lay: Layer, v: int) -> np.ndarray:
    return np.union1d(lay.out_indices[lay.out_indptr[v]:lay.out_indptr[v + 1]],
                      lay.in_indices[lay.in_indptr[v]:lay.in_indptr[v + 1]])


def lookalikes(
    graph: SocialGraph,
    seeds,
    *,
    top: int = 100,
    layer: str | Layer | None = None,
    dim: int = 128,
    seed: int = 0,
    score: str = "centroid",
    method: str = "fastrp",
    missing: str = "error",
    embedding: Embedding | None = None,
    **fastrp_options,
) -> pd.DataFrame:
    """The ``top`` accounts most like the seed accounts, with the nearest seed and the reason.

    Parameters
    ----------
    graph : SocialGraph
    seeds : sequence of account ids
        The accounts to find more of (e.g. the best advocates).  They are never in the output.
    top : int, default 100
    layer : str, Layer or None
        The layer whose ties define similarity (used as undirected); default: the graph's default layer.
        On a signed layer only the positive ties count (distrust is not likeness).
    dim : int, default 128
        Embedding dimension.
    seed : int, default 0
        Seed of the random projection: same seed, same list.
    score : {"centroid", "max"}, default "centroid"
        Similarity to the seed set: cosine to the seeds' centroid, or the largest cosine to one seed.
    method : {"fastrp"}
        The embedding.
    missing : {"error", "skip"}, default "error"
        Seed ids not in the graph raise (naming them) or are skipped; ``frame.attrs["unknown_seeds"]`` lists
        skipped ids.
    embedding : Embedding, optional
        Reuse an embedding computed before (for several seed sets on one graph).
    **fastrp_options
        Passed to :func:`~graphcrm.algorithms.fastrp` (defaults: :data:`FASTRP_DEFAULTS`).

    Returns
    -------
    pandas.DataFrame
        ``account_id, rank, similarity, nearest_seed, nearest_seed_similarity, seed_ties, shared_neighbours,
        neighbours, reason``, best first (ties broken by external id order).  ``seed_ties`` counts the seeds
        the account is directly tied to; ``shared_neighbours`` counts its neighbours (``neighbours`` in all,
        on the layer used as undirected) that are also a seed's neighbour.
        Accounts without ties on the layer (a zero embedding) are never listed.

    Examples
    --------
    Two groups of friends joined by one tie (c - x); seeds a and b of the first group:

    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> src = ["a", "a", "a", "b", "b", "c", "x", "x", "x", "y", "y", "z", "c"]
    >>> dst = ["b", "c", "d", "c", "d", "d", "y", "z", "w", "z", "w", "w", "x"]
    >>> g = GraphBuilder().add_edges("friends", src, dst).build()
    >>> table = lookalikes(g, ["a", "b"], top=3, dim=64)
    >>> sorted(table.account_id[:2])                       # the rest of the first group comes first
    ['c', 'd']
    >>> table.columns[:4].tolist()
    ['account_id', 'rank', 'similarity', 'nearest_seed']
    """
    if method != "fastrp":
        raise ParameterError(f"method must be 'fastrp', got {method!r}")
    if int(top) != top or top < 1:
        raise ParameterError(f"top must be a positive integer, got {top!r}")
    started = time.perf_counter()
    lay = graph.resolve_layer(layer)
    signed = lay.weighted and bool((lay.out_weights < 0).any())
    if signed:                                  # distrust is not likeness: similarity from positive ties only
        lay = lay.positive()
    dense_seeds, unknown = resolve_seeds(graph, seeds, missing=missing)
    if embedding is None:
        options = {**FASTRP_DEFAULTS, **fastrp_options}
        embedding = fastrp(graph, layer=lay, dim=dim, seed=seed, **options)
    elif len(embedding) != graph.n_nodes:
        raise ParameterError(f"the embedding has {len(embedding)} rows for a graph of {graph.n_nodes} accounts")
    vectors = embedding.vectors
    has_ties = (lay.out_degree() + lay.in_degree()) > 0      # accounts without a tie are never listed
    if not has_ties[dense_seeds].any():
        raise InvalidInputError(f"none of the {len(dense_seeds)} seed accounts has a tie on layer '{lay.name}': "
                                "there is nothing to find lookalikes by; choose seeds with ties or another --layer")
    sim = similarity_to_seeds(vectors, dense_seeds, score=score)
    sim[dense_seeds] = -np.inf
    candidates = np.flatnonzero(np.isfinite(sim) & has_ties)
    order = candidates[np.lexsort((candidates, -sim[candidates]))][:int(top)]

    # nearest seed of each listed account (cosine to every seed: top x seeds)
    unit_seeds = _unit_rows(np.asarray(vectors[dense_seeds], dtype=np.float64))
    cos = _unit_rows(np.asarray(vectors[order], dtype=np.float64)) @ unit_seeds.T
    best = np.argmax(cos, axis=1) if len(order) else np.empty(0, dtype=np.int64)
    nearest = dense_seeds[best]
    nearest_sim = cos[np.arange(len(order)), best] if len(order) else np.empty(0)

    is_seed = np.zeros(graph.n_nodes, bool)
    is_seed[dense_seeds] = True
    seed_nbr = np.zeros(graph.n_nodes, bool)
    for s in dense_seeds:
        seed_nbr[_undirected_neighbours(lay, int(s))] = True
    ties, shared, degree = [], [], []
    for v in order:
        nb = _undirected_neighbours(lay, int(v))
        ties.append(int(is_seed[nb].sum()))
        shared.append(int((seed_nbr[nb] & ~is_seed[nb]).sum()))
        degree.append(len(nb))

    ids = graph.id_map.ids
    reasons = []
    for i, v in enumerate(order):
        head = (f"embedding cosine {sim[v]:.2f} to the seeds' centroid; closest seed {ids[nearest[i]]} "
                f"(cosine {nearest_sim[i]:.2f})" if score == "centroid"
                else f"embedding cosine {sim[v]:.2f} to seed {ids[nearest[i]]}")
        reasons.append(f"{head}; tied to {ties[i]} of the seeds; shares {shared[i]} of its {degree[i]} "
                       "neighbours with the seeds")
    frame = pd.DataFrame({
        "account_id": ids[order],
        "rank": np.arange(1, len(order) + 1),
        "similarity": sim[order].round(6),
        "nearest_seed": ids[nearest],
        "nearest_seed_similarity": np.round(nearest_sim, 6),
        "seed_ties": np.asarray(ties, dtype=np.int64),
        "shared_neighbours": np.asarray(shared, dtype=np.int64),
        "neighbours": np.asarray(degree, dtype=np.int64),
        "reason": reasons,
    }, columns=LOOKALIKE_COLUMNS)
    tieless = dense_seeds[~has_ties[dense_seeds]]
    frame.attrs.update({"seeds": int(len(dense_seeds)), "unknown_seeds": list(unknown), "layer": lay.name,
                        "seeds_without_ties": ids[tieless].tolist(),
                        "positive_ties_only": signed,
                        "score": score, "dim": embedding.dim, "seed": int(seed),
                        "embedding_seconds": float(embedding.info.get("seconds", 0.0)),
                        "seconds": time.perf_counter() - started})
    return frame
