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

from graphcrm.algorithms import _cascade_kernels as _k
from graphcrm.loaders.graph import EventLog


#: exact reach up to this many accounts per start; past it, a HyperLogLog estimate (see :func:`cascade_reach`)
REACH_EXACT_CAP = 1000
#: at most this many starts past ``REACH_EXACT_CAP`` are searched to the end (exact); more are sketched
EXACT_PAST_CAP = 2000
#: registers per account of the HyperLogLog sketches (relative standard error 1.04 / sqrt(m): 4.6%)
HLL_REGISTERS = 512
#: the sketches' memory at most (fewer registers per account on logs with very many accounts)
HLL_MAX_BYTES = 1 << 30


def cascade_reach(events: EventLog, n_nodes: int, starts=None, *, by_source=None, node_keys=None,
                  exact_cap: int = REACH_EXACT_CAP) -> np.ndarray:
    """Distinct accounts each start account reached through time-respecting chains of ``events``.

    Exact unless many cascades are large: a search from every start costs accounts x reach, which grows with
    the square of the log where chains reach a fixed share of the accounts (a 4M-event log: minutes per call).
    Every start is searched up to ``exact_cap`` accounts; up to ``EXACT_PAST_CAP`` (2,000) starts that reach
    more are searched to the end.  Past that many, those starts get a HyperLogLog estimate (Flajolet et al.
    2007) from sketches built in one pass over the events in decreasing time (Cohen's reachability sketches on
    the time-respecting order): relative standard error 4.6% with the default 512 registers per account, never
    below ``exact_cap + 1`` and at most the log's other accounts (a chain back to the start counts it once
    more: +1 on more than 1,000).  Work: starts x ``exact_cap`` + events x registers; the searches run in
    parallel.

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
    node_keys : array of uint64 or a callable returning one, optional
        Per-account hash keys of the sketches (``graph.id_map.hash_keys``: estimates that do not depend on
        the dense indices; a callable is called only when a sketch is needed); default a hash of the dense
        index.
    exact_cap : int
        Reach counted exactly up to this many accounts.

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
    import numba

    starts = np.arange(n_nodes, dtype=np.int64) if starts is None else np.asarray(starts, dtype=np.int64)
    src = np.asarray(events.src, dtype=np.int64)
    order = np.lexsort((events.time, src)) if by_source is None else np.asarray(by_source)
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n_nodes), out=indptr[1:])
    cap = int(min(max(int(exact_cap), 1), max(n_nodes, 1)))
    # an event pushes its target at most once per search (after it, arrival <= its time): m + 1 pushes always
    # suffice, so a search ends early only past ``cap`` accounts
    pushes = len(order) + 1
    n_chunks = int(max(1, min(len(starts), 4 * numba.get_num_threads())))
    dst_sorted = np.asarray(events.dst, dtype=np.int64)[order]
    time_sorted = np.asarray(events.time, dtype=np.int64)[order]
    reach = _k._capped_reach(indptr, dst_sorted, time_sorted, n_nodes, starts, cap, pushes, n_chunks)
    over = np.flatnonzero(reach < 0)
    if 0 < len(over) <= EXACT_PAST_CAP:          # a few big cascades: searched to the end
        reach[over] = _k._capped_reach(indptr, dst_sorted, time_sorted, n_nodes, starts[over], int(max(n_nodes, 1)),
                                       pushes, int(max(1, min(len(over), n_chunks))))
        over = over[reach[over] < 0]
    if len(over):
        estimate = _sketched_reach(events, n_nodes, starts[over], node_keys)
        reach[over] = np.maximum(np.rint(estimate), cap + 1).astype(np.int64)
    return reach


def _sketched_reach(events: EventLog, n_nodes: int, starts: np.ndarray, node_keys=None) -> np.ndarray:
    """HyperLogLog estimates of the time-respecting reach of ``starts`` (see :func:`cascade_reach`)."""
    src = np.asarray(events.src, dtype=np.int64)
    dst = np.asarray(events.dst, dtype=np.int64)
    time = np.asarray(events.time, dtype=np.int64)
    if len(time) > 1 and (np.diff(time) < 0).any():
        by_time = np.argsort(time, kind="stable")
        src, dst, time = src[by_time], dst[by_time], time[by_time]
    active = np.unique(np.concatenate([src, dst]))
    registers = HLL_REGISTERS
    while registers > 64 and len(active) * registers > HLL_MAX_BYTES:
        registers //= 2
    if callable(node_keys):
        node_keys = node_keys()
    # mixed once more: a key of 0 (pandas hashes the id 0 to 0) would take the highest rank
    keys = _splitmix(np.asarray(node_keys, dtype=np.uint64)[active] if node_keys is not None
                     else active.astype(np.uint64))
    own_j, own_rho = _k._hll_ranks(keys, int(registers).bit_length() - 1)
    regs = np.zeros((len(active), registers), dtype=np.uint8)
    _k._hll_reach_sketches(np.searchsorted(active, src), np.searchsorted(active, dst), time, own_j, own_rho, regs)
    # nobody reaches more than the other accounts of the log's events
    return np.minimum(_k._hll_estimates(regs, np.searchsorted(active, starts)), len(active) - 1)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """splitmix64 of each value: a 64-bit hash of a dense index."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
