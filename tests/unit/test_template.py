"""Unit tests for pyups.core.template: field names, syntax errors, rendering."""

from __future__ import annotations

import pytest

from pyups.core.template import FIXED_FIELDS, MISSING, TemplateError, fields, render, unknown_fields


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("", []),
        ("no fields at all", []),
        ("UPS {ups} on battery for {held}", ["ups", "held"]),
        ("{battery.charge}% {battery.charge.low}", ["battery.charge", "battery.charge.low"]),
        ("{{literal}} {ups} }}{{", ["ups"]),
        ("{ups}{ups}", ["ups", "ups"]),
        ("{input_voltage_2}", ["input_voltage_2"]),
    ],
)
def test_fields_lists_the_field_names_in_order(template: str, expected: list[str]) -> None:
    assert fields(template) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("UPS {ups", "unmatched '{' at position 5 (write {{ for a literal brace)"),
        ("100}%", "unmatched '}' at position 4 (write }} for a literal brace)"),
        ("{ups} {bad name}", "{bad name} at position 7 is not a field name"),
        ("{}", "{} at position 1 is not a field name"),
        ("{battery..charge}", "{battery..charge} at position 1 is not a field name"),
        ("{.charge}", "{.charge} at position 1 is not a field name"),
        ("{charge.}", "{charge.} at position 1 is not a field name"),
    ],
)
def test_bad_templates_are_errors_that_name_the_position(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        fields(template)
    assert str(info.value) == message


def test_template_errors_are_value_errors() -> None:
    assert issubclass(TemplateError, ValueError)


def test_unknown_fields_are_those_neither_fixed_nor_dotted() -> None:
    template = "{ups} {foo} {battery.charge} {held} {Status} {tokens}"
    assert unknown_fields(template) == ["foo", "Status"]


def test_the_fixed_fields_are_the_documented_ones() -> None:
    documented = {"ups", "server", "event", "rule", "status", "prev_status", "held", "message"}
    assert documented <= FIXED_FIELDS
    assert {"reason", "summary", "runtime", "tokens"} <= FIXED_FIELDS


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("UPS {ups} at {battery.charge}%", "UPS eaton800 at 87%"),
        ("{input.voltage}", MISSING),
        ("{{ups}} is {ups}", "{ups} is eaton800"),
        ("}} {{", "} {"),
        ("half { brace", "half { brace"),
        ("{ups", "{ups"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_render_fills_fields_and_keeps_literal_braces(template: str, expected: str) -> None:
    assert render(template, {"ups": "eaton800", "battery.charge": "87"}) == expected


def test_a_missing_field_renders_as_n_a() -> None:
    assert MISSING == "n/a"
    assert render("{battery.charge}%", {}) == "n/a%"


def test_rendered_values_are_not_themselves_rendered() -> None:
    assert render("{ups.alarm}", {"ups.alarm": "{ups} {{"}) == "{ups} {{"
