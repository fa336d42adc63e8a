"""Unit tests for pyups.core.drill (the timeline, the runtime at low battery, the verdicts) and
for the drill command's checks of this host (programs, the flag path), without a upsd."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pyups.address import Server, UpsAddress
from pyups.commands.drill import (
    Report,
    Timeline,
    as_json,
    as_table,
    drill,
    flag_check,
    program_check,
)
from pyups.config import config_from_text
from pyups.core.drill import (
    Check,
    Fit,
    Level,
    Runtime,
    fit,
    fit_check,
    host_sync_check,
    offsets,
    runtime_at_low_battery,
    timeline,
    worst_case,
)
from pyups.core.protection import Role
from pyups.core.sequence import SequencePlan, Step

EATON = UpsAddress("eaton800", Server("localhost", 3493))
COMMAND = ("systemctl", "poweroff")


def plan(primary: bool, **settings: object) -> SequencePlan:
    fields: dict[str, object] = {"host_sync": 15.0, "final_delay": 5.0, **settings}
    return SequencePlan(COMMAND, primary_for=(EATON,) if primary else (), **fields)  # type: ignore[arg-type]


def names_and_lengths(stages: object) -> list[tuple[str, float]]:
    return [(s.name, s.seconds) for s in stages]  # type: ignore[attr-defined]


# --- the timeline ---------------------------------------------------------------------------


def test_a_primary_sets_fsd_waits_host_sync_runs_each_step_to_its_timeout_then_the_command() -> (
    None
):
    stages = timeline(
        Role.PRIMARY,
        plan(True, before=(Step(("stop-vms",), 120.0), Step(("sync",), 10.0))),
        interval_alert=2.0,
        lowbatt_for=3.0,
    )
    assert names_and_lengths(stages) == [
        ("LB seen", 2.0),
        ("lowbatt_for", 3.0),
        ("FSD on eaton800", 0.0),
        ("host_sync", 15.0),
        ("before 1", 120.0),
        ("before 2", 10.0),
        ("final_delay", 5.0),
        ("command starts", 0.0),
    ]
    assert worst_case(stages) == 155.0


def test_a_primary_with_a_flag_writes_it_just_before_the_command() -> None:
    stages = timeline(Role.PRIMARY, plan(True, flag_path="/run/pyups/killpower"), 2.0, 0.0)
    assert [s.name for s in stages][-2:] == [
        "write the power-down flag",
        "command starts",
    ]


def test_a_secondary_waits_host_sync_for_its_primary_s_fsd_and_sets_none_itself() -> None:
    stages = timeline(Role.SECONDARY, plan(False), 2.0, 0.0)  # a secondary's plan has no flag
    assert names_and_lengths(stages) == [
        ("LB seen", 2.0),
        ("lowbatt_for", 0.0),
        ("wait for the primary's FSD", 15.0),
        ("final_delay", 5.0),
        ("command starts", 0.0),
    ]
    assert worst_case(stages) == 22.0


def test_a_secondary_ups_on_a_host_primary_for_another_waits_for_both() -> None:
    stages = timeline(Role.SECONDARY, plan(True), 2.0, 0.0)
    names = [s.name for s in stages]
    assert names.index("wait for the primary's FSD") < names.index("host_sync")
    assert worst_case(stages) == 2.0 + 15.0 + 15.0 + 5.0


def test_offsets_say_when_each_stage_starts_counted_from_lb() -> None:
    stages = timeline(Role.PRIMARY, plan(True, before=(Step(("a",), 30.0),)), 2.0, 0.0)
    assert [at for at, _ in offsets(stages)] == [0.0, 2.0, 2.0, 2.0, 17.0, 47.0, 52.0]


# --- the runtime at low battery -------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "seconds", "source"),
    [
        ({"battery.runtime.low": "120", "battery.runtime": "3000"}, 120.0, "battery.runtime.low"),
        (
            {"battery.runtime.low": "120", "battery.runtime": "30", "ups.status": "OB LB"},
            120.0,
            "battery.runtime.low",
        ),
        (
            {"battery.runtime": "95", "ups.status": "OB DISCHRG LB"},
            95.0,
            "battery.runtime, with LB showing now",
        ),
        ({"battery.runtime": "3000", "ups.status": "OL CHRG"}, None, "shows no LB"),
        ({"ups.status": "OB LB"}, None, "LB shows but the UPS reports no battery.runtime"),
        ({"battery.runtime.low": "soon", "ups.status": "OL"}, None, "no battery.runtime.low"),
        ({"battery.runtime.low": "nan", "ups.status": "OL"}, None, "no battery.runtime.low"),
        ({"battery.runtime.low": "-5", "ups.status": "OL"}, None, "no battery.runtime.low"),
    ],
)
def test_the_runtime_at_low_battery_is_runtime_low_else_runtime_while_lb_shows(
    variables: dict[str, str], seconds: float | None, source: str
) -> None:
    runtime = runtime_at_low_battery(variables)
    assert runtime.seconds == seconds
    assert source in runtime.source


# --- the verdicts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("worst", "runtime", "verdict", "margin"),
    [
        (22.0, 120.0, Fit.FITS, 98.0),
        (120.0, 120.0, Fit.TOO_LONG, 0.0),
        (150.0, 120.0, Fit.TOO_LONG, -30.0),
        (22.0, None, Fit.UNKNOWN, None),
    ],
)
def test_the_plan_fits_only_when_its_worst_case_ends_before_the_battery(
    worst: float, runtime: float | None, verdict: Fit, margin: float | None
) -> None:
    assert fit(worst, runtime) == (verdict, margin)


def test_a_fitting_plan_shows_its_margin() -> None:
    check = fit_check("runtime x", 22.0, Runtime(120.0, "battery.runtime.low"))
    assert check.level is Level.OK
    assert "runtime at low battery 2m (battery.runtime.low): fits with 1m38s to spare" in (
        check.detail
    )


def test_a_plan_longer_than_the_battery_fails_and_says_by_how_much() -> None:
    check = fit_check("runtime x", 150.0, Runtime(120.0, "battery.runtime.low"))
    assert not check.ok
    assert "30s too long" in check.detail


def test_an_unknown_runtime_is_said_but_is_no_failure() -> None:
    check = fit_check("runtime x", 22.0, Runtime(None, "not reached"))
    assert check.level is Level.WARNING and check.ok
    assert "unknown: not reached" in check.detail


@pytest.mark.parametrize(
    ("host_sync", "level"), [(15.0, Level.OK), (7.0, Level.WARNING), (5.0, Level.WARNING)]
)
def test_host_sync_must_outlast_a_secondary_timed_like_this_host(
    host_sync: float, level: Level
) -> None:
    check = host_sync_check(host_sync, 2.0, 5.0, "upsd counts 1 other host (192.0.2.7)")
    assert check.level is level
    assert "interval_alert 2s + final_delay 5s" in check.detail
    assert check.detail.endswith("upsd counts 1 other host (192.0.2.7)")


# --- this host: programs and the flag path --------------------------------------------------


def test_a_program_on_path_is_found_as_exec_would_find_it() -> None:
    check = program_check("command", ("sh", "-c", "true"))
    assert check.ok and "/sh)" in check.detail and "not run" in check.detail


def test_a_missing_program_fails_and_names_it(tmp_path: Path) -> None:
    missing = program_check("before 1", (str(tmp_path / "stop-vms"),))
    assert (
        not missing.ok
        and missing.detail == f"{tmp_path}/stop-vms: no such file, so it could not run"
    )
    assert "not found on PATH" in program_check("command", ("no-such-program-pyups",)).detail


def test_a_file_that_is_not_executable_fails(tmp_path: Path) -> None:
    script = tmp_path / "stop-vms"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    check = program_check("before 1", (str(script),))
    assert not check.ok and "not executable" in check.detail


def test_a_flag_in_a_writable_directory_passes_and_is_not_written(tmp_path: Path) -> None:
    flag = tmp_path / "run" / "killpower"
    check = flag_check(str(flag))
    assert check.ok and f"{tmp_path} is writable (the monitor creates" in check.detail
    assert not flag.parent.exists()


def test_a_flag_path_holding_someone_else_s_file_fails(tmp_path: Path) -> None:
    flag = tmp_path / "killpower"
    flag.write_text("not ours")
    assert not flag_check(str(flag)).ok
    assert flag.read_text() == "not ours"


def test_a_flag_left_set_is_a_warning(tmp_path: Path) -> None:
    flag = tmp_path / "killpower"
    flag.write_text("upsmon-shutdown-file")
    assert flag_check(str(flag)).level is Level.WARNING


def test_a_flag_under_a_directory_nobody_may_write_fails() -> None:
    # /proc/sys refuses new entries even to root.
    assert not os.access("/proc/sys", os.W_OK)
    check = flag_check("/proc/sys/pyups-drill/killpower")
    assert not check.ok and "/proc/sys is not writable" in check.detail


# --- the whole drill, where no upsd is needed --------------------------------------------


def test_a_host_no_ups_feeds_has_no_plan_and_keeps_check_config_s_warnings() -> None:
    text = '[[ups]]\nname = "eaton800"\nrole = "primary"\npower = 0\n[shutdown]\ncommand = ["sh"]\n'
    result = drill(config_from_text(text, "test.conf"), "test.conf")
    assert not result.ok and result.timelines == [] and result.upses == []
    assert [(c.name, c.level) for c in result.checks] == [
        ("protection", Level.FAILED),
        ("ups[0].power", Level.WARNING),
    ]
    assert "protection: none (every UPS has power = 0)" in result.checks[0].detail


# --- output ---------------------------------------------------------------------------------


def report(*checks: Check) -> Report:
    stages = timeline(Role.PRIMARY, plan(True), 2.0, 0.0)
    lines = Timeline(Role.PRIMARY, (str(EATON),), stages)
    return Report("/etc/pyups/pyups.conf", "protection: ...", list(checks), [lines], [])


def test_the_table_ends_with_the_verdict_naming_the_failed_checks() -> None:
    text = as_table(
        report(Check("command", Level.OK, "fine"), Check("before 1", Level.FAILED, "missing"))
    )
    assert "total: 22s from LB to the command's start" in text
    assert text.splitlines()[-1] == "verdict: the plan cannot work: 1 check failed (before 1)"


def test_the_json_document_has_every_check_and_the_timeline_in_seconds() -> None:
    document = json.loads(as_json(report(Check("flag", Level.WARNING, "set already"))))
    assert document["ok"] is True
    assert document["checks"] == [
        {"name": "flag", "ok": True, "level": "warning", "detail": "set already"}
    ]
    (only,) = document["timelines"]
    assert only["worst_case"] == 22.0
    assert only["stages"][3] == {
        "at": 2.0,
        "name": "host_sync",
        "seconds": 15.0,
        "note": "wait for the secondaries to log out; ends once only this host is left",
    }
