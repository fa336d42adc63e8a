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

from pyups.address import Server, UpsAddress
from pyups.nut.errors import ADVICE, NutError


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
        return str(UpsAddress(self.ups, self.server)) if self.ups else str(self.server)


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
    advice = ADVICE.get(exc.code)
    if advice is None:
        return f"upsd answered ERR {exc.code}"
    grant = _grant(r)
    if advice.asked is None or (exc.code == "ACCESS-DENIED" and grant is None):
        todo = f"; {advice.todo}" if advice.todo else ""
        return f"{advice.what} ({exc.code}){todo}"
    return advice.asked.format(
        code=exc.code,
        ups=r.ups or "the UPS",
        user=r.user,
        login=r.user or "(no user)",
        name=r.name,
        target=r.target,
        server=r.server,
        timeout=r.timeout,
        detail=exc.detail,
        declared=_declared(known.ups, r.server),
        offered=_names(known.commands, "it offers no instant commands"),
        similar=_similar(r, known),
        grant=grant,
        password=_PASSWORD,
    )


_PASSWORD = "give it with --password-file FILE, $PYUPS_PASSWORD or the config, or at the prompt"


def _grant(r: Request) -> str | None:
    """The upsd.users line that allows what was asked; None for what any user may read."""
    if r.action == "cmd":
        return f'"instcmds = {r.name}" (or ALL)'
    if r.action == "set":
        return '"actions = SET"'
    return None


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
