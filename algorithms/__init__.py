"""Floor 2 of graphcrm: algorithms over :class:`~graphcrm.loaders.SocialGraph` arrays (import name
``graphcrm.algorithms``).

Numba kernels (private ``_*kernels`` modules of arrays and scalars) and their public wrappers,
igraph/leidenalg for community optimisation.  Sits on :mod:`graphcrm.loaders` (floor 1) only and never
imports the rest of :mod:`graphcrm` (floor 3).
"""

if __name__ != "graphcrm.algorithms":     # the folder algorithms/ installs as graphcrm.algorithms only
    raise ImportError(f"import this package as graphcrm.algorithms, not {__name__!r} "
                      "(pip install -e . maps the folder algorithms/ to graphcrm.algorithms)")

from graphcrm.loaders._lazy import lazy_exports

#: public name -> module of this package that defines it (imported on first use, so a kernel module
#: does not pull in igraph, sklearn and every wrapper)
_EXPORTS = {
    "SeedPlan": ".planning",
    "Embedding": ".embedding",
    "SpreadEstimate": ".diffusion",
    "betweenness": ".centrality",
    "celf_greedy": ".planning",
    "community_profiles": ".community",
    "compare_partitions": ".community",
    "consensus": ".community",
    "coreness": ".centrality",
    "degree": ".centrality",
    "degree_discount": ".planning",
    "edge_probabilities": ".probabilities",
    "engagement": ".centrality",
    "expected_reach": ".centrality",
    "fastrp": ".embedding",
    "hits": ".centrality",
    "influencers_of": ".planning",
    "leiden": ".community",
    "louvain": ".community",
    "lt_weights": ".probabilities",
    "multilayer_leiden": ".community",
    "pagerank": ".centrality",
    "parallel_leiden": ".leiden_parallel",
    "personalized_pagerank": ".centrality",
    "plan_seeds": ".planning",
    "reach_over_time": ".diffusion",
    "signed_communities": ".community",
    "simulate": ".diffusion",
    "simulate_competition": ".contagion",
    "simulate_epidemic": ".contagion",
    "spread_by_segment": ".diffusion",
    "track_communities": ".community",
    "voterank": ".centrality",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
