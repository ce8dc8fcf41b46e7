"""One entry point for ``graphcrm rank``: a measure (or the combined leader list) as a table."""

from __future__ import annotations

import pandas as pd

from graphcrm.algorithms.registry import rank_measures
from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.graph import Layer, SocialGraph
from graphcrm.forecast_leaders import has_interaction_log
from graphcrm.leaders import LeaderScores, opinion_leaders

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
               forecast_model=None, leader_scores: LeaderScores | None = None, forecast_fits: dict | None = None,
               combined_layer=None, auto_scorer: str | None = None) -> pd.DataFrame:
    """The table ``graphcrm rank`` writes: a leader list or the top accounts by one measure.

    ``auto`` (the default) ranks by the validated forecast
    (:func:`graphcrm.forecast_leaders.forecast_leaders`) when the graph keeps a
    timestamped interaction log long enough to learn from, else by the
    structural ``combined`` score (:func:`graphcrm.leaders.opinion_leaders`).
    ``table.attrs["ranking"]`` says which leader score was used and why.

    ``leader_scores`` and ``forecast_fits`` (a dict) let calls on one graph share the combined score's
    measures and the fitted forecasts (see :class:`LeaderLists`); ``combined_layer`` is the layer the
    combined score ranks on when it differs from the forecast's engagement ``layer``; ``auto_scorer`` ranks
    an ``auto`` list that gets a forecast by that scorer instead of the one that won (see
    :func:`graphcrm.forecast_leaders.keep_or_choose_scorer`).

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
        table, why = _forecast_or_none(graph, method, layer, top, partition, horizon, forecast_model, seed,
                                       forecast_fits, auto_scorer)
        if table is not None:
            return table
        method = "combined"
    else:
        why = "asked for"
    if method == "combined":
        table = opinion_leaders(graph, layer=combined_layer if combined_layer is not None else layer, top=top,
                                partition=partition, model=model, reach_samples=samples, seed=seed,
                                scores=leader_scores)
        table.attrs["ranking"] = {"scorer": "combined", "scorer_reason": why}
        return table
    if partition is not None:
        raise ParameterError("--partition works with --method combined")
    lay = graph.resolve_layer(layer).positive()   # signed: influence flows along trust
    return measures[method].rank(graph, lay, top=top, seed=seed, model=model, n_samples=samples)


def _fitted(graph, layer, horizon, seed, fits: dict):
    """``(model, forecast)`` of ``layer``, fitted and applied once per (layer, horizon, seed) in ``fits``; a
    fit that failed raises its error again.  ``fits["keep_decay"]``, when set, is the recent-engagement
    column an earlier run chose (see :func:`~graphcrm.algorithms.forecast.fit_forecast`)."""
    from graphcrm.algorithms.forecast import default_target_layer, fit_forecast, forecast

    name = layer or default_target_layer(graph)
    key = (name, horizon, seed)
    if key not in fits:
        try:
            model = fit_forecast(graph, layer=name, horizon=horizon, seed=seed, keep_decay=fits.get("keep_decay"))
            fits[key] = (model, forecast(graph, model))
        except ParameterError as exc:
            fits[key] = exc
    if isinstance(fits[key], ParameterError):
        raise fits[key]
    return fits[key]


class LeaderLists:
    """Leader lists of one graph by the scorer ``graphcrm rank`` uses, sharing the costly parts.

    A batch job asks for several lists on one graph (the pipeline's leaders step, then leader segments,
    overall and per community): the combined score's measures (:class:`~graphcrm.leaders.LeaderScores`) and
    each forecast are computed once.  ``method="auto"`` ranks by the validated forecast where the graph has a
    timestamped interaction log long enough to learn from (the scorer that won on held-out days: the
    forecast, recent engagement or in-degree), else by the structural combined score -- as ``graphcrm rank``.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["a", "b", "c"], ["hub", "hub", "a"]).build()
    >>> lists = LeaderLists(g)
    >>> table = lists.table(top=2, samples=2000)
    >>> table.account_id.tolist(), table.attrs["ranking"]["scorer"]
    (['hub', 'a'], 'combined')
    """

    def __init__(self, graph: SocialGraph, leader_scores: LeaderScores | None = None):
        self.graph = graph
        self.scores = leader_scores if leader_scores is not None else LeaderScores(graph)
        self.fits: dict = {}
        self._kept: dict = {}       # fit key -> (scorer, reason) for auto lists of that fit (keep_scorer)

    def table(self, *, method: str = "auto", top: int = 50, partition=None, layer: str | None = None,
              combined_layer=None, samples: int = 100_000, seed: int = 0, horizon: int | None = None,
              forecast_model=None) -> pd.DataFrame:
        """:func:`rank_table` with this graph's shared measures and forecasts (``attrs["ranking"]`` says which
        scorer ranked and why)."""
        if method not in LEADER_METHODS:
            raise ParameterError(f"leader method must be one of {LEADER_METHODS}, got {method!r}")
        kept = self._kept.get(self._key(layer, horizon, seed)) if method == "auto" and forecast_model is None \
            else None
        table = rank_table(self.graph, method=method, layer=layer, top=top, partition=partition, samples=samples,
                           seed=seed, horizon=horizon, forecast_model=forecast_model, leader_scores=self.scores,
                           forecast_fits=self.fits, combined_layer=combined_layer,
                           auto_scorer=kept[0] if kept else None)
        ranking = table.attrs.get("ranking", {})
        if kept and ranking.get("scorer") == kept[0]:
            ranking["scorer_reason"] = kept[1]
        return table

    def keep_decay(self, column: str | None) -> None:
        """Fit the forecasts of this graph keeping ``column`` (an earlier run's ``model.decay_feature``) as the
        recent-engagement scorer unless another half-life is clearly better; call before the first list."""
        self.fits["keep_decay"] = column

    def keep_scorer(self, scorer: str, reason: str, *, layer: str | None = None, horizon: int | None = None,
                    seed: int = 0) -> None:
        """Rank the ``auto`` lists of this fit (layer, horizon, seed) by ``scorer`` instead of the one that won
        (a nightly job keeping its scorer; see :func:`graphcrm.forecast_leaders.keep_or_choose_scorer`)."""
        self._kept[self._key(layer, horizon, seed)] = (scorer, reason)

    def _key(self, layer, horizon, seed):
        from graphcrm.algorithms.forecast import default_target_layer

        try:
            return (layer or default_target_layer(self.graph), horizon, seed)
        except ParameterError:               # no event layer: no forecast, nothing kept
            return None

    def model(self, *, layer: str | None = None, horizon: int | None = None, seed: int = 0):
        """The forecast model the ``auto`` lists use (fitted once), or None where the graph cannot support one."""
        if not has_interaction_log(self.graph):
            return None
        try:
            return _fitted(self.graph, layer, horizon, seed, self.fits)[0]
        except ParameterError:
            return None


def validated_leader_list(graph: SocialGraph, *, method: str = "auto", top: int = 50, layer: str | None = None,
                          horizon: int | None = None, seed: int = 0,
                          forecast_model=None, explain: int | None = None) -> tuple[pd.DataFrame | None, str | None]:
    """The forecast-ranked leader list ``graphcrm rank`` would write, or why there is none.

    Returns ``(table, None)`` (``table.attrs["ranking"]`` says which scorer won on the held-out window), or
    under ``method="auto"``, when the graph keeps no timestamped interaction log long enough to validate a
    forecast, ``(None, reason)``: the caller ranks by the structural combined score.  ``forecast_model``: a
    fitted (e.g. stored) model to rank by instead of fitting one; ``explain``: rows that get a ``why`` (see
    :func:`graphcrm.forecast_leaders.forecast_leaders`).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["a", "b"], ["hub", "hub"]).build()
    >>> validated_leader_list(g)
    (None, 'no timestamped interaction log, so the structural combined score')
    """
    return _forecast_or_none(graph, method, layer, top, None, horizon, forecast_model, seed, explain=explain)


def _forecast_or_none(graph, method, layer, top, partition, horizon, forecast_model, seed, fits=None,
                      auto_scorer=None, explain=None):
    """``(table, None)``: the forecast leader list; or, under ``auto`` when the graph cannot support one,
    ``(None, why)``."""
    from graphcrm.forecast_leaders import forecast_leaders

    if method == "auto" and not has_interaction_log(graph):
        return None, "no timestamped interaction log, so the structural combined score"
    if method == "auto" and isinstance(layer, Layer):
        return None, "a layer was given to rank on (the forecast ranks a named event layer), so the combined score"
    if isinstance(layer, Layer):
        raise ParameterError("--method forecast ranks a named event layer (e.g. retweets)")
    try:
        forecasted = None
        if forecast_model is None and fits is not None:
            forecast_model, forecasted = _fitted(graph, layer, horizon, seed, fits)
        table, info = forecast_leaders(graph, top=top, layer=layer, horizon=horizon, model=forecast_model,
                                       forecasted=forecasted,
                                       partition=partition,
                                       scorer="forecast" if method == "forecast" else auto_scorer,
                                       seed=seed, explain=explain)
    except ParameterError as exc:
        if method == "auto":
            return None, f"no forecast could be validated on this log ({exc}), so the structural combined score"
        raise
    table.attrs["ranking"] = info
    return table, None
