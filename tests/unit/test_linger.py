"""How long a stopping monitor keeps its secondary sessions: the sequence's linger (DESIGN §10)."""

from __future__ import annotations

from dataclasses import replace

from pyups.address import Server, UpsAddress
from pyups.core import sequence as seq
from pyups.core.protection import Criteria, Protected
from pyups.service.protector import Protection, Protector

UPS = UpsAddress("eaton800", Server("192.0.2.10"))


def protector(linger: float, sessions: tuple[UpsAddress, ...] = (UPS,)) -> Protector:
    plan = seq.SequencePlan(command=("/bin/true",), sessions=sessions, linger=linger)
    protection = Protection((Protected(UPS),), Criteria(), 1, plan, {}, {})
    return Protector(protection, lambda event: None, lambda text, priority: None, print)


def test_a_secondary_lingers_from_the_start_of_its_command_while_it_runs_and_after() -> None:
    guard = protector(linger=5.0)
    started = seq.SequenceState(command_started=100.0)
    for phase in (seq.Phase.COMMAND, seq.Phase.LINGER):
        guard.sequence = replace(started, phase=phase)
        assert guard.lingering_until() == 105.0


def test_nothing_lingers_before_the_command_after_the_linger_or_without_sessions() -> None:
    guard = protector(linger=5.0)
    for phase in (seq.Phase.IDLE, seq.Phase.HOST_SYNC, seq.Phase.FINAL_DELAY, seq.Phase.DONE):
        guard.sequence = seq.SequenceState(phase=phase, command_started=None)
        assert guard.lingering_until() is None
    guard.sequence = seq.SequenceState(phase=seq.Phase.DONE, command_started=100.0)
    assert guard.lingering_until() is None
    for other in (protector(linger=0.0), protector(linger=5.0, sessions=())):
        other.sequence = seq.SequenceState(phase=seq.Phase.LINGER, command_started=100.0)
        assert other.lingering_until() is None
