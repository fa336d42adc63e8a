"""The power race (DESIGN §10) under a real systemd, with the shipped unit and hook.

A power cut takes a booted system down for real: pyups, primary for the test's UPS, sets FSD
on the host's upsd, writes the power-down flag and runs its default ``systemctl poweroff``;
systemd stops every service, pyups among them, then runs the late-shutdown hook installed by
``make install``, which finds the flag and runs ``upsdrvctl shutdown``. An ordinary
poweroff, and a reboot, leave the UPS alone.

How "upsdrvctl ran" is seen. The system's own ``/etc/nut/ups.conf`` declares eaton800 with
the driver the test's upsd serves it from (dummy-ups), so the hook runs the real
``/sbin/upsdrvctl``, which reads that file and starts the real
``/lib/nut/dummy-ups -a eaton800 -k``, as it would start a USB or serial driver to switch a
real UPS off. dummy-ups 2.8.0 cannot cut any load: after the driver framework's "Initiating
UPS shutdown", its ``upsdrv_shutdown`` says "shutdown not supported" and exits 1. Those
lines, upsdrvctl's own about the driver's exit status and the hook's about the failure all
reach the console, which the test reads. Nothing is replaced or wrapped: the programs,
their paths and the way the hook finds them are those of a Debian host with NUT installed.
A recording wrapper at /sbin/upsdrvctl would prove less: that the hook calls some program,
not that upsdrvctl reads ups.conf and starts the driver with -k in systemd's late-shutdown
environment.

The journal is gone once the system is down; journald copies every entry to the console,
where the SHUTDOWN entry and systemd's "Stopped pyups.service" are read. The hook runs after
that stop: its finding the flag proves the flag outlived pyups' stop (RuntimeDirectoryPreserve).
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Callable, Iterator

import pytest

from pyups.nut import Connection, NutError
from pyups.sim import NutServer
from tests.harness.system import System

from .conftest import configure
from .test_unit import drop_in, enable_now, wait_event

Boot = Callable[..., System]

USER = "pyups-primary"
PASSWORD = secrets.token_hex(12)
FLAG = "/run/pyups/killpower"
HOOK = "/usr/lib/systemd/system-shutdown/pyups"
MAGIC = "upsmon-shutdown-file"
# The UPS as this host's primary would have it: logged in with upsmon primary rights.
PRIMARY = f'role = "primary"\nusername = "{USER}"\npassword = "{PASSWORD}"\n'
# Short, so the sequence takes about a second: no secondary is logged in to wait for.
SHUTDOWN = '\n[shutdown]\nfinal_delay = "0.5s"\nhost_sync = "2s"\n'
# What the late hook and the driver say on the console when upsdrvctl runs (dummy-ups 2.8.0).
HOOK_RAN = re.compile(
    rf"^pyups: power-down flag {FLAG} is set: running /sbin/upsdrvctl shutdown \(", re.M
)
DRIVER_RAN = "Initiating UPS shutdown"
UPS_CONF = '[eaton800]\n  driver = dummy-ups\n  port = eaton800.dev\n  desc = "Eaton 800"\n'


@pytest.fixture
def nut() -> Iterator[NutServer]:
    """The test's upsd, with an ``upsmon primary`` user for pyups."""
    user = f"[{USER}]\n  password = {PASSWORD}\n  upsmon primary\n"
    with NutServer(maxage=3, extra_users=user) as server:
        yield server


def boot_with_a_ups(boot: Boot) -> System:
    """A system whose /etc/nut/ups.conf declares eaton800 on dummy-ups, as the test's upsd
    does: the UPS upsdrvctl would switch off."""
    system = boot(files={"/etc/nut/ups.conf": UPS_CONF})
    assert system.path(HOOK).exists()  # installed by make install
    return system


def boot_primary(boot: Boot, nut: NutServer) -> System:
    """A system with a UPS, whose pyups is primary for it on ``nut``; not started yet."""
    system = boot_with_a_ups(boot)
    configure(system, nut, SHUTDOWN, ups=PRIMARY)
    return system


def ups_status(nut: NutServer) -> str:
    with contextlib.closing(Connection(nut.server, 2.0)) as conn:
        return conn.list_vars("eaton800")["ups.status"]


def test_a_power_cut_powers_off_and_the_hook_has_the_ups_cut_the_load(
    boot: Boot, nut: NutServer
) -> None:
    system = boot_primary(boot, nut)
    enable_now(system)
    wait_event(system, "STARTUP")

    nut.set_status("OB DISCHRG LB")
    assert system.wait_down(60) == -2  # powered off (reboot() with poweroff's SIGINT)
    assert ups_status(nut).split()[0] == "FSD"  # set by pyups as primary, before it went
    assert system.console is not None
    console = system.console.text()
    shutdown = re.search(
        r"pyups\[\d+\]: Executing automatic power-fail shutdown: .*eaton800.*$", console, re.M
    )
    assert shutdown, "no SHUTDOWN entry on the console"
    assert re.search(r"pyups\[\d+\]: FSD set on eaton800@", console)
    assert re.search(rf"pyups\[\d+\]: power-down flag {FLAG} written$", console, re.M)
    command = r"shutdown command systemctl poweroff \(try 1\): exit 0 after"
    assert re.search(rf"pyups\[\d+\]: {command}", console)
    assert "Shutdown of this host failed" not in console
    stopped = console.find("Stopped pyups.service")
    hook = HOOK_RAN.search(console)
    assert hook, "the late-shutdown hook did not run upsdrvctl"
    assert shutdown.start() < stopped < hook.start()  # the flag outlived pyups' stop
    after = console[hook.start() :]
    assert DRIVER_RAN in after  # upsdrvctl started dummy-ups -k from ups.conf
    assert "shutdown not supported" in after  # dummy-ups cannot cut a load
    assert "Driver failed to start (exit status=1)" in after
    assert "pyups: /sbin/upsdrvctl shutdown failed (exit status 1)" in after
    assert console.rstrip().endswith("Powering off.")


def test_an_ordinary_poweroff_leaves_the_ups_alone(boot: Boot, nut: NutServer) -> None:
    """pyups never went critical: the hook runs, finds no flag and says nothing. A flag
    left from an earlier run is removed when pyups starts."""
    system = boot_primary(boot, nut)
    stale = system.path(FLAG)
    stale.parent.mkdir(mode=0o755)
    stale.write_text(MAGIC)
    enable_now(system)
    wait_event(system, "STARTUP")
    assert not stale.exists()

    assert system.poweroff() == -2
    assert system.console is not None
    console = system.console.text()
    assert "Stopped pyups.service" in console
    assert not HOOK_RAN.search(console)
    assert DRIVER_RAN not in console
    assert "pyups: " not in console.replace("pyups.service", "")
    assert ups_status(nut).split()[0] == "OL"  # no FSD


def test_a_reboot_never_has_the_ups_cut_the_load(boot: Boot) -> None:
    """Not even with the flag set (pyups' shutdown overtaken by an administrator's reboot):
    the host comes back by itself. pyups need not run for that: the flag is all the hook
    looks at, and the example configuration ``make install`` put there names it."""
    system = boot_with_a_ups(boot)
    system.path(FLAG).parent.mkdir(mode=0o755)
    system.path(FLAG).write_text(MAGIC)
    assert system.run("pyups", "killpower", "--check").returncode == 0

    system.run("systemctl", "reboot", "--no-block", check=True)
    assert system.wait_down(30) == -1  # reboot(): the kernel's SIGHUP
    assert system.console is not None
    console = system.console.text()
    assert "Rebooting." in console
    assert not HOOK_RAN.search(console)
    assert DRIVER_RAN not in console


def test_a_secondary_lingers_past_the_units_stop_timeout(boot: Boot, nut: NutServer) -> None:
    """A linger longer than TimeoutStopSec=: pyups asks systemd for the time (EXTEND_TIMEOUT_USEC)
    and stays logged in to upsd, so its primary keeps waiting, instead of being killed at the
    timeout. The drop-in makes the timeout 2 s, the linger is 6 s."""
    system = boot_with_a_ups(boot)
    secondary = PRIMARY.replace('role = "primary"', 'role = "secondary"')
    linger = '\n[shutdown]\nfinal_delay = "0.5s"\nhost_sync = "1s"\nlinger = "6s"\n'
    configure(system, nut, linger, ups=secondary)
    drop_in(system, "[Service]\nTimeoutStopSec=2s\n")
    enable_now(system)
    wait_event(system, "STARTUP")

    def logins() -> int | None:
        with contextlib.closing(Connection(nut.server, 1.0)) as conn, contextlib.suppress(NutError):
            return conn.num_logins("eaton800")
        return None

    assert logins() == 1
    nut.set_status("OB DISCHRG LB")  # no FSD: the secondary goes after host_sync
    cut = time.monotonic()
    last_seen = cut
    assert system.process is not None
    while time.monotonic() - cut < 30 and system.process.poll() is None:
        if logins() == 1:
            last_seen = time.monotonic()
        time.sleep(0.2)
    assert system.wait_down(60) == -2
    # LB seen within a poll, host_sync 1 s, final_delay 0.5 s, then the command and 6 s of
    # linger: logged in until about 8 s after the cut. Killed at TimeoutStopSec, it would be
    # gone about 4 s after it.
    assert last_seen - cut > 6.5
    assert system.console is not None
    console = system.console.text()
    assert "staying logged in to upsd for the rest of the linger" in console
    assert re.search(r"pyups\[\d+\]: pyups stopping", console)
    assert "pyups.service: State 'stop-sigterm' timed out" not in console
    assert "Stopped pyups.service" in console
