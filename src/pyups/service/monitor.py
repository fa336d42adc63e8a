"""The monitor: a poller per server, the action dispatcher, and the sinks.

Pollers and action workers run in their own threads and only ever put items on one queue;
the thread that called :meth:`Monitor.run` takes them off in order and is the only one that
touches the sinks, so sinks need no locking and each UPS's entries keep their order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from pyups import __version__
from pyups.actions import Dispatcher
from pyups.config import Config
from pyups.core.engine import Policy
from pyups.core.events import Event
from pyups.core.rules import ActionRequest
from pyups.core.tracker import Timing
from pyups.service.poller import ServerPoller, Target
from pyups.service.record import Recorder
from pyups.sinks import Sink

STOP_GRACE = 10.0  # seconds running actions get to finish when the monitor stops


@dataclass(frozen=True, slots=True)
class _Note:
    message: str
    priority: str


_Item = Event | ActionRequest | _Note | None


def policy_of(config: Config) -> Policy:
    """The engine's view of the configuration."""
    m = config.monitor
    timing = Timing(
        interval=m.interval,
        interval_alert=m.interval_alert,
        dead_time=m.dead_time,
        nocomm_warn=m.nocomm_warn,
        replbatt_warn=m.replbatt_warn,
    )
    return Policy(timing, config.events, config.rules)


class Monitor:
    """Polls every configured UPS until :meth:`stop` is called."""

    def __init__(self, config: Config, sinks: Sequence[Sink], record: str | None = None) -> None:
        self.config = config
        self.sinks = list(sinks)
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._stop_reason = ""
        self.recorder = Recorder(record) if record else None
        self.dispatcher = Dispatcher(
            self._queue.put,
            lambda message, priority: self._queue.put(_Note(message, priority)),
            dry_run=config.monitor.dry_run,
            shutdown_command=config.monitor.shutdown_command,
            credentials={(u.name, str(u.server)): (u.username, u.password) for u in config.ups},
            nut_timeout=config.monitor.timeout,
        )
        policy = policy_of(config)
        by_server = groupby(sorted(config.ups, key=lambda u: str(u.server)), key=lambda u: u.server)
        self.pollers = [
            ServerPoller(
                server,
                [Target(u.name, u.username, u.password) for u in upses],
                policy,
                config.monitor.timeout,
                self._queue.put,
                self._stop,
                self.recorder.record if self.recorder else None,
            )
            for server, upses in by_server
        ]

    def stop(self, reason: str = "") -> None:
        """Ask the monitor to finish; safe from a signal handler."""
        self._stop_reason = reason
        self._stop.set()
        self._queue.put(None)

    def run(self) -> None:
        """Poll and report until stopped; pollers and running actions end before it returns."""
        names = ", ".join(f"{u.name}@{u.server}" for u in self.config.ups)
        dry = " (dry run: actions are logged, not run)" if self.config.monitor.dry_run else ""
        self._note(f"pyups {__version__} started, monitoring {names}{dry}", "info")
        for poller in self.pollers:
            poller.start()
        while not self._stop.is_set():
            self._handle(self._queue.get())
        for poller in self.pollers:
            poller.join(self.config.monitor.timeout + 1.0)
        self._drain()
        self.dispatcher.close(STOP_GRACE)
        self._drain()
        if self.recorder is not None:
            self.recorder.close()
        reason = f" ({self._stop_reason})" if self._stop_reason else ""
        self._note(f"pyups stopping{reason}", "info")

    def _drain(self) -> None:
        while not self._queue.empty():
            self._handle(self._queue.get_nowait())

    def _handle(self, item: _Item) -> None:
        if isinstance(item, Event):
            for sink in self.sinks:
                sink.emit(item)
        elif isinstance(item, ActionRequest):
            self.dispatcher.submit(item)
        elif isinstance(item, _Note):
            self._note(item.message, item.priority)

    def _note(self, message: str, priority: str) -> None:
        for sink in self.sinks:
            sink.note(message, priority)
