"""Unit tests for pyups.nut.protocol: splitting reply lines, quoting values, ERR and LIST."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyups.nut.errors import PROTOCOL, NutError
from pyups.nut.protocol import check_error, parse_list, parse_ups_list, quote, split_line


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("", []),
        ("   ", []),
        ("BEGIN LIST VAR eaton800", ["BEGIN", "LIST", "VAR", "eaton800"]),
        ('VAR eaton800 ups.status "OL CHRG"', ["VAR", "eaton800", "ups.status", "OL CHRG"]),
        ('VAR ups ups.alarm ""', ["VAR", "ups", "ups.alarm", ""]),
        (r'VAR ups x "say \"hi\""', ["VAR", "ups", "x", 'say "hi"']),
        (r'VAR ups x "C:\\dir"', ["VAR", "ups", "x", "C:\\dir"]),
        (r'VAR ups x "a \# b"', ["VAR", "ups", "x", "a # b"]),
        ('VAR ups x "# not a comment"', ["VAR", "ups", "x", "# not a comment"]),
        ('VAR\tups\t\tx\t"a\tb"', ["VAR", "ups", "x", "a\tb"]),
        ("  leading   and trailing  ", ["leading", "and", "trailing"]),
        (r"un\ quoted", ["un quoted"]),
        (r'"a\"b" "c"', ['a"b', "c"]),
        ('"a"b', ["a", "b"]),
        ("trailing\\", ["trailing\\"]),
    ],
)
def test_split_line_handles_quotes_escapes_and_tabs(line: str, words: list[str]) -> None:
    assert split_line(line) == words


@pytest.mark.parametrize(
    "line",
    ['VAR ups x "unterminated', 'VAR ups x "ends with an escaped quote\\"', '"', 'x "\\'],
)
def test_an_unterminated_quote_is_a_protocol_error(line: str) -> None:
    with pytest.raises(NutError) as info:
        split_line(line)
    assert info.value.code == PROTOCOL
    assert info.value.detail.startswith("unterminated quoted value in ")
    assert not info.value.from_upsd


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("", '""'),
        ("OL CHRG", '"OL CHRG"'),
        ('say "hi"', r'"say \"hi\""'),
        ("C:\\dir", r'"C:\\dir"'),
        ("a # b", r'"a \# b"'),
        ('\\"', r'"\\\""'),
    ],
)
def test_quote_escapes_backslashes_quotes_and_hashes(value: str, quoted: str) -> None:
    assert quote(value) == quoted


@given(st.text().filter(lambda text: "\n" not in text and "\r" not in text))
def test_quote_round_trips_through_split_line(value: str) -> None:
    assert split_line(f"SET VAR ups x {quote(value)}") == ["SET", "VAR", "ups", "x", value]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("ERR DATA-STALE", "DATA-STALE"),
        ("ERR ACCESS-DENIED", "ACCESS-DENIED"),
        ("ERR UNKNOWN-UPS extra words here", "UNKNOWN-UPS"),
        ("ERR ", "UNKNOWN"),
    ],
)
def test_check_error_raises_the_err_code(line: str, code: str) -> None:
    with pytest.raises(NutError) as info:
        check_error(line)
    assert info.value.code == code


def test_check_error_explains_known_codes() -> None:
    with pytest.raises(NutError) as info:
        check_error("ERR DATA-STALE")
    assert str(info.value) == (
        "DATA-STALE: the driver stopped updating (data stale); check the UPS cable and the driver"
    )
    assert info.value.from_upsd


@pytest.mark.parametrize(
    "line",
    ["OK", 'VAR eaton800 ups.status "OL"', "BEGIN LIST VAR eaton800", "END LIST VAR ups", ""],
)
def test_check_error_lets_normal_lines_pass(line: str) -> None:
    assert check_error(line) is None


def test_parse_list_reads_var_lines() -> None:
    lines = [
        'VAR eaton800 ups.status "OL CHRG"',
        'VAR eaton800 battery.charge "100"',
        r'VAR eaton800 ups.alarm "Fan \"A\" failed"',
        'VAR eaton800 device.serial ""',
    ]
    assert parse_list(lines, "VAR", "eaton800") == {
        "ups.status": "OL CHRG",
        "battery.charge": "100",
        "ups.alarm": 'Fan "A" failed',
        "device.serial": "",
    }


def test_parse_list_reads_cmd_lines_with_empty_values() -> None:
    lines = ["CMD eaton800 beeper.disable", "CMD eaton800 test.battery.start.quick"]
    assert parse_list(lines, "CMD", "eaton800") == {
        "beeper.disable": "",
        "test.battery.start.quick": "",
    }


def test_parse_list_reads_rw_lines() -> None:
    lines = ['RW eaton800 input.transfer.low "160"']
    assert parse_list(lines, "RW", "eaton800") == {"input.transfer.low": "160"}


def test_parse_list_of_nothing_is_empty() -> None:
    assert parse_list([], "VAR", "eaton800") == {}


@pytest.mark.parametrize(
    ("lines", "kind"),
    [
        (['VAR other ups.status "OL"'], "VAR"),
        (['VAR eaton800 ups.status "OL"', "garbage"], "VAR"),
        (["VAR eaton800"], "VAR"),
        (['RW eaton800 ups.status "OL"'], "VAR"),
        (["VAR eaton800 beeper.disable"], "CMD"),
        (["\x00\xff\x7f"], "VAR"),
        ([""], "VAR"),
        (['VAR eaton800 ups.status "OL'], "VAR"),
    ],
)
def test_parse_list_rejects_wrong_ups_names_and_garbage(lines: list[str], kind: str) -> None:
    with pytest.raises(NutError) as info:
        parse_list(lines, kind, "eaton800")
    assert info.value.code == PROTOCOL


def test_parse_ups_list_reads_names_and_descriptions() -> None:
    lines = ['UPS eaton800 "Eaton 800 \\"office\\""', 'UPS rack2 ""']
    assert parse_ups_list(lines) == {"eaton800": 'Eaton 800 "office"', "rack2": ""}


@pytest.mark.parametrize("line", ["UPS eaton800", 'VAR eaton800 x "1"', 'UPS a "b" c'])
def test_parse_ups_list_refuses_other_lines(line: str) -> None:
    with pytest.raises(NutError) as caught:
        parse_ups_list([line])
    assert caught.value.code == "PROTOCOL"
