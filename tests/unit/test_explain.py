"""Every upsd error code becomes one line that says what went wrong and what to do."""

from __future__ import annotations

import pytest

from pyups.address import Server
from pyups.commands.explain import Known, Request, explain
from pyups.nut.errors import DESCRIPTIONS, NutError

SERVER = Server("ups-host", 3493)
CMD = Request("cmd", SERVER, "eaton800", "beeper.disable", "monuser")
SET = Request("set", SERVER, "eaton800", "ups.delay.shutdown", "monuser")
STATUS = Request("status", SERVER, "eaton800", "battery.chrage")


@pytest.mark.parametrize("code", sorted(DESCRIPTIONS))
def test_every_code_is_one_line_naming_the_target_and_the_code(code: str) -> None:
    line = explain(NutError(code), CMD)
    assert "\n" not in line
    assert line.startswith("eaton800@ups-host:3493: ")
    if code not in ("CONNECT", "TIMEOUT", "CLOSED", "PROTOCOL"):
        assert code in line


def test_an_unknown_code_is_still_reported() -> None:
    assert explain(NutError("NEW-THING"), STATUS) == (
        "eaton800@ups-host:3493: upsd answered ERR NEW-THING"
    )


def test_access_denied_names_the_missing_upsd_users_line() -> None:
    assert '[monuser] "instcmds = beeper.disable" (or ALL)' in explain(
        NutError("ACCESS-DENIED"), CMD
    )
    assert '[monuser] "actions = SET"' in explain(NutError("ACCESS-DENIED"), SET)
    assert "the password is wrong" in explain(NutError("ACCESS-DENIED"), SET)


def test_driver_not_connected_says_how_to_start_the_driver() -> None:
    line = explain(NutError("DRIVER-NOT-CONNECTED"), STATUS)
    assert "`upsdrvctl start eaton800`" in line


def test_unknown_ups_lists_what_the_server_declares() -> None:
    error = NutError("UNKNOWN-UPS")
    assert explain(error, STATUS, Known(ups=["a", "b"])).endswith("it declares: a, b")
    assert "declares none" in explain(error, STATUS, Known(ups=[]))
    assert "`pyups list ups-host:3493`" in explain(error, STATUS)


def test_unsupported_command_lists_the_supported_ones() -> None:
    line = explain(NutError("CMD-NOT-SUPPORTED"), CMD, Known(commands=["load.off", "beeper.mute"]))
    assert line.endswith("it offers: load.off, beeper.mute")


def test_unknown_variable_suggests_close_names() -> None:
    known = Known(variables=["battery.charge", "battery.runtime", "ups.load"])
    line = explain(NutError("VAR-NOT-SUPPORTED"), STATUS, known)
    assert "did you mean battery.charge or battery.runtime?" in line


def test_a_timeout_names_the_time_waited() -> None:
    request = Request("list", SERVER, timeout=2.5)
    assert explain(NutError("TIMEOUT"), request) == (
        "ups-host:3493: no answer within 2.5 s; is upsd hung, or a firewall dropping packets? "
        "(--timeout waits longer)"
    )
