"""The ``instcmd`` action: an instant command to the UPS the event is about, through its upsd."""

from __future__ import annotations

from collections.abc import Mapping

from pyups.actions.outcome import Outcome
from pyups.address import UpsAddress
from pyups.core.events import Event
from pyups.core.rules import ActionRequest, InstcmdAction, describe
from pyups.nut import Connection, NutError
from pyups.nut.errors import ADVICE
from pyups.nut.tls import Tls

Credentials = Mapping[UpsAddress, tuple[str | None, str | None]]  # (username, password)


def run_instcmd(
    action: InstcmdAction,
    event: Event,
    credentials: Credentials,
    timeout: float,
    tls: Mapping[UpsAddress, Tls] | None = None,
) -> Outcome:
    """Send the command and report upsd's answer; never raises for a refusal or a dead server.

    ``tls`` holds the TLS settings of the UPSes configured with tls = true: the command goes
    over the same kind of session as the polls, never in clear text when they are encrypted.
    """
    what = describe(ActionRequest(action, event))
    ups = event.address
    username, password = credentials.get(ups, (None, None))
    connection = Connection(ups.server, timeout, username, password, (tls or {}).get(ups))
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
    advice = ADVICE.get(exc.code)
    detail = exc.detail
    # The words for a login from [[ups]]; an ACCESS-DENIED without a user is upsd's plain one.
    if (
        advice is not None
        and advice.configured is not None
        and (username or exc.code != "ACCESS-DENIED")
    ):
        detail = advice.configured.format(user=username, name=command)
    return f"refused by upsd: {exc.code} ({detail})"
