"""upsd's answers in words: what went wrong and what to do, in one line.

The monitor only needs a reason code; a person at a shell needs to know which setting to
change. :func:`explain` knows what was asked (list, status, a command, a setting, as which
user), so ``ACCESS-DENIED`` can name the missing ``upsd.users`` line and ``UNKNOWN-UPS``
can name the UPSes the server does declare. It is pure: whatever extra it mentions
(declared UPSes, supported commands, variable names) the caller fetched beforehand.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from pyups.address import Server
from pyups.nut.errors import CLOSED, CONNECT, PROTOCOL, TIMEOUT, TLS, WAIT, NutError


@dataclass(frozen=True)
class Request:
    """What the user asked upsd for, as the error message needs it."""

    action: str  # list, status, commands, cmd or set
    server: Server
    ups: str | None = None
    name: str | None = None  # the variable or instant command
    user: str | None = None
    timeout: float = 5.0

    @property
    def target(self) -> str:
        return f"{self.ups}@{self.server}" if self.ups else str(self.server)


@dataclass(frozen=True)
class Known:
    """What the server told us after the failure, to suggest the right name."""

    ups: Sequence[str] | None = None  # the UPSes it declares
    commands: Sequence[str] | None = None  # the UPS's instant commands
    variables: Sequence[str] | None = None  # the UPS's variables


def explain(exc: NutError, request: Request, known: Known = Known()) -> str:
    """One line: where, what went wrong (with upsd's code), and what to do about it."""
    return f"{request.target}: {_sentence(exc, request, known)}"


def _sentence(exc: NutError, r: Request, known: Known) -> str:
    code = exc.code
    ups = r.ups or "the UPS"
    if code == CONNECT:
        return exc.detail
    if code == TLS:
        return exc.detail
    if code == TIMEOUT:
        return (
            f"no answer within {r.timeout:g} s; is upsd hung, or a firewall dropping packets? "
            "(--timeout waits longer)"
        )
    if code == CLOSED:
        return (
            "upsd closed the connection; its log says why "
            "(journalctl -u nut-server, or syslog on hosts without systemd)"
        )
    if code == PROTOCOL:
        return f"{exc.detail}; is this really upsd (default port 3493)?"
    if code == WAIT:
        return "upsd has no data from the driver yet (WAIT); try again in a few seconds"
    if code == "UNKNOWN-UPS":
        return f"upsd has no UPS named {ups!r} (UNKNOWN-UPS); {_declared(known.ups, r.server)}"
    if code == "DRIVER-NOT-CONNECTED":
        return (
            f"the UPS driver is not running (DRIVER-NOT-CONNECTED); start it with "
            f"`upsdrvctl start {ups}` (systemd: `systemctl start nut-driver@{ups}`)"
        )
    if code == "DATA-STALE":
        return (
            f"the UPS driver has stopped sending fresh data (DATA-STALE); check the UPS's "
            f"cable, then restart the driver: `upsdrvctl stop {ups}; upsdrvctl start {ups}`"
        )
    if code == "ACCESS-DENIED":
        return _access_denied(r)
    if code == "INVALID-PASSWORD":
        return f"upsd rejected the password for user {r.user!r} (INVALID-PASSWORD); {_PASSWORD}"
    if code == "INVALID-USERNAME":
        return f"upsd.users has no user {r.user!r} (INVALID-USERNAME); check -u or username"
    if code in ("USERNAME-REQUIRED", "PASSWORD-REQUIRED"):
        return f"upsd wants a user and password for this ({code}); pass -u USER ({_PASSWORD})"
    if code == "CMD-NOT-SUPPORTED":
        offered = _names(known.commands, "it offers no instant commands")
        return f"no instant command {r.name!r} on this UPS (CMD-NOT-SUPPORTED); {offered}"
    if code == "VAR-NOT-SUPPORTED":
        return f"no variable {r.name!r} on this UPS (VAR-NOT-SUPPORTED); {_similar(r, known)}"
    if code == "READONLY":
        return f"{r.name} is read-only (READONLY); `upsrw {r.target}` lists the writable ones"
    if code == "INVALID-VALUE":
        return (
            f"upsd refused that value for {r.name} (INVALID-VALUE); `upsrw {r.target}` shows "
            "its type and allowed values"
        )
    if code == "TOO-LONG":
        return f"the value is too long for {r.name} (TOO-LONG); `upsrw {r.target}` shows the limit"
    if code in ("INSTCMD-FAILED", "SET-FAILED"):
        what = "run" if code == "INSTCMD-FAILED" else "set"
        return (
            f"upsd accepted it but the driver could not {what} {r.name} ({code}); "
            f"the driver's log says why (journalctl -u nut-driver@{ups})"
        )
    if code in ("FEATURE-NOT-SUPPORTED", "FEATURE-NOT-CONFIGURED"):
        return f"upsd: {exc.detail} ({code}); for TLS see CERTFILE in upsd.conf"
    if code == "INVALID-ARGUMENT":
        return f"upsd rejected the request's arguments (INVALID-ARGUMENT); check {r.name!r}"
    if code == "UNKNOWN-COMMAND":
        return "upsd did not understand the request (UNKNOWN-COMMAND); is it NUT 2.8 or newer?"
    return f"upsd answered ERR {code}"


_PASSWORD = "give it with --password-file FILE, $PYUPS_PASSWORD or the config, or at the prompt"


def _access_denied(r: Request) -> str:
    user = r.user or "(no user)"
    if r.action == "cmd":
        grant = f'"instcmds = {r.name}" (or ALL)'
    elif r.action == "set":
        grant = '"actions = SET"'
    else:
        return (
            "upsd refused access (ACCESS-DENIED); it does not accept this client's address "
            "or user (upsd.conf LISTEN, upsd.users)"
        )
    return (
        f"upsd refused user {user!r} (ACCESS-DENIED): the password is wrong, or upsd.users "
        f"does not give [{user}] {grant}; reload upsd after changing it (upsd -c reload)"
    )


def _declared(names: Sequence[str] | None, server: Server) -> str:
    if names is None:
        return f"`pyups list {server}` shows the ones it declares"
    if not names:
        return "it declares none (check ups.conf, then restart upsd)"
    return "it declares: " + ", ".join(names)


def _names(names: Sequence[str] | None, none: str) -> str:
    if names is None:
        return "`pyups commands UPS` lists the ones it offers"
    return "it offers: " + ", ".join(names) if names else none


def _similar(r: Request, known: Known) -> str:
    listing = f"`pyups status {r.target}` lists them all"
    if r.name and known.variables:
        close = difflib.get_close_matches(r.name, known.variables, n=3)
        if close:
            return f"did you mean {' or '.join(close)}? {listing}"
    return listing
