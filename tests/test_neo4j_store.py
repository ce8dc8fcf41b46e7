"""The Neo4j store against a real Bolt server (ArcadeDB, started once per test process): no mocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphcrm.algorithms.centrality import pagerank
from graphcrm.loaders.builder import GraphBuilder
from graphcrm.loaders.errors import ParameterError, StoreUnavailableError
from graphcrm.loaders.neo4j_store import rel_rows
from graphcrm.loaders import load_edges
from tests.conftest import dataset, open_store


def _state(store) -> tuple[list, list]:
    """Every account (id, labels, properties) and relationship (ends, type, properties), sorted."""
    accounts = store.query("MATCH (a:Account) RETURN a.id AS id, labels(a) AS labels, properties(a) AS p")
    rels = store.query("MATCH (a:Account)-[e]->(b:Account) RETURN a.id AS s, type(e) AS t, b.id AS d, "
                       "properties(e) AS p")
    accounts = sorted((str(r["id"]), sorted(r["labels"]), sorted(r["p"].items())) for r in accounts)
    rels = sorted((str(r["s"]), r["t"], str(r["d"]), sorted(r["p"].items())) for r in rels)
    return accounts, rels


def _edges(graph, layer):
    return graph.edges(layer).sort_values(["src", "dst"], key=lambda c: c.astype(str)).reset_index(drop=True)


def test_email_eu_core_round_trip_idempotent_and_write_back(neo4j_store):
    store = neo4j_store
    graph = load_edges(dataset("email-Eu-core/email-Eu-core.txt.gz"))
    first = store.push(graph)
    assert first.written == {"accounts": 1005, "FOLLOWS": 24929}
    assert first.rejected == {"accounts": 0, "FOLLOWS": 0}
    assert store.counts()["accounts"] == 1005

    pulled = store.pull()
    assert pulled.n_nodes == graph.n_nodes and set(pulled.id_map.ids) == set(graph.id_map.ids)
    pd.testing.assert_frame_equal(_edges(pulled, "follows"), _edges(graph, "follows"))

    before = _state(store)
    again = store.push(graph)                        # re-running changes nothing
    assert again.written == first.written
    assert _state(store) == before

    scores = pagerank(graph, layer="follows")
    leaders = scores.top(10)["account_id"].tolist()
    report = store.write_back(scores=[scores], leaders=leaders)
    assert report["missing_ids"] == 0 and report["labels"]["OpinionLeader"]["written"] == 10
    rows = store.query("MATCH (a:Account) RETURN a.id AS id, a.score_pagerank AS s")
    stored = pd.Series({r["id"]: r["s"] for r in rows}).sort_index()
    expected = pd.Series(scores.values, index=graph.id_map.ids).sort_index()
    np.testing.assert_allclose(stored.to_numpy(), expected.to_numpy(), rtol=0, atol=0)
    flagged = store.query("MATCH (a:Account:OpinionLeader) RETURN a.id AS id")
    assert sorted(r["id"] for r in flagged) == sorted(leaders)

    after_write_back = _state(store)                 # labelled accounts are still found by MERGE
    store.push(graph)
    assert _state(store) == after_write_back
    assert store.counts()["relationships"]["FOLLOWS"] == 24929


@pytest.fixture(scope="module")
def higgs_window(higgs_graph):
    """A few thousand of the earliest higgs events, on the accounts they touch."""
    times = np.sort(np.concatenate([lay.events.time for lay in higgs_graph.layers.values()]))
    start, end = int(times[0]), int(times[3000])
    window = higgs_graph.window(start, end)
    touched = set()
    for name in window.layer_names:
        edges = window.edges(name)
        touched.update(edges["src"].tolist())
        touched.update(edges["dst"].tolist())
    return window.subgraph(touched), start, end


def test_higgs_window_round_trip_with_times(neo4j_store, higgs_window):
    store = neo4j_store
    graph, start, end = higgs_window
    report = store.push(graph)
    n_edges = {name: graph.layer(name).n_edges for name in graph.layer_names}
    assert report.written["accounts"] == graph.n_nodes
    assert {name: report.written[t] for name, t in (("retweets", "RETWEETED"), ("replies", "REPLIED"),
                                                     ("mentions", "MENTIONED"))} == n_edges
    pulled = store.pull()
    for name in graph.layer_names:
        pd.testing.assert_frame_equal(_edges(pulled, name), _edges(graph, name))

    # counts and first/last times of the stored relationships are those of the event log
    events = graph.events("retweets")
    agg = events.groupby(["dst", "src"])["time"].agg(["count", "min", "max"])   # influence dst retweeted src
    stored = store.query("MATCH (a:Account)-[e:RETWEETED]->(b:Account) RETURN a.id AS a, b.id AS b, "
                         "e.count AS n, e.first_time AS first, e.last_time AS last")
    got = {(r["a"], r["b"]): (r["n"], r["first"], r["last"]) for r in stored}
    assert got == {k: (int(v["count"]), int(v["min"]), int(v["max"])) for k, v in agg.iterrows()}

    mid = (start + end) // 2                          # a time window is read back by overlap
    late = store.pull(["retweets"], start=mid)
    rows = rel_rows(graph, "retweets")
    assert late.layer("retweets").n_edges == sum(r["last_time"] >= mid for r in rows)


INJECTIONS = ["x'}) DETACH DELETE n //", "a` ) MATCH (m) DETACH DELETE m //", "$rows", "}]->(x) RETURN 1 //",
              "Robert'); DROP TABLE Students;--", "\\u0027 OR 1=1"]


def test_injection_strings_are_stored_as_data_or_rejected(neo4j_store):
    store = neo4j_store
    attrs = pd.DataFrame({"name": INJECTIONS, "note": list(reversed(INJECTIONS))})
    graph = (GraphBuilder().add_edges("follows", INJECTIONS, INJECTIONS[1:] + INJECTIONS[:1])
             .add_nodes(INJECTIONS, attrs).build())
    report = store.push(graph)
    assert report.written == {"accounts": len(INJECTIONS), "FOLLOWS": len(INJECTIONS)}
    rows = store.query("MATCH (a:Account) RETURN a.id AS id, a.name AS name, a.note AS note")
    assert sorted((r["id"], r["name"], r["note"]) for r in rows) == sorted(
        zip(INJECTIONS, INJECTIONS, reversed(INJECTIONS)))
    assert store.query("MATCH (a:Account {id: $id}) RETURN count(a) AS n", id=INJECTIONS[0])[0]["n"] == 1

    with pytest.raises(ParameterError, match="not allowed"):      # names never reach the server
        store.write_back(properties=pd.DataFrame({"x = 1 REMOVE a.id //": [1.0]}, index=[INJECTIONS[0]]))
    with pytest.raises(ParameterError, match="allowlist"):
        store.pull(["votes"])
    from graphcrm.loaders import neo4j_cypher as cy
    with pytest.raises(ParameterError):
        cy.add_label("OpinionLeader REMOVE a:Account")
    with pytest.raises(ParameterError):
        cy.merge_relationships("FOLLOWS]->(b) DETACH DELETE b //")
    with pytest.raises(ParameterError):
        store.push(GraphBuilder().add_edges("votes", [1], [2]).build())
    assert store.counts()["accounts"] == len(INJECTIONS)            # nothing was deleted


BAD_IDS = [None, float("nan"), "", "   ", True, 1.5, [1], {"id": 1}, b"bytes", 2**70]


def test_null_and_malformed_keys_are_rejected_with_counts(neo4j_store):
    store = neo4j_store
    rows = [{"id": i, "props": {"k": 1}} for i in BAD_IDS] + [{"id": 1}, {"id": "two", "props": {"k": None}},
                                                             {"nokey": 3}, "not a row"]
    report = store.push_accounts(rows)
    assert report.written["accounts"] == 2 and report.rejected["accounts"] == len(BAD_IDS) + 2
    rels = [{"src": 1, "dst": "two", "weight": 1.0}] + [{"src": b, "dst": 1} for b in BAD_IDS] + \
           [{"src": 1, "dst": b} for b in BAD_IDS] + [{"dst": 1}]
    report = store.push_relationships("FOLLOWS", rels)
    assert report.written["FOLLOWS"] == 1 and report.rejected["FOLLOWS"] == 2 * len(BAD_IDS) + 1
    assert store.counts() == {"accounts": 2, "relationships": {"FOLLOWS": 1, "RETWEETED": 0, "REPLIED": 0,
                                                               "MENTIONED": 0, "LIKED": 0, "TRUSTS": 0}}
    report = store.write_back(leaders=[1, None, float("nan"), "missing"])
    assert report["rejected_ids"] == 2 and report["labels"]["OpinionLeader"]["written"] == 1


def test_write_back_replaces_stale_labels_and_properties(neo4j_store):
    store = neo4j_store
    graph = GraphBuilder().add_edges("follows", ["a", "b", "c"], ["b", "c", "d"]).build()
    store.push(graph)
    store.write_back(leaders=["a", "b"], segments=pd.Series({"a": "critic", "c": "advocate"}),
                     partition=pd.Series({"a": 0, "b": 0, "c": 1, "d": 1}))
    report = store.write_back(leaders=["b", "c"], segments=pd.Series({"a": "advocate"}),
                              partition=pd.Series({"a": 0, "b": 1}))
    assert report["labels"]["OpinionLeader"] == {"written": 2, "missing": 0, "stale_removed": 1}
    rows = {r["id"]: r for r in store.query("MATCH (a:Account) RETURN a.id AS id, labels(a) AS labels, "
                                             "a.segment AS segment, a.community AS community")}
    assert sorted(rows["a"]["labels"]) == ["Account", "Advocate"] and rows["a"]["segment"] == "advocate"
    assert sorted(rows["b"]["labels"]) == ["Account", "OpinionLeader"] and rows["b"]["community"] == 1
    assert sorted(rows["c"]["labels"]) == ["Account", "OpinionLeader"] and rows["c"]["segment"] is None
    assert rows["d"]["community"] is None and rows["c"]["community"] is None
    state = _state(store)
    store.write_back(leaders=["b", "c"], segments=pd.Series({"a": "advocate"}), partition=pd.Series({"a": 0, "b": 1}))
    assert _state(store) == state                    # idempotent
    # an id the store does not have is not mistaken for a holder: c still loses the label
    report = store.write_back(leaders=["b", "ghost"])
    assert report["labels"]["OpinionLeader"] == {"written": 1, "missing": 1, "stale_removed": 1}
    assert [r["id"] for r in store.query("MATCH (a:Account:OpinionLeader) RETURN a.id AS id")] == ["b"]


def test_write_back_whose_rows_all_have_bad_ids_stops_before_removing_anything(neo4j_store):
    """One blank id cell made pandas read an integer id column as floats: every row was rejected, and the
    stale-removal step then deleted every value the previous run stored. Now such a write-back stops first."""
    from graphcrm.loaders.errors import InvalidInputError

    store = neo4j_store
    store.push(GraphBuilder().add_edges("follows", [1, 2, 3], [2, 3, 1]).build())
    store.write_back(properties=pd.DataFrame({"score_pagerank": [0.5, 0.3, 0.2]}, index=[1, 2, 3]),
                     partition=pd.Series({1: 0, 2: 0, 3: 1}), leaders=[1, 2])
    before = _state(store)
    floats = pd.DataFrame({"score_pagerank": [0.6, 0.1, 0.3]}, index=[1.0, float("nan"), 2.0])
    with pytest.raises(InvalidInputError, match="property 'score_pagerank': all 3 rows have a null or malformed"):
        store.write_back(properties=floats)
    with pytest.raises(InvalidInputError, match="property 'community'"):
        store.write_back(partition=pd.Series([5, 6], index=[1.0, float("nan")]))
    with pytest.raises(InvalidInputError, match="label 'OpinionLeader': all 2 account ids"):
        store.write_back(leaders=[1.0, None])
    assert _state(store) == before
    # one bad row among good ones is still only that row, rejected and counted
    report = store.write_back(leaders=[1, None])
    assert report["rejected_ids"] == 1 and report["labels"]["OpinionLeader"] == {
        "written": 1, "missing": 0, "stale_removed": 1}
    # results for accounts the store does not have (another graph, another database): stop, nothing removed
    before = _state(store)
    with pytest.raises(InvalidInputError, match="none of the 2 accounts to write back is in Neo4j"):
        store.write_back(properties=pd.DataFrame({"score_pagerank": [0.5, 0.3]}, index=[71, 72]))
    with pytest.raises(InvalidInputError, match="none of the 2 accounts to write back"):
        store.write_back(leaders=[71, 72])
    assert _state(store) == before


def test_erase_account_reports_what_it_removed(neo4j_store):
    store = neo4j_store
    graph = (GraphBuilder().add_edges("follows", ["a", "b", "a"], ["b", "a", "c"])
             .add_events("mentions", ["a", "c"], ["c", "b"], time=[1, 2]).build())
    store.push(graph)
    report = store.erase_account("a")
    assert report["accounts_removed"] == 1
    assert report["relationships_removed"] == {"FOLLOWS": 3, "MENTIONED": 1}
    assert store.counts()["accounts"] == 2
    assert store.erase_account("a")["accounts_removed"] == 0


def _rows_then_kill(rows, server, kill_after, then=None):
    for i, row in enumerate(rows):
        if i == kill_after:
            server.kill()
            if then is not None:
                then()
        yield row


def test_server_killed_mid_push_gives_clear_error_and_rerun_resumes(tmp_path, caplog):
    import threading

    from graphcrm.loaders.bolt_server import start_server
    from graphcrm.loaders.neo4j_store import WriteReport
    from tests.conftest import BOLT_PASSWORD

    server = start_server(tmp_path / "killed", BOLT_PASSWORD)
    try:
        graph = load_edges(dataset("email-Eu-core/email-Eu-core.txt.gz"))
        rows = rel_rows(graph, "follows")
        kill_after = 3000

        # 1. killed for good: a clear one-line error saying how far it got
        store = open_store(server, batch_size=1000, retries=1)
        store.push_accounts({"id": i} for i in graph.id_map.ids.tolist())
        report = WriteReport()
        with pytest.raises(StoreUnavailableError, match=f"{kill_after} of {len(rows)} rows were written") as err:
            store.push_relationships("FOLLOWS", _rows_then_kill(rows, server, kill_after), report, total=len(rows))
        assert "\n" not in str(err.value) and "run the same command again" in str(err.value)
        assert report.written["FOLLOWS"] == kill_after and report.retries == 1
        store.close()

        # 2. restarted: the committed batches survived; re-running the push gives exactly the graph
        server.start()
        store = open_store(server, batch_size=1000)
        assert store.counts()["relationships"]["FOLLOWS"] == kill_after
        report = store.push(graph)
        assert report.written == {"accounts": 1005, "FOLLOWS": 24929}
        counts = store.counts()
        assert counts["accounts"] == 1005 and counts["relationships"]["FOLLOWS"] == 24929
        pd.testing.assert_frame_equal(_edges(store.pull(), "follows"), _edges(graph, "follows"))

        # 3. killed and back within the retry budget: the same push finishes on its own (the driver's
        #    managed-transaction retries and, past them, the store's bounded batch retries)
        store._driver.execute_query("MATCH ()-[e:FOLLOWS]->() DELETE e", database_=store.database)
        store.close()
        store = open_store(server, batch_size=1000, retries=6, retry_wait=1.0)
        restart = threading.Thread(target=server.start)
        report = WriteReport()
        store.push_relationships("FOLLOWS", _rows_then_kill(rows, server, kill_after, restart.start), report,
                                 total=len(rows))
        restart.join()
        driver_retries = sum("will be retried" in r.getMessage() for r in caplog.records if r.name.startswith("neo4j"))
        assert driver_retries + report.retries >= 1 and report.written["FOLLOWS"] == len(rows)
        assert store.counts()["relationships"]["FOLLOWS"] == 24929
        store.close()
    finally:
        server.stop()


def test_pull_by_label_and_layer(neo4j_store):
    store = neo4j_store
    graph = (GraphBuilder().add_edges("follows", ["a", "b", "c"], ["b", "c", "a"])
             .add_events("retweets", ["a", "c"], ["b", "a"], time=[100, 200]).build())
    store.push(graph)
    store.write_back(leaders=["a", "b"])
    leaders = store.pull(label="OpinionLeader")
    assert sorted(leaders.id_map.ids.tolist()) == ["a", "b"]
    assert leaders.edges("follows").to_dict("list") == {"src": ["b"], "dst": ["a"], "weight": [1.0]}
    assert leaders.edges("retweets").to_dict("list") == {"src": ["b"], "dst": ["a"], "weight": [1.0]}
    only = store.pull(["retweets"], end=150)
    assert only.layer_names == ["retweets"] and only.layer("retweets").n_edges == 1
    with pytest.raises(ParameterError, match="not allowed"):
        store.pull(label="Account) DETACH DELETE (a")
    with pytest.raises(ParameterError, match="allowlist"):
        store.pull(label="Account")


def test_write_back_changed_only_sends_only_what_moved_and_ends_in_the_same_state(neo4j_store):
    """Issue 22: the nightly write-back reads what is stored and writes only changed properties and labels."""
    store = neo4j_store
    graph = GraphBuilder().add_edges("follows", ["a", "b", "c", "d"], ["b", "c", "d", "a"]).build()
    store.push(graph)
    night1 = dict(leaders=["a", "b"], segments=pd.Series({"a": "critic", "c": "advocate"}),
                  partition=pd.Series({"a": 0, "b": 0, "c": 1, "d": 1}),
                  properties=pd.DataFrame({"score_pagerank": [0.4, 0.3, 0.2, 0.1]}, index=["a", "b", "c", "d"]))
    store.write_back(**night1)
    night2 = dict(leaders=["b", "c", "ghost"], segments=pd.Series({"a": "critic", "c": "advocate"}),
                  partition=pd.Series({"a": 0, "b": 1, "c": 1, "d": 1}),
                  properties=pd.DataFrame({"score_pagerank": [0.4, 0.3, 0.25, 0.05]}, index=["a", "b", "c", "d"]))
    full = store.write_back(**night2)
    expected = _state(store)
    store.write_back(**night1)
    batches_before = full["batches"]
    report = store.write_back(**night2, changed_only=True)
    assert _state(store) == expected                       # same end state as writing everything
    props = report["properties"]
    assert props["score_pagerank"] == {"written": 4, "stale_removed": 0, "unchanged": 2}
    assert props["community"] == {"written": 4, "stale_removed": 0, "unchanged": 3}
    assert props["segment"]["unchanged"] == 2
    assert report["labels"]["OpinionLeader"] == {"written": 2, "missing": 1, "stale_removed": 1, "unchanged": 1}
    assert report["missing_ids"] == 0
    assert report["batches"] < batches_before              # fewer write transactions
    again = store.write_back(**night2, changed_only=True)  # nothing moved: nothing but the reads
    assert _state(store) == expected
    assert again["properties"]["score_pagerank"]["unchanged"] == 4
    assert again["batches"] == 0, again


def _mixed_graph(sentiment=True):
    """Untimed, timestamped (with sentiment or not) and signed layers; some accounts with properties."""
    return (GraphBuilder()
            .add_edges("follows", ["a", "b", "c", " d "], ["b", "c", "a", "a"])
            .add_events("retweets", ["a", "c", "a", 7], ["b", "a", "b", "a"], time=[1, 2, 3, 4],
                        sentiment=[0.5, -1.0, np.nan, 0.0] if sentiment else None)
            .add_edges("trust", ["a", "b"], ["c", "c"], [1.0, -1.0])
            .add_nodes(["a", "b"], pd.DataFrame({"name": ["Ann", None]}))
            .build())


def _wipe(store):
    store._driver.execute_query("MATCH (n) DETACH DELETE n", database_=store.database)


def _push_generic(store, graph):
    """The general path: account maps and relationship maps through the public push_* methods."""
    from graphcrm.loaders.neo4j_cypher import REL_TYPES
    from graphcrm.loaders.neo4j_store import _account_rows

    report = store.push_accounts(_account_rows(graph))
    for name in graph.layer_names:
        store.push_relationships(REL_TYPES[name], rel_rows(graph, name), report)
    return report


def test_rel_table_lists_are_the_checked_rows():
    from graphcrm.loaders.neo4j_rows import _rel_table, _scalar, clean_id

    graph = _mixed_graph()
    for name in graph.layer_names:
        table = _rel_table(graph, name)
        sent = table.sent()
        expected = [[clean_id(r["src"]), clean_id(r["dst"]), *(_scalar(r[p]) for p in sent)]
                    for r in rel_rows(graph, name)]
        assert table.lists() == expected
        assert table.lists(1, 3) == expected[1:3]
        left_out = [r for r in rel_rows(graph, name) if any(r[p] is not None for p in
                                                                 ("count", "first_time", "last_time", "weight", "sign")
                                                                 if p not in sent)]
        assert left_out == []                                # only properties null in every row are not sent


def test_push_sends_lists_and_ends_in_the_state_of_the_generic_rows(neo4j_store):
    store = neo4j_store
    for sentiment in (True, False):
        graph = _mixed_graph(sentiment)
        _wipe(store)
        fast = store.push(graph)
        state = _state(store)
        _wipe(store)
        generic = _push_generic(store, graph)
        assert _state(store) == state
        assert fast.written == generic.written and fast.rejected == generic.rejected
    assert fast.written == {"accounts": 5, "FOLLOWS": 4, "RETWEETED": 3, "TRUSTS": 2}


def test_push_over_a_stored_graph_removes_properties_now_null(neo4j_store):
    store = neo4j_store
    _wipe(store)
    store.push(_mixed_graph(sentiment=True))          # retweets stored with a sign
    store.push(_mixed_graph(sentiment=False))         # ... and pushed again without one
    state = _state(store)
    _wipe(store)
    store.push(_mixed_graph(sentiment=False))
    assert _state(store) == state
    assert store.query("MATCH ()-[e:RETWEETED]->() WHERE e.sign IS NOT NULL RETURN count(e) AS n")[0]["n"] == 0
