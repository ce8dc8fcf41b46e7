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

import os

import numba

JIT_OPTIONS = {"cache": True, "nogil": True}

#: how long a waiting OpenMP thread spins before it sleeps, unless the user set ``OMP_WAIT_POLICY`` or
#: ``GOMP_SPINCOUNT`` (GNU OpenMP's own default is 300000; see :func:`configure_threads`)
DEFAULT_SPINCOUNT = "10000"


def thread_budget() -> int:
    """The CPUs this process may use: the smallest of the machine's CPUs, the process's CPU affinity and
    a cgroup CPU quota (containers, batch schedulers).

    ``os.cpu_count()`` -- which numba uses by default -- counts the machine's CPUs, so a container limited to
    2 CPUs on a 64-core host would start 64 threads fighting for 2.

    >>> thread_budget() >= 1
    True
    """
    budget = os.cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        budget = min(budget, len(os.sched_getaffinity(0)))
    quota = _cgroup_cpu_quota()
    if quota is not None:
        budget = min(budget, quota)
    return max(1, budget)


def _read(path: str) -> str:
    """A small kernel file's text (closed at once: no ResourceWarning in a user's session)."""
    with open(path, encoding="ascii") as fh:
        return fh.read()


def _cgroup_cpu_quota() -> int | None:
    """CPUs allowed by the process's cgroup quota (v2 ``cpu.max`` or v1 ``cfs_quota_us``), rounded up."""
    paths = {"": "/"}
    try:        # "0::/path" (v2) or "4:cpu,cpuacct:/path" (v1), one line per hierarchy
        for line in _read("/proc/self/cgroup").splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                paths[c] = path
    except (OSError, ValueError):
        pass
    candidates = [(f"/sys/fs/cgroup{paths.get('', '/')}".rstrip("/") + "/cpu.max", None),
                  ("/sys/fs/cgroup/cpu.max", None)]
    for root in ("/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"):
        for sub in (paths.get("cpu", "/"), "/"):
            base = f"{root}{sub}".rstrip("/")
            candidates.append((base + "/cpu.cfs_quota_us", base + "/cpu.cfs_period_us"))
    for quota_path, period_path in candidates:
        try:
            if period_path is None:
                quota, period = _read(quota_path).split()[:2]
                if quota == "max":
                    return None
            else:
                quota = _read(quota_path).strip()
                period = _read(period_path).strip()
                if int(quota) <= 0:             # -1: no quota
                    return None
            return max(1, -(-int(quota) // int(period)))
        except (OSError, ValueError):
            continue
    return None


def configure_threads(budget: int | None = None) -> dict:
    """Thread hygiene, applied once before numba starts its thread pool (on import of this module).

    - **Layer**: numba's ``omp`` layer first (GNU OpenMP: thread-safe, so kernels may run from several
      threads at once, e.g. dask workers), then ``tbb``, then ``workqueue`` where neither library exists;
      ``NUMBA_THREADING_LAYER`` or ``NUMBA_THREADING_LAYER_PRIORITY`` override it.
    - **Budget**: numba's pool gets :func:`thread_budget` threads unless ``NUMBA_NUM_THREADS`` is set.
    - **Short spinning**: ``GOMP_SPINCOUNT=10000`` unless ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is set.
      GNU OpenMP's default lets a thread that finished its share spin 300000 rounds before it sleeps;
      beside other busy threads (a second OpenMP runtime such as NetworKit's, BLAS, another process) the
      spinning threads take the CPU from the ones still working, and every parallel loop waits for its
      slowest thread: beside a busy process on this 2-core machine PageRank calls on rmat17 became bimodal
      (max/median 3.1 to 9.9 over two runs) and Leiden 1.3-2.6x slower.  Not spinning at all
      (``OMP_WAIT_POLICY=PASSIVE``) pays a wake-up per parallel loop; it measured within noise of the short
      spin on a quiet machine and up to 2x slower on the Monte-Carlo kernels in a run under load
      (``benchmarks/RESULTS-threads.md``).  The variable is read when the OpenMP library starts, so it
      applies to OpenMP runtimes loaded after graphcrm's first kernel module; one already loaded keeps its
      setting.

    Parameters
    ----------
    budget : int, optional
        Threads for numba's pool (default :func:`thread_budget`); no effect once the pool has started.

    Returns
    -------
    dict
        What was decided (layer, threads, wait policy), for ``graphcrm warmup --json`` and the benchmark.
    """
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = DEFAULT_SPINCOUNT
    if "NUMBA_THREADING_LAYER" not in os.environ and "NUMBA_THREADING_LAYER_PRIORITY" not in os.environ:
        numba.config.THREADING_LAYER_PRIORITY = ["omp", "tbb", "workqueue"]
    if "NUMBA_NUM_THREADS" not in os.environ and not _pool_started():
        from numba.np.ufunc import parallel

        threads = min(numba.config.NUMBA_NUM_THREADS, budget or thread_budget())
        # numba read its thread count when it was imported: the pool starts with parallel.NUM_THREADS
        numba.config.NUMBA_NUM_THREADS = parallel.NUM_THREADS = threads
    return {"threading_layer": os.environ.get("NUMBA_THREADING_LAYER", "/".join(numba.config.THREADING_LAYER_PRIORITY)),
            "threads": numba.config.NUMBA_NUM_THREADS,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "gomp_spincount": os.environ.get("GOMP_SPINCOUNT")}


def _pool_started() -> bool:
    from numba.np.ufunc import parallel

    return bool(getattr(parallel, "_is_initialized", False))


THREADS = configure_threads()

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
