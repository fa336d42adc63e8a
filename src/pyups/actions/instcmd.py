"""The ``instcmd`` action: an instant command to the UPS the event is about, through its upsd."""

from __future__ import annotations

from collections.abc import Mapping

from pyups.actions.outcome import Outcome
from pyups.address import AddressError, parse_server
from pyups.core.events import Event
from pyups.core.rules import ActionRequest, InstcmdAction, describe
from pyups.nut import Connection, NutError
from pyups.nut.tls import Tls

Credentials = Mapping[tuple[str, str], tuple[str | None, str | None]]


def run_instcmd(
    action: InstcmdAction,
    event: Event,
    credentials: Credentials,
    timeout: float,
    tls: Mapping[tuple[str, str], Tls] | None = None,
) -> Outcome:
    """Send the command and report upsd's answer; never raises for a refusal or a dead server.

    ``tls`` holds the TLS settings of the UPSes configured with tls = true: the command goes
    over the same kind of session as the polls, never in clear text when they are encrypted.
    """
    what = describe(ActionRequest(action, event))
    key = (event.ups, event.server)
    username, password = credentials.get(key, (None, None))
    try:
        connection = Connection(
            parse_server(event.server), timeout, username, password, (tls or {}).get(key)
        )
    except AddressError as exc:
        return Outcome("error", f"{what}: cannot run: {exc}", ok=False)
    try:
        connection.instcmd(event.ups, action.command, action.value)
    except NutError as exc:
        return Outcome(exc.code, f"{what}: {_refusal(exc, username, action.command)}", ok=False)
    finally:
        connection.close()
    return Outcome("ok", f"{what}: accepted by upsd", ok=True)


def _refusal(exc: NutError, username: str | None, command: str) -> str:
    """upsd's answer in words; names the user (never the password) when access was denied."""
    if not exc.from_upsd:
        return f"failed: {exc.code} ({exc.detail})"
    detail = exc.detail
    if exc.code == "ACCESS-DENIED" and username:
        detail = (
            f"user {username!r} has a wrong password or lacks `instcmds = {command}` "
            "(or ALL) in upsd.users"
        )
    elif exc.code == "USERNAME-REQUIRED":
        detail = "no username is configured for this UPS; set username and password in [[ups]]"
    return f"refused by upsd: {exc.code} ({detail})"
