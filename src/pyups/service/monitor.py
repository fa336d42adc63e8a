"""The monitor: a poller per server, the action dispatcher, the sinks, and systemd.

Pollers and action workers run in their own threads and only ever put items on one queue;
the thread that called :meth:`Monitor.run` takes them off in order and is the only one that
touches the sinks, so sinks need no locking and each UPS's entries keep their order.

That thread also wakes every :data:`TICK` to look after the service: READY once every
poller has tried its first round, STATUS with a line per UPS, the state file after events
(at most once a second), and WATCHDOG pings, sent only while every poller finishes its
rounds within its budget. A poller that hangs (or dies) stops the pings, so systemd
restarts pyups.

A reload (SIGHUP) runs on the same thread: the new configuration is loaded in full first; if
it has errors they are logged and the running configuration stays. Otherwise the pollers are
replaced, and each UPS still configured keeps its tracker state (no second STARTUP or
ONBATT), as does each rule whose definition did not change.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import groupby
from typing import TYPE_CHECKING

from pyups import __version__
from pyups.actions import Dispatcher
from pyups.address import UpsAddress
from pyups.config import Config, ConfigError
from pyups.config.views import policy_of, tls_of
from pyups.core.engine import EngineState
from pyups.core.events import Event
from pyups.core.rules import ActionRequest
from pyups.core.summary import status_line
from pyups.nut.tls import Tls
from pyups.service.notify import Notifier
from pyups.service.poller import ServerPoller, Target
from pyups.service.record import Recorder
from pyups.service.state import StateFile
from pyups.sinks import Sink

if TYPE_CHECKING:  # prometheus-client is imported only when metrics are served
    from pyups.service.metrics import Metrics

STOP_GRACE = 10.0  # seconds running actions get to finish when the monitor stops
TICK = 0.5  # longest sleep of the main thread between service checks
SAVE_EVERY = 1.0  # seconds: a burst of events costs one state-file write, not one each


@dataclass(frozen=True, slots=True)
class _Note:
    message: str
    priority: str


class _Reload:
    """Queued by :meth:`Monitor.reload` (from a signal handler) for the main thread."""


_Item = Event | ActionRequest | _Note | _Reload | None


def _credentials(config: Config) -> dict[UpsAddress, tuple[str | None, str | None]]:
    return {u.address: (u.username, u.password) for u in config.ups}


def _tls_settings(config: Config) -> dict[UpsAddress, Tls]:
    """TLS settings by UPS, for the instcmd actions' own connections."""
    return {u.address: tls for u in config.ups if (tls := tls_of(u)) is not None}


def _stale_after(config: Config) -> float:
    """How old a poll result may be and still be shown as current by the metrics."""
    return 2 * config.monitor.interval + 2 * config.monitor.timeout


def _addresses(config: Config) -> list[UpsAddress]:
    return [u.address for u in config.ups]


def _new_metrics(config: Config) -> Metrics:
    """Metrics for the configured UPSes (prometheus-client is imported here, when needed)."""
    from pyups.service.metrics import Metrics

    return Metrics(_addresses(config), _stale_after(config))


def _names(config: Config) -> str:
    return ", ".join(str(u.address) for u in config.ups)


class Monitor:
    """Polls every configured UPS until :meth:`stop` is called.

    ``load`` re-reads the configuration for :meth:`reload` (raising ConfigError); without it
    a reload request is logged and ignored. With ``[metrics] listen`` set, the metrics
    endpoint is up when the constructor returns (MetricsError if it cannot be).
    """

    def __init__(
        self,
        config: Config,
        sinks: Sequence[Sink],
        record: str | None = None,
        *,
        load: Callable[[], Config] | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.config = config
        self.sinks = list(sinks)
        self.notifier = notifier or Notifier()
        self._load = load
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._stop_reason = ""
        self.recorder = Recorder(record) if record else None
        self.state_file = StateFile(config.monitor.state_file)
        restored, warning = self.state_file.load()
        self._warnings = [warning] if warning else []
        self.dispatcher = Dispatcher(
            self._queue.put,
            lambda message, priority: self._queue.put(_Note(message, priority)),
            dry_run=config.monitor.dry_run,
            shutdown_command=config.monitor.shutdown_command,
            credentials=_credentials(config),
            tls=_tls_settings(config),
            nut_timeout=config.monitor.timeout,
        )
        self.metrics: Metrics | None = None
        if config.metrics.listen is not None:
            self.metrics = _new_metrics(config)
            self.metrics.serve(config.metrics.listen)
            self.sinks.append(self.metrics)
        self._halt = threading.Event()  # stops the current pollers (a reload starts new ones)
        self.pollers = self._pollers(config, {k: EngineState(s) for k, s in restored.items()})
        self._ready = False
        self._started = 0.0
        self._last_ping = float("-inf")
        self._stuck: set[str] = set()
        self._dirty = False
        self._last_save = float("-inf")

    # -- control, safe from signal handlers -------------------------------------------------

    def stop(self, reason: str = "") -> None:
        """Ask the monitor to finish."""
        self._stop_reason = reason
        self._stopping.set()
        self._queue.put(None)

    def reload(self) -> None:
        """Ask the monitor to re-read its configuration."""
        self._queue.put(_Reload())

    # -- the main thread --------------------------------------------------------------------

    def run(self) -> None:
        """Poll and report until stopped; pollers and running actions end before it returns."""
        dry = " (dry run: actions are logged, not run)" if self.config.monitor.dry_run else ""
        self._note(f"pyups {__version__} started, monitoring {_names(self.config)}{dry}", "info")
        for warning in self._warnings:
            self._note(warning, "warning")
        self._started = time.monotonic()
        for poller in self.pollers:
            poller.start()
        tick = TICK if self.notifier.watchdog is None else min(TICK, self.notifier.watchdog / 4)
        while not self._stopping.is_set():
            try:
                item = self._queue.get(timeout=tick)
            except queue.Empty:
                item = None
            self._handle(item)
            self._look_after()
        self.notifier.stopping("stopping")
        self._end_pollers(self.pollers)
        self._drain()
        self.dispatcher.close(STOP_GRACE)
        self._drain()
        self._save()
        if self.recorder is not None:
            self.recorder.close()
        if self.metrics is not None:
            self.metrics.close()
        reason = f" ({self._stop_reason})" if self._stop_reason else ""
        self._note(f"pyups stopping{reason}", "info")

    def _drain(self) -> None:
        while not self._queue.empty():
            self._handle(self._queue.get_nowait())

    def _handle(self, item: _Item) -> None:
        if isinstance(item, Event):
            self._dirty = True
            for sink in self.sinks:
                sink.emit(item)
        elif isinstance(item, ActionRequest):
            self.dispatcher.submit(item)
        elif isinstance(item, _Note):
            self._note(item.message, item.priority)
        elif isinstance(item, _Reload):
            self._reload()

    def _note(self, message: str, priority: str) -> None:
        for sink in self.sinks:
            sink.note(message, priority)

    # -- looking after the service ----------------------------------------------------------

    def _look_after(self) -> None:
        now = time.monotonic()
        if not self._ready and (
            all(p.rounds > 0 for p in self.pollers)
            or now - self._started > max((p.budget for p in self.pollers), default=0.0)
        ):
            self._ready = True
            self.notifier.ready(self._status())
        healthy = self._check_pollers(now)
        if self._ready and self.notifier.enabled:  # no line to build when nobody reads it
            self.notifier.status(self._status())
        period = self.notifier.watchdog
        if healthy and period is not None and now - self._last_ping >= period / 2:
            self.notifier.ping()
            self._last_ping = now
        if self._dirty and now - self._last_save >= SAVE_EVERY:
            self._last_save = now
            self._save()

    def _check_pollers(self, now: float) -> bool:
        """Report pollers that got stuck or recovered; True if none is stuck."""
        for poller in self.pollers:
            name = str(poller.server)
            over = poller.stuck_for(now)
            if over > 0 and name not in self._stuck:
                self._stuck.add(name)
                self._note(
                    f"polling {name} is stuck: a round has run {poller.budget + over:.0f} s "
                    f"(allowed {poller.budget:.0f} s); watchdog pings stopped",
                    "err",
                )
            elif over == 0 and name in self._stuck:
                self._stuck.discard(name)
                self._note(f"polling {name} is making progress again", "notice")
        return not self._stuck

    def _status(self) -> str:
        line = status_line([s.tracker for p in self.pollers for s in list(p.states.values())])
        if self._stuck:
            line = f"STUCK polling {', '.join(sorted(self._stuck))}; {line}"
        return line

    def _states(self) -> dict[UpsAddress, EngineState]:
        return {
            UpsAddress(name, p.server): state
            for p in self.pollers
            for name, state in list(p.states.items())
        }

    def _save(self) -> None:
        self._dirty = False
        trackers = {key: state.tracker for key, state in self._states().items()}
        warning = self.state_file.save(trackers)
        if warning:
            self._note(warning, "warning")

    # -- reloading --------------------------------------------------------------------------

    def _reload(self) -> None:
        if self._load is None:
            self._note("reload requested, but this monitor has no file to reload from", "notice")
            return
        self.notifier.reloading("reloading the configuration")
        try:
            config = self._load()
        except ConfigError as exc:
            errors = "; ".join(exc.errors)
            self._note(f"configuration reload refused, the running one stays: {errors}", "err")
            self.notifier.ready(self._status())
            return
        states = self._states()
        self._end_pollers(self.pollers)
        kept_rules = {r.name for r in config.rules if r in self.config.rules}
        carried = {
            key: replace(s, rules={n: r for n, r in s.rules.items() if n in kept_rules})
            for key, s in states.items()
        }
        self.config = config
        self.dispatcher.reconfigure(
            dry_run=config.monitor.dry_run,
            shutdown_command=config.monitor.shutdown_command,
            credentials=_credentials(config),
            tls=_tls_settings(config),
            nut_timeout=config.monitor.timeout,
        )
        if config.monitor.state_file != self.state_file.path:
            self.state_file = StateFile(config.monitor.state_file)
        self._reload_metrics(config)
        self._halt = threading.Event()
        self._stuck.clear()
        self.pollers = self._pollers(config, carried)
        for poller in self.pollers:
            poller.start()
        self._note(f"configuration reloaded, monitoring {_names(config)}", "info")
        self._dirty = True
        self.notifier.ready(self._status())

    def _reload_metrics(self, config: Config) -> None:
        """Follow ``[metrics] listen``: start, move or stop the endpoint; keep it on failure."""
        listen = config.metrics.listen
        metrics = self.metrics
        if listen is None:
            if metrics is not None:
                metrics.close()
                self.sinks.remove(metrics)
                self.metrics = None
            return
        if metrics is None:
            metrics = _new_metrics(config)
        else:
            metrics.reconfigure(_addresses(config), _stale_after(config))
        if metrics.address != listen:
            from pyups.service.metrics import MetricsError

            try:
                metrics.serve(listen)
            except MetricsError as exc:
                where = f"; still serving on {metrics.address}" if metrics.address else ""
                self._note(f"{exc}{where}", "err")
                if metrics.address is None:
                    return
        if self.metrics is None:
            self.metrics = metrics
            self.sinks.append(metrics)

    def _pollers(
        self, config: Config, states: Mapping[UpsAddress, EngineState]
    ) -> list[ServerPoller]:
        policy = policy_of(config)
        by_server = groupby(sorted(config.ups, key=lambda u: str(u.server)), key=lambda u: u.server)
        pollers = []
        for server, group in by_server:
            upses = list(group)
            carried = {u.name: states[u.address] for u in upses if u.address in states}
            pollers.append(
                ServerPoller(
                    server,
                    [Target(u.name, u.username, u.password, tls_of(u)) for u in upses],
                    policy,
                    config.monitor.timeout,
                    self._queue.put,
                    self._halt,
                    self.recorder.record if self.recorder else None,
                    carried,
                    self.metrics.observe if self.metrics else None,
                )
            )
        return pollers

    def _end_pollers(self, pollers: Sequence[ServerPoller]) -> None:
        self._halt.set()
        for poller in pollers:
            if poller.ident is not None:
                poller.join(self.config.monitor.timeout + 1.0)
