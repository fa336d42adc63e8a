"""A journald for tests and benchmarks where none runs (containers, CI); pyups' entries read back.

Several users may want it at once (test sessions of two checkouts, a benchmark beside them):
each holds a shared lock while it writes, the first one finding no journald starts one and
records its PID next to the lock, and whichever user finds itself alone at the end stops
that journald, by that PID. A host's own journald is used and never touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from pyups.sim import SimulatorError

from .procs import gone
from .wait import TimedOut, wait_until

JOURNAL_SOCKET = "/run/systemd/journal/socket"
JOURNALD = "/lib/systemd/systemd-journald"
SHARED_LOCK = "/run/pyups-tests-journald.lock"
SHARED_PID = "/run/pyups-tests-journald.pid"


def journal_answers() -> bool:
    """True when something is bound to journald's socket (a stale file refuses)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(JOURNAL_SOCKET)
        except OSError:
            return False
    return True


@contextlib.contextmanager
def shared_journald() -> Iterator[None]:
    """A journald to write to and read back from while the block runs."""
    lock = os.open(SHARED_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_SH)
        if not journal_answers():
            _start()
        yield
    finally:
        _stop_if_alone(lock)
        os.close(lock)


def pyups_entries(pid: int, since: float) -> list[dict[str, Any]]:
    """Every pyups entry the process ``pid`` wrote, oldest first, read back with journalctl.

    ``since`` (Unix time, taken before the process started) keeps out entries of an older
    process that had the same PID: PIDs wrap around on a busy machine.
    """
    out = subprocess.run(
        [
            "journalctl", "-o", "json", "--no-pager", f"--since=@{int(since)}",
            f"_PID={pid}", "SYSLOG_IDENTIFIER=pyups",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout  # fmt: skip
    entries = (json.loads(line) for line in out.splitlines() if line.strip())
    return [e for e in entries if int(e["__REALTIME_TIMESTAMP"]) >= since * 1e6]


def _start() -> None:
    process = subprocess.Popen(
        [JOURNALD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    Path(SHARED_PID).write_text(f"{process.pid}\n")
    try:
        wait_until(journal_answers, 10, what="journald's socket", process=process)
    except TimedOut:
        process.kill()
        raise SimulatorError("systemd-journald did not start") from None


def _stop_if_alone(lock: int) -> None:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # someone else still writes to it; the last one out stops it
    try:
        pid = int(Path(SHARED_PID).read_text())
    except (OSError, ValueError):
        return  # the host's own journald, or none started here
    Path(SHARED_PID).unlink()
    with contextlib.suppress(OSError, psutil.Error):
        if Path(psutil.Process(pid).exe()).resolve() == Path(JOURNALD).resolve():
            os.kill(pid, signal.SIGTERM)
            with contextlib.suppress(TimedOut):
                wait_until(lambda: gone(pid), 10, what="journald's end")
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it if this process started it
