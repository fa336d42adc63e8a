"""The fault matrix: each fault a real ``pyups run`` meets, what it journals, and how it recovers.

Faults already proven elsewhere are not repeated here:

* upsd killed and restarted: test_run.py::test_upsd_killed_and_restarted_gives_commbad_then_commok
* driver killed and restarted (DRIVER-NOT-CONNECTED → COMMOK):
  test_run.py::test_run_journals_the_upsmon_events_with_every_field
* driver frozen (DATA-STALE → NOCOMM → COMMOK):
  test_run.py::test_a_frozen_driver_gives_commbad_data_stale_then_nocomm_then_commok
* a server that cuts, goes silent, sends garbage, an endless line or a byte a second:
  test_faults.py::test_a_misbehaving_server_gives_commbad_costs_little_cpu_and_recovers
* journald gone, syslog then stderr with counts (the sink on its own):
  test_sinks.py::test_without_journald_entries_go_to_syslog_then_to_stderr_and_are_counted
* an exec action that hangs: test_rules.py::test_a_hanging_exec_is_killed_at_its_timeout
* a broken configuration on reload:
  test_service.py::test_a_broken_reload_is_logged_with_every_error_and_the_old_config_keeps_running
* a corrupt / unwritable state file:
  test_service.py::test_a_corrupt_state_file_is_a_warning_and_a_fresh_start,
  test_service.py::test_an_unwritable_state_file_is_one_warning_and_monitoring_goes_on
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from pyups.sim import NutServer, eaton800
from tests.harness.config import checked_config, ups_table
from tests.harness.fakeupsd import FakeUpsd
from tests.harness.procs import children, rss_mib
from tests.harness.pyups import Entry, Pyups
from tests.harness.wait import wait_until

Start = Callable[..., Pyups]


# -- helpers ------------------------------------------------------------------------------------


def make_config(tmp_path: Path, upses: list[str], rules: str = "", **monitor: str) -> str:
    """A checked config watching ``upses`` (``[[ups]]`` tables) with short timers, plus
    ``rules``."""
    settings = {
        "interval": '"0.2s"',
        "interval_alert": '"0.2s"',
        "timeout": '"1s"',
        "state_file": '""',
        **monitor,
    }
    return checked_config(tmp_path, settings, "".join(upses) + rules)


def of(entries: list[Entry], ups: str | None = None, event: str | None = None) -> list[Entry]:
    """The event entries of one UPS and/or one event name, in journal order."""
    return [
        e
        for e in entries
        if "PYUPS_EVENT" in e
        and (ups is None or e["PYUPS_UPS"] == ups)
        and (event is None or e["PYUPS_EVENT"] == event)
    ]


def names(entries: list[Entry], ups: str | None = None) -> list[str]:
    return [e["PYUPS_EVENT"] for e in of(entries, ups)]


def has(ups: str, event: str, count: int = 1) -> Callable[[list[Entry]], bool]:
    return lambda entries: len(of(entries, ups, event)) >= count


def stamp(entry: Entry) -> float:
    return int(entry["__REALTIME_TIMESTAMP"]) / 1e6


def upsd_pid(nut: NutServer) -> int:
    """The PID of the upsd a NutServer started (it runs in the foreground: no pidfile)."""
    process = nut._upsd  # read only: NutServer keeps the Popen and ends it itself
    assert process is not None and process.poll() is None, "upsd is not running"
    return process.pid


class Sampler:
    """Samples a process's children and RSS in a thread, every few milliseconds."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.children: list[int] = []
        self.rss: list[float] = []  # MiB
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.children.append(children(self.pid))
                self.rss.append(rss_mib(self.pid))
            self._stop.wait(0.01)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def rack2() -> Iterator[NutServer]:
    """A second upsd, serving ``rack2``, for faults that must not spread to other servers."""
    with NutServer({"rack2": eaton800()}, maxage=3) as server:
        yield server


# -- upsd frozen --------------------------------------------------------------------------------


def test_a_frozen_upsd_is_commbad_timeout_then_commok_and_delays_no_other_server(
    nut: NutServer, rack2: NutServer, pyups: Start, tmp_path: Path
) -> None:
    # The timeout (2 s) is far above the poll period (0.2 s): had the frozen server held up
    # the other one, rack2's polls would be at least 2 s apart.
    upses = [ups_table("eaton800", nut.server), ups_table("rack2", rack2.server)]
    config = make_config(tmp_path, upses, timeout='"2s"')
    trace = tmp_path / "trace.jsonl"
    run = pyups("run", "-c", config, "--record", str(trace))
    run.wait_for(lambda es: has("eaton800", "STARTUP")(es) and has("rack2", "STARTUP")(es))

    pid = upsd_pid(nut)
    os.kill(pid, signal.SIGSTOP)
    try:
        frozen_at = time.time()
        rack2.set_status("OB DISCHRG", ups="rack2")
        changed_at = time.time()
        onbatt = of(run.wait_for(has("rack2", "ONBATT")), "rack2", "ONBATT")[0]
        commbad = of(run.wait_for(has("eaton800", "COMMBAD"), timeout=15), "eaton800", "COMMBAD")
        time.sleep(1.0)  # a few more of rack2's polls while eaton800's server stays frozen
    finally:
        os.kill(pid, signal.SIGCONT)
    thawed_at = time.time()

    assert commbad[0]["PYUPS_REASON"] == "TIMEOUT"
    assert commbad[0]["PYUPS_STATUS"] == "OL CHRG"  # the last known status
    assert "(TIMEOUT)" in commbad[0]["MESSAGE"]
    # rack2's outage was seen within a few polls, well before eaton800's request timed out.
    assert stamp(onbatt) - changed_at < 1.5, stamp(onbatt) - changed_at

    entries = run.wait_for(has("eaton800", "COMMOK"), timeout=20)
    assert names(entries, "eaton800")[:3] == ["STARTUP", "COMMBAD", "COMMOK"]
    assert names(entries, "rack2")[:2] == ["STARTUP", "ONBATT"]
    assert "COMMBAD" not in names(entries, "rack2")
    assert run.stop() == 0
    # upsd may find its driver's data stale for a moment after it wakes: then one more
    # COMMBAD (DATA-STALE), and COMMOK again. The journal must end with eaton800 reachable.
    after = of(run.entries(), "eaton800")[3:]
    assert all(e["PYUPS_EVENT"] in ("COMMBAD", "COMMOK") for e in after), names(after)
    assert not after or after[-1]["PYUPS_EVENT"] == "COMMOK", names(after)

    polls = [json.loads(line) for line in trace.read_text().splitlines()]
    during = [p for p in polls if frozen_at <= p["t"] <= thawed_at]
    rack2_times = [p["t"] for p in during if p["ups"] == "rack2"]
    gaps = [b - a for a, b in itertools.pairwise(rack2_times)]
    assert len(rack2_times) >= 5, rack2_times
    assert max(gaps) < 1.0, f"rack2 polled {max(gaps):.2f}s apart while the other upsd hung"
    assert all("error" not in p for p in polls if p["ups"] == "rack2")


# -- no connection ------------------------------------------------------------------------------


def test_refused_and_unresolvable_servers_are_commbad_connect_with_the_detail(
    pyups: Start, tmp_path: Path
) -> None:
    # Bound but not listening yet: connections are refused, and the port stays ours.
    server = FakeUpsd(ups="closed1")
    try:
        run = pyups("run", server.address, "lost1@x.invalid", "--interval", "0.2")
        # Generous: without a reachable DNS server, failing to resolve can take a while.
        entries = run.wait_for(
            lambda es: has("closed1", "COMMBAD")(es) and has("lost1", "COMMBAD")(es), timeout=30
        )
        refused = of(entries, "closed1", "COMMBAD")[0]
        unresolved = of(entries, "lost1", "COMMBAD")[0]
        assert refused["PYUPS_REASON"] == "CONNECT"
        assert refused["PYUPS_SERVER"] == f"127.0.0.1:{server.port}"
        assert "connection refused" in refused["MESSAGE"], refused["MESSAGE"]
        assert refused["PYUPS_STATUS"] == ""  # never seen: no status to keep
        assert unresolved["PYUPS_REASON"] == "CONNECT"
        assert unresolved["PYUPS_SERVER"] == "x.invalid:3493"
        assert "cannot resolve host name 'x.invalid'" in unresolved["MESSAGE"]

        server.start()  # now it listens: the next poll connects
        entries = run.wait_for(has("closed1", "STARTUP"))
        assert names(entries, "closed1") == ["COMMBAD", "COMMOK", "STARTUP"]
        time.sleep(0.5)  # more failed polls of x.invalid: still one COMMBAD, no repeats
        assert run.stop() == 0
        assert names(run.entries(), "lost1") == ["COMMBAD"]
    finally:
        server.stop()


# -- UPS removed from the server ----------------------------------------------------------------


def test_a_ups_removed_from_upsd_is_commbad_unknown_ups_then_commok_when_it_is_back(
    pyups: Start, tmp_path: Path
) -> None:
    with NutServer({"eaton800": eaton800(), "rack2": eaton800()}, maxage=3) as nut:
        upses = [ups_table("eaton800", nut.server), ups_table("rack2", nut.server)]
        config = make_config(tmp_path, upses)
        run = pyups("run", "-c", config)
        run.wait_for(lambda es: has("eaton800", "STARTUP")(es) and has("rack2", "STARTUP")(es))

        ups_conf = nut.workdir / "ups.conf"
        declared = ups_conf.read_text()
        ups_conf.write_text(declared[: declared.index("[rack2]")])
        os.kill(upsd_pid(nut), signal.SIGHUP)  # upsd re-reads ups.conf and drops rack2
        commbad = of(run.wait_for(has("rack2", "COMMBAD")), "rack2", "COMMBAD")[0]
        assert commbad["PYUPS_REASON"] == "UNKNOWN-UPS"
        assert "does not know this UPS name" in commbad["MESSAGE"], commbad["MESSAGE"]
        assert commbad["PYUPS_STATUS"] == "OL CHRG"
        # As an administrator would (upsdrvctl stop / start): dummy-ups 2.8.0 does not
        # survive upsd dropping its socket; on its next update it aborts ("bit out of range
        # 0 - FD_SETSIZE on fd_set"), so a UPS put back needs a fresh driver.
        nut.stop_driver("rack2")

        ups_conf.write_text(declared)
        nut.start_driver("rack2")  # the driver reads its section of ups.conf too
        os.kill(upsd_pid(nut), signal.SIGHUP)
        commok = of(run.wait_for(has("rack2", "COMMOK")), "rack2", "COMMOK")[0]
        assert commok["PYUPS_STATUS"] == "OL CHRG"
        nut.set_status("OB DISCHRG", ups="rack2")  # and it is monitored as before
        run.wait_for(has("rack2", "ONBATT"))
        assert run.stop() == 0
        entries = run.entries()
        assert names(entries, "rack2") == ["STARTUP", "COMMBAD", "COMMOK", "ONBATT"]
        assert names(entries, "eaton800") == ["STARTUP"]  # the other UPS never noticed


# -- wrong credentials for an instcmd action ----------------------------------------------------


def test_an_instcmd_with_a_wrong_password_is_an_access_denied_action_and_polling_goes_on(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    wrong = "wrong-" + nut.admin_password[::-1]
    secret = tmp_path / "secret"
    secret.write_text(wrong + "\n")
    secret.chmod(0o600)
    rules = '[[rule]]\nname = "cut-load"\non = ["ONBATT"]\ndo = [{ instcmd = "load.off" }]\n'
    login = f'username = "{nut.admin_user}"\npassword_file = "{secret}"\n'
    config = make_config(tmp_path, [ups_table("eaton800", nut.server, login)], rules)
    run = pyups("run", "-c", config)
    run.wait_event("STARTUP")  # upsd 2.8 takes any password at login: polling works
    nut.set_status("OB DISCHRG")
    action = run.wait_event("ACTION")
    assert action["PYUPS_REASON"] == "ACCESS-DENIED"
    assert action["PYUPS_RULE"] == "cut-load"
    assert action["PRIORITY"] == "3"
    assert action["MESSAGE"].startswith(
        f"instcmd load.off on eaton800@{nut.server}: refused by upsd: ACCESS-DENIED ("
    ), action["MESSAGE"]
    assert f"'{nut.admin_user}'" in action["MESSAGE"]

    nut.set_status("OL CHRG")  # the refused command changed nothing for monitoring
    run.wait_event("ONLINE")
    assert run.stop() == 0
    entries = run.entries()
    assert names(entries) == ["STARTUP", "ONBATT", "RULE", "ACTION", "ONLINE"]
    everything = json.dumps(entries) + run.stderr()
    assert wrong not in everything
    assert nut.admin_password not in everything


# -- actions flooding ---------------------------------------------------------------------------

FLOOD_ACTIONS = 10


def test_an_action_flood_keeps_children_and_memory_bounded_and_reports_every_drop(
    fake_upsd: FakeUpsd, pyups: Start, tmp_path: Path
) -> None:
    # A rule that fires on every poll (20 a second), each firing asking for 10 actions that
    # take 0.2 s: some 200 requests a second against 4 workers and 64 places in the queue.
    fake_upsd.vars["battery.charge"] = "50"
    action = '{ exec = ["/bin/sleep", "0.2"], timeout = "5s" }'
    rules = (
        '[[rule]]\nname = "flood"\nif = "OL and battery.charge > 90"\nrepeat = "0.01s"\n'
        f"do = [{', '.join([action] * FLOOD_ACTIONS)}]\n"
        '[[rule]]\nname = "after"\non = ["ONBATT"]\ndo = [{ exec = ["/bin/true"] }]\n'
    )
    config = make_config(
        tmp_path,
        [ups_table(fake_upsd.ups, fake_upsd.server)],
        rules,
        interval='"0.05s"',
        interval_alert='"0.05s"',
    )
    run = pyups("run", "-c", config)
    run.wait_event("STARTUP")
    time.sleep(0.5)
    baseline = rss_mib(run.pid)

    def flood(entries: list[Entry]) -> list[Entry]:
        return [e for e in of(entries, event="ACTION") if e["PYUPS_RULE"] == "flood"]

    def fired(entries: list[Entry]) -> int:
        return sum(e["PYUPS_RULE"] == "flood" for e in of(entries, event="RULE"))

    with Sampler(run.pid) as sampler:
        fake_upsd.vars["battery.charge"] = "100"
        run.wait_for(
            lambda es: sum(e["PYUPS_REASON"] == "dropped" for e in flood(es)) >= 200, timeout=20
        )
        fake_upsd.vars["battery.charge"] = "50"  # the flood stops; the queue drains
        # Every request ends in exactly one ACTION entry: run, or dropped.
        entries = run.wait_for(
            lambda es: fired(es) > 0 and len(flood(es)) == FLOOD_ACTIONS * fired(es), timeout=20
        )
    assert sampler.children, "no sample of pyups' children was taken"
    most = max(sampler.children)
    assert 1 <= most <= 4, f"pyups had up to {most} action processes at once (4 workers)"
    grown = max(sampler.rss) - baseline
    assert grown < 30, f"pyups grew by {grown:.0f} MiB during the flood (from {baseline:.1f} MiB)"

    reasons = {e["PYUPS_REASON"] for e in flood(entries)}
    assert reasons == {"exit:0", "dropped"}, reasons
    dropped = [e for e in flood(entries) if e["PYUPS_REASON"] == "dropped"]
    for entry in dropped:
        assert entry["PRIORITY"] == "3"
        assert entry["MESSAGE"].startswith("exec /bin/sleep 0.2: not run: queue full ("), entry

    # Once the queue has drained, the next action runs normally.
    fake_upsd.vars["ups.status"] = "OB DISCHRG"
    entries = run.wait_for(
        lambda es: any(e["PYUPS_RULE"] == "after" for e in of(es, event="ACTION")), timeout=10
    )
    [after] = [e for e in of(entries, event="ACTION") if e["PYUPS_RULE"] == "after"]
    assert after["PYUPS_REASON"] == "exit:0"
    assert run.stop() == 0


# -- shutdown command missing -------------------------------------------------------------------


def on_battery_without_shutdown_command(
    fake_upsd: FakeUpsd, pyups: Start, tmp_path: Path, rule: str = ""
) -> Pyups:
    """pyups watching the fake upsd, whose rule ``power-off`` (``rule`` adds keys) shuts the
    host down with a command that does not exist, once the UPS has gone on battery."""
    rules = f'[[rule]]\nname = "power-off"\nif = "OB"\n{rule}do = [{{ shutdown = true }}]\n'
    config = make_config(
        tmp_path,
        [ups_table(fake_upsd.ups, fake_upsd.server)],
        rules,
        shutdown_command='["/nonexistent/poweroff"]',
    )
    run = pyups("run", "-c", config)
    run.wait_event("STARTUP")
    fake_upsd.vars["ups.status"] = "OB DISCHRG"
    return run


def test_a_missing_shutdown_command_is_an_alarm_retried_while_pyups_keeps_monitoring(
    fake_upsd: FakeUpsd, pyups: Start, tmp_path: Path
) -> None:
    run = on_battery_without_shutdown_command(fake_upsd, pyups, tmp_path, 'repeat = "0.3s"\n')
    failed = run.wait_event("SHUTDOWN_FAILED")
    assert failed["PRIORITY"] == "1"
    assert "/nonexistent/poweroff" in failed["MESSAGE"]
    assert "No such file or directory" in failed["MESSAGE"]
    actions = of(run.entries(), event="ACTION")
    started = [a for a in actions if a.get("PYUPS_RULE") == "power-off"]
    assert started[0]["MESSAGE"] == "shutdown sequence started (/nonexistent/poweroff)"
    tried = [a for a in actions if "(try 1)" in a["MESSAGE"]]
    assert tried[0]["PYUPS_REASON"] == "error"
    assert tried[0]["MESSAGE"] == (
        "shutdown command /nonexistent/poweroff (try 1): cannot run: No such file or directory"
    )

    fake_upsd.vars["ups.status"] = "OL CHRG"  # still monitoring
    run.wait_event("ONLINE")
    again = run.wait_event("SHUTDOWN_FAILED", count=2, timeout=20)  # the sequence tries again
    assert stamp(again) - stamp(failed) >= 9
    later = [a for a in of(run.entries(), event="ACTION") if a.get("PYUPS_RULE") == "power-off"]
    assert all("already started" in a["MESSAGE"] for a in later[1:])  # it is: it retries
    assert run.process.poll() is None
    assert run.stop() == 0
    assert names(run.entries()).count("SHUTDOWN") == 1
    assert "Traceback" not in run.stderr()


# -- journald gone ------------------------------------------------------------------------------

# Runs as ``sh -c HIDE PYTHON ARGS...`` inside ``unshare -m``: journald's directory is covered by
# an empty tmpfs, a syslog receiver takes its /dev/log place, then pyups runs.
# When /dev/log is not the usual link to journald's socket (rsyslog's own socket, say), the
# receiver is bind-mounted over it, in the namespace only.
HIDE = """
mount -t tmpfs none /run/systemd/journal || exit 97
"$0" -c "$RECEIVER" /run/systemd/journal/dev-log "$SYSLOG" & echo $! > "$RECEIVER_PID"
while [ ! -S /run/systemd/journal/dev-log ]; do sleep 0.02; done
if [ "$(readlink -f /dev/log)" != /run/systemd/journal/dev-log ]; then
  mount --bind /run/systemd/journal/dev-log /dev/log || exit 98
fi
exec "$0" -m pyups run "$@"
"""
RECEIVER = """
import socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(sock.recv(65536) + b"\\n")
"""


def until(what: str, check: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    wait_until(check, 15.0, what=what, process=process)


def test_without_journald_pyups_run_logs_to_syslog_then_only_to_stderr(
    fake_upsd: FakeUpsd, tmp_path: Path
) -> None:
    with dev_log():
        run_without_journald(fake_upsd, tmp_path)


@contextlib.contextmanager
def dev_log() -> Iterator[None]:
    """/dev/log as on a systemd host (a link to journald's socket) if the host has none."""
    if os.path.lexists("/dev/log"):
        yield
        return
    os.symlink("/run/systemd/journal/dev-log", "/dev/log")
    try:
        yield
    finally:
        os.unlink("/dev/log")


def run_without_journald(fake_upsd: FakeUpsd, tmp_path: Path) -> None:
    syslog, receiver_pid, err = tmp_path / "syslog", tmp_path / "receiver.pid", tmp_path / "err"
    syslog.touch()
    env = {
        **os.environ,
        "RECEIVER": RECEIVER,
        "SYSLOG": str(syslog),
        "RECEIVER_PID": str(receiver_pid),
    }
    started = time.time()
    with open(err, "wb") as stderr:
        process = subprocess.Popen(
            ["unshare", "-m", "sh", "-c", HIDE, sys.executable, fake_upsd.address,
             "--interval", "0.2"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=env,
        )  # fmt: skip
    receiver_killed = False
    try:
        until("the receiver", lambda: receiver_pid.exists(), process)
        until("STARTUP in syslog", lambda: "monitored: OL CHRG" in syslog.read_text(), process)
        fake_upsd.vars["ups.status"] = "OB DISCHRG"
        until("ONBATT in syslog", lambda: "on battery" in syslog.read_text(), process)

        # Now /dev/log refuses too: stderr is all that is left.
        os.kill(int(receiver_pid.read_text()), signal.SIGKILL)
        receiver_killed = True
        fake_upsd.vars["ups.status"] = "OL CHRG"
        until("ONLINE on stderr", lambda: " ONLINE " in err.read_text(), process)
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0, err.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if not receiver_killed:
            with contextlib.suppress(OSError, ValueError):  # no pidfile yet, or already gone
                os.kill(int(receiver_pid.read_text()), signal.SIGKILL)

    lines = syslog.read_text().splitlines()
    prefix = f"pyups[{process.pid}]: "
    assert lines[0] == f"<30>{prefix}pyups 0.1.0 started, monitoring {fake_upsd.address}", lines
    assert lines[1].startswith(f"<30>{prefix}UPS eaton800 monitored: OL CHRG"), lines
    assert lines[2] == f"<28>{prefix}UPS eaton800 on battery", lines
    assert not any("on line power" in line for line in lines)  # sent after syslog went
    console = err.read_text()
    for event in ("STARTUP", "ONBATT", "ONLINE"):
        assert f" {event} " in console, console
    assert console.rstrip().endswith("pyups stopping (SIGTERM)"), console
    assert "Traceback" not in console
    journal = subprocess.run(
        ["journalctl", "-o", "json", "--no-pager", f"--since=@{int(started)}",
         f"_PID={process.pid}"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert journal.stdout.strip() == "", "pyups reached a journald it should not have seen"
