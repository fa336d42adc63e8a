"""``pyups fsd``: finding the running monitor, and asking before taking the host down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pyups.cli import build_parser
from pyups.commands.common import EXIT_USAGE, Failure
from pyups.commands.fsd import FSD_SIGNAL, Found, confirmed, describe_plan, find_monitor
from pyups.service.pidfile import PidFile


def no_systemd_pid() -> int | None:
    raise AssertionError("systemd asked while it is not running")


def held_pidfile(tmp_path: Path) -> PidFile:
    """A pidfile locked and written by this process, as the daemon holds its own."""
    pidfile = PidFile(str(tmp_path / "pyups.pid"))
    pidfile.acquire()
    pidfile.__enter__()
    return pidfile


def test_fsd_sends_upsmon_s_sigcmd_fsd_which_is_sigusr1() -> None:
    assert FSD_SIGNAL == signal.SIGUSR1


def test_the_daemon_holding_the_pidfile_is_the_one_found(tmp_path: Path) -> None:
    pidfile = held_pidfile(tmp_path)
    try:
        found = find_monitor(pidfile.path, systemd_dir=str(tmp_path), main_pid=no_systemd_pid)
    finally:
        pidfile.__exit__(None, None, None)
    assert found == Found(os.getpid(), f"pidfile {pidfile.path}")


def test_a_stale_pidfile_falls_back_to_systemd_s_main_pid_when_systemd_runs(
    tmp_path: Path,
) -> None:
    stale = tmp_path / "pyups.pid"
    stale.write_text("4242\n")  # nobody holds its lock: the daemon is gone
    found = find_monitor(str(stale), systemd_dir=str(tmp_path), main_pid=lambda: 1234)
    assert found == Found(1234, "pyups.service")


def test_without_a_daemon_or_systemd_the_error_is_one_clear_line(tmp_path: Path) -> None:
    pidfile = str(tmp_path / "pyups.pid")
    with pytest.raises(Failure) as caught:
        find_monitor(pidfile, systemd_dir=str(tmp_path / "absent"), main_pid=no_systemd_pid)
    message = str(caught.value)
    assert caught.value.code == 1
    assert message == (
        f"no running pyups monitor to signal (no daemon holds {pidfile}); nothing was shut down"
    )


def test_systemd_running_without_the_service_says_so(tmp_path: Path) -> None:
    with pytest.raises(Failure) as caught:
        find_monitor(str(tmp_path / "pyups.pid"), systemd_dir=str(tmp_path), main_pid=lambda: None)
    assert "and pyups.service is not running" in str(caught.value)


FOUND = Found(1234, "pidfile /run/pyups/pyups.pid")


def never_asked(prompt: str) -> str:
    raise AssertionError("asked although --yes was given")


def test_yes_goes_ahead_without_asking_on_a_terminal_or_not() -> None:
    assert confirmed(True, FOUND, "", interactive=True, ask=never_asked)
    assert confirmed(True, FOUND, "", interactive=False, ask=never_asked)


def test_without_a_terminal_and_without_yes_it_refuses_with_exit_2() -> None:
    with pytest.raises(Failure) as caught:
        confirmed(False, FOUND, "", interactive=False, ask=never_asked)
    assert caught.value.code == EXIT_USAGE
    assert "add --yes" in str(caught.value)


@pytest.mark.parametrize(("answer", "go"), [("yes", True), ("y", True), ("", False), ("no", False)])
def test_on_a_terminal_only_a_yes_goes_ahead(
    answer: str, go: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return answer

    assert confirmed(False, FOUND, "", interactive=True, ask=ask) is go
    assert len(asked) == 1
    assert "PID 1234" in capsys.readouterr().out


def test_end_of_input_at_the_question_is_a_no() -> None:
    def ask(prompt: str) -> str:
        raise EOFError

    assert not confirmed(False, FOUND, "", interactive=True, ask=ask)


def test_the_fsd_command_parses_its_options() -> None:
    args = build_parser().parse_args(["fsd", "-c", "/etc/x.conf", "--yes", "--pidfile", "/p"])
    assert (args.config, args.yes, args.pidfile) == ("/etc/x.conf", True, "/p")
    default = build_parser().parse_args(["fsd"])
    assert (default.yes, default.pidfile) == (False, "/run/pyups/pyups.pid")


def test_pyups_fsd_without_a_terminal_or_yes_exits_2_before_signalling(tmp_path: Path) -> None:
    pidfile = held_pidfile(tmp_path)  # this test process stands in for the daemon
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pyups", "fsd", "--pidfile", pidfile.path],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
            check=False,
            env={**os.environ, "PYUPS_CONFIG": "/dev/null"},
        )
    finally:
        pidfile.__exit__(None, None, None)
    assert result.returncode == 2
    assert result.stderr == (
        "pyups: pyups fsd shuts this host down and needs a confirmation: add --yes\n"
    )


def test_the_question_names_the_command_the_configuration_runs(tmp_path: Path) -> None:
    path = tmp_path / "pyups.conf"
    path.write_text('[shutdown]\ncommand = ["/usr/local/sbin/halt-now", "--soon"]\n')
    assert describe_plan(str(path)) == (
        f" (its configuration {path} runs: /usr/local/sbin/halt-now --soon)"
    )
    path.write_text("[shutdown\n")  # broken: the running monitor has its own, say nothing
    assert describe_plan(str(path)) == ""
