"""``graphcrm rank`` and ``graphcrm communities``: influence scores, leader lists, communities."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from graphcrm.cli.common import (AS_OF, TOPIC, Timer, earlier_version, emit, open_snapshot, registry_parser,
                                 snapshot_dir, stored_forecast)
from graphcrm.progress import step


def register(app: typer.Typer) -> None:
    app.command()(rank)
    app.command()(communities)


def _rank_methods() -> tuple[str, ...]:
    from graphcrm.ranking import method_names

    return method_names()


def _list_methods(value: bool) -> None:
    if not value:
        return
    from graphcrm.algorithms.registry import rank_measures
    from graphcrm.ranking import LEADER_METHODS

    lines = [f"{name:<12} leader list" for name in LEADER_METHODS]
    lines += [f"{m.name:<12} {m.description}" for m in rank_measures().values()]
    typer.echo("\n".join(lines))
    raise typer.Exit()


def rank(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    as_of: Optional[str] = AS_OF,
    out: Path = typer.Option(..., "--out", help="Output table (.csv or .parquet)."),
    method: str = typer.Option("auto", "--method", parser=registry_parser(_rank_methods, "--method"),
                               metavar="METHOD",
                               help="auto = leader list by the validated forecast when the snapshot has a "
                                    "timestamped interaction log, else combined; forecast; combined = "
                                    "structural leader list with reasons; or one measure (--methods lists them)."),
    methods: bool = typer.Option(False, "--methods", is_eager=True, callback=_list_methods,
                                 help="List every --method with a line on what it measures, and exit."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Layer to rank on (default: combined interaction "
                                                              "strength, else follows)."),
    top: int = typer.Option(50, "--top", help="Rows (per community with --partition)."),
    partition: Optional[Path] = typer.Option(None, "--partition", help="CSV/Parquet account_id,community: "
                                                                        "leaders per community."),
    model: str = typer.Option("wc", "--prob", help="Edge probabilities for reach: wc | const:P | trivalency | weight (the file's own)."),
    samples: int = typer.Option(100_000, "--samples", help="Reverse-reachable samples for expected reach."),
    horizon: Optional[str] = typer.Option(None, "--horizon", help="Forecast horizon of the leader list, like 3d or "
                                                                  "12h (default: 7 days, at most a third of the log)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same output)."),
    topic: Optional[str] = TOPIC,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Influence scores and an opinion-leader list, with the reasons for each rank.

    Example: graphcrm rank graphs/higgs --out leaders.csv   (by the validated forecast; says which scorer won)
    """
    from graphcrm.backtest import parse_horizon
    from graphcrm.loaders.errors import ParameterError
    from graphcrm.ranking import rank_table
    from graphcrm.loaders.results import partition_match
    from graphcrm.tables import check_table_path, partition_note, read_partition, write_table

    timer = Timer()
    if samples < 1:
        raise ParameterError(f"--samples must be >= 1, got {samples}")
    check_table_path(out)                      # before the ranking runs
    parts = read_partition(partition) if partition else None
    graph = open_snapshot(snapshot, as_of, topic)
    match = partition_match(parts, graph, partition) if parts is not None else None
    seconds = parse_horizon(horizon) if horizon is not None else None
    stored = None
    if method in ("auto", "forecast") and topic is None:     # a stored model was fitted on every topic
        stored = stored_forecast(snapshot_dir(snapshot, as_of), graph, layer, seconds)
    with step(f"ranking by {method}"):
        table = rank_table(graph, method=method, layer=layer, top=top, partition=parts, model=model,
                           samples=samples, seed=seed, horizon=seconds, forecast_model=stored)
    ranking = table.attrs.pop("ranking", {})
    tie = table.attrs.pop("tie_at_cut", None)
    if topic is not None:
        from graphcrm.topics import topic_why

        with step(f"topic shares and sentiment ({topic})"):
            table = topic_why(open_snapshot(snapshot, as_of), table, topic.split(","))
    write_table(table, out)
    summary = {"snapshot": str(snapshot), "method": method, "topic": topic, "rows": len(table), "out": str(out),
               "ranking": ranking, "partition_match": match, "top": table.head(10).to_dict("records"),
               "seconds": timer.seconds()}
    head = f"wrote {out}: {len(table)} rows"
    note = partition_note(match, partition, "--partition") if match is not None else None
    if note:
        head += "\n" + note
    if ranking:
        head += f"\nleader score: {ranking['scorer']}" + (f" on {ranking['layer']}" if "layer" in ranking else "")
        head += f" ({ranking['scorer_reason']})"
    by_engagement = "layer" in ranking            # the forecast family ranks the engagement of an event layer
    ranked_on = graph.layer(ranking["layer"]) if by_engagement else graph.resolve_layer(layer)
    left_out = _ties_left_out(ranked_on)
    if left_out["negative"]:
        summary["negative_ties_ignored"] = left_out["negative"]
        stance = " (the stance column weighs both)" if "stance" in table else ""
        what = ("only positive ratings count as engagement" if by_engagement
                else "influence flows along positive ties")
        head += (f"\nnote: {ranked_on.name}: {left_out['negative']:,} negative ties left out of the scores: "
                 f"{what}{stance}")
    if tie is not None:
        summary["tie_at_cut"] = tie
        head += (f"\nnote: {tie['tied']:,} accounts tie at {tie['measure']} {tie['value']:g} (rank {tie['rank']:,}); "
                 f"the top {top:,} lists {tie['listed']:,} of them, in account-id order -- no measure tells them "
                 f"apart (--top {tie['rank'] - 1 + tie['tied']:,} lists the whole tie)")
    shown = table.drop(columns=[c for c in ("why",) if c in table]).head(10)
    emit(summary, as_json, head + "\n" + shown.to_string(index=False))


class CommunityMethod(str, Enum):
    leiden = "leiden"
    louvain = "louvain"


def _ties_left_out(lay) -> dict:
    """Ties of a signed layer that the positive-tie version leaves out: ``negative`` and ``zero`` weight."""
    if not lay.weighted:
        return {"negative": 0, "zero": 0}
    w = lay.edge_arrays()[2]
    return {"negative": int((w < 0).sum()), "zero": int((w == 0).sum())}


def quality_text(part) -> str:
    """How good a partition is, each figure under its own name: the modularity (resolution 1, Newman's Q) and,
    when the run optimised something else (CPM, another resolution), that objective's own value.

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> quality_text(P(quality=0.41, info={"objective": "modularity", "resolution": 1.0, "modularity": 0.41}))
    'modularity 0.4100'
    >>> quality_text(P(quality=0.487, info={"objective": "cpm", "resolution": 0.05, "modularity": 0.2853}))
    'modularity 0.2853 (resolution 1); objective cpm 0.4870 at resolution 0.05'
    """
    info = part.info
    objective, resolution = info.get("objective", "modularity"), info.get("resolution", 1.0)
    newman = info.get("modularity", part.quality)
    text = f"{'directed ' if info.get('directed') else ''}modularity {newman:.4f}"
    if (objective, resolution) != ("modularity", 1.0):
        text += f" (resolution 1); objective {objective} {part.quality:.4f} at resolution {resolution:g}"
    return text


def _check_combination(method: CommunityMethod, objective: str, directed: bool, engine: str, runs: int) -> None:
    """Refuse options that would not apply (a usage error naming them) rather than ignore them."""
    from graphcrm.loaders.errors import ParameterError

    if runs < 1:
        raise ParameterError(f"--runs must be >= 1, got {runs}")
    if method is CommunityMethod.louvain:
        extra = [flag for flag, given in (("--runs", runs > 1), ("--directed", directed),
                                          ("--objective", objective != "modularity"), ("--engine", engine != "auto"))
                 if given]
        if extra:
            raise ParameterError(f"{' and '.join(extra)} appl{'ies' if len(extra) == 1 else 'y'} to --method leiden only (Louvain here is igraph's "
                                 f"undirected modularity, one run): drop {' and '.join(extra)} or use --method leiden")
    if engine == "numba" and (directed or objective != "modularity"):
        raise ParameterError("--engine numba covers undirected modularity only: use --engine igraph (or auto) with "
                             + ("--directed" if directed else f"--objective {objective}"))


def communities(
    snapshot: Path = typer.Argument(..., help="Snapshot directory."),
    as_of: Optional[str] = AS_OF,
    out: Path = typer.Option(..., "--out", help="Partition table account_id,community (.csv or .parquet)."),
    profiles: Optional[Path] = typer.Option(None, "--profiles", help="Community profiles table (.csv or .parquet)."),
    method: CommunityMethod = typer.Option(CommunityMethod.leiden, "--method", help="leiden or louvain (igraph's undirected "
                                                                                  "modularity, one run: --objective, --directed, --engine and "
                                                                                  "--runs are Leiden's)."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Layer (default: combined interaction strength, "
                                                              "else follows). A signed layer (trust) counts its "
                                                              "positive ties only: the negative ones are left out "
                                                              "(a note says how many; supporter / critic camps: "
                                                              "signed_communities in Python)."),
    objective: str = typer.Option("modularity", "--objective", help="Leiden objective: modularity or cpm."),
    resolution: float = typer.Option(1.0, "--resolution", help="Resolution parameter."),
    directed: bool = typer.Option(False, "--directed", help="Directed modularity (Leiden via leidenalg)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same partition)."),
    engine: str = typer.Option("auto", "--engine", help="Leiden implementation: auto (numba above a million "
                                                        "ties, else igraph), igraph or numba."),
    runs: int = typer.Option(1, "--runs", help="Consensus over this many seeds (Leiden, with --objective, "
                                               "--directed and --engine applied to every run); adds each "
                                               "account's membership confidence."),
    since: Optional[str] = typer.Option(None, "--since", help="Warm-start Leiden from the communities of this "
                                        "earlier version (a number or a time, as --as-of) and keep their ids "
                                        "where a community continues, for tracking."),
    previous: Optional[Path] = typer.Option(None, "--previous", help="Warm-start from, and keep the ids of, a "
                                            "partition written before (account_id,community; e.g. last night's "
                                            "--out), so ids stay the same night after night."),
    topic: Optional[str] = TOPIC,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """Community partition and a profile per community (size, density, conductance, leaders, bridges).

    Example: graphcrm communities graphs/higgs --out communities.csv --profiles profiles.csv --seed 1
    (nightly: --since 3 starts from version 3's communities and keeps their ids)
    """
    from graphcrm.algorithms.community import community_profiles, consensus, leiden, louvain
    from graphcrm.tables import write_table

    from graphcrm.algorithms.community import LEIDEN_METHODS
    from graphcrm.algorithms.leiden_parallel import check_resolution
    from graphcrm.loaders.errors import ParameterError

    if engine not in LEIDEN_METHODS:
        raise ParameterError(f"--engine must be one of {', '.join(LEIDEN_METHODS)}, got {engine!r}")
    resolution = check_resolution(resolution, "--resolution")
    _check_combination(method, objective, directed, engine, runs)
    from graphcrm.tables import check_table_path

    for path in (out, profiles):               # every output checked before any work or any file is written
        if path is not None:
            check_table_path(path)
    if profiles is not None and Path(profiles).resolve() == Path(out).resolve():
        raise ParameterError(f"--out and --profiles name the same file ({out}): give two files")
    timer = Timer()
    warm = since is not None or previous is not None
    if since is not None and previous is not None:
        raise ParameterError("give --since VERSION or --previous FILE, not both")
    if warm and (runs > 1 or method is not CommunityMethod.leiden or directed or engine == "numba"):
        raise ParameterError("--since / --previous warm-start undirected Leiden (igraph): drop --runs, --directed, "
                             "--engine numba and --method louvain")
    earlier = match = None
    if since is not None:
        since_version = earlier_version(snapshot, as_of, since, "to warm-start from")
    if previous is not None:
        from graphcrm.tables import read_previous_partition

        earlier = read_previous_partition(previous)
    graph = open_snapshot(snapshot, as_of, topic)
    full = graph.resolve_layer(layer)
    lay = full.positive()                         # as the report: positive ties
    left_out = _ties_left_out(full)
    if previous is not None:
        from graphcrm.loaders.results import partition_match

        match = partition_match(earlier, graph, previous)
    if since is not None:
        from graphcrm.loaders.errors import LayerNotFoundError

        earlier_graph = open_snapshot(snapshot, since, topic, option="--since")
        try:
            earlier_layer = earlier_graph.resolve_layer(layer).positive()
        except LayerNotFoundError:
            raise LayerNotFoundError(
                f"--since {since}: version {since_version} of {snapshot} has no layer {layer!r} yet (its layers: "
                f"{', '.join(earlier_graph.layer_names) or 'none'}); give a later --since") from None
        with step(f"communities of version {since}"):
            earlier = leiden(earlier_graph, layer=earlier_layer, objective=objective, resolution=resolution,
                             seed=seed, method="igraph")
    with step(f"finding communities ({method})"):
        if earlier is not None:
            part = leiden(graph, layer=lay, objective=objective, resolution=resolution, seed=seed, initial=earlier)
        elif runs > 1:
            part = consensus(graph, layer=lay, n_runs=runs, seed=seed, objective=objective, resolution=resolution,
                             directed=directed, method=engine)
        elif method is CommunityMethod.leiden:
            part = leiden(graph, layer=lay, objective=objective, resolution=resolution, directed=directed, seed=seed,
                          method=engine)
        else:
            part = louvain(graph, layer=lay, resolution=resolution, seed=seed)
    table = part.to_frame()
    tracking = None
    if earlier is not None:
        from graphcrm.algorithms.community import stable_labels

        labels, tracking = stable_labels(earlier, part)
        table["community"] = labels
        tracking = {"since": since if since is not None else str(previous), **tracking,
                    **({"quality_since": earlier.quality} if since is not None else {}),
                    **({"previous_match": match} if match is not None else {})}
    if "confidence" in part.info:
        table["confidence"] = part.info["confidence"]
    write_table(table, out)
    prof = community_profiles(graph, part, layer=lay)
    if earlier is not None:                  # profiles name the communities by the same stable ids
        stable = dict(zip(part.membership.tolist(), table["community"].tolist()))
        prof["community"] = prof["community"].map(stable)
    if profiles is not None:
        write_table(prof, profiles)
    summary = {"snapshot": str(snapshot), "topic": topic, "method": part.info["method"],
               "implementation": part.info.get("implementation"), "directed": part.info.get("directed", False),
               "communities": part.n_communities,
               "objective": part.info.get("objective", "modularity"), "resolution": part.info.get("resolution"),
               "quality": part.quality, "modularity": part.info.get("modularity"),
               "mean_confidence": part.info.get("mean_confidence"),
               "largest": prof.head(5).to_dict("records"), "out": str(out),
               "profiles": str(profiles) if profiles else None, "tracking": tracking,
               "negative_ties_ignored": left_out["negative"], "seconds": timer.seconds()}
    human = (f"wrote {out}: {part.n_communities} communities, {quality_text(part)}\n"
             + prof.head(10).to_string(index=False))
    if left_out["negative"] or left_out["zero"]:
        zero = f" and {left_out['zero']:,} of weight 0" if left_out["zero"] else ""
        human += (f"\nnote: {full.name}: {left_out['negative']:,} negative ties{zero} left out (communities of the "
                  f"positive ties; supporter / critic camps: signed_communities(graph, layer={full.name!r}) in Python)")
    if match is not None:
        from graphcrm.tables import partition_note

        note = partition_note(match, previous, "--previous")
        human += f"\n{note}" if note else ""
    if tracking is not None:
        human += (f"\nsince {tracking['since']}: {tracking['kept_share']:.1%} of the accounts in both kept "
                  f"their community id ({tracking['matched']} communities continue, {tracking['new']} new)")
    emit(summary, as_json, human)
