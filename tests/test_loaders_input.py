"""Every bad-input class: strict errors name file, line, field and what was expected; lenient mode reports."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import numpy as np
import pytest

from graphcrm.loaders.errors import InputFileError, InvalidInputError
from graphcrm.loaders import (
    build_graph,
    load_edges,
    load_interactions,
    read_edges,
    read_interactions,
    read_nodes,
    read_signed,
    write_rejects,
)


def write(tmp_path, name, text, *, encoding="utf-8", gz=False):
    path = tmp_path / name
    data = text.encode(encoding) if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


GOOD_EVENTS = "1 2 1341100972 RT\n2 3 1341100973 MT\n3 1 1341100974 RE\n"


@pytest.mark.parametrize("text, line, field, words", [
    ("1 2 1341100972 RT\n1 2 1341100973\n", 2, None, "expected 4 fields"),
    ("1 2 1341100972 RT\n1 2 1341100973 XX\n", 2, "type", "unknown type 'XX'; expected one of"),
    ("1 2 1341100972 RT\n1 2 yesterday RT\n", 2, "time", "'yesterday' is not a timestamp"),
    ("1 2 1341100972 RT\n2 2 1341100973 RT\n", 2, "target", "same account"),
])
def test_event_errors_strict(tmp_path, text, line, field, words):
    path = write(tmp_path, "events.txt", text)
    with pytest.raises(InputFileError) as err:
        read_interactions(path, self_loops="error")
    e = err.value
    assert (e.path, e.line, e.field) == (str(path), line, field)
    assert words in str(e)
    assert str(e).startswith(f"{path}, line {line}")


def test_error_line_counts_comments_and_header(tmp_path):
    path = write(tmp_path, "edges.csv", "# exported 2026\nsource,target,weight\n1,2,1.5\n2,3,heavy\n")
    with pytest.raises(InputFileError, match=r"line 4, field 'weight': 'heavy' is not a finite number"):
        read_edges(path)


def test_first_bad_row_wins_across_classes(tmp_path):
    # line 2 has a bad number (found by column validation), line 3 a wrong field count (found while tokenising)
    path = write(tmp_path, "e.txt", "1 2 1.0\n1 3 x\n1 2 3 4 5\n")
    with pytest.raises(InputFileError, match="line 2, field 'weight'"):
        read_edges(path)


def test_lenient_mode_rejects_with_counts(tmp_path):
    text = GOOD_EVENTS + "1 2 1341100975\n4 5 never RT\n5 6 1341100976 ZZ\n6 7 1341100977 RT\n7 7 1341100978 RT\n"
    path = write(tmp_path, "events.txt.gz", text, gz=True)
    parsed = read_interactions(path, mode="lenient", self_loops="error")
    r = parsed.report
    assert (r.rows_read, r.rows_loaded) == (8, 4)
    assert dict(r.rejected) == {"column_count": 1, "bad_timestamp": 1, "unknown_type": 1, "self_loop": 1}
    assert r.rejects.line.tolist() == [4, 5, 6, 8]
    out = write_rejects([r], tmp_path / "rejects.csv")
    frame = pd.read_csv(out)
    assert frame.error.tolist() == ["column_count", "bad_timestamp", "unknown_type", "self_loop"]
    g, _ = build_graph(parsed)
    assert sum(len(g.layer(n).events) for n in g.layer_names) == 4


def test_wrong_encoding_is_reported_not_crashed(tmp_path):
    path = write(tmp_path, "names.csv", "source,target\nzoë,bob\nbob,amélie\n", encoding="latin-1")
    with pytest.raises(InputFileError, match=r"line 2: bytes not valid utf-8 \(0xeb at column 3\).*encoding='latin-1'"):
        read_edges(path)
    g = load_edges(path, encoding="latin-1")
    assert sorted(g.id_map.ids.tolist()) == ["amélie", "bob", "zoë"]


def test_bad_bytes_later_in_file(tmp_path):
    good = "".join(f"u{i},u{i + 1}\n" for i in range(5000))
    path = write(tmp_path, "late.csv", good.encode() + b"caf\xe9,bob\n" + b"x,y\n")
    with pytest.raises(InputFileError, match="line 5001: bytes not valid utf-8"):
        read_edges(path, header=False)
    parsed = read_edges(path, header=False, mode="lenient")
    assert parsed.report.rejected == {"encoding": 1} and parsed.report.rows_loaded == 5001


def test_utf16_file(tmp_path):
    path = write(tmp_path, "u16.csv", "\ufeffsource,target\n1,2\n", encoding="utf-16-le")
    with pytest.raises(InputFileError, match="UTF-16"):
        read_edges(path)


def test_missing_file_empty_file_and_truncated_gzip(tmp_path):
    with pytest.raises(InvalidInputError, match="no such file"):
        read_edges(tmp_path / "nope.txt")
    with pytest.raises(InputFileError, match="no data rows"):
        read_edges(write(tmp_path, "empty.txt", "# only a comment\n\n"))
    full = gzip.compress(("".join(f"{i} {i + 1}\n" for i in range(200_000))).encode())
    path = write(tmp_path, "cut.txt.gz", full[: len(full) // 2])
    with pytest.raises(InputFileError, match="truncated"):
        read_edges(path)


def test_missing_columns_in_header(tmp_path):
    path = write(tmp_path, "e.csv", "who,whom_else\n1,2\n")
    with pytest.raises(InvalidInputError, match="missing column"):
        read_edges(path, header=True)
    g = load_edges(path, columns={"actor": "who", "target": "whom_else"}, layer="x")
    assert g.layer("x").n_edges == 1


def test_missing_values_and_non_finite_weights(tmp_path):
    path = write(tmp_path, "e.csv", "source,target,weight\n1,2,1\n1,,2\n3,4,inf\n")
    parsed = read_edges(path, mode="lenient")
    assert dict(parsed.report.rejected) == {"missing_value": 1, "bad_number": 1}
    with pytest.raises(InputFileError, match="line 3, field 'target': missing account id"):
        read_edges(path)


def test_parquet_jsonl_dataframe_sources(tmp_path):
    frame = pd.DataFrame({"actor": [1, 2, 3], "target": [2, 3, 1], "type": ["RT", "reply", "MT"],
                          "timestamp": ["2012-07-04T07:00:00Z", "2012-07-04T07:01:00Z", "1341385300"]})
    frame.to_parquet(tmp_path / "ev.parquet")
    with open(tmp_path / "ev.jsonl", "w") as fh:
        for rec in frame.to_dict("records"):
            fh.write(json.dumps(rec) + "\n")
    graphs = [load_interactions(s) for s in (frame, tmp_path / "ev.parquet", tmp_path / "ev.jsonl")]
    assert graphs[0].equals(graphs[1]) and graphs[0].equals(graphs[2])
    assert graphs[0].layer("retweets").events.time.tolist() == [1341385200]
    bad = frame.assign(type=["RT", "boo", "MT"])
    with pytest.raises(InputFileError, match=r"<DataFrame>, row 2, field 'type': unknown type 'boo'"):
        load_interactions(bad)
    bad.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(InputFileError, match=r"bad.parquet, row 2"):
        load_interactions(tmp_path / "bad.parquet")
    with open(tmp_path / "bad.jsonl", "w") as fh:
        fh.write(json.dumps(frame.iloc[0].to_dict()) + "\n{not json\n")
    with pytest.raises(InputFileError, match=r"bad.jsonl, line 2: not a JSON object"):
        load_interactions(tmp_path / "bad.jsonl")


def test_node_table(tmp_path):
    path = write(tmp_path, "nodes.csv", "account_id,handle,follower_count,price\n1,@ann,100,5.5\n2,@bob,7,1\n")
    parsed = read_nodes(path)
    edges = read_edges(pd.DataFrame({"src": [1, 3], "dst": [2, 1]}))
    g, _ = build_graph(parsed, edges)
    nodes = g.nodes.set_index("account_id")
    assert nodes.loc[1, "handle"] == "@ann" and nodes.loc[1, "followers"] == 100 and nodes.loc[2, "cost"] == 1
    assert pd.isna(nodes.loc[3, "cost"])
    dup = write(tmp_path, "dup.csv", "id,cost\n1,2\n2,3\n1,4\n")
    with pytest.raises(InputFileError, match="line 4, field 'id': account 1 is listed more than once"):
        read_nodes(dup)
    neg = write(tmp_path, "neg.csv", "id,cost\n1,-2\n")
    with pytest.raises(InputFileError, match="line 2, field 'cost': cost must be >= 0"):
        read_nodes(neg)


def test_signed_with_and_without_header(tmp_path):
    a = write(tmp_path, "a.csv", "source,target,rating,time\n1,2,-5,1289241911.7\n2,1,10,1289241912\n")
    b = write(tmp_path, "b.csv", "1,2,-5,1289241911.7\n2,1,10,1289241912\n")
    ga, gb = (build_graph(read_signed(p))[0] for p in (a, b))
    assert ga.equals(gb)
    assert ga.edges("trust").weight.tolist() == [10.0, -5.0]
    with pytest.raises(InputFileError, match="line 2, field 'weight'"):
        read_signed(write(tmp_path, "c.csv", "source,target,rating\n1,2,good\n"))


def test_snap_whitespace_runs_and_mid_file_comments(tmp_path):
    path = write(tmp_path, "s.txt", "# header\n1   2\n  2\t3\n# middle\n3 4\n\n")
    parsed = read_edges(path, layer="x")
    assert parsed.report.path_taken == "precise" and parsed.report.rows_loaded == 3
    g, _ = build_graph(parsed)
    assert g.edges("x")[["src", "dst"]].values.tolist() == [[1, 2], [2, 3], [3, 4]]


def test_string_ids_with_mid_file_comment_take_the_precise_path(tmp_path):
    path = write(tmp_path, "s.txt", "ann bob\n# note here\nbob cat\n")
    g = load_edges(path, layer="x")
    assert g.id_map.ids.tolist() == ["ann", "bob", "cat"]


def test_large_integer_ids_never_sized_by_value(tmp_path):
    path = write(tmp_path, "big.txt", f"{2**62} 5\n5 {10**15}\n")
    g = load_edges(path, layer="x")
    assert g.n_nodes == 3 and g.id_map.ids.tolist() == [5, 10**15, 2**62]


@pytest.mark.parametrize("name, args, kwargs", [
    ("pagerank", (), {}), ("coreness", (), {}), ("leiden", (), {}), ("fastrp", (), {}),
    ("simulate", ([1],), {}), ("plan_seeds", (), {"k": 1}), ("expected_reach", (), {}),
])
def test_an_algorithm_given_a_networkx_graph_says_how_to_convert_it(name, args, kwargs):
    import networkx as nx

    from graphcrm import algorithms
    from graphcrm.loaders.errors import ParameterError

    with pytest.raises(ParameterError, match=r"got a networkx DiGraph: convert it first with graphcrm.from_networkx"):
        getattr(algorithms, name)(nx.DiGraph([(1, 2), (2, 3)]), *args, layer="x", **kwargs)


@pytest.mark.parametrize("gz", [False, True])
def test_an_unclosed_quote_does_not_swallow_the_rest_of_the_file(tmp_path, gz):
    """pyarrow read `"hello` with no closing quote as a text running to the end of the file: 24 of 30 events
    vanished into it and the load said "6 of 6 rows loaded" (QA reliability F1)."""
    texts = ['"hello world' if i == 5 else f"msg {i}" for i in range(30)]
    rows = [f"u{i},u{i + 1},RT,{1700000000 + 60 * i},{texts[i]}" for i in range(30)]
    path = write(tmp_path, "ev.csv" + (".gz" if gz else ""), "src,dst,type,time,text\n" + "\n".join(rows) + "\n",
                 gz=gz)
    with pytest.raises(InputFileError, match=r"line 7: a quote opens a field in this line and is not closed"):
        read_interactions(path)
    lenient = read_interactions(path, mode="lenient")
    assert lenient.report.rows_loaded == 29 and dict(lenient.report.rejected) == {"unclosed_quote": 1}


def test_a_closed_text_spanning_lines_in_the_last_row_still_loads_fast(tmp_path):
    rows = [f"u{i},u{i + 1},RT,{1700000000 + 60 * i},msg {i}" for i in range(5)] + ['u5,u6,RT,1700000300,"two\nlines"']
    parsed = read_interactions(write(tmp_path, "ev.csv", "src,dst,type,time,text\n" + "\n".join(rows) + "\n"))
    assert parsed.report.rows_loaded == 6 and parsed.report.path_taken == "fast"


@pytest.mark.parametrize("end", ["\nb,c,MT,1700000100,short one\n", "\n", ""])
def test_a_first_row_longer_than_the_sniffed_head_loads(tmp_path, end):
    """A first post of 66 kB of text: the file was refused as "a header but no data rows" (QA reliability F4)."""
    text = "src,dst,type,time,text\na,b,MT,1700000000," + "x" * 66_000 + end
    parsed = read_interactions(write(tmp_path, "long.csv", text))
    assert parsed.report.rows_loaded == (2 if "short" in end else 1)
    assert len(parsed.columns["text"][0].as_py()) == 66_000


def test_a_node_attribute_whole_in_one_table_and_fractional_in_another_stays_a_number(tmp_path):
    """cost 5 in day 1's node table and 7.5 in day 2's became a text column (QA nightly F8)."""
    edges = read_edges(write(tmp_path, "e.csv", "src,dst\na,b\nb,c\n"), layer="x")
    one = read_nodes(write(tmp_path, "n1.csv", "account_id,cost\na,5\nb,6\n"))
    two = read_nodes(write(tmp_path, "n2.csv", "account_id,cost\nc,7.5\n"))
    for parts in ((one, two), (two, one)):
        graph, _ = build_graph(edges, *parts)
        assert str(graph.node_attributes.cost.dtype) == "Float64"
        assert graph.node_attributes.cost.tolist() == [5.0, 6.0, 7.5]


@pytest.mark.parametrize("name, text, strict_line, lenient_rows", [
    # valid: a multi-line text in a middle column of the last row (the file does not end in a quote)
    ("middle.csv", 'actor,target,type,text,time\na,b,reply,"hi",1\nc,d,reply,"line1\nline2",2\n', None, 2),
    ("many.csv", "actor,target,type,text,time\n" + "".join(f'u{i},v{i},RT,"a\nb",{i}\n' for i in range(50)), None, 50),
    # a runaway quote closed by the next quoted text: the rows between vanished into it
    ("closed_later.csv", 'actor,target,type,time,text\na,b,reply,1,"hello\nc,d,reply,2,x\ne,f,reply,3,"bye"\n'
                         'g,h,reply,4,"x"\n', 2, 3),
    # a quote inside an unquoted field is a plain character
    ("inches.csv", 'actor,target,type,time,text\na,b,reply,1,my 5" screen\nc,d,reply,2,ok\ne,f,reply,3,x,extra\n',
     4, 2),
])
def test_quotes_in_events_files(tmp_path, name, text, strict_line, lenient_rows):
    """Review of the unclosed-quote check: valid multi-line texts outside the last column were refused (the file
    did not end in a quote), a runaway quote closed by a later quoted text still swallowed rows, and a bare " in
    an unquoted field made the line-by-line reader reject the line."""
    path = write(tmp_path, name, text)
    if strict_line is None:
        assert read_interactions(path).report.rows_loaded == lenient_rows
    else:
        with pytest.raises(InputFileError, match=rf"line {strict_line}:"):
            read_interactions(path)
    assert read_interactions(path, mode="lenient").report.rows_loaded == lenient_rows


def test_the_line_by_line_reader_reads_texts_spanning_lines_and_long_fields(tmp_path):
    """QA own-data F1/F2: any bad row sent the whole file to the line-by-line reader, which rejected every row
    whose text spans lines (5,715 valid rows of 40,000 lost in lenient mode) and refused valid files with a blank
    first line or a comment line; a text over 128 KiB there was a traceback (csv's field size limit)."""
    rows = ["actor,target,time,type,text"] + [
        f"u{i},u{i + 1},{1700000000 + i},RT," + ('"line one, ok\nline two"' if i % 7 == 0 else "plain")
        for i in range(700)]
    body = "\n".join(rows) + "\n"
    lenient = read_interactions(write(tmp_path, "bad_row.csv", body + "v1,v2,1700009999,RT,oops,extra\n"),
                                mode="lenient")
    assert lenient.report.rows_loaded == 700 and dict(lenient.report.rejected) == {"column_count": 1}
    texts = [t if isinstance(t, str) else t.as_py() for t in lenient.columns["text"]]
    assert texts.count("line one, ok\nline two") == 100
    for name, text in (("blank_first.csv", "\n" + body), ("comment.csv", body + "# exported by a tool\n")):
        parsed = read_interactions(write(tmp_path, name, text))
        assert parsed.report.rows_loaded == 700, name
    long_text = "x" * 200_000
    parsed = read_interactions(write(tmp_path, "long.csv", "\n" + rows[0] + f'\na,b,1700000000,RT,"{long_text}"\n'))
    assert parsed.report.rows_loaded == 1 and str(parsed.columns["text"][0]) == long_text
    spanning = "\n".join(["y" * 100] * 15_000)            # 1.5 MB in one field: past pyarrow's block
    parsed = read_interactions(write(tmp_path, "huge.csv", rows[0] + f'\na,b,1700000000,RT,"{spanning}"\nc,d,1,RT,x\n'))
    assert parsed.report.rows_loaded == 2 and str(parsed.columns["text"][0]) == spanning


def test_json_lines_with_a_byte_order_mark_and_blank_lines_load_and_an_array_is_named(tmp_path):
    """QA own-data F13/F14: with a BOM and a blank line (the line-by-line reader) line 1 was rejected."""
    rows = ['{"actor": 1, "target": 2, "time": 1341100000, "type": "RT"}',
            '{"actor": 2, "target": 3, "time": 1341100001, "type": "RT"}']
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (rows[0] + "\n\n" + rows[1] + "\n").encode())
    assert read_interactions(path).report.rows_loaded == 2
    (tmp_path / "arr.json").write_text("[" + rows[0] + "]\n")
    with pytest.raises(InputFileError, match=r"line 1: not a JSON object \(a JSON array: write one object per line"):
        read_interactions(tmp_path / "arr.json")


def test_a_header_with_empty_trailing_columns_says_so(tmp_path):
    """QA own-data F14: Excel's empty trailing columns gave "header names a column more than once (source, target, , )"."""
    with pytest.raises(InvalidInputError, match=r"the header has 2 empty column names \(columns 3, 4: a spreadsheet"):
        read_edges(write(tmp_path, "e.csv", "source,target,,\n1,2,,\n2,3,,\n"), layer="x")
    with pytest.raises(InvalidInputError, match=r"names a column more than once: a \(columns 1, 3\)"):
        read_nodes(write(tmp_path, "n.csv", "a,b,a\n1,2,3\n"))


def test_semicolon_separated_files_from_decimal_comma_locales(tmp_path):
    """QA own-data F8: `1;2;0,5` in a .csv loaded as the edges "1;2;0" -> "5" (split at the decimal comma)."""
    with pytest.raises(InputFileError, match=r"line 1, field 'weight': '0,5' is not a finite number"):
        read_edges(write(tmp_path, "w.csv", "1;2;0,5\n2;3;1,5\n"), layer="x")
    parsed = read_edges(write(tmp_path, "h.csv", "source;target;weight\nann;bob;2\nbob;cat;3\n"), layer="x")
    assert parsed.report.rows_loaded == 2 and list(parsed.columns["weight"]) == [2.0, 3.0]
    assert read_edges(write(tmp_path, "c.csv", "source,target\nann,bob;x\n"), layer="x").report.rows_loaded == 1


def test_excels_sep_line_names_the_delimiter_of_every_table(tmp_path):
    """QA own-data: Excel's first line `sep=;` was honoured by the customers reader only; an edge file with it
    failed on line 1 ("missing account id")."""
    parsed = read_edges(write(tmp_path, "s.csv", "sep=;\nsource;target\nann;bob\nbob;cat\n"), layer="x")
    assert parsed.report.rows_loaded == 2 and parsed.columns["actor"].to_pylist() == ["ann", "bob"]
    parsed = read_edges(write(tmp_path, "t.csv", "sep=,\n1,2\n2,3\n3,1\n"), layer="x")
    assert parsed.report.rows_loaded == 3 and np.asarray(parsed.columns["actor"]).tolist() == [1, 2, 3]
    # the line-by-line reader (a blank line sends the file there) skips it too
    parsed = read_edges(write(tmp_path, "u.csv", "sep=,\n\n1,2\n2,3\n"), layer="x")
    assert parsed.report.rows_loaded == 2 and not parsed.report.n_rejected
    for name, text in (("tab.tsv", "sep=\t\nsource\ttarget\nann\tbob\n"), ("q.csv", '"sep=;"\nsource;target\nann;bob\n')):
        parsed = read_edges(write(tmp_path, name, text), layer="x")      # a tab; quoted by another tool
        assert parsed.report.rows_loaded == 1 and parsed.columns["actor"].to_pylist() == ["ann"], name
    nodes = read_nodes(write(tmp_path, "n.csv", "sep=;\nid;city\nann;Paris\n"))
    assert np.asarray(nodes.columns["city"]).tolist() == ["Paris"]


def test_a_first_row_of_words_whose_accounts_appear_nowhere_else_is_warned_about(tmp_path):
    """QA own-data: `Name,Friend` over `alice,bob` loaded the header as a tie without a word (no column name is
    known, and no field is a number)."""
    parsed = read_edges(write(tmp_path, "h.csv", "Name,Friend\nalice,bob\nbob,carol\ncarol,alice\n"), layer="x")
    (warning,) = [w for w in parsed.report.warnings if "line 1" in w]
    assert "('Name', 'Friend') was loaded as a tie" in warning and "--header --source-col Name --target-col Friend" in warning
    parsed = read_edges(write(tmp_path, "h.csv", "Name,Friend\nalice,bob\nbob,carol\ncarol,alice\n"), layer="x",
                        header=True, columns={"actor": "Name", "target": "Friend"})
    assert parsed.report.rows_loaded == 3 and not parsed.report.warnings
    # a first tie whose accounts recur, a numeric first row, or an explicit header=False: no warning
    for text, kw in (("alice,bob\nbob,carol\ncarol,alice\n", {}), ("1,2\n3,4\n5,6\n", {}),
                     ("Name,Friend\nalice,bob\nbob,carol\n", {"header": False})):
        parsed = read_edges(write(tmp_path, "q.csv", text), layer="x", **kw)
        assert not [w for w in parsed.report.warnings if "appear in no other row" in w], text


def test_an_id_with_a_nul_character_is_refused_by_row_or_rejected(tmp_path):
    """numpy's fixed-width text drops a trailing NUL, so ``a\\x00`` and ``a`` became one account on append and
    a damaged snapshot on a full load; such an id is now a user error naming the row (lenient: a reject)."""
    from graphcrm.loaders import GraphBuilder, build_graph, read_interactions

    path = tmp_path / "e.csv"
    path.write_bytes(b"actor,target,type,time\na,c,RT,10\nb,c,RT,11\na\x00,c,RT,20\nb,a,MT,21\n")
    with pytest.raises(InvalidInputError, match=r"line 4, field 'actor'.*NUL"):
        read_interactions(path)
    parsed = read_interactions(path, mode="lenient")
    assert parsed.report.rejected == {"bad_id": 1} and parsed.report.rows_loaded == 3
    g, _ = build_graph(parsed)
    assert g.id_map.ids.tolist() == ["a", "b", "c"]
    with pytest.raises(InvalidInputError, match="NUL"):
        GraphBuilder().add_edges("follows", ["a\x00", "b"], ["b", "a"]).build()


def test_the_builder_trims_text_ids_as_the_readers_do_and_refuses_an_empty_one(tmp_path):
    """A file row `` alice ,bob`` is alice; the Python builder agrees, so one account never becomes two."""
    from graphcrm.loaders import GraphBuilder, build_graph, read_edges

    path = tmp_path / "e.csv"
    path.write_text("source,target\n alice ,bob\ncarol, bob\n", encoding="utf-8")
    from_file, _ = build_graph(read_edges(path))
    built = GraphBuilder().add_edges("edges", [" alice ", "carol\t"], ["bob", "\u00a0bob"]).build()
    assert built.id_map.ids.tolist() == from_file.id_map.ids.tolist() == ["alice", "bob", "carol"]
    assert built.layers["edges"].n_edges == 2
    for bad in ("", "   "):
        with pytest.raises(InvalidInputError, match="empty"):
            GraphBuilder().add_edges("follows", ["a", bad], ["b", "a"]).build()


def test_a_whole_float_in_a_mixed_id_column_is_the_integer_account(tmp_path):
    from graphcrm.loaders import build_graph, read_edges, read_interactions

    g, _ = build_graph(read_edges(pd.DataFrame({"source": pd.Series([1.0, "z"], dtype=object),
                                                "target": ["a", "b"]})))
    assert sorted(g.id_map.ids.tolist()) == ["1", "a", "b", "z"]
    events = pd.DataFrame({"actor": pd.Series([8.0, "q"], dtype=object), "target": ["a", "b"],
                           "type": ["RT", "RT"], "time": [1, 2]})
    g, _ = build_graph(read_interactions(events))
    assert "8" in g.id_map.ids.tolist() and "8.0" not in g.id_map.ids.tolist()


def test_a_parsed_source_built_once_cannot_be_built_again_by_accident(tmp_path):
    from graphcrm.loaders import ParameterError, build_graph, read_edges

    parsed = read_edges(pd.DataFrame({"source": ["a", "b", "c"], "target": ["b", "c", "a"]}))
    g, _ = build_graph(parsed)                              # the Python default: sources stay whole
    again, _ = build_graph(parsed, consume=True)            # the CLI and the pipeline: rows handed over
    assert g.layer("follows").n_edges == again.layer("follows").n_edges == 3
    with pytest.raises(ParameterError, match="handed to build_graph"):
        build_graph(parsed)


def test_a_very_long_text_id_appends_like_a_full_load(tmp_path):
    """Text ids are kept as Python strings in the snapshot writer and the merge (a fixed-width copy took 4 bytes
    per character of the longest id for every account: one 1,000-character URL made a 1M-account load 4.5 GB)."""
    from graphcrm.loaders import build_graph, load_snapshot, read_interactions, save_snapshot
    from graphcrm.loaders.merge import append_snapshot

    long_id = "https://example.com/" + "x" * 5000
    day1 = pd.DataFrame({"actor": ["a", "é", "b"], "target": ["b", "a", "c"], "type": "RT", "time": [1, 2, 3]})
    day2 = pd.DataFrame({"actor": [long_id, "zz", "a"], "target": ["a", "é", "d"], "type": "RT", "time": [4, 5, 6]})
    snap = tmp_path / "s"
    save_snapshot(build_graph(read_interactions(day1))[0], snap)
    assert append_snapshot(snap, read_interactions(day2)).mode == "merge"
    full = build_graph(read_interactions(pd.concat([day1, day2], ignore_index=True)))[0]
    appended = load_snapshot(snap)
    assert appended.equals(full)
    assert appended.id_map.ids.tolist() == sorted(["a", "b", "c", "d", "zz", "é", long_id])


def test_a_row_dated_far_after_the_rest_of_the_log_is_named_in_a_warning(tmp_path):
    """QA: one row a year late made every real event a year old for the decayed scores and the forecast
    (communities of a 3-week log: modularity 0.57 -> 0).  The load now says so, with the date."""
    from graphcrm.loaders import read_interactions

    rng = np.random.default_rng(3)
    t = np.sort(rng.integers(1_600_000_000, 1_600_000_000 + 21 * 86_400, 400))
    rows = [f"u{rng.integers(50)},u{rng.integers(50)},RT,{x}" for x in t] + ["x1,h1,RT,1632000000"]
    path = tmp_path / "e.csv"
    path.write_text("actor,target,type,time\n" + "\n".join(rows) + "\n")
    warnings = read_interactions(path).report.warnings
    assert any("1 event lies far after the other 400 (2021-09-18" in w for w in warnings), warnings
    path.write_text("actor,target,type,time\n" + "\n".join(rows[:-1]) + "\n")
    assert not any("far after" in w for w in read_interactions(path).report.warnings)
    frame = pd.DataFrame([r.split(",") for r in rows], columns=["actor", "target", "type", "time"])
    frame["time"] = frame["time"].astype("int64")
    assert any("far after" in w for w in read_interactions(frame).report.warnings)      # tables too
    frame.to_parquet(tmp_path / "e.parquet")
    assert any("far after" in w for w in read_interactions(tmp_path / "e.parquet").report.warnings)


def test_a_text_id_with_spaces_around_it_finds_the_account_the_readers_stored_stripped():
    from graphcrm.loaders.idmap import IdMap

    m = IdMap(np.array(["1988", "ann", "bob"], dtype=object))
    assert m.lookup([" 1988", "ann", "zz", "bob "]).tolist() == [0, 1, -1, 2]
    exact = IdMap(np.array([" x", "x"], dtype=object))          # an id stored with its space is found as written
    assert exact.lookup([" x", "x"]).tolist() == [0, 1]


def test_a_lone_surrogate_id_from_python_is_an_input_error_not_a_unicode_traceback():
    from graphcrm.loaders import GraphBuilder

    with pytest.raises(InvalidInputError, match="not valid Unicode"):
        GraphBuilder().add_edges("follows", ["a\ud800", "b"], ["b", "a"]).build()
