"""The shutdown sequence of this host, as a pure state machine (DESIGN §10).

Theory of operation
-------------------
``advance(state, plan, input) -> (state, effects)``. The executor (``service/``) feeds in what
happened — :class:`Start`, :class:`Tick`, and the outcome of each effect it carried out — and
carries out the effects that come back, in order. It decides nothing: every wait, deadline,
retry and entry is decided here. Each answer ends with at most one :class:`WakeAt`, the time
to call back with a :class:`Tick` if nothing else happens first; it replaces any earlier one.
Inputs older than the last one seen count as happening now.

The sequence runs at most once per process. The first :class:`Start` (criticality, a rule's
``{ shutdown = true }``, ``pyups fsd``) begins it and every later one is ignored; nothing stops
it once begun, power coming back included. Its phases:

1. ``HOST_SYNC`` — SHUTDOWN (emerg) with the reason. As primary: :class:`SetFsd` on each UPS
   the plan is primary for (re-sent every second while it fails), and
   :class:`AskNumLogins` for each every 250 ms until each reports at most one login (this
   host) or ``host_sync`` ends; then SHUTDOWN_HOSTSYNC for each UPS still shared, naming how
   many other hosts were left. An answer of ``None`` (upsd's ``ERR``, a timeout) is unknown,
   never zero: the wait goes on to ``host_sync``. The first failure to set FSD on a UPS is a
   SHUTDOWN_FAILED entry; the sequence goes on (its secondaries then go down by themselves,
   after their own ``host_sync``).
2. ``STEPS`` — each ``before`` step in order: :class:`RunStep`, then wait for its
   :class:`StepDone`. A step that ran — exit 0, non-zero or killed at its timeout — is an
   ACTION entry, as every exec is (written by the executor's action runner), and the
   sequence goes on. A step that could not run at all (``NOT_STARTED``: no such file, not
   executable) is SHUTDOWN_FAILED, and the sequence still goes on: a host going down without
   stopping its VMs is better than one staying up until the battery dies. A step that does
   not report back by its timeout plus :data:`REPORT_GRACE` counts as not run.
3. ``FINAL_DELAY`` — ``final_delay`` after the steps; then, as primary with a flag path,
   :class:`WriteFlag`, and :class:`RunCommand`.
4. ``COMMAND`` — wait for :class:`CommandDone` (or its timeout plus grace). Success: the
   secondary sessions stay logged in ``linger`` from the command's start, then
   :class:`Logout` (phase ``LINGER``, then ``DONE``). Failure: SHUTDOWN_FAILED (alert) and
   another try ``retry_delay`` later (phase ``RETRY``), up to ``tries`` in all; after the
   last, :class:`RemoveFlag` and a SHUTDOWN_FAILED saying it gave up (``GAVE_UP``). The
   monitor goes on monitoring either way; this machine never asks anything to exit.

Defaults: :data:`COMMAND_TRIES` = 5 tries :data:`RETRY_DELAY` = 10 s apart, each given
:data:`COMMAND_TIMEOUT` = 60 s. A failing ``systemctl poweroff`` fails for reasons that clear
in seconds (a busy or restarting manager) or not at all; five tries over about a minute
catches the first kind while the battery can still carry the host, and stops flooding the
journal for the second.

**Dry run**: the whole plan is walked at :class:`Start`, with no waits and no feedback
expected: every effect comes back at once, in the order it would happen, with ``dry_run``
set. The executor logs those (SHUTDOWN says "dry run") and carries out none of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TypeVar

from pyups.address import UpsAddress
from pyups.core.durations import format_duration

NUMLOGINS_EVERY = 0.25  # upsmon's sync_secondaries polls every 250 ms
FSD_RETRY_EVERY = 1.0
COMMAND_TRIES = 5
RETRY_DELAY = 10.0
COMMAND_TIMEOUT = 60.0
REPORT_GRACE = 5.0  # beyond a step's or the command's timeout, before a missing report counts
FLAG_CONTENT = "upsmon-shutdown-file"  # what upsmon -K accepts in the power-down flag

T = TypeVar("T")


# --- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One ``before`` step: an argv run with no shell, killed at ``timeout`` seconds."""

    argv: tuple[str, ...]
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class SequencePlan:
    """What the configuration and the roles say the sequence does; fixed for a run."""

    command: tuple[str, ...]
    primary_for: tuple[UpsAddress, ...] = ()  # FSD and NUMLOGINS on these (needs a login)
    sessions: tuple[UpsAddress, ...] = ()  # secondary sessions kept for ``linger``, then closed
    before: tuple[Step, ...] = ()
    host_sync: float = 15.0
    final_delay: float = 5.0
    linger: float = 0.0
    flag_path: str | None = None  # set only for a primary (the configuration decides)
    dry_run: bool = False
    tries: int = COMMAND_TRIES
    retry_delay: float = RETRY_DELAY
    command_timeout: float = COMMAND_TIMEOUT

    @property
    def flag(self) -> str | None:
        """The power-down flag this host writes, if any."""
        return self.flag_path or None


# --- inputs ---------------------------------------------------------------------------------


class StepOutcome(StrEnum):
    """How a ``before`` step ended, as the executor saw it."""

    OK = "ok"
    FAILED = "failed"  # ran and exited non-zero (or was killed by a signal)
    TIMED_OUT = "timed-out"  # ran and was killed at its timeout
    NOT_STARTED = "not-started"  # could not be started at all


@dataclass(frozen=True, slots=True)
class Start:
    """Begin the sequence (ignored once begun); ``reason`` is the SHUTDOWN entry's why."""

    t: float
    reason: str


@dataclass(frozen=True, slots=True)
class Tick:
    """Time has passed (the executor's answer to :class:`WakeAt`, or any wake-up)."""

    t: float


@dataclass(frozen=True, slots=True)
class NumLogins:
    """upsd's ``NUMLOGINS`` for a UPS; ``count`` None when it answered ``ERR`` or nothing."""

    t: float
    ups: UpsAddress
    count: int | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FsdSet:
    """Whether upsd accepted ``FSD`` for a UPS."""

    t: float
    ups: UpsAddress
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StepDone:
    """A ``before`` step ended (see :class:`StepOutcome`)."""

    t: float
    index: int
    outcome: StepOutcome
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FlagWritten:
    """Whether the power-down flag could be written."""

    t: float
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CommandDone:
    """Try ``attempt`` of the shutdown command ended: exit 0, or not (``detail`` says how)."""

    t: float
    attempt: int
    ok: bool
    detail: str = ""


Input = Start | Tick | NumLogins | FsdSet | StepDone | FlagWritten | CommandDone


# --- effects --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Emit:
    """Write a SHUTDOWN / SHUTDOWN_HOSTSYNC / SHUTDOWN_FAILED entry.

    ``reason`` fills the catalogue message's ``{reason}``. SHUTDOWN_HOSTSYNC is about one
    UPS: ``ups``, and ``hosts`` still logged in to it besides this one (None: unknown), which
    its ``reason`` says in words ("2 other hosts").
    """

    event: str
    t: float
    reason: str
    ups: UpsAddress | None = None
    hosts: int | None = None
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class SetFsd:
    """Send ``FSD`` for this UPS to its upsd (answer with :class:`FsdSet`)."""

    ups: UpsAddress
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class AskNumLogins:
    """Send ``GET NUMLOGINS`` for this UPS (answer with :class:`NumLogins`)."""

    ups: UpsAddress
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class RunStep:
    """Run ``before`` step ``index`` (answer with :class:`StepDone`)."""

    index: int
    argv: tuple[str, ...]
    timeout: float
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class WriteFlag:
    """Write ``content`` to the power-down flag (answer with :class:`FlagWritten` if it fails)."""

    path: str
    content: str = FLAG_CONTENT
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class RunCommand:
    """Run the shutdown command, try ``attempt`` (answer with :class:`CommandDone`)."""

    attempt: int
    argv: tuple[str, ...]
    timeout: float
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class RemoveFlag:
    """Remove the power-down flag, if it holds :data:`FLAG_CONTENT` (no answer expected)."""

    path: str
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class Logout:
    """Close this secondary session with ``LOGOUT`` (no answer expected)."""

    ups: UpsAddress
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class WakeAt:
    """Call back with a :class:`Tick` at ``t`` unless another input comes first."""

    t: float


Effect = Emit | SetFsd | AskNumLogins | RunStep | WriteFlag | RunCommand | RemoveFlag | Logout
Effects = list[Effect | WakeAt]


# --- the state ------------------------------------------------------------------------------


class Phase(StrEnum):
    """Where the sequence is; DONE and GAVE_UP are final (the process keeps monitoring)."""

    IDLE = "idle"
    HOST_SYNC = "host-sync"
    STEPS = "steps"
    FINAL_DELAY = "final-delay"
    COMMAND = "command"
    RETRY = "retry"
    LINGER = "linger"
    DONE = "done"
    GAVE_UP = "gave-up"


@dataclass(frozen=True, slots=True)
class SequenceState:
    """Where the sequence is. ``deadline`` is when the current phase ends by itself."""

    phase: Phase = Phase.IDLE
    now: float = 0.0
    started: float | None = None
    reason: str = ""
    deadline: float | None = None
    logins: Mapping[UpsAddress, int | None] = field(default_factory=dict)
    next_ask: float | None = None
    fsd: Mapping[UpsAddress, bool] = field(default_factory=dict)  # False: failed, try again
    next_fsd: float | None = None
    step: int = 0
    attempt: int = 0
    command_started: float | None = None
    failure: str = ""  # what the last failed try said

    @property
    def wake_at(self) -> float | None:
        """The earliest time this state needs a :class:`Tick`."""
        times = [t for t in (self.deadline, self.next_ask, self.next_fsd) if t is not None]
        return min(times, default=None)


def initial() -> SequenceState:
    """A sequence that has not started."""
    return SequenceState()


def advance(
    state: SequenceState, plan: SequencePlan, event: Input
) -> tuple[SequenceState, Effects]:
    """Feed one input; returns the new state and the effects to carry out, in order."""
    now = max(state.now, event.t)
    state = replace(state, now=now)
    out: Effects = []
    if isinstance(event, Start):
        if state.phase is not Phase.IDLE:
            return state, []
        if plan.dry_run:
            return _dry_run(state, plan, event.reason)
        state = _begin(state, plan, event.reason, out)
    elif state.phase is Phase.IDLE:
        return state, []
    elif isinstance(event, NumLogins):
        state = _on_numlogins(state, event)
    elif isinstance(event, FsdSet):
        state = _on_fsd(state, plan, event, out)
    elif isinstance(event, StepDone):
        state = _on_step(state, plan, event, out)
    elif isinstance(event, FlagWritten):
        if not event.ok:
            why = f"could not write the power-down flag {plan.flag}: {event.detail}"
            out.append(Emit("SHUTDOWN_FAILED", now, why))
    elif isinstance(event, CommandDone):
        state = _on_command(state, plan, event, out)
    state = _settle(state, plan, out)
    if state.wake_at is not None:
        out.append(WakeAt(state.wake_at))
    return state, out


# --- phase 1: host sync ---------------------------------------------------------------------


def _begin(state: SequenceState, plan: SequencePlan, reason: str, out: Effects) -> SequenceState:
    now = state.now
    out.append(Emit("SHUTDOWN", now, reason))
    state = replace(state, phase=Phase.HOST_SYNC, started=now, reason=reason)
    if not plan.primary_for:
        return _to_steps(state, plan, out)
    out.extend(SetFsd(ups) for ups in plan.primary_for)
    out.extend(AskNumLogins(ups) for ups in plan.primary_for)
    return replace(
        state,
        deadline=now + plan.host_sync,
        logins=dict.fromkeys(plan.primary_for),
        next_ask=now + NUMLOGINS_EVERY,
        fsd={},
    )


def _on_numlogins(state: SequenceState, event: NumLogins) -> SequenceState:
    if state.phase is not Phase.HOST_SYNC or event.ups not in state.logins:
        return state
    if _alone(state.logins.get(event.ups)):
        return state
    return replace(state, logins={**state.logins, event.ups: event.count})


def _on_fsd(state: SequenceState, plan: SequencePlan, event: FsdSet, out: Effects) -> SequenceState:
    if event.ups not in plan.primary_for or state.fsd.get(event.ups):
        return state
    if not event.ok and event.ups not in state.fsd:
        why = (
            f"could not set FSD on {event.ups}: {event.detail}; its secondaries go down "
            f"by themselves after their host_sync"
        )
        out.append(Emit("SHUTDOWN_FAILED", state.now, why))
    fsd = {**state.fsd, event.ups: event.ok}
    retry = state.phase is Phase.HOST_SYNC and not all(fsd.get(u, True) for u in plan.primary_for)
    return replace(state, fsd=fsd, next_fsd=state.now + FSD_RETRY_EVERY if retry else None)


def _host_sync(state: SequenceState, plan: SequencePlan, out: Effects) -> SequenceState:
    now = state.now
    if all(_alone(count) for count in state.logins.values()):
        return _to_steps(state, plan, out)
    if state.deadline is not None and now >= state.deadline:
        for ups, count in state.logins.items():
            if not _alone(count):
                others = None if count is None else count - 1
                out.append(Emit("SHUTDOWN_HOSTSYNC", now, _hosts(others), ups=ups, hosts=others))
        return _to_steps(state, plan, out)
    if state.next_fsd is not None and now >= state.next_fsd:
        failed = [ups for ups in plan.primary_for if state.fsd.get(ups) is False]
        out.extend(SetFsd(ups) for ups in failed)
        state = replace(state, next_fsd=now + FSD_RETRY_EVERY)
    if state.next_ask is not None and now >= state.next_ask:
        out.extend(AskNumLogins(ups) for ups, count in state.logins.items() if not _alone(count))
        state = replace(state, next_ask=now + NUMLOGINS_EVERY)
    return state


def _alone(count: int | None) -> bool:
    return count is not None and count <= 1


def _hosts(others: int | None) -> str:
    if others is None:
        return "an unknown number of hosts"
    return f"{others} other host" if others == 1 else f"{others} other hosts"


# --- phase 2: the before steps --------------------------------------------------------------


def _to_steps(state: SequenceState, plan: SequencePlan, out: Effects) -> SequenceState:
    state = replace(state, phase=Phase.STEPS, next_ask=None, next_fsd=None, step=-1)
    return _next_step(state, plan, out)


def _next_step(state: SequenceState, plan: SequencePlan, out: Effects) -> SequenceState:
    index = state.step + 1
    if index >= len(plan.before):
        deadline = state.now + plan.final_delay
        return replace(state, phase=Phase.FINAL_DELAY, step=index, deadline=deadline)
    step = plan.before[index]
    out.append(RunStep(index, step.argv, step.timeout))
    return replace(state, step=index, deadline=state.now + step.timeout + REPORT_GRACE)


def _on_step(
    state: SequenceState, plan: SequencePlan, event: StepDone, out: Effects
) -> SequenceState:
    if state.phase is not Phase.STEPS or event.index != state.step:
        return state
    if event.outcome is StepOutcome.NOT_STARTED:
        why = f"{_step_name(plan, event.index)} could not run: {event.detail}; going on"
        out.append(Emit("SHUTDOWN_FAILED", state.now, why))
    return _next_step(state, plan, out)


def _step_name(plan: SequencePlan, index: int) -> str:
    return f"before step {index + 1} ({' '.join(plan.before[index].argv)})"


# --- phases 3 and 4: final delay, the command, retries, linger --------------------------------


def _run_command(state: SequenceState, plan: SequencePlan, out: Effects) -> SequenceState:
    attempt = state.attempt + 1
    if attempt == 1 and plan.flag is not None:
        out.append(WriteFlag(plan.flag))
    out.append(RunCommand(attempt, plan.command, plan.command_timeout))
    return replace(
        state,
        phase=Phase.COMMAND,
        attempt=attempt,
        command_started=state.now,
        deadline=state.now + plan.command_timeout + REPORT_GRACE,
    )


def _on_command(
    state: SequenceState, plan: SequencePlan, event: CommandDone, out: Effects
) -> SequenceState:
    if state.phase is not Phase.COMMAND or event.attempt != state.attempt:
        return state
    if event.ok:
        return _linger(state, plan)
    return _failed(state, plan, event.detail, out)


def _failed(state: SequenceState, plan: SequencePlan, detail: str, out: Effects) -> SequenceState:
    now, attempt = state.now, state.attempt
    what = f"the command {' '.join(plan.command)} failed (try {attempt} of {plan.tries}): {detail}"
    if attempt < plan.tries:
        why = f"{what}; trying again in {format_duration(plan.retry_delay)}"
        out.append(Emit("SHUTDOWN_FAILED", now, why))
        return replace(state, phase=Phase.RETRY, deadline=now + plan.retry_delay, failure=detail)
    removed = ""
    if plan.flag is not None:
        out.append(RemoveFlag(plan.flag))
        removed = f", removed the power-down flag {plan.flag}"
    why = f"{what}; gave up{removed}; pyups keeps monitoring"
    out.append(Emit("SHUTDOWN_FAILED", now, why))
    return replace(state, phase=Phase.GAVE_UP, deadline=None, failure=detail)


def _linger(state: SequenceState, plan: SequencePlan) -> SequenceState:
    if not plan.sessions:
        return replace(state, phase=Phase.DONE, deadline=None)
    started = state.command_started if state.command_started is not None else state.now
    return replace(state, phase=Phase.LINGER, deadline=started + plan.linger)


def _settle(state: SequenceState, plan: SequencePlan, out: Effects) -> SequenceState:
    """Move on through every phase whose time has come, until one has to wait."""
    while True:
        before = state
        state = _due(state, plan, out)
        if state == before:
            return state


def _due(state: SequenceState, plan: SequencePlan, out: Effects) -> SequenceState:
    phase, now = state.phase, state.now
    if phase is Phase.HOST_SYNC:
        return _host_sync(state, plan, out)
    expired = state.deadline is not None and now >= state.deadline
    if not expired:
        return state
    if phase is Phase.STEPS:
        step = plan.before[state.step]
        why = (
            f"{_step_name(plan, state.step)} did not report back within its timeout"
            f" ({format_duration(step.timeout)}) and {format_duration(REPORT_GRACE)}; going on"
        )
        out.append(Emit("SHUTDOWN_FAILED", now, why))
        return _next_step(state, plan, out)
    if phase in (Phase.FINAL_DELAY, Phase.RETRY):
        return _run_command(state, plan, out)
    if phase is Phase.COMMAND:
        detail = (
            f"no report within its timeout ({format_duration(plan.command_timeout)})"
            f" and {format_duration(REPORT_GRACE)}"
        )
        return _failed(state, plan, detail, out)
    if phase is Phase.LINGER:
        out.extend(Logout(ups) for ups in plan.sessions)
        return replace(state, phase=Phase.DONE, deadline=None)
    return state


# --- dry run --------------------------------------------------------------------------------


def _dry_run(
    state: SequenceState, plan: SequencePlan, reason: str
) -> tuple[SequenceState, Effects]:
    now = state.now
    out: Effects = [Emit("SHUTDOWN", now, f"{reason} (dry run: nothing is done)", dry_run=True)]
    out.extend(SetFsd(ups, dry_run=True) for ups in plan.primary_for)
    out.extend(AskNumLogins(ups, dry_run=True) for ups in plan.primary_for)  # the host sync
    out.extend(
        RunStep(i, step.argv, step.timeout, dry_run=True) for i, step in enumerate(plan.before)
    )
    if plan.flag is not None:
        out.append(WriteFlag(plan.flag, dry_run=True))
    out.append(RunCommand(1, plan.command, plan.command_timeout, dry_run=True))
    out.extend(Logout(ups, dry_run=True) for ups in plan.sessions)
    done = replace(state, phase=Phase.DONE, started=now, reason=reason, attempt=1)
    return done, out


def effects_of(effects: Sequence[Effect | WakeAt], kind: type[T]) -> list[T]:
    """The effects of one type, in order (for callers and tests)."""
    return [e for e in effects if isinstance(e, kind)]
