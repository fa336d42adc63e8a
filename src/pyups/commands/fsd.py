"""``pyups fsd``: the running monitor starts its shutdown sequence now (upsmon ``-c fsd``).

Like upsmon, it only signals the running monitor (SIGUSR1, upsmon's ``SIGCMD_FSD``); the
monitor does the rest, as if every UPS this host depends on were critical. The monitor is
found through the daemon's pidfile, else as systemd's ``MainPID`` of pyups.service when
systemd runs. Taking a host down is not undone, so on a terminal it asks first; without a
terminal it wants ``--yes``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from pyups.commands.common import EXIT_OK, EXIT_USAGE, Failure, config_path
from pyups.config import ConfigError, load_config
from pyups.service.pidfile import running

FSD_SIGNAL = signal.SIGUSR1  # upsmon.h: #define SIGCMD_FSD SIGUSR1
SYSTEMD_RUNNING = "/run/systemd/system"  # sd_booted(3)
UNIT = "pyups.service"


@dataclass(frozen=True, slots=True)
class Found:
    """The running monitor: its PID and how it was found (for the messages)."""

    pid: int
    via: str


def systemd_main_pid(unit: str = UNIT) -> int | None:
    """``MainPID`` of ``unit`` as systemctl shows it; None when it has none (or no answer)."""
    try:
        shown = subprocess.run(
            ["systemctl", "show", "-p", "MainPID", "--value", unit],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = shown.stdout.strip()
    return int(text) if shown.returncode == 0 and text.isdigit() and int(text) > 0 else None


def find_monitor(
    pidfile: str,
    *,
    systemd_dir: str = SYSTEMD_RUNNING,
    main_pid: Callable[[], int | None] = systemd_main_pid,
) -> Found:
    """The daemon holding ``pidfile``, else pyups.service's main process; Failure if neither."""
    try:
        pid = running(pidfile)
    except OSError as exc:
        raise Failure(f"pidfile {pidfile}: {exc.strerror or exc}") from None
    if pid is not None and pid > 0:
        return Found(pid, f"pidfile {pidfile}")
    systemd = os.path.isdir(systemd_dir)
    if systemd and (pid := main_pid()) is not None:
        return Found(pid, UNIT)
    where = f"no daemon holds {pidfile}" + (f" and {UNIT} is not running" if systemd else "")
    raise Failure(f"no running pyups monitor to signal ({where}); nothing was shut down")


def confirmed(
    yes: bool,
    found: Found,
    plan: str,
    *,
    interactive: bool,
    ask: Callable[[str], str] = input,
) -> bool:
    """Whether to go ahead: ``--yes``, or a "yes" typed at the terminal. Without a terminal
    and without ``--yes`` this is a usage error (exit 2): nobody can be asked."""
    if yes:
        return True
    if not interactive:
        raise Failure(
            "pyups fsd shuts this host down and needs a confirmation: add --yes", EXIT_USAGE
        )
    print(f"pyups (PID {found.pid}, {found.via}) will start the shutdown sequence now{plan}.")
    try:
        answer = ask("Shut this host down? Type yes to go on: ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def describe_plan(option: str | None) -> str:
    """What the configuration says will run, for the question; best effort (the running
    monitor uses the configuration it loaded, whatever the file says now)."""
    path, named = config_path(option)
    if not named and not os.path.exists(path):
        return ""
    try:
        config = load_config(path)
    except (ConfigError, OSError):
        return ""
    command = " ".join(config.shutdown.command)
    return f" (its configuration {path} runs: {command})"


def main(args: argparse.Namespace) -> int:
    pidfile = os.path.abspath(args.pidfile)
    found = find_monitor(pidfile)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    plan = "" if args.yes else describe_plan(args.config)
    if not confirmed(args.yes, found, plan, interactive=interactive):
        print("pyups: not confirmed; nothing was done", file=sys.stderr)
        return EXIT_OK
    try:
        os.kill(found.pid, FSD_SIGNAL)
    except ProcessLookupError:
        raise Failure(f"PID {found.pid} ({found.via}) has just ended; nothing was done") from None
    except PermissionError:
        raise Failure(f"not allowed to signal PID {found.pid}; run `pyups fsd` as root") from None
    print(
        f"pyups: asked PID {found.pid} ({found.via}) to shut this host down; "
        "the journal follows the sequence (journalctl -t pyups -f)",
        file=sys.stderr,
    )
    return EXIT_OK
