"""Progress display for long steps: rich on a terminal, silent in pipes and CI."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager


def progress_enabled() -> bool:
    """True on an interactive terminal outside CI (``GRAPHCRM_PROGRESS=0/1`` forces it)."""
    forced = os.environ.get("GRAPHCRM_PROGRESS")
    if forced is not None:
        return forced not in ("0", "false", "no", "")
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def step(description: str, *, enabled: bool | None = None):
    """Show a spinner with the elapsed time while the block runs (removed when it ends)."""
    enabled = progress_enabled() if enabled is None else enabled
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True,
                  console=Console(stderr=True)) as progress:
        progress.add_task(description, total=None)
        yield
