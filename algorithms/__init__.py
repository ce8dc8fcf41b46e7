"""Algorithms over :class:`graphcrm.core.SocialGraph` arrays (numba kernels, igraph/leidenalg).

Sits on :mod:`graphcrm.core` only (never imports :mod:`loaders`).  The
influence, community, diffusion and maximization modules arrive with their
issues; the foundation ships the package and its layering contract.
"""
