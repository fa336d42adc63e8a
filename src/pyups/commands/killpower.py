"""``pyups killpower --check``: is the power-down flag set? (``upsmon -K``)

For the late-shutdown hook (packaging/systemd/system-shutdown/pyups): exit 0 when the flag
exists and carries upsmon's magic content, 1 otherwise — absent, or someone else's file —
as ``upsmon -K`` does (NUT 2.8.0 exits ``EXIT_FAILURE`` for both). One line says which.
"""

from __future__ import annotations

import argparse
import os
import sys

from pyups.commands.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, Failure, config_path
from pyups.config import load_config
from pyups.config.schema import DEFAULT_POWERDOWN_FLAG
from pyups.service.flag import FlagState, flag_state

DEFAULT_FLAG = DEFAULT_POWERDOWN_FLAG  # DESIGN §2 [shutdown] powerdown_flag


def flag_path(args: argparse.Namespace) -> str:
    """The one place that decides which file is the flag; ``""`` when none is configured.

    ``--flag``, else ``[shutdown] powerdown_flag`` of the configuration (``-c``, else
    ``$PYUPS_CONFIG``, else the default file), else :data:`DEFAULT_FLAG` when there is no
    configuration file at all. A configuration named but unreadable or invalid raises
    ConfigError (exit 78): the hook then looks for the flag by itself.
    """
    flag: str | None = args.flag
    if flag:
        return flag
    path, named = config_path(args.config)
    if not named and not os.path.exists(path):
        return DEFAULT_FLAG
    return load_config(path).shutdown.powerdown_flag


def main(args: argparse.Namespace) -> int:
    if not args.check:
        raise Failure(
            "killpower: nothing to do without --check (exit 0 when the power-down flag is set)",
            EXIT_USAGE,
        )
    path = flag_path(args)
    if not path:
        print(
            'pyups: no power-down flag is configured ([shutdown] powerdown_flag = ""): not set',
            file=sys.stderr,
        )
        return EXIT_FAILURE
    state = flag_state(path)
    if state is FlagState.SET:
        print(f"power-down flag {path} is set")
        return EXIT_OK
    if state is FlagState.ABSENT:
        print(f"pyups: power-down flag {path} is not set", file=sys.stderr)
    else:
        print(
            f"pyups: {path} exists but does not hold the power-down flag's content: not set",
            file=sys.stderr,
        )
    return EXIT_FAILURE
