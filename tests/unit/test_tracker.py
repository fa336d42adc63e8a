"""Unit tests for pyups.core.tracker: edge triggers, start-up, communications, timers.

Most behaviour is one table of scenarios: a sequence of poll results (time, raw ups.status or
a failure) and the exact event names each poll must give, run through one parametrized test.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyups.address import Server
from pyups.core.catalogue import EVENTS, PAIRED_FLAGS
from pyups.core.events import Event, finish
from pyups.core.snapshot import Snapshot
from pyups.core.status import KNOWN_FLAGS, unclassified
from pyups.core.tracker import Timing, UpsState, initial, poll_interval, step

UPS = "eaton800"
SERVER = Server("localhost")


@dataclass(frozen=True)
class Good:
    """A successful poll: ``ups.status`` plus any other variables."""

    status: str
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fail:
    """A failed poll with upsd's error code (or CONNECT/TIMEOUT/...)."""

    code: str = "CONNECT"
    detail: str = "cannot connect to upsd"


Poll = str | Good | Fail


def snapshot(t: float, poll: Poll) -> Snapshot:
    """The Snapshot for one row of a scenario."""
    if isinstance(poll, Fail):
        return Snapshot(UPS, SERVER, t, error=poll.code, detail=poll.detail)
    good = Good(poll) if isinstance(poll, str) else poll
    return Snapshot(UPS, SERVER, t, vars={"ups.status": good.status, **good.extra})


def run(
    polls: list[tuple[float, Poll]], timing: Timing | None = None
) -> tuple[UpsState, list[list[Event]]]:
    """Step a fresh tracker through ``polls``; the final state and the events of each poll."""
    timing = timing or Timing()
    state = initial(UPS, SERVER)
    per_poll: list[list[Event]] = []
    for t, poll in polls:
        state, events = step(state, snapshot(t, poll), timing)
        per_poll.append(events)
    return state, per_poll


def events_of(polls: list[tuple[float, Poll]], timing: Timing | None = None) -> list[Event]:
    """Every event ``polls`` give, flattened."""
    return [event for events in run(polls, timing)[1] for event in events]


@dataclass(frozen=True)
class Scenario:
    """Rows of (t, poll, exact event names that poll gives)."""

    id: str
    rows: list[tuple[float, Poll, list[str]]]
    timing: Timing = field(default_factory=Timing)


def _paired_flag_scenarios() -> list[Scenario]:
    return [
        Scenario(
            f"{flag}-appears-and-goes",
            [
                (0, "OL", ["STARTUP"]),
                (5, f"OL {flag}", [flag]),
                (10, f"OL {flag}", []),
                (15, "OL", ["NOT" + flag]),
                (20, "OL", []),
                (25, f"{flag} OL", [flag]),
            ],
        )
        for flag in PAIRED_FLAGS
    ]


SCENARIOS = [
    # --- start-up -------------------------------------------------------------------------
    Scenario("startup-on-line-gives-only-startup", [(0, "OL CHRG", ["STARTUP"])]),
    Scenario("startup-on-battery-gives-onbatt", [(0, "OB DISCHRG", ["STARTUP", "ONBATT"])]),
    Scenario(
        "startup-low-battery-gives-onbatt-and-lowbatt",
        [(0, "OB DISCHRG LB", ["STARTUP", "ONBATT", "LOWBATT"])],
    ),
    Scenario(
        "startup-forced-shutdown-gives-fsd",
        [(0, "FSD OB LB", ["STARTUP", "ONBATT", "LOWBATT", "FSD"])],
    ),
    Scenario("startup-replace-battery-gives-replbatt", [(0, "OL RB", ["STARTUP", "REPLBATT"])]),
    Scenario(
        "startup-alarm-gives-alarm",
        [(0, Good("OL ALARM", {"ups.alarm": "Fan failure"}), ["STARTUP", "ALARM"])],
    ),
    Scenario(
        "startup-reports-the-flags-that-need-attention-and-later-their-not-events",
        [
            (
                0,
                "OL CAL OFF BYPASS ECO OVER TRIM BOOST WEIRD",
                ["STARTUP", "CAL", "OFF", "BYPASS", "ECO", "OVER", "TRIM", "BOOST", "OTHER"],
            ),
            (5, "OL CAL OFF BYPASS ECO OVER TRIM BOOST WEIRD", []),
            (
                10,
                "OL",
                [
                    "NOTCAL",
                    "NOTOFF",
                    "NOTBYPASS",
                    "NOTECO",
                    "NOTOVER",
                    "NOTTRIM",
                    "NOTBOOST",
                    "NOTOTHER",
                ],
            ),
        ],
    ),
    Scenario("startup-overloaded-gives-over", [(0, "OL OVER", ["STARTUP", "OVER"])]),
    Scenario("startup-switched-off-gives-off", [(0, "OFF", ["STARTUP", "OFF"])]),
    Scenario("startup-on-bypass-gives-bypass", [(0, "OL BYPASS", ["STARTUP", "BYPASS"])]),
    Scenario("startup-unknown-token-gives-other", [(0, "OL HE", ["STARTUP", "OTHER"])]),
    Scenario(
        "startup-everything-at-once-in-catalogue-order",
        [
            (
                0,
                Good("OB LB FSD RB ALARM CAL", {"ups.alarm": "x"}),
                ["STARTUP", "ONBATT", "LOWBATT", "FSD", "REPLBATT", "ALARM", "CAL"],
            )
        ],
    ),
    Scenario("startup-with-empty-status-gives-startup", [(0, "", ["STARTUP"])]),
    Scenario(
        "startup-is-given-once",
        [(0, "OL", ["STARTUP"]), (5, "OL", []), (10, "OL", [])],
    ),
    # --- on battery / on line -------------------------------------------------------------
    Scenario(
        "a-brief-outage-gives-one-onbatt-and-one-online",
        [
            (0, "OL CHRG", ["STARTUP"]),
            (5, "OB DISCHRG", ["ONBATT"]),
            (7, "OB DISCHRG", []),
            (9, "OL CHRG", ["ONLINE"]),
            (14, "OL CHRG", []),
        ],
    ),
    Scenario(
        "flapping-gives-one-event-per-transition",
        [
            (0, "OL", ["STARTUP"]),
            (1, "OB", ["ONBATT"]),
            (2, "OL", ["ONLINE"]),
            (3, "OB", ["ONBATT"]),
            (4, "OL", ["ONLINE"]),
            (5, "OB", ["ONBATT"]),
            (6, "OB", []),
            (7, "OL", ["ONLINE"]),
            (8, "OL", []),
        ],
    ),
    Scenario(
        "on-battery-at-startup-then-on-line-gives-online",
        [(0, "OB DISCHRG", ["STARTUP", "ONBATT"]), (30, "OL CHRG", ["ONLINE"])],
    ),
    Scenario(
        "other-tokens-changing-while-on-battery-give-no-onbatt",
        [
            (0, "OL", ["STARTUP"]),
            (5, "OB", ["ONBATT"]),
            (10, "OB DISCHRG", []),
            (15, "DISCHRG OB", []),
            (20, "OL CHRG", ["ONLINE"]),
        ],
    ),
    Scenario(
        "power-cut-with-low-battery-and-recovery",
        [
            (0, "OL CHRG", ["STARTUP"]),
            (5, "OB DISCHRG", ["ONBATT"]),
            (10, "OB DISCHRG LB", ["LOWBATT"]),
            (12, "OB DISCHRG LB", []),
            (15, "OL CHRG LB", ["ONLINE"]),
            (20, "OL CHRG", []),
        ],
    ),
    Scenario(
        "lowbatt-is-an-edge-trigger",
        [
            (0, "OB", ["STARTUP", "ONBATT"]),
            (5, "OB LB", ["LOWBATT"]),
            (10, "OB LB", []),
            (15, "OB", []),
            (20, "OB LB", ["LOWBATT"]),
        ],
    ),
    Scenario(
        "on-battery-and-low-battery-in-one-poll",
        [(0, "OL", ["STARTUP"]), (5, "OB LB", ["ONBATT", "LOWBATT"])],
    ),
    Scenario(
        "fsd-is-an-edge-trigger",
        [
            (0, "OL", ["STARTUP"]),
            (5, "OB LB FSD", ["ONBATT", "LOWBATT", "FSD"]),
            (10, "OB LB FSD", []),
            (15, "OB LB", []),
            (20, "OB LB FSD", ["FSD"]),
        ],
    ),
    Scenario(
        "on-line-without-an-outage-never-gives-online",
        [(0, "OL", ["STARTUP"]), (5, "OL CHRG", []), (10, "OL", [])],
    ),
    # --- communications -------------------------------------------------------------------
    Scenario(
        "a-failing-first-poll-gives-commbad-then-commok-and-startup",
        [
            (0, Fail("CONNECT"), ["COMMBAD"]),
            (5, Fail("CONNECT"), []),
            (10, "OL", ["COMMOK", "STARTUP"]),
            (15, "OL", []),
        ],
    ),
    Scenario(
        "a-failing-first-poll-then-on-battery",
        [(0, Fail("TIMEOUT"), ["COMMBAD"]), (5, "OB", ["COMMOK", "STARTUP", "ONBATT"])],
    ),
    Scenario(
        "comm-loss-while-on-line-and-recovery",
        [
            (0, "OL", ["STARTUP"]),
            (5, Fail("DATA-STALE"), ["COMMBAD"]),
            (10, Fail("DRIVER-NOT-CONNECTED"), []),
            (15, "OL", ["COMMOK"]),
            (20, "OL", []),
            (25, Fail("CLOSED"), ["COMMBAD"]),
            (30, "OL", ["COMMOK"]),
        ],
    ),
    Scenario(
        "comm-loss-while-on-battery-then-recovery-on-line",
        [
            (0, "OB", ["STARTUP", "ONBATT"]),
            (5, Fail(), ["COMMBAD"]),
            (10, "OL", ["COMMOK", "ONLINE"]),
        ],
        Timing(dead_time=60),
    ),
    Scenario(
        "comm-loss-while-on-battery-then-recovery-still-on-battery",
        [
            (0, "OB", ["STARTUP", "ONBATT"]),
            (5, Fail(), ["COMMBAD"]),
            (10, "OB", ["COMMOK"]),
            (15, "OL", ["ONLINE"]),
        ],
        Timing(dead_time=60),
    ),
    Scenario(
        "comm-loss-hides-no-transition-that-happened-meanwhile",
        [
            (0, "OL", ["STARTUP"]),
            (5, Fail(), ["COMMBAD"]),
            (10, "OB LB", ["COMMOK", "ONBATT", "LOWBATT"]),
        ],
    ),
    Scenario(
        "nocomm-repeats-exactly-at-its-boundaries",
        [
            (0, Fail(), ["COMMBAD"]),
            (100, Fail(), []),
            (299, Fail(), []),
            (300, Fail(), ["NOCOMM"]),
            (599, Fail(), []),
            (600, Fail(), ["NOCOMM"]),
            (899.5, Fail(), []),
            (900, Fail(), ["NOCOMM"]),
            (901, "OL", ["COMMOK", "STARTUP"]),
            (902, Fail(), ["COMMBAD"]),
            (1201, Fail(), []),
            (1202, Fail(), ["NOCOMM"]),
        ],
        Timing(nocomm_warn=300),
    ),
    Scenario(
        "nocomm-counts-from-the-last-reminder-not-from-each-poll",
        [
            (0, "OL", ["STARTUP"]),
            (10, Fail(), ["COMMBAD"]),
            (50, Fail(), []),
            (70, Fail(), ["NOCOMM"]),
            (129, Fail(), []),
            (135, Fail(), ["NOCOMM"]),
            (194, Fail(), []),
            (195, Fail(), ["NOCOMM"]),
        ],
        Timing(nocomm_warn=60),
    ),
    # --- replace battery ------------------------------------------------------------------
    Scenario(
        "replbatt-repeats-once-more-than-replbatt-warn-has-passed",
        [
            (0, "OL RB", ["STARTUP", "REPLBATT"]),
            (50, "OL RB", []),
            (100, "OL RB", []),
            (100.5, "OL RB", ["REPLBATT"]),
            (200.5, "OL RB", []),
            (201, "OL RB", ["REPLBATT"]),
        ],
        Timing(replbatt_warn=100),
    ),
    Scenario(
        "replbatt-clock-is-not-reset-when-rb-comes-and-goes",
        [
            (0, "OL RB", ["STARTUP", "REPLBATT"]),
            (50, "OL", []),
            (60, "OL RB", []),
            (70, "OL", []),
            (80, "OL RB", []),
            (101, "OL RB", ["REPLBATT"]),
            (150, "OL", []),
            (300, "OL", []),
            (310, "OL RB", ["REPLBATT"]),
        ],
        Timing(replbatt_warn=100),
    ),
    Scenario(
        "replbatt-reminder-survives-a-comm-loss",
        [
            (0, "OL", ["STARTUP"]),
            (10, "OL RB", ["REPLBATT"]),
            (20, Fail(), ["COMMBAD"]),
            (60, "OL RB", ["COMMOK"]),
            (110, "OL RB", []),
            (111, "OL RB", ["REPLBATT"]),
        ],
        Timing(replbatt_warn=100),
    ),
    # --- alarm ----------------------------------------------------------------------------
    Scenario(
        "alarm-appears-changes-and-goes",
        [
            (0, "OL", ["STARTUP"]),
            (5, Good("OL ALARM", {"ups.alarm": "Fan failure"}), ["ALARM"]),
            (10, Good("OL ALARM", {"ups.alarm": "Fan failure"}), []),
            (15, Good("OL ALARM", {"ups.alarm": "Fan failure. Overheat"}), ["ALARM"]),
            (20, Good("ALARM OL", {"ups.alarm": "Fan failure. Overheat"}), []),
            (25, Good("OL", {"ups.alarm": "Fan failure. Overheat"}), ["NOTALARM"]),
            (30, Good("OL", {"ups.alarm": "something else"}), []),
            (35, "OL ALARM", ["ALARM"]),
            (40, "OL ALARM", []),
        ],
    ),
    Scenario(
        "alarm-text-is-compared-with-the-last-seen-across-a-comm-loss",
        [
            (0, Good("OL ALARM", {"ups.alarm": "A"}), ["STARTUP", "ALARM"]),
            (5, Fail(), ["COMMBAD"]),
            (10, Good("OL ALARM", {"ups.alarm": "A"}), ["COMMOK"]),
            (15, Fail(), ["COMMBAD"]),
            (20, Good("OL ALARM", {"ups.alarm": "B"}), ["COMMOK", "ALARM"]),
        ],
    ),
    # --- unclassified tokens --------------------------------------------------------------
    Scenario(
        "other-fires-for-each-new-token-and-notother-when-all-are-gone",
        [
            (0, "OL", ["STARTUP"]),
            (5, "OL FOO", ["OTHER"]),
            (10, "OL FOO", []),
            (15, "OL FOO BAR", ["OTHER"]),
            (20, "OL BAR", []),
            (25, "OL BAR", []),
            (30, "OL", ["NOTOTHER"]),
            (35, "OL BAZ", ["OTHER"]),
            (40, "OL QUX", ["OTHER"]),
        ],
    ),
    Scenario(
        "known-tokens-are-not-other",
        [(0, "OL", ["STARTUP"]), (5, "OL CHRG HB DISCHRG", []), (10, "OL", [])],
    ),
    # --- dead time ------------------------------------------------------------------------
    Scenario(
        "dead-time-on-battery-forces-one-lowbatt",
        [
            (0, "OB DISCHRG", ["STARTUP", "ONBATT"]),
            (5, Fail(), ["COMMBAD"]),
            (14.9, Fail(), []),
            (15, Fail(), ["LOWBATT"]),
            (16, Fail(), []),
            (100, Fail(), []),
            (305, Fail(), ["NOCOMM"]),
        ],
        Timing(dead_time=15, nocomm_warn=300),
    ),
    Scenario(
        "nocomm-and-dead-time-in-one-poll-give-nocomm-then-lowbatt",
        [
            (0, "OB", ["STARTUP", "ONBATT"]),
            (5, Fail(), ["COMMBAD"]),
            (400, Fail(), ["NOCOMM", "LOWBATT"]),
        ],
        Timing(dead_time=15, nocomm_warn=300),
    ),
    Scenario(
        "a-first-failure-after-dead-time-gives-commbad-then-lowbatt",
        [(0, "OB", ["STARTUP", "ONBATT"]), (20, Fail(), ["COMMBAD", "LOWBATT"])],
        Timing(dead_time=15),
    ),
    Scenario(
        "dead-time-counts-from-the-last-good-poll",
        [
            (0, "OL", ["STARTUP"]),
            (10, "OB", ["ONBATT"]),
            (12, Fail(), ["COMMBAD"]),
            (24.99, Fail(), []),
            (25, Fail(), ["LOWBATT"]),
        ],
        Timing(dead_time=15),
    ),
    Scenario(
        "dead-time-with-low-battery-already-gives-no-second-lowbatt",
        [
            (0, "OB LB", ["STARTUP", "ONBATT", "LOWBATT"]),
            (5, Fail(), ["COMMBAD"]),
            (20, Fail(), []),
            (40, Fail(), []),
        ],
        Timing(dead_time=15),
    ),
    Scenario(
        "dead-time-does-not-apply-on-line-power",
        [(0, "OL", ["STARTUP"]), (5, Fail(), ["COMMBAD"]), (100, Fail(), [])],
        Timing(dead_time=15),
    ),
    Scenario(
        "dead-time-does-not-apply-before-the-first-good-poll",
        [(0, Fail(), ["COMMBAD"]), (100, Fail(), [])],
        Timing(dead_time=15),
    ),
    Scenario(
        "after-dead-time-recovery-on-line-gives-commok-and-online",
        [
            (0, "OB", ["STARTUP", "ONBATT"]),
            (5, Fail(), ["COMMBAD"]),
            (20, Fail(), ["LOWBATT"]),
            (25, "OL", ["COMMOK", "ONLINE"]),
            (30, "OL", []),
            (35, "OB", ["ONBATT"]),
            (40, Fail(), ["COMMBAD"]),
            (50, Fail(), ["LOWBATT"]),
        ],
        Timing(dead_time=15),
    ),
    Scenario(
        "after-dead-time-recovery-with-low-battery-gives-no-second-lowbatt",
        [
            (0, "OB", ["STARTUP", "ONBATT"]),
            (5, Fail(), ["COMMBAD"]),
            (20, Fail(), ["LOWBATT"]),
            (25, "OB LB", ["COMMOK"]),
            (30, "OB", []),
            (35, "OB LB", ["LOWBATT"]),
        ],
        Timing(dead_time=15),
    ),
    *_paired_flag_scenarios(),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.id)
def test_each_poll_gives_exactly_the_expected_events(scenario: Scenario) -> None:
    polls = [(t, poll) for t, poll, _ in scenario.rows]
    _, per_poll = run(polls, scenario.timing)
    got = [
        (t, [event.name for event in events])
        for (t, _), events in zip(polls, per_poll, strict=True)
    ]
    want = [(t, names) for t, _, names in scenario.rows]
    assert got == want


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.id)
def test_every_event_carries_the_poll_time_ups_and_server(scenario: Scenario) -> None:
    polls = [(t, poll) for t, poll, _ in scenario.rows]
    _, per_poll = run(polls, scenario.timing)
    for (t, _), events in zip(polls, per_poll, strict=True):
        for event in events:
            assert (event.t, event.ups, event.server) == (t, UPS, SERVER)
            assert event.name in EVENTS


def test_the_table_covers_every_tracker_event() -> None:
    covered = {name for scenario in SCENARIOS for _, _, names in scenario.rows for name in names}
    not_the_trackers = {"RULE", "ACTION", "SHUTDOWN", "SHUTDOWN_HOSTSYNC", "SHUTDOWN_FAILED"}
    assert covered == set(EVENTS) - not_the_trackers


# --- status, prev_status, held, reason --------------------------------------------------------


def test_status_is_the_raw_status_now_and_prev_status_the_one_before() -> None:
    events = events_of(
        [
            (0, "OL CHRG"),
            (5, "OB DISCHRG"),
            (10, Fail("DATA-STALE")),
            (15, "OL CHRG"),
        ],
        Timing(dead_time=60),
    )
    assert [(e.name, e.status, e.prev_status) for e in events] == [
        ("STARTUP", "OL CHRG", ""),
        ("ONBATT", "OB DISCHRG", "OL CHRG"),
        ("COMMBAD", "OB DISCHRG", "OB DISCHRG"),
        ("COMMOK", "OL CHRG", "OB DISCHRG"),
        ("ONLINE", "OL CHRG", "OB DISCHRG"),
    ]


def test_while_unreachable_events_carry_the_last_known_status_and_variables() -> None:
    last = Good("OB DISCHRG", {"battery.charge": "81"})
    events = events_of(
        [(0, last), (5, Fail()), (20, Fail()), (305, Fail())],
        Timing(dead_time=15, nocomm_warn=300),
    )
    assert [(e.name, e.status, e.prev_status) for e in events[2:]] == [
        ("COMMBAD", "OB DISCHRG", "OB DISCHRG"),
        ("LOWBATT", "OB DISCHRG", "OB DISCHRG"),
        ("NOCOMM", "OB DISCHRG", "OB DISCHRG"),
    ]
    assert all(e.vars == {"ups.status": "OB DISCHRG", "battery.charge": "81"} for e in events)


def test_online_held_is_the_time_on_battery() -> None:
    events = events_of([(1000, "OL"), (1010, "OB DISCHRG"), (1135, "OL CHRG")])
    online = events[-1]
    assert (online.name, online.held) == ("ONLINE", 125)
    finished = finish(online, {})
    assert finished is not None
    assert finished.message == "UPS eaton800 on line power (after 2m05s on battery)"


def test_online_held_counts_from_the_first_onbatt_and_through_a_comm_loss() -> None:
    events = events_of(
        [(0, "OB"), (10, "OB DISCHRG"), (20, Fail()), (30, "OL")], Timing(dead_time=60)
    )
    assert [(e.name, e.held) for e in events] == [
        ("STARTUP", None),
        ("ONBATT", None),
        ("COMMBAD", None),
        ("COMMOK", 10),
        ("ONLINE", 30),
    ]


def test_commbad_and_nocomm_carry_the_error_code_and_its_words() -> None:
    events = events_of(
        [
            (0, "OL"),
            (10, Fail("DATA-STALE", "the driver stopped updating")),
            (200, Fail("DRIVER-NOT-CONNECTED", "the driver is not running")),
            (400, Fail("CONNECT", "cannot connect to upsd")),
            (450, "OL"),
        ],
        Timing(nocomm_warn=300),
    )
    assert [(e.name, e.reason, e.detail, e.held) for e in events] == [
        ("STARTUP", None, "", None),
        ("COMMBAD", "DATA-STALE", "the driver stopped updating", None),
        ("NOCOMM", "CONNECT", "cannot connect to upsd", 390),
        ("COMMOK", None, "", 440),
    ]


def test_a_failure_without_a_code_detail_renders_the_code_alone() -> None:
    _, per_poll = run([(0, "OL"), (5, Fail("TIMEOUT", ""))])
    finished = finish(per_poll[1][0], {})
    assert finished is not None
    assert finished.message == "Communications with UPS eaton800 lost: TIMEOUT"


def test_dead_time_lowbatt_says_why_and_marks_the_ups_critical() -> None:
    state, per_poll = run([(0, "OB DISCHRG"), (5, Fail()), (15, Fail())], Timing(dead_time=15))
    (lowbatt,) = per_poll[2]
    assert (lowbatt.name, lowbatt.reason, lowbatt.held) == ("LOWBATT", "DEAD", 15)
    assert lowbatt.detail == "no data for 15s while on battery"
    assert state.critical
    assert state.flags == frozenset({"OB", "DISCHRG", "LB"})
    assert state.status == "OB DISCHRG"
    assert state.nocomm
    finished = finish(lowbatt, {})
    assert finished is not None
    assert (finished.priority, finished.message) == ("crit", "UPS eaton800 battery is low")


def test_the_ups_is_not_critical_before_dead_time() -> None:
    state, _ = run([(0, "OB"), (5, Fail()), (14.99, Fail())], Timing(dead_time=15))
    assert not state.critical
    assert "LB" not in state.flags


def test_dead_time_with_low_battery_already_reported_is_critical_without_an_event() -> None:
    state, per_poll = run([(0, "OB LB"), (5, Fail()), (15, Fail())], Timing(dead_time=15))
    assert per_poll[2] == []
    assert state.critical


def test_a_good_poll_clears_critical_and_the_forced_low_battery() -> None:
    state, _ = run([(0, "OB"), (5, Fail()), (20, Fail()), (25, "OB")], Timing(dead_time=15))
    assert not state.critical
    assert not state.nocomm
    assert state.flags == frozenset({"OB"})


def test_other_events_name_the_unclassified_tokens() -> None:
    events = events_of([(0, "OL"), (5, "OL ZED FOO"), (10, "OL")])
    assert [(e.name, e.tokens) for e in events] == [
        ("STARTUP", None),
        ("OTHER", "FOO ZED"),
        ("NOTOTHER", "FOO ZED"),
    ]
    finished = finish(events[1], {})
    assert finished is not None
    assert finished.message == "UPS eaton800: unclassified status: FOO ZED"


# --- poll_interval ---------------------------------------------------------------------------

ALERT_TIMING = Timing(interval=5, interval_alert=2, dead_time=60)


@pytest.mark.parametrize(
    ("polls", "expected"),
    [
        ([], 5),
        ([(0, "OL CHRG")], 5),
        ([(0, "OB DISCHRG")], 2),
        ([(0, "OL ALARM")], 2),
        ([(0, "OL OVER")], 2),
        ([(0, "OL TRIM BOOST CAL")], 5),
        ([(0, "OB"), (5, "OL")], 5),
        ([(0, "OB"), (5, Fail())], 2),
        ([(0, "OB"), (5, Fail()), (100, Fail())], 2),
        ([(0, "OL"), (5, Fail())], 5),
        ([(0, Fail())], 5),
    ],
    ids=[
        "unknown",
        "on-line",
        "on-battery",
        "alarm",
        "overload",
        "mild-flags",
        "back-on-line",
        "unreachable-last-seen-on-battery",
        "unreachable-on-battery-past-dead-time",
        "unreachable-last-seen-on-line",
        "never-reached",
    ],
)
def test_poll_interval_is_the_alert_interval_only_on_battery_alarm_or_overload(
    polls: list[tuple[float, Poll]], expected: float
) -> None:
    state, _ = run(polls, ALERT_TIMING)
    assert poll_interval(state, ALERT_TIMING) == expected


# --- purity ----------------------------------------------------------------------------------


def test_initial_state_knows_nothing() -> None:
    state = initial(UPS, SERVER)
    assert (state.ups, state.server, state.started, state.status) == (UPS, SERVER, False, "")
    assert state.flags == frozenset()
    assert not state.nocomm
    assert not state.critical


def test_state_is_immutable() -> None:
    state = initial(UPS, SERVER)
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.started = True  # type: ignore[misc]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.id)
def test_step_is_pure(scenario: Scenario) -> None:
    state = initial(UPS, SERVER)
    for t, poll, _ in scenario.rows:
        snap = snapshot(t, poll)
        before = dataclasses.replace(state, vars=dict(state.vars))
        first = step(state, snap, scenario.timing)
        second = step(state, snap, scenario.timing)
        assert first == second
        assert state == before
        state = first[0]


def test_the_state_keeps_the_polls_own_mapping_which_the_next_quiet_poll_repeats() -> None:
    variables = {"ups.status": "OL", "battery.charge": "100"}
    state, _ = step(initial(UPS, SERVER), Snapshot(UPS, SERVER, 0, vars=variables), Timing())
    assert state.vars is variables  # not copied: the session never changes a mapping it gave


# --- property ---------------------------------------------------------------------------------

TOKENS = sorted(KNOWN_FLAGS | {"FOO", "BAR"})
good_polls = st.builds(
    lambda tokens, alarm: Good(" ".join(tokens), {"ups.alarm": alarm}),
    st.lists(st.sampled_from(TOKENS), max_size=6, unique=True),
    st.sampled_from(["", "A", "B"]),
)
bad_polls = st.sampled_from([Fail("CONNECT"), Fail("DATA-STALE"), Fail("TIMEOUT", "")])
sequences = st.lists(
    st.tuples(st.floats(min_value=0, max_value=400, allow_nan=False), good_polls | bad_polls),
    max_size=40,
)
timings = st.builds(
    Timing,
    interval=st.just(5.0),
    interval_alert=st.just(2.0),
    dead_time=st.sampled_from([0.0, 15.0, 100.0]),
    nocomm_warn=st.sampled_from([1.0, 60.0, 300.0]),
    replbatt_warn=st.sampled_from([1.0, 100.0, 43200.0]),
)


@settings(max_examples=300, deadline=None)
@given(sequences, timings)
def test_any_sequence_of_polls_gives_consistent_events(
    rows: list[tuple[float, Poll]], timing: Timing
) -> None:
    t = 1_700_000_000.0
    state = initial(UPS, SERVER)
    seen_on_battery = False
    commbad_open = False
    startups = 0
    previous_good: frozenset[str] | None = None
    for delta, poll in rows:
        t += delta
        snap = snapshot(t, poll)
        state, events = step(state, snap, timing)
        names = [event.name for event in events]
        now = None if isinstance(poll, Fail) else frozenset(snap.status.split())
        before = previous_good or frozenset()
        for name in names:
            if name == "ONLINE":
                assert seen_on_battery
                assert now is not None
                assert "OL" in now
            elif name == "COMMOK":
                assert commbad_open
                commbad_open = False
            elif name == "COMMBAD":
                assert not commbad_open
                commbad_open = True
            elif name == "NOCOMM":
                assert commbad_open
            elif name == "STARTUP":
                startups += 1
            elif name == "NOTOTHER":
                assert unclassified(before)
            elif name.startswith("NOT"):
                assert name[3:] in before
            elif name == "ONBATT":
                assert now is not None
                assert "OB" in now
                assert "OB" not in before
        if now is None:
            assert set(names) <= {"COMMBAD", "NOCOMM", "LOWBATT"}
            assert state.nocomm
        else:
            assert not state.nocomm
            assert state.status == snap.status
            seen_on_battery = seen_on_battery or "OB" in now
            previous_good = now
        assert startups <= 1
        assert commbad_open == state.nocomm
        assert poll_interval(state, timing) in (timing.interval, timing.interval_alert)
    assert startups == (1 if previous_good is not None else 0)
