"""Compile every numba kernel ahead of a batch run (``graphcrm warmup``)."""

from __future__ import annotations

import importlib
import time

#: every module holding ``@jit`` kernels; each defines ``_warmup()``
KERNEL_MODULES = (
    "graphcrm.core._kernels",
    "graphcrm.core._rng",
    "algorithms._centrality_kernels",
    "algorithms._pagerank_kernels",
    "algorithms._rr_kernels",
    "algorithms._betweenness_kernels",
    "algorithms._diffusion_kernels",
    "algorithms._im_kernels",
    "algorithms._contagion_kernels",
    "algorithms._leiden_kernels",
    "algorithms._cascade_kernels",
)


def warmup() -> dict[str, float]:
    """Compile (or load from numba's cache) every kernel of the project.

    Returns
    -------
    dict
        Seconds spent per kernel module.

    Examples
    --------
    >>> timings = warmup()
    >>> sorted(timings) == sorted(KERNEL_MODULES)
    True
    >>> 'algorithms._leiden_kernels' in timings
    True
    """
    timings = {}
    for name in KERNEL_MODULES:
        start = time.perf_counter()
        importlib.import_module(name)._warmup()
        timings[name] = round(time.perf_counter() - start, 3)
    return timings
