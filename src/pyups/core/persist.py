"""What survives a restart of one UPS's tracker, as plain JSON-able data, and back.

A restart in the middle of an outage must not forget when it began (ONLINE reports the whole
time on battery) and must not repeat what was already said (ONBATT, COMMBAD) or nag early
(REPLBATT, NOCOMM reminders). So the record keeps the last status, when the UPS went on
battery, when it last answered, when communications were lost, when each reminder was
last given, whether dead time made it critical, and the alarm text and battery figures;
all times are Unix seconds, the clock events speak. A restored UPS still gets its STARTUP entry, and
:func:`restore` leaves ``started`` false so the first poll is treated as a start-up; the
flags it compares against are the saved ones, which is what suppresses the repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyups.address import Server
from pyups.core.status import parse_status
from pyups.core.tracker import UpsState

_TIMES = ("on_battery_since", "last_good", "comm_lost_since", "last_nocomm", "last_replbatt")
# Values kept too: the alarm text (so an unchanged alarm is not announced again) and what a
# COMMBAD right after the restart shows of the battery.
_VARS = ("ups.alarm", "battery.charge", "battery.runtime")


def record(state: UpsState) -> dict[str, Any] | None:
    """The part of a UPS's state worth keeping, or None if nothing is known about it yet."""
    if not state.started and state.comm_lost_since is None and not state.status:
        return None
    kept: dict[str, Any] = {"status": state.status}
    for name in _TIMES:
        kept[name] = getattr(state, name)
    kept["vars"] = {name: state.vars[name] for name in _VARS if name in state.vars}
    kept["critical"] = state.critical  # dead time passed on battery: LB stays forced
    return kept


def restore(ups: str, server: Server, kept: Mapping[str, Any]) -> UpsState:
    """A tracker state from :func:`record`'s output; raises ValueError if it is malformed."""
    status = kept.get("status", "")
    if not isinstance(status, str):
        raise ValueError("status is not a string")
    times: dict[str, float | None] = {}
    for name in _TIMES:
        value = kept.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"{name} is not a time")
        times[name] = None if value is None else float(value)
    values = kept.get("vars", {})
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        raise ValueError("vars is not a table of strings")
    critical = kept.get("critical", False)
    if not isinstance(critical, bool):
        raise ValueError("critical is not true or false")
    flags = parse_status(status)
    return UpsState(
        ups=ups,
        server=server,
        vars=dict(values),
        status=status,
        flags=flags | {"LB"} if critical else flags,
        critical=critical,
        on_battery_since=times["on_battery_since"],
        last_good=times["last_good"],
        comm_lost_since=times["comm_lost_since"],
        last_nocomm=times["last_nocomm"],
        last_replbatt=times["last_replbatt"],
    )
