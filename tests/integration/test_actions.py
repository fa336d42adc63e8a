"""The instcmd action against a real upsd 2.8 + dummy-ups, and what upsd actually answers.

dummy-ups (2.8.0) declares exactly one instant command, ``load.off``, whatever the ``.dev`` file
says: the ``#CMD:`` lines in eaton800.dev are comments to it, so upsd refuses ``beeper.toggle``
with CMD-NOT-SUPPORTED even for an admin. upsd checks that the UPS has the command *before* it
checks the user, so ACCESS-DENIED only shows for ``load.off``. A wrong password is not noticed
at login either (upsd accepts any PASSWORD line); the INSTCMD then gets ACCESS-DENIED.
Accepting ``load.off`` is harmless here: dummy-ups only logs it as an unknown command.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping

import pytest

from pyups.address import UpsAddress
from pyups.core.events import Event
from pyups.core.rules import ActionRequest, InstcmdAction
from pyups.nut import Connection, NutError
from pyups.sim import NutServer
from tests.harness.dispatch import dispatched

Credentials = Mapping[UpsAddress, tuple[str | None, str | None]]


def rule_event(nut: NutServer) -> Event:
    return Event(
        name="RULE",
        ups="eaton800",
        server=nut.server,
        t=time.time(),
        status="OB DISCHRG",
        prev_status="OL",
        vars={"battery.charge": "40"},
        rule="outage",
        priority="crit",
        message="UPS eaton800 on battery",
    )


def instcmd(
    nut: NutServer, command: str, credentials: Credentials, value: str | None = None
) -> Event:
    """Run one instcmd action through a Dispatcher; its ACTION event."""
    request = ActionRequest(InstcmdAction(command, value), rule_event(nut))
    [event] = dispatched([request], credentials=credentials, nut_timeout=5.0)
    assert event.name == "ACTION"
    assert event.rule == "outage"
    return event


def admin(nut: NutServer) -> Credentials:
    return {UpsAddress("eaton800", nut.server): (nut.admin_user, nut.admin_password)}


def test_dummy_ups_declares_only_load_off(nut: NutServer) -> None:
    with socket.create_connection((nut.server.host, nut.server.port), 5.0) as sock:
        sock.sendall(b"LIST CMD eaton800\n")
        reply = b""
        while not reply.endswith(b"END LIST CMD eaton800\n"):
            chunk = sock.recv(4096)
            assert chunk, f"upsd closed after {reply!r}"
            reply += chunk
    assert reply.decode().splitlines() == [
        "BEGIN LIST CMD eaton800",
        "CMD eaton800 load.off",
        "END LIST CMD eaton800",
    ]


def test_instcmd_the_ups_declares_is_accepted_with_admin_credentials(nut: NutServer) -> None:
    event = instcmd(nut, "load.off", admin(nut))

    assert event.reason == "ok"
    assert event.priority == "info"
    assert event.outcome == f"instcmd load.off on eaton800@{nut.server}: accepted by upsd"
    assert nut.admin_password not in event.outcome


def test_instcmd_with_a_value_is_accepted(nut: NutServer) -> None:
    event = instcmd(nut, "load.off", admin(nut), value="5")

    assert event.reason == "ok"
    assert (
        event.outcome == f"instcmd load.off 5 on eaton800@{nut.server}: accepted by upsd"
    )


def test_commands_listed_only_as_comments_in_the_dev_file_are_not_supported(
    nut: NutServer,
) -> None:
    event = instcmd(nut, "beeper.toggle", admin(nut))

    assert event.reason == "CMD-NOT-SUPPORTED"
    assert event.priority == "err"
    assert event.outcome == (
        f"instcmd beeper.toggle on eaton800@{nut.server}: refused by upsd: CMD-NOT-SUPPORTED "
        "(the UPS does not support this instant command)"
    )


def test_a_command_the_ups_does_not_have_is_cmd_not_supported(nut: NutServer) -> None:
    event = instcmd(nut, "no.such.command", admin(nut))

    assert event.reason == "CMD-NOT-SUPPORTED"
    assert event.priority == "err"


def test_a_user_without_instcmds_rights_gets_access_denied() -> None:
    with NutServer(extra_users="[viewer]\n  password = viewer-secret\n") as server:
        credentials = {UpsAddress("eaton800", server.server): ("viewer", "viewer-secret")}
        event = instcmd(server, "load.off", credentials)

    assert event.reason == "ACCESS-DENIED"
    assert event.priority == "err"
    message = event.outcome
    assert message.startswith(
        f"instcmd load.off on eaton800@{server.server}: refused by upsd: ACCESS-DENIED ("
    )
    assert "'viewer'" in message
    assert "instcmds = load.off" in message
    assert "viewer-secret" not in message


def test_a_wrong_password_gets_access_denied(nut: NutServer) -> None:
    wrong = "not-the-password-" + nut.admin_password[:4]
    event = instcmd(nut, "load.off", {UpsAddress("eaton800", nut.server): (nut.admin_user, wrong)})

    assert event.reason == "ACCESS-DENIED"
    assert event.priority == "err"
    assert wrong not in event.outcome
    assert nut.admin_password not in event.outcome


def test_no_credentials_for_the_ups_gets_username_required(nut: NutServer) -> None:
    event = instcmd(nut, "load.off", {})

    assert event.reason == "USERNAME-REQUIRED"
    assert event.priority == "err"
    assert "set username and password" in event.outcome


def test_credentials_are_looked_up_by_ups_and_server(nut: NutServer) -> None:
    other_server = {("eaton800", "127.0.0.1:1"): (nut.admin_user, nut.admin_password)}

    assert instcmd(nut, "load.off", other_server).reason == "USERNAME-REQUIRED"


def test_connection_instcmd_raises_upsd_error_codes(nut: NutServer) -> None:
    conn = Connection(nut.server, 5.0, nut.admin_user, nut.admin_password)
    try:
        conn.instcmd("eaton800", "load.off")
        conn.instcmd("eaton800", "load.off", 'a "quoted" #value')
        with pytest.raises(NutError) as caught:
            conn.instcmd("eaton800", "beeper.toggle")
        assert caught.value.code == "CMD-NOT-SUPPORTED"
        with pytest.raises(NutError) as caught:
            conn.instcmd("nosuchups", "load.off")
        assert caught.value.code == "UNKNOWN-UPS"
        conn.instcmd("eaton800", "load.off")  # the connection survives ERR replies
    finally:
        conn.close()
