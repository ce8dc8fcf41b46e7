"""Progress display for long steps: rich on a terminal, plain log lines on request, silent otherwise.

:func:`step` shows a spinner with the elapsed time; when the work inside
reports how far it is (:mod:`graphcrm.loaders.progress_hook`: Monte-Carlo runs,
sampling rounds), the spinner grows a bar with a percentage.  With
``GRAPHCRM_PROGRESS=lines`` (a batch job writing a log file) each step writes
timestamped lines to stderr instead: when it starts, how far it is at most every
:data:`LINE_EVERY_SECONDS`, and how long it took.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager

from graphcrm.loaders import progress_hook

#: in ``lines`` mode, the least time between two progress lines of one step
LINE_EVERY_SECONDS = 10.0


def progress_mode() -> str:
    """``"bar"`` on an interactive terminal outside CI, else ``"off"``; ``GRAPHCRM_PROGRESS`` forces it
    (``0``/``1``, or ``lines`` for plain timestamped lines a log file can keep)."""
    forced = os.environ.get("GRAPHCRM_PROGRESS")
    if forced is not None:
        forced = forced.strip().lower()
        if forced == "lines":
            return "lines"
        return "off" if forced in ("0", "false", "no", "off", "") else "bar"
    return "bar" if sys.stderr.isatty() and not os.environ.get("CI") else "off"


def progress_enabled() -> bool:
    """True when :func:`step` draws anything (see :func:`progress_mode`)."""
    return progress_mode() != "off"


def _line(text: str) -> None:
    print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] graphcrm: {text}", file=sys.stderr, flush=True)


@contextmanager
def _lines(description: str):
    started = time.monotonic()
    last = [started]
    _line(f"{description} ...")

    def show(done, total):
        now = time.monotonic()
        if now - last[0] >= LINE_EVERY_SECONDS:
            last[0] = now
            how_far = f"{100 * done / total:.0f}%" if total else f"{done:,.0f} done"
            _line(f"{description}: {how_far} after {now - started:.0f} s")

    with progress_hook.listening(show):
        try:
            yield
        except BaseException:
            _line(f"{description}: stopped after {time.monotonic() - started:.1f} s")
            raise
    _line(f"{description}: done in {time.monotonic() - started:.1f} s")


@contextmanager
def step(description: str, *, enabled: bool | None = None):
    """Show a spinner (and a bar once the work reports its progress) while the block runs; removed when it ends.

    Examples
    --------
    >>> with step("counting", enabled=False):
    ...     progress_hook.report(1, 2)       # silent: nothing is drawn, nothing fails
    """
    mode = progress_mode() if enabled is None else ("bar" if enabled else "off")
    if mode == "off":
        yield
        return
    if mode == "lines":
        with _lines(description):
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
