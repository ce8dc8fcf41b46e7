"""Churn exposure: negative messages an account received from the accounts it listens to, and a churn backtest.

:func:`negative_exposure` measures, per account ``v`` and at a time ``as_of``,

.. math::

    E(v) = \\sum_{u \\to v} \\frac{w_{uv}}{\\sum_{u'} w_{u'v}}
           \\sum_{e \\in N(u),\\ t_e < as\\_of} 2^{-(as\\_of - t_e) / half\\_life}

where ``u -> v`` are the influence ties of the layer (u can influence v; their weights are the tie
strengths, normalised over v's influencers) and ``N(u)`` are u's negative events: events of any layer with an
event log whose message ``u`` wrote (:func:`graphcrm.loaders.topics.event_authors`: u's own replies and
mentions, and u's posts that others retweeted or liked) with sentiment below ``threshold`` (optionally only
events of a topic).
An account whose influencers posted one negative message each, just before ``as_of``, has exposure 1.

:func:`exposure_backtest` asks whether exposure preceded churn: customers linked to accounts and still
customers at ``as_of`` are split by their exposure then; the churn rate within ``horizon_days`` after
``as_of`` of the most exposed group is compared with the base rate (lift, a seeded bootstrap interval, the
risk ratio against everyone else with its Katz log interval, and the exact permutation p-value).

Ties are the layer as given: for a backtest, use the snapshot version current at ``as_of``
(``graphcrm churn-backtest --snapshot-as-of``) so that ties formed later do not leak into the measure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graphcrm.loaders.errors import ParameterError
from graphcrm.loaders.graph import SocialGraph

EXPOSURE_COLUMNS = ["account_id", "exposure", "negative_influencers", "top_negative_influencer",
                    "top_negative_exposure"]


def _timestamp(value, what: str = "as_of") -> pd.Timestamp:
    """A naive UTC timestamp from a date / time text, a datetime or Unix seconds."""
    try:
        # "1709251200": Unix seconds (9+ digits; "20240301" stays a date)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip().lstrip("-")) >= 9:
            value = int(value.strip())
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            return pd.Timestamp(int(value), unit="s")
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        stamp = None
    if stamp is None or pd.isna(stamp):
        raise ParameterError(f"{what}: {value!r} is not a date; expected e.g. 2024-03-01 or Unix seconds")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def _seconds(stamp: pd.Timestamp) -> int:
    return int(stamp.value // 10**9)


def _half_life_seconds(half_life) -> float:
    try:
        delta = pd.Timedelta(days=float(half_life)) if isinstance(half_life, (int, float)) else \
            pd.Timedelta(half_life)
    except (ValueError, TypeError):
        raise ParameterError(f"half_life: {half_life!r} is not a duration; expected days (7) or '7D', '36h'") \
            from None
    if not delta.total_seconds() > 0:
        raise ParameterError(f"half_life must be positive, got {half_life!r}")
    return delta.total_seconds()


def _negative_mass(graph: SocialGraph, as_of: int, half_life: float, topic, threshold: float) -> np.ndarray:
    """Per account, its negative events before ``as_of``, each weighted by its recency decay."""
    from graphcrm.loaders.topics import _norm, event_authors, event_topic_mask

    n = graph.n_nodes
    mass = np.zeros(n)
    logs = [(name, lay) for name, lay in graph.layers.items()
            if lay.events is not None and lay.events.sentiment is not None]
    if not logs:
        raise ParameterError("no layer of this graph has events with a sentiment: exposure to negative messages "
                             "needs an interactions file with a sentiment or text column")
    topics = None if topic is None else [_norm(t) for t in ([topic] if isinstance(topic, str) else topic)]
    found = False
    for name, lay in logs:
        ev = lay.events
        keep = (ev.time < as_of) & (ev.sentiment < threshold)          # NaN sentiment compares false: skipped
        if topics is not None:
            on_topic = np.zeros(len(ev), dtype=bool)
            for t in topics:
                on_topic |= event_topic_mask(ev, t)
            found = found or bool(on_topic.any())
            keep &= on_topic
        age = (as_of - ev.time[keep]).astype(np.float64)
        # the message's author (a reply is the replier's, a retweet the original poster's) sent it
        mass += np.bincount(event_authors(name, lay)[keep], weights=np.exp2(-age / half_life), minlength=n)
    if topics is not None and not found:
        from graphcrm.loaders.topics import topic_counts

        known = list(topic_counts(graph))
        raise ParameterError(f"no event carries the topic {topic!r}; topics in this graph: "
                             f"{', '.join(known[:10]) or 'none'}")
    return mass


def _exposure_arrays(graph: SocialGraph, *, as_of, half_life, topic, threshold, layer):
    as_of_s = _seconds(_timestamp(as_of))
    mass = _negative_mass(graph, as_of_s, _half_life_seconds(half_life), topic, float(threshold))
    lay = graph.resolve_layer(layer).positive()
    src, dst, w = lay.edge_arrays()                     # src can influence dst
    n = graph.n_nodes
    total = np.bincount(dst, weights=w, minlength=n)
    share = np.divide(w, total[dst], out=np.zeros(len(w)), where=total[dst] > 0)
    contrib = share * mass[src]
    exposure = np.bincount(dst, weights=contrib, minlength=n)
    negative = np.bincount(dst, weights=(contrib > 0).astype(np.float64), minlength=n).astype(np.int64)
    top = np.full(n, -1, dtype=np.int64)
    top_amount = np.zeros(n)
    hit = np.flatnonzero(contrib > 0)
    if len(hit):
        order = hit[np.lexsort((src[hit], -contrib[hit], dst[hit]))]   # per account: largest share first
        first = np.concatenate(([True], dst[order][1:] != dst[order][:-1]))
        top[dst[order][first]] = src[order][first]
        top_amount[dst[order][first]] = contrib[order][first]
    return exposure, negative, top, top_amount


def negative_exposure(graph: SocialGraph, *, as_of, half_life="7D", topic=None, threshold: float = -0.05,
                      layer=None) -> pd.DataFrame:
    """Per account, the recency-weighted negative messages received from the accounts it listens to.

    Parameters
    ----------
    graph : SocialGraph
        With at least one event log carrying sentiment (interactions with a sentiment or text column).
    as_of : str, datetime or int
        The time exposure is measured at (ISO-8601 text, a datetime, or Unix seconds); only events strictly
        before it count.
    half_life : float (days) or str, default "7D"
        Recency: an event ``half_life`` old counts 1/2, twice as old 1/4 (``pandas.Timedelta`` text: "36h").
    topic : str or list of str, optional
        Only events carrying this topic (any of a list).
    threshold : float, default -0.05
        An event is negative when its sentiment is below this (VADER's usual cut-off for negative text).
    layer : str or Layer, optional
        The influence ties (``u -> v``: u can influence v) and their strengths; default the graph's default
        layer.  Negative ties of a signed layer are left out.

    Returns
    -------
    pandas.DataFrame
        One row per account in id order: ``account_id, exposure, negative_influencers`` (how many of its
        influencers had negative events), ``top_negative_influencer`` (the one contributing most, missing when
        exposure is 0) and ``top_negative_exposure`` (its contribution).

    Examples
    --------
    ``a`` and ``b`` influence ``c`` equally (``c`` retweeted each twice: tie share 1/2 each); ``a``'s negative
    message is two half-lives old at ``as_of`` (weight 1/4); ``b``'s negative one comes after ``as_of``.

    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> day = 86400
    >>> g = (GraphBuilder()
    ...      .add_events("retweets", ["c", "c", "c", "c"], ["a", "a", "b", "b"], time=[0, 7 * day, 7 * day, 20 * day],
    ...                  sentiment=[-0.8, 0.5, 0.3, -0.9]).build())
    >>> e = negative_exposure(g, as_of=14 * day, layer="retweets")
    >>> e.loc[e.account_id == "c", ["exposure", "top_negative_influencer"]].round(4).values.tolist()
    [[0.125, 'a']]
    """
    exposure, negative, top, top_amount = _exposure_arrays(graph, as_of=as_of, half_life=half_life, topic=topic,
                                                           threshold=threshold, layer=layer)
    ids = graph.id_map.ids
    top_ids = np.empty(len(top), dtype=object)
    top_ids[:] = None
    top_ids[top >= 0] = ids[top[top >= 0]]
    return pd.DataFrame({"account_id": ids, "exposure": exposure, "negative_influencers": negative,
                         "top_negative_influencer": top_ids, "top_negative_exposure": top_amount})


@dataclass
class ExposureBacktest:
    """Result of :func:`exposure_backtest`: ``summary`` (JSON-ready), ``bins`` (churn rate per exposure bin) and
    ``customers`` (one row per customer in the test: exposure, group, churned within the horizon)."""

    summary: dict
    bins: pd.DataFrame
    customers: pd.DataFrame = field(repr=False)


def _check_churn_dates(customers: pd.DataFrame) -> pd.Series:
    if "churn_date" not in customers or customers.attrs.get("churn_date_given") is False:
        raise ParameterError("the churn backtest needs a churn_date column in the customers table (when each "
                             "customer churned; empty for customers who did not) -- churned flags alone do not say "
                             "whether exposure came first")
    dates = pd.to_datetime(customers["churn_date"], errors="coerce", utc=True).dt.tz_localize(None)
    bad = dates.isna() & customers["churn_date"].notna() & (customers["churn_date"].astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ParameterError(f"customer {customers.customer_id.iloc[i]!r}: churn_date "
                             f"{customers['churn_date'].iloc[i]!r} is not a date")
    if "churned" in customers:
        undated = customers["churned"].astype(bool).to_numpy() & dates.isna().to_numpy()
        if undated.any():
            i = int(np.flatnonzero(undated)[0])
            where = f" (line {customers.line.iloc[i]})" if "line" in customers else ""
            raise ParameterError(f"customer {customers.customer_id.iloc[i]!r}{where} is churned but has no "
                                 f"churn_date ({int(undated.sum())} such customers); the backtest needs the date of "
                                 "every churn")
    return dates


def exposure_backtest(graph: SocialGraph, customers: pd.DataFrame, links: pd.DataFrame, *, as_of,
                      horizon_days: float = 30, top: float = 0.1, bins: int = 5, half_life="7D", topic=None,
                      threshold: float = -0.05, layer=None, n_boot: int = 2000, seed: int = 0) -> ExposureBacktest:
    """Did negative exposure precede churn?  Churn rate of the most exposed customers against the base rate.

    The population is every customer linked to an account of ``graph`` who had not churned by ``as_of``
    (a customer with several accounts takes the largest exposure).  Exposure is
    :func:`negative_exposure` at ``as_of`` (events before it only); the outcome is a churn date in
    ``(as_of, as_of + horizon_days]``.  The exposed group is the top ``top`` share of the population by
    exposure, among customers with exposure > 0 (ties at the cut broken by customer id).

    Reported (``summary``): ``base_rate``, ``exposed_rate``, ``lift`` = exposed rate / base rate with a 95%
    bootstrap interval (``n_boot`` parametric resamples of both groups' churn counts, ``seed``),
    ``risk_ratio`` = exposed rate / rate of everyone else with its 95% Katz log interval, and
    ``p_value``: the one-sided permutation p-value of the exposed group's churn count, computed exactly (the
    hypergeometric tail: shuffling churn over customers, how often the exposed group gets at least as many).
    ``bins`` splits the population in ``bins`` equal-count exposure bins (a dose-response table).

    Parameters
    ----------
    customers : DataFrame
        ``customer_id`` and ``churn_date`` (NaT / empty: not churned), e.g. from
        :func:`graphcrm.loaders.customers.read_customers`.  A customer flagged ``churned`` without a date is
        an error: the test needs when every churn happened.
    links : DataFrame
        ``customer_id, account_id`` (:func:`graphcrm.crm.linking.link_customers`).

    Raises
    ------
    ParameterError
        No ``churn_date`` column, a churned customer without a date, no linked customer, a bad ``top``.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> day = 86400
    >>> g = GraphBuilder().add_events("retweets", ["c", "d"], ["a", "b"], time=[0, 0],
    ...                               sentiment=[-0.9, 0.9]).build()
    >>> cust = pd.DataFrame({"customer_id": ["C", "D"], "churn_date": [pd.Timestamp(5 * day, unit="s"), pd.NaT]})
    >>> links = pd.DataFrame({"customer_id": ["C", "D"], "account_id": ["c", "d"]})
    >>> r = exposure_backtest(g, cust, links, as_of=day, horizon_days=30, top=0.5, layer="retweets")
    >>> r.summary["exposed_customers"], r.summary["exposed_rate"], r.summary["base_rate"], r.summary["lift"]
    (1, 1.0, 0.5, 2.0)
    """
    if not 0 < float(top) <= 1:
        raise ParameterError(f"top must be a share in (0, 1], got {top!r}")
    if horizon_days is None or not float(horizon_days) > 0:
        raise ParameterError(f"horizon_days must be positive, got {horizon_days!r}")
    if links is None or not {"customer_id", "account_id"} <= set(links.columns):
        raise ParameterError("the churn backtest needs links with customer_id and account_id columns")
    start = _timestamp(as_of)
    end = start + pd.Timedelta(days=float(horizon_days))
    dates = _check_churn_dates(customers)
    exposure, *_ = _exposure_arrays(graph, as_of=start, half_life=half_life, topic=topic,
                                 threshold=threshold, layer=layer)

    dense = graph.id_map.lookup(links.account_id.to_numpy())
    linked = pd.DataFrame({"customer_id": links.customer_id.astype(str).to_numpy(), "dense": dense})
    linked = linked[linked.dense >= 0]
    linked["exposure"] = exposure[linked.dense.to_numpy()]
    per = linked.sort_values(["customer_id", "exposure"], ascending=[True, False], kind="stable") \
        .drop_duplicates("customer_id")
    crm = pd.DataFrame({"customer_id": customers.customer_id.astype(str).to_numpy(), "churn_date": dates.to_numpy()})
    pop = per.merge(crm, on="customer_id", how="inner")
    not_linked = len(crm) - len(pop)
    before = pop.churn_date.notna() & (pop.churn_date <= start)
    pop = pop[~before].reset_index(drop=True)
    if not len(pop):
        raise ParameterError("no customer to test: none is linked to an account of the graph and still a customer "
                             f"at {start:%Y-%m-%d %H:%M:%S}")
    pop["churned"] = (pop.churn_date > start) & (pop.churn_date <= end)
    order = np.lexsort((pop.customer_id.to_numpy(), -pop.exposure.to_numpy()))
    n = len(pop)
    k_top = int(np.ceil(float(top) * n))
    chosen = order[:k_top]
    chosen = chosen[pop.exposure.to_numpy()[chosen] > 0]
    group = np.zeros(n, dtype=bool)
    group[chosen] = True
    pop["exposed"] = group
    y = pop.churned.to_numpy()
    n1, n0 = int(group.sum()), int((~group).sum())
    k1, k0 = int(y[group].sum()), int(y[~group].sum())
    base = (k1 + k0) / n
    rate1 = k1 / n1 if n1 else float("nan")
    rate0 = k0 / n0 if n0 else float("nan")
    lift = rate1 / base if n1 and base > 0 else float("nan")

    rng = np.random.default_rng(seed)
    b1 = rng.binomial(n1, rate1, size=n_boot) if n1 else np.zeros(n_boot)
    b0 = rng.binomial(n0, rate0, size=n_boot) if n0 else np.zeros(n_boot)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = (b1 / max(n1, 1)) / ((b1 + b0) / n)
    boot = boot[np.isfinite(boot)]
    lift_ci = [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))] if n1 and len(boot) \
        else [float("nan"), float("nan")]

    if k1 > 0 and k0 > 0 and n0:
        rr = rate1 / rate0
        se = np.sqrt(1 / k1 - 1 / n1 + 1 / k0 - 1 / n0)
        rr_ci = [float(rr * np.exp(-1.959964 * se)), float(rr * np.exp(1.959964 * se))]
    else:
        rr = rate1 / rate0 if n0 and rate0 > 0 else float("nan")
        rr_ci = [float("nan"), float("nan")]
    from scipy.stats import hypergeom

    p_value = float(hypergeom.sf(k1 - 1, n, k1 + k0, n1)) if n1 else 1.0

    q = min(int(bins), n)
    if q < 1:
        raise ParameterError(f"bins must be >= 1, got {bins!r}")
    rank = np.empty(n, dtype=np.int64)
    rank[order[::-1]] = np.arange(n)              # 0 = least exposed
    pop["bin"] = (rank * q) // n + 1
    table = pop.groupby("bin").agg(customers=("churned", "size"), min_exposure=("exposure", "min"),
                                   max_exposure=("exposure", "max"), churned=("churned", "sum")).reset_index()
    table["churned"] = table.churned.astype(np.int64)
    table["churn_rate"] = table.churned / table.customers

    def r(x, d=4):
        return None if x is None or not np.isfinite(x) else round(float(x), d)

    summary = {
        "as_of": f"{start:%Y-%m-%dT%H:%M:%S}", "horizon_days": float(horizon_days), "topic": topic,
        "half_life": str(pd.Timedelta(seconds=_half_life_seconds(half_life))), "threshold": float(threshold),
        "customers": n, "not_linked": int(not_linked), "churned_before_as_of": int(before.sum()), "churned_in_horizon": k1 + k0,
        "with_exposure": int((pop.exposure > 0).sum()), "exposed_group": f"top {float(top):g} by exposure, "
        "exposure > 0", "exposed_customers": n1, "exposed_churned": k1, "exposed_rate": r(rate1),
        "base_rate": r(base), "other_rate": r(rate0), "lift": r(lift), "lift_ci95": [r(x) for x in lift_ci],
        "risk_ratio": r(rr), "risk_ratio_ci95": [r(x) for x in rr_ci], "p_value": float(f"{p_value:.3g}"),
        "n_boot": int(n_boot), "seed": int(seed),
    }
    ids = graph.id_map.ids
    out = pop.assign(account_id=ids[pop.dense.to_numpy()])[["customer_id", "account_id", "exposure", "exposed",
                                                             "churn_date", "churned", "bin"]]
    return ExposureBacktest(summary, table, out)
