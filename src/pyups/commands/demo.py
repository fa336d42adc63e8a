"""``pyups demo``: a power cut played on a private upsd serving a simulated Eaton 800.

The monitor runs with the shipped example configuration, pointed at the private server and
polling every second; the events it reports go to the journal and to stderr as they would
in production. Every process the demo starts is ended before it returns.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources

from pyups.commands.common import EXIT_FAILURE, EXIT_OK, Failure
from pyups.commands.run import foreground_sinks
from pyups.config import Config, config_from_text
from pyups.core.events import Event
from pyups.service.monitor import Monitor
from pyups.sim import NutServer, SimulatorError
from pyups.sinks.journal import JournalSink

INTERVAL = 1.0
EXPECTED = ("STARTUP", "ONBATT", "LOWBATT", "ONLINE")


class _Tally:
    """Counts the events the monitor reported, so the demo can say whether it worked."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.changed = threading.Condition()

    def emit(self, event: Event) -> None:
        with self.changed:
            self.seen[event.name] += 1
            self.changed.notify_all()

    def note(self, message: str, priority: str = "info") -> None:
        pass

    def wait_for(self, name: str, timeout: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.seen[name] > 0, timeout)


def example_config(server: NutServer) -> Config:
    """The shipped example, watching the simulated eaton800 and polling every second.

    Its UPS is watched only (``power = 0``): the demo's OB LB must never shut this host down.
    """
    text = resources.files("pyups.data").joinpath("pyups.conf.example").read_text()
    config = config_from_text(text, source="pyups.conf.example")
    ups = tuple(replace(u, server=server.server, power=0) for u in config.ups)
    monitor = replace(config.monitor, interval=INTERVAL, interval_alert=INTERVAL, state_file="")
    return replace(config, ups=ups, monitor=monitor)


def main(args: argparse.Namespace) -> int:
    try:
        server = NutServer()
        say(f"starting a private upsd with a simulated Eaton 800 on {server.server}")
        server.start()
    except SimulatorError as exc:
        raise Failure(str(exc)) from None
    tally = _Tally()
    sinks = foreground_sinks()
    monitor = Monitor(example_config(server), [*sinks, tally])
    thread = threading.Thread(target=monitor.run, name="monitor")
    try:
        thread.start()
        tally.wait_for("STARTUP", 10)
        play(server, tally)
    finally:
        monitor.stop("demo finished")
        thread.join()
        server.stop()
    missing = [name for name in EXPECTED if not tally.seen[name]]
    if missing:
        say(f"the monitor did not report {', '.join(missing)}: something is wrong")
        return EXIT_FAILURE
    count = sum(tally.seen.values())
    went: Counter[str] = Counter()
    for sink in sinks:
        if isinstance(sink, JournalSink):
            went.update(sink.counts)
    say(ending(count, went))
    return EXIT_OK


def ending(count: int, went: Mapping[str, int]) -> str:
    """The demo's last line: how many events, where the entries went (``JournalSink.counts``),
    and ``pyups events`` only when the journal took them, as that reads the journal alone."""
    where = [name for name in ("journal", "syslog", "stderr") if went.get(name)]
    if where == ["journal"]:
        return f"done: {count} events, in the journal. Read them back with: pyups events -n {count}"
    if "journal" in where:
        places = " and ".join(where).replace("journal", "the journal")
        return f"done: {count} events, written to {places}; what the journal took: pyups events"
    if where == ["syslog"]:
        return (
            f"done: {count} events, sent to syslog (/dev/log): no journald here, so pyups "
            "events has nothing to read back"
        )
    if where == ["stderr"]:
        return (
            f"done: {count} events, on stderr only (above): neither journald nor syslog is "
            "here, so pyups events has nothing to read back"
        )
    if where:
        return (
            f"done: {count} events, written to syslog and stderr: no journald here, so pyups "
            "events has nothing to read back"
        )
    return f"done: {count} events"


def play(server: NutServer, tally: _Tally) -> None:
    """OL CHRG → OB DISCHRG (charge and runtime falling) → OB DISCHRG LB → OL CHRG."""
    say("the line power fails")
    server.set_status("OB DISCHRG", input_voltage="0.0")
    for charge in (90, 75, 60, 45, 30):
        time.sleep(INTERVAL)
        server.set_var("eaton800", "battery.charge", str(charge))
        server.set_var("eaton800", "battery.runtime", str(charge * 30))
    say("the battery runs low")
    server.set_status("OB DISCHRG LB", battery_charge="18", battery_runtime="420")
    tally.wait_for("LOWBATT", 5 * INTERVAL)
    time.sleep(2 * INTERVAL)
    say("line power is back")
    server.set_status("OL CHRG", input_voltage="245.0", battery_charge="19")
    tally.wait_for("ONLINE", 5 * INTERVAL)
    time.sleep(INTERVAL)


def say(text: str) -> None:
    print(f"demo: {text}", flush=True)
