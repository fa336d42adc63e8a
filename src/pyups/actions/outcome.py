"""What an action did, and the ACTION event that reports it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pyups.core.events import Event


@dataclass(frozen=True, slots=True)
class Outcome:
    """``reason`` is the PYUPS_REASON code (``exit:0``, ``timeout``, ``ACCESS-DENIED`` ...);
    ``message`` says what ran and how it ended; ``ok`` picks the priority (info / err)."""

    reason: str
    message: str
    ok: bool


def action_event(trigger: Event, outcome: Outcome, t: float | None = None) -> Event:
    """The ACTION event for an action that ``trigger`` (a finished RULE event) asked for.

    The sentence is both ``outcome`` (what the catalogue's ``{message}`` template renders) and
    ``message`` itself: the event is final, and :func:`~pyups.core.events.finish` leaves it so.
    ``t`` is now unless given (a replay stamps it with the trace's clock).
    """
    return Event(
        name="ACTION",
        ups=trigger.ups,
        server=trigger.server,
        t=time.time() if t is None else t,
        status=trigger.status,
        prev_status=trigger.prev_status,
        vars=trigger.vars,
        rule=trigger.rule,
        reason=outcome.reason,
        outcome=outcome.message,
        priority="info" if outcome.ok else "err",
        message=outcome.message,
    )
