"""Several hosts on one UPS (DESIGN §10, §7 "Several hosts"): pyups and NUT's own upsmon 2.8.0.

Every host is a network namespace on one bridge (tests/harness/hosts.py): one runs upsd with
the simulated eaton800, the others run pyups (``python -m pyups run``) or upsmon as primary or
secondary. Shutdown commands only record when they ran and on which host. The hosts of a test
run side by side, so the module stays well under two minutes.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyups.nut import Attach, Connection, NutError
from pyups.sim import NutServer, eaton800
from tests.harness.hosts import (
    Network,
    UpsmonConfig,
    network,
    pyups_config,
    recorder,
    shutdowns,
    wait_shutdowns,
)
from tests.harness.pyups import Pyups

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or not os.path.exists("/lib/nut/upsmon"),
    reason="needs root, iproute2 and NUT's upsmon (network namespaces)",
)

USERS = """
[primary]
  password = primary-secret
  upsmon primary
[secondary]
  password = secondary-secret
  upsmon secondary
"""
HOSTS = ("nut", "p", "s1", "s2", "m", "x")
_ports = itertools.count(3493)


@pytest.fixture(scope="module")
def net(journald: None) -> Iterator[Network]:
    """The hosts, shared by every test of the module (each test starts its own upsd)."""
    with network(HOSTS) as hosts:
        yield hosts


@pytest.fixture
def upsd(net: Network) -> Iterator[NutServer]:
    """upsd + dummy-ups on host ``nut`` (a fresh one: upsd keeps FSD until its driver restarts),
    serving eaton800 and eaton800b."""
    server = net.inside(
        "nut",
        lambda: NutServer(
            {"eaton800": eaton800(), "eaton800b": eaton800()},
            host=net["nut"].address,
            port=next(_ports),
            extra_users=USERS,
        ),
    )
    net.inside("nut", server.start)
    try:
        yield server
    finally:
        net.inside("nut", server.stop)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "shutdowns.log"


def secret(tmp_path: Path, user: str) -> str:
    path = tmp_path / f"{user}.secret"
    path.write_text(f"{user}-secret\n")
    path.chmod(0o600)
    return str(path)


def ups(
    server: NutServer, tmp_path: Path, role: str, name: str = "eaton800", **keys: object
) -> dict[str, object]:
    """One ``[[ups]]`` table logging in with the role's upsd.users entry."""
    return {
        "name": name,
        "server": str(server.server),
        "role": role,
        "username": role,
        "password_file": secret(tmp_path, role),
        **keys,
    }


def start_pyups(
    net: Network,
    host: str,
    server: NutServer,
    tmp_path: Path,
    log: Path,
    role: str,
    **shutdown: object,
) -> Pyups:
    command = recorder(tmp_path, host, log)
    config = pyups_config(command, [ups(server, tmp_path, role)], **shutdown)
    return net.pyups(host, config, tmp_path)


def upsmon_line(server: NutServer, role: str, ups_name: str = "eaton800") -> str:
    return f"{ups_name}@{server.server} 1 {role} {role}-secret {role}"


def set_status(net: Network, server: NutServer, status: str, ups_name: str = "eaton800") -> float:
    """Set ``ups.status`` and wait until upsd serves it; the time it first did."""
    net.inside("nut", server.set_status, status, ups_name)
    net.inside("nut", server.wait_for, ups_name, "ups.status", status)
    return time.time()


def in_nut(net: Network, server: NutServer, ask: str, ups_name: str = "eaton800") -> object:
    """One request to upsd from its own host: ``numlogins``, ``clients`` or ``status``."""

    def call() -> object:
        with contextlib.closing(Connection(server.server, 2.0)) as conn:
            if ask == "numlogins":
                return conn.num_logins(ups_name)
            if ask == "clients":
                return conn.list_clients(ups_name)
            return conn.get_var(ups_name, "ups.status")

    return net.inside("nut", call)


def wait_logins(net: Network, server: NutServer, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (seen := in_nut(net, server, "numlogins")) != count:
        assert time.monotonic() < deadline, f"NUMLOGINS stayed {seen}, expected {count}"
        time.sleep(0.1)


def shutdown_entry(proc: Pyups, timeout: float = 15.0) -> float:
    """When ``proc`` logged SHUTDOWN."""
    return int(proc.wait_event("SHUTDOWN", timeout=timeout)["__REALTIME_TIMESTAMP"]) / 1e6


# -- a pyups primary and its secondaries ------------------------------------------------------


def test_a_pyups_primary_goes_down_after_every_secondary_pyups_and_upsmon_alike(
    net: Network, upsd: NutServer, tmp_path: Path, log: Path
) -> None:
    """OB then LB: the primary sets FSD, every secondary (two pyups, one upsmon) runs its
    command at once on seeing it, the lingering one stays counted (and listed) for its
    ``linger``, and the primary's command comes only after the last one logged out."""
    primary = start_pyups(net, "p", upsd, tmp_path, log, "primary", host_sync="8s")
    s1 = start_pyups(net, "s1", upsd, tmp_path, log, "secondary", host_sync="8s")
    s2 = start_pyups(net, "s2", upsd, tmp_path, log, "secondary", host_sync="8s", linger="4s")
    net.upsmon(
        "m",
        UpsmonConfig([upsmon_line(upsd, "secondary")], recorder(tmp_path, "m", log), hostsync=8),
        tmp_path,
    )
    wait_logins(net, upsd, 4)
    set_status(net, upsd, "OB DISCHRG")
    low = set_status(net, upsd, "OB DISCHRG LB")

    went = wait_shutdowns(log, {"s1", "s2", "m"}, timeout=10)
    # s2 lingers: still counted by upsd, and listed, well into its linger.
    time.sleep(max(0.0, went["s2"] + 2.5 - time.time()))
    assert net["s2"].address in in_nut(net, upsd, "clients")  # type: ignore[operator]
    assert in_nut(net, upsd, "numlogins") == 2  # the primary and s2
    went = wait_shutdowns(log, {"p", "s1", "s2", "m"}, timeout=10)

    for host in ("s1", "s2", "m"):
        assert went[host] - low < 3.0, f"{host} went {went[host] - low:.1f}s after LB"
        assert went[host] < went["p"], f"{host} went after the primary"
    # The primary waited for s2's linger (4 s from its command), not for host_sync (8 s).
    assert went["s2"] + 3.5 < went["p"] < went["s2"] + 6.0
    assert in_nut(net, upsd, "numlogins") == 1  # the primary alone
    assert net["s2"].address not in in_nut(net, upsd, "clients")  # type: ignore[operator]
    assert "FSD" in str(in_nut(net, upsd, "status"))
    for proc in (primary, s1, s2):
        assert "SHUTDOWN_HOSTSYNC" not in proc.events()
        assert "SHUTDOWN_FAILED" not in proc.events()
    assert "FSD" in s1.events() and "FSD" in s2.events()
    assert [s.host for s in shutdowns(log)].count("p") == 1
