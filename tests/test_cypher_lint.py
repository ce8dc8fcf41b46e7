"""Every Cypher statement graphcrm sends parses with Neo4j's own parser (npm @neo4j-cypher/language-support).

The npm package is installed on first use with the machine's ``npm`` into
``tests/.cypher-lint/`` (git-ignored) and reused afterwards.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess

import pytest

from graphcrm.loaders import neo4j_cypher as cy
from tests.conftest import REPO

PACKAGE = "@neo4j-cypher/language-support"
VERSION = "2.0.0-next.38"
LINT_DIR = REPO / "tests" / ".cypher-lint"
SCRIPT = REPO / "tests" / "cypher_lint.cjs"

#: a plausible value for every parameter the statements use
PARAMETERS = {
    "rows": [{"id": 1, "props": {"name": "x"}, "src": 1, "dst": 2, "count": 1, "first_time": 0, "last_time": 1,
              "weight": 1.0, "sign": None}],
    "rels": [[1, 2, 1, 0, 1, 1.0, None]],
    "id": 1, "ids": [1], "keep": [1], "start": None, "end": None,
}


def _installed_version():
    manifest = LINT_DIR / "node_modules" / PACKAGE / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


@pytest.fixture(scope="module")
def cypher_linter():
    """Install the linter once (cached in tests/.cypher-lint/), under a file lock for parallel workers."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if not (npm and node):
        pytest.fail("the Cypher lint test needs node and npm on PATH (it installs "
                    f"{PACKAGE}@{VERSION} into {LINT_DIR})")
    LINT_DIR.mkdir(exist_ok=True)
    with open(LINT_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed_version() != VERSION:
            proc = subprocess.run([npm, "install", "--prefix", str(LINT_DIR), "--no-audit", "--no-fund",
                                   "--loglevel=error", f"{PACKAGE}@{VERSION}"],
                                  capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, f"npm install {PACKAGE} failed:\n{proc.stdout}\n{proc.stderr}"

    def lint(statements: dict[str, str], schema: dict) -> dict:
        env = dict(os.environ, NODE_PATH=str(LINT_DIR / "node_modules"))
        proc = subprocess.run([node, str(SCRIPT)], input=json.dumps({"statements": statements, "schema": schema}),
                              capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return lint


def _schema():
    return {"labels": [cy.ACCOUNT, *cy.LABELS], "relationshipTypes": list(cy.REL_TYPES.values()),
            "propertyKeys": ["id", "props", "src", "dst", *cy.REL_PROPERTIES, "score_pagerank", "community", "segment"],
            "parameters": PARAMETERS}


def test_every_statement_parses_with_neo4j_parser(cypher_linter):
    statements = cy.all_statements()
    used = {p for s in statements.values() for p in re.findall(r"\$([A-Za-z_]\w*)", s)}
    assert used <= set(PARAMETERS), f"give the lint test a value for {used - set(PARAMETERS)}"
    diagnostics = cypher_linter(statements, _schema())
    # errors (1) and warnings (2: e.g. a label, type or property the schema does not have) both fail
    errors = {k: [d["message"] for d in v if d["severity"] <= 2] for k, v in diagnostics.items()}
    errors = {k: v for k, v in errors.items() if v}
    assert not errors, json.dumps(errors, indent=2)
    assert set(diagnostics) == set(statements)


def test_linter_catches_a_broken_statement(cypher_linter):
    """The check has teeth: a statement with a syntax error is reported."""
    out = cypher_linter({"broken": "MATCH (a:Account {id: $id) RETURN a"}, _schema())
    assert any(d["severity"] == 1 for d in out["broken"])
