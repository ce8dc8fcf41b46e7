"""Typed results of the algorithms: arrays in dense-index space, DataFrames with external ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from graphcrm.core.idmap import IdMap

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
        return f"NodeScores({self.name!r}, n={len(self)}, info={dict(self.info)})"

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
        return self.to_frame().head(k)

    def to_frame(self) -> pd.DataFrame:
        """``account_id, <name>, rank`` sorted by rank."""
        order = self.order()
        frame = pd.DataFrame({
            ACCOUNT_ID: self.id_map.ids[order],
            self.name: self.values[order],
            RANK: np.arange(1, len(order) + 1),
        })
        for key, arr in self.extras.items():
            frame[key] = arr[order]
        return frame
