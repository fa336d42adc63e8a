"""What the rest of pyups takes from a configuration: the engine's policy, a UPS's TLS settings,
what protects this host and the shutdown sequence's plan.

Kept apart from the service so that ``pyups replay``, the tests and the benchmarks can build
the engine's view of a configuration without loading the threaded monitor or systemd-python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyups.config.schema import Config, MonitorConfig, UpsConfig
from pyups.core.engine import Policy
from pyups.core.protection import Criteria, Protected, Role
from pyups.core.sequence import SequencePlan
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


def protection_of(config: Config) -> tuple[tuple[Protected, ...], Criteria, int]:
    """What :func:`pyups.core.protection.assess` takes: every ``[[ups]]`` with its role and
    power (``power = 0`` included: it never counts), the criteria, and ``min_supplies``."""
    shutdown = config.shutdown
    protected = tuple(Protected(u.address, u.role, u.power) for u in config.ups)
    criteria = Criteria(lowbatt_for=shutdown.lowbatt_for, host_sync=shutdown.host_sync)
    return protected, criteria, shutdown.min_supplies


def feeds(ups: UpsConfig) -> bool:
    """Whether this UPS feeds this host (``power`` > 0), so that it is part of its protection."""
    return ups.power > 0


def logs_in(ups: UpsConfig) -> bool:
    """Whether this UPS is watched through a session that sends ``LOGIN`` (DESIGN §10): it
    feeds this host and has a username, so upsd counts this host in ``NUMLOGINS``."""
    return feeds(ups) and ups.username is not None


def sequence_plan_of(config: Config) -> SequencePlan:
    """The shutdown sequence's plan: ``[shutdown]``, plus the roles of the UPSes that feed
    this host. A UPS with ``power = 0`` takes no part: this host never sets FSD on it, never
    waits for its secondaries and keeps no session on it for ``linger``.

    FSD needs an ``upsmon primary`` login, so only a primary with a username sets it and
    waits for its secondaries; a primary without one (a host alone on its UPS) still writes
    the power-down flag, which is what makes the UPS cut and restore its power.
    """
    shutdown = config.shutdown
    primaries = [u for u in config.ups if u.role is Role.PRIMARY and feeds(u)]
    return SequencePlan(
        command=shutdown.command,
        primary_for=tuple(u.address for u in primaries if logs_in(u)),
        sessions=tuple(u.address for u in config.ups if u.role is Role.SECONDARY and logs_in(u)),
        before=shutdown.before,
        host_sync=shutdown.host_sync,
        final_delay=shutdown.final_delay,
        linger=shutdown.linger,
        flag_path=(shutdown.powerdown_flag or None) if primaries else None,
        dry_run=config.monitor.dry_run,
    )
