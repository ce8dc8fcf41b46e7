"""Word-of-mouth simulation: how far a message spreads from a seed set, step by step, with uncertainty.

Models: Independent Cascade (``"ic"``: each newly active account gets one
chance to activate each audience member ``v`` with probability ``p(u, v)``)
and Linear Threshold (``"lt"``: ``v`` activates once the summed weights of its
active influencers pass a uniform random threshold; weights are the edge
probabilities, scaled down where they sum past 1, see
:func:`graphcrm.algorithms.probabilities.lt_weights`).  Edge probabilities come from
:mod:`graphcrm.algorithms.probabilities`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from graphcrm.algorithms import _diffusion_kernels as _k
from graphcrm.algorithms.probabilities import edge_probabilities, lt_weights, trivalency_keys
from graphcrm.loaders import progress_hook
from graphcrm.loaders.errors import ParameterError, whole_number
from graphcrm.loaders.graph import Layer, SocialGraph, layer_of
from graphcrm.loaders.idmap import IdMap
from graphcrm.loaders.idmap import id_list

MAX_STEP_BUCKETS = 64


@dataclass(frozen=True, eq=False)
class SpreadEstimate:
    """The outcome of many simulated cascades from one seed set.

    Attributes
    ----------
    mean : float
        Expected number of accounts reached (seeds included).
    ci_low, ci_high : float
        95% confidence interval of the mean (normal approximation).
    sizes : numpy.ndarray
        Reach of every run (the distribution of cascade sizes).
    activation_probability : numpy.ndarray
        Share of runs in which each account (dense index) ended up reached.
    new_per_step : numpy.ndarray
        Mean number of newly reached accounts at each step (step 0: the seeds).
    id_map : IdMap
    info : mapping
    target_sizes : numpy.ndarray or None
        With ``targets``: the number of target accounts reached in every run (see :meth:`in_targets`).
    """

    mean: float
    ci_low: float
    ci_high: float
    sizes: np.ndarray
    activation_probability: np.ndarray
    new_per_step: np.ndarray
    id_map: IdMap
    info: Mapping = field(default_factory=dict)
    target_sizes: np.ndarray | None = None

    def __post_init__(self):
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    def in_targets(self) -> tuple[float, float, float]:
        """Expected number of target accounts reached and its 95% interval ``(mean, ci_low, ci_high)``, from the
        same runs as :attr:`mean` (needs ``simulate(..., targets=...)``)."""
        if self.target_sizes is None:
            raise ParameterError("this estimate counted no targets: simulate(..., targets=ids)")
        return _interval(self.target_sizes)

    @property
    def reach_per_step(self) -> np.ndarray:
        """Mean cumulative reach after each step."""
        return np.cumsum(self.new_per_step)

    def steps_frame(self) -> pd.DataFrame:
        """``step, new_reached, reached`` (means over runs)."""
        return pd.DataFrame({"step": np.arange(len(self.new_per_step)), "new_reached": self.new_per_step,
                             "reached": self.reach_per_step})

    def to_frame(self) -> pd.DataFrame:
        """``account_id, activation_probability`` of every account reached at least once, most likely first."""
        p = self.activation_probability
        order = np.lexsort((np.arange(len(p)), -p))
        order = order[p[order] > 0]
        return pd.DataFrame({"account_id": self.id_map.ids[order], "activation_probability": p[order]})

    def __repr__(self) -> str:
        return (f"SpreadEstimate(mean={self.mean:.2f}, 95% CI [{self.ci_low:.2f}, {self.ci_high:.2f}], "
                f"runs={len(self.sizes)})")


def simulate(
    graph: SocialGraph,
    seeds,
    *,
    layer: str | Layer,
    model: str = "ic",
    prob: str = "wc",
    n_runs: int = 10_000,
    seed: int = 0,
    max_steps: int | None = None,
    ci_width: float | None = None,
    batch: int = 1_000,
    client=None,
    first_run: int = 0,
    targets=None,
) -> SpreadEstimate:
    """Simulate word-of-mouth from ``seeds`` (external ids) on an influence layer.

    Parameters
    ----------
    model : {"ic", "lt"}
    prob : str
        Edge probability model (``wc``, ``const:P``, ``trivalency``); under
        LT the weights are these probabilities, scaled down where an
        account's in-weights sum past 1.
    n_runs : int
        Monte-Carlo runs (upper bound when ``ci_width`` is given).
    seed : int
        Same seed, same result, whatever the number of threads.
    max_steps : int, optional
        Stop every cascade after this many steps.
    ci_width : float, optional
        Stop early, in batches of ``batch`` runs, once the 95% interval of
        the mean is narrower than this (number of accounts).
    client : dask.distributed.Client, optional
        Split the runs over the cluster's workers; the result is identical
        to the local one for the same seed.
    first_run : int
        Runs ``first_run .. first_run + n_runs - 1`` of the seed's streams:
        calls with the same ``seed`` and disjoint run ranges are independent
        batches of one simulation (different ``seed`` values are not a way to
        get independent batches).
    targets : iterable of account ids, optional
        Also count, run by run, the target accounts reached: :meth:`SpreadEstimate.in_targets` gives their
        expected number with its 95% interval (a segment's reach, as ``plan --target-segment`` counts it).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> chain = GraphBuilder().add_edges("x", [1, 2, 3], [2, 3, 4]).build()   # 1 -> 2 -> 3 -> 4
    >>> simulate(chain, [1], layer="x", prob="const:1", n_runs=100).mean
    4.0
    >>> simulate(chain, [1], layer="x", prob="const:0", n_runs=100).mean
    1.0
    >>> simulate(chain, [1], layer="x", prob="const:1", n_runs=100, targets=[3, 4]).in_targets()
    (2.0, 2.0, 2.0)
    """
    seed = whole_number(seed, "seed", 0)
    if model not in CASCADE_MODELS:
        raise ParameterError(f"model must be one of {CASCADE_MODELS}, got {model!r}")
    n_runs, batch = whole_number(n_runs, "n_runs"), whole_number(batch, "batch")
    first_run = whole_number(first_run, "first_run", 0)
    if max_steps is not None:                       # the kernels index a per-step table by it: never negative
        max_steps = whole_number(max_steps, "max_steps", 0)            # 0: the seeds only
    if ci_width is not None and not ci_width > 0:
        raise ParameterError(f"ci_width must be a number > 0, got {ci_width}")
    lay = layer_of(graph, layer).positive()
    seed_ids = graph.index_of(id_list(seeds))
    if len(seed_ids) == 0:
        raise ParameterError("give at least one seed account")
    seeds_dense = np.unique(seed_ids).astype(np.int64)
    in_targets = np.zeros(0 if targets is None else graph.n_nodes, dtype=np.bool_)
    if targets is not None:
        in_targets[graph.index_of(id_list(targets))] = True
    if model == "lt":
        lt_weight, ic_edges = lt_weights(lay, prob, side="out", node_keys=trivalency_keys(graph, prob)), _k.ic_layout(np.zeros(1, np.int64), lay.out_indices[:0], np.empty(0))
    else:   # each account's out-edges by falling probability, for the kernel's geometric skipping
        lt_weight = np.empty(0)
        ic_edges = _k.ic_layout(lay.out_indptr, lay.out_indices,
                                 edge_probabilities(lay, prob, side="out", node_keys=trivalency_keys(graph, prob)))
    started = time.perf_counter()
    import numba

    workers = max(1, numba.get_num_threads())
    steps_cap = MAX_STEP_BUCKETS if max_steps is None else min(MAX_STEP_BUCKETS, max_steps)
    sizes_parts, target_parts, done = [], [], 0
    act, per_step = np.zeros(graph.n_nodes, np.int64), np.zeros(steps_cap + 1, np.int64)
    # batches only change how often we look (each run keeps its own stream): for the interval, or for a progress bar
    chunk = batch if ci_width is not None else max(batch, n_runs // 20) if progress_hook.active() else n_runs
    while done < n_runs:
        this = min(chunk, n_runs - done)
        # runs done .. done + this - 1 keep their own streams: batching does not change any run
        args = (model == "lt", seeds_dense, lay.out_indptr, lay.out_indices, lt_weight, ic_edges, in_targets)
        rest = (int(seed), -1 if max_steps is None else int(max_steps))
        if client is None:
            s, t, a, p = _k._simulate(*args[:-1], this, rest[0], first_run + done, rest[1], workers, steps_cap,
                                      in_targets)
        else:
            s, t, a, p = _simulate_on_cluster(client, args, rest, this, first_run + done, steps_cap)
        sizes_parts.append(s)
        target_parts.append(t)
        act += a
        per_step += p
        done += this
        progress_hook.report(done, n_runs)
        if ci_width is not None:
            sizes = np.concatenate(sizes_parts)
            if len(sizes) > 1 and 2 * 1.96 * sizes.std(ddof=1) / np.sqrt(len(sizes)) < ci_width:
                break
    sizes = np.concatenate(sizes_parts)
    mean, low, high = _interval(sizes)
    info = {"model": model, "prob": prob, "layer": lay.name, "runs": int(len(sizes)),
            "seed": seed, "seeds": int(len(seeds_dense)), "max_steps": max_steps,
            "stopped_early": bool(ci_width is not None and len(sizes) < n_runs),
            "seconds": time.perf_counter() - started}
    return SpreadEstimate(mean, low, high, sizes, act / len(sizes), per_step / len(sizes), graph.id_map, info,
                          None if targets is None else np.concatenate(target_parts))


def _interval(sizes: np.ndarray) -> tuple[float, float, float]:
    """Mean and normal 95% interval of per-run counts (one run: the interval is unknown, +-inf)."""
    mean = float(sizes.mean())
    half = 1.96 * float(sizes.std(ddof=1)) / float(np.sqrt(len(sizes))) if len(sizes) > 1 else float("inf")
    return mean, mean - half, mean + half


def _simulate_on_cluster(client, args, rest, n_runs, first_run, steps_cap):
    """Runs ``first_run ..`` split into one task per worker thread; merged in run order (same result as local)."""
    workers = client.scheduler_info().get("workers", {})
    threads = max(1, sum(w.get("nthreads", 1) for w in workers.values()))
    bounds = np.linspace(first_run, first_run + n_runs, min(n_runs, 2 * threads) + 1).astype(np.int64)
    # hash=False: unique keys, so a scatter of the same arrays by an earlier batch being released cannot take
    # this batch's inputs with it (dask keys scattered data by content otherwise)
    shared = client.scatter(list(args), broadcast=True, hash=False)
    futures = [client.submit(_simulate_task, *shared, int(b - a), rest[0], int(a), rest[1], steps_cap, pure=False)
               for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    parts = client.gather(futures)
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), sum(p[2] for p in parts),
            sum(p[3] for p in parts))


def _simulate_task(lt, seeds, indptr, indices, lt_weight, ic_edges, in_targets, n_runs, seed, first_run, max_steps,
                   steps_cap):
    """A Dask task: ``n_runs`` cascades on one worker thread."""
    return _k._simulate(lt, seeds, indptr, indices, lt_weight, ic_edges, n_runs, seed, first_run, max_steps, 1,
                        steps_cap, in_targets)


def reach_over_time(estimate: SpreadEstimate, delays_seconds, *, hours=None, n_draws: int = 20_000,
                    seed: int = 0) -> pd.DataFrame:
    """Expected reach by hour: each hop takes a delay drawn from the observed ones.

    A step-``s`` activation happens after ``s`` independent delays, so
    ``reach(T) = sum_s new_per_step[s] * P(D_1 + ... + D_s <= T)``, with the
    probabilities estimated from ``n_draws`` sampled delay sums.  Delays
    come from :func:`graphcrm.algorithms.probabilities.propagation_delays`.

    Returns
    -------
    pandas.DataFrame
        ``hours, expected_reach`` (seeds included at hour 0).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> chain = GraphBuilder().add_edges("x", [1, 2], [2, 3]).build()   # 1 -> 2 -> 3, p = 1
    >>> est = simulate(chain, [1], layer="x", prob="const:1", n_runs=10)
    >>> reach_over_time(est, [3600, 3600], hours=[0, 1, 2]).to_dict("list")   # every hop takes one hour
    {'hours': [0.0, 1.0, 2.0], 'expected_reach': [1.0, 2.0, 3.0]}
    """
    seed = whole_number(seed, "seed", 0)
    delays = np.asarray(delays_seconds, dtype=float) / 3600.0
    if len(delays) == 0:
        raise ParameterError("no observed delays to spread steps over time")
    new = np.asarray(estimate.new_per_step, dtype=float)
    last = int(np.flatnonzero(new)[-1]) if new.any() else 0
    rng = np.random.default_rng(seed)
    sums = np.cumsum(rng.choice(delays, size=(n_draws, max(last, 1))), axis=1)     # time of a step-s activation
    if hours is None:
        horizon = float(np.quantile(sums[:, -1], 0.99)) if last else 1.0
        hours = np.arange(0, min(max(np.ceil(horizon), 1.0), 24 * 14) + 1)
    hours = np.asarray(hours, dtype=float)
    reach = np.full(len(hours), new[0])
    for step_no in range(1, last + 1):
        column = np.sort(sums[:, step_no - 1])
        reach += new[step_no] * np.searchsorted(column, hours, side="right") / n_draws
    return pd.DataFrame({"hours": hours, "expected_reach": reach})


def spread_by_segment(estimate: SpreadEstimate, segments) -> pd.DataFrame:
    """Expected reach broken down by segment or community: ``segment, accounts, expected_reached``.

    ``segments`` maps account id -> segment label: a :class:`~graphcrm.loaders.results.Partition` (what
    ``leiden`` / ``louvain`` return), a pandas Series or a dict; accounts without a label are grouped under
    ``None``.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> from graphcrm.algorithms import leiden
    >>> g = GraphBuilder().add_edges("x", [1, 2, 3, 4], [2, 1, 4, 3]).build()      # two pairs
    >>> est = simulate(g, [1], layer="x", prob="const:1", n_runs=10)
    >>> spread_by_segment(est, leiden(g, layer="x", seed=1))["expected_reached"].tolist()
    [2.0, 0.0]
    >>> spread_by_segment(est, {1: "fans", 2: "fans"})["accounts"].tolist()      # 3 and 4: no label
    [2, 2]
    """
    from graphcrm.loaders.results import Partition

    if isinstance(segments, Partition):
        segments = segments.to_series()
    if not isinstance(segments, (pd.Series, Mapping)):
        raise ParameterError(f"segments must be a Partition, a pandas Series or a dict of account id -> label, "
                             f"got {type(segments).__name__}")
    series = segments if isinstance(segments, pd.Series) else pd.Series(dict(segments))
    labels = pd.Series([None] * len(estimate.id_map), dtype=object)
    dense = estimate.id_map.lookup(series.index.to_numpy())
    known = dense >= 0
    if not known.all():
        unknown = series.index[~known]
        shown = ", ".join(repr(x) for x in unknown[:3]) + (", ..." if len(unknown) > 3 else "")
        if not known.any():
            raise ParameterError(f"none of the {len(series):,} labelled accounts is in the graph (e.g. {shown}); "
                                 "are the segments of another graph?")
        warnings.warn(f"{len(unknown):,} of {len(series):,} labelled accounts are not in the graph and are left "
                      f"out ({shown})", UserWarning, stacklevel=2)
    labels.iloc[dense[known]] = series.to_numpy()[known]
    frame = pd.DataFrame({"segment": labels, "p": estimate.activation_probability})
    out = frame.groupby("segment", dropna=False).agg(accounts=("p", "size"), expected_reached=("p", "sum"))
    return out.reset_index().sort_values("expected_reached", ascending=False, kind="stable").reset_index(drop=True)


# -- the model registry: every diffusion model of graphcrm, and the one dispatch over them ----------------------


@dataclass(frozen=True)
class DiffusionModel:
    """One diffusion model: its name, what it means, and which family of simulator runs it.

    ``family`` is ``"cascade"`` (IC, LT: Monte-Carlo here, and reverse-reachable sampling for
    planning, ``reach`` and expected reach), ``"epidemic"`` (SIR, SIS:
    :func:`graphcrm.algorithms.contagion.simulate_epidemic`) or ``"competitive"`` (a negative
    cascade racing advocates: :func:`graphcrm.algorithms.contagion.simulate_competition`).
    """

    name: str
    description: str
    family: str


#: every model by name (the CLI's ``--model`` choices and the docs list this table)
MODELS: Mapping[str, DiffusionModel] = MappingProxyType({m.name: m for m in (
    DiffusionModel("ic", "Independent Cascade: each new adopter gets one chance per out-edge", "cascade"),
    DiffusionModel("lt", "Linear Threshold: adopt once the adopting in-neighbours' weights pass a random "
                         "threshold", "cascade"),
    DiffusionModel("sir", "Susceptible-Infected-Recovered: spreaders stop with chance `recovery` per step",
                   "epidemic"),
    DiffusionModel("sis", "Susceptible-Infected-Susceptible: recovered accounts can be reached again", "epidemic"),
    DiffusionModel("competitive", "a negative Independent Cascade racing advocates' positive one", "competitive"),
)})
#: the models reverse-reachable sampling serves (plan, reach, expected reach)
CASCADE_MODELS = tuple(name for name, m in MODELS.items() if m.family == "cascade")


def simulate_model(graph: SocialGraph, seeds, *, model: str = "ic", layer: str | Layer | None = None,
                   negative=(), prob: str = "wc", recovery: float = 0.5, n_runs: int = 10_000,
                   max_steps: int | None = None, ci_width: float | None = None, seed: int = 0, client=None):
    """Simulate any registered model from ``seeds``: the one entry point the CLI and the pipeline use.

    ``negative`` seeds (or ``model="competitive"``) race a negative cascade against advocates seeded at
    ``seeds`` under IC; ``sir`` / ``sis`` run :func:`~graphcrm.algorithms.contagion.simulate_epidemic`
    (``max_steps`` defaults to 100 there); ``ic`` / ``lt`` run :func:`simulate`.

    Returns
    -------
    SpreadEstimate, EpidemicEstimate or CompetitionEstimate

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> chain = GraphBuilder().add_edges("x", [1, 2, 3], [2, 3, 4]).build()
    >>> simulate_model(chain, [1], model="sir", layer="x", prob="const:1", recovery=1.0, n_runs=10).mean
    4.0
    >>> sorted(MODELS)
    ['competitive', 'ic', 'lt', 'sir', 'sis']
    """
    seed = whole_number(seed, "seed", 0)
    from graphcrm.algorithms.contagion import simulate_competition, simulate_epidemic

    if model not in MODELS:
        raise ParameterError(f"model must be one of {tuple(MODELS)}, got {model!r}")
    family = MODELS[model].family
    if len(negative) or family == "competitive":
        if model not in ("ic", "competitive"):
            raise ParameterError("--negative races two Independent Cascades: use --model ic")
        if not len(negative):
            raise ParameterError("the competitive model needs negative seeds (--negative ID)")
        return simulate_competition(graph, negative, seeds, layer=layer_of(graph, layer), prob=prob,
                                    n_runs=n_runs, seed=seed)
    if family == "epidemic":
        return simulate_epidemic(graph, seeds, layer=layer_of(graph, layer), model=model, prob=prob,
                                 recovery=recovery, n_runs=n_runs, max_steps=100 if max_steps is None else max_steps,
                                 seed=seed)
    return simulate(graph, seeds, layer=layer_of(graph, layer) if layer is None else layer, model=model,
                    prob=prob, n_runs=n_runs, seed=seed, max_steps=max_steps, ci_width=ci_width, client=client)
