"""``pyups check-config``: validate a configuration file and report every error at once.

A valid file ends with one ``protection:`` line saying what takes this host down, and is
preceded by warnings (stderr, exit code still 0) about set-ups that are valid but risky when
the power fails (DESIGN §10).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable, Sequence

from pyups.commands.common import EXIT_OK, config_path
from pyups.config import Config, UpsConfig, load_config
from pyups.config.views import feeds, sequence_plan_of
from pyups.core.durations import format_duration
from pyups.core.protection import Role
from pyups.core.rules import ShutdownAction
from pyups.service.flag import is_volatile


def main(args: argparse.Namespace) -> int:
    path, _ = config_path(args.config)
    config = load_config(path)  # ConfigError: every problem, exit 78 (see cli.main)
    for located in config.warnings:  # the loader's, already FILE:LINE: key: ...
        print(f"pyups: warning: {located}", file=sys.stderr)
    for warning in warnings(config):
        print(f"pyups: warning: {path}: {warning}", file=sys.stderr)
    print(f"{path}: OK, {len(config.ups)} UPS configured")
    print(protection(config))
    return EXIT_OK


# --- the protection line ------------------------------------------------------------------


def protection(config: Config) -> str:
    """One line: which UPSes becoming critical take this host down (DESIGN §10)."""
    shutting = _shutdown_rules(config)
    rules = f"; rule {', '.join(shutting)} can also shut it down" if shutting else ""
    if config.monitor.dry_run:
        rules += "; dry_run = true: nothing would actually be done"
    if not config.ups:
        why = "no [[ups]]; UPSes named on the pyups run command line are watched only"
        return f"protection: none ({why}){rules}"
    fed = [u for u in config.ups if feeds(u)]
    if not fed:
        return f"protection: none (every UPS has power = 0){rules}"
    return f"protection: this host goes down when {_when(fed, config.shutdown.min_supplies)}{rules}"


def _when(fed: Sequence[UpsConfig], needed: int) -> str:
    """Which UPSes being critical leave fewer than ``needed`` supplies, said for a human."""
    total = sum(u.power for u in fed)
    names = [str(u.address) for u in fed]
    count = f"{needed} {_supplies(needed)}" if needed == total else f"{needed} of {total} supplies"
    if len(fed) == 1:
        return f"{names[0]} is critical ({count} needed)"
    if all(total - u.power < needed for u in fed):
        return f"any of {_listing(names, 'or')} is critical ({count} needed)"
    if min(u.power for u in fed) >= needed:  # any one UPS alone is enough
        both = "both" if len(fed) == 2 else "all of"
        return f"{both} {_listing(names, 'and')} are critical ({count} needed)"
    powers = ", ".join(f"{u.address} feeds {u.power}" for u in fed)
    return f"fewer than {needed} of {total} supplies remain ({powers})"


def _supplies(count: int) -> str:
    return "supply" if count == 1 else "supplies"


def _listing(names: Sequence[str], word: str) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


def _shutdown_rules(config: Config) -> list[str]:
    return [r.name for r in config.rules if any(isinstance(a, ShutdownAction) for a in r.actions)]


# --- warnings -----------------------------------------------------------------------------


def warnings(
    config: Config,
    *,
    volatile: Callable[[str], bool | None] = is_volatile,
    which: Callable[[str], str | None] = shutil.which,
) -> list[str]:
    """What is valid but would fail, or fail to protect, on this host when it matters.

    Each is ``key.path: what and what to do``. The loader's own warnings (an old key still
    read) are in ``config.warnings``; these are the ones that need the whole picture or a
    look at this host (``volatile`` and ``which`` are parameters for the tests).
    """
    found: list[str] = []
    shutdown, fed = config.shutdown, [u for u in config.ups if feeds(u)]
    program = shutdown.command[0]
    if (fed or _shutdown_rules(config)) and which(program) is None:
        found.append(
            f"shutdown.command: {program!r} is not an executable program on this host, so "
            "this host could not shut itself down"
        )
    flag = sequence_plan_of(config).flag
    primaries = ", ".join(str(u.address) for u in fed if u.role is Role.PRIMARY)
    if primaries and not shutdown.powerdown_flag:
        found.append(
            f'shutdown.powerdown_flag: "" while this host is primary for {primaries}: the UPS '
            "is never switched off after the shutdown, so hosts that halt while the power "
            'comes back stay off; set powerdown_flag = "/run/pyups/killpower"'
        )
    if flag is not None and volatile(flag) is False:
        found.append(
            f"shutdown.powerdown_flag: {flag} is not on tmpfs: it would survive a reboot, and "
            "the next ordinary shutdown would switch the UPS off; put it on a tmpfs such as /run"
        )
    alert, final = config.monitor.interval_alert, shutdown.final_delay
    if fed and alert + final >= shutdown.host_sync:
        found.append(
            f"shutdown.host_sync: {format_duration(shutdown.host_sync)} is not longer than "
            f"interval_alert + final_delay ({format_duration(alert)} + "
            f"{format_duration(final)}): a primary would stop waiting before its secondaries "
            "have seen FSD and gone down; make host_sync longer"
        )
    for index, ups in enumerate(config.ups):
        found.extend(f"ups[{index}].{text}" for text in _ups_warnings(ups))
    return found


def _ups_warnings(ups: UpsConfig) -> list[str]:
    """The risky roles of one ``[[ups]]``, each ``key: text``."""
    if ups.role is Role.SECONDARY and feeds(ups) and ups.username is None:
        return [
            f"username: {ups.address} feeds this host (power = {ups.power}) as a secondary "
            "without a username: this host does not log in, so its primary cannot count it "
            "and may cut the power before it is down; add username and password_file "
            "(upsd.users: upsmon secondary), or power = 0 to watch it only"
        ]
    if ups.role is Role.PRIMARY and not feeds(ups):
        return [
            f"power: {ups.address} is primary with power = 0: it only watches, so this host "
            "never sets FSD on it and its secondaries go down by themselves after their "
            "host_sync; give it power = 1 if it feeds this host, or make another host primary"
        ]
    return []
