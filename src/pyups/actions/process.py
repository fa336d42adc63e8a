"""Running one command for an action: argv, no shell, own process group, bounded stderr, timeout.

The command starts in a new session (its own process group), so a timeout or pyups stopping
kills everything it started, not just the first process. Its stderr is read while it runs,
keeping only the last :data:`STDERR_TAIL` bytes, so a flood neither blocks it nor grows memory.
Waiting uses a pidfd (Linux 5.3+) together with the stderr pipe; where none is available it
falls back to polling every 50 ms.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

STDERR_TAIL = 2048  # bytes of stderr kept
TERM_GRACE = 2.0  # seconds between SIGTERM and SIGKILL at a timeout
KILL_WAIT = 1.0  # seconds, at most, for a killed group's last members to be gone
_CHUNK = 65536
_DRAIN_LIMIT = 0.1  # seconds spent reading leftover stderr after the command exited
_POLL = 0.05


@dataclass(frozen=True, slots=True)
class Finished:
    """How a command ended.

    ``error`` is set (and nothing else meaningful) when it could not start; ``returncode`` is
    negative for a signal, as in :mod:`subprocess`; ``timed_out`` when it was killed at its
    timeout, ``stopped`` when :meth:`ProcessGroups.kill_all` killed it.
    """

    elapsed: float
    returncode: int | None = None
    error: str | None = None
    timed_out: bool = False
    stopped: bool = False
    stderr: str = ""


class ProcessGroups:
    """The process groups of commands still running, so that pyups can kill them on exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._killed: set[int] = set()
        self._closing = False

    def add(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.add(process)
            if self._closing:  # started while kill_all ran: it does not get to run either
                self._kill(process)

    def discard(self, process: subprocess.Popen[bytes]) -> bool:
        """Forget a process before it is reaped; True if :meth:`kill_all` killed it."""
        with self._lock:
            self._running.discard(process)
            return process.pid in self._killed

    def kill_all(self) -> int:
        """SIGKILL every group still running (and any started from now on); how many."""
        with self._lock:
            self._closing = True
            for process in self._running:
                self._kill(process)
            return len(self._running)

    def _kill(self, process: subprocess.Popen[bytes]) -> None:
        # Called with the lock held and the process not yet reaped, so its pid (= the group
        # id) cannot have been reused.
        self._killed.add(process.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


class _Tail:
    """The last ``size`` bytes written to a pipe."""

    def __init__(self, size: int = STDERR_TAIL) -> None:
        self.size = size
        self.data = bytearray()
        self.truncated = False

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.size:
            del self.data[: len(self.data) - self.size]
            self.truncated = True

    def text(self) -> str:
        text = self.data.decode("utf-8", "replace").strip()
        return "..." + text if self.truncated and text else text


def run(
    argv: Sequence[str],
    env: Mapping[str, str],
    timeout: float | None,
    groups: ProcessGroups,
) -> Finished:
    """Run ``argv`` to its end (or its timeout); never raises for a command that fails."""
    import subprocess  # when the first command runs: an idle daemon does not carry it (~1 MiB)

    started = time.monotonic()
    try:
        if not argv:
            raise ValueError("empty command")
        process = subprocess.Popen(
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        return Finished(time.monotonic() - started, error=exc.strerror or str(exc))
    except ValueError as exc:  # e.g. a NUL byte in an argument
        return Finished(time.monotonic() - started, error=str(exc))
    groups.add(process)
    assert process.stderr is not None
    tail = _Tail()
    timed_out = False
    try:
        with _Watch(process, tail) as watch:
            deadline = None if timeout is None else started + timeout
            if not watch.wait(deadline):
                timed_out = True
                _terminate(process, watch)
            watch.drain()
    finally:
        stopped = groups.discard(process)
        process.stderr.close()
        returncode = process.wait()
    return Finished(
        time.monotonic() - started,
        returncode=returncode,
        timed_out=timed_out,
        stopped=stopped and not timed_out,
        stderr=tail.text(),
    )


def _terminate(process: subprocess.Popen[bytes], watch: _Watch) -> None:
    """SIGTERM the group, SIGKILL it :data:`TERM_GRACE` later if anything in it still lives;
    back when nothing of it lives (or :data:`KILL_WAIT` after the leader exited)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    _await_group_end(process.pid, watch, TERM_GRACE)
    # The leader is not reaped yet, so the group id still names this group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    watch.wait(None)
    # The other members die of SIGKILL on their own time, a moment after the leader may
    # have: "killed" is reported once they are gone too.
    _await_group_end(process.pid, watch, KILL_WAIT)


def _await_group_end(pgid: int, watch: _Watch, seconds: float) -> None:
    """Until nothing of group ``pgid`` lives, or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while _group_alive(pgid) and (left := deadline - time.monotonic()) > 0:
        watch.pause(min(left, _POLL))


def _group_alive(pgid: int) -> bool:
    """True while any process of group ``pgid`` is alive (zombies do not count)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


class _Watch:
    """Waits for a process to exit while reading its stderr into a tail."""

    def __init__(self, process: subprocess.Popen[bytes], tail: _Tail) -> None:
        assert process.stderr is not None
        self.process = process
        self.tail = tail
        self.fd = process.stderr.fileno()
        os.set_blocking(self.fd, False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ, "stderr")
        self.pidfd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self.pidfd = os.pidfd_open(process.pid)
            self.selector.register(self.pidfd, selectors.EVENT_READ, "exit")
        self.exited = False
        self.pipe_open = True

    def __enter__(self) -> _Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.selector.close()
        if self.pidfd is not None:
            os.close(self.pidfd)

    def wait(self, deadline: float | None) -> bool:
        """Read stderr until the process exits (True) or ``deadline`` passes (False).

        The process is not reaped, so its group id stays valid for a kill.
        """
        while not self.exited:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            if self.pidfd is None:
                remaining = _POLL if remaining is None else min(remaining, _POLL)
            self._select(remaining)
            if self.pidfd is None and not self.exited:
                self.exited = _has_exited(self.process.pid)
        return True

    def pause(self, seconds: float) -> None:
        """Keep reading stderr (and noticing the exit) for ``seconds``."""
        end = time.monotonic() + seconds
        while (remaining := end - time.monotonic()) > 0:
            self._select(remaining)

    def _select(self, timeout: float | None) -> None:
        for key, _ in self.selector.select(timeout):
            if key.data == "exit":
                self.exited = True
                self.selector.unregister(key.fd)
            else:
                self._read()

    def drain(self) -> None:
        """Read what is left in the pipe, briefly: a background child may still hold it open."""
        deadline = time.monotonic() + _DRAIN_LIMIT
        while self.pipe_open and time.monotonic() < deadline:
            if not self._read():
                return

    def _read(self) -> bool:
        """One read; False when nothing more is there right now."""
        if not self.pipe_open:
            return False
        try:
            chunk = os.read(self.fd, _CHUNK)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        if not chunk:
            self.pipe_open = False
            self.selector.unregister(self.fd)
            return False
        self.tail.add(chunk)
        return True


def _has_exited(pid: int) -> bool:
    """Without a pidfd: has ``pid`` exited, without reaping it?"""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None
