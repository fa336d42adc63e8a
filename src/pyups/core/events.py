"""Events as they leave the core, and how configuration turns them into final entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from pyups.address import Server, UpsAddress
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
    ``trigger`` is the built-in event that fired an ``on`` rule (RULE events), ``outcome``
    the sentence saying how an action ended (ACTION events), ``tokens`` the unclassified
    status tokens that appeared or went (OTHER/NOTOTHER).
    ``priority`` and ``message`` are filled in by :func:`finish`, unless the event was
    made with its final text (RULE, ACTION).
    """

    name: str
    ups: str
    server: Server
    t: float
    status: str = ""
    prev_status: str = ""
    vars: Mapping[str, str] = field(default_factory=dict)
    held: float | None = None
    reason: str | None = None
    detail: str = ""
    rule: str | None = None
    trigger: str | None = None
    outcome: str | None = None
    tokens: str | None = None
    priority: str = ""
    message: str = ""

    @property
    def address(self) -> UpsAddress:
        return UpsAddress(self.ups, self.server)


class EventSetting(Protocol):
    """The per-event configuration (``[events.NAME]``) as :func:`finish` reads it."""

    @property
    def enabled(self) -> bool: ...
    @property
    def priority(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...


def template_values(event: Event) -> dict[str, str]:
    """Every template field an event can fill: its variables, then the fixed fields.

    A rule fired by a built-in event has that event's name as ``{event}``; an ACTION's
    ``{message}`` is the sentence saying how the action ended.
    """
    values = dict(event.vars)
    values.update(
        ups=event.ups,
        server=str(event.server),
        event=event.trigger or event.name,
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
    if event.outcome is not None:
        values["message"] = event.outcome
    if event.tokens is not None:
        values["tokens"] = event.tokens
    return values


def finish(event: Event, settings: Mapping[str, EventSetting]) -> Event | None:
    """Apply ``[events.NAME]``: None when disabled, else the event with priority and message.

    An event that already has its message (a RULE event, whose rule rendered it; an ACTION)
    keeps it as it is: final text is never read as a template again.
    """
    kind = EVENTS[event.name]
    setting = settings.get(event.name)
    if setting is not None and not setting.enabled:
        return None
    priority = event.priority or kind.priority
    template = kind.message
    if setting is not None:
        priority = setting.priority or priority
        template = setting.message or template
    message = event.message or render(template, template_values(event))
    return replace(event, priority=priority, message=message)


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
