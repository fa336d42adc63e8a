"""``pyups drill``'s arithmetic and verdicts: the protection plan's timeline, its worst case,
the runtime a UPS has left at low battery, and whether the one fits in the other (DESIGN §10).

Theory of operation
-------------------
The drill asks upsd and the file system what it can (``commands/drill.py``) and hands the
answers here. Nothing in this module reads a clock, a socket or a file.

The **timeline** of one UPS runs from the moment it shows LB to the moment the shutdown
command starts, each stage at its worst case:

==============================  ==========================================================
stage                           worst case
==============================  ==========================================================
LB seen                         ``interval_alert``: the UPS is on battery, so polled at it
lowbatt_for                     the whole of it (OB + LB must hold that long)
the primary's FSD (secondary)   ``host_sync``: the primary never sets FSD; FSD ends it early
FSD (primary)                   nothing: one request per UPS this host is primary for
host_sync (primary)             the whole of it: some secondary never logs out; it ends as
                                soon as only this host is logged in
each ``before`` step            its timeout: the step is killed then and the sequence goes on
final_delay                     the whole of it
the command starts              the end of the worst case
==============================  ==========================================================

The worst case stops at the command's **start**: what the command then takes (systemd
stopping every service) depends on the host, not on pyups, and no timeout of pyups bounds it.
The UPS's battery must carry the host through that too, so the margin is shown, not just
whether the plan fits.

The **runtime at low battery** is what the UPS has left when LB appears: its
``battery.runtime.low`` (the threshold below which it raises LB) if it reports one, else its
``battery.runtime`` if it shows LB right now, else unknown. The plan **fits** when the worst
case is shorter than that runtime; an unknown runtime is said, not held against the plan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from pyups.core.durations import format_duration
from pyups.core.protection import Role
from pyups.core.sequence import SequencePlan


class Level(StrEnum):
    """How one check came out: ``failed`` makes the plan one that cannot work."""

    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the drill's report: what was checked, how it came out, in words."""

    name: str
    level: Level
    detail: str

    @property
    def ok(self) -> bool:
        return self.level is not Level.FAILED


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage of the timeline and its worst-case length in seconds."""

    name: str
    seconds: float
    note: str = ""


def timeline(
    role: Role, plan: SequencePlan, interval_alert: float, lowbatt_for: float
) -> tuple[Stage, ...]:
    """The stages from LB on a UPS this host has ``role`` for, to the command's start."""
    stages = [
        Stage("LB seen", interval_alert, "at the next poll (interval_alert, on battery)"),
        Stage("lowbatt_for", lowbatt_for, "OB + LB must hold this long"),
    ]
    if role is Role.SECONDARY:
        stages.append(
            Stage(
                "wait for the primary's FSD",
                plan.host_sync,
                "host_sync; ends as soon as the primary sets FSD",
            )
        )
    if plan.primary_for:
        names = ", ".join(ups.name for ups in plan.primary_for)
        stages.append(Stage(f"FSD on {names}", 0.0, "one request per UPS; not sent by the drill"))
        stages.append(
            Stage(
                "host_sync",
                plan.host_sync,
                "wait for the secondaries to log out; ends once only this host is left",
            )
        )
    for index, step in enumerate(plan.before, 1):
        stages.append(Stage(f"before {index}", step.timeout, f"{' '.join(step.argv)}; its timeout"))
    stages.append(Stage("final_delay", plan.final_delay))
    if plan.flag is not None:
        stages.append(Stage("write the power-down flag", 0.0, plan.flag))
    stages.append(
        Stage(
            "command starts",
            0.0,
            f"{' '.join(plan.command)}; the worst case ends here: the command then takes "
            "what the host needs to stop",
        )
    )
    return tuple(stages)


def worst_case(stages: Iterable[Stage]) -> float:
    """The whole timeline's length: every stage at its worst."""
    return sum(stage.seconds for stage in stages)


def offsets(stages: Iterable[Stage]) -> list[tuple[float, Stage]]:
    """Each stage with the time it starts at, counted from LB."""
    at, out = 0.0, []
    for stage in stages:
        out.append((at, stage))
        at += stage.seconds
    return out


# --- the runtime left at low battery --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the UPS has left when LB appears, and where that figure comes from."""

    seconds: float | None
    source: str  # the variable, or why it is unknown


def runtime_at_low_battery(variables: Mapping[str, str]) -> Runtime:
    """``battery.runtime.low``, else ``battery.runtime`` while LB shows, else unknown."""
    low = _seconds(variables.get("battery.runtime.low"))
    if low is not None:
        return Runtime(low, "battery.runtime.low")
    flags = variables.get("ups.status", "").split()
    now = _seconds(variables.get("battery.runtime"))
    if "LB" in flags and now is not None:
        return Runtime(now, "battery.runtime, with LB showing now")
    if "LB" in flags:
        return Runtime(None, "LB shows but the UPS reports no battery.runtime")
    return Runtime(
        None, "the UPS reports no battery.runtime.low, and shows no LB to read battery.runtime at"
    )


def _seconds(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


# --- the verdicts ---------------------------------------------------------------------------


class Fit(StrEnum):
    """Whether the worst case ends before the battery does."""

    FITS = "fits"
    TOO_LONG = "too-long"
    UNKNOWN = "unknown"


def fit(worst: float, runtime: float | None) -> tuple[Fit, float | None]:
    """The verdict and the margin (runtime left when the command starts; negative: short)."""
    if runtime is None:
        return Fit.UNKNOWN, None
    margin = runtime - worst
    return (Fit.FITS if margin > 0 else Fit.TOO_LONG), margin


def fit_check(name: str, worst: float, runtime: Runtime) -> Check:
    """The verdict on one UPS as a line of the report."""
    verdict, margin = fit(worst, runtime.seconds)
    plan = f"worst case {duration(worst)} to the command's start"
    if verdict is Fit.UNKNOWN or runtime.seconds is None or margin is None:
        return Check(
            name, Level.WARNING, f"{plan}; runtime at low battery unknown: {runtime.source}"
        )
    left = f"runtime at low battery {duration(runtime.seconds)} ({runtime.source})"
    if verdict is Fit.FITS:
        return Check(name, Level.OK, f"{plan}, {left}: fits with {duration(margin)} to spare")
    return Check(
        name,
        Level.FAILED,
        f"{plan}, {left}: {duration(-margin)} too long; shorten host_sync, the before steps' "
        "timeouts or final_delay, or raise the UPS's battery.runtime.low",
    )


def host_sync_check(
    host_sync: float, interval_alert: float, final_delay: float, hosts: str
) -> Check:
    """Whether a primary's ``host_sync`` lets its secondaries go down first.

    A secondary's own plan cannot be read from here (a pyups secondary answers no one), so
    this host's own timing stands in for it: a secondary timed like this host sees FSD within
    ``interval_alert`` and starts its command ``final_delay`` later, and the primary must
    still be waiting then. ``hosts`` says who upsd counts now.
    """
    needed = interval_alert + final_delay
    proxy = (
        f"the {duration(needed)} a secondary timed like this host needs to see FSD and start "
        f"its command (interval_alert {duration(interval_alert)} + final_delay "
        f"{duration(final_delay)}, its own before steps not counted)"
    )
    if host_sync > needed:
        return Check(
            "host_sync", Level.OK, f"{duration(host_sync)} is longer than {proxy}; {hosts}"
        )
    return Check(
        "host_sync",
        Level.WARNING,
        f"{duration(host_sync)} is not longer than {proxy}: this host may stop waiting and cut "
        f"the power before its secondaries are down; make host_sync longer; {hosts}",
    )


def failed(checks: Iterable[Check]) -> list[Check]:
    """The checks that make the plan one that cannot work."""
    return [check for check in checks if not check.ok]


def duration(seconds: float) -> str:
    """A duration for the report; zero is ``0s``, not ``0ms``."""
    return "0s" if seconds == 0 else format_duration(seconds)
