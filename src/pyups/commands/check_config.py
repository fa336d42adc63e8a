"""``pyups check-config``: validate a configuration file and report every error at once."""

from __future__ import annotations

import argparse
import shutil
import sys

from pyups.commands.common import EXIT_OK, config_path
from pyups.config import Config, load_config
from pyups.core.rules import ShutdownAction


def main(args: argparse.Namespace) -> int:
    path, _ = config_path(args.config)
    config = load_config(path)  # ConfigError: every problem, exit 78 (see cli.main)
    for warning in warnings(config):
        print(f"pyups: warning: {path}: {warning}", file=sys.stderr)
    print(f"{path}: OK, {len(config.ups)} UPS configured")
    return EXIT_OK


def warnings(config: Config) -> list[str]:
    """What is valid but would fail on this host when it matters."""
    program = config.monitor.shutdown_command[0]
    uses_shutdown = any(isinstance(a, ShutdownAction) for r in config.rules for a in r.actions)
    if uses_shutdown and shutil.which(program) is None:
        return [
            f"monitor.shutdown_command: {program!r} is not an executable program on this "
            "host, so the rules' shutdown action would fail"
        ]
    return []
