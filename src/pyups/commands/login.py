"""Who ``pyups cmd`` and ``pyups set`` log in as, and where the password comes from.

The user is ``-u USER``, else the ``username`` of the config's ``[[ups]]`` entry for that
UPS. The password is looked for in this order, first found wins:

1. ``--password-file FILE`` (a warning if the file is group/world-readable);
2. ``$PYUPS_PASSWORD``;
3. the config's ``[[ups]]`` entry for that UPS (``password_file`` or ``password``), when it
   is for the same user;
4. a prompt, when stdin is a terminal.

There is deliberately no password option: argv is readable by every user through ``ps``.
"""

from __future__ import annotations

import getpass
import os
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyups.address import UpsAddress
from pyups.commands.common import EXIT_FAILURE, EXIT_USAGE, Failure, config_path

if TYPE_CHECKING:
    from pyups.config import UpsConfig


@dataclass(frozen=True)
class Login:
    user: str
    password: str = field(repr=False)


@dataclass
class Sources:
    """Where credentials may come from; the defaults are the real process's."""

    user: str | None = None
    password_file: str | None = None
    config: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    interactive: Callable[[], bool] = field(default_factory=lambda: sys.stdin.isatty)
    prompt: Callable[[str], str] = getpass.getpass
    warn: Callable[[str], None] = lambda line: print(f"pyups: warning: {line}", file=sys.stderr)


def resolve(
    address: UpsAddress,
    action: str,
    sources: Sources,
    entry: Callable[[], UpsConfig | None] | None = None,
) -> Login:
    """The user and password to run ``action`` on ``address`` with; raises Failure.

    ``entry`` looks up the config's entry for the UPS (by default in ``sources.config``);
    it is called only when the command line left the user or the password open.
    """
    password = None
    if sources.password_file is not None:
        password = _read_file(sources.password_file, sources.warn)
    elif sources.env.get("PYUPS_PASSWORD"):
        password = sources.env["PYUPS_PASSWORD"]
    ups = None
    if sources.user is None or password is None:
        ups = entry() if entry is not None else config_entry(address, sources.config)
    user = sources.user or (ups.username if ups else None)
    if not user:
        raise Failure(
            f"pyups {action} needs an upsd user: pass -u USER (a user in upsd.users allowed "
            f"to do it), or set username in the config's [[ups]] entry for {address.name}",
            EXIT_USAGE,
        )
    if password is None and ups is not None and ups.username == user:
        password = ups.password
    if password is None and sources.interactive():
        try:
            password = sources.prompt(f"Password for {user} on {address.server}: ")
        except EOFError:
            password = None
    if not password:
        raise Failure(
            f"no password for upsd user {user!r}: use --password-file FILE, $PYUPS_PASSWORD, "
            "a password_file in the config's [[ups]] entry, or run it on a terminal to be asked",
            EXIT_USAGE,
        )
    return Login(user, password)


def _read_file(path: str, warn: Callable[[str], None]) -> str:
    from pyups.config import read_password_file

    try:
        password, mode = read_password_file(path)
    except OSError as exc:
        raise Failure(
            f"--password-file {path}: cannot read: {exc.strerror or exc}", EXIT_FAILURE
        ) from None
    except UnicodeDecodeError:
        raise Failure(f"--password-file {path}: not a text file", EXIT_FAILURE) from None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        warn(f"{path} is readable by other users; protect it with: chmod 600 {path}")
    if not password:
        raise Failure(f"--password-file {path}: the file is empty", EXIT_FAILURE)
    return password


def config_entry(address: UpsAddress, option: str | None) -> UpsConfig | None:
    """The config's entry for this UPS (its login and TLS settings); a default config we may
    not read is skipped."""
    path, named = config_path(option)
    if not named and not os.access(path, os.R_OK):
        return None
    from pyups.config import load_config

    return load_config(path).entry(address)
