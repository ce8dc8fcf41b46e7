"""Architecture contract (imports point down) and the docstring examples."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import shutil
import subprocess

import pytest

import graphcrm
from tests.conftest import REPO


def test_import_contracts_hold():
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is a test dependency: pip install -e '.[test]'"
    proc = subprocess.run([exe], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout


def _modules():
    yield graphcrm.__name__
    for pkg in ("graphcrm", "graphcrm.loaders", "graphcrm.algorithms"):
        module = importlib.import_module(pkg)
        for info in pkgutil.iter_modules(module.__path__, pkg + "."):
            if info.name.endswith(".__main__"):
                continue
            yield info.name
            if info.ispkg and info.name not in ("graphcrm.loaders", "graphcrm.algorithms"):
                sub = importlib.import_module(info.name)
                yield from (i.name for i in pkgutil.iter_modules(sub.__path__, info.name + ".")
                            if not i.name.endswith(".__main__"))


@pytest.mark.parametrize("name", sorted(_modules()))
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_benchmark_scripts_compile():
    """Benchmarks are not run in CI, but they must at least parse."""
    import py_compile

    for script in sorted((REPO / "benchmarks").glob("*.py")):
        py_compile.compile(str(script), doraise=True)


def test_no_unused_imports_or_undefined_names():
    """pyflakes rules (ruff F): unused imports, undefined names, unused variables."""
    exe = shutil.which("ruff")
    assert exe, "ruff is a test dependency: pip install -e '.[test]'"
    proc = subprocess.run([exe, "check", "graphcrm", "loaders", "algorithms", "tests", "benchmarks"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
