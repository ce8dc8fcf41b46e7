"""Rank statistics in plain numpy: average ranks, Spearman's correlation and a weighted ridge fit.

``scipy.stats`` and ``sklearn.linear_model`` each cost a command about half a second to import; the
forecast, the backtest and the leader scores only need these few lines of them.  Tests check them
against scipy and scikit-learn.
"""

from __future__ import annotations

import numpy as np


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank (``scipy.stats.rankdata(method="average")``); any NaN gives
    all NaN, as scipy's default does.

    Examples
    --------
    >>> average_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist()
    [3.5, 1.0, 3.5, 2.0]
    """
    values = np.asarray(values)
    if values.dtype.kind == "f" and np.isnan(values).any():
        return np.full(len(values), np.nan)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    bounds = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1], [True]]))
    ranks = np.empty(len(values))
    ranks[order] = np.repeat((bounds[:-1] + 1 + bounds[1:]) / 2.0, np.diff(bounds))
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (``scipy.stats.spearmanr(a, b).statistic``): NaN where either side is
    constant, has a NaN, or has fewer than two values.

    Examples
    --------
    >>> spearman(np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 30.0, 20.0, 40.0]))
    0.8
    >>> spearman(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0]))
    nan
    """
    if len(a) < 2:
        return float("nan")
    ra, rb = average_ranks(a), average_ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    if not np.isfinite(den) or den == 0:
        return float("nan")
    return float(np.clip((ra * rb).sum() / den, -1.0, 1.0))


def ridge(x: np.ndarray, y: np.ndarray, weight: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """``(coef, intercept)`` minimising ``sum w (y - x.coef - intercept)^2 + alpha |coef|^2`` -- scikit-learn's
    ``Ridge(alpha).fit(x, y, sample_weight=weight)`` (the intercept is not penalised), by its normal equations.

    Examples
    --------
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> coef, intercept = ridge(x, 2 * x[:, 0] + 1, np.ones(4), 0.0)
    >>> np.round(coef, 6).tolist(), round(intercept, 6)
    ([2.0], 1.0)
    """
    w = np.asarray(weight, dtype=np.float64)
    x_mean = np.average(x, axis=0, weights=w)
    y_mean = float(np.average(y, weights=w))
    xc = x - x_mean
    xw = xc * w[:, None]
    gram = xw.T @ xc + alpha * np.eye(x.shape[1])
    coef = np.linalg.solve(gram, xw.T @ (y - y_mean))
    return coef, float(y_mean - x_mean @ coef)
