"""One line saying how every monitored UPS is, for systemd's STATUS= (``systemctl status``)."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence

from pyups.core.tracker import UpsState

SHOWN_IN_FULL = 3  # more UPSes than this are counted instead of listed


def ups_line(state: UpsState) -> str:
    """``eaton800: OL CHRG 100% 52 min``, or why there is nothing to show."""
    if state.nocomm:
        return f"{state.ups}: no data ({state.last_error})"
    if not state.started:
        return f"{state.ups}: first poll pending"
    parts = [state.status or "(no status)"]
    charge = state.vars.get("battery.charge")
    if charge:
        parts.append(f"{charge}%")
    runtime = state.vars.get("battery.runtime", "")
    with contextlib.suppress(ValueError, OverflowError):  # not reported, or not a number
        parts.append(f"{int(float(runtime)) // 60} min")
    return f"{state.ups}: " + " ".join(parts)


def status_line(states: Sequence[UpsState]) -> str:
    """Every UPS in full when there are a few, else how many are in which condition."""
    if len(states) <= SHOWN_IN_FULL:
        return "; ".join(ups_line(s) for s in states)
    counts = Counter(_condition(s) for s in states)
    order = ("unreachable", "low battery", "on battery", "on line", "pending", "other")
    shown = ", ".join(f"{counts[c]} {c}" for c in order if counts[c])
    return f"{len(states)} UPSes: {shown}"


def _condition(state: UpsState) -> str:
    if state.nocomm:
        return "unreachable"
    if not state.started:
        return "pending"
    if "LB" in state.flags:
        return "low battery"
    if "OB" in state.flags:
        return "on battery"
    if "OL" in state.flags:
        return "on line"
    return "other"
