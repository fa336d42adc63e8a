"""Replacing a file atomically: the state file and the power-down flag.

The new content goes to a temporary file in the same directory, is synced, and is renamed
over the file, then the directory is synced: a reader (or a crash, or a power cut) sees the
old file or the whole new one, never part of it. The temporary is made with ``O_EXCL``, as
``tempfile.mkstemp`` would, without loading tempfile and random into the daemon for it.
"""

from __future__ import annotations

import contextlib
import itertools
import os

_SERIAL = itertools.count()


def replace_atomically(path: str, data: bytes, mode: int = 0o644) -> None:
    """Make ``path`` hold ``data`` with permissions ``mode``; its directory must exist.
    Raises OSError, leaving ``path`` as it was and no temporary behind."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = _create_temporary(directory, os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)


def _create_temporary(directory: str, name: str) -> tuple[int, str]:
    """A new file of our own in ``directory``, named after the file it will replace."""
    while True:
        path = os.path.join(directory, f".{name}.{os.getpid()}.{next(_SERIAL)}.tmp")
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), path
        except FileExistsError:
            continue  # left by a process that had this PID before
