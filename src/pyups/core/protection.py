"""Whether each UPS is critical for this host, and whether this host must go down (DESIGN §10).

Theory of operation
-------------------
The tracker says what a UPS looks like (its flags, when it was last heard from, and whether
it has been silent on battery for ``dead_time``). This module turns that into one verdict per
UPS, by the first row of this table that matches:

=====================================  ==========  ==========================================
what the UPS looks like                critical?   why
=====================================  ==========  ==========================================
never reached since pyups started      never       nothing known; a UPS we never heard from
                                                   must not take the host down
shows FSD (seen now or last seen)      at once     its primary is shutting everything down
last seen OB, silent for ``dead_time`` at once     the tracker's ``critical``: it may be dead
OB + LB + CAL                          no          a calibration drains the battery on purpose
OB + LB, this host its **primary**     after       ``lowbatt_for`` (upsmon OBLBDURATION)
OB + LB, this host a **secondary**     after       ``lowbatt_for`` + ``host_sync``: the time
                                                   the primary has to set FSD, then give up
anything else (OL, OB alone, silent    no          a network blip never shuts down, on line
after OL, silent on battery briefly)               power or (shortly) on battery
=====================================  ==========  ==========================================

A secondary's two waits add up: its primary first holds OB + LB for its own ``lowbatt_for``,
then needs time to set FSD. (upsmon counts HOSTSYNC from the same moment as OBLBDURATION, so
the longer of the two wins and a long OBLBDURATION leaves the primary no time at all.) Unlike
current upsmon, a silent UPS last seen CAL, BYPASS, OFF, ALARM or OVER is not critical at
once: only silence on battery for ``dead_time`` is (DESIGN §10).

The only memory kept between polls is when OB + LB (without CAL) was first seen in the current
stretch (:class:`Memory`); it is forgotten as soon as a verdict does not need it. Verdicts
carry ``recheck_at``, the time a waiting verdict turns critical with no new poll, so a caller
can wake up then.

**Supplies** (upsmon MINSUPPLIES): the host goes down when the ``power`` of its UPSes that are
not critical adds up to less than ``min_supplies``. ``power = 0`` only watches a UPS: it never
counts, critical or not, and a host whose every UPS is watched only is not protected at all
(it never goes down by criticality; a rule or ``pyups fsd`` can still start the sequence).

Everything here is pure: time is an argument, results are frozen values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pyups.address import UpsAddress
from pyups.core.durations import format_duration
from pyups.core.tracker import UpsState, initial


class Role(StrEnum):
    """This host's part for one UPS (``[[ups]] role``)."""

    PRIMARY = "primary"
    SECONDARY = "secondary"


class Rule(StrEnum):
    """Which row of the table decided a verdict."""

    NEVER_REACHED = "never-reached"
    FSD = "fsd"
    DEAD = "dead"
    CALIBRATING = "calibrating"
    LOW_BATTERY = "low-battery"
    WAITING_LOW_BATTERY = "waiting-low-battery"
    WAITING_FOR_PRIMARY = "waiting-for-primary"
    NOT_CRITICAL = "not-critical"


@dataclass(frozen=True, slots=True)
class Protected:
    """One monitored UPS as protection sees it: who it is, this host's role, what it feeds."""

    address: UpsAddress
    role: Role = Role.SECONDARY
    power: int = 1


@dataclass(frozen=True, slots=True)
class Criteria:
    """The ``[shutdown]`` settings criticality depends on, in seconds."""

    lowbatt_for: float = 0.0
    host_sync: float = 15.0


@dataclass(frozen=True, slots=True)
class Memory:
    """What :func:`judge` remembers about one UPS between polls."""

    low_since: float | None = None  # OB + LB (without CAL) first seen, in the current stretch


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether one UPS is critical now, by which rule, said for a human."""

    critical: bool
    rule: Rule
    reason: str
    recheck_at: float | None = None  # a waiting verdict turns critical then, without a poll


def judge(
    ups: Protected, state: UpsState, memory: Memory, now: float, criteria: Criteria
) -> tuple[Verdict, Memory]:
    """The verdict on one UPS at ``now``, and the memory to pass next time."""
    name, flags = str(ups.address), state.flags
    if not state.started:
        return Verdict(False, Rule.NEVER_REACHED, f"{name} has not been reached yet"), Memory()
    if "FSD" in flags:
        return Verdict(True, Rule.FSD, f"{name} is in forced shutdown (FSD)"), Memory()
    silent = _silent_for(state, now)
    if state.critical:
        text = f"{name} has been silent for {format_duration(silent)} while on battery"
        return Verdict(True, Rule.DEAD, text), Memory()
    if "OB" in flags and "LB" in flags:
        if "CAL" in flags:
            text = f"{name} is on battery with a low battery, but calibrating"
            return Verdict(False, Rule.CALIBRATING, text), Memory()
        return _low_battery(ups, name, memory, now, criteria)
    return Verdict(False, Rule.NOT_CRITICAL, _describe(name, flags, silent)), Memory()


def _low_battery(
    ups: Protected, name: str, memory: Memory, now: float, criteria: Criteria
) -> tuple[Verdict, Memory]:
    since = memory.low_since if memory.low_since is not None else now
    kept = Memory(low_since=since)
    held = now - since
    low = f"{name} is on battery with a low battery"
    if held < criteria.lowbatt_for:
        text = f"{low} for {format_duration(held)} of {format_duration(criteria.lowbatt_for)}"
        return Verdict(False, Rule.WAITING_LOW_BATTERY, text, since + criteria.lowbatt_for), kept
    if ups.role is Role.PRIMARY:
        for_ = f" for {format_duration(held)}" if criteria.lowbatt_for > 0 else ""
        return Verdict(True, Rule.LOW_BATTERY, low + for_), kept
    due = since + criteria.lowbatt_for + criteria.host_sync
    if now < due:
        text = f"{low}; waiting up to {format_duration(due - now)} for its primary to set FSD"
        return Verdict(False, Rule.WAITING_FOR_PRIMARY, text, due), kept
    text = (
        f"{low} and its primary set no FSD within host_sync ({format_duration(criteria.host_sync)})"
    )
    return Verdict(True, Rule.LOW_BATTERY, text), kept


def _silent_for(state: UpsState, now: float) -> float:
    if state.comm_lost_since is None or state.last_good is None:
        return 0.0
    return max(0.0, now - state.last_good)


def _describe(name: str, flags: frozenset[str], silent: float) -> str:
    power = (
        "on battery" if "OB" in flags else "on line power" if "OL" in flags else "not on battery"
    )
    if silent > 0:
        return f"{name} has been silent for {format_duration(silent)}, last seen {power}"
    return f"{name} is {power}"


# --- supplies ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Supplies:
    """Whether this host must go down: the supplies left against ``min_supplies``, and why."""

    go_down: bool
    left: int
    needed: int
    critical: tuple[UpsAddress, ...]  # the critical UPSes that feed this host (power > 0)
    reason: str


def supplies(judged: Iterable[tuple[Protected, Verdict]], min_supplies: int) -> Supplies:
    """Sum ``power`` over the UPSes that are not critical; go down below ``min_supplies``."""
    left, critical, reasons, fed = 0, [], [], False
    for ups, verdict in judged:
        if ups.power <= 0:
            continue
        fed = True
        if verdict.critical:
            critical.append(ups.address)
            reasons.append(verdict.reason)
        else:
            left += ups.power
    if not fed:
        # Every UPS is watched only: nothing protects this host, so nothing takes it down.
        return Supplies(False, 0, min_supplies, (), "no UPS feeds this host (power = 0)")
    go_down = left < min_supplies
    count = f"{left} {'supply' if left == 1 else 'supplies'} left, {min_supplies} needed"
    reason = "; ".join([*reasons, count]) if reasons else f"no UPS is critical; {count}"
    return Supplies(go_down, left, min_supplies, tuple(critical), reason)


# --- all UPSes at once ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assessment:
    """Every UPS's verdict and the supplies they leave, at one moment."""

    verdicts: Mapping[UpsAddress, Verdict]
    supplies: Supplies
    recheck_at: float | None  # the earliest time a verdict may change without a poll


def assess(
    protected: Sequence[Protected],
    states: Mapping[UpsAddress, UpsState],
    memory: Mapping[UpsAddress, Memory],
    now: float,
    criteria: Criteria,
    min_supplies: int,
) -> tuple[Assessment, dict[UpsAddress, Memory]]:
    """Judge every UPS (one not in ``states`` was never reached) and count the supplies."""
    verdicts: dict[UpsAddress, Verdict] = {}
    kept: dict[UpsAddress, Memory] = {}
    for ups in protected:
        state = states.get(ups.address) or initial(ups.address.name, ups.address.server)
        verdicts[ups.address], kept[ups.address] = judge(
            ups, state, memory.get(ups.address, Memory()), now, criteria
        )
    result = supplies(((ups, verdicts[ups.address]) for ups in protected), min_supplies)
    rechecks = [v.recheck_at for v in verdicts.values() if v.recheck_at is not None]
    return Assessment(verdicts, result, min(rechecks, default=None)), kept
