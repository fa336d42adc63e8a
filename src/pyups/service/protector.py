"""Carries out the protection of this host: the pure decisions of ``core/``, done for real.

After every poll a poller hands the UPS's tracker state to :meth:`Protector.observe`; a rule's
``{ shutdown = true }`` and ``pyups fsd`` call :meth:`Protector.request`. The protector's own
thread judges the UPSes (:func:`pyups.core.protection.assess`), starts the shutdown sequence
when too few supplies are left, and carries out every effect the sequence
(:mod:`pyups.core.sequence`) returns: the entries, FSD and NUMLOGINS through sessions of its
own, the ``before`` steps and the command as processes, the power-down flag, and the logout of
the pollers' sessions. It decides nothing itself, and it never stops the monitor: a failed
shutdown is an alarm the sequence raises and retries, while polling and reporting go on.

The work is on a thread of its own because steps and the command may run for minutes; the
pollers and the main thread must not wait for them.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from pyups.actions.outcome import Outcome, action_event
from pyups.actions.process import ProcessGroups, run
from pyups.actions.run_exec import environment, inherited, report
from pyups.address import DEFAULT_HOST, Server, UpsAddress
from pyups.config import Config
from pyups.config.views import protection_of, sequence_plan_of, tls_of
from pyups.core import sequence as seq
from pyups.core.events import Event, EventSetting, finish
from pyups.core.protection import Criteria, Memory, Protected, assess
from pyups.core.tracker import UpsState, initial
from pyups.nut import Connection, NutError
from pyups.nut.tls import Tls
from pyups.service import flag

Note = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class Access:
    """How to reach one UPS's upsd for FSD and NUMLOGINS (the ``[[ups]]`` login and TLS)."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: Tls | None = None


@dataclass(frozen=True, slots=True)
class Protection:
    """Everything the protector needs from the configuration."""

    protected: tuple[Protected, ...]
    criteria: Criteria
    min_supplies: int
    plan: seq.SequencePlan
    access: Mapping[UpsAddress, Access]
    settings: Mapping[str, EventSetting]
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class _Observed:
    state: UpsState


@dataclass(frozen=True, slots=True)
class _Request:
    reason: str
    subject: UpsAddress | None


_Input = _Observed | _Request | None
# The status flags a verdict on one UPS looks at (core.protection.judge).
_VERDICT_FLAGS = frozenset({"FSD", "OB", "LB", "CAL"})


def protection_of_config(config: Config) -> Protection:
    """What the protector takes from a whole configuration."""
    protected, criteria, min_supplies = protection_of(config)
    return Protection(
        protected=protected,
        criteria=criteria,
        min_supplies=min_supplies,
        plan=sequence_plan_of(config),
        access={u.address: Access(u.username, u.password, tls_of(u)) for u in config.ups},
        settings=config.events,
        timeout=config.monitor.timeout,
    )


class Protector(threading.Thread):
    """Judges the UPSes after each poll and runs the shutdown sequence once, when it must."""

    def __init__(
        self,
        protection: Protection,
        emit: Callable[[Event], None],
        note: Note,
        logout: Callable[[UpsAddress], None],
        states: Mapping[UpsAddress, UpsState] | None = None,
    ) -> None:
        super().__init__(name="pyups-protector", daemon=True)
        self.protection = protection
        self._emit = emit
        self._note = note
        self._logout = logout
        self._inbox: queue.SimpleQueue[_Input] = queue.SimpleQueue()
        self._halt = threading.Event()
        self._states: dict[UpsAddress, UpsState] = dict(states or {})
        # Written by the pollers' threads: each UPS's newest state, and what of it a verdict
        # depends on when it last woke this thread (see observe).
        self._latest: dict[UpsAddress, UpsState] = {}
        self._judged: dict[UpsAddress, tuple[bool, frozenset[str], bool]] = {}
        self._memory: dict[UpsAddress, Memory] = {}
        self._recheck: float | None = None
        self.sequence = seq.initial()
        self._wake: float | None = None
        self._subject: UpsAddress | None = None
        self._trigger: Event | None = None  # the SHUTDOWN entry, for the steps' environment
        self._groups = ProcessGroups()
        self._sessions: dict[UpsAddress, Connection] = {}
        self._started_at: float | None = None

    # -- from other threads -----------------------------------------------------------------

    def seed(self, states: Mapping[UpsAddress, UpsState]) -> None:
        """The states restored from the state file, judged at the first poll (before start)."""
        self._states.update(states)

    def observe(self, address: UpsAddress, state: UpsState) -> None:
        """A poller's newest state of the UPS at ``address`` (from its thread).

        The state is kept for the next judgement, and this thread is woken only when what a
        verdict depends on changed (reached yet, FSD/OB/LB/CAL, dead time): an idle UPS
        polled every second costs no wake-up here. Timed verdicts (``lowbatt_for``,
        ``host_sync``) are woken by their own ``recheck_at``.
        """
        self._latest[address] = state
        key = (state.started, state.flags & _VERDICT_FLAGS, state.critical)
        if self._judged.get(address) != key:
            self._judged[address] = key
            self._inbox.put(_Observed(state))

    def request(self, reason: str, subject: UpsAddress | None = None) -> float | None:
        """Start the sequence (a rule or ``pyups fsd``); when it had already started, that time."""
        started = self._started_at
        self._inbox.put(_Request(reason, subject))
        return started

    def stop(self, grace: float = 0.0) -> None:
        """End the thread; a step or command under way gets ``grace`` seconds to finish, as
        actions do, then is killed (pyups is going away)."""
        self._halt.set()
        self._inbox.put(None)
        if grace > 0 and self.is_alive():
            self.join(grace)
        self._groups.kill_all()

    def lingering_until(self) -> float | None:
        """Until when the secondary sessions must stay logged in: the command has started and
        ``linger`` has not ended (None otherwise). Safe from any thread."""
        state, plan = self.sequence, self.protection.plan
        if not plan.sessions or plan.linger <= 0 or state.command_started is None:
            return None
        if state.phase not in (seq.Phase.COMMAND, seq.Phase.LINGER):
            return None
        return state.command_started + plan.linger

    def reconfigure(self, protection: Protection) -> None:
        """A reloaded configuration; a sequence already under way keeps its plan."""
        self._judged.clear()  # judge every UPS again at its next poll, under the new rules
        self.protection = (
            protection
            if self.sequence.phase is seq.Phase.IDLE
            else replace(protection, plan=self.protection.plan)
        )

    # -- the protector's thread -------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self._halt.is_set():
                item = self._next()
                self._states.update(self._latest.copy())  # newest states, woken or not
                if self._halt.is_set():
                    break
                now = time.time()
                if isinstance(item, _Observed):
                    self._judge(now)  # its state is in _latest, taken above
                elif isinstance(item, _Request):
                    self._start(now, item.reason, item.subject)
                else:
                    if self._recheck is not None and now >= self._recheck:
                        self._judge(now)
                    if self._wake is not None and now >= self._wake:
                        self._advance(seq.Tick(now))
        finally:
            for conn in self._sessions.values():
                conn.close()

    def _next(self) -> _Input:
        due = [t for t in (self._wake, self._recheck) if t is not None]
        timeout = max(0.0, min(due) - time.time()) if due else None
        try:
            return self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def _judge(self, now: float) -> None:
        p = self.protection
        assessment, self._memory = assess(
            p.protected, self._states, self._memory, now, p.criteria, p.min_supplies
        )
        self._recheck = assessment.recheck_at
        supplies = assessment.supplies
        if supplies.go_down and self.sequence.phase is seq.Phase.IDLE:
            subject = supplies.critical[0] if supplies.critical else None
            self._start(now, supplies.reason, subject)

    def _start(self, now: float, reason: str, subject: UpsAddress | None) -> None:
        if self.sequence.phase is not seq.Phase.IDLE:
            return
        self._subject = subject or self._first_ups()
        self._started_at = now
        self._advance(seq.Start(now, reason))

    def _first_ups(self) -> UpsAddress | None:
        feeding = [p.address for p in self.protection.protected if p.power > 0]
        every = feeding or [p.address for p in self.protection.protected]
        return every[0] if every else None

    def _advance(self, event: seq.Input) -> None:
        """Feed one input to the sequence and carry out what it returns, answers included.

        Once pyups is stopping, nothing more is fed: a step or command killed because pyups
        stopped did not fail. The shutdown command itself is what stops pyups (systemd stops
        every service, often before ``systemctl poweroff`` has exited); taken as a failure,
        it would raise SHUTDOWN_FAILED on a host that is going down as asked, schedule a
        retry and, on giving up, remove the flag the late-shutdown hook is about to read.
        """
        pending: list[seq.Input] = [event]
        while pending and not self._halt.is_set():
            self.sequence, effects = seq.advance(
                self.sequence, self.protection.plan, pending.pop(0)
            )
            self._wake = None
            for effect in effects:
                if isinstance(effect, seq.WakeAt):
                    self._wake = effect.t
                    continue
                answer = self._carry_out(effect)
                if answer is not None:
                    pending.append(answer)

    # -- effects ----------------------------------------------------------------------------

    def _carry_out(self, effect: seq.Effect) -> seq.Input | None:
        if isinstance(effect, seq.Emit):
            self._entry(effect)
            return None
        if effect.dry_run:
            self._note(f"dry run: would {_would(effect)}", "notice")
            return None
        now = time.time
        if isinstance(effect, seq.SetFsd):
            try:
                self._session(effect.ups).set_fsd(effect.ups.name)
            except NutError as exc:
                return seq.FsdSet(now(), effect.ups, False, exc.detail)
            self._note(f"FSD set on {effect.ups}", "notice")
            return seq.FsdSet(now(), effect.ups, True)
        if isinstance(effect, seq.AskNumLogins):
            try:
                count: int | None = self._session(effect.ups).num_logins(effect.ups.name)
                detail = ""
            except NutError as exc:
                count, detail = None, f"{exc.code}: {exc.detail}"
            return seq.NumLogins(now(), effect.ups, count, detail)
        if isinstance(effect, seq.RunStep):
            return self._step(effect)
        if isinstance(effect, seq.WriteFlag):
            try:
                flag.write_flag(effect.path)
            except OSError as exc:
                return seq.FlagWritten(now(), False, f"{effect.path}: {exc.strerror or exc}")
            self._note(f"power-down flag {effect.path} written", "notice")
            return None
        if isinstance(effect, seq.RunCommand):
            return self._command(effect)
        if isinstance(effect, seq.RemoveFlag):
            with contextlib.suppress(OSError):
                if flag.remove_flag(effect.path):
                    self._note(f"power-down flag {effect.path} removed", "notice")
            return None
        self._logout(effect.ups)
        return None

    def _entry(self, emit: seq.Emit) -> None:
        subject = emit.ups or self._subject
        state = self._states.get(subject) if subject is not None else None
        if state is None and subject is not None:
            state = initial(subject.name, subject.server)
        event = Event(
            name=emit.event,
            ups=state.ups if state is not None else "",
            server=state.server if state is not None else _NO_SERVER,
            t=emit.t,
            status=state.status if state is not None else "",
            prev_status=state.status if state is not None else "",
            vars=state.vars if state is not None else {},
            reason=emit.reason,
        )
        if emit.event == "SHUTDOWN":
            self._trigger = finish(event, self.protection.settings) or event
        self._emit(event)  # finished by the receiver, which also runs the rules it fires

    def _session(self, ups: UpsAddress) -> Connection:
        conn = self._sessions.get(ups)
        if conn is None:
            access = self.protection.access.get(ups, Access())
            conn = Connection(
                ups.server, self.protection.timeout, access.username, access.password, access.tls
            )
            self._sessions[ups] = conn
        return conn

    def _step(self, effect: seq.RunStep) -> seq.StepDone:
        what = f"before step {effect.index + 1} {' '.join(effect.argv)}"
        outcome, finished_ok, error, timed_out = self._run(what, effect.argv, effect.timeout)
        if error:
            result = seq.StepOutcome.NOT_STARTED
        elif timed_out:
            result = seq.StepOutcome.TIMED_OUT
        else:
            result = seq.StepOutcome.OK if finished_ok else seq.StepOutcome.FAILED
        return seq.StepDone(time.time(), effect.index, result, outcome.message)

    def _command(self, effect: seq.RunCommand) -> seq.CommandDone:
        what = f"shutdown command {' '.join(effect.argv)} (try {effect.attempt})"
        outcome, ok, _, _ = self._run(what, effect.argv, effect.timeout)
        return seq.CommandDone(time.time(), effect.attempt, ok, outcome.message)

    def _run(
        self, what: str, argv: Sequence[str], timeout: float
    ) -> tuple[Outcome, bool, bool, bool]:
        """Run one process as an action and report it in an ACTION entry."""
        trigger = self._trigger
        env = environment(trigger) if trigger is not None else inherited()
        finished = run(argv, env, timeout, self._groups)
        outcome = report(what, finished, self._note, timeout=timeout)
        if trigger is not None:
            self._emit(action_event(trigger, outcome))
        return outcome, outcome.ok, finished.error is not None, finished.timed_out


_NO_SERVER = Server(DEFAULT_HOST)


def _would(effect: seq.Effect) -> str:
    """What a dry run leaves undone, in words."""
    if isinstance(effect, seq.SetFsd):
        return f"set FSD on {effect.ups}"
    if isinstance(effect, seq.AskNumLogins):
        return f"wait for the other hosts on {effect.ups} to log out"
    if isinstance(effect, seq.RunStep):
        return f"run before step {effect.index + 1}: {' '.join(effect.argv)}"
    if isinstance(effect, seq.WriteFlag):
        return f"write the power-down flag {effect.path}"
    if isinstance(effect, seq.RunCommand):
        return f"run the shutdown command {' '.join(effect.argv)}"
    if isinstance(effect, seq.RemoveFlag):
        return f"remove the power-down flag {effect.path}"
    if isinstance(effect, seq.Logout):
        return f"log out of {effect.ups}"
    return str(effect)
