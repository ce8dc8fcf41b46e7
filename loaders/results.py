"""Typed results of the algorithms: arrays in dense-index space, DataFrames with external ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from graphcrm.loaders.errors import InvalidInputError, ParameterError
from graphcrm.loaders.idmap import IdMap

#: column names shared by every result table
ACCOUNT_ID = "account_id"
SCORE = "score"
RANK = "rank"


@dataclass(frozen=True, eq=False)
class NodeScores:
    """One score per node, e.g. PageRank or coreness.

    Attributes
    ----------
    name : str
        The measure (``pagerank``, ``coreness``, ...): the score column's name.
    values : numpy.ndarray
        Scores by dense index (read-only).
    id_map : IdMap
        The graph's ids, for :meth:`to_frame`.
    info : mapping
        Run information: parameters, iterations, converged, elapsed seconds.
    extras : mapping of str to numpy.ndarray
        Per-node companion values (e.g. a standard error), added as columns
        by :meth:`to_frame`.

    Examples
    --------
    >>> s = NodeScores("demo", np.array([0.2, 0.5, 0.3]), IdMap(["a", "b", "c"]))
    >>> s.to_frame().values.tolist()
    [['b', 0.5, 1], ['c', 0.3, 2], ['a', 0.2, 3]]
    >>> s["c"]
    0.3
    """

    name: str
    values: np.ndarray
    id_map: IdMap
    info: Mapping = field(default_factory=dict)
    extras: Mapping = field(default_factory=dict)

    def __post_init__(self):
        values = np.array(self.values, copy=True)
        values.flags.writeable = False
        object.__setattr__(self, "values", values)
        extras = {}
        for key, arr in dict(self.extras).items():
            arr = np.array(arr, copy=True)
            arr.flags.writeable = False
            if len(arr) != len(values):
                raise ValueError(f"extra column {key!r} has {len(arr)} values for {len(values)} nodes")
            extras[key] = arr
        object.__setattr__(self, "extras", MappingProxyType(extras))
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))
        if len(values) != len(self.id_map):
            raise ValueError(f"{len(values)} scores for {len(self.id_map)} nodes")

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, account):
        """The score of one account (external id)."""
        return self.values[int(self.id_map.to_dense([account])[0])].item()

    def __repr__(self) -> str:
        top = self.order()[:3]
        ids = self.id_map.ids[top].tolist()            # Python ints / strings, not np.int64(160)
        shown = ", ".join(f"{a!r}: {self.values[i]:.4g}" for a, i in zip(ids, top))
        return f"NodeScores({self.name!r}, n={len(self)}, top: {{{shown}}}{', ...' if len(self) > 3 else ''})"

    def to_series(self) -> pd.Series:
        """``account_id -> score`` in dense (id) order, named after the measure."""
        return pd.Series(self.values, index=pd.Index(self.id_map.ids, name=ACCOUNT_ID), name=self.name)

    def ranks(self) -> np.ndarray:
        """Rank of each node (1 = highest score; ties broken by dense index, i.e. external id order)."""
        order = self.order()
        ranks = np.empty(len(order), dtype=np.int64)
        ranks[order] = np.arange(1, len(order) + 1)
        return ranks

    def order(self) -> np.ndarray:
        """Dense indices from highest to lowest score (stable: ties in id order)."""
        return np.lexsort((np.arange(len(self.values)), -self.values))

    def top(self, k: int) -> pd.DataFrame:
        """The ``k`` highest-scoring accounts (see :meth:`to_frame`)."""
        from graphcrm.loaders.errors import whole_number

        return self.to_frame().head(whole_number(k, "k"))

    def to_frame(self) -> pd.DataFrame:
        """``account_id, <name>, rank`` sorted by score, ties in id order; accounts of equal score share the
        rank of the first of them (1, 2, 2, 4: a tie is not ordered by id spelling).

        >>> NodeScores("k", np.array([3.0, 5.0, 3.0, 1.0]), IdMap(["a", "b", "c", "d"])).to_frame()["rank"].tolist()
        [1, 2, 2, 4]
        """
        order = self.order()
        frame = pd.DataFrame({
            ACCOUNT_ID: self.id_map.ids[order],
            self.name: self.values[order],
            RANK: competition_ranks(self.values[order]),
        })
        for key, arr in self.extras.items():
            frame[key] = arr[order]
        return frame


#: relative resolution below which two scores count as equal (floating-point noise of the kernels)
SCORE_RESOLUTION = 1e-10


def settled(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to :data:`SCORE_RESOLUTION` of their largest magnitude, so scores that are equal but
    for the last bits of a sum (PageRank of two symmetric accounts, summed in another order after a renaming)
    tie, as they should, in a percentile or a rank.

    >>> a = np.array([0.1 + 0.2, 0.3, 0.5])
    >>> bool(a[0] == a[1]), bool(settled(a)[0] == settled(a)[1])
    (False, True)
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    scale = float(np.abs(values[finite]).max()) if finite.any() else 0.0
    if scale == 0.0:
        return values
    step = scale * SCORE_RESOLUTION
    return np.where(finite, np.round(values / step) * step, values)


def competition_ranks(falling: np.ndarray) -> np.ndarray:
    """Ranks of values sorted from highest to lowest (NaN last), equal values sharing the first one's rank.

    >>> competition_ranks(np.array([9.0, 7.0, 7.0, 7.0, 2.0, np.nan, np.nan])).tolist()
    [1, 2, 2, 2, 5, 6, 6]
    """
    falling = settled(falling)          # equal but for rounding: one rank
    n = len(falling)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    same = np.r_[False, (falling[1:] == falling[:-1]) | (np.isnan(falling[1:]) & np.isnan(falling[:-1]))]
    starts = np.where(same, 0, np.arange(1, n + 1))
    return np.maximum.accumulate(starts).astype(np.int64)


def tie_at_cut(falling: np.ndarray, top: int) -> dict | None:
    """The tie a top-``top`` list cuts through (values sorted from highest to lowest): its value, the rank it
    shares, how many accounts it holds and how many the list shows; ``None`` when the cut falls between two
    values.

    >>> tie_at_cut(np.array([9.0, 7.0, 7.0, 7.0, 2.0]), 2)
    {'value': 7.0, 'rank': 2, 'tied': 3, 'listed': 1}
    >>> tie_at_cut(np.array([9.0, 7.0, 7.0, 7.0, 2.0]), 4) is None
    True
    """
    raw = np.asarray(falling, dtype=np.float64)
    falling = settled(raw)
    if top <= 0 or top >= len(falling) or falling[top - 1] != falling[top]:
        return None
    value = raw[top - 1]
    first = int(np.searchsorted(-falling, -falling[top - 1], side="left"))
    last = int(np.searchsorted(-falling, -falling[top - 1], side="right"))
    return {"value": float(value), "rank": first + 1, "tied": last - first, "listed": top - first}


@dataclass(frozen=True, eq=False)
class Partition:
    """A community for every node.

    Community labels are canonical: 0 is the largest community, ties broken
    by the smallest member (dense index), so the same partition always gets
    the same labels.

    Attributes
    ----------
    membership : numpy.ndarray
        int32 community of each dense index (read-only).
    id_map : IdMap
    quality : float
        The objective reached (modularity or CPM quality).
    info : mapping
        Method, parameters, seed, elapsed seconds.

    Examples
    --------
    >>> p = Partition(np.array([5, 5, 2]), IdMap(["a", "b", "c"]), 0.1)
    >>> p.membership.tolist(), p.n_communities
    ([0, 0, 1], 2)
    >>> p.to_frame().values.tolist()
    [['a', 0], ['b', 0], ['c', 1]]
    """

    membership: np.ndarray
    id_map: IdMap
    quality: float = float("nan")
    info: Mapping = field(default_factory=dict)

    def __post_init__(self):
        raw = np.asarray(self.membership)
        if len(raw) != len(self.id_map):
            raise ValueError(f"{len(raw)} memberships for {len(self.id_map)} nodes")
        labels, inverse, counts = np.unique(raw, return_inverse=True, return_counts=True)
        first = np.full(len(labels), len(raw))
        np.minimum.at(first, inverse, np.arange(len(raw)))
        order = np.lexsort((first, -counts))          # largest first, then by smallest member
        new_label = np.empty(len(labels), dtype=np.int32)
        new_label[order] = np.arange(len(labels), dtype=np.int32)
        membership = new_label[inverse].astype(np.int32)
        membership.flags.writeable = False
        object.__setattr__(self, "membership", membership)
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    @property
    def n_communities(self) -> int:
        return int(self.membership.max()) + 1 if len(self.membership) else 0

    def sizes(self) -> np.ndarray:
        return np.bincount(self.membership, minlength=self.n_communities)

    def __repr__(self) -> str:
        return f"Partition({self.n_communities} communities, quality={self.quality:.4f})"

    def to_frame(self) -> pd.DataFrame:
        """``account_id, community`` in dense-id order."""
        return pd.DataFrame({ACCOUNT_ID: self.id_map.ids, "community": self.membership})

    def to_series(self) -> pd.Series:
        """``community`` indexed by account id (the form leader lists take)."""
        return pd.Series(self.membership, index=self.id_map.ids, name="community")


def labels_by_account(labels, *, what: str = "partition") -> pd.Series:
    """``account_id -> label`` from a :class:`Partition`, a Series, a dict or an ``account_id, community`` table.

    Accounts whose label is missing (NaN, None) are left out: they have no label.

    Parameters
    ----------
    labels : Partition, pandas.Series, mapping or pandas.DataFrame
        A Partition labels every account of its graph; a Series is indexed by account id, a dict keyed by it;
        a DataFrame has the columns ``account_id`` and ``community`` (what :meth:`Partition.to_frame` gives).
    what : str
        The argument's name, for messages.

    Raises
    ------
    ParameterError
        Another type, or a DataFrame without those two columns.
    InvalidInputError
        An account with two rows.

    Examples
    --------
    >>> p = Partition(np.array([5, 5, 2]), IdMap(["a", "b", "c"]))
    >>> labels_by_account(p.to_frame()).to_dict()
    {'a': 0, 'b': 0, 'c': 1}
    >>> labels_by_account({"x": 1, "y": None}).to_dict()
    {'x': 1}
    >>> labels_by_account(pd.DataFrame({"id": [1], "group": [0]}))
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.ParameterError: partition: a table needs the columns account_id and community (what Partition.to_frame() gives), got id, group
    """
    if isinstance(labels, Partition):
        return labels.to_series()
    if isinstance(labels, pd.DataFrame):
        if not {ACCOUNT_ID, "community"} <= set(labels.columns):
            raise ParameterError(f"{what}: a table needs the columns {ACCOUNT_ID} and community (what "
                                 f"Partition.to_frame() gives), got {', '.join(map(str, labels.columns))}")
        series = pd.Series(labels["community"].to_numpy(), index=pd.Index(labels[ACCOUNT_ID]), name="community")
    elif isinstance(labels, pd.Series):
        series = labels
    elif isinstance(labels, Mapping):
        series = pd.Series(dict(labels), dtype=object)
    else:
        raise ParameterError(f"{what} must be a Partition, a pandas Series or dict of account id -> community, or "
                             f"a table with columns {ACCOUNT_ID}, community; got {type(labels).__name__}")
    if series.index.has_duplicates:
        raise InvalidInputError(f"{what}: an account appears in more than one row")
    labelled = series[series.notna()]
    return labelled.infer_objects() if labelled.dtype == object else labelled


def partition_match(partition: pd.Series, graph, path) -> dict:
    """How far a partition (``account_id -> community``: a file's, or one given to a function) matches the
    accounts of ``graph``.

    Returns
    -------
    dict
        ``rows`` (accounts in the partition), ``in_graph`` (of those, in the graph), ``graph_accounts`` and
        ``graph_covered`` (accounts of the graph the partition gives a community).

    Raises
    ------
    InvalidInputError
        None of the partition's accounts is in the graph (another graph's partition, or ids of another kind):
        a warm start from it or leaders per community of it would silently be empty.  ``path`` (a file, or
        the argument's name) starts the message.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", ["a", "b"], ["b", "c"]).build()
    >>> partition_match(pd.Series({"a": 0, "zz": 1}), g, "p.csv")
    {'rows': 2, 'in_graph': 1, 'graph_accounts': 3, 'graph_covered': 1}
    """
    dense = np.asarray(graph.id_map.lookup(np.asarray(partition.index)))
    found = dense >= 0
    match = {"rows": int(len(partition)), "in_graph": int(found.sum()), "graph_accounts": int(graph.n_nodes),
             "graph_covered": int(len(np.unique(dense[found])))}
    if not match["in_graph"]:
        raise InvalidInputError(f"{path}: none of its {match['rows']:,} accounts is in the graph "
                                f"({match['graph_accounts']:,} accounts): a partition of another graph?")
    return match
