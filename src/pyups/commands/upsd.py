"""What the commands that talk to upsd share: addresses, the timeout, and failing clearly."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pyups.address import AddressError, Server, UpsAddress, parse_server, parse_ups
from pyups.commands.common import EXIT_FAILURE, EXIT_USAGE, Failure, positive_duration
from pyups.commands.explain import Known, Request, explain
from pyups.commands.login import Login
from pyups.nut.errors import NutError
from pyups.nut.session import Connection
from pyups.nut.tls import Tls

if TYPE_CHECKING:
    from pyups.config import UpsConfig


def ups_address(text: str) -> UpsAddress:
    try:
        return parse_ups(text)
    except AddressError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None


def server_address(text: str) -> Server:
    try:
        return parse_server(text)
    except AddressError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None


def timeout(text: str) -> float:
    return positive_duration("--timeout", text)


def tls_settings(
    args: argparse.Namespace, entry: Callable[[], UpsConfig | None] | None = None
) -> Tls | None:
    """TLS from ``--tls``/``--ca-file``/``--no-verify``; else from the config's entry for the
    UPS (``entry``, looked up only when needed) when it has tls = true; else None."""
    if args.tls:
        return Tls(args.ca_file, not args.no_verify)
    given = [
        name
        for name, value in (("--ca-file", args.ca_file), ("--no-verify", args.no_verify))
        if value
    ]
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        raise Failure(f"{' and '.join(given)} only {verb} with --tls; add --tls", EXIT_USAGE)
    ups = entry() if entry is not None else None
    if ups is None:
        return None
    from pyups.config.views import tls_of

    return tls_of(ups)


@contextmanager
def session(
    request: Request, login: Login | None = None, tls: Tls | None = None
) -> Iterator[Connection]:
    """A connection for one command; any NutError inside becomes an explained Failure."""
    connection = Connection(
        request.server,
        timeout=request.timeout,
        username=login.user if login else None,
        password=login.password if login else None,
        tls=tls,
    )
    try:
        yield connection
    except NutError as exc:
        known = _known(exc, request, connection)
        raise Failure(explain(exc, request, known), EXIT_FAILURE) from None
    finally:
        connection.close()


def _known(exc: NutError, request: Request, connection: Connection) -> Known:
    """Ask upsd what would have been right, on the same session, when that helps the user."""
    if not exc.from_upsd:
        return Known()
    ask: dict[str, Callable[[], Any]] = {
        "UNKNOWN-UPS": lambda: Known(ups=list(connection.list_ups())),
        "CMD-NOT-SUPPORTED": lambda: Known(commands=connection.list_commands(str(request.ups))),
        "VAR-NOT-SUPPORTED": lambda: Known(variables=list(connection.list_vars(str(request.ups)))),
    }
    if exc.code not in ask or request.ups is None:
        return Known()
    try:
        known: Known = ask[exc.code]()
    except NutError:
        return Known()
    return known


def print_json(document: object) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False))
