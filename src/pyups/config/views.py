"""What the rest of pyups takes from a configuration: the engine's policy, a UPS's TLS settings.

Kept apart from the service so that ``pyups replay``, the tests and the benchmarks can build
the engine's view of a configuration without loading the threaded monitor or systemd-python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyups.config.schema import Config, MonitorConfig, UpsConfig
from pyups.core.engine import Policy
from pyups.core.tracker import Timing

if TYPE_CHECKING:  # PyNUTClient is loaded only by what talks to upsd
    from pyups.nut.tls import Tls


def timing_of(monitor: MonitorConfig) -> Timing:
    """The ``[monitor]`` durations the tracker needs."""
    return Timing(
        interval=monitor.interval,
        interval_alert=monitor.interval_alert,
        dead_time=monitor.dead_time,
        nocomm_warn=monitor.nocomm_warn,
        replbatt_warn=monitor.replbatt_warn,
    )


def policy_of(config: Config) -> Policy:
    """The engine's view of the configuration: timers, ``[events.NAME]``, ``[[rule]]``."""
    return Policy(timing_of(config.monitor), config.events, config.rules)


def tls_of(ups: UpsConfig) -> Tls | None:
    """The TLS settings of one ``[[ups]]`` entry; None for clear text."""
    from pyups.nut.tls import Tls

    return Tls(ups.ca_file, ups.tls_verify) if ups.tls else None
