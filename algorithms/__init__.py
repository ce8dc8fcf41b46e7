"""Algorithms over :class:`graphcrm.core.SocialGraph` arrays (numba kernels, igraph/leidenalg).

Sits on :mod:`graphcrm.core` only (never imports :mod:`loaders`).
"""

from algorithms.centrality import (
    betweenness,
    coreness,
    degree,
    engagement,
    expected_reach,
    hits,
    pagerank,
    personalized_pagerank,
    voterank,
)
from algorithms.community import (
    community_profiles,
    compare_partitions,
    consensus,
    leiden,
    louvain,
    multilayer_leiden,
    signed_communities,
    track_communities,
)
from algorithms.diffusion import SpreadEstimate, simulate, spread_by_segment
from algorithms.probabilities import edge_probabilities

__all__ = [
    "SpreadEstimate",
    "betweenness",
    "community_profiles",
    "compare_partitions",
    "consensus",
    "coreness",
    "degree",
    "edge_probabilities",
    "engagement",
    "expected_reach",
    "hits",
    "leiden",
    "louvain",
    "multilayer_leiden",
    "pagerank",
    "personalized_pagerank",
    "signed_communities",
    "simulate",
    "spread_by_segment",
    "track_communities",
    "voterank",
]
