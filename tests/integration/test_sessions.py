"""Sessions that count: LOGIN, PRIMARY, FSD, NUMLOGINS and LIST CLIENT against a real upsd.

upsd keeps FSD set until its driver restarts, so this module runs its own server and each
test that sets FSD starts one of its own.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest

from pyups.nut import Attach, Connection, NutError
from pyups.sim import NutServer
from tests.harness.users import upsd_users

USERS = upsd_users()


@pytest.fixture(scope="module")
def upsd() -> Iterator[NutServer]:
    with NutServer(extra_users=USERS) as server:
        yield server


def session(nut: NutServer, user: str, password: str, attach: Attach | None) -> Connection:
    return Connection(nut.server, 5.0, user, password, attach=attach)


def counted(nut: NutServer) -> int:
    observer = Connection(nut.server, 5.0)
    try:
        return observer.num_logins("eaton800")
    finally:
        observer.close()


def test_a_secondary_session_is_counted_by_upsd_and_listed_as_a_client(
    upsd: NutServer,
) -> None:
    before = counted(upsd)
    conn = session(upsd, "monsecondary", "secondary-secret", Attach("eaton800"))
    try:
        conn.list_vars("eaton800")
        assert conn.attached and conn.attach_error is None
        assert counted(upsd) == before + 1
        assert "127.0.0.1" in conn.list_clients("eaton800")
    finally:
        conn.close()
    assert counted(upsd) == before


def test_a_session_logs_in_again_after_its_connection_broke(upsd: NutServer) -> None:
    before = counted(upsd)
    conn = session(upsd, "monsecondary", "secondary-secret", Attach("eaton800"))
    try:
        conn.list_vars("eaton800")
        assert conn._client is not None
        conn._client.sock.shutdown(socket.SHUT_RDWR)  # the network drops it
        with pytest.raises(NutError):
            conn.list_vars("eaton800")
        assert not conn.connected and not conn.attached
        conn.list_vars("eaton800")
        assert conn.attached
        assert counted(upsd) == before + 1
    finally:
        conn.close()


def test_a_user_without_upsmon_rights_still_polls_and_is_told_which_line_to_add(
    upsd: NutServer,
) -> None:
    before = counted(upsd)
    conn = session(upsd, "watcher", "watcher-secret", Attach("eaton800"))
    try:
        assert conn.list_vars("eaton800")["ups.status"]
        assert not conn.attached
        error = conn.attach_error
        assert error is not None and error.code == "ACCESS-DENIED"
        assert "`upsmon secondary` under [watcher] in upsd.users" in error.detail
        assert counted(upsd) == before
    finally:
        conn.close()


def test_a_secondary_may_not_claim_primary_and_is_told_to_add_upsmon_primary(
    upsd: NutServer,
) -> None:
    conn = session(upsd, "monsecondary", "secondary-secret", Attach("eaton800", primary=True))
    try:
        conn.list_vars("eaton800")
        error = conn.attach_error
        assert error is not None and error.code == "ACCESS-DENIED"
        assert "`upsmon primary` under [monsecondary]" in error.detail
        assert "secondary-secret" not in str(error)
    finally:
        conn.close()


def test_a_wrong_password_is_refused_at_login_and_never_echoed(upsd: NutServer) -> None:
    conn = session(upsd, "monsecondary", "not-the-password", Attach("eaton800"))
    try:
        conn.list_vars("eaton800")
        error = conn.attach_error
        assert error is not None and "check the password" in error.detail
        assert "not-the-password" not in str(error)
    finally:
        conn.close()


def test_a_primary_sets_fsd_which_every_host_then_sees_in_ups_status() -> None:
    with NutServer(extra_users=USERS) as nut:
        conn = session(nut, "monprimary", "primary-secret", Attach("eaton800", primary=True))
        try:
            conn.list_vars("eaton800")
            assert conn.attached, conn.attach_error
            conn.set_fsd("eaton800")
            with contextlib.closing(Connection(nut.server, 5.0)) as observer:
                status = observer.list_vars("eaton800")["ups.status"]
            assert status.split()[0] == "FSD"  # upsd puts it first: "FSD OL CHRG"
        finally:
            conn.close()


def test_fsd_without_primary_rights_is_access_denied(upsd: NutServer) -> None:
    conn = session(upsd, "monsecondary", "secondary-secret", Attach("eaton800"))
    try:
        with pytest.raises(NutError) as caught:
            conn.set_fsd("eaton800")
        assert caught.value.code == "ACCESS-DENIED"
    finally:
        conn.close()


def test_numlogins_of_an_unknown_ups_is_upsd_s_error(upsd: NutServer) -> None:
    conn = Connection(upsd.server, 5.0)
    try:
        with pytest.raises(NutError) as caught:
            conn.num_logins("nosuchups")
        assert caught.value.code == "UNKNOWN-UPS"
    finally:
        conn.close()
