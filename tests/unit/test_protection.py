"""Unit tests for pyups.core.protection: when a UPS is critical, and when the host goes down.

Criticality is one table of scenarios: poll results (or bare moments with no poll) go through
the real tracker, and after each one the verdict's rule must be the one in the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from pyups.address import Server, UpsAddress
from pyups.core.protection import (
    Criteria,
    Memory,
    Protected,
    Role,
    Rule,
    Verdict,
    assess,
    judge,
    supplies,
)
from pyups.core.snapshot import Snapshot
from pyups.core.tracker import Timing, UpsState, initial, step

EATON = UpsAddress("eaton800", Server("localhost"))
APC = UpsAddress("apc1500", Server("192.0.2.10"))
TIMING = Timing(dead_time=15.0)
CRITICAL_RULES = {Rule.FSD, Rule.DEAD, Rule.LOW_BATTERY}

P, S = Role.PRIMARY, Role.SECONDARY
NO_POLL = None  # judge at this moment without a new poll result
FAIL = "FAIL"  # the poll failed (upsd, the network or the driver did not answer)


@dataclass(frozen=True)
class Case:
    """Rows of (t, poll: a raw ups.status, FAIL or NO_POLL, the rule expected then)."""

    id: str
    role: Role
    rows: list[tuple[float, str | None, Rule]]
    criteria: Criteria = field(default_factory=Criteria)


def poll(state: UpsState, t: float, status: str | None) -> UpsState:
    if status is None:
        return state
    if status == FAIL:
        snap = Snapshot(EATON.name, EATON.server, t, error="CONNECT", detail="refused")
    else:
        snap = Snapshot(EATON.name, EATON.server, t, vars={"ups.status": status})
    return step(state, snap, TIMING)[0]


def verdicts(case: Case) -> list[Verdict]:
    ups = Protected(EATON, case.role)
    state, memory = initial(EATON.name, EATON.server), Memory()
    found = []
    for t, status, _ in case.rows:
        state = poll(state, t, status)
        verdict, memory = judge(ups, state, memory, t, case.criteria)
        found.append(verdict)
    return found


CASES = [
    # --- FSD: at once, whatever the role and lowbatt_for ------------------------------------
    Case("fsd-is-critical-at-once-for-a-primary", P, [(0, "OB LB FSD", Rule.FSD)]),
    Case("fsd-is-critical-at-once-for-a-secondary", S, [(0, "OB LB FSD", Rule.FSD)]),
    Case(
        "fsd-does-not-wait-for-lowbatt-for",
        S,
        [(0, "OB LB FSD", Rule.FSD)],
        Criteria(lowbatt_for=60, host_sync=60),
    ),
    Case("fsd-counts-even-on-line-power", S, [(0, "OL FSD", Rule.FSD)]),
    Case(
        "fsd-last-seen-stays-critical-while-silent",
        S,
        [(0, "FSD OB", Rule.FSD), (5, FAIL, Rule.FSD)],
    ),
    Case(
        "a-secondary-waiting-for-its-primary-goes-at-once-when-fsd-comes",
        S,
        [
            (0, "OB LB", Rule.WAITING_FOR_PRIMARY),
            (2, "OB LB FSD", Rule.FSD),
        ],
    ),
    # --- OB + LB ---------------------------------------------------------------------------
    Case(
        "low-battery-on-battery-is-critical-at-once-for-a-primary",
        P,
        [(0, "OB LB", Rule.LOW_BATTERY)],
    ),
    Case(
        "low-battery-on-battery-counts-only-once-held-for-lowbatt-for",
        P,
        [
            (0, "OB DISCHRG LB", Rule.WAITING_LOW_BATTERY),
            (5, "OB DISCHRG LB", Rule.WAITING_LOW_BATTERY),
            (9.9, NO_POLL, Rule.WAITING_LOW_BATTERY),
            (10, NO_POLL, Rule.LOW_BATTERY),
            (12, "OB DISCHRG LB", Rule.LOW_BATTERY),
        ],
        Criteria(lowbatt_for=10),
    ),
    Case(
        "low-battery-that-goes-before-lowbatt-for-restarts-the-clock",
        P,
        [
            (0, "OB LB", Rule.WAITING_LOW_BATTERY),
            (5, "OB", Rule.NOT_CRITICAL),
            (8, "OB LB", Rule.WAITING_LOW_BATTERY),
            (12, "OB LB", Rule.WAITING_LOW_BATTERY),
            (18, "OB LB", Rule.LOW_BATTERY),
        ],
        Criteria(lowbatt_for=10),
    ),
    Case(
        "low-battery-while-calibrating-is-not-critical",
        P,
        [(0, "OB LB CAL", Rule.CALIBRATING), (100, "OB LB CAL", Rule.CALIBRATING)],
    ),
    Case(
        "calibration-ending-with-low-battery-starts-the-clock-then",
        P,
        [
            (0, "OB LB CAL", Rule.CALIBRATING),
            (30, "OB LB", Rule.WAITING_LOW_BATTERY),
            (40, "OB LB", Rule.LOW_BATTERY),
        ],
        Criteria(lowbatt_for=10),
    ),
    Case(
        "on-battery-alone-is-never-critical",
        P,
        [(0, "OB", Rule.NOT_CRITICAL), (3600, "OB DISCHRG", Rule.NOT_CRITICAL)],
    ),
    Case("low-battery-on-line-power-is-not-critical", P, [(0, "OL CHRG LB", Rule.NOT_CRITICAL)]),
    Case(
        "low-battery-last-seen-stays-critical-while-briefly-silent",
        P,
        [(0, "OB LB", Rule.LOW_BATTERY), (5, FAIL, Rule.LOW_BATTERY)],
    ),
    # --- the secondary's wait for its primary ---------------------------------------------
    Case(
        "a-secondary-waits-host-sync-for-its-primarys-fsd-then-goes",
        S,
        [
            (0, "OB LB", Rule.WAITING_FOR_PRIMARY),
            (10, "OB LB", Rule.WAITING_FOR_PRIMARY),
            (14.9, NO_POLL, Rule.WAITING_FOR_PRIMARY),
            (15, NO_POLL, Rule.LOW_BATTERY),
        ],
        Criteria(host_sync=15),
    ),
    Case(
        "a-secondary-waits-lowbatt-for-then-host-sync",
        S,
        [
            (0, "OB LB", Rule.WAITING_LOW_BATTERY),
            (10, "OB LB", Rule.WAITING_FOR_PRIMARY),
            (24, "OB LB", Rule.WAITING_FOR_PRIMARY),
            (25, "OB LB", Rule.LOW_BATTERY),
        ],
        Criteria(lowbatt_for=10, host_sync=15),
    ),
    Case(
        "a-secondary-whose-low-battery-goes-stops-waiting",
        S,
        [
            (0, "OB LB", Rule.WAITING_FOR_PRIMARY),
            (10, "OL CHRG", Rule.NOT_CRITICAL),
            (100, NO_POLL, Rule.NOT_CRITICAL),
        ],
    ),
    # --- silence ---------------------------------------------------------------------------
    Case(
        "silent-for-dead-time-while-last-seen-on-battery-is-critical",
        P,
        [
            (0, "OB DISCHRG", Rule.NOT_CRITICAL),
            (5, FAIL, Rule.NOT_CRITICAL),
            (10, FAIL, Rule.NOT_CRITICAL),
            (15, FAIL, Rule.DEAD),
            (20, FAIL, Rule.DEAD),
        ],
    ),
    Case(
        "a-dead-secondary-ups-is-critical-without-waiting-for-its-primary",
        S,
        [(0, "OB", Rule.NOT_CRITICAL), (15, FAIL, Rule.DEAD)],
    ),
    Case(
        "a-short-blip-on-battery-is-not-critical",
        P,
        [(0, "OB", Rule.NOT_CRITICAL), (5, FAIL, Rule.NOT_CRITICAL), (10, "OB", Rule.NOT_CRITICAL)],
    ),
    Case(
        "a-dead-ups-that-answers-again-on-line-power-is-no-longer-critical",
        P,
        [(0, "OB", Rule.NOT_CRITICAL), (20, FAIL, Rule.DEAD), (25, "OL", Rule.NOT_CRITICAL)],
    ),
    Case(
        "last-seen-on-line-power-then-silent-forever-is-never-critical",
        P,
        [
            (0, "OL", Rule.NOT_CRITICAL),
            (5, FAIL, Rule.NOT_CRITICAL),
            (60, FAIL, Rule.NOT_CRITICAL),
            (86400, FAIL, Rule.NOT_CRITICAL),
        ],
    ),
    Case(
        "a-ups-never-reached-is-never-critical",
        P,
        [
            (0, FAIL, Rule.NEVER_REACHED),
            (3600, FAIL, Rule.NEVER_REACHED),
            (86400, NO_POLL, Rule.NEVER_REACHED),
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_criticality(case: Case) -> None:
    found = [verdict.rule for verdict in verdicts(case)]
    assert found == [rule for _, _, rule in case.rows]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_verdict_is_critical_exactly_when_its_rule_is_a_critical_one(case: Case) -> None:
    assert all(v.critical == (v.rule in CRITICAL_RULES) for v in verdicts(case))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_waiting_verdict_says_when_it_turns_critical_and_no_other_does(case: Case) -> None:
    waiting = {Rule.WAITING_LOW_BATTERY, Rule.WAITING_FOR_PRIMARY}
    for (t, _, _), verdict in zip(case.rows, verdicts(case), strict=True):
        if verdict.rule in waiting:
            assert verdict.recheck_at is not None and verdict.recheck_at > t
        else:
            assert verdict.recheck_at is None


def test_the_table_covers_every_rule() -> None:
    assert {rule for case in CASES for _, _, rule in case.rows} == set(Rule)


@pytest.mark.parametrize(
    ("role", "rows", "criteria", "reason"),
    [
        (P, [(0, "OB LB")], Criteria(), "eaton800@localhost:3493 is on battery with a low battery"),
        (
            P,
            [(0, "OB LB"), (30, "OB LB")],
            Criteria(lowbatt_for=30),
            "eaton800@localhost:3493 is on battery with a low battery for 30s",
        ),
        (P, [(0, "OB LB FSD")], Criteria(), "eaton800@localhost:3493 is in forced shutdown (FSD)"),
        (
            P,
            [(0, "OB"), (15, FAIL)],
            Criteria(),
            "eaton800@localhost:3493 has been silent for 15s while on battery",
        ),
        (
            S,
            [(0, "OB LB"), (15, "OB LB")],
            Criteria(host_sync=15),
            "eaton800@localhost:3493 is on battery with a low battery and its primary set no FSD"
            " within host_sync (15s)",
        ),
        (
            S,
            [(0, "OB LB"), (5, "OB LB")],
            Criteria(host_sync=15),
            "eaton800@localhost:3493 is on battery with a low battery; waiting up to 10s for its"
            " primary to set FSD",
        ),
        (
            P,
            [(0, "OL"), (5, FAIL)],
            Criteria(),
            "eaton800@localhost:3493 has been silent for 5s, last seen on line power",
        ),
        (P, [(0, FAIL)], Criteria(), "eaton800@localhost:3493 has not been reached yet"),
    ],
)
def test_the_reason_says_which_ups_and_which_rule_in_words(
    role: Role, rows: list[tuple[float, str]], criteria: Criteria, reason: str
) -> None:
    case = Case("reason", role, [(t, status, Rule.NOT_CRITICAL) for t, status in rows], criteria)
    assert verdicts(case)[-1].reason == reason


# --- supplies ---------------------------------------------------------------------------------


def protected(power: int, n: int) -> Protected:
    return Protected(UpsAddress(f"ups{n}", Server("localhost")), Role.PRIMARY, power)


def verdict(critical: bool) -> Verdict:
    if critical:
        return Verdict(True, Rule.LOW_BATTERY, "it is low")
    return Verdict(False, Rule.NOT_CRITICAL, "it is fine")


@pytest.mark.parametrize(
    ("ups", "min_supplies", "go_down", "left"),
    [
        pytest.param([(1, False)], 1, False, 1, id="one-ups-that-is-fine-keeps-the-host-up"),
        pytest.param([(1, True)], 1, True, 0, id="one-ups-that-is-critical-takes-the-host-down"),
        pytest.param(
            [(1, True), (1, False)],
            1,
            False,
            1,
            id="two-redundant-supplies-stay-up-with-one-critical",
        ),
        pytest.param(
            [(1, True), (1, True)], 1, True, 0, id="two-redundant-supplies-go-down-with-both"
        ),
        pytest.param(
            [(1, True), (1, False)],
            2,
            True,
            1,
            id="two-supplies-both-needed-go-down-with-one-critical",
        ),
        pytest.param(
            [(2, True), (1, False)], 2, True, 1, id="a-ups-feeding-two-supplies-counts-twice"
        ),
        pytest.param(
            [(1, False), (0, True)], 1, False, 1, id="a-watch-only-ups-never-counts-critical"
        ),
        pytest.param(
            [(0, True)], 1, False, 0, id="a-host-only-watching-its-upses-is-never-taken-down"
        ),
        pytest.param([(1, True), (1, True)], 0, False, 0, id="min-supplies-zero-never-goes-down"),
        pytest.param([], 1, False, 0, id="a-host-with-no-ups-at-all-is-never-taken-down"),
    ],
)
def test_supplies(ups: list[tuple[int, bool]], min_supplies: int, go_down: bool, left: int) -> None:
    result = supplies(
        [(protected(power, n), verdict(critical)) for n, (power, critical) in enumerate(ups)],
        min_supplies,
    )
    assert (result.go_down, result.left, result.needed) == (go_down, left, min_supplies)
    counted = [protected(p, n).address for n, (p, c) in enumerate(ups) if c and p > 0]
    assert list(result.critical) == counted


def test_the_supplies_reason_names_the_critical_upses_and_how_many_supplies_are_left() -> None:
    result = supplies(
        [
            (Protected(EATON), Verdict(True, Rule.FSD, "eaton800@localhost:3493 is in FSD")),
            (Protected(APC), Verdict(False, Rule.NOT_CRITICAL, "fine")),
            (Protected(APC, power=0), Verdict(True, Rule.DEAD, "watched only")),
        ],
        2,
    )
    assert result.reason == "eaton800@localhost:3493 is in FSD; 1 supply left, 2 needed"


def test_the_supplies_reason_says_so_when_nothing_is_critical() -> None:
    result = supplies([(Protected(EATON), verdict(False))], 1)
    assert result.reason == "no UPS is critical; 1 supply left, 1 needed"


# --- all at once ------------------------------------------------------------------------------


def test_assess_judges_every_ups_and_counts_a_missing_one_as_never_reached() -> None:
    ups = [Protected(EATON, Role.PRIMARY), Protected(APC, Role.SECONDARY)]
    eaton = poll(initial(EATON.name, EATON.server), 0, "OB LB")
    criteria = Criteria(lowbatt_for=10)
    first, memory = assess(ups, {EATON: eaton}, {}, 0, criteria, min_supplies=1)
    assert first.verdicts[EATON].rule is Rule.WAITING_LOW_BATTERY
    assert first.verdicts[APC].rule is Rule.NEVER_REACHED
    assert first.recheck_at == 10
    assert (first.supplies.go_down, first.supplies.left) == (False, 2)
    later, _ = assess(ups, {EATON: eaton}, memory, 10, criteria, min_supplies=2)
    assert later.verdicts[EATON].critical
    assert later.recheck_at is None
    assert (later.supplies.go_down, later.supplies.left, later.supplies.critical) == (
        True,
        1,
        (EATON,),
    )
