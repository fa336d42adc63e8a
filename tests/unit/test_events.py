"""Unit tests for pyups.core.events and the catalogue: finish(), template fields, invariants."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from pyups.address import Server
from pyups.core.catalogue import EVENTS, PAIRED_FLAGS, PRIORITIES
from pyups.core.events import Event, finish, summary, template_values
from pyups.core.expr import compile_expression
from pyups.core.rules import Rule, evaluate
from pyups.core.tracker import UpsState

VARS = {"ups.status": "OL CHRG", "battery.charge": "100", "battery.runtime": "3160"}


@dataclass(frozen=True)
class Setting:
    """What one ``[events.NAME]`` table holds, as finish() reads it."""

    enabled: bool = True
    priority: str | None = None
    message: str | None = None


def event(name: str, **fields: object) -> Event:
    values: dict[str, object] = {
        "ups": "eaton800",
        "server": Server("localhost"),
        "t": 1000.0,
        "status": "OL CHRG",
        "vars": VARS,
    }
    values.update(fields)
    return Event(name=name, **values)  # type: ignore[arg-type]


def finished(source: Event, settings: dict[str, Setting] | None = None) -> Event:
    result = finish(source, settings or {})
    assert result is not None
    return result


# --- finish: defaults -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fields", "priority", "message"),
    [
        ("STARTUP", {}, "info", "UPS eaton800 monitored: OL CHRG, battery 100%, runtime 52m40s"),
        ("ONBATT", {"status": "OB"}, "warning", "UPS eaton800 on battery"),
        (
            "ONLINE",
            {"held": 125.0},
            "notice",
            "UPS eaton800 on line power (after 2m05s on battery)",
        ),
        ("LOWBATT", {}, "crit", "UPS eaton800 battery is low"),
        ("FSD", {}, "alert", "UPS eaton800: forced shutdown in progress"),
        (
            "COMMBAD",
            {"reason": "DATA-STALE", "detail": "data stale"},
            "err",
            "Communications with UPS eaton800 lost: data stale (DATA-STALE)",
        ),
        (
            "NOCOMM",
            {"reason": "CONNECT", "detail": "cannot connect to upsd", "held": 300.0},
            "err",
            "UPS eaton800 is unavailable: cannot connect to upsd (CONNECT)",
        ),
        ("COMMOK", {"held": 12.0}, "notice", "Communications with UPS eaton800 established"),
        ("REPLBATT", {}, "warning", "UPS eaton800 battery needs to be replaced"),
        (
            "ALARM",
            {"vars": {**VARS, "ups.alarm": "Fan failure"}},
            "warning",
            "UPS eaton800: active alarms: Fan failure",
        ),
        ("NOTALARM", {}, "notice", "UPS eaton800: no longer has active alarms"),
        (
            "OTHER",
            {"tokens": "FOO"},
            "warning",
            "UPS eaton800: unclassified status: FOO",
        ),
        ("NOTOTHER", {}, "notice", "UPS eaton800: no unclassified status tokens anymore"),
        ("CAL", {}, "warning", "UPS eaton800: calibration in progress"),
        ("NOTCAL", {}, "notice", "UPS eaton800: calibration finished"),
        ("BYPASS", {}, "warning", "UPS eaton800: on bypass (powered, not protecting)"),
        ("NOTBOOST", {}, "notice", "UPS eaton800: no longer boosting incoming voltage"),
    ],
)
def test_finish_fills_priority_and_message_from_the_catalogue(
    name: str, fields: dict[str, object], priority: str, message: str
) -> None:
    result = finished(event(name, **fields))
    assert (result.priority, result.message) == (priority, message)


def test_finish_leaves_everything_else_and_the_original_event_alone() -> None:
    source = event("ONBATT", status="OB", prev_status="OL", held=3.0)
    result = finished(source)
    assert result == Event(
        name="ONBATT",
        ups="eaton800",
        server=Server("localhost"),
        t=1000.0,
        status="OB",
        prev_status="OL",
        vars=VARS,
        held=3.0,
        priority="warning",
        message="UPS eaton800 on battery",
    )
    assert (source.priority, source.message) == ("", "")


def test_an_event_that_brings_its_own_priority_and_message_keeps_them() -> None:
    message = "UPS eaton800 on battery for 2m30s (outage-2min), {literal} braces stay"
    source = event("RULE", rule="outage-2min", held=150.0, priority="crit", message=message)
    result = finished(source)
    assert (result.priority, result.message) == ("crit", message)


def test_a_rule_event_leaves_the_rule_with_its_message_rendered_once() -> None:
    rule = Rule(
        "outage-2min",
        condition=compile_expression("OB"),
        hold=150.0,
        priority="crit",
        message="UPS {ups} on battery for {held} ({rule}), {{literal}} braces stay",
    )
    ups = UpsState("eaton800", Server("localhost"), started=True, status="OB", vars=VARS,
                   flags=frozenset({"OB"}))  # fmt: skip
    states, fired = evaluate([rule], {}, ups, [], 1000.0)
    assert fired == []
    _, fired = evaluate([rule], states, ups, [], 1150.0)
    assert [f.event.message for f in fired] == [
        "UPS eaton800 on battery for 2m30s (outage-2min), {literal} braces stay"
    ]
    assert finished(fired[0].event).message == fired[0].event.message


# --- finish: [events.NAME] --------------------------------------------------------------------


def test_a_disabled_event_is_dropped() -> None:
    assert finish(event("CAL"), {"CAL": Setting(enabled=False)}) is None


def test_disabling_one_event_leaves_the_others() -> None:
    result = finished(event("NOTCAL"), {"CAL": Setting(enabled=False)})
    assert result.message == "UPS eaton800: calibration finished"


def test_a_priority_override_keeps_the_default_message() -> None:
    result = finished(event("ONBATT"), {"ONBATT": Setting(priority="crit")})
    assert (result.priority, result.message) == ("crit", "UPS eaton800 on battery")


def test_a_message_override_keeps_the_default_priority() -> None:
    settings = {"ONBATT": Setting(message="{ups} on battery at {battery.charge}%")}
    result = finished(event("ONBATT"), settings)
    assert (result.priority, result.message) == ("warning", "eaton800 on battery at 100%")


def test_a_setting_overrides_priority_and_message_together() -> None:
    settings = {"COMMOK": Setting(priority="info", message="{ups} back after {held}")}
    result = finished(event("COMMOK", held=3725.0), settings)
    assert (result.priority, result.message) == ("info", "eaton800 back after 1h02m")


def test_a_setting_overrides_the_events_own_priority() -> None:
    result = finished(event("LOWBATT", priority="crit"), {"LOWBATT": Setting(priority="emerg")})
    assert result.priority == "emerg"


# --- template fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "fields", "expected"),
    [
        ("{battery.charge}% {battery.runtime}s", {}, "100% 3160s"),
        ("{held}", {"held": 0.35}, "350ms"),
        ("{held}", {"held": 5400.0}, "1h30m"),
        ("{held}", {}, "n/a"),
        (
            "{reason}",
            {"reason": "TIMEOUT", "detail": "upsd did not answer"},
            "upsd did not answer (TIMEOUT)",
        ),
        ("{reason}", {"reason": "TIMEOUT"}, "TIMEOUT"),
        ("{reason}", {}, "n/a"),
        ("{input.voltage}", {}, "n/a"),
        ("{rule}", {}, "n/a"),
        ("{rule}", {"rule": "outage"}, "outage"),
        ("{summary}", {}, "OL CHRG, battery 100%, runtime 52m40s"),
        ("{runtime}", {}, "52m40s"),
        ("{event} {ups} {server}", {}, "ONBATT eaton800 localhost:3493"),
        ("{prev_status} -> {status}", {"prev_status": "OL", "status": "OB"}, "OL -> OB"),
        ("{tokens}", {"tokens": "FOO BAR"}, "FOO BAR"),
        ("{{ups}} {ups}", {}, "{ups} eaton800"),
    ],
)
def test_message_templates_fill_every_field(
    template: str, fields: dict[str, object], expected: str
) -> None:
    result = finished(event("ONBATT", **fields), {"ONBATT": Setting(message=template)})
    assert result.message == expected


def test_fixed_fields_win_over_variables_of_the_same_name() -> None:
    values = template_values(event("ONBATT", vars={"ups": "spoof", "status": "spoof"}))
    assert (values["ups"], values["status"]) == ("eaton800", "OL CHRG")


def test_template_values_hold_only_the_fields_the_event_has() -> None:
    values = template_values(event("ONBATT", vars={"ups.status": "OB"}, status="OB"))
    assert values == {
        "ups.status": "OB",
        "ups": "eaton800",
        "server": "localhost:3493",
        "event": "ONBATT",
        "status": "OB",
        "prev_status": "",
        "summary": "OB",
    }


@pytest.mark.parametrize(
    ("status", "variables", "expected"),
    [
        ("OL CHRG", VARS, "OL CHRG, battery 100%, runtime 52m40s"),
        ("OB", {"battery.charge": "87"}, "OB, battery 87%"),
        ("OB", {"battery.runtime": "unknown"}, "OB, runtime unknown"),
        ("", {}, "status unknown"),
    ],
)
def test_summary_is_one_line_for_a_human(
    status: str, variables: dict[str, str], expected: str
) -> None:
    assert summary(status, variables) == expected


# --- catalogue invariants -------------------------------------------------------------------


def test_the_catalogue_has_32_events() -> None:
    assert len(EVENTS) == 32
    assert all(kind.name == name for name, kind in EVENTS.items())


def test_message_ids_are_unique_32_digit_lowercase_hex() -> None:
    ids = [kind.message_id for kind in EVENTS.values()]
    assert all(re.fullmatch(r"[0-9a-f]{32}", message_id) for message_id in ids)
    assert len(set(ids)) == len(ids)


def test_every_default_priority_is_a_syslog_priority() -> None:
    assert all(kind.priority in PRIORITIES for kind in EVENTS.values())
    assert PRIORITIES == {
        "emerg": 0,
        "alert": 1,
        "crit": 2,
        "err": 3,
        "warning": 4,
        "notice": 5,
        "info": 6,
        "debug": 7,
    }


def test_every_paired_flag_has_an_event_and_a_not_event() -> None:
    assert PAIRED_FLAGS == ("CAL", "OFF", "BYPASS", "ECO", "OVER", "TRIM", "BOOST")
    for flag in PAIRED_FLAGS:
        assert EVENTS[flag].priority == "warning"
        assert EVENTS["NOT" + flag].priority == "notice"


def test_the_catalogue_names_are_upsmons_plus_rule_and_action() -> None:
    assert set(EVENTS) == {
        "STARTUP",
        "ONLINE",
        "ONBATT",
        "LOWBATT",
        "FSD",
        "COMMBAD",
        "NOCOMM",
        "COMMOK",
        "REPLBATT",
        "ALARM",
        "NOTALARM",
        "OTHER",
        "NOTOTHER",
        "SHUTDOWN",
        "SHUTDOWN_HOSTSYNC",
        "SHUTDOWN_FAILED",
        "RULE",
        "ACTION",
        *PAIRED_FLAGS,
        *("NOT" + flag for flag in PAIRED_FLAGS),
    }


def test_every_event_has_a_description_and_a_message() -> None:
    assert all(kind.description and kind.message for kind in EVENTS.values())
