"""Per-account suspicion signals: does this account look automated or mass-following?

Every signal is computed for every account from the graph alone, vectorised (numpy) or in one pass of a numba
kernel (:mod:`graphcrm.algorithms._audit_kernels`), and turned into a *strength* in [0, 1] by a ramp between a
"normal" and a "clearly suspicious" value.  The account's suspicion is a noisy-OR of the strengths::

    suspicion = 1 - prod_i (1 - WEIGHTS[i] * strength_i)

so one strong signal is enough (a follow-farm account need not act; a retweet-ring bot may follow normally) and
weak ones add up.  ``suspicion >= threshold`` (default :data:`DEFAULT_THRESHOLD`) flags the account.  A signal
the graph cannot support (no follow layer, no timestamps, no interaction layer) is NaN in its columns, counts 0
in the noisy-OR, and is named in ``info["missing"]``.

Signals and thresholds (constants of this module; counts that depend on the platform are taken from the
graph's own distribution, so nothing is tied to one dataset):

``mass_following``
    Follows far more accounts than follow it: ratio ``(followees + 1) / (followers + 1)`` ramps from
    :data:`FOLLOW_RATIO_RAMP` (5x normal .. 20x suspicious; practitioners treat "following >> followers" as the
    mark of mass-followers), times a ramp on the number followed, from the 90th percentile of followees among the
    graph's following accounts that are not mass-followers themselves (ratio under 5x, so a farm cannot set its
    own bar; :data:`MASS_FOLLOW_QUANTILE`, at least :data:`MASS_FOLLOW_FLOOR`) to :data:`MASS_FOLLOW_SPAN` times
    that, so only accounts that follow *many* for this graph count -- unless the accounts it follows form a
    community: people who follow many follow circles whose members know each other, bought followers follow
    popular and random accounts.  The ties among its followees (either direction) are set against the ties
    their popularity alone predicts (configuration model, ``min(1, d_i d_j / 2m)`` per pair), and the z-score
    ``(observed - expected) / sqrt(max(expected, 1))`` clears the signal over :data:`COMMUNITY_Z_RAMP`.  Only
    the accounts the ramp could flag are examined, each on at most :data:`COMMUNITY_SAMPLE` of its followees
    (a fixed-seed sample), leaving out the followees that are candidates themselves (a farm following itself is no
    community).  Blind spot: a farm whose accounts all follow one real community looks, on structure alone,
    like the real heavy followers of that community, and is cleared; timestamps (synchronised follows) and an
    interaction layer (inactive) still see it.
``low_reciprocity``
    Follows many (the same ramp) and almost none follow back (reciprocity below
    :data:`RECIPROCITY_LOW`).  Weak alone (:data:`WEIGHTS`), since fans of celebrities are not followed back.
``inactive``
    The graph has a follow layer and an interaction layer, the account follows someone, and it never retweeted,
    replied, mentioned or liked anyone.  Weak alone: lurkers are
    common; with mass-following it is the classic bought follower.
``burst``
    Burst-only activity: at least :data:`BURST_MIN_ACTIONS` actions and most of them (share ramp
    :data:`BURST_SHARE_RAMP`) inside one :data:`BURST_WINDOW` window, with a busiest-window count above what the
    graph's active accounts that are not burst-only do (ramp from their 90th percentile of busiest-window counts
    to twice that, :data:`BURST_COUNT_QUANTILE`, :data:`BURST_COUNT_SPAN`), so burst accounts cannot set their
    own bar.
``synchronised``
    Amplifies (retweets, likes, follows, ratings: not replies or mentions, which go back and forth in any
    conversation) and acts on the same targets within :data:`SYNC_WINDOW` seconds as the same partner account, again and again:
    co-acted targets with its most frequent partner ramp over :data:`SYNC_TARGETS_RAMP`, times the share of the
    account's targets that partner covers (:data:`SYNC_SHARE_RAMP`).  One viral post makes every retweeter
    co-act once; coordination makes the same pairs co-act on many different targets.
``ring``
    Retweet ring: the share of the account's retweets / likes that go to accounts that interact back with it
    (:data:`RING_SHARE_RAMP`), times a ramp on how many such mutual partners it has (:data:`RING_PARTNERS_RAMP`):
    one friend who retweets back is normal, a closed group that only retweets itself is not.
``follows_suspicious``
    Share of the accounts it follows that are themselves flagged (:data:`FOLLOWS_SUSPICIOUS_RAMP`, at least
    :data:`FOLLOWS_SUSPICIOUS_MIN` followees), propagated :data:`PROPAGATION_ROUNDS` rounds, plus any
    ``known_suspicious`` accounts given by the caller (HYPR's "followers of fake accounts").

Direction: on a follow layer the influence edge ``u -> v`` means *v follows u*; followers of ``u`` are its
out-neighbours, the accounts ``v`` follows its in-neighbours.  The actor of an event is the follower / the
retweeter / the author of a mention, whatever the layer's stored direction.  Signed layers count every rating as
a tie (sign ignored); on an undirected layer ratio and reciprocity say nothing and are NaN.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

from graphcrm.algorithms import _audit_kernels as K
from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.graph import Layer, SocialGraph
from graphcrm.loaders.layers import INTERACTION_TYPES, STRENGTH_LAYER

#: conversation layers: replies and mentions go back and forth among people who talk, at once and in threads, so
#: they count as activity but not towards synchronisation or rings (amplification: retweets, likes, follows)
CONVERSATION_TYPES = ("replies", "mentions")
#: suspicion at or above which an account is flagged
DEFAULT_THRESHOLD = 0.5
#: followees / followers: from 5x (starts to count) to 20x (full strength)
FOLLOW_RATIO_RAMP = (5.0, 20.0)
#: followees ramp from the 90th percentile of followees over the following accounts that are not mass-followers
#: themselves (ratio below FOLLOW_RATIO_RAMP[0]) to 3x that (a median/MAD of whole-number degrees jumps when the
#: median moves from 2 to 3).  Over every following account, farms above a tenth of them lifted the bar onto
#: themselves: on wiki-Vote with 10% planted farm accounts, ROC-AUC 0.81 and recall 0.30 (0.99 and 0.71 now)
MASS_FOLLOW_QUANTILE = 0.90
MASS_FOLLOW_SPAN = 3.0
#: ... and never starts below this many followees
MASS_FOLLOW_FLOOR = 20
#: evidence that the accounts a mass-follower follows form a community: z-score of the ties among them over the
#: ties their popularity alone predicts (configuration model); from 1 (starts to clear the mass-following signal)
#: to 3 (clears it): people who follow many follow circles that know each other, bought followers do not
COMMUNITY_Z_RAMP = (1.0, 3.0)
#: followees examined per account at most: every pair of them below, every pair of a fixed-seed sample of this
#: many above (19,900 pairs), so the cost per account is bounded whatever it follows
COMMUNITY_SAMPLE = 200
#: the z-score's variance never counts below this many ties: one chance tie where 0.05 are expected is no
#: community (without the floor it gave z = 4.4 and cleared farm accounts that follow each other in threes)
COMMUNITY_MIN_VARIANCE = 1.0
#: the columns of the community test (NaN for accounts it does not examine)
COMMUNITY_COLUMNS = ("followee_ties", "followee_ties_expected", "followee_community_z", "followees_examined")
#: a reference set (accounts not showing a pattern, whose counts set its bar) smaller than this falls back to
#: every account that could show it
REFERENCE_MIN_ACCOUNTS = 20
#: reciprocity below this counts as "nobody follows back"
RECIPROCITY_LOW = 0.05
#: the short window of burst-only activity, seconds
BURST_WINDOW = 600
#: fewer actions than this never make a burst (two retweets in a minute are not a pattern)
BURST_MIN_ACTIONS = 5
#: share of all actions inside the busiest window: 0.6 starts, 0.9 full
BURST_SHARE_RAMP = (0.6, 0.9)
#: busiest-window count ramps from this quantile over the graph's accounts with BURST_MIN_ACTIONS+ actions that
#: are not burst-only (burst share below BURST_SHARE_RAMP[0]) to BURST_COUNT_SPAN times it: burst accounts do not
#: set their own bar (over every active account, 2% planted burst accounts on a higgs day lifted it to 45 and
#: burst recall fell to 0; now 6 and 0.93).  The price: real accounts of an event log that retweet in one
#: session only are measured against the others, and on the whole higgs log 303 are flagged instead of 201
BURST_COUNT_QUANTILE = 0.90
BURST_COUNT_SPAN = 2.0
#: two accounts acting on one target within this many seconds "co-act"
SYNC_WINDOW = 60
#: each event is paired with at most this many later events of its target (a viral post stays linear)
SYNC_CAP = 50
#: distinct targets co-acted on with the most frequent partner: 3 starts, 6 full
SYNC_TARGETS_RAMP = (3.0, 6.0)
#: ... as a share of the account's distinct targets
SYNC_SHARE_RAMP = (0.2, 0.5)
#: share of the account's interactions that go to accounts interacting back
RING_SHARE_RAMP = (0.3, 0.7)
#: mutual interaction partners: 2 starts, 4 full
RING_PARTNERS_RAMP = (2.0, 4.0)
#: share of followees that are flagged
FOLLOWS_SUSPICIOUS_RAMP = (0.2, 0.5)
#: fewer followees than this say nothing about whom an account follows
FOLLOWS_SUSPICIOUS_MIN = 5
#: rounds of "follows flagged accounts" propagation
PROPAGATION_ROUNDS = 2
#: weight of each signal in the noisy-OR (1: enough alone; below the threshold: needs company)
WEIGHTS = MappingProxyType({
    "mass_following": 0.9, "low_reciprocity": 0.25, "inactive": 0.3, "burst": 0.85, "synchronised": 0.9,
    "ring": 0.85, "follows_suspicious": 0.6,
})
SIGNALS = tuple(WEIGHTS)


@dataclass(frozen=True, eq=False)
class Suspicion:
    """Suspicion signals of every account.

    Attributes
    ----------
    graph : SocialGraph
    columns : mapping of str to numpy.ndarray
        Raw values per account, by dense index (``followees, followers, follow_ratio, reciprocity,
        followee_ties, followee_ties_expected, followee_community_z`` (mass-following candidates only), ``actions``
        (timestamped, of any kind), ``busiest_window_actions, burst_share, sync_partner_targets, sync_share,
        interactions_made, ring_share, ring_partners, followees_flagged_share``); NaN where the graph cannot
        say.
    strengths : mapping of str to numpy.ndarray
        Each signal's strength in [0, 1] (NaN: not computable), keys :data:`SIGNALS`.
    score : numpy.ndarray
        Suspicion in [0, 1].
    flagged : numpy.ndarray of bool
    info : mapping
        ``threshold``, the within-graph cut-offs used (``cutoffs``), ``follow_layer``, ``missing`` (signals that
        could not be computed, with why), ``seconds``.
    """

    graph: SocialGraph
    columns: Mapping
    strengths: Mapping
    score: np.ndarray
    flagged: np.ndarray
    info: Mapping = field(default_factory=dict)

    def reason(self, i: int) -> str:
        """Plain words for account ``i`` (dense index): the strongest signals with their numbers."""
        if self.info.get("known") is not None and self.info["known"][i]:
            return "listed as known suspicious"
        parts = []
        for name in sorted(SIGNALS, key=lambda s: -_nz(self.strengths[s][i]) * WEIGHTS[s]):
            if _nz(self.strengths[name][i]) <= 0:
                continue
            parts.append(_describe(name, self.columns, i, self.info["cutoffs"]))
            if len(parts) == 3:
                break
        return "; ".join(parts) if parts else "no suspicious signal"

    def to_frame(self, accounts=None):
        """``account_id, suspicion, flagged, reason`` then the raw columns and ``<signal>_strength``.

        ``accounts`` (external ids) restricts the rows; default every account, in id order.
        """
        import pandas as pd

        idx = (np.arange(self.graph.n_nodes) if accounts is None
               else self.graph.index_of(list(accounts)))
        frame = pd.DataFrame({"account_id": self.graph.id_map.ids[idx], "suspicion": self.score[idx],
                              "flagged": self.flagged[idx], "reason": [self.reason(int(i)) for i in idx]})
        for name, values in self.columns.items():
            frame[name] = values[idx]
        for name in SIGNALS:
            frame[f"{name}_strength"] = self.strengths[name][idx]
        return frame


def _nz(x) -> float:
    return 0.0 if np.isnan(x) else float(x)


def ramp(x, lo: float, hi: float) -> np.ndarray:
    """0 at or below ``lo``, 1 at or above ``hi``, linear between; NaN stays NaN.

    Examples
    --------
    >>> ramp(np.array([0.0, 5.0, 7.5, 20.0, np.nan]), 5.0, 10.0).tolist()
    [0.0, 0.0, 0.5, 1.0, nan]
    """
    x = np.asarray(x, dtype=np.float64)
    if hi <= lo:
        return np.where(np.isnan(x), np.nan, (x >= hi).astype(np.float64))
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def follow_layer_of(graph: SocialGraph, follow_layer: "str | Layer | None | bool" = None) -> Layer | None:
    """The layer whose ties are "follows": the one named, else ``follows``, else the only structural layer.

    A structural layer is any layer that is not an interaction type nor the strength layer (a signed trust
    layer, a friendship layer, a vote layer loaded under its own name).  ``False`` means none.  It is returned
    oriented as ``follows`` is (``u -> v``: v follows u): a ``forward`` layer, whose row ``a b`` is the edge
    ``a -> b``, comes back reversed.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("trust", ["a"], ["b"], [3.0]).build()
    >>> follow_layer_of(g).name
    'trust'
    """
    if follow_layer is False:
        return None
    if isinstance(follow_layer, Layer):
        lay = follow_layer
    elif follow_layer is not None:
        lay = graph.layer(follow_layer)
    elif "follows" in graph.layers:
        lay = graph.layer("follows")
    else:
        structural = [n for n in graph.layer_names if n not in INTERACTION_TYPES and n != STRENGTH_LAYER]
        if len(structural) != 1:
            return None
        lay = graph.layer(structural[0])
    # the signals read "u -> v: v follows u" (a reverse layer such as follows or trust); a forward layer stores
    # the row "a b" (a voted for / chose b) as a -> b, so it is turned around
    return lay.reversed() if lay.spec.direction == "forward" and not lay.undirected else lay


def actions(graph: SocialGraph, *, amplification_only: bool = False):
    """Every timestamped action in the graph: ``(actor, target, time, layer_code)`` arrays and the layer names.

    The actor is the account that did something (followed, rated, retweeted, replied, mentioned, liked): the
    influence edge's target on a ``reverse`` layer, its source on a ``forward`` one.
    """
    actors, targets, times, codes, names = [], [], [], [], []
    for name, lay in graph.layers.items():
        if lay.events is None or not len(lay.events):
            continue
        if amplification_only and name in CONVERSATION_TYPES:
            continue
        ev = lay.events
        a, t = (ev.dst, ev.src) if lay.spec.direction == "reverse" else (ev.src, ev.dst)
        actors.append(a)
        targets.append(t)
        times.append(ev.time)
        codes.append(np.full(len(a), len(names), dtype=np.int8))
        names.append(name)
    if not actors:
        e = np.empty(0, dtype=np.int32)
        return e, e, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int8), names
    return np.concatenate(actors), np.concatenate(targets), np.concatenate(times), np.concatenate(codes), names


def interaction_edges(graph: SocialGraph, *, amplification_only: bool = False):
    """Aggregated interactions ``actor -> target`` with counts over the interaction layers (without replies and
    mentions when ``amplification_only``), or None when the graph has none."""
    names = [n for n in graph.layer_names if n in INTERACTION_TYPES
             and not (amplification_only and n in CONVERSATION_TYPES)]
    if not names:
        return None
    n = graph.n_nodes
    keys, weights = [], []
    for name in names:
        lay = graph.layer(name)
        src, dst, w = lay.edge_arrays()
        a, t = (dst, src) if lay.spec.direction == "reverse" else (src, dst)
        keys.append(a.astype(np.int64) * n + t)
        weights.append(np.abs(w))
    key = np.concatenate(keys)
    uniq, inv = np.unique(key, return_inverse=True)
    w = np.bincount(inv, weights=np.concatenate(weights))
    return (uniq // n).astype(np.int32), (uniq % n).astype(np.int32), w


def suspicion(
    graph: SocialGraph,
    *,
    follow_layer: "str | Layer | None | bool" = None,
    threshold: float = DEFAULT_THRESHOLD,
    known_suspicious=None,
) -> Suspicion:
    """Suspicion signals, score and flag for every account (see the module notes for each signal).

    Parameters
    ----------
    follow_layer : str, Layer or False, optional
        The layer of "follows" ties (default: ``follows``, else the graph's only structural layer; ``False``:
        none).
    threshold : float, default 0.5
        Suspicion at or above which an account is flagged.
    known_suspicious : iterable of account ids, optional
        Accounts already known to be fake: flagged, and following them counts as a signal.

    Returns
    -------
    Suspicion

    Examples
    --------
    A follow farm: ``bot`` follows 80 accounts that each follow two others; nobody follows ``bot``.

    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> real = [f"r{i}" for i in range(80)]
    >>> src = ["bot"] * 80 + [real[i] for i in range(80)] + [real[i] for i in range(80)]
    >>> dst = real + [real[(i + 1) % 80] for i in range(80)] + [real[(i + 2) % 80] for i in range(80)]
    >>> s = suspicion(GraphBuilder().add_edges("follows", src, dst).build())
    >>> bool(s.flagged[s.graph.index_of(["bot"])[0]]), int(s.flagged.sum())
    (True, 1)
    >>> for part in s.reason(int(s.graph.index_of(["bot"])[0])).split(", and "):
    ...     print(part)
    mass-following: follows 80 accounts, followed by 0 (ratio 81x; many here: 20+)
    the accounts it follows form no community (160 ties among 80 of them, 164.6 expected from popularity alone, z -0.4); follows 80, 0% follow back
    """
    if not 0.0 < threshold <= 1.0:
        raise ParameterError(f"threshold must be in (0, 1], got {threshold}")
    started = _time.perf_counter()
    n = graph.n_nodes
    nan = np.full(n, np.nan)
    cols: dict[str, np.ndarray] = {}
    st: dict[str, np.ndarray] = {}
    cutoffs: dict[str, float] = {}
    missing: dict[str, str] = {}

    # -- follow structure ----------------------------------------------------------------------------------
    fl = follow_layer_of(graph, follow_layer)
    if fl is not None:
        followers = fl.out_degree().astype(np.float64)
        followees = fl.in_degree().astype(np.float64)
        cols["followees"], cols["followers"] = followees, followers
        # the bar is what the following accounts that are not mass-followers themselves do (followed back at
        # least a fifth as much as they follow): a farm cannot lift it however large a share of the graph it is
        following = followees > 0
        normal = following if fl.undirected else following & ((followees + 1.0) / (followers + 1.0)
                                                               < FOLLOW_RATIO_RAMP[0])
        positive = followees[normal if normal.sum() >= REFERENCE_MIN_ACCOUNTS else following]
        lo = max(float(MASS_FOLLOW_FLOOR), float(np.quantile(positive, MASS_FOLLOW_QUANTILE)) if len(positive) else 0.0)
        hi = MASS_FOLLOW_SPAN * lo
        cutoffs["mass_follow_from"], cutoffs["mass_follow_full"] = lo, hi
        many = ramp(followees, lo, hi)
        if fl.undirected:
            cols["follow_ratio"] = cols["reciprocity"] = nan.copy()
            for c in COMMUNITY_COLUMNS:
                cols[c] = nan.copy()
            st["mass_following"] = st["low_reciprocity"] = nan.copy()
            missing["mass_following"] = missing["low_reciprocity"] = f"layer '{fl.name}' is undirected"
        else:
            ratio = (followees + 1.0) / (followers + 1.0)
            recip = K._reciprocal_count(fl.out_indptr, fl.out_indices, fl.in_indptr, fl.in_indices)
            reciprocity = np.divide(recip, followees, out=nan.copy(), where=followees > 0)
            cols["follow_ratio"], cols["reciprocity"] = ratio, reciprocity
            mass = ramp(np.log(ratio), *np.log(FOLLOW_RATIO_RAMP)) * many
            cols.update(_followee_community(fl, mass > 0, recip))
            st["mass_following"] = mass * (1.0 - np.nan_to_num(ramp(cols["followee_community_z"],
                                                                    *COMMUNITY_Z_RAMP), nan=0.0))
            st["low_reciprocity"] = many * (np.nan_to_num(reciprocity, nan=1.0) < RECIPROCITY_LOW)
    else:
        for c in ("followees", "followers", "follow_ratio", "reciprocity", *COMMUNITY_COLUMNS,
                  "followees_flagged_share"):
            cols[c] = nan.copy()
        for s in ("mass_following", "low_reciprocity", "follows_suspicious"):
            st[s] = nan.copy()
            missing[s] = "no follow layer"

    # -- activity, bursts, synchronisation -------------------------------------------------------------------
    actor, target, times, _, _ = actions(graph)
    if len(actor):
        acts = np.bincount(actor, minlength=n).astype(np.float64)
        order = np.lexsort((times, actor))
        indptr = np.concatenate([[0], np.cumsum(acts.astype(np.int64))])
        busiest, _ = K._max_in_window(indptr, times[order], BURST_WINDOW)
        busiest = busiest.astype(np.float64)
        share = np.divide(busiest, acts, out=nan.copy(), where=acts > 0)
        enough = acts >= BURST_MIN_ACTIONS
        # the bar is what active accounts that are not burst-only do, so burst accounts cannot lift it
        reference = enough & (share < BURST_SHARE_RAMP[0])
        pool = busiest[reference if reference.sum() >= REFERENCE_MIN_ACCOUNTS else enough]
        b_lo = max(float(BURST_MIN_ACTIONS), float(np.quantile(pool, BURST_COUNT_QUANTILE)) if len(pool) else 0.0)
        b_hi = BURST_COUNT_SPAN * b_lo
        cutoffs["burst_count_from"], cutoffs["burst_count_full"] = b_lo, b_hi
        cols["actions"], cols["busiest_window_actions"], cols["burst_share"] = acts, busiest, share
        st["burst"] = np.where(enough, ramp(share, *BURST_SHARE_RAMP) * ramp(busiest, b_lo, b_hi), 0.0)
        amp = actions(graph, amplification_only=True)
        cols["sync_partner_targets"], cols["sync_share"] = _synchronisation(n, *amp[:3])
        st["synchronised"] = (ramp(cols["sync_partner_targets"], *SYNC_TARGETS_RAMP)
                              * ramp(cols["sync_share"], *SYNC_SHARE_RAMP))
    else:
        for c in ("actions", "busiest_window_actions", "burst_share", "sync_partner_targets", "sync_share"):
            cols[c] = nan.copy()
        for s in ("burst", "synchronised"):
            st[s] = nan.copy()
            missing[s] = "no timestamped events"

    # -- inactive followers: follow, never retweet / reply / mention / like --------------------------------------
    made = interaction_edges(graph)
    if fl is not None and made is not None:
        cols["interactions_made"] = np.bincount(made[0], weights=made[2], minlength=n)
        st["inactive"] = ((cols["interactions_made"] == 0) & (cols["followees"] > 0)).astype(np.float64)
    else:
        cols["interactions_made"] = (np.bincount(made[0], weights=made[2], minlength=n) if made is not None
                                     else nan.copy())
        st["inactive"] = nan.copy()
        missing["inactive"] = ("no follow layer (in an activity-only graph every account acted or was acted on)"
                               if fl is None else "no interaction layer (retweets, replies, mentions, likes)")

    # -- retweet rings ----------------------------------------------------------------------------------------
    edges = interaction_edges(graph, amplification_only=True)
    if edges is not None and len(edges[0]):
        cols["ring_share"], cols["ring_partners"] = _ring(n, *edges)
        st["ring"] = ramp(cols["ring_share"], *RING_SHARE_RAMP) * ramp(cols["ring_partners"], *RING_PARTNERS_RAMP)
    else:
        cols["ring_share"] = cols["ring_partners"] = nan.copy()
        st["ring"] = nan.copy()
        missing["ring"] = "no retweets or likes layer"

    # -- following flagged accounts, propagated -----------------------------------------------------------------
    known = np.zeros(n, dtype=bool)
    if known_suspicious is not None:
        dense = lookup_ids(graph, list(known_suspicious))
        known[dense[dense >= 0]] = True
    if fl is not None:
        st["follows_suspicious"] = np.zeros(n)
        cols["followees_flagged_share"] = nan.copy()
    base = _combine(st, n)
    flagged = (base >= threshold) | known
    if fl is not None:
        src, dst, _ = fl.edge_arrays()             # src followed by dst
        for _ in range(PROPAGATION_ROUNDS):
            hits = np.bincount(dst, weights=flagged[src].astype(np.float64), minlength=n)
            share = np.divide(hits, cols["followees"], out=nan.copy(), where=cols["followees"] > 0)
            cols["followees_flagged_share"] = share
            st["follows_suspicious"] = np.where(cols["followees"] >= FOLLOWS_SUSPICIOUS_MIN,
                                                ramp(share, *FOLLOWS_SUSPICIOUS_RAMP), 0.0)
            score = _combine(st, n)
            flagged = (score >= threshold) | known
    score = np.where(known, 1.0, _combine(st, n))
    flagged = (score >= threshold) | known
    info = {"threshold": threshold, "cutoffs": cutoffs, "follow_layer": None if fl is None else fl.name,
            "missing": missing, "known": known if known.any() else None, "flagged": int(flagged.sum()),
            "seconds": round(_time.perf_counter() - started, 3)}
    return Suspicion(graph, MappingProxyType(cols), MappingProxyType({s: st[s] for s in SIGNALS}), score, flagged,
                     MappingProxyType(info))


def lookup_ids(graph: SocialGraph, ids) -> np.ndarray:
    """Dense indices of ids given as text or numbers (``"7"`` finds account 7 of an integer-id graph), -1 where
    the graph has no such account.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> lookup_ids(GraphBuilder().add_edges("x", [7], [9]).build(), ["9", "x", 7]).tolist()
    [1, -1, 0]
    """
    ids = [str(x).strip() for x in ids]
    if not ids:
        return np.empty(0, dtype=np.int64)
    return graph.id_map.lookup(np.asarray(ids, dtype=object)).astype(np.int64)     # "007" is text, as loaded


def _combine(strengths: Mapping, n: int) -> np.ndarray:
    keep = np.ones(n)
    for name, w in WEIGHTS.items():
        keep *= 1.0 - w * np.nan_to_num(strengths.get(name, np.zeros(n)), nan=0.0)
    return 1.0 - keep


def _followee_community(fl: Layer, candidate: np.ndarray, recip: np.ndarray) -> dict:
    """For each ``candidate`` account: the ties among the accounts it follows, the ties their popularity alone
    predicts, the z-score ``(observed - expected) / sqrt(max(expected, COMMUNITY_MIN_VARIANCE))`` and how many
    followees were examined (the columns :data:`COMMUNITY_COLUMNS`); NaN for every other account.

    Ties are edges in either direction, among the followees that are not candidates themselves (a farm's
    accounts following each other are no community), over every pair of them or, above
    :data:`COMMUNITY_SAMPLE`, every pair of a fixed-seed sample of that many.
    """
    n = fl.n_nodes
    out = {c: np.full(n, np.nan) for c in COMMUNITY_COLUMNS}
    accounts = np.flatnonzero(candidate)
    if len(accounts) == 0:
        return out
    degree = (fl.out_degree() + fl.in_degree() - recip).astype(np.float64)       # undirected, simple
    if not fl.loop_free:
        src, dst, _ = fl.edge_arrays()
        degree -= np.bincount(src[src == dst], minlength=n)
    # the candidates in a fixed shuffled order: the parallel loop splits them evenly by cost (farm accounts
    # often have neighbouring ids and the largest lists)
    order = np.random.default_rng(0).permutation(accounts)
    obs, exp, _, examined = K._followee_ties(order.astype(np.int64), fl.in_indptr, fl.in_indices, fl.out_indptr,
                                             fl.out_indices, degree, float(degree.sum()), candidate,
                                             COMMUNITY_SAMPLE, 0)
    out["followee_ties"][order], out["followee_ties_expected"][order] = obs, exp
    out["followees_examined"][order] = examined
    out["followee_community_z"][order] = (obs - exp) / np.sqrt(np.maximum(exp, COMMUNITY_MIN_VARIANCE))
    return out


def _synchronisation(n: int, actor, target, times):
    """Per account: distinct targets co-acted on (within SYNC_WINDOW) with its most frequent partner, and that
    count over the account's distinct targets."""
    order = np.lexsort((actor, times, target))
    counts = np.bincount(target, minlength=n).astype(np.int64)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    a, b, t = K._co_action_pairs(indptr, actor[order].astype(np.int32), times[order], SYNC_WINDOW, SYNC_CAP)
    best = np.zeros(n)
    if len(a):
        pair = a.astype(np.int64) * n + b
        o = np.lexsort((t, pair))
        pair, t, a, b = pair[o], t[o], a[o], b[o]
        new = np.ones(len(pair), dtype=bool)
        new[1:] = (pair[1:] != pair[:-1]) | (t[1:] != t[:-1])
        pair, a, b = pair[new], a[new], b[new]
        uniq, start, cot = np.unique(pair, return_index=True, return_counts=True)
        cot = cot.astype(np.float64)
        np.maximum.at(best, a[start], cot)
        np.maximum.at(best, b[start], cot)
    distinct = np.unique(actor.astype(np.int64) * n + target)
    n_targets = np.bincount((distinct // n).astype(np.int64), minlength=n).astype(np.float64)
    share = np.divide(best, n_targets, out=np.full(n, np.nan), where=n_targets > 0)
    best = np.where(n_targets > 0, best, np.nan)
    return best, share


def _ring(n: int, actor, target, weight):
    """Per account: share of its interactions going to accounts that interact back, and how many those are."""
    key = actor.astype(np.int64) * n + target            # sorted (np.unique made them)
    back = target.astype(np.int64) * n + actor
    pos = np.searchsorted(key, back)
    mutual = (pos < len(key)) & (key[np.minimum(pos, len(key) - 1)] == back) & (actor != target)
    total = np.bincount(actor, weights=weight, minlength=n)
    to_mutual = np.bincount(actor, weights=weight * mutual, minlength=n)
    share = np.divide(to_mutual, total, out=np.full(n, np.nan), where=total > 0)
    partners = np.bincount(actor, weights=mutual.astype(np.float64), minlength=n)
    return share, np.where(total > 0, partners, np.nan)


def _describe(name: str, c: Mapping, i: int, cut: Mapping) -> str:
    if name == "mass_following":
        return (f"mass-following: follows {c['followees'][i]:,.0f} accounts, followed by {c['followers'][i]:,.0f} "
                f"(ratio {c['follow_ratio'][i]:,.0f}x; many here: {cut['mass_follow_from']:,.0f}+)"
                + _community_words(c, i))
    if name == "low_reciprocity":
        return f"follows {c['followees'][i]:,.0f}, {100 * c['reciprocity'][i]:.0f}% follow back"
    if name == "inactive":
        return "never acted (no retweet, reply, mention or like)"
    if name == "burst":
        return (f"burst-only: {c['busiest_window_actions'][i]:,.0f} of its {c['actions'][i]:,.0f} actions within "
                f"{BURST_WINDOW // 60} minutes")
    if name == "synchronised":
        return (f"synchronised: acted on {c['sync_partner_targets'][i]:,.0f} targets within {SYNC_WINDOW} s of the "
                f"same other account ({100 * c['sync_share'][i]:.0f}% of its targets)")
    if name == "ring":
        return (f"ring: {100 * c['ring_share'][i]:.0f}% of its interactions go to {c['ring_partners'][i]:,.0f} "
                "accounts that interact back")
    return f"{100 * c['followees_flagged_share'][i]:.0f}% of the accounts it follows are flagged"


def _community_words(c: Mapping, i: int) -> str:
    z = c["followee_community_z"][i]
    if np.isnan(z):
        return ""
    obs, exp, k = c["followee_ties"][i], c["followee_ties_expected"][i], c["followees_examined"][i]
    among = (f"{obs:,.0f} {'tie' if obs == 1 else 'ties'} among {k:,.0f} of them"
             + f", {exp:,.1f} expected from popularity alone, z {z:.1f}")
    if z < COMMUNITY_Z_RAMP[0]:
        return f", and the accounts it follows form no community ({among})"
    if z < COMMUNITY_Z_RAMP[1]:
        return f"; partly cleared: the accounts it follows are somewhat tied to each other ({among})"
    return f"; cleared: the accounts it follows form a community ({among})"
