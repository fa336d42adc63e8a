"""Fixtures that start real components: journald (when none runs), upsd + dummy-ups, pyups.

Every process a fixture starts is ended by its PID when the test is over, pass or fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from pyups.sim import NutServer, SimulatorError
from pyups.sim.journald import pyups_entries, shared_journald

from .fakeupsd import FakeUpsd

Entry = dict[str, Any]


@pytest.fixture(scope="session")
def journald() -> Iterator[None]:
    """A journald to write to and read back from; started here when the host has none."""
    try:
        with shared_journald():
            yield
    except SimulatorError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def nut() -> Iterator[NutServer]:
    """A private upsd serving the simulated eaton800 (MAXAGE 3 s so DATA-STALE comes fast)."""
    with NutServer(maxage=3) as server:
        yield server


@pytest.fixture
def fake_upsd() -> Iterator[FakeUpsd]:
    """A loopback server speaking just enough NUT to misbehave on demand."""
    server = FakeUpsd()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def write_config(
    tmp_path: Path, nut: NutServer, rules: str = "", *, login: bool = False, **monitor: str
) -> str:
    """A checked config watching the simulated eaton800 with short timers, plus ``rules``.

    ``monitor`` overrides ``[monitor]`` keys (TOML values); ``login`` logs in as the
    server's admin, its password in a password_file.
    """
    settings = {
        "interval": '"0.3s"',
        "interval_alert": '"0.3s"',
        "timeout": '"1s"',
        "state_file": f'"{tmp_path}/state.json"',
        **monitor,
    }
    body = f'[[ups]]\nname = "eaton800"\nserver = "{nut.server}"\n'
    if login:
        body += f'username = "{nut.admin_user}"\npassword_file = "{tmp_path}/secret"\n'
        (tmp_path / "secret").write_text(nut.admin_password + "\n")
    return checked_config(tmp_path, settings, body + rules)


def checked_config(tmp_path: Path, monitor: Mapping[str, str], body: str) -> str:
    """``tmp_path/pyups.conf``: ``[monitor]`` with these keys (TOML values), then ``body``.

    Owner-readable only, and accepted by ``pyups check-config``, so a test fails on its own
    typo, not later on a puzzling monitor. Unless ``body`` has its own ``[shutdown]``, the
    shutdown command is a harmless recorder (see :func:`shutdown_recorder`), or the
    ``shutdown_command`` given among ``monitor``, written as ``[shutdown] command``.
    """
    monitor = dict(monitor)
    command = monitor.pop("shutdown_command", None)
    text = "[monitor]\n" + "".join(f"{k} = {v}\n" for k, v in monitor.items())
    if "[shutdown]" not in body:
        command = command or f'["{shutdown_recorder(tmp_path)}"]'
        text += f"[shutdown]\ncommand = {command}\n"
    elif command is not None:
        text += f"shutdown_command = {command}\n"
    path = tmp_path / "pyups.conf"
    path.write_text(text + body)
    path.chmod(0o600)
    check = cli("check-config", "-c", str(path))
    assert check.returncode == 0, check.stderr
    return str(path)


def shutdown_recorder(tmp_path: Path) -> Path:
    """A harmless shutdown command: appends its arguments to ``tmp_path/shutdown.log``."""
    script = tmp_path / "record-shutdown"
    if not script.exists():
        log = tmp_path / "shutdown.log"
        script.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n')
        script.chmod(0o755)
    return script


# DESIGN §10: no test outside the system tier runs a real shutdown command. A command naming
# one of these programs that exists on this host (as its program or anywhere in its
# arguments, e.g. sh -c "systemctl poweroff") counts as real.
REAL_SHUTDOWN = frozenset({"systemctl", "shutdown", "poweroff", "halt", "reboot", "init"})


def refuse_real_shutdown(args: Sequence[str], env: Mapping[str, str]) -> None:
    """Fail the test before ``pyups run``/``daemon`` starts with a configuration that could
    shut this machine down: the configuration pyups would use (read as it reads it) has a UPS
    with power > 0 or a rule that shuts down, is not a dry run, and its command in effect
    names a real shutdown program. A configuration pyups would refuse starts nothing."""
    from pyups.cli import build_parser
    from pyups.commands.common import Failure, monitor_config
    from pyups.config import ConfigError
    from pyups.core.rules import ShutdownAction

    if not args or args[0] not in ("run", "daemon"):
        return
    try:
        parsed = build_parser().parse_args(list(args))
    except SystemExit:
        return  # a usage error: pyups starts nothing either
    option = parsed.config or env.get("PYUPS_CONFIG")
    try:
        config = monitor_config(
            option, getattr(parsed, "ups", []), dry_run=getattr(parsed, "dry_run", False)
        )
    except (ConfigError, Failure):
        return
    reaches = any(u.power > 0 for u in config.ups) or any(
        isinstance(a, ShutdownAction) for rule in config.rules for a in rule.actions
    )
    command = config.shutdown.command
    real = [
        word
        for arg in command
        for word in arg.split()
        if os.path.basename(word) in REAL_SHUTDOWN and shutil.which(word) is not None
    ]
    if reaches and not config.monitor.dry_run and real:
        pytest.fail(
            f"refusing to start pyups {' '.join(args)}: its configuration ({config.source}) "
            f"could run the real shutdown command {list(command)}; give it a recording "
            "command ([shutdown] command, see shutdown_recorder) or power = 0 on every [[ups]]"
        )


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``pyups ARGS`` to completion, never with the host's own config or password, never
    with a configuration that could shut this machine down."""
    environment = {
        k: v for k, v in os.environ.items() if k not in ("PYUPS_PASSWORD", "PYUPS_CONFIG")
    }
    environment["PYUPS_CONFIG"] = "/dev/null"
    refuse_real_shutdown(args, {**environment, **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "pyups", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**environment, **(env or {})},
        timeout=timeout,
        check=False,
    )


read_journal = pyups_entries  # the tests' name for it


class Pyups:
    """A ``pyups`` process under test, its stderr in a file, its entries in the journal."""

    def __init__(self, args: list[str], workdir: Path, env: dict[str, str] | None = None) -> None:
        refuse_real_shutdown(args, {**os.environ, **(env or {})})
        self.stderr_path = workdir / f"pyups-{uuid.uuid4().hex[:8]}.stderr"
        self.started = time.time()
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pyups", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env={**os.environ, **(env or {})},
        )
        self.pid = self.process.pid

    def entries(self) -> list[Entry]:
        return read_journal(self.pid, self.started)

    def events(self) -> list[str]:
        return [e["PYUPS_EVENT"] for e in self.entries() if "PYUPS_EVENT" in e]

    def wait_for(
        self, predicate: Callable[[list[Entry]], bool], timeout: float = 10.0
    ) -> list[Entry]:
        """Poll the journal until ``predicate(entries)`` holds; fail with what was seen."""
        deadline = time.monotonic() + timeout
        while True:
            entries = self.entries()
            if predicate(entries):
                return entries
            if self.process.poll() is not None:
                pytest.fail(f"pyups exited with {self.process.returncode}: {self.stderr()}")
            if time.monotonic() > deadline:
                seen = [e.get("PYUPS_EVENT", e["MESSAGE"]) for e in entries]
                pytest.fail(f"timed out after {timeout}s; journal has {seen}")
            time.sleep(0.1)

    def wait_event(self, name: str, count: int = 1, timeout: float = 10.0) -> Entry:
        """The ``count``-th entry of event ``name``, waiting for it to appear."""
        entries = self.wait_for(
            lambda es: sum(e.get("PYUPS_EVENT") == name for e in es) >= count, timeout
        )
        return [e for e in entries if e.get("PYUPS_EVENT") == name][count - 1]

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()
        return self.process.returncode


@pytest.fixture
def pyups(journald: None, tmp_path: Path) -> Iterator[Callable[..., Pyups]]:
    """Start ``pyups ARGS...``; every process started is stopped after the test."""
    started: list[Pyups] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Pyups:
        proc = Pyups(list(args), tmp_path, env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
