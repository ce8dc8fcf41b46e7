"""The HTML report as a marketer gets it: made by the ``graphcrm`` executable, opened in headless Chromium."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphcrm.algorithms.diffusion import simulate
from graphcrm.loaders.builder import GraphBuilder
from graphcrm.curves import compare_seed_sets, reach_curve, random_seeds
from graphcrm.demo import sample_path
from tests.browser import open_browser
from tests.conftest import dataset


def graphcrm(*args, cwd=None) -> subprocess.CompletedProcess:
    exe = shutil.which("graphcrm") or str(Path(sys.executable).with_name("graphcrm"))
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "GRAPHCRM_PROGRESS": "0"})


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    proc = graphcrm("load", "--interactions", sample_path(), "--format", "higgs", "--out", out / "snapshot")
    assert proc.returncode == 0, proc.stderr
    proc = graphcrm("report", out / "snapshot", "--out", out / "report.html", "--json")
    assert proc.returncode == 0, proc.stderr
    return out / "report.html", json.loads(proc.stdout)


def test_report_renders_in_chromium(demo_report, tmp_path):
    from PIL import Image

    path, summary = demo_report
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    driver = open_browser()
    try:
        driver.get(path.as_uri())
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1280, min(height + 100, 8000))
        # nothing fetched from anywhere: the page is self-contained
        assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
        console = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert console == []
        charts = driver.execute_script("""
            return Array.from(document.querySelectorAll('svg')).map(s => {
              const r = s.getBoundingClientRect();
              return {label: s.getAttribute('aria-label'), w: r.width, h: r.height,
                      marks: s.querySelectorAll('rect.bar, circle, polyline.curve, polygon.band, line.link').length};
            });""")
        labels = [c["label"] for c in charts]
        assert any("Members per community" in label for label in labels)
        assert any("largest communities" in label for label in labels)
        assert any("Expected accounts reached" in label for label in labels)
        assert sum(label.startswith("Segments:") for label in labels) >= 2
        for chart in charts:
            assert chart["w"] > 200 and chart["h"] > 60 and chart["marks"] >= 2, chart
        drawing = next(c for c in charts if "largest communities" in c["label"])
        assert drawing["marks"] >= 12 + 10          # 12 communities and the links between them
        curves = driver.execute_script("""
            const s = Array.from(document.querySelectorAll('svg')).find(
                s => s.getAttribute('aria-label').startsWith('Expected accounts reached'));
            return Array.from(s.querySelectorAll('polyline.curve')).map(p => p.points.numberOfItems);""")
        assert len(curves) == 3 and min(curves) >= 3
        # the table starts with the demo's (and README's) first opinion leader
        first = driver.execute_script("return document.querySelector('table.leaders tbody tr td:nth-child(2)').textContent")
        assert first == str(summary["top_leaders"][0]) == "88"
        assert driver.execute_script("return document.querySelectorAll('table.leaders tbody tr').length") == 20
        shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    finally:
        driver.quit()
    shot.save(tmp_path / "report.png")
    pixels = np.asarray(shot).reshape(-1, 3)
    assert pixels.std(axis=0).max() > 20                       # not a blank page
    colors = {tuple(c) for c in pixels[:: max(1, len(pixels) // 200_000)] // 16}
    assert len(colors) > 40                                    # charts in several colours, not just text


def test_report_layer_ranks_as_rank_layer(demo_report, tmp_path):
    """`report --layer mentions` ranks the leaders as `rank --layer mentions` does (the forecast of mentions)."""
    path, _ = demo_report
    snap = path.parent / "snapshot"
    proc = graphcrm("report", snap, "--layer", "mentions", "--out", tmp_path / "m.html", "--runs", "100",
                    "--backtest-split", "none", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    rank = graphcrm("rank", snap, "--layer", "mentions", "--top", "10", "--out", tmp_path / "m.csv", "--json")
    assert rank.returncode == 0, rank.stderr
    assert summary["leaders_ranking"]["scorer"] == json.loads(rank.stdout)["ranking"]["scorer"]
    assert [str(a) for a in summary["top_leaders"]] == pd.read_csv(tmp_path / "m.csv", dtype=str).account_id.tolist()


def test_report_summary_figures(demo_report):
    _, summary = demo_report
    reach = summary["expected_reach"]
    assert set(reach) == {"top leaders", "degree discount", "random accounts"}
    for r in reach.values():
        assert r["ci95"][0] <= r["mean"] <= r["ci95"][1]
    # leaders and degree discount reach far more than random people on the higgs sample
    assert reach["top leaders"]["ci95"][0] > 20 * reach["random accounts"]["ci95"][1]
    assert summary["communities"] > 12 and summary["modularity"] > 0.5


def test_report_on_wiki_vote_with_crm_segments(tmp_path):
    snap = tmp_path / "wiki"
    proc = graphcrm("load", "--edges", dataset("wiki-Vote/wiki-Vote.txt.gz"), "--layer", "votes", "--out", snap)
    assert proc.returncode == 0, proc.stderr
    seg = tmp_path / "crm.csv"
    seg.write_text("account_id,segment\n" + "".join(f"{i},{'vip' if i % 3 else 'prospect'}\n" for i in range(3, 300))
                   + "nobody,vip\n")
    out = tmp_path / "wiki.html"
    proc = graphcrm("report", snap, "--out", out, "--segments", seg, "--top", "15", "--k", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["segments"] == {"communities": summary["segments"]["communities"], "leader tiers": 3, "crm": 2}
    html = out.read_text(encoding="utf-8")
    assert html.count("<svg") >= 6 and "Segments: crm" in html
    assert html.count("<tr>") >= 15


def test_report_user_mistakes_are_one_line(tmp_path):
    proc = graphcrm("report", tmp_path / "missing", "--out", tmp_path / "r.html")
    assert proc.returncode == 1 and proc.stderr.startswith("error:") and proc.stderr.count("\n") == 1
    proc = graphcrm("report", tmp_path, "--out", tmp_path / "r.csv")
    assert proc.returncode == 2 and "HTML" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r.csv").exists()
    proc = graphcrm("report", tmp_path, "--out", tmp_path / "r.html", "--samples", "0")
    assert proc.returncode == 2 and "--samples must be >= 1" in proc.stderr and "Traceback" not in proc.stderr
    proc = graphcrm("rank", tmp_path, "--out", tmp_path / "r.csv", "--samples", "-1")
    assert proc.returncode == 2 and "--samples must be >= 1" in proc.stderr and "Traceback" not in proc.stderr


def test_reach_curve_band_covers_the_exact_expectation():
    # a star: the hub reaches each of 40 leaves with p = 0.3 at step 1; leaves pass it on to one tail each
    leaves = list(range(1, 41))
    g = GraphBuilder().add_edges("x", [0] * 40 + leaves, leaves + [100 + i for i in leaves]).build()
    curve = reach_curve(g, [0], layer="x", prob="const:0.3", n_runs=4000, batches=20, seed=3)
    exact = [1, 1 + 40 * 0.3, 1 + 40 * 0.3 + 40 * 0.09]
    assert curve.step.tolist() == [0, 1, 2]
    assert np.all(curve.ci_low <= np.array(exact) + 1e-9) and np.all(np.array(exact) <= curve.ci_high + 1e-9)
    assert (curve.ci_high - curve.ci_low).iloc[-1] < 0.6
    # the batches together are exactly one simulation of all the runs
    assert curve.reached.iloc[-1] == pytest.approx(simulate(g, [0], layer="x", prob="const:0.3", n_runs=4000, seed=3).mean)
    again = reach_curve(g, [0], layer="x", prob="const:0.3", n_runs=4000, batches=20, seed=3)
    pd.testing.assert_frame_equal(curve, again)


def test_compare_seed_sets_on_wiki_vote(wiki_graph):
    sets = {"random": random_seeds(wiki_graph, 5, layer="votes", seed=1), "hubs": [2565, 11, 457, 766, 1549]}
    frame = compare_seed_sets(wiki_graph, sets, layer="votes", n_runs=1000)
    final = frame.groupby("seed_set").tail(1).set_index("seed_set")
    assert final.loc["hubs", "ci_low"] > final.loc["random", "ci_high"]
    assert (frame.groupby("seed_set").reached.diff().dropna() >= -1e-9).all()     # reach never falls


def test_report_has_a_backtest_section_when_the_snapshot_has_a_log(demo_report):
    path, summary = demo_report
    html = path.read_text(encoding="utf-8")
    bt = summary["backtest"]
    assert bt["split"] == "2012-07-04T07:40:00Z"                 # two thirds into the hour
    assert bt["leader_default_scorer"]["scorer"] in ("forecast", "engagement_decayed", "in_degree") and bt["leader_default_scorer"]["reason"]
    assert 'id="backtest"' in html and html.count('class="diagonal"') == 1
    assert "in-degree (distinct engagers)" in html and "forecast (graphcrm)" in html
    assert html.index('id="backtest"') < html.index('id="segments"')


def test_report_without_a_log_or_when_asked_has_no_backtest(tmp_path):
    snap = tmp_path / "sample"
    assert graphcrm("load", "--interactions", sample_path(), "--format", "higgs", "--out", snap).returncode == 0
    proc = graphcrm("report", snap, "--out", tmp_path / "r.html", "--backtest-split", "none", "--runs", "200",
                    "--json")
    assert proc.returncode == 0, proc.stderr
    assert "backtest" not in json.loads(proc.stdout) and 'id="backtest"' not in (tmp_path / "r.html").read_text()
    proc = graphcrm("report", snap, "--out", tmp_path / "r.html", "--backtest-split", "2031-01-01", "--runs", "200")
    assert proc.returncode == 2 and "outside the log" in proc.stderr and "Traceback" not in proc.stderr


def test_predicted_vs_actual_bins_by_hand():
    from graphcrm.backtest import Backtest, predicted_vs_actual

    pred = np.array([0.0, 0.2, 1.0, 1.2, 5.0, 6.0, 600.0])
    actual = np.array([0, 1, 1, 3, 4, 8, 300])
    bt = Backtest(pd.DataFrame(), {}, {}, {"engagement": {"x": pred}}, {"engagement": actual}, {},
                  known=np.array([True] * 6 + [False]))
    bins = predicted_vs_actual(bt, "engagement", scorers=("x",))
    assert bins.bin.tolist() == ["0", "1", "4-7"]                 # the unknown account's 600 is left out
    assert bins.accounts.tolist() == [2, 2, 2]
    assert bins.mean_actual.tolist() == [0.5, 2.0, 6.0] and bins.mean_predicted.tolist() == [0.1, 1.1, 5.5]
    with pytest.raises(Exception, match="predicts no engagement count"):
        predicted_vs_actual(bt, "engagement", scorers=("pagerank",))


def test_report_ranks_leaders_as_graphcrm_rank(tmp_path):
    """With a month of timestamped retweets the report's leaders are `graphcrm rank`'s list (the scorer that won
    on held-out days), the "top leaders" seed set follows them, and the page says which scorer ranked and why;
    `--method combined` keeps the structural score."""
    rng = np.random.default_rng(3)
    n = 6000
    time = 1_600_000_000 + np.sort(rng.integers(0, 30 * 86_400, n))
    target = np.where(rng.random(n) < 0.3, "star", rng.choice([f"q{i}" for i in range(300)], n))
    pd.DataFrame({"src": rng.choice([f"f{i}" for i in range(2000)], n), "dst": target, "time": time,
                  "type": "RT"}).to_csv(tmp_path / "log.csv", index=False)
    snap = tmp_path / "snap"
    proc = graphcrm("load", "--interactions", tmp_path / "log.csv", "--out", snap)
    assert proc.returncode == 0, proc.stderr
    proc = graphcrm("report", snap, "--out", tmp_path / "r.html", "--top", "15", "--k", "3", "--runs", "200",
                    "--backtest-split", "none", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    rank = graphcrm("rank", snap, "--top", "15", "--out", tmp_path / "rank.csv", "--json")
    assert rank.returncode == 0, rank.stderr
    ranked = pd.read_csv(tmp_path / "rank.csv", dtype=str)
    assert summary["leaders_ranking"]["scorer"] == json.loads(rank.stdout)["ranking"]["scorer"]
    assert summary["leaders_ranking"]["scorer"] in ("forecast", "engagement_decayed", "in_degree")
    assert summary["top_leaders"] == ranked.account_id.head(10).tolist()
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    rows = html.split('<table class="leaders">', 1)[1].split("</table>", 1)[0].split("<tr>")[2:]
    assert [r.split("<td>")[2].split("</td>")[0] for r in rows] == ranked.account_id.tolist()
    assert ranked.why.iloc[0].split(" (80%")[0] in html and "held-out" in html and "graphcrm plan" in html
    proc = graphcrm("report", snap, "--out", tmp_path / "c.html", "--top", "15", "--k", "3", "--runs", "200",
                    "--backtest-split", "none", "--method", "combined", "--json")
    assert proc.returncode == 0, proc.stderr
    combined = json.loads(proc.stdout)
    assert combined["leaders_ranking"] == {"scorer": "combined", "scorer_reason": "asked for"}
    rank = graphcrm("rank", snap, "--method", "combined", "--top", "15", "--out", tmp_path / "rc.csv")
    assert rank.returncode == 0, rank.stderr        # same reach samples as rank's default: the same order
    assert combined["top_leaders"] == pd.read_csv(tmp_path / "rc.csv", dtype=str).account_id.head(10).tolist()
    assert combined["top_leaders"][0] == "star" and "influence score" in (tmp_path / "c.html").read_text()
    bad = graphcrm("report", snap, "--out", tmp_path / "x.html", "--method", "best")
    assert bad.returncode != 0 and "--method" in bad.stderr and "Traceback" not in bad.stderr


def test_report_community_leaders_follow_the_leader_order():
    """With a validated leader order the communities' leaders are each community's first members in it (the
    structural PageRank-within leaders only with the combined score)."""
    from graphcrm.report import build_report

    rng = np.random.default_rng(4)
    n = 4000
    time = 1_600_000_000 + np.sort(rng.integers(0, 30 * 86_400, n))
    group = rng.integers(0, 4, n)                                  # four audiences, each with its own stars
    fans = np.array([f"f{g}_{i}" for g, i in zip(group, rng.integers(0, 150, n))])
    stars = np.array([f"s{g}_{i}" for g, i in zip(group, rng.zipf(1.6, n) % 30)])
    g = GraphBuilder().add_events("retweets", fans, stars, time=time).build()
    rep = build_report(g, top=g.n_nodes, k=2, n_runs=100, reach_samples=2000)
    assert rep.summary["leaders_ranking"]["scorer"] != "combined"
    order = rep.leaders[["account_id", "community"]]
    for row in rep.profiles.itertuples():
        expected = order[order.community == row.community].account_id.head(3).astype(str).tolist()
        assert row.leaders.split(";") == expected if expected else row.leaders == ""
    combined = build_report(g, top=5, k=2, n_runs=100, reach_samples=2000, method="combined")
    from graphcrm.algorithms.community import community_profiles, leiden

    lay = g.resolve_layer(None).positive()
    assert combined.profiles.leaders.tolist() == community_profiles(g, leiden(g, layer=lay, seed=0),
                                                                    layer=lay).leaders.tolist()


def test_layer_whose_events_were_all_dropped(tmp_path):
    """A layer whose every row was a dropped self-loop keeps no events: the forecast refuses it in one line,
    `rank` falls back to the combined score, and `report` says the layer has no ties (no traceback)."""
    t0 = 1_341_100_800
    rng = np.random.default_rng(0)
    rows = [f"{rng.integers(1, 300)} {rng.integers(300, 320)} {t0 + i * 600} RT" for i in range(2000)]
    rows += [f"7 7 {t0 + i * 1000} MT" for i in range(5)]
    (tmp_path / "acts.txt").write_text("\n".join(rows) + "\n")
    snap = tmp_path / "snap"
    assert graphcrm("load", "--interactions", tmp_path / "acts.txt", "--out", snap).returncode == 0
    proc = graphcrm("forecast", snap, "--layer", "mentions")
    assert proc.returncode != 0 and "has no timestamped events" in proc.stderr and "Traceback" not in proc.stderr
    proc = graphcrm("rank", snap, "--layer", "mentions", "--out", tmp_path / "r.csv", "--samples", "2000", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ranking"]["scorer"] == "combined"
    proc = graphcrm("report", snap, "--layer", "mentions", "--out", tmp_path / "r.html")
    assert proc.returncode != 0 and "has no ties" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r.html").exists()


def test_report_counts_an_undirected_tie_once():
    import networkx as nx

    from graphcrm.report import build_report

    ref = nx.karate_club_graph()
    src, dst = zip(*ref.edges())
    graph = GraphBuilder().add_edges("friends", list(src), list(dst)).build()
    assert graph.layer("friends").undirected
    report = build_report(graph, top=5, k=2, n_runs=50, reach_samples=2_000)
    assert report.summary["ties"] == ref.number_of_edges() == 78
    assert '<div class="v">78</div><div class="k">ties</div>' in report.html
