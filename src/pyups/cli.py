"""Argument parsing only: each command is a function in :mod:`pyups.commands`.

Exit codes: 0 success, 1 runtime failure, 2 usage, 78 configuration error.

A sub-command names its function as ``"MODULE.FUNCTION"`` of :mod:`pyups.commands`
(``p.set_defaults(func="run.main")``); :func:`main` imports that one module when the command
runs, so ``pyups --help`` or ``pyups status`` never load the monitor, the rule grammar or
the simulator. Nothing from :mod:`pyups.commands` is imported at the top of this file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pyups import __version__

# Defaults shown in --help, kept here so that help loads no command module; the commands
# use the same values (tests/unit/test_cli_lazy.py checks they agree).
DEFAULT_PIDFILE = "/run/pyups/pyups.pid"
DEFAULT_FLAG = "/run/pyups/killpower"
EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 78


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, given its width the way shutil would find it: argparse makes one
    for every argument it is given, and left to find the width itself each imports shutil
    (with bz2 and lzma), half a MiB in a daemon that never prints a help text."""

    def __init__(self, prog: str) -> None:
        try:
            columns = int(os.environ.get("COLUMNS", ""))
        except ValueError:
            try:
                columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
            except (AttributeError, ValueError, OSError):
                columns = 80
        super().__init__(prog, width=max(columns, 12) - 2)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose sub-command parsers use :class:`_Formatter` too, and that
    refuses an argument it does not know itself.

    argparse hands a sub-command's unknown arguments up to the top-level parser, which then
    shows ``pyups``'s own usage (``pyups [-h] [--version] COMMAND ...``) for a mistyped
    option of ``pyups events``; refused here, the error shows the command's usage instead.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def parse_known_args(  # type: ignore[override]  # typeshed overloads it on the namespace
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extra = super().parse_known_args(args, namespace)
        if extra:
            self.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed, extra


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    p.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve Prometheus metrics on /metrics there (overrides [metrics] listen)",
    )
    p.set_defaults(func="run.main")

    p = sub.add_parser("daemon", help="the monitor detached in the background, with a pidfile")
    _config_option(p)
    _pidfile_option(p)
    p.set_defaults(func="daemon.daemon_main", ups=[], interval=None, dry_run=False, metrics=None)

    p = sub.add_parser("stop", help="stop the daemon (SIGTERM) and wait until it is gone")
    _pidfile_option(p)
    p.set_defaults(func="daemon.stop_main")

    p = sub.add_parser("reload", help="make the daemon re-read its configuration (SIGHUP)")
    _pidfile_option(p)
    p.set_defaults(func="daemon.reload_main")

    p = sub.add_parser("fsd", help="the running monitor shuts this host down now (upsmon -c fsd)")
    _config_option(p)
    p.add_argument("--yes", action="store_true", help="do not ask for a confirmation")
    _pidfile_option(p)
    p.set_defaults(func="fsd.main")

    p = sub.add_parser("check-config", help="validate a configuration file, report every error")
    _config_option(p)
    p.set_defaults(func="check_config.main")

    p = sub.add_parser("drill", help="rehearse the protection plan against upsd, doing none of it")
    _config_option(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func="drill.main")

    p = sub.add_parser("replay", help="run events and rules over a recorded trace, run nothing")
    _config_option(p, ", if it exists")
    p.add_argument("trace", metavar="TRACE", help="a trace written by pyups run --record")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func="replay.main")

    p = sub.add_parser("list", help="the UPSes a server declares (upsc -L)")
    p.add_argument("host", nargs="?", default="localhost", metavar="HOST[:PORT]")
    _query_options(p)
    p.set_defaults(func="query.list_main")

    p = sub.add_parser("status", help="a UPS's variables, or one of them (upsc)")
    p.add_argument("ups", metavar="UPS[@HOST[:PORT]]")
    p.add_argument("var", nargs="?", metavar="VAR", help="print only this variable's value")
    _query_options(p)
    p.set_defaults(func="query.status_main")

    p = sub.add_parser("commands", help="a UPS's instant commands with descriptions (upscmd -l)")
    p.add_argument("ups", metavar="UPS[@HOST[:PORT]]")
    _query_options(p)
    p.set_defaults(func="query.commands_main")

    p = sub.add_parser("cmd", help="run an instant command (upscmd)")
    p.add_argument("ups", metavar="UPS[@HOST[:PORT]]")
    p.add_argument("command", metavar="COMMAND")
    p.add_argument("value", nargs="?", metavar="VALUE", help="the command's argument, if any")
    _query_options(p)
    _login_options(p)
    p.set_defaults(func="control.cmd_main")

    p = sub.add_parser("set", help="set a writable variable (upsrw -s)")
    p.add_argument("ups", metavar="UPS[@HOST[:PORT]]")
    p.add_argument(
        "assignment", metavar="VAR=VALUE", help="quote the whole word if VALUE has spaces"
    )
    _query_options(p)
    _login_options(p)
    p.set_defaults(func="control.set_main")

    p = sub.add_parser("events", help="event history, read back from the journal")
    p.add_argument("--ups", metavar="UPS", help="only this UPS's events")
    p.add_argument(
        "--since", metavar="WHEN", help="e.g. 2h (ago), today, yesterday, 2026-11-24 08:00"
    )
    p.add_argument("-n", "--lines", type=int, metavar="N", help="only the last N events")
    p.add_argument("--json", action="store_true", help="one JSON document")
    p.set_defaults(func="events.main")

    p = sub.add_parser("demo", help="play a power cut on a private simulated Eaton 800")
    p.set_defaults(func="demo.main")

    p = sub.add_parser("killpower", help="is the power-down flag set? (upsmon -K; for the hook)")
    p.add_argument("--check", action="store_true", help="exit 0 if the flag is set, else 1")
    _config_option(p)
    p.add_argument(
        "--flag",
        metavar="PATH",
        help=f"check this file instead of the configured flag (default {DEFAULT_FLAG})",
    )
    p.set_defaults(func="killpower.main")
    return parser


def _config_option(parser: argparse.ArgumentParser, default_note: str = "") -> None:
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help=f"configuration file (default: $PYUPS_CONFIG or /etc/pyups/pyups.conf{default_note})",
    )


def _pidfile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pidfile",
        default=DEFAULT_PIDFILE,
        metavar="FILE",
        help=f"the daemon's pidfile (default {DEFAULT_PIDFILE})",
    )


def _query_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument(
        "--timeout", default="5s", metavar="DUR", help="wait this long for upsd (default 5s)"
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="talk to upsd over TLS (STARTTLS); fail rather than fall back to clear text",
    )
    parser.add_argument(
        "--ca-file",
        metavar="FILE",
        help="with --tls: the CA that signed upsd's certificate, PEM (default: the system's CAs)",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="with --tls: encrypt without checking upsd's certificate or host name",
    )


def _login_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-u", "--user", metavar="USER", help="upsd.users user to log in as")
    parser.add_argument(
        "--password-file", metavar="FILE", help="read the password from FILE (mode 600)"
    )
    _config_option(parser, "; used for the user and password of a UPS it lists")
    parser.add_argument(
        "-p", "--password", nargs="?", action=_RefusePassword, help=argparse.SUPPRESS
    )


class _RefusePassword(argparse.Action):
    """``-p`` is upscmd's habit, but a password in argv is readable by everyone through ps."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        parser.error(
            "passwords are not taken on the command line (anyone can read them with ps); "
            "use --password-file FILE, $PYUPS_PASSWORD, the config's password_file, "
            "or type it at the prompt"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch, and turn every expected failure into one line and an exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = command(args.func)(args)
        return code
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader stopped early (``pyups events | head``): not an error. Python would
        # fail again flushing stdout at exit, so point it at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_OK
    except Exception as exc:
        expected = _expected_failure(exc)
        if expected is None:
            raise
        return expected


def command(name: str) -> Callable[[argparse.Namespace], int]:
    """The function ``"MODULE.FUNCTION"`` of :mod:`pyups.commands`, importing its module."""
    module, _, function = name.rpartition(".")
    found: Callable[[argparse.Namespace], int] = getattr(
        importlib.import_module(f"pyups.commands.{module}"), function
    )
    return found


def _expected_failure(exc: Exception) -> int | None:
    """One line (or one per configuration error) and the exit code, for an expected failure.

    A ConfigError can only come from a command that loaded the configuration modules, so
    they are looked up, not imported: a failing ``pyups status`` does not load them either.
    """
    from pyups.commands.common import Failure

    if isinstance(exc, Failure):
        print(f"pyups: {exc}", file=sys.stderr)
        return exc.code
    load = sys.modules.get("pyups.config.load")
    if load is not None and isinstance(exc, load.ConfigError):
        for line in exc.errors:
            print(f"pyups: {line}", file=sys.stderr)
        return EXIT_CONFIG
    return None
