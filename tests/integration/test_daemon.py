"""``pyups daemon`` / ``reload`` / ``stop`` with a pidfile, against a real upsd and journal."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyups.sim import NutServer
from tests.harness import wait
from tests.harness.config import write_config
from tests.harness.procs import alive
from tests.harness.pyups import cli, read_journal


def wait_until(condition: Callable[[], object], timeout: float = 15.0) -> None:
    wait.wait_until(condition, timeout, every=0.1)


# Reparented daemons may linger as zombies where PID 1 does not reap: procs.alive says no.


@pytest.fixture
def pidfile(tmp_path: Path) -> Iterator[Path]:
    """Where the test's daemon writes its PID; whatever it names is ended afterwards."""
    path = tmp_path / "run" / "pyups.pid"
    seen: list[int] = []
    yield path
    with contextlib.suppress(FileNotFoundError, ValueError):
        seen.append(int(path.read_text()))
    for pid in seen:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def start_daemon(config: str, pidfile: Path) -> int:
    started = cli("daemon", "-c", config, "--pidfile", str(pidfile))
    assert started.returncode == 0, started.stderr
    assert started.stderr == f"pyups: starting in the background; pidfile {pidfile}\n"
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip().isdigit())
    return int(pidfile.read_text())


def notes_of(pid: int, since: float) -> list[str]:
    return [e["MESSAGE"] for e in read_journal(pid, since) if "PYUPS_EVENT" not in e]


def test_daemon_detaches_refuses_a_second_start_reloads_and_stops(
    journald: None, nut: NutServer, tmp_path: Path, pidfile: Path
) -> None:
    config = write_config(tmp_path, nut)
    since = time.time()
    pid = start_daemon(config, pidfile)
    assert alive(pid)
    assert os.getsid(pid) != os.getsid(0)  # detached into a session of its own
    wait_until(lambda: any(e.get("PYUPS_EVENT") == "STARTUP" for e in read_journal(pid, since)))
    assert Path(f"/proc/{pid}/cwd").resolve() == Path("/")

    again = cli("daemon", "-c", config, "--pidfile", str(pidfile))
    assert again.returncode == 1
    assert again.stderr == (
        f"pyups: pyups is already running (PID {pid}, pidfile {pidfile}); `pyups stop` stops it\n"
    )

    reloaded = cli("reload", "--pidfile", str(pidfile))
    assert reloaded.returncode == 0, reloaded.stderr
    wait_until(lambda: any("configuration reloaded" in m for m in notes_of(pid, since)))

    Path(config).write_text(Path(config).read_text() + "\n[monitor]\nnonsense = 1\n")
    assert cli("reload", "--pidfile", str(pidfile)).returncode == 0
    wait_until(lambda: any("reload refused" in m for m in notes_of(pid, since)))
    nut.set_status("OB DISCHRG")  # the old configuration keeps running and reporting
    wait_until(lambda: any(e.get("PYUPS_EVENT") == "ONBATT" for e in read_journal(pid, since)))

    stopped = cli("stop", "--pidfile", str(pidfile))
    assert (stopped.returncode, stopped.stderr) == (0, f"pyups: stopped (PID {pid})\n")
    assert not pidfile.exists()
    wait_until(lambda: not alive(pid))
    assert notes_of(pid, since)[-1] == "pyups stopping (SIGTERM)"


def test_a_stale_pidfile_is_taken_over(
    journald: None, nut: NutServer, tmp_path: Path, pidfile: Path
) -> None:
    pidfile.parent.mkdir(parents=True)
    pidfile.write_text("999999\n")  # left by a daemon that was killed with -9
    pid = start_daemon(write_config(tmp_path, nut), pidfile)
    assert pid != 999999 and alive(pid)
    assert cli("stop", "--pidfile", str(pidfile)).returncode == 0
    wait_until(lambda: not alive(pid))


def test_stop_and_reload_say_when_nothing_runs(tmp_path: Path) -> None:
    pidfile = tmp_path / "none.pid"
    stopped = cli("stop", "--pidfile", str(pidfile))
    assert (stopped.returncode, stopped.stderr) == (
        0,
        f"pyups: not running (no daemon holds {pidfile})\n",
    )
    pidfile.write_text("999999\n")  # stale: nobody holds it
    reloaded = cli("reload", "--pidfile", str(pidfile))
    assert reloaded.returncode == 1
    assert reloaded.stderr == (
        f"pyups: not running (no daemon holds {pidfile}); start it with `pyups daemon`\n"
    )


def test_a_broken_config_is_reported_before_detaching(tmp_path: Path, pidfile: Path) -> None:
    config = tmp_path / "broken.conf"
    config.write_text("[monitor]\ninterval = 'soon'\n")
    done = cli("daemon", "-c", str(config), "--pidfile", str(pidfile))
    assert done.returncode == 78
    assert "monitor.interval" in done.stderr
    assert not pidfile.exists()
