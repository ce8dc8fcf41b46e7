"""Edge propagation probabilities for the diffusion models: a model choice, never hard-wired.

Probabilities are returned aligned with a layer's in-edge arrays (the order
reverse-reachable sampling walks them) or its out-edge arrays (forward
simulation).

Models (``model=`` strings, as on the command line):

* ``"wc"`` -- weighted cascade: ``p(u, v) = w(u, v) / sum of w(., v)`` (each
  person is influenced in proportion to how much of their attention the
  sender gets; ``1 / in-degree`` on an unweighted layer);
* ``"const:P"`` -- the same ``P`` on every edge, e.g. ``"const:0.01"``;
* ``"trivalency"`` -- each edge draws one of 0.1, 0.01, 0.001 at random
  (seeded, from the edge's ends, so the draw does not depend on array order).

The model learned from the interaction log arrives with the simulation work.
"""

from __future__ import annotations

import numpy as np

from graphcrm.core.errors import ParameterError
from graphcrm.core.graph import Layer

TRIVALENCY = (0.1, 0.01, 0.001)


def edge_probabilities(layer: Layer, model: str = "wc", *, seed: int = 0, side: str = "in") -> np.ndarray:
    """Propagation probability of every edge of ``layer`` under ``model``.

    Parameters
    ----------
    side : {"in", "out"}
        Align with the in-edge arrays (``layer.in_indices``, what
        reverse-reachable sampling walks) or the out-edge arrays (forward
        simulation).  An edge gets the same probability on both sides.

    Examples
    --------
    >>> from graphcrm.core.graph import Layer
    >>> lay = Layer.from_edges(3, [0, 1, 0], [2, 2, 1], spec="x")
    >>> edge_probabilities(lay, "wc").tolist()     # in-edges of 1: (0); of 2: (0, 1)
    [1.0, 0.5, 0.5]
    >>> edge_probabilities(lay, "wc", side="out").tolist()   # out-edges of 0: (1, 2); of 1: (2)
    [1.0, 0.5, 0.5]
    >>> edge_probabilities(lay, "const:0.2").tolist()
    [0.2, 0.2, 0.2]
    """
    if side not in ("in", "out"):
        raise ParameterError(f"side must be 'in' or 'out', got {side!r}")
    if side == "in":
        heads = np.repeat(np.arange(layer.n_nodes), layer.in_degree())   # the edge's target
        tails = layer.in_indices                                           # the edge's source
        w = layer.in_data()
    else:
        tails = np.repeat(np.arange(layer.n_nodes), layer.out_degree())
        heads = layer.out_indices
        w = layer.out_data()
    if model == "wc":
        if (w < 0).any():
            raise ParameterError(f"layer '{layer.name}' has negative weights; weighted cascade needs weights >= 0")
        totals = layer.in_strength()[heads]
        return np.divide(w, totals, out=np.zeros(len(w)), where=totals > 0)
    if model.startswith("const:"):
        try:
            p = float(model.split(":", 1)[1])
        except ValueError:
            raise ParameterError(f"model {model!r}: expected const:P with a number P, e.g. const:0.01") from None
        if not 0.0 <= p <= 1.0:
            raise ParameterError(f"model {model!r}: P must be in [0, 1]")
        return np.full(layer.n_edges, p)
    if model == "trivalency":
        return np.asarray(TRIVALENCY)[_edge_hash(tails, heads, seed) % np.uint64(3)]
    raise ParameterError(f"unknown probability model {model!r}; use 'wc', 'const:P' or 'trivalency'")


def lt_weights(layer: Layer, model: str = "wc", *, seed: int = 0, side: str = "in") -> np.ndarray:
    """Linear Threshold edge weights from any probability model: ``p(u, v)``, scaled down where they sum past 1.

    LT needs each account's in-weights to sum to at most 1; where the model's
    probabilities sum to more (``const:0.5`` on a popular account), they are
    divided by their sum.  Weighted cascade already sums to 1.

    Examples
    --------
    >>> from graphcrm.core.graph import Layer
    >>> lay = Layer.from_edges(3, [0, 1, 0], [2, 2, 1], spec="x")
    >>> lt_weights(lay, "const:0.8").tolist()     # in-edges of 1: (0); of 2: (0, 1) -> 0.8 / 1.6 each
    [0.8, 0.5, 0.5]
    """
    p = edge_probabilities(layer, model, seed=seed, side="in")
    heads = np.repeat(np.arange(layer.n_nodes), layer.in_degree())
    totals = np.bincount(heads, weights=p, minlength=layer.n_nodes)
    scale = np.maximum(totals, 1.0)
    w_in = p / scale[heads]
    if side == "in":
        return w_in
    if side != "out":
        raise ParameterError(f"side must be 'in' or 'out', got {side!r}")
    return w_in[_in_to_out_order(layer)]


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
