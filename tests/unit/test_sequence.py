"""Unit tests for pyups.core.sequence: the shutdown sequence driven by inputs, effects in order.

Each scenario feeds inputs one by one and checks the effects each one gives back, as the
executor would receive them. ``WakeAt`` is checked where the timing is the point, and left out
(``acts``) where it is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pyups.address import Server, UpsAddress
from pyups.core.protection import Criteria, Protected, Role, assess
from pyups.core.sequence import (
    COMMAND_TIMEOUT,
    FLAG_CONTENT,
    REPORT_GRACE,
    AskNumLogins,
    CommandDone,
    Effect,
    Emit,
    FlagWritten,
    FsdSet,
    Input,
    Logout,
    NumLogins,
    Phase,
    RemoveFlag,
    RunCommand,
    RunStep,
    SequencePlan,
    SequenceState,
    SetFsd,
    Start,
    Step,
    StepDone,
    StepOutcome,
    Tick,
    WakeAt,
    WriteFlag,
    advance,
    effects_of,
    initial,
)
from pyups.core.snapshot import Snapshot
from pyups.core.tracker import Timing, UpsState, step
from pyups.core.tracker import initial as tracker_initial

EATON = UpsAddress("eaton800", Server("localhost"))
APC = UpsAddress("apc1500", Server("192.0.2.10"))
FLAG = "/run/pyups/killpower"
POWEROFF = ("systemctl", "poweroff")
STOP_VMS = ("/usr/local/sbin/stop-vms",)
STOP_CONTAINERS = ("/usr/local/sbin/stop-containers", "--all")
WHY = "eaton800@localhost:3493 is on battery with a low battery; 0 supplies left, 1 needed"

PRIMARY = SequencePlan(
    command=POWEROFF,
    primary_for=(EATON,),
    before=(Step(STOP_VMS, 120),),
    host_sync=15,
    final_delay=5,
    flag_path=FLAG,
)
SECONDARY = SequencePlan(command=POWEROFF, sessions=(EATON,), final_delay=5)  # never a flag

Out = list[Effect | WakeAt]


class Run:
    """One sequence, fed input by input; ``state`` and every answer are kept."""

    def __init__(self, plan: SequencePlan) -> None:
        self.plan = plan
        self.state: SequenceState = initial()
        self.log: list[tuple[Input, Out]] = []

    def feed(self, event: Input) -> Out:
        self.state, out = advance(self.state, self.plan, event)
        self.log.append((event, out))
        return out

    def acts(self, event: Input) -> Out:
        """The effects of one input, without WakeAt."""
        return [e for e in self.feed(event) if not isinstance(e, WakeAt)]

    @property
    def effects(self) -> Out:
        return [e for _, out in self.log for e in out if not isinstance(e, WakeAt)]


def failed(reason: str, t: float) -> Emit:
    return Emit("SHUTDOWN_FAILED", t, reason)


def to_final_delay(run: Run, t: float = 0) -> None:
    """Start a plan with no primary UPS and no steps: it waits final_delay next."""
    run.feed(Start(t, WHY))
    assert run.state.phase is Phase.FINAL_DELAY


# --- phase 1: the SHUTDOWN entry and host sync ----------------------------------------------


def test_a_primary_whose_secondaries_all_leave_goes_down_once_without_a_hostsync_entry() -> None:
    run = Run(PRIMARY)
    assert run.feed(Start(0, WHY)) == [
        Emit("SHUTDOWN", 0, WHY),
        SetFsd(EATON),
        AskNumLogins(EATON),
        WakeAt(0.25),
    ]
    assert run.feed(FsdSet(0.05, EATON, True)) == [WakeAt(0.25)]
    assert run.feed(NumLogins(0.1, EATON, 3)) == [WakeAt(0.25)]
    assert run.feed(Tick(0.25)) == [AskNumLogins(EATON), WakeAt(0.5)]
    assert run.feed(NumLogins(0.3, EATON, 1)) == [
        RunStep(0, STOP_VMS, 120),
        WakeAt(0.3 + 120 + REPORT_GRACE),
    ]
    assert run.feed(StepDone(30, 0, StepOutcome.OK)) == [WakeAt(35)]
    assert run.feed(Tick(35)) == [
        WriteFlag(FLAG, FLAG_CONTENT),
        RunCommand(1, POWEROFF, COMMAND_TIMEOUT),
        WakeAt(35 + COMMAND_TIMEOUT + REPORT_GRACE),
    ]
    assert run.feed(CommandDone(35.5, 1, True)) == []
    assert run.state.phase is Phase.DONE
    assert run.feed(Tick(100)) == []
    assert len(effects_of(run.effects, RunCommand)) == 1
    assert not [e for e in effects_of(run.effects, Emit) if e.event == "SHUTDOWN_HOSTSYNC"]


def test_a_primary_alone_from_the_first_answer_moves_on_at_once() -> None:
    run = Run(PRIMARY)
    run.feed(Start(0, WHY))
    assert run.acts(NumLogins(0.01, EATON, 1)) == [RunStep(0, STOP_VMS, 120)]


def test_numlogins_above_one_until_host_sync_gives_a_hostsync_entry_naming_the_others() -> None:
    run = Run(PRIMARY)
    run.feed(Start(0, WHY))
    for t in (0.25 * k for k in range(1, 60)):  # 0.25 .. 14.75
        assert run.acts(Tick(t)) == [AskNumLogins(EATON)]
        assert run.acts(NumLogins(t + 0.01, EATON, 2)) == []
    assert run.acts(Tick(15)) == [
        Emit("SHUTDOWN_HOSTSYNC", 15, "1 other host", ups=EATON, hosts=1),
        RunStep(0, STOP_VMS, 120),
    ]


def test_hostsync_names_each_ups_still_shared_and_only_those() -> None:
    run = Run(SequencePlan(command=POWEROFF, primary_for=(EATON, APC), host_sync=15))
    assert run.acts(Start(0, WHY)) == [
        Emit("SHUTDOWN", 0, WHY),
        SetFsd(EATON),
        SetFsd(APC),
        AskNumLogins(EATON),
        AskNumLogins(APC),
    ]
    run.feed(NumLogins(0.1, EATON, 1))
    run.feed(NumLogins(0.1, APC, 3))
    assert run.acts(Tick(0.25)) == [AskNumLogins(APC)]  # EATON is settled: not asked again
    assert run.acts(Tick(15)) == [Emit("SHUTDOWN_HOSTSYNC", 15, "2 other hosts", ups=APC, hosts=2)]
    assert run.state.phase is Phase.FINAL_DELAY


def test_err_answers_are_unknown_and_it_keeps_asking_until_host_sync_unlike_upsmon() -> None:
    run = Run(PRIMARY)
    run.feed(Start(0, WHY))
    for t in (0.25 * k for k in range(1, 60)):  # 0.25 .. 14.75
        run.feed(NumLogins(t - 0.2, EATON, None, "ERR UNKNOWN-COMMAND"))
        assert run.acts(Tick(t)) == [AskNumLogins(EATON)]
    assert not effects_of(run.effects, RunStep)
    assert run.acts(Tick(15)) == [
        Emit("SHUTDOWN_HOSTSYNC", 15, "an unknown number of hosts", ups=EATON, hosts=None),
        RunStep(0, STOP_VMS, 120),
    ]


def test_an_answer_after_the_ups_is_settled_does_not_unsettle_it() -> None:
    run = Run(SequencePlan(command=POWEROFF, primary_for=(EATON, APC), host_sync=15))
    run.feed(Start(0, WHY))
    run.feed(NumLogins(0.1, EATON, 1))
    run.feed(NumLogins(0.2, EATON, 2))  # late, out of order
    run.feed(NumLogins(0.3, APC, 1))
    assert run.state.phase is Phase.FINAL_DELAY


def test_a_failure_to_set_fsd_is_said_once_and_fsd_is_tried_again_each_second() -> None:
    run = Run(PRIMARY)
    run.feed(Start(0, WHY))
    why = (
        "could not set FSD on eaton800@localhost:3493: ACCESS-DENIED; its secondaries go down"
        " by themselves after their host_sync"
    )
    assert run.acts(FsdSet(0.1, EATON, False, "ACCESS-DENIED")) == [failed(why, 0.1)]
    assert run.acts(Tick(1.1)) == [SetFsd(EATON), AskNumLogins(EATON)]
    assert run.acts(FsdSet(1.2, EATON, False, "ACCESS-DENIED")) == []  # said once
    assert run.acts(Tick(2.2)) == [SetFsd(EATON), AskNumLogins(EATON)]
    assert run.acts(FsdSet(2.3, EATON, True)) == []
    assert run.acts(Tick(3.3)) == [AskNumLogins(EATON)]


def test_fsd_is_not_tried_again_once_host_sync_is_over() -> None:
    run = Run(PRIMARY)
    run.feed(Start(0, WHY))
    run.feed(FsdSet(0.1, EATON, False, "CONNECT"))
    run.feed(NumLogins(0.2, EATON, 1))
    assert run.state.phase is Phase.STEPS
    assert run.state.wake_at == 0.2 + 120 + REPORT_GRACE


# --- runs once --------------------------------------------------------------------------------


def test_a_second_start_is_ignored_while_running_and_after_the_end() -> None:
    run = Run(SECONDARY)
    run.feed(Start(0, WHY))
    assert run.feed(Start(1, "rule outage-2min asked for a shutdown")) == []
    run.feed(Tick(5))
    run.feed(CommandDone(6, 1, True))
    assert run.state.phase is Phase.DONE
    assert run.feed(Start(100, "pyups fsd")) == []
    assert [e.reason for e in effects_of(run.effects, Emit)] == [WHY]


def test_power_coming_back_mid_sequence_does_not_cancel_it() -> None:
    # There is no input for it: once started, criticality is no longer consulted, and the
    # monitor seeing OL again (and a later Start from a rule) changes nothing.
    run = Run(SECONDARY)
    run.feed(Start(0, WHY))
    run.feed(Start(2, "power is back"))
    assert run.acts(Tick(5)) == [RunCommand(1, POWEROFF, COMMAND_TIMEOUT)]


def test_a_shutdown_decided_from_the_supplies_runs_on_when_the_ups_is_back_on_line_power() -> None:
    ups = [Protected(EATON, Role.SECONDARY)]

    def tracked(t: float, status: str) -> UpsState:
        snap = Snapshot(EATON.name, EATON.server, t, vars={"ups.status": status})
        return step(tracker_initial(EATON.name, EATON.server), snap, Timing())[0]

    low, _ = assess(ups, {EATON: tracked(0, "OB LB FSD")}, {}, 0, Criteria(), 1)
    assert low.supplies.go_down
    run = Run(SECONDARY)
    run.feed(Start(0, low.supplies.reason))
    back, _ = assess(ups, {EATON: tracked(2, "OL CHRG")}, {}, 2, Criteria(), 1)
    assert not back.supplies.go_down  # nothing to tell the sequence: it is not asked
    run.feed(Tick(5))
    run.feed(CommandDone(6, 1, True))
    assert effects_of(run.effects, Emit) == [
        Emit(
            "SHUTDOWN",
            0,
            "eaton800@localhost:3493 is in forced shutdown (FSD); 0 supplies left, 1 needed",
        )
    ]
    assert effects_of(run.effects, RunCommand) == [RunCommand(1, POWEROFF, COMMAND_TIMEOUT)]
    assert run.state.phase is Phase.DONE


def test_inputs_before_start_do_nothing() -> None:
    run = Run(PRIMARY)
    for event in (
        Tick(1),
        NumLogins(1, EATON, 1),
        FsdSet(1, EATON, True),
        StepDone(1, 0, StepOutcome.OK),
        CommandDone(1, 1, True),
    ):
        assert run.feed(event) == []
    assert run.state.phase is Phase.IDLE


# --- phase 2: the before steps ----------------------------------------------------------------


TWO_STEPS = SequencePlan(
    command=POWEROFF, before=(Step(STOP_VMS, 120), Step(STOP_CONTAINERS, 30)), final_delay=5
)


def test_steps_run_in_order_each_with_its_own_timeout_and_a_failed_one_does_not_stop_it() -> None:
    run = Run(TWO_STEPS)
    assert run.feed(Start(0, WHY)) == [
        Emit("SHUTDOWN", 0, WHY),
        RunStep(0, STOP_VMS, 120),
        WakeAt(120 + REPORT_GRACE),
    ]
    assert run.feed(StepDone(10, 0, StepOutcome.FAILED, "exit:1")) == [
        RunStep(1, STOP_CONTAINERS, 30),
        WakeAt(10 + 30 + REPORT_GRACE),
    ]
    assert run.feed(StepDone(40, 1, StepOutcome.TIMED_OUT)) == [WakeAt(45)]
    assert run.acts(Tick(45)) == [RunCommand(1, POWEROFF, COMMAND_TIMEOUT)]
    assert not [e for e in effects_of(run.effects, Emit) if e.event == "SHUTDOWN_FAILED"]


def test_a_step_that_cannot_start_is_shutdown_failed_and_the_next_step_runs() -> None:
    run = Run(TWO_STEPS)
    run.feed(Start(0, WHY))
    why = "before step 1 (/usr/local/sbin/stop-vms) could not run: No such file; going on"
    assert run.acts(StepDone(0.1, 0, StepOutcome.NOT_STARTED, "No such file")) == [
        failed(why, 0.1),
        RunStep(1, STOP_CONTAINERS, 30),
    ]


def test_a_step_that_never_reports_is_given_up_at_its_timeout_plus_grace() -> None:
    run = Run(TWO_STEPS)
    run.feed(Start(0, WHY))
    assert run.acts(Tick(120 + REPORT_GRACE - 0.01)) == []
    why = (
        "before step 1 (/usr/local/sbin/stop-vms) did not report back within its timeout (2m)"
        " and 5s; going on"
    )
    assert run.acts(Tick(125)) == [failed(why, 125), RunStep(1, STOP_CONTAINERS, 30)]
    assert run.acts(StepDone(126, 0, StepOutcome.OK)) == []  # too late: ignored


def test_a_report_for_another_step_is_ignored() -> None:
    run = Run(TWO_STEPS)
    run.feed(Start(0, WHY))
    assert run.acts(StepDone(1, 1, StepOutcome.OK)) == []
    assert run.state.step == 0


# --- phase 3: final delay, flag, command --------------------------------------------------------


def test_final_delay_is_honoured_before_the_command() -> None:
    run = Run(SECONDARY)
    assert run.feed(Start(0, WHY)) == [Emit("SHUTDOWN", 0, WHY), WakeAt(5)]
    assert run.feed(Tick(4.99)) == [WakeAt(5)]
    assert run.acts(Tick(5)) == [RunCommand(1, POWEROFF, COMMAND_TIMEOUT)]


def test_a_zero_final_delay_runs_the_command_with_the_shutdown_entry() -> None:
    run = Run(SequencePlan(command=POWEROFF, final_delay=0))
    assert run.acts(Start(0, WHY)) == [
        Emit("SHUTDOWN", 0, WHY),
        RunCommand(1, POWEROFF, COMMAND_TIMEOUT),
    ]


def test_a_primary_without_a_flag_path_writes_no_flag() -> None:
    run = Run(SequencePlan(command=POWEROFF, primary_for=(EATON,), final_delay=0, flag_path=None))
    run.feed(Start(0, WHY))
    run.feed(NumLogins(0.1, EATON, 1))
    assert not effects_of(run.effects, WriteFlag)
    assert effects_of(run.effects, RunCommand) == [RunCommand(1, POWEROFF, COMMAND_TIMEOUT)]


def test_a_flag_that_cannot_be_written_is_shutdown_failed_and_the_command_still_runs() -> None:
    run = Run(SequencePlan(command=POWEROFF, primary_for=(EATON,), final_delay=0, flag_path=FLAG))
    run.feed(Start(0, WHY))
    run.feed(NumLogins(0.1, EATON, 1))
    why = "could not write the power-down flag /run/pyups/killpower: Read-only file system"
    assert run.acts(FlagWritten(0.2, False, "Read-only file system")) == [failed(why, 0.2)]
    assert run.acts(CommandDone(0.3, 1, True)) == []
    assert run.state.phase is Phase.DONE


# --- phase 4: failures, retries, giving up ------------------------------------------------------


RETRYING = SequencePlan(
    command=POWEROFF, primary_for=(EATON,), final_delay=0, flag_path=FLAG, tries=3, retry_delay=10
)


def at_command(plan: SequencePlan) -> Run:
    run = Run(plan)
    run.feed(Start(0, WHY))
    run.feed(NumLogins(0.1, EATON, 1))
    assert run.state.phase is Phase.COMMAND
    return run


def test_a_failing_command_is_retried_a_bounded_number_of_times_then_the_flag_is_removed() -> None:
    run = at_command(RETRYING)
    base = "the command systemctl poweroff failed"
    assert run.feed(CommandDone(1, 1, False, "exit:1")) == [
        failed(f"{base} (try 1 of 3): exit:1; trying again in 10s", 1),
        WakeAt(11),
    ]
    assert run.acts(Tick(11)) == [RunCommand(2, POWEROFF, COMMAND_TIMEOUT)]
    assert run.acts(CommandDone(12, 2, False, "exit:1")) == [
        failed(f"{base} (try 2 of 3): exit:1; trying again in 10s", 12)
    ]
    assert run.acts(Tick(22)) == [RunCommand(3, POWEROFF, COMMAND_TIMEOUT)]
    assert run.feed(CommandDone(23, 3, False, "cannot run: No such file")) == [
        RemoveFlag(FLAG),
        failed(
            f"{base} (try 3 of 3): cannot run: No such file; gave up, removed the power-down"
            " flag /run/pyups/killpower; pyups keeps monitoring",
            23,
        ),
    ]
    assert run.state.phase is Phase.GAVE_UP
    assert run.feed(Tick(1000)) == []
    assert run.feed(Start(1000, "pyups fsd")) == []
    assert len(effects_of(run.effects, WriteFlag)) == 1  # written once, not on each try


def test_a_command_that_succeeds_on_a_later_try_ends_it_and_keeps_the_flag() -> None:
    run = at_command(RETRYING)
    run.feed(CommandDone(1, 1, False, "exit:1"))
    run.feed(Tick(11))
    assert run.acts(CommandDone(12, 2, True)) == []
    assert run.state.phase is Phase.DONE
    assert not effects_of(run.effects, RemoveFlag)


def test_a_late_report_of_an_earlier_try_is_ignored() -> None:
    run = at_command(RETRYING)
    run.feed(CommandDone(1, 1, False, "exit:1"))
    run.feed(Tick(11))
    assert run.acts(CommandDone(12, 1, True)) == []
    assert run.state.phase is Phase.COMMAND


def test_a_command_that_never_reports_counts_as_a_failed_try() -> None:
    run = at_command(RETRYING)
    silence = 0.1 + COMMAND_TIMEOUT + REPORT_GRACE
    assert run.acts(Tick(silence)) == [
        failed(
            "the command systemctl poweroff failed (try 1 of 3): no report within its timeout"
            " (1m) and 5s; trying again in 10s",
            silence,
        )
    ]


def test_a_secondary_that_gives_up_removes_no_flag_and_stays_logged_in() -> None:
    run = Run(SequencePlan(command=POWEROFF, sessions=(EATON,), final_delay=0, tries=1))
    run.feed(Start(0, WHY))
    run.feed(CommandDone(1, 1, False, "exit:1"))
    assert run.state.phase is Phase.GAVE_UP
    assert not effects_of(run.effects, RemoveFlag)
    assert not effects_of(run.effects, Logout)


# --- secondaries: no FSD, no NUMLOGINS, linger ------------------------------------------------


def test_a_secondary_sets_no_fsd_asks_no_numlogins_and_logs_out_after_linger() -> None:
    plan = SequencePlan(command=POWEROFF, sessions=(EATON,), final_delay=5, linger=30)
    run = Run(plan)
    run.feed(Start(0, WHY))
    assert run.feed(Tick(5)) == [
        RunCommand(1, POWEROFF, COMMAND_TIMEOUT),
        WakeAt(5 + COMMAND_TIMEOUT + REPORT_GRACE),
    ]
    assert run.feed(CommandDone(6, 1, True)) == [WakeAt(35)]  # linger counts from the start
    assert run.feed(Tick(34.9)) == [WakeAt(35)]
    assert run.feed(Tick(35)) == [Logout(EATON)]
    assert run.state.phase is Phase.DONE
    for kind in (SetFsd, AskNumLogins, WriteFlag):
        assert not effects_of(run.effects, kind)


def test_a_secondary_without_linger_logs_out_as_soon_as_the_command_succeeded() -> None:
    run = Run(SECONDARY)
    run.feed(Start(0, WHY))
    run.feed(Tick(5))
    assert run.feed(CommandDone(5.2, 1, True)) == [Logout(EATON)]


def test_a_secondary_stays_logged_in_while_its_command_fails() -> None:
    run = Run(SequencePlan(command=POWEROFF, sessions=(EATON,), final_delay=0, linger=0))
    run.feed(Start(0, WHY))
    assert not effects_of(run.acts(CommandDone(1, 1, False, "exit:1")), Logout)


# --- dry run ----------------------------------------------------------------------------------


def test_a_dry_run_reports_every_effect_at_once_marked_dry_run_and_waits_for_nothing() -> None:
    plan = SequencePlan(
        command=POWEROFF,
        primary_for=(EATON,),
        sessions=(APC,),
        before=(Step(STOP_VMS, 120),),
        flag_path=FLAG,
        dry_run=True,
    )
    run = Run(plan)
    assert run.feed(Start(0, WHY)) == [
        Emit("SHUTDOWN", 0, f"{WHY} (dry run: nothing is done)", dry_run=True),
        SetFsd(EATON, dry_run=True),
        AskNumLogins(EATON, dry_run=True),
        RunStep(0, STOP_VMS, 120, dry_run=True),
        WriteFlag(FLAG, dry_run=True),
        RunCommand(1, POWEROFF, COMMAND_TIMEOUT, dry_run=True),
        Logout(APC, dry_run=True),
    ]
    assert run.state.phase is Phase.DONE
    assert run.feed(Tick(100)) == []
    assert run.feed(Start(100, WHY)) == []


# --- properties -------------------------------------------------------------------------------


def test_an_executor_that_never_reports_still_reaches_an_end_by_the_clock_alone() -> None:
    run = Run(PRIMARY)
    out = run.feed(Start(0, WHY))
    for _ in range(1000):
        wakes = effects_of(out, WakeAt)
        if not wakes:
            break
        out = run.feed(Tick(wakes[-1].t))
    assert run.state.phase is Phase.GAVE_UP
    assert len(effects_of(run.effects, RunCommand)) == PRIMARY.tries


UPSES = st.sampled_from([EATON, APC])
inputs = st.one_of(
    st.builds(Start, t=st.just(0.0), reason=st.just("again")),
    st.builds(Tick, t=st.just(0.0)),
    st.builds(NumLogins, t=st.just(0.0), ups=UPSES, count=st.none() | st.integers(0, 4)),
    st.builds(FsdSet, t=st.just(0.0), ups=UPSES, ok=st.booleans()),
    st.builds(
        StepDone, t=st.just(0.0), index=st.integers(0, 2), outcome=st.sampled_from(StepOutcome)
    ),
    st.builds(FlagWritten, t=st.just(0.0), ok=st.booleans()),
    st.builds(CommandDone, t=st.just(0.0), attempt=st.integers(1, 6), ok=st.booleans()),
)


def timed(event: Input, t: float) -> Input:
    """``event`` at time ``t`` (the strategies build them all at 0)."""
    return replace(event, t=t)


@settings(max_examples=300, deadline=None)
@given(
    plan=st.sampled_from(
        [PRIMARY, SECONDARY, TWO_STEPS, RETRYING, SequencePlan(POWEROFF, primary_for=(EATON, APC))]
    ),
    script=st.lists(st.tuples(st.floats(0, 40), inputs), max_size=60),
)
def test_any_input_sequence_keeps_the_sequences_promises(
    plan: SequencePlan, script: Sequence[tuple[float, Input]]
) -> None:
    run = Run(plan)
    run.feed(Start(0, WHY))
    t, alone, attempts = 0.0, set[UpsAddress](), []
    for dt, event in script:
        t += dt
        fed = timed(event, t)
        if isinstance(fed, NumLogins) and fed.count is not None and fed.count <= 1:
            alone.add(fed.ups)
        out = run.feed(fed)
        for effect in out:
            if isinstance(effect, WakeAt):
                assert effect.t >= t  # never asks to be woken in the past
            if isinstance(effect, RunCommand):
                attempts.append(effect.attempt)
                # never before every primary UPS is alone or host_sync is over, nor final_delay
                assert alone >= set(plan.primary_for) or t >= plan.host_sync
                assert t >= plan.final_delay
    assert attempts == list(range(1, len(attempts) + 1))  # one command per try, in order
    assert len(attempts) <= plan.tries
    assert [e.event for e in effects_of(run.effects, Emit)].count("SHUTDOWN") == 1
