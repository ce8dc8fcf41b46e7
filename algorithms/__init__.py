"""Algorithms over :class:`graphcrm.core.SocialGraph` arrays (numba kernels, igraph/leidenalg).

Sits on :mod:`graphcrm.core` only (never imports :mod:`loaders`).
"""

from algorithms.centrality import coreness, degree, engagement, hits, pagerank, personalized_pagerank

__all__ = ["coreness", "degree", "engagement", "hits", "pagerank", "personalized_pagerank"]
