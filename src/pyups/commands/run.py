"""``pyups run``: the monitor in the foreground; SIGINT or SIGTERM stop it, SIGHUP reloads,
SIGUSR1 (``pyups fsd``, upsmon's SIGCMD_FSD) starts the shutdown sequence."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Callable
from types import FrameType

from pyups.commands.common import EXIT_OK, Failure, monitor_config
from pyups.config import Config, ConfigError
from pyups.service.metrics import MetricsError
from pyups.service.monitor import Monitor
from pyups.sinks import Sink
from pyups.sinks.console import ConsoleSink, stderr_is_journal
from pyups.sinks.journal import JournalSink


def main(args: argparse.Namespace) -> int:
    config = monitor_config(args.config, args.ups, args.interval, args.dry_run, args.metrics)
    monitor = start_monitor(config, foreground_sinks(), args.record, reloader(args))
    monitor.run()
    return EXIT_OK


def reloader(args: argparse.Namespace) -> Callable[[], Config]:
    """Reads the configuration again as the command line says, for a reload."""

    def load() -> Config:
        try:
            return monitor_config(
                args.config, args.ups, args.interval, args.dry_run, getattr(args, "metrics", None)
            )
        except Failure as exc:
            raise ConfigError([str(exc)]) from None

    return load


def start_monitor(
    config: Config, sinks: list[Sink], record: str | None, load: Callable[[], Config]
) -> Monitor:
    """A monitor with SIGTERM/SIGINT stopping it, SIGHUP reloading it and SIGUSR1 (what
    ``pyups fsd`` sends) starting the shutdown sequence."""
    monitor = Monitor(config, sinks, record=record, load=load)

    def on_stop(signum: int, frame: FrameType | None) -> None:
        monitor.stop(signal.Signals(signum).name)

    def on_reload(signum: int, frame: FrameType | None) -> None:
        monitor.reload()

    def on_fsd(signum: int, frame: FrameType | None) -> None:
        monitor.fsd("forced by pyups fsd")

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_reload)
    signal.signal(signal.SIGUSR1, on_fsd)
    # Handled before opening: SIGUSR1's default action would end the monitor that a
    # `pyups fsd` (which may come as soon as the pidfile names it) asks to shut down.
    try:
        monitor.open()
    except MetricsError as exc:
        raise Failure(str(exc)) from None
    except OSError as exc:
        raise Failure(f"--record {record}: cannot write: {exc.strerror or exc}") from None
    return monitor


def foreground_sinks() -> list[Sink]:
    """The journal, plus readable lines on stderr unless stderr already is the journal."""
    if stderr_is_journal():
        return [JournalSink()]
    # The console already prints every entry on stderr: no second copy as a fallback.
    return [JournalSink(stderr_fallback=False), ConsoleSink()]
