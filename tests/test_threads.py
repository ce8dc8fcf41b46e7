"""Thread hygiene (issue 24): numba's pool fits the CPUs the process may use; OpenMP threads spin only briefly."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = ("import json, os, sys\n"
         "if len(sys.argv) > 1 and sys.argv[1]: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
         "from graphcrm.loaders.numba_config import THREADS, configure_threads\n"
         "if len(sys.argv) > 2: THREADS = configure_threads(budget=1)   # a cgroup quota of one CPU\n"
         "import numba\n"
         "from graphcrm.algorithms import pagerank\n"
         "from graphcrm.loaders import GraphBuilder\n"
         "g = GraphBuilder().add_edges('x', list(range(50)), [(i * 7) % 50 for i in range(50)]).build()\n"
         "pagerank(g, layer='x')\n"
         "print(json.dumps({**THREADS, 'env': os.environ.get('OMP_WAIT_POLICY'), 'pool': numba.get_num_threads(),"
         " 'layer': numba.threading_layer()}))\n")


def probe(*args, **env) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT",
                                                              "NUMBA_NUM_THREADS")}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={**base, **env}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_waiting_threads_spin_briefly_unless_the_user_chose_a_policy():
    default = probe()
    assert default["env"] is None and default["gomp_spincount"] == "10000"
    assert probe(OMP_WAIT_POLICY="ACTIVE")["env"] == "ACTIVE"         # the user's choice wins
    assert probe(OMP_WAIT_POLICY="ACTIVE")["gomp_spincount"] is None
    assert probe(GOMP_SPINCOUNT="50")["gomp_spincount"] == "50"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_the_pool_fits_the_cpus_the_process_may_use():
    pinned = probe("pin-to-one-cpu")
    assert pinned["threads"] == 1 and pinned["pool"] == 1
    quota = probe("", "budget-of-one")          # a budget decided after numba was imported still sizes the pool
    assert quota["threads"] == 1 and quota["pool"] == 1
    free = probe()
    assert free["threads"] == min(os.cpu_count(), len(os.sched_getaffinity(0)))
    assert probe(NUMBA_NUM_THREADS="1")["pool"] == 1                  # the user's setting wins
    assert free["layer"] in ("omp", "tbb", "workqueue")
