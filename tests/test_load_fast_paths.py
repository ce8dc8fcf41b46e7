"""The loaders' fast paths give exactly what their general paths give.

Integer ids map to dense ids through a direct-address table when their span is narrow
(:func:`graphcrm.loaders.builder._direct_int_codes`) and through hash factorisation otherwise; both must
produce the same id map and the same arrays, on hand-made inputs and on random ones.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphcrm.loaders import GraphBuilder, builder, load_edges


def _force_hash(monkeypatch):
    monkeypatch.setattr(builder, "DIRECT_SLOTS_PER_ID", 0)
    monkeypatch.setattr(builder, "DIRECT_MIN_SLOTS", 0)


def _spy_paths(monkeypatch) -> dict:
    """Count calls of the direct table and of the hash ranking, to know which path a build took."""
    seen = {"direct": 0, "hash": 0}
    direct, ranks = builder._direct_int_codes, builder._global_ranks

    def spy_direct(*a, **kw):
        out = direct(*a, **kw)
        seen["direct"] += out is not None
        return out

    def spy_ranks(*a, **kw):
        seen["hash"] += 1
        return ranks(*a, **kw)

    monkeypatch.setattr(builder, "_direct_int_codes", spy_direct)
    monkeypatch.setattr(builder, "_global_ranks", spy_ranks)
    return seen


def _build(parts, nodes=None):
    b = GraphBuilder()
    for layer, actor, target, weight in parts:
        b.add_edges(layer, actor, target, weight)
    if nodes is not None:
        b.add_nodes(nodes)
    return b.build()


def _both_paths(monkeypatch, make):
    seen = _spy_paths(monkeypatch)
    fast = make()
    assert seen == {"direct": 1, "hash": 0}
    with monkeypatch.context() as m:
        _force_hash(m)
        slow = make()
    assert seen == {"direct": 1, "hash": 1}
    return fast, slow


@pytest.mark.parametrize("threaded", [False, True])
def test_direct_ids_match_hash_ids_on_a_hand_made_graph(monkeypatch, threaded):
    if threaded:
        monkeypatch.setattr(builder, "DIRECT_THREADED_IDS", 0)   # the runs on two threads, as for large inputs
    actor = pa.chunked_array([[5, -3, 9], [], [9, 12]], type=pa.int64())     # arrow chunks, one empty
    target = np.array([9, 5, -3, 40, 5])
    fast, slow = _both_paths(monkeypatch, lambda: _build(
        [("follows", actor, target, None), ("mentions", [40, 41], [7, 5], [2.0, 0.5])], nodes=[100, -3, 6]))
    assert fast.equals(slow)
    assert fast.ids_of(np.arange(fast.n_nodes)).tolist() == [-3, 5, 6, 7, 9, 12, 40, 41, 100]
    assert fast.edges("follows").values.tolist() == slow.edges("follows").values.tolist()
    assert fast.nodes.index.tolist() == slow.nodes.index.tolist()


def test_wide_ids_take_the_hash_path(monkeypatch):
    seen = _spy_paths(monkeypatch)
    g = _build([("follows", [1, 2**62, -(2**63)], [2**63 - 1, 1, 7], None)])
    assert seen == {"direct": 0, "hash": 1}
    assert g.ids_of(np.arange(g.n_nodes)).tolist() == [-(2**63), 1, 7, 2**62, 2**63 - 1]


def test_the_span_limit_scales_with_the_rows(monkeypatch):
    seen = _spy_paths(monkeypatch)
    monkeypatch.setattr(builder, "DIRECT_MIN_SLOTS", 16)
    _build([("follows", [0, 1], [2, 8], None)])                    # span 9 <= 16
    assert seen == {"direct": 1, "hash": 0}
    _build([("follows", [0, 1], [2, 17], None)])                   # span 18 > max(2 * 4 ids, 16)
    assert seen == {"direct": 1, "hash": 1}


def test_duplicate_node_rows_are_still_an_error(monkeypatch):
    from graphcrm.loaders.errors import InvalidInputError

    seen = _spy_paths(monkeypatch)
    with pytest.raises(InvalidInputError, match="same account id appears on several rows"):
        _build([("follows", [1, 2], [2, 3], None)], nodes=[3, 3])
    assert seen["direct"] == 1


@settings(max_examples=60, deadline=None)
@given(st.integers(-(2**40), 2**40), st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300)), min_size=1,
                                               max_size=200),
       st.integers(1, 4), st.booleans())
def test_direct_ids_match_hash_ids_on_random_graphs(offset, rows, n_chunks, weighted):
    actor = np.array([a for a, _ in rows], dtype=np.int64) + offset
    target = np.array([b for _, b in rows], dtype=np.int64) + offset
    cuts = np.linspace(0, len(actor), n_chunks + 1).astype(int)
    chunked = pa.chunked_array([actor[a:b] for a, b in zip(cuts[:-1], cuts[1:])], type=pa.int64())
    weight = np.arange(len(actor), dtype=np.float64) if weighted else None
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(builder, "DIRECT_THREADED_IDS", 0 if n_chunks % 2 else builder.DIRECT_THREADED_IDS)
        fast, slow = _both_paths(mp, lambda: _build([("follows", chunked, target, weight),
                                                     ("retweets", target[:5], actor[:5], None)]))
    assert fast.equals(slow)


def test_load_edges_gives_the_same_graph_either_way(tmp_path, monkeypatch):
    f = tmp_path / "e.txt"
    f.write_text("# a comment\n3\t1\n1\t2\n2\t3\n3\t1\n7\t7\n")
    fast, slow = _both_paths(monkeypatch, lambda: load_edges(f, layer="edges"))
    assert fast.equals(slow)
    assert fast.layer("edges").build_report == slow.layer("edges").build_report


@given(st.lists(st.integers(0, 1000), max_size=40), st.integers(1, 9))
def test_split_even_keeps_every_item_in_order(sizes, parts):
    runs = builder._split_even(list(range(len(sizes))), sizes, parts)
    assert [i for run in runs for i in run] == list(range(len(sizes)))
    assert len(runs) <= parts and all(runs)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=6)
                .filter(str.strip), min_size=2, max_size=40),
       st.integers(0, 3))
def test_text_ids_rank_in_code_point_order_from_arrow_and_python_columns(words, cut):
    """Text ids are ranked in arrow; the dense index must still be the rank in Python's string order (the
    order the append merge and ``IdMap`` search in), whether the columns came from a file or from Python.
    Arrow's whitespace trim is Python's ``str.strip`` for every code point (checked up to U+2FFFF)."""
    actors, targets = words[::2], words[1::2]
    m = min(len(actors), len(targets))
    actors, targets = actors[:m], targets[:m]
    b = GraphBuilder(self_loops="keep")
    if cut % 2:
        b.add_edges("follows", pa.array(actors), pa.array(targets))
    else:
        b.add_edges("follows", list(actors), list(targets))
    g = b.build()
    actors, targets = [a.strip() for a in actors], [t.strip() for t in targets]      # trimmed as files are
    assert g.id_map.ids.tolist() == sorted(set(actors) | set(targets))
    assert all(type(x) is str for x in g.id_map.ids)
    out = g.layer("follows")
    src = np.repeat(np.arange(g.n_nodes), np.diff(out.out_indptr))
    pairs = {(g.id_map.ids[s], g.id_map.ids[t]) for s, t in zip(src, out.out_indices)}
    assert pairs == set(zip(targets, actors))          # follows: influence runs from the followed account


def test_build_graph_keeps_only_the_first_row_of_what_it_consumed(tmp_path):
    from graphcrm.loaders import build_graph, read_edges

    path = tmp_path / "f.csv"
    path.write_text("source,target\nann,bob\nbob,cy\ncy,ann\n")
    parsed = read_edges(path)
    g, _ = build_graph(parsed, consume=True)
    assert g.n_nodes == 3 and g.layer("follows").n_edges == 3
    assert {k: len(v) for k, v in parsed.columns.items() if k in ("actor", "target")} == {"actor": 1, "target": 1}
    assert parsed.columns["actor"][0].as_py() == "ann"
