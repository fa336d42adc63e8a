"""``pyups daemon``, ``stop`` and ``reload``: the monitor as a classic background daemon.

For hosts without systemd. Everything that can fail is checked while the terminal is still
there (the configuration, a daemon already running); then python-daemon detaches (double
fork, new session, umask 022, working directory /, standard streams on /dev/null) and only
then are the journal sink and the pollers set up, so nothing is opened before the fork.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

import daemon

from pyups.commands.common import EXIT_OK, Failure, monitor_config
from pyups.commands.run import reloader, start_monitor
from pyups.service.metrics import Metrics, MetricsError
from pyups.service.pidfile import AlreadyRunning, PidFile, running
from pyups.sinks.journal import JournalSink

DEFAULT_PIDFILE = "/run/pyups/pyups.pid"
STOP_WAIT = 30.0  # seconds: actions get 10 s to finish, then the state is saved


def daemon_main(args: argparse.Namespace) -> int:
    if args.config:
        args.config = os.path.abspath(args.config)  # the daemon works from /
    elif os.environ.get("PYUPS_CONFIG"):
        args.config = os.path.abspath(os.environ["PYUPS_CONFIG"])
    config = monitor_config(args.config, [])
    if config.metrics.listen is not None:
        try:  # said here, on the terminal: once detached, stderr is /dev/null
            Metrics.check_address(config.metrics.listen)
        except MetricsError as exc:
            raise Failure(str(exc)) from None
    path = os.path.abspath(args.pidfile)
    pidfile = PidFile(path)
    try:
        pidfile.acquire()
    except AlreadyRunning as exc:
        raise Failure(f"{exc}; `pyups stop` stops it") from None
    except OSError as exc:
        raise Failure(f"pidfile {path}: {exc.strerror or exc}") from None
    assert pidfile.fd is not None
    print(f"pyups: starting in the background; pidfile {path}", file=sys.stderr)
    context = daemon.DaemonContext(
        detach_process=True,
        umask=0o022,
        working_directory="/",
        pidfile=pidfile,
        files_preserve=[pidfile.fd],
        signal_map={},  # the monitor installs its own handlers
    )
    with context:
        sink = JournalSink()
        try:
            monitor = start_monitor(config, [sink], None, reloader(args))
        except Failure as exc:
            sink.note(f"pyups cannot start: {exc}", "err")
            raise
        monitor.run()
    return EXIT_OK


def stop_main(args: argparse.Namespace) -> int:
    path = os.path.abspath(args.pidfile)
    pid = _signal(path, signal.SIGTERM, "stop")
    if pid is None:
        print(f"pyups: not running (no daemon holds {path})", file=sys.stderr)
        return EXIT_OK
    deadline = time.monotonic() + STOP_WAIT
    while running(path) is not None:
        if time.monotonic() > deadline:
            raise Failure(
                f"pyups (PID {pid}) is still running after {STOP_WAIT:.0f} s; "
                f"`kill -KILL {pid}` ends it without saving its state"
            )
        time.sleep(0.1)
    print(f"pyups: stopped (PID {pid})", file=sys.stderr)
    return EXIT_OK


def reload_main(args: argparse.Namespace) -> int:
    path = os.path.abspath(args.pidfile)
    pid = _signal(path, signal.SIGHUP, "reload")
    if pid is None:
        raise Failure(f"not running (no daemon holds {path}); start it with `pyups daemon`")
    print(
        f"pyups: asked PID {pid} to reload; the journal says whether the new configuration "
        "was applied (journalctl -t pyups -n 5)",
        file=sys.stderr,
    )
    return EXIT_OK


def _signal(path: str, signum: signal.Signals, action: str) -> int | None:
    """Send ``signum`` to the daemon holding ``path``; its PID, or None if none runs."""
    try:
        pid = running(path)
    except OSError as exc:
        raise Failure(f"pidfile {path}: {exc.strerror or exc}") from None
    if pid is None:
        return None
    if pid < 0:
        raise Failure(f"pidfile {path} is locked but holds no PID; cannot {action} it")
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return None
    except PermissionError:
        raise Failure(f"not allowed to signal PID {pid}; run `pyups {action}` as root") from None
    return pid
