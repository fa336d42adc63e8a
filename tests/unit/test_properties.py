"""Properties over generated input: the tracker's event stream, expressions, protocol parsing.

Each test states a property that must hold for *any* input Hypothesis can build, not for a
handful of examples: any sequence of poll results gives a consistent event stream, any
well-formed condition evaluates as the documented semantics say, nothing a server sends makes
the parsers raise anything but NutError. Everything is pure (the line reader's socket pair is
in-process), so the whole file runs in seconds.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any
from unittest import mock

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from pyups.address import Server
from pyups.core import engine, tracker
from pyups.core.catalogue import EVENTS, PAIRED_FLAGS
from pyups.core.engine import Policy, advance, replay, start
from pyups.core.events import Event, finish
from pyups.core.expr import ExpressionError, Facts, compile_expression
from pyups.core.persist import record, restore
from pyups.core.rules import Rule
from pyups.core.snapshot import Snapshot
from pyups.core.status import KNOWN_FLAGS, unclassified
from pyups.core.trace import from_line, to_line
from pyups.core.tracker import Timing, UpsState, initial, step
from pyups.nut import reader as reader_module
from pyups.nut.errors import CLOSED, PROTOCOL, NutError
from pyups.nut.protocol import (
    check_error,
    parse_list,
    parse_list_block,
    parse_ups_list,
    quote,
    split_line,
)
from pyups.nut.reader import MAX_LINE, LineReader

UPS, SERVER = "eaton800", Server("h")

# --------------------------------------------------------------------------------------------
# Poll sequences
# --------------------------------------------------------------------------------------------

ERRORS = ("DATA-STALE", "DRIVER-NOT-CONNECTED", "CONNECT", "TIMEOUT", "CLOSED", "PROTOCOL", "WAIT")
# The tokens upsmon knows, and tokens it does not: a small pool so that they come and go
# again within one sequence, plus anything else a driver might invent.
_FOREIGN_POOL = ("TEST", "XYZ", "LB2", "ob", "Eco")
foreign_tokens = st.one_of(
    st.sampled_from(_FOREIGN_POOL),
    st.text(alphabet=st.characters(blacklist_categories=("Z", "C")), min_size=1, max_size=6).filter(
        lambda token: token not in KNOWN_FLAGS and token != "WAIT" and " " not in token
    ),
)
status_tokens = st.one_of(st.sampled_from(sorted(KNOWN_FLAGS)), foreign_tokens)


ODD_NUMBERS = ("nan", "inf", "-inf", "1e400", "-5", "1e12", " 60 ", "3160.5", "")
# Mostly the everyday statuses, so that outages begin and end, plus any other tokens.
_BASES = ("OL", "OB", "OL CHRG", "OB DISCHRG", "OB LB", "OL RB", "OL ALARM", "", "LB", "FSD")
_status = st.tuples(st.sampled_from(_BASES), st.lists(status_tokens, max_size=5)).flatmap(
    lambda drawn: st.permutations([*drawn[0].split(), *drawn[1]])
)
_numbers = st.integers(0, 100).map(str) | st.text(max_size=4) | st.sampled_from(ODD_NUMBERS)
_alarms = st.sampled_from(["", "Fan failure", "Overheat"]) | st.text(max_size=8)
_OPTIONAL = (
    ("battery.charge", st.none() | _numbers),
    ("battery.runtime", st.none() | _numbers),
    ("ups.alarm", st.none() | _alarms),
)


@st.composite
def good_vars(draw: st.DrawFn) -> dict[str, str]:
    """The variables of a successful poll: ups.status from any tokens, maybe a few others."""
    tokens: list[str] = draw(_status)
    result: dict[str, str] = {}
    reported: bool = draw(st.booleans())  # sometimes a UPS reports no ups.status at all
    if tokens or reported:
        result["ups.status"] = " ".join(tokens)
    for name, values in _OPTIONAL:
        value = draw(values)
        if value is not None:
            result[name] = value
    return result


# A poll is (seconds since the previous one, vars or None, error or None).
Poll = tuple[float, dict[str, str] | None, str | None]
# Quarter seconds are exact in binary. Mostly whole seconds, with timers of a few seconds too,
# so that a silence or a reminder lasts *exactly* dead_time, nocomm_warn or replbatt_warn.
gaps = st.one_of(
    st.integers(0, 3),
    st.integers(0, 3),
    st.integers(0, 40).map(lambda q: q / 4),
    st.integers(0, 400),
)
polls: st.SearchStrategy[Poll] = st.one_of(
    st.tuples(gaps, good_vars(), st.none()),
    st.tuples(gaps, st.none(), st.sampled_from(ERRORS)),
)
# Hypothesis keeps single lists short (five on average): a few episodes make longer stories.
poll_lists = st.lists(st.lists(polls, max_size=10), max_size=6).map(
    lambda episodes: [poll for episode in episodes for poll in episode]
)
timers = st.integers(1, 8) | st.integers(1, 240).map(lambda q: q / 4) | st.integers(1, 100)
timings = st.builds(Timing, dead_time=timers, nocomm_warn=timers, replbatt_warn=timers)


def snapshots(
    start: float, sequence: Sequence[Poll], ups: str = UPS, server: Server = SERVER
) -> list[Snapshot]:
    """The Snapshots of a generated sequence, at non-decreasing times from ``start``."""
    result, t = [], start
    for gap, variables, error in sequence:
        t += gap
        if error is None:
            result.append(Snapshot(ups, server, t, variables or {}))
        else:
            result.append(Snapshot(ups, server, t, error=error, detail=f"failed: {error}"))
    return result


@dataclass(frozen=True)
class Run:
    """One generated sequence stepped through a fresh tracker: each poll with its events."""

    timing: Timing
    snaps: list[Snapshot]
    per_poll: list[list[Event]]

    @property
    def events(self) -> list[Event]:
        return [event for events in self.per_poll for event in events]

    def views(self) -> Iterator[View]:
        """Each poll with what the tracker knew before it, as read off the event stream."""
        last_good: Snapshot | None = None
        forced_lb = False  # a LOWBATT for dead time put LB into the known flags
        for snap, events in zip(self.snaps, self.per_poll, strict=True):
            before = flags_of(last_good) | ({"LB"} if forced_lb else set())
            yield View(snap, events, last_good, frozenset(before))
            if snap.ok:
                last_good, forced_lb = snap, False
            elif any(e.name == "LOWBATT" for e in events):
                forced_lb = True


@dataclass(frozen=True)
class View:
    snap: Snapshot
    events: list[Event]
    last_good: Snapshot | None  # the last successful poll before this one
    before: frozenset[str]  # the flags the tracker compared this poll with

    @property
    def names(self) -> list[str]:
        return [event.name for event in self.events]

    @property
    def first(self) -> bool:
        """The first successful poll: the start-up."""
        return self.snap.ok and self.last_good is None

    @property
    def flags(self) -> frozenset[str]:
        return flags_of(self.snap)


def flags_of(snap: Snapshot | None) -> frozenset[str]:
    return frozenset(snap.status.split()) if snap is not None and snap.ok else frozenset()


def stepped(timing: Timing, snaps: Sequence[Snapshot], state: UpsState | None = None) -> Run:
    state = state or initial(UPS, SERVER)
    per_poll = []
    for snap in snaps:
        state, events = step(state, snap, timing)
        per_poll.append(events)
    return Run(timing, list(snaps), per_poll)


@st.composite
def random_runs(draw: st.DrawFn) -> Run:
    sequence = draw(poll_lists)
    start = draw(st.integers(0, 4 * 2_000_000_000)) / 4
    return stepped(draw(timings_for(sequence)), snapshots(start, sequence))


@st.composite
def timer_runs(draw: st.DrawFn) -> Run:
    """One state held for a while: silence after OB or OL, or RB polled again and again.

    The timers are sums of the gaps, so dead time, NOCOMM and REPLBATT fall due exactly on a
    poll, which random sequences rarely manage.
    """
    status, held = draw(
        st.sampled_from([("OB DISCHRG", None), ("OL", None), ("OL RB", {"ups.status": "OL RB"})])
    )
    gaps = draw(st.lists(st.integers(0, 5), min_size=1, max_size=8))
    sequence: list[Poll] = [(0, {"ups.status": status}, None)]
    sequence += [(gap, held, None if held else draw(st.sampled_from(ERRORS))) for gap in gaps]
    # Dead time and REPLBATT count from the first poll, NOCOMM from the first failure.
    since_first = sorted({sum(gaps[:k]) for k in range(1, len(gaps) + 1)} - {0}) or [1]
    timing = Timing(
        dead_time=draw(st.sampled_from(since_first)),
        nocomm_warn=draw(timings_for(sequence[1:])).nocomm_warn,
        replbatt_warn=draw(st.sampled_from(since_first)),
    )
    return stepped(timing, snapshots(1_700_000_000.0, sequence))


def runs() -> st.SearchStrategy[Run]:
    """Any poll sequence; some built to put a timer's boundary on a poll."""
    return st.one_of(random_runs(), random_runs(), timer_runs())


def timings_for(sequence: Sequence[Poll]) -> st.SearchStrategy[Timing]:
    """Timers that are often exactly the time between two polls of ``sequence``."""
    gaps = [gap for gap, _, _ in sequence]
    spans = {sum(gaps[i:j]) for i in range(len(gaps)) for j in range(i + 1, i + 6)} - {0}
    timer = st.sampled_from(sorted(spans)) | timers if spans else timers
    return st.builds(Timing, dead_time=timer, nocomm_warn=timer, replbatt_warn=timer)


# --------------------------------------------------------------------------------------------
# 1. The tracker
# --------------------------------------------------------------------------------------------


@given(runs())
def test_any_poll_sequence_gives_events_stamped_with_their_poll(run: Run) -> None:
    for snap, events in zip(run.snaps, run.per_poll, strict=True):
        for event in events:
            assert event.name in EVENTS
            assert (event.t, event.ups, event.server) == (snap.t, snap.ups, snap.server)
            finished = finish(event, {})  # every default message renders
            assert finished is not None and finished.message and finished.priority


@given(st.sampled_from(sorted(EVENTS)), st.sampled_from(ODD_NUMBERS) | st.text(max_size=6))
@example(name="STARTUP", runtime="inf")  # once an OverflowError
def test_every_event_renders_whatever_battery_runtime_a_ups_reports(
    name: str, runtime: str
) -> None:
    event = Event(
        name, UPS, SERVER, 1.0, "OL", vars={"ups.status": "OL", "battery.runtime": runtime}
    )
    failure = None
    try:
        finished = finish(event, {})
    except Exception as exc:  # asserted outside the handler: a stable failure for Hypothesis
        failure = f"{type(exc).__name__}: {exc}"
    assert failure is None, f"battery.runtime {runtime!r} makes finish() raise {failure}"
    assert finished is not None and finished.message


# What a start-up reports besides STARTUP, in this order (the tracker's docstring).
URGENT_AT_STARTUP = (
    ("OB", "ONBATT"),
    ("LB", "LOWBATT"),
    ("FSD", "FSD"),
    ("RB", "REPLBATT"),
    ("ALARM", "ALARM"),
    *((flag, flag) for flag in PAIRED_FLAGS),
)


@given(runs())
def test_startup_comes_once_after_nothing_but_communication_events(run: Run) -> None:
    names = [event.name for event in run.events]
    any_good = any(snap.ok for snap in run.snaps)
    assert names.count("STARTUP") == (1 if any_good else 0)
    if not any_good:
        assert set(names) <= {"COMMBAD", "NOCOMM"}
        return
    # Failed polls before the first good one can only say that the UPS does not answer; the
    # first good poll then gives COMMOK if they did (the code and test_tracker.py pin this,
    # although the tracker's docstring says a start-up "never gives ... COMMOK"), STARTUP,
    # and the urgent events for conditions already present, and nothing milder.
    started = False
    for index, view in enumerate(run.views()):
        if not view.snap.ok:
            allowed = {"COMMBAD", "NOCOMM", "LOWBATT"} if started else {"COMMBAD", "NOCOMM"}
            assert set(view.names) <= allowed
            continue
        started = True
        if view.first:
            flags = view.flags
            expected = ["COMMOK"] if index > 0 else []
            expected.append("STARTUP")
            expected += [e for f, e in URGENT_AT_STARTUP if f in flags]
            if unclassified(flags):
                expected.append("OTHER")
            assert view.names == expected
        else:
            assert "STARTUP" not in view.names


@given(runs())
def test_onbatt_only_when_ob_appears_and_online_only_ends_an_unmatched_onbatt(run: Run) -> None:
    on_battery_since: float | None = None  # the first ONBATT no ONLINE has matched yet
    for view in run.views():
        t, flags = view.snap.t, view.flags
        appears = view.snap.ok and "OB" in flags and "OB" not in view.before
        assert view.names.count("ONBATT") == (1 if appears else 0)
        if appears and on_battery_since is None:
            on_battery_since = t
        back = view.snap.ok and "OL" in flags and "OB" not in flags and on_battery_since is not None
        online = [event for event in view.events if event.name == "ONLINE"]
        assert len(online) == (1 if back else 0)
        if back:
            assert on_battery_since is not None and online[0].held == t - on_battery_since
            on_battery_since = None
        if online and "ONBATT" in view.names:
            assert view.names.index("ONBATT") < view.names.index("ONLINE")


@given(runs())
def test_commbad_and_commok_alternate_and_nocomm_comes_only_while_comms_are_lost(
    run: Run,
) -> None:
    lost_since: float | None = None  # the time of the COMMBAD no COMMOK has matched yet
    last_nocomm: float | None = None
    for view in run.views():
        snap, names = view.snap, view.names
        if snap.ok:
            assert "COMMBAD" not in names and "NOCOMM" not in names
            commok = [event for event in view.events if event.name == "COMMOK"]
            assert len(commok) == (0 if lost_since is None else 1), "COMMOK without COMMBAD"
            if commok:
                assert lost_since is not None and commok[0].held == snap.t - lost_since
                assert names[0] == "COMMOK"
            lost_since = last_nocomm = None
            continue
        assert "COMMOK" not in names
        if lost_since is None:
            assert names.count("COMMBAD") == 1 and "NOCOMM" not in names
            lost_since = snap.t
        else:
            assert "COMMBAD" not in names, "COMMBAD twice without a COMMOK between"
            due = snap.t - (last_nocomm if last_nocomm is not None else lost_since)
            assert names.count("NOCOMM") == (1 if due >= run.timing.nocomm_warn else 0)
            if "NOCOMM" in names:
                last_nocomm = snap.t
        for event in view.events:
            if event.name in ("COMMBAD", "NOCOMM"):
                assert event.reason == snap.error


@given(runs())
def test_paired_flag_events_alternate_and_the_startup_reports_them(run: Run) -> None:
    sequences: dict[str, list[str]] = {flag: [] for flag in PAIRED_FLAGS}
    for view in run.views():
        for flag in PAIRED_FLAGS:
            mine = [name for name in view.names if name in (flag, "NOT" + flag)]
            sequences[flag] += mine
            if not view.snap.ok:
                assert mine == [], f"{mine} on a failed poll"
            elif view.first:
                assert mine == ([flag] if flag in view.flags else []), "start-up gives no NOT..."
            elif flag in view.flags and flag not in view.before:
                assert mine == [flag]
            elif flag in view.before and flag not in view.flags:
                assert mine == ["NOT" + flag]
            else:
                assert mine == []
    for flag, names in sequences.items():
        # They alternate, starting with the flag's own event (at start-up if it was up then).
        expected = [flag, "NOT" + flag]
        assert names == [expected[i % 2] for i in range(len(names))]


@given(runs())
def test_alarm_and_unclassified_tokens_give_their_events_as_the_status_changes(run: Run) -> None:
    alarm_names: list[str] = []
    other_names: list[str] = []
    for view in run.views():
        names = view.names
        alarms = [name for name in names if name in ("ALARM", "NOTALARM")]
        others = [event for event in view.events if event.name in ("OTHER", "NOTOTHER")]
        alarm_names += alarms
        other_names += [event.name for event in others]
        if not view.snap.ok:
            assert alarms == [] and others == []
            continue
        text = view.snap.vars.get("ups.alarm", "")
        text_before = view.last_good.vars.get("ups.alarm", "") if view.last_good else ""
        if "ALARM" in view.flags:
            changed = "ALARM" not in view.before or text != text_before
            assert alarms == (["ALARM"] if changed else [])
        else:
            assert alarms == (["NOTALARM"] if "ALARM" in view.before else [])
        new, old = unclassified(view.flags), unclassified(view.before)
        if set(new) - set(old):
            assert [(e.name, e.tokens) for e in others] == [("OTHER", " ".join(new))]
        elif old and not new and not view.first:
            assert [(e.name, e.tokens) for e in others] == [("NOTOTHER", " ".join(old))]
        else:
            assert others == []
    # NOT... never twice in a row: something must have appeared again in between.
    for names, off in ((alarm_names, "NOTALARM"), (other_names, "NOTOTHER")):
        assert all(not (a == b == off) for a, b in itertools.pairwise(names))


@given(runs())
def test_lowbatt_fsd_and_replbatt_follow_their_tokens_and_dead_time_forces_lowbatt_once(
    run: Run,
) -> None:
    last_replbatt: float | None = None
    dead_given = False  # a LOWBATT for dead time during the current silence
    for view in run.views():
        snap, names = view.snap, view.names
        lowbatt = [event for event in view.events if event.name == "LOWBATT"]
        if snap.ok:
            dead_given = False
            for flag, name in (("LB", "LOWBATT"), ("FSD", "FSD")):
                appears = flag in view.flags and flag not in view.before
                assert names.count(name) == (1 if appears else 0)
            assert all(event.reason is None for event in lowbatt)
            # upsmon's clock: RB going away does not reset it.
            if "RB" not in view.flags:
                assert "REPLBATT" not in names
            elif last_replbatt is None or snap.t - last_replbatt > run.timing.replbatt_warn:
                assert names.count("REPLBATT") == 1
                last_replbatt = snap.t
            else:
                assert "REPLBATT" not in names
            continue
        assert "FSD" not in names and "REPLBATT" not in names
        last = view.last_good
        silent = snap.t - last.t if last is not None else 0.0
        last_flags = flags_of(last)
        due = (
            not dead_given
            and "OB" in last_flags
            and "LB" not in last_flags
            and silent >= run.timing.dead_time
        )
        assert len(lowbatt) == (1 if due else 0), "LOWBATT(DEAD) without dead time on battery"
        if lowbatt:
            dead_given = True
            assert last is not None
            assert (lowbatt[0].reason, lowbatt[0].held) == ("DEAD", silent)
            assert lowbatt[0].status == last.status


@st.composite
def two_ups_traces(draw: st.DrawFn) -> tuple[Timing, list[Snapshot]]:
    """Poll results of two UPSes interleaved in time, as one trace holds them."""
    timing = draw(timings)
    merged: list[Snapshot] = []
    for ups in ("a", "b"):
        merged += snapshots(1_700_000_000.0, draw(poll_lists), ups=ups)
    merged.sort(key=lambda snap: snap.t)  # stable: each UPS keeps its own order
    return timing, merged


@given(two_ups_traces())
def test_replaying_a_trace_gives_exactly_the_events_stepping_gives(
    trace: tuple[Timing, list[Snapshot]],
) -> None:
    timing, snaps = trace
    states: dict[str, UpsState] = {}
    expected: list[Event] = []
    for snap in snaps:
        states[snap.ups], events = step(
            states.get(snap.ups) or initial(snap.ups, SERVER), snap, timing
        )
        expected += [finished for event in events if (finished := finish(event, {})) is not None]
    policy = Policy(timing=timing)
    replayed = [event for event, _ in replay(snaps, policy)]
    assert replayed == expected
    assert [event for event, _ in replay(snaps, policy)] == replayed  # and again: deterministic
    from_trace = [from_line(to_line(snap)) for snap in snaps]  # through the --record format
    assert [event for event, _ in replay(from_trace, policy)] == replayed


# What persist's docstring promises across a restart: ONLINE reports the whole time on battery,
# ONBATT and COMMBAD are not repeated, REPLBATT and NOCOMM do not nag early; COMMOK follows.
KEPT_ACROSS_A_RESTART = ("ONLINE", "ONBATT", "COMMBAD", "NOCOMM", "COMMOK", "REPLBATT")


@given(runs(), st.data())
def test_a_restart_at_any_point_keeps_outages_reminders_and_comm_losses(
    run: Run, data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(run.snaps)), label="restart before poll")
    state = initial(UPS, SERVER)
    for snap in run.snaps[:cut]:
        state, _ = step(state, snap, run.timing)
    kept = record(state)
    if kept is None:
        assert state == initial(UPS, SERVER)
        restored = initial(UPS, SERVER)
    else:
        restored = restore(UPS, SERVER, json.loads(json.dumps(kept)))
        assert not restored.started  # the first poll after a restart is a start-up
    after = stepped(run.timing, run.snaps[cut:], restored)

    def promised(per_poll: list[list[Event]]) -> list[tuple[str, float, float | None]]:
        return [
            (e.name, e.t, e.held)
            for events in per_poll
            for e in events
            if e.name in KEPT_ACROSS_A_RESTART
        ]

    assert promised(after.per_poll) == promised(run.per_poll[cut:])
    startups = [e.name for e in after.events].count("STARTUP")
    assert startups == (1 if any(snap.ok for snap in run.snaps[cut:]) else 0)


def with_repeats(run: Run, data: st.DataObject) -> Iterator[tuple[Snapshot, Snapshot, bool]]:
    """The run's polls, each followed by up to three repeats of the last good reply (drawn,
    at any delay; later polls move on by as much), as (poll, the same poll with an equal copy
    of its mapping, whether it is a repeat). A repeat carries the very mapping of the last
    good reply, as the session hands it back when upsd answers the same bytes."""
    shift, last = 0.0, None
    for snap in run.snaps:
        snap = replace(snap, t=snap.t + shift)
        yield snap, replace(snap, vars=dict(snap.vars)), False
        last = snap.vars if snap.ok else last
        t = snap.t
        for gap in data.draw(st.lists(gaps, max_size=3)) if last is not None else []:
            t, shift = t + gap, shift + gap
            yield Snapshot(UPS, SERVER, t, last), Snapshot(UPS, SERVER, t, dict(last)), True


@given(runs(), st.data())
def test_a_poll_that_repeats_the_last_reply_gives_what_the_full_comparison_gives(
    run: Run, data: st.DataObject
) -> None:
    """The quiet path: the session hands back the very mapping of the last reply when upsd
    answers the same text again. Stepped with that mapping (the tracker's shortcut) and with an
    equal copy (the full comparison), every poll gives the same state and the same events:
    repeats after good polls, after failed ones, and at any delay (REPLBATT falling due)."""
    quiet = full = initial(UPS, SERVER)
    repeated = 0
    for same, copy, repeat in with_repeats(run, data):
        quiet, quiet_events = step(quiet, same, run.timing)
        full, full_events = step(full, copy, run.timing)
        assert quiet == full
        assert quiet_events == full_events
        repeated += repeat
    assert repeated == 0 or quiet.started


def test_a_quiet_poll_compares_nothing_and_an_equal_copy_is_compared_in_full() -> None:
    """The shortcut is taken on the very mapping only; an equal mapping is compared."""
    variables = {"ups.status": "OL CHRG", "battery.charge": "100"}
    state, _ = step(initial(UPS, SERVER), Snapshot(UPS, SERVER, 1.0, variables), Timing())
    with mock.patch.object(tracker, "_Poll", side_effect=AssertionError("compared")):
        again, events = step(state, Snapshot(UPS, SERVER, 2.0, variables), Timing())
        assert (again.last_good, events) == (2.0, [])
        with pytest.raises(AssertionError, match="compared"):
            step(again, Snapshot(UPS, SERVER, 3.0, dict(variables)), Timing())


# Rules on what the generated runs report: conditions that hold now and then, held or not,
# repeated or not, cleared with a message or not; some for another UPS, one on events.
_RULE_CONDITIONS = [
    "OB", "OL", "not OL", "LB or OB", "RB", "nocomm", "ALARM", "ups.alarm",
    "battery.charge < 50", "OL and battery.charge >= 20", "battery.runtime",
]  # fmt: skip


@st.composite
def rule_sets(draw: st.DrawFn) -> tuple[Rule, ...]:
    rules = []
    for i in range(draw(st.integers(0, 3))):
        rules.append(
            Rule(
                name=f"rule-{i}",
                condition=compile_expression(draw(st.sampled_from(_RULE_CONDITIONS))),
                hold=draw(st.sampled_from([0.0, 1.0, 2.5, 10.0])),
                repeat=draw(st.sampled_from([None, 1.0, 3.0])),
                ups=draw(st.sampled_from([None, frozenset({UPS}), frozenset({"other"})])),
                clear_message=draw(st.sampled_from([None, "cleared after {held}"])),
            )
        )
    if draw(st.booleans()):
        rules.append(Rule(name="on-battery", on=frozenset({"ONBATT", "LOWBATT", "COMMBAD"})))
    return tuple(rules)


@given(runs(), rule_sets(), rule_sets(), st.data())
def test_rules_left_unevaluated_after_a_quiet_poll_give_what_evaluating_gives(
    run: Run, rules: tuple[Rule, ...], reloaded: tuple[Rule, ...], data: st.DataObject
) -> None:
    """The engine skips the rules after a poll with no event when the conditions would see
    the very objects they saw last and no condition rule is holding. Stepped with the repeated
    mapping (which may skip) and with an equal copy (evaluated at every good poll: a copy is
    never the object seen last), every poll gives the same state, events and actions:
    repeats after good and failed polls, at any delay (so that ``for`` and ``repeat`` fall
    due), and a reload to other rules, maybe under the same names, at any poll."""
    policies = [Policy(timing=run.timing, rules=rules), Policy(timing=run.timing, rules=reloaded)]
    reload_at = data.draw(st.integers(0, 3 * len(run.snaps) + 1), label="reload before poll")
    quiet = full = start(UPS, SERVER)
    for n, (same, copy, _) in enumerate(with_repeats(run, data)):
        policy = policies[n >= reload_at]
        quiet, quiet_events, quiet_requests = advance(quiet, same, policy)
        full, full_events, full_requests = advance(full, copy, policy)
        assert quiet == full
        assert quiet_events == full_events
        assert quiet_requests == full_requests


def test_the_rules_are_skipped_only_at_rest_on_the_very_objects_they_saw() -> None:
    """Skipped after a repeated mapping with every condition false; evaluated after an equal
    copy, while a condition holds, and after a reload."""
    variables = {"ups.status": "OL CHRG", "battery.charge": "100"}
    rules = (Rule(name="outage", condition=compile_expression("OB"), hold=60.0),)
    policy = Policy(rules=rules)
    state, _, _ = advance(start(UPS, SERVER), Snapshot(UPS, SERVER, 1.0, variables), policy)
    compared = AssertionError("evaluated")
    with mock.patch.object(engine, "evaluate", side_effect=compared):
        state, events, _ = advance(state, Snapshot(UPS, SERVER, 2.0, variables), policy)
        assert (state.tracker.last_good, events) == (2.0, [])
        for other in (
            (Snapshot(UPS, SERVER, 3.0, dict(variables)), policy),
            (Snapshot(UPS, SERVER, 3.0, variables), Policy(rules=tuple(list(rules)))),  # reloaded
        ):
            with pytest.raises(AssertionError, match="evaluated"):
                advance(state, *other)
    holding = (Rule(name="outage", condition=compile_expression("OL"), hold=60.0),)
    policy = Policy(rules=holding)
    state, _, _ = advance(start(UPS, SERVER), Snapshot(UPS, SERVER, 1.0, variables), policy)
    with (
        mock.patch.object(engine, "evaluate", side_effect=compared),
        pytest.raises(AssertionError, match="evaluated"),
    ):
        advance(state, Snapshot(UPS, SERVER, 2.0, variables), policy)


# --------------------------------------------------------------------------------------------
# 2. Expressions
# --------------------------------------------------------------------------------------------

# A condition as a small tree, rendered to text and evaluated by this reference, which is
# written from expr.py's documented semantics, not from its code.
Tree = tuple[Any, ...]
KEYWORDS = {"and", "or", "not", "nocomm"}
flag_names = st.sampled_from(sorted(KNOWN_FLAGS)) | st.from_regex(
    r"[A-Z][A-Z0-9_]{0,5}", fullmatch=True
)
var_names = st.from_regex(
    r"[a-z_][A-Za-z0-9_]{0,6}(\.[A-Za-z0-9_]{1,6}){0,3}", fullmatch=True
).filter(lambda name: name not in KEYWORDS) | st.sampled_from(
    ["battery.charge", "battery.charge.low", "ups.status", "android", "notes.x", "and.x"]
)
# Values whose kind (number or text) is plain: integers, decimals, padded numbers, words.
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
values = st.one_of(
    st.integers(-200, 200).map(str),
    st.integers(-800, 800).map(lambda q: str(q / 4)),
    st.integers(0, 99).map(lambda n: f" {n} "),
    st.sampled_from(["", " ", "0", "0.0", "-0", "OL CHRG", "abc", "Fan failure", "x y"]),
    st.text(alphabet="ab \"'\\", max_size=6).filter(lambda s: not _DECIMAL.fullmatch(s.strip())),
)
operators = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
operands = st.one_of(
    st.tuples(st.just("var"), var_names),
    st.tuples(st.just("num"), st.integers(-100, 100).map(str) | st.sampled_from(["0.5", "-2.25"])),
    st.tuples(st.just("str"), values),
)
leaves = st.one_of(
    st.tuples(st.just("flag"), flag_names),
    st.tuples(st.just("nocomm")),
    st.tuples(st.just("var"), var_names),
    st.tuples(st.just("cmp"), operators, operands, operands),
)
conditions: st.SearchStrategy[Tree] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.just("and"), st.lists(inner, min_size=2, max_size=3)),
        st.tuples(st.just("or"), st.lists(inner, min_size=2, max_size=3)),
    ),
    max_leaves=12,
)


def render(tree: Tree, parens: Iterator[bool]) -> str:
    """Text for a tree; ``parens`` says where to add optional parentheses."""
    kind = tree[0]
    if kind == "flag" or kind == "var":
        text = tree[1]
    elif kind == "nocomm":
        text = "nocomm"
    elif kind == "cmp":
        text = f"{render_operand(tree[2], parens)} {tree[1]} {render_operand(tree[3], parens)}"
    elif kind == "not":
        inner = render(tree[1], parens)
        text = f"not ({inner})" if tree[1][0] in ("and", "or") else f"not {inner}"
    else:
        parts = [render(kid, parens) for kid in tree[1]]
        if kind == "and":  # an or inside an and needs its parentheses
            parts = [
                f"({p})" if kid[0] == "or" else p for p, kid in zip(parts, tree[1], strict=True)
            ]
        text = f" {kind} ".join(parts)
    return f"( {text} )" if next(parens) else text


def render_operand(operand: Tree, parens: Iterator[bool]) -> str:
    kind, text = operand[0], str(operand[1])
    if kind != "str":
        return text
    mark = '"' if next(parens) else "'"
    return mark + text.replace("\\", "\\\\").replace(mark, "\\" + mark) + mark


def reference_truth(tree: Tree, facts: Facts) -> bool:
    kind = tree[0]
    if kind == "flag":
        return tree[1] in facts.flags
    if kind == "nocomm":
        return facts.nocomm
    if kind == "var":  # true when reported, not blank and not zero
        value = facts.vars.get(tree[1])
        return value is not None and value.strip() != "" and reference_number(value) != 0
    if kind == "not":
        return not reference_truth(tree[1], facts)
    if kind == "and":
        return all(reference_truth(kid, facts) for kid in tree[1])
    if kind == "or":
        return any(reference_truth(kid, facts) for kid in tree[1])
    _, op, left, right = tree
    a, b = reference_value(left, facts), reference_value(right, facts)
    if a is None or b is None:  # a variable the UPS does not report: false, whatever op
        return False
    na, nb = reference_number(a), reference_number(b)
    x, y = (na, nb) if na is not None and nb is not None else (a, b)
    return {
        "==": x == y,
        "!=": x != y,
        "<": x < y,  # type: ignore[operator]
        "<=": x <= y,  # type: ignore[operator]
        ">": x > y,  # type: ignore[operator]
        ">=": x >= y,  # type: ignore[operator]
    }[op]


def reference_value(operand: Tree, facts: Facts) -> str | None:
    return facts.vars.get(operand[1]) if operand[0] == "var" else operand[1]


def reference_number(text: str) -> float | None:
    return float(text) if _DECIMAL.fullmatch(text.strip()) else None


def depth(tree: Tree) -> int:
    if tree[0] == "not":
        return 1 + depth(tree[1])
    if tree[0] in ("and", "or"):
        return 1 + max(depth(kid) for kid in tree[1])
    return 0


def names_in(tree: Tree, kind: str) -> set[str]:
    if tree[0] == kind:
        return {tree[1]}
    if tree[0] == "cmp":
        return {o[1] for o in tree[2:] if o[0] == kind}
    if tree[0] == "not":
        return names_in(tree[1], kind)
    if tree[0] in ("and", "or"):
        return set().union(*(names_in(kid, kind) for kid in tree[1]))
    return set()


@st.composite
def facts_for(draw: st.DrawFn, tree: Tree) -> Facts:
    """Facts that mention some of the tree's flags and variables, and other things."""
    flags = draw(st.sets(st.sampled_from(sorted(names_in(tree, "flag") | {"OL", "OB", "X"}))))
    names = sorted(names_in(tree, "var") | {"battery.charge"})
    variables = draw(st.dictionaries(st.sampled_from(names), values))
    return Facts(frozenset(flags), variables, draw(st.booleans()))


@given(conditions, st.data())
def test_any_well_formed_condition_compiles_and_evaluates_as_documented(
    tree: Tree, data: st.DataObject
) -> None:
    assume(depth(tree) <= 60)  # deeper is refused as too deep, by design
    choices = data.draw(st.lists(st.booleans(), max_size=64), label="parentheses and quotes")
    text = render(tree, itertools.chain(choices, itertools.repeat(False)))
    expression = compile_expression(text)
    assert expression.variables == names_in(tree, "var")
    assert expression.flags == names_in(tree, "flag")
    for _ in range(3):
        facts = data.draw(facts_for(tree))
        assert expression.evaluate(facts) is reference_truth(tree, facts), (text, facts)


# \x1c-\x1f are whitespace to a regular expression's \s but not to float(); a number padded
# with one once made compiling or evaluating raise ValueError.
CONTROL_SPACES = "\x1c\x1d\x1e\x1f"


@given(conditions, st.data())
def test_any_condition_evaluates_to_a_boolean_whatever_values_the_ups_reports(
    tree: Tree, data: st.DataObject
) -> None:
    assume(depth(tree) <= 60)
    expression = compile_expression(render(tree, itertools.repeat(False)))
    names = sorted(names_in(tree, "var")) or ["battery.charge"]
    reported = data.draw(st.dictionaries(st.sampled_from(names), st.text()))
    assert expression.evaluate(Facts(frozenset({"OB"}), reported, nocomm=False)) in (True, False)


@given(
    st.integers(-99, 99),
    st.sampled_from(CONTROL_SPACES),
    st.sampled_from(["x", "x > 1", "x == 5", "x != y"]),
)
@example(number=0, space="\x1f", text="x")
def test_a_number_padded_with_any_whitespace_compiles_and_evaluates(
    number: int, space: str, text: str
) -> None:
    value = f"{number}{space}"
    failure = None
    try:
        compile_expression(f'x == "{value}"')
        compile_expression(text).evaluate(Facts(frozenset(), {"x": value, "y": " 5 "}))
    except Exception as exc:  # asserted outside the handler: a stable failure for Hypothesis
        failure = f"{type(exc).__name__}: {exc}"
    assert failure is None, f"the value {value!r} in {text!r} raised {failure}"


@given(
    st.text(st.characters(blacklist_characters="\x00")),
    st.sampled_from(['"', "'"]),
)
def test_a_quoted_string_means_exactly_its_text(text: str, mark: str) -> None:
    quoted = mark + text.replace("\\", "\\\\").replace(mark, "\\" + mark) + mark
    expression = compile_expression(f"ups.alarm == {quoted}")
    assert expression.evaluate(Facts(frozenset(), {"ups.alarm": text}))


_SOUP = [
    "OB", "LB", "Ob", "ob", "(", ")", "and", "or", "not", "nocomm", "battery.charge", "x.1",
    "<", "<=", "==", "!=", "=", "&", "|", "!", "5", "-1.5", "1e3", '"a b"', "'q'", '"', "'",
    "\\", "-", ".", "\t", "\n", "é", "",
]  # fmt: skip
arbitrary_texts = st.one_of(
    st.text(),
    st.text(alphabet="ABOLab.c_ =<>!()'\"\\0123-notrdcm\t", max_size=40),
    st.lists(st.sampled_from(_SOUP), max_size=12).map(" ".join),
    st.lists(st.sampled_from(_SOUP), max_size=12).map("".join),
)


@given(arbitrary_texts)
def test_any_text_compiles_or_raises_an_expression_error_pointing_inside_it(text: str) -> None:
    try:
        expression = compile_expression(text)
    except ExpressionError as exc:
        if exc.position is not None:
            assert f"position {exc.position}" in str(exc)
            # 1-based; one past the end only to say that the text ended too early.
            assert 1 <= exc.position <= len(text) or (
                exc.position == len(text) + 1 and "end of expression" in str(exc)
            ), (text, exc.position, str(exc))
        return
    assert expression.evaluate(Facts(frozenset({"OB"}), {"battery.charge": "5"})) in (True, False)


@given(
    # Depths well away from where Python's recursion limit happens to bite, so that the
    # failure is the same on every run (its exact threshold depends on the stack in use).
    st.sampled_from([1, 2, 31, 32, 33, 64, 65, 100, 300, 3000]),
    st.sampled_from(["not {}", "({} and OB)", "(OB or {})", "not ({} and OB)"]),
)
def test_any_depth_of_nesting_compiles_or_is_refused_as_too_deep(depth: int, shape: str) -> None:
    opening, closing = shape.split("{}")
    text = opening * depth + "OB" + closing * depth
    overflowed = False
    try:
        compile_expression(text)
    except ExpressionError as exc:
        assert "nested more than" in str(exc)
        assert depth > 32
    except RecursionError:
        overflowed = True  # asserted outside the handler: a stable failure for Hypothesis
    assert not overflowed, (
        f"a condition nested {depth} deep ({text[:24]}...) raised RecursionError "
        "instead of ExpressionError"
    )


# --------------------------------------------------------------------------------------------
# 3. Protocol parsing
# --------------------------------------------------------------------------------------------

no_newline_text = st.text(st.characters(blacklist_characters="\x00\n"))
line_texts = st.one_of(
    st.text(),
    st.lists(
        st.sampled_from(['"', "\\", " ", "\t", "VAR", "ups", "x", "UPS", "ERR", "#", "é", "\r"]),
        max_size=12,
    ).map("".join),
)


@given(line_texts)
def test_split_line_returns_words_or_raises_a_protocol_error(line: str) -> None:
    try:
        words = split_line(line)
    except NutError as exc:
        assert exc.code == PROTOCOL
        return
    assert all(isinstance(word, str) for word in words)


@given(st.lists(no_newline_text, max_size=5))
def test_quoted_values_split_back_into_exactly_themselves(values: list[str]) -> None:
    line = " ".join(["SET", "VAR", "ups", "x", *map(quote, values)])
    assert split_line(line) == ["SET", "VAR", "ups", "x", *values]


@given(st.lists(line_texts, max_size=6), st.sampled_from(["VAR", "RW", "CMD"]), st.text(max_size=5))
def test_list_parsers_and_check_error_raise_nothing_but_nut_errors(
    lines: list[str], kind: str, ups: str
) -> None:
    parsers: list[Callable[[], dict[str, str]]] = [
        functools.partial(parse_list, lines, kind, ups),
        functools.partial(parse_ups_list, lines),
    ]
    for parse in parsers:
        try:
            parsed = parse()
        except NutError as exc:
            assert exc.code == PROTOCOL
        else:
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in parsed.items())
    for line in lines:
        if line.startswith("ERR "):
            with pytest.raises(NutError) as caught:
                check_error(line)
            assert caught.value.code == (line.split()[1:2] or ["UNKNOWN"])[0]
        else:
            check_error(line)  # raises nothing


nut_names = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,12}", fullmatch=True)


@given(nut_names, st.dictionaries(nut_names, no_newline_text, max_size=8))
def test_a_list_var_reply_parses_back_into_exactly_the_values_sent(
    ups: str, variables: dict[str, str]
) -> None:
    lines = [f"VAR {ups} {name} {quote(value)}" for name, value in variables.items()]
    assert parse_list(lines, "VAR", ups) == variables
    commands = [f"CMD {ups} {name}" for name in variables]
    assert parse_list(commands, "CMD", ups) == dict.fromkeys(variables, "")
    described = [f"UPS {name} {quote(value)}" for name, value in variables.items()]
    assert parse_ups_list(described) == variables


@given(nut_names, nut_names, st.text(st.characters(blacklist_characters="\x00\n"), max_size=12))
def test_the_fast_path_of_parse_list_agrees_with_split_line(ups: str, name: str, tail: str) -> None:
    line = f'VAR {ups} {name} "{tail}"'
    try:
        words = split_line(line)
    except NutError:
        return
    try:
        parsed = parse_list([line], "VAR", ups)
    except NutError:
        assert len(words) < 3
        return
    assert parsed == {words[2]: words[3] if len(words) > 3 else ""}


@given(
    st.sampled_from(["VAR", "RW"]),
    nut_names,
    st.lists(
        st.one_of(
            st.builds(lambda n, v: f"VAR u {n} {quote(v)}", nut_names, no_newline_text),
            st.builds(lambda n, v: f'VAR u {n} "{v}"', nut_names, no_newline_text),
            line_texts,
        ),
        max_size=6,
    ),
)
def test_a_whole_list_block_parses_exactly_like_its_lines(
    kind: str, ups: str, drawn: list[str]
) -> None:
    lines = [line.replace("VAR u ", f"{kind} {ups} ", 1) for line in drawn]
    text = "".join(f"{line}\n" for line in lines)
    try:
        expected: dict[str, str] | str = parse_list(lines, kind, ups)
    except NutError as exc:
        expected = exc.code
    try:
        got: dict[str, str] | str = parse_list_block(text, kind, ups)
    except NutError as exc:
        got = exc.code
    assert got == expected


# -- the line reader ---------------------------------------------------------------------------
# A SOCK_SEQPACKET pair keeps every send a separate recv, so the chunking drawn here is exactly
# what LineReader sees. TCP_QUICKACK (set after each request on real TCP) does not apply.

_SEQPACKET_MAX = 4096  # LineReader receives at most this much at once


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    edges = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    pieces = [data[a:b] for a, b in itertools.pairwise(edges)]
    return [p[i : i + _SEQPACKET_MAX] for p in pieces for i in range(0, len(p), _SEQPACKET_MAX)]


@contextlib.contextmanager
def feed(chunks: list[bytes], eof: bool) -> Iterator[LineReader]:
    """A reader of ``chunks``, then of the end of the stream if ``eof``, else of silence."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    done = threading.Event()

    def send() -> None:
        with contextlib.suppress(OSError), theirs:  # OSError: the reader gave up and left
            for chunk in chunks:
                if chunk:  # an empty datagram would read as the end of the stream
                    theirs.send(chunk)
            if eof:
                theirs.shutdown(socket.SHUT_WR)
            done.wait(10)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    reader = LineReader(ours)
    reader.deadline = time.monotonic() + 10
    try:
        with mock.patch.object(reader_module, "_QUICKACK", None):
            yield reader
    finally:
        done.set()
        ours.close()
        thread.join(5)


def listed(reader: LineReader) -> list[str]:
    """``LIST VAR ups`` through the reader: the lines of the body, decoded as sessions do."""
    return (
        reader.request_block(b"LIST VAR ups\n", b"VAR ups")
        .decode("utf-8", "replace")
        .split("\n")[:-1]
    )


def decoded(lines: list[bytes]) -> list[str]:
    return [line.decode("utf-8", "replace") for line in lines]


line_bytes = st.binary(max_size=120).map(lambda b: b.replace(b"\n", b"")) | st.sampled_from(
    [b"", b"\r", 'VAR ups x "é"'.encode(), b"\xff\xfe", "€".encode()[:2], b"END"]
)
cut_points = st.lists(st.integers(0, 10**6), max_size=30)


@given(st.lists(line_bytes, max_size=20), line_bytes, cut_points)
def test_the_line_reader_returns_exactly_the_lines_sent_however_they_are_chunked(
    lines: list[bytes], tail: bytes, cuts: list[int]
) -> None:
    data = b"".join(line + b"\n" for line in lines) + tail
    with feed(chunked(data, cuts), eof=True) as reader:
        assert [reader.readline() for _ in lines] == decoded(lines)
        with pytest.raises(NutError) as caught:  # end of file, mid-line or between lines
            reader.readline()
        assert caught.value.code == CLOSED


@given(st.lists(line_bytes, max_size=20), cut_points)
def test_a_list_reply_gives_exactly_the_lines_before_the_end_marker(
    lines: list[bytes], cuts: list[int]
) -> None:
    end = b"END LIST VAR ups"
    lines = [line for line in lines if line != end]
    data = b"".join(line + b"\n" for line in [b"BEGIN LIST VAR ups", *lines, end, b"after"])
    with feed(chunked(data, cuts), eof=True) as reader:
        assert listed(reader) == decoded(lines)
        assert reader.readline() == "after"


# Long lines of ASCII, of two- and three-byte characters, and of bytes that are not UTF-8.
_UNITS = [b"A", "é".encode(), "€".encode(), b"\xff"]
# (unit, size): the line is built in the test, which keeps failure reports readable.
long_lines = st.tuples(
    st.sampled_from(_UNITS),
    st.integers(MAX_LINE - 3, MAX_LINE + 3) | st.integers(MAX_LINE + 4, 3 * MAX_LINE),
)
short_lines = st.lists(line_bytes.filter(lambda line: line != b"END"), max_size=3)


@given(short_lines, long_lines, st.booleans(), st.lists(st.integers(0, 10**6), max_size=12))
def test_readline_refuses_a_line_longer_than_the_cap_and_returns_one_at_the_cap(
    before: list[bytes], shape: tuple[bytes, int], ends: bool, cuts: list[int]
) -> None:
    unit, size = shape
    long = (unit * size)[:size]
    data = b"".join(line + b"\n" for line in before) + long + (b"\n" if ends else b"")
    with feed(chunked(data, cuts), eof=False) as reader:
        assert [reader.readline() for _ in before] == decoded(before)
        if len(long) > MAX_LINE:
            with pytest.raises(NutError) as caught:
                reader.readline()
            assert caught.value.code == PROTOCOL
        elif ends:
            assert reader.readline() == decoded([long])[0]


@given(short_lines, long_lines, st.booleans(), st.lists(st.integers(0, 10**6), max_size=12))
# Once accepted: the reader measured finished lines in characters, not bytes.
@example(before=[], shape=("é".encode(), MAX_LINE + 2), ends=True, cuts=[])
def test_a_list_reply_with_a_line_longer_than_the_cap_is_refused_and_one_at_the_cap_is_not(
    before: list[bytes], shape: tuple[bytes, int], ends: bool, cuts: list[int]
) -> None:
    unit, size = shape
    long = (unit * size)[:size]
    data = b"".join(line + b"\n" for line in [b"BEGIN LIST VAR ups", *before]) + long
    data += b"\nEND LIST VAR ups\n" if ends else b""
    with feed(chunked(data, cuts), eof=False) as reader:
        if len(long) > MAX_LINE:
            try:
                listed(reader)
            except NutError as exc:
                assert exc.code == PROTOCOL
            else:
                raise AssertionError(
                    f"the reader accepted a line of {len(long)} bytes "
                    f"({len(decoded([long])[0])} characters) over the {MAX_LINE}-byte cap"
                )
        elif ends:
            assert listed(reader) == [
                *decoded(before),
                *decoded([long]),
            ]
