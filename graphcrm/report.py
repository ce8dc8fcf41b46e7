"""The HTML report for marketers: one self-contained file with the leaders, communities, reach and segments.

:func:`build_report` computes everything from a graph (opinion leaders,
Leiden communities and their profiles, reach curves per step with 95% bands
for three seed sets, segment sizes) and renders one HTML page whose charts are
inline SVG (:mod:`graphcrm.svg`): no script, font or stylesheet is fetched
when it is opened.  :func:`write_report` writes it atomically.

Segments come in groups (``communities``, ``leader tiers``, ``stance`` when
the graph has a signed layer); more groups -- CRM segments -- are passed as
``segments={"crm": series}`` and appear in the same chart and table.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from graphcrm.algorithms.community import community_profiles, leiden, undirected_edges
from graphcrm.algorithms.forecast import describe_duration
from graphcrm.algorithms.planning import degree_discount
from graphcrm.backtest import Backtest, headline, predicted_vs_actual
from graphcrm.loaders.errors import InputFileError, ParameterError
from graphcrm.loaders.graph import Layer, SocialGraph
from graphcrm.loaders.results import Partition
from graphcrm.curves import compare_seed_sets, random_seeds
from graphcrm.leaders import opinion_leaders
from graphcrm.progress import step
from graphcrm.svg import bar_chart, band_chart, network_drawing, predicted_actual_chart

TIERS = ((0.01, "top 1% influence"), (0.10, "top 1-10% influence"), (1.0, "other accounts"))


@dataclass(frozen=True, eq=False)
class Report:
    """A rendered report and the tables behind it.

    Attributes
    ----------
    html : str
        The self-contained page.
    leaders, profiles, curves, segments : pandas.DataFrame
        Opinion-leader table, community profiles, reach per step per seed set
        (:func:`graphcrm.curves.compare_seed_sets`), segment sizes (:func:`segment_sizes`).
    summary : dict
        Key figures (for ``--json``).
    """

    html: str
    leaders: pd.DataFrame
    profiles: pd.DataFrame
    curves: pd.DataFrame
    segments: pd.DataFrame
    summary: dict = field(default_factory=dict)


def segment_sizes(groups: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Accounts per segment, for several groupings: ``group, segment, accounts, share``.

    Each value of ``groups`` maps account id -> segment label (one row per
    account; accounts may be missing from a group).  Segments are listed in
    the order of the categories of a categorical series, else largest first.
    ``share`` is within the group.

    Examples
    --------
    >>> segment_sizes({"tier": pd.Series(["a", "a", "b"], index=[1, 2, 3])}).values.tolist()
    [['tier', 'a', 2, 0.6666666666666666], ['tier', 'b', 1, 0.3333333333333333]]
    """
    rows = []
    for group, labels in groups.items():
        labels = pd.Series(labels)
        counts = labels.value_counts(sort=False)
        if isinstance(labels.dtype, pd.CategoricalDtype):
            order = [c for c in labels.cat.categories if counts.get(c, 0) > 0]
        else:
            order = counts.sort_values(ascending=False, kind="stable").index.tolist()
        total = int(counts.sum())
        rows += [{"group": group, "segment": str(s), "accounts": int(counts[s]), "share": counts[s] / total}
                 for s in order]
    return pd.DataFrame(rows, columns=["group", "segment", "accounts", "share"])


def segments_from_table(graph: SocialGraph, frame: pd.DataFrame, *, name: str = "table") -> pd.Series:
    """``account_id -> segment`` from a table with columns ``account_id`` (or ``id``) and ``segment``.

    Ids are matched to the graph's (``"7"`` finds account ``7`` in a graph
    with integer ids); accounts the graph does not have are dropped and counted in ``.attrs["unmatched"]``
    (the first of them in ``.attrs["first_unmatched"]``); a table naming no account at all is an error.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 2], [2, 3]).build()
    >>> segments_from_table(g, pd.DataFrame({"account_id": ["1", "3", "99", "x"], "segment": ["vip", "new", "vip", "a"]})).to_dict()
    {1: 'vip', 3: 'new'}
    """
    cols = {str(c).lower(): c for c in frame.columns}
    id_col = cols.get("account_id") or cols.get("id")
    if id_col is None or "segment" not in cols:
        raise ParameterError(f"{name}: a segment table needs columns account_id and segment "
                             f"(found: {', '.join(map(str, frame.columns))})")
    column = frame[id_col]
    ids = column if pd.api.types.is_numeric_dtype(column) else column.astype(str).str.strip()
    dense = graph.id_map.lookup(ids.to_numpy(dtype=None if ids is column else object))   # "007" is text
    known = dense >= 0
    if len(ids) and not known.any():
        raise InputFileError(name, None, "account_id", f"none of its {len(ids):,} ids is an account of the snapshot "
                             f"(the first: {ids.iloc[0]!r}); expected account ids, not e.g. CRM customer ids")
    out = pd.Series(frame[cols["segment"]].astype(str).to_numpy()[known], index=graph.id_map.ids[dense[known]])
    out.attrs["unmatched"] = int((~known).sum())
    out.attrs["first_unmatched"] = None if known.all() else str(ids.to_numpy()[~known][0])
    return out


def community_graph(graph: SocialGraph, partition: Partition, *, layer: str | Layer) -> pd.DataFrame:
    """Interaction volume between communities: ``source, target, weight, ties`` (``source < target``).

    ``weight`` sums the tie weights of the undirected simple layer between two
    communities; ``ties`` counts the ties.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("x", [1, 2, 3, 4], [2, 1, 4, 1], [2.0, 1.0, 1.0, 5.0]).build()
    >>> part = Partition(np.array([0, 0, 1, 1]), g.id_map)
    >>> community_graph(g, part, layer="x").to_dict("records")
    [{'source': 0, 'target': 1, 'weight': 5.0, 'ties': 1}]
    """
    lay = graph.resolve_layer(layer).positive()
    u, v, w = undirected_edges(lay)
    cu, cv = partition.membership[u], partition.membership[v]
    between = cu != cv
    a, b = np.minimum(cu, cv)[between], np.maximum(cu, cv)[between]
    frame = pd.DataFrame({"source": a.astype(int), "target": b.astype(int), "weight": w[between], "ties": 1})
    out = frame.groupby(["source", "target"], as_index=False).agg(weight=("weight", "sum"), ties=("ties", "sum"))
    return out.sort_values(["source", "target"], kind="stable").reset_index(drop=True)


def build_report(graph: SocialGraph, *, layer: str | Layer | None = None, top: int = 20, k: int = 10,
                 n_runs: int = 2_000, seed: int = 0, segments: Mapping[str, pd.Series] | None = None,
                 reach_samples: int = 100_000, max_communities: int = 12, title: str = "Audience influence report",
                 source: str = "", backtest: Backtest | None = None, method: str = "auto",
                 horizon: int | None = None, forecast_model=None) -> Report:
    """Compute the report's tables and render the page.

    Parameters
    ----------
    layer : str or Layer, optional
        Influence layer (default :meth:`SocialGraph.default_layer`).
    top : int
        Rows of the opinion-leader table.
    k : int
        Seeds per compared seed set (top leaders, degree discount, random).
    n_runs : int
        Monte-Carlo runs per seed set (IC, weighted cascade), in 10 batches for the bands.
    seed : int
        Same seed, same report (apart from the generation time).
    segments : mapping of str to pandas.Series, optional
        Extra segment groups (``account_id -> segment``), e.g. CRM segments.
    max_communities : int
        Communities drawn individually; the rest are grouped.
    backtest : Backtest, optional
        A :func:`graphcrm.backtest.backtest` of this graph: the page gets a section that shows how each scorer
        did on the days after its split, with the forecast's predicted-vs-actual chart.
    method : {"auto", "forecast", "combined"}
        Leader order, as ``graphcrm rank --method``: ``auto`` ranks by the scorer that won on held-out days
        of the interaction log (the forecast, recent engagement or in-degree) where the graph keeps one long
        enough, else by the structural combined score.  The order drives the table, the "top leaders" seed
        set and the leader tiers; ``summary["leaders_ranking"]`` says which scorer ranked and why.
    horizon : int, optional
        Forecast horizon in seconds (default: the forecast's own choice).
    forecast_model : ForecastModel, optional
        A fitted (e.g. stored) forecast to rank by, as ``graphcrm rank`` reuses the snapshot's stored model.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> src = [a for a in range(12) for b in range(12) if a != b and a // 6 == b // 6] + [0]
    >>> dst = [b for a in range(12) for b in range(12) if a != b and a // 6 == b // 6] + [6]
    >>> rep = build_report(GraphBuilder().add_edges("follows", src, dst).build(), top=5, k=2, n_runs=200)
    >>> rep.html.startswith("<!DOCTYPE html>"), len(rep.leaders), sorted(rep.curves.seed_set.unique())
    (True, 5, ['degree discount', 'random accounts', 'top leaders'])
    """
    if top < 1 or k < 1:
        raise ParameterError(f"--top and --k must be >= 1 (got {top}, {k})")
    started = time.perf_counter()
    lay = graph.resolve_layer(layer).positive()
    if lay.n_edges == 0:
        raise ParameterError(f"layer '{lay.name}' has no ties: no leaders to rank or reach to simulate on it "
                             f"(layers: {', '.join(graph.layer_names)})")
    active = int(((lay.out_degree() > 0) | (lay.in_degree() > 0)).sum())
    k = min(k, int((lay.out_degree() > 0).sum()) or 1)
    with step("ranking opinion leaders"):
        ranked, ranking = leader_order(graph, layer, method=method, horizon=horizon, reach_samples=reach_samples,
                                       seed=seed, forecast_model=forecast_model, explain=top)
    with step("finding communities"):
        part = leiden(graph, layer=lay, seed=seed)
        profiles = community_profiles(graph, part, layer=lay)
        links = community_graph(graph, part, layer=lay)
    community = pd.Series(part.membership, index=graph.id_map.ids)
    ranked.insert(2, "community", community.loc[ranked.account_id].to_numpy())
    if ranking.get("scorer") != "combined":     # each community's leaders: its first members in the leader order
        profiles["leaders"] = community_leaders(ranked, profiles.community)
    seed_sets = {"top leaders": ranked.account_id.head(k).tolist(),
                 "degree discount": degree_discount(graph, layer=lay, k=k),
                 "random accounts": random_seeds(graph, k, layer=lay, seed=seed)}
    with step(f"simulating {3 * n_runs:,} cascades"):
        curves = compare_seed_sets(graph, seed_sets, layer=lay, n_runs=n_runs, seed=seed)
    groups = {"communities": _community_segments(part, max_communities),
              "leader tiers": _tiers(ranked)}
    if (ranked.stance_evidence > 0).any():
        groups["stance"] = ranked.set_index("account_id").stance
    groups.update(segments or {})
    sizes = segment_sizes(groups)
    final = curves.groupby("seed_set", sort=False).tail(1).set_index("seed_set")
    summary = {
        "nodes": graph.n_nodes, "active_accounts": active, "ties": int(lay.n_ties), "layer": lay.name,
        "communities": int(part.n_communities), "modularity": round(float(part.quality), 4),
        "seeds_per_set": k, "runs_per_set": n_runs,
        "expected_reach": {s: {"mean": round(float(r.reached), 2), "ci95": [round(float(r.ci_low), 2),
                                                                            round(float(r.ci_high), 2)]}
                           for s, r in final.iterrows()},
        "top_leaders": ranked.account_id.head(min(top, 10)).tolist(),
        "leaders_ranking": ranking,
        "segments": {g: int((sizes.group == g).sum()) for g in groups},
    }
    if backtest is not None:
        summary["backtest"] = {k: backtest.summary[k] for k in ("split", "horizon_seconds", "layer", "winner",
                                                                 "leader_default_scorer")}
    leaders = ranked.head(top).reset_index(drop=True)
    quality_html, summary["audience_quality"] = _audience_section(graph, leaders)
    html = _render(title=title, source=source, summary=summary, leaders=leaders, ranking=ranking, profiles=profiles,
                   part=part,
                   links=links, curves=curves, sizes=sizes, max_communities=max_communities, seed=seed)
    html = html.replace("<h2 id=\"communities\">", quality_html + "\n<h2 id=\"communities\">", 1)
    if backtest is not None:
        html = html.replace("<h2 id=\"segments\">", _backtest_section(backtest) + "\n<h2 id=\"segments\">", 1)
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return Report(html, leaders, profiles, curves, sizes, summary)


#: structural columns of :func:`graphcrm.leaders.opinion_leaders` a validated leader order keeps beside its own
STRUCTURAL_COLUMNS = ("influence_score", "expected_reach", "expected_reach_stderr", "audience_size", "pagerank_pct",
                      "coreness_pct", "expected_reach_pct", "stance", "stance_score", "stance_evidence")


def leader_order(graph: SocialGraph, layer: str | Layer | None = None, *, method: str = "auto", horizon: int | None = None,
                 reach_samples: int = 100_000, seed: int = 0, forecast_model=None,
                 explain: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Every account in leader order by the scorer ``graphcrm rank --method`` uses, with the structural columns.

    ``layer`` is the influence layer of the structural measures; the forecast ranks ``layer`` when it is a
    named layer (as ``graphcrm rank --layer``: a layer without timestamped events means the combined score
    under ``auto``), else its default target layer.  ``explain``: rows that get a ``why`` (default: all).
    ``reach_samples`` defaults to ``graphcrm rank --samples``, so the combined order is ``rank``'s too.

    Returns ``(table, ranking)``: rows ``rank, account_id, leader_score, scorer, why`` then the combined
    score's measures on ``layer`` (:data:`STRUCTURAL_COLUMNS`: expected reach, audience, stance, ...) and,
    when a forecast ranked, its ``forecast_engagement(_low/_high)``, ``engagement_received`` and
    ``distinct_engagers``; ``ranking`` is ``{"scorer", "scorer_reason", ...}`` as ``rank``'s
    ``table.attrs["ranking"]``.  Without a timestamped interaction log ``auto`` is the combined score.

    Examples
    --------
    >>> from graphcrm.loaders.builder import GraphBuilder
    >>> g = GraphBuilder().add_edges("follows", ["a", "b", "c"], ["hub", "hub", "a"]).build()
    >>> table, ranking = leader_order(g, "follows", reach_samples=2000)
    >>> table.account_id.tolist()[:2], ranking["scorer"], table.why.iloc[0]
    (['hub', 'a'], 'combined', 'top 0.1% by reach, top 0.1% by attention')
    """
    from graphcrm.leaders import LeaderScores
    from graphcrm.ranking import LEADER_METHODS, validated_leader_list

    if method not in LEADER_METHODS:
        raise ParameterError(f"leader method must be one of {LEADER_METHODS}, got {method!r}")
    scores = LeaderScores(graph)
    lay = graph.resolve_layer(layer).positive()
    structural = opinion_leaders(graph, layer=lay, top=graph.n_nodes, reach_samples=reach_samples, seed=seed,
                                 scores=scores)
    table, why = (None, "asked for") if method == "combined" else \
        validated_leader_list(graph, method=method, top=graph.n_nodes, layer=layer, horizon=horizon, seed=seed,
                              forecast_model=forecast_model, explain=explain)
    if table is None:
        shown = len(structural) if explain is None else max(0, min(int(explain), len(structural)))
        structural.insert(2, "leader_score", structural.influence_score)
        structural.insert(3, "scorer", "combined")
        structural.insert(4, "why", [_why(r) for r in structural.head(shown).itertuples(index=False)]
                          + [""] * (len(structural) - shown))
        return structural, {"scorer": "combined", "scorer_reason": why}
    ranking = dict(table.attrs.get("ranking", {}))
    own = ["rank", "account_id", "leader_score", "scorer", "why", "forecast_engagement", "forecast_engagement_low",
           "forecast_engagement_high", "engagement_received", "distinct_engagers"]
    extra = structural.set_index("account_id").loc[table.account_id, list(STRUCTURAL_COLUMNS)]
    out = table[own].reset_index(drop=True)
    out[list(STRUCTURAL_COLUMNS)] = extra.to_numpy() if len(extra) else extra
    out = out.astype({c: structural[c].dtype for c in STRUCTURAL_COLUMNS})
    out.attrs = {}
    return out, ranking


def community_leaders(ranked: pd.DataFrame, communities: pd.Series, per: int = 3) -> pd.Series:
    """Per community, its first ``per`` members in ``ranked``'s order, joined by ``;`` (the form of
    :func:`~graphcrm.algorithms.community.community_profiles`' ``leaders``).

    Examples
    --------
    >>> ranked = pd.DataFrame({"account_id": ["a", "b", "c", "d"], "community": [1, 0, 1, 1]})
    >>> community_leaders(ranked, pd.Series([0, 1, 2]), per=2).tolist()
    ['b', 'a;c', '']
    """
    first = ranked.groupby("community", sort=False).head(per)
    joined = first.groupby("community", sort=False).account_id.agg(lambda s: ";".join(map(str, s)))
    return communities.map(joined).fillna("").astype(object).rename("leaders")


def write_report(report: Report, path) -> Path:
    """Write the page to ``path`` (``.html``); a reader never sees half a file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> rep = Report("<!DOCTYPE html><p>hi</p>", *[pd.DataFrame()] * 4)
    >>> write_report(rep, pathlib.Path(tempfile.mkdtemp()) / "r.html").read_text()
    '<!DOCTYPE html><p>hi</p>'
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ParameterError(f"{path}: the report is HTML; name it like report.html")
    from graphcrm.loaders.atomic import write_atomic

    return write_atomic(path, lambda tmp: tmp.write_text(report.html, encoding="utf-8"))


# ------------------------------------------------------------------------------ segments
def _community_segments(part: Partition, shown: int) -> pd.Series:
    sizes = part.sizes()
    labels = np.array([f"community {c}" for c in range(len(sizes))], dtype=object)
    labels[shown:] = "smaller communities"
    labels[sizes == 1] = "accounts without ties"
    order = list(dict.fromkeys(labels))
    return pd.Series(pd.Categorical(labels[part.membership], categories=order), index=part.id_map.ids)


def _tiers(ranked: pd.DataFrame) -> pd.Series:
    n = len(ranked)
    rank = ranked["rank"].to_numpy()
    label = np.full(n, TIERS[-1][1], dtype=object)
    for share, name in reversed(TIERS[:-1]):
        label[rank <= max(1, math.ceil(share * n))] = name
    return pd.Series(pd.Categorical(label, categories=[name for _, name in TIERS]), index=ranked.account_id.to_numpy())


# ------------------------------------------------------------------------------ rendering
def _why(row) -> str:
    """The combined score's reason: the measures where the account is in the top 10%."""
    parts = []
    for col, what in (("expected_reach_pct", "reach"), ("pagerank_pct", "attention"), ("coreness_pct", "core position")):
        tail = 100.0 - float(getattr(row, col))
        if tail < 10:
            parts.append(f"top {_pct(tail)} by {what}")
    return ", ".join(parts) or "balanced across measures"


def _pct(tail: float) -> str:
    for limit in (0.1, 0.5, 1, 2, 5, 10):
        if tail <= limit:
            return f"{limit:g}%"
    return f"{tail:.0f}%"


def _score(value: float) -> str:
    """A leader score readable at any scale: 12,345 / 76.62 / 0.00412.

    >>> _score(12345.6), _score(76.623), _score(0.0041234), _score(0.0)
    ('12,346', '76.62', '0.00412', '0')
    """
    v = float(value)
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.2f}" if abs(v) >= 1 else f"{v:.3g}"


def _leader_table(leaders: pd.DataFrame, ranking: Mapping) -> str:
    signed = (leaders.stance_evidence > 0).any()
    head = ["#", "account", SCORE_HEADERS.get(ranking.get("scorer"), "leader score"), "why", "expected reach",
            "audience", "community"]
    head += ["stance"] if signed else []
    rows = []
    for _, r in leaders.iterrows():
        cells = [str(r["rank"]), escape(str(r.account_id)), _score(r.leader_score), escape(str(r.why)),
                 f"{r.expected_reach:,.1f} &plusmn; {1.96 * r.expected_reach_stderr:,.1f}",
                 f"{int(r.audience_size):,}", str(r.community)]
        if signed:
            cells.append(f'<span class="{r.stance}">{r.stance}</span> ({int(r.stance_evidence)})')
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return ('<table class="leaders"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _community_drawing(part: Partition, links: pd.DataFrame, profiles: pd.DataFrame, shown: int) -> str:
    """Communities on a circle, largest at the top and then clockwise; circle area ~ members."""
    sizes = part.sizes()
    floor = max(3, 0.005 * sizes.sum())            # tiny communities would be dots: they stay in the bar chart
    keep = [c for c in range(min(shown, len(sizes))) if sizes[c] >= floor]
    if not keep:
        return "<p>No community is large enough to draw.</p>"
    sub = links[links.source.isin(keep) & links.target.isin(keep)]
    n = len(keep)
    angle = -math.pi / 2 + 2 * math.pi * np.arange(n) / n
    xy = np.column_stack([0.5 + 0.5 * np.cos(angle), 0.5 + 0.5 * np.sin(angle)]) if n > 1 else np.array([[0.5, 0.5]])
    # the largest circle fits between neighbours on a ring of radius ~190 px
    r_max = 60.0 if n < 3 else min(60.0, 0.45 * 2 * 190 * math.sin(math.pi / n))
    big = math.sqrt(sizes[keep[0]])
    prof = profiles.set_index("community")
    nodes = [{"x": float(x), "y": float(y), "r": max(6.0, r_max * math.sqrt(sizes[c]) / big), "label": f"C{c}",
              "tooltip": f"community {c}: {sizes[c]:,} members; leaders {prof.leaders[c]}; bridges {prof.bridges[c] or 'none'}"}
             for c, (x, y) in zip(keep, xy)]
    index = {c: i for i, c in enumerate(keep)}
    wmax = float(sub.weight.max()) if len(sub) else 1.0
    edges = [(index[a], index[b], 0.6 + 10 * math.sqrt(w / wmax), f"C{a} - C{b}: {t:,} ties, volume {w:,.1f}")
             for a, b, w, t in zip(sub.source, sub.target, sub.weight, sub.ties)]
    return network_drawing(nodes, edges, title=f"The {n} largest communities and the interaction between them")


def _profile_table(profiles: pd.DataFrame, shown: int) -> str:
    cols = ["community", "size", "internal_density", "conductance", "leaders", "bridges"]
    cols += ["dominant_interaction"] if "dominant_interaction" in profiles else []
    frame = profiles[profiles["size"] > 1].head(shown)[cols]
    rows = "".join("<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in r) + "</tr>" for r in frame.values)
    return ('<table><thead><tr>' + "".join(f"<th>{c.replace('_', ' ')}</th>" for c in cols) + "</tr></thead><tbody>"
            + rows + "</tbody></table>")


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    return str(value).replace(";", ", ")


#: the leader table's score column, per scorer
SCORE_HEADERS = {"combined": "influence score", "forecast": "forecast engagement",
                 "engagement_decayed": "recent engagement", "in_degree": "accounts engaged"}


def _leaders_note(ranking: Mapping) -> str:
    """The paragraph above the leader table: what ranked it, and why that scorer."""
    reach = ("Expected reach is the number of accounts a message from this account alone reaches on average "
             "(&plusmn; 95%; independent cascade on the influence layer).")
    if ranking.get("scorer") == "combined":
        return (f"Influence score combines attention received (PageRank), core position (k-core) and expected "
                f"word-of-mouth reach (independent cascade, weighted-cascade probabilities); \"why\" names the "
                f"measures where the account is in the top 10%. Ranked by this structural score: "
                f"{escape(str(ranking.get('scorer_reason', '')))}. {reach}")
    return (f"Ranked as <code>graphcrm rank</code> ranks: by the scorer that predicted engagement best on held-out "
            f"days of the interaction log, here <b>{escape(SCORE_HEADERS.get(ranking['scorer'], ranking['scorer']))}"
            f"</b> ({escape(str(ranking.get('scorer_reason', '')))}). \"why\" gives the forecast for the next days "
            f"with its 80% interval. {reach}")


def _community_leaders_words(ranking: Mapping) -> str:
    if ranking.get("scorer") == "combined":
        return "the members with the most attention inside it, by PageRank"
    return "its first members in the leader table's order"


def _reach_caveat(ranking: Mapping) -> str:
    if ranking.get("scorer") == "combined":
        return ""
    return (" The leaders are ranked by the engagement they are predicted to receive, validated on held-out days; "
            "the reach here is the cascade model's, which favours large audiences. To choose seeds for a campaign "
            "use <code>graphcrm plan</code>.")


def _render(*, title, source, summary, leaders, ranking, profiles, part, links, curves, sizes, max_communities,
            seed) -> str:
    sizes_c = part.sizes()
    shown = [c for c in range(min(max_communities, len(sizes_c))) if sizes_c[c] > 1]
    prof = profiles.set_index("community")
    bars = bar_chart([f"community {c}" for c in shown], [int(sizes_c[c]) for c in shown],
                     title="Members per community",
                     tooltips=[f"community {c}: {sizes_c[c]:,} members; leaders {prof.leaders[c]}" for c in shown])
    series = []
    for name, c in curves.groupby("seed_set", sort=False):
        series.append({"name": f"{name} ({int(c.seeds.iloc[0])})", "x": c.step.tolist(), "y": c.reached.tolist(),
                       "low": c.ci_low.tolist(), "high": c.ci_high.tolist()})
    reach_svg = band_chart(series, title="Expected accounts reached after each step (95% confidence band)",
                           y_label="accounts reached")
    final_rows = "".join(
        f"<tr><td>{escape(s)}</td><td>{v['mean']:,.1f}</td><td>{v['ci95'][0]:,.1f} .. {v['ci95'][1]:,.1f}</td></tr>"
        for s, v in summary["expected_reach"].items())
    seg_charts = []
    for group, frame in sizes.groupby("group", sort=False):
        seg_charts.append(bar_chart(frame.segment.tolist(), frame.accounts.tolist(), title=f"Segments: {group}",
                                    color="#2ca02c",
                                    tooltips=[f"{s}: {a:,} accounts ({100 * sh:.1f}%)" for s, a, sh in
                                              zip(frame.segment, frame.accounts, frame.share)]))
    seg_rows = "".join(f"<tr><td>{escape(g)}</td><td>{escape(s)}</td><td>{a:,}</td><td>{100 * sh:.1f}%</td></tr>"
                       for g, s, a, sh in sizes[["group", "segment", "accounts", "share"]].values)
    figures = [("accounts", f"{summary['nodes']:,}"), ("with ties", f"{summary['active_accounts']:,}"),
               ("ties", f"{summary['ties']:,}"), ("communities", f"{int((sizes_c > 1).sum()):,} with 2+ members"),
               ("modularity", f"{summary['modularity']:.3f}"),
               ("reach of top leaders", f"{summary['expected_reach']['top leaders']['mean']:,.0f}")]
    cards = "".join(f'<div class="card"><div class="v">{escape(v)}</div><div class="k">{escape(k)}</div></div>'
                    for k, v in figures)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    k = summary["seeds_per_set"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d2329;
       background: #f5f6f8; }}
main {{ max-width: 1100px; margin: 0 auto; padding: 24px; }}
h1 {{ margin: 0 0 4px; font-size: 26px; }} h2 {{ margin-top: 36px; border-bottom: 2px solid #dde1e6; }}
.sub {{ color: #5b6670; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 12px; margin: 18px 0; }}
.card {{ background: #fff; border-radius: 8px; padding: 12px 16px; min-width: 130px;
        box-shadow: 0 1px 2px rgba(0,0,0,.08); }}
.card .v {{ font-size: 22px; font-weight: 600; }} .card .k {{ color: #5b6670; font-size: 13px; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 16px; }}
svg {{ background: #fff; border-radius: 8px; box-shadow: 0 1px 2px rgba(0,0,0,.08); max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; background: #fff; margin: 12px 0; font-size: 13px; width: 100%; }}
th, td {{ padding: 6px 8px; border-bottom: 1px solid #e6e8eb; text-align: left; vertical-align: top; }}
th {{ background: #eef1f4; }}
.supporter {{ color: #1a7f37; font-weight: 600; }} .critic {{ color: #c62828; font-weight: 600; }}
.note {{ color: #5b6670; font-size: 13px; }}
</style></head>
<body><main>
<h1>{escape(title)}</h1>
<div class="sub">{escape(source)} &middot; influence layer <b>{escape(summary['layer'])}</b> &middot; generated {generated}
&middot; seed {seed}</div>
<div class="cards">{cards}</div>

<h2 id="leaders">Opinion leaders</h2>
<p class="note">{_leaders_note(ranking)}</p>
{_leader_table(leaders, ranking)}

<h2 id="communities">Communities</h2>
<p class="note">Leiden communities on the influence layer ({summary['communities']:,} in all, counting accounts
without ties as their own). Hover a circle or bar for its leaders ({_community_leaders_words(ranking)}) and bridges;
line width follows the interaction volume between two communities.</p>
<div class="charts">{bars}{_community_drawing(part, links, profiles, max_communities)}</div>
{_profile_table(profiles, max_communities)}

<h2 id="reach">Word-of-mouth reach per step</h2>
<p class="note">{k} seeds each: the top {k} opinion leaders of the table above, {k} degree-discount picks and {k} random
accounts with an audience; {summary['runs_per_set']:,} independent-cascade runs per set. The band is the 95% confidence
interval of the expected reach at each step (batch means over 10 independent batches).{_reach_caveat(ranking)}</p>
<div class="charts">{reach_svg}</div>
<table><thead><tr><th>seed set</th><th>expected reach</th><th>95% CI</th></tr></thead><tbody>{final_rows}</tbody></table>

<h2 id="segments">Segments</h2>
<p class="note">Accounts per segment, for each grouping.</p>
<div class="charts">{''.join(seg_charts)}</div>
<table><thead><tr><th>group</th><th>segment</th><th>accounts</th><th>share</th></tr></thead><tbody>{seg_rows}</tbody></table>
<p class="note">Made with graphcrm. This page is self-contained: it loads nothing from the network.</p>
</main></body></html>
"""


def _audience_section(graph: SocialGraph, leaders: pd.DataFrame) -> tuple[str, dict]:
    """The audience-quality section for the listed leaders (:func:`graphcrm.audience.audit`) and its summary."""
    from graphcrm.audience import audit
    from graphcrm.loaders.errors import GraphCRMError

    try:
        result = audit(graph, leaders.account_id.tolist())
    except GraphCRMError as exc:
        return (f'<h2 id="audience-quality">Audience quality</h2>\n<p class="note">Not available: '
                f'{escape(str(exc))}.</p>', {"available": False, "reason": str(exc)})
    table = result.table
    rows = "".join(
        f"<tr><td>{escape(str(r.account_id))}</td><td>{r.audience_quality:.0f}</td>"
        f"<td>{r.audience_size:,}</td><td>{100 * r.suspicious_share:.1f}%</td>"
        f"<td>{'low quality' if r.low_quality else ''}{' / flagged itself' if r.own_flagged else ''}</td>"
        f"<td>{escape(r.reason.split(': ', 1)[-1])}</td></tr>" for r in table.itertuples(index=False))
    s = result.summary()
    notes = "".join(f"<li>{escape(w)}</li>" for w in s["warnings"])
    html = f"""<h2 id="audience-quality">Audience quality</h2>
<p class="note">How real each leader's {escape(s['audience'])} are: the share flagged as automated or mass-following
(follows far more than follow back, no or burst-only activity, acting in sync with the same accounts, closed retweet
rings, following flagged accounts), engagement against the rate expected for the audience size, and follower-growth
spikes where follow times exist. Score 0-100; below {result.info['low_quality_score']:g} is low quality.
{s['flagged']:,} of {s['accounts']:,} accounts ({100 * s['flagged_share']:.2f}%) are flagged in this graph.</p>
<table class="quality"><thead><tr><th>account</th><th>audience quality</th><th>audience</th><th>suspicious</th>
<th>flag</th><th>top reasons</th></tr></thead><tbody>{rows}</tbody></table>
{f'<ul class="note">{notes}</ul>' if notes else ''}"""
    figures = {"available": True, "flagged_share": s["flagged_share"],
               "low_quality_leaders": int(table.low_quality.sum()),
               "median_leader_quality": round(float(table.audience_quality.median()), 2) if len(table) else None}
    return html, figures


SCORER_LABELS = {"forecast": "forecast (graphcrm)", "leader_default": "graphcrm rank default",
                 "in_degree": "in-degree (distinct engagers)", "engagement_count": "engagement count",
                 "engagement_decayed": "engagement, time-decayed", "pagerank": "PageRank", "coreness": "coreness",
                 "ic_wc": "IC reach, weighted cascade", "ic_learned": "IC reach, learned", "influence_score":
                 "structural influence score", "past_reach": "past cascade reach"}


def _share(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{100 * value:.0f}%"


def _backtest_section(bt: Backtest) -> str:
    """The report's out-of-time check: metrics per scorer and the predicted-vs-actual chart."""
    s = bt.summary
    bins = predicted_vs_actual(bt, "engagement", scorers=tuple(
        name for name in ("forecast", "in_degree") if name in bt.counts["engagement"]))
    series = [{"name": SCORER_LABELS.get(name, name), "x": b.mean_predicted.tolist(), "y": b.mean_actual.tolist(),
               "low": b.actual_p10.tolist(), "high": b.actual_p90.tolist(), "n": b.accounts.tolist()}
              for name, b in bins.groupby("scorer", sort=False)]
    chart = predicted_actual_chart(series, title=f"{s['layer']} received after {s['split'][:16]}: predicted vs "
                                   "actual per account", x_label="predicted (mean per bin)",
                                   y_label="actual (mean, bar: 10-90%)")
    head = headline(bt, "engagement")
    rows = "".join(
        f"<tr><td>{escape(SCORER_LABELS.get(r.scorer, r.scorer))}</td><td>{r.spearman_all:.3f}</td>"
        f"<td>{r.spearman_active_in_training:.3f}</td><td>{r.overlap_100:.2f}</td><td>{r.ndcg_100:.3f}</td>"
        f"<td>{_cell(r.median_abs_log_error)}</td></tr>" for r in head.itertuples())
    chosen = s["leader_default_scorer"]
    m = bt.metrics
    cover = m[(m.scorer == "forecast") & (m.target == "engagement") & (m.group == "all")].interval_coverage
    engaged_cover = float(cover.iloc[0]) if len(cover) else float("nan")
    return f"""<h2 id="backtest">Does the leader score predict? (backtest)</h2>
<p class="note">Every scorer saw only the {s['events_before_split']:,} {escape(s['layer'])} events before
{escape(s['split'])} and is scored on the next {describe_duration(s['horizon_seconds'])}: {s['events_in_horizon']:,}
events to {s['accounts_engaged_in_horizon']:,} accounts, {s['of_them_new_after_split']:,} of whom were first seen
after the split (no scorer can know them). Spearman is over the accounts engaged after the split (all / those also
engaged before it); overlap and NDCG compare each scorer's top 100 with the actual top 100. At this split
<code>graphcrm rank</code> would have listed leaders by <b>{escape(chosen['scorer'])}</b>: {escape(chosen['reason'])}.
</p>
<div class="charts">{chart}</div>
<table><thead><tr><th>scorer</th><th>Spearman (all)</th><th>Spearman (active before)</th><th>overlap@100</th>
<th>NDCG@100</th><th>median abs log error</th></tr></thead><tbody>{rows}</tbody></table>
<p class="note">Points on the dashed diagonal are calibrated: accounts predicted to get <i>x</i> got <i>x</i> on
average. {_interval_note(s, engaged_cover)}</p>"""


def _interval_note(s: dict, engaged_cover: float) -> str:
    if s["forecast_model"] is None:
        return "No forecast is in this table: too little of the log lies before the split to validate one."
    return (f"The 80% intervals of the forecast held {_share(engaged_cover)} of the accounts engaged after the split "
            f"({_share(s['forecast_interval_coverage_all_known']['engagement'])} of all accounts known before it, "
            "most of which got nothing). After a spike the counts run high: read them as an upper bound and rely "
            "on the order.")
