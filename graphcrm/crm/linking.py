"""Customer <-> account linking: exact keys first, then a Fellegi-Sunter model over blocked candidate pairs.

1. **Exact links.**  A customer's known handle equals the account's handle
   (method ``handle``), or the SHA-256 of the normalised e-mail / phone equals
   the hash the account export carries (``email_sha256`` / ``phone_sha256``).
   Raw contact details are never compared or written, only their hashes.
   Exact links carry fixed probabilities (``EXACT_PROBABILITY``), checked
   against the labelled benchmark.  When exact keys of one customer point to
   different accounts, or one account is claimed exactly by several
   customers, the pair goes to the review queue instead.
2. **Blocking.**  Candidate pairs share at least one blocking key: surname
   prefix / suffix + first initial, first name + surname initial, the full
   name (either way round), first name + city, surname + city, the handle
   equal to the e-mail's local part or a known handle, the surname spelled in
   an account's handle next to its first name or initial, or a shared number
   + first letter.  Blocks holding more than ``max_block`` accounts are
   skipped, so the work grows with the number of customers, not customers x
   accounts.
3. **Comparison levels** per pair, from rapidfuzz similarities (Jaro-Winkler,
   ratio) on transliterated (anyascii), lower-cased names with nicknames
   mapped to the formal first name; a customer's name that matches the
   account's the other way round is compared swapped, and an account whose
   display name is a first name only takes the surname its handle spells
   (``katherineashton``): name (first name x surname, joint), city,
   and handle (vs the e-mail's local part / known handles: exact, exact but
   just the name, close, same number, similar, different; x vs the name:
   full, surname, first, none).  A missing value is a level with no weight.
4. **Fellegi-Sunter weights** ``log(m / u)`` per level:

   * ``m`` (level shares among true pairs) from the customers that were
     linked exactly -- the data brings its own labels -- a joint level seen
     in few of them shrunk towards the product of its parts' shares
     (:func:`_match_shares`); with fewer than
     ``MIN_TRAINING`` of them, fixed defaults (:func:`default_m`);
   * ``u`` of name and city from random customer x account pairs (as splink
     does), with a term-frequency adjustment: agreeing on a common first
     name, surname or city is weaker evidence than on a rare one;
   * handles are compared *given* whether the names agree (namesakes'
     handles are built from the same name): their ``m`` and ``u`` are level
     shares within each name group, ``u`` from the non-matching candidates
     of the exactly linked customers (people who look alike).
5. **One account per customer, one customer per account.**  Accounts
   linked exactly to another customer are no candidates.  A customer has an
   account with prior probability ``pi`` (fitted by EM), a priori any of the
   ``N`` accounts; the candidates compete, so two equally good namesakes get
   about 0.5 each and neither is linked (:func:`_one_per_customer`).
6. **Decision.**  ``p >= threshold`` -> link; otherwise ``p >= review_floor``
   -> review queue with the leading candidates; an account that would be
   linked to two customers sends both to review.

On the labelled benchmark (``benchmarks/RESULTS-crm.md``) predicted
probabilities match the observed share of true links within a few points on
300,000 accounts, and are conservative on small account sets.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz import distance, fuzz, process

from graphcrm.loaders.errors import InvalidInputError, ParameterError
from graphcrm.crm.names import (
    _alnum,
    _canonical_first,
    _handle_surnames,
    _initial_class,
    _name_from_email,
    _number,
    _split,
    _surname_from_handle,
    normalize_city,
    normalize_name,
)
from graphcrm.loaders.customers import normalize_email, normalize_phone, read_customers, sha256_hex

EXACT_PROBABILITY = {"handle": 0.999, "email_sha256": 0.995, "phone_sha256": 0.99}
LINK_COLUMNS = ["customer_id", "account_id", "method", "probability", "evidence"]
REVIEW_COLUMNS = ["customer_id", "account_id", "candidate_rank", "probability", "reason", "evidence"]
MIN_TRAINING = 30
U_SAMPLE = 200_000
FIRST_LEVELS = ("-", "exact", "similar", "initial", "different")
LAST_LEVELS = ("-", "exact", "close", "similar", "different")
HANDLE_LEVELS = ("-", "exact", "exact_namelike", "close", "same_number", "similar", "different")
HANDLE_NAME_LEVELS = ("-", "full", "surname", "first", "none")


def _joint(a_levels, b_levels):
    return tuple("missing" if (x == "-" and y == "-") else f"{x}/{y}" for x in a_levels for y in b_levels)


# comparison features; each is one categorical level per pair (joint where parts are correlated), 0 = missing
FEATURES = ("name", "city", "handle")
LEVELS = {
    "name": _joint(FIRST_LEVELS, LAST_LEVELS),                 # first name / surname
    "city": ("missing", "exact", "different"),
    # handle vs e-mail local part or known handles / vs name; a second copy for pairs whose names agree: a
    # namesake's handle is built from the same name, so handles are compared *given* the name group
    "handle": _joint(HANDLE_LEVELS, HANDLE_NAME_LEVELS)
    + tuple("names agree: " + x for x in _joint(HANDLE_LEVELS, HANDLE_NAME_LEVELS)),
}
MISSING = {f: np.array([label.endswith("missing") for label in LEVELS[f]]) for f in LEVELS}
GROUPS = {"name": 1, "city": 1, "handle": 2}   # levels split in equal groups, each normalised on its own
HANDLE = 2         # index of the handle feature
SMOOTHING = 10.0   # pseudo-pairs pulling a rare level's m towards its prior
JOINT_SHAPE = {"name": (len(FIRST_LEVELS), len(LAST_LEVELS)), "handle": (len(HANDLE_LEVELS), len(HANDLE_NAME_LEVELS))}
ACCOUNT_ALIASES = {
    "account_id": ("account_id", "id", "user_id"),
    "handle": ("handle", "screen_name", "username", "user_name"),
    "display_name": ("display_name", "name", "full_name"),
    "location": ("location", "city"),
    "email_sha256": ("email_sha256", "email_hash"),
    "phone_sha256": ("phone_sha256", "phone_hash"),
}


@dataclass(frozen=True)
class LinkResult:
    """Links, the review queue and what the model learned.

    Attributes
    ----------
    links : pandas.DataFrame
        ``customer_id, account_id, method, probability, evidence``, one row
        per linked customer, sorted by customer id.
    review : pandas.DataFrame
        ``customer_id, account_id, candidate_rank, probability, reason,
        evidence``: candidates a person should decide on.
    candidates : pandas.DataFrame
        Each customer's three best scored candidates (``customer_id,
        account_id, probability`` + levels), for diagnostics; how many
        pairs were scored is ``info["candidate_pairs"]``.
    info : dict
        Counts, the model used, its weights per level, the fitted share of
        customers with an account, timings.
    """

    links: pd.DataFrame
    review: pd.DataFrame
    candidates: pd.DataFrame
    info: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------ inputs
def prepare_accounts(accounts: pd.DataFrame) -> pd.DataFrame:
    """Account attributes in the linker's columns: ``account_id, handle, display_name, location, email_sha256, phone_sha256``.

    Column names are matched case-insensitively with common aliases
    (``screen_name``, ``name``, ``city``, ``email_hash`` ...); raw ``email`` /
    ``phone`` columns are normalised and hashed here and dropped.

    Examples
    --------
    >>> prepare_accounts(pd.DataFrame({"id": [7], "screen_name": ["@Ann"]})).loc[0, "handle"]
    'ann'
    """
    lowered = {str(c).strip().lower(): c for c in accounts.columns}
    out = pd.DataFrame(index=accounts.index)
    for role, names in ACCOUNT_ALIASES.items():
        col = next((lowered[n] for n in names if n in lowered), None)
        out[role] = accounts[col] if col is not None else ""
    if not any(n in lowered for n in ACCOUNT_ALIASES["account_id"]):
        raise InvalidInputError(f"accounts table: missing column 'account_id' (found: {', '.join(map(str, accounts.columns))})")
    if "email" in lowered and not (out.email_sha256.astype(str) != "").any():
        out["email_sha256"] = [sha256_hex(e) if (e := normalize_email(v) if isinstance(v, str) else None) else ""
                               for v in accounts[lowered["email"]]]
    if "phone" in lowered and not (out.phone_sha256.astype(str) != "").any():
        out["phone_sha256"] = [sha256_hex(p) if (p := normalize_phone(str(v)) if isinstance(v, str) and v else None)
                               else "" for v in accounts[lowered["phone"]]]
    for col in ("handle", "display_name", "location", "email_sha256", "phone_sha256"):
        out[col] = out[col].where(out[col].notna(), "").astype(str).str.strip()
    out["handle"] = out["handle"].str.lstrip("@").str.lower()
    out["email_sha256"] = out["email_sha256"].str.lower()
    out["phone_sha256"] = out["phone_sha256"].str.lower()
    if out.account_id.isna().any():
        raise InvalidInputError("accounts table: an account_id is empty")
    if out.account_id.duplicated().any():
        dup = out.account_id[out.account_id.duplicated()].iloc[0]
        raise InvalidInputError(f"accounts table: account {dup!r} listed twice")
    # a fixed order (by the id's text), so nothing depends on the input row order or on the ids' type
    return out.sort_values("account_id", key=lambda ids: ids.astype(str), kind="stable").reset_index(drop=True)


def _features_frame(names, cities) -> pd.DataFrame:
    # names and cities repeat a lot (namesakes, big cities): normalise each distinct value once
    name_of = {n: _split(normalize_name(n)) for n in pd.unique(pd.Series(list(names), dtype=object))}
    city_of = {c: normalize_city(c) for c in pd.unique(pd.Series(list(cities), dtype=object))}
    split = [name_of[n] for n in names]
    return pd.DataFrame({"first": [s[0] for s in split], "last": [s[1] for s in split],
                         "city": [city_of[c] for c in cities]})


# ------------------------------------------------------------------------------ linking
def link_customers(customers, accounts: pd.DataFrame, *, threshold: float | None = None,
                   target_precision: float = 0.98, min_probability: float = 0.5, review_floor: float = 0.3,
                   max_block: int = 2000, prior_iterations: int = 50, workers: int = 1) -> LinkResult:
    """Link CRM customers to social accounts.

    Parameters
    ----------
    customers : pandas.DataFrame
        A validated table from :func:`graphcrm.loaders.read_customers`, or a raw one
        (it is validated here, strictly).
    accounts : pandas.DataFrame
        Account attributes (see :func:`prepare_accounts`), e.g. a snapshot's
        node table.
    threshold : float, optional
        Link when the match probability is at least this.  By default the
        threshold is chosen per run from ``target_precision``.
    target_precision : float
        Without a ``threshold``: link the best candidates in decreasing order
        of probability while the expected share of right links (the mean
        probability of all links, exact ones included) stays at least this,
        and never below ``min_probability``.  The probabilities are calibrated
        (``benchmarks/RESULTS-crm.md``), so this is the precision to expect;
        ``info["threshold"]`` reports the threshold it came to.
    min_probability : float
        The lowest threshold the ``target_precision`` rule may choose.
    review_floor : float
        Below the threshold but at least this: to the review queue.
    max_block : int
        Skip blocking keys shared by more accounts than this.
    prior_iterations : int
        EM iterations fitting the share of (not exactly linked) customers who have an account.
    workers : int
        Threads for rapidfuzz's pairwise similarities.

    Examples
    --------
    >>> accounts = pd.DataFrame({"account_id": [1, 2, 3], "handle": ["annlee", "bo_c", "ann_l"],
    ...                          "display_name": ["Ann Lee", "Bo Chan", "Ann Lee"], "location": ["Oslo", "", "Rome"]})
    >>> customers = pd.DataFrame({"customer_id": ["c1", "c2"], "name": ["Ann Lee", "Bo Chan"],
    ...                           "handles": ["@AnnLee", ""], "city": ["Oslo", "Lima"]})
    >>> result = link_customers(customers, accounts)
    >>> result.links[["customer_id", "account_id", "method"]].values.tolist()
    [['c1', 1, 'handle']]
    """
    if threshold is not None and (not 0.0 < threshold <= 1.0 or not 0.0 <= review_floor <= threshold):
        raise ParameterError(f"need 0 <= review_floor <= threshold <= 1 (got {review_floor}, {threshold})")
    if not 0.0 < target_precision <= 1.0 or not review_floor <= min_probability <= 1.0:
        raise ParameterError(f"need 0 < target_precision <= 1 and review_floor <= min_probability <= 1 (got "
                             f"{target_precision}, {min_probability}, review floor {review_floor})")
    started = time.perf_counter()
    if "email_sha256" not in customers.columns:
        customers, _ = read_customers(customers)
    cust = customers.sort_values("customer_id", key=lambda ids: ids.astype(str), kind="stable").reset_index(drop=True)
    acc = prepare_accounts(accounts)
    exact, exact_review = _exact_links(cust, acc)
    t_exact = time.perf_counter()
    exact_customers = set(exact.customer_id) | set(exact_review.customer_id)
    rest = cust[~cust.customer_id.isin(exact_customers)].reset_index(drop=True)
    training = exact[["customer_id", "account_id"]].merge(cust, on="customer_id")
    pairs, em = _probabilistic(rest, acc, training, max_block=max_block, iterations=prior_iterations, workers=workers)
    t_prob = time.perf_counter()
    rule = "fixed" if threshold is not None else f"target precision {target_precision:g}"
    if threshold is None:
        threshold = _operating_threshold(exact.probability.to_numpy(float), pairs, target_precision,
                                         min_probability)
    prob_links, prob_review = _decide(pairs, threshold, review_floor)
    # an account linked exactly to someone else cannot also be linked probabilistically
    taken = set(exact.account_id)
    clash = prob_links.account_id.isin(taken)
    if clash.any():
        moved = prob_links[clash].assign(candidate_rank=1, reason="account already linked exactly to another customer")
        prob_review = pd.concat([prob_review, moved[REVIEW_COLUMNS]], ignore_index=True)
        prob_links = prob_links[~clash]
    links = pd.concat([exact, prob_links[LINK_COLUMNS]], ignore_index=True)
    links = links.sort_values(["customer_id"], kind="stable").reset_index(drop=True)
    review = pd.concat([exact_review, prob_review], ignore_index=True)
    review = review.sort_values(["customer_id", "candidate_rank"], kind="stable").reset_index(drop=True)
    links["probability"] = links["probability"].astype(float).round(6)
    review["probability"] = review["probability"].astype(float).round(6)
    review["candidate_rank"] = review["candidate_rank"].astype(np.int64)
    info = {
        "customers": len(cust), "accounts": len(acc), "linked": len(links),
        "linked_by_method": {str(k): int(v) for k, v in links.method.value_counts().sort_index().items()},
        "review_customers": int(review.customer_id.nunique()), "review_rows": len(review),
        "candidate_pairs": int(em.get("candidate_pairs", len(pairs))), "threshold": round(float(threshold), 6), "threshold_rule": rule,
        "expected_precision": round(float(links.probability.mean()), 4) if len(links) else 1.0,
        "review_floor": review_floor, **em,
        "seconds": {"exact": round(t_exact - started, 3), "probabilistic": round(t_prob - t_exact, 3),
                    "total": round(time.perf_counter() - started, 3)},
    }
    cand_cols = ["customer_id", "account_id", "probability"] + list(FEATURES)
    candidates = pairs[cand_cols] if len(pairs) else pd.DataFrame(columns=cand_cols)
    return LinkResult(links[LINK_COLUMNS], review[REVIEW_COLUMNS], candidates, info)


def _exact_links(cust: pd.DataFrame, acc: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    found = []
    handle_rows = [(cid, h) for cid, hs in zip(cust.customer_id, cust.handles) for h in str(hs).split(";") if h]
    if handle_rows:
        hf = pd.DataFrame(handle_rows, columns=["customer_id", "key"])
        found.append(hf.merge(acc[acc.handle != ""][["account_id", "handle"]].rename(columns={"handle": "key"}),
                              on="key").assign(method="handle"))
    for col in ("email_sha256", "phone_sha256"):
        left = cust[cust[col] != ""][["customer_id", col]]
        right = acc[acc[col] != ""][["account_id", col]]
        found.append(left.merge(right, on=col).rename(columns={col: "key"}).assign(method=col))
    hits = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=["customer_id", "account_id", "method"])
    if not len(hits):
        empty = pd.DataFrame(columns=LINK_COLUMNS)
        return empty, pd.DataFrame(columns=REVIEW_COLUMNS)
    rank = {"handle": 0, "email_sha256": 1, "phone_sha256": 2}
    hits = hits.assign(order=hits.method.map(rank)).sort_values(["customer_id", "order"], kind="stable")
    per = hits.groupby("customer_id").agg(n_acc=("account_id", "nunique"))
    acc_claims = hits.groupby("account_id").agg(n_cust=("customer_id", "nunique"))
    hits = hits.join(per, on="customer_id").join(acc_claims, on="account_id")
    ok = (hits.n_acc == 1) & (hits.n_cust == 1)
    good = hits[ok].groupby("customer_id", sort=True).agg(
        account_id=("account_id", "first"), method=("method", "first"),
        evidence=("method", lambda m: "+".join(sorted(set(m), key=rank.get)))).reset_index()
    good["probability"] = [1 - np.prod([1 - EXACT_PROBABILITY[m] for m in e.split("+")]) for e in good.evidence]
    good["evidence"] = "exact:" + good["evidence"]
    bad = hits[~ok].drop_duplicates(["customer_id", "account_id"])
    bad = bad.assign(candidate_rank=bad.groupby("customer_id").cumcount() + 1, probability=0.5,
                     reason=np.where(bad.n_acc > 1, "exact keys point to different accounts",
                                     "account claimed exactly by several customers"),
                     evidence="exact:" + bad.method)
    return good[LINK_COLUMNS], bad[REVIEW_COLUMNS]


def _block_keys(first, last, city, hl, handle_surnames=None) -> list[tuple[int, str]]:
    """Blocking keys of customers (``handle_surnames`` None) or accounts (surnames their handles may carry)."""
    keys = []
    for i, (f, s, c, h) in enumerate(zip(first, last, city, hl)):
        if s and f:
            keys.append((i, f"L:{s[:4]}{f[0]}"))
            keys.append((i, f"R:{s[-4:]}{f[0]}"))
        if f and c:
            keys.append((i, f"F:{f}|{c}"))
        if f and s:
            keys.append((i, f"I:{f}|{s[0]}"))
            keys.append((i, f"N:{f}|{s}"))        # every namesake is a candidate: they share the probability
            if handle_surnames is None:
                # "Khan Elizabeth" / "Khan Liz": first and surname the other way round (a nickname made canonical)
                keys.append((i, f"N:{_canonical_first(s)}|{f}"))
                keys.append((i, f"HS:{s}|{f[0]}"))
            elif _canonical_first(s) != s:
                keys.append((i, f"N:{f}|{_canonical_first(s)}"))   # an account "Khan Liz"
        if handle_surnames is not None:
            keys.extend((i, f"HS:{x}|{f[:1]}") for x in handle_surnames[i])
        if s and c:
            keys.append((i, f"S:{s}|{c}"))
        for part in h:
            if len(part) >= 4:
                keys.append((i, f"H:{part}"))
            number = _number(part)
            if number:
                keys.append((i, f"D:{number}|{part[0]}"))
    return keys


def _probabilistic(cust: pd.DataFrame, acc: pd.DataFrame, training: pd.DataFrame, *, max_block: int,
                   iterations: int, workers: int):
    """Score candidate pairs of ``cust``; m/u from ``training`` (exactly linked customers) when it is large enough."""
    columns = ["customer_id", "account_id", "probability", "ci", "ai", *FEATURES]
    if not len(cust) or not len(acc):
        return pd.DataFrame(columns=columns), {"model": None}
    n_rest = len(cust)
    both = pd.concat([cust, training.drop(columns=["account_id"])], ignore_index=True)
    af = _features_frame(acc.display_name, acc.location)
    first_names = set(af["first"][af["first"].str.len() >= 3])
    names = [n if str(n).strip() else _name_from_email(e, first_names) for n, e in zip(both.name, both.email_local)]
    cf = _features_frame(names, both.city)
    # a training customer's known handle made its exact link: compare only its e-mail's local part
    cust_handles = [([_alnum(x) for x in str(hs).split(";") if x] if i < n_rest else [])
                    + ([_alnum(e)] if e else []) for i, (hs, e) in enumerate(zip(both.handles, both.email_local))]
    acc_hl = [_alnum(h) for h in acc.handle]
    acc_letters = [re.sub(r"[^a-z]", "", h) for h in acc_hl]
    # a display name that is a first name only: the surname its handle spells, if it spells one
    af["last"] = [s or _surname_from_handle(f, h) for f, s, h in zip(af["first"], af["last"], acc_letters)]
    ck = pd.DataFrame(_block_keys(cf["first"], cf["last"], cf.city, cust_handles), columns=["ci", "key"])
    ak = pd.DataFrame(_block_keys(af["first"], af["last"], af.city, [[h] for h in acc_hl],
                                  [_handle_surnames(f, h) for f, h in zip(af["first"], acc_letters)]),
                      columns=["ai", "key"])
    sizes = ak.groupby("key").size()
    ak = ak[ak.key.map(sizes) <= max_block]
    pairs = ck.merge(ak, on="key")[["ci", "ai"]].drop_duplicates().sort_values(["ci", "ai"]).reset_index(drop=True)
    if not len(pairs):
        return pd.DataFrame(columns=columns), {"model": None}
    ci, ai = pairs.ci.to_numpy(), pairs.ai.to_numpy()
    tf = _term_frequencies(af)
    levels, tf_adj = _compare(cf, af, cust_handles, acc_hl, ci, ai, tf, workers)
    is_train = ci >= n_rest
    train_acc = np.full(len(both), -1, dtype=np.int64)
    if len(training):
        pos = pd.Series(np.arange(len(acc)), index=acc.account_id.to_numpy())
        train_acc[n_rest:] = pos.reindex(training.account_id.to_numpy()).fillna(-1).to_numpy(np.int64)
    label = is_train & (train_acc[ci] == ai)
    n_true = int(label.sum())
    # u: level frequencies among random pairs (as splink does), not among the similar-looking candidates
    rng = np.random.default_rng(0)
    n_random = min(U_SAMPLE, len(both) * len(acc))
    rci, rai = rng.integers(0, len(both), n_random), rng.integers(0, len(acc), n_random)
    random_levels, _ = _compare(cf, af, cust_handles, acc_hl, rci, rai, tf, workers)
    u = _level_shares(random_levels)
    u[0] = _name_u(random_levels[:, 0])
    if n_true >= MIN_TRAINING:
        # handles are built from names: given that two people look alike, how often do their handles agree?
        # u of the handle comparison comes from the non-matching candidates of the exactly linked customers
        hard = _level_shares(levels[is_train & ~label])
        u[HANDLE] = hard[HANDLE]
        m = _match_shares(levels[label], u)
        model = ("fellegi-sunter: m from exact links; u of name and city from random pairs (term-frequency "
                 "adjusted), u of handles from non-matching look-alike candidates")
    else:
        m = default_m()
        model = "fellegi-sunter: default m (too few exact links to learn from), u from random pairs"
    # one customer per account: an account already linked exactly to another customer is no candidate
    taken = np.zeros(len(acc), bool)
    taken[train_acc[n_rest:][train_acc[n_rest:] >= 0]] = True
    keep = ~is_train & ~taken[ai]
    ci, ai, levels, tf_adj = ci[keep], ai[keep], levels[keep], tf_adj[keep]
    if not len(ci):
        return pd.DataFrame(columns=columns), {"model": model}
    # term-frequency adjustment: agreeing on a common value (Smith, New York) is weaker evidence than on a rare one
    log_bf = _log_bf(levels, m, u) + tf_adj
    # the accounts a probabilistic link may still go to: those not already linked exactly
    prob, has_account = _one_per_customer(ci, log_bf, int((~taken).sum()), iterations)
    n_candidates = len(ci)
    # the decision reads each customer's best three candidates only: the rest are not kept (12.9 million pairs
    # for 12,500 customers had made a table of 3 GiB)
    order = np.lexsort((ai, -prob, ci))
    first = np.r_[0, np.flatnonzero(np.diff(ci[order]) != 0) + 1]
    rank = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    kept = np.sort(order[rank < CANDIDATES_KEPT])
    ci, ai, prob, levels = ci[kept], ai[kept], prob[kept], levels[kept]
    out = pd.DataFrame({"customer_id": both.customer_id.to_numpy()[ci], "account_id": acc.account_id.to_numpy()[ai],
                        "probability": prob, "ci": ci, "ai": ai})
    for k, name in enumerate(FEATURES):
        out[name] = np.asarray(LEVELS[name], dtype=object)[levels[:, k]]
    em = {"model": model, "training_pairs": int(is_train.sum()), "training_matches": n_true,
          "candidate_pairs": n_candidates,
          "prior_has_account": round(float(has_account), 4),
          "weights": {f: {label: round(float(np.log(m[k][i] / u[k][i])), 3) for i, label in enumerate(LEVELS[f])
                          if not MISSING[f][i]} for k, f in enumerate(FEATURES)}}
    return out, em


def _level_shares(levels: np.ndarray, prior=None) -> list[np.ndarray]:
    """Share of each level per feature among the given pairs; level 0 (missing) carries no weight.

    With ``prior`` (the u shares), each level gets ``SMOOTHING`` pseudo-pairs
    spread like ``prior``: a level seen in few pairs keeps a weight near 0.
    """
    out = []
    for j, f in enumerate(FEATURES):
        c = np.bincount(levels[:, j], minlength=len(LEVELS[f])).astype(float)
        c = c + (SMOOTHING * prior[j] if prior is not None else 0.5)
        c[MISSING[f]] = 0.0
        c = c.reshape(GROUPS[f], -1)
        c = c / np.maximum(c.sum(axis=1, keepdims=True), 1e-300)
        out.append(c.ravel())
    return out


def _match_shares(levels: np.ndarray, u: list[np.ndarray]) -> list[np.ndarray]:
    """m: level shares among the true pairs, a joint level's shrunk towards the product of its parts' shares.

    A joint level (first name x surname, handle x handle-vs-name) seen in few
    true pairs is estimated from its parts, which are seen often: its count
    ``c`` against the count ``E`` expected if the parts were independent
    gives the ratio ``(c + SMOOTHING) / (E + SMOOTHING)`` applied to ``E``
    (a ratio near 1 for rarely seen levels, ``c / E`` for common ones).  A
    single feature's level gets ``SMOOTHING`` pseudo-pairs spread like ``u``.
    So a level no true pair happened to show (a surname typo together with a
    nickname, an initial for a first name) is not taken as proof of a non-match.
    """
    out = []
    for j, f in enumerate(FEATURES):
        c = np.bincount(levels[:, j], minlength=len(LEVELS[f])).astype(float)
        if f not in JOINT_SHAPE:
            m = c + SMOOTHING * u[j]
        else:
            cells = c.reshape(GROUPS[f], *JOINT_SHAPE[f])
            n = cells.sum(axis=(1, 2), keepdims=True)
            a = cells.sum(axis=2, keepdims=True) + 0.5
            b = cells.sum(axis=1, keepdims=True) + 0.5
            expected = n * (a / a.sum(axis=1, keepdims=True)) * (b / b.sum(axis=2, keepdims=True))
            m = expected * (cells + SMOOTHING) / (expected + SMOOTHING)
            # a group no true pair fell into (e.g. every training pair's names agree): no evidence, weight 0
            m = np.where(n > 0, m, u[j].reshape(cells.shape)).ravel()
        m[MISSING[f]] = 0.0
        m = m.reshape(GROUPS[f], -1)
        m = m / np.maximum(m.sum(axis=1, keepdims=True), 1e-300)
        out.append(m.ravel())
    return out


def _name_u(name_levels: np.ndarray) -> np.ndarray:
    """u of the joint name levels as the product of the first-name and surname marginals.

    Two random people agree on their first name and on their surname
    independently; the marginals are estimated from many pairs, while a
    joint cell such as exact/exact is seen only a handful of times in a random
    sample of a large account set.
    """
    k = len(LAST_LEVELS)
    first = np.bincount(name_levels // k, minlength=len(FIRST_LEVELS)) + 0.5
    last = np.bincount(name_levels % k, minlength=k) + 0.5
    joint = np.outer(first / first.sum(), last / last.sum()).ravel()
    joint[MISSING["name"]] = 0.0
    return joint / joint.sum()


def _term_frequencies(af: pd.DataFrame) -> dict:
    """Share of accounts with each first name / surname / city, and log of the chance two random accounts agree."""
    out = {}
    n = max(len(af), 1)
    for col in ("first", "last", "city"):
        vc = af[col][af[col] != ""].value_counts()
        share = (vc / n).to_dict()
        agree = float(((vc / n) ** 2).sum()) or 1.0 / n
        out[col] = (share, np.log(agree), 1.0 / n)
    return out


def _one_per_customer(ci: np.ndarray, log_bf: np.ndarray, n_accounts: int, iterations: int):
    """Posterior that candidate j is the customer's account, at most one being it.

    A customer has an account with prior probability ``pi``, then any of the
    ``N`` accounts equally likely; Bayes factors ``BF_j = P(levels | match) /
    P(levels | random pair)`` give ``p_j = (pi / N) BF_j / ((1 - pi) + (pi /
    N) sum_k BF_k)`` (accounts outside the blocks are taken to contribute
    nothing).  ``pi`` is fitted by EM over the customers (with a Beta(2, 2) prior).
    """
    shift = pd.Series(log_bf).groupby(ci).transform("max").to_numpy()
    log_sum = shift + np.log(pd.Series(np.exp(log_bf - shift)).groupby(ci).transform("sum").to_numpy())
    first = np.r_[True, ci[1:] != ci[:-1]]
    pi = 0.5
    for _ in range(max(iterations, 1)):
        log_num = np.log(pi) - np.log(n_accounts) + log_sum[first]
        post = np.exp(log_num - np.logaddexp(np.log(1 - pi), log_num))
        pi = float((post.sum() + 1.0) / (len(post) + 2.0))   # a Beta(2, 2) prior keeps small samples sensible
    log_num = np.log(pi) - np.log(n_accounts) + log_sum
    prob = np.exp(np.log(pi) - np.log(n_accounts) + log_bf - np.logaddexp(np.log(1 - pi), log_num))
    return prob, pi


def _tf_log(values: np.ndarray, freq: dict, floor: float) -> np.ndarray:
    return np.log(np.array([max(freq.get(v, 0.0), floor) for v in values]))


#: candidates kept per customer after scoring (links take the best, review the best three)
CANDIDATES_KEPT = 3
#: candidate pairs compared at a time: the comparison's text arrays cost about 300 B per pair
COMPARE_CHUNK = 500_000


def _compare(cf, af, cust_handles, acc_hl, ci, ai, tf, workers) -> tuple[np.ndarray, np.ndarray]:
    """Levels (n_pairs x features, int8) and each pair's term-frequency adjustment of its log Bayes factor,
    compared :data:`COMPARE_CHUNK` pairs at a time (55 million candidate pairs had needed about 17 GiB at once)."""
    if len(ci) <= COMPARE_CHUNK:
        levels, adj = _compare_chunk(cf, af, cust_handles, acc_hl, ci, ai, tf, workers)
        return levels.astype(np.int8), adj
    parts = [_compare_chunk(cf, af, cust_handles, acc_hl, ci[i:i + COMPARE_CHUNK], ai[i:i + COMPARE_CHUNK], tf,
                            workers) for i in range(0, len(ci), COMPARE_CHUNK)]
    return (np.concatenate([p[0].astype(np.int8) for p in parts]), np.concatenate([p[1] for p in parts]))


def _compare_chunk(cf, af, cust_handles, acc_hl, ci, ai, tf, workers) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_compare` of one chunk of pairs."""
    n = len(ci)
    jw = distance.JaroWinkler.normalized_similarity
    cfirst, afirst = cf["first"].to_numpy()[ci], af["first"].to_numpy()[ai]
    clast, alast = cf["last"].to_numpy()[ci], af["last"].to_numpy()[ai]
    # "Khan Elizabeth" for Elizabeth Khan (no comma; or an e-mail's surname.first): compare the other way round,
    # the first name that stood last made canonical ("Khan Liz" on either side)
    canon = np.vectorize(_canonical_first, otypes=[object])
    clast_c = canon(clast) if n else clast
    alast_c = canon(alast) if n else alast
    swapped = (cfirst != clast) & (cfirst != "") & ((cfirst == alast) | (cfirst == alast_c)) & \
        ((clast == afirst) | (clast_c == afirst))
    cfirst, clast = np.where(swapped, clast_c, cfirst), np.where(swapped, cfirst, clast)
    alast = np.where(swapped, alast_c, alast)
    ccity, acity = cf.city.to_numpy()[ci], af.city.to_numpy()[ai]
    levels = np.zeros((n, len(FEATURES)), dtype=np.int64)
    # name: first name x surname
    s = np.asarray(process.cpdist(list(cfirst), list(afirst), scorer=jw, workers=workers))
    miss = (cfirst == "") | (afirst == "")
    initial = np.array([a[:1] == b[:1] and (len(a) == 1 or len(b) == 1) for a, b in zip(cfirst, afirst)], bool)
    # "similar" first names start alike (Alina / Kalina are two names), up to spelling (Catherine / Katherine)
    # and transliteration (Yulia / Julia / Iulia)
    same_start = np.array([_initial_class(a) == _initial_class(b) for a, b in zip(cfirst, afirst)], bool)
    fl = np.select([miss, cfirst == afirst, (s >= 0.9) & same_start, initial], [0, 1, 2, 3], 4)
    s = np.asarray(process.cpdist(list(clast), list(alast), scorer=jw, workers=workers))
    miss = (clast == "") | (alast == "")
    ll = np.select([miss, clast == alast, s >= 0.93, s >= 0.85], [0, 1, 2, 3], 4)
    levels[:, 0] = fl * len(LAST_LEVELS) + ll
    # city
    miss = (ccity == "") | (acity == "")
    levels[:, 1] = np.select([miss, ccity == acity], [0, 1], 2)
    # handle vs the customer's e-mail local part / known handles (best of them), and vs the customer's name
    acc_hl = np.asarray(acc_hl, dtype=object)
    ahl = acc_hl[ai]
    a_letters = np.array([re.sub(r"[^a-z]", "", h) for h in acc_hl], dtype=object)[ai]
    a_number = np.array([_number(h) for h in acc_hl], dtype=object)[ai]
    best = np.zeros(n)
    exact = np.zeros(n, bool)
    letters_equal = np.zeros(n, bool)
    same_number = np.zeros(n, bool)
    has = np.zeros(n, bool)
    width = max((len(h) for h in cust_handles), default=0)
    for j in range(width):
        per_customer = np.array([h[j] if len(h) > j else "" for h in cust_handles], dtype=object)
        cand = per_customer[ci]
        ok = (cand != "") & (ahl != "")
        has |= ok
        exact |= ok & (cand == ahl)
        c_letters = np.array([re.sub(r"[^a-z]", "", h) for h in per_customer], dtype=object)[ci]
        letters_equal |= ok & (c_letters == a_letters) & (c_letters != "")
        c_number = np.array([_number(h) for h in per_customer], dtype=object)[ci]
        same_number |= ok & (c_number == a_number) & (c_number != "")
        sc = np.asarray(process.cpdist(list(cand), list(ahl), scorer=fuzz.ratio, workers=workers))
        best = np.maximum(best, np.where(ok, sc, 0))
    # a handle that is just the name (annlee, lee_ann, alee) is shared by namesakes: a level of its own
    # (a number in it makes it the person's own: johnedton813)
    namelike = np.array([bool(h) and bool(f) and bool(s_) and not num
                         and h in (f + s_, s_ + f, f[0] + s_, s_ + f[0], f + s_[0])
                         for h, f, s_, num in zip(a_letters, cfirst, clast, a_number)], bool)
    # people reuse their numbers (birth year, lucky number) across e-mail and handles
    hs = np.select([~has, exact & ~namelike, exact, best >= 90, same_number, letters_equal | (best >= 75)],
                   [0, 1, 2, 3, 4, 5], 6)
    hn = np.zeros(n, np.int64)
    for k in range(n):
        h, f, s_ = a_letters[k], cfirst[k], clast[k]
        if not h or not (f or s_):
            continue
        has_last = len(s_) >= 3 and s_ in h
        has_first = len(f) >= 3 and f in h
        hn[k] = 1 if (has_last and (has_first or h.startswith(f[:1]))) else 2 if has_last else 3 if has_first else 4
    names_agree = np.isin(fl, (1, 2)) & np.isin(ll, (1, 2, 3))
    levels[:, 2] = hs * len(HANDLE_NAME_LEVELS) + hn + names_agree * (len(HANDLE_LEVELS) * len(HANDLE_NAME_LEVELS))
    # term-frequency adjustment (as splink does): log(chance two random accounts agree) - log(share of this value)
    adj = np.zeros(n)
    for values, col, level_exact in ((cfirst, "first", fl == 1), (clast, "last", ll == 1), (ccity, "city", levels[:, 1] == 1)):
        share, log_agree, floor = tf[col]
        if level_exact.any():
            adj[level_exact] += log_agree - _tf_log(values[level_exact], share, floor)
    return levels, adj


def default_m() -> list[np.ndarray]:
    """m probabilities used when there are too few exact links to learn from (each part independent given a match)."""
    first = np.array([0, 0.85, 0.07, 0.02, 0.06])
    last = np.array([0, 0.85, 0.06, 0.04, 0.05])
    hs = np.array([0, 0.2, 0.1, 0.1, 0.05, 0.1, 0.45])
    hn = np.array([0, 0.4, 0.1, 0.15, 0.35])
    city = np.array([0, 0.7, 0.3])

    def joint(a, b):
        # a missing part contributes its agreement-free share: P(part missing) is not informative
        a1, b1 = np.r_[1.0, a[1:]], np.r_[1.0, b[1:]]
        j = np.outer(a1, b1).ravel()
        j[0] = 0.0
        return j / j.sum()

    handle = joint(hs, hn)
    return [joint(first, last), city / city.sum(), np.concatenate([handle, handle])]


def _log_bf(levels, m, u) -> np.ndarray:
    total = np.zeros(len(levels))
    for j, f in enumerate(FEATURES):
        w = np.zeros(len(m[j]))
        ok = ~MISSING[f]
        w[ok] = np.log(m[j][ok] / u[j][ok])
        total += w[levels[:, j]]
    return total


def _operating_threshold(exact_p: np.ndarray, pairs: pd.DataFrame, target: float, floor: float) -> float:
    """The lowest threshold at which the links' mean probability (exact links included) is still ``>= target``.

    Each customer's best candidate counts once, taken in decreasing order of
    probability; the threshold never goes below ``floor``.

    >>> pairs = pd.DataFrame({"ci": [0, 0, 1, 2, 3], "probability": [0.99, 0.01, 0.97, 0.9, 0.6]})
    >>> _operating_threshold(np.array([1.0, 1.0]), pairs, 0.98, 0.5)     # (2 + .99 + .97 + .9) / 5 = 0.972
    0.97
    >>> _operating_threshold(np.array([1.0] * 30), pairs, 0.98, 0.5)     # (30 + 3.46) / 34 = 0.984
    0.6
    """
    if not len(pairs):
        return 1.0
    best = np.sort(pairs.groupby("ci").probability.max().to_numpy())[::-1]
    wrong = (1.0 - exact_p).sum() + np.cumsum(1.0 - best)
    ok = wrong <= (1.0 - target) * (len(exact_p) + np.arange(1, len(best) + 1)) + 1e-12
    ok &= best >= floor
    if not ok[0]:
        return float(max(floor, np.nextafter(best[0], 2.0)) if best[0] < 1.0 else 1.0)
    return float(best[np.flatnonzero(~ok)[0] - 1] if not ok.all() else best[-1])


def _decide(pairs: pd.DataFrame, threshold: float, review_floor: float):
    if not len(pairs):
        return pd.DataFrame(columns=LINK_COLUMNS), pd.DataFrame(columns=REVIEW_COLUMNS)
    pairs = pairs.sort_values(["ci", "probability", "ai"], ascending=[True, False, True], kind="stable")
    pairs = pairs.assign(candidate_rank=pairs.groupby("ci").cumcount() + 1)
    best = pairs[pairs.candidate_rank == 1]
    linked = best[best.probability >= threshold]
    # one customer per account: an account that is the confident best of two customers goes to review
    dup = linked.account_id.duplicated(keep=False)
    links = _with_evidence(linked[~dup].assign(method="probabilistic"))
    contested = set(linked[dup].customer_id)
    unsure = set(best[(best.probability < threshold) & (best.probability >= review_floor)].customer_id)
    review = pairs[(pairs.customer_id.isin(unsure | contested)) & (pairs.candidate_rank <= 3)
                   & ((pairs.probability >= 0.05) | (pairs.candidate_rank == 1))]
    second = pairs[pairs.candidate_rank == 2].set_index("customer_id").probability
    reasons = []
    for r in review.itertuples(index=False):
        if r.customer_id in contested:
            reasons.append("account is the confident match of several customers")
        elif second.get(r.customer_id, 0.0) >= 0.1:
            reasons.append("several close candidates (namesakes)")
        else:
            reasons.append("best candidate below the link threshold")
    review = _with_evidence(review.assign(reason=reasons))
    return links, review[REVIEW_COLUMNS]


def _with_evidence(frame: pd.DataFrame) -> pd.DataFrame:
    """``evidence``: the comparison levels of each pair, e.g. ``name=exact/exact; city=exact``."""
    text = ["; ".join(f"{f}={getattr(r, f)}" for f in FEATURES if getattr(r, f) != "missing")
            for r in frame.itertuples(index=False)]
    return frame.assign(evidence=text)
