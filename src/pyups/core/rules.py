"""Rules: what an administrator configured in ``[[rule]]``, and when each one fires.

Theory of operation
-------------------
A rule is either a *condition* rule (``if``: an expression over status flags and variables)
or an *event* rule (``on``: a list of built-in events). Event rules fire whenever one of
their events happens. Condition rules are timed per UPS, on the poll clock:

* the condition is evaluated after every poll, good or failed (while unreachable it sees the
  last known values and ``nocomm`` is true);
* ``for`` is a debounce: the rule fires once the condition has held *continuously* that long,
  so a blip shorter than ``for`` fires nothing;
* ``repeat`` fires it again every ``repeat`` while the condition keeps holding;
* when a fired condition stops holding, the rule clears: with ``clear_message`` that is a RULE
  entry of its own, and the timing starts over.

Firing produces a RULE event (with ``held``, how long the condition has held) and one action
request per ``do`` entry; this module only decides, the service runs the actions.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from pyups.core.events import Event, template_values
from pyups.core.expr import Expression, Facts
from pyups.core.template import render
from pyups.core.tracker import UpsState

DEFAULT_PRIORITY = "notice"
DEFAULT_MESSAGE = "UPS {ups}: rule {rule} fired ({status})"
DEFAULT_ON_MESSAGE = "UPS {ups}: rule {rule} on {event}"
DEFAULT_EXEC_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class ExecAction:
    """Run ``argv`` (templates, one element each) directly, no shell; killed at ``timeout``."""

    argv: tuple[str, ...]
    timeout: float = DEFAULT_EXEC_TIMEOUT


@dataclass(frozen=True, slots=True)
class InstcmdAction:
    """Send an instant command to the UPS the event is about, with its credentials."""

    command: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class ShutdownAction:
    """Run ``monitor.shutdown_command``: once per process, never twice."""


@dataclass(frozen=True, slots=True)
class NotifyAction:
    """Send the event through Apprise to each URL (ntfy, Telegram, e-mail, JSON webhooks...)."""

    urls: tuple[str, ...] = field(repr=False)  # they often carry tokens: never shown


Action = ExecAction | InstcmdAction | ShutdownAction | NotifyAction


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``[[rule]]`` table, validated. Exactly one of ``condition`` and ``on`` is set."""

    name: str
    condition: Expression | None = None
    on: frozenset[str] = frozenset()
    hold: float = 0.0  # the ``for`` key
    repeat: float | None = None
    ups: frozenset[str] | None = None  # None: every monitored UPS
    priority: str = DEFAULT_PRIORITY
    message: str | None = None
    clear_message: str | None = None
    actions: tuple[Action, ...] = ()

    def applies_to(self, ups: str) -> bool:
        return self.ups is None or ups in self.ups


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """An action to run because ``event`` (a finished RULE event) fired."""

    action: Action
    event: Event


@dataclass(frozen=True, slots=True)
class Firing:
    """A rule fired (or, with ``cleared``, stopped holding) and produced ``event``."""

    rule: Rule
    event: Event
    cleared: bool = False


@dataclass(frozen=True, slots=True)
class RuleState:
    """Timing of one condition rule on one UPS."""

    since: float | None = None  # when the condition started holding, None while it does not
    fired_at: float | None = None  # last time it fired during this holding period

    @property
    def holding(self) -> bool:
        """Anything timed: the condition is holding, or fired in its holding period. A rule
        whose condition was false is back at ``RuleState()``, which is not holding."""
        return self.since is not None or self.fired_at is not None


def facts(state: UpsState) -> Facts:
    """What expressions see of a UPS: its (possibly forced) flags, last known values, nocomm."""
    return Facts(flags=state.flags, vars=state.vars, nocomm=state.nocomm)


def evaluate(
    rules: Sequence[Rule],
    states: Mapping[str, RuleState],
    ups: UpsState,
    events: Sequence[Event],
    now: float,
) -> tuple[dict[str, RuleState], list[Firing]]:
    """Run every rule that applies to this UPS after one poll.

    ``events`` are the built-in events of that poll, in order (for ``on`` rules); returns the
    new per-rule timing and what fired, in rule order. Each RULE event carries its rule's
    priority and its message already rendered.
    """
    new_states = dict(states)
    fired: list[Firing] = []
    seen = facts(ups)
    for rule in rules:
        if not rule.applies_to(ups.ups):
            continue
        if rule.condition is None:
            fired.extend(
                Firing(rule, _rule_event(rule, ups, now, trigger=event))
                for event in events
                if event.name in rule.on
            )
            continue
        state = states.get(rule.name, RuleState())
        holds = rule.condition.evaluate(seen)
        new_state, firing = _time(rule, state, ups, holds, now)
        new_states[rule.name] = new_state
        if firing is not None:
            fired.append(firing)
    return new_states, fired


def fired_by(rules: Sequence[Rule], events: Sequence[Event]) -> list[Firing]:
    """The ``on`` rules fired by events no poll produced (the shutdown sequence's SHUTDOWN,
    SHUTDOWN_HOSTSYNC, SHUTDOWN_FAILED), in rule order; each RULE event is about the
    event's UPS as the event saw it."""
    return [
        Firing(rule, _rule_event(rule, event, event.t, trigger=event))
        for rule in rules
        if rule.condition is None
        for event in events
        if event.name in rule.on and rule.applies_to(event.ups)
    ]


def _time(
    rule: Rule, state: RuleState, ups: UpsState, holds: bool, now: float
) -> tuple[RuleState, Firing | None]:
    """The for/repeat/clear timing of one condition rule."""
    if not holds:
        if state.fired_at is not None and rule.clear_message is not None:
            held = now - state.since if state.since is not None else 0.0
            clear = _rule_event(rule, ups, now, held=held, message=rule.clear_message)
            return RuleState(), Firing(rule, clear, cleared=True)
        return RuleState(), None
    since = state.since if state.since is not None else now
    held = now - since
    due = (
        held >= rule.hold
        if state.fired_at is None
        else rule.repeat is not None and now - state.fired_at >= rule.repeat
    )
    if not due:
        return replace(state, since=since), None
    return RuleState(since=since, fired_at=now), Firing(
        rule, _rule_event(rule, ups, now, held=held)
    )


def _rule_event(
    rule: Rule,
    ups: UpsState | Event,
    now: float,
    *,
    held: float | None = None,
    trigger: Event | None = None,
    message: str | None = None,
) -> Event:
    if message is None:
        message = rule.message or (DEFAULT_MESSAGE if trigger is None else DEFAULT_ON_MESSAGE)
    event = Event(
        name="RULE",
        ups=ups.ups,
        server=ups.server,
        t=now,
        status=ups.status,
        prev_status=trigger.prev_status if trigger is not None else ups.status,
        vars=ups.vars,
        held=held,
        reason=trigger.reason if trigger is not None else None,
        detail=trigger.detail if trigger is not None else "",
        rule=rule.name,
        trigger=trigger.name if trigger is not None else None,
        priority=rule.priority,
    )
    return replace(event, message=render(message, template_values(event)))


def describe(request: ActionRequest, shutdown_command: Sequence[str] = ()) -> str:
    """What an action would run, in words: ``exec /usr/local/bin/page-admin eaton800 outage``."""
    action, event = request.action, request.event
    if isinstance(action, ExecAction):
        return f"exec {shlex.join(render_argv(action, event))}"
    if isinstance(action, InstcmdAction):
        value = f" {shlex.quote(action.value)}" if action.value is not None else ""
        return f"instcmd {action.command}{value} on {event.address}"
    if isinstance(action, NotifyAction):
        return f"notify {', '.join(notify_targets(action))}"
    return f"shutdown: {shlex.join(shutdown_command)}"


def dry_run(request: ActionRequest, shutdown_command: Sequence[str] = ()) -> str:
    """What is said instead of running an action, in a dry run and in ``pyups replay``."""
    what = describe(request, shutdown_command)
    if isinstance(request.action, InstcmdAction):
        what = f"send {what}"
    elif isinstance(request.action, ShutdownAction):
        what = f"run {what}"
    return f"dry run: would {what}"


def url_scheme(url: str) -> str:
    """A notify URL by its scheme alone (``ntfy://``): the rest may hold a token."""
    return url.split("://", 1)[0] + "://"


def notify_targets(action: NotifyAction) -> list[str]:
    """Each URL of a notify action by its scheme alone."""
    return [url_scheme(url) for url in action.urls]


def notify_title(event: Event) -> str:
    """``UPS eaton800: ONBATT`` for a rule fired by an event, ``UPS eaton800: rule NAME`` else."""
    what = event.trigger or f"rule {event.rule}"
    return f"UPS {event.ups}: {what}"


def render_argv(action: ExecAction, event: Event) -> list[str]:
    """The argv of an exec action for a finished RULE event; each element stays one element."""
    values = template_values(event) | {"message": event.message}
    return [render(arg, values) for arg in action.argv]
