"""Unit tests for pyups.address: NUT's UPS[@HOST[:PORT]] and HOST[:PORT] syntax."""

from __future__ import annotations

import pytest

from pyups.address import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    AddressError,
    Server,
    UpsAddress,
    parse_server,
    parse_ups,
)


def test_the_defaults_are_localhost_and_3493() -> None:
    assert (DEFAULT_HOST, DEFAULT_PORT) == ("localhost", 3493)


@pytest.mark.parametrize(
    ("text", "name", "host", "port"),
    [
        ("eaton800", "eaton800", "localhost", 3493),
        ("eaton800@host", "eaton800", "host", 3493),
        ("eaton800@host:3494", "eaton800", "host", 3494),
        ("eaton800@ups-host.example.com:1", "eaton800", "ups-host.example.com", 1),
        ("eaton800@192.0.2.7:65535", "eaton800", "192.0.2.7", 65535),
        ("ups@[::1]:3493", "ups", "::1", 3493),
        ("ups@[::1]", "ups", "::1", 3493),
        ("ups@[fe80::1%eth0]:4000", "ups", "fe80::1%eth0", 4000),
        ("  my_ups-2.a@host  ", "my_ups-2.a", "host", 3493),
    ],
)
def test_ups_addresses_are_parsed(text: str, name: str, host: str, port: int) -> None:
    assert parse_ups(text) == UpsAddress(name, Server(host, port))


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("host", "host", 3493),
        ("host:3494", "host", 3494),
        ("[::1]:1", "::1", 1),
        ("[2001:db8::5]", "2001:db8::5", 3493),
        ("10.0.0.1:3493", "10.0.0.1", 3493),
        ("", "localhost", 3493),
        ("  host  ", "host", 3493),
    ],
)
def test_servers_are_parsed(text: str, host: str, port: int) -> None:
    assert parse_server(text) == Server(host, port)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@host", "'@host': missing UPS name (write UPS@HOST[:PORT], e.g. eaton800@localhost)"),
        ("", "'': missing UPS name (write UPS@HOST[:PORT], e.g. eaton800@localhost)"),
        ("ups@", "'ups@': missing host after '@'"),
        ("ups@host:0", "'host:0': port '0' must be a number from 1 to 65535"),
        ("ups@host:99999", "'host:99999': port '99999' must be a number from 1 to 65535"),
        ("ups@host:65536", "'host:65536': port '65536' must be a number from 1 to 65535"),
        ("ups@host:http", "'host:http': port 'http' must be a number from 1 to 65535"),
        ("ups@host:-1", "'host:-1': port '-1' must be a number from 1 to 65535"),
        ("ups@host:³", "'host:³': port '³' must be a number from 1 to 65535"),
        ("ups@host:", "'host:': missing port after ':'"),
        ("ups@::1", "'::1': write IPv6 addresses in brackets, e.g. [::1]:3493"),
        ("ups@[::1", "'[::1': unclosed '[' in IPv6 address (write [::1]:3493)"),
        ("ups@[]:3493", "'[]:3493': empty IPv6 address"),
        ("ups@[::1]3493", "'[::1]3493': expected ':PORT' after ']'"),
        ("ups@[::1]:", "'[::1]:': missing port after ':'"),
        ("ups@:3493", "':3493': missing host name"),
        ("ups@ho st", "'ho st': 'ho st' is not a valid host name"),
        ("ups@host/x", "'host/x': 'host/x' is not a valid host name"),
        ("my ups@host", "'my ups@host': 'my ups' is not a valid UPS name"),
        ("ups/1", "'ups/1': 'ups/1' is not a valid UPS name"),
        ('"ups"', "'\"ups\"': '\"ups\"' is not a valid UPS name"),
    ],
)
def test_bad_ups_addresses_are_errors_that_say_why(text: str, message: str) -> None:
    with pytest.raises(AddressError) as info:
        parse_ups(text)
    assert str(info.value) == message


def test_address_errors_are_value_errors() -> None:
    assert issubclass(AddressError, ValueError)


@pytest.mark.parametrize(
    ("address", "text"),
    [
        (UpsAddress("eaton800", Server("localhost")), "eaton800@localhost:3493"),
        (UpsAddress("eaton800", Server("host", 3494)), "eaton800@host:3494"),
        (UpsAddress("ups", Server("::1")), "ups@[::1]:3493"),
    ],
)
def test_str_is_the_full_address(address: UpsAddress, text: str) -> None:
    assert str(address) == text
    assert parse_ups(text) == address


@pytest.mark.parametrize(
    "text",
    ["eaton800", "eaton800@host", "eaton800@host:3494", "ups@[::1]:3493", "ups@[::1]"],
)
def test_str_round_trips_through_parse_ups(text: str) -> None:
    address = parse_ups(text)
    assert parse_ups(str(address)) == address


@pytest.mark.parametrize("text", ["host", "host:1", "[::1]:1", "[2001:db8::5]", ""])
def test_server_str_round_trips_through_parse_server(text: str) -> None:
    server = parse_server(text)
    assert parse_server(str(server)) == server


def test_server_str_brackets_ipv6_hosts() -> None:
    assert str(Server("::1", 1)) == "[::1]:1"
    assert str(Server("localhost")) == "localhost:3493"
