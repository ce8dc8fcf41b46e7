"""One entry point for ``graphcrm rank``: a measure (or the combined leader list) as a table."""

from __future__ import annotations

import pandas as pd

from algorithms import betweenness, coreness, degree, expected_reach, hits, pagerank, voterank
from graphcrm.core.errors import ParameterError
from graphcrm.core.graph import Layer, SocialGraph
from graphcrm.leaders import default_layer, opinion_leaders

METHODS = ("combined", "pagerank", "hits", "coreness", "betweenness", "reach", "voterank", "degree")


def rank_table(graph: SocialGraph, *, method: str = "combined", layer=None, top: int = 50, partition=None,
               model: str = "wc", samples: int = 100_000, seed: int = 0) -> pd.DataFrame:
    """The table ``graphcrm rank`` writes: the leader list (``combined``) or the top accounts by one measure.

    Examples
    --------
    >>> from graphcrm.core.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["a", "b"], ["hub", "hub"]).build()
    >>> rank_table(g, method="pagerank", top=1).account_id.tolist()
    ['hub']
    """
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    if method == "combined":
        return opinion_leaders(graph, layer=layer, top=top, partition=partition, model=model,
                               reach_samples=samples, seed=seed)
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
