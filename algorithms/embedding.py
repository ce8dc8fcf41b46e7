"""Node embeddings: FastRP (fast random projection), for lookalike audiences.

FastRP (Chen et al. 2019) maps every account to a short vector so that accounts with similar
neighbourhoods get similar vectors: a very sparse random projection of each account, averaged over
its neighbours, and over their neighbours, and so on, each step normalised and the steps summed with
weights.  It is a few sparse matrix products -- seconds on millions of edges -- and deterministic per seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from graphcrm.algorithms import _embedding_kernels as _k
from graphcrm.loaders.errors import ParameterError, whole_number
from graphcrm.loaders.graph import Layer, SocialGraph, layer_of
from graphcrm.loaders.idmap import IdMap
from graphcrm.loaders.numba_config import readonly_copy
from graphcrm.loaders.results import ACCOUNT_ID

_EMPTY = readonly_copy(np.empty(0, dtype=np.float64))


@dataclass(frozen=True, eq=False)
class Embedding:
    """One vector per account.

    Attributes
    ----------
    vectors : numpy.ndarray
        ``n x dim`` float32, row = dense index.
    id_map : IdMap
        The graph's ids (for :meth:`to_frame`).
    info : mapping
        Parameters and seconds.
    """

    vectors: np.ndarray
    id_map: IdMap
    info: Mapping = field(default_factory=dict)

    def __post_init__(self):
        if self.vectors.ndim != 2 or len(self.vectors) != len(self.id_map):
            raise ValueError(f"{self.vectors.shape} vectors for {len(self.id_map)} nodes")
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.vectors)

    def __repr__(self) -> str:
        return f"Embedding(n={len(self)}, dim={self.dim}, info={dict(self.info)})"

    def __getitem__(self, account) -> np.ndarray:
        """The vector of one account (external id)."""
        return self.vectors[int(self.id_map.to_dense([account])[0])]

    def to_frame(self) -> pd.DataFrame:
        """``account_id, e0, e1, ...`` in dense-index (external id) order."""
        frame = pd.DataFrame(self.vectors, columns=[f"e{j}" for j in range(self.dim)])
        frame.insert(0, ACCOUNT_ID, self.id_map.ids)
        return frame


#: ``sparsity="sqrt"`` never leaves fewer non-zero entries than this per projection row, on average
MIN_NONZEROS = 4


def node_keys(id_map: IdMap) -> np.ndarray:
    """A 64-bit key per account from its external id alone (``pandas.util.hash_array``, fixed hash key).

    The random projection is keyed by these, so an account's random vector does not depend on which other
    accounts are in the graph or on their order: with a fixed ``sparsity``, a new version of a snapshot with
    more accounts keeps every other account's projection (``sparsity="sqrt"`` changes with the number of
    accounts, and with it every projection).

    Examples
    --------
    >>> a = node_keys(IdMap(np.array([1, 2, 3])))
    >>> b = node_keys(IdMap(np.array([2, 3, 4])))
    >>> bool(a[1] == b[0] and a[2] == b[1])
    True
    """
    return id_map.hash_keys()


def _chunk_bounds(lay: Layer, n_chunks: int) -> np.ndarray:
    """Node ranges with about equal work (edges both ways + rows); a function of the graph only."""
    n = lay.n_nodes
    work = lay.out_indptr + lay.in_indptr + np.arange(n + 1)
    targets = np.linspace(0, work[-1], n_chunks + 1)
    bounds = np.searchsorted(work, targets, side="left").astype(np.int64)
    bounds[0], bounds[-1] = 0, n
    return np.maximum.accumulate(bounds)


def fastrp(
    graph: SocialGraph,
    *,
    layer: str | Layer | None = None,
    dim: int = 128,
    iteration_weights: Sequence[float] = (0.0, 1.0, 1.0),
    self_influence: float = 0.0,
    normalization_strength: float = 0.0,
    sparsity: float | str = 3.0,
    weight: bool = True,
    seed: int = 0,
    keys: np.ndarray | None = None,
) -> Embedding:
    """FastRP embeddings of every account, treating the layer as undirected (in- and out-ties).

    With ``P = D^-1 (A + A^T)`` (the random walk on the undirected layer, weighted by default),
    ``R`` a very sparse random ``n x dim`` matrix and ``L = diag(degree^beta)``::

        U_1 = P L R,   U_i = P U_(i-1),   embedding = self_influence * norm(R) + sum_i w_i * norm(U_i)

    where ``norm`` scales every row to unit L2 length (a zero row stays zero) and ``w_i`` are
    ``iteration_weights``.  The default ``(0, 1, 1)`` sums the 2- and 3-step neighbourhoods.

    Parameters
    ----------
    graph : SocialGraph
    layer : str, Layer or None
        Default: the graph's default layer (:meth:`SocialGraph.resolve_layer`).
    dim : int, default 128
        Embedding dimension.
    iteration_weights : sequence of float, default (0, 1, 1)
        Weight of step 1, 2, 3, ... (as many steps as weights; trailing steps with weight 0 are skipped).
    self_influence : float, default 0
        Weight of the account's own random vector (step 0).
    normalization_strength : float, default 0
        ``beta``: each account's random vector is scaled by ``degree ** beta`` before the first step;
        negative values give popular accounts less say in their neighbours' vectors.
    sparsity : float or "sqrt", default 3
        ``s`` of the projection: entries are ``+sqrt(s)`` and ``-sqrt(s)`` with chance ``1/(2s)`` each,
        else 0 (Achlioptas 2003 for ``s = 3``; ``"sqrt"`` is Li et al.'s very sparse ``s = sqrt(n)``,
        capped at ``dim / MIN_NONZEROS`` so that a row keeps at least :data:`MIN_NONZEROS` non-zero
        entries on average on a large graph).
    weight : bool, default True
        Use edge weights (a stronger tie pulls more).
    seed : int, default 0
        Same seed, same embedding (bit for bit, any thread count).
    keys : array of uint64, optional
        The per-account keys of the projection; default :func:`node_keys` (a hash of the external id).

    Returns
    -------
    Embedding
        ``vectors`` is ``n x dim`` float32.

    Notes
    -----
    Memory: the result (``n * dim * 4`` bytes), one scratch array of ``n x 32`` float32 (a quarter of the
    result at dim 128; two when more than one step follows the first weighted one) and one float32 per account
    and weighted step; no copy of the graph.  The columns are computed in blocks of 32 (a column of ``P U``
    needs only the same column of ``U``), in place in the result, in two passes because the normalisation
    needs whole rows: the first computes every step's row norms and keeps the raw rows of the first weighted
    step; the second starts from those and redoes only the later steps, adding each normalised.  The
    projection is generated from ``(seed, key, column)`` when needed, never stored.  Time:
    ``len(iteration_weights)`` plus the number of steps after the first weighted one sparse products of the
    undirected layer with an ``n x dim`` float32 matrix, less one block: 3.75 for the default weights at dim 128.  A ``dim`` that is not a
    multiple of 32 is computed padded (the result is then a view of the padded array).

    References
    ----------
    H. Chen, S. F. Sultan, Y. Tian, M. Chen, S. Skiena, *Fast and Accurate Network Embeddings via Very
    Sparse Random Projection*, CIKM 2019.  P. Li, T. Hastie, K. Church, *Very Sparse Random Projections*,
    KDD 2006.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["a", "a", "b", "x", "x", "y"],
    ...                                         ["b", "c", "c", "y", "z", "z"]).build()
    >>> emb = fastrp(g, dim=64, seed=1)
    >>> emb.vectors.shape, emb.vectors.dtype
    ((6, 64), dtype('float32'))
    >>> cos = lambda p, q: float(emb[p] @ emb[q] / np.linalg.norm(emb[p]) / np.linalg.norm(emb[q]))
    >>> cos("a", "b") > 0.9 and abs(cos("a", "x")) < 0.5      # same triangle vs the other triangle
    True
    """
    seed = whole_number(seed, "seed", 0)
    lay = layer_of(graph, layer)
    if int(dim) != dim or dim < 1:
        raise ParameterError(f"dim must be a positive integer, got {dim!r}")
    weights = [float(w) for w in iteration_weights]
    if not weights or not all(np.isfinite(weights)) or not np.isfinite(self_influence):
        raise ParameterError(f"iteration_weights must be a non-empty list of finite numbers, got {iteration_weights!r}")
    while weights and weights[-1] == 0.0:
        weights.pop()
    if not weights and self_influence == 0.0:
        raise ParameterError("every iteration weight and self_influence are 0: the embedding would be all zeros")
    if not np.isfinite(normalization_strength):
        raise ParameterError(f"normalization_strength must be a finite number, got {normalization_strength!r}")
    n = graph.n_nodes
    # Li et al.'s s = sqrt(n), capped so a row keeps MIN_NONZEROS non-zero entries on average: on a large graph
    # sqrt(n) alone would leave most rows empty (230k accounts, dim 128: 0.27 non-zeros a row)
    s = min(np.sqrt(max(n, 1)), max(1.0, dim / MIN_NONZEROS)) if sparsity == "sqrt" else sparsity
    if isinstance(s, str) or not (np.isfinite(s) and s >= 1.0):
        raise ParameterError(f"sparsity must be a number >= 1 or 'sqrt', got {sparsity!r}")
    use_w = bool(weight and lay.weighted)
    if use_w and (lay.out_weights < 0).any():
        raise ParameterError(f"layer '{lay.name}' has negative weights; use weight=False or layer.positive()")
    dim = int(dim)
    started = time.perf_counter()
    if keys is None:
        keys = node_keys(graph.id_map)
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    if keys.shape != (n,):
        raise ParameterError(f"keys must hold one uint64 per account ({n}), got shape {keys.shape}")
    seed64 = np.uint64(np.random.SeedSequence(int(seed)).generate_state(1, dtype=np.uint64)[0])

    strength = lay.out_strength() + lay.in_strength() if use_w else \
        (lay.out_degree() + lay.in_degree()).astype(np.float64)
    inv_strength = np.divide(1.0, strength, out=np.zeros(n), where=strength > 0).astype(np.float32)
    if normalization_strength != 0.0:
        scale = np.power(strength, normalization_strength, out=np.zeros(n), where=strength > 0)
    else:
        scale = np.ones(n)
    del strength
    ow, iw = (lay.out_weights, lay.in_weights) if use_w else (_EMPTY, _EMPTY)
    bounds = _chunk_bounds(lay, max(1, min(n, 256)))

    W = _k.WIDTH
    n_blocks = -(-dim // W)
    full = np.zeros((n, n_blocks * W), dtype=np.float32)       # the result (padded to whole blocks)
    steps = len(weights)
    first = next((i for i, w in enumerate(weights) if w != 0.0), steps)   # first weighted step (0-based)
    after = max(0, steps - 1 - first)
    sq = np.zeros((max(steps, 1), n), dtype=np.float32)
    x_buf = np.empty((n, W), dtype=np.float32)
    y_buf = np.empty((n, W), dtype=np.float32) if after >= 2 else None
    X, Y = (x_buf, 0), (y_buf, 0)

    def propagate(src, dst, i=0, norms=False):
        _k._propagate(lay.out_indptr, lay.out_indices, ow, lay.in_indptr, lay.in_indices, iw, use_w, inv_strength,
                      bounds, src[0], src[1], dst[0], dst[1], sq[i], norms, W)

    def combine(home, a, inv_a, z, b, inv_b, scale_home):
        _k._combine(home[0], home[1], a, inv_a, z[0], z[1], b, inv_b, scale_home, W)

    for c in range(n_blocks if steps else 0):
        # pass 1: every step's squared row norms; the first weighted step's raw rows stay in the block's
        # own columns H of the result; the steps before it alternate between H and X, those after it
        # between X and Y
        H = (full, c * W)
        outputs = [H if (first - i) % 2 == 0 else X for i in range(first + 1)]
        outputs += [X if (i - first) % 2 == 1 else Y for i in range(first + 1, steps)]
        src = X if outputs[0] is H else H
        _k._projection(keys, seed64, c * W, min(W, dim - c * W), float(s), scale, src[0], src[1], W)
        for i in range(steps):
            propagate(src, outputs[i], i, norms=i >= first and weights[i] != 0.0)
            src = outputs[i]
    inv_norm = sq                                # 1 / row norm, in place (0 for a zero row)
    positive = sq > 0
    np.sqrt(sq, out=sq)
    np.divide(1.0, sq, out=inv_norm, where=positive)
    del positive
    done = -1
    if steps and after == 1:
        # the last block still has both weighted steps at hand (H and X): finish it without a second pass
        done = n_blocks - 1
        combine((full, done * W), weights[first], inv_norm[first], X, weights[first + 1], inv_norm[first + 1], True)
    for c in range(n_blocks if steps else 0):
        # pass 2: from the kept step, the later steps again (steps are linear: the kept rows stand in for
        # every step before them), each added normalised
        if c == done:
            continue
        H = (full, c * W)
        if after == 0:
            combine(H, weights[first], inv_norm[first], H, 0.0, inv_norm[first], True)
            continue
        propagate(H, X)
        combine(H, weights[first], inv_norm[first], X, weights[first + 1], inv_norm[first + 1], True)
        src = X
        for i in range(first + 2, steps):
            dst = Y if src is X else X
            propagate(src, dst)
            if weights[i] != 0.0:
                combine(H, 1.0, inv_norm[i], dst, weights[i], inv_norm[i], False)
            src = dst
    if self_influence != 0.0:
        r_sq = _k._projection_norms(keys, seed64, dim, float(s))
        factor = np.divide(1.0, np.sqrt(r_sq), out=np.zeros(n), where=r_sq > 0).astype(np.float32)
        ones = np.ones(n)
        for c in range(n_blocks):
            _k._projection(keys, seed64, c * W, min(W, dim - c * W), float(s), ones, x_buf, 0, W)
            combine((full, c * W), 1.0, factor, X, float(self_influence), factor, False)
    out = full if full.shape[1] == dim else full[:, :dim]
    info = {"layer": lay.name, "dim": dim, "iteration_weights": tuple(float(w) for w in iteration_weights),
            "self_influence": float(self_influence), "normalization_strength": float(normalization_strength),
            "sparsity": float(s), "weighted": use_w, "seed": int(seed), "seconds": time.perf_counter() - started}
    return Embedding(out, graph.id_map, info)
