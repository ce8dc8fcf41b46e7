"""The registries that make graphcrm extensible, and the import rule of the three floors.

A new kernel module, rank measure, diffusion model or file format is found from one place; these tests
hold the places to their promise: every compiled kernel is warmed, every rank measure reaches the CLI and
the README, every diffusion model runs through the one dispatch, and no module imports one that imports it
back.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys

import grimp
import numba
import pytest
from numba.core.registry import CPUDispatcher

from graphcrm.algorithms.diffusion import CASCADE_MODELS, MODELS, simulate_model
from graphcrm.algorithms.registry import rank_measures
from graphcrm.loaders.builder import GraphBuilder
from graphcrm.ranking import LEADER_METHODS, method_names, rank_table
from graphcrm.warmup import KERNEL_PACKAGES, kernel_modules, warmup
from tests.conftest import REPO


def _floor_modules():
    for package in KERNEL_PACKAGES:
        pkg = importlib.import_module(package)
        for info in pkgutil.iter_modules(pkg.__path__, package + "."):
            yield importlib.import_module(info.name)


def _kernels():
    for module in _floor_modules():
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.py_func.__module__ == module.__name__:
                yield module.__name__, name, value


def test_every_kernel_lives_in_a_discovered_module_and_is_warmed():
    kernels = list(_kernels())
    assert len(kernels) > 40                      # the project has dozens of kernels: the walk found them
    discovered = set(kernel_modules())
    outside = sorted(f"{m}.{n}" for m, n, _ in kernels if m not in discovered)
    assert not outside, f"kernels in modules without _warmup(): {outside}"
    timings = warmup()
    assert set(timings) == discovered
    warm = {(m, n) for m, n, d in kernels if d.signatures}
    assert len(warm) > 20
    # a helper kernel called only from other kernels is compiled inside them (numba keeps no signature of
    # its own for it): it counts as warmed when a warmed kernel calls it, directly or through other helpers
    source = {(m, n): inspect.getsource(d.py_func) for m, n, d in kernels}
    grown = True
    while grown:
        callers = "\n".join(source[k] for k in warm)
        called = {(m, n) for m, n, _ in kernels if (m, n) not in warm and re.search(rf"\b{n}\(", callers)}
        warm |= called
        grown = bool(called)
    cold = sorted(f"{m}.{n}" for m, n, _ in kernels if (m, n) not in warm)
    assert not cold, f"kernels warmup() does not compile: {cold}"


def test_rank_measures_reach_the_cli_the_ranking_and_the_readme():
    measures = rank_measures()
    assert {"pagerank", "hits", "coreness", "degree", "voterank", "reach", "betweenness"} <= set(measures)
    assert method_names() == LEADER_METHODS + tuple(measures)
    listed = subprocess.run([sys.executable, "-m", "graphcrm.cli", "rank", "--methods"], capture_output=True,
                            text=True, check=True).stdout
    for name, measure in measures.items():
        assert f"{name:<12} {measure.description}" in listed
    # the README's table may lag a new measure (``rank --methods`` is the live list) but never names a gone one
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| `--method` | measures |"):]
    table = table[:table.index("\n\n")]
    named = re.findall(r"^\| `(\w+)` \|", table, flags=re.M)
    assert len(named) >= 7 and set(named) <= set(measures), named


@pytest.mark.parametrize("name", sorted(rank_measures()))
def test_every_rank_measure_ranks_a_small_graph(name):
    g = GraphBuilder().add_edges("follows", ["a", "b", "c", "c"], ["hub", "hub", "hub", "a"]).build()
    table = rank_table(g, method=name, layer="follows", top=3, samples=2_000)
    assert 1 <= len(table) <= 3
    assert "account_id" in table.columns
    assert table.account_id.is_unique


def test_an_unknown_rank_method_is_a_usage_error_listing_the_choices(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "graphcrm.cli", "rank", str(tmp_path), "--out", "x.csv",
                           "--method", "no-such"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "pagerank" in proc.stderr and "betweenness" in proc.stderr


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_diffusion_model_runs_through_the_one_dispatch(model):
    chain = GraphBuilder().add_edges("x", [1, 2, 3], [2, 3, 4]).build()      # 1 -> 2 -> 3 -> 4
    negative = [4] if MODELS[model].family == "competitive" else []
    est = simulate_model(chain, [1], model=model, layer="x", negative=negative, prob="const:1", recovery=1.0,
                         n_runs=20, seed=3)
    if MODELS[model].family == "competitive":
        assert est.positive[0] == 3.0             # advocates take 1, 2, 3; the negative seed keeps 4
    else:
        assert est.mean == 4.0                    # probability 1: the whole chain
    assert set(CASCADE_MODELS) == {"ic", "lt"}


def test_no_import_circles():
    """No module imports one that imports it back, directly or through others (function-level imports too)."""
    graph = grimp.build_graph("graphcrm")
    circles = []
    for importer in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(importer):
            if imported != importer and graph.chain_exists(importer=imported, imported=importer):
                circles.append(f"{importer} -> {imported}")
    assert not circles, "import circles: " + "; ".join(circles)


def test_kernel_threads_are_the_process_budget():
    assert numba.get_num_threads() >= 1


def test_public_names_are_the_functions_not_same_named_modules():
    """A lazily exported name must not be shadowed by a submodule of the same name once that is imported."""
    import graphcrm.algorithms as algorithms
    import graphcrm.loaders as loaders

    rank_measures()                                   # imports every public module of graphcrm.algorithms
    for package in (algorithms, loaders):
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
        for name in package.__all__:
            assert not inspect.ismodule(getattr(package, name)), f"{package.__name__}.{name} is a module"


def test_a_new_measure_is_one_decorated_wrapper_away_from_rank(monkeypatch):
    """What the README promises: decorate a wrapper and ``rank`` (and its CLI choices) can use it."""
    import numpy as np

    from graphcrm.algorithms import registry
    from graphcrm.loaders.results import NodeScores

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @registry.rank_measure("audience_weight", "weighted out-degree", options=("seed",))
    def audience_weight(graph, *, layer=None, seed=0):
        lay = graph.resolve_layer(layer)
        return NodeScores("audience_weight", np.asarray(lay.out_strength(), float), graph.id_map, {"seed": seed})

    # a, b follow hub; c follows a: influence runs hub -> a, hub -> b, a -> c
    g = GraphBuilder().add_edges("follows", ["a", "b", "c"], ["hub", "hub", "a"]).build()
    assert "audience_weight" in method_names()
    table = rank_table(g, method="audience_weight", layer="follows", top=2)
    assert table.account_id.tolist() == ["hub", "a"]


def test_the_cli_starts_without_pandas_numpy_or_numba():
    """Verb modules keep heavy imports inside the verbs, so ``graphcrm --help`` and usage errors start fast."""
    code = ("import sys, graphcrm.cli; "
            "print(sorted(m for m in ('pandas', 'numpy', 'numba', 'pyarrow', 'igraph') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_info_opens_a_snapshot_without_numba(tmp_path):
    """``graphcrm info`` reads a snapshot without compiling or loading numba (issue 24: a fast start, RSS)."""
    from graphcrm.loaders.snapshot import save_snapshot

    save_snapshot(GraphBuilder().add_edges("follows", ["a", "b", "c"], ["hub", "hub", "a"]).build(), tmp_path / "s")
    code = ("import sys\nfrom graphcrm.cli import main\ntry:\n"
            f"    main(['info', {str(tmp_path / 's')!r}, '--json'])\n"
            "finally:\n    print('numba' in sys.modules, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "False"


def test_info_on_an_int_id_snapshot_needs_no_pandas_or_pyarrow(tmp_path):
    """Integer ids, no attributes, no events: ``info`` opens the snapshot from .npy files alone (issue 24: start-up)."""
    from graphcrm.loaders.snapshot import save_snapshot

    save_snapshot(GraphBuilder().add_edges("follows", [1, 2, 3], [9, 9, 1]).build(), tmp_path / "s")
    code = ("import sys\nfrom graphcrm.cli import main\ntry:\n"
            f"    main(['info', {str(tmp_path / 's')!r}])\n"
            "finally:\n    print(sorted(m for m in ('pandas', 'pyarrow', 'numba', 'scipy') if m in sys.modules), "
            "file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "nodes: 4 (ids: int)" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_python_dash_m_graphcrm_is_the_cli():
    proc = subprocess.run([sys.executable, "-m", "graphcrm", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "Usage: graphcrm" in proc.stdout, proc.stderr


def test_no_help_text_has_a_bracket_rich_would_take_for_markup():
    """Typer renders help with Rich, which drops ``[topics]`` as a markup tag: such brackets must be escaped."""
    import re

    import typer

    from graphcrm.cli import app

    tag = re.compile(r"(?<!\\)\[[a-zA-Z/#@][^\]\[]*\]")

    def texts(command, path):
        yield path, command.help or ""
        for param in getattr(command, "params", []):
            yield f"{path} --{param.name}", getattr(param, "help", None) or ""
        for name, sub in getattr(command, "commands", {}).items():
            yield from texts(sub, f"{path} {name}")

    found = [(where, tag.findall(text)) for where, text in texts(typer.main.get_command(app), "graphcrm")]
    assert [(where, tags) for where, tags in found if tags] == []
