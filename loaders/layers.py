"""Layer conventions: influence direction, type weights and duplicate rules.

**Direction means influence.**  An edge ``u -> v`` in any layer of a
:class:`~graphcrm.loaders.graph.SocialGraph` means *u can influence v*
(information flows from u to v).  Sources describe rows as
``(actor, target)`` -- "actor follows / retweets / replies to / likes /
mentions / rates target" -- and each layer type says how such a row becomes an
influence edge:

==========  ===========  ======================================  ============
layer       row a, b     influence edge                          type weight
==========  ===========  ======================================  ============
follows     a follows b  b -> a  (``reverse``)                   0 (structure)
retweets    a RT b       b -> a  (``reverse``)                   1.0
replies     a replies b  b -> a  (``reverse``)                   0.7
mentions    a mentions b a -> b  (``forward``)                   0.5
likes       a likes b    b -> a  (``reverse``)                   0.2
trust       a rates b    b -> a  (``reverse``; signed)           0 (signed)
friends     a, b friends a <-> b (``undirected``: both arcs)     0 (structure)
other names a, b         a -> b  (``forward``)                   0
==========  ===========  ======================================  ============

Every default can be overridden per load (``direction=...``) or per call
(``type_weights=...``).

**Duplicates** (the same ``actor, target`` pair on several rows) aggregate
into one edge: interaction layers *sum* their weights (each row counts 1, so
the weight is the number of interactions), ``follows`` keeps the *max* (a
follow is a follow), ``trust`` takes the *mean* rating.  Sums are computed in
sorted order, so the result does not depend on the order of the input rows.

**Self-loops** (``a, a``) are dropped by default and counted in the build
report: nobody influences themselves.  Pass ``self_loops="keep"`` to keep
them, ``"error"`` to reject them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from graphcrm.loaders.errors import ParameterError

Direction = Literal["forward", "reverse"]
AGGREGATIONS = ("sum", "mean", "max", "min")
SELF_LOOP_POLICIES = ("drop", "keep", "error")
INTERACTION_TYPES = ("retweets", "replies", "mentions", "likes")


def counts_repeats(spec) -> bool:
    """Whether repeated unweighted rows of this layer add up (an interaction type: three retweets of the same
    account weigh 3) rather than collapse into one tie (a plain edge list -- follows, a custom layer -- is
    read as a simple graph, as networkx and igraph read it).

    >>> counts_repeats(spec_for("retweets")), counts_repeats(spec_for("follows")), counts_repeats(spec_for("x"))
    (True, False, False)
    """
    return spec.aggregate == "sum" and spec.name in INTERACTION_TYPES


@dataclass(frozen=True)
class LayerSpec:
    """How rows of one layer type become weighted influence edges.

    Parameters
    ----------
    name : str
        Layer name (``follows``, ``retweets``, ...).
    direction : {"forward", "reverse"}
        ``forward``: row ``(a, b)`` gives influence edge ``a -> b``;
        ``reverse``: it gives ``b -> a``.
    type_weight : float
        Weight of one interaction of this type in the combined
        interaction-strength layer (0 keeps the layer out of it).
    aggregate : {"sum", "mean", "max", "min"}
        How duplicate edges combine.
    signed : bool
        Weights carry a sign (supporter > 0 > critic).
    undirected : bool
        Each row is a tie both ways (friendship, co-authorship): stored as two
        arcs, counted once by :attr:`Layer.n_ties`, degree and coreness.
    """

    name: str
    direction: Direction = "forward"
    type_weight: float = 0.0
    aggregate: str = "sum"
    signed: bool = False
    undirected: bool = False

    def __post_init__(self):
        if self.direction not in ("forward", "reverse"):
            raise ParameterError(
                f"layer '{self.name}': direction must be 'forward' or 'reverse', got {self.direction!r}"
            )
        if self.aggregate not in AGGREGATIONS:
            raise ParameterError(
                f"layer '{self.name}': aggregate must be one of {AGGREGATIONS}, got {self.aggregate!r}"
            )

    def with_overrides(self, **changes) -> "LayerSpec":
        """A copy with some fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


DEFAULT_SPECS: dict[str, LayerSpec] = {
    "follows": LayerSpec("follows", "reverse", 0.0, "max"),
    "retweets": LayerSpec("retweets", "reverse", 1.0, "sum"),
    "replies": LayerSpec("replies", "reverse", 0.7, "sum"),
    "mentions": LayerSpec("mentions", "forward", 0.5, "sum"),
    "likes": LayerSpec("likes", "reverse", 0.2, "sum"),
    "trust": LayerSpec("trust", "reverse", 0.0, "mean", signed=True),
    "friends": LayerSpec("friends", "forward", 0.0, "max", undirected=True),
}

#: name of the combined interaction-strength layer
STRENGTH_LAYER = "strength"

#: default half-life of the time decay in the interaction strength (seconds)
DEFAULT_HALF_LIFE = 7 * 24 * 3600.0


def near_conventional(name: str) -> str | None:
    """The conventional layer ``name`` is a near miss of (another case, singular), or None.

    Layer names are case-sensitive: ``Follows`` is a custom layer with the default forward direction, the
    opposite of ``follows``.

    >>> near_conventional("Follows"), near_conventional("follow"), near_conventional("follows"), near_conventional("votes")
    ('follows', 'follows', None, None)
    """
    if name in DEFAULT_SPECS:
        return None
    key = name.strip().lower().rstrip("s")
    return next((known for known in DEFAULT_SPECS if known.rstrip("s") == key), None)


def spec_for(name: str, **overrides) -> LayerSpec:
    """The conventional spec of layer ``name`` with ``overrides`` applied.

    Examples
    --------
    >>> spec_for("mentions").direction
    'forward'
    >>> spec_for("follows", direction="forward").direction
    'forward'
    >>> spec_for("votes").direction
    'forward'
    """
    base = DEFAULT_SPECS.get(name, LayerSpec(name))
    return base.with_overrides(**overrides)


def default_type_weights() -> dict[str, float]:
    """Default weight of one interaction of each type in the strength layer."""
    return {name: s.type_weight for name, s in DEFAULT_SPECS.items() if s.type_weight > 0}
