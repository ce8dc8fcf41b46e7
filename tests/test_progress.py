"""Progress reporting: bars on a terminal, silence elsewhere, and never a change in any result."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np

from graphcrm.algorithms.diffusion import simulate
from graphcrm.algorithms.planning import plan_seeds
from graphcrm.loaders import progress_hook
from graphcrm.progress import step


def test_simulation_reports_progress_without_changing_results(wiki_graph):
    plain = simulate(wiki_graph, [11, 2565], layer="votes", n_runs=40_000, seed=5)
    seen = []
    with progress_hook.listening(lambda done, total: seen.append((done, total))):
        watched = simulate(wiki_graph, [11, 2565], layer="votes", n_runs=40_000, seed=5)
    assert np.array_equal(plain.sizes, watched.sizes) and plain.mean == watched.mean
    assert len(seen) >= 10 and seen[-1] == (40_000, 40_000)
    assert all(a[0] < b[0] for a, b in zip(seen, seen[1:]))


def test_planning_reports_rounds(wiki_graph):
    seen = []
    with progress_hook.listening(lambda done, total: seen.append((done, total))):
        plan = plan_seeds(wiki_graph, layer="votes", k=5, seed=1)
    assert seen and seen[-1][0] == plan.info["rounds"] and seen[-1][1] == plan.info["max_rounds"]


def test_step_draws_a_bar_on_a_terminal_only(wiki_graph, monkeypatch):
    from rich.console import Console

    buffer = io.StringIO()
    monkeypatch.setattr("rich.console.Console", lambda **kw: Console(file=buffer, force_terminal=True, width=100))
    with step("simulating", enabled=True):
        simulate(wiki_graph, [11], layer="votes", n_runs=20_000)
    assert "simulating" in buffer.getvalue() and "100%" in buffer.getvalue()
    code = ("import sys; from graphcrm.progress import progress_enabled; sys.exit(0 if progress_enabled() else 3)")
    env = {k: v for k, v in os.environ.items() if k != "GRAPHCRM_PROGRESS"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env)   # stderr: a pipe
    assert proc.returncode == 3


def test_lines_mode_writes_a_log_a_batch_job_can_keep(tmp_path):
    """``GRAPHCRM_PROGRESS=lines``: the CLI, run as a batch job runs it (stderr a file), writes one line when a
    step starts and one with its time when it ends; the command's own output is unchanged."""
    snap = tmp_path / "g"
    edges = tmp_path / "e.csv"
    edges.write_text("source,target\n1,2\n2,3\n3,1\n")
    env = {**os.environ, "GRAPHCRM_PROGRESS": "lines"}
    log = tmp_path / "job.log"
    with open(log, "w") as err:
        proc = subprocess.run([sys.executable, "-m", "graphcrm", "load", "--edges", str(edges), "--out", str(snap)],
                              stdout=subprocess.PIPE, stderr=err, text=True, env=env)
    assert proc.returncode == 0 and "wrote" in proc.stdout
    lines = log.read_text().splitlines()
    assert any(line.endswith("graphcrm: building the graph ...") for line in lines)
    assert any("graphcrm: building the graph: done in" in line for line in lines)
    assert all(line.startswith("[20") for line in lines if "graphcrm:" in line)


def test_lines_mode_reports_how_far_and_a_failed_step(monkeypatch, capsys, wiki_graph):
    import pytest

    import graphcrm.progress as progress

    monkeypatch.setenv("GRAPHCRM_PROGRESS", "lines")
    monkeypatch.setattr(progress, "LINE_EVERY_SECONDS", 0.0)
    with step("simulating"):
        simulate(wiki_graph, [11], layer="votes", n_runs=20_000)
    err = capsys.readouterr().err
    assert "simulating: 100% after" in err and "simulating: done in" in err
    with pytest.raises(KeyError):
        with step("failing"):
            raise KeyError("x")
    assert "failing: stopped after" in capsys.readouterr().err
