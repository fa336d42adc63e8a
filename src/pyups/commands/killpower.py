"""``pyups killpower --check``: is the power-down flag set? (``upsmon -K``)

For the late-shutdown hook (packaging/systemd/system-shutdown/pyups): exit 0 when the flag
exists and carries upsmon's magic content, 1 otherwise — absent, or someone else's file —
as ``upsmon -K`` does (NUT 2.8.0 exits ``EXIT_FAILURE`` for both). One line says which.
"""

from __future__ import annotations

import argparse
import sys

from pyups.commands.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, Failure
from pyups.service.flag import FlagState, flag_state

DEFAULT_FLAG = "/run/pyups/killpower"  # DESIGN §2 [shutdown] powerdown_flag


def flag_path(args: argparse.Namespace) -> str:
    """The one place that decides which file is the flag: ``--flag``, else the default.

    TODO(config): when the configuration has ``[shutdown] powerdown_flag``, read it here
    (from ``-c``/``$PYUPS_CONFIG``/the default file) between ``--flag`` and the default;
    an empty value means "no flag", which checks as not set. Until then ``-c`` is accepted
    and not read.
    """
    flag: str | None = args.flag
    return flag if flag else DEFAULT_FLAG


def main(args: argparse.Namespace) -> int:
    if not args.check:
        raise Failure(
            "killpower: nothing to do without --check (exit 0 when the power-down flag is set)",
            EXIT_USAGE,
        )
    path = flag_path(args)
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
