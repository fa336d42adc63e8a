"""Unit tests for pyups.core.expr: rule conditions over status flags, variables and nocomm."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyups.core.expr import Expression, ExpressionError, Facts, compile_expression


def facts(status: str = "", nocomm: bool = False, **variables: str) -> Facts:
    """Facts from a status string and variables written with _ for . (battery_charge)."""
    names = {name.replace("_", "."): value for name, value in variables.items()}
    return Facts(frozenset(status.split()), names, nocomm)


ON_BATTERY = facts(
    "OB DISCHRG",
    battery_charge="40",
    battery_charge_low="50",
    battery_runtime="1200",
    ups_status="OB DISCHRG",
    battery_type="PbAc",
    input_voltage="0.0",
    ups_alarm="",
)


@pytest.mark.parametrize(
    ("text", "given_facts", "expected"),
    [
        # status flags, known and unknown
        ("OB", ON_BATTERY, True),
        ("OL", ON_BATTERY, False),
        ("DISCHRG", ON_BATTERY, True),
        ("TEST", facts("OL TEST"), True),
        ("TEST", facts("OL"), False),
        ("OB and LB", ON_BATTERY, False),
        ("OB or LB", ON_BATTERY, True),
        # numbers, prefixes, variable against variable
        ("battery.charge < 50", ON_BATTERY, True),
        ("battery.charge >= 40", ON_BATTERY, True),
        ("battery.charge > 40", ON_BATTERY, False),
        ("battery.charge < battery.charge.low", ON_BATTERY, True),
        ("battery.charge.low <= battery.charge", ON_BATTERY, False),
        ("battery.charge.low == 50", ON_BATTERY, True),
        ("battery.charge == 40.0", ON_BATTERY, True),
        ("battery.charge == '40.0'", ON_BATTERY, True),
        ("battery.runtime > 2.5", ON_BATTERY, True),
        ("battery.charge > -3", ON_BATTERY, True),
        # strings, with spaces and escapes
        ('ups.status == "OB DISCHRG"', ON_BATTERY, True),
        ("ups.status == 'OB DISCHRG'", ON_BATTERY, True),
        ('ups.status != "OL"', ON_BATTERY, True),
        ("battery.type == 'PbAc'", ON_BATTERY, True),
        ("battery.type == 'pbac'", ON_BATTERY, False),
        (r'ups.alarm == "say \"hi\""', facts(ups_alarm='say "hi"'), True),
        (r"ups.alarm == 'back\\slash'", facts(ups_alarm="back\\slash"), True),
        # numeric only when both sides look like numbers; otherwise text
        ("battery.charge < 100", facts(battery_charge="9"), True),
        ("battery.charge < '100'", facts(battery_charge="9"), True),
        ("battery.type < 'Q'", ON_BATTERY, True),
        ("ups.firmware > 10", facts(ups_firmware="9a"), True),  # "9a" > "10" as text
        ("ups.firmware == 'inf'", facts(ups_firmware="inf"), True),
        ("ups.firmware > 1000", facts(ups_firmware="inf"), True),  # text, not infinity
        # a variable alone: reported, not blank, not zero
        ("battery.charge", ON_BATTERY, True),
        ("battery.type", ON_BATTERY, True),
        ("input.voltage", ON_BATTERY, False),
        ("ups.alarm", ON_BATTERY, False),
        ("ups.alarm", facts(ups_alarm="   "), False),
        ("battery.temperature", ON_BATTERY, False),
        ("not battery.temperature", ON_BATTERY, True),
        # precedence: or < and < not < comparison
        ("OL or OB and LB", ON_BATTERY, False),
        ("OB or OL and LB", ON_BATTERY, True),
        ("(OL or OB) and LB", ON_BATTERY, False),
        ("not OL and OB", ON_BATTERY, True),
        ("not (OL or OB)", ON_BATTERY, False),
        ("not not OB", ON_BATTERY, True),
        ("not battery.charge < 50", ON_BATTERY, False),
        ("OB and battery.charge < 50 or LB", ON_BATTERY, True),
        ("(battery.charge) < 50", ON_BATTERY, True),
        ("((OB))", ON_BATTERY, True),
        # nocomm
        ("nocomm", facts("OB", nocomm=True), True),
        ("nocomm", ON_BATTERY, False),
        ("OB and nocomm", facts("OB", nocomm=True), True),
        ("not nocomm", ON_BATTERY, True),
        # keywords only as whole words
        ("android", facts(android="1"), True),
        ("notes.x == 'y'", facts(notes_x="y"), True),
        ("nocomm.count > 1", facts(nocomm_count="2"), True),
        ("outlet.1.status == 'on'", facts(outlet_1_status="on"), True),
        # whitespace is free
        ("  OB\tand\nbattery.charge<50 ", ON_BATTERY, True),
    ],
)
def test_conditions_evaluate_as_documented(text: str, given_facts: Facts, expected: bool) -> None:
    assert compile_expression(text).evaluate(given_facts) is expected


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_a_comparison_with_a_variable_the_ups_does_not_report_is_false_for_every_operator(
    op: str,
) -> None:
    for text in [f"battery.temperature {op} 30", f"30 {op} battery.temperature"]:
        assert compile_expression(text).evaluate(ON_BATTERY) is False
    both = compile_expression(f"battery.charge {op} battery.temperature")
    assert both.evaluate(ON_BATTERY) is False
    assert compile_expression(f"not battery.temperature {op} 30").evaluate(ON_BATTERY) is True


def test_the_names_a_condition_uses_are_listed() -> None:
    expression = compile_expression(
        "OB and (battery.charge < battery.charge.low or TEST) and not nocomm and ups.status"
    )
    assert expression.variables == {"battery.charge", "battery.charge.low", "ups.status"}
    assert expression.flags == {"OB", "TEST"}
    assert compile_expression("nocomm").variables == frozenset()
    assert compile_expression("nocomm").flags == frozenset()


def test_expressions_with_the_same_text_are_equal_and_show_their_text() -> None:
    assert compile_expression("OB") == compile_expression("OB")
    assert compile_expression("OB") != compile_expression("OB or OB")
    assert "OB and LB" in repr(compile_expression("OB and LB"))
    assert isinstance(compile_expression("OB"), Expression)


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("OB and battery.charge <", "unexpected end of expression at position 24", 24),
        ("OB and", "unexpected end of expression at position 7", 7),
        ("OB < and", "unexpected 'and' at position 6", 6),
        ("OB and and LB", "unexpected 'and' at position 8", 8),
        ("OB LB", "unexpected 'LB' at position 4", 4),
        ("OB android", "unexpected 'android' at position 4", 4),
        (")", "unexpected ')' at position 1", 1),
        ("(OB", "unexpected end of expression at position 4", 4),
        ("OB)", "unexpected ')' at position 3", 3),
        (
            "battery.charge < 50 < 60",
            "unexpected '<' at position 21; comparisons do not chain, join them with and",
            21,
        ),
        ("battery.charge = 50", "unexpected '=' at position 16 (write == to compare)", 16),
        ("OB && LB", "unexpected '&' at position 4 (write and)", 4),
        ("OB || LB", "unexpected '|' at position 4 (write or)", 4),
        ("!OB", "unexpected '!' at position 1 (write not)", 1),
        ('ups.status == "OB', "unterminated string at position 15", 15),
        ("battery.charge < 5$", "unexpected '$' at position 19", 19),
        (
            "OB == 1",
            "cannot compare a status flag (OB) at position 1: it is true or false; "
            "write OB or not OB",
            1,
        ),
        ("1 != TEST", "cannot compare a status flag (TEST) at position 6", 6),
        ("nocomm == 1", "cannot compare nocomm at position 1", 1),
        ("(a < b) == c", "cannot compare a condition with == at position 9", 9),
        ("not OB == x", "cannot compare a status flag (OB) at position 5", 5),
        ("OB and 50", "50 at position 8 is a value, not a condition", 8),
        ("'on'", "'on' at position 1 is a value, not a condition", 1),
        ("Ob", "Ob at position 1 is neither a status flag", 1),
        ("", "the condition is empty; write e.g. OB and battery.charge < 50", None),
        ("  ", "the condition is empty", None),
        ("not " * 80 + "OB", "the condition is nested more than 64 levels deep", None),
        ("(OB and " * 70 + "LB" + ")" * 70, "the condition is nested more than 64", None),
    ],
)
def test_errors_say_what_is_wrong_and_where(text: str, message: str, position: int | None) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    assert str(info.value).startswith(message)
    assert info.value.position == position


def test_redundant_parentheses_do_not_count_as_nesting() -> None:
    assert compile_expression("(" * 200 + "OB" + ")" * 200).evaluate(ON_BATTERY) is True


def test_an_expression_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unexpected"):
        compile_expression("OB or")


# --- property: any expression built from the grammar compiles, evaluates, never crashes -----

VARIABLES = ["battery.charge", "battery.charge.low", "ups.status", "input.voltage", "x"]
FLAGS = ["OL", "OB", "LB", "TEST", "FSD"]
OPS = ["==", "!=", "<", "<=", ">", ">="]
VALUES = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda number: f"{number:.3f}"),
    st.text(max_size=8).map(
        lambda text: '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    ),
)
OPERANDS = st.one_of(st.sampled_from(VARIABLES), VALUES)
VARIABLE_VALUES = st.one_of(st.integers(-100, 100).map(str), st.text(max_size=6))


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> str:
    """A valid condition as text, nested at most four levels."""
    leaves = [*FLAGS, *VARIABLES, "nocomm", "comparison"]
    choice = draw(st.sampled_from(leaves if depth >= 3 else [*leaves, "not", "and", "or", "()"]))
    if choice == "comparison":
        return f"{draw(OPERANDS)} {draw(st.sampled_from(OPS))} {draw(OPERANDS)}"
    if choice == "not":
        return f"not {draw(conditions(depth + 1))}"
    if choice == "()":
        return f"({draw(conditions(depth + 1))})"
    if choice in ("and", "or"):
        return f"{draw(conditions(depth + 1))} {choice} {draw(conditions(depth + 1))}"
    return choice


@st.composite
def bad_conditions(draw: st.DrawFn) -> str:
    """A condition that compares a flag, nocomm or a condition somewhere."""
    culprit = draw(st.sampled_from([*FLAGS, "nocomm", "(OB and LB)", "(x < 1)"]))
    other = draw(OPERANDS)
    bad = f"{culprit} {draw(st.sampled_from(OPS))} {other}"
    if draw(st.booleans()):
        bad = f"{other} {draw(st.sampled_from(OPS))} {culprit}"
    shape = draw(st.sampled_from(["BAD", "GOOD and BAD", "not BAD", "(BAD) or GOOD"]))
    return shape.replace("GOOD", draw(conditions(1))).replace("BAD", bad)


@st.composite
def random_facts(draw: st.DrawFn) -> Facts:
    variables: Mapping[str, str] = draw(
        st.dictionaries(st.sampled_from(VARIABLES), VARIABLE_VALUES)
    )
    return Facts(frozenset(draw(st.sets(st.sampled_from(FLAGS)))), variables, draw(st.booleans()))


@given(conditions(), random_facts())
def test_any_valid_condition_compiles_and_evaluates_to_a_boolean(text: str, given: Facts) -> None:
    expression = compile_expression(text)
    assert expression.evaluate(given) in (True, False)
    assert expression.variables <= set(VARIABLES)
    assert expression.flags <= set(FLAGS)


@given(bad_conditions())
def test_comparing_a_flag_or_a_condition_is_always_a_compile_error(text: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    assert "cannot compare" in str(info.value)
    assert info.value.position is not None and 1 <= info.value.position <= len(text)


@given(st.text(alphabet=st.sampled_from(list("ABOLab.c_ =<>!()'\"\\0123-notrdcm")), max_size=30))
def test_any_text_either_compiles_or_raises_an_expression_error(text: str) -> None:
    try:
        expression = compile_expression(text)
    except ExpressionError as exc:
        assert exc.position is None or 1 <= exc.position <= len(text) + 1
        return
    assert expression.evaluate(Facts(frozenset({"OB"}), {"a": "1", "b.c": "x"})) in (True, False)


def test_nesting_deeper_than_the_limit_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(ExpressionError, match="nested more than 64 levels"):
        compile_expression("not " * 3000 + "OB")


def test_unicode_separators_do_not_make_a_value_a_number() -> None:
    facts = Facts(frozenset(), {"x": "0\x1f", "y": " 5 "}, False)
    assert compile_expression('x == "0\x1f"').evaluate(facts)
    assert compile_expression("y == 5").evaluate(facts)
