"""What a restart keeps of a UPS: the record, the state file, the STATUS line, the watchdog."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pyups.address import Server, UpsAddress
from pyups.core.persist import record, restore
from pyups.core.snapshot import Snapshot
from pyups.core.summary import status_line, ups_line
from pyups.core.tracker import Timing, UpsState, initial, step
from pyups.service.notify import watchdog_period
from pyups.service.state import StateFile

TIMING = Timing(interval=1, interval_alert=1, dead_time=5, nocomm_warn=60, replbatt_warn=600)

H = Server("h")


def good(t: float, status: str, **variables: str) -> Snapshot:
    return Snapshot("eaton800", H, t, {"ups.status": status, **variables})


def run(state: UpsState, *snaps: Snapshot) -> tuple[UpsState, list[str]]:
    names: list[str] = []
    for snap in snaps:
        state, events = step(state, snap, TIMING)
        names += [e.name for e in events]
    return state, names


def test_nothing_is_kept_of_a_ups_never_seen() -> None:
    assert record(initial("eaton800", H)) is None


def test_a_restart_mid_outage_neither_repeats_onbatt_nor_forgets_when_it_began() -> None:
    before, names = run(initial("eaton800", H), good(100, "OL"), good(110, "OB DISCHRG"))
    assert names == ["STARTUP", "ONBATT"]
    kept = json.loads(json.dumps(record(before)))
    after, names = run(restore("eaton800", H, kept), good(500, "OB DISCHRG"))
    assert names == ["STARTUP"]
    _, events = step(after, good(530, "OL CHRG"), TIMING)
    assert [e.name for e in events] == ["ONLINE"]
    assert events[0].held == 420  # since 110, not since the restart at 500


def test_reminders_are_not_repeated_early_after_a_restart() -> None:
    before, names = run(initial("eaton800", H), good(100, "OL RB"))
    assert names == ["STARTUP", "REPLBATT"]
    after = restore("eaton800", H, record(before) or {})
    _, names = run(after, good(200, "OL RB"), good(700, "OL RB"), good(701, "OL RB"))
    assert names == ["STARTUP", "REPLBATT"]  # the next one after 100 + 600, not at once


def test_the_replbatt_clock_survives_rb_going_away_and_a_restart() -> None:
    before, names = run(initial("eaton800", H), good(100, "OL RB"), good(150, "OL"))
    assert names == ["STARTUP", "REPLBATT"]
    kept = json.loads(json.dumps(record(before)))
    assert kept["last_replbatt"] == 100
    after = restore("eaton800", H, kept)
    _, names = run(after, good(200, "OL RB"), good(700, "OL RB"), good(701, "OL RB"))
    assert names == ["STARTUP", "REPLBATT"]


@pytest.mark.parametrize(
    "kept", [{"status": 3}, {"status": "OL", "on_battery_since": "yesterday"}, {"last_good": True}]
)
def test_a_malformed_record_is_refused(kept: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        restore("eaton800", H, kept)


def test_the_state_file_round_trips_and_is_replaced_atomically(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.json"
    state, _ = run(initial("eaton800", H), good(100, "OB DISCHRG"))
    store = StateFile(str(path))
    assert store.save({UpsAddress("eaton800", H): state}) is None
    assert os.listdir(path.parent) == ["state.json"]  # no temporary file left behind
    loaded, warning = StateFile(str(path)).load()
    assert warning is None
    assert loaded[UpsAddress("eaton800", H)].on_battery_since == 100
    assert loaded[UpsAddress("eaton800", H)].status == "OB DISCHRG"


@pytest.mark.parametrize("text", ["{", "[]", '{"version": 2, "ups": {}}', '{"version": 1}'])
def test_a_corrupt_state_file_is_a_warning_and_nothing_restored(tmp_path: Path, text: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    loaded, warning = StateFile(str(path)).load()
    assert loaded == {}
    assert warning is not None and "is corrupt" in warning and "starting fresh" in warning


def test_no_state_file_means_a_first_start_and_an_empty_path_means_none(tmp_path: Path) -> None:
    assert StateFile(str(tmp_path / "missing.json")).load() == ({}, None)
    assert StateFile("").save({}) is None


def test_a_failing_write_warns_once_and_says_when_it_works_again(tmp_path: Path) -> None:
    blocker = tmp_path / "dir"
    blocker.write_text("")
    store = StateFile(str(blocker / "state.json"))
    state, _ = run(initial("eaton800", H), good(100, "OL"))
    first = store.save({UpsAddress("eaton800", H): state})
    assert first is not None and "cannot write: Not a directory" in first
    state2, _ = run(state, good(101, "OB"))
    assert store.save({UpsAddress("eaton800", H): state2}) is None  # said once
    blocker.unlink()
    assert (
        store.save({UpsAddress("eaton800", H): state})
        == f"state file {blocker}/state.json: written again"
    )


def test_status_lines_for_a_few_upses_and_for_a_fleet() -> None:
    online, _ = run(
        initial("eaton800", H),
        good(1, "OL CHRG", **{"battery.charge": "100", "battery.runtime": "3160"}),
    )
    assert ups_line(online) == "eaton800: OL CHRG 100% 52 min"
    lost, _ = run(online, Snapshot("eaton800", H, 2, error="DATA-STALE"))
    assert ups_line(lost) == "eaton800: no data (DATA-STALE)"
    assert ups_line(initial("x", Server("h"))) == "x: first poll pending"
    assert (
        status_line([online, lost])
        == "eaton800: OL CHRG 100% 52 min; eaton800: no data (DATA-STALE)"
    )
    on_battery, _ = run(online, good(3, "OB DISCHRG"))
    fleet = [online] * 5 + [on_battery, lost]
    assert status_line(fleet) == "7 UPSes: 1 unreachable, 1 on battery, 5 on line"


@pytest.mark.parametrize(
    ("env", "period"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_the_watchdog_period_comes_from_systemd(env: dict[str, str], period: float | None) -> None:
    assert watchdog_period(env, pid=4242) == period


def lost(t: float) -> Snapshot:
    return Snapshot("eaton800", H, t, error="TIMEOUT")


def test_a_restart_in_a_dead_silence_does_not_repeat_the_forced_lowbatt() -> None:
    before, names = run(
        initial("eaton800", H), good(0, "OB DISCHRG", **{"battery.charge": "40"}), lost(6)
    )
    assert names == ["STARTUP", "ONBATT", "COMMBAD", "LOWBATT"]
    after = restore("eaton800", H, json.loads(json.dumps(record(before))))
    state, events = step(after, lost(7), TIMING)
    assert events == []
    assert "LB" in state.flags  # rules still see it critical


def test_a_restart_keeps_the_alarm_text_and_the_battery_figures() -> None:
    alarm = {"ups.alarm": "Replace battery!", "battery.charge": "80"}
    before, names = run(initial("eaton800", H), good(0, "OL ALARM", **alarm))
    assert names == ["STARTUP", "ALARM"]
    after = restore("eaton800", H, json.loads(json.dumps(record(before))))
    _, names = run(after, good(10, "OL ALARM", **alarm))
    assert names == ["STARTUP"]  # the same alarm is not announced twice
    _, events = step(after, lost(10), TIMING)
    assert [e.name for e in events] == ["COMMBAD"]
    assert events[0].vars["battery.charge"] == "80"
