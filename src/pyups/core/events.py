"""Events as they leave the core, and how configuration turns them into final entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from pyups.core.catalogue import EVENTS
from pyups.core.durations import format_duration
from pyups.core.template import render


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to one UPS, at time ``t`` (Unix seconds).

    ``status`` is the raw ``ups.status`` now (the last known one while unreachable),
    ``prev_status`` the one before; ``held`` is the duration the event is about (time on
    battery for ONLINE, time unreachable for NOCOMM/COMMOK, how long a rule held);
    ``reason`` is the error code of a COMMBAD/NOCOMM and ``detail`` says it in words.
    ``priority`` and ``message`` are filled in by :func:`finish`.
    """

    name: str
    ups: str
    server: str
    t: float
    status: str = ""
    prev_status: str = ""
    vars: Mapping[str, str] = field(default_factory=dict)
    held: float | None = None
    reason: str | None = None
    detail: str = ""
    rule: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    priority: str = ""
    message: str = ""


class EventSetting(Protocol):
    """The per-event configuration (``[events.NAME]``) as :func:`finish` reads it."""

    @property
    def enabled(self) -> bool: ...
    @property
    def priority(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...


def template_values(event: Event) -> dict[str, str]:
    """Every template field an event can fill: its variables, the fixed fields, then ``extra``.

    ``extra`` comes last so that it can refine a fixed field: a rule fired by a built-in
    event has that event's name as ``{event}``.
    """
    values = dict(event.vars)
    values.update(
        ups=event.ups,
        server=event.server,
        event=event.name,
        status=event.status,
        prev_status=event.prev_status,
        summary=summary(event.status, event.vars),
    )
    if event.rule is not None:
        values["rule"] = event.rule
    if event.held is not None:
        values["held"] = format_duration(event.held)
    if event.reason is not None:
        values["reason"] = f"{event.detail} ({event.reason})" if event.detail else event.reason
    runtime = event.vars.get("battery.runtime")
    if runtime is not None:
        values["runtime"] = _runtime(runtime)
    values.update(event.extra)
    return values


def finish(event: Event, settings: Mapping[str, EventSetting]) -> Event | None:
    """Apply ``[events.NAME]``: None when disabled, else the event with priority and message."""
    kind = EVENTS[event.name]
    setting = settings.get(event.name)
    if setting is not None and not setting.enabled:
        return None
    priority = event.priority or kind.priority
    template = event.message or kind.message
    if setting is not None:
        priority = setting.priority or priority
        template = setting.message or template
    return replace(event, priority=priority, message=render(template, template_values(event)))


def summary(status: str, variables: Mapping[str, str]) -> str:
    """One line a human reads at a glance: ``OL CHRG, battery 100%, runtime 52m40s``."""
    parts = [status or "status unknown"]
    charge = variables.get("battery.charge")
    if charge is not None:
        parts.append(f"battery {charge}%")
    runtime = variables.get("battery.runtime")
    if runtime is not None:
        parts.append(f"runtime {_runtime(runtime)}")
    return ", ".join(parts)


def _runtime(seconds: str) -> str:
    try:
        return format_duration(float(seconds))
    except ValueError:
        return seconds
