"""Monte-Carlo word-of-mouth: exact answers on tiny graphs, limits, a slow reference, determinism, CLI."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from collections import deque

import networkx as nx
import numba
import numpy as np
import pandas as pd
import pytest

from graphcrm.algorithms import simulate, spread_by_segment
from graphcrm.loaders import GraphBuilder, NodeNotFoundError, ParameterError
from tests.conftest import dataset

EDGES = [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (1, 4), (4, 0), (5, 4), (5, 3)]


def tiny():
    return GraphBuilder().add_edges("x", [u for u, _ in EDGES], [v for _, v in EDGES]).build()


def exact_ic_spread(seeds, p):
    """Enumerate every live-edge world (obviously correct)."""
    total = 0.0
    for live in itertools.product([False, True], repeat=len(EDGES)):
        weight = np.prod([p if on else 1 - p for on in live])
        adj = {}
        for (u, v), on in zip(EDGES, live):
            if on:
                adj.setdefault(u, []).append(v)
        seen, todo = set(seeds), deque(seeds)
        while todo:
            for v in adj.get(todo.popleft(), []):
                if v not in seen:
                    seen.add(v)
                    todo.append(v)
        total += weight * len(seen)
    return total


@pytest.mark.parametrize("seeds", [[0], [5], [1, 3]])
def test_ic_matches_possible_worlds_within_its_interval(seeds):
    est = simulate(tiny(), seeds, layer="x", prob="const:0.35", n_runs=40_000, seed=4)
    exact = exact_ic_spread(seeds, 0.35)
    assert est.ci_low - 0.01 <= exact <= est.ci_high + 0.01, (est, exact)


def test_limits_p0_and_p1():
    g = tiny()
    assert simulate(g, [5], layer="x", prob="const:0", n_runs=500).mean == 1.0
    reach = len(nx.descendants(nx.DiGraph(EDGES), 5)) + 1
    full = simulate(g, [5], layer="x", prob="const:1", n_runs=500)
    assert full.mean == reach and full.ci_low == full.ci_high == reach
    assert (full.activation_probability[g.index_of(list(nx.descendants(nx.DiGraph(EDGES), 5)))] == 1.0).all()
    assert full.steps_frame().reached.iloc[-1] == reach
    assert simulate(g, [5], layer="x", prob="const:1", n_runs=50, max_steps=1).mean == 3.0


def lt_reference(out_adj, n, seeds, runs, rng):
    """Linear Threshold, step by step (slow reference)."""
    sizes = []
    for _ in range(runs):
        theta = rng.random(n)
        active = set(seeds)
        changed = True
        while changed:
            changed = False
            pressure = np.zeros(n)
            for u in active:
                for v, b in out_adj[u]:
                    pressure[v] += b
            for v in range(n):
                if v not in active and pressure[v] > 0 and pressure[v] >= theta[v]:
                    active.add(v)
                    changed = True
        sizes.append(len(active))
    return np.mean(sizes), np.std(sizes) / np.sqrt(runs)


def test_lt_matches_a_slow_reference_on_email():
    from graphcrm.algorithms import edge_probabilities
    from graphcrm.loaders import load_edges

    g = load_edges(dataset("email-Eu-core/email-Eu-core.txt.gz"), layer="email")
    lay = g.layer("email")
    b = edge_probabilities(lay, "wc", side="out")
    out_adj = [[] for _ in range(g.n_nodes)]
    for u in range(g.n_nodes):
        for k in range(lay.out_indptr[u], lay.out_indptr[u + 1]):
            out_adj[u].append((int(lay.out_indices[k]), b[k]))
    seeds = [int(s) for s in g.id_map.ids[:5]]
    est = simulate(g, seeds, layer="email", model="lt", n_runs=20_000, seed=1)
    ref_mean, ref_se = lt_reference(out_adj, g.n_nodes, g.index_of(seeds).tolist(), 300, np.random.default_rng(0))
    assert abs(est.mean - ref_mean) <= 4 * np.hypot(ref_se, (est.ci_high - est.ci_low) / 3.92)


def test_seeded_thread_independent_and_batched_the_same(wiki_graph):
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = simulate(wiki_graph, [11], layer="votes", n_runs=2000, seed=9)
    finally:
        numba.set_num_threads(before)
    two = simulate(wiki_graph, [11], layer="votes", n_runs=2000, seed=9)
    batched = simulate(wiki_graph, [11], layer="votes", n_runs=2000, seed=9, ci_width=1e-9, batch=300)
    np.testing.assert_array_equal(one.sizes, two.sizes)
    np.testing.assert_array_equal(two.sizes, batched.sizes)
    np.testing.assert_array_equal(one.activation_probability, two.activation_probability)
    early = simulate(wiki_graph, [11], layer="votes", n_runs=100_000, seed=9, ci_width=3.0, batch=500)
    assert early.info["stopped_early"] and early.ci_high - early.ci_low < 3.0


def test_reach_by_segment_and_bad_seeds(wiki_graph):
    est = simulate(wiki_graph, [11, 2565], layer="votes", n_runs=2000, seed=1)
    segments = {int(a): ("even" if int(a) % 2 == 0 else "odd") for a in wiki_graph.id_map.ids}
    table = spread_by_segment(est, segments)
    assert set(table.segment) == {"even", "odd"}
    assert table.expected_reached.sum() == pytest.approx(est.mean)
    with pytest.raises(NodeNotFoundError):
        simulate(wiki_graph, [-5], layer="votes")
    with pytest.raises(ParameterError):
        simulate(wiki_graph, [11], layer="votes", model="sir")
    # labels for accounts the graph does not have: left out with a warning that counts them; none known: an error
    with pytest.warns(UserWarning, match=r"2 of \d[\d,]* labelled accounts are not in the graph .*'nobody'"):
        partial = spread_by_segment(est, {**segments, "nobody": "odd", -7: "even"})
    assert partial.equals(table)
    with pytest.raises(ParameterError, match="none of the 2 labelled accounts is in the graph"):
        spread_by_segment(est, {"nobody": "odd", -7: "even"})


EXE = shutil.which("graphcrm")


def test_simulate_cli(tmp_path):
    env = dict(os.environ, CI="true")
    snap = tmp_path / "wiki"
    subprocess.run([EXE, "load", "--edges", str(dataset("wiki-Vote/wiki-Vote.txt.gz")), "--layer", "votes",
                    "--out", str(snap)], check=True, env=env, capture_output=True)
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("11\n2565\n")
    proc = subprocess.run([EXE, "simulate", str(snap), "--seeds-file", str(seeds), "--runs", "3000", "--seed", "2",
                           "--out", str(tmp_path / "steps.csv"), "--activation-out", str(tmp_path / "act.parquet"),
                           "--json"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["ci95"][0] <= summary["expected_reach"] <= summary["ci95"][1] and summary["runs"] == 3000
    bad = subprocess.run([EXE, "simulate", str(snap), "--seeds", "nobody"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and "not in the graph" in bad.stderr


def test_dask_cluster_gives_the_same_simulation(wiki_graph):
    distributed = pytest.importorskip("distributed")
    from graphcrm.algorithms.diffusion import simulate as run

    seeds = wiki_graph.id_map.to_external(np.argsort(-wiki_graph.layer("votes").out_degree())[:10])
    local = run(wiki_graph, seeds, layer="votes", n_runs=3_000, seed=4, ci_width=5.0, batch=500)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = run(wiki_graph, seeds, layer="votes", n_runs=3_000, seed=4, ci_width=5.0, batch=500, client=client)
    assert np.array_equal(local.sizes, remote.sizes)
    assert np.array_equal(local.activation_probability, remote.activation_probability)
    assert np.array_equal(local.new_per_step, remote.new_per_step)


def test_learned_probabilities_count_hours_and_shrink_rare_pairs(higgs_graph):
    from graphcrm.algorithms.probabilities import learned_probabilities

    lay = higgs_graph.layer("retweets")
    raw = learned_probabilities(lay, prior_strength=0)
    smooth = learned_probabilities(lay)
    assert len(raw) == lay.n_edges and (raw >= 0).all() and (raw <= 1).all()
    # the slow reference for a handful of edges: distinct hours with u -> v over distinct hours u was active
    ev = lay.events
    hours = ev.time // 3600
    heads = np.repeat(np.arange(lay.n_nodes), lay.in_degree())
    for k in np.random.default_rng(0).choice(lay.n_edges, 25, replace=False):
        u, v = int(lay.in_indices[k]), int(heads[k])
        a_uv = len(set(hours[(ev.src == u) & (ev.dst == v)].tolist()))
        a_u = len(set(hours[(ev.src == u) | (ev.dst == u)].tolist()))
        assert raw[k] == pytest.approx(a_uv / a_u)
    # smoothing pulls every estimate towards one pooled rate: those raised all start below those lowered
    raised, lowered = raw[smooth > raw + 1e-12], raw[smooth < raw - 1e-12]
    assert len(raised) and len(lowered) and raised.max() <= lowered.min()


def test_cli_simulate_learned_reports_reach_per_hour(tmp_path, higgs_activity):
    snap = tmp_path / "higgs"
    subprocess.run([EXE, "load", "--interactions", str(higgs_activity), "--out", str(snap)], check=True,
                   capture_output=True)
    hourly = tmp_path / "hourly.csv"
    proc = subprocess.run([EXE, "simulate", str(snap), "--layer", "retweets", "--prob", "learned", "--seeds", "88",
                           "--runs", "2000", "--hourly-out", str(hourly), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    table = pd.read_csv(hourly)
    assert table["expected_reach"].is_monotonic_increasing
    assert 1.0 <= table["expected_reach"].iloc[0] < 1.5      # the seed, plus hops observed within seconds
    assert table["expected_reach"].iloc[-1] == pytest.approx(summary["expected_reach"], rel=0.02)
    assert summary["reach_after_hours"]["1"] <= summary["reach_after_hours"]["24"]
    proc = subprocess.run([EXE, "simulate", str(snap), "--layer", "retweets", "--prob", "learned", "--seeds", "88",
                           "--model", "lt", "--runs", "500"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def hourly_star_log(k=5, hours=48):
    """Accounts 1..k re-share account 0 every hour and account k+1 re-shares account 1 a few seconds later.

    Learned probabilities are all 1 and every hour repeats the last, so the held-out reach is known: account 0
    reaches all k+1 others, account 1 reaches one, the rest reach no one.
    """
    src = np.tile(np.r_[np.arange(1, k + 1), k + 1], hours)
    dst = np.tile(np.r_[np.zeros(k, dtype=np.int64), 1], hours)
    time = np.repeat(np.arange(hours) * 3600, k + 1) + np.tile(np.r_[np.arange(1, k + 1) * 10, 15], hours)
    return GraphBuilder().add_events("retweets", src, dst, time=time).build()


def test_learned_times_s_scales_and_clips_the_learned_probabilities(higgs_graph):
    from graphcrm.algorithms.probabilities import edge_probabilities

    lay = higgs_graph.layer("retweets")
    base = edge_probabilities(lay, "learned")
    assert np.allclose(edge_probabilities(lay, "learned*0.5"), base * 0.5)
    assert np.array_equal(edge_probabilities(lay, "learned*1000"), np.clip(base * 1000, 0, 1))
    for bad in ("learned*", "learned*x", "learned*-1", "learned*nan"):
        with pytest.raises(ParameterError, match="learned\\*S|S must be"):
            edge_probabilities(lay, bad)


def test_reach_calibration_is_exact_on_a_log_that_repeats_itself():
    from graphcrm.algorithms.calibration import reach_calibration

    g = hourly_star_log()
    cal = reach_calibration(g, "retweets", "learned", n_samples=20_000)
    # held out: account 0 reaches all 6 others, account 1 reaches account 6, the rest no one -- 7/7 per account
    assert cal.accounts == 7 and cal.mean_actual == pytest.approx(1.0)
    assert cal.ratio == pytest.approx(1.0, abs=0.02) and cal.within_20_percent
    half = reach_calibration(g, "retweets", "learned*0.5", n_samples=20_000)
    # halved: 0 reaches 1..5 with 0.5 each and 6 through 1 with 0.25, 1 reaches 6 with 0.5
    assert half.mean_predicted == pytest.approx((5 * 0.5 + 0.25 + 0.5) / 7, rel=0.03) and not half.within_20_percent
    assert reach_calibration(g, "retweets", "const:0").mean_predicted == pytest.approx(0.0)
    assert "outside +-20%" in half.describe()
    short = GraphBuilder().add_events("retweets", [1], [0], time=[0]).build()
    with pytest.raises(ParameterError, match="too short"):
        reach_calibration(short, "retweets")


def test_cli_simulate_learned_reports_its_calibration_on_held_out_hours(tmp_path):
    g = hourly_star_log()
    snap = tmp_path / "star"
    from graphcrm.loaders.snapshot import save_snapshot

    save_snapshot(g, snap)
    proc = subprocess.run([EXE, "simulate", str(snap), "--layer", "retweets", "--prob", "learned", "--seeds", "0",
                           "--runs", "2000", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    cal = json.loads(proc.stdout)["calibration"]
    assert cal["within_20_percent"] and cal["accounts"] == 7
    proc = subprocess.run([EXE, "simulate", str(snap), "--layer", "retweets", "--prob", "learned*0.5",
                           "--seeds", "0", "--runs", "2000"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "calibration of --prob learned*0.5" in proc.stdout and "outside +-20%" in proc.stdout
