"""One entry point for ``graphcrm rank``: a measure (or the combined leader list) as a table."""

from __future__ import annotations

import pandas as pd

from algorithms import betweenness, coreness, degree, expected_reach, hits, pagerank, voterank
from graphcrm.core.errors import ParameterError
from graphcrm.core.graph import Layer, SocialGraph
from graphcrm.forecast_leaders import has_interaction_log
from graphcrm.leaders import default_layer, opinion_leaders

METHODS = ("auto", "forecast", "combined", "pagerank", "hits", "coreness", "betweenness", "reach", "voterank", "degree")


def rank_table(graph: SocialGraph, *, method: str = "auto", layer=None, top: int = 50, partition=None,
               model: str = "wc", samples: int = 100_000, seed: int = 0, horizon: int | None = None,
               forecast_model=None) -> pd.DataFrame:
    """The table ``graphcrm rank`` writes: a leader list or the top accounts by one measure.

    ``auto`` (the default) ranks by the validated forecast
    (:func:`graphcrm.forecast_leaders.forecast_leaders`) when the graph keeps a
    timestamped interaction log long enough to learn from, else by the
    structural ``combined`` score (:func:`graphcrm.leaders.opinion_leaders`).
    ``table.attrs["ranking"]`` says which leader score was used and why.

    Examples
    --------
    >>> from graphcrm.core.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["a", "b"], ["hub", "hub"]).build()
    >>> rank_table(g, method="pagerank", top=1).account_id.tolist()
    ['hub']
    """
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    if method in ("auto", "forecast"):
        table = _forecast_or_none(graph, method, layer, top, partition, horizon, forecast_model, seed)
        if table is not None:
            return table
        method, why = "combined", _no_forecast_reason(graph)
    else:
        why = "asked for"
    if method == "combined":
        table = opinion_leaders(graph, layer=layer, top=top, partition=partition, model=model,
                                reach_samples=samples, seed=seed)
        table.attrs["ranking"] = {"scorer": "combined", "scorer_reason": why}
        return table
    if partition is not None:
        raise ParameterError("--partition works with --method combined")
    lay = default_layer(graph) if layer is None else layer
    lay = (lay if isinstance(lay, Layer) else graph.layer(lay)).positive()   # signed: influence flows along trust
    if method == "voterank":
        return voterank(graph, layer=lay, k=top)
    if method == "hits":
        hubs, auth = hits(graph, layer=lay)
        frame = auth.to_frame().head(top)
        return frame.merge(hubs.to_frame()[["account_id", "hub"]], on="account_id", how="left")
    scores = {
        "pagerank": lambda: pagerank(graph, layer=lay),
        "coreness": lambda: coreness(graph, layer=lay),
        "betweenness": lambda: betweenness(graph, layer=lay, seed=seed),
        "reach": lambda: expected_reach(graph, layer=lay, model=model, n_samples=samples, seed=seed),
        "degree": lambda: degree(graph, layer=lay, mode="out"),
    }[method]()
    return scores.to_frame().head(top)


def _no_forecast_reason(graph: SocialGraph) -> str:
    if not has_interaction_log(graph):
        return "no timestamped interaction log, so the structural combined score"
    return "the interaction log is too short to validate a forecast, so the structural combined score"


def _forecast_or_none(graph, method, layer, top, partition, horizon, forecast_model, seed):
    """The forecast leader list, or ``None`` under ``auto`` when the graph cannot support one."""
    from graphcrm.forecast_leaders import forecast_leaders

    if method == "auto" and (not has_interaction_log(graph) or isinstance(layer, Layer)):
        return None
    if isinstance(layer, Layer):
        raise ParameterError("--method forecast ranks a named event layer (e.g. retweets)")
    try:
        table, info = forecast_leaders(graph, top=top, layer=layer, horizon=horizon, model=forecast_model,
                                       partition=partition, scorer="forecast" if method == "forecast" else None,
                                       seed=seed)
    except ParameterError:
        if method == "auto":
            return None
        raise
    table.attrs["ranking"] = info
    return table
