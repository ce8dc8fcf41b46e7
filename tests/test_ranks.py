"""The numpy rank statistics (``graphcrm.algorithms.ranks``) against scipy and scikit-learn, which they replace
in the forecast, the backtest and the leader scores (to keep those imports out of every command)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata, spearmanr
from sklearn.linear_model import Ridge

from graphcrm.algorithms.ranks import average_ranks, ridge, spearman

values = st.lists(st.integers(-4, 4), min_size=0, max_size=40)   # small range: many ties


@given(values)
@settings(max_examples=200, deadline=None)
def test_average_ranks_is_scipys_rankdata(xs):
    x = np.array(xs, dtype=np.float64)
    assert np.array_equal(average_ranks(x), rankdata(x, method="average"))


def test_average_ranks_nan_gives_all_nan():
    assert np.isnan(average_ranks(np.array([1.0, np.nan, 2.0]))).all()


@given(values, st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None)
def test_spearman_is_scipys(xs, seed):
    a = np.array(xs, dtype=np.float64)
    b = np.random.default_rng(seed).integers(-3, 4, len(a)).astype(np.float64)
    ours = spearman(a, b)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        assert np.isnan(ours)
        return
    assert ours == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 25.0])
def test_ridge_is_sklearns(alpha):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(500, 4)) * [1.0, 3.0, 0.1, 10.0]
    y = x @ [0.5, -1.0, 2.0, 0.01] + 3.0 + rng.normal(size=500)
    w = rng.uniform(0.1, 5.0, 500)
    coef, intercept = ridge(x, y, w, alpha)
    ref = Ridge(alpha=alpha).fit(x, y, sample_weight=w)
    np.testing.assert_allclose(coef, ref.coef_, rtol=1e-9, atol=1e-10)
    assert intercept == pytest.approx(ref.intercept_, abs=1e-9)


def test_commands_do_not_import_scipy_stats_or_sklearn():
    """`graphcrm run`/`rank`/`forecast` import the forecast and backtest modules: neither pulls in scipy.stats
    or scikit-learn (about a second of every call)."""
    import subprocess
    import sys

    code = ("import sys; import graphcrm.backtest, graphcrm.algorithms.forecast, graphcrm.leaders, "
            "graphcrm.crm.pipeline, graphcrm.ranking, graphcrm.report, graphcrm.curves; "
            "print(sorted(m for m in sys.modules if m == 'scipy.stats' or m.startswith('sklearn')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
