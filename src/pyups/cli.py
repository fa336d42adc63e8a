"""Argument parsing only: each command is a function in :mod:`pyups.commands`.

Exit codes: 0 success, 1 runtime failure, 2 usage, 78 configuration error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pyups import __version__
from pyups.commands import check_config, demo, replay, run
from pyups.commands.common import EXIT_CONFIG, EXIT_FAILURE, Failure
from pyups.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyups",
        description="Monitor UPSes through NUT's upsd and record every event in the journal.",
    )
    parser.add_argument("--version", action="version", version=f"pyups {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="monitor in the foreground (the systemd way)")
    _config_option(p)
    p.add_argument(
        "ups",
        nargs="*",
        metavar="UPS@HOST[:PORT]",
        help="monitor these UPSes instead of the file's [[ups]] list",
    )
    p.add_argument("--interval", metavar="DUR", help="poll period, e.g. 5s or 500ms")
    p.add_argument("--dry-run", action="store_true", help="log what actions would do, do nothing")
    p.add_argument("--record", metavar="TRACE", help="also append every poll result to TRACE")
    p.set_defaults(func=run.main)

    p = sub.add_parser("check-config", help="validate a configuration file, report every error")
    _config_option(p)
    p.set_defaults(func=check_config.main)

    p = sub.add_parser("replay", help="run events and rules over a recorded trace, run nothing")
    _config_option(p, ", if it exists")
    p.add_argument("trace", metavar="TRACE", help="a trace written by pyups run --record")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=replay.main)

    p = sub.add_parser("demo", help="play a power cut on a private simulated Eaton 800")
    p.set_defaults(func=demo.main)
    return parser


def _config_option(parser: argparse.ArgumentParser, default_note: str = "") -> None:
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help=f"configuration file (default: $PYUPS_CONFIG or /etc/pyups/pyups.conf{default_note})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch, and turn every expected failure into one line and an exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except ConfigError as exc:
        for line in exc.errors:
            print(f"pyups: {line}", file=sys.stderr)
        return EXIT_CONFIG
    except Failure as exc:
        print(f"pyups: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_FAILURE
