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
