"""The processes tests and benchmarks start or watch: what they cost (psutil) and their end.

Every process the harness starts is ended by its PID with :func:`end_process`, the
simulator's own (it ends upsd and its drivers the same way).
"""

from __future__ import annotations

import contextlib

import psutil

from pyups.sim import end_process

__all__ = [
    "alive",
    "children",
    "cpu_seconds",
    "end_process",
    "gone",
    "open_fds",
    "pids_marked",
    "rss_mib",
    "sys_seconds",
    "threads",
]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def sys_seconds(pid: int) -> float:
    """System (kernel) CPU time of a process so far; cpu_seconds() less this is user time."""
    return float(psutil.Process(pid).cpu_times().system)


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB."""
    return float(psutil.Process(pid).memory_info().rss) / 2**20


def open_fds(pid: int) -> int:
    return int(psutil.Process(pid).num_fds())


def threads(pid: int) -> int:
    return int(psutil.Process(pid).num_threads())


def children(pid: int) -> int:
    """How many processes have ``pid`` as parent right now (zombies included)."""
    return len(psutil.Process(pid).children())


def gone(pid: int) -> bool:
    """Exited: no process, or a zombie waiting for a parent that may never reap it."""
    try:
        return psutil.Process(pid).status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return True


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped does not count)."""
    return not gone(pid)


def pids_marked(variable: str, value: str) -> set[int]:
    """PIDs of every process whose environment has ``variable=value`` (inherited from a
    process a test started), so that one test's leftovers are told from another's."""
    found = set()
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.environ().get(variable) == value:
                found.add(process.pid)
    return found
