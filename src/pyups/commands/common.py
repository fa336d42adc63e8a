"""What several commands share: exit codes, and finding the configuration to use."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from pyups.address import AddressError, parse_ups
from pyups.core.durations import DurationError, parse_duration

if TYPE_CHECKING:
    from pyups.config import Config, UpsConfig

# The configuration modules are imported by the functions that read a configuration, so
# that the commands which never do (status, list, --help) do not load them; hence this copy
# of pyups.config.schema.DEFAULT_CONFIG_PATH (tests/unit/test_cli_lazy.py checks they agree).
DEFAULT_CONFIG_PATH = "/etc/pyups/pyups.conf"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CONFIG = 78


class Failure(Exception):
    """An expected failure: one line for the user and the exit code to leave with."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


def config_path(option: str | None) -> tuple[str, bool]:
    """The file to read and whether the user named it (``-c`` or ``$PYUPS_CONFIG``)."""
    if option:
        return option, True
    env = os.environ.get("PYUPS_CONFIG")
    if env:
        return env, True
    return DEFAULT_CONFIG_PATH, False


def positive_duration(option: str, text: str) -> float:
    """A command-line duration that must be more than zero; a usage error otherwise."""
    try:
        seconds = parse_duration(text)
    except DurationError as exc:
        raise Failure(f"{option}: {exc}", EXIT_USAGE) from None
    if seconds <= 0:
        raise Failure(f"{option}: must be more than 0", EXIT_USAGE)
    return seconds


def monitor_config(
    option: str | None,
    ups_args: Sequence[str],
    interval: str | None = None,
    dry_run: bool = False,
    metrics: str | None = None,
) -> Config:
    """The configuration ``pyups run`` uses: the file, UPS arguments, command-line overrides.

    UPS arguments replace the file's ``[[ups]]`` list; an argument naming a UPS the file also
    lists keeps that entry's credentials. Without a file, arguments alone are enough. A UPS
    named on the command line is watched only (``power = 0``, DESIGN §10): naming one never
    makes it able to shut this host down.
    """
    from pyups.config import ConfigError, default_config, load_config
    from pyups.config.schema import Invalid, MetricsConfig, parse_listen

    path, named = config_path(option)
    if named or os.path.exists(path):
        config = load_config(path)
    elif ups_args:
        # Without a file there is no service to resume: keep no state between such runs.
        config = default_config()
        config = replace(config, monitor=replace(config.monitor, state_file=""))
    else:
        raise ConfigError(
            [
                f"{path}: no configuration file; create one from etc/pyups.conf.example, "
                "pass -c FILE, or name the UPSes to watch: pyups run eaton800@localhost"
            ]
        )
    if ups_args:
        chosen = (_from_argument(a, config) for a in ups_args)
        unique = {u.address: u for u in chosen}  # the same UPS twice is one UPS
        config = replace(config, ups=tuple(unique.values()))
    if interval is not None:
        seconds = positive_duration("--interval", interval)
        monitor = replace(
            config.monitor,
            interval=seconds,
            interval_alert=min(config.monitor.interval_alert, seconds),
        )
        config = replace(config, monitor=monitor)
    if dry_run:
        config = replace(config, monitor=replace(config.monitor, dry_run=True))
    if metrics is not None:
        try:
            listen = parse_listen(metrics)
        except Invalid as exc:
            raise Failure(f"--metrics: {exc}", EXIT_USAGE) from None
        config = replace(config, metrics=MetricsConfig(listen))
    if not config.ups:
        where = config.source or path
        raise ConfigError(
            [
                f"{where}: no UPS to monitor; add an [[ups]] table or name one: "
                "pyups run eaton800@localhost"
            ]
        )
    return config


def _from_argument(text: str, config: Config) -> UpsConfig:
    from pyups.config import UpsConfig

    try:
        address = parse_ups(text)
    except AddressError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    entry = config.entry(address) or UpsConfig(name=address.name, server=address.server)
    return replace(entry, power=0)
