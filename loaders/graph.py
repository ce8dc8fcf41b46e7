"""The one graph type: :class:`SocialGraph`, its :class:`Layer` s and :class:`EventLog` s."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np

from graphcrm.loaders.errors import InvalidInputError, LayerNotFoundError, ParameterError
from graphcrm.loaders.idmap import INDEX_DTYPE, IdMap
from graphcrm.loaders.layers import (
    DEFAULT_HALF_LIFE,
    INTERACTION_TYPES,
    STRENGTH_LAYER,
    LayerSpec,
    default_type_weights,
    spec_for,
)

if TYPE_CHECKING:  # pandas is imported where a table is built, not to open a graph
    import pandas as pd

INDPTR_DTYPE = np.int64
WEIGHT_DTYPE = np.float64
TIME_DTYPE = np.int64


def _kernels():
    """The graph-building kernels, imported on first use: opening a snapshot (``graphcrm info``) needs no numba."""
    from graphcrm.loaders import _kernels as kernels

    return kernels


def _frozen(a, dtype):
    """``a`` as a C-contiguous read-only array of ``dtype``.

    An array that already has the right dtype and layout is not copied: it is
    made read-only in place (graphs are immutable, and copying would double
    the memory of a large graph).
    """
    a = np.ascontiguousarray(a, dtype=dtype)
    a.flags.writeable = False
    return a


def _same_array(a, b) -> bool:
    """Both None, or equal arrays (NaN equal to NaN)."""
    if a is None or b is None:
        return a is None and b is None
    return np.array_equal(a, b, equal_nan=a.dtype.kind == "f" and b.dtype.kind == "f")


@dataclass(frozen=True, eq=False)
class EventLog:
    """The timestamped rows behind a layer, kept for time windows and decay.

    All arrays have one entry per event, sorted by ``(time, src, dst)``.
    ``src -> dst`` is already in influence direction.

    Attributes
    ----------
    src, dst : int32 arrays
    time : int64 array
        Unix seconds.
    weight : float64 array or None
        Per-event weight (``None``: every event counts 1).
    sentiment : float64 array or None
        Per-event sentiment / sign in [-1, 1] where the source has one.
    extra : pyarrow.Table or None
        Per-event message columns where the source has them (one row per
        event, same order): ``topics`` (list of lower-case strings),
        ``message_id``, ``parent_id`` and ``text`` (strings, null where
        absent).  No algorithm reads them; :mod:`graphcrm.loaders.topics`
        restricts a graph to the events of a topic.  ``None``: no message
        columns.
    """

    src: np.ndarray
    dst: np.ndarray
    time: np.ndarray
    weight: np.ndarray | None = None
    sentiment: np.ndarray | None = None
    extra: object = None

    def __post_init__(self):
        object.__setattr__(self, "src", _frozen(self.src, INDEX_DTYPE))
        object.__setattr__(self, "dst", _frozen(self.dst, INDEX_DTYPE))
        object.__setattr__(self, "time", _frozen(self.time, TIME_DTYPE))
        for name in ("weight", "sentiment"):
            val = getattr(self, name)
            if val is not None:
                object.__setattr__(self, name, _frozen(val, WEIGHT_DTYPE))
        n = len(self.src)
        for name in ("dst", "time", "weight", "sentiment"):
            val = getattr(self, name)
            if val is not None and len(val) != n:
                raise InvalidInputError(f"event log: '{name}' has {len(val)} entries, expected {n}")
        if self.extra is not None and self.extra.num_rows != n:
            raise InvalidInputError(f"event log: the message columns have {self.extra.num_rows} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.src)

    @property
    def values(self) -> np.ndarray:
        """Per-event weight (ones when the log has none)."""
        return self.weight if self.weight is not None else _frozen(np.ones(len(self)), WEIGHT_DTYPE)

    @property
    def nbytes(self) -> int:
        arrays = sum(a.nbytes for a in (self.src, self.dst, self.time, self.weight, self.sentiment) if a is not None)
        return arrays + (self.extra.nbytes if self.extra is not None else 0)

    def select(self, mask: np.ndarray) -> "EventLog":
        """The events where ``mask`` is true."""
        pick = lambda a: None if a is None else a[mask]  # noqa: E731
        extra = None
        if self.extra is not None:
            import pyarrow as pa

            mask = np.asarray(mask)
            extra = self.extra.filter(pa.array(mask)) if mask.dtype == bool else self.extra.take(pa.array(mask))
        return EventLog(self.src[mask], self.dst[mask], self.time[mask], pick(self.weight), pick(self.sentiment),
                        extra)

    def equals(self, other: "EventLog") -> bool:
        fields = ("src", "dst", "time", "weight", "sentiment")
        if not all(_same_array(getattr(self, f), getattr(other, f)) for f in fields):
            return False
        if (self.extra is None) != (other.extra is None):
            return False
        return self.extra is None or self.extra.equals(other.extra)


@dataclass(frozen=True, eq=False)
class Layer:
    """One typed edge layer over the graph's node set.

    Out-edges are stored as CSR (``out_indptr``, ``out_indices``,
    ``out_weights``) and in-edges as CSC (``in_*``), each row sorted by
    neighbour, so both directions are available without a copy.  dtypes are
    fixed: ``int64`` indptr, ``int32`` indices, ``float64`` weights.  An
    unweighted layer stores no weight arrays (every edge weighs 1).

    Memory per stored edge: 8 bytes unweighted, 24 bytes weighted (both
    directions), plus 16 bytes per node for the two indptr arrays.
    """

    spec: LayerSpec
    out_indptr: np.ndarray
    out_indices: np.ndarray
    out_weights: np.ndarray | None
    in_indptr: np.ndarray
    in_indices: np.ndarray
    in_weights: np.ndarray | None
    events: EventLog | None = None
    build_report: Mapping = field(default_factory=dict)

    def __post_init__(self):
        for name, dtype in (
            ("out_indptr", INDPTR_DTYPE),
            ("in_indptr", INDPTR_DTYPE),
            ("out_indices", INDEX_DTYPE),
            ("in_indices", INDEX_DTYPE),
        ):
            object.__setattr__(self, name, _frozen(getattr(self, name), dtype))
        for name in ("out_weights", "in_weights"):
            val = getattr(self, name)
            if val is not None:
                object.__setattr__(self, name, _frozen(val, WEIGHT_DTYPE))
        if (self.out_weights is None) != (self.in_weights is None):
            raise InvalidInputError(f"layer '{self.name}': weights must be given for both directions or neither")
        object.__setattr__(self, "build_report", MappingProxyType(dict(self.build_report)))

    # -- basic facts -------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def n_nodes(self) -> int:
        return len(self.out_indptr) - 1

    @property
    def n_edges(self) -> int:
        return len(self.out_indices)

    @property
    def weighted(self) -> bool:
        return self.out_weights is not None

    @property
    def undirected(self) -> bool:
        """Whether every tie is stored as two arcs (a friendship layer)."""
        return bool(self.spec.undirected)

    @property
    def n_ties(self) -> int:
        """Ties as the source counts them: arcs on a directed layer, each pair once on an undirected one."""
        if not self.undirected:
            return self.n_edges
        loops = int(np.count_nonzero(np.repeat(np.arange(self.n_nodes), self.out_degree()) == self.out_indices))
        return (self.n_edges + loops) // 2

    @property
    def loop_free(self) -> bool:
        """True when the build report shows that no self-loop is stored (False when it does not say)."""
        report = self.build_report
        return "self_loops" in report and report["self_loops"] == report.get("self_loops_dropped", 0)

    @property
    def nbytes(self) -> int:
        """Bytes held by the CSR and CSC arrays (not the event log)."""
        arrays = (self.out_indptr, self.out_indices, self.out_weights, self.in_indptr, self.in_indices, self.in_weights)
        return int(sum(a.nbytes for a in arrays if a is not None))

    def __repr__(self) -> str:
        w = "weighted" if self.weighted else "unweighted"
        ev = f", {len(self.events)} events" if self.events is not None else ""
        return f"Layer({self.name!r}, {self.n_nodes} nodes, {self.n_edges} edges, {w}{ev})"

    def out_data(self) -> np.ndarray:
        """Out-edge weights, ones for an unweighted layer (allocated on call)."""
        return self.out_weights if self.weighted else _frozen(np.ones(self.n_edges), WEIGHT_DTYPE)

    def in_data(self) -> np.ndarray:
        """In-edge weights, ones for an unweighted layer (allocated on call)."""
        return self.in_weights if self.weighted else _frozen(np.ones(self.n_edges), WEIGHT_DTYPE)

    def out_degree(self) -> np.ndarray:
        return np.diff(self.out_indptr)

    def in_degree(self) -> np.ndarray:
        return np.diff(self.in_indptr)

    def out_strength(self) -> np.ndarray:
        """Sum of out-edge weights per node."""
        if not self.weighted:
            return self.out_degree().astype(WEIGHT_DTYPE)
        return np.add.reduceat(np.append(self.out_weights, 0.0), self.out_indptr[:-1]) * (self.out_degree() > 0)

    def in_strength(self) -> np.ndarray:
        """Sum of in-edge weights per node."""
        if not self.weighted:
            return self.in_degree().astype(WEIGHT_DTYPE)
        return np.add.reduceat(np.append(self.in_weights, 0.0), self.in_indptr[:-1]) * (self.in_degree() > 0)

    def edge_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(src, dst, weight)`` of every edge, in CSR order (new arrays)."""
        src = np.repeat(np.arange(self.n_nodes, dtype=INDEX_DTYPE), self.out_degree())
        return src, self.out_indices.copy(), self.out_data().copy()

    def reversed(self) -> "Layer":
        """The same layer with every edge turned around (no copy of arrays)."""
        return Layer(
            self.spec,
            self.in_indptr,
            self.in_indices,
            self.in_weights,
            self.out_indptr,
            self.out_indices,
            self.out_weights,
            None if self.events is None else EventLog(
                self.events.dst, self.events.src, self.events.time, self.events.weight, self.events.sentiment,
                self.events.extra,
            ),
            self.build_report,
        )

    def positive(self) -> "Layer":
        """The edges with positive weight (for a signed layer: trust, support), and the positive events.

        Influence flows along positive ties; scores such as PageRank need
        non-negative weights.  The event log, where there is one, keeps the
        events of positive value (a positive rating, not a negative one), so
        probabilities learned from it see the positive interactions only.  An
        unsigned layer is returned as it is.
        """
        if not self.weighted or not (self.out_weights <= 0).any():
            return self
        src, dst, w = self.edge_arrays()
        keep = w > 0
        events = None if self.events is None else self.events.select(self.events.values > 0)
        return Layer.from_edges(self.n_nodes, src[keep], dst[keep], w[keep], spec=self.spec, self_loops="keep",
                                events=events)

    def equals(self, other: "Layer") -> bool:
        """Same spec, same edges and weights, same events."""
        arrays = ("out_indptr", "out_indices", "out_weights", "in_indptr", "in_indices", "in_weights")
        if self.spec != other.spec or not all(_same_array(getattr(self, a), getattr(other, a)) for a in arrays):
            return False
        if (self.events is None) != (other.events is None):
            return False
        return self.events is None or self.events.equals(other.events)

    # -- derived data ------------------------------------------------------
    def derived(self, key, build):
        """``build()``, computed on first use and kept with this layer (e.g. a locality order of its rows).

        A layer is immutable, so anything computed from its arrays alone stays valid for its lifetime; a new
        snapshot version has new layers and recomputes.  Nothing is written to disk and :attr:`nbytes` does
        not count it.  Two threads asking at once may both build it (the values are equal; one is kept).

        Parameters
        ----------
        key : hashable
            Names the value, including every option it depends on.
        build : callable
            No arguments; returns the value.
        """
        cache = self.__dict__.get("_derived")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_derived", cache)
        if key not in cache:
            cache[key] = build()
        return cache[key]

    @classmethod
    def from_edges(
        cls,
        n_nodes: int,
        src,
        dst,
        weights=None,
        *,
        spec: LayerSpec | str,
        self_loops: str = "drop",
        events: EventLog | None = None,
        check_ids: bool = True,
    ) -> "Layer":
        """Build a layer from dense-id edge arrays already in influence direction.

        Parameters
        ----------
        n_nodes : int
            Size of the node set.
        src, dst : array-like of int
            Dense ids, ``0 <= id < n_nodes``.
        weights : array-like of float, optional
            Edge weights; omitted means an unweighted layer.
        spec : LayerSpec or str
            Layer spec or a layer name (conventional spec).
        self_loops : {"drop", "keep"}
            Self-loop policy (``"error"`` is enforced by the loaders).
        events : EventLog, optional
            The timestamped rows behind the edges.
        check_ids : bool, default True
            Check that every id is in ``[0, n_nodes)`` (the builder, which
            makes the ids itself, skips this pass).

        Examples
        --------
        >>> layer = Layer.from_edges(3, [0, 0, 1], [1, 1, 2], spec="retweets")
        >>> layer.n_edges, layer.out_weights is None
        (2, True)
        """
        spec = spec_for(spec) if isinstance(spec, str) else spec
        src = np.ascontiguousarray(src, dtype=INDEX_DTYPE)
        dst = np.ascontiguousarray(dst, dtype=INDEX_DTYPE)
        if len(src) != len(dst):
            raise InvalidInputError(f"layer '{spec.name}': {len(src)} sources but {len(dst)} targets")
        if check_ids and len(src) and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n_nodes):
            raise InvalidInputError(f"layer '{spec.name}': edge ends must be dense ids in [0, {n_nodes})")
        has_w = weights is not None
        w = np.ascontiguousarray(weights, dtype=WEIGHT_DTYPE) if has_w else _kernels()._EMPTY_F64
        if has_w and len(w) != len(src):
            raise InvalidInputError(f"layer '{spec.name}': {len(w)} weights for {len(src)} edges")
        if has_w and not np.isfinite(w).all():
            raise InvalidInputError(f"layer '{spec.name}': weights must be finite numbers")
        agg = {"sum": _kernels().AGG_SUM, "mean": _kernels().AGG_MEAN, "max": _kernels().AGG_MAX, "min": _kernels().AGG_MIN}
        oi, ox, ow, ii, ix, iw, n_dup, n_self = _kernels()._build_layer(
            int(n_nodes), src, dst, w, has_w, agg[spec.aggregate], self_loops == "keep"
        )
        report = {
            "rows": int(len(src)),
            "duplicates_aggregated": int(n_dup),
            "self_loops": int(n_self),
            "self_loops_dropped": int(n_self if self_loops != "keep" else 0),
        }
        return cls(spec, oi, ox, ow if has_w else None, ii, ix, iw if has_w else None, events, report)


class SocialGraph:
    """An immutable multi-layer influence graph over one set of accounts.

    Parameters
    ----------
    id_map : IdMap
        External ids; dense index ``i`` is ``id_map.ids[i]``.
    layers : mapping of str to Layer
        Named layers, all over ``len(id_map)`` nodes.
    nodes : pandas.DataFrame, optional
        Node attributes, one row per dense index (index ``0..n-1``).
    metadata : dict, optional
        Free-form provenance (sources, build reports).

    Notes
    -----
    Every edge ``u -> v`` means *u can influence v*; see
    :mod:`graphcrm.loaders.layers` for the per-type conventions.  Build graphs
    with the loaders (``graphcrm.loaders.load_edges`` ...) or
    :class:`graphcrm.loaders.builder.GraphBuilder`.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["ann", "bob"], ["bob", "cat"]).build()
    >>> g
    SocialGraph(3 nodes; follows: 2 edges)
    >>> g.edges("follows").to_dict("list")  # "ann follows bob" -> bob influences ann
    {'src': ['bob', 'cat'], 'dst': ['ann', 'bob'], 'weight': [1.0, 1.0]}
    """

    __slots__ = ("_id_map", "_layers", "_nodes", "_metadata", "_default_strength")

    def __init__(self, id_map: IdMap, layers: Mapping[str, Layer], nodes: pd.DataFrame | None = None, metadata=None):
        n = len(id_map)
        for name, layer in layers.items():
            if layer.n_nodes != n:
                raise InvalidInputError(f"layer '{name}' has {layer.n_nodes} nodes, the graph has {n}")
            if layer.name != name:
                raise InvalidInputError(f"layer stored as '{name}' is named '{layer.name}'")
        if nodes is not None and len(nodes) != n:
            raise InvalidInputError(f"node table has {len(nodes)} rows, the graph has {n} nodes")
        if nodes is not None:  # None or no columns: no attributes (kept as None, so no pandas until asked for)
            nodes = nodes.reset_index(drop=True) if len(nodes.columns) else None
        self._id_map = id_map
        self._layers = MappingProxyType(dict(sorted(layers.items())))
        self._nodes = nodes     # pandas.DataFrame of attributes, or None for none
        self._metadata = MappingProxyType(dict(metadata or {}))
        self._default_strength = None     # interaction_strength() with its defaults, built on first use

    # -- read-only views ---------------------------------------------------
    @property
    def id_map(self) -> IdMap:
        return self._id_map

    @property
    def n_nodes(self) -> int:
        return len(self._id_map)

    @property
    def layers(self) -> Mapping[str, Layer]:
        return self._layers

    @property
    def layer_names(self) -> list[str]:
        return list(self._layers)

    @property
    def nodes(self) -> pd.DataFrame:
        """Node attributes with an ``account_id`` column first (a copy)."""
        df = self.node_attributes
        df.insert(0, "account_id", self._id_map.ids)
        return df

    @property
    def node_attributes(self) -> pd.DataFrame:
        """Node attributes indexed by dense id, without the id column (a copy)."""
        if self._nodes is None:
            import pandas as pd

            return pd.DataFrame(index=pd.RangeIndex(self.n_nodes))
        return self._nodes.copy()

    @property
    def node_attribute_names(self) -> list[str]:
        """Names of the node attribute columns (without building a table)."""
        return [] if self._nodes is None else [str(c) for c in self._nodes.columns]

    @property
    def metadata(self) -> dict:
        """Provenance (sources, load reports): a copy, so the graph cannot be changed through it."""
        return copy.deepcopy(dict(self._metadata))

    def layer(self, name: str) -> Layer:
        """The layer called ``name``.

        Raises
        ------
        LayerNotFoundError
            Listing the layers the graph has.
        """
        try:
            return self._layers[name]
        except (KeyError, TypeError):        # TypeError: a list or another unhashable thing given as the name
            have = ", ".join(self._layers) or "none"
            if not isinstance(name, str):
                raise LayerNotFoundError(f"a layer is named by one string, got {name!r} (layers: {have})") from None
            raise LayerNotFoundError(f"no layer '{name}' in this graph (layers: {have})") from None

    def default_layer(self) -> "str | Layer":
        """The layer scores, simulations and segments use when none is named.

        The combined, time-decayed interaction strength (:meth:`interaction_strength`) when the
        graph has any interaction layer; else ``"follows"``; else the graph's only layer.

        Raises
        ------
        ParameterError
            When the graph has several layers and none of those rules picks one.

        Examples
        --------
        >>> from graphcrm.loaders.builder import GraphBuilder
        >>> GraphBuilder().add_edges("follows", ["a"], ["b"]).build().default_layer()
        'follows'
        """
        if any(name in INTERACTION_TYPES for name in self.layer_names):
            return self.interaction_strength()
        if "follows" in self._layers:
            return "follows"
        if len(self._layers) == 1:
            return self.layer_names[0]
        if not self._layers:
            raise ParameterError("this graph has no layers (no ties or interactions were loaded)")
        raise ParameterError(f"several layers ({', '.join(self.layer_names)}): name the one to rank on")

    def resolve_layer(self, layer: "str | Layer | None" = None) -> Layer:
        """``layer`` as a :class:`Layer`: a Layer as given, a name looked up, ``None`` the :meth:`default_layer`.

        Every function that takes ``layer=`` accepts all three through this method.

        Examples
        --------
        >>> from graphcrm.loaders.builder import GraphBuilder
        >>> g = GraphBuilder().add_edges("follows", ["a"], ["b"]).build()
        >>> g.resolve_layer().name, g.resolve_layer("follows") is g.resolve_layer(g.layer("follows"))
        ('follows', True)

        ``"strength"`` names the combined interaction strength (the default of a graph with interactions) unless
        the graph stores a layer of that name.
        """
        if layer is None:
            layer = self.default_layer()
        if (isinstance(layer, str) and layer == STRENGTH_LAYER and layer not in self._layers
                and any(name in INTERACTION_TYPES for name in self.layer_names)):
            return self.interaction_strength()          # the default layer, by the name the outputs give it
        if isinstance(layer, Layer):
            if layer.n_nodes != self.n_nodes:           # another graph's layer: its ids index past this one
                raise ParameterError(f"layer '{layer.name}' has {layer.n_nodes:,} accounts and this graph "
                                     f"{self.n_nodes:,}: it belongs to another graph (a subgraph?); pass a layer "
                                     "of this graph (graph.layer(name)) or run on the graph it came from")
            return layer
        if not isinstance(layer, str):
            raise ParameterError(f"layer must be a layer name, a Layer of this graph or None, got "
                                 f"{type(layer).__name__}")
        return self.layer(layer)

    def __repr__(self) -> str:
        parts = "; ".join(f"{k}: {v.n_edges} edges" for k, v in self._layers.items()) or "no layers"
        return f"SocialGraph({self.n_nodes} nodes; {parts})"

    def __len__(self) -> int:
        return self.n_nodes

    @property
    def nbytes(self) -> int:
        """Bytes of all layer arrays, event logs, ids and node attributes."""
        total = self._id_map.nbytes
        if self._nodes is not None:
            total += int(self._nodes.memory_usage(deep=True).sum())
        for layer in self._layers.values():
            total += layer.nbytes + (layer.events.nbytes if layer.events is not None else 0)
        return total

    def equals(self, other: "SocialGraph") -> bool:
        """Same ids, layers (edges, weights, events) and node attributes."""
        if self._id_map != other._id_map or list(self._layers) != list(other._layers):
            return False
        if not all(self._layers[k].equals(other._layers[k]) for k in self._layers):
            return False
        if self._nodes is None or other._nodes is None:
            return self._nodes is None and other._nodes is None
        return self._nodes.equals(other._nodes)

    # -- ids -----------------------------------------------------------------
    def index_of(self, external_ids) -> np.ndarray:
        """Dense indices of external ids (raises ``NodeNotFoundError``)."""
        return self._id_map.to_dense(external_ids)

    def ids_of(self, dense) -> np.ndarray:
        """External ids of dense indices."""
        return self._id_map.to_external(dense)

    # -- tables ----------------------------------------------------------------
    def edges(self, layer: str) -> pd.DataFrame:
        """Edges of ``layer`` as a DataFrame ``src, dst, weight`` with external ids.

        Rows are in CSR order (by source, then target dense index).
        """
        lay = self.layer(layer)
        src, dst, w = lay.edge_arrays()
        ids = self._id_map.ids
        import pandas as pd

        return pd.DataFrame({"src": ids[src], "dst": ids[dst], "weight": w})

    def events(self, layer: str) -> pd.DataFrame:
        """The timestamped events of ``layer`` with external ids (empty if none)."""
        import pandas as pd

        ev = self.layer(layer).events
        cols = {"src": [], "dst": [], "time": []}
        if ev is None:
            return pd.DataFrame(cols)
        ids = self._id_map.ids
        cols = {"src": ids[ev.src], "dst": ids[ev.dst], "time": ev.time}
        if ev.weight is not None:
            cols["weight"] = ev.weight
        if ev.sentiment is not None:
            cols["sentiment"] = ev.sentiment
        return pd.DataFrame(cols)

    def time_span(self) -> tuple[int, int] | None:
        """Earliest and latest event time over all layers (Unix seconds), or None."""
        times = [(int(L.events.time[0]), int(L.events.time[-1])) for L in self._layers.values() if L.events is not None and len(L.events)]
        if not times:
            return None
        return min(t[0] for t in times), max(t[1] for t in times)

    # -- derived graphs ----------------------------------------------------------
    def with_layer(self, layer: Layer) -> "SocialGraph":
        """A new graph with ``layer`` added (or replacing one of the same name)."""
        layers = dict(self._layers)
        layers[layer.name] = layer
        return SocialGraph(self._id_map, layers, self._nodes, self._metadata)

    def without_layers(self, names: Iterable[str]) -> "SocialGraph":
        """A new graph without the named layers."""
        names = set(names)
        for n in names:
            self.layer(n)
        return SocialGraph(self._id_map, {k: v for k, v in self._layers.items() if k not in names}, self._nodes, self._metadata)

    def interaction_strength(
        self,
        *,
        type_weights: Mapping[str, float] | None = None,
        half_life: float | None = DEFAULT_HALF_LIFE,
        reference_time: int | None = None,
        name: str = STRENGTH_LAYER,
    ) -> Layer:
        """The combined interaction-strength layer.

        ``strength(u -> v) = sum over types t of type_weight[t] * sum over
        events e of t from u to v of weight(e) * 0.5 ** (age(e) / half_life)``
        where ``age = reference_time - time(e)``.  Layers without an event
        log contribute ``type_weight * edge weight`` (no decay: their age is
        unknown).

        Parameters
        ----------
        type_weights : mapping, optional
            Weight of one interaction per layer name; defaults to
            :func:`graphcrm.loaders.layers.default_type_weights` restricted to the
            layers present.  Layers not named (or weighted 0) are left out.
        half_life : float or None, default 7 days
            Half-life of the decay in seconds; ``None`` disables decay.
        reference_time : int, optional
            "Now" for the ages, Unix seconds; defaults to the latest event in
            the graph (so the result does not depend on the wall clock).
        name : str, default "strength"
            Name of the returned layer.

        Returns
        -------
        Layer
            A weighted layer; no event log.

        Examples
        --------
        >>> from graphcrm.loaders.builder import GraphBuilder
        >>> g = (GraphBuilder()
        ...      .add_events("retweets", ["a", "a"], ["b", "b"], time=[0, 86400])
        ...      .add_events("mentions", ["b"], ["a"], time=[86400])
        ...      .build())
        >>> s = g.interaction_strength(half_life=86400)
        >>> g.edges("retweets").weight.tolist()
        [2.0]
        >>> round(float(s.out_weights[s.out_indptr[1]]), 3)  # b -> a: 1*(0.5 + 1) + 0.5*1
        2.0
        """
        defaults = type_weights is None and half_life == DEFAULT_HALF_LIFE and reference_time is None \
            and name == STRENGTH_LAYER
        if defaults:        # the graph is immutable: the default layer is built once and is the same object after
            if self._default_strength is None:
                self._default_strength = self._strength_layer(None, DEFAULT_HALF_LIFE, None, STRENGTH_LAYER)
            return self._default_strength
        return self._strength_layer(type_weights, half_life, reference_time, name)

    def _strength_layer(self, type_weights, half_life, reference_time, name) -> Layer:
        if half_life is not None and half_life <= 0:
            raise ParameterError(f"half_life must be positive seconds or None, got {half_life}")
        if type_weights is None:
            type_weights = {k: v for k, v in default_type_weights().items() if k in self._layers}
        for k in type_weights:
            self.layer(k)
        span = self.time_span()
        if reference_time is None:
            reference_time = span[1] if span else 0
        elif span is not None and half_life is not None and (span[1] - reference_time) / half_life > 1000:
            raise ParameterError(f"reference_time {reference_time} is long before the latest event ({span[1]}): "
                                 "ages would be negative and the decay overflows; use a time after the events")
        srcs, dsts, vals = [], [], []
        for lname, tw in sorted(type_weights.items()):
            if tw == 0:
                continue
            lay = self._layers[lname]
            if lay.events is not None and half_life is not None:
                ev = lay.events
                v = _kernels()._decayed_values(ev.time, ev.values, int(reference_time), float(half_life))
                srcs.append(ev.src)
                dsts.append(ev.dst)
                vals.append(v * tw)
            else:
                s, d, w = lay.edge_arrays()
                srcs.append(s)
                dsts.append(d)
                vals.append(w * tw)
        spec = LayerSpec(name, "forward", 0.0, "sum")
        if not srcs:
            return Layer.from_edges(self.n_nodes, [], [], [], spec=spec)
        return Layer.from_edges(
            self.n_nodes, np.concatenate(srcs), np.concatenate(dsts), np.concatenate(vals), spec=spec, self_loops="keep"
        )

    def with_interaction_strength(self, **kwargs) -> "SocialGraph":
        """A new graph with the :meth:`interaction_strength` layer added."""
        return self.with_layer(self.interaction_strength(**kwargs))

    def window(self, start=None, end=None, *, keep_static: bool = True) -> "SocialGraph":
        """The graph of events with ``start <= time < end``.

        Layers with an event log are rebuilt from the events in the window;
        layers without one (e.g. a follower snapshot) are kept as they are
        (``keep_static=True``) or dropped.  The node set is unchanged, so
        scores of different windows line up index by index.

        Parameters
        ----------
        start, end : int, str or pandas.Timestamp, optional
            Window bounds; strings are parsed as ISO-8601 (UTC if no zone).
        """
        lo = _to_unix(start, "start") if start is not None else np.iinfo(np.int64).min
        hi = _to_unix(end, "end") if end is not None else np.iinfo(np.int64).max
        if lo >= hi:
            raise ParameterError(f"empty time window: start {start!r} is not before end {end!r}")
        layers = {}
        for name, lay in self._layers.items():
            if lay.events is None:
                if keep_static:
                    layers[name] = lay
                continue
            ev = lay.events.select((lay.events.time >= lo) & (lay.events.time < hi))
            layers[name] = _layer_from_events(self.n_nodes, lay.spec, ev, lay.weighted)
        return SocialGraph(self._id_map, layers, self._nodes, self._metadata)

    def subgraph(self, accounts) -> "SocialGraph":
        """The graph induced by the given external ids (edges among them only).

        Dense ids are renumbered ``0..k-1`` in the same order as before.
        """
        if isinstance(accounts, (set, frozenset)):
            accounts = sorted(accounts, key=str)
        dense = np.unique(self.index_of(list(accounts) if not isinstance(accounts, np.ndarray) else accounts))
        new_id = np.full(self.n_nodes, -1, dtype=INDEX_DTYPE)
        new_id[dense] = np.arange(len(dense), dtype=INDEX_DTYPE)
        layers = {}
        for name, lay in self._layers.items():
            oi, ox, ow = _kernels()._induced_subgraph(lay.out_indptr, lay.out_indices, lay.out_data(), lay.weighted, new_id)
            ii, ix, iw = _kernels()._transpose(len(dense), oi, ox, ow, lay.weighted)
            events = None
            if lay.events is not None:
                ev = lay.events
                keep = (new_id[ev.src] >= 0) & (new_id[ev.dst] >= 0)
                ev = ev.select(keep)
                events = EventLog(new_id[ev.src], new_id[ev.dst], ev.time, ev.weight, ev.sentiment, ev.extra)
            w = lay.weighted
            layers[name] = Layer(lay.spec, oi, ox, ow if w else None, ii, ix, iw if w else None, events, lay.build_report)
        nodes = None if self._nodes is None else self._nodes.iloc[dense].reset_index(drop=True)
        return SocialGraph(self._id_map.take(dense), layers, nodes, self._metadata)

    # -- conversions (graphcrm.loaders._interop; from_* in graphcrm.loaders.convert) -------------------------------------------
    def to_scipy(self, layer: str, *, direction: str = "out"):
        from graphcrm.loaders._interop import to_scipy

        return to_scipy(self, layer, direction=direction)

    def to_networkx(self, layer: str | None = None):
        from graphcrm.loaders._interop import to_networkx

        return to_networkx(self, layer)

    def to_igraph(self, layer: str):
        from graphcrm.loaders._interop import to_igraph

        return to_igraph(self, layer)


def _layer_from_events(n_nodes: int, spec: LayerSpec, events: EventLog, weighted: bool) -> Layer:
    """Aggregate an event log into a layer (events already in influence direction)."""
    weights = events.values if weighted else None
    return Layer.from_edges(n_nodes, events.src, events.dst, weights, spec=spec, self_loops="keep", events=events)


def _to_unix(value, what: str) -> int:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if not np.isfinite(value):
            raise ParameterError(f"window {what} must be a finite time, got {value!r}")
        return int(np.floor(value))  # Unix seconds
    import pandas as pd

    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"window {what} {value!r} is not a time (expected Unix seconds or ISO-8601)") from exc
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.timestamp())


def layer_of(graph, layer: "str | Layer | None" = None) -> Layer:
    """``graph.resolve_layer(layer)``, after checking that ``graph`` is a :class:`SocialGraph`.

    The entry check of every algorithm: a networkx or igraph graph (or anything else) gets an error that
    says how to convert it, not an ``AttributeError`` from inside the function.

    Examples
    --------
    >>> import networkx as nx
    >>> layer_of(nx.DiGraph([(1, 2)]), "follows")
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.ParameterError: expected a graphcrm SocialGraph, got a networkx DiGraph: convert it first with graphcrm.from_networkx(graph) (or load_edges / load_snapshot)
    """
    if not isinstance(graph, SocialGraph):
        kind = type(graph)
        where = kind.__module__.split(".")[0]
        hint = {"networkx": "graphcrm.from_networkx(graph)", "igraph": "graphcrm.from_igraph(graph)",
                "scipy": "graphcrm.from_scipy(matrix)"}.get(where)
        raise ParameterError(f"expected a graphcrm SocialGraph, got a {where} {kind.__name__}"
                             + (f": convert it first with {hint} (or load_edges / load_snapshot)" if hint else
                                ": build one with graphcrm.load_edges, load_snapshot or from_networkx"))
    return graph.resolve_layer(layer)
