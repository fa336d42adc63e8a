"""The harness never starts pyups with a configuration that could shut this machine down.

DESIGN §10: outside the system tier, every configuration a test or benchmark runs pyups with
names a harmless recording command, or watches only; :func:`refuse_real_shutdown` stops a
test (or a benchmark) before pyups starts otherwise.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence


class RealShutdown(AssertionError):
    """A configuration that could run the real shutdown command of this machine."""


# DESIGN §10: no test outside the system tier runs a real shutdown command. A command naming
# one of these programs that exists on this host (as its program or anywhere in its
# arguments, e.g. sh -c "systemctl poweroff") counts as real.
REAL_SHUTDOWN = frozenset({"systemctl", "shutdown", "poweroff", "halt", "reboot", "init"})


def refuse_real_shutdown(args: Sequence[str], env: Mapping[str, str]) -> None:
    """Fail the test before ``pyups run``/``daemon`` starts with a configuration that could
    shut this machine down: the configuration pyups would use (read as it reads it) has a UPS
    with power > 0 or a rule that shuts down, is not a dry run, and its command in effect
    names a real shutdown program. A configuration pyups would refuse starts nothing.
    ``pyups fsd`` is refused without ``--pidfile``: it would find this machine's own pyups."""
    from pyups.cli import build_parser
    from pyups.commands.common import Failure, monitor_config
    from pyups.config import ConfigError
    from pyups.core.rules import ShutdownAction

    if args and args[0] == "fsd" and not any(a.split("=")[0] == "--pidfile" for a in args):
        # Without --pidfile, `pyups fsd` signals this machine's own pyups (its pidfile, or
        # pyups.service): a test only ever asks a monitor it started itself.
        raise RealShutdown(
            "refusing to run pyups fsd without --pidfile: it would ask this machine's own "
            "pyups to shut it down; name the pidfile of the daemon the test started"
        )
    if not args or args[0] not in ("run", "daemon"):
        return
    try:
        parsed = build_parser().parse_args(list(args))
    except SystemExit:
        return  # a usage error: pyups starts nothing either
    option = parsed.config or env.get("PYUPS_CONFIG")
    try:
        config = monitor_config(
            option, getattr(parsed, "ups", []), dry_run=getattr(parsed, "dry_run", False)
        )
    except (ConfigError, Failure):
        return
    reaches = any(u.power > 0 for u in config.ups) or any(
        isinstance(a, ShutdownAction) for rule in config.rules for a in rule.actions
    )
    command = config.shutdown.command
    real = [
        word
        for arg in command
        for word in arg.split()
        if os.path.basename(word) in REAL_SHUTDOWN and shutil.which(word) is not None
    ]
    if reaches and not config.monitor.dry_run and real:
        raise RealShutdown(
            f"refusing to start pyups {' '.join(args)}: its configuration ({config.source}) "
            f"could run the real shutdown command {list(command)}; give it a recording "
            "command ([shutdown] command, see shutdown_recorder) or power = 0 on every [[ups]]"
        )
