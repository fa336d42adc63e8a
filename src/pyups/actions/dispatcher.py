"""Runs action requests off the polling path, bounded, and reports each outcome as an ACTION.

Theory of operation
-------------------
``submit`` never blocks: it either queues the request for one of at most ``workers`` threads
(started as needed) or, when ``workers + queue_limit`` requests are already running or waiting,
emits a ``dropped`` ACTION at once. The count is taken at submit time, so what is dropped does
not depend on how fast a worker picks the previous request up.

A shutdown never waits behind other actions and is never dropped: the first request claims it
and runs it on a thread of its own; every later one is ``skipped``. In a dry run nothing runs:
each request is answered at once with a ``dry-run`` ACTION saying what would have run.

``close`` stops accepting and gives the actions already accepted ``grace`` seconds to run;
then what has not started is reported as ``dropped``, the process groups of commands still
running are SIGKILLed, and every thread is joined. Every request ends in exactly one ACTION
event; nothing is dropped silently.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from pyups.actions import instcmd, run_exec, shutdown
from pyups.actions.instcmd import Credentials
from pyups.actions.outcome import Outcome, action_event
from pyups.actions.process import ProcessGroups
from pyups.address import UpsAddress
from pyups.core.events import Event
from pyups.core.rules import (
    ActionRequest,
    ExecAction,
    InstcmdAction,
    NotifyAction,
    ShutdownAction,
    describe,
    dry_run,
)
from pyups.nut.tls import Tls

# Longest a worker may still need once its process was killed (an instcmd in flight).
_JOIN_SLACK = 5.0


class Dispatcher:
    """Runs actions on worker threads; ``emit`` gets an ACTION event for every request."""

    def __init__(
        self,
        emit: Callable[[Event], None],
        note: Callable[[str, str], None],
        *,
        dry_run: bool,
        shutdown_command: Sequence[str],
        credentials: Credentials,
        tls: Mapping[UpsAddress, Tls] | None = None,
        nut_timeout: float = 5.0,
        workers: int = 4,
        queue_limit: int = 64,
        shutdown: Callable[[ActionRequest], Outcome] | None = None,
    ) -> None:
        self._emit = emit
        self._note = note
        self.dry_run = dry_run
        self.shutdown_command = tuple(shutdown_command)
        self._credentials = credentials
        self._tls = tls or {}
        self.nut_timeout = nut_timeout
        self.workers = max(1, workers)
        self.queue_limit = max(0, queue_limit)
        self._groups = ProcessGroups()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._waiting: deque[ActionRequest] = deque()
        self._running = 0
        self._idle = 0
        self._threads: list[threading.Thread] = []  # every thread started, to join
        self._workers = 0
        self._closed = False
        self._shutdown_started: float | None = None
        # The monitor's shutdown sequence (DESIGN §10) takes a rule's { shutdown = true };
        # without one (the dispatcher on its own) the command runs here, once.
        self._sequence = shutdown

    # -- the caller's side ------------------------------------------------------------------

    def submit(self, request: ActionRequest) -> None:
        """Queue one request, or report at once why it will not run. Never blocks."""
        if isinstance(request.action, ShutdownAction):
            self._submit_shutdown(request)
            return
        with self._lock:
            if self._closed:
                outcome: Outcome | None = self._dropped(request, "pyups is stopping")
            elif self.dry_run:
                outcome = self._would(request)
            elif self._running + len(self._waiting) >= self.workers + self.queue_limit:
                outcome = self._dropped(
                    request,
                    f"queue full ({self._running} running, {len(self._waiting)} waiting)",
                )
            else:
                outcome = None
                self._waiting.append(request)
                if len(self._waiting) > self._idle and self._workers < self.workers:
                    self._workers += 1
                    self._start(self._work, "pyups-action")
                self._wake.notify()
        if outcome is not None:
            self._report(request, outcome)

    def reconfigure(
        self,
        *,
        dry_run: bool,
        shutdown_command: Sequence[str],
        credentials: Credentials,
        nut_timeout: float,
        tls: Mapping[UpsAddress, Tls] | None = None,
    ) -> None:
        """New settings from a reloaded configuration; running actions keep theirs."""
        with self._lock:
            self.dry_run = dry_run
            self.shutdown_command = tuple(shutdown_command)
            self._credentials = credentials
            self._tls = tls or {}
            self.nut_timeout = nut_timeout

    def close(self, grace: float) -> None:
        """Accept no more; wait up to ``grace`` s, then kill what still runs. Idempotent."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + max(0.0, grace)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            left = list(self._waiting)
            self._waiting.clear()
        for request in left:
            self._report(request, self._dropped(request, "pyups is stopping"))
        killed = self._groups.kill_all()  # and anything that starts from now on
        if killed:
            self._note(f"killed {killed} action(s) still running after {grace:g}s", "warning")
        deadline = time.monotonic() + self.nut_timeout + _JOIN_SLACK
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = sum(thread.is_alive() for thread in threads)
        if stuck:
            self._note(f"{stuck} action thread(s) did not finish", "warning")

    # -- workers ----------------------------------------------------------------------------

    def _start(self, target: Callable[..., None], name: str, *args: object) -> None:
        """Start a thread; called with the lock held."""
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
                while not self._waiting and not self._closed:
                    self._wake.wait()
                self._idle -= 1
                if not self._waiting:
                    return
                request = self._waiting.popleft()
                self._running += 1
            try:
                self._run(request)
            finally:
                with self._lock:
                    self._running -= 1

    def _run(self, request: ActionRequest) -> None:
        """Run one request and report it; a bug in a runner is reported, never lost."""
        action, event = request.action, request.event
        try:
            if isinstance(action, ExecAction):
                outcome = run_exec.run_exec(action, event, self._groups, self._note)
            elif isinstance(action, InstcmdAction):
                outcome = instcmd.run_instcmd(
                    action, event, self._credentials, self.nut_timeout, self._tls
                )
            elif isinstance(action, NotifyAction):
                from pyups.actions import notify  # apprise's logging: only when one is sent

                outcome = notify.run_notify(action, event)
            else:
                outcome = shutdown.run_shutdown(
                    self.shutdown_command, event, self._groups, self._note
                )
                if not outcome.ok:
                    # Nothing is shutting down: the next request must try again, not be
                    # told that a shutdown already started.
                    with self._lock:
                        self._shutdown_started = None
        except Exception as exc:  # a runner must never take a worker down with it
            outcome = Outcome(
                "error",
                f"{describe(request, self.shutdown_command)}: failed: {type(exc).__name__}: {exc}",
                ok=False,
            )
        self._report(request, outcome)

    # -- shutdown ---------------------------------------------------------------------------

    def _submit_shutdown(self, request: ActionRequest) -> None:
        if self._sequence is not None:
            self._report(request, self._sequence(request))
            return
        with self._lock:
            started = self._shutdown_started
            if started is not None:
                outcome = shutdown.skipped(started)
            elif self._closed:
                outcome = self._dropped(request, "pyups is stopping")
            else:
                self._shutdown_started = time.time()
                if self.dry_run:
                    outcome = self._would(request)
                else:
                    self._start(self._run, "pyups-shutdown", request)
                    return
        self._report(request, outcome)

    # -- reporting --------------------------------------------------------------------------

    def _report(self, request: ActionRequest, outcome: Outcome) -> None:
        self._emit(action_event(request.event, outcome))

    def _dropped(self, request: ActionRequest, why: str) -> Outcome:
        what = describe(request, self.shutdown_command)
        return Outcome("dropped", f"{what}: not run: {why}", ok=False)

    def _would(self, request: ActionRequest) -> Outcome:
        return Outcome("dry-run", dry_run(request, self.shutdown_command), ok=True)
