"""One thread per upsd server, polling each of its UPSes on its own schedule.

A server that hangs only ever holds up its own thread (each request has a deadline of
``monitor.timeout``), so the UPSes of other servers keep being polled on time. Deadlines are
kept on the monotonic clock and advanced by whole periods, so polls do not drift; events carry
wall-clock time, which is what the journal, traces and persisted state speak.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby

from pyups.address import Server, UpsAddress
from pyups.config import Config, UpsConfig
from pyups.config.views import logs_in, policy_of, tls_of
from pyups.core.engine import EngineState, Policy, advance, start
from pyups.core.events import Event
from pyups.core.protection import Role
from pyups.core.rules import ActionRequest
from pyups.core.snapshot import Snapshot
from pyups.core.tracker import UpsState, poll_interval
from pyups.nut import Attach, Connection, poll
from pyups.nut.tls import Tls


@dataclass(frozen=True, slots=True)
class Target:
    """One UPS to poll, with the credentials to log in with and the TLS settings (if any)."""

    name: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: Tls | None = None
    attach: Attach | None = None  # LOGIN (and PRIMARY) so upsd counts this host


class ServerPoller(threading.Thread):
    """Polls every target of one server through the engine; hands results to ``deliver``."""

    def __init__(
        self,
        server: Server,
        targets: Sequence[Target],
        policy: Policy,
        timeout: float,
        deliver: Callable[[Event | ActionRequest], None],
        stop: threading.Event,
        record: Callable[[Snapshot], None] | None = None,
        states: Mapping[str, EngineState] | None = None,
        observe: Callable[[UpsAddress, Snapshot, float], None] | None = None,
        *,
        note: Callable[[str, str], None] | None = None,
        protect: Callable[[UpsAddress, UpsState], None] | None = None,
    ) -> None:
        super().__init__(name=f"poller {server}", daemon=True)
        self.server = server
        self.targets = list(targets)
        self.policy = policy
        carried = states or {}
        self.states = {t.name: carried.get(t.name) or start(t.name, server) for t in self.targets}
        self.rounds = 0  # completed passes over the due targets
        self.busy_since: float | None = None  # monotonic start of the pass under way
        # A pass polls each target once: connect and request, each bounded by ``timeout``.
        self.budget = 2 * timeout * len(self.targets) + 2.0
        self._timeout = timeout
        self._deliver = deliver
        self._halt = stop
        self._record = record
        self._observe = observe  # each result and how long the poll took (metrics)
        self._note = note or (lambda message, priority: None)
        self._protect = protect  # each UPS's new tracker state (protection)
        self._addresses = {t.name: UpsAddress(t.name, server) for t in self.targets}
        # UPSes logging in as the same user with the same TLS settings share one connection;
        # an attached UPS has one of its own (upsd takes one LOGIN per connection).
        self._connections: dict[_ConnKey, Connection] = {}
        self._detached: set[str] = set()  # attached UPSes logged out of by the sequence
        self._wake = _Wake()  # cuts the wait between passes short (detach, stop)
        self._refusals: dict[str, str | None] = {}  # the last attach refusal reported

    def run(self) -> None:
        start = time.monotonic()
        due = {t.name: start for t in self.targets}
        try:
            while not self._halt.is_set():
                if self._detached:
                    self._log_out_detached()
                now = self.busy_since = time.monotonic()
                for target in self.targets:
                    if due[target.name] <= now and not self._halt.is_set():
                        period = self._poll(target)
                        due[target.name] = _next_deadline(
                            due[target.name], period, time.monotonic()
                        )
                self.busy_since = None
                self.rounds += 1
                self._wake.wait(max(0.0, min(due.values()) - time.monotonic()))
        finally:
            for conn in self._connections.values():
                conn.close()

    def stuck_for(self, now: float) -> float:
        """How long the pass under way has run beyond its budget (0 when healthy).

        A thread that died is stuck for ever; a hung request, a blocked trace file or a bug
        shows as a pass that does not end.
        """
        if self.ident is not None and not self.is_alive():
            return float("inf")
        busy_since = self.busy_since
        if busy_since is None:
            return 0.0
        return max(0.0, now - busy_since - self.budget)

    def detach(self, name: str) -> None:
        """Log out of ``name``'s session now, and keep polling it without one.

        At once, not at the next poll: a primary is waiting for this host to leave.
        """
        self._detached.add(name)
        self._wake.set()

    def wake(self) -> None:
        """End the wait between passes now (after ``stop`` is set, so the thread ends soon)."""
        self._wake.set()

    def _log_out_detached(self) -> None:
        for target in self.targets:
            if target.attach is not None and target.name in self._detached:
                gone = self._connections.pop(_key(target, target.attach), None)
                if gone is not None:
                    gone.close()  # LOGOUT: upsd stops counting this host

    def _poll(self, target: Target) -> float:
        address = self._addresses[target.name]
        conn = self._connection(target)
        observe = self._observe
        started = time.perf_counter() if observe is not None else 0.0
        snap = poll(conn, target.name, time.time())
        if conn.attach is not None:
            self._report_attach(target, conn)
        if observe is not None:
            observe(address, snap, time.perf_counter() - started)
        if self._record is not None:
            self._record(snap)
        state, events, requests = advance(self.states[target.name], snap, self.policy)
        self.states[target.name] = state
        for event in events:
            self._deliver(event)
        for request in requests:
            self._deliver(request)
        if self._protect is not None:
            self._protect(address, state.tracker)
        return poll_interval(state.tracker, self.policy.timing)

    def _connection(self, target: Target) -> Connection:
        attach = target.attach if target.name not in self._detached else None
        key = _key(target, attach)
        conn = self._connections.get(key)
        if conn is None:
            conn = Connection(
                self.server,
                self._timeout,
                target.username,
                target.password,
                target.tls,
                attach=attach,
            )
            self._connections[key] = conn
        return conn

    def _report_attach(self, target: Target, conn: Connection) -> None:
        """One err entry when upsd refuses to count this host, one notice when it then does."""
        error = conn.attach_error
        text = error.detail if error is not None else None
        if error is None and not conn.attached:
            return  # not connected: nothing new to say
        last = self._refusals.get(target.name)
        if text != last:
            self._refusals[target.name] = text
            where = f"{target.name}@{self.server}"
            if text is not None:
                self._note(f"{where}: {text}", "err")
            elif last is not None:
                self._note(f"{where}: upsd now counts this host", "notice")


class _Wake:
    """A wake-up call one thread waits for and others give: a lock held while none is due.

    What threading.Event does, for the one waiter here, without its Condition: a wait that
    times out is one lock acquisition in C. It runs between every two polls; Event.wait's
    Python-level bookkeeping (a new lock, the Condition's waiter list) cost about 0.05 ms of
    CPU more per wake-up, measured on an idle machine.
    """

    def __init__(self) -> None:
        self._none_due = threading.Lock()
        self._none_due.acquire()

    def set(self) -> None:
        """Wake the waiter (now, or at its next wait); calls before that count as one."""
        with contextlib.suppress(RuntimeError):  # already released: a wake-up is due
            self._none_due.release()

    def wait(self, timeout: float) -> bool:
        """Until woken (True, and the wake-up is used up) or ``timeout`` seconds (False)."""
        return self._none_due.acquire(timeout=timeout)


_ConnKey = tuple[str | None, str | None, "Tls | None", "Attach | None"]


def _key(target: Target, attach: Attach | None) -> _ConnKey:
    return (target.username, target.password, target.tls, attach)


def _next_deadline(previous: float, period: float, now: float) -> float:
    """The next slot on the grid ``previous + k * period`` that is still ahead of ``now``."""
    deadline = previous + period
    if deadline <= now:
        missed = int((now - deadline) // period) + 1
        deadline += missed * period
    return deadline


def build_pollers(
    config: Config,
    states: Mapping[UpsAddress, EngineState],
    deliver: Callable[[Event | ActionRequest], None],
    halt: threading.Event,
    record: Callable[[Snapshot], None] | None = None,
    observe: Callable[[UpsAddress, Snapshot, float], None] | None = None,
    *,
    note: Callable[[str, str], None] | None = None,
    protect: Callable[[UpsAddress, UpsState], None] | None = None,
) -> list[ServerPoller]:
    """One poller per upsd server of ``config``, each UPS starting from its carried state.

    A UPS that feeds this host and has a username is polled through a session that logs in
    to it (DESIGN §10), so upsd counts this host; as primary it also claims PRIMARY.
    """
    policy = policy_of(config)
    by_server = groupby(sorted(config.ups, key=lambda u: str(u.server)), key=lambda u: u.server)
    pollers = []
    for server, group in by_server:
        upses = list(group)
        carried = {u.name: states[u.address] for u in upses if u.address in states}
        pollers.append(
            ServerPoller(
                server,
                [Target(u.name, u.username, u.password, tls_of(u), _attach(u)) for u in upses],
                policy,
                config.monitor.timeout,
                deliver,
                halt,
                record,
                carried,
                observe,
                note=note,
                protect=protect,
            )
        )
    return pollers


def _attach(ups: UpsConfig) -> Attach | None:
    if not logs_in(ups):
        return None
    return Attach(ups.name, primary=ups.role is Role.PRIMARY)
