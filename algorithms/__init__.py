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
from algorithms.contagion import simulate_competition, simulate_epidemic
from algorithms.parallel_leiden import parallel_leiden
from algorithms.diffusion import SpreadEstimate, reach_over_time, simulate, spread_by_segment
from algorithms.planning import SeedPlan, celf_greedy, degree_discount, influencers_of, plan_seeds
from algorithms.probabilities import edge_probabilities, lt_weights

__all__ = [
    "SeedPlan",
    "SpreadEstimate",
    "betweenness",
    "celf_greedy",
    "community_profiles",
    "compare_partitions",
    "consensus",
    "coreness",
    "degree",
    "degree_discount",
    "edge_probabilities",
    "engagement",
    "expected_reach",
    "hits",
    "influencers_of",
    "leiden",
    "lt_weights",
    "louvain",
    "multilayer_leiden",
    "pagerank",
    "parallel_leiden",
    "personalized_pagerank",
    "plan_seeds",
    "signed_communities",
    "reach_over_time",
    "simulate",
    "simulate_competition",
    "simulate_epidemic",
    "spread_by_segment",
    "track_communities",
    "voterank",
]
