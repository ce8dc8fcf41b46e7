"""A tiny counter-based random generator for numba kernels.

Every Monte-Carlo unit (a simulation run, a reverse-reachable sample) gets its
own stream, seeded from ``(seed, unit index)``; so results do not depend on the
number of threads or on how units are split across workers.  splitmix64
(Steele, Lea & Flood 2014) gives the streams; its output passes BigCrush.
"""

from __future__ import annotations

import numpy as np

from graphcrm.loaders.numba_config import jit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@jit
def stream_state(seed, unit):
    """Initial state of the stream of ``unit`` under ``seed``: ``mix(mix(seed) + unit)``.

    Both the seed and the unit go through the splitmix64 output function, so
    the streams of neighbouring seeds or units start at unrelated points
    (seed ``s + 1`` is not seed ``s`` shifted by a few draws).
    """
    seed_mixed, _ = next_u64(np.uint64(seed) * _M2)
    start, _ = next_u64(seed_mixed + np.uint64(unit) * _GOLDEN)
    return start


@jit
def next_u64(state):
    """``(random uint64, new state)``."""
    state = np.uint64(state) + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31)), state


@jit
def next_float(state):
    """``(uniform float in [0, 1), new state)`` with 53 random bits."""
    z, state = next_u64(state)
    return np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0), state


@jit
def next_below(state, n):
    """``(uniform integer in [0, n), new state)``."""
    x, state = next_float(state)
    k = np.int64(x * n)
    if k >= n:
        k = n - 1
    return k, state


def _warmup():
    s = stream_state(1, 2)
    _, s = next_float(s)
    next_below(s, 10)
