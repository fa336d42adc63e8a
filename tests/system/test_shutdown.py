"""A ``{ shutdown = true }`` rule powers the system off for real, with the unit as shipped.

``[shutdown] command`` is left at its default, ``systemctl poweroff``: from inside the
sandbox (no capability, PrivateUsers=, ProtectSystem=strict, ...) systemctl asks logind over
D-Bus or, with no D-Bus, PID 1 over /run/systemd/private. Both are tried, each on its own
system. The journal is gone once the system is down, so what happened is read on the
console (journald copies every entry there) and from a late-shutdown hook.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from pyups.sim import NutServer
from tests.harness.system import DBUS_UNITS, System

from .conftest import configure
from .test_unit import enable_now, wait_event

Boot = Callable[..., System]

RULE = """
[[rule]]
name = "power-cut"
on = ["ONBATT"]
do = [{ shutdown = true }]

[shutdown]
final_delay = "0.5s"
"""
HOOK = "/usr/lib/systemd/system-shutdown/pyups-test-hook"


@pytest.mark.parametrize("dbus", [True, False], ids=["through-logind", "through-pid1"])
def test_a_shutdown_rule_powers_the_system_off(boot: Boot, nut: NutServer, dbus: bool) -> None:
    system = boot() if dbus else boot(mask=DBUS_UNITS)
    bus = system.path("/run/dbus/system_bus_socket")
    assert system.run("systemctl", "is-active", "systemd-logind").stdout.strip() == (
        "active" if dbus else "inactive"
    )
    assert bus.exists() == dbus
    hook = system.path(HOOK)
    hook.write_text('#!/bin/sh\necho "pyups-test-hook ran: $*" > /dev/console\n')
    hook.chmod(0o755)
    configure(system, nut, RULE)
    enable_now(system)
    assert system.show("pyups", "DropInPaths")["DropInPaths"] == ""  # hardening as shipped
    wait_event(system, "STARTUP")

    nut.set_status("OB DISCHRG")
    assert system.wait_down(60) == -2  # PID 1 called reboot(): the kernel's SIGINT
    assert system.console is not None
    console = system.console.text()
    assert re.search(r"pyups\[\d+\]: UPS eaton800: rule power-cut on ONBATT$", console, re.M)
    command = r"shutdown command systemctl poweroff \(try 1\): exit 0 after [\d.]+s"
    assert re.search(rf"pyups\[\d+\]: {command}$", console, re.M)
    # systemd stops pyups while systemctl may still run: neither is a failed shutdown.
    assert "Shutdown of this host failed" not in console
    # logind says so when the request went through it; without D-Bus PID 1 took it directly.
    by_logind = re.search(r"systemd-logind\[\d+\]: System is powering down\.$", console, re.M)
    assert bool(by_logind) == dbus
    assert "pyups-test-hook ran: poweroff\n" in console
    assert console.rstrip().endswith("Powering off.")
