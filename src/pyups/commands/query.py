"""``pyups list``, ``status`` and ``commands``: upsc and ``upscmd -l`` with clear errors and JSON.

Plain output is exactly what ``upsc -L``, ``upsc`` and ``upscmd -l`` print, so scripts
that parse those keep working; ``--json`` prints one document (keys in the README).
"""

from __future__ import annotations

import argparse

from pyups.commands.common import EXIT_OK
from pyups.commands.explain import Request
from pyups.commands.upsd import (
    print_json,
    server_address,
    session,
    timeout,
    tls_settings,
    ups_address,
)


def list_main(args: argparse.Namespace) -> int:
    server = server_address(args.host)
    tls = tls_settings(args)
    with session(Request("list", server, timeout=timeout(args.timeout)), tls=tls) as upsd:
        declared = upsd.list_ups()
    if args.json:
        print_json(
            {
                "server": str(server),
                "ups": [{"name": n, "description": d} for n, d in declared.items()],
            }
        )
    else:
        for name, description in declared.items():
            print(f"{name}: {description}")
    return EXIT_OK


def status_main(args: argparse.Namespace) -> int:
    address = ups_address(args.ups)
    request = Request(
        "status", address.server, address.name, args.var, timeout=timeout(args.timeout)
    )
    tls = tls_settings(args)
    if args.var is not None:
        with session(request, tls=tls) as upsd:
            value = upsd.get_var(address.name, args.var)
        if args.json:
            print_json(
                {
                    "ups": address.name,
                    "server": str(address.server),
                    "var": args.var,
                    "value": value,
                }
            )
        else:
            print(value)
        return EXIT_OK
    with session(request, tls=tls) as upsd:
        variables = upsd.list_vars(address.name)
    if args.json:
        print_json({"ups": address.name, "server": str(address.server), "vars": dict(variables)})
    else:
        for name, value in variables.items():
            print(f"{name}: {value}")
    return EXIT_OK


def commands_main(args: argparse.Namespace) -> int:
    address = ups_address(args.ups)
    request = Request("commands", address.server, address.name, timeout=timeout(args.timeout))
    with session(request, tls=tls_settings(args)) as upsd:
        names = upsd.list_commands(address.name)
        described = {c: upsd.command_description(address.name, c) for c in names}
    if args.json:
        print_json(
            {
                "ups": address.name,
                "server": str(address.server),
                "commands": [{"name": c, "description": d} for c, d in described.items()],
            }
        )
    else:
        print(f"Instant commands supported on UPS [{address.name}]:\n")
        for command, description in described.items():
            print(f"{command} - {description}")
    return EXIT_OK
