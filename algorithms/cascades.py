"""Observed word-of-mouth reach: distinct accounts reached by time-respecting chains of logged events.

An event ``u -> v`` at time ``t`` (influence direction: ``v`` passed on ``u``'s
content) extends a chain that reached ``u`` at time ``t_u`` when ``t >= t_u``;
the chain's origin has its own content from the start.  The reach of an
account is the number of other accounts such chains from it reach -- the
definition the backtest scores forecasts against, and the "past cascade
reach" of Bakshy et al. (2011) when measured on past events.
"""

from __future__ import annotations

import numpy as np

from graphcrm.algorithms._cascade_kernels import _earliest_arrival_reach
from graphcrm.loaders.graph import EventLog


def cascade_reach(events: EventLog, n_nodes: int, starts=None, *, by_source=None) -> np.ndarray:
    """Distinct accounts each start account reached through time-respecting chains of ``events``.

    Parameters
    ----------
    events : EventLog
        Events in influence direction (a layer's ``events``).
    n_nodes : int
        Size of the node set.
    starts : array of int, optional
        Dense ids to measure (default: every account).
    by_source : array of int, optional
        The event indices sorted by source, time order kept within a source
        (default: sorted here); a caller measuring several prefixes of one
        log passes its own (:func:`~graphcrm.algorithms.forecast_features.source_order`).

    Returns
    -------
    numpy.ndarray of int64
        Reach per start (the start itself not counted).

    Examples
    --------
    >>> import numpy as np
    >>> from graphcrm.loaders.graph import EventLog
    >>> ev = EventLog(np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([10, 20, 5]))
    >>> cascade_reach(ev, 4).tolist()      # 2 -> 3 happened before 2 had 0's content
    [2, 1, 1, 0]
    """
    starts = np.arange(n_nodes, dtype=np.int64) if starts is None else np.asarray(starts, dtype=np.int64)
    src = np.asarray(events.src, dtype=np.int64)
    order = np.lexsort((events.time, src)) if by_source is None else np.asarray(by_source)
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n_nodes), out=indptr[1:])
    return _earliest_arrival_reach(indptr, np.asarray(events.dst, dtype=np.int64)[order],
                                   np.asarray(events.time, dtype=np.int64)[order], n_nodes, starts)
