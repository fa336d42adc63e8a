"""pyups as a service: sd_notify on a real socket, the watchdog, reload, and the state file."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyups.core.durations import parse_duration
from pyups.sim import NutServer
from tests.harness.config import write_config
from tests.harness.pyups import Entry, Pyups
from tests.harness.wait import TimedOut, wait_until

Start = Callable[..., Pyups]


class NotifySocket:
    """A datagram socket standing in for systemd's ``$NOTIFY_SOCKET``; keeps what arrives."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="pyups-notify-")  # short: AF_UNIX paths are short
        self.path = os.path.join(self._dir, "notify")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self._sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []  # (monotonic time, one KEY=VALUE line)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            now = time.monotonic()
            self.messages.extend((now, line) for line in data.decode().splitlines())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def lines(self) -> list[str]:
        return [line for _, line in list(self.messages)]

    def times(self, line: str) -> list[float]:
        return [t for t, seen in list(self.messages) if seen == line]

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 15.0) -> None:
        try:
            wait_until(lambda: predicate(self.lines()), timeout)
        except TimedOut:
            raise TimedOut(f"timed out; systemd was told {self.lines()}") from None

    def wait_line(self, pattern: str, after: int = 0, timeout: float = 15.0) -> int:
        """Index of the first line from ``after`` on matching ``pattern``."""
        found: list[int] = []

        def seen(lines: list[str]) -> bool:
            found[:] = [
                i for i, line in enumerate(lines) if i >= after and re.fullmatch(pattern, line)
            ]
            return bool(found)

        self.wait_for(seen, timeout)
        return found[0]


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    sock = NotifySocket()
    try:
        yield sock
    finally:
        sock.close()


def notes(entries: list[Entry]) -> list[str]:
    return [e["MESSAGE"] for e in entries if "PYUPS_EVENT" not in e]


# -- sd_notify --------------------------------------------------------------------------------


def onbatt_seen(pyups: Start, config: str, nut: NutServer) -> tuple[Pyups, Entry]:
    """``pyups run -c config`` once it has started and seen the UPS go on battery; its
    ONBATT entry."""
    run = pyups("run", "-c", config)
    run.wait_event("STARTUP")
    nut.set_status("OB DISCHRG")
    return run, run.wait_event("ONBATT")


def test_ready_status_watchdog_reloading_and_stopping_reach_systemd(
    nut: NutServer, pyups: Start, tmp_path: Path, notify: NotifySocket
) -> None:
    config = write_config(tmp_path, nut)
    env = {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"}
    run = pyups("run", "-c", config, env=env)

    ready = notify.wait_line("READY=1")
    assert notify.lines()[ready + 1] == "STATUS=eaton800: OL CHRG 100% 52 min"
    run.wait_event("STARTUP")  # READY came after the first poll, so STARTUP is in the journal

    notify.wait_for(lambda lines: lines.count("WATCHDOG=1") >= 4)
    pings = notify.times("WATCHDOG=1")
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert all(0.3 < gap < 0.9 for gap in gaps), gaps  # half of WatchdogSec=1s

    nut.set_status("OB DISCHRG", **{"battery.charge": "80", "battery.runtime": "1500"})
    notify.wait_line("STATUS=eaton800: OB DISCHRG 80% 25 min")

    run.process.send_signal(signal.SIGHUP)
    reloading = notify.wait_line("RELOADING=1")
    notify.wait_line("READY=1", after=reloading)

    run.process.send_signal(signal.SIGTERM)
    notify.wait_line("STOPPING=1")
    assert run.process.wait(15) == 0


def test_a_hung_poller_stops_the_watchdog_until_it_moves_again(
    nut: NutServer, pyups: Start, tmp_path: Path, notify: NotifySocket
) -> None:
    """The poller writes the trace; a FIFO nobody reads blocks it, as a hung disk would."""
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        config = write_config(tmp_path, nut, interval='"0.05s"', interval_alert='"0.05s"')
        env = {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"}
        run = pyups("run", "-c", config, "--record", str(fifo), env=env)
        notify.wait_line("READY=1")
        notify.wait_for(lambda lines: lines.count("WATCHDOG=1") >= 2)

        # 64 KiB of pipe fill up after some 60 polls; the pass then exceeds its 4 s budget.
        stuck = notify.wait_line(r"STATUS=STUCK polling 127\.0\.0\.1:\d+; .*", timeout=30)
        last_ping = max(notify.times("WATCHDOG=1"))
        time.sleep(3)
        assert max(notify.times("WATCHDOG=1")) == last_ping, "pinged while a poller hung"
        entries = run.wait_for(lambda es: any("is stuck" in m for m in notes(es)))
        stuck_note = next(e for e in entries if "is stuck" in e["MESSAGE"])
        assert stuck_note["PRIORITY"] == "3"
        assert "watchdog pings stopped" in stuck_note["MESSAGE"]

        while True:  # drain the pipe: the poller moves on, the pings come back
            try:
                if not os.read(reader, 1 << 20):
                    break
            except BlockingIOError:
                break
        notify.wait_line("WATCHDOG=1", after=stuck, timeout=10)
        run.wait_for(lambda es: any("making progress again" in m for m in notes(es)))
    finally:
        os.close(reader)


def test_without_notify_socket_nothing_is_sent_and_run_works(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    run = pyups("run", "-c", write_config(tmp_path, nut), env={"NOTIFY_SOCKET": ""})
    run.wait_event("STARTUP")
    assert run.stop() == 0


# -- reload ---------------------------------------------------------------------------------------


def test_a_reload_applies_the_new_file_and_keeps_each_ups_state(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    config = write_config(tmp_path, nut)
    run, onbatt = onbatt_seen(pyups, config, nut)

    rule = (
        '[[rule]]\nname = "still-on-battery"\nif = "OB"\npriority = "warning"\n'
        'message = "rule sees {ups} on battery"\n'
    )
    Path(config).write_text(Path(config).read_text() + rule)
    run.process.send_signal(signal.SIGHUP)
    run.wait_for(lambda es: any("configuration reloaded" in m for m in notes(es)))
    run.wait_event("RULE")  # the new rule runs ...

    nut.set_status("OL CHRG")
    online = run.wait_event("ONLINE")
    events = run.events()
    assert events.count("STARTUP") == 1 and events.count("ONBATT") == 1  # ... on the old state
    on_battery = float(online["__REALTIME_TIMESTAMP"]) - float(onbatt["__REALTIME_TIMESTAMP"])
    held = re.search(r"after (\S+) on battery", online["MESSAGE"])
    assert held, online["MESSAGE"]
    assert abs(parse_duration(held[1]) - on_battery / 1e6) < 1.5


def test_a_broken_reload_is_logged_with_every_error_and_the_old_config_keeps_running(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    config = write_config(tmp_path, nut)
    run = pyups("run", "-c", config)
    run.wait_event("STARTUP")
    good = Path(config).read_text()
    Path(config).write_text(good.replace('"0.3s"', '"soon"', 1) + "\n[bogus]\nkey = 1\n")
    run.process.send_signal(signal.SIGHUP)
    entries = run.wait_for(lambda es: any("reload refused" in m for m in notes(es)))
    refused = next(e for e in entries if "reload refused" in e["MESSAGE"])
    assert refused["PRIORITY"] == "3"
    assert "monitor.interval" in refused["MESSAGE"] and "bogus" in refused["MESSAGE"]

    nut.set_status("OB DISCHRG")  # still monitoring with the old configuration
    run.wait_event("ONBATT")
    assert run.process.poll() is None


# -- the state file ---------------------------------------------------------------------------


def test_a_restart_mid_outage_keeps_when_it_began(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    config = write_config(tmp_path, nut)
    first, onbatt = onbatt_seen(pyups, config, nut)
    assert first.stop() == 0
    saved = json.loads((tmp_path / "state.json").read_text())
    kept = saved["ups"][f"eaton800@{nut.server}"]
    assert kept["status"] == "OB DISCHRG"
    began = kept["on_battery_since"]
    assert abs(began - float(onbatt["__REALTIME_TIMESTAMP"]) / 1e6) < 1

    time.sleep(1)
    second = pyups("run", "-c", config)
    second.wait_event("STARTUP")
    nut.set_status("OL CHRG")
    online = second.wait_event("ONLINE")
    assert second.events().count("ONBATT") == 0  # already said before the restart
    held = re.search(r"after (\S+) on battery", online["MESSAGE"])
    assert held, online["MESSAGE"]
    assert (
        parse_duration(held[1]) >= time.time() - began - 1.5
    )  # the whole outage, not since restart


def test_a_corrupt_state_file_is_a_warning_and_a_fresh_start(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    config = write_config(tmp_path, nut)
    (tmp_path / "state.json").write_text('{"version": 1, "ups": {"eaton800@x": {"status": 5}}')
    nut.set_status("OB DISCHRG")
    run = pyups("run", "-c", config)
    entries = run.wait_for(lambda es: any("is corrupt" in m for m in notes(es)))
    warning = next(e for e in entries if "is corrupt" in e["MESSAGE"])
    assert warning["PRIORITY"] == "4"
    assert "starting fresh" in warning["MESSAGE"]
    run.wait_event("ONBATT")  # a fresh start reports the outage it finds
    run.wait_for(lambda es: json.loads((tmp_path / "state.json").read_text())["ups"] != {})


def test_an_unwritable_state_file_is_one_warning_and_monitoring_goes_on(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    config = write_config(tmp_path, nut, state_file=f'"{blocker}/state.json"')
    run, _ = onbatt_seen(pyups, config, nut)
    nut.set_status("OL CHRG")
    run.wait_event("ONLINE")
    warnings = [m for m in notes(run.entries()) if "cannot write" in m]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"state file {blocker}/state.json: cannot write: Not a directory")
