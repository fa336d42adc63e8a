"""The daemon's pidfile, which is also its lock.

The daemon holds an exclusive ``flock`` on the file for its whole life, so whether it runs
is asked of the kernel instead of guessed from a PID that may have been reused: a pidfile
nobody holds is stale and is simply taken over, and the lock goes away the moment the
process dies, however it dies. (python-daemon's own pidfile support needs the ``lockfile``
package, which its authors have deprecated; this is the few lines it would have done.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from types import TracebackType


class AlreadyRunning(Exception):
    def __init__(self, path: str, pid: int | None) -> None:
        super().__init__(f"pyups is already running (PID {pid or '?'}, pidfile {path})")
        self.pid = pid


class PidFile:
    """Locked by :meth:`acquire` before detaching; written and removed as python-daemon's
    ``pidfile`` context (entered in the detached child, left when the daemon ends)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise AlreadyRunning; OSError if the file cannot be made."""
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), mode=0o755, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(self.path, pid) from None
        os.ftruncate(fd, 0)  # a stale PID must not be read as the new daemon's
        self.fd = fd

    def __enter__(self) -> PidFile:
        assert self.fd is not None, "acquire() first"
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(self.fd)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self.fd)
        self.fd = None


def running(path: str) -> int | None:
    """The PID of the daemon holding ``path``, or None if nobody holds it (or no file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(fd) or -1
    else:
        return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None
