"""Shared fixtures: the real datasets in ../shared/datasets (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("GRAPHCRM_DATASETS", REPO.parent / "shared" / "datasets"))


def pytest_sessionstart(session):
    """Write graphcrm's bytecode once, as an install or a first run does: the CLI subprocesses the tests start
    then skip compiling ~60 modules each (a machine with PYTHONDONTWRITEBYTECODE never writes it itself)."""
    import compileall

    for folder in ("graphcrm", "loaders", "algorithms"):
        compileall.compile_dir(str(REPO / folder), quiet=1)


def dataset(rel: str) -> Path:
    path = DATASETS / rel
    if not path.exists():
        pytest.fail(f"dataset {path} is missing: the tests read ../shared/datasets beside the repo "
                    "(or set GRAPHCRM_DATASETS)")
    return path


@pytest.fixture(scope="session")
def higgs_activity() -> Path:
    return dataset("higgs-twitter/higgs-activity_time.txt.gz")


@pytest.fixture(scope="session")
def higgs_graph(higgs_activity):
    from graphcrm.loaders import load_interactions

    return load_interactions(higgs_activity, self_loops="keep")


@pytest.fixture(scope="session")
def wiki_vote() -> Path:
    return dataset("wiki-Vote/wiki-Vote.txt.gz")


@pytest.fixture(scope="session")
def wiki_graph(wiki_vote):
    from graphcrm.loaders import load_edges

    return load_edges(wiki_vote, layer="votes")


# -- a local Bolt server (ArcadeDB) for the Neo4j store tests -----------------------------
BOLT_PASSWORD = "graphcrm-test-password"


@pytest.fixture(scope="session")
def bolt_server(tmp_path_factory):
    """One ArcadeDB Bolt server per test process (each xdist worker its own, on a free port)."""
    from graphcrm.loaders.bolt_server import start_server

    server = start_server(tmp_path_factory.mktemp("bolt"), BOLT_PASSWORD)
    yield server
    server.stop()


def open_store(server, **kwargs):
    from graphcrm.loaders.neo4j_store import Neo4jStore

    kwargs.setdefault("retry_time", 2.0)
    kwargs.setdefault("retries", 1)
    kwargs.setdefault("retry_wait", 0.2)
    return Neo4jStore(server.uri, server.user, server.password, server.database, **kwargs)


@pytest.fixture
def neo4j_store(bolt_server):
    """A store on the session's server, emptied before the test."""
    store = open_store(bolt_server)
    store._driver.execute_query("MATCH (n) DETACH DELETE n", database_=store.database)
    yield store
    store.close()
