"""When the main thread must wake: Upkeep.next_due (the monitor sleeps until then)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from pyups.address import Server
from pyups.service.notify import Notifier
from pyups.service.poller import ServerPoller
from pyups.service.upkeep import STARTING_TICK, Upkeep


@dataclass
class FakePoller:
    server: Server
    budget: float = 12.0
    busy_since: float | None = None
    rounds: int = 1
    ident: int | None = None
    states: dict[str, Any] = field(default_factory=dict)

    def stuck_for(self, now: float) -> float:
        if self.busy_since is None:
            return 0.0
        return max(0.0, now - self.busy_since - self.budget)


class Quiet(Notifier):
    def __init__(self, watchdog: float | None = None) -> None:
        self.enabled = False
        self.watchdog = watchdog
        self._status = ""
        self.pings = 0

    def ping(self) -> None:
        self.pings += 1


def upkeep(notifier: Notifier, *pollers: FakePoller) -> tuple[Upkeep, list[str]]:
    notes: list[str] = []
    keep = Upkeep(notifier, lambda message, priority: notes.append(message))
    keep.start(cast("list[ServerPoller]", list(pollers)), 0.0)
    return keep, notes


def test_while_starting_it_checks_often_then_only_within_a_budget() -> None:
    poller = FakePoller(Server("a"), rounds=0)
    keep, _ = upkeep(Quiet(), poller)
    assert keep.next_due(0.0) == STARTING_TICK
    poller.rounds = 1
    keep.check(0.1)  # READY
    assert keep.next_due(0.1) == 0.1 + 12.0  # idle: nothing due but the longest safe sleep


def test_a_busy_poller_is_checked_just_after_its_budget_and_reported_stuck() -> None:
    poller = FakePoller(Server("a"), busy_since=5.0)
    keep, notes = upkeep(Quiet(), poller)
    keep.check(5.0)
    due = keep.next_due(5.0)
    assert 17.0 < due < 17.1  # busy_since + budget, a hair after
    keep.check(due)
    assert notes and "is stuck" in notes[-1]
    assert keep.next_due(due) <= due + 1.0  # stuck: it looks again soon, to see it recover
    poller.busy_since = None
    keep.check(due + 1.0)
    assert "making progress again" in notes[-1]


def test_watchdog_pings_are_due_at_half_the_period() -> None:
    notifier = Quiet(watchdog=10.0)
    keep, _ = upkeep(notifier, FakePoller(Server("a")))
    keep.check(1.0)
    assert notifier.pings == 1
    assert keep.next_due(1.0) == 6.0
    keep.check(6.0)
    assert notifier.pings == 2
