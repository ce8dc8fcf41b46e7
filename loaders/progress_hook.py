"""How long computations say how far they are, without knowing who (if anyone) displays it.

Algorithms call :func:`report` with the work done and the total; the
user-facing layer (:func:`graphcrm.progress.step`) installs a listener for the
duration of a step and draws a bar.  Nobody listening (the default, and in
library use) costs one context-variable lookup.  Listeners are per context,
so threads and async tasks do not see each other's progress.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Optional

Listener = Callable[[float, Optional[float]], None]
_listener: ContextVar[Listener | None] = ContextVar("graphcrm_progress_listener", default=None)


def report(done: float, total: float | None = None) -> None:
    """Tell the current listener that ``done`` of ``total`` units of work are finished.

    Examples
    --------
    >>> seen = []
    >>> with listening(lambda done, total: seen.append((done, total))):
    ...     report(1, 4); report(4, 4)
    >>> seen
    [(1, 4), (4, 4)]
    >>> report(2, 4)            # nobody listening: nothing happens
    """
    fn = _listener.get()
    if fn is not None:
        fn(done, total)


def active() -> bool:
    """True while someone listens (algorithms may then work in smaller batches to report more often)."""
    return _listener.get() is not None


@contextmanager
def listening(fn: Listener):
    """Send :func:`report` calls made inside the block to ``fn(done, total)``."""
    token = _listener.set(fn)
    try:
        yield
    finally:
        _listener.reset(token)


@contextmanager
def part(index: int, count: int):
    """Map the progress of the ``index``-th of ``count`` equal sub-tasks onto the whole (0..count).

    Examples
    --------
    >>> seen = []
    >>> with listening(lambda done, total: seen.append((done, total))):
    ...     with part(1, 2):
    ...         report(5, 10)
    >>> seen
    [(1.5, 2)]
    """
    outer = _listener.get()
    if outer is None:
        yield
        return

    def inner(done, total):
        outer(index + (done / total if total else 0.0), count)

    with listening(inner):
        yield
