"""The monitor's main loop: one queue in, the sinks and the dispatcher out.

Pollers (:mod:`~pyups.service.poller`) and action workers run in their own threads and only
ever put items on one queue; the thread that called :meth:`Monitor.run` takes them off in
order and is the only one that touches the sinks, so sinks need no locking and each UPS's
entries keep their order. Between items it lets :class:`~pyups.service.upkeep.Upkeep` talk
to systemd and writes the state file after events (at most once a second). It sleeps on the
queue until an item comes or something is due (a watchdog ping, the state-file write, the
moment a busy poller would overrun its budget), never on a fixed tick: an idle monitor
wakes for its polls' events and little else.

A reload (SIGHUP) runs on the same thread: the new configuration is loaded in full first; if
it has errors they are logged and the running configuration stays. Otherwise the pollers are
replaced, starting from what :func:`~pyups.service.reload.carry_over` keeps, and the metrics
endpoint follows the new file (:class:`~pyups.service.endpoint.MetricsEndpoint`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyups import __version__
from pyups.actions.dispatcher import Dispatcher
from pyups.actions.outcome import Outcome
from pyups.address import UpsAddress
from pyups.config import Config, ConfigError
from pyups.config.views import policy_of, tls_of
from pyups.core.engine import EngineState, react
from pyups.core.events import Event
from pyups.core.rules import ActionRequest
from pyups.nut.tls import Tls
from pyups.service import flag
from pyups.service.endpoint import MetricsEndpoint
from pyups.service.notify import Notifier
from pyups.service.poller import ServerPoller, build_pollers
from pyups.service.protector import Protector, protection_of_config
from pyups.service.record import Recorder
from pyups.service.reload import carry_over
from pyups.service.state import StateFile
from pyups.service.upkeep import Upkeep
from pyups.sinks import Sink

STOP_GRACE = 10.0  # seconds running actions get to finish when the monitor stops
# The longest the stop can take after a linger: the protector's and the dispatcher's grace,
# and a few seconds to end the pollers and save the state.
STOP_TAIL = 2 * STOP_GRACE + 5.0
SAVE_EVERY = 1.0  # seconds: a burst of events costs one state-file write, not one each
MAX_SLEEP = 3600.0  # the queue's wait needs a bound: a monitor with no poller at all


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


def _names(config: Config) -> str:
    return ", ".join(str(u.address) for u in config.ups)


class Monitor:
    """Polls every configured UPS until :meth:`stop` is called.

    ``load`` re-reads the configuration for :meth:`reload` (raising ConfigError); without it
    a reload request is logged and ignored. The constructor does no I/O: :meth:`open` reads
    the state file, opens the trace and serves the metrics (raising OSError or MetricsError),
    and :meth:`run` opens it first if nobody did.
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
        self._record = record
        self._load = load
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._stop_reason = ""
        self.upkeep = Upkeep(notifier or Notifier(), self._note)
        self.endpoint = MetricsEndpoint()
        self.recorder: Recorder | None = None
        self.state_file = StateFile(config.monitor.state_file)
        self.dispatcher = Dispatcher(
            self._queue.put,
            self._put_note,
            dry_run=config.monitor.dry_run,
            shutdown_command=config.monitor.shutdown_command,
            credentials=_credentials(config),
            tls=_tls_settings(config),
            nut_timeout=config.monitor.timeout,
            shutdown=self._shutdown,
        )
        self.protector = Protector(
            protection_of_config(config), self._protection_event, self._put_note, self._logout
        )
        self._halt = threading.Event()  # stops the current pollers (a reload starts new ones)
        self.pollers: list[ServerPoller] = []
        self._opened = False
        self._warnings: list[str] = []
        self._dirty = False
        self._last_save = float("-inf")

    @property
    def notifier(self) -> Notifier:
        return self.upkeep.notifier

    def open(self) -> None:
        """Read the state file, open the trace, serve the metrics, make the pollers."""
        if self._opened:
            return
        restored, warning = self.state_file.load()
        self._warnings = [warning] if warning else []
        stale = self.config.shutdown.powerdown_flag
        if stale and (warning := flag.clear_stale_flag(stale)):
            self._warnings.append(warning)
        self.protector.seed({address: state for address, state in restored.items()})
        if self._record:
            self.recorder = Recorder(self._record)
        metrics = self.endpoint.open(self.config)
        if metrics is not None:
            self.sinks.append(metrics)
        self.pollers = self._pollers(self.config, {k: EngineState(s) for k, s in restored.items()})
        self._opened = True

    # -- control, safe from signal handlers -------------------------------------------------

    def stop(self, reason: str = "") -> None:
        """Ask the monitor to finish."""
        self._stop_reason = reason
        self._stopping.set()
        self._queue.put(None)

    def reload(self) -> None:
        """Ask the monitor to re-read its configuration."""
        self._queue.put(_Reload())

    def fsd(self, reason: str = "forced by pyups fsd") -> None:
        """Start the shutdown sequence now, as if every UPS this host depends on were critical.

        A monitor that only watches (every UPS ``power = 0``, e.g. ``pyups run UPS@HOST``)
        protects nothing and refuses: a stray signal must not power off a machine that never
        asked to be protected. A rule's ``{ shutdown = true }`` is asked for in the file.
        """
        if not any(u.power > 0 for u in self.config.ups):
            ignored = f"{reason}: ignored, no UPS feeds this host (every power = 0)"
            self._put_note(ignored, "warning")
            return
        self.protector.request(reason)

    # -- the main thread --------------------------------------------------------------------

    def run(self) -> None:
        """Poll and report until stopped; pollers and running actions end before it returns."""
        self.open()
        dry = " (dry run: actions are logged, not run)" if self.config.monitor.dry_run else ""
        self._note(f"pyups {__version__} started, monitoring {_names(self.config)}{dry}", "info")
        for warning in self._warnings:
            self._note(warning, "warning")
        self.upkeep.start(self.pollers, time.monotonic())
        self.protector.start()
        for poller in self.pollers:
            poller.start()
        while not self._stopping.is_set():
            deadline = time.monotonic() + MAX_SLEEP
            if self._dirty:
                deadline = min(deadline, self._last_save + SAVE_EVERY)
            self._handle(self._next_item(deadline))
            now = time.monotonic()
            self.upkeep.check(now)
            if self._dirty and now - self._last_save >= SAVE_EVERY:
                self._last_save = now
                self._save()
        self.notifier.stopping("stopping")
        self._linger()
        self._end_pollers(self.pollers)
        self.protector.stop(STOP_GRACE)
        self.protector.join(STOP_GRACE)
        self._drain()
        self.dispatcher.close(STOP_GRACE)
        self._drain()
        self._save()
        if self.recorder is not None:
            self.recorder.close()
        self.endpoint.close()
        reason = f" ({self._stop_reason})" if self._stop_reason else ""
        self._note(f"pyups stopping{reason}", "info")

    def _linger(self) -> None:
        """Stopped after the shutdown command started (the command itself stops pyups): the
        secondary sessions stay logged in, polled as before, until ``linger`` ends, so that
        their primaries keep waiting for this host (DESIGN §10)."""
        until = self.protector.lingering_until()
        if until is None or until <= time.time():
            return
        left = until - time.time()
        self._note(f"staying logged in to upsd for the rest of the linger ({left:.1f}s)", "notice")
        # The unit's TimeoutStopSec= (20 s) need not cover a longer linger: systemd is told
        # how long this stop will take, so it neither kills pyups nor ends the linger early.
        self.notifier.extend_timeout(left + STOP_TAIL)
        while (left := until - time.time()) > 0:
            item = self._next_item(time.monotonic() + left)
            if not isinstance(item, _Reload):
                self._handle(item)
            self.upkeep.check(time.monotonic())

    def _next_item(self, deadline: float) -> _Item:
        """The next queued item, or None at ``deadline`` (monotonic) or when the upkeep has
        something due, whichever comes first."""
        now = time.monotonic()
        try:
            return self._queue.get(timeout=max(0.0, min(deadline, self.upkeep.next_due(now)) - now))
        except queue.Empty:
            return None

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

    def _put_note(self, message: str, priority: str) -> None:
        """A plain entry from any thread, logged in order by the main thread."""
        self._queue.put(_Note(message, priority))

    def _note(self, message: str, priority: str) -> None:
        for sink in self.sinks:
            sink.note(message, priority)

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
            self.notifier.ready(self.upkeep.status())
            return
        states = self._states()
        self._end_pollers(self.pollers)
        carried = carry_over(states, self.config.rules, config.rules)
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
        self._follow_metrics(config)
        self.protector.reconfigure(protection_of_config(config))
        self._halt = threading.Event()
        self.pollers = self._pollers(config, carried)
        self.upkeep.replace(self.pollers)
        for poller in self.pollers:
            poller.start()
        self._note(f"configuration reloaded, monitoring {_names(config)}", "info")
        self._dirty = True
        self.notifier.ready(self.upkeep.status())

    def _follow_metrics(self, config: Config) -> None:
        """Let the endpoint follow ``[metrics] listen``, and the sinks follow the endpoint."""
        before = self.endpoint.metrics
        after, error = self.endpoint.follow(config)
        if error:
            self._note(error, "err")
        if before is not None and before is not after:
            self.sinks.remove(before)
        if after is not None and after is not before:
            self.sinks.append(after)

    def _pollers(self, config: Config, states: dict[UpsAddress, EngineState]) -> list[ServerPoller]:
        metrics = self.endpoint.metrics
        return build_pollers(
            config,
            states,
            self._queue.put,
            self._halt,
            self.recorder.record if self.recorder else None,
            metrics.observe if metrics else None,
            note=self._put_note,
            protect=self.protector.observe,
        )

    # -- protection -------------------------------------------------------------------------

    def _shutdown(self, request: ActionRequest) -> Outcome:
        """A rule's ``{ shutdown = true }``: the shutdown sequence, once per process."""
        event = request.event
        started = self.protector.request(f"rule {event.rule}: {event.message}", event.address)
        command = " ".join(self.protector.protection.plan.command)
        if started is not None:
            at = time.strftime("%H:%M:%S", time.localtime(started))
            return Outcome("skipped", f"shutdown sequence already started at {at}", ok=True)
        if self.config.monitor.dry_run:
            return Outcome(
                "dry-run", f"dry run: would start the shutdown sequence ({command})", ok=True
            )
        return Outcome("ok", f"shutdown sequence started ({command})", ok=True)

    def _protection_event(self, event: Event) -> None:
        """An event of the shutdown sequence (protector thread): recorded, and the ``on``
        rules it fires run as they do for a poll's events."""
        events, requests = react([event], policy_of(self.config))
        for event_ in events:
            self._queue.put(event_)
        for request in requests:
            self._queue.put(request)

    def _logout(self, address: UpsAddress) -> None:
        """The sequence is done with this UPS's session: its poller logs out (any thread)."""
        for poller in self.pollers:
            if poller.server == address.server:
                poller.detach(address.name)

    def _end_pollers(self, pollers: Sequence[ServerPoller]) -> None:
        self._halt.set()
        for poller in pollers:
            poller.wake()
        for poller in pollers:
            if poller.ident is not None:
                poller.join(self.config.monitor.timeout + 1.0)
