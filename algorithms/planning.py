"""Campaign planning: whom to seed for the most word-of-mouth reach, with a certified guarantee.

:func:`plan_seeds` picks ``k`` seeds, or seeds within a budget, by greedy
max coverage over reverse-reachable (RR) sets, sampled in rounds that double
until the result is *certified*: OPIM-C (Tang, Tang, Xiao & Yuan, SIGMOD
2018).  Each round draws two independent collections ``R1`` and ``R2``;
seeds come from ``R1``, a lower bound on their expected reach comes from
``R2`` and an upper bound on the best possible reach from ``R1``.  The
ratio of the two is the approximation the result *proves* (with
probability ``1 - delta``); sampling stops as soon as it reaches the target
``1 - 1/e - eps`` (``1 - 1/sqrt(e) - eps`` within a budget), or at the
round whose sample size guarantees it in the worst case.  Neither bound
takes a union over seed sets (the upper bound is about the one optimal set,
the lower bound about a set chosen without ``R2``), as in the paper and the
C++ code.  RR sets are drawn with SUBSIM-style subset sampling (Guo et al.,
SIGMOD 2020) where all in-edges of an account share one probability
(weighted cascade, ``const:P``); accounts without in-edges are not sampled
as roots at all: their RR set is always ``{root}``, so their share of the
reach is counted exactly.

After certification, the seeds are picked again from more sets (the mode):
``R2`` joins the selection sample and a fresh collection ``R3`` of the same
size checks the new pick, which replaces the first only if it is certified
too.  ``mode="fast"`` does this once (no new selection sets);
``mode="default"`` then keeps doubling the selection sample while it pays:
while the last seed's marginal reach is imprecise and the last doubling
improved the pick on ``R3`` by more than the noise.  The bounds computed
after certification take the share of the failure probability OPIM-C keeps
for its worst-case round (``delta / 3``): half for the re-selection pools'
upper bounds (one event per possible stopping round and re-pick), half for
the lower bounds on ``R3`` and ``R4`` (split over every check that *could*
run given ``R1`` and ``R2``), so the certificate holds for whichever set is
returned.

Last (both modes, plain ``k`` only, not with ``max_refine=0``), the pick is
weighed against cheap extra candidates -- the ``k`` allowed accounts of
largest out-degree -- on the same check collection (``R3``, or ``R2`` when
there was no re-selection), and the one with the larger estimated reach is
returned (a candidate replaces a certified pick only if certified too).
Since the check chose the winner, its lower bound there holds only through
the union bound over the candidates: each extra candidate is one more of those
checks; its ``expected_reach`` and a second lower bound
come from a fresh collection ``R4`` of the same size (one more bound), and
the lower bound reported is the larger of the two.

``expected_reach`` always comes from ``R4``, drawn after every decision (also
when no candidate was compared: then it gives the estimate only, no bound).
``R2`` decides when sampling stops and ``R3`` whether a re-pick is kept, so
their coverage of the returned set runs high (about +1% of the reach, a
quarter of a standard error, on a small graph with exact answers); ``R4``'s
does not.  Only when the memory cap leaves no room for ``R4`` does the
estimate come from the check collection (``info["estimate_from"]``).

Reach is counted in accounts reached (seeds included) -- or, with
``targets``, in target accounts reached (RR roots drawn from the targets).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from graphcrm.algorithms import _im_kernels as _k
from graphcrm.algorithms.probabilities import edge_probabilities, lt_weights, trivalency_keys
from graphcrm.algorithms.rr_sampling import BYTES_PER_MEMBER, BYTES_PER_SET, RRSampler, RRSets
from graphcrm.loaders import progress_hook
from graphcrm.loaders.errors import ParameterError, whole_number
from graphcrm.loaders.graph import Layer, SocialGraph, layer_of
from graphcrm.loaders.idmap import id_list

UNIT_RATIO = 1.0 - 1.0 / math.e            # greedy, k seeds
BUDGET_RATIO = 1.0 - 1.0 / math.sqrt(math.e)   # cost-effective greedy or best single seed
R2_OFFSET = 1 << 40                         # set indices of the second (checking) collection start here
R3_OFFSET = 2 << 40                         # ... and of the fresh check of a re-selection (see plan_seeds)
R4_OFFSET = 3 << 40                         # ... and of the estimate of the set chosen among candidates
MODES = ("default", "fast")
#: count roots without in-edges exactly instead of sampling them (see plan_seeds); False samples every root,
#: as OPIM-C does (benchmarks/bench_planning.py uses it to size OPIM-C's own samples)
EXACT_TRIVIAL_ROOTS = True


@dataclass(frozen=True, eq=False)
class SeedPlan:
    """Chosen seeds and what is proven about them.

    Attributes
    ----------
    seeds : pandas.DataFrame
        One row per seed in the order chosen: ``rank, account_id,
        marginal_reach`` (expected new accounts this seed adds to the
        seeds above it), ``cumulative_reach`` (expected reach of the seeds
        up to this row; the last row's is ``expected_reach``), and with costs
        ``cost, reach_per_cost``.  Both come from the collection
        ``expected_reach`` comes from: the selection sets' own counts run
        high, as those sets chose the seeds.
    expected_reach : float
        Unbiased estimate of the set's expected reach, from a collection drawn
        after every decision (``R4``: neither the stopping round, nor a re-pick,
        nor the candidate returned depended on it; its standard error is
        ``info["expected_reach_stderr"]``).  ``info["estimate_from"]`` names the
        collection: ``"R2"`` or ``"R3"`` only when ``max_memory`` left no room
        for ``R4`` -- that estimate runs slightly high, as the collection also
        decided when to stop or which set to keep.  ``info["picked_from"]`` says which
        candidate was returned, ``info["candidates_on_check"]`` their estimates
        on the check collection that chose.
    reach_lower_bound : float
        Certified: expected reach >= this with probability ``1 - delta`` (the
        failure probability covers every bound computed, including one per
        extra candidate compared).
    optimum_upper_bound : float
        Certified: no allowed seed set (of ``k``, or within budget) reaches more.
    certified_ratio : float
        ``reach_lower_bound / optimum_upper_bound``: the approximation proven.
    target_ratio : float
        The guarantee asked for, ``1 - 1/e - eps`` (budget: ``1 - 1/sqrt(e) - eps``).
    info : mapping
        Samples, rounds, memory, timings and the reason sampling stopped.
    """

    seeds: pd.DataFrame
    expected_reach: float
    reach_lower_bound: float
    optimum_upper_bound: float
    certified_ratio: float
    target_ratio: float
    info: Mapping = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    @property
    def guarantee_met(self) -> bool:
        """True when the certified ratio reached the target (with probability ``1 - delta``)."""
        return self.certified_ratio >= self.target_ratio

    @property
    def seed_ids(self) -> list:
        return self.seeds["account_id"].tolist()

    def to_frame(self) -> pd.DataFrame:
        """The seed table (:attr:`seeds`)."""
        return self.seeds.copy()

    def __repr__(self) -> str:
        shown = ", ".join(map(repr, self.seed_ids[:5])) + (", ..." if len(self.seeds) > 5 else "")
        se = self.info.get("expected_reach_stderr")
        return (f"SeedPlan({len(self.seeds)} seeds [{shown}], expected_reach={self.expected_reach:,.1f}"
                + (f" (se {se:,.1f})" if se is not None else "")
                + f", certified >= {self.reach_lower_bound:,.1f}, ratio {self.certified_ratio:.3f} "
                f"(target {self.target_ratio:.3f}{': met' if self.guarantee_met else ': not met'}))")

    def summary(self) -> dict:
        """A JSON-ready summary (CLI ``--json``)."""
        return {"seeds": self.seed_ids, "expected_reach": round(self.expected_reach, 3),
                "reach_lower_bound": round(self.reach_lower_bound, 3),
                "optimum_upper_bound": round(self.optimum_upper_bound, 3),
                "certified_ratio": round(self.certified_ratio, 4), "target_ratio": round(self.target_ratio, 4),
                "guarantee_met": self.guarantee_met, **dict(self.info)}


def plan_seeds(
    graph: SocialGraph,
    *,
    layer: str | Layer,
    k: int | None = None,
    budget: float | None = None,
    costs=None,
    targets=None,
    exclude=None,
    model: str = "ic",
    prob: str = "wc",
    eps: float = 0.1,
    delta: float | None = None,
    seed: int = 0,
    max_memory: int | None = None,
    resolution: float = 0.05,
    max_refine: int = 3,
    mode: str = "default",
    client=None,
) -> SeedPlan:
    """Seeds that maximize expected reach, certified within ``1 - 1/e - eps`` of the best (OPIM-C).

    Parameters
    ----------
    layer : str or Layer
        Influence edges ``u -> v`` (u can influence v).
    k : int, optional
        Number of seeds (give ``k`` or ``budget``).
    budget : float, optional
        Total budget; ``costs`` then gives each account's price.
    costs : mapping, pandas.Series or str, optional
        Account id -> cost, or the name of a node-table column.  Accounts
        without a cost cannot be seeded within a budget.
    targets : iterable of account ids, optional
        Reach is counted within these accounts only (a CRM segment, a community).
    exclude : iterable of account ids, optional
        Accounts that must not be seeded (they still pass messages on).
    model : {"ic", "lt"}
    prob : str
        Edge probabilities (:mod:`graphcrm.algorithms.probabilities`).
    eps : float
        The guarantee is ``1 - 1/e - eps`` (``1 - 1/sqrt(e) - eps`` with a budget).
    delta : float, optional
        Failure probability of the guarantee; default ``1 / n``.
    seed : int
        Same seed, same seeds (whatever the threads or Dask workers).
    max_memory : int, optional
        Bytes the stored samples may use.  When the guarantee needs more,
        sampling stops early and the result reports the weaker ratio it
        certified (``info["stopped"] == "memory cap"``); when not even the
        first round fits, :class:`~graphcrm.loaders.errors.ParameterError` says
        what cap is needed.
    resolution : float
        ``mode="default"``: after certification the selection sample keeps
        doubling (at most ``max_refine`` times) until the last seed's
        marginal reach is estimated within this relative standard error, or
        a doubling no longer improves the pick by more than the check
        sample's noise; a refined set replaces the first only if it is
        certified too.  This buys seed quality, not a better guarantee.
    max_refine : int
        ``0`` is plain OPIM-C (the first certified set, no re-selection, no
        extra candidates).
    mode : {"default", "fast"}
        ``"fast"``: one re-selection on ``R1 + R2`` (as fast as plain OPIM-C
        within about a third, with better seeds); ``"default"``: refine while
        it pays (see ``resolution``).
    client : dask.distributed.Client, optional
        Sample on a Dask cluster (same sets, same seeds).

    Returns
    -------
    SeedPlan

    Examples
    --------
    Two hubs each reach their own three followers for sure:

    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 1, 1, 5, 5, 5], [2, 3, 4, 6, 7, 8]).build()
    >>> plan = plan_seeds(g, layer="x", k=2, prob="const:1")
    >>> sorted(plan.seed_ids), round(plan.expected_reach)
    ([1, 5], 8)
    >>> plan.guarantee_met
    True

    The fast mode, and what the result proves:

    >>> quick = plan_seeds(g, layer="x", k=2, prob="const:1", mode="fast")
    >>> sorted(quick.seed_ids), quick.info["mode"], quick.certified_ratio >= quick.target_ratio
    ([1, 5], 'fast', True)
    """
    seed = whole_number(seed, "seed", 0)
    started = time.perf_counter()
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {MODES}, got {mode!r}")
    lay = layer_of(graph, layer)
    n = graph.n_nodes
    if (k is None) == (budget is None):
        raise ParameterError("give either k (number of seeds) or budget (with costs)")
    if not 0 < eps < (BUDGET_RATIO if budget is not None else UNIT_RATIO):
        raise ParameterError(f"eps must be in (0, {BUDGET_RATIO if budget is not None else UNIT_RATIO:.3f}), "
                             f"got {eps}")
    delta = 1.0 / max(n, 2) if delta is None else float(delta)
    if not 0 < delta < 1:
        raise ParameterError(f"delta must be in (0, 1), got {delta}")
    if k is not None and (isinstance(k, bool) or not float(k).is_integer() or k < 1):
        raise ParameterError(f"k must be a whole number >= 1, got {k!r}")
    unknown: dict = {}                      # ids given that the graph does not have: said in info and a warning
    allowed = np.ones(n, dtype=bool)
    if exclude is not None:
        allowed[_dense(graph, exclude, "exclude", strict=False, unknown=unknown)] = False
    cost = None
    if budget is not None:
        if costs is None:
            raise ParameterError("a budget needs costs (an account -> cost mapping or a node-table column)")
        cost = _cost_array(graph, costs, unknown)
        if math.isnan(budget) or budget <= 0:
            raise ParameterError(f"budget must be a number > 0, got {budget}")
        allowed &= np.isfinite(cost) & (cost <= budget)
    candidates = np.flatnonzero(allowed)
    if len(candidates) == 0:
        missing = "; ids not in the graph: " + ", ".join(f"{w} {c:,}" for w, c in unknown.items()) if unknown else ""
        raise ParameterError(f"no account can be seeded (all excluded, or none affordable within the budget){missing}")
    roots = None if targets is None else _dense(graph, targets, "targets", strict=False, unknown=unknown)
    if unknown:
        import warnings

        warnings.warn("plan_seeds: ids not in the graph were left out: "
                      + ", ".join(f"{what} {count:,}" for what, count in unknown.items()), stacklevel=2)
    sampler = RRSampler(lay, model=model, prob=prob, roots=roots, seed=seed, client=client,
                        node_keys=trivalency_keys(graph, prob))
    n_roots = sampler.n_roots
    # roots without in-edges have the RR set {root} every time: counted exactly, only the others are sampled
    trivial = np.zeros(n, dtype=bool)
    split = sampler.without_trivial_roots() if EXACT_TRIVIAL_ROOTS else None
    if split is not None:
        sampler, always_alone = split
        trivial[always_alone] = True
    frame = _Frame(n, sampler.n_roots, trivial)

    if budget is None:
        k = int(k)
        if k < 1:
            raise ParameterError(f"k must be >= 1, got {k}")
        k_eff = min(k, len(candidates))
        ratio = UNIT_RATIO - eps
        log_choose = _log_choose(len(candidates), k_eff)
        opt_floor = max(1.0, min(k_eff, n_roots) if roots is None else 1.0)
        approx = UNIT_RATIO
    else:
        by_cost = np.sort(cost[candidates])
        k_eff = int(np.searchsorted(np.cumsum(by_cost), budget, side="right"))
        ratio = BUDGET_RATIO - eps
        log_choose = _log_choose(len(candidates), max(1, k_eff))
        opt_floor = 1.0
        approx = BUDGET_RATIO
    # OPIM-C's sample sizes (Tang et al. 2018, Algorithm 2), with n -> number of roots
    log6d = math.log(6.0 / delta)
    theta_max = (2.0 * frame.n_sampled * (approx * math.sqrt(log6d) + math.sqrt(approx * (log_choose + log6d))) ** 2
                 / (eps ** 2 * opt_floor))
    theta_0 = max(1.0, theta_max * eps ** 2 * opt_floor / frame.n_sampled)
    rounds = max(1, math.ceil(math.log2(theta_max / theta_0)))
    # No union bound over seed sets in either bound (OPIM-C, and the C++ OPIM-C / SUBSIM code): the upper bound
    # is about the one optimal set S° (fixed before sampling; the greedy-prefix bound on R1 is >= its coverage),
    # the lower bound about the chosen set evaluated on R2, which played no part in choosing it.  ln C(n, k)
    # only sizes the worst-case round theta_max.
    a1 = math.log(3.0 * rounds / delta)
    a2 = math.log(3.0 * rounds / delta)

    fixed = 48 * n
    per_set = None
    if max_memory is not None:      # a pilot batch sizes the first round before anything is stored
        mean_size = sampler.mean_set_size()
        per_set = _bytes_per_set(mean_size)
        first_round = math.ceil(2 * math.ceil(theta_0) * per_set + fixed)
        if first_round > max_memory:
            raise ParameterError(f"max_memory={max_memory:,} bytes is too small: the first sampling round needs "
                                 f"about {first_round:,} bytes (mean RR set {mean_size:.1f} accounts); "
                                 f"raise the cap to at least {first_round:,}")

    def fits(n_sets: int) -> bool:
        return max_memory is None or n_sets * per_set + fixed <= max_memory

    r1 = r2 = None
    stopped = "worst-case sample size"
    for i in range(1, rounds + 1):
        theta = math.ceil(theta_0 * 2 ** (i - 1))
        if r1 is not None and not fits(2 * theta):
            stopped = "memory cap"
            break
        r1, r2 = _grow(sampler, r1, r2, theta)
        if per_set is None:
            per_set = _bytes_per_set((len(r1.members) + len(r2.members)) / (2 * theta))
        best = _select_and_certify(r1, r2, frame, k, budget, cost, candidates, a1, a2)
        progress_hook.report(i, rounds)          # the worst case; certification usually stops sooner
        if best.certified >= ratio:
            stopped = "certified"
            break
    # what the worst case (every round) would take
    memory_estimate = int(2 * math.ceil(theta_0 * 2 ** (rounds - 1)) * per_set + fixed)
    check, selection = r2, r1
    refinements = 0
    evaluations = i                 # bounds computed so far (for info)
    # The bounds after the rounds take the third delta/3 of OPIM-C's split (the share of its worst-case round,
    # which graphcrm never relies on: a result counts as met only through its certificate), in two halves:
    # - upper bounds from the re-selection pools: pool r of stopping round i is one event for each possible
    #   (i, r) -- rounds x repicks of them -- each at delta / (6 rounds repicks) (`a_pool`); a re-pick uses the
    #   smaller of its pool's bound and the stopping round's;
    # - lower bounds on collections drawn afterwards (R3, R4): given R1 and R2 -- which fix the stopping round
    #   and every set that can be evaluated next (the re-picks, the extra candidates) -- at most `checks` of
    #   them can be computed, whatever R3 and R4 turn out to be, each at delta / (6 checks) (`a3`).
    extra = _extra_candidates(lay, candidates, k_eff) if max_refine > 0 and budget is None else []
    repicks = 1 if mode == "fast" else max_refine + 1
    checks = repicks + (len(extra) + 1 if extra else 0)
    a_pool = math.log(6.0 * rounds * repicks / delta)
    a3 = math.log(6.0 * checks / delta)
    if stopped == "certified" and max_refine > 0 and fits(len(r1) + 2 * len(r2)):
        # Re-selection on more sets.  R2 has done its job (it certified `best`): it joins the selection pool,
        # and a fresh collection R3 of the same size checks every later pick.  A new pick replaces `best`
        # only if it is certified too.
        round_optimum = best.optimum
        pool = RRSets(r1.offsets, r1.members)
        pool.extend(r2)
        check = sampler.sample(R3_OFFSET, len(r2))
        previous = None
        while True:
            candidate = _select_and_certify(pool, check, frame, k, budget, cost, candidates, a_pool, a3,
                                            optimum_cap=round_optimum)
            evaluations += 1
            if candidate.certified >= ratio:
                best, selection = candidate, pool
            if mode == "fast" or refinements >= max_refine:
                break
            # refine only while it pays: the last pick is still imprecise (relative error > resolution)
            # and the previous doubling improved the pick by more than the check's noise
            if best.gain_sets[-1] >= 1.0 / resolution ** 2 or best.gain_sets[-1] <= 0:
                break
            if previous is not None and not _improved(previous, candidate, check, frame.n):
                break
            if not fits(2 * len(pool) + len(check)):
                break
            previous = candidate
            have = len(pool) - len(r2)              # pool = R1 sets 0 .. have-1, then R2
            pool.extend(sampler.sample(have, len(pool)))
            refinements += 1
    # Extra candidates (plain k only: top-k by out-degree among the allowed accounts), compared with the greedy
    # pick on the check collection (R3 after a re-selection, else R2): independent of how every candidate was
    # made, so each one's lower bound there is valid alone, and all of them at once by the union bound -- one
    # of the `checks` per extra candidate.  The winner (largest estimated reach on the check; it must be
    # certified if the greedy pick was) is the returned set; since the check chose it, its estimate and a
    # second lower bound come from a fresh collection R4 (one more of the `checks`), and the lower bound
    # reported is the larger of the two (both hold together under the union bound).
    picked_from, compared, estimate_sets = "greedy", {}, None
    held = (len(selection) if selection is not r1 else len(r1) + len(r2)) + (len(check) if check is not r2 else 0)
    extra = [(name, c) for name, c in extra if not np.array_equal(np.sort(c), np.sort(best.chosen))]
    if extra and fits(held + len(check)):
        compared["greedy"] = round(float(best.estimate), 3)
        winner, winner_name = best, "greedy"
        for name, chosen_x in extra:
            other = _certify_fixed(chosen_x, check, frame, a3, best.optimum)
            evaluations += 1
            compared[name] = round(float(other.estimate), 3)
            if other.estimate > winner.estimate and (other.certified >= ratio or best.certified < ratio):
                winner, winner_name = other, name
        estimate_sets = sampler.sample(R4_OFFSET, len(check))
        fresh = _certify_fixed(winner.chosen, estimate_sets, frame, a3, best.optimum)
        evaluations += 1
        lower = max(winner.lower, fresh.lower)
        gains = best.gains if winner_name == "greedy" else np.zeros(0)   # the table's gains: from R4, below
        best = _Candidate(winner.chosen, gains, gains, best.n_sets, fresh.covered_check, fresh.estimate, lower,
                          best.optimum, lower / best.optimum if best.optimum > 0 else 1.0)
        picked_from = winner_name
    # The estimate of the returned set comes from a collection that took no decision.  R2 decided when sampling
    # stopped and R3 whether a re-pick was accepted (and the refinement went on): conditioned on those
    # decisions, their coverage of the returned set runs high (about +1% of the reach, a quarter of a standard
    # error, on a graph with exact answers).  R4 is drawn after every decision, so its coverage is unbiased; it
    # is used only for the estimate here, not for a bound (the certificate stays the one computed above).
    estimate_from = "R4" if estimate_sets is not None else ("R3" if check is not r2 else "R2")
    if estimate_sets is None and fits(held + len(check)):
        estimate_sets = sampler.sample(R4_OFFSET, len(check))
        fresh = _certify_fixed(best.chosen, estimate_sets, frame, a3, best.optimum)
        best = _Candidate(best.chosen, best.gains, best.gain_sets, best.n_sets, fresh.covered_check, fresh.estimate,
                          best.lower, best.optimum, best.certified)
        estimate_from = "R4"
    chosen, gains = best.chosen, best.gains
    if estimate_sets is not None:
        # the seed table from the same unbiased collection as the headline: each prefix's reach, and the last
        # cumulative figure is expected_reach (the selection sets' own gains run high: they chose the seeds)
        gains = _ordered_gains(chosen, estimate_sets, frame)
    lower, optimum, certified = best.lower, best.optimum, best.certified
    if optimum > n_roots:       # no set reaches more accounts (or targets) than there are: the trivial bound
        optimum = float(n_roots)
        certified = lower / optimum if optimum > 0 else 1.0
    est_n = len(estimate_sets) if estimate_sets is not None else len(check)
    table = pd.DataFrame({"rank": np.arange(1, len(chosen) + 1),
                          "account_id": graph.id_map.to_external(chosen),
                          "marginal_reach": gains})
    table["cumulative_reach"] = table["marginal_reach"].cumsum()
    if cost is not None:
        table["cost"] = cost[chosen]
        table["reach_per_cost"] = table["marginal_reach"] / table["cost"]
    stored = (selection.nbytes if selection is not r1 else r1.nbytes + r2.nbytes) + \
        (check.nbytes if check is not r2 else 0) + (estimate_sets.nbytes if estimate_sets is not None else 0)
    info = {"layer": lay.name, "model": model, "prob": prob, "mode": mode, "k": k, "budget": budget,
            "spent": float(cost[chosen].sum()) if cost is not None else None,
            "targets": None if roots is None else int(n_roots), "excluded": int(n - allowed.sum()), "unknown_ids": dict(unknown),
            "eps": eps, "delta": delta, "seed": int(seed), "rounds": i, "refinements": refinements,
            "bounds_computed": evaluations, "max_rounds": rounds,
            "checks_computed": evaluations - i, "checks_allowed": checks,
            "rr_sets_selection": best.n_sets, "rr_sets_check": len(check),
            "rr_sets_estimate": est_n, "estimate_from": estimate_from, "picked_from": picked_from,
            "candidates_on_check": compared,
            "mean_rr_set_size": round(float(len(selection.members)) / len(selection), 3),
            "sample_bytes": int(stored), "memory_estimate_bytes": memory_estimate,
            "stopped": stopped, "seconds": round(time.perf_counter() - started, 4),
            "sampled_roots": frame.n_sampled, "exact_roots": int(trivial.sum()),
            "expected_reach_stderr": round(_share_stderr(best.covered_check / est_n, est_n)
                                           * frame.n_sampled, 3),
            "expected_reach_ci95": _reach_interval(float(best.estimate), best.covered_check / est_n, est_n,
                                                   frame.n_sampled)}
    return SeedPlan(table, float(best.estimate), float(lower), float(optimum), float(min(1.0, certified)), ratio, info)


def _improved(before: "_Candidate", after: "_Candidate", check, n: int) -> bool:
    """Whether ``after`` covers more check sets than ``before`` by more than one standard error of the
    paired difference (the sets only one of them covers)."""
    only = _k._coverage_difference(check.offsets, check.members, _mask(before.chosen, n), _mask(after.chosen, n))
    gained, lost = int(only[0]), int(only[1])
    return gained - lost > math.sqrt(gained + lost)


def _mask(chosen: np.ndarray, n: int) -> np.ndarray:
    is_seed = np.zeros(n, dtype=bool)
    is_seed[chosen] = True
    return is_seed


def _grow(sampler: RRSampler, r1, r2, theta: int):
    """Bring both collections to ``theta`` sets; R2 draws from a disjoint range of set indices (independent)."""
    have = 0 if r1 is None else len(r1)
    m1, m2 = sampler.sample_ranges([(have, theta - have), (R2_OFFSET + have, theta - have)])
    if r1 is None:
        return m1, m2
    r1.extend(m1)
    r2.extend(m2)
    return r1, r2


@dataclass(frozen=True)
class _Frame:
    """Who the reach is counted over: ``n_sampled`` roots drawn at random, and the ``trivial`` roots (no
    in-edges) whose RR set is always ``{root}``, counted exactly: a seed set ``S`` reaches
    ``|S & trivial| + n_sampled * P(a sampled root's set meets S)`` accounts in expectation."""

    n: int
    n_sampled: int
    trivial: np.ndarray


@dataclass
class _Candidate:
    chosen: np.ndarray
    gains: np.ndarray          # marginal reach per seed, in accounts
    gain_sets: np.ndarray      # the same in sets of the selection sample (a trivial root as its share)
    n_sets: int
    covered_check: int         # sets of R2 the seeds cover
    estimate: float
    lower: float
    optimum: float
    certified: float


def _select_and_certify(r1, r2, frame: _Frame, k, budget, cost, candidates, a1, a2,
                        optimum_cap: float | None = None) -> _Candidate:
    """Greedy on R1; lower bound of its reach from R2, upper bound of the optimum from R1 (OPIM-C).

    ``optimum_cap`` (a re-selection): an upper bound already established; the smaller of the two is used (both
    hold together under the union bound).

    With trivial roots, counts are scaled so that a sampled set weighs ``n_sampled`` and a trivial root
    ``len(R1)``.  The upper bound applies OPIM-C's bound to the whole greedy bound, deterministic part
    included: ``bound(x) - x = a + sqrt(2a(x + a/2))`` grows with ``x``, so ``d + bound(x) <= bound(d + x)``.
    The lower bound adds the chosen trivial roots exactly to the bound of the sampled part.
    """
    unit, bonus = (frame.n_sampled, np.where(frame.trivial, len(r1), 0).astype(np.int64)) \
        if frame.trivial.any() else (1, np.zeros(frame.n, dtype=np.int64))
    chosen, gains, covered, upper = _greedy(r1, frame.n, k, budget, cost, candidates, unit, bonus)
    is_seed = np.zeros(frame.n, dtype=bool)
    is_seed[chosen] = True
    covered2 = int(_k._coverage(r2.offsets, r2.members, is_seed))
    exact = float(frame.trivial[chosen].sum())
    lower = _lower_bound(covered2, a2) * frame.n_sampled / len(r2) + exact
    optimum = _upper_bound(upper / unit, a1) * frame.n_sampled / len(r1)
    if optimum_cap is not None:
        optimum = min(optimum, optimum_cap)
    certified = lower / optimum if optimum > 0 else 1.0
    gain_sets = gains / unit
    return _Candidate(chosen, gain_sets * frame.n_sampled / len(r1), gain_sets, len(r1), covered2,
                      covered2 * frame.n_sampled / len(r2) + exact, lower, optimum, certified)


def _extra_candidates(lay: Layer, candidates: np.ndarray, k: int) -> list:
    """Cheap seed sets to weigh against the greedy pick: the ``k`` allowed accounts of largest out-degree
    (positive edges; ties by dense index)."""
    degree = lay.positive().out_degree()
    top = candidates[np.argsort(-degree[candidates], kind="stable")[:k]].astype(np.int64)
    return [("top_out_degree", top)]


def _certify_fixed(chosen: np.ndarray, sets, frame: _Frame, a2: float, optimum: float) -> _Candidate:
    """Estimate and OPIM-C lower bound of a seed set fixed independently of ``sets``."""
    covered = int(_k._coverage(sets.offsets, sets.members, _mask(chosen, frame.n)))
    exact = float(frame.trivial[chosen].sum())
    lower = _lower_bound(covered, a2) * frame.n_sampled / len(sets) + exact
    empty = np.zeros(0)
    return _Candidate(chosen, empty, empty, 0, covered, covered * frame.n_sampled / len(sets) + exact, lower,
                      optimum, lower / optimum if optimum > 0 else 1.0)


def _ordered_gains(chosen: np.ndarray, sets, frame: _Frame) -> np.ndarray:
    """Expected new accounts each seed adds in the given order, from ``sets`` (a set counts for the first
    seed in it) plus the exact share of trivial roots."""
    rank = np.full(frame.n, len(chosen), dtype=np.int64)
    rank[chosen] = np.arange(len(chosen))
    if len(sets.members):
        first = np.minimum.reduceat(rank[sets.members], sets.offsets[:-1])
        hits = np.bincount(first[first < len(chosen)], minlength=len(chosen))[:len(chosen)]
    else:
        hits = np.zeros(len(chosen), dtype=np.int64)
    return hits * frame.n_sampled / len(sets) + frame.trivial[chosen]


def _by_decreasing_count(counts: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """``candidates`` by decreasing ``counts``, ties by increasing index (a stable sort's order).

    One unstable sort of a combined key ``-count * n + index`` where it cannot overflow (2-3x faster than
    numpy's stable sort of int64, which is a merge sort), else the stable sort.

    Examples
    --------
    >>> _by_decreasing_count(np.array([1, 5, 5, 0]), np.array([0, 1, 2, 3])).tolist()
    [1, 2, 0, 3]
    """
    candidates = np.asarray(candidates, dtype=np.int64)
    values = counts[candidates]
    n = len(counts)
    if len(values) and int(values.max()) < (2 ** 62) // max(n, 1) and int(values.min()) >= 0:
        return candidates[np.argsort(candidates - values * n)]
    return candidates[np.argsort(-values, kind="stable")]


def _greedy(r1, n, k, budget, cost, candidates, unit, bonus):
    counts = _k._membership_counts(r1.offsets, r1.members, n) * unit + bonus
    if budget is None:
        order = _by_decreasing_count(counts, candidates)
        chosen, gains, covered, upper = _k._greedy_k(r1.offsets, r1.members, n, min(int(k), len(order)), order,
                                                     unit, bonus)
        keep = chosen >= 0
        return chosen[keep], gains[keep], covered, float(upper)
    order = candidates[np.argsort(-(counts[candidates] / cost[candidates]), kind="stable")].astype(np.int64)
    chosen, gains, covered, upper = _k._greedy_budget(r1.offsets, r1.members, n, float(budget),
                                                      np.where(np.isfinite(cost), cost, np.inf), order, unit, bonus)
    return chosen, gains, covered, float(upper)


def _reach_interval(estimate: float, share: float, n_sets: int, n_sampled: int) -> list[float]:
    """95% interval of an expected reach estimated as ``n_sampled`` x the share of ``n_sets`` RR sets covered
    (plus the accounts counted exactly): the Wilson score interval of the share, which keeps its width where
    the share is 0 or 1 (a normal interval there has width 0: "5.0 .. 5.0" on a graph whose exact reach is 4.8).

    >>> _reach_interval(5.0, 1.0, 38, 5)        # every set covered: still an interval below 5
    [4.541, 5.0]
    """
    z = 1.959963984540054
    share = min(max(share, 0.0), 1.0)
    n = max(n_sets, 1)
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(estimate + (centre - half - share) * n_sampled, 3),
            round(estimate + (centre + half - share) * n_sampled, 3)]


def _share_stderr(share: float, n_sets: int) -> float:
    """Binomial standard error of a share estimated from ``n_sets`` sets."""
    share = min(max(share, 0.0), 1.0)
    return math.sqrt(share * (1.0 - share) / max(n_sets, 1))


def _lower_bound(covered: float, a: float) -> float:
    """OPIM-C's high-probability lower bound on a coverage's expectation (in sets)."""
    return max(0.0, (math.sqrt(covered + 2.0 * a / 9.0) - math.sqrt(a / 2.0)) ** 2 - a / 18.0)


def _upper_bound(covered: float, a: float) -> float:
    """OPIM-C's high-probability upper bound on a coverage's expectation (in sets)."""
    return (math.sqrt(covered + a / 2.0) + math.sqrt(a / 2.0)) ** 2


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _bytes_per_set(mean_size: float) -> float:
    """Peak bytes per stored set: members and offset, the greedy's inverse index, a growth copy."""
    stored = BYTES_PER_SET + BYTES_PER_MEMBER * mean_size
    return 2.0 * stored + BYTES_PER_MEMBER * mean_size + 1


def estimate_memory(graph: SocialGraph, *, layer: str | Layer, n_sets: int, model: str = "ic", prob: str = "wc",
                    seed: int = 0) -> int:
    """Bytes that ``n_sets`` RR sets take at peak, from a pilot batch (before any real sampling).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> chain = GraphBuilder().add_edges("x", [1, 2], [2, 3]).build()
    >>> estimate_memory(chain, layer="x", n_sets=1_000_000, prob="const:1") > 1_000_000 * 8
    True
    """
    lay = layer_of(graph, layer)
    mean = RRSampler(lay, model=model, prob=prob, seed=seed, node_keys=trivalency_keys(graph, prob)).mean_set_size()
    return int(n_sets * _bytes_per_set(mean) + 48 * graph.n_nodes)


def _dense(graph: SocialGraph, ids, what: str, *, strict: bool, unknown: dict | None = None) -> np.ndarray:
    """Dense ids of ``ids`` (a list, set, Series' index, table's account_id ...); unknown ones raise when
    ``strict``, else are counted in ``unknown[what]`` and left out."""
    ids = list(ids.index) if isinstance(ids, pd.Series) else id_list(ids)
    dense = graph.id_map.lookup(np.asarray(ids, dtype=object)) if ids else np.empty(0, dtype=np.int64)
    dense = np.asarray(dense, dtype=np.int64)
    if strict and (dense < 0).any():
        raise ParameterError(f"{what}: {int((dense < 0).sum())} account(s) not in the graph")
    if unknown is not None and (dense < 0).any():
        unknown[what] = int((dense < 0).sum())
    return np.unique(dense[dense >= 0])


def _cost_array(graph: SocialGraph, costs, unknown: dict | None = None) -> np.ndarray:
    """Dense cost per account (inf where unknown) from a mapping, Series, ``account_id, cost`` table or
    node-table column name; ids not in the graph are counted in ``unknown["costs"]``."""
    if isinstance(costs, str):
        table = graph.node_attributes
        if costs not in table.columns:
            raise ParameterError(f"no node attribute {costs!r} to read costs from "
                                 f"(attributes: {', '.join(map(str, table.columns)) or 'none'})")
        values = pd.to_numeric(table[costs], errors="coerce").to_numpy(dtype=float)
        out = np.where(np.isnan(values), np.inf, values)
    else:
        if isinstance(costs, pd.DataFrame):
            if not {"account_id", "cost"} <= set(costs.columns):
                raise ParameterError("costs: a table needs account_id and cost columns (as `graphcrm plan --costs` "
                                     f"reads), got {', '.join(map(str, costs.columns[:6]))}")
            series = pd.Series(costs["cost"].to_numpy(), index=costs["account_id"].to_numpy())
        elif isinstance(costs, pd.Series):
            series = costs
        elif isinstance(costs, Mapping):
            series = pd.Series(dict(costs))
        else:
            raise ParameterError("costs must be a mapping or Series account id -> cost, a table with account_id "
                                 f"and cost columns, or a node attribute name; got {type(costs).__name__}")
        out = np.full(graph.n_nodes, np.inf)
        dense = np.asarray(graph.id_map.lookup(series.index.to_numpy()), dtype=np.int64)
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
        known = dense >= 0
        if unknown is not None and not known.all():
            unknown["costs"] = int((~known).sum())
        out[dense[known]] = values[known]
    bad = np.flatnonzero((out <= 0) | np.isnan(out))
    if len(bad):
        where = f"node attribute {costs!r}" if isinstance(costs, str) else "the costs given"
        shown = ", ".join(f"{graph.id_map.ids[i]!s}: {out[i]:g}" for i in bad[:5])
        raise ParameterError(f"costs must be positive numbers: {len(bad):,} account{'s' * (len(bad) != 1)} in "
                             f"{where} {'have' if len(bad) != 1 else 'has'} a cost of 0 or less ({shown}"
                             f"{', ...' if len(bad) > 5 else ''}); an account that cannot be bought gets no cost")
    return out


def influencers_of(
    graph: SocialGraph,
    target,
    *,
    layer: str | Layer,
    model: str = "ic",
    prob: str = "wc",
    n_samples: int = 100_000,
    top: int = 20,
    seed: int = 0,
) -> pd.DataFrame:
    """Who can best reach one person: the accounts most likely to influence ``target``, and through whom.

    ``n_samples`` RR sets rooted at ``target`` estimate, for every account
    ``u``, the probability that ``u`` alone, seeded, would reach the target
    (under IC or LT; exact in expectation).  For each of the ``top`` accounts
    the most likely single path is given (the largest product of edge
    probabilities, by Dijkstra on ``-log p``).

    Returns
    -------
    pandas.DataFrame
        ``rank, account_id, probability, stderr, path_probability, hops, path``
        (``path``: account ids from the influencer to the target, joined by ``" > "``): the ``top`` rows.
        ``.attrs["accounts_found"]`` is how many accounts reached the target in the samples (all of them, not
        only the ``top`` listed).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 2, 3], [2, 4, 4]).build()   # 1 -> 2 -> 4 <- 3
    >>> table = influencers_of(g, 4, layer="x", prob="const:0.5", n_samples=20_000)
    >>> table[["account_id", "hops", "path"]].to_dict("list")
    {'account_id': [2, 3, 1], 'hops': [1, 1, 2], 'path': ['2 > 4', '3 > 4', '1 > 2 > 4']}
    >>> [round(p * 4) / 4 for p in table["probability"]]        # exact: 1/2, 1/2, 1/4
    [0.5, 0.5, 0.25]
    >>> top1 = influencers_of(g, 4, layer="x", prob="const:0.5", n_samples=20_000, top=1)
    >>> len(top1), top1.attrs["accounts_found"]
    (1, 3)
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    lay = layer_of(graph, layer).positive()
    dense = graph.id_map.to_dense([target])
    root = int(dense[0])
    if n_samples < 1:
        raise ParameterError(f"n_samples must be >= 1, got {n_samples}")
    top = whole_number(top, "top")
    keys = trivalency_keys(graph, prob)
    sampler = RRSampler(lay, model=model, prob=prob, roots=[root], seed=seed, node_keys=keys)
    sets = sampler.sample(0, n_samples)
    counts = _k._membership_counts(sets.offsets, sets.members, graph.n_nodes)
    counts[root] = 0
    found = np.flatnonzero(counts)
    n_found = len(found)
    found = found[np.lexsort((found, -counts[found]))][:top]
    share = counts[found] / n_samples
    # most likely paths: shortest paths to the target on -log p, walking in-edges backwards from it
    p = (lt_weights(lay, prob, node_keys=keys) if model == "lt"
         else edge_probabilities(lay, prob, node_keys=keys))
    heads = np.repeat(np.arange(graph.n_nodes), lay.in_degree())
    live = p > 0
    cost = -np.log(np.clip(p[live], 1e-300, 1.0)) + 1e-12          # scipy drops explicit zeros
    back = csr_matrix((cost, (heads[live], lay.in_indices[live])), shape=(graph.n_nodes, graph.n_nodes))
    dist, pred = dijkstra(back, directed=True, indices=root, return_predecessors=True)
    paths, path_p, hops = [], [], []
    ids = graph.id_map.to_external(np.arange(graph.n_nodes))
    for u in found:
        chain = [u]
        while chain[-1] != root and pred[chain[-1]] >= 0:
            chain.append(pred[chain[-1]])
        paths.append(" > ".join(str(ids[v]) for v in chain))
        hops.append(len(chain) - 1)
        path_p.append(float(np.exp(-(dist[u] - 1e-12 * (len(chain) - 1)))))
    table = pd.DataFrame({"rank": np.arange(1, len(found) + 1), "account_id": ids[found], "probability": share,
                          "stderr": np.sqrt(share * (1 - share) / n_samples), "path_probability": path_p,
                          "hops": hops, "path": paths})
    table.attrs["accounts_found"] = int(n_found)
    return table


def degree_discount(graph: SocialGraph, *, layer: str | Layer, k: int, p: float | None = None) -> list:
    """Degree-discount seeds (Chen, Wang & Yang, KDD 2009): a fast IC baseline.

    Each pick discounts its audience: ``dd(v) = d_v - 2 t_v - (d_v - t_v) t_v p``
    where ``t_v`` counts already-picked influencers of ``v``.  ``p`` defaults
    to the mean weighted-cascade probability.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 1, 1, 2, 2, 5], [2, 3, 4, 3, 4, 6]).build()
    >>> degree_discount(g, layer="x", k=2, p=0.5)
    [1, 5]
    """
    import heapq

    k = whole_number(k, "k")
    lay = layer_of(graph, layer).positive()
    n = graph.n_nodes
    out_deg = lay.out_degree().astype(float)
    if p is None:
        probs = edge_probabilities(lay, "wc")
        p = float(probs.mean()) if len(probs) else 0.0
    t = np.zeros(n)
    dd = out_deg.copy()
    heap = [(-dd[v], v) for v in range(n)]
    heapq.heapify(heap)
    picked = np.zeros(n, dtype=bool)
    chosen = []
    while heap and len(chosen) < min(k, n):
        score, v = heapq.heappop(heap)
        if picked[v]:
            continue
        if -score != dd[v]:
            heapq.heappush(heap, (-dd[v], v))
            continue
        picked[v] = True
        chosen.append(v)
        # v's audience: its out-neighbours (v influences them); each now has one more picked influencer
        for u in lay.out_indices[lay.out_indptr[v]:lay.out_indptr[v + 1]]:
            if picked[u]:
                continue
            t[u] += 1
            dd[u] = out_deg[u] - 2 * t[u] - (out_deg[u] - t[u]) * t[u] * p
            heapq.heappush(heap, (-dd[u], u))
    return graph.id_map.to_external(np.asarray(chosen, dtype=np.int64)).tolist()


def celf_greedy(graph: SocialGraph, *, layer: str | Layer, k: int, model: str = "ic", prob: str = "wc",
                n_runs: int = 1_000, seed: int = 0, candidates=None) -> pd.DataFrame:
    """The classic reference: lazy greedy (CELF, Leskovec et al. 2007) over Monte-Carlo spread estimates.

    Every evaluation simulates ``n_runs`` cascades with the same random
    streams (common random numbers), so marginal gains are compared on equal
    terms.  Cost grows with ``n * n_runs``: for small graphs and for checking
    the fast methods.

    Returns
    -------
    pandas.DataFrame
        ``rank, account_id, marginal_reach, cumulative_reach``.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 1, 1, 5, 5, 5], [2, 3, 4, 6, 7, 8]).build()
    >>> celf_greedy(g, layer="x", k=2, prob="const:1", n_runs=10)["account_id"].tolist()
    [1, 5]
    """
    seed = whole_number(seed, "seed", 0)
    import heapq

    from graphcrm.algorithms.diffusion import simulate

    k = whole_number(k, "k")
    lay = layer_of(graph, layer).positive()
    ids = graph.id_map.to_external(np.arange(graph.n_nodes))
    pool = range(graph.n_nodes) if candidates is None else _dense(graph, candidates, "candidates", strict=True)

    def spread(dense_seeds):
        return simulate(graph, ids[list(dense_seeds)], layer=lay, model=model, prob=prob, n_runs=n_runs,
                        seed=seed).mean

    heap = [(-spread([v]), v, 0) for v in pool]
    heapq.heapify(heap)
    chosen, gains, current = [], [], 0.0
    while heap and len(chosen) < k:
        neg_gain, v, when = heapq.heappop(heap)
        if when == len(chosen):
            chosen.append(v)
            gains.append(-neg_gain)
            current += -neg_gain
            continue
        heapq.heappush(heap, (-(spread(chosen + [v]) - current), v, len(chosen)))
    frame = pd.DataFrame({"rank": np.arange(1, len(chosen) + 1), "account_id": ids[chosen],
                          "marginal_reach": gains})
    frame["cumulative_reach"] = frame["marginal_reach"].cumsum()
    return frame
