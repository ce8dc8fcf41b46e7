"""Tie-aware top-k measures against brute force over every order of the ties (QA invariance F3: the backtest's
overlap and NDCG changed when the accounts were renamed, since a cut through a tie went by id)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from graphcrm.algorithms.topk import ndcg, top_membership, top_or_tied, top_overlap


def _orders(values, perms):
    """The falling orders of ``values`` a stable sort gives, one per permutation of the entries."""
    return [p[np.argsort(-values[p], kind="stable")] for p in perms]


def _plain_ndcg(order, gains, k):
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.sort(gains)[::-1][:k]
    return float((gains[order[:k]] * disc).sum() / (ideal * disc[:len(ideal)]).sum())


@pytest.mark.parametrize("trial", range(60))
def test_overlap_and_ndcg_are_the_means_over_every_order_of_the_ties(trial):
    rng = np.random.default_rng(trial)
    n = int(rng.integers(2, 6))
    k = int(rng.integers(1, n + 1))
    score = rng.integers(0, 3, n).astype(float)
    actual = rng.integers(0, 3, n).astype(float)
    perms = [np.array(p) for p in itertools.permutations(range(n))]
    by_score, by_actual = _orders(score, perms), _orders(actual, perms)
    overlap = np.mean([len(set(a[:k]) & set(b[:k])) / k for a in by_score for b in by_actual])
    assert top_overlap(score, actual, k) == pytest.approx(overlap, abs=1e-12)
    member = np.mean([np.isin(np.arange(n), a[:k]) for a in by_score], axis=0)
    np.testing.assert_allclose(top_membership(score, k), member, atol=1e-12)
    if actual.sum() > 0:
        assert ndcg(score, actual, k) == pytest.approx(np.mean([_plain_ndcg(a, actual, k) for a in by_score]), abs=1e-12)


def test_the_measures_do_not_depend_on_the_order_of_the_accounts():
    rng = np.random.default_rng(3)
    score, actual = rng.integers(0, 5, 3000).astype(float), rng.poisson(0.3, 3000).astype(float)
    perm = rng.permutation(3000)
    for k in (10, 100, 1000):
        assert top_overlap(score, actual, k) == pytest.approx(top_overlap(score[perm], actual[perm], k), abs=1e-12)
        assert ndcg(score, actual, k) == pytest.approx(ndcg(score[perm], actual[perm], k), abs=1e-12)
        assert top_or_tied(actual, k).sum() == top_or_tied(actual[perm], k).sum() >= k


def test_without_ties_they_are_the_usual_measures_and_nan_scores_rank_last():
    rng = np.random.default_rng(4)
    score, actual = rng.random(500), rng.random(500)
    order = np.argsort(-score)
    truth = set(np.argsort(-actual)[:50])
    assert top_overlap(score, actual, 50) == len(truth & set(order[:50])) / 50
    assert ndcg(score, actual, 50) == pytest.approx(_plain_ndcg(order, actual, 50))
    score[:5] = np.nan
    assert top_membership(score, 495)[:5].tolist() == [0.0] * 5
