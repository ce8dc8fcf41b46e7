"""A labelled benchmark for customer <-> account linking, built deterministically from a seed.

No public graph has names, so the people are synthetic and the accounts are
real: every account id of a real dataset gets a person (first name, surname,
city drawn from the Zipf-shaped frequency lists in :mod:`graphcrm.crm._namedata`:
common names are very common, so namesakes are frequent, and a long tail is rare), an e-mail, a phone, a handle and a display name the
way people write them on social networks (accents, Cyrillic, first name only,
a nickname, a tagline).  The platform exposes hashed e-mails / phones for a
share of the accounts, as a hashed-contact export would.

Customers are a sample of those people, written the way CRM data is dirty:
transliterated names, typos, nicknames, "Last, First" order, missing fields,
a changed city, an old e-mail or phone, handles with ``@`` and odd case --
plus customers who have no account at all (drawn from the same name
distribution, so they have namesakes among the accounts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from anyascii import anyascii

from graphcrm.crm._namedata import NICKNAMES, city_weights, first_name_weights, surname_weights
from graphcrm.loaders.customers import normalize_email, normalize_phone, sha256_hex

DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de", "mail.ru", "orange.fr",
           "aol.com", "protonmail.com"]
WORDS = ["sunny", "fox", "coffee", "lover", "rider", "sky", "blue", "wolf", "pixel", "travel", "foodie", "runner",
         "music", "geek", "star", "moon", "urban", "wild", "happy", "tech"]
TAGLINES = ["| coffee lover", "☕", "🌍 traveller", "- views my own", "(official)", "🚀", "| dad of 3", "✨"]
FIRST_W, SURNAME_W, CITY_W = first_name_weights(), surname_weights(), city_weights()
FORMAL_TO_NICK = {}
for _nick, _formal in sorted(NICKNAMES.items()):
    FORMAL_TO_NICK.setdefault(_formal, []).append(_nick)


@dataclass(frozen=True)
class SyntheticCRM:
    """``accounts`` (account_id, handle, display_name, location, email_sha256, phone_sha256),
    ``customers`` (a raw CRM table: customer_id, name, email, phone, city, handles, churned) and
    ``truth`` (customer_id, account_id or None)."""

    accounts: pd.DataFrame
    customers: pd.DataFrame
    truth: pd.DataFrame


def _draw(rng, table: dict, n: int) -> np.ndarray:
    keys = np.array(list(table), dtype=object)
    w = np.array(list(table.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=w / w.sum())]


def _ascii(text: str) -> str:
    return "".join(ch for ch in anyascii(text).lower() if ch.isalnum())


def _people(rng, n: int) -> pd.DataFrame:
    first, last, city = _draw(rng, FIRST_W, n), _draw(rng, SURNAME_W, n), _draw(rng, CITY_W, n)
    year = rng.integers(1950, 2006, size=n)
    pattern = rng.integers(0, 6, size=n)
    domain = np.array(DOMAINS, dtype=object)[rng.integers(0, len(DOMAINS), size=n)]
    digits = rng.integers(1, 1000, size=n)
    locals_, emails, phones, used = [], [], [], set()
    for i in range(n):
        f, s, yy = _ascii(first[i]), _ascii(last[i]), f"{year[i] % 100:02d}"
        p = pattern[i]
        local = [f"{f}.{s}", f"{f[0]}{s}{yy}", f"{f}{s}{digits[i]}", f"{s}.{f}", f"{f}_{s[:4]}{yy}",
                 f"{WORDS[digits[i] % 20]}{WORDS[(digits[i] // 20) % 20]}{digits[i]}"][p]
        email = f"{local}@{domain[i]}"
        k = 2
        while email in used:
            email = f"{local}{k}@{domain[i]}"
            k += 1
        used.add(email)
        locals_.append(email.split("@")[0])
        emails.append(email)
        phones.append(f"1{rng.integers(201, 990)}{rng.integers(0, 10**7):07d}")
    return pd.DataFrame({"first": first, "last": last, "city": city, "year": year, "email": emails,
                         "email_local": locals_, "phone": phones})


def _handles(rng, people: pd.DataFrame) -> list[str]:
    out, used = [], set()
    kind = rng.random(len(people))
    for i, row in enumerate(people.itertuples(index=False)):
        f, s, yy = _ascii(row.first), _ascii(row.last), f"{row.year % 100:02d}"
        k = kind[i]
        if k < 0.4:
            handle = row.email_local.replace(".", "_")
        elif k < 0.6:
            handle = f"{f}{s}"
        elif k < 0.75:
            handle = f"{f}_{s[0]}{yy}"
        elif k < 0.85:
            handle = f"{s}{f[0]}{yy}"
        else:
            handle = f"{WORDS[rng.integers(0, 20)]}_{WORDS[rng.integers(0, 20)]}{rng.integers(1, 100)}"
        base, n = handle[:15], 1
        handle = base
        while handle in used:
            handle = f"{base}{n}"
            n += 1
        used.add(handle)
        out.append(handle)
    return out


def _display(rng, row) -> str:
    k = rng.random()
    full = f"{row.first} {row.last}"
    if k < 0.55:
        return full
    if k < 0.65:
        return str(row.first)
    if k < 0.75:
        return f"{full} {TAGLINES[rng.integers(0, len(TAGLINES))]}"
    if k < 0.85:
        return anyascii(full).lower()
    nicks = FORMAL_TO_NICK.get(_ascii(row.first))
    if nicks:
        return f"{nicks[rng.integers(0, len(nicks))].title()} {row.last}"
    return anyascii(full)


def _typo(rng, word: str) -> str:
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 1))
    op = rng.integers(0, 4)
    letters = "abcdefghijklmnopqrstuvwxyz"
    if op == 0:
        return word[:i] + word[i + 1:]
    if op == 1:
        return word[:i] + letters[rng.integers(0, 26)] + word[i + 1:]
    if op == 2:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + letters[rng.integers(0, 26)] + word[i:]


def _customer_row(rng, person, account_handle: str | None, cities: np.ndarray) -> dict:
    first, last = str(person.first), str(person.last)
    if rng.random() < 0.6 or any(ord(c) > 0x400 for c in first + last):
        first, last = (anyascii(first), anyascii(last)) if rng.random() < 0.85 else (first, last)
    if rng.random() < 0.1:
        nicks = FORMAL_TO_NICK.get(_ascii(first))
        if nicks:
            first = nicks[rng.integers(0, len(nicks))].title()
    if rng.random() < 0.15:
        if rng.random() < 0.5:
            last = _typo(rng, last)
        else:
            first = _typo(rng, first)
    r = rng.random()
    name = "" if r < 0.03 else (f"{last}, {first}" if r < 0.08 else f"{first} {last}")
    if rng.random() < 0.1:
        name = name.upper()
    email = ""
    if rng.random() < 0.8:
        email = person.email if rng.random() < 0.93 else f"{_ascii(first)}{rng.integers(100, 999)}@work.example"
        if rng.random() < 0.2:
            email = f" {email.title()} "
    phone = ""
    if rng.random() < 0.5:
        p = person.phone if rng.random() < 0.95 else f"1{rng.integers(201, 990)}{rng.integers(0, 10**7):07d}"
        style = rng.integers(0, 3)
        phone = [f"+{p[0]} ({p[1:4]}) {p[4:7]}-{p[7:]}", p[1:], f"{p[1:4]}.{p[4:7]}.{p[7:]}"][style]
    r = rng.random()
    city = person.city if r < 0.75 else ("" if r < 0.9 else str(cities[rng.integers(0, len(cities))]))
    if city and rng.random() < 0.5:
        city = anyascii(city)
    handles = ""
    if account_handle is not None and rng.random() < 0.25:
        handles = ("@" if rng.random() < 0.5 else "") + (account_handle.upper() if rng.random() < 0.2 else account_handle)
    return {"name": name, "email": email, "phone": phone, "city": city, "handles": handles,
            "churned": bool(rng.random() < 0.1)}


def synthetic_crm(account_ids, n_customers: int, *, share_without_account: float = 0.2, seed: int = 0,
                  hashed_email_share: float = 0.25, hashed_phone_share: float = 0.15) -> SyntheticCRM:
    """Synthetic people on real account ids, and a dirty customers table with the true links.

    Parameters
    ----------
    account_ids : sequence
        Real account ids (e.g. every node of a dataset); sorted first, so the
        result does not depend on their order.
    n_customers : int
        Customers to make; ``share_without_account`` of them have no account.
    seed : int
        Same seed and ids, same tables.
    hashed_email_share, hashed_phone_share : float
        Share of accounts whose platform export carries a hashed e-mail / phone.

    Examples
    --------
    >>> crm = synthetic_crm(range(200), 50, seed=1)
    >>> len(crm.accounts), len(crm.customers), int(crm.truth.account_id.isna().sum())
    (200, 50, 10)
    >>> synthetic_crm(range(200), 50, seed=1).customers.equals(crm.customers)
    True
    """
    ids = np.sort(np.asarray(list(account_ids)))
    rng = np.random.default_rng(seed)
    n = len(ids)
    n_without = int(round(n_customers * share_without_account))
    n_with = min(n_customers - n_without, n)
    people = _people(rng, n + n_without)
    handles = _handles(rng, people.iloc[:n])
    displays = [_display(rng, row) for row in people.iloc[:n].itertuples(index=False)]
    loc_r = rng.random(n)
    cities = np.array(list(CITY_W), dtype=object)
    location = [str(people.city[i]) if loc_r[i] < 0.7 else ("" if loc_r[i] < 0.93 else
                f"{people.city[i]}, {['USA', 'EU', 'worldwide'][i % 3]}") for i in range(n)]
    has_email = rng.random(n) < hashed_email_share
    has_phone = rng.random(n) < hashed_phone_share
    accounts = pd.DataFrame({
        "account_id": ids, "handle": handles, "display_name": displays, "location": location,
        "email_sha256": [sha256_hex(normalize_email(e)) if h else "" for e, h in zip(people.email[:n], has_email)],
        "phone_sha256": [sha256_hex(normalize_phone(p)) if h else "" for p, h in zip(people.phone[:n], has_phone)],
    })
    linked = np.sort(rng.choice(n, size=n_with, replace=False))
    persons = list(linked) + list(range(n, n + n_without))
    order = rng.permutation(len(persons))
    rows, truth = [], []
    for k, j in enumerate(order):
        p = persons[j]
        person = people.iloc[p]
        row = _customer_row(rng, person, handles[p] if p < n else None, cities)
        cid = f"C{k + 1:06d}"
        rows.append({"customer_id": cid, **row})
        truth.append((cid, ids[p] if p < n else None))
    customers = pd.DataFrame(rows, columns=["customer_id", "name", "email", "phone", "city", "handles", "churned"])
    truth_frame = pd.DataFrame(truth, columns=["customer_id", "account_id"])
    return SyntheticCRM(accounts, customers, truth_frame)


@dataclass(frozen=True)
class SyntheticChurn:
    """A graph of retweets with sentiment, a CRM with churn dates on it, and the true churn probabilities.

    ``graph`` (layer ``retweets``, events on both sides of ``as_of``), ``customers`` (``customer_id, name,
    churned, churn_date``: a raw CRM table), ``links`` (``customer_id, account_id``), ``as_of`` (ISO text),
    ``exposure`` (per account, :func:`graphcrm.crm.exposure.negative_exposure` at ``as_of``) and ``p_churn``
    (per customer, the probability of churning within ``horizon_days`` that was drawn from)."""

    graph: object
    customers: pd.DataFrame
    links: pd.DataFrame
    as_of: str
    exposure: np.ndarray
    p_churn: np.ndarray


def churn_world(n_accounts: int = 3000, *, effect: float = 3.0, base_rate: float = 0.06, seed: int = 0,
                influencers: int = 6, negative_share: float = 0.08, customer_share: float = 0.7,
                horizon_days: int = 30, graph=None) -> SyntheticChurn:
    """A synthetic churn backtest: churn probability rises with negative exposure (``effect`` > 0) or not (0).

    Every account retweets ``influencers`` random others a few times over the 60 days before ``as_of`` and
    the 30 after (the later events must not count); ``negative_share`` of the accounts post mostly negative
    messages (sentiment -0.6 with probability 0.7), the others rarely (0.05).  ``customer_share`` of the
    accounts are customers; 3% churned before ``as_of``.  The others churn within ``horizon_days`` after
    ``as_of`` with probability ``base_rate * (1 + effect * x) / (1 + effect * mean(x))`` where ``x`` is the
    exposure over its 90th percentile, capped at 3 -- so the mean churn rate is ``base_rate`` whatever the
    effect; ``effect = 0`` makes churn independent of exposure.  A quarter of the non-churners churn later
    (after the horizon).  ``graph`` reuses a graph made by an earlier call with the same ``n_accounts``,
    ``influencers``, ``negative_share`` and ``seed`` (only the CRM is drawn again, from ``seed``).

    Examples
    --------
    >>> w = churn_world(300, effect=3.0, seed=1)
    >>> w.as_of, len(w.customers), round(float(w.p_churn.mean()), 3)
    ('2024-03-01', 210, 0.06)
    """
    from graphcrm.crm.exposure import negative_exposure
    from graphcrm.loaders.builder import GraphBuilder

    day = 86400
    as_of = pd.Timestamp("2024-03-01")
    t0 = int(as_of.value // 10**9)
    rng = np.random.default_rng(seed)
    n = int(n_accounts)
    if graph is None:
        negative = rng.random(n) < negative_share
        actor = np.repeat(np.arange(n), influencers)
        target = rng.integers(0, n - 1, size=len(actor))
        target = target + (target >= actor)                       # no self-ties
        times = rng.integers(1, 5, size=len(actor))               # 1-4 retweets per tie
        actor, target = np.repeat(actor, times), np.repeat(target, times)
        when = t0 + rng.integers(-60 * day, 30 * day, size=len(actor))
        p_neg = np.where(negative[target], 0.7, 0.05)
        sentiment = np.where(rng.random(len(actor)) < p_neg, -0.6, 0.4)
        graph = GraphBuilder().add_events("retweets", actor, target, time=when, sentiment=sentiment).build()
    exposure = negative_exposure(graph, as_of=as_of, layer="retweets").exposure.to_numpy()
    rng = np.random.default_rng([seed, 1])
    customers_idx = np.sort(rng.choice(n, size=int(round(customer_share * n)), replace=False))
    x = np.minimum(exposure[customers_idx] / max(np.quantile(exposure, 0.9), 1e-12), 3.0)
    p = base_rate * (1 + effect * x) / (1 + effect * x.mean())
    m = len(customers_idx)
    before = rng.random(m) < 0.03
    churn = ~before & (rng.random(m) < p)
    later = ~before & ~churn & (rng.random(m) < 0.25)
    offset = np.where(before, -rng.integers(1, 60 * day, size=m),
                      np.where(churn, rng.integers(1, horizon_days * day + 1, size=m),
                               rng.integers(horizon_days * day + 1, 120 * day, size=m)))
    dates = pd.to_datetime(t0 + offset, unit="s").strftime("%Y-%m-%dT%H:%M:%S")
    has = before | churn | later
    ids = graph.id_map.ids
    cids = [f"K{i:06d}" for i in range(m)]
    customers = pd.DataFrame({"customer_id": cids, "name": [f"customer {i}" for i in range(m)],
                              "churned": np.where(has, "yes", "no"),
                              "churn_date": np.where(has, dates, "")})
    links = pd.DataFrame({"customer_id": cids, "account_id": ids[customers_idx]})
    return SyntheticChurn(graph, customers, links, f"{as_of:%Y-%m-%d}", exposure, p)
