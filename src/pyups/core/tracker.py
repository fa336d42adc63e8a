"""The per-UPS tracker: ``step(state, snapshot, timing) -> (state, events)``.

Theory of operation
-------------------
A UPS is described by the last thing upsd told us about it (``vars``, ``flags``) plus a few
clocks: when it went on battery, when communications were lost, when we last nagged about
NOCOMM or REPLBATT. Each poll result is compared with that description and the differences
become events, following upsmon (NUT 2.8.3+):

* Edge triggers. A flag event fires when its token appears (ONBATT, LOWBATT, FSD, CAL, BYPASS,
  ...) and its NOT... twin when the token goes. The plain ones are rows of a table
  (:data:`POWER_EDGES`, :data:`FLAG_EDGES`: token, event on arrival, event on departure,
  whether start-up reports it); the few with more to them are functions of their own, in the
  order their events are reported: ONLINE fires when OL is seen while the UPS was last known
  on battery, and says for how long it was; ALARM also fires when the alarm text changes;
  OTHER names the unknown tokens.
* Start-up. The first good poll gives STARTUP, plus an event for every condition already
  present that upsmon 2.8.3+ reports at its first poll: ONBATT, LOWBATT, FSD, REPLBATT, ALARM,
  and the flag events (CAL, OFF, BYPASS, OVER, TRIM, BOOST, ECO) and OTHER. Only OL is
  silent: start-up never gives ONLINE or a NOT... event. A UPS restored from the state file
  is compared with its saved flags, so what was already reported is not reported again.
  COMMOK comes before STARTUP only if polls had failed (and COMMBAD said so) since pyups
  started.
* Communications. The first failed poll gives COMMBAD (once per outage), then NOCOMM every
  ``nocomm_warn``; the first good poll after it gives COMMOK. While unreachable the last
  known values are kept, so comparisons after recovery are against what was last seen.
* Dead time. Last seen on battery and silent for ``dead_time``: the UPS counts as critical,
  LB is forced into its flags (as upsmon does) and LOWBATT fires, so rules can see it.
* Reminders. REPLBATT follows upsmon's clock: it fires when RB is shown and more than
  ``replbatt_warn`` has passed since the last REPLBATT (or there was none). RB going away
  does not reset that clock, so RB that comes and goes around self-tests is reported once
  per ``replbatt_warn``; the clock is kept in the state file across restarts.
* A quiet poll. When a poll carries the very mapping the last good poll stored (the session
  hands it back while upsd's reply stays the same bytes), nothing can have arrived or left:
  only the time of the last good poll moves, unless REPLBATT is due. A property test steps
  every generated sequence both ways and requires the same states and events.

Everything here is pure: the time is the snapshot's ``t``, the state is an immutable value,
and the events are frozen dataclasses. Replaying a trace is running ``step`` over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from pyups.address import Server, UpsAddress
from pyups.core.catalogue import PAIRED_FLAGS
from pyups.core.durations import format_duration
from pyups.core.events import Event
from pyups.core.snapshot import Snapshot
from pyups.core.status import ALERT_FLAGS, parse_status, unclassified


@dataclass(frozen=True, slots=True)
class Timing:
    """The monitor settings the tracker needs, in seconds (the defaults are the schema's, for
    the default ``interval``; the configuration gives all of them)."""

    interval: float = 5.0
    interval_alert: float = 2.0
    dead_time: float = 15.0
    nocomm_warn: float = 300.0
    replbatt_warn: float = 43200.0


@dataclass(frozen=True, slots=True)
class UpsState:
    """Everything the tracker remembers about one UPS between polls."""

    ups: str
    server: Server
    started: bool = False
    vars: Mapping[str, str] = field(default_factory=dict)
    status: str = ""
    flags: frozenset[str] = frozenset()
    on_battery_since: float | None = None
    last_good: float | None = None
    comm_lost_since: float | None = None
    last_error: str | None = None
    last_nocomm: float | None = None
    last_replbatt: float | None = None
    critical: bool = False

    @property
    def address(self) -> UpsAddress:
        return UpsAddress(self.ups, self.server)

    @property
    def nocomm(self) -> bool:
        """True while upsd or the driver does not answer."""
        return self.comm_lost_since is not None


def initial(ups: str, server: Server) -> UpsState:
    """The state of a UPS nothing is known about yet."""
    return UpsState(ups=ups, server=server)


def poll_interval(state: UpsState, timing: Timing) -> float:
    """``interval_alert`` while on battery, in alarm or overloaded, else ``interval``."""
    return timing.interval_alert if state.flags & ALERT_FLAGS else timing.interval


def step(state: UpsState, snap: Snapshot, timing: Timing) -> tuple[UpsState, list[Event]]:
    """Advance one UPS by one poll result; returns the new state and the events, in order."""
    # A quiet UPS, most polls of its life: the poll returned the very mapping the last good
    # poll stored (the session hands back the mapping it parsed before while upsd's reply is
    # the same bytes; a failed poll never carries it). Nothing arrived or left and no value
    # changed, so the comparison in _good could only give a REPLBATT that is due; short of
    # that, only the clock moves. A state restored from the file, or one after failed polls,
    # never takes this path. test_properties checks that both paths give the same state and
    # events.
    if (
        snap.vars is state.vars
        and snap.error is None
        and state.started
        and state.comm_lost_since is None
        and not _replbatt_due_at(state, state.flags, snap.t, timing)
    ):
        return _polled_again(state, snap.t), []
    if snap.ok:
        return _good(state, snap, timing)
    return _bad(state, snap, timing)


@dataclass(frozen=True, slots=True)
class Edge:
    """A status token whose arrival, and perhaps departure, is an event of its own."""

    token: str
    arrives: str  # the event when the token appears
    leaves: str | None = None  # the event when it goes, if upsmon has one
    at_startup: bool = False  # also when the first poll already shows it


# upsmon's plain edge triggers. The power edges come before the reminders and alarms, the
# milder flags after, which is the order their events are reported in within one poll.
POWER_EDGES = (Edge("LB", "LOWBATT", at_startup=True), Edge("FSD", "FSD", at_startup=True))
FLAG_EDGES = tuple(Edge(flag, flag, "NOT" + flag, at_startup=True) for flag in PAIRED_FLAGS)


@dataclass(frozen=True, slots=True)
class _Poll:
    """One good poll result seen against the state before it."""

    state: UpsState
    snap: Snapshot
    flags: frozenset[str]
    before: frozenset[str]  # the flags of the poll before
    first: bool  # no good poll before this one


_Fired = tuple[str, float | None, str | None]  # event name, held, tokens


def _edges(poll: _Poll, edges: tuple[Edge, ...]) -> list[_Fired]:
    fired: list[_Fired] = []
    if poll.flags == poll.before and not poll.first:
        return fired  # nothing arrived, nothing left (each poll of a quiet UPS)
    for edge in edges:
        now_on, was_on = edge.token in poll.flags, edge.token in poll.before
        if poll.first and not edge.at_startup:
            continue
        if now_on and not was_on:
            fired.append((edge.arrives, None, None))
        elif was_on and not now_on and edge.leaves is not None and not poll.first:
            fired.append((edge.leaves, None, None))
    return fired


def _communications(poll: _Poll) -> list[_Fired]:
    """COMMOK after failed polls, then STARTUP on the first good one."""
    fired: list[_Fired] = []
    lost = poll.state.comm_lost_since
    if lost is not None:
        fired.append(("COMMOK", poll.snap.t - lost, None))
    if poll.first:
        fired.append(("STARTUP", None, None))
    return fired


def _power(poll: _Poll) -> list[_Fired]:
    """ONBATT when OB appears (at start-up too); ONLINE, with the time on battery, when OL is
    back after it."""
    fired: list[_Fired] = []
    if "OB" in poll.flags and "OB" not in poll.before:
        fired.append(("ONBATT", None, None))
    since = _on_battery_since(poll)
    if "OL" in poll.flags and "OB" not in poll.flags and since is not None:
        fired.append(("ONLINE", poll.snap.t - since, None))
    return fired


def _on_battery_since(poll: _Poll) -> float | None:
    """When the current stretch on battery began (before OL ends it), None off battery."""
    since = poll.state.on_battery_since
    if "OB" in poll.flags and "OB" not in poll.before and since is None:
        return poll.snap.t
    return since


def _replbatt_due(poll: _Poll, timing: Timing) -> bool:
    return _replbatt_due_at(poll.state, poll.flags, poll.snap.t, timing)


def _replbatt_due_at(state: UpsState, flags: frozenset[str], t: float, timing: Timing) -> bool:
    """RB shown in ``flags`` at ``t``, and more than ``replbatt_warn`` since the last REPLBATT."""
    last = state.last_replbatt
    return "RB" in flags and (last is None or t - last > timing.replbatt_warn)


def _polled_again(state: UpsState, t: float) -> UpsState:
    """The state after a poll that changed nothing (see :func:`step`): only the time of the
    last good poll moves."""
    return UpsState(
        ups=state.ups,
        server=state.server,
        started=True,
        vars=state.vars,
        status=state.status,
        flags=state.flags,
        on_battery_since=state.on_battery_since,
        last_good=t,
        comm_lost_since=None,
        last_error=None,
        last_nocomm=None,
        last_replbatt=state.last_replbatt,
        critical=False,
    )


def _reminders(poll: _Poll, timing: Timing) -> list[_Fired]:
    """REPLBATT while RB is shown, when more than ``replbatt_warn`` has passed since the last
    one (upsmon's ``now - lastrbwarn > RBWARNTIME``); RB going away leaves that clock alone."""
    return [("REPLBATT", None, None)] if _replbatt_due(poll, timing) else []


def _alarm(poll: _Poll) -> list[_Fired]:
    """ALARM when the token appears or its text changes (at start-up too), NOTALARM when it goes."""
    text, before = poll.snap.vars.get("ups.alarm", ""), poll.state.vars.get("ups.alarm", "")
    if "ALARM" in poll.flags and ("ALARM" not in poll.before or text != before):
        return [("ALARM", None, None)]
    if "ALARM" in poll.before and "ALARM" not in poll.flags:
        return [("NOTALARM", None, None)]
    return []


def _other(poll: _Poll) -> list[_Fired]:
    """OTHER when unknown tokens appear (at start-up too), NOTOTHER when the last of them goes
    (never at start-up)."""
    other, before = unclassified(poll.flags), unclassified(poll.before)
    if set(other) - set(before):
        return [("OTHER", None, " ".join(other))]
    if before and not other and not poll.first:
        return [("NOTOTHER", None, " ".join(before))]
    return []


def _good(state: UpsState, snap: Snapshot, timing: Timing) -> tuple[UpsState, list[Event]]:
    """A good poll compared in full with the state before it (not the quiet path of step)."""
    poll = _Poll(state, snap, parse_status(snap.status), state.flags, not state.started)
    fired = [
        *_communications(poll),
        *_power(poll),
        *_edges(poll, POWER_EDGES),
        *_reminders(poll, timing),
        *_alarm(poll),
        *_edges(poll, FLAG_EDGES),
        *_other(poll),
    ]
    events = [
        _event(name, state, snap, snap.status, held=held, tokens=tokens)
        for name, held, tokens in fired
    ]
    since = _on_battery_since(poll)
    if "OL" in poll.flags and "OB" not in poll.flags:
        since = None
    last_replbatt = snap.t if _replbatt_due(poll, timing) else state.last_replbatt
    # Built field by field, not with dataclasses.replace: this runs on every poll, and
    # replace() walks the fields in Python each time (about a sixth of the lines a quiet
    # poll's tracker step ran).
    new = UpsState(
        ups=state.ups,
        server=state.server,
        started=True,
        vars=snap.vars,  # kept as it is, never copied: what the quiet path above compares
        status=snap.status,
        flags=poll.flags,
        on_battery_since=since,
        last_good=snap.t,
        comm_lost_since=None,
        last_error=None,
        last_nocomm=None,
        last_replbatt=last_replbatt,
        critical=False,
    )
    return new, events


def _bad(state: UpsState, snap: Snapshot, timing: Timing) -> tuple[UpsState, list[Event]]:
    now = snap.t
    events: list[Event] = []
    reason = snap.error or "UNKNOWN"
    comm_lost_since, last_nocomm = state.comm_lost_since, state.last_nocomm
    if comm_lost_since is None:
        comm_lost_since = now
        events.append(
            _event("COMMBAD", state, snap, state.status, reason=reason, detail=snap.detail)
        )
    elif now - (last_nocomm if last_nocomm is not None else comm_lost_since) >= timing.nocomm_warn:
        last_nocomm = now
        events.append(
            _event(
                "NOCOMM",
                state,
                snap,
                state.status,
                held=now - comm_lost_since,
                reason=reason,
                detail=snap.detail,
            )
        )

    flags, critical = state.flags, state.critical
    silent_for = now - state.last_good if state.last_good is not None else 0.0
    if not critical and "OB" in flags and silent_for >= timing.dead_time:
        critical = True
        if "LB" not in flags:
            flags = flags | {"LB"}
            detail = f"no data for {format_duration(silent_for)} while on battery"
            events.append(
                _event(
                    "LOWBATT",
                    state,
                    snap,
                    state.status,
                    held=silent_for,
                    reason="DEAD",
                    detail=detail,
                )
            )

    new = replace(
        state,
        flags=flags,
        comm_lost_since=comm_lost_since,
        last_error=reason,
        last_nocomm=last_nocomm,
        critical=critical,
    )
    return new, events


def _event(
    name: str,
    state: UpsState,
    snap: Snapshot,
    status: str,
    *,
    held: float | None = None,
    reason: str | None = None,
    detail: str = "",
    tokens: str | None = None,
) -> Event:
    return Event(
        name=name,
        ups=state.ups,
        server=state.server,
        t=snap.t,
        status=status,
        prev_status=state.status,
        vars=snap.vars if snap.ok else state.vars,
        held=held,
        reason=reason,
        detail=detail,
        tokens=tokens,
    )
