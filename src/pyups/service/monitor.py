"""The monitor: starts a poller per server, passes every event through config to the sinks.

Pollers run in their own threads; events reach the sinks from the thread that called
:meth:`Monitor.run`, in the order they happened for each UPS, so sinks need no locking.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from itertools import groupby

from pyups import __version__
from pyups.config import Config
from pyups.core.events import Event, finish
from pyups.core.tracker import Timing
from pyups.service.poller import ServerPoller, Target
from pyups.sinks import Sink


def timing_of(config: Config) -> Timing:
    """The tracker's view of ``[monitor]``."""
    m = config.monitor
    return Timing(
        interval=m.interval,
        interval_alert=m.interval_alert,
        dead_time=m.dead_time,
        nocomm_warn=m.nocomm_warn,
        replbatt_warn=m.replbatt_warn,
    )


class Monitor:
    """Polls every configured UPS until :meth:`stop` is called."""

    def __init__(self, config: Config, sinks: Sequence[Sink]) -> None:
        self.config = config
        self.sinks = list(sinks)
        self._queue: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._stop_reason = ""
        timing = timing_of(config)
        by_server = groupby(sorted(config.ups, key=lambda u: str(u.server)), key=lambda u: u.server)
        self.pollers = [
            ServerPoller(
                server,
                [Target(u.name, u.username, u.password) for u in upses],
                timing,
                config.monitor.timeout,
                self._queue.put,
                self._stop,
            )
            for server, upses in by_server
        ]

    def stop(self, reason: str = "") -> None:
        """Ask the monitor to finish; safe from a signal handler."""
        self._stop_reason = reason
        self._stop.set()
        self._queue.put(None)

    def run(self) -> None:
        """Poll and report until stopped; the pollers are joined before returning."""
        names = ", ".join(f"{u.name}@{u.server}" for u in self.config.ups)
        self._note(f"pyups {__version__} started, monitoring {names}")
        for poller in self.pollers:
            poller.start()
        while not self._stop.is_set():
            self._deliver(self._queue.get())
        for poller in self.pollers:
            poller.join(self.config.monitor.timeout + 1.0)
        while not self._queue.empty():
            self._deliver(self._queue.get_nowait())
        reason = f" ({self._stop_reason})" if self._stop_reason else ""
        self._note(f"pyups stopping{reason}")

    def _deliver(self, event: Event | None) -> None:
        if event is None:
            return
        final = finish(event, self.config.events)
        if final is None:
            return
        for sink in self.sinks:
            sink.emit(final)

    def _note(self, message: str) -> None:
        for sink in self.sinks:
            sink.note(message)
