"""Compile every numba kernel ahead of a batch run (``graphcrm warmup``).

Kernel modules are discovered, not listed: every module of :mod:`graphcrm.loaders` and
:mod:`graphcrm.algorithms` that defines a ``_warmup()`` function (which calls each of its
``@jit`` kernels once on tiny arrays).  A new kernel module is picked up by adding that
function; ``tests/test_registries.py`` checks that every compiled kernel of the project
sits in a discovered module and has a compiled signature after :func:`warmup`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
from pathlib import Path

#: the packages whose modules may hold kernels (floors 1 and 2)
KERNEL_PACKAGES = ("graphcrm.loaders", "graphcrm.algorithms")
_WARMUP_DEF = re.compile(r"^def _warmup\(", re.M)


def kernel_modules() -> tuple[str, ...]:
    """Every module that defines ``_warmup()``, found by reading the sources (nothing is imported).

    Examples
    --------
    >>> mods = kernel_modules()
    >>> "graphcrm.algorithms._pagerank_kernels" in mods and "graphcrm.loaders._rng" in mods
    True
    """
    found = []
    for package in KERNEL_PACKAGES:
        pkg = importlib.import_module(package)
        for info in pkgutil.iter_modules(pkg.__path__, package + "."):
            if info.ispkg:
                continue
            source = Path(info.module_finder.path) / (info.name.rsplit(".", 1)[1] + ".py")
            if source.is_file() and _WARMUP_DEF.search(source.read_text(encoding="utf-8")):
                found.append(info.name)
    return tuple(sorted(found))


def warmup() -> dict[str, float]:
    """Compile (or load from numba's cache) every kernel of the project.

    Returns
    -------
    dict
        Seconds spent per kernel module.

    Examples
    --------
    >>> timings = warmup()
    >>> sorted(timings) == sorted(kernel_modules())
    True
    >>> 'graphcrm.algorithms._leiden_kernels' in timings
    True
    """
    timings = {}
    for name in kernel_modules():
        start = time.perf_counter()
        importlib.import_module(name)._warmup()
        timings[name] = round(time.perf_counter() - start, 3)
    return timings
