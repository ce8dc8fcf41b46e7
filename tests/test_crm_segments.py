"""Segments, influencer economics and exports (issue #8, parts 2-4)."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from graphcrm.loaders.builder import GraphBuilder
from graphcrm.loaders.errors import ConfigError, ParameterError
from graphcrm.crm.economics import influencer_economics
from graphcrm.crm.export import SALT_ENV, load_salt, pseudonym, read_export, write_export
from graphcrm.crm.segments import build_segments, read_segments_config
from graphcrm.loaders import load_signed
from tests.conftest import REPO, dataset


def two_camps():
    """Two follower communities {a1..a4} and {b1..b4} joined by 'br', who follows and is followed by both."""
    follows = [("a1", "a2"), ("a2", "a3"), ("a3", "a4"), ("a4", "a1"), ("a1", "a3"), ("a2", "a4"),
               ("b1", "b2"), ("b2", "b3"), ("b3", "b4"), ("b4", "b1"), ("b1", "b3"), ("b2", "b4"),
               ("br", "a1"), ("br", "a2"), ("br", "b1"), ("br", "b2"), ("a3", "br"), ("b3", "br")]
    src, dst = zip(*follows)
    return GraphBuilder().add_edges("follows", list(src), list(dst)).build()


def test_bridges_reachable_via_and_at_risk_on_a_hand_made_graph():
    g = two_camps()
    partition = pd.Series({**{f"a{i}": 0 for i in range(1, 5)}, **{f"b{i}": 1 for i in range(1, 5)}, "br": 0})
    links = pd.DataFrame({"customer_id": ["C-a1", "C-a4", "C-b4", "C-br"], "account_id": ["a1", "a4", "b4", "br"]})
    customers = pd.DataFrame({"customer_id": ["C-a1", "C-a4", "C-b4", "C-br"], "churned": [True, False, False, False]})
    config = [{"name": "bridges", "kind": "bridges", "min_degree": 2, "top": 1},
              {"name": "via", "kind": "reachable_via", "accounts": ["a4"], "top": 2},
              {"name": "risk", "kind": "at_risk", "min_exposure": 0.1}]
    seg = build_segments(g, config, links=links, customers=customers, partition=partition)
    assert seg[seg.segment == "bridges"].account_id.tolist() == ["br"]
    assert "ties to 2 communities" in seg[seg.segment == "bridges"].reason.iloc[0]
    # a4 follows a1 -> a1 influences a4: a1 is the best way to reach a4
    assert seg[seg.segment == "via"].account_id.iloc[0] == "a1"
    risk = seg[seg.segment == "risk"]
    # a1 churned; a1 influences (is followed by) a4, br, b... : a4 follows only a1, br follows a1, a2, b1, b2
    assert risk.account_id.tolist() == ["a4", "br"] and risk.customer_id.tolist() == ["C-a4", "C-br"]
    assert risk.reason.tolist() == ["churned influencers hold 100% of its incoming tie strength (1 of 1 influencers)",
                                    "churned influencers hold 25% of its incoming tie strength (1 of 4 influencers)"]
    assert list(seg.columns) == ["segment", "kind", "rank", "account_id", "customer_id", "score", "reason"]


def test_engaged_fans_counts_interactions_towards_the_brand():
    b = GraphBuilder()
    b.add_edges("retweets", ["fan", "fan", "fan", "x"], ["brand", "brand", "other", "brand"], [1.0] * 4)  # counts
    b.add_edges("mentions", ["fan", "y"], ["brand", "brand"], [1.0, 1.0])
    g = b.build()
    seg = build_segments(g, [{"name": "fans", "kind": "engaged_fans", "brand_accounts": ["brand"],
                              "min_interactions": 2}])
    assert seg.account_id.tolist() == ["fan"]
    assert seg.reason.iloc[0] == "3 interactions with brand accounts (1 mentions, 2 retweets)"


@pytest.fixture(scope="module")
def alpha():
    return load_signed(dataset("soc-sign-bitcoin/soc-sign-bitcoinalpha.csv.gz"))


def test_every_example_segment_kind_runs_on_real_signed_data(alpha):
    config = read_segments_config(REPO / "examples" / "segments.toml")
    from graphcrm.algorithms.community import leiden

    part = leiden(alpha, layer=alpha.layer("trust").positive(), seed=1).to_frame()
    partition = pd.Series(part.community.to_numpy(), index=part.account_id.to_numpy())
    seg = build_segments(alpha, [c for c in config if c["kind"] not in ("reachable_via", "at_risk")],
                         partition=partition, reach_samples=5000)
    counts = seg.segment.value_counts()
    for name in ("key_opinion_leaders", "community_leaders", "advocates", "critics", "bridges", "engaged_fans"):
        assert counts.get(name, 0) > 0, name
    critics = seg[seg.segment == "critics"]
    assert (critics.score < 0).all() and critics.reason.str.startswith("negative signs").all()
    assert seg.reason.str.len().min() > 10
    # participation on positive ties: at most 1 - 1/m for m communities touched (QA: 1.00 for distrusted accounts)
    bridges = seg[seg.segment == "bridges"]
    touched = bridges.reason.str.extract(r"ties to (\d+) communities")[0].astype(int)
    assert len(bridges) and (bridges.score <= 1 - 1 / touched + 1e-9).all() and (bridges.score > 0).all()


def test_bad_segment_configs_are_config_errors(tmp_path):
    bad = tmp_path / "s.toml"
    bad.write_text('[[segment]]\nname = "x"\nkind = "vip"\n')
    with pytest.raises(ConfigError, match=r"s.toml, key 'segment\[1\].kind': unknown kind 'vip'") as err:
        read_segments_config(bad)
    assert err.value.exit_code == 2
    bad.write_text("[[segment]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_segments_config(bad)
    with pytest.raises(ParameterError, match="bridges need communities"):
        build_segments(two_camps(), [{"name": "b", "kind": "bridges"}])


def graphcrm(*args):
    exe = shutil.which("graphcrm")
    assert exe, "the graphcrm executable is installed by pip install -e ."
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def trust_snapshot(tmp_path_factory):
    """A snapshot of a small signed trust graph (accounts 1-6), loaded as a user would."""
    tmp = tmp_path_factory.mktemp("trust")
    (tmp / "trust.csv").write_text("1,2,5\n2,3,-2\n3,1,4\n1,3,1\n4,5,2\n5,6,3\n6,4,-1\n4,1,2\n")
    proc = graphcrm("load", "--signed", tmp / "trust.csv", "--out", tmp / "snap")
    assert proc.returncode == 0, proc.stderr
    return tmp / "snap"


@pytest.mark.parametrize("body, key, message", [
    ('kind = "leaders"\ntop = "five"', "segment[1].top", "segment 'x' (leaders): expected an integer >= 1, got 'five'"),
    ('kind = "leaders"\ntop = -1', "segment[1].top", "expected an integer >= 1, got -1"),
    ('kind = "leaders"\ntopp = 5', "segment[1].topp", "unknown key; did you mean 'top'?"),
    ('kind = "leaders"\nper_community = "no"', "segment[1].per_community",
     "expected true or false (a TOML boolean, not text), got 'no'"),
    ('kind = "advocates"\nmin_evidence = "five"', "segment[1].min_evidence", "expected an integer >= 0, got 'five'"),
    ('kind = "advocates"\nper_community = true', "segment[1].per_community", "segment 'x' (advocates): unknown key"),
    ('kind = "at_risk"\nmin_negative_exposure = 0.1\nas_of = "yesterday"', "segment[1].as_of",
     "'yesterday' is not a date"),
    ('kind = "at_risk"\nmin_negative_exposure = 0.1\nhalf_life = "garbage"', "segment[1].half_life",
     "'garbage' is not a duration"),
    ('kind = "lookalike"\nseeds_file = "nope.csv"', "segment[1].seeds_file", "nope.csv: no such file"),
    ('kind = "reachable_via"\ncustomers = "nope.txt"', "segment[1].customers", "nope.txt: no such file"),
    ('kind = "lookalike"\nscore = "best"', "segment[1].score", "expected one of 'centroid', 'max', got 'best'"),
])
def test_bad_segment_values_are_one_line_config_errors(trust_snapshot, tmp_path, body, key, message):
    config = tmp_path / "s.toml"
    config.write_text(f'[[segment]]\nname = "x"\n{body}\n')
    proc = graphcrm("segments", trust_snapshot, "--config", config, "--out", tmp_path / "o.csv")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {config}, key '{key}': ") and message in lines[0]
    assert not (tmp_path / "o.csv").exists()


def test_a_misspelt_segment_table_is_named(tmp_path):
    config = tmp_path / "s.toml"
    config.write_text('[[segmnt]]\nname = "x"\nkind = "leaders"\n')
    with pytest.raises(ConfigError, match=r"key 'segmnt': unknown table; did you mean 'segment'\?"):
        read_segments_config(config)


@pytest.mark.parametrize("body, key", [('kind = "engaged_fans"\nbrand_accounts = ["nosuch"]', "brand_accounts"),
                                       ('kind = "critics"\nbrand_accounts = ["nosuch"]', "brand_accounts"),
                                       ('kind = "lookalike"\nseeds = ["nosuch"]', "seeds")])
def test_account_ids_not_in_the_graph_are_named_with_segment_and_key(trust_snapshot, tmp_path, body, key):
    config = tmp_path / "s.toml"
    config.write_text(f'[[segment]]\nname = "x"\n{body}\n')
    proc = graphcrm("segments", trust_snapshot, "--config", config, "--out", tmp_path / "o.csv")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: segment 'x', key '{key}': ") and "not in the graph: 'nosuch'" in proc.stderr


def test_influencer_economics_overlap_and_costs():
    # x is followed by a, b, c; y by c, d; z by nobody (z follows a)
    g = GraphBuilder().add_edges("follows", ["a", "b", "c", "c", "d", "z"], ["x", "x", "x", "y", "y", "a"]).build()
    table, summary = influencer_economics(g, ["x", "y", "z"], costs={"x": 30, "y": 10}, n_runs=500, seed=1)
    t = table.set_index("account_id")
    assert t.audience_size.tolist() == [3, 2, 0]
    assert t.exclusive_followers.tolist() == [2, 1, 0]
    assert t.loc["y", "max_overlap"] == 0.5 and t.loc["y", "max_overlap_with"] == "x"
    assert summary["unique_reach"] == 4 and summary["total_audience"] == 5
    assert t.loc["x", "cost_per_expected_reach"] == pytest.approx(30 / t.loc["x", "expected_reach"])
    assert np.isnan(t.loc["z", "cost_per_expected_reach"])
    assert summary["total_cost"] == 40.0


def test_engagement_rate_counts_what_an_influencer_received_on_every_layer():
    """Mentions are stored mentioner -> mentioned (forward), retweets retweeted -> retweeter (reverse): both count
    for the account engaged with (QA: an account mentioned 10 times had rate 0, one that mentioned 10 others 1)."""
    fans = [f"f{i}" for i in range(10)]
    g = (GraphBuilder().add_edges("follows", fans + fans, ["x"] * 10 + ["y"] * 10)
         .add_events("mentions", fans[:6], ["x"] * 6, time=np.arange(6))       # x is mentioned 6 times
         .add_events("mentions", ["y"] * 10, fans, time=np.arange(10))        # y mentions 10 others
         .add_events("retweets", fans[:2], ["x", "y"], time=[1, 2])          # x and y retweeted once each
         .build())
    t = influencer_economics(g, ["x", "y"], n_runs=50, seed=1)[0].set_index("account_id")
    assert t.loc["x", "engagement_rate"] == pytest.approx(7 / 10) and t.loc["y", "engagement_rate"] == pytest.approx(1 / 10)


def test_engagement_rate_is_empty_without_an_interaction_log():
    """On a follower/friendship/rating graph the rate was ties received per audience member: 1.0 for every
    influencer by definition, read by a marketer as 100% engagement (QA README #5)."""
    fans = [f"f{i}" for i in range(10)]
    g = GraphBuilder().add_edges("follows", fans + fans[:4], ["x"] * 10 + ["y"] * 4).build()
    table, summary = influencer_economics(g, ["x", "y"], n_runs=50, seed=1)
    assert table.engagement_rate.isna().all() and table.audience_size.tolist() == [10, 4]
    assert "no retweets, replies, mentions or likes" in summary["notes"][0]


def test_exports_are_byte_identical_and_pseudonymised_without_writing_the_salt(tmp_path, monkeypatch):
    frame = pd.DataFrame({"account_id": [3, 1, 2], "audience_size": [1, 2, 3], "exclusive_followers": [0, 1, 2],
                          "max_overlap": [0.5, 0.25, 0.0], "max_overlap_with": ["1", "3", ""],
                          "engagement_rate": [1.0, 2.0, 3.0], "expected_reach": [1.5, 2.5, 3.5],
                          "expected_reach_ci_low": [1.0, 2.0, 3.0], "expected_reach_ci_high": [2.0, 3.0, 4.0],
                          "cost": [1.0, np.nan, 2.0], "cost_per_expected_reach": [0.5, np.nan, 0.6]})
    for ext in ("csv", "parquet"):
        a = write_export(frame, tmp_path / f"a.{ext}", "economics").read_bytes()
        b = write_export(frame.copy(), tmp_path / f"b.{ext}", "economics").read_bytes()
        assert a == b
    salt = "s3cret-salt-for-tests-0123456789"
    monkeypatch.setenv(SALT_ENV, salt)
    out = write_export(frame, tmp_path / "p" / "e.csv", "economics", salt=load_salt())
    back = read_export(out)
    assert back.account_id.tolist() == [pseudonym(i, salt.encode()) for i in (3, 1, 2)]
    assert back.max_overlap_with.tolist() == [pseudonym("1", salt.encode()), pseudonym("3", salt.encode()), ""]
    meta = json.loads((tmp_path / "p" / "e.csv.schema.json").read_text())
    assert meta["schema"] == "graphcrm.economics" and meta["version"] == 1
    assert meta["pseudonymised_columns"] == ["account_id", "max_overlap_with"]
    for path in (tmp_path / "p").iterdir():
        assert salt not in path.read_text()
    monkeypatch.delenv(SALT_ENV)
    with pytest.raises(ParameterError, match="salt"):
        load_salt()


def test_bridges_count_positive_ties_only(tmp_path):
    """A signed layer: x distrusts a1 and b1 (-10 each) and trusts c1 once; a1, b1 are only distrusted from outside
    their triangle.  Positive ties only: x has 1 tie (below min_degree), a1 and b1 touch one community, c1 has
    weights 1 (from x, community 0) and 10 (its triangle): participation 1 - (1/11)^2 - (10/11)^2 = 20/121.
    (Signed weights gave x 1.00 with 3 communities and a1, b1 0.00 with "ties to 2 communities".)"""
    rows = ["x,a1,-10,1", "x,b1,-10,2", "x,c1,1,3"] + [
        f"{c}{i},{c}{i % 3 + 1},5,{4 + n}" for n, (c, i) in enumerate((c, i) for c in "abc" for i in (1, 2, 3))]
    (tmp_path / "t.csv").write_text("source,target,rating,time\n" + "\n".join(rows) + "\n")
    (tmp_path / "part.csv").write_text("account_id,community\nx,0\n" + "".join(
        f"{c}{i},{k}\n" for k, c in enumerate("abc", start=1) for i in (1, 2, 3)))
    (tmp_path / "b.toml").write_text('[[segment]]\nname = "bridges"\nkind = "bridges"\nmin_degree = 3\n')
    assert graphcrm("load", "--signed", tmp_path / "t.csv", "--out", tmp_path / "snap").returncode == 0
    proc = graphcrm("segments", tmp_path / "snap", "--config", tmp_path / "b.toml", "--partition",
                    tmp_path / "part.csv", "--out", tmp_path / "b.csv")
    assert proc.returncode == 0, proc.stderr
    out = pd.read_csv(tmp_path / "b.csv")
    assert out.account_id.tolist() == ["c1"]
    assert out.score.iloc[0] == pytest.approx(20 / 121, abs=1e-6)
    assert out.reason.iloc[0] == "ties to 2 communities (participation 0.17, 3 ties)"


def test_advocates_and_critics_pool_every_layer_with_sentiment(tmp_path):
    """a likes the brand once (+0.9) and retweets / replies negatively four times (-0.9): mean -0.54 over 5, a
    critic; b is positive on retweets and replies only: +0.80 over 3.  (Only `likes`, the first layer with
    sentiment in alphabetical order, was used: a was an advocate at +0.90 over 1, b was missing.)"""
    (tmp_path / "adv.csv").write_text(
        "source,target,type,time,sentiment\na,brand,LIKE,1,0.9\na,brand,RT,2,-0.9\na,brand,RT,3,-0.9\n"
        "a,brand,RT,4,-0.9\na,brand,RE,5,-0.9\nb,brand,RT,6,0.8\nb,brand,RT,7,0.8\nb,brand,RE,8,0.8\n")
    (tmp_path / "a.toml").write_text('[[segment]]\nname = "adv"\nkind = "advocates"\nmin_evidence = 1\n'
                                     '[[segment]]\nname = "crit"\nkind = "critics"\nmin_evidence = 1\n')
    assert graphcrm("load", "--interactions", tmp_path / "adv.csv", "--out", tmp_path / "snap").returncode == 0
    proc = graphcrm("segments", tmp_path / "snap", "--config", tmp_path / "a.toml", "--out", tmp_path / "a.csv")
    assert proc.returncode == 0, proc.stderr
    out = pd.read_csv(tmp_path / "a.csv")
    assert out[["segment", "account_id", "score", "reason"]].values.tolist() == [
        ["adv", "b", 0.8, "positive signs: mean +0.80 over 3 interactions"],
        ["crit", "a", -0.54, "negative signs: mean -0.54 over 5 interactions"]]


@pytest.fixture
def risk_snapshot(tmp_path):
    """v retweeted u1 nine times, u2 and u3 once; w retweeted u2 once (u influences v, w)."""
    rows = [f"v,u1,RT,{t}" for t in range(9)] + ["v,u2,RT,20", "v,u3,RT,21", "w,u2,RT,22"]
    (tmp_path / "risk.csv").write_text("source,target,type,time\n" + "\n".join(rows) + "\n")
    assert graphcrm("load", "--interactions", tmp_path / "risk.csv", "--out", tmp_path / "sr").returncode == 0
    return tmp_path / "sr"


def test_at_risk_skips_and_counts_churned_links_to_accounts_not_in_the_graph(risk_snapshot, tmp_path):
    """CGONE churned and is linked to an account the graph lacks: skipped and counted (it stopped the command)."""
    (tmp_path / "c.csv").write_text("customer_id,name,churned\nCV,V V,False\nCU2,U Two,True\nCW,W W,False\n"
                                    "CGONE,Gone Person,True\n")
    (tmp_path / "l.csv").write_text("customer_id,account_id\nCV,v\nCU2,u2\nCW,w\nCGONE,deleted_account\n")
    (tmp_path / "r.toml").write_text('[[segment]]\nname = "risk"\nkind = "at_risk"\nmin_exposure = 0.5\n')
    args = ["segments", risk_snapshot, "--config", tmp_path / "r.toml", "--links", tmp_path / "l.csv",
            "--customers", tmp_path / "c.csv", "--out", tmp_path / "r.csv"]
    proc = graphcrm(*args)
    assert proc.returncode == 0, proc.stderr
    assert "note: segment 'risk': 1 churned customer(s) linked to an account not in the graph skipped" in proc.stdout
    out = pd.read_csv(tmp_path / "r.csv")
    assert out.account_id.tolist() == ["w"] and out.customer_id.tolist() == ["CW"]
    summary = json.loads(graphcrm(*args, "--json").stdout)
    assert summary["churned_not_in_graph"] == {"risk": 1}


@pytest.mark.parametrize("links, where", [
    ("customer_id,account_id\nC1,1\nC2,someone_handle\n", ", line 3, field 'account_id': 'someone_handle' is not an "
     "account id; expected the integer ids of this snapshot's accounts"),
    ("customer_id,account_id\nC1,1\nC2,\n", ", line 3, field 'account_id': empty account id; expected the integer"),
    ("customer_id,name,churned\nC1,Ann,True\n", ": no account_id column (found: customer_id, name, churned); "
     "expected a links table from `graphcrm link`"),
])
@pytest.mark.parametrize("verb", ["segments", "churn-backtest"])
def test_a_malformed_links_file_is_one_line_naming_file_line_and_field(trust_snapshot, tmp_path, links, where, verb):
    """A text or empty account id on an integer-id graph, or a file without account_id, was a traceback."""
    (tmp_path / "l.csv").write_text(links)
    (tmp_path / "c.csv").write_text("customer_id,name,churn_date\nC1,Ann,\nC2,Bob,2024-03-05\n")
    (tmp_path / "s.toml").write_text('[[segment]]\nname = "adv"\nkind = "advocates"\n')
    tail = (["--config", tmp_path / "s.toml", "--out", tmp_path / "o.csv"] if verb == "segments"
            else ["--as-of", "2024-03-01", "--out", tmp_path / "o.csv"])
    proc = graphcrm(verb, trust_snapshot, "--links", tmp_path / "l.csv", "--customers", tmp_path / "c.csv", *tail)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / 'l.csv'}{where}"), lines
    assert not (tmp_path / "o.csv").exists()


def test_at_risk_reason_says_the_exposure_is_tie_weighted(risk_snapshot, tmp_path):
    """u2 churned.  v's ties: u1 9, u2 1, u3 1 -> 1/11 of its tie strength (1 of 3 influencers), below 0.2; w's
    only tie is u2 -> 100%.  The reason said '1 of 3 influencers churned (exposure 0.09)', a head count on its face."""
    (tmp_path / "c.csv").write_text("customer_id,name,churned\nCV,V V,False\nCU2,U Two,True\nCW,W W,False\n")
    (tmp_path / "l.csv").write_text("customer_id,account_id\nCV,v\nCU2,u2\nCW,w\n")
    (tmp_path / "r.toml").write_text('[[segment]]\nname = "risk"\nkind = "at_risk"\nmin_exposure = 0.05\n')
    proc = graphcrm("segments", risk_snapshot, "--config", tmp_path / "r.toml", "--links", tmp_path / "l.csv",
                    "--customers", tmp_path / "c.csv", "--out", tmp_path / "r.csv")
    assert proc.returncode == 0, proc.stderr
    out = pd.read_csv(tmp_path / "r.csv")
    assert out.account_id.tolist() == ["w", "v"]
    assert out.score.tolist() == pytest.approx([1.0, 1 / 11], abs=1e-6)
    assert out.reason.tolist() == ["churned influencers hold 100% of its incoming tie strength (1 of 1 influencers)",
                                   "churned influencers hold 9% of its incoming tie strength (1 of 3 influencers)"]


def test_segments_since_must_name_an_earlier_version_and_its_errors_name_since(tmp_path):
    """--as-of 1 --since 2 gave a delta backwards in time, --since equal to the version read all 'stayed', and a bad
    value was blamed on --as-of."""
    (tmp_path / "t1.csv").write_text("1,2,5,10\n2,3,-2,11\n3,1,4,12\n")
    (tmp_path / "t2.csv").write_text("1,3,1,20\n4,1,2,21\n")
    assert graphcrm("load", "--signed", tmp_path / "t1.csv", "--out", tmp_path / "snap").returncode == 0
    assert graphcrm("load", "--append", tmp_path / "snap", "--signed", tmp_path / "t2.csv").returncode == 0
    (tmp_path / "s.toml").write_text('[[segment]]\nname = "adv"\nkind = "advocates"\nmin_evidence = 1\n')
    base = ["segments", tmp_path / "snap", "--config", tmp_path / "s.toml", "--out", tmp_path / "o.csv"]
    for extra, message in [(["--as-of", "1", "--since", "2"], "error: --since 2 (version 2) is not earlier than "
                             "--as-of 1 (version 1)"),
                           (["--since", "2"], "error: --since 2 (version 2) is not earlier than the current version "
                            "(2)"),
                           (["--since", "yesterday"], "error: --since 'yesterday': expected a version number")]:
        proc = graphcrm(*base, *extra)
        assert proc.returncode == 2 and proc.stderr.startswith(message), proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "o.csv").exists()
    proc = graphcrm(*base, "--since", "1")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o.changes.csv").exists()


@pytest.mark.parametrize("body, code, message", [
    ("", 2, "key 'segment[1]': segment 'x' (reachable_via): reachable_via needs customers"),
    ('accounts = ["nope", 424242]', 1, "segment 'x', key 'accounts': account id(s) not in the graph: 'nope', '424242'"),
    ('accounts = [1, "x"]', 1, "segment 'x', key 'accounts': account id(s) not in the graph: 'x'"),
    ('customers = ["C-nobody"]', 1, "segment 'x', key 'customers': none of the customers is linked to an account"),
])
def test_reachable_via_without_targets_or_with_unknown_ones_is_an_error(trust_snapshot, tmp_path, body, code, message):
    """It gave an empty segment (exit 0), or dropped the unknown ids silently; the pipeline then reported every
    earlier member as 'left'."""
    (tmp_path / "l.csv").write_text("customer_id,account_id\nC1,1\n")
    config = tmp_path / "s.toml"
    config.write_text(f'[[segment]]\nname = "x"\nkind = "reachable_via"\n{body}\n')
    proc = graphcrm("segments", trust_snapshot, "--config", config, "--links", tmp_path / "l.csv",
                    "--out", tmp_path / "o.csv")
    assert proc.returncode == code and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
    assert not (tmp_path / "o.csv").exists()


def test_an_empty_segment_shows_zero_in_the_summary_and_help_lists_lookalike(trust_snapshot, tmp_path):
    """An empty segment vanished from 'wrote x.csv: adv 3' and the JSON counts."""
    (tmp_path / "s.toml").write_text('[[segment]]\nname = "adv"\nkind = "advocates"\nmin_evidence = 1\n'
                                     '[[segment]]\nname = "strict"\nkind = "critics"\nmin_evidence = 100000\n')
    proc = graphcrm("segments", trust_snapshot, "--config", tmp_path / "s.toml", "--out", tmp_path / "o.csv", "--json")
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout)["segments"]
    assert counts["strict"] == 0 and counts["adv"] > 0
    proc = graphcrm("segments", trust_snapshot, "--config", tmp_path / "s.toml", "--out", tmp_path / "o.csv")
    assert ", strict 0" in proc.stdout
    assert "lookalike" in graphcrm("segments", "--help").stdout


def test_a_bad_layer_in_a_segment_names_the_file_and_the_segment(trust_snapshot, tmp_path):
    config = tmp_path / "s.toml"
    config.write_text('[[segment]]\nname = "adv"\nkind = "advocates"\nlayer = "nolayer"\n')
    proc = graphcrm("segments", trust_snapshot, "--config", config, "--out", tmp_path / "o.csv")
    assert proc.returncode == 2 and proc.stderr.strip() == (
        f"error: {config}, segment 'adv', key 'layer': no layer 'nolayer' in this graph (layers: trust)")


def test_a_partition_of_another_graph_is_one_error_not_empty_community_leaders(trust_snapshot, tmp_path):
    config = tmp_path / "s.toml"
    config.write_text('[[segment]]\nname = "kols"\nkind = "leaders"\ntop = 2\nper_community = true\n')
    other = tmp_path / "p.csv"
    other.write_text("account_id,community\n999991,0\n999992,1\n")
    proc = graphcrm("segments", trust_snapshot, "--config", config, "--partition", other, "--out", tmp_path / "o.csv")
    assert proc.returncode == 1 and "none of its 2 accounts is in the graph" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o.csv").exists()


def test_stance_segments_say_they_are_the_tone_of_every_message_when_the_graph_has_topics():
    """Polite replies to a critic made twelve accounts 'advocates' (QA reliability F7): without a topic or brand
    accounts the stance is the tone of all messages. A graph with topics now gets a note saying so."""
    from graphcrm.crm.segments import build_segments
    from graphcrm.loaders.topics import topic_graph

    fans = [f"u{i}" for i in range(6)]
    g = (GraphBuilder()
         .add_events("replies", fans * 3, ["critic"] * 18, time=np.arange(18), sentiment=np.full(18, 0.7),
                     extra={"topics": [None] * 18})
         .add_events("mentions", ["critic"] * 4, fans[:4], time=np.arange(20, 24), sentiment=np.full(4, -0.8),
                     extra={"topics": [["acme"]] * 4})
         .build())
    config = [{"name": "fans", "kind": "advocates", "min_evidence": 3}]
    plain = build_segments(g, config)
    assert set(plain.account_id) == set(fans) and plain.attrs["stance_of_all_messages"] == {"fans": ["acme"]}
    on_topic = build_segments(topic_graph(g, "acme"), config)
    assert on_topic.attrs["stance_of_all_messages"] == {}
