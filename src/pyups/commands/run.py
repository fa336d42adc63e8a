"""``pyups run``: the monitor in the foreground, stopped by SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import signal
from types import FrameType

from pyups.commands.common import EXIT_OK, Failure, monitor_config
from pyups.service.monitor import Monitor
from pyups.sinks import Sink
from pyups.sinks.console import ConsoleSink, stderr_is_journal
from pyups.sinks.journal import JournalSink


def main(args: argparse.Namespace) -> int:
    config = monitor_config(args.config, args.ups, args.interval, args.dry_run)
    try:
        monitor = Monitor(config, foreground_sinks(), record=args.record)
    except OSError as exc:
        raise Failure(f"--record {args.record}: cannot write: {exc.strerror or exc}") from None

    def on_signal(signum: int, frame: FrameType | None) -> None:
        monitor.stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    monitor.run()
    return EXIT_OK


def foreground_sinks() -> list[Sink]:
    """The journal, plus readable lines on stderr unless stderr already is the journal."""
    if stderr_is_journal():
        return [JournalSink()]
    # The console already prints every entry on stderr: no second copy as a fallback.
    return [JournalSink(stderr_fallback=False), ConsoleSink()]
