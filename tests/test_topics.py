"""Issue 25 parts 1-3: message columns on events (text, topics, cascade ids), VADER sentiment, --topic."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphcrm.loaders import InputFileError, ParameterError, load_snapshot, save_snapshot
from graphcrm.loaders.api import build_graph, load_interactions, read_interactions
from graphcrm.loaders.snapshot import load_event_text, read_manifest
from graphcrm.loaders.topics import match_topics, read_topic_rules, topic_counts, topic_graph

REPO = Path(__file__).resolve().parents[1]
T0 = 1_341_100_000
HEADER = ["actor", "target", "time", "type", "text", "hashtags", "message_id", "parent_id"]

TEXTS = ["I love the new Acme phone!", "Acme support is terrible, never again.", "What a football match :)",
         "meh", "Great goal!!! #sports", "The service was okay I guess"]


def _pylist(col) -> list:
    return col.to_pylist() if hasattr(col, "to_pylist") else list(col)


def _write_csv(path: Path, rows, header=HEADER) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _planted_rows():
    """x gets every retweet on topic brand, y every retweet on sports; replies between fans carry no topic."""
    rows = []
    for i in range(30):
        rows.append((f"f{i}", "x", T0 + i * 60, "RT", TEXTS[i % 2], "#Brand #acme", f"b{i}", "mx"))
        rows.append((f"f{i}", "y", T0 + i * 60 + 30, "RT", TEXTS[2 + i % 2], "sports", f"s{i}", "my"))
        rows.append((f"f{i}", f"f{(i + 1) % 30}", T0 + i * 60 + 45, "RE", TEXTS[4 + i % 2], "", f"r{i}", ""))
    return rows


@pytest.fixture
def planted(tmp_path) -> Path:
    return _write_csv(tmp_path / "planted.csv", _planted_rows())


# ------------------------------------------------------------------------------------ part 1: columns
def test_message_columns_are_parsed_normalised_and_kept_in_the_event_log(tmp_path):
    f = _write_csv(tmp_path / "ev.csv", [
        ("a", "b", T0, "RT", "I love Acme, really!", "#Acme #phones", "m2", "m1"),
        ("c", "b", T0 + 1, "RT", "Terrible service", '["ACME", "#acme"]', "m3", "m1"),
        ("d", "e", T0 + 2, "MT", "football tonight", "", "m4", ""),
        ("f", "b", T0 + 3, "RT", "", "a;b|c", "", "m2"),
    ])
    parsed = read_interactions(f)
    assert parsed.columns["topics"].tolist() == [["acme", "phones"], ["acme"], None, ["a", "b", "c"]]
    g = build_graph(parsed)[0]
    extra = g.layer("retweets").events.extra
    assert extra.column_names == ["topics", "message_id", "parent_id", "text"]
    assert extra.column("message_id").to_pylist() == ["m2", "m3", None]
    assert extra.column("parent_id").to_pylist() == ["m1", "m1", "m2"]
    assert extra.column("text").to_pylist() == ["I love Acme, really!", "Terrible service", None]
    assert g.layer("mentions").events.extra.column("topics").to_pylist() == [None]
    assert topic_counts(g) == {"acme": 2, "a": 1, "b": 1, "c": 1, "phones": 1}


def test_jsonl_lists_and_a_dataframe_give_the_same_topics(tmp_path):
    recs = [{"actor": "a", "target": "b", "time": T0, "type": "RT", "hashtags": ["#X", "y"], "message_id": 7},
            {"actor": "c", "target": "b", "time": T0 + 1, "type": "RT", "hashtags": []}]
    f = tmp_path / "ev.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in recs))
    from_file = read_interactions(f).columns
    from_frame = read_interactions(pd.DataFrame(recs)).columns
    assert from_file["topics"].tolist() == from_frame["topics"].tolist() == [["x", "y"], None]
    assert _pylist(from_file["message_id"]) == _pylist(from_frame["message_id"]) == ["7", None]


def test_snapshot_keeps_topics_and_ids_and_reads_text_only_when_asked(planted, tmp_path):
    g = load_interactions(planted)
    snap = save_snapshot(g, tmp_path / "snap")
    back = load_snapshot(snap)
    for name in g.layer_names:
        assert back.layer(name).equals(g.layer(name).__class__(**{  # the same log without the text column
            **{k: getattr(g.layer(name), k) for k in ("spec", "out_indptr", "out_indices", "out_weights", "in_indptr",
                                                       "in_indices", "in_weights", "build_report")},
            "events": _without_text(g.layer(name).events)}))
        assert "text" not in back.layer(name).events.extra.column_names
        assert load_event_text(snap, name).equals(g.layer(name).events.extra.column("text").combine_chunks())
    manifest = read_manifest(snap)
    assert manifest["layers"]["retweets"]["event_fields"][-4:] == ["topics", "message_id", "parent_id", "text"]
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(snap / "layers" / "retweets" / "events.parquet").metadata
    col = next(meta.row_group(0).column(i) for i in range(meta.num_columns)
               if meta.row_group(0).column(i).path_in_schema.startswith("topics"))
    assert "RLE_DICTIONARY" in str(col.encodings) or "PLAIN_DICTIONARY" in str(col.encodings)
    assert col.compression == "ZSTD"


def _without_text(events):
    extra = events.extra.drop_columns(["text"])
    return events.__class__(events.src, events.dst, events.time, events.weight, events.sentiment, extra)


def test_files_without_message_columns_store_what_they_stored_before(tmp_path):
    """No new column: no message table in memory, the same event columns on disk (a real-file byte check
    against the code before issue 25 was run once by hand and is in the branch report)."""
    f = _write_csv(tmp_path / "plain.csv", [("a", "b", T0, "RT"), ("c", "b", T0 + 1, "MT")],
                   header=["actor", "target", "time", "type"])
    g = load_interactions(f)
    assert all(g.layer(n).events.extra is None for n in g.layer_names)
    snap = save_snapshot(g, tmp_path / "snap")
    assert read_manifest(snap)["layers"]["retweets"]["event_fields"] == ["src", "dst", "time"]
    assert load_event_text(snap, "retweets") is None
    assert "topics" not in __import__("graphcrm.info", fromlist=["graph_info"]).graph_info(g)


def test_append_keeps_the_message_columns(planted, tmp_path):
    from graphcrm.loaders.append import appended_graph

    rows = _planted_rows()
    day1 = load_snapshot(save_snapshot(load_interactions(_write_csv(tmp_path / "d1.csv", rows[:45])),
                                       tmp_path / "s1"), text=True)
    both = appended_graph(day1, read_interactions(_write_csv(tmp_path / "d2.csv", rows[45:])))[0]
    once = load_interactions(planted)
    for name in once.layer_names:
        assert both.layer(name).equals(once.layer(name))


# -------------------------------------------------------------------------------- strict / lenient
def test_bad_topics_cell_is_an_error_in_strict_mode_and_a_reject_in_lenient(tmp_path):
    f = _write_csv(tmp_path / "bad.csv", [("a", "b", T0, "RT", "ok", "#x", "", ""),
                                          ("c", "b", T0 + 1, "RT", "=cmd|' /C calc'!A0", '["acme"', "", "")])
    with pytest.raises(InputFileError) as err:
        read_interactions(f)
    msg = str(err.value)
    assert "bad.csv" in msg and "line 3" in msg and "topics" in msg and "JSON list" in msg
    parsed = read_interactions(f, mode="lenient")
    assert parsed.report.rejected == {"bad_topics": 1}
    assert parsed.columns["topics"].tolist() == [["x"]]
    nested = tmp_path / "nested.jsonl"
    nested.write_text(json.dumps({"actor": "a", "target": "b", "time": T0, "type": "RT", "hashtags": [{"a": 1}]})
                      + "\n" + json.dumps({"actor": "c", "target": "b", "time": T0, "type": "RT",
                                           "hashtags": ["ok"]}) + "\n")
    with pytest.raises(InputFileError, match="line 1"):
        read_interactions(nested)
    assert read_interactions(nested, mode="lenient").report.rejected == {"malformed_row": 1}


def test_any_text_is_accepted():
    odd = ["", "  ", "emoji 🎉🔥", "a,b;c\t\"quoted\"", "x" * 10_000, "=1+2"]
    rows = pd.DataFrame({"actor": [f"a{i}" for i in range(len(odd))], "target": "b", "time": T0,
                         "type": "RT", "text": odd})
    parsed = read_interactions(rows)
    assert parsed.report.n_rejected == 0
    assert _pylist(parsed.columns["text"]) == [None, "  ", *odd[2:]]


# -------------------------------------------------------------------------------- part 2: sentiment
def test_text_sentiment_equals_vader_compound(tmp_path):
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    f = _write_csv(tmp_path / "ev.csv", [(f"a{i}", "b", T0 + i, "RT", t, "", "", "") for i, t in enumerate(TEXTS)])
    g = load_interactions(f)
    ev = g.layer("retweets").events
    vader = SentimentIntensityAnalyzer()
    want = [vader.polarity_scores(t)["compound"] for t in ev.extra.column("text").to_pylist()]
    assert ev.sentiment.tolist() == want
    assert min(want) < 0 < max(want)


def test_a_very_long_text_is_scored_on_its_opening_in_bounded_time():
    """VADER's time grows with the square of the length: one 300 kB message stalled a load for 2 minutes (QA
    reliability F5). The opening is scored, cut at a space."""
    import time

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from graphcrm.loaders.sentiment import MAX_SCORED_CHARS, text_sentiment

    text = "Acme is terrible, I hate it. " * 10 + "Acme is great. " * 20_000
    started = time.perf_counter()
    score = text_sentiment([text])[0]
    assert time.perf_counter() - started < 5                  # about 0.05 s; minutes before
    opening = text[:MAX_SCORED_CHARS][: text[:MAX_SCORED_CHARS].rfind(" ")]
    assert score == SentimentIntensityAnalyzer().polarity_scores(opening)["compound"]


def test_user_sentiment_wins_and_missing_text_is_nan(tmp_path):
    f = _write_csv(tmp_path / "ev.csv", [("a", "b", T0, "RT", "I love it", "0.25"), ("c", "b", T0 + 1, "RT", "awful",
                                                                                     "-1")],
                   header=["actor", "target", "time", "type", "text", "sentiment"])
    assert read_interactions(f).columns["sentiment"].tolist() == [0.25, -1.0]
    rows = pd.DataFrame({"actor": ["a", "c"], "target": "b", "time": T0, "type": "RT", "text": ["I love it", None]})
    s = read_interactions(rows).columns["sentiment"]
    assert s[0] > 0.5 and np.isnan(s[1])
    assert "sentiment" not in read_interactions(rows, sentiment_from_text=False).columns


# -------------------------------------------------------------------------------- keyword rules
def test_keyword_rules_from_toml_and_csv_add_topics(tmp_path):
    toml = tmp_path / "rules.toml"
    toml.write_text('[topics]\nbrand = ["Acme", "acme corp"]\n"#Sports" = ["football", "goal"]\n')
    rules_csv = _write_csv(tmp_path / "rules.csv", [("brand", "acme"), ("sports", "football"), ("sports", "goal")],
                           header=["topic", "keyword"])
    assert read_topic_rules(toml) == {"brand": ["Acme", "acme corp"], "sports": ["football", "goal"]}
    assert read_topic_rules(rules_csv) == {"brand": ["acme"], "sports": ["football", "goal"]}
    assert match_topics(["ACME's phone", "acmes", "goalkeeper", "Goal!", None], read_topic_rules(toml)) == [
        ["brand"], None, None, ["sports"], None]
    f = _write_csv(tmp_path / "ev.csv", [(f"a{i}", "b", T0 + i, "RT", t, "#Brand" if i == 1 else "", "", "")
                                         for i, t in enumerate(TEXTS)])
    topics = read_interactions(f, topic_rules=toml).columns["topics"].tolist()
    assert topics == [["brand"], ["brand"], ["sports"], None, ["sports"], None]


@pytest.mark.parametrize("name, content, message", [
    ("flat.toml", b'acme = ["acme"]\n', "key 'topics': expected a \\[topics\\] table"),
    ("bad.toml", b"[topics\n", "not valid TOML"),
    ("words.toml", b"[topics]\nacme = 3\n", "key 'topics.acme': needs a list of non-empty keywords"),
    ("nowords.toml", b"[topics]\nacme = []\n", "key 'topics.acme': needs a list of non-empty keywords"),
    ("header.csv", b"brand,word\nacme,acme\n", "expected a CSV with the header topic,keyword"),
    ("empty.csv", b"topic,keyword\nacme,\n", "line 2: empty topic or keyword"),
    ("latin1.csv", b"topic,keyword\nacme,caf\xe9\n", "not UTF-8 text"),
    ("missing.toml", None, "no such topic rules file"),
])
def test_bad_topic_rules_are_one_config_error_naming_the_file(tmp_path, name, content, message):
    from graphcrm.loaders.errors import ConfigError

    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=rf"{name}.*{message}"):
        read_topic_rules(path)


def test_keywords_are_found_next_to_chinese_and_japanese_letters():
    """Keywords matched on Unicode word boundaries, and CJK letters are word characters: "我喜欢Acme手机" had no
    brand mention (QA reliability F6). Scripts written without spaces end a word."""
    texts = ["Acmeの新しい電話は最高です", "我喜欢Acme手机", "ACME rocks", "Ich mag Acme-Produkte", "Acme가 좋아",
             "acmes", "acmecorp", "xacme", "ácme", "我喜欢苹果手机"]
    found = match_topics(texts, {"acme": ["acme"], "apple": ["苹果"]})
    assert found == [["acme"]] * 5 + [None] * 4 + [["apple"]]
    assert match_topics(["买了iPhone手机", "phones"], {"phone": ["手机", "phone"]}) == [["phone"], None]


def test_topic_rules_csv_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbftopic,keyword\nacme,acme\n")
    assert read_topic_rules(path) == {"acme": ["acme"]}


# -------------------------------------------------------------------------------- part 3: topics
def test_topic_filter_equals_loading_only_that_topics_events(planted, tmp_path):
    full = load_interactions(planted)
    rows = _planted_rows()
    only = [r for r in rows if "brand" in r[5].lower()]
    alone = load_interactions(_write_csv(tmp_path / "brand.csv", only))
    sub = topic_graph(full, "#BRAND")
    assert sub.n_nodes == full.n_nodes                       # all accounts kept: ids line up with the full graph
    assert np.array_equal(sub.id_map.ids, full.id_map.ids)
    assert sub.layer("replies").n_edges == 0                 # replies carry no topic
    for name in alone.layer_names:
        a, b = sub.layer(name), alone.layer(name)
        assert sub.edges(name).equals(alone.edges(name))
        ids_a, ids_b = sub.id_map.ids, alone.id_map.ids
        for f in ("src", "dst"):
            assert ids_a[getattr(a.events, f)].tolist() == ids_b[getattr(b.events, f)].tolist()
        for f in ("time", "weight", "sentiment"):
            x, y = getattr(a.events, f), getattr(b.events, f)
            assert (x is None and y is None) or np.array_equal(x, y, equal_nan=True)
        assert a.events.extra.equals(b.events.extra)
    # restricted to the accounts of the topic file, the arrays are the same arrays
    small = sub.subgraph(alone.id_map.ids)
    for name in alone.layer_names:
        assert small.layer(name).equals(alone.layer(name))
    with pytest.raises(ParameterError, match="brand, sports"):
        topic_graph(full, "nope")


def test_planted_topic_leaders_are_found(planted):
    from graphcrm.topics import topic_leaders

    g = load_interactions(planted)
    brand = topic_leaders(g, "brand", top=3)
    sports = topic_leaders(g, "sports", top=3)
    assert brand.account_id.iloc[0] == "x" and sports.account_id.iloc[0] == "y"
    x = brand.iloc[0]
    assert x.topic_share == 1.0 and x.topic_events == 30
    vader = read_interactions(pd.DataFrame({"actor": ["a", "b"], "target": "c", "time": T0, "type": "RT",
                                            "text": TEXTS[:2]})).columns["sentiment"]
    assert x.topic_sentiment == pytest.approx(vader.mean())
    assert {"topic_share", "topic_sentiment", "topic_events", "topic"} <= set(brand.columns)
    both = topic_leaders(g, ["brand", "sports"], top=2)
    assert set(both.account_id) == {"x", "y"}


def _cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "graphcrm.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


def test_cli_load_info_and_topic_verbs_as_a_user(planted, tmp_path):
    snap = tmp_path / "snap"
    res = _cli("load", "--interactions", planted, "--out", snap, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    info = _cli("info", snap, "--json", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["topics"] == {"acme": 30, "brand": 30, "sports": 30}
    res = _cli("rank", snap, "--topic", "brand", "--method", "combined", "--out", tmp_path / "brand.csv",
               "--top", "3", "--samples", "2000", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(tmp_path / "brand.csv")
    assert table.account_id.iloc[0] == "x" and table.topic_share.iloc[0] == 1.0
    res = _cli("rank", snap, "--topic", "sports", "--out", tmp_path / "sports.csv", "--top", "3", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert pd.read_csv(tmp_path / "sports.csv").account_id.iloc[0] == "y"
    res = _cli("simulate", snap, "--topic", "brand", "--seeds", "x", "--runs", "200", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["expected_reach"] == pytest.approx(31.0)   # x reaches its 30 brand fans
    res = _cli("simulate", snap, "--topic", "sports", "--seeds", "x", "--runs", "200", "--json", cwd=tmp_path)
    assert json.loads(res.stdout)["expected_reach"] == pytest.approx(1.0)    # no sports audience
    res = _cli("communities", snap, "--topic", "brand", "--out", tmp_path / "c.csv", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = _cli("plan", snap, "--topic", "sports", "--k", "1", "--evaluate-runs", "100", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "'y'" in res.stdout or '"y"' in res.stdout                   # the one seed worth having on sports
    config = tmp_path / "segments.toml"
    config.write_text('[[segment]]\nname = "brand_leaders"\nkind = "leaders"\ntop = 1\n')
    res = _cli("segments", snap, "--topic", "brand", "--config", config, "--out", tmp_path / "seg.csv", "--json",
               cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["topic"] == "brand"
    assert pd.read_csv(tmp_path / "seg.csv").account_id.tolist() == ["x"]
    res = _cli("rank", snap, "--topic", "nope", "--out", tmp_path / "x.csv", cwd=tmp_path)
    assert res.returncode == 2 and "no event carries the topic 'nope'" in res.stderr


def test_cli_column_options_and_topic_rules(tmp_path):
    f = _write_csv(tmp_path / "odd.csv", [("a", "b", T0, "RT", "Acme rocks", "#x"), ("c", "b", T0 + 1, "RT", "hi", "")],
                   header=["who", "whom", "when", "what", "body_text", "labels"])
    rules = tmp_path / "rules.csv"
    rules.write_text("topic,keyword\nbrand,acme\n")
    res = _cli("load", "--interactions", f, "--out", tmp_path / "snap", "--source-col", "who", "--target-col", "whom",
               "--time-col", "when", "--type-col", "what", "--text-col", "body_text", "--topics-col", "labels",
               "--topic-rules", rules, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    g = load_snapshot(tmp_path / "snap")
    assert g.layer("retweets").events.extra.column("topics").to_pylist() == [["x", "brand"], None]
    assert np.isfinite(g.layer("retweets").events.sentiment).all()


def test_cli_append_keeps_the_text_of_stored_events(tmp_path):
    rows = _planted_rows()
    d1, d2 = _write_csv(tmp_path / "d1.csv", rows[:45]), _write_csv(tmp_path / "d2.csv", rows[45:])
    snap = tmp_path / "snap"
    assert _cli("load", "--interactions", d1, "--out", snap, cwd=tmp_path).returncode == 0
    res = _cli("load", "--append", snap, "--interactions", d2, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    once = load_interactions(_write_csv(tmp_path / "all.csv", rows))
    for name in once.layer_names:
        assert load_event_text(snap, name).equals(once.layer(name).events.extra.column("text").combine_chunks())
        assert load_snapshot(snap, text=True).layer(name).equals(once.layer(name))


def test_a_message_id_given_to_two_events_is_warned_about(tmp_path):
    """Duplicate message ids loaded silently (QA reliability minor): the id is what replies and shares name."""
    f = tmp_path / "ev.csv"
    f.write_text("src,dst,type,time,message_id\na,b,RT,1700000001,m1\nb,c,MT,1700000002,m1\nc,d,RT,1700000003,m2\n"
                 "d,e,RT,1700000004,\n")
    warnings = read_interactions(f).report.warnings
    assert len(warnings) == 1 and "1 message ids are given to more than one event (1 repeats; first: 'm1')" in warnings[0]
    rows = pd.DataFrame({"actor": ["a", "b"], "target": ["b", "c"], "type": "RT", "time": [1, 2],
                         "message_id": ["m1", None]})
    assert read_interactions(rows).report.warnings == []
