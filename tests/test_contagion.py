"""SIR / SIS epidemics and competing positive / negative cascades: exact cases, limits, cross-checks."""

from __future__ import annotations

import numpy as np
import pytest

from graphcrm.algorithms.contagion import simulate_competition, simulate_epidemic
from graphcrm.algorithms.diffusion import simulate
from graphcrm.loaders.builder import GraphBuilder
from graphcrm.loaders.errors import ParameterError


def chain(k):
    return GraphBuilder().add_edges("x", list(range(k)), list(range(1, k + 1))).build()


@pytest.mark.parametrize("p,recovery", [(0.5, 0.5), (0.2, 0.3), (0.7, 1.0)])
def test_sir_on_a_chain_matches_the_closed_form(p, recovery):
    # one out-edge per account: the edge transmits with q = p / (1 - (1 - p)(1 - recovery)); account k with q^k
    runs = 40_000
    est = simulate_epidemic(chain(4), [0], layer="x", prob=f"const:{p}", recovery=recovery, n_runs=runs, seed=3)
    q = p / (1 - (1 - p) * (1 - recovery))
    for k in range(5):
        exact = q ** k
        assert abs(est.ever_infected_probability[k] - exact) <= 5 * np.sqrt(exact * (1 - exact) / runs) + 1e-12
    assert est.mean == pytest.approx(sum(q ** k for k in range(5)), abs=5 * est.sizes.std() / np.sqrt(runs))


def test_sir_with_full_recovery_is_independent_cascade(wiki_graph):
    seeds = wiki_graph.id_map.to_external(np.argsort(-wiki_graph.layer("votes").out_degree())[:20])
    sir = simulate_epidemic(wiki_graph, seeds, layer="votes", recovery=1.0, n_runs=4_000, seed=1)
    ic = simulate(wiki_graph, seeds, layer="votes", n_runs=4_000, seed=2)
    assert abs(sir.mean - ic.mean) < 2 * ((sir.ci_high - sir.ci_low) + (ic.ci_high - ic.ci_low))


def test_sis_without_recovery_reaches_everything_reachable_and_stays():
    g = GraphBuilder().add_edges("x", [1, 2, 3, 5], [2, 3, 1, 6]).build()     # cycle 1-2-3; 5 -> 6 apart
    est = simulate_epidemic(g, [1], layer="x", model="sis", prob="const:0.5", recovery=0.0, n_runs=500,
                            max_steps=60, seed=1)
    assert est.mean == pytest.approx(3.0)
    assert est.prevalence[-1] == pytest.approx(3.0)
    assert est.ever_infected_probability[g.index_of([5])[0]] == 0.0


def test_sis_can_be_reinfected_so_prevalence_persists():
    pairs = [(a, b) for a in range(5) for b in range(5) if a != b]                # five accounts all talking
    g = GraphBuilder().add_edges("x", [a for a, _ in pairs], [b for _, b in pairs]).build()
    est = simulate_epidemic(g, [1], layer="x", model="sis", prob="const:0.5", recovery=0.3, n_runs=2_000,
                            max_steps=40, seed=5)
    sir = simulate_epidemic(g, [1], layer="x", model="sir", prob="const:0.5", recovery=0.3, n_runs=2_000,
                            max_steps=40, seed=5)
    assert est.prevalence[30] > 2.0 and sir.prevalence[30] < 0.01


def naive_competition(n, edges, prob, neg, pos, negative_wins, rng):
    """Step-synchronous reference with Python sets."""
    owner = {s: "pos" for s in pos}
    owner.update({s: "neg" for s in neg} if negative_wins else {s: "neg" for s in neg if s not in owner})
    frontier = list(owner)
    out = {u: [v for a, v in edges if a == u] for u in range(n)}
    while frontier:
        claims = {}
        for u in frontier:
            for v in out[u]:
                if v in owner or rng.random() >= prob:
                    continue
                side = owner[u]
                if v not in claims or (claims[v] != side and (side == "neg") == negative_wins):
                    claims[v] = side
        owner.update(claims)
        frontier = list(claims)
    return sum(o == "pos" for o in owner.values()), sum(o == "neg" for o in owner.values())


@pytest.mark.parametrize("ties", ["negative", "positive"])
def test_competition_matches_a_naive_reference(ties):
    rng = np.random.default_rng(0)
    n = 40
    edges = sorted({(int(a), int(b)) for a, b in rng.integers(0, n, size=(120, 2)) if a != b})
    g = GraphBuilder().add_nodes(list(range(n))).add_edges("x", [a for a, _ in edges], [b for _, b in edges]).build()
    out = simulate_competition(g, [0, 1], [2, 3], layer="x", prob="const:0.3", ties=ties, n_runs=20_000, seed=4)
    ref = np.array([naive_competition(n, edges, 0.3, [0, 1], [2, 3], ties == "negative", rng) for _ in range(4_000)])
    for ours, col in ((out.positive, 0), (out.negative, 1)):
        se = ref[:, col].std() / np.sqrt(len(ref))
        assert abs(ours[0] - ref[:, col].mean()) < 5 * se + (ours[2] - ours[1]) / 2


def test_competition_tie_rule_and_no_advocates_is_plain_cascade(wiki_graph):
    g = GraphBuilder().add_edges("x", [1, 2], [3, 3]).build()        # 1 and 2 both reach 3 in step 1
    assert simulate_competition(g, [1], [2], layer="x", prob="const:1", n_runs=5).negative[0] == 2.0
    assert simulate_competition(g, [1], [2], layer="x", prob="const:1", ties="positive", n_runs=5).negative[0] == 1.0
    seeds = wiki_graph.id_map.to_external(np.argsort(-wiki_graph.layer("votes").out_degree())[:10])
    alone = simulate_competition(wiki_graph, seeds, [], layer="votes", n_runs=4_000, seed=1)
    ic = simulate(wiki_graph, seeds, layer="votes", n_runs=4_000, seed=2)
    assert alone.saved == 0 and alone.positive[0] == 0
    assert abs(alone.negative[0] - ic.mean) < 2 * ((alone.negative[2] - alone.negative[1]) + (ic.ci_high - ic.ci_low))
    advocates = wiki_graph.id_map.to_external(np.argsort(-wiki_graph.layer("votes").out_degree())[10:40])
    fight = simulate_competition(wiki_graph, seeds, advocates, layer="votes", n_runs=4_000, seed=1)
    assert fight.saved > 0 and fight.info["saved_ci95"][0] > 0


def test_bad_contagion_parameters():
    with pytest.raises(ParameterError, match="sir"):
        simulate_epidemic(chain(2), [0], layer="x", model="seir")
    with pytest.raises(ParameterError, match="recovery"):
        simulate_epidemic(chain(2), [0], layer="x", recovery=2)
    with pytest.raises(ParameterError, match="ties"):
        simulate_competition(chain(2), [0], [1], layer="x", ties="both")


def test_cli_sir_and_competing_cascades(tmp_path, wiki_vote):
    import json
    import shutil
    import subprocess

    exe = shutil.which("graphcrm")
    snap = tmp_path / "wiki"
    subprocess.run([exe, "load", "--edges", str(wiki_vote), "--layer", "votes", "--out", str(snap)], check=True,
                   capture_output=True)
    proc = subprocess.run([exe, "simulate", str(snap), "--seeds", "2565", "--model", "sir", "--recovery", "0.4",
                           "--runs", "1000", "--out", str(tmp_path / "sir.csv"), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["ci95"][0] <= summary["ever_reached"] <= summary["ci95"][1]
    assert summary["expected_reach"] == summary["ever_reached"]      # the key every other model reports too
    assert (tmp_path / "sir.csv").exists()
    proc = subprocess.run([exe, "simulate", str(snap), "--seeds", "2565", "--seeds", "766", "--negative", "15",
                           "--runs", "1000", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["saved_ci95"][1] >= 0          # advocates never add negative reach (up to sampling noise)
    assert summary["negative_reach"] <= summary["negative_ci95"][1]
    proc = subprocess.run([exe, "simulate", str(snap), "--seeds", "2565", "--negative", "15", "--model", "lt"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_result_objects_print_a_summary_not_a_field_dump():
    """QA (API) F19: EpidemicEstimate, CompetitionEstimate, ContainmentPlan and AudienceAudit printed their raw
    fields in a notebook (kilobytes of arrays, np.float64(...) noise)."""
    from graphcrm.algorithms.containment import plan_containment
    from graphcrm.algorithms.contagion import simulate_competition, simulate_epidemic
    from graphcrm.audience import audit
    from graphcrm.loaders import load_edges
    from tests.conftest import dataset

    g = load_edges(dataset("email-Eu-core/email-Eu-core.txt.gz"), layer="email")
    epi = simulate_epidemic(g, [160], layer="email", n_runs=20)
    comp = simulate_competition(g, [160], [121], layer="email", n_runs=20)
    plan = plan_containment(g, [160], k=2, layer="email", n_runs=20)
    audited = audit(g)
    for obj, start in ((epi, "EpidemicEstimate(ever infected "), (comp, "CompetitionEstimate(positive reach "),
                       (plan, "ContainmentPlan(2 advocates ["), (audited, "AudienceAudit(1,005 accounts")):
        text = repr(obj)
        assert text.startswith(start) and len(text) < 300 and "np.float64" not in text, text
    assert plan.to_frame().equals(plan.table) and audited.to_frame().equals(audited.table)
