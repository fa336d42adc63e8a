"""The per-UPS tracker: ``step(state, snapshot, timing) -> (state, events)``.

Theory of operation
-------------------
A UPS is described by the last thing upsd told us about it (``vars``, ``flags``) plus a few
clocks: when it went on battery, when communications were lost, when we last nagged about
NOCOMM or REPLBATT. Each poll result is compared with that description and the differences
become events, following upsmon (NUT 2.8.3+):

* Edge triggers. A flag event fires when its token appears (ONBATT, LOWBATT, FSD, CAL, BYPASS,
  ...) and its NOT... twin when the token goes. ONLINE fires when OL is seen while the UPS
  was last known on battery, and says for how long it was.
* Start-up. The first good poll gives STARTUP, plus ONBATT / LOWBATT / FSD / REPLBATT / ALARM
  for conditions already present. It never gives ONLINE or a NOT... event, nor the milder
  flag events (CAL, TRIM, ...): those are part of the STARTUP line's status. COMMOK comes
  before it only if polls had failed (and COMMBAD said so) since pyups started.
* Communications. The first failed poll gives COMMBAD (once per outage), then NOCOMM every
  ``nocomm_warn``; the first good poll after it gives COMMOK. While unreachable the last
  known values are kept, so comparisons after recovery are against what was last seen.
* Dead time. Last seen on battery and silent for ``dead_time``: the UPS counts as critical,
  LB is forced into its flags (as upsmon does) and LOWBATT fires, so rules can see it.
* Reminders. REPLBATT repeats every ``replbatt_warn`` while RB stays.

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
    """The monitor settings the tracker needs, in seconds."""

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
    if snap.ok:
        return _good(state, snap, timing)
    return _bad(state, snap, timing)


def _good(state: UpsState, snap: Snapshot, timing: Timing) -> tuple[UpsState, list[Event]]:
    now, raw = snap.t, snap.status
    flags = parse_status(raw)
    before = state.flags
    first = not state.started
    events: list[Event] = []

    def emit(name: str, held: float | None = None, tokens: str | None = None) -> None:
        events.append(_event(name, state, snap, raw, held=held, tokens=tokens))

    if state.comm_lost_since is not None:
        emit("COMMOK", held=now - state.comm_lost_since)
    if first:
        emit("STARTUP")

    on_battery_since = state.on_battery_since
    if "OB" in flags and "OB" not in before:
        emit("ONBATT")
        if on_battery_since is None:
            on_battery_since = now
    if "OL" in flags and "OB" not in flags and on_battery_since is not None:
        emit("ONLINE", held=now - on_battery_since)
        on_battery_since = None

    for flag, name in (("LB", "LOWBATT"), ("FSD", "FSD")):
        if flag in flags and flag not in before:
            emit(name)

    last_replbatt = state.last_replbatt
    if "RB" not in flags:
        last_replbatt = None
    elif last_replbatt is None or now - last_replbatt >= timing.replbatt_warn:
        emit("REPLBATT")
        last_replbatt = now

    alarm_text = snap.vars.get("ups.alarm", "")
    if "ALARM" in flags and (
        "ALARM" not in before or alarm_text != state.vars.get("ups.alarm", "")
    ):
        emit("ALARM")
    elif "ALARM" in before and "ALARM" not in flags:
        emit("NOTALARM")

    if not first:
        for flag in PAIRED_FLAGS:
            if flag in flags and flag not in before:
                emit(flag)
            elif flag in before and flag not in flags:
                emit("NOT" + flag)
        other, other_before = unclassified(flags), unclassified(before)
        if set(other) - set(other_before):
            emit("OTHER", tokens=" ".join(other))
        elif other_before and not other:
            emit("NOTOTHER", tokens=" ".join(other_before))

    new = replace(
        state,
        started=True,
        vars=dict(snap.vars),
        status=raw,
        flags=flags,
        on_battery_since=on_battery_since,
        last_good=now,
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
