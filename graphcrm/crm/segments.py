"""CRM segments from a marketer-readable TOML file, one row per (segment, account) with the reason.

A segments file is a list of ``[[segment]]`` tables, each with a ``name``,
a ``kind`` and the kind's parameters (see ``examples/segments.toml``):

=================  ==========================================================================================
kind               who (parameters)
=================  ==========================================================================================
``leaders``        top opinion leaders (``top``; ``per_community = true``: per community of at least
                   ``min_community_size`` accounts), ranked as ``graphcrm rank`` ranks: ``method = "auto"``
                   (default: the validated forecast -- the scorer that won on held-out days -- where the graph
                   keeps a timestamped interaction log long enough, else the structural combined score),
                   ``"forecast"`` or ``"combined"``; ``horizon`` (e.g. ``"2d"``) for the forecast
``advocates``      accounts whose expressed signs / sentiment are positive: the mean over every interaction on
                   every signed or sentiment layer, pooled (``layer`` for one; ``min_evidence``, ``top``)
``critics``        the same, negative
``bridges``        ties spread over several communities: participation coefficient on positive ties
                   (``min_degree``, ``top``)
``reachable_via``  best connectors to a customer list: personalized PageRank from their accounts on the
                   attention walk (``customers`` = file of customer ids, or ``accounts`` = list; ``top``)
``at_risk``        the share of an account's incoming tie strength (positive ties) that comes from influencers
                   who churned -- tie-weighted, not a head count (``min_exposure``; needs churn flags); with
                   ``min_negative_exposure`` also accounts whose negative exposure
                   (:func:`graphcrm.crm.exposure.negative_exposure`: negative messages from their influencers,
                   by tie strength and recency; ``as_of``, ``half_life``, ``topic``, ``negative_threshold``)
                   reaches it -- then ranked and scored by that exposure, the reason naming the top negative
                   influencer (by pseudonym in a pseudonymised export)
``engaged_fans``   interactions made towards the brand's accounts (``brand_accounts``, ``min_interactions``)
``lookalike``      accounts most like a seed set by graph embedding (``seeds`` = list of account ids and/or
                   ``seeds_file`` = ids one per line or a table with ``account_id``; ``top``; optional ``dim``,
                   ``score`` = centroid | max, ``layer``, ``skip_unknown``); see :mod:`graphcrm.lookalike`;
                   the reason names no seed id (exports pseudonymise ``account_id`` only)
=================  ==========================================================================================

Any segment can say ``exclude_low_quality = true``: accounts the audience audit (:mod:`graphcrm.audience`) flags as
suspicious, and influencers whose audience is low quality, are left out of it (the segment still has ``top``
rows when enough others qualify) -- use it on the segments that pick people to seed or pay (``leaders``,
``bridges``, ``reachable_via``).  ``build_segments(...).attrs["low_quality_excluded"]`` counts, per segment,
the accounts it left out; ``attrs["churned_not_in_graph"]`` counts, per ``at_risk`` segment, the churned
customers skipped because their linked account is not in the graph (deleted, or newer than the version read).

Output columns (schema ``segments`` v1): ``segment, kind, rank, account_id, customer_id, score, reason``.
"""

from __future__ import annotations

import tomllib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from graphcrm.algorithms import personalized_pagerank
from graphcrm.algorithms.community import undirected_edges
from graphcrm.crm._config import Key, check_table, unknown_key
from graphcrm.loaders.errors import ConfigError, LayerNotFoundError, NodeNotFoundError, ParameterError
from graphcrm.loaders.graph import Layer, SocialGraph
from graphcrm.loaders.layers import INTERACTION_TYPES
from graphcrm.leaders import stance
from graphcrm.lookalike import lookalikes

KINDS = ("leaders", "advocates", "critics", "bridges", "reachable_via", "at_risk", "engaged_fans", "lookalike")
SEGMENT_COLUMNS = ["segment", "kind", "rank", "account_id", "customer_id", "score", "reason"]


CHANGE_COLUMNS = ["segment", "kind", "change", "account_id", "customer_id", "rank_before", "rank_after",
                  "score_before", "score_after", "reason"]


def segment_changes(before: pd.DataFrame, after: pd.DataFrame, *, since: str = "the earlier version") -> pd.DataFrame:
    """Who entered, left and stayed in each segment between two :func:`build_segments` tables, and why.

    Rows ``segment, kind, change, account_id, customer_id, rank_before, rank_after, score_before, score_after,
    reason``; ``change`` is ``entered`` / ``left`` / ``stayed``; the reason says how the score moved.  The
    entered and left rows are exactly the set differences of the two tables, per segment.

    Examples
    --------
    >>> cols = ["segment", "kind", "rank", "account_id", "customer_id", "score", "reason"]
    >>> old = pd.DataFrame([["top", "leaders", 1, "a", None, 0.9, ""], ["top", "leaders", 2, "b", None, 0.5, ""]],
    ...                    columns=cols)
    >>> new = pd.DataFrame([["top", "leaders", 1, "c", None, 0.95, ""], ["top", "leaders", 2, "a", None, 0.7, ""]],
    ...                    columns=cols)
    >>> segment_changes(old, new)[["change", "account_id", "reason"]].values.tolist()
    [['entered', 'c', 'entered at rank 1 (score 0.95); not in it in the earlier version'], ['left', 'b', 'left: was rank 2 (score 0.5) in the earlier version'], ['stayed', 'a', 'stayed: rank 1 -> 2, score 0.9 -> 0.7']]
    """
    key = ["segment", "account_id"]
    old = before.assign(account_id=before.account_id.astype(str))
    new = after.assign(account_id=after.account_id.astype(str))
    both = old[key + ["kind", "rank", "score", "customer_id"]].merge(
        new[key + ["kind", "rank", "score", "customer_id"]], on=key, how="outer", suffixes=("_before", "_after"),
        indicator=True)
    change = both["_merge"].map({"left_only": "left", "right_only": "entered", "both": "stayed"}).astype(str)

    def reason(row) -> str:
        if row.change == "entered":
            return f"entered at rank {int(row.rank_after)} (score {row.score_after:g}); not in it in {since}"
        if row.change == "left":
            return f"left: was rank {int(row.rank_before)} (score {row.score_before:g}) in {since}"
        return (f"stayed: rank {int(row.rank_before)} -> {int(row.rank_after)}, "
                f"score {row.score_before:g} -> {row.score_after:g}")

    out = pd.DataFrame({
        "segment": both.segment, "kind": both.kind_after.fillna(both.kind_before), "change": change,
        "account_id": both.account_id, "customer_id": both.customer_id_after.fillna(both.customer_id_before),
        "rank_before": both.rank_before.astype("Int64"), "rank_after": both.rank_after.astype("Int64"),
        "score_before": both.score_before, "score_after": both.score_after})
    out["reason"] = [reason(r) for r in out.itertuples(index=False)] if len(out) else []
    order = {"entered": 0, "left": 1, "stayed": 2}
    out = out.assign(_o=out.change.map(order), _r=out.rank_after.fillna(out.rank_before))
    out = out.sort_values(["segment", "_o", "_r", "account_id"], kind="stable").drop(columns=["_o", "_r"])
    originals = {str(a): a for a in list(before.account_id) + list(after.account_id)}
    out["account_id"] = out.account_id.map(originals)
    return out[CHANGE_COLUMNS].reset_index(drop=True)


def _horizon(value) -> None:
    from graphcrm.backtest import parse_horizon

    parse_horizon(str(value))


def _date(value) -> None:
    from graphcrm.crm.exposure import _timestamp

    _timestamp(value)


def _half_life(value) -> None:
    from graphcrm.crm.exposure import _half_life_seconds

    _half_life_seconds(value)


#: the keys every segment takes
COMMON_KEYS = {"name": Key("text", required=True), "kind": Key("choice", choices=KINDS, required=True),
               "top": Key("int", default=50, low=1), "exclude_low_quality": Key("bool", default=False)}
#: the keys of each kind, checked by :func:`check_segments` (defaults as the segment makers use them)
KIND_KEYS = {
    "leaders": {"per_community": Key("bool", default=False), "min_community_size": Key("int", default=1, low=1),
                "method": Key("choice", default="auto", choices=("auto", "forecast", "combined")),
                "horizon": Key("value", parse=_horizon, what="a duration of 5 minutes or more, like '2d'")},
    "advocates": {"min_evidence": Key("int", default=3, low=0), "threshold": Key("number", default=0.1, low=0),
                  "layer": Key("text"), "brand_accounts": Key("ids")},
    "bridges": {"min_degree": Key("int", default=5, low=0)},
    "reachable_via": {"customers": Key("path_or_ids"), "accounts": Key("ids")},
    "at_risk": {"min_exposure": Key("number", default=0.2, low=0, high=1), "min_negative_exposure": Key("number", low=0),
                "as_of": Key("value", parse=_date, what="a date like 2024-03-01 (or Unix seconds)"),
                "half_life": Key("value", parse=_half_life, what="a duration like '7D' or '36h' (or days)"),
                "topic": Key("texts"), "negative_threshold": Key("number", default=-0.05),
                "customers_only": Key("bool", default=True)},
    "engaged_fans": {"brand_accounts": Key("ids", required=True), "min_interactions": Key("number", default=2, low=0)},
    "lookalike": {"seeds": Key("ids"), "seeds_file": Key("path"), "dim": Key("int", default=128, low=1),
                  "score": Key("choice", default="centroid", choices=("centroid", "max")), "layer": Key("text"),
                  "skip_unknown": Key("bool", default=False)},
}
KIND_KEYS["critics"] = KIND_KEYS["advocates"]


def read_segments_config(path) -> list[dict]:
    """Parse and check a segments TOML file; relative file paths become relative to it.

    Raises
    ------
    ConfigError
        Not TOML, no ``[[segment]]``, a segment without name/kind, an unknown kind or key, a value of the
        wrong type or out of range, a file it names that does not exist, a duplicate name.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(path, None, "is a directory; expected a segments TOML file")
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"not valid TOML: {exc}") from None
    except FileNotFoundError:
        raise ConfigError(path, None, "no such segments file") from None
    for table in config:
        if table != "segment":
            raise unknown_key(path, table, table, ["segment"], what="table")
    return check_segments(config.get("segment"), str(path), base=path.parent)


def check_segments(segments, source: str = "<config>", base: Path | None = None) -> list[dict]:
    """Validate a list of segment definitions (dicts) against :data:`KIND_KEYS`; see :func:`read_segments_config`.

    Returns the definitions with the defaults filled in and file paths made relative to ``base``.

    Examples
    --------
    >>> check_segments([{"name": "top", "kind": "leaders", "top": 5}])[0]["top"]
    5
    >>> check_segments([{"name": "top", "kind": "leaders", "topp": 5}])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.ConfigError: <config>, key 'segment[1].topp': ... unknown key; did you mean 'top'? ...
    """
    if not segments or not isinstance(segments, list):
        raise ConfigError(source, "segment", "no [[segment]] tables: define at least one segment")
    seen = set()
    out = []
    for i, seg in enumerate(segments, start=1):
        if not isinstance(seg, dict) or "name" not in seg or "kind" not in seg:
            raise ConfigError(source, f"segment[{i}]", "each [[segment]] needs a name and a kind")
        if seg["kind"] not in KINDS:
            raise unknown_key(source, f"segment[{i}].kind", seg["kind"], KINDS, what=f"kind {seg['kind']!r}")
        context = f"segment {seg['name']!r} ({seg['kind']}): "
        seg = check_table(seg, {**COMMON_KEYS, **KIND_KEYS[seg["kind"]]}, source=source, prefix=f"segment[{i}]",
                          context=context)
        if seg["kind"] == "reachable_via" and not (seg.get("customers") or seg.get("accounts")):
            raise ConfigError(source, f"segment[{i}]", f"{context}reachable_via needs customers = \"FILE\" (or a list "
                              "of customer ids) or accounts = [...]: the people to reach")
        if seg["kind"] == "lookalike" and not (seg.get("seeds") or seg.get("seeds_file")):
            raise ConfigError(source, f"segment[{i}]", f"{context}lookalike needs seeds = [...] or seeds_file = "
                              '"FILE"')
        if seg["name"] in seen:
            raise ConfigError(source, f"segment[{i}].name", f"segment name {seg['name']!r} used twice")
        seen.add(seg["name"])
        for key in ("customers", "seeds_file"):
            if isinstance(seg.get(key), str):
                file = Path(seg[key]) if base is None else base / seg[key]
                if not file.is_file():
                    raise ConfigError(source, f"segment[{i}].{key}", f"{context}{file}: "
                                      + ("is a directory, expected a file" if file.is_dir() else "no such file"))
                seg[key] = str(file)
        out.append(seg)
    return out


def build_segments(graph: SocialGraph, segments: list[dict], *, links: pd.DataFrame | None = None,
                   customers: pd.DataFrame | None = None, partition=None, layer=None, seed: int = 0,
                   reach_samples: int = 20_000, leader_scores=None, leader_lists=None) -> pd.DataFrame:
    """Every configured segment as rows ``segment, kind, rank, account_id, customer_id, score, reason``.

    Parameters
    ----------
    links : DataFrame, optional
        ``customer_id, account_id`` from :func:`graphcrm.crm.linking.link_customers`; fills ``customer_id``
        and maps customer lists / churn flags to accounts.
    customers : DataFrame, optional
        Validated customers (for churn flags).
    partition : pandas.Series, optional
        ``account_id -> community`` (needed by per-community leaders and bridges).
    leader_scores : graphcrm.leaders.LeaderScores, optional
        Leader measures already computed on this graph (a pipeline's leaders step); leader segments reuse
        them instead of computing PageRank, coreness and reach again.
    leader_lists : graphcrm.ranking.LeaderLists, optional
        The same, with the forecasts already fitted (the pipeline passes its leaders step's).

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("trust", ["a", "b", "c"], ["x", "x", "a"], [5.0, -3.0, 2.0]).build()
    >>> seg = build_segments(g, [{"name": "fans", "kind": "advocates", "min_evidence": 1}])
    >>> seg[["segment", "account_id", "reason"]].values.tolist()
    [['fans', 'a', 'positive signs: mean +1.00 over 1 interactions'], ['fans', 'c', 'positive signs: mean +1.00 over 1 interactions']]
    """
    segments = check_segments(segments)
    lay = graph.resolve_layer(layer)
    if leader_lists is None:
        from graphcrm.ranking import LeaderLists

        leader_lists = LeaderLists(graph, leader_scores)
    frames = []
    excluded = None
    dropped = {}
    notes = {}
    for seg in segments:
        kind = seg["kind"]
        maker = _MAKERS[kind]
        if seg.get("layer") is not None and seg["layer"] not in graph.layer_names:
            raise LayerNotFoundError(f"segment {seg['name']!r}, key 'layer': no layer {seg['layer']!r} in this graph "
                                     f"(layers: {', '.join(graph.layer_names)})")
        if seg.get("exclude_low_quality", False) is not True:
            frame = maker(graph, lay, seg, links=links, customers=customers, partition=partition, seed=seed,
                          reach_samples=reach_samples, leader_lists=leader_lists, notes=notes)
        else:
            if excluded is None:
                from graphcrm.audience import audit

                excluded = np.zeros(graph.n_nodes, dtype=bool)
                excluded[audit(graph, []).excluded()] = True
            wider = dict(seg, top=int(seg.get("top", 50)) + int(excluded.sum()))   # enough rows left after
            frame = maker(graph, lay, wider, links=links, customers=customers, partition=partition, seed=seed,
                          reach_samples=reach_samples, excluded=excluded, leader_lists=leader_lists, notes=notes)
            bad = excluded[graph.index_of(frame.account_id.to_numpy())] if len(frame) else np.zeros(0, bool)
            dropped[seg["name"]] = int(bad.sum())
            frame = frame[~bad]
            if "_community" in frame:
                frame = frame.groupby("_community", sort=False).head(int(seg.get("top", 50)))
            else:
                frame = _top(frame, seg)
        frame = frame.drop(columns="_community", errors="ignore").reset_index(drop=True)
        frame.insert(0, "segment", seg["name"])
        frame.insert(1, "kind", kind)
        frame.insert(2, "rank", np.arange(1, len(frame) + 1))
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SEGMENT_COLUMNS)
    out["customer_id"] = _customer_of(out["account_id"], links)
    out["score"] = out["score"].astype(float).round(6)
    out = out[SEGMENT_COLUMNS]
    out.attrs["low_quality_excluded"] = dropped
    out.attrs["churned_not_in_graph"] = notes.get("churned_not_in_graph", {})
    out.attrs["stance_of_all_messages"] = notes.get("stance_of_all_messages", {})
    return out


@contextmanager
def _ids_of(seg: dict, key: str):
    """Account ids not in the graph, met while using ``seg[key]``: the error names the segment and the key."""
    try:
        yield
    except NodeNotFoundError as exc:
        raise NodeNotFoundError(f"segment {seg['name']!r}, key {key!r}: {exc}") from None


def _customer_of(account_ids: pd.Series, links) -> pd.Series:
    if links is None or not len(links):
        return pd.Series([""] * len(account_ids), dtype=object)
    mapping = dict(zip(links.account_id.astype(str), links.customer_id.astype(str)))
    return pd.Series([mapping.get(str(a), "") for a in account_ids], dtype=object)


def _accounts_of_customers(seg: dict, links) -> list:
    ids = list(seg.get("accounts", []))
    if "customers" in seg:
        src = seg["customers"]
        wanted = [line.strip() for line in Path(src).read_text(encoding="utf-8").splitlines() if line.strip()] \
            if isinstance(src, str) else [str(c) for c in src]
        if links is None:
            raise ParameterError(f"segment {seg['name']!r}: a customer list needs customer links (run linking first)")
        m = links.assign(customer_id=links.customer_id.astype(str)).set_index("customer_id").account_id
        ids += [m[c] for c in wanted if c in m.index]
    return ids


def _top(frame: pd.DataFrame, seg: dict, default: int = 50) -> pd.DataFrame:
    top = int(seg.get("top", default))
    if top < 1:
        raise ParameterError(f"segment {seg['name']!r}: top must be >= 1")
    return frame.head(top)


def _leaders(graph, lay, seg, *, partition, seed, reach_samples, excluded=None, leader_lists=None, **_):
    per = bool(seg.get("per_community", False))
    if per and partition is None:
        raise ParameterError(f"segment {seg['name']!r}: per_community needs communities (a partition)")
    if per:
        sizes = partition.map(partition.value_counts())
        partition = partition[sizes >= int(seg.get("min_community_size", 1))]
    table = leader_lists.table(method=seg.get("method", "auto"), top=int(seg.get("top", 50)),
                               partition=partition if per else None, combined_layer=lay, samples=reach_samples,
                               seed=seed, horizon=_horizon(seg))
    prefix = [f"community {c}: " for c in table.community] if per else [""] * len(table)
    if "influence_score" in table:            # the structural combined score
        reasons = [
            f"influence {r.influence_score:.1f}/100 (attention pct {r.pagerank_pct:.1f}, core pct "
            f"{r.coreness_pct:.1f}, reach pct {r.expected_reach_pct:.1f}); expected reach {r.expected_reach:.1f}, "
            f"audience {r.audience_size}" for r in table.itertuples(index=False)]
        score = table.influence_score
    else:                                     # the forecast (or the baseline that beat it on held-out days)
        reasons, score = table.why.tolist(), table.leader_score
    frame = pd.DataFrame({"account_id": table.account_id, "score": score,
                          "reason": [p + r for p, r in zip(prefix, reasons)]})
    if excluded is not None and per:
        frame["_community"] = table.community.to_numpy()     # build_segments keeps `top` per community
    return frame


def _horizon(seg: dict) -> int | None:
    """The segment's forecast ``horizon`` ("2d", "12h" or seconds) in seconds, or None (the forecast's default)."""
    if seg.get("horizon") is None:
        return None
    from graphcrm.backtest import parse_horizon

    try:
        return parse_horizon(str(seg["horizon"]))
    except ParameterError as exc:
        raise ParameterError(f"segment {seg['name']!r}: {exc}") from None


def _stance_segment(sign):
    def make(graph, lay, seg, notes=None, **_):
        with _ids_of(seg, "brand_accounts"):
            st = stance(graph, layer=seg.get("layer"), targets=seg.get("brand_accounts"))
        if notes is not None and not seg.get("brand_accounts") and "topic" not in graph.metadata:
            from graphcrm.loaders.topics import topic_counts

            topics = list(topic_counts(graph))[:5]
            if topics:         # the tone of every message, polite replies to a critic included: say so
                notes.setdefault("stance_of_all_messages", {})[seg["name"]] = topics
        st = st[(st.stance_evidence >= int(seg.get("min_evidence", 3))) & (np.sign(st.stance_score) == sign)
                & (st.stance_score.abs() > float(seg.get("threshold", 0.1)))]
        st = st.assign(strength=st.stance_score.abs() * np.log1p(st.stance_evidence))
        st = st.sort_values(["strength", "account_id"], ascending=[False, True], kind="stable")
        word = "positive" if sign > 0 else "negative"
        reasons = [f"{word} signs: mean {r.stance_score:+.2f} over {r.stance_evidence} interactions"
                   for r in st.itertuples(index=False)]
        return _top(pd.DataFrame({"account_id": st.account_id, "score": st.stance_score, "reason": reasons}), seg)
    return make


def participation(graph: SocialGraph, lay: Layer, membership: np.ndarray):
    """Participation coefficient (Guimera & Amaral 2005), degree and number of communities touched, per account.

    Computed on the layer's positive ties only (:meth:`Layer.positive`): on a signed layer a distrust rating is
    not a tie into a community (and a signed strength of 0 or less would make the shares meaningless), so the
    coefficient lies in ``[0, 1 - 1/m]`` for an account touching ``m`` communities, and ``degree`` /
    ``touched`` count positive ties too.  Communities are found on the positive ties as well.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("trust", ["x", "x", "x"], ["a", "b", "c"], [-10.0, 1.0, 1.0]).build()
    >>> membership = np.zeros(4, dtype=np.int64)
    >>> membership[g.index_of(["x", "a", "b", "c"])] = [0, 1, 2, 3]
    >>> pc, degree, touched = participation(g, g.layer("trust"), membership)
    >>> x = g.index_of(["x"])[0]
    >>> round(float(pc[x]), 2), int(degree[x]), int(touched[x])      # the -10 to a is no tie into community 1
    (0.5, 2, 2)
    """
    u, v, w = undirected_edges(lay.positive())
    n = graph.n_nodes
    k = int(membership.max()) + 1 if len(membership) else 1
    ends, other, ww = np.concatenate([u, v]), np.concatenate([membership[v], membership[u]]), np.concatenate([w, w])
    strength = np.bincount(ends, weights=ww, minlength=n)
    degree = np.bincount(ends, minlength=n)
    keys, inv = np.unique(ends.astype(np.int64) * k + other, return_inverse=True)
    per = np.bincount(inv, weights=ww)
    denom = strength[keys // k]
    share = np.divide(per, denom, out=np.zeros(len(per)), where=denom > 0)
    pc = 1.0 - np.bincount(keys // k, weights=share ** 2, minlength=n)
    pc[strength == 0] = 0.0
    touched = np.bincount(keys // k, minlength=n)
    return pc, degree, touched


def _bridges(graph, lay, seg, *, partition, **_):
    if partition is None:
        raise ParameterError(f"segment {seg['name']!r}: bridges need communities (a partition)")
    dense = graph.id_map.lookup(partition.index.to_numpy())
    codes, _ = pd.factorize(partition.to_numpy(), sort=True)
    membership = np.full(graph.n_nodes, int(codes.max()) + 1 if len(codes) else 0, dtype=np.int64)
    ok = dense >= 0
    membership[dense[ok]] = codes[ok]
    pc, degree, touched = participation(graph, lay, membership)
    keep = np.flatnonzero((degree >= int(seg.get("min_degree", 5))) & (touched >= 2))
    order = keep[np.lexsort((keep, -degree[keep], -pc[keep]))]
    ids = graph.id_map.ids
    frame = pd.DataFrame({"account_id": ids[order], "score": pc[order],
                          "reason": [f"ties to {touched[i]} communities (participation {pc[i]:.2f}, {degree[i]} ties)"
                                     for i in order]})
    return _top(frame, seg)


def _reachable_via(graph, lay, seg, *, links, **_):
    if seg.get("accounts"):
        with _ids_of(seg, "accounts"):
            graph.index_of(list(seg["accounts"]))          # a listed account the graph lacks is named
    targets = _accounts_of_customers(seg, links)
    targets = [t for t in targets if graph.id_map.lookup(np.asarray([t], dtype=object))[0] >= 0]
    if not targets:
        raise NodeNotFoundError(f"segment {seg['name']!r}, key 'customers': none of the customers is linked to an "
                                "account in the graph; nobody to reach")
    ppr = personalized_pagerank(graph, targets, layer=lay.positive())   # whom these people pay attention to
    scores = ppr.values.copy()
    scores[graph.index_of(targets)] = 0.0
    order = np.lexsort((np.arange(len(scores)), -scores))
    order = order[scores[order] > 0]
    frame = pd.DataFrame({"account_id": graph.id_map.ids[order], "score": scores[order],
                          "reason": [f"personalized PageRank {scores[i]:.4f} from {len(targets)} target accounts"
                                     for i in order]})
    return _top(frame, seg)


def _at_risk(graph, lay, seg, *, links, customers, notes=None, **_):
    negative = seg.get("min_negative_exposure")
    has_flags = customers is not None and links is not None and "churned" in customers
    if not has_flags and (negative is None or links is None):
        raise ParameterError(f"segment {seg['name']!r}: at_risk needs customers with a churned column and links"
                             + ("" if negative is None else " (or links, for min_negative_exposure alone)"))
    n = graph.n_nodes
    flag = np.zeros(n, bool)
    if has_flags:
        churned_customers = set(customers.customer_id[customers.churned].astype(str))
        churned_acc = [a for c, a in zip(links.customer_id.astype(str), links.account_id) if c in churned_customers]
        if churned_acc:
            # a churned customer linked to an account this graph lacks (deleted, or newer than this version)
            # cannot expose anyone here: skipped and counted, never fatal
            dense = graph.id_map.lookup(np.asarray(churned_acc, dtype=object))
            flag[dense[dense >= 0]] = True
            if notes is not None and (dense < 0).any():
                notes.setdefault("churned_not_in_graph", {})[seg["name"]] = int((dense < 0).sum())
    pos = lay.positive()
    src, dst, w = pos.edge_arrays()   # src can influence dst
    total = np.bincount(dst, weights=w, minlength=n)
    from_churned = np.bincount(dst, weights=w * flag[src], minlength=n)
    n_churned = np.bincount(dst, weights=flag[src].astype(float), minlength=n).astype(int)
    n_infl = np.bincount(dst, minlength=n)
    exposure = np.divide(from_churned, total, out=np.zeros(n), where=total > 0)
    churn_hit = (exposure >= float(seg.get("min_exposure", 0.2))) if has_flags else np.zeros(n, bool)
    if negative is None:
        keep = np.flatnonzero(churn_hit & ~flag)
        order = keep[np.lexsort((keep, -exposure[keep]))]
        score = exposure
        reasons = [_churn_reason(exposure[i], n_churned[i], n_infl[i]) for i in order]
    else:
        neg, n_neg, top, top_amount = _negative_exposure_of(graph, pos, seg)
        keep = np.flatnonzero((churn_hit | (neg >= float(negative))) & ~flag)
        order = keep[np.lexsort((keep, -exposure[keep], -neg[keep]))]
        score = neg
        ids = graph.id_map.ids
        # the phrase naming an account is graphcrm.crm.export.REASON_ACCOUNT: exports pseudonymise it, erase cuts it
        reasons = [(_churn_reason(exposure[i], n_churned[i], n_infl[i]) + "; " if has_flags else "") +
                   f"negative exposure {neg[i]:.2f} from {n_neg[i]} of {n_infl[i]} influencers" +
                   (f", most from {ids[top[i]]} ({top_amount[i]:.2f})" if top[i] >= 0 else "") for i in order]
    frame = pd.DataFrame({"account_id": graph.id_map.ids[order], "score": score[order], "reason": reasons})
    if seg.get("customers_only", True) and links is not None:
        frame = frame[frame.account_id.astype(str).isin(set(links.account_id.astype(str)))]
    return _top(frame, seg)


def _churn_reason(exposure: float, n_churned: int, n_influencers: int) -> str:
    """The churn half of an ``at_risk`` reason: the score is the churned influencers' share of the account's
    incoming (positive) tie strength, not of its influencers' count -- the reason says both.

    Examples
    --------
    >>> _churn_reason(0.25, 1, 7)
    'churned influencers hold 25% of its incoming tie strength (1 of 7 influencers)'
    """
    return (f"churned influencers hold {exposure:.0%} of its incoming tie strength "
            f"({n_churned} of {n_influencers} influencers)")


def _negative_exposure_of(graph, pos, seg):
    """:func:`graphcrm.crm.exposure.negative_exposure` arrays for an ``at_risk`` segment's options (``as_of``:
    default one second after the graph's last event)."""
    from graphcrm.crm.exposure import _exposure_arrays

    as_of = seg.get("as_of")
    if as_of is None:
        last = [int(L.events.time.max()) for L in graph.layers.values() if L.events is not None and len(L.events)]
        as_of = max(last) + 1 if last else 0
    try:
        threshold = float(seg.get("negative_threshold", -0.05))
        float(seg["min_negative_exposure"])
    except (TypeError, ValueError):
        raise ParameterError(f"segment {seg['name']!r}: min_negative_exposure and negative_threshold must be "
                             "numbers") from None
    return _exposure_arrays(graph, as_of=as_of, half_life=seg.get("half_life", "7D"), topic=seg.get("topic"),
                            threshold=threshold, layer=pos)


def _engaged_fans(graph, lay, seg, **_):
    brands = list(seg.get("brand_accounts", []))
    if not brands:
        raise ParameterError(f"segment {seg['name']!r}: engaged_fans needs brand_accounts = [...]")
    brand = np.zeros(graph.n_nodes, bool)
    with _ids_of(seg, "brand_accounts"):
        brand[graph.index_of(brands)] = True
    names = [n for n in graph.layer_names if n in INTERACTION_TYPES or graph.layer(n).spec.signed] or graph.layer_names
    counts = {}
    for name in names:
        L = graph.layer(name)
        s, d, w = L.edge_arrays()
        actor, target = (d, s) if L.spec.direction == "reverse" else (s, d)
        w = np.ones(len(s)) if L.spec.signed else w
        counts[name] = np.bincount(actor[brand[target]], weights=w[brand[target]], minlength=graph.n_nodes)
    total = sum(counts.values())
    keep = np.flatnonzero((total >= float(seg.get("min_interactions", 2))) & ~brand)
    order = keep[np.lexsort((keep, -total[keep]))]
    reasons = [f"{total[i]:.0f} interactions with brand accounts (" +
               ", ".join(f"{counts[n][i]:.0f} {n}" for n in names if counts[n][i] > 0) + ")" for i in order]
    return _top(pd.DataFrame({"account_id": graph.id_map.ids[order], "score": total[order], "reason": reasons}), seg)


def _lookalike(graph, lay, seg, *, seed, **_):
    """The accounts most like ``seeds`` / ``seeds_file`` (:func:`graphcrm.lookalike.lookalikes`)."""
    from graphcrm.tables import read_id_list

    seeds = list(seg.get("seeds", []))
    if seg.get("seeds_file"):
        seeds += read_id_list(seg["seeds_file"])
    if not seeds:
        raise ParameterError(f"segment {seg['name']!r}: lookalike needs seeds = [...] or seeds_file = \"FILE\"")
    top = int(seg.get("top", 50))
    if top < 1:
        raise ParameterError(f"segment {seg['name']!r}: top must be >= 1")
    with _ids_of(seg, " / ".join(k for k in ("seeds", "seeds_file") if seg.get(k))):
        table = lookalikes(graph, seeds, top=top, layer=seg.get("layer", lay), dim=int(seg.get("dim", 128)),
                           seed=seed, score=seg.get("score", "centroid"),
                           missing="skip" if seg.get("skip_unknown") else "error")
    # the reason names no seed: the segments export pseudonymises account_id only, so an id in the text would
    # leak (``graphcrm lookalike`` lists the nearest seed in its own column)
    basis = "to the seeds' centroid, {:.2f} to the closest seed" if seg.get("score", "centroid") == "centroid" \
        else "to the closest seed"
    reasons = [f"embedding cosine {r.similarity:.2f} " + basis.format(r.nearest_seed_similarity) +
               f"; tied to {r.seed_ties} of the seeds; shares {r.shared_neighbours} of its {r.neighbours} "
               "neighbours with the seeds" for r in table.itertuples(index=False)]
    return pd.DataFrame({"account_id": table.account_id, "score": table.similarity, "reason": reasons})


_MAKERS = {"leaders": _leaders, "advocates": _stance_segment(1), "critics": _stance_segment(-1),
           "bridges": _bridges, "reachable_via": _reachable_via, "at_risk": _at_risk, "engaged_fans": _engaged_fans,
           "lookalike": _lookalike}
