"""The one place numba is configured.

Every kernel in graphcrm is declared with :func:`jit` so flags live here only:
``cache=True`` (compiled machine code is stored next to the module and reused
by later processes), ``nogil=True`` and ``nopython`` mode.  Each kernel module
(named ``_kernels.py`` by convention) defines ``_warmup()``, which calls its
kernels on tiny inputs; ``graphcrm warmup`` (see :mod:`graphcrm.warmup`) runs
them all so a batch job does not pay compile time in the middle of a run.

Hot edge loops index with unsigned integers::

    for k in range(np.uint64(indptr[v]), np.uint64(indptr[v + 1])):
        u = np.uint32(indices[k])

numba checks every signed index for a negative value (Python's wraparound),
a branch per access that also blocks unrolling; an unsigned index skips it.
A PageRank pull pass over the 16M-edge rmat20 went from 13.2 to 8.6 ms.
Keep unsigned values out of arithmetic with signed ones: numba types
``uint64 + int64`` as ``float64``.

numba keys a kernel's cache on the kernel's own file.  A helper inlined
from another module (``_gather_sum`` from ``_centrality_kernels`` into
``_pagerank_kernels``) does not invalidate it: after editing such a helper,
delete ``algorithms/__pycache__/*.nbi`` and ``*.nbc``.
"""

from __future__ import annotations

import numba

JIT_OPTIONS = {"cache": True, "nogil": True}

def jit(func=None, *, parallel: bool = False, **overrides):
    """Compile ``func`` with the project's numba options.

    Parameters
    ----------
    func : callable
        The kernel: arrays and scalars in, arrays and scalars out.
    parallel : bool, default False
        Enable ``prange``.  Parallel kernels must give results that do not
        depend on the number of threads.
    **overrides
        Rarely needed extra options for :func:`numba.njit`.

    Examples
    --------
    Kernels live in modules (numba caches by source file)::

        @jit
        def _add(a, b):
            return a + b

    >>> JIT_OPTIONS["cache"], JIT_OPTIONS["nogil"]
    (True, True)
    """
    options = dict(JIT_OPTIONS, parallel=parallel, **overrides)

    def wrap(f):
        return numba.njit(**options)(f)

    return wrap(func) if func is not None else wrap


def readonly_copy(a):
    """A read-only copy of ``a``: warm-ups compile kernels for the read-only arrays graphs hold.

    numba types read-only and writable arrays apart, so each kernel is
    compiled for both.
    """
    a = a.copy()
    a.flags.writeable = False
    return a
