"""Reach per step with confidence bands, for comparing seed sets (top leaders, planned seeds, random people).

:func:`graphcrm.algorithms.diffusion.simulate` gives the mean reach per step and an
interval for the final reach.  A band around every step needs the spread of
the per-step means: :func:`reach_curve` runs the simulation in independent
batches (disjoint runs of one seed's streams: the batches together are exactly
``simulate(..., n_runs=n_runs, seed=seed)``) and takes the 95% t-interval of the batch
means at each step (the batch-means method; the runs are independent, so it is
exact up to the normal approximation of each batch mean).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from scipy.special import stdtrit  # Student's t quantile (scipy.stats costs a command ~0.5 s to import)

from graphcrm.algorithms.diffusion import simulate
from graphcrm.loaders import progress_hook
from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.graph import Layer, SocialGraph


def reach_curve(graph: SocialGraph, seeds, *, layer: str | Layer, model: str = "ic", prob: str = "wc",
                n_runs: int = 2_000, batches: int = 10, seed: int = 0) -> pd.DataFrame:
    """Expected cumulative reach after each step, with a 95% confidence band.

    Parameters
    ----------
    seeds : iterable of account ids
    n_runs : int
        Monte-Carlo runs in all, split into ``batches`` equal batches.
    batches : int
        Independent batches (at least 2); the band is the t-interval of their means.

    Returns
    -------
    pandas.DataFrame
        ``step, new_reached, reached, ci_low, ci_high`` (step 0: the seeds),
        up to the last step at which anything new is reached on average.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> chain = GraphBuilder().add_edges("x", [1, 2, 3], [2, 3, 4]).build()   # 1 -> 2 -> 3 -> 4
    >>> reach_curve(chain, [1], layer="x", prob="const:1", n_runs=40, batches=4)[["step", "reached", "ci_low"]]
       step  reached  ci_low
    0     0      1.0     1.0
    1     1      2.0     2.0
    2     2      3.0     3.0
    3     3      4.0     4.0
    """
    if batches < 2 or n_runs < batches:
        raise ParameterError(f"need batches >= 2 and n_runs >= batches (got n_runs={n_runs}, batches={batches})")
    per = n_runs // batches
    rows = []
    for b in range(batches):
        with progress_hook.part(b, batches):
            rows.append(simulate(graph, seeds, layer=layer, model=model, prob=prob, n_runs=per, seed=seed,
                                 first_run=b * per).reach_per_step)
    cum = np.stack(rows)
    mean = cum.mean(axis=0)
    half = stdtrit(batches - 1, 0.975) * cum.std(axis=0, ddof=1) / np.sqrt(batches)
    new = np.diff(mean, prepend=0.0)
    moving = np.flatnonzero(new > 1e-9)
    last = int(moving[-1]) if len(moving) else 0
    frame = pd.DataFrame({"step": np.arange(len(mean)), "new_reached": new, "reached": mean,
                          "ci_low": mean - half, "ci_high": mean + half})
    return frame.iloc[:last + 1].reset_index(drop=True)


def compare_seed_sets(graph: SocialGraph, seed_sets: Mapping[str, list], *, layer: str | Layer, model: str = "ic",
                      prob: str = "wc", n_runs: int = 2_000, batches: int = 10, seed: int = 0) -> pd.DataFrame:
    """:func:`reach_curve` for several named seed sets: ``seed_set, seeds, step, ..., ci_high``.

    All curves are padded to the same last step (reach stays flat after a cascade dies out).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 2, 3], [2, 3, 4]).build()
    >>> f = compare_seed_sets(g, {"head": [1], "tail": [4]}, layer="x", prob="const:1", n_runs=20, batches=2)
    >>> f.groupby("seed_set").reached.max().to_dict()
    {'head': 4.0, 'tail': 1.0}
    """
    curves = {}
    for i, (name, ids) in enumerate(seed_sets.items()):
        with progress_hook.part(i, len(seed_sets)):
            curves[name] = reach_curve(graph, ids, layer=layer, model=model, prob=prob, n_runs=n_runs,
                                       batches=batches, seed=seed)
    last = max(len(c) for c in curves.values())
    parts = []
    for name, c in curves.items():
        pad = c.iloc[[-1] * (last - len(c))].assign(new_reached=0.0)
        c = pd.concat([c, pad], ignore_index=True).assign(step=np.arange(last))
        c.insert(0, "seeds", len(seed_sets[name]))
        c.insert(0, "seed_set", name)
        parts.append(c)
    return pd.concat(parts, ignore_index=True)


def random_seeds(graph: SocialGraph, k: int, *, layer: str | Layer | None = None, seed: int = 0) -> list:
    """``k`` accounts drawn uniformly (among those with an audience on ``layer`` when given): a baseline.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 2, 3], [2, 3, 4]).build()
    >>> sorted(random_seeds(g, 3, layer="x"))
    [1, 2, 3]
    """
    pool = np.arange(graph.n_nodes)
    if layer is not None:
        lay = graph.resolve_layer(layer)
        pool = np.flatnonzero(lay.positive().out_degree() > 0)
    if k < 1 or k > len(pool):
        raise ParameterError(f"k must be between 1 and {len(pool)}, got {k}")
    picked = np.sort(np.random.default_rng(seed).choice(pool, size=k, replace=False))
    return graph.id_map.ids[picked].tolist()
