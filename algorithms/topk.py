"""Top-k agreement measures that do not depend on how ties are broken.

Engagement counts tie heavily (hundreds of accounts received exactly one retweet), and so do integer scorers
(coreness, in-degree).  A top-k list cut through a tie by account index or id spelling makes a measure such as
"share of the actual top 100 in the predicted top 100" change when the accounts are renamed.  The measures here
are their *expectations under a uniformly random order within every tie*: exact, order-free, and equal to the
usual measure where there is no tie at the cut.

* :func:`top_membership` -- each account's probability of being in the top ``k``: 1 above the ``k``-th value,
  ``slots / tied`` on it, 0 below.
* :func:`top_overlap` -- expected share of the actual top ``k`` among the predicted top ``k``:
  ``sum(p_score * p_actual) / k`` (the two tie orders are independent).
* :func:`ndcg` -- NDCG@k where accounts tied in the score share the mean discount of the positions they span
  (McSherry & Najork, ECIR 2008).
* :func:`top_or_tied` -- the accounts at or above the ``k``-th value (every tie at the cut included);
  :func:`top_group` -- the same unless that tie would more than double the group (then strictly above it).
"""

from __future__ import annotations

import numpy as np


def _kth_largest(values: np.ndarray, k: int) -> float:
    return float(np.partition(values, len(values) - k)[len(values) - k])


def _finite_low(values) -> np.ndarray:
    """``values`` as float64 with NaN as the lowest value (a NaN score ranks last)."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isnan(values), -np.inf, values) if np.isnan(values).any() else values


def top_membership(values, k: int) -> np.ndarray:
    """Probability of each entry being among the ``k`` largest when ties are ordered at random.

    Examples
    --------
    >>> top_membership(np.array([5.0, 3.0, 3.0, 3.0, 1.0]), 2).tolist()
    [1.0, 0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 0.0]
    >>> top_membership(np.array([2.0, 1.0]), 5).tolist()
    [1.0, 1.0]
    """
    values = _finite_low(values)
    n = len(values)
    if k >= n:
        return np.ones(n)
    if k <= 0:
        return np.zeros(n)
    kth = _kth_largest(values, k)
    above = values > kth
    at = values == kth
    out = above.astype(np.float64)
    out[at] = (k - int(above.sum())) / int(at.sum())
    return out


def top_overlap(score, actual, k: int) -> float:
    """Expected share of the actual top ``k`` (by ``actual``) among the top ``k`` by ``score``, ties in either
    ordered at random: the same whatever the accounts are called.

    Examples
    --------
    >>> top_overlap(np.array([3.0, 2.0, 1.0, 0.0]), np.array([9.0, 8.0, 0.0, 0.0]), 2)
    1.0
    >>> top_overlap(np.array([1.0, 1.0, 1.0, 1.0]), np.array([9.0, 8.0, 0.0, 0.0]), 2)    # a constant score
    0.5
    """
    if k <= 0:
        return float("nan")
    return float(np.dot(top_membership(score, k), top_membership(actual, k)) / k)


def ndcg(score, actual, k: int = 100) -> float:
    """NDCG@k of ``score`` against the gains ``actual``; a tie in the score shares the mean discount of the
    positions it spans (positions past ``k`` discount 0).  NaN when every gain is 0.

    Examples
    --------
    >>> round(ndcg(np.array([2.0, 1.0, 0.0]), np.array([3.0, 2.0, 1.0]), k=3), 6)
    1.0
    >>> tied = ndcg(np.array([1.0, 1.0, 0.0]), np.array([3.0, 2.0, 1.0]), k=3)
    >>> a, b = ndcg(np.array([2.0, 1.0, 0.0]), np.array([3.0, 2.0, 1.0]), 3), ndcg(np.array([1.0, 2.0, 0.0]), np.array([3.0, 2.0, 1.0]), 3)
    >>> bool(abs(tied - (a + b) / 2) < 1e-12)
    True
    """
    score = _finite_low(score)
    actual = np.asarray(actual, dtype=np.float64)
    n = len(score)
    k = min(int(k), n)
    if k <= 0:
        return float("nan")
    disc = np.zeros(n + 1)
    disc[1:k + 1] = 1.0 / np.log2(np.arange(2, k + 2))
    cum = np.cumsum(disc)                                 # cum[j] = discount of positions 1..j
    ideal = np.sort(actual)[::-1][:k]
    idcg = float((ideal * disc[1:k + 1]).sum())
    if idcg <= 0:
        return float("nan")
    # whoever can reach a position <= k: everyone at or above the k-th value, the tie at the cut taken whole, so
    # an entry's index in this falling order is its position
    candidates = np.flatnonzero(score >= _kth_largest(score, k))
    order = candidates[np.argsort(-score[candidates], kind="stable")]
    values = score[order]
    starts = np.r_[0, np.flatnonzero(values[1:] != values[:-1]) + 1]
    ends = np.r_[starts[1:], len(values)]
    dcg = 0.0
    for s, e in zip(starts, ends):
        if s >= k:
            break
        mean_disc = (cum[min(e, k)] - cum[s]) / (e - s)
        dcg += mean_disc * float(actual[order[s:e]].sum())
    return float(dcg / idcg)


def top_or_tied(values, k: int) -> np.ndarray:
    """Mask of the entries at or above the ``k``-th largest value (a tie at the cut is taken whole).

    >>> top_or_tied(np.array([5.0, 3.0, 3.0, 1.0]), 2).tolist()
    [True, True, True, False]
    """
    values = _finite_low(values)
    if k >= len(values):
        return np.ones(len(values), dtype=bool)
    if k <= 0:
        return np.zeros(len(values), dtype=bool)
    return values >= _kth_largest(values, k)


def top_group(values, k: int) -> np.ndarray:
    """Mask of about the ``k`` largest entries, chosen without regard to order: those at or above the ``k``-th
    value, unless the tie at the cut would more than double the group (hundreds of accounts with one retweet
    when ``k`` is 1,000) -- then those strictly above it.

    >>> top_group(np.array([5.0, 3.0, 3.0, 1.0]), 2).tolist()
    [True, True, True, False]
    >>> top_group(np.array([5.0, 1.0, 1.0, 1.0, 1.0, 1.0]), 2).tolist()
    [True, False, False, False, False, False]
    """
    mask = top_or_tied(values, k)
    if k > 0 and mask.sum() > 2 * k:
        mask = _finite_low(values) > _kth_largest(_finite_low(values), k)
    return mask
