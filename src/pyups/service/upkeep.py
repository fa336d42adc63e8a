"""Looking after the service for systemd: READY, the STATUS line, watchdog pings, stuck pollers.

READY goes out once every poller has tried its first round (or the slowest could have), so
``systemctl start`` returns with the first poll's entries already journaled. WATCHDOG pings
go out at half the period systemd asked for, and only while every poller finishes its rounds
within its budget: a poller that hangs or dies stops the pings, so systemd restarts pyups.

The main thread sleeps until :meth:`Upkeep.next_due` says something is due, not on a fixed
tick: the next ping (half the watchdog period after the last), and the moment a busy poller
would overrun its budget (its ``busy_since + budget``), which is the latest a stuck poller
must be reported. A poller that is idle now can start a pass at any moment and the main
thread would not hear of it, so the sleep is never longer than the shortest budget: a pass
that starts just after the main thread fell asleep is still caught at its own deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyups.core.summary import status_line
from pyups.service.notify import Notifier
from pyups.service.poller import ServerPoller

Note = Callable[[str, str], None]  # (message, priority) for the journal

STARTING_TICK = 0.5  # seconds between checks until READY went out (start-up only)
STUCK_TICK = 1.0  # seconds between checks while a poller is stuck, to see it recover
_PAST_BUDGET = 0.01  # wake this much after a deadline, so the overrun is measurable


class Upkeep:
    """What the main thread checks on each wake-up, given the pollers of the moment."""

    def __init__(self, notifier: Notifier, note: Note) -> None:
        self.notifier = notifier
        self._note = note
        self.pollers: Sequence[ServerPoller] = ()
        self._ready = False
        self._started = 0.0
        self._last_ping = float("-inf")
        self._stuck: set[str] = set()

    def start(self, pollers: Sequence[ServerPoller], now: float) -> None:
        """Watch these pollers from ``now`` (monotonic) on."""
        self.pollers = pollers
        self._started = now

    def replace(self, pollers: Sequence[ServerPoller]) -> None:
        """Watch the pollers a reload started instead; their stuck reports start afresh."""
        self.pollers = pollers
        self._stuck.clear()

    def check(self, now: float) -> None:
        """READY when due, STATUS when it changed, a ping when due and every poller is healthy."""
        if not self._ready and (
            all(p.rounds > 0 for p in self.pollers)
            or now - self._started > max((p.budget for p in self.pollers), default=0.0)
        ):
            self._ready = True
            self.notifier.ready(self.status())
        healthy = self._check_pollers(now)
        if self._ready and self.notifier.enabled:  # no line to build when nobody reads it
            self.notifier.status(self.status())
        period = self.notifier.watchdog
        if healthy and period is not None and now - self._last_ping >= period / 2:
            self.notifier.ping()
            self._last_ping = now

    def next_due(self, now: float) -> float:
        """The monotonic time of the next :meth:`check` that can have something to do."""
        due = [now + STARTING_TICK] if not self._ready else []
        period = self.notifier.watchdog
        if period is not None:
            due.append(self._last_ping + period / 2)
        for poller in self.pollers:
            busy_since = poller.busy_since
            if str(poller.server) in self._stuck:
                due.append(now + STUCK_TICK)
            elif busy_since is not None:
                due.append(busy_since + poller.budget + _PAST_BUDGET)
            else:
                # It may start a pass right after this: that pass's deadline is at least one
                # budget away, so waking within one budget catches it in time.
                due.append(now + poller.budget)
        return min(due, default=float("inf"))

    def status(self) -> str:
        """One line per UPS for ``systemctl status``, led by any stuck server."""
        line = status_line([s.tracker for p in self.pollers for s in list(p.states.values())])
        if self._stuck:
            line = f"STUCK polling {', '.join(sorted(self._stuck))}; {line}"
        return line

    def _check_pollers(self, now: float) -> bool:
        """Report pollers that got stuck or recovered; True if none is stuck."""
        for poller in self.pollers:
            name = str(poller.server)
            over = poller.stuck_for(now)
            if over > 0 and name not in self._stuck:
                self._stuck.add(name)
                self._note(
                    f"polling {name} is stuck: a round has run {poller.budget + over:.0f} s "
                    f"(allowed {poller.budget:.0f} s); watchdog pings stopped",
                    "err",
                )
            elif over == 0 and name in self._stuck:
                self._stuck.discard(name)
                self._note(f"polling {name} is making progress again", "notice")
        return not self._stuck
