"""Protection (DESIGN §10) against a real upsd + dummy-ups: pyups takes the host down when it
must — with a harmless recording command — and only then.

upsd keeps FSD set until the driver restarts, so the tests that set FSD each start a server of
their own; the others share one, and each puts its UPS back on line power when it is done.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyups.nut import Attach, Connection
from pyups.service.flag import MAGIC
from pyups.sim import NutServer, SimulatorError, eaton800
from tests.harness import wait
from tests.harness.config import checked_config, shutdown_recorder
from tests.harness.pyups import Entry, Pyups, cli, read_journal
from tests.harness.users import PASSWORDS, upsd_users
from tests.integration.test_power_race import upsmon_k

Start = Callable[..., Pyups]

USERS = upsd_users()
ONLINE = "OL CHRG"


@pytest.fixture(scope="module")
def shared() -> Iterator[NutServer]:
    """One upsd for the tests that set no FSD on it."""
    with NutServer(extra_users=USERS) as server:
        yield server


@pytest.fixture
def upsd(shared: NutServer) -> Iterator[NutServer]:
    """The shared upsd, answering, its UPS back on line power after the test."""
    yield shared
    try:
        assert shared.upsd_pid
    except SimulatorError:  # the test left it down
        upsd_back(shared)
    change(shared, ONLINE)


def upsd_gone(nut: NutServer) -> None:
    """upsd stops answering. Its drivers go too: dummy-ups 2.8.0 left without its upsd leaks
    a descriptor each time it tries again, and aborts (DESIGN §7)."""
    nut.stop_upsd()
    for name in nut.devices:
        nut.stop_driver(name)


def upsd_back(nut: NutServer) -> None:
    """upsd and fresh drivers again (their UPSes back to the .dev file's status, on line)."""
    for name in nut.devices:
        nut.start_driver(name)
    nut.start_upsd()
    nut.wait_ready()


@pytest.fixture
def fresh() -> Iterator[NutServer]:
    """A upsd of the test's own, for a test that leaves FSD set on it."""
    with NutServer(extra_users=USERS) as server:
        yield server


def change(nut: NutServer, status: str, ups: str = "eaton800") -> None:
    """Set the UPS's status and wait until upsd shows it (maybe with the FSD a primary raised
    at once). Under load a SET VAR now and then never reaches a busy dummy-ups 2.8.0: it is
    sent again, at most three times in all."""
    for _ in range(2):
        nut.set_status(status, ups)
        with contextlib.suppress(SimulatorError):
            nut.wait_for_status(ups, status, timeout=4)
            return
    nut.set_status(status, ups)
    nut.wait_for_status(ups, status)


def ups_status(nut: NutServer, ups: str = "eaton800") -> str:
    with contextlib.closing(Connection(nut.server, 5.0)) as observer:
        return observer.list_vars(ups)["ups.status"]


def config(
    tmp_path: Path,
    nut: NutServer,
    *,
    user: str | None = "monprimary",
    role: str = "primary",
    upses: tuple[str, ...] = ("eaton800",),
    shutdown: str = "",
    rules: str = "",
    **monitor: str,
) -> str:
    """A checked config protecting this host with ``upses`` on ``nut``: short timers, the
    recording command (unless ``shutdown`` names one), a flag of the test's own."""
    settings = {
        "interval": '"0.3s"',
        "interval_alert": '"0.3s"',
        "timeout": '"1s"',
        "dead_time": '"3s"',
        "state_file": f'"{tmp_path}/state.json"',
        **monitor,
    }
    if "command =" not in shutdown:
        shutdown = f'command = ["{shutdown_recorder(tmp_path)}"]\n{shutdown}'
    keys = ("final_delay", "host_sync", "powerdown_flag")
    defaults = {"final_delay": '"0s"', "host_sync": '"1s"', "powerdown_flag": f'"{flag(tmp_path)}"'}
    shutdown += "".join(f"{k} = {defaults[k]}\n" for k in keys if f"{k} =" not in shutdown)
    login = ""
    if user is not None:
        secret = tmp_path / f"{user}.secret"
        secret.write_text(PASSWORDS[user] + "\n")
        secret.chmod(0o600)
        login = f'username = "{user}"\npassword_file = "{secret}"\n'
    tables = "".join(
        f'[[ups]]\nname = "{name}"\nserver = "{nut.server}"\nrole = "{role}"\n{login}'
        for name in upses
    )
    (tmp_path / "run").mkdir(exist_ok=True)
    return checked_config(tmp_path, settings, f"[shutdown]\n{shutdown}{tables}{rules}")


def flag(tmp_path: Path) -> Path:
    return tmp_path / "run" / "killpower"


def recorded(tmp_path: Path) -> list[str]:
    """What the recording shutdown command was run with, one line per run."""
    log = tmp_path / "shutdown.log"
    return log.read_text().splitlines() if log.exists() else []


def named(entries: list[Entry], event: str) -> list[Entry]:
    return [e for e in entries if e.get("PYUPS_EVENT") == event]


def notes(entries: list[Entry]) -> list[str]:
    return [e["MESSAGE"] for e in entries if "PYUPS_EVENT" not in e]


def at(entry: Entry) -> float:
    return int(entry["__REALTIME_TIMESTAMP"]) / 1e6


def wait_recorded(tmp_path: Path, count: int = 1, timeout: float = 10.0) -> list[str]:
    """What the recording command was run with, once it has run ``count`` times."""

    def runs() -> list[str] | None:
        lines = recorded(tmp_path)
        return lines if len(lines) >= count else None

    return wait.wait_until(runs, timeout, every=0.1, what=f"{count} run(s) of the command")


# ---- a primary takes the host down ---------------------------------------------------------


def test_a_primary_on_low_battery_sets_fsd_runs_its_steps_writes_the_flag_and_shuts_down_once(
    fresh: NutServer, pyups: Start, tmp_path: Path
) -> None:
    steps = tmp_path / "steps.log"
    before = ", ".join(
        f'{{ exec = ["/bin/sh", "-c", "echo {word} >> {steps}"], timeout = "5s" }}'
        for word in ("first", "second")
    )
    run = pyups("run", "-c", config(tmp_path, fresh, shutdown=f"before = [{before}]\n"))
    run.wait_event("STARTUP")
    change(fresh, "OB LB")
    shutdown = run.wait_event("SHUTDOWN")
    assert shutdown["PRIORITY"] == "0"
    assert "eaton800" in shutdown["MESSAGE"]
    assert wait_recorded(tmp_path) == [""]
    assert ups_status(fresh).split()[0] == "FSD"  # upsd shows it to every host: "FSD OB LB"
    assert steps.read_text() == "first\nsecond\n"
    actions = [e["MESSAGE"] for e in named(run.entries(), "ACTION")]
    assert [a.split(" ")[:3] for a in actions[:2]] == [
        ["before", "step", "1"],
        ["before", "step", "2"],
    ]
    assert flag(tmp_path).read_bytes() == MAGIC
    (tmp_path / "upsmon.conf").write_text(f"POWERDOWNFLAG {flag(tmp_path)}\n")
    upsmon = upsmon_k(tmp_path)
    assert upsmon.returncode == 0, upsmon.stderr  # NUT's own late hook would cut the power
    time.sleep(0.6)  # polls go on with FSD and LB: nothing starts a second time
    assert recorded(tmp_path) == [""]
    assert len(named(run.entries(), "SHUTDOWN")) == 1
    assert run.process.poll() is None  # still monitoring


def test_pyups_fsd_makes_the_running_daemon_shut_the_host_down_now(
    journald: None, fresh: NutServer, tmp_path: Path
) -> None:
    pidfile = tmp_path / "run" / "pyups.pid"
    path = config(tmp_path, fresh)
    since = time.time()
    started = cli("daemon", "-c", path, "--pidfile", str(pidfile))
    assert started.returncode == 0, started.stderr
    try:
        wait.wait_until(lambda: pidfile.exists() and pidfile.read_text().strip().isdigit(), 10)
        pid = int(pidfile.read_text())
        wait.wait_until(lambda: named(read_journal(pid, since), "STARTUP"), 10, every=0.1)
        asked = cli("fsd", "--yes", "--pidfile", str(pidfile))
        assert asked.returncode == 0, asked.stderr
        assert f"asked PID {pid}" in asked.stderr
        assert wait_recorded(tmp_path) == [""]
        (shutdown,) = named(read_journal(pid, since), "SHUTDOWN")
        assert shutdown["MESSAGE"] == "Executing automatic power-fail shutdown: forced by pyups fsd"
        assert ups_status(fresh).split()[0] == "FSD"
        time.sleep(0.5)
        assert recorded(tmp_path) == [""]
    finally:
        stopped = cli("stop", "--pidfile", str(pidfile))
        assert stopped.returncode == 0, stopped.stderr


def test_a_monitor_that_only_watches_ignores_a_stray_fsd_signal(
    upsd: NutServer, pyups: Start, tmp_path: Path
) -> None:
    path = config(tmp_path, upsd, user=None, role="secondary")
    watch_only = (
        Path(path).read_text().replace('role = "secondary"\n', 'role = "secondary"\npower = 0\n')
    )
    Path(path).write_text(watch_only)
    run = pyups("run", "-c", path)
    run.wait_event("STARTUP")
    run.process.send_signal(signal.SIGUSR1)  # what pyups fsd sends
    wait.wait_until(lambda: any("ignored, no UPS feeds" in n for n in notes(run.entries())), 10)
    time.sleep(0.5)
    assert named(run.entries(), "SHUTDOWN") == []
    assert recorded(tmp_path) == []
    assert run.process.poll() is None


def test_fsd_already_set_on_upsd_when_pyups_starts_shuts_the_host_down_exactly_once(
    fresh: NutServer, pyups: Start, tmp_path: Path
) -> None:
    other = Connection(
        fresh.server, 5.0, "monprimary", "primary-secret", attach=Attach("eaton800", primary=True)
    )
    with contextlib.closing(other):  # another host's primary, gone down already
        other.list_vars("eaton800")
        other.set_fsd("eaton800")
    assert ups_status(fresh).split()[0] == "FSD"
    run = pyups("run", "-c", config(tmp_path, fresh, user="monsecondary", role="secondary"))
    run.wait_event("SHUTDOWN")
    assert wait_recorded(tmp_path) == [""]
    time.sleep(0.6)
    assert recorded(tmp_path) == [""]
    assert len(named(run.entries(), "SHUTDOWN")) == 1


def test_change_sees_a_status_that_upsd_serves_behind_the_fsd_a_primary_raised(
    fresh: NutServer,
) -> None:
    other = Connection(
        fresh.server, 5.0, "monprimary", "primary-secret", attach=Attach("eaton800", primary=True)
    )
    with contextlib.closing(other):  # a primary that reacted at once
        other.list_vars("eaton800")
        other.set_fsd("eaton800")
        change(fresh, "OB LB")
        assert ups_status(fresh) == "FSD OB LB"
        with pytest.raises(SimulatorError, match="did not become 'OB LB'"):
            fresh.wait_for("eaton800", "ups.status", "OB LB", timeout=0.3)


def test_waiting_for_a_variable_upsd_does_not_serve_times_out(shared: NutServer) -> None:
    with pytest.raises(SimulatorError, match="did not become"):
        shared.wait_for("eaton800", "no.such.variable", "x", timeout=0.3)
    with pytest.raises(SimulatorError, match="did not become"):
        shared.wait_for_status("eaton800", "OB", timeout=0.3)


# ---- what must not take the host down, and what must --------------------------------------


def test_upsd_silent_shorter_than_dead_time_while_on_battery_is_only_commbad_then_commok(
    upsd: NutServer, pyups: Start, tmp_path: Path
) -> None:
    path = config(tmp_path, upsd, user="monsecondary", role="secondary", dead_time='"5s"')
    run = pyups("run", "-c", path)
    run.wait_event("STARTUP")
    change(upsd, "OB DISCHRG")
    run.wait_event("ONBATT")
    upsd_gone(upsd)
    run.wait_event("COMMBAD")
    upsd_back(upsd)  # about 2 s: dummy-ups takes a second to start
    run.wait_event("COMMOK", timeout=10)
    time.sleep(0.6)
    events = run.events()
    assert "SHUTDOWN" not in events, events
    assert recorded(tmp_path) == []


def test_upsd_silent_for_dead_time_while_on_battery_shuts_the_host_down(
    upsd: NutServer, pyups: Start, tmp_path: Path
) -> None:
    run = pyups("run", "-c", config(tmp_path, upsd, user="monsecondary", role="secondary"))
    run.wait_event("STARTUP")
    change(upsd, "OB DISCHRG")
    run.wait_event("ONBATT")
    upsd_gone(upsd)
    commbad = run.wait_event("COMMBAD")
    shutdown = run.wait_event("SHUTDOWN", timeout=10)
    assert "silent for" in shutdown["MESSAGE"] and "while on battery" in shutdown["MESSAGE"]
    assert at(shutdown) - at(commbad) >= 3.0 - 0.6  # dead_time from the last good poll
    assert wait_recorded(tmp_path) == [""]


def test_redundant_supplies_keep_the_host_up_until_both_upses_are_critical(
    pyups: Start, tmp_path: Path
) -> None:
    devices = {"ups1": eaton800(), "ups2": eaton800()}
    with NutServer(devices, extra_users=USERS) as nut:
        path = config(tmp_path, nut, upses=("ups1", "ups2"), shutdown="min_supplies = 1\n")
        run = pyups("run", "-c", path)
        run.wait_event("STARTUP", count=2)
        change(nut, "OB LB", "ups1")
        run.wait_event("LOWBATT")
        time.sleep(1.0)  # a primary's OB LB is critical at once: one supply is still fed
        assert "SHUTDOWN" not in run.events()
        change(nut, "OB LB", "ups2")
        shutdown = run.wait_event("SHUTDOWN")
        assert "ups2" in shutdown["MESSAGE"]
        assert wait_recorded(tmp_path) == [""]


# ---- failures are alarms, never exits -------------------------------------------------------


def test_a_failing_command_is_shutdown_failed_tried_again_and_pyups_keeps_monitoring(
    upsd: NutServer, pyups: Start, tmp_path: Path
) -> None:
    shutdown = 'command = ["/bin/false"]\n'
    run = pyups("run", "-c", config(tmp_path, upsd, user=None, role="secondary", shutdown=shutdown))
    run.wait_event("STARTUP")
    change(upsd, "OB LB")
    first = run.wait_event("SHUTDOWN_FAILED", timeout=10)
    assert first["PRIORITY"] == "1"
    second = run.wait_event("SHUTDOWN_FAILED", count=2, timeout=15)  # RETRY_DELAY is 10 s
    assert 9.0 <= at(second) - at(first) <= 13.0
    change(upsd, ONLINE)
    run.wait_event("ONLINE")
    assert run.process.poll() is None
    assert len(named(run.entries(), "SHUTDOWN")) == 1


def test_on_rules_run_their_actions_for_shutdown_and_shutdown_failed(
    upsd: NutServer, pyups: Start, tmp_path: Path
) -> None:
    log = tmp_path / "rule.log"
    script = tmp_path / "on-shutdown"
    script.write_text(f'#!/bin/sh\necho "$PYUPS_EVENT $1" >> "{log}"\n')
    script.chmod(0o755)
    rules = '[[rule]]\nname = "page"\non = ["SHUTDOWN", "SHUTDOWN_FAILED"]\n'
    rules += f'do = [{{ exec = ["{script}", "{{ups}}"] }}]\n'
    path = config(
        tmp_path, upsd, user=None, role="secondary", shutdown='command = ["/bin/false"]\n',
        rules=rules,
    )  # fmt: skip
    run = pyups("run", "-c", path)
    run.wait_event("STARTUP")
    change(upsd, "OB LB")
    wait.wait_until(lambda: log.exists() and len(log.read_text().splitlines()) >= 2, 10)
    # The two runs of the action are concurrent (actions run up to four at a time) and the
    # failing command returns at once, so their lines may land in either order; the order of
    # the events is the RULE entries' below.
    assert sorted(log.read_text().splitlines()) == [
        "SHUTDOWN eaton800",
        "SHUTDOWN_FAILED eaton800",
    ]
    rule_entries = named(run.entries(), "RULE")
    assert [e["MESSAGE"] for e in rule_entries[:2]] == [
        "UPS eaton800: rule page on SHUTDOWN",
        "UPS eaton800: rule page on SHUTDOWN_FAILED",
    ]


def test_a_primary_without_upsmon_rights_is_told_which_upsd_users_line_to_add_and_monitors_on(
    upsd: NutServer, pyups: Start, tmp_path: Path
) -> None:
    run = pyups("run", "-c", config(tmp_path, upsd, user="watcher", role="primary"))
    run.wait_event("STARTUP")
    run.wait_for(lambda es: any("upsmon primary" in n for n in notes(es)))
    change(upsd, "OB DISCHRG")
    run.wait_event("ONBATT")
    refused = [e for e in run.entries() if "upsmon primary" in e["MESSAGE"]]
    assert len(refused) == 1
    assert refused[0]["PRIORITY"] == "3"
    assert "[watcher]" in refused[0]["MESSAGE"] and "upsd.users" in refused[0]["MESSAGE"]


def test_a_dry_run_logs_every_step_of_the_sequence_and_does_none(
    upsd: NutServer, pyups: Start, tmp_path: Path
) -> None:
    step = '{ exec = ["/bin/sh", "-c", "echo ran > ' + str(tmp_path / "step.log") + '"] }'
    path = config(tmp_path, upsd, shutdown=f"before = [{step}]\n", dry_run="true")
    run = pyups("run", "-c", path)
    run.wait_event("STARTUP")
    change(upsd, "OB LB")
    run.wait_event("SHUTDOWN")
    said = notes(run.wait_for(lambda es: any("shutdown command" in n for n in notes(es))))
    would = [n for n in said if n.startswith("dry run: would ")]
    assert [n.split(" ")[3] for n in would] == ["set", "wait", "run", "write", "run"], would
    assert "FSD" not in ups_status(upsd).split()
    assert recorded(tmp_path) == []
    assert not flag(tmp_path).exists()
    assert not (tmp_path / "step.log").exists()


# ---- the flag at start ----------------------------------------------------------------------


def test_a_stale_flag_is_removed_at_start_and_a_foreign_file_is_left_with_a_warning(
    upsd: NutServer, pyups: Start, tmp_path: Path
) -> None:
    path = config(tmp_path, upsd)
    flag(tmp_path).write_bytes(MAGIC)
    run = pyups("run", "-c", path)
    run.wait_event("STARTUP")
    assert not flag(tmp_path).exists()
    assert run.stop() == 0
    flag(tmp_path).write_text("someone else's\n")
    again = pyups("run", "-c", path)
    again.wait_event("STARTUP")
    warnings = [e for e in again.entries() if "does not hold the power-down flag" in e["MESSAGE"]]
    assert len(warnings) == 1 and warnings[0]["PRIORITY"] == "4"
    assert flag(tmp_path).read_text() == "someone else's\n"


# ---- a secondary --------------------------------------------------------------------------


def test_a_secondary_is_counted_by_upsd_and_on_low_battery_without_fsd_waits_host_sync(
    upsd: NutServer, pyups: Start, tmp_path: Path
) -> None:
    def logins() -> int:
        with contextlib.closing(Connection(upsd.server, 5.0)) as observer:
            return observer.num_logins("eaton800")

    path = config(
        tmp_path, upsd, user="monsecondary", role="secondary", shutdown='host_sync = "2s"\n'
    )
    assert logins() == 0
    run = pyups("run", "-c", path)
    run.wait_event("STARTUP")
    assert wait.repeat_until(logins, lambda n: n == 1, 5) == 1
    change(upsd, "OB LB")
    lowbatt = run.wait_event("LOWBATT")
    shutdown = run.wait_event("SHUTDOWN", timeout=10)
    assert at(shutdown) - at(lowbatt) >= 2.0 - 0.1
    assert wait_recorded(tmp_path) == [""]
    run.stop()
    assert wait.repeat_until(logins, lambda n: n == 0, 5) == 0
