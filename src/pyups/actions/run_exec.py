"""The ``exec`` action: a templated argv run directly, with the event in its environment.

Each argv element is rendered on its own and stays exactly one argument: there is no shell and
no splitting, so a message with spaces or ``;`` reaches the program as one string.
(Named ``run_exec`` so that importing it never shadows the ``exec`` builtin.)
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping

from pyups.actions.outcome import Outcome
from pyups.actions.process import Finished, ProcessGroups, run
from pyups.core.durations import format_duration
from pyups.core.events import Event
from pyups.core.rules import ActionRequest, ExecAction, describe, render_argv

Note = Callable[[str, str], None]


def trigger_name(event: Event) -> str:
    """The event an action runs for: the built-in event of an ``on`` rule, else RULE."""
    return event.trigger or event.name


def inherited(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: os.environ) without any ``PYUPS_*`` variable: a stale battery charge
    must not pass for an event's, and ``$PYUPS_PASSWORD`` must never reach a process pyups
    starts."""
    env = os.environ if base is None else base
    return {key: value for key, value in env.items() if not key.startswith("PYUPS_")}


def environment(event: Event, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """:func:`inherited` ``base`` plus the event's ``PYUPS_*`` fields."""
    env = inherited(base)
    env.update(
        PYUPS_EVENT=trigger_name(event),
        PYUPS_UPS=event.ups,
        PYUPS_SERVER=str(event.server),
        PYUPS_STATUS=event.status,
        PYUPS_PREV_STATUS=event.prev_status,
        PYUPS_RULE=event.rule or "",
        PYUPS_MESSAGE=event.message,
    )
    for var, key in (
        ("battery.charge", "PYUPS_BATTERY_CHARGE"),
        ("battery.runtime", "PYUPS_BATTERY_RUNTIME"),
    ):
        value = event.vars.get(var)
        if value is not None:
            env[key] = value
    return env


def run_exec(action: ExecAction, event: Event, groups: ProcessGroups, note: Note) -> Outcome:
    """Run one exec action to its end and say how it went."""
    command = render_argv(action, event)
    what = describe(ActionRequest(action, event))
    finished = run(command, environment(event), action.timeout, groups)
    return report(what, finished, note, timeout=action.timeout)


def report(what: str, finished: Finished, note: Note, *, timeout: float | None) -> Outcome:
    """The outcome of a finished command; its stderr tail goes to ``note`` at debug."""
    if finished.stderr:
        note(f"{what}: stderr: {finished.stderr}", "debug")
    took = f"{finished.elapsed:.2f}s"
    if finished.error is not None:
        return Outcome("error", f"{what}: cannot run: {finished.error}", ok=False)
    if finished.timed_out:
        limit = format_duration(timeout) if timeout is not None else "?"
        return Outcome("timeout", f"{what}: killed after timeout {limit}", ok=False)
    code = finished.returncode
    assert code is not None
    if code < 0:
        name = signal_name(-code)
        if finished.stopped:
            return Outcome(
                f"signal:{name}", f"{what}: killed after {took}: pyups stopped first", ok=False
            )
        return Outcome(f"signal:{name}", f"{what}: died of {name} after {took}", ok=False)
    return Outcome(f"exit:{code}", f"{what}: exit {code} after {took}", ok=code == 0)


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"
