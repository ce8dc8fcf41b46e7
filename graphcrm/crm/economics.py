"""Influencer economics for a chosen list: audience, unique reach and overlap, engagement, expected reach, cost.

The audience of an account is its direct followers: its out-neighbours on the
``follows`` layer (``b -> a`` when a follows b), else on the influence layer
used (the accounts it reached directly).  For a set of influencers:

* ``unique_reach``: accounts in at least one audience (each counted once);
* ``exclusive_followers``: followers of this influencer and of no other chosen one;
* ``max_overlap``: largest share of the *smaller* audience shared with another chosen influencer (and with whom);
* ``engagement_rate``: interactions received (counts on the interaction layers) per audience member; empty
  (NaN, with a note in the summary) on a graph with no interaction layer, where ties received per audience member
  would be 1 by definition;
* ``expected_reach``: Monte-Carlo word-of-mouth reach alone (IC, ``prob``), and of the whole set;
* ``cost_per_expected_reach``: cost / expected reach where costs are known (argument or the ``cost`` node attribute).

Output columns (schema ``economics`` v1): ``account_id, audience_size, exclusive_followers, max_overlap,
max_overlap_with, engagement_rate, expected_reach, expected_reach_ci_low, expected_reach_ci_high, cost,
cost_per_expected_reach``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphcrm.algorithms.diffusion import simulate
from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.graph import SocialGraph
from graphcrm.loaders.layers import INTERACTION_TYPES
from graphcrm.loaders.idmap import id_list


def influencer_economics(graph: SocialGraph, accounts, *, layer=None, costs=None, prob: str = "wc",
                         n_runs: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Per-influencer economics and the set's summary.

    Parameters
    ----------
    accounts : sequence
        External ids of the chosen influencers (order kept; duplicates dropped).
    costs : mapping or pandas.Series, optional
        ``account_id -> cost``; default: the graph's ``cost`` node attribute if any.

    Returns
    -------
    table : pandas.DataFrame
        One row per influencer (see the module docstring).
    summary : dict
        ``influencers, total_audience, unique_reach, duplication, expected_reach`` (+ 95% CI),
        ``total_cost, cost_per_expected_reach``.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["a", "b", "c", "c"], ["x", "x", "x", "y"]).build()
    >>> table, summary = influencer_economics(g, ["x", "y"], costs={"x": 30.0, "y": 10.0}, n_runs=200)
    >>> table[["account_id", "audience_size", "exclusive_followers", "max_overlap"]].values.tolist()
    [['x', 3, 2, 1.0], ['y', 1, 0, 1.0]]
    >>> summary["unique_reach"], summary["total_audience"]
    (3, 4)
    """
    ids = list(dict.fromkeys(id_list(accounts)))
    if not ids:
        raise ParameterError("give at least one influencer account")
    dense = graph.index_of(ids)
    lay = graph.resolve_layer(layer).positive()
    audiences = _audiences(graph, ids, lay)
    counts: dict[int, int] = {}
    for a in audiences:
        for f in a:
            counts[f] = counts.get(f, 0) + 1
    received = np.zeros(graph.n_nodes)
    for name in graph.layer_names:
        if name in INTERACTION_TYPES:      # stored in influence direction: the target of a reverse layer is its source
            inter = graph.layer(name)
            received += inter.out_strength() if inter.spec.direction == "reverse" else inter.in_strength()
    logged = any(name in INTERACTION_TYPES for name in graph.layer_names)
    if not logged:                   # ties received per audience member would be 1 by definition: no figure
        received[:] = np.nan
    cost = _costs(graph, ids, costs)
    rows = []
    for k, (acc, i, aud) in enumerate(zip(ids, dense, audiences)):
        best, with_ = 0.0, ""
        for j, other in enumerate(audiences):
            if j == k:
                continue
            smaller = min(len(aud), len(other))
            share = len(aud & other) / smaller if smaller else 0.0
            if share > best:
                best, with_ = share, str(ids[j])
        est = simulate(graph, [acc], layer=lay, prob=prob, n_runs=n_runs, seed=seed)
        c = cost[k]
        rows.append({"account_id": acc, "audience_size": len(aud),
                     "exclusive_followers": sum(1 for f in aud if counts[f] == 1),
                     "max_overlap": round(best, 6), "max_overlap_with": with_,
                     "engagement_rate": (round(float(received[i]) / len(aud), 6) if aud else 0.0) if logged
                     else float("nan"),
                     "expected_reach": round(est.mean, 6), "expected_reach_ci_low": round(est.ci_low, 6),
                     "expected_reach_ci_high": round(est.ci_high, 6), "cost": c,
                     "cost_per_expected_reach": round(c / est.mean, 6) if c == c and est.mean > 0 else float("nan")})
    table = pd.DataFrame(rows)
    total = simulate(graph, ids, layer=lay, prob=prob, n_runs=n_runs, seed=seed)
    total_cost = float(np.nansum(cost)) if not np.isnan(cost).all() else None
    summary = {"influencers": len(ids), "total_audience": int(sum(len(a) for a in audiences)),
               "unique_reach": len(counts),
               "duplication": round(1 - len(counts) / max(sum(len(a) for a in audiences), 1), 6),
               "expected_reach": round(total.mean, 3), "expected_reach_ci95": [round(total.ci_low, 3),
                                                                               round(total.ci_high, 3)],
               "total_cost": total_cost,
               "cost_per_expected_reach": round(total_cost / total.mean, 6) if total_cost and total.mean else None}
    if not logged:
        summary["notes"] = ["engagement_rate is empty: the graph has no retweets, replies, mentions or likes (a "
                            "follower, friendship or rating graph); load an interaction log to measure it"]
    return table, summary


def audience_overlap(graph: SocialGraph, accounts, *, layer=None) -> pd.DataFrame:
    """Pairwise audience overlap of chosen influencers: ``influencer_a, influencer_b, shared, overlap``.

    ``overlap`` is the shared audience over the smaller of the two audiences
    (1.0: one audience is inside the other).  One row per pair, in the order given.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["a", "b", "c", "c", "d"], ["x", "x", "x", "y", "y"]).build()
    >>> audience_overlap(g, ["x", "y"]).values.tolist()
    [['x', 'y', 1, 0.5]]
    """
    ids = list(dict.fromkeys(id_list(accounts)))
    audiences = _audiences(graph, ids, layer)
    rows = []
    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            shared = len(audiences[i] & audiences[j])
            smaller = min(len(audiences[i]), len(audiences[j]))
            rows.append((ids[i], ids[j], shared, round(shared / smaller, 6) if smaller else 0.0))
    return pd.DataFrame(rows, columns=["influencer_a", "influencer_b", "shared", "overlap"])


def _audiences(graph: SocialGraph, ids, layer) -> list[set]:
    lay = graph.resolve_layer(layer).positive()
    aud = graph.layer("follows") if "follows" in graph.layers else lay
    return [set(aud.out_indices[aud.out_indptr[i]:aud.out_indptr[i + 1]].tolist()) for i in graph.index_of(ids)]


def _costs(graph: SocialGraph, ids, costs) -> np.ndarray:
    if costs is None:
        attrs = graph.node_attributes
        if "cost" not in attrs:
            return np.full(len(ids), np.nan)
        values = pd.to_numeric(attrs["cost"], errors="coerce").to_numpy()
        return values[graph.index_of(ids)].astype(float)
    series = costs if isinstance(costs, pd.Series) else pd.Series(dict(costs), dtype=float)
    series.index = series.index.map(str)
    return np.array([float(series.get(str(a), np.nan)) for a in ids])
