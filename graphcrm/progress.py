"""Progress display for long steps: rich on a terminal, silent in pipes and CI.

:func:`step` shows a spinner with the elapsed time; when the work inside
reports how far it is (:mod:`graphcrm.loaders.progress_hook`: Monte-Carlo runs,
sampling rounds), the spinner grows a bar with a percentage.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from graphcrm.loaders import progress_hook


def progress_enabled() -> bool:
    """True on an interactive terminal outside CI (``GRAPHCRM_PROGRESS=0/1`` forces it)."""
    forced = os.environ.get("GRAPHCRM_PROGRESS")
    if forced is not None:
        return forced not in ("0", "false", "no", "")
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def step(description: str, *, enabled: bool | None = None):
    """Show a spinner (and a bar once the work reports its progress) while the block runs; removed when it ends.

    Examples
    --------
    >>> with step("counting", enabled=False):
    ...     progress_hook.report(1, 2)       # silent: nothing is drawn, nothing fails
    """
    enabled = progress_enabled() if enabled is None else enabled
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn(), transient=True, console=Console(stderr=True)) as progress:
        task = progress.add_task(description, total=None)

        def show(done, total):
            progress.update(task, completed=done, total=total)

        with progress_hook.listening(show):
            yield
