"""``pyups check-config``: validate a configuration file and report every error at once."""

from __future__ import annotations

import argparse

from pyups.commands.common import EXIT_OK, config_path
from pyups.config import load_config


def main(args: argparse.Namespace) -> int:
    path, _ = config_path(args.config)
    config = load_config(path)  # ConfigError: every problem, exit 78 (see cli.main)
    print(f"{path}: OK, {len(config.ups)} UPS configured")
    return EXIT_OK
