"""pyups list/status/commands/cmd/set against a real upsd, side by side with upsc and upscmd."""

from __future__ import annotations

import functools
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyups.sim import NutServer, free_port
from tests.harness.fakeupsd import FakeUpsd
from tests.harness.pyups import cli as run_cli
from tests.harness.wait import repeat_until

cli = functools.partial(run_cli, timeout=30)
VIEWER = "[viewer]\n  password = viewpass\n"  # may log in, may neither SET nor run commands


@pytest.fixture(scope="module")
def upsd() -> Iterator[NutServer]:
    """One upsd for the tests that leave the UPS as they found it; a viewer user too. upsd's
    default MAXAGE: at 3 s, dummy-ups 2.8.0 (which answers upsd's PING only between its
    one-second sleeps) now and then let the data go stale under load."""
    with NutServer(extra_users=VIEWER) as server:
        yield server


@pytest.fixture
def secret(tmp_path: Path, upsd: NutServer) -> str:
    path = tmp_path / "admin.secret"
    path.write_text(upsd.admin_password + "\n")
    path.chmod(0o600)
    return str(path)


def nut_tool(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=True, timeout=30)
    return done.stdout


def one_line_error(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The single stderr line of a failed command (no traceback, nothing on stdout)."""
    assert done.returncode == code, (done.returncode, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("pyups: ")
    return lines[0]


# -- the same output as NUT's own tools ---------------------------------------------------------


def test_list_prints_what_upsc_dash_l_prints(upsd: NutServer) -> None:
    done = cli("list", str(upsd.server))
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout == nut_tool("upsc", "-L", str(upsd.server)) == "eaton800: Simulated eaton800\n"
    )


def test_status_prints_what_upsc_prints(upsd: NutServer) -> None:
    done = cli("status", upsd.address())
    assert done.returncode == 0, done.stderr
    assert done.stdout == nut_tool("upsc", upsd.address())
    assert "ups.status: OL CHRG\n" in done.stdout


def test_status_of_one_variable_prints_its_bare_value(upsd: NutServer) -> None:
    done = cli("status", upsd.address(), "battery.charge")
    assert done.returncode == 0, done.stderr
    assert done.stdout == nut_tool("upsc", upsd.address(), "battery.charge") == "100\n"


def test_commands_prints_what_upscmd_dash_l_prints(upsd: NutServer) -> None:
    done = cli("commands", upsd.address())
    assert done.returncode == 0, done.stderr
    assert done.stdout == nut_tool("upscmd", "-l", upsd.address())
    assert "load.off - Turn off the load immediately" in done.stdout


def test_host_defaults_to_localhost(upsd: NutServer) -> None:
    """``pyups status eaton800`` means eaton800@localhost:3493, as with upsc."""
    done = cli("status", "eaton800", "--timeout", "2s")
    local = subprocess.run(["upsc", "eaton800"], capture_output=True, text=True, check=False)
    if local.returncode == 0:
        assert done.stdout == local.stdout
    else:
        assert "localhost:3493" in one_line_error(done)


# -- JSON -----------------------------------------------------------------------------------------


def test_json_documents_have_stable_keys(upsd: NutServer) -> None:
    listed = json.loads(cli("list", str(upsd.server), "--json").stdout)
    assert listed == {
        "server": str(upsd.server),
        "ups": [{"name": "eaton800", "description": "Simulated eaton800"}],
    }
    status = json.loads(cli("status", upsd.address(), "--json").stdout)
    assert set(status) == {"ups", "server", "vars"}
    assert (status["ups"], status["server"]) == ("eaton800", str(upsd.server))
    assert status["vars"]["ups.status"] == "OL CHRG"
    assert status["vars"]["battery.charge"] == "100"  # values stay strings, exactly as sent
    one = json.loads(cli("status", upsd.address(), "battery.runtime", "--json").stdout)
    assert one == {
        "ups": "eaton800",
        "server": str(upsd.server),
        "var": "battery.runtime",
        "value": status["vars"]["battery.runtime"],
    }
    commands = json.loads(cli("commands", upsd.address(), "--json").stdout)
    assert commands == {
        "ups": "eaton800",
        "server": str(upsd.server),
        "commands": [{"name": "load.off", "description": "Turn off the load immediately"}],
    }


# -- cmd and set, and where the password comes from --------------------------------------------


def test_cmd_with_a_password_file_runs_the_command(upsd: NutServer, secret: str) -> None:
    done = cli("cmd", upsd.address(), "load.off", "-u", upsd.admin_user, "--password-file", secret)
    assert (done.returncode, done.stdout, done.stderr) == (0, "OK\n", "")


def test_cmd_takes_the_password_from_the_environment(upsd: NutServer) -> None:
    done = cli(
        "cmd", upsd.address(), "load.off", "-u", upsd.admin_user, "--json",
        env={"PYUPS_PASSWORD": upsd.admin_password},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "ups": "eaton800",
        "server": str(upsd.server),
        "user": upsd.admin_user,
        "command": "load.off",
        "value": None,
        "result": "OK",
    }


def test_cmd_takes_user_and_password_from_the_config(upsd: NutServer, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text(upsd.admin_password)
    config = tmp_path / "pyups.conf"
    config.write_text(
        f'[[ups]]\nname = "eaton800"\nserver = "{upsd.server}"\n'
        f'username = "{upsd.admin_user}"\npassword_file = "secret"\n'
    )
    config.chmod(0o600)
    done = cli("cmd", upsd.address(), "load.off", "-c", str(config))
    assert (done.returncode, done.stdout) == (0, "OK\n"), done.stderr


def test_a_password_file_beats_the_environment(upsd: NutServer, secret: str) -> None:
    done = cli(
        "cmd", upsd.address(), "load.off", "-u", upsd.admin_user, "--password-file", secret,
        env={"PYUPS_PASSWORD": "not-the-password"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_cmd_asks_for_the_password_on_a_terminal(upsd: NutServer) -> None:
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "pyups", "cmd", upsd.address(), "load.off", "-u", upsd.admin_user],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**os.environ, "PYUPS_CONFIG": "/dev/null"},
        text=True,
    )
    os.close(slave)
    try:
        seen = _read_until(master, b"Password for pyups-admin on ")
        assert b"Password for pyups-admin on " in seen
        os.write(master, upsd.admin_password.encode() + b"\n")
        out, _ = process.communicate(timeout=30)
        assert (process.returncode, out) == (0, "OK\n")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


def _read_until(fd: int, marker: bytes, timeout: float = 20) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            seen += os.read(fd, 1024)
    return seen


def test_set_with_spaces_reads_back_exactly(upsd: NutServer, secret: str) -> None:
    value = "lead  acid, 12 V (sealed)"
    done = cli(
        "set", upsd.address(), f"battery.type={value}", "-u", upsd.admin_user,
        "--password-file", secret,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "OK\n"), done.stderr
    upsd.wait_for("eaton800", "battery.type", value)
    assert cli("status", upsd.address(), "battery.type").stdout == value + "\n"
    assert nut_tool("upsc", upsd.address(), "battery.type") == value + "\n"
    upsd.set_var("eaton800", "battery.type", "PbAc")


def test_a_group_readable_password_file_is_used_with_a_warning(
    upsd: NutServer, secret: str
) -> None:
    os.chmod(secret, 0o644)
    done = cli("cmd", upsd.address(), "load.off", "-u", upsd.admin_user, "--password-file", secret)
    assert done.returncode == 0
    warning = f"{secret} is readable by other users; protect it with: chmod 600 {secret}"
    assert done.stderr == f"pyups: warning: {warning}\n"


# -- usage errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["-p", "--password"])
def test_a_password_on_the_command_line_is_refused(upsd: NutServer, flag: str) -> None:
    done = cli("cmd", upsd.address(), "load.off", "-u", upsd.admin_user, flag, "hunter2")
    assert done.returncode == 2
    assert "--password-file FILE, $PYUPS_PASSWORD" in done.stderr
    assert "Traceback" not in done.stderr


def test_without_a_password_and_no_terminal_says_where_to_put_one(upsd: NutServer) -> None:
    line = one_line_error(cli("cmd", upsd.address(), "load.off", "-u", upsd.admin_user), 2)
    assert "no password for upsd user 'pyups-admin'" in line
    assert "--password-file FILE" in line


def test_without_a_user_says_how_to_name_one(upsd: NutServer) -> None:
    line = one_line_error(cli("set", upsd.address(), "battery.type=x"), 2)
    assert "needs an upsd user: pass -u USER" in line


def test_set_without_an_equals_sign_is_a_usage_error(upsd: NutServer) -> None:
    line = one_line_error(cli("set", upsd.address(), "battery.type", "-u", "x"), 2)
    assert "expected VAR=VALUE" in line


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("status", "eaton800@[::1"), "'[::1': unclosed '[' in IPv6 address (write [::1]:3493)"),
        (("list", "localhost:99999"), "port '99999' must be a number from 1 to 65535"),
        (("status", "eaton800@host:port"), "port 'port' must be a number"),
        (("status", "eaton800", "--timeout", "soon"), "--timeout: "),
    ],
)
def test_a_bad_address_or_timeout_is_a_usage_error(args: tuple[str, ...], says: str) -> None:
    assert says in one_line_error(cli(*args), 2)


# -- every upsd refusal, in words --------------------------------------------------------------


def test_a_wrong_password_is_refused_and_says_so(upsd: NutServer) -> None:
    done = cli(
        "cmd", upsd.address(), "load.off", "-u", upsd.admin_user,
        env={"PYUPS_PASSWORD": "wrong-password"},
    )  # fmt: skip
    line = one_line_error(done)
    assert "ACCESS-DENIED" in line and "the password is wrong" in line
    assert "wrong-password" not in line


def test_a_user_without_instcmds_is_told_which_setting_is_missing(upsd: NutServer) -> None:
    done = cli(
        "cmd", upsd.address(), "load.off", "-u", "viewer", env={"PYUPS_PASSWORD": "viewpass"}
    )
    line = one_line_error(done)
    assert "ACCESS-DENIED" in line
    assert 'upsd.users does not give [viewer] "instcmds = load.off" (or ALL)' in line


def test_a_user_without_set_is_told_which_setting_is_missing(upsd: NutServer) -> None:
    done = cli(
        "set", upsd.address(), "battery.type=x", "-u", "viewer",
        env={"PYUPS_PASSWORD": "viewpass"},
    )  # fmt: skip
    line = one_line_error(done)
    assert 'upsd.users does not give [viewer] "actions = SET"' in line


def test_an_unknown_command_lists_the_supported_ones(upsd: NutServer, secret: str) -> None:
    done = cli(
        "cmd", upsd.address(), "test.battery.start", "-u", upsd.admin_user,
        "--password-file", secret,
    )  # fmt: skip
    line = one_line_error(done)
    assert "no instant command 'test.battery.start'" in line
    assert line.endswith("(CMD-NOT-SUPPORTED); it offers: load.off")


def test_an_unknown_ups_lists_the_declared_ones(upsd: NutServer) -> None:
    line = one_line_error(cli("status", f"eaton900@{upsd.server}"))
    assert line == (
        f"pyups: eaton900@{upsd.server}: upsd has no UPS named 'eaton900' (UNKNOWN-UPS); "
        "it declares: eaton800"
    )


def test_an_unknown_variable_suggests_close_names(upsd: NutServer) -> None:
    line = one_line_error(cli("status", upsd.address(), "battery.chrage"))
    assert "no variable 'battery.chrage' on this UPS (VAR-NOT-SUPPORTED)" in line
    assert "did you mean battery.charge" in line


def test_a_closed_port_says_upsd_is_not_listening() -> None:
    port = free_port()
    line = one_line_error(cli("list", f"127.0.0.1:{port}"))
    assert line == (
        f"pyups: 127.0.0.1:{port}: connection refused by 127.0.0.1:{port}; "
        "is upsd running and listening there (upsd.conf LISTEN)?"
    )


def test_an_unknown_host_says_the_name_does_not_resolve() -> None:
    line = one_line_error(cli("status", "eaton800@no-such-host.invalid"))
    assert "cannot resolve host name 'no-such-host.invalid'" in line


def test_a_silent_server_times_out(fake_upsd: FakeUpsd) -> None:
    fake_upsd.mode = "silent"
    started = time.monotonic()
    line = one_line_error(cli("status", fake_upsd.address, "--timeout", "0.5s"))
    assert time.monotonic() - started < 10
    assert "no answer within 0.5 s" in line


def failed(done: subprocess.CompletedProcess[str]) -> bool:
    return done.returncode != 0


def test_a_killed_driver_says_how_to_start_it(nut: NutServer) -> None:
    nut.stop_driver("eaton800")
    # upsd says WAIT at first
    done = repeat_until(lambda: cli("status", nut.address()), failed, 10, every=0.2)
    line = one_line_error(done)
    assert "the UPS driver is not running (DRIVER-NOT-CONNECTED)" in line
    assert "`upsdrvctl start eaton800`" in line


def test_a_frozen_driver_reports_stale_data(nut: NutServer) -> None:
    os.kill(nut.driver_pid("eaton800"), signal.SIGSTOP)
    try:
        status = functools.partial(cli, "status", nut.address(), "ups.status")
        done = repeat_until(status, failed, 20, every=0.5)
        line = one_line_error(done)
        assert "stopped sending fresh data (DATA-STALE)" in line
    finally:
        os.kill(nut.driver_pid("eaton800"), signal.SIGCONT)


# -- values with quotes and backslashes, through a fake server ---------------------------------


def test_escaped_values_are_shown_exactly(fake_upsd: FakeUpsd) -> None:
    tricky = 'say "hi" \\ then # not a comment'
    fake_upsd.vars["ups.id"] = tricky
    assert cli("status", fake_upsd.address, "ups.id").stdout == tricky + "\n"
    assert f"ups.id: {tricky}\n" in cli("status", fake_upsd.address).stdout
    document = json.loads(cli("status", fake_upsd.address, "--json").stdout)
    assert document["vars"]["ups.id"] == tricky


def test_set_and_cmd_values_arrive_exactly(fake_upsd: FakeUpsd) -> None:
    tricky = 'room "B" \\ rack #4'
    env = {"PYUPS_PASSWORD": "anything"}
    done = cli("set", fake_upsd.address, f"ups.id={tricky}", "-u", "admin", env=env)
    assert done.returncode == 0, done.stderr
    assert fake_upsd.vars["ups.id"] == tricky
    done = cli("cmd", fake_upsd.address, "beeper.mute", tricky, "-u", "admin", env=env)
    assert done.returncode == 0, done.stderr
    assert fake_upsd.commands == [("beeper.mute", tricky)]
