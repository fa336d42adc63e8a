"""Unit tests for pyups.core.durations: parsing the config's durations, rendering them."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyups.core.durations import DurationError, format_duration, parse_duration

NOT_A_DURATION = 'write seconds (30) or e.g. "500ms", "90s", "5m", "1h30m"'


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("500ms", 0.5),
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1.5s", 1.5),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1m30s", 90.0),
        ("1h0m5s", 3605.0),
        ("1s500ms", 1.5),
        ("1h 30m", 5400.0),
        ("  5m  ", 300.0),
        ("0s", 0.0),
        ("30", 30.0),
        ("2.5", 2.5),
        (5, 5.0),
        (0, 0.0),
        (0.25, 0.25),
    ],
)
def test_durations_are_parsed_to_seconds(value: object, seconds: float) -> None:
    result = parse_duration(value)
    assert result == seconds
    assert isinstance(result, float)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "expected a duration, got True"),
        (False, "expected a duration, got False"),
        (-1, "a duration cannot be negative (-1)"),
        (-0.5, "a duration cannot be negative (-0.5)"),
        (None, "expected a duration, got NoneType"),
        ([5], "expected a duration, got list"),
        (math.nan, "a duration must be a finite number of seconds (nan)"),
        (math.inf, "a duration must be a finite number of seconds (inf)"),
        ("-5", f"'-5' is not a duration; {NOT_A_DURATION}"),
        ("-5s", f"'-5s' is not a duration; {NOT_A_DURATION}"),
        ("nan", f"'nan' is not a duration; {NOT_A_DURATION}"),
        ("inf", f"'inf' is not a duration; {NOT_A_DURATION}"),
        ("", f"'' is not a duration; {NOT_A_DURATION}"),
        ("   ", f"'   ' is not a duration; {NOT_A_DURATION}"),
        ("five", f"'five' is not a duration; {NOT_A_DURATION}"),
        ("5x", f"'5x' is not a duration; {NOT_A_DURATION}"),
        ("m5", f"'m5' is not a duration; {NOT_A_DURATION}"),
        ("5m garbage", f"'5m garbage' is not a duration; {NOT_A_DURATION}"),
        ("5ms5", f"'5ms5' is not a duration; {NOT_A_DURATION}"),
        ("1.5.5s", f"'1.5.5s' is not a duration; {NOT_A_DURATION}"),
        (".5s", f"'.5s' is not a duration; {NOT_A_DURATION}"),
        ("5 minutes", f"'5 minutes' is not a duration; {NOT_A_DURATION}"),
    ],
)
def test_anything_else_is_rejected_with_a_message(value: object, message: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(value)
    assert str(info.value) == message


def test_duration_errors_are_value_errors() -> None:
    assert issubclass(DurationError, ValueError)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0ms"),
        (-3, "0ms"),
        (0.35, "350ms"),
        (0.0004, "0ms"),
        (0.9996, "1s"),
        (1, "1s"),
        (1.5, "1.5s"),
        (9.94, "9.9s"),
        (9.96, "10s"),
        (42, "42s"),
        (42.4, "42s"),
        (59.4, "59s"),
        (59.7, "1m"),
        (60, "1m"),
        (125, "2m05s"),
        (599, "9m59s"),
        (3600, "1h"),
        (3605, "1h"),
        (5400, "1h30m"),
        (86400, "1d"),
        (90061, "1d1h"),
        (183600, "2d3h"),
    ],
)
def test_format_duration_is_short_and_human(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10**7))
def test_whole_seconds_render_to_a_duration_that_parses_back_close(seconds: int) -> None:
    text = format_duration(seconds)
    parsed = parse_duration(text)
    # Rendering drops detail below its largest units: minutes past a day, seconds past an hour.
    tolerance = 3600 if seconds >= 86400 else 60 if seconds >= 3600 else 0
    assert abs(parsed - seconds) <= tolerance


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_runtime_that_is_no_finite_number_is_shown_as_it_is(value: float) -> None:
    assert format_duration(value) == str(value)
