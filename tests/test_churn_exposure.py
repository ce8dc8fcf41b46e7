"""Churn exposure (issue 25 part 5): negative messages from one's influencers, and whether they preceded churn."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from graphcrm.crm.exposure import exposure_backtest, negative_exposure
from graphcrm.crm.segments import build_segments
from graphcrm.crm.synthetic import churn_world
from graphcrm.loaders.builder import GraphBuilder
from graphcrm.loaders.customers import read_customers
from graphcrm.loaders.errors import InputFileError, ParameterError
from graphcrm.loaders.snapshot import save_snapshot
from tests.conftest import REPO

DAY = 86400


def four_nodes(late_sentiment=-0.9):
    """a -> d (3 retweets), b -> d (1), a -> c (1), d -> c (1); negative: a at day 8, b at day 6, d at day 7 (and a
    late one by a at day 12, after as_of = day 10); c's retweet of a at day 9 is -0.04, above the threshold."""
    actor = ["d", "d", "d", "d", "c", "c"]
    target = ["a", "a", "a", "b", "a", "d"]
    time = [8 * DAY, 9 * DAY, 12 * DAY, 6 * DAY, 9 * DAY, 7 * DAY]
    sentiment = [-0.5, 0.5, late_sentiment, -0.2, -0.04, -0.3]
    return GraphBuilder().add_events("retweets", actor, target, time=time, sentiment=sentiment,
                                     extra={"topics": [["acme"], ["acme"], ["acme"], ["other"], ["acme"], ["acme"]]}
                                     ).build()


def exposure_of(graph, **kw):
    kw = {"as_of": 10 * DAY, "half_life": 1, "layer": "retweets", **kw}
    return negative_exposure(graph, **kw).set_index("account_id")


def test_exposure_hand_computed_on_four_nodes():
    e = exposure_of(four_nodes())
    # negative mass at day 10, half-life 1 day: a 2^-2 (day 8), b 2^-4 (day 6), d 2^-3 (day 7)
    # d listens to a (3/4) and b (1/4); c listens to a (1/2) and d (1/2)
    assert e.exposure["d"] == pytest.approx(3 / 4 * 0.25 + 1 / 4 * 0.0625)
    assert e.exposure["c"] == pytest.approx(1 / 2 * 0.25 + 1 / 2 * 0.125)
    assert e.exposure["a"] == 0 and e.exposure["b"] == 0
    assert e.top_negative_influencer["d"] == "a" and e.top_negative_exposure["d"] == pytest.approx(0.1875)
    assert e.top_negative_influencer["c"] == "a" and e.top_negative_exposure["c"] == pytest.approx(0.125)
    assert e.negative_influencers.to_dict() == {"a": 0, "b": 0, "c": 2, "d": 2}
    assert pd.isna(e.top_negative_influencer["a"])


def test_recency_decay_and_tie_strength_weighting():
    g = four_nodes()
    # doubling the half-life: each event's weight is 2^(-age / 2 days)
    e = exposure_of(g, half_life="2D")
    assert e.exposure["d"] == pytest.approx(3 / 4 * 2 ** -1 + 1 / 4 * 2 ** -2)
    # "48h" is the same half-life
    assert exposure_of(g, half_life="48h").exposure["d"] == pytest.approx(e.exposure["d"])
    # tie strength: with a -> d weighing 1 like b -> d (a single retweet), a's share drops from 3/4 to 1/2
    g2 = GraphBuilder().add_events("retweets", ["d", "d"], ["a", "b"], time=[8 * DAY, 6 * DAY],
                                   sentiment=[-0.5, -0.2]).build()
    assert exposure_of(g2).exposure["d"] == pytest.approx(1 / 2 * 0.25 + 1 / 2 * 0.0625)
    # a stricter threshold leaves out b (-0.2) and keeps a (-0.5) and d (-0.3)
    assert exposure_of(g, threshold=-0.25).exposure["d"] == pytest.approx(3 / 4 * 0.25)


def test_events_after_as_of_are_ignored_and_topics_filter():
    # the late event (day 12) is negative or positive: same exposure at day 10
    assert exposure_of(four_nodes(-0.9)).exposure.equals(exposure_of(four_nodes(+0.9)).exposure)
    # before every event: nothing
    assert (exposure_of(four_nodes(), as_of=5 * DAY).exposure == 0).all()
    # only topic acme: b's negative message (topic other) drops out
    e = exposure_of(four_nodes(), topic="#ACME")
    assert e.exposure["d"] == pytest.approx(3 / 4 * 0.25)
    with pytest.raises(ParameterError, match="no event carries the topic"):
        exposure_of(four_nodes(), topic="nope")


def test_exposure_needs_sentiment_and_a_valid_as_of():
    g = GraphBuilder().add_events("retweets", ["a"], ["b"], time=[0]).build()
    with pytest.raises(ParameterError, match="sentiment"):
        negative_exposure(g, as_of=10)
    with pytest.raises(ParameterError, match="not a date"):
        negative_exposure(four_nodes(), as_of="yesterday-ish")


@pytest.fixture(scope="module")
def worlds():
    planted = churn_world(3000, effect=3.0, seed=0)
    null = churn_world(3000, effect=0.0, seed=0, graph=planted.graph)
    return planted, null


def backtest(world, **kw):
    customers, _ = read_customers(world.customers)
    return exposure_backtest(world.graph, customers, world.links, as_of=world.as_of, layer="retweets", **kw)


def test_backtest_tells_planted_effect_from_none(worlds):
    planted, null = worlds
    p = backtest(planted).summary
    n = backtest(null).summary
    # planted: lift 2.38 (95% 1.71-3.06), risk ratio 2.81 (1.96-4.01), 34 of 204 exposed churned
    assert p["lift_ci95"][0] > 1 and p["risk_ratio_ci95"][0] > 1 and p["p_value"] < 1e-4
    # null: lift 1.16 (0.63-1.70), risk ratio 1.18 (0.72-1.95), p = 0.30
    assert n["lift_ci95"][0] < 1 < n["lift_ci95"][1] and n["risk_ratio_ci95"][0] < 1 < n["risk_ratio_ci95"][1]
    assert n["p_value"] > 0.05
    assert p["customers"] == n["customers"] and p["exposed_customers"] == round(0.1 * p["customers"] + 0.5)
    # the dose-response table rises on the planted CRM
    rates = backtest(planted).bins.churn_rate.to_numpy()
    assert rates[-1] > 2 * rates[0]


def test_false_positive_rate_on_null_crms_stays_near_five_percent(worlds):
    planted = worlds[0]
    hits_p, hits_ci = 0, 0
    seeds = range(1, 41)
    for seed in seeds:
        # the same graph (churn_world(graph=...) draws only the CRM again), churn independent of exposure
        s = backtest(churn_world(3000, effect=0.0, seed=seed, graph=planted.graph), n_boot=500).summary
        hits_p += s["p_value"] < 0.05
        hits_ci += s["lift_ci95"][0] > 1
    # 5% of 40 is 2; P(Binomial(40, 0.05) >= 7) < 0.003
    assert hits_p <= 6 and hits_ci <= 6, (hits_p, hits_ci)


def test_backtest_needs_churn_dates(worlds, tmp_path):
    planted = worlds[0]
    customers, _ = read_customers(planted.customers)
    with pytest.raises(ParameterError, match="needs a churn_date column"):
        exposure_backtest(planted.graph, customers.drop(columns="churn_date"), planted.links, as_of=planted.as_of)
    flags_only = tmp_path / "flags-only.csv"                # churned flags, no churn_date column in the file
    customers[["customer_id", "name", "churned"]].to_csv(flags_only, index=False)
    without, _ = read_customers(flags_only)
    with pytest.raises(ParameterError, match="needs a churn_date column"):
        exposure_backtest(planted.graph, without, planted.links, as_of=planted.as_of)
    undated = customers.assign(churn_date=customers.churn_date.where(customers.customer_id != "K000003"))
    undated.loc[undated.customer_id == "K000003", "churned"] = True
    with pytest.raises(ParameterError, match=r"'K000003' \(line 4\) is churned but has no churn_date"):
        exposure_backtest(planted.graph, undated, planted.links, as_of=planted.as_of)
    with pytest.raises(ParameterError, match="top must be"):
        exposure_backtest(planted.graph, customers, planted.links, as_of=planted.as_of, top=0)


def test_bad_churn_dates_strict_and_lenient(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text("customer_id,name,churned,churn_date\nA,Ann,yes,2024-03-05\nB,Bo,,2024-13-45\n"
                    "C,Cy,no,2024-03-09\nD,Di,,\nE,Ed,,1709251200\n", encoding="utf-8")
    with pytest.raises(InputFileError) as err:
        read_customers(path)
    message = str(err.value)
    assert "crm.csv" in message and "line 3" in message and "churn_date" in message and "2024-13-45" in message
    assert "\n" not in message
    table, report = read_customers(path, mode="lenient")
    assert table.customer_id.tolist() == ["A", "D", "E"]          # B: bad date; C: a date but flagged not churned
    assert report.n_rejected == 2
    assert table.churned.tolist() == [True, False, True]
    assert table.churn_date.tolist()[0] == pd.Timestamp("2024-03-05") and pd.isna(table.churn_date[1])
    assert table.churn_date[2] == pd.Timestamp("2024-03-01")


def test_at_risk_segment_gains_negative_exposure():
    g = four_nodes()
    links = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "account_id": ["c", "d", "a"]})
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "churned": [False, False, False]})
    seg = build_segments(g, [{"name": "risk", "kind": "at_risk", "min_negative_exposure": 0.19, "as_of": 10 * DAY,
                              "half_life": 1}], links=links, customers=customers, layer="retweets")
    assert seg.account_id.tolist() == ["d"]
    assert seg.score[0] == pytest.approx(0.203125, abs=1e-6)
    assert seg.reason[0] == ("churned influencers hold 0% of its incoming tie strength (0 of 2 influencers); "
                             "negative exposure 0.20 from 2 of 2 influencers, most from a (0.19)")
    # without churn flags the negative exposure alone decides
    seg = build_segments(g, [{"name": "risk", "kind": "at_risk", "min_negative_exposure": 0.1, "as_of": 10 * DAY,
                              "half_life": 1}], links=links, layer="retweets")
    assert seg.account_id.tolist() == ["d", "c"]
    assert seg.reason[1] == "negative exposure 0.19 from 2 of 2 influencers, most from a (0.12)"
    # without the option: as before (needs churn flags)
    with pytest.raises(ParameterError, match="at_risk needs customers with a churned column and links"):
        build_segments(g, [{"name": "risk", "kind": "at_risk"}], links=links, layer="retweets")


def cli(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO), CI="true")
    proc = subprocess.run([sys.executable, "-m", "graphcrm.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def test_cli_churn_backtest_as_a_user(worlds, tmp_path):
    planted = worlds[0]
    snap = tmp_path / "snap"
    save_snapshot(planted.graph, snap)
    crm, links = tmp_path / "crm.csv", tmp_path / "links.csv"
    planted.customers.to_csv(crm, index=False)
    planted.links.to_csv(links, index=False)
    code, out, err = cli("churn-backtest", snap, "--customers", crm, "--links", links, "--as-of", planted.as_of,
                         "--horizon", 30, "--layer", "retweets", "--out", tmp_path / "per.csv", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["lift"] == backtest(planted).summary["lift"] and summary["lift_ci95"][0] > 1
    assert len(summary["bins"]) == 5 and len(pd.read_csv(tmp_path / "per.csv")) == summary["customers"]
    # a snapshot version that is not there: a usage error naming --snapshot-as-of (--as-of is the exposure date)
    code, out, err = cli("churn-backtest", snap, "--customers", crm, "--links", links, "--as-of", planted.as_of,
                         "--snapshot-as-of", "9")
    assert code == 2 and err.startswith("error: --snapshot-as-of 9: ") and "no version '9'" in err, err
    # a bad churn date: one line naming the file and line, exit 1, no traceback
    lines = crm.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",someday"
    crm.write_text("\n".join(lines) + "\n")
    code, out, err = cli("churn-backtest", snap, "--customers", crm, "--links", links, "--as-of", planted.as_of)
    assert code == 1 and "Traceback" not in err
    assert "crm.csv, line 6" in err and "'someday' is not a churn date" in err, err
    code, out, err = cli("churn-backtest", snap, "--customers", crm, "--links", links, "--as-of", planted.as_of,
                         "--mode", "lenient", "--layer", "retweets", "--json")
    assert code == 0, err
    assert json.loads(out)["rejected_rows"] == 1
    # churn flags without dates: a clear error
    pd.DataFrame({"customer_id": ["K000000"], "name": ["x"], "churned": ["yes"]}).to_csv(crm, index=False)
    code, out, err = cli("churn-backtest", snap, "--customers", crm, "--links", links, "--as-of", planted.as_of)
    assert code != 0 and "Traceback" not in err and "churn_date" in err, err


def test_as_of_accepts_unix_seconds_and_dates():
    from graphcrm.crm.exposure import _timestamp

    assert _timestamp("1709251200") == _timestamp("2024-03-01") == _timestamp(1709251200)
    assert _timestamp("20240301") == _timestamp("2024-03-01")          # eight digits: a date
    with pytest.raises(ParameterError, match="not a date"):
        _timestamp("soon")



def test_churn_backtest_out_is_an_export_spreadsheet_safe_with_its_schema(worlds, tmp_path):
    """--out was raw to_csv: a customer id '=HYPERLINK(...)' went out unescaped, no .schema.json, any extension."""
    from graphcrm.crm.export import read_export

    planted = worlds[0]
    snap = tmp_path / "snap"
    save_snapshot(planted.graph, snap)
    evil = '=HYPERLINK("http://x")'
    first = planted.customers.customer_id.iloc[0]
    crm, links = tmp_path / "crm.csv", tmp_path / "links.csv"
    planted.customers.replace({"customer_id": {first: evil}}).to_csv(crm, index=False)
    planted.links.replace({"customer_id": {first: evil}}).to_csv(links, index=False)
    args = ["churn-backtest", snap, "--customers", crm, "--links", links, "--as-of", planted.as_of,
            "--layer", "retweets"]
    code, out, err = cli(*args, "--out", tmp_path / "per.txt")
    assert code == 2 and err.strip() == f"error: --out {tmp_path / 'per.txt'}: output must end in .csv or .parquet"
    code, out, err = cli(*args, "--out", tmp_path / "per.csv")
    assert code == 0, err
    text = (tmp_path / "per.csv").read_text()
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and '"=HYPERLINK' not in text
    assert evil in read_export(tmp_path / "per.csv").customer_id.tolist()
    meta = json.loads((tmp_path / "per.csv.schema.json").read_text())
    assert meta["schema"] == "graphcrm.churn_exposure" and meta["columns"][:3] == ["customer_id", "account_id",
                                                                                   "exposure"]
