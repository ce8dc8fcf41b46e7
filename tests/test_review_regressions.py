"""Inputs that once crashed or loaded wrong data (found in review); each now loads right or fails clearly."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from graphcrm.loaders import GraphBuilder, InputFileError, InvalidInputError, ParameterError, SnapshotError
from graphcrm.loaders.errors import NodeNotFoundError
from graphcrm.loaders.snapshot import load_snapshot, save_snapshot
from graphcrm.loaders import load_edges, load_interactions, load_nodes, read_edges, read_interactions, read_nodes


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_fractional_and_zoned_timestamps(tmp_path):
    path = write(tmp_path, "a.csv", "actor,target,time,type\n1,2,2012-07-04T09:00:00.900Z,RT\n"
                                    "3,4,2012-07-04T11:00:00+02:00,MT\n")
    g = load_interactions(path)
    assert g.events("retweets").time.tolist() == [1341392400]
    assert g.events("mentions").time.tolist() == [1341392400]
    frame = pd.DataFrame({"actor": [1], "target": [2], "type": ["RT"],
                          "time": pd.to_datetime(["2012-07-04 09:00:00.5"])})
    frame.to_parquet(tmp_path / "ms.parquet")
    assert load_interactions(tmp_path / "ms.parquet").events("retweets").time.tolist() == [1341392400]


def test_out_of_range_timestamps_are_rejected(tmp_path):
    with pytest.raises(InputFileError, match="line 1, field 'time': 1e\\+30 is out of range"):
        read_interactions(write(tmp_path, "e.txt", "1 2 1e30 RT\n"))


def test_float_id_columns(tmp_path):
    g = load_edges(pa.table({"src": [1.0, 2.0], "dst": [2, 3]}), layer="x")
    assert g.id_map.ids.tolist() == [1, 2, 3]
    with pytest.raises(InputFileError, match="row 2, field 'actor': missing account id"):
        load_edges(pa.table({"src": [1.0, np.nan, 3.0], "dst": [2, 3, 4]}))
    with pytest.raises(InputFileError, match="row 1, field 'actor': account id 1.5 is not an integer"):
        load_edges(pd.DataFrame({"src": [1.5], "dst": [2]}))


def test_a_leading_zero_id_far_into_a_file_stays_its_own_account(tmp_path):
    """The fast reader chooses integer ids from the first rows; a later "007" once became account 7 (pyarrow
    parses it as an integer), merging two accounts without a word -- in edges, interactions and node tables."""
    rows = "".join(f"{i} {i + 1}\n" for i in range(60_000))
    g = load_edges(write(tmp_path, "late.txt", rows + "007 5\n7 5\n-07 5\n"), layer="x")
    ids = set(map(str, g.id_map.ids.tolist()))
    assert {"007", "7", "-07", "5"} <= ids and g.n_nodes == 60_001 + 2
    assert g.layer("x").n_edges == 60_003
    events = "".join(f"{i},{i + 1},RT,{1341392400 + i}\n" for i in range(60_000))
    g = load_interactions(write(tmp_path, "late.csv", "actor,target,type,time\n" + events + "007,5,RT,1341500000\n"))
    assert "007" in set(map(str, g.id_map.ids.tolist()))
    table = "id,followers\n" + "".join(f"{i},{i}\n" for i in range(60_000)) + "007,5\n"
    node_ids = [str(v) for v in read_nodes(write(tmp_path, "nodes.csv", table)).columns["id"]]
    assert len(node_ids) == 60_001 and "007" in node_ids and node_ids.count("7") == 1
    # plain integers anywhere stay integer ids, negative ones and int64's ends included
    g = load_edges(write(tmp_path, "ints.txt", rows + "-9223372036854775808 9223372036854775807\n"), layer="x")
    assert g.id_map.ids.dtype.kind == "i" and -9223372036854775808 in g.id_map.ids.tolist()


def test_ids_keep_their_identity(tmp_path):
    # beyond int64 or beyond float precision: text, never rounded
    g = load_edges(write(tmp_path, "big.txt", "9007199254740993 1\n99999999999999999999 2\n"), layer="x")
    assert "9007199254740993" in g.id_map.ids.tolist() and "99999999999999999999" in g.id_map.ids.tolist()
    # leading zeros are part of an id: "007" and "7" are two accounts
    g = load_edges(write(tmp_path, "z.csv", "src,dst\n007,a\n7,b\n"), layer="x")
    assert sorted(g.id_map.ids.tolist()) == ["007", "7", "a", "b"]
    # ... and looking ids up follows the same rule: in an integer-id graph "007", "+7" and "-0" name no account
    ints = load_edges(write(tmp_path, "i.txt", "7 0\n"), layer="x")
    assert ints.id_map.lookup(["7", "007", "+7", "-0", " 0 "]).tolist() == [1, -1, -1, -1, 0]
    assert ints.id_map.lookup(np.array([7.0, 0.5])).tolist() == [1, -1]
    with pytest.raises(NodeNotFoundError, match="'007'"):
        ints.index_of(["007"])
    # and so is a minus sign: "-0" is not account 0
    g = load_edges(write(tmp_path, "m.txt", "0 1\n-0 2\n"), layer="x")
    assert sorted(map(str, g.id_map.ids.tolist())) == ["-0", "0", "1", "2"]
    frame = pd.DataFrame({"src": ["99999999999999999999", "1"], "dst": ["2", "3"]})
    assert load_edges(frame).n_nodes == 4
    assert load_edges(pa.Table.from_pandas(frame)).n_nodes == 4
    precise = load_edges(write(tmp_path, "p.txt", "99999999999999999999 2\n# c\n3 4\n"), layer="x")
    assert precise.n_nodes == 4
    with pytest.raises(InputFileError, match="missing account id"):
        read_edges(pd.DataFrame({"src": pd.array(["a", None], dtype="string"), "dst": ["b", "c"]}))


def test_blank_lines_are_skipped_with_true_line_numbers(tmp_path):
    assert read_edges(write(tmp_path, "t.txt", "1 2\n3 4\n\n")).report.rows_loaded == 2
    assert read_edges(write(tmp_path, "t.csv", "source,target\n1,2\n\n3,4\n")).report.rows_loaded == 2
    with pytest.raises(InputFileError, match="line 3, field 'type'"):
        read_interactions(write(tmp_path, "e.txt", "1 2 1341100972 RT\n\n3 4 1341100972 XX\n"))


def test_json_lines_mixed_nested_and_line_numbers(tmp_path):
    mixed = write(tmp_path, "m.jsonl", '{"actor":1,"target":2,"time":1,"type":"RT"}\n'
                                       '{"actor":"a","target":2,"time":1,"type":"RT"}\n')
    assert sorted(load_interactions(mixed).id_map.ids.tolist()) == ["1", "2", "a"]
    nested = write(tmp_path, "n.jsonl", '{"actor":{"id":1},"target":2,"time":1,"type":"RT"}\n')
    with pytest.raises(InputFileError, match="line 1, field 'actor': .*nested dict"):
        load_interactions(nested)
    blank = write(tmp_path, "b.jsonl", '{"actor":1,"target":2,"time":1,"type":"RT"}\n\n'
                                       '{"actor":null,"target":2,"time":1,"type":"RT"}\n')
    with pytest.raises(InputFileError, match="line 3, field 'actor'"):
        load_interactions(blank)
    lenient = write(tmp_path, "l.jsonl", '{"actor":1,"target":2,"time":1,"type":"RT"}\n{bad\n'
                                         '{"actor":3,"target":2,"time":1,"type":"XX"}\n')
    report = read_interactions(lenient, mode="lenient").report
    assert dict(report.rejected) == {"malformed_row": 1, "unknown_type": 1}
    assert report.rejects.line.tolist() == [2, 3] and report.rows_read == 3


def test_node_tables_headerless_mixed_and_duplicates(tmp_path):
    from tests.conftest import dataset

    labels = load_nodes(dataset("email-Eu-core/email-Eu-core-department-labels.txt.gz"), columns=["id", "department"])
    assert labels.n_nodes == 1005 and labels.nodes.department.nunique() == 42
    a = write(tmp_path, "a.csv", "id,tier\n1,5\n")
    b = write(tmp_path, "b.csv", "id,tier\n3,gold\n")
    from graphcrm.loaders import build_graph
    g, _ = build_graph(read_nodes(a), read_nodes(b))
    back = load_snapshot(save_snapshot(g, tmp_path / "snap"))
    assert back.nodes.set_index("account_id").tier.to_dict() == {1: "5", 3: "gold"}
    with pytest.raises(InvalidInputError, match="more than once"):
        read_nodes(write(tmp_path, "d.csv", "id,x,x\n1,2,3\n"))
    with pytest.raises(InputFileError, match="no data rows"):
        read_edges(write(tmp_path, "h.csv", "source,target\n"))


def test_arguments_are_checked(tmp_path):
    path = write(tmp_path, "e.csv", "source,target\n1,2\n")
    with pytest.raises(ParameterError, match="unknown column role"):
        read_edges(path, columns={"actr": "source"})
    with pytest.raises(ParameterError, match="has a header"):
        read_edges(path, columns=["target", "actor"])
    with pytest.raises(ParameterError, match="unknown interaction layer 'mention'"):
        read_interactions(write(tmp_path, "i.txt", "1 2 3 RT\n"), direction={"mention": "reverse"})
    with pytest.raises(ParameterError, match="unknown encoding"):
        read_edges(path, encoding="nope")
    with pytest.raises(ParameterError, match="delimiter"):
        read_edges(path, delimiter="::")


def test_self_loop_error_across_id_kinds(tmp_path):
    with pytest.raises(InputFileError, match="line 2, field 'target': actor and target are the same"):
        read_edges(write(tmp_path, "s.txt", "a 1\n1 1\n2 3\n"), self_loops="error")


def test_graph_edge_cases():
    g = GraphBuilder().add_events("retweets", [1, 2], [2, 3], time=[1341392400, 1341396000]).build()
    assert g.window(1341392400.0, 1341396001.0).layer("retweets").n_edges == 2
    assert g.window(datetime(2012, 7, 4, 9, 30, tzinfo=timezone.utc).timestamp()).layer("retweets").n_edges == 1
    assert g.subgraph({1, 2}).n_nodes == 2
    g.metadata["sources"].append("x")
    assert "x" not in g.metadata["sources"]
    mixed = (GraphBuilder().add_events("retweets", [1], [2], time=[1], sentiment=[0.5])
             .add_events("retweets", [2], [3], time=[2]).build())
    assert mixed.equals(mixed)
    with pytest.raises(ParameterError, match="long before the latest event"):
        g.interaction_strength(reference_time=0, half_life=60)


def test_damaged_manifest_and_arrays(tmp_path):
    path = save_snapshot(GraphBuilder().add_edges("x", [1, 2], [2, 3]).build(), tmp_path / "s")
    manifest = json.loads((path / "manifest.json").read_text())
    broken = dict(manifest)
    del broken["layers"]
    (path / "manifest.json").write_text(json.dumps(broken))
    with pytest.raises(SnapshotError, match="manifest is damaged"):
        load_snapshot(path)
    (path / "manifest.json").write_text(json.dumps(manifest))
    indices = path / "layers" / "x" / "out_indices.npy"
    arr = np.load(indices)
    arr[0] = 99
    np.save(indices, arr)
    with pytest.raises(SnapshotError, match="inconsistent arrays"):
        load_snapshot(path)


def test_conversion_input_errors_are_clear():
    import networkx as nx

    from graphcrm.loaders.convert import from_networkx, to_networkx

    floaty = nx.DiGraph()
    floaty.add_edge(1.5, 2)
    with pytest.raises(InvalidInputError, match="node names must be integers or strings"):
        from_networkx(floaty)
    heavy = nx.DiGraph()
    heavy.add_edge(1, 2, weight="heavy")
    with pytest.raises(InvalidInputError, match="weight 'heavy' is not a number"):
        from_networkx(heavy)
    g = GraphBuilder().add_edges("x", [1], [2]).add_nodes([1, 2], pd.DataFrame({"tags": [["a", "b"], None]})).build()
    assert dict(to_networkx(g, "x").nodes(data=True)) == {1: {"tags": ["a", "b"]}, 2: {}}


def test_neighbouring_seeds_give_independent_simulations(wiki_graph):
    # stream_state(seed + 1, run) used to be stream_state(seed, run) shifted by one draw: run sizes under seeds
    # 0 and 1 correlated at 0.34 on wiki-Vote
    from graphcrm.algorithms import simulate

    seeds = wiki_graph.id_map.to_external(np.argsort(-wiki_graph.layer("votes").out_degree())[:10])
    base = simulate(wiki_graph, seeds, layer="votes", n_runs=5_000, seed=0).sizes
    for other in (1, 2, 1000):
        sizes = simulate(wiki_graph, seeds, layer="votes", n_runs=5_000, seed=other).sizes
        assert abs(np.corrcoef(base, sizes)[0, 1]) < 0.06      # 4 standard errors of a zero correlation


def test_repeated_rows_without_weights_count_on_a_summed_layer(tmp_path):
    """`1 2` three times in an edge file without weights, into an interaction layer (retweets, mentions ...), is
    one tie of weight 3 -- as with a weight column of ones or as interactions; it once came out weight 1. A plain
    edge list (follows, a custom layer) is a simple graph, as networkx and igraph read it, and a file without
    repeats stays unweighted (no weights to store)."""
    rows = write(tmp_path, "dup.txt", "1 2\n1 2\n1 2\n2 3\n")
    for layer in ("retweets", "mentions"):
        lay = load_edges(rows, layer=layer).layer(layer)
        assert sorted(lay.out_weights.tolist()) == [1.0, 3.0], layer
    for layer in ("follows", "calls"):
        assert load_edges(rows, layer=layer).layer(layer).out_weights is None, layer
    assert load_edges(write(tmp_path, "uniq.txt", "1 2\n2 3\n"), layer="likes").layer("likes").out_weights is None


def test_lenient_rejects_quote_the_rejected_line_and_broken_json_is_a_malformed_row(tmp_path):
    """Field errors found by the fast reader used to leave the rejects file's `text` empty (the user had to look
    the line up); a broken JSON line was classed `column_count`."""
    parsed = read_edges(write(tmp_path, "w.csv", "src,dst,weight\n1,2,x\n2,3,1\n4,,2\n"), mode="lenient")
    rejects = parsed.report.rejects
    assert rejects.text.tolist() == ["1,2,x", "4,,2"] and rejects.line.tolist() == [2, 4]
    events = write(tmp_path, "e.jsonl", '{"actor": 1, "target": 2, "type": "RT", "time": 5}\n{"actor": 1,\n')
    parsed = read_interactions(events, mode="lenient")
    assert parsed.report.rejected == {"malformed_row": 1}


def test_lowercase_iso_times_load_and_millisecond_epochs_get_a_hint(tmp_path):
    events = write(tmp_path, "t.csv", "actor,target,type,time\n1,2,RT,2012-07-04t09:00:00z\n")
    assert load_interactions(events).events("retweets").time.tolist() == [1341392400]
    with pytest.raises(InputFileError, match="looks like milliseconds: divide by 1,000"):
        read_interactions(write(tmp_path, "ms.csv", "actor,target,type,time\n1,2,RT,1341392400000\n"))


def test_rows_after_a_quoted_field_spanning_lines_keep_their_line_numbers(tmp_path):
    """A text field with a line break inside quotes made every later row's line number one too small (and the
    rejects file then quoted the wrong line)."""
    events = write(tmp_path, "t.csv", 'source,target,type,time,text\n1,2,RT,1341392400,"two\nlines"\n'
                                      '3,4,RT,1341392402,ok\n4,5,XX,1341392403,bad\n')
    rejects = read_interactions(events, mode="lenient").report.rejects
    assert rejects.line.tolist() == [5] and rejects.text.tolist() == ["4,5,XX,1341392403,bad"]


def test_an_id_only_node_table_adds_accounts_without_attributes(tmp_path):
    """A node table with only an id column (accounts without ties, e.g. new customers' accounts) once failed with
    '3 ids but 0 attribute rows'."""
    from graphcrm.loaders.api import build_graph

    edges = write(tmp_path, "e.csv", "1,2\n")
    for name, text in (("ids.csv", "id\n1\n2\n3\n"), ("ids.txt", "1\n2\n3\n")):
        g, _ = build_graph(read_edges(edges, layer="x"), read_nodes(write(tmp_path, name, text)))
        assert g.n_nodes == 3 and sorted(g.id_map.ids.tolist()) == [1, 2, 3]


def test_tables_read_back_as_written_numbers_as_numbers_and_blank_ids_skipped(tmp_path):
    """Review of the shared id readers: community ids read back as integers (sorted 0, 1, 2, 10, not as text
    '0', '1', '10', '2'), an empty id cell of a table is a customer without an account (skipped, as before), and
    segment files keep 19-digit ids whole beside a blank or text cell."""
    from graphcrm.report import segments_from_table
    from graphcrm.tables import read_id_list, read_partition

    part = read_partition(write(tmp_path, "p.csv", "account_id,community\n5,10\n7,2\nNA,0\n"))
    assert part.to_dict() == {"5": 10, "7": 2, "NA": 0} and part.dtype == np.int64
    assert read_id_list(write(tmp_path, "seg.csv", "customer_id,account_id\nc1,7\nc2,\nc3,9\n")) == ["7", "9"]
    big = 1234567890123456789
    g = GraphBuilder().add_edges("x", [big, 2], [2, 3]).build()
    frame = pd.DataFrame({"account_id": [str(big), "", "x"], "segment": ["vip", "a", "b"]})
    seg = segments_from_table(g, frame)
    assert seg.to_dict() == {big: "vip"} and seg.attrs["unmatched"] == 2
    from graphcrm.crm.export import read_links

    links = write(tmp_path, "links.csv", "customer_id,account_id\nc1,2\nc2,007\n")
    with pytest.raises(InputFileError, match="line 3, field 'account_id': '007' is not an account id"):
        read_links(links, GraphBuilder().add_edges("x", [7, 2], [2, 3]).build())


def test_api_numbers_are_checked_before_any_kernel_sees_them():
    """QA (Python API): n_runs=10.0 reached numba as a TypingError, betweenness(n_samples=-5) returned -0.0
    everywhere, celf_greedy(k=-1) and degree_discount(k=0) returned nothing, top(-1) returned n - 1 rows."""
    import networkx as nx

    from graphcrm.algorithms.centrality import betweenness, pagerank
    from graphcrm.algorithms.diffusion import simulate
    from graphcrm.algorithms.planning import celf_greedy, degree_discount
    from graphcrm.loaders.convert import from_networkx
    from graphcrm.loaders.errors import ParameterError

    g = from_networkx(nx.gnp_random_graph(30, 0.2, seed=1, directed=True))
    assert len(simulate(g, [0], layer="edges", n_runs=10.0, seed=1).sizes) == 10
    for call in (lambda: simulate(g, [0], layer="edges", n_runs="10"),
                 lambda: simulate(g, [0], layer="edges", n_runs=10, max_steps=2.5),
                 lambda: betweenness(g, layer="edges", n_samples=-5),
                 lambda: celf_greedy(g, layer="edges", k=-1),
                 lambda: degree_discount(g, layer="edges", k=2.5),
                 lambda: pagerank(g, layer="edges").top(-1)):
        with pytest.raises(ParameterError, match="whole number"):
            call()


def test_stance_refuses_a_layer_that_expresses_no_sign_and_a_layer_named_by_a_list():
    import networkx as nx

    from graphcrm.leaders import stance
    from graphcrm.loaders.convert import from_networkx
    from graphcrm.loaders.errors import LayerNotFoundError, ParameterError

    g = from_networkx(nx.karate_club_graph(), layer="email")
    with pytest.raises(ParameterError, match="expresses no sign"):
        stance(g, layer="email")
    with pytest.raises(LayerNotFoundError, match="named by one string"):
        g.layer(["email"])


def test_an_undirected_layer_goes_back_to_networkx_and_igraph_undirected():
    """QA: nx.Graph -> from_networkx -> to_networkx gave a DiGraph with both arcs (core numbers doubled)."""
    import networkx as nx

    from graphcrm.algorithms.centrality import coreness
    from graphcrm.loaders.convert import from_networkx, to_igraph, to_networkx

    karate = nx.karate_club_graph()
    g = from_networkx(karate)
    back = to_networkx(g)
    assert not back.is_directed() and back.number_of_edges() == karate.number_of_edges()
    assert nx.core_number(back) == {int(k): int(v) for k, v in
                                    zip(coreness(g, layer="edges").to_frame().account_id,
                                        coreness(g, layer="edges").to_frame().coreness)}
    ig_graph = to_igraph(g, "edges")
    assert not ig_graph.is_directed() and ig_graph.ecount() == karate.number_of_edges()
