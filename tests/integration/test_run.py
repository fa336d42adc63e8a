"""``pyups run`` against a real upsd + dummy-ups, with every event read back from the journal."""

from __future__ import annotations

import os
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyups.core.catalogue import EVENTS
from pyups.sim import NutServer, eaton800
from tests.harness.config import write_config
from tests.harness.pyups import Entry, Pyups

Start = Callable[..., Pyups]

COMMON_FIELDS = {
    "MESSAGE",
    "PRIORITY",
    "SYSLOG_IDENTIFIER",
    "MESSAGE_ID",
    "PYUPS_EVENT",
    "PYUPS_UPS",
    "PYUPS_SERVER",
    "PYUPS_STATUS",
    "PYUPS_PREV_STATUS",
    "PYUPS_BATTERY_CHARGE",
    "PYUPS_BATTERY_RUNTIME",
}


def change(nut: NutServer, status: str, **variables: str) -> None:
    nut.set_status(status, **variables)
    nut.wait_for_status("eaton800", status)


def assert_contract(entry: Entry, nut: NutServer) -> None:
    """Every DESIGN §4 field is there, and the fixed ones have the right values."""
    missing = COMMON_FIELDS - entry.keys()
    assert not missing, missing
    name = entry["PYUPS_EVENT"]
    assert entry["SYSLOG_IDENTIFIER"] == "pyups"
    assert entry["MESSAGE_ID"] == EVENTS[name].message_id
    assert entry["PYUPS_UPS"] == "eaton800"
    assert entry["PYUPS_SERVER"] == str(nut.server)


def test_run_journals_the_upsmon_events_with_every_field(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    run = pyups("run", nut.address(), "--interval", "0.5")
    startup = run.wait_event("STARTUP")
    assert_contract(startup, nut)
    assert startup["PRIORITY"] == "6"
    assert startup["PYUPS_STATUS"] == "OL CHRG"
    assert startup["PYUPS_PREV_STATUS"] == ""
    assert startup["MESSAGE"] == "UPS eaton800 monitored: OL CHRG, battery 100%, runtime 52m40s"

    change(nut, "OB DISCHRG", battery_charge="80")
    onbatt = run.wait_event("ONBATT")
    assert_contract(onbatt, nut)
    assert (onbatt["PRIORITY"], onbatt["MESSAGE"]) == ("4", "UPS eaton800 on battery")
    assert (onbatt["PYUPS_STATUS"], onbatt["PYUPS_PREV_STATUS"]) == ("OB DISCHRG", "OL CHRG")
    assert onbatt["PYUPS_BATTERY_CHARGE"] == "80"
    assert onbatt["PYUPS_BATTERY_RUNTIME"] == "3160"

    change(nut, "OB DISCHRG LB", battery_charge="15")
    lowbatt = run.wait_event("LOWBATT")
    assert_contract(lowbatt, nut)
    assert lowbatt["PRIORITY"] == "2"
    assert (lowbatt["PYUPS_STATUS"], lowbatt["PYUPS_PREV_STATUS"]) == (
        "OB DISCHRG LB",
        "OB DISCHRG",
    )

    change(nut, "OL CHRG")
    online = run.wait_event("ONLINE")
    assert_contract(online, nut)
    assert online["PRIORITY"] == "5"
    assert re.fullmatch(
        r"UPS eaton800 on line power \(after (\d+(\.\d)?s|\d+ms) on battery\)", online["MESSAGE"]
    ), online["MESSAGE"]

    change(nut, "OL CHRG RB")
    replbatt = run.wait_event("REPLBATT")
    assert (replbatt["PRIORITY"], replbatt["PYUPS_STATUS"]) == ("4", "OL CHRG RB")

    change(nut, "OL BYPASS")
    bypass = run.wait_event("BYPASS")
    assert_contract(bypass, nut)
    assert bypass["PRIORITY"] == "4"
    assert bypass["MESSAGE"] == "UPS eaton800: on bypass (powered, not protecting)"
    change(nut, "OL")
    assert run.wait_event("NOTBYPASS")["PRIORITY"] == "5"

    nut.stop_driver("eaton800")
    commbad = run.wait_event("COMMBAD")
    assert_contract(commbad, nut)
    assert commbad["PRIORITY"] == "3"
    # upsd may say WAIT for an instant while it notices the driver is gone.
    assert commbad["PYUPS_REASON"] in {"DRIVER-NOT-CONNECTED", "WAIT"}
    assert ("upsdrvctl start" in commbad["MESSAGE"]) == (
        commbad["PYUPS_REASON"] == "DRIVER-NOT-CONNECTED"
    )
    assert commbad["PYUPS_STATUS"] == "OL"  # the last known status
    nut.start_driver("eaton800")
    commok = run.wait_event("COMMOK", timeout=15)
    assert_contract(commok, nut)
    assert commok["PRIORITY"] == "5"

    assert run.stop() == 0
    events = run.events()
    assert events == [
        "STARTUP", "ONBATT", "LOWBATT", "ONLINE", "REPLBATT", "BYPASS", "NOTBYPASS",
        "COMMBAD", "COMMOK",
    ]  # fmt: skip
    lines = run.stderr().splitlines()
    assert any(
        re.search(r"\d\d:\d\d:\d\d\s+eaton800\s+ONBATT\s+UPS eaton800 on battery", line)
        for line in lines
    ), lines
    assert run.entries()[-1]["MESSAGE"] == "pyups stopping (SIGTERM)"


@pytest.mark.parametrize(
    ("status", "event", "back"),
    [
        ("OL CAL", "CAL", "NOTCAL"),
        ("OL OFF", "OFF", "NOTOFF"),
        ("OL ECO", "ECO", "NOTECO"),
        ("OL OVER", "OVER", "NOTOVER"),
        ("OL TRIM", "TRIM", "NOTTRIM"),
        ("OL BOOST", "BOOST", "NOTBOOST"),
        ("OL TEST", "OTHER", "NOTOTHER"),
    ],
)
def test_each_status_flag_gives_one_event_when_it_comes_and_one_when_it_goes(
    nut: NutServer, pyups: Start, tmp_path: Path, status: str, event: str, back: str
) -> None:
    run = pyups("run", "-c", write_config(tmp_path, nut))
    run.wait_event("STARTUP")
    change(nut, status)
    came = run.wait_event(event)
    assert came["PRIORITY"] == "4"
    assert came["PYUPS_STATUS"] == status
    change(nut, "OL CHRG")
    went = run.wait_event(back)
    assert went["PRIORITY"] == "5"
    time.sleep(1)  # a few more polls: nothing is reported twice
    assert run.stop() == 0
    assert Counter(run.events()) == Counter(["STARTUP", event, back])


@pytest.mark.parametrize(
    ("status", "event"), [("OL OVER", "OVER"), ("OFF", "OFF"), ("OL BYPASS", "BYPASS")]
)
def test_a_ups_that_starts_overloaded_off_or_on_bypass_gets_that_event_at_start_up(
    nut: NutServer, pyups: Start, tmp_path: Path, status: str, event: str
) -> None:
    change(nut, status)
    run = pyups("run", "-c", write_config(tmp_path, nut))
    run.wait_event(event)
    time.sleep(1)  # a few more polls: nothing is reported twice
    assert run.stop() == 0
    assert run.events() == ["STARTUP", event]


@pytest.fixture
def alarming_nut() -> Iterator[NutServer]:
    """The eaton800 with an ``ups.alarm`` variable (dummy-ups only sets declared variables)."""
    with NutServer({"eaton800": eaton800() + "ups.alarm: Replace battery!\n"}) as server:
        yield server


def test_fsd_and_alarm_with_its_text_are_reported(
    alarming_nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    nut = alarming_nut
    run = pyups("run", "-c", write_config(tmp_path, nut))
    run.wait_event("STARTUP")
    change(nut, "OL ALARM")
    alarm = run.wait_event("ALARM")
    assert alarm["MESSAGE"] == "UPS eaton800: active alarms: Replace battery!"
    nut.set_var("eaton800", "ups.alarm", "Overheat!")
    nut.wait_for("eaton800", "ups.alarm", "Overheat!")
    assert run.wait_event("ALARM", count=2)["MESSAGE"].endswith("Overheat!")
    change(nut, "OL")
    run.wait_event("NOTALARM")
    change(nut, "OB FSD")
    fsd = run.wait_event("FSD")
    assert (fsd["PRIORITY"], fsd["MESSAGE"]) == ("1", "UPS eaton800: forced shutdown in progress")
    assert run.stop() == 0
    assert run.events() == ["STARTUP", "ALARM", "ALARM", "NOTALARM", "ONBATT", "FSD"]


def test_a_frozen_driver_gives_commbad_data_stale_then_nocomm_then_commok(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    run = pyups("run", "-c", write_config(tmp_path, nut, nocomm_warn='"1s"'))
    run.wait_event("STARTUP")
    driver = nut.driver_pid("eaton800")
    os.kill(driver, signal.SIGSTOP)
    try:
        commbad = run.wait_event("COMMBAD", timeout=20)
        assert commbad["PYUPS_REASON"] == "DATA-STALE"
        nocomm = run.wait_event("NOCOMM", timeout=5)
        assert nocomm["PRIORITY"] == "3"
        assert nocomm["PYUPS_REASON"] == "DATA-STALE"
    finally:
        os.kill(driver, signal.SIGCONT)
    run.wait_event("COMMOK", timeout=20)
    assert run.stop() == 0
    events = run.events()
    assert events[:2] == ["STARTUP", "COMMBAD"]
    assert events[-1] == "COMMOK"
    assert set(events[2:-1]) == {"NOCOMM"}


def test_upsd_killed_and_restarted_gives_commbad_then_commok(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    run = pyups("run", "-c", write_config(tmp_path, nut))
    run.wait_event("STARTUP")
    nut.stop_upsd()
    commbad = run.wait_event("COMMBAD")
    assert commbad["PYUPS_REASON"] in {"CLOSED", "CONNECT"}
    nut.start_upsd()
    nut.wait_ready()
    run.wait_event("COMMOK", timeout=15)
    assert run.stop() == 0
    assert run.events() == ["STARTUP", "COMMBAD", "COMMOK"]


def test_sigint_stops_cleanly_with_a_final_entry(nut: NutServer, pyups: Start) -> None:
    run = pyups("run", nut.address(), "--interval", "0.5")
    run.wait_event("STARTUP")
    assert run.stop(signal.SIGINT) == 0
    entries = run.entries()
    assert entries[0]["MESSAGE"].startswith("pyups 0.1.0 started, monitoring eaton800@")
    assert entries[-1]["MESSAGE"] == "pyups stopping (SIGINT)"
    assert "Traceback" not in run.stderr()
