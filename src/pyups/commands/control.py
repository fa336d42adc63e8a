"""``pyups cmd`` and ``pyups set``: upscmd and ``upsrw -s`` without a password in argv.

Credentials come from :mod:`pyups.commands.login`. Values travel quoted and escaped, so a
value with spaces or quotes reaches the driver exactly as typed.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable

from pyups.address import UpsAddress
from pyups.commands.common import EXIT_OK, EXIT_USAGE, Failure
from pyups.commands.explain import Request
from pyups.commands.login import Sources, config_entry, resolve
from pyups.commands.upsd import print_json, session, timeout, tls_settings, ups_address
from pyups.config import UpsConfig


def cmd_main(args: argparse.Namespace) -> int:
    address = ups_address(args.ups)
    seconds = timeout(args.timeout)
    entry = _entry(args, address)
    tls = tls_settings(args, entry)
    login = resolve(address, "cmd", _sources(args), entry)
    request = Request("cmd", address.server, address.name, args.command, login.user, seconds)
    with session(request, login, tls) as upsd:
        upsd.instcmd(address.name, args.command, args.value)
    _done(
        args.json,
        {
            "ups": address.name,
            "server": str(address.server),
            "user": login.user,
            "command": args.command,
            "value": args.value,
            "result": "OK",
        },
    )
    return EXIT_OK


def set_main(args: argparse.Namespace) -> int:
    address = ups_address(args.ups)
    var, value = _assignment(args.assignment)
    seconds = timeout(args.timeout)
    entry = _entry(args, address)
    tls = tls_settings(args, entry)
    login = resolve(address, "set", _sources(args), entry)
    request = Request("set", address.server, address.name, var, login.user, seconds)
    with session(request, login, tls) as upsd:
        upsd.set_var(address.name, var, value)
    _done(
        args.json,
        {
            "ups": address.name,
            "server": str(address.server),
            "user": login.user,
            "var": var,
            "value": value,
            "result": "OK",
        },
    )
    return EXIT_OK


def _assignment(text: str) -> tuple[str, str]:
    var, equals, value = text.partition("=")
    var = var.strip()
    if not equals or not var or any(c.isspace() for c in var):
        raise Failure(
            f"expected VAR=VALUE, got {text!r}; e.g. pyups set eaton800 "
            "'ups.delay.shutdown=60' (quote the whole word if VALUE has spaces)",
            EXIT_USAGE,
        )
    return var, value


def _entry(args: argparse.Namespace, address: UpsAddress) -> Callable[[], UpsConfig | None]:
    """The config's entry for the UPS, read at most once: for its TLS settings (a password
    for an upsd the config reaches over TLS never travels in clear text from the command
    line) and for its login."""
    return functools.cache(lambda: config_entry(address, args.config))


def _sources(args: argparse.Namespace) -> Sources:
    return Sources(user=args.user, password_file=args.password_file, config=args.config)


def _done(as_json: bool, document: dict[str, object]) -> None:
    if as_json:
        print_json(document)
    else:
        print("OK")
