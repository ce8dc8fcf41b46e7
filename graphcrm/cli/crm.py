"""CLI verbs of the CRM bridge: ``link``, ``segments``, ``economics``, ``run``, ``erase``, ``churn-backtest``.

Registered by :mod:`graphcrm.cli`; same conventions: ``--json``
summary on stdout, ``--seed``, ``--out`` CSV or Parquet by extension, exit
codes 0 ok / 1 bad data / 2 usage or configuration error.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from graphcrm.cli.common import (AS_OF, TOPIC, Timer, earlier_version, emit, open_snapshot, read_escaped_csv,
                                 snapshot_dir)
from graphcrm.progress import step


def register(app: typer.Typer) -> None:
    app.command("link")(link_cmd)
    app.command("segments")(segments_cmd)
    app.command("economics")(economics_cmd)
    app.command("run")(run_pipeline_cmd)
    app.command("erase")(erase_cmd)
    app.command("churn-backtest")(churn_backtest_cmd)


def _salt(pseudonymise: bool, salt_file: Optional[Path]):
    if not (pseudonymise or salt_file):
        return None
    from graphcrm.crm.export import load_salt

    return load_salt(salt_file)


def _accounts_table(source: Path):
    """Account attributes from a CSV/Parquet file or a snapshot's node table."""
    import pandas as pd

    from graphcrm.loaders.snapshot import is_snapshot, load_snapshot

    if is_snapshot(source):
        return load_snapshot(source).nodes
    if not source.exists():
        from graphcrm.loaders.errors import InputFileError

        raise InputFileError(source, None, None, "no such file")
    return pd.read_parquet(source) if source.suffix.lower() in (".parquet", ".pq") else \
        read_escaped_csv(source, dtype=str, keep_default_na=False)


def link_cmd(
    customers: Path = typer.Option(..., "--customers", help="CRM customers table (CSV, CSV.gz or Parquet)."),
    accounts: Path = typer.Option(..., "--accounts", help="Account attributes (CSV/Parquet) or a snapshot directory."),
    out: Path = typer.Option(..., "--out", help="Links table (.csv or .parquet)."),
    review: Optional[Path] = typer.Option(None, "--review", help="Review queue (default: OUT's name + _review)."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Link when the match probability is at "
                                              "least this (default: chosen from --target-precision)."),
    target_precision: float = typer.Option(0.98, "--target-precision", help="Without --threshold: link the best "
                                           "candidates while the expected share of right links stays at least this."),
    review_floor: float = typer.Option(0.3, "--review-floor", help="Review candidates from this probability."),
    mode: str = typer.Option("strict", "--mode", help="strict: stop at the first bad row; lenient: rejects file."),
    rejects: Optional[Path] = typer.Option(None, "--rejects", help="Rejects CSV (lenient; default OUT.rejects.csv)."),
    encoding: str = typer.Option("utf-8", "--encoding", help="Text encoding of the customers file."),
    pseudonymise: bool = typer.Option(False, "--pseudonymise", help="Pseudonymise account ids (salt from "
                                                                    "$GRAPHCRM_PSEUDONYM_SALT)."),
    salt_file: Optional[Path] = typer.Option(None, "--salt-file", help="File holding the pseudonymisation salt."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Link CRM customers to social accounts (exact handle / hashed e-mail / phone, then probabilistic).

    Example: graphcrm link --customers examples/crm/customers.csv --accounts examples/crm/accounts.csv --out links.csv
    """
    from graphcrm.crm.export import write_exports
    from graphcrm.crm.linking import link_customers
    from graphcrm.loaders import write_rejects
    from graphcrm.loaders.atomic import FileGroup
    from graphcrm.loaders.customers import read_customers, require_customers

    timer = Timer()
    salt = _salt(pseudonymise, salt_file)
    review = review or out.with_name(out.stem + "_review" + out.suffix)
    rejects_path = (rejects or out.with_name(out.name + ".rejects.csv")) if mode == "lenient" else None
    with step(f"reading {customers.name}"):
        table, report = read_customers(customers, mode=mode, encoding=encoding)
        if len(table) == 0 and rejects_path is not None:
            write_rejects([report], rejects_path)
        require_customers(report, f"{out} and {review} are unchanged", rejects_path)  # never empty links
        acc = _accounts_table(accounts)
    with step(f"linking {len(table):,} customers"):
        result = link_customers(table, acc, threshold=threshold, target_precision=target_precision,
                                review_floor=review_floor)
    # the links, their review queue and the rejects are one result: all are replaced, or none
    with FileGroup() as files:
        write_exports([(result.links, out, "links"), (result.review, review, "review")], salt=salt, files=files)
        if rejects_path is not None:
            write_rejects([report], rejects_path, files=files)
    summary = {"customers": len(table), "rejected_rows": report.n_rejected, **{k: v for k, v in result.info.items()
               if k in ("linked", "linked_by_method", "review_customers", "candidate_pairs", "model",
                        "prior_has_account")},
               "out": str(out), "review": str(review), "rejects": str(rejects_path) if rejects_path else None,
               "warnings": list(report.warnings), "seconds": timer.seconds()}
    human = (f"linked {summary['linked']:,} of {len(table):,} customers "
             f"({', '.join(f'{k}: {v:,}' for k, v in summary['linked_by_method'].items()) or 'none'}); "
             f"{summary['review_customers']:,} to review\nwrote {out} and {review}")
    if rejects_path is not None:
        human += f"\n{report.n_rejected:,} customer rows rejected -> {rejects_path}"
    human += "".join(f"\nnote: {w}" for w in report.warnings)
    emit(summary, as_json, human)


def segments_cmd(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    as_of: Optional[str] = AS_OF,
    config: Path = typer.Option(..., "--config", help="Segments TOML file (see examples/segments.toml)."),
    out: Path = typer.Option(..., "--out", help="Segments table (.csv or .parquet)."),
    since: Optional[str] = typer.Option(None, "--since", help="Also write who entered, left and stayed in each "
                                        "segment since this version (a number or a time, as --as-of)."),
    changes_out: Optional[Path] = typer.Option(None, "--changes-out", help="With --since: the changes table "
                                               "(default: OUT's name with .changes before the extension)."),
    links: Optional[Path] = typer.Option(None, "--links", help="Links table from `graphcrm link` (default: the "
                                         "links stored by `graphcrm load --customers`)."),
    customers: Optional[Path] = typer.Option(None, "--customers", help="Customers table (churn flags for at_risk; "
                                             "default: the customers stored by `graphcrm load --customers`)."),
    partition: Optional[Path] = typer.Option(None, "--partition", help="account_id,community table (per-community "
                                                                        "leaders, bridges; default: Leiden)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    pseudonymise: bool = typer.Option(False, "--pseudonymise", help="Pseudonymise account ids."),
    salt_file: Optional[Path] = typer.Option(None, "--salt-file", help="File holding the pseudonymisation salt."),
    topic: Optional[str] = TOPIC,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """CRM segments (leaders, advocates, critics, bridges, reachable-via, at-risk, engaged fans, lookalike) with
    reasons.

    Example: graphcrm segments graphs/trust --config examples/segments.toml --out segments.csv
    (nightly: add --since 3 for who entered, left and stayed since version 3)
    """
    from graphcrm.crm.export import write_exports
    from graphcrm.crm.segments import read_segments_config, segment_changes
    from graphcrm.loaders.errors import ParameterError

    if changes_out is not None and since is None:
        raise ParameterError("--changes-out goes with --since VERSION")
    timer = Timer()
    salt = _salt(pseudonymise, salt_file)
    seg_cfg = read_segments_config(config)
    if since is not None:           # checked before any work: an earlier version, named as --since
        earlier_version(snapshot, as_of, since, "to compare the segments with")
    options = {"links": links, "customers": customers, "partition": partition, "seed": seed, "topic": topic}
    from graphcrm.loaders.errors import LayerNotFoundError

    try:
        table = _segments_table(snapshot, as_of, seg_cfg, **options)
    except LayerNotFoundError as exc:
        raise LayerNotFoundError(f"{config}, {exc}") from None      # the segments file's layer = "..."
    items = [(table, out, "segments")]
    sizes = table.segment.value_counts()
    counts = {k: int(sizes.get(k, 0)) for k in sorted(c["name"] for c in seg_cfg)}     # an empty segment shows 0
    summary = {"snapshot": str(snapshot), "topic": topic, "segments": counts, "rows": len(table), "out": str(out)}
    human = f"wrote {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    skipped = {"current": dict(table.attrs.get("churned_not_in_graph", {}))}
    if since is not None:
        from graphcrm.loaders.snapshot import load_snapshot_tables

        current = load_snapshot_tables(snapshot_dir(snapshot, as_of))     # CRM tables the earlier version lacks
        earlier = _segments_table(snapshot, since, seg_cfg, fallback=current, option="--since", **options)
        skipped[f"version {since}"] = dict(earlier.attrs.get("churned_not_in_graph", {}))
        changes = segment_changes(earlier, table, since=f"version {since}")
        changes_out = changes_out or out.with_name(f"{out.stem}.changes{out.suffix}")
        items.append((changes, changes_out, "segment_changes"))
        moved = changes.groupby(["segment", "change"]).size().unstack(fill_value=0)
        summary["changes"] = {seg: {c: int(moved.loc[seg].get(c, 0)) for c in ("entered", "left", "stayed")}
                              for seg in moved.index}
        summary["changes_out"] = str(changes_out)
        human += f"\nsince version {since} -> {changes_out}: " + "; ".join(
            f"{seg} +{c['entered']} -{c['left']} ={c['stayed']}" for seg, c in summary["changes"].items())
    write_exports(items, salt=salt)
    summary["churned_not_in_graph"] = skipped["current"]
    if since is not None:
        summary["churned_not_in_graph_since"] = skipped[f"version {since}"]
    for version, per_segment in skipped.items():
        for name, n in per_segment.items():
            human += (f"\nnote: segment {name!r}: {n:,} churned customer(s) linked to an account not in the graph"
                      + ("" if version == "current" else f" ({version})") + " skipped")
    for name, topics in table.attrs.get("stance_of_all_messages", {}).items():
        summary.setdefault("notes", []).append(
            f"segment {name!r} is the tone of every message and rating of an account, whatever it is about; "
            f"the graph has topics ({', '.join(topics)}): --topic {topics[0]} gives the stance on that topic "
            "(or brand_accounts = [...] the stance towards those accounts)")
        human += f"\nnote: {summary['notes'][-1]}"
    summary["seconds"] = timer.seconds()
    emit(summary, as_json, human)


def _segments_table(snapshot: Path, as_of, seg_cfg: list, *, links, customers, partition, seed: int,
                    fallback: dict | None = None, topic: str | None = None, option: str = "--as-of"):
    """The segments of one version of ``snapshot`` (links / customers from the files given, else stored in that
    version, else in ``fallback``)."""
    import pandas as pd

    from graphcrm.crm.segments import build_segments
    from graphcrm.loaders.customers import read_customers
    from graphcrm.loaders.snapshot import load_snapshot_tables
    from graphcrm.crm.export import read_links
    from graphcrm.loaders.results import partition_match
    from graphcrm.tables import read_partition

    graph = open_snapshot(snapshot, as_of, topic, option=option)
    stored = {**(fallback or {}), **load_snapshot_tables(snapshot_dir(snapshot, as_of, option))}
    link_table = read_links(links, graph) if links else stored.get("links")
    cust = read_customers(customers)[0] if customers else stored.get("customers")
    parts = read_partition(partition) if partition else None
    if parts is not None:
        partition_match(parts, graph, partition)       # a partition of another graph: one error, not empty leaders
    if parts is None and any(c["kind"] == "bridges" or c.get("per_community") for c in seg_cfg):
        from graphcrm.algorithms.community import leiden

        with step("finding communities (leiden; pass --partition to use your own)"):
            lay = graph.resolve_layer().positive()
            frame = leiden(graph, layer=lay, seed=seed).to_frame()
            parts = pd.Series(frame.community.to_numpy(), index=frame.account_id.to_numpy())
    with step(f"building {len(seg_cfg)} segments"):
        return build_segments(graph, seg_cfg, links=link_table, customers=cust, partition=parts, seed=seed)


def economics_cmd(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    as_of: Optional[str] = AS_OF,
    influencer: List[str] = typer.Option([], "--influencer", help="Influencer account id (repeatable)."),
    influencers_file: Optional[Path] = typer.Option(None, "--influencers-file", help="One account id per line, or a "
                                                                                     "leader table with account_id."),
    out: Path = typer.Option(..., "--out", help="Economics table (.csv or .parquet)."),
    costs: Optional[Path] = typer.Option(None, "--costs", help="account_id,cost table."),
    overlap_out: Optional[Path] = typer.Option(None, "--overlap-out", help="Pairwise audience overlap table."),
    runs: int = typer.Option(2000, "--runs", help="Monte-Carlo runs per expected reach."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Audience, unique reach and overlap, engagement rate, expected reach and cost per expected reach.

    Example: graphcrm economics graphs/higgs --influencer 88 --influencer 14454 --out economics.csv
    """
    from graphcrm.loaders.errors import ParameterError
    from graphcrm.crm.economics import influencer_economics
    from graphcrm.crm.export import write_exports
    from graphcrm.tables import known_ids_from, read_costs

    if runs < 1:
        raise ParameterError(f"--runs must be at least 1, got {runs}")
    ids = list(influencer)
    if not ids and influencers_file is None:
        raise ParameterError("give influencers with --influencer ID (repeatable) or --influencers-file FILE")
    cost = read_costs(costs) if costs is not None else None
    graph = open_snapshot(snapshot, as_of)
    ids = graph.id_map.ids[graph.index_of(ids)].tolist() if ids else []        # as the graph's ids, to compare
    if influencers_file is not None:
        ids += known_ids_from(graph, influencers_file)
    ids = list(dict.fromkeys(ids))            # one influencer given twice (option and file) is priced once
    with step(f"pricing {len(ids)} influencers"):
        table, summary = influencer_economics(graph, ids, costs=cost, n_runs=runs, seed=seed)
    exports = [(table, out, "economics")]
    summary["out"] = str(out)
    if overlap_out is not None:
        from graphcrm.crm.economics import audience_overlap

        exports.append((audience_overlap(graph, ids), overlap_out, "overlap"))
        summary["overlap_out"] = str(overlap_out)
    write_exports(exports)      # both tables, or neither
    emit(summary, as_json, f"wrote {out}\n" + table.to_string(index=False) +
          f"\nunique reach {summary['unique_reach']:,} of {summary['total_audience']:,} audience; "
          f"expected reach of the set {summary['expected_reach']:,.1f}"
          + "".join(f"\nnote: {n}" for n in summary.get("notes", [])))


def run_pipeline_cmd(
    pipeline: Path = typer.Argument(..., help="Pipeline TOML file (see examples/pipeline.toml)."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", help="Override the file's pipeline.output_dir."),
    full: bool = typer.Option(False, "--full", help="Reload every source file even when an earlier run's snapshot "
                                                    "is in the output directory (default: append the new files)."),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
):
    """Run a declared batch job: load, link, scores, communities, segments, economics, exports (all or nothing).

    Example: graphcrm run examples/pipeline.toml --output-dir nightly   (a second run appends new source files)
    """
    from graphcrm.crm.pipeline import run_pipeline

    summary = run_pipeline(pipeline, output_dir=output_dir, full=full)
    load = summary.get("counts", {}).get("load", {})
    if load.get("mode") == "full" and "no longer configured" in str(load.get("reason", "")):
        # a nightly job listing only recent exports would drop its history every night without a word
        typer.echo(f"warning: {load['reason']}: the graph now holds only the configured files (list every "
                   "file the graph should hold; the earlier versions stay readable with --as-of)", err=True)
    lines = [f"pipeline {summary['pipeline']}: ok in {summary['total_seconds']:.1f} s"]
    lines += [f"  {k}: {v}s" for k, v in summary["seconds"].items()]
    lines += [f"  wrote {v}" for v in summary["outputs"].values()]
    lines += [f"note: {n}" for n in summary.get("counts", {}).get("segment_changes_notes", [])]
    emit(summary, as_json, "\n".join(lines))


def erase_cmd(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    account: Optional[str] = typer.Option(None, "--account", help="Account id of the person to erase."),
    customer: Optional[str] = typer.Option(None, "--customer", help="CRM customer id of the person to erase (with "
                                                                    "the accounts the links in --exports give them)."),
    exports: Optional[Path] = typer.Option(None, "--exports", help="Directory of exports to erase the person from."),
    salt_file: Optional[Path] = typer.Option(None, "--salt-file", help="Salt, to find pseudonymised rows too "
                                                                       "(default: $GRAPHCRM_PSEUDONYM_SALT if set; "
                                                                       "needed when the exports are "
                                                                       "pseudonymised)."),
    neo4j_uri: Optional[str] = typer.Option(None, "--neo4j-uri", help="Also erase the account from this Neo4j "
                                                                      "(password: $GRAPHCRM_NEO4J_PASSWORD)."),
    neo4j_user: str = typer.Option("neo4j", "--neo4j-user", help="Neo4j user."),
    neo4j_database: str = typer.Option("neo4j", "--neo4j-database", help="Neo4j database."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON report."),
):
    """Remove one person (an account, or a customer and their linked accounts) from a snapshot, the exports
    and Neo4j; report what was removed.

    Example: graphcrm erase graphs/crm --customer C000042 --exports nightly
    """
    import os

    from graphcrm.loaders.errors import ParameterError
    from graphcrm.crm.erase import erase_account, erase_customer
    from graphcrm.crm.export import SALT_ENV, load_salt

    if (account is None) == (customer is None):
        raise ParameterError("give the person to erase: --account ID or --customer ID (one of them)")
    if customer is not None and exports is None:
        from graphcrm.loaders.snapshot import read_manifest

        if "links" not in read_manifest(snapshot).get("tables", []):
            raise ParameterError("--customer needs --exports (the links there say which accounts are the "
                                 "customer's), or a snapshot loaded with --customers")
    salt = load_salt(salt_file) if (salt_file or os.environ.get(SALT_ENV)) else None

    def erase(stores):
        if customer is not None:
            return erase_customer(snapshot, customer, exports=exports, salt=salt, graph_stores=stores)
        return erase_account(snapshot, account, exports=exports, salt=salt, graph_stores=stores)

    if neo4j_uri is None:
        report = erase([])
    else:
        from graphcrm.cli.common import neo4j_store

        with neo4j_store(neo4j_uri, neo4j_user, neo4j_database) as store:   # connect first: fail before erasing anything
            report = erase([store.erase_account])
    accounts = report["accounts"] if customer is not None else [report]
    lines = [f"erased customer {customer} (linked accounts: {', '.join(report['linked_accounts']) or 'none'})"
             if customer is not None else f"erased account {account}"]
    for done in accounts:
        snap = done["snapshot"]
        lines.append(f"  snapshot {snap['path']}: account {done['account_id']}, "
                     + ", ".join(f"{v} {k} edges" for k, v in snap["edges_removed"].items())
                     if snap["nodes_removed"] else
                     f"  snapshot {snap['path']}: account {done['account_id']} no longer in it (erased before)")
        lines.append(f"  graph store: {done['graph_store']}")
    edited = report.get("exports_edited", {})
    for name, n in {**report.get("exports", {}), **report.get("rejects", {})}.items():
        lines.append(f"  {name}: {n} rows" if isinstance(n, int) else f"  {name}: {n}")
        if edited.get(name):
            lines[-1] += f" removed, {edited[name]} rows edited (the person cut from id lists / reasons)"
    for linked in report.get("linked_customers", []):
        lines.append(f"  the account was linked to CRM customer {linked}: the links are gone, the customer's own "
                     f"rows stay (if it is the same person: graphcrm erase SNAPSHOT --customer {linked})")
    emit(report, as_json, "\n".join(lines))


def churn_backtest_cmd(
    snapshot: Path = typer.Argument(..., help="Snapshot directory (interactions with sentiment)."),
    customers: Path = typer.Option(..., "--customers", help="Customers table with a churn_date column (CSV, CSV.gz "
                                   "or Parquet)."),
    as_of: str = typer.Option(..., "--as-of", help="Date exposure is measured at (events before it count); churn is "
                              "counted in the --horizon days after it."),
    links: Optional[Path] = typer.Option(None, "--links", help="Links table from `graphcrm link` (default: the "
                                         "links stored by `graphcrm load --customers`)."),
    horizon: float = typer.Option(30, "--horizon", help="Days after --as-of in which a churn counts."),
    top: float = typer.Option(0.1, "--top", help="Exposed group: this share of the customers, most exposed first "
                              "(exposure > 0 only)."),
    bins: int = typer.Option(5, "--bins", help="Equal-count exposure bins in the churn-rate table."),
    half_life: str = typer.Option("7D", "--half-life", help="Recency half-life of a negative message (7D, 36h)."),
    threshold: float = typer.Option(-0.05, "--threshold", help="A message is negative when its sentiment is below."),
    topic: Optional[str] = typer.Option(None, "--topic", help="Only negative messages of this topic (comma-separated:"
                                        " any of them)."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Influence ties (default: the graph's default layer)."),
    snapshot_as_of: Optional[str] = typer.Option(None, "--snapshot-as-of", help="Read an earlier version of the "
                                                 "snapshot (a version number or a time), e.g. the one current at "
                                                 "--as-of."),
    mode: str = typer.Option("strict", "--mode", help="strict: stop at the first bad customer row; lenient: "
                             "rejects file."),
    rejects: Optional[Path] = typer.Option(None, "--rejects", help="Rejects CSV (lenient; default: the customers "
                                           "file's name + .rejects.csv)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Per-customer table (exposure, group, churned; .csv or "
                                       ".parquet, schema churn_exposure)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the bootstrap interval."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Did negative messages from their influencers precede customers' churn?  Lift with a 95% interval.

    Example: graphcrm churn-backtest graphs/posts --customers crm.csv --links links.csv --as-of 2024-03-01 --json
    """
    from graphcrm.crm.exposure import exposure_backtest
    from graphcrm.loaders import write_rejects
    from graphcrm.loaders.customers import read_customers
    from graphcrm.loaders.errors import ParameterError
    from graphcrm.loaders.snapshot import load_snapshot_tables
    from graphcrm.crm.export import write_export
    from graphcrm.crm.export import read_links
    from graphcrm.tables import check_outputs

    timer = Timer()
    check_outputs({"--out": out})          # before any work
    graph = open_snapshot(snapshot, snapshot_as_of, option="--snapshot-as-of")
    with step(f"reading {customers.name}"):
        table, report = read_customers(customers, mode=mode)
    if links:
        link_table = read_links(links, graph)
    else:
        link_table = load_snapshot_tables(snapshot_dir(snapshot, snapshot_as_of, "--snapshot-as-of")).get("links")
        if link_table is None:
            raise ParameterError("no --links given and the snapshot stores no links; run `graphcrm link` first")
    topics = topic.split(",") if topic and "," in topic else topic
    with step("measuring exposure and churn"):
        result = exposure_backtest(graph, table, link_table, as_of=as_of, horizon_days=horizon, top=top, bins=bins,
                                   half_life=half_life, topic=topics, threshold=threshold, layer=layer, seed=seed)
    rejects_path = None
    if mode == "lenient":
        rejects_path = write_rejects([report], rejects or customers.with_name(customers.name + ".rejects.csv"))
    if out is not None:
        frame = result.customers.assign(churn_date=result.customers.churn_date.dt.strftime("%Y-%m-%dT%H:%M:%S"))
        write_export(frame, out, "churn_exposure")      # atomic, spreadsheet-safe, with out.schema.json
    s = result.summary
    summary = {"snapshot": str(snapshot), **s, "rejected_rows": report.n_rejected,
               "rejects": str(rejects_path) if rejects_path else None,
               "bins": result.bins.round(6).to_dict(orient="records"), "out": str(out) if out else None,
               "seconds": timer.seconds()}

    def fmt(x, digits=2):
        return "n/a" if x is None else f"{x:.{digits}f}"

    lo, hi = s["lift_ci95"]
    human = (f"{s['customers']:,} customers at {s['as_of']} ({s['churned_before_as_of']:,} churned before, left out); "
             f"{s['churned_in_horizon']:,} churned within {s['horizon_days']:g} days: base rate {fmt(s['base_rate'], 3)}\n"
             f"most exposed {s['exposed_customers']:,} ({s['exposed_group']}): churn rate {fmt(s['exposed_rate'], 3)}, "
             f"lift {fmt(s['lift'])} (95% interval {fmt(lo)}-{fmt(hi)}), risk ratio vs the others "
             f"{fmt(s['risk_ratio'])}, permutation p = {s['p_value']:.4g}\n" +
             result.bins.to_string(index=False))
    emit(summary, as_json, human)
