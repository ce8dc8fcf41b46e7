"""Atomic writes: a reader never sees half a file, and a group of files is replaced all or nothing.

Every file graphcrm writes for a user (tables, exports, rejects, the report) is written under a hidden
temporary name next to its target (``.NAME.tmp-PID``) and renamed into place once complete.  A command that
writes several files (links and their review queue, an economics table and its overlap table, segments and
their changes) stages every file first and renames them only when all are written; a rename that still fails
puts back the files already renamed.  Errors name the path the user gave, never the temporary file.

What no program can promise: a crash (``kill -9``, power loss) between two renames of a group leaves some
files new; each file on its own is still whole.

Examples
--------
>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> with FileGroup() as files:
...     _ = files.write(d / "a.txt", lambda tmp: tmp.write_text("A"))
...     _ = files.write(d / "b.txt", lambda tmp: tmp.write_text("B"))
>>> sorted(p.name for p in d.iterdir())
['a.txt', 'b.txt']
>>> (d / "c.txt").mkdir()
>>> try:
...     with FileGroup() as files:
...         _ = files.write(d / "a.txt", lambda tmp: tmp.write_text("new A"))
...         _ = files.write(d / "c.txt", lambda tmp: tmp.write_text("C"))
... except IsADirectoryError as exc:
...     print(Path(exc.filename).name, exc.strerror)
c.txt Is a directory
>>> (d / "a.txt").read_text(), sorted(p.name for p in d.iterdir())
('A', ['a.txt', 'b.txt', 'c.txt'])
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path
from typing import Callable

from graphcrm.loaders.errors import ParameterError


def temp_path(path, kind: str = "tmp") -> Path:
    """The hidden name ``path`` is written under before it is renamed into place (``.NAME.tmp-PID``)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}")


class FileGroup:
    """Files written under temporary names, then renamed into place together: all of them, or none.

    Use as a context manager; :meth:`write` each file, and the group is committed when the block ends
    without an error.  On an error nothing is renamed and every temporary file is removed.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []        # (temporary, target)

    def __enter__(self) -> "FileGroup":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        try:
            if kind is None:
                self.commit()
        finally:
            for tmp, _ in self._staged:
                if tmp.exists():
                    tmp.unlink()
            self._staged = []
        return False

    def write(self, path, write: Callable[[Path], object]) -> Path:
        """Call ``write(temporary_path)`` now; ``path`` gets that file when the group commits.

        Raises
        ------
        ParameterError
            ``path`` is already a target of this group.
        OSError
            The write failed; the error names ``path``, not the temporary file.
        """
        path = Path(path)
        if any(_same(path, target) for _, target in self._staged):
            raise ParameterError(f"{path}: named for two outputs; give each output its own file")
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if path.parent.exists() and not path.parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path.parent))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(path)
        self._staged.append((tmp, path))
        try:
            write(tmp)
        except OSError as exc:
            raise _naming(exc, tmp, path) from None
        return path

    def commit(self) -> None:
        """Rename every staged file into place; if one rename fails, put back the files already renamed."""
        for _, target in self._staged:       # the likely failures first, before anything is replaced
            if target.is_dir():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
        backups: list[tuple[Path, Path | None]] = []       # (target, its old content or None)
        try:
            for tmp, target in self._staged:
                backup = _keep_old(target) if len(self._staged) > 1 else None
                backups.append((target, backup))
                try:
                    os.replace(tmp, target)
                except OSError as exc:
                    backups.pop()
                    if backup is not None:
                        backup.unlink()
                    raise _naming(exc, tmp, target) from None
        except BaseException:
            for target, backup in reversed(backups):        # undo: the old file back, or no file as before
                if backup is not None:
                    os.replace(backup, target)
                elif target.exists():
                    target.unlink()
            raise
        for _, backup in backups:
            if backup is not None:
                backup.unlink()


def write_atomic(path, write: Callable[[Path], object]) -> Path:
    """Write one file atomically: ``write(temporary_path)``, then rename it to ``path``.

    Examples
    --------
    >>> import tempfile
    >>> out = write_atomic(Path(tempfile.mkdtemp()) / "t.txt", lambda tmp: tmp.write_text("hi"))
    >>> out.read_text()
    'hi'
    """
    with FileGroup() as files:
        return files.write(path, write)


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _keep_old(target: Path) -> Path | None:
    """A hard link (else a copy) of ``target``'s current content, to put back if the group fails; None if new."""
    if not target.exists():
        return None
    backup = temp_path(target, "old")
    if backup.exists():
        backup.unlink()
    try:
        os.link(target, backup)
    except OSError:
        shutil.copy2(target, backup)
    return backup


def _naming(exc: OSError, tmp: Path, target: Path) -> OSError:
    """``exc`` told about ``target`` (the user's path) instead of the temporary file."""
    reason = exc.strerror or str(exc)
    found = re.search(r"\[errno (\d+)\] ([^\n]+)", reason)     # pyarrow: "Failed to open local file '...'. Detail: [errno 2] ..."
    code = exc.errno if exc.errno is not None else (int(found.group(1)) if found else errno.EIO)
    reason = found.group(2).strip() if found else reason.replace(str(tmp), str(target))
    if code == errno.ENOENT and not target.parent.is_dir():
        reason += f" (the directory {target.parent} does not exist)"
    return OSError(code, reason, str(target))
