"""``pyups replay``: the configured events and rules over a recorded trace; nothing is run."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator

from pyups.actions.outcome import Outcome, action_event
from pyups.commands.common import EXIT_FAILURE, EXIT_OK, Failure, config_path
from pyups.config import Config, default_config, load_config
from pyups.config.views import policy_of
from pyups.core.engine import replay
from pyups.core.events import Event
from pyups.core.rules import dry_run
from pyups.core.snapshot import Snapshot
from pyups.core.trace import TraceError, from_line
from pyups.sinks.console import ConsoleSink


def main(args: argparse.Namespace) -> int:
    config = _config(args.config)
    try:
        with open(args.trace, encoding="utf-8") as trace:
            results = list(replay(_snapshots(trace, args.trace), policy_of(config)))
    except OSError as exc:
        raise Failure(f"{args.trace}: cannot read: {exc.strerror or exc}") from None
    console = ConsoleSink(sys.stdout)
    shutdown = config.monitor.shutdown_command
    for event, requests in results:
        would = [
            action_event(event, Outcome("dry-run", dry_run(r, shutdown), ok=True), t=event.t)
            for r in requests
        ]
        for shown in (event, *would):
            if args.json:
                print(json.dumps(_record(shown)))
            else:
                console.emit(shown)
    return EXIT_OK


def _config(option: str | None) -> Config:
    """The named file, else the default one if it exists, else built-in defaults."""
    path, named = config_path(option)
    return load_config(path) if named or os.path.exists(path) else default_config()


def _snapshots(lines: Iterator[str], name: str) -> Iterator[Snapshot]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield from_line(line)
        except TraceError as exc:
            raise Failure(f"{name}:{number}: {exc}", EXIT_FAILURE) from None


def _record(event: Event) -> dict[str, object]:
    return {
        "t": event.t,
        "ups": event.ups,
        "server": str(event.server),
        "event": event.name,
        "rule": event.rule,
        "priority": event.priority,
        "message": event.message,
        "status": event.status,
        "prev_status": event.prev_status,
        "reason": event.reason,
    }
