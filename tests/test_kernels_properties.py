"""Kernels against slow references; property tests (row order, relabelling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from graphcrm.loaders import GraphBuilder
from graphcrm.loaders import _kernels
from graphcrm.loaders.graph import Layer
from tests import naive

edge_lists = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                           st.floats(-5, 5, allow_nan=False).map(lambda x: round(x, 3))), max_size=120),
    )
)


@settings(max_examples=150, deadline=None)
@given(edge_lists, st.sampled_from(["sum", "mean", "max", "min"]), st.booleans(), st.booleans())
def test_build_layer_matches_naive(case, aggregate, keep_loops, weighted):
    n, rows = case
    src = np.array([r[0] for r in rows], dtype=np.int32)
    dst = np.array([r[1] for r in rows], dtype=np.int32)
    w = np.array([r[2] for r in rows], dtype=np.float64) if weighted else None
    spec = Layer.from_edges(1, [], [], spec="x").spec.with_overrides(aggregate=aggregate)
    lay = Layer.from_edges(n, src, dst, w, spec=spec, self_loops="keep" if keep_loops else "drop")
    (oi, ox, ow), (ii, ix, iw) = naive.build_layer(n, src, dst, w, aggregate if weighted else "max", keep_loops)
    np.testing.assert_array_equal(lay.out_indptr, oi)
    np.testing.assert_array_equal(lay.out_indices, ox)
    np.testing.assert_array_equal(lay.in_indptr, ii)
    np.testing.assert_array_equal(lay.in_indices, ix)
    if weighted:
        np.testing.assert_allclose(lay.out_weights, ow, rtol=0, atol=1e-12)
        np.testing.assert_allclose(lay.in_weights, iw, rtol=0, atol=1e-12)
    else:
        assert lay.out_weights is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2**62), 2**62), max_size=300))
def test_factorize_matches_numpy_unique(values):
    keys = np.array(values, dtype=np.int64)
    codes, uniques = _kernels._factorize_int64(keys)
    np.testing.assert_array_equal(uniques[codes], keys)
    assert sorted(uniques.tolist()) == sorted(set(values))


def test_factorize_grows_its_table():
    keys = np.random.default_rng(0).integers(0, 10**15, 200_000)
    codes, uniques = _kernels._factorize_int64(keys)
    np.testing.assert_array_equal(uniques[codes], keys)
    assert len(uniques) == len(np.unique(keys))


rows = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", "e"]), st.sampled_from(["a", "b", "c", "d", "e"]),
              st.sampled_from(["retweets", "mentions", "replies"]), st.integers(0, 10**6),
              st.floats(0.1, 3.0, allow_nan=False)),
    min_size=1, max_size=60,
)


@settings(max_examples=80, deadline=None)
@given(rows, st.randoms(use_true_random=False))
def test_row_order_does_not_change_the_graph(table, rnd):
    def build(t):
        frame = pd.DataFrame(t, columns=["actor", "target", "type", "time", "weight"])
        b = GraphBuilder()
        for layer, part in frame.groupby("type", sort=True):
            b.add_events(layer, part.actor.to_numpy(), part.target.to_numpy(), time=part.time.to_numpy(),
                         weight=part.weight.to_numpy())
        b.add_edges("follows", frame.target.to_numpy(), frame.actor.to_numpy(), frame.weight.to_numpy())
        return b.build()

    shuffled = list(table)
    rnd.shuffle(shuffled)
    g1, g2 = build(table), build(shuffled)
    assert g1.equals(g2)
    s1, s2 = g1.interaction_strength(), g2.interaction_strength()
    assert s1.equals(s2)


@settings(max_examples=40, deadline=None)
@given(edge_lists)
def test_relabelling_permutes_the_graph(case):
    n, rows_ = case
    if not rows_:
        return
    src = np.array([r[0] for r in rows_])
    dst = np.array([r[1] for r in rows_])
    w = np.array([abs(r[2]) + 1 for r in rows_])
    perm = np.random.default_rng(n).permutation(n) * 7 + 100   # new external ids, different order
    g1 = GraphBuilder().add_edges("x", src, dst, w).build()
    g2 = GraphBuilder().add_edges("x", perm[src], perm[dst], w).build()
    e1 = g1.edges("x")
    e1["src"], e1["dst"] = perm[e1.src.to_numpy()], perm[e1.dst.to_numpy()]
    key = ["src", "dst"]
    pd.testing.assert_frame_equal(e1.sort_values(key).reset_index(drop=True),
                                  g2.edges("x").sort_values(key).reset_index(drop=True))


def test_build_does_not_depend_on_thread_count():
    import numba

    rng = np.random.default_rng(3)
    n, m = 5_000, 200_000
    src, dst, w = rng.integers(0, n, m), rng.integers(0, n, m), rng.random(m).round(2)
    before = numba.get_num_threads()
    layers = []
    try:
        for threads in sorted({1, before}):
            numba.set_num_threads(threads)
            layers.append(GraphBuilder().add_edges("x", src, dst, w).build().layer("x"))
    finally:
        numba.set_num_threads(before)
    assert all(layer.equals(layers[0]) for layer in layers)
    assert layers[0].build_report["duplicates_aggregated"] > 0
