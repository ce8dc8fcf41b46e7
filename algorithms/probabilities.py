"""Edge propagation probabilities for the diffusion models: a model choice, never hard-wired.

Probabilities are returned aligned with a layer's **in-edge** arrays
(``layer.in_indices``), the order reverse-reachable sampling walks them.

Models (``model=`` strings, as on the command line):

* ``"wc"`` -- weighted cascade: ``p(u, v) = w(u, v) / sum of w(., v)`` (each
  person is influenced in proportion to how much of their attention the
  sender gets; ``1 / in-degree`` on an unweighted layer);
* ``"const:P"`` -- the same ``P`` on every edge, e.g. ``"const:0.01"``;
* ``"trivalency"`` -- each edge draws one of 0.1, 0.01, 0.001 at random
  (seeded).

The model learned from the interaction log arrives with the simulation work.
"""

from __future__ import annotations

import numpy as np

from graphcrm.core.errors import ParameterError
from graphcrm.core.graph import Layer

TRIVALENCY = (0.1, 0.01, 0.001)


def edge_probabilities(layer: Layer, model: str = "wc", *, seed: int = 0) -> np.ndarray:
    """Propagation probability of every in-edge of ``layer`` under ``model``.

    Examples
    --------
    >>> from graphcrm.core.graph import Layer
    >>> lay = Layer.from_edges(3, [0, 1, 0], [2, 2, 1], spec="x")
    >>> edge_probabilities(lay, "wc").tolist()     # in-edges of 1: (0); of 2: (0, 1)
    [1.0, 0.5, 0.5]
    >>> edge_probabilities(lay, "const:0.2").tolist()
    [0.2, 0.2, 0.2]
    """
    if model == "wc":
        w = layer.in_data()
        if (w < 0).any():
            raise ParameterError(f"layer '{layer.name}' has negative weights; weighted cascade needs weights >= 0")
        totals = layer.in_strength()
        per_edge_total = np.repeat(totals, layer.in_degree())
        return np.divide(w, per_edge_total, out=np.zeros(len(w)), where=per_edge_total > 0)
    if model.startswith("const:"):
        try:
            p = float(model.split(":", 1)[1])
        except ValueError:
            raise ParameterError(f"model {model!r}: expected const:P with a number P, e.g. const:0.01") from None
        if not 0.0 <= p <= 1.0:
            raise ParameterError(f"model {model!r}: P must be in [0, 1]")
        return np.full(layer.n_edges, p)
    if model == "trivalency":
        rng = np.random.default_rng(seed)
        return np.asarray(TRIVALENCY)[rng.integers(0, 3, layer.n_edges)]
    raise ParameterError(f"unknown probability model {model!r}; use 'wc', 'const:P' or 'trivalency'")
