"""The benchmark scripts import helpers from each other (``from bench_load import paired_ratios``); a helper
renamed in one script broke two others (bench_centrality, bench_communities) without any test noticing.

Checked statically (no benchmark runs, no optional peer library needed): every name a benchmark imports from
another benchmark module is defined at the top level of that module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(BENCH.glob("bench_*.py"))


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_names_imported_from_other_benchmarks_exist(script):
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bench_"):
            source = BENCH / f"{node.module}.py"
            assert source.exists(), f"{script.name} imports {node.module}, which is not in benchmarks/"
            missing = {a.name for a in node.names} - _top_level_names(source)
            assert not missing, f"{script.name} imports {sorted(missing)} from {node.module}, which defines none"
