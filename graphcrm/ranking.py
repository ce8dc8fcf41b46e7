"""One entry point for ``graphcrm rank``: a measure (or the combined leader list) as a table."""

from __future__ import annotations

import pandas as pd

from graphcrm.algorithms.registry import rank_measures
from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.graph import Layer, SocialGraph
from graphcrm.forecast_leaders import has_interaction_log
from graphcrm.leaders import opinion_leaders

#: the leader lists of this module; every other ``--method`` is a measure of :func:`rank_measures`
LEADER_METHODS = ("auto", "forecast", "combined")


def method_names() -> tuple[str, ...]:
    """Every ``graphcrm rank --method`` value: the leader lists, then each registered measure.

    Examples
    --------
    >>> method_names()[:4]
    ('auto', 'forecast', 'combined', 'pagerank')
    """
    return LEADER_METHODS + tuple(rank_measures())


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
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["a", "b"], ["hub", "hub"]).build()
    >>> rank_table(g, method="pagerank", top=1).account_id.tolist()
    ['hub']
    """
    measures = rank_measures()
    if method not in LEADER_METHODS and method not in measures:
        raise ParameterError(f"method must be one of {method_names()}, got {method!r}")
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
    lay = graph.resolve_layer(layer).positive()   # signed: influence flows along trust
    return measures[method].rank(graph, lay, top=top, seed=seed, model=model, n_samples=samples)


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
