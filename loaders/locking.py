"""One writer at a time per snapshot (or pipeline output directory): an exclusive ``flock`` beside it.

Every command that writes a snapshot -- ``load --out`` over an existing one, ``load --append``, ``erase``, the
pipeline -- reads what is stored, builds the new version in a temporary sibling and swaps it in.  Two of them at
once would each start from the same stored version, and the one that swaps last would silently drop the other's
work (a nightly append and an erase running together lost the day, and the day's file stayed recorded as
loaded).  :func:`writer_lock` serialises them: the second writer waits for the first (saying so on stderr) and
then starts from what the first stored.  Readers take no lock: a reader sees the old version or the new one,
never a mix (the swap is one atomic rename).

The lock file is ``.NAME.lock`` beside ``NAME``, removed by its holder before it lets go (a waiter that
locked the removed file sees it is gone and locks the new one; a writer killed with ``kill -9`` leaves the
file, which locks nothing once its process is gone).  The lock is re-entrant within a thread, so a function
holding it can call another that takes it.

Examples
--------
>>> import tempfile
>>> d = Path(tempfile.mkdtemp()) / "snap"
>>> with writer_lock(d):
...     with writer_lock(d):                # re-entrant: no deadlock
...         held(d)
True
>>> held(d), sorted(p.name for p in d.parent.iterdir())
(False, [])
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
from contextlib import ExitStack, contextmanager
from pathlib import Path

_local = threading.local()


def _key(path) -> str:
    return str(Path(path).resolve())


def held(path) -> bool:
    """Whether this thread holds the writer lock of ``path``."""
    return getattr(_local, "depth", {}).get(_key(path), 0) > 0


@contextmanager
def writer_lock(path, *, create: bool = False):
    """Hold the exclusive writer lock of the snapshot or directory at ``path`` (waits while another holds it).

    ``create``: make the parent directory if it does not exist (a new snapshot); otherwise a missing parent
    means there is nothing there to protect, and no lock (nor directory) is made -- the caller's own error
    follows.
    """
    depth = _local.__dict__.setdefault("depth", {})
    key = _key(path)
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    target = Path(key)
    if not target.parent.is_dir():
        if not create:
            yield
            return
        target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.parent / f".{target.name}.lock"
    fd = _acquire(lock, path)
    depth[key] = 1
    try:
        yield
    finally:
        depth.pop(key, None)
        try:
            os.unlink(lock)              # removed while still held: a waiter that opened it sees it gone
        except OSError:                  # (another user's directory, read-only: the file stays, harmless)
            pass
        finally:
            os.close(fd)                 # closing the descriptor releases the lock


@contextmanager
def writer_locks(*paths):
    """The writer locks of every path given (``None`` skipped), taken in one global order -- sorted resolved
    paths -- so two commands needing the same locks cannot each hold one and wait for the other."""
    keys = sorted({_key(p) for p in paths if p is not None})
    with ExitStack() as stack:
        for key in keys:
            stack.enter_context(writer_lock(key))
        yield


def pipeline_dir_of(snapshot) -> Path | None:
    """The ``graphcrm run`` output directory holding ``snapshot`` (its ``snapshot/``), or None: a command that
    changes that snapshot or its exports also takes the run's lock, or the run's final swap would put back
    what it copied before (an erasure undone)."""
    parent = Path(_key(snapshot)).parent
    return parent if (parent / "run_summary.json").is_file() else None


def _acquire(lock: Path, path) -> int:
    """Open ``lock`` and hold its ``flock``; again if the file was removed meanwhile (its holder finished)."""
    waited = False
    while True:
        # read-only is enough for flock: another user's lock file (umask permitting) can be waited on too
        fd = os.open(lock, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not waited:
                    print(f"waiting: another graphcrm command is writing {path}", file=sys.stderr, flush=True)
                    waited = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(lock).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)                     # the holder removed the file as it finished: lock the new one
