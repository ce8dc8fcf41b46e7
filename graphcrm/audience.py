"""Audience-quality audit: how real is an influencer's audience, and why (``graphcrm audit``).

Two levels, both explainable:

1. **Accounts.** :func:`graphcrm.algorithms.suspicion.suspicion` gives every account a suspicion in [0, 1] from
   signals with their numbers (mass-following, near-zero reciprocity, no or burst-only activity, synchronised
   actions with the same partners, retweet rings, following flagged accounts) and flags it above a threshold.
2. **Audiences.** An influencer's audience is its followers (the follow layer's out-neighbours), or, without a
   follow layer, the accounts that engaged with it.  Its audience-quality score is::

       audience_quality = 100 * (1 - suspicious_share)
                              * (1 - ENGAGEMENT_PENALTY * engagement_shortfall)
                              * (1 - GROWTH_PENALTY * growth_anomaly)

   ``suspicious_share`` is the share of the audience that is flagged (split by each flagged follower's
   strongest signal).  ``engagement_shortfall`` ramps from 0 when the account is engaged with at a third of the
   rate expected for its audience size to 1 at a tenth (:data:`ENGAGEMENT_SHORTFALL_RAMP`): bought followers do
   not engage.  The expected rate is a power law ``rate = a * followers ** b`` fitted across this graph's own
   accounts with a robust (Theil-Sen) line on log-log values, so no platform's benchmark rate is assumed.
   ``growth_anomaly`` ramps on the share of all followers gained in the busiest day
   (:data:`GROWTH_WINDOW`), from above what this graph's accounts usually show (median + 3 MAD, at least
   :data:`GROWTH_SHARE_RAMP`); it needs follow times (a follow layer with events).  A factor the graph cannot
   support is left out (NaN column) and the reason says so.  Below :data:`LOW_QUALITY_SCORE`, with at least
   :data:`MIN_AUDIENCE` accounts in the audience, the audience is *low quality*.

``plan --exclude-low-quality`` and the segments key ``exclude_low_quality = true`` keep flagged accounts and
influencers with a low-quality audience out of seeding (:func:`low_quality_accounts`).

"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from graphcrm.algorithms.suspicion import (
    DEFAULT_THRESHOLD,
    FOLLOW_RATIO_RAMP,
    SIGNALS,
    WEIGHTS,
    Suspicion,
    follow_layer_of,
    interaction_edges,
    ramp,
    suspicion,
)
from graphcrm.algorithms import _audit_kernels
from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.graph import Layer, SocialGraph

#: audience-quality score below which an audience is low quality (0-100)
LOW_QUALITY_SCORE = 60.0
#: smaller audiences get a score but are never called low quality (one bot among 4 followers is noise)
MIN_AUDIENCE = 10
#: actual / expected engagement rate: shortfall starts at 1/3 and is full at 1/10
ENGAGEMENT_SHORTFALL_RAMP = (1 / 3, 1 / 10)
#: at most this share of the score is lost to an engagement shortfall
ENGAGEMENT_PENALTY = 0.3
#: the expected-rate fit needs at least this many accounts with MIN_AUDIENCE+ followers
MIN_FIT_ACCOUNTS = 20
#: points of the Theil-Sen fit (evenly spaced over the sorted audience sizes; deterministic)
FIT_POINTS = 2000
#: growth window (seconds) and the minimum follows gained for a growth check
GROWTH_WINDOW = 86_400
GROWTH_MIN_GAINS = 20
#: the log must span at least this many growth windows
GROWTH_MIN_WINDOWS = 7
#: share of followers gained in the busiest window: anomaly from max(0.3, graph median + 3 MAD) to 0.6+
GROWTH_SHARE_RAMP = (0.3, 0.6)
#: at most this share of the score is lost to a growth anomaly
GROWTH_PENALTY = 0.3
#: practitioners' warning: more than this share of mass-followers in an audience
MASS_FOLLOWER_WARNING = 0.10
AUDIENCES = ("auto", "followers", "engagers")


@dataclass(frozen=True, eq=False)
class AudienceAudit:
    """The result of :func:`audit`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per audited account (see :func:`audit`).
    suspicion : Suspicion
        Every account's signals, score and flag (``.to_frame()`` for the per-account table).
    quality : numpy.ndarray
        Audience-quality score of every account (NaN: no audience), by dense index.
    low_quality : numpy.ndarray of bool
        Audience below :data:`LOW_QUALITY_SCORE` with at least :data:`MIN_AUDIENCE` accounts.
    info : mapping
        Thresholds, the fitted expected-rate law, missing signals and warnings, timing.
    """

    table: pd.DataFrame
    suspicion: Suspicion
    quality: np.ndarray
    low_quality: np.ndarray
    info: Mapping = field(default_factory=dict)

    def __repr__(self) -> str:
        s = self.suspicion
        return (f"AudienceAudit({len(s.score):,} accounts, {int(s.flagged.sum()):,} flagged at threshold "
                f"{s.info['threshold']}, {len(self.table):,} audited, {int(self.low_quality.sum()):,} low-quality "
                "audiences; .table, .summary())")

    def to_frame(self) -> pd.DataFrame:
        """The per-account audit table (:attr:`table`)."""
        return self.table.copy()

    def excluded(self) -> np.ndarray:
        """Dense indices that should not be seeded: flagged accounts and low-quality audiences."""
        return np.flatnonzero(self.suspicion.flagged | self.low_quality)

    def summary(self) -> dict:
        """Key figures for ``--json``."""
        s = self.suspicion
        return {"accounts": int(len(s.score)), "flagged": int(s.flagged.sum()),
                "flagged_share": round(float(s.flagged.mean()), 5) if len(s.score) else 0.0,
                "audited": int(len(self.table)), "low_quality_audiences": int(self.low_quality.sum()),
                "audience": self.info["audience"], "follow_layer": s.info["follow_layer"],
                "threshold": s.info["threshold"], "missing_signals": dict(s.info["missing"]),
                "warnings": list(self.info["warnings"]), "expected_engagement": self.info["expected_engagement"],
                "seconds": self.info["seconds"]}


def audit(
    graph: SocialGraph,
    accounts=None,
    *,
    top: int = 100,
    audience: str = "auto",
    follow_layer: "str | Layer | None" = None,
    threshold: float = DEFAULT_THRESHOLD,
    known_suspicious=None,
    low_quality_score: float = LOW_QUALITY_SCORE,
) -> AudienceAudit:
    """Audience-quality audit of influencers, with the signals behind each score and a reason in plain words.

    Parameters
    ----------
    graph : SocialGraph
    accounts : iterable of account ids, optional
        Influencers to audit.  Default: the ``top`` accounts with the largest audiences.
    top : int, default 100
        How many accounts to audit when ``accounts`` is not given.
    audience : {"auto", "followers", "engagers"}
        Whose quality is measured: followers (needs a follow layer), accounts that engaged with the
        influencer (needs an interaction layer); ``auto`` takes followers when there is a follow layer.
    follow_layer : str or Layer, optional
        The layer of follow ties (default ``follows``, else the graph's only structural layer).
    threshold : float, default 0.5
        Suspicion at or above which an account is flagged.
    known_suspicious : iterable of account ids, optional
        Accounts known to be fake (flagged; following them is a signal).
    low_quality_score : float, default 60
        Audience-quality score below which an audience is low quality.

    Returns
    -------
    AudienceAudit
        ``.table`` columns: ``account_id, audience_quality, low_quality, reason, audience_size, suspicious,
        suspicious_share``, ``suspicious_<signal>`` (the suspicious share split by each flagged member's
        strongest signal), ``mass_follower_share, inactive_share, engagement, engagement_rate,
        expected_engagement_rate, engagement_vs_expected, growth_spike_share, own_suspicion, own_flagged,
        own_reason``; rows by descending audience size, then id.

    Examples
    --------
    ``star`` is followed by 40 real accounts (each also follows three others) and 4 farm accounts that follow 80
    accounts each and have no followers:

    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> fans = [f"f{i}" for i in range(40)]
    >>> farm = [f"bot{i}" for i in range(4)]
    >>> others = [f"o{i}" for i in range(80)]
    >>> src = fans + farm + [b for b in farm for _ in others] + [f for f in fans for _ in range(3)]
    >>> dst = ["star"] * 44 + [o for _ in farm for o in others] + [others[(i * 3 + j) % 80] for i in range(40)
    ...                                                            for j in range(3)]
    >>> result = audit(GraphBuilder().add_edges("follows", src, dst).build(), ["star"])
    >>> row = result.table.iloc[0]
    >>> int(row.audience_size), round(float(row.suspicious_share), 3), round(float(row.audience_quality), 1)
    (44, 0.091, 90.9)
    >>> row.reason
    'audience quality 91/100: 9% of 44 followers look automated (mass-following 9%)'
    """
    started = time.perf_counter()
    if audience not in AUDIENCES:
        raise ParameterError(f"audience must be one of {', '.join(AUDIENCES)}, got {audience!r}")
    if top < 1:
        raise ParameterError(f"top must be >= 1, got {top}")
    if not 0.0 <= low_quality_score <= 100.0:
        raise ParameterError(f"low_quality_score must be in [0, 100], got {low_quality_score}")
    n = graph.n_nodes
    susp = suspicion(graph, follow_layer=follow_layer, threshold=threshold, known_suspicious=known_suspicious)
    fl = follow_layer_of(graph, follow_layer)
    eng = interaction_edges(graph)
    warnings = []
    if audience == "auto":
        audience = "followers" if fl is not None else "engagers"
    if audience == "followers" and fl is None:
        raise ParameterError("audience 'followers' needs a follow layer (name it with follow_layer=..., or use "
                             "audience='engagers')")
    if audience == "engagers" and eng is None:
        raise ParameterError("audience 'engagers' needs an interaction layer (retweets, replies, mentions, likes)")
    if audience == "followers":
        owner, member, tie = fl.edge_arrays()             # owner is followed by member
        if fl.weighted and (tie < 0).any():               # a signed layer: the audience is who rates positively,
            owner, member = owner[tie > 0], member[tie > 0]   # as rank and economics count it
    else:
        owner, member = eng[1], eng[0]                    # member (actor) engaged with owner (target)
    size = np.bincount(owner, minlength=n).astype(np.float64)
    flagged = susp.flagged
    suspicious = np.bincount(owner, weights=flagged[member].astype(np.float64), minlength=n)
    share = np.divide(suspicious, size, out=np.full(n, np.nan), where=size > 0)
    dominant = _dominant_signal(susp)
    by_signal = {}
    for k, name in enumerate(SIGNALS):
        hit = (flagged & (dominant == k))[member].astype(np.float64)
        by_signal[name] = np.divide(np.bincount(owner, weights=hit, minlength=n), size, out=np.full(n, np.nan),
                                    where=size > 0)
    known = susp.info.get("known")
    if known is not None:
        hit = (known[member]).astype(np.float64)
        by_signal["known"] = np.divide(np.bincount(owner, weights=hit, minlength=n), size, out=np.full(n, np.nan),
                                       where=size > 0)
    # mass-followers whether or not the accounts they follow form a community (that clears suspicion, not the
    # following): follows many for this graph, and far more than follow it
    cols = susp.columns
    with np.errstate(invalid="ignore"):
        mass = ((np.nan_to_num(cols["follow_ratio"], nan=0.0) > FOLLOW_RATIO_RAMP[0])
                & (np.nan_to_num(cols["followees"], nan=0.0) > susp.info["cutoffs"].get("mass_follow_from", np.inf)))
    mass_share = np.divide(np.bincount(owner, weights=mass[member].astype(np.float64), minlength=n), size,
                           out=np.full(n, np.nan), where=size > 0) if fl is not None else np.full(n, np.nan)
    inactive = np.nan_to_num(susp.strengths["inactive"], nan=0.0) > 0
    inactive_share = (np.divide(np.bincount(owner, weights=inactive[member].astype(np.float64), minlength=n), size,
                                out=np.full(n, np.nan), where=size > 0)
                      if not np.isnan(susp.strengths["inactive"]).all() else np.full(n, np.nan))

    # engagement vs the rate expected for the audience size
    engagement = np.full(n, np.nan)
    rate = expected = vs = shortfall = np.full(n, np.nan)
    law = None
    if fl is None or eng is None:
        warnings.append("engagement rate not checked: needs both a follow layer and interactions")
    else:
        engagement = np.bincount(eng[1], weights=eng[2], minlength=n)
        fit = _fit_expected_rate(size, engagement)
        if fit is None:
            warnings.append(f"engagement rate not checked: no expected rate to compare with (it needs "
                            f"{MIN_FIT_ACCOUNTS}+ accounts with {MIN_AUDIENCE}+ followers, of different sizes)")
        else:
            a, b = fit
            law = {"rate": f"{np.exp(a):.4g} * followers ** {b:.3f}", "a": float(np.exp(a)), "b": float(b)}
            ok = size >= MIN_AUDIENCE
            rate = np.divide(engagement, size, out=np.full(n, np.nan), where=ok)
            expected = np.where(ok, np.exp(a + b * np.log(np.maximum(size, 1.0))), np.nan)
            vs = np.where(ok, (engagement + 0.5) / np.maximum(size, 1.0) / expected, np.nan)
            lo, hi = ENGAGEMENT_SHORTFALL_RAMP
            shortfall = ramp(-np.log(vs), -np.log(lo), -np.log(hi))

    # growth anomalies from follow times
    spike = growth = np.full(n, np.nan)
    growth_cut = None
    if fl is None or fl.events is None or not len(fl.events):
        warnings.append("growth not checked: no follow times (a follow layer with timestamped events)")
    else:
        ev = fl.events
        span = float(ev.time[-1] - ev.time[0]) if len(ev) else 0.0
        if span < GROWTH_MIN_WINDOWS * GROWTH_WINDOW:
            warnings.append(f"growth not checked: follow times span {span / 86400:.1f} days, fewer than "
                            f"{GROWTH_MIN_WINDOWS * GROWTH_WINDOW / 86400:.0f}")
        else:
            order = np.lexsort((ev.time, ev.src))           # src is the followed account
            gains = np.bincount(ev.src, minlength=n)
            indptr = np.concatenate([[0], np.cumsum(gains)])
            busiest, _ = _audit_kernels._max_in_window(indptr, ev.time[order], GROWTH_WINDOW)
            enough = gains >= GROWTH_MIN_GAINS
            spike = np.where(enough, busiest / np.maximum(gains, 1), np.nan)
            pool = spike[enough]
            med = float(np.median(pool)) if len(pool) else 0.0
            mad = float(np.median(np.abs(pool - med))) * 1.4826 if len(pool) else 0.0
            g_lo = max(GROWTH_SHARE_RAMP[0], med + 3 * mad)
            g_hi = max(GROWTH_SHARE_RAMP[1], g_lo + 0.2)
            growth_cut = (g_lo, g_hi)
            growth = ramp(spike, g_lo, min(g_hi, 1.0) if g_hi > g_lo else g_lo + 1e-9)

    quality = 100.0 * (1.0 - share) * (1.0 - ENGAGEMENT_PENALTY * np.nan_to_num(shortfall, nan=0.0)) \
        * (1.0 - GROWTH_PENALTY * np.nan_to_num(growth, nan=0.0))
    low = (quality < low_quality_score) & (size >= MIN_AUDIENCE)

    if accounts is None:
        order = np.lexsort((np.arange(n), -size))
        idx = order[: min(top, n)]
        idx = idx[size[idx] > 0] if (size > 0).any() else idx
    else:
        accounts = list(accounts)
        idx = graph.index_of(accounts) if accounts else np.empty(0, dtype=np.int64)
        idx = np.asarray(idx, dtype=np.int64)
    word = "followers" if audience == "followers" else "engagers"
    cols = {"quality": quality, "size": size, "share": share, "by_signal": by_signal, "mass": mass_share,
            "inactive": inactive_share, "vs": vs, "shortfall": shortfall, "spike": spike, "growth": growth}
    table = pd.DataFrame({
        "account_id": graph.id_map.ids[idx],
        "audience_quality": np.round(quality[idx], 2),
        "low_quality": low[idx],
        "reason": [_reason(int(i), cols, word, growth_cut) for i in idx],
        "audience": word,
        "audience_size": size[idx].astype(np.int64),
        "suspicious": suspicious[idx].astype(np.int64),
        "suspicious_share": share[idx],
        **{f"suspicious_{s}": by_signal[s][idx] for s in by_signal},
        "mass_follower_share": mass_share[idx],
        "inactive_share": inactive_share[idx],
        "engagement": engagement[idx],
        "engagement_rate": rate[idx],
        "expected_engagement_rate": expected[idx],
        "engagement_vs_expected": vs[idx],
        "growth_spike_share": spike[idx],
        "own_suspicion": susp.score[idx],
        "own_flagged": flagged[idx],
        "own_reason": [susp.reason(int(i)) for i in idx],
    })
    missing = dict(susp.info["missing"])
    if missing:
        warnings.append("signals not computed: " + "; ".join(f"{k} ({v})" for k, v in missing.items()))
    info = {"audience": word, "low_quality_score": low_quality_score, "expected_engagement": law,
            "growth_share_ramp": growth_cut, "warnings": warnings,
            "seconds": round(time.perf_counter() - started, 3)}
    return AudienceAudit(table, susp, quality, low, info)


def low_quality_accounts(graph: SocialGraph, **kwargs) -> list:
    """External ids not to seed: accounts flagged as suspicious and influencers with a low-quality audience.

    Keyword arguments go to :func:`audit`.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> others = [f"o{i}" for i in range(40)]
    >>> g = GraphBuilder().add_edges("follows", ["bot"] * 40 + others[:20], others + others[20:]).build()
    >>> low_quality_accounts(g)
    ['bot']
    """
    result = audit(graph, [], **kwargs)
    return graph.id_map.ids[result.excluded()].tolist()


def _dominant_signal(susp: Suspicion) -> np.ndarray:
    """Index in SIGNALS of each account's strongest weighted signal."""
    stack = np.vstack([np.nan_to_num(susp.strengths[s], nan=0.0) * WEIGHTS[s] for s in SIGNALS])
    return np.argmax(stack, axis=0) if stack.size else np.zeros(0, dtype=np.int64)


def _fit_expected_rate(size: np.ndarray, engagement: np.ndarray):
    """Theil-Sen line of ``log((engagement + 0.5) / size)`` on ``log(size)`` over accounts with MIN_AUDIENCE+
    followers: ``(intercept, slope)``, or None with too few accounts."""
    from scipy.stats import theilslopes

    ok = np.flatnonzero(size >= MIN_AUDIENCE)
    if len(ok) < MIN_FIT_ACCOUNTS:
        return None
    x = np.log(size[ok])
    y = np.log((engagement[ok] + 0.5) / size[ok])
    if np.unique(x).size < 2:           # every audience the same size: no line to fit through them
        return None
    order = np.lexsort((y, x))
    pick = order[np.unique(np.linspace(0, len(order) - 1, min(FIT_POINTS, len(order))).astype(np.int64))]
    if np.unique(x[pick]).size < 2:
        pick = order
    slope, intercept, _, _ = theilslopes(y[pick], x[pick])
    if not (np.isfinite(slope) and np.isfinite(intercept)):
        return None
    return float(intercept), float(slope)


_SIGNAL_WORDS = {"mass_following": "mass-following", "low_reciprocity": "follow nobody back",
                 "inactive": "inactive", "burst": "burst-only", "synchronised": "synchronised",
                 "ring": "retweet rings", "follows_suspicious": "follow flagged accounts", "known": "known fakes"}


def _pct(x: float) -> str:
    return "<1%" if 0 < x < 0.005 else f"{100 * x:.0f}%"


def _reason(i: int, c: Mapping, word: str, growth_cut) -> str:
    size = c["size"][i]
    if size == 0:
        return f"no {word}: nothing to audit"
    parts = []
    share = c["share"][i]
    if share > 0:
        split = sorted(((v[i], s) for s, v in c["by_signal"].items() if s != "known" and v[i] > 0), reverse=True)
        detail = ", ".join(f"{_SIGNAL_WORDS[s]} {_pct(v)}" for v, s in split[:3])
        parts.append(f"{_pct(share)} of {size:,.0f} {word} look automated" + (f" ({detail})" if detail else ""))
    else:
        parts.append(f"none of {size:,.0f} {word} flagged")
    if c["mass"][i] > MASS_FOLLOWER_WARNING:
        parts.append(f"{100 * c['mass'][i]:.0f}% of them mass-follow (warning above "
                     f"{100 * MASS_FOLLOWER_WARNING:.0f}%)")
    if not np.isnan(c["vs"][i]):
        if c["shortfall"][i] > 0:
            parts.append(f"engagement {c['vs'][i]:.2f}x the rate expected for {size:,.0f} followers")
        elif c["vs"][i] >= 3:
            parts.append(f"engagement {c['vs'][i]:.1f}x the expected rate")
    if not np.isnan(c["growth"][i]) and c["growth"][i] > 0:
        parts.append(f"{100 * c['spike'][i]:.0f}% of its followers gained within one day")
    quality = c["quality"][i]
    shown = min(round(quality), 99) if quality < 100 else 100     # 99.5 is not a perfect score
    return f"audience quality {shown}/100: " + "; ".join(parts)
