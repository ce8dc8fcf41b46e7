"""Sentiment of message text: VADER's compound score, in batch, cached.

Used by :func:`graphcrm.loaders.api.read_interactions` when a file has a text
column but no sentiment column (a sentiment column given by the user always
wins).  The scorer is `vaderSentiment <https://github.com/cjhutto/vaderSentiment>`_
(Hutto & Gilbert 2014): rule- and lexicon-based, pure Python, its lexicon
shipped inside the package, no download or model at run time.

VADER is English-only.  Text in other languages mostly scores 0 (no lexicon
word found) -- it is not translated and no other model is bundled; supply a
``sentiment`` column for such files.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from graphcrm.loaders.errors import ParameterError

#: texts scored once per process (retweets repeat the same text): the cache's size in distinct texts
CACHE_SIZE = 200_000
#: a longer text is scored on its opening (cut at the last space before this many characters): VADER's time
#: grows with the square of the text's length (15 kB 0.2 s, 90 kB 7.6 s), so one 1 MB text -- or a file's rest
#: swallowed by an unclosed quote -- would stall a load for minutes; a post of 5,000 characters is 18 tweets
MAX_SCORED_CHARS = 5_000


@lru_cache(maxsize=1)
def _analyzer():
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as exc:  # a dependency of graphcrm; only a broken install lacks it
        raise ParameterError("sentiment from text needs the package vaderSentiment: pip install vaderSentiment") from exc
    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=CACHE_SIZE)
def _compound(opening: str) -> float:
    """VADER's compound score of a text's :func:`_opening` (cached on it: no megabyte keys kept)."""
    return float(_analyzer().polarity_scores(opening)["compound"])


def _opening(text: str) -> str:
    """``text``, or its first :data:`MAX_SCORED_CHARS` characters cut at a space (the part VADER scores)."""
    if len(text) <= MAX_SCORED_CHARS:
        return text
    head = text[:MAX_SCORED_CHARS]
    space = head.rfind(" ")
    return head[:space] if space > MAX_SCORED_CHARS // 2 else head


def text_sentiment(texts) -> np.ndarray:
    """VADER compound sentiment in [-1, 1] per text; NaN where the text is missing or empty.

    Each distinct text is scored once (batch), and scores are kept in a
    per-process cache of :data:`CACHE_SIZE` texts, so a retweeted message is
    scored once however often it appears.  A text longer than
    :data:`MAX_SCORED_CHARS` is scored on its opening (VADER's time grows
    with the square of the length).

    Parameters
    ----------
    texts : sequence of str or None, or a pyarrow string array

    Returns
    -------
    numpy.ndarray of float64

    Examples
    --------
    >>> text_sentiment(["I love this brand!", "", None, "This is awful."]).round(3).tolist()
    [0.67, nan, nan, -0.459]
    """
    if hasattr(texts, "to_pylist"):
        texts = texts.to_pylist()
    elif hasattr(texts, "tolist"):
        texts = texts.tolist()
    out = np.full(len(texts), np.nan)
    scores: dict = {}
    for i, t in enumerate(texts):
        if not isinstance(t, str) or not t.strip():
            continue
        score = scores.get(t)
        if score is None:
            score = scores[t] = _compound(_opening(t))
        out[i] = score
    return out
