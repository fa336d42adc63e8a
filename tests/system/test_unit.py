"""packaging/systemd/pyups.service under a real systemd, installed by ``make install``.

Each test boots its own system (tests/harness/system.py) with pyups installed, points
/etc/pyups/pyups.conf at a upsd the test started on the host's loopback, and drives the
unit with systemctl from outside, as an administrator would on that host.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

from pyups.sim import NutServer
from tests.harness.system import ROOT, System

from .conftest import CONFIG, configure

Boot = Callable[..., System]

UNIT = "/usr/local/lib/systemd/system/pyups.service"
# A drop-in with short timers, so that a watchdog kill or a restart takes seconds.
DROP_IN = "/etc/systemd/system/pyups.service.d/pyups-test.conf"
STATE = "/var/lib/pyups/state.json"


def events(system: System) -> list[str]:
    """PYUPS_EVENT of every pyups entry so far (once journald has taken in all it got)."""
    system.run("journalctl", "--sync", check=True)
    entries = system.entries("SYSLOG_IDENTIFIER=pyups")
    return [e["PYUPS_EVENT"] for e in entries if "PYUPS_EVENT" in e]


def wait_event(system: System, name: str, timeout: float = 20.0) -> None:
    system.wait_until(f"a {name} entry", lambda: name in events(system), timeout)


def wait_message(system: System, pattern: str, timeout: float = 20.0) -> str:
    """The first message of pyups.service (or of systemd about it) matching ``pattern``."""
    found: list[str] = []

    def seen() -> bool:
        found[:] = [m for m in system.messages() if re.search(pattern, m)]
        return bool(found)

    system.wait_until(f"a message matching {pattern!r}", seen, timeout)
    return found[0]


def enable_now(system: System) -> None:
    system.run("systemctl", "enable", "--now", "pyups", timeout=60, check=True)


def drop_in(system: System, text: str) -> None:
    path = system.path(DROP_IN)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    system.run("systemctl", "daemon-reload", check=True)


def test_the_installed_unit_is_the_shipped_one(boot: Boot) -> None:
    system = boot()
    shipped = (ROOT / "packaging/systemd/pyups.service").read_bytes()
    assert system.path(UNIT).read_bytes() == shipped
    # The late-shutdown hook too (PREFIX=/usr/local: its path to pyups is the shipped one).
    hook = system.path("/usr/lib/systemd/system-shutdown/pyups")
    assert hook.read_bytes() == (ROOT / "packaging/systemd/system-shutdown/pyups").read_bytes()
    assert hook.stat().st_mode & 0o777 == 0o755
    shown = system.show("pyups", "DropInPaths", "LoadState", "UnitFileState")
    assert shown == {"DropInPaths": "", "LoadState": "loaded", "UnitFileState": "disabled"}


def test_start_returns_only_after_ready(boot: Boot, nut: NutServer) -> None:
    system = boot()
    configure(system, nut)
    enable_now(system)
    # READY=1 comes after the first poll, so its STARTUP entry is in the journal already,
    # before systemd's own "Started" entry for the unit.
    assert "STARTUP" in events(system)
    messages = system.messages()
    startup = [i for i, m in enumerate(messages) if m.startswith("UPS eaton800 monitored")]
    started = [i for i, m in enumerate(messages) if m.startswith("Started pyups.service")]
    assert startup and started and startup[0] < started[0], messages
    shown = system.show("pyups", "ActiveState", "SubState", "UnitFileState", "Type")
    assert shown == {
        "ActiveState": "active", "SubState": "running", "UnitFileState": "enabled",
        "Type": "notify",
    }  # fmt: skip


def test_status_text_shows_the_ups_and_follows_a_power_cut(boot: Boot, nut: NutServer) -> None:
    system = boot()
    configure(system, nut)
    enable_now(system)
    assert system.show("pyups", "StatusText")["StatusText"].startswith("eaton800: OL")
    nut.set_status("OB DISCHRG")

    def on_battery() -> bool:
        return system.show("pyups", "StatusText")["StatusText"].startswith("eaton800: OB DISCHRG")

    system.wait_until("StatusText on battery", on_battery, 15)
    status = system.run("systemctl", "status", "--no-pager", "pyups").stdout
    assert 'Status: "eaton800: OB DISCHRG' in status, status


RULE = """
[[rule]]
name = "{name}"
on = ["ONBATT"]
message = "rule {name} saw {{ups}} on battery"
"""


def test_reload_applies_a_good_file_and_refuses_a_broken_one(boot: Boot, nut: NutServer) -> None:
    system = boot()
    configure(system, nut)
    enable_now(system)
    pid = system.show("pyups", "MainPID")["MainPID"]
    configure(system, nut, RULE.format(name="after-reload"))
    system.run("systemctl", "reload", "pyups", check=True)
    wait_message(system, r"^configuration reloaded, monitoring eaton800")

    system.path(CONFIG).write_text('[monitor]\ninterval = "fast"\n')
    system.run("systemctl", "reload", "pyups", check=True)
    refused = wait_message(system, r"^configuration reload refused, the running one stays")
    assert "interval" in refused, refused
    shown = system.show("pyups", "ActiveState", "MainPID", "NRestarts")
    assert shown == {"ActiveState": "active", "MainPID": pid, "NRestarts": "0"}

    # The good file is the one running: its rule fires.
    nut.set_status("OB DISCHRG")
    wait_message(system, r"^rule after-reload saw eaton800 on battery$")


def test_a_hung_pyups_is_killed_and_restarted_by_the_watchdog(boot: Boot, nut: NutServer) -> None:
    system = boot()
    configure(system, nut)
    drop_in(system, "[Service]\nWatchdogSec=3s\nTimeoutAbortSec=2s\nRestartSec=1s\n")
    enable_now(system)
    assert system.show("pyups", "WatchdogUSec")["WatchdogUSec"] == "3s"
    time.sleep(4)  # pings keep it alive past WatchdogSec while it polls
    first = system.show("pyups", "MainPID", "NRestarts")
    assert first["NRestarts"] == "0"
    system.run("kill", "-STOP", first["MainPID"], check=True)  # a PID inside the system

    def restarted() -> bool:
        shown = system.show("pyups", "NRestarts", "ActiveState", "SubState")
        return shown == {"NRestarts": "1", "ActiveState": "active", "SubState": "running"}

    system.wait_until("a restart through the watchdog", restarted, 30)
    assert system.show("pyups", "MainPID")["MainPID"] != first["MainPID"]
    wait_message(system, r"^pyups\.service: Watchdog timeout \(limit 3s\)!$")


def test_a_configuration_error_exit_78_is_not_restarted(boot: Boot, nut: NutServer) -> None:
    system = boot()
    assert system.show("pyups", "RestartPreventExitStatus")["RestartPreventExitStatus"] == "78"
    drop_in(system, "[Service]\nRestartSec=1s\n")
    configure(system, nut)
    system.path(CONFIG).write_text(system.path(CONFIG).read_text() + "colour = 'blue'\n")
    started = system.run("systemctl", "start", "pyups", timeout=60)
    assert started.returncode != 0
    time.sleep(3)  # three times RestartSec
    shown = system.show("pyups", "ActiveState", "Result", "ExecMainStatus", "NRestarts")
    assert shown == {
        "ActiveState": "failed", "Result": "exit-code", "ExecMainStatus": "78", "NRestarts": "0"
    }  # fmt: skip
    wait_message(system, r"colour")


def test_stop_is_clean_and_writes_the_state_file(boot: Boot, nut: NutServer) -> None:
    system = boot()
    configure(system, nut)
    enable_now(system)
    nut.set_status("OB DISCHRG")
    wait_event(system, "ONBATT")
    began = time.monotonic()
    system.run("systemctl", "stop", "pyups", check=True)
    assert time.monotonic() - began < 10
    shown = system.show("pyups", "ActiveState", "Result", "ExecMainCode", "ExecMainStatus")
    assert shown == {
        "ActiveState": "inactive", "Result": "success", "ExecMainCode": "1", "ExecMainStatus": "0"
    }  # fmt: skip
    wait_message(system, r"^pyups stopping")
    assert not [m for m in system.messages() if "SIGKILL" in m or "Killing" in m]
    saved = json.loads(system.path(STATE).read_text())
    assert saved["ups"][f"eaton800@{nut.server}"]["status"] == "OB DISCHRG"


PROBE = """
[[rule]]
name = "probe"
on = ["ONBATT"]
do = [{ exec = ["/bin/sh", "-c", '''
out=/var/lib/pyups/probe
echo "event=$PYUPS_EVENT ups=$PYUPS_UPS" > $out
grep CapEff /proc/self/status >> $out
touch /etc/pyups-probe 2>> $out || echo "etc: read-only" >> $out
echo shared > /tmp/pyups-probe && echo "tmp: writable" >> $out
'''] }]
"""


def test_an_exec_action_runs_inside_the_sandbox(boot: Boot, nut: NutServer) -> None:
    system = boot()
    configure(system, nut, PROBE)
    enable_now(system)
    nut.set_status("OB DISCHRG")
    probe = system.path("/var/lib/pyups/probe")
    system.wait_until(
        "the action's output",
        lambda: "tmp: writable" in (probe.read_text() if probe.exists() else ""),
        20,
    )
    lines = probe.read_text().splitlines()
    assert lines[0] == "event=ONBATT ups=eaton800"
    assert lines[1] == "CapEff:\t0000000000000000"  # no capability at all
    assert "Read-only file system" in lines[2] and lines[3] == "etc: read-only"
    assert not system.path("/etc/pyups-probe").exists()
    assert not system.path("/tmp/pyups-probe").exists()  # its /tmp is private
    wait_event(system, "ACTION")


def test_events_reach_var_log_syslog_through_rsyslog(boot: Boot, nut: NutServer) -> None:
    system = boot(unmask=("rsyslog.service", "syslog.socket"))
    configure(system, nut)
    enable_now(system)
    pid = system.show("pyups", "MainPID")["MainPID"]
    nut.set_status("OB DISCHRG")
    syslog = system.path("/var/log/syslog")
    # Debian's rsyslog.conf writes RFC 3339 time stamps: "2026-11-27T16:49:46.117206+00:00 HOST".
    line = re.compile(rf"^\d{{4}}-\d\d-\d\dT\S+ \S+ pyups\[{pid}\]: UPS eaton800 on battery$", re.M)
    system.wait_until(
        "the ONBATT line in /var/log/syslog",
        lambda: line.search(syslog.read_text(errors="replace")),
        20,
    )
    assert re.search(rf"pyups\[{pid}\]: pyups \S+ started", syslog.read_text(errors="replace"))
