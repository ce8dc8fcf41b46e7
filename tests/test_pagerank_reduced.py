"""The reduced PageRank system gives plain power iteration's iterates, stopping step and scores.

The reduced system (``algorithms/_pagerank_kernels.py``) iterates only the
core rows and brackets the change of the dangling rows; these tests compare it
with plain power iteration (``_centrality_kernels._pagerank``), with an exact
linear solve, and on graphs that leave one class or another empty.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphcrm.algorithms import _centrality_kernels as plain
from graphcrm.algorithms._pagerank_kernels import pagerank as reduced_pagerank

DAMPING = 0.85


def random_layer(rng, n, m, *, weighted, share_no_in=0.3, share_dangling=0.3, share_isolated=0.1):
    """A pull CSR (row v = sources u of u -> v) with chosen shares of each node class."""
    kind = rng.choice(4, size=n, p=[1 - share_no_in - share_dangling - share_isolated, share_no_in,
                                    share_dangling, share_isolated])
    sources = np.flatnonzero((kind == 0) | (kind == 1))        # core and no-in-edge nodes send
    targets = np.flatnonzero((kind == 0) | (kind == 2))        # core and dangling nodes receive
    if len(sources) == 0 or len(targets) == 0:
        return None
    u = rng.choice(sources, size=m)
    v = rng.choice(targets, size=m)
    keep = u != v
    u, v = u[keep], v[keep]
    w = rng.choice([0.0, 0.5, 1.0, 3.0], size=len(u), p=[0.1, 0.3, 0.4, 0.2]) if weighted else np.ones(len(u))
    pull = sp.csr_array((w, (v, u)), shape=(n, n))              # duplicates summed
    pull.sort_indices()
    if not weighted:
        pull.data[:] = 1.0                                       # one stored edge per pair
    out_strength = np.asarray(pull.sum(axis=0)).ravel()
    inv = np.divide(1.0, out_strength, out=np.zeros(n), where=out_strength > 0)
    return pull.indptr.astype(np.int64), pull.indices.astype(np.int32), pull.data.astype(np.float64), inv


def teleport_of(rng, n, personalized):
    if not personalized:
        return np.full(n, 1.0 / n), True
    t = rng.random(n) * (rng.random(n) < 0.3)
    t[rng.integers(n)] += 1.0
    return t / t.sum(), False


def run_plain(indptr, indices, w, has_w, inv, teleport, uniform, tol, max_iter=2000, low_until=np.inf):
    n = len(inv)
    x, _, it, conv, err = plain._pagerank(indptr, indices, w if has_w else np.empty(0), has_w, inv, teleport,
                                          uniform, 1.0 / n, np.empty(0), DAMPING, tol, max_iter, 1.0 / n,
                                          low_until)
    return x, it, conv, err


def run_reduced(indptr, indices, w, has_w, inv, teleport, uniform, tol, max_iter=2000):
    """The reduced system always (``reduce_min_share=0``); out-strengths from the transposed rows."""
    n = len(inv)
    out = sp.csr_array((w if has_w else np.ones(len(indices)), indices, indptr), shape=(n, n)).T.tocsr()
    out.sort_indices()
    return reduced_pagerank(indptr, indices, w if has_w else np.empty(0), out.indptr.astype(np.int64),
                            out.data if has_w else np.empty(0), has_w, teleport,
                            uniform, DAMPING, tol, max_iter, 0.0, np.inf)


def exact_pagerank(indptr, indices, w, inv, teleport):
    """Solve x = d (P x + (dangling mass) t) + (1 - d) t directly (dense, small n)."""
    n = len(inv)
    pull = sp.csr_array((w, indices, indptr), shape=(n, n)).toarray()
    m = DAMPING * (pull * inv[None, :] + np.outer(teleport, inv == 0))
    return np.linalg.solve(np.eye(n) - m, (1 - DAMPING) * teleport)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("personalized", [False, True])
def test_same_iterates_and_stopping_step_as_plain_iteration(weighted, personalized):
    rng = np.random.default_rng(11 + 2 * weighted + personalized)
    checked = 0
    for trial in range(40):
        n = int(rng.integers(5, 300))
        shares = rng.dirichlet([1, 1, 1, 0.4]) * 0.9
        layer = random_layer(rng, n, int(rng.integers(1, 4 * n)), weighted=weighted, share_no_in=shares[1],
                             share_dangling=shares[2], share_isolated=shares[3])
        if layer is None:
            continue
        indptr, indices, w, inv = layer
        teleport, uniform = teleport_of(rng, n, personalized)
        for tol in (1e-3, 1e-6, 1e-9, 1e-12):
            xp, itp, convp, _ = run_plain(indptr, indices, w, weighted, inv, teleport, uniform, tol)
            xr, itr, convr, err = run_reduced(indptr, indices, w, weighted, inv, teleport, uniform, tol)
            assert (itr, convr) == (itp, convp), f"trial {trial}, tol {tol}"
            assert np.abs(xr - xp).sum() < 1e-13
            assert err < tol
        exact = exact_pagerank(indptr, indices, w if weighted else np.ones(len(indices)), inv, teleport)
        assert np.abs(xr - exact).sum() < 1e-10
        assert abs(xr.sum() - 1.0) < 1e-12
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("case", ["no core", "no dangling", "no no-in", "only isolated", "one edge"])
def test_graphs_with_empty_classes(case):
    n = 6
    edges = {
        "no core": [(0, 3), (1, 3), (2, 4)],                    # every source lacks in-edges, every target out-edges
        "no dangling": [(0, 1), (1, 2), (2, 0), (3, 0)],
        "no no-in": [(0, 1), (1, 2), (2, 0), (2, 3)],
        "only isolated": [],
        "one edge": [(4, 5)],
    }[case]
    u = np.array([e[0] for e in edges], dtype=np.int64)
    v = np.array([e[1] for e in edges], dtype=np.int64)
    pull = sp.csr_array((np.ones(len(u)), (v, u)), shape=(n, n))
    pull.sort_indices()
    out = np.bincount(u, minlength=n).astype(float)
    inv = np.divide(1.0, out, out=np.zeros(n), where=out > 0)
    teleport = np.full(n, 1.0 / n)
    indptr, indices = pull.indptr.astype(np.int64), pull.indices.astype(np.int32)
    xr, itr, convr, _ = run_reduced(indptr, indices, pull.data, False, inv, teleport, True, 1e-12)
    xp, itp, convp, _ = run_plain(indptr, indices, pull.data, False, inv, teleport, True, 1e-12)
    assert convr and (itr, convr) == (itp, convp)
    np.testing.assert_allclose(xr, exact_pagerank(indptr, indices, pull.data, inv, teleport), atol=1e-12)


def test_not_converged_returns_the_last_iterate():
    rng = np.random.default_rng(5)
    indptr, indices, w, inv = random_layer(rng, 200, 600, weighted=True)
    teleport = np.full(200, 1 / 200)
    for max_iter in (1, 2, 3, 7):
        xr, itr, convr, err_r = run_reduced(indptr, indices, w, True, inv, teleport, True, 1e-14, max_iter)
        xp, itp, convp, err_p = run_plain(indptr, indices, w, True, inv, teleport, True, 1e-14, max_iter)
        assert (itr, convr) == (max_iter, False) == (itp, convp)
        assert np.abs(xr - xp).sum() < 1e-14


@pytest.mark.parametrize("weighted", [False, True])
def test_float32_start_ends_at_the_float64_result(weighted):
    """Gathering float32 contributions while the change is large moves nothing the float64 steps keep."""
    rng = np.random.default_rng(23 + weighted)
    for trial in range(25):
        n = int(rng.integers(20, 400))
        layer = random_layer(rng, n, int(rng.integers(n, 6 * n)), weighted=weighted)
        if layer is None:
            continue
        indptr, indices, w, inv = layer
        teleport, uniform = teleport_of(rng, n, personalized=trial % 2 == 1)
        exact = exact_pagerank(indptr, indices, w if weighted else np.ones(len(indices)), inv, teleport)
        for tol in (1e-8, 1e-12):
            xp, itp, convp, _ = run_plain(indptr, indices, w, weighted, inv, teleport, uniform, tol)
            for low_until in (1e-2, 1e-5):
                xl, itl, convl, err = run_plain(indptr, indices, w, weighted, inv, teleport, uniform, tol,
                                                low_until=low_until)
                assert convl and err < tol
                if tol >= 1e-8:
                    # the rounding (~1e-9) is below tol: no extra steps (at 1e-12 it costs some, hence
                    # LOW_PRECISION_MIN_TOL)
                    assert itp <= itl <= itp + 1, f"trial {trial}: {itl} steps against {itp}"
                # both stop at a change < tol, which bounds the distance to the fixed point by tol * d / (1 - d)
                assert np.abs(xl - exact).sum() < 6 * tol + 1e-13
                assert np.abs(xl - xp).sum() < 12 * tol + 1e-13


def test_float32_start_never_stops_on_a_float32_step():
    """With the switch point at the tolerance, the last step is still a float64 one."""
    rng = np.random.default_rng(3)
    indptr, indices, w, inv = random_layer(rng, 300, 1500, weighted=True)
    teleport = np.full(300, 1 / 300)
    tol = 1e-4
    xl, itl, convl, _ = run_plain(indptr, indices, w, True, inv, teleport, True, tol, low_until=tol)
    xp, itp, convp, _ = run_plain(indptr, indices, w, True, inv, teleport, True, tol)
    assert convl and itl >= itp
    # one more float64 step from the returned iterate moves it by less than tol
    x2, it2, _, _ = run_plain(indptr, indices, w, True, inv, teleport, True, tol, max_iter=itl + 1)
    assert np.abs(x2 - xl).sum() < tol



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_gather_sums_equal_scipy_on_rows_of_every_length(dtype, weighted):
    """The pull loop's helpers (two running sums, unsigned positions) on rows of length 0 to 9,
    odd and even, through ``_spmv_pull`` (HITS) against scipy's product."""
    rng = np.random.default_rng(7)
    n = 400
    lengths = rng.integers(0, 10, size=n)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    indices = rng.integers(0, n, size=indptr[-1]).astype(np.int32)
    weights = rng.random(indptr[-1]) if weighted else np.empty(0)
    x = rng.random(n).astype(dtype)
    out = np.empty(n)
    plain._spmv_pull(indptr, indices, weights, weighted, x, out)
    data = weights if weighted else np.ones(indptr[-1])
    expected = sp.csr_array((data, indices, indptr), shape=(n, n)) @ x.astype(np.float64)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=0)
    assert (out[lengths == 0] == 0).all()
