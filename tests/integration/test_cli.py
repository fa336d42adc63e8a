"""The command line as a user meets it: exit codes, one-line errors, the demo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.harness.procs import pids_marked

EXAMPLE = Path(__file__).parents[2] / "etc" / "pyups.conf.example"


def pyups(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyups", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_check_config_accepts_the_shipped_example() -> None:
    result = pyups("check-config", "-c", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{EXAMPLE}: OK, 1 UPS configured",
        "protection: this host goes down when eaton800@localhost:3493 is critical "
        "(1 supply needed)",
    ]


def test_check_config_accepts_interval_alone(tmp_path: Path) -> None:
    config = tmp_path / "pyups.conf"
    config.write_text('[monitor]\ninterval = "1s"\n')
    result = pyups("check-config", "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{config}: OK")


def test_check_config_reports_every_error_at_once_with_exit_78(tmp_path: Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text(
        "[monitor]\n"
        'interval = "fast"\n'
        "colour = 1\n"
        "[[ups]]\n"
        'server = "localhost:99999"\n'
        "[events.ONBAT]\n"
        "enabled = false\n"
    )
    result = pyups("check-config", "-c", str(bad))
    assert result.returncode == 78
    lines = result.stderr.splitlines()
    assert [re.match(r"pyups: [^:]+:(\d+): ([\w.\[\]]+):", line).groups() for line in lines] == [  # type: ignore[union-attr]
        ("2", "monitor.interval"),
        ("3", "monitor.colour"),
        ("4", "ups[0].name"),
        ("5", "ups[0].server"),
        ("6", "events.ONBAT"),
    ]
    assert "Traceback" not in result.stderr


def test_pyups_config_environment_variable_names_the_file(tmp_path: Path) -> None:
    result = pyups("check-config", env={"PYUPS_CONFIG": str(tmp_path / "missing.conf")})
    assert result.returncode == 78
    assert result.stderr.strip() == (
        f"pyups: {tmp_path}/missing.conf: cannot read: No such file or directory; "
        "create it from etc/pyups.conf.example or pass -c FILE"
    )


def test_run_without_config_or_ups_arguments_says_what_to_do() -> None:
    result = pyups("run", env={"PYUPS_CONFIG": ""})
    if Path("/etc/pyups/pyups.conf").exists():
        pytest.fail("this test needs a host without /etc/pyups/pyups.conf")
    assert result.returncode == 78
    assert result.stderr.strip() == (
        "pyups: /etc/pyups/pyups.conf: no configuration file; create one from "
        "etc/pyups.conf.example, pass -c FILE, or name the UPSes to watch: "
        "pyups run eaton800@localhost"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "eaton800@"], "pyups: 'eaton800@': missing host after '@'"),
        (
            ["run", "ups@host:70000"],
            "pyups: 'host:70000': port '70000' must be a number from 1 to 65535",
        ),
        (
            ["run", "ups@localhost", "--interval", "soon"],
            "pyups: --interval: 'soon' is not a duration",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = pyups(*args)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(message), result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    result = pyups("frobnicate")
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr


@pytest.mark.usefixtures("journald")
def test_demo_plays_the_power_cut_and_leaves_no_process_behind() -> None:
    mark = uuid.uuid4().hex  # inherited by the demo's upsd and drivers, and only by them
    started = time.monotonic()
    result = pyups("demo", env={"DEMO_TEST_MARK": mark}, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert elapsed < 45
    assert "demo: the line power fails" in result.stdout
    last = result.stdout.splitlines()[-1]
    assert last == "demo: done: 4 events, in the journal. Read them back with: pyups events -n 4"
    events = re.findall(r"eaton800\s+([A-Z]+)\s", result.stderr)
    assert events == ["STARTUP", "ONBATT", "LOWBATT", "ONLINE"], result.stderr
    assert pids_marked("DEMO_TEST_MARK", mark) == set()


def test_demo_without_journald_says_where_the_entries_went_and_suggests_no_pyups_events() -> None:
    # journald's directory covered by an empty tmpfs, in a mount namespace of the demo's own.
    hide = 'mount -t tmpfs none /run/systemd/journal && exec "$@"'
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", hide, "sh", sys.executable, "-m", "pyups", "demo"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.splitlines()[-1]
    assert last.startswith("demo: done: 4 events, "), last
    assert "journal took" not in last and "Read them back" not in last, last
    # /dev/log is journald's socket on most hosts, so it is gone too; another syslog may take it.
    assert last.endswith("so pyups events has nothing to read back"), last
    assert "on stderr only" in last or "syslog" in last, last


def test_demo_without_nut_installed_names_the_apt_command() -> None:
    hide = 'mount -t tmpfs none /usr/lib/nut && exec "$@"'
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", hide, "sh", sys.executable, "-m", "pyups", "demo"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "pyups: upsd not found in /lib/nut, /usr/lib/nut, /usr/libexec/nut; "
        "install NUT's server with: sudo apt-get install nut-server nut-client"
    )
    assert "Traceback" not in result.stderr


def test_a_broken_rule_expression_names_the_rule_and_position_with_exit_78(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text(
        '[[ups]]\nname = "eaton800"\n\n[[rule]]\nname = "outage"\nif = "OB and battery.charge <"\n'
    )
    result = pyups("check-config", "-c", str(bad))
    assert result.returncode == 78
    assert result.stderr.strip() == (
        f'pyups: {bad}:6: rule[0].if: rule "outage": unexpected end of expression at '
        'position 24 in "OB and battery.charge <"'
    )


def test_check_config_warns_when_the_shutdown_command_cannot_run(tmp_path: Path) -> None:
    config = tmp_path / "pyups.conf"
    config.write_text(
        '[shutdown]\ncommand = ["/nonexistent/poweroff"]\n'
        '[[rule]]\nname = "down"\non = ["LOWBATT"]\ndo = [{ shutdown = true }]\n'
    )
    result = pyups("check-config", "-c", str(config))
    assert result.returncode == 0
    assert result.stderr == (
        f"pyups: warning: {config}: shutdown.command: '/nonexistent/poweroff' is not an "
        "executable program on this host, so this host could not shut itself down\n"
    )
    config.write_text('[shutdown]\ncommand = ["/nonexistent/poweroff"]\n')
    assert pyups("check-config", "-c", str(config)).stderr == ""  # nothing would run it


def test_check_config_warns_about_monitor_shutdown_command_and_says_what_protects(
    tmp_path: Path,
) -> None:
    config = tmp_path / "pyups.conf"
    config.write_text(
        '[monitor]\nshutdown_command = ["/bin/true"]\n'
        '[[ups]]\nname = "ups1"\nusername = "mon"\n'
        '[[ups]]\nname = "ups2"\nserver = "192.0.2.1"\n'
    )
    result = pyups("check-config", "-c", str(config))
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        f"pyups: warning: {config}:2: monitor.shutdown_command: still read, but its place is "
        'now [shutdown]: move it there as command = ["/bin/true"]',
        f"pyups: warning: {config}: ups[1].username: ups2@192.0.2.1:3493 feeds this host "
        "(power = 1) as a secondary without a username: this host does not log in, so its "
        "primary cannot count it and may cut the power before it is down; add username and "
        "password_file (upsd.users: upsmon secondary), or power = 0 to watch it only",
    ]
    assert result.stdout.splitlines() == [
        f"{config}: OK, 2 UPS configured",
        "protection: this host goes down when both ups1@localhost:3493 and "
        "ups2@192.0.2.1:3493 are critical (1 of 2 supplies needed)",
    ]


def test_check_config_refuses_too_few_supplies_with_exit_78(tmp_path: Path) -> None:
    config = tmp_path / "pyups.conf"
    config.write_text('[[ups]]\nname = "ups1"\n[shutdown]\nmin_supplies = 2\n')
    result = pyups("check-config", "-c", str(config))
    assert result.returncode == 78
    assert result.stderr.startswith(
        f"pyups: {config}:4: shutdown.min_supplies: the [[ups]] entries feed 1 supply in all"
    )
