"""`graphcrm neo4j ...` as a user runs it: a real process against a real Bolt server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pandas as pd

from graphcrm.loaders.bolt_server import free_port
from tests.conftest import BOLT_PASSWORD

EXE = shutil.which("graphcrm")


def run(*args, password=BOLT_PASSWORD):
    env = dict(os.environ, CI="true")
    env.pop("GRAPHCRM_NEO4J_PASSWORD", None)
    if password is not None:
        env["GRAPHCRM_NEO4J_PASSWORD"] = password
    proc = subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, env=env, timeout=300,
                          stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr


def conn(server, database=None):
    return ["--uri", server.uri, "--user", server.user, "--database", database or server.database]


def test_push_pull_write_back_erase(neo4j_store, bolt_server, tmp_path):
    edges = tmp_path / "follows.txt"
    edges.write_text("1 2\n2 3\n3 1\n4 1\n4 2\n")             # a follows b
    snap = tmp_path / "snap"
    assert run("load", "--edges", edges, "--out", snap)[0] == 0

    code, out, err = run("neo4j", "push", snap, *conn(bolt_server), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["written"] == {"accounts": 4, "FOLLOWS": 5}
    assert summary["stored"]["relationships"]["FOLLOWS"] == 5
    assert BOLT_PASSWORD not in out + err

    code, out, err = run("neo4j", "pull", "--out", tmp_path / "pulled", *conn(bolt_server), "--json")
    assert code == 0, err
    assert json.loads(out)["edges"] == {"follows": 5}

    scores = tmp_path / "pagerank.csv"
    assert run("rank", snap, "--method", "pagerank", "--out", scores)[0] == 0
    leaders = tmp_path / "leaders.csv"
    pd.read_csv(scores).head(2).to_csv(leaders, index=False)
    code, out, err = run("neo4j", "write-back", "--scores", scores, "--leaders", leaders, *conn(bolt_server),
                         "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["properties"]["score_pagerank"]["written"] == 4
    assert report["labels"]["OpinionLeader"]["written"] == 2
    rows = neo4j_store.query("MATCH (a:Account:OpinionLeader) RETURN a.id AS id, a.score_pagerank AS s")
    assert len(rows) == 2 and all(r["s"] > 0 for r in rows)
    code, out, err = run("neo4j", "write-back", "--scores", scores, "--leaders", leaders, "--changed-only",
                         *conn(bolt_server), "--json")           # the same night again: nothing to send
    assert code == 0, err
    report = json.loads(out)
    assert report["properties"]["score_pagerank"]["unchanged"] == 4 and report["batches"] == 0

    code, out, err = run("neo4j", "erase", "--account", "4", *conn(bolt_server), "--json")
    assert code == 0, err
    assert json.loads(out)["relationships_removed"] == {"FOLLOWS": 2}
    assert neo4j_store.counts()["accounts"] == 3


def _one_line_error(code, out, err, exit_code):
    assert code == exit_code, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and BOLT_PASSWORD not in err


def test_bad_credentials_exit_2(bolt_server, tmp_path):
    code, out, err = run("neo4j", "erase", "--account", "1", *conn(bolt_server), password="wrong-password")
    _one_line_error(code, out, err, 2)
    assert "refused the credentials" in err and "wrong-password" not in err


def test_unknown_database_exit_2(bolt_server):
    code, out, err = run("neo4j", "erase", "--account", "1", *conn(bolt_server, "nosuchdb"))
    _one_line_error(code, out, err, 2)
    assert "does not exist" in err


def test_server_down_exit_1(bolt_server):
    code, out, err = run("neo4j", "erase", "--account", "1", "--uri", f"bolt://127.0.0.1:{free_port()}")
    _one_line_error(code, out, err, 1)
    assert "cannot reach" in err


def test_missing_password_is_a_usage_error(bolt_server):
    code, out, err = run("neo4j", "erase", "--account", "1", *conn(bolt_server), password=None)
    _one_line_error(code, out, err, 2)
    assert "GRAPHCRM_NEO4J_PASSWORD" in err


def test_db_serve_runs_a_bolt_server_until_terminated(tmp_path):
    import signal
    import time

    from graphcrm.loaders.neo4j_store import Neo4jStore

    port = free_port()
    env = dict(os.environ, CI="true", GRAPHCRM_NEO4J_PASSWORD=BOLT_PASSWORD)
    proc = subprocess.Popen([EXE, "db", "serve", "--root", str(tmp_path / "db"), "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        store = Neo4jStore(f"bolt://127.0.0.1:{port}", "root", BOLT_PASSWORD, "graphcrm", retry_time=1)
        deadline = time.monotonic() + 120
        while True:
            try:
                info = store.check()
                break
            except Exception:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.5)
        assert "ArcadeDB" in info["server"]
        store.push_accounts([{"id": "ann"}])
        assert store.counts()["accounts"] == 1
        store.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert code == 0


def test_erase_reaches_snapshot_exports_and_neo4j(neo4j_store, bolt_server, tmp_path):
    edges = tmp_path / "follows.txt"
    edges.write_text("1 2\n2 3\n3 1\n4 1\n4 2\n")
    snap = tmp_path / "snap"
    assert run("load", "--edges", edges, "--out", snap)[0] == 0
    assert run("neo4j", "push", snap, *conn(bolt_server))[0] == 0
    exports = tmp_path / "exports"
    exports.mkdir()
    pd.DataFrame({"account_id": [1, 2, 3, 4], "score": [0.1, 0.2, 0.3, 0.4]}).to_csv(exports / "scores.csv",
                                                                                     index=False)
    code, out, err = run("erase", snap, "--account", "4", "--exports", exports, "--neo4j-uri", bolt_server.uri,
                         "--neo4j-user", bolt_server.user, "--neo4j-database", bolt_server.database, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["graph_store"][0]["accounts_removed"] == 1
    assert report["snapshot"]["edges_removed"] == {"follows": 2}
    assert pd.read_csv(exports / "scores.csv")["account_id"].tolist() == [1, 2, 3]
    ids = sorted(r["id"] for r in neo4j_store.query("MATCH (a:Account) RETURN a.id AS id"))
    assert ids == [1, 2, 3]
    assert neo4j_store.query("MATCH ()-[r:FOLLOWS]->() RETURN count(r) AS n")[0]["n"] == 3


def _stored(store, prop):
    return {r["id"]: r["v"] for r in store.query(f"MATCH (a:Account) WHERE a.{prop} IS NOT NULL "
                                                 f"RETURN a.id AS id, a.{prop} AS v")}


def _labelled(store, label="OpinionLeader"):
    return sorted(r["id"] for r in store.query(f"MATCH (a:Account:{label}) RETURN a.id AS id"))


def test_write_back_blank_id_rejects_that_row_only_on_an_integer_store(neo4j_store, bolt_server, tmp_path):
    """One empty account_id cell made pandas read the id column as floats: every row was rejected and the
    stale-removal step deleted every value stored by the previous run (exit 0)."""
    edges = tmp_path / "follows.txt"
    edges.write_text("1 2\n2 3\n3 1\n4 1\n4 2\n")
    snap = tmp_path / "snap"
    assert run("load", "--edges", edges, "--out", snap)[0] == 0
    assert run("neo4j", "push", snap, *conn(bolt_server))[0] == 0
    scores, part, leaders = tmp_path / "pr.csv", tmp_path / "part.csv", tmp_path / "leaders.csv"
    scores.write_text("account_id,pagerank,rank\n1,0.4,1\n2,0.3,2\n3,0.2,3\n4,0.1,4\n")
    part.write_text("account_id,community\n1,0\n2,0\n3,1\n4,1\n")
    leaders.write_text("rank,account_id,stance\n1,1,supporter\n2,2,neutral\n")
    files = ("--scores", scores, "--partition", part, "--leaders", leaders)
    code, out, err = run("neo4j", "write-back", *files, *conn(bolt_server), "--json")
    assert code == 0, err
    before = (_stored(neo4j_store, "score_pagerank"), _stored(neo4j_store, "community"), _labelled(neo4j_store))
    assert before == ({1: 0.4, 2: 0.3, 3: 0.2, 4: 0.1}, {1: 0, 2: 0, 3: 1, 4: 1}, [1, 2])

    for path, row in ((scores, ",0.001,101\n"), (part, ",5\n"), (leaders, "3,,neutral\n")):
        path.write_text(path.read_text() + row)
    code, out, err = run("neo4j", "write-back", *files, *conn(bolt_server), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["rejected_ids"] == 3 and report["missing_ids"] == 0
    assert report["properties"]["score_pagerank"] == {"written": 4, "stale_removed": 0}
    assert report["properties"]["community"] == {"written": 4, "stale_removed": 0}
    assert report["labels"]["OpinionLeader"] == {"written": 2, "missing": 0, "stale_removed": 0}
    assert (_stored(neo4j_store, "score_pagerank"), _stored(neo4j_store, "community"),
            _labelled(neo4j_store)) == before

    # a file whose every id is empty: one line naming the file, exit 1, nothing removed
    blank = tmp_path / "blank.csv"
    blank.write_text("account_id,pagerank\n,0.5\n,0.2\n")
    for option in ("--scores", "--leaders"):
        code, out, err = run("neo4j", "write-back", option, blank, *conn(bolt_server))
        _one_line_error(code, out, err, 1)
        assert "blank.csv" in err and "all 2 rows have an empty account id" in err
    assert (_stored(neo4j_store, "score_pagerank"), _stored(neo4j_store, "community"),
            _labelled(neo4j_store)) == before


def test_write_back_bad_number_and_duplicate_ids_are_one_line_errors(neo4j_store, bolt_server, tmp_path):
    edges = tmp_path / "follows.csv"
    edges.write_text("source,target\nu001,u002\nu002,u003\n")
    snap = tmp_path / "snap"
    assert run("load", "--edges", edges, "--out", snap)[0] == 0
    assert run("neo4j", "push", snap, *conn(bolt_server))[0] == 0
    bad = tmp_path / "sc_bad.csv"
    bad.write_text("account_id,pagerank\nu001,0.5\nu002,abc\n")
    code, out, err = run("neo4j", "write-back", "--scores", bad, *conn(bolt_server))
    _one_line_error(code, out, err, 1)
    assert "sc_bad.csv, line 3, field 'pagerank': 'abc' is not a number" in err
    for option, text in (("--scores", "account_id,pagerank\nu001,0.5\nu002,0.1\nu001,0.7\n"),
                         ("--partition", "account_id,community\nu001,0\nu002,1\nu001,1\n")):
        dup = tmp_path / "dup.csv"
        dup.write_text(text)
        code, out, err = run("neo4j", "write-back", option, dup, *conn(bolt_server))
        _one_line_error(code, out, err, 1)
        assert "dup.csv, line 4, field 'account_id': account id 'u001' already on line 2" in err, err
    assert neo4j_store.query("MATCH (a:Account) WHERE a.score_pagerank IS NOT NULL OR a.community IS NOT NULL "
                             "OR a.segment IS NOT NULL RETURN count(a) AS n")[0]["n"] == 0
    # a segments export lists an account once per segment: all its segments, labels from the kind column
    # (QA nightly F5: the export graphcrm writes was refused as duplicate ids)
    export = tmp_path / "segments.csv"
    export.write_text("segment,kind,rank,account_id,score,reason\nkey_leaders,leaders,1,u001,9,x\n"
                      "links,bridges,1,u001,3,y\nkey_leaders,leaders,2,u002,8,z\nvip,custom,1,u003,1,w\n")
    code, out, err = run("neo4j", "write-back", "--segments", export, *conn(bolt_server), "--json")
    assert code == 0, err
    rows = {r["id"]: r for r in neo4j_store.query("MATCH (a:Account) WHERE a.segment IS NOT NULL RETURN a.id AS "
                                                  "id, a.segment AS segment, labels(a) AS labels")}
    assert {k: r["segment"] for k, r in rows.items()} == {"u001": "key_leaders; links", "u002": "key_leaders",
                                                          "u003": "vip"}
    assert sorted(rows["u001"]["labels"]) == ["Account", "Bridge", "Leader"]
    assert sorted(rows["u003"]["labels"]) == ["Account"]
    code, out, err = run("neo4j", "write-back", "--segments", export, *conn(bolt_server), "--changed-only", "--json")
    assert code == 0 and json.loads(out)["properties"]["segment"]["unchanged"] == 3, out + err
    # a text column (no number in it) is not a measure: skipped and named, the others written
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("account_id,pagerank,stance\nu001,0.5,critic\nu002,,neutral\n")
    code, out, err = run("neo4j", "write-back", "--scores", mixed, *conn(bolt_server), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["properties"] == {"score_pagerank": {"written": 1, "stale_removed": 0}}
    assert list(report["skipped_columns"].values()) == [["stance"]]


def test_write_back_keeps_na_like_text_ids_and_matches_the_store_id_type(neo4j_store, bolt_server, tmp_path):
    """NA, N/A, null are text ids (the loaders keep them); a text store keeps "7" as text and "007" apart."""
    edges = tmp_path / "t.csv"
    edges.write_text("source,target\nNA,abc\nnull,abc\nabc,NA\nN/A,abc\n007,7\n7,8\n")
    snap = tmp_path / "snap"
    assert run("load", "--edges", edges, "--out", snap)[0] == 0
    assert run("neo4j", "push", snap, *conn(bolt_server))[0] == 0
    leaders = tmp_path / "leaders.csv"
    leaders.write_text("account_id,pagerank,rank\nabc,0.4,1\nNA,0.3,2\nN/A,0.2,3\nnull,0.1,4\n7,0.05,5\n")
    segments = tmp_path / "seg.csv"
    segments.write_text("account_id,segment\nNA,critic\nnull,advocate\n007,critic\n")
    code, out, err = run("neo4j", "write-back", "--leaders", leaders, "--scores", leaders, "--segments", segments,
                         *conn(bolt_server), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["rejected_ids"] == 0 and report["missing_ids"] == 0
    assert report["labels"]["OpinionLeader"]["written"] == 5
    assert _labelled(neo4j_store) == sorted(["abc", "NA", "N/A", "null", "7"])
    assert _stored(neo4j_store, "score_pagerank") == {"abc": 0.4, "NA": 0.3, "N/A": 0.2, "null": 0.1, "7": 0.05}
    assert _stored(neo4j_store, "segment") == {"NA": "critic", "null": "advocate", "007": "critic"}
    assert _labelled(neo4j_store, "Critic") == ["007", "NA"]


def test_erase_auto_follows_the_id_rule_and_an_id_found_nowhere_is_an_error(neo4j_store, bolt_server, tmp_path):
    """`--account 007` was turned into integer 7 (the id rule says 007 is text), a text "7" was missed, and an
    erase that removed nothing exited 0."""
    edges = tmp_path / "t3.csv"
    edges.write_text("source,target\n007,7\n7,8\n8,007\n")          # "007" makes every id of the graph text
    snap = tmp_path / "t3"
    assert run("load", "--edges", edges, "--out", snap)[0] == 0
    assert run("neo4j", "push", snap, *conn(bolt_server))[0] == 0
    code, out, err = run("neo4j", "erase", "--account", "007", *conn(bolt_server), "--json")
    assert code == 0, err
    assert json.loads(out)["account"] == "007" and json.loads(out)["accounts_removed"] == 1
    code, out, err = run("neo4j", "erase", "--account", "7", *conn(bolt_server), "--json")   # not an int: text
    assert code == 0, err
    assert json.loads(out)["account"] == "7" and json.loads(out)["accounts_removed"] == 1
    assert [r["id"] for r in neo4j_store.query("MATCH (a:Account) RETURN a.id AS id")] == ["8"]
    for account in ("7", "nobody-here"):
        code, out, err = run("neo4j", "erase", "--account", account, *conn(bolt_server))
        _one_line_error(code, out, err, 1)
        assert f"account '{account}' found nowhere" in err

    neo4j_store._driver.execute_query("MATCH (n) DETACH DELETE n", database_=neo4j_store.database)
    ints = tmp_path / "follows.txt"
    ints.write_text("1 2\n2 3\n3 1\n4 1\n")
    assert run("load", "--edges", ints, "--out", tmp_path / "ints")[0] == 0
    assert run("neo4j", "push", tmp_path / "ints", *conn(bolt_server))[0] == 0
    code, out, err = run("neo4j", "erase", "--account", "004", *conn(bolt_server))   # text: not account 4
    _one_line_error(code, out, err, 1)
    code, out, err = run("neo4j", "erase", "--account", "4", *conn(bolt_server), "--json")
    assert code == 0 and json.loads(out)["account"] == 4, err
    assert sorted(r["id"] for r in neo4j_store.query("MATCH (a:Account) RETURN a.id AS id")) == [1, 2, 3]


def _tree(path):
    return {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_pull_that_finds_no_relationships_is_an_error_and_keeps_the_snapshot(neo4j_store, bolt_server, tmp_path):
    """`pull --out EXISTING --layer likes` (none stored) or an empty window replaced the snapshot with a
    graph without layers, exit 0."""
    events = tmp_path / "events.csv"
    events.write_text("source,target,type,time\na,b,retweet,1000\nb,c,retweet,2000\nc,a,reply,3000\n")
    snap = tmp_path / "snap"
    assert run("load", "--interactions", events, "--out", snap)[0] == 0
    assert run("neo4j", "push", snap, *conn(bolt_server))[0] == 0
    pulled = tmp_path / "pulled"
    code, out, err = run("neo4j", "pull", "--out", pulled, *conn(bolt_server), "--json")
    assert code == 0, err
    before = _tree(pulled)
    for args, asked in ((["--layer", "likes"], "for likes (LIKED)"),
                        (["--layer", "retweets", "--start", 5000], "for retweets (RETWEETED) from 5000"),
                        (["--start", 0, "--end", 500], "for any layer from 0 until 500")):
        code, out, err = run("neo4j", "pull", "--out", pulled, *args, *conn(bolt_server))
        _one_line_error(code, out, err, 1)
        assert f"no relationships to pull {asked}" in err and "the store has RETWEETED 2, REPLIED 1" in err, err
        assert _tree(pulled) == before
    fresh = tmp_path / "fresh"
    code, out, err = run("neo4j", "pull", "--out", fresh, "--layer", "likes", *conn(bolt_server))
    _one_line_error(code, out, err, 1)
    assert not fresh.exists()
    code, out, err = run("neo4j", "pull", "--out", pulled, "--layer", "retweet", *conn(bolt_server))
    _one_line_error(code, out, err, 2)
    assert "choose the layers to pull" in err
    code, out, err = run("neo4j", "pull", "--out", pulled, "--layer", "retweets", "--start", 1500,
                         *conn(bolt_server), "--json")
    assert code == 0 and json.loads(out)["edges"]["retweets"] == 1, err
