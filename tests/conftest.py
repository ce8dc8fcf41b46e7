"""Shared fixtures: the real datasets in ../shared/datasets (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("GRAPHCRM_DATASETS", REPO.parent / "shared" / "datasets"))


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
    from loaders import load_interactions

    return load_interactions(higgs_activity, self_loops="keep")


@pytest.fixture(scope="session")
def wiki_vote() -> Path:
    return dataset("wiki-Vote/wiki-Vote.txt.gz")


@pytest.fixture(scope="session")
def wiki_graph(wiki_vote):
    from loaders import load_edges

    return load_edges(wiki_vote, layer="votes")
