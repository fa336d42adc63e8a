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
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyups.nut import Attach, Connection
from pyups.sim import NutServer, eaton800
from tests.harness.hosts import (
    IP,
    USERS,
    Network,
    UpsmonConfig,
    ip,
    network,
    pyups_config,
    recorder,
    shutdowns,
    sweep_stale,
    wait_shutdowns,
)
from tests.harness.pyups import Pyups

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
        net.end_processes()  # this test's pyups and upsmon hosts
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
    net.inside("nut", server.wait_for_status, ups_name, status)
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
        assert went[host] - low < 4.0, f"{host} went {went[host] - low:.1f}s after LB"
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


def test_a_pyups_primary_sets_fsd_on_all_its_upses_and_leaves_a_stuck_host_at_host_sync(
    net: Network, upsd: NutServer, tmp_path: Path, log: Path
) -> None:
    """Primary for two UPSes, one critical is enough (min_supplies 2): FSD on both. Another
    host stays logged in for good: the primary waits host_sync (3 s), no more, and says in
    SHUTDOWN_HOSTSYNC how many hosts it left behind."""
    command = recorder(tmp_path, "p", log)
    both = [ups(upsd, tmp_path, "primary"), ups(upsd, tmp_path, "primary", "eaton800b")]
    config = pyups_config(command, both, host_sync="3s", min_supplies=2)
    primary = net.pyups("p", config, tmp_path)
    stuck = Connection(upsd.server, 2.0, "secondary", "secondary-secret", attach=Attach("eaton800"))
    try:
        net.inside("s1", stuck.list_vars, "eaton800")  # logged in from s1, and stays
        wait_logins(net, upsd, 2)
        set_status(net, upsd, "OB DISCHRG LB")
        started = shutdown_entry(primary)
        went = wait_shutdowns(log, {"p"}, timeout=10)["p"]
        assert 2.9 < went - started < 4.5, f"went {went - started:.1f}s after SHUTDOWN"
        hostsync = primary.wait_event("SHUTDOWN_HOSTSYNC")
        assert hostsync["PYUPS_UPS"] == "eaton800"
        assert "1 other host" in hostsync["MESSAGE"]
        for name in ("eaton800", "eaton800b"):
            assert "FSD" in str(in_nut(net, upsd, "status", name)).split()
    finally:
        net.inside("s1", stuck.close)


def test_an_upsmon_primary_counts_a_pyups_secondary_and_waits_for_its_linger(
    net: Network, upsd: NutServer, tmp_path: Path, log: Path
) -> None:
    """upsmon 2.8.0 as primary: upsd counts the pyups secondary; on LB upsmon sets FSD, pyups
    goes down at once and stays logged in for its 3 s linger, which upsmon (HOSTSYNC 8)
    waits out. A pyups started while FSD is latched goes down at its first poll."""
    upsmon = net.upsmon(
        "m",
        UpsmonConfig([upsmon_line(upsd, "primary")], recorder(tmp_path, "m", log), hostsync=8),
        tmp_path,
    )
    secondary = start_pyups(net, "s1", upsd, tmp_path, log, "secondary", linger="3s")
    wait_logins(net, upsd, 2)
    low = set_status(net, upsd, "OB DISCHRG LB")
    went = wait_shutdowns(log, {"s1"}, timeout=5)
    # A real shutdown command stops pyups at once (systemd's SIGTERM): the session stays.
    secondary.process.send_signal(signal.SIGTERM)
    time.sleep(max(0.0, went["s1"] + 2.0 - time.time()))
    assert net["s1"].address in in_nut(net, upsd, "clients")  # type: ignore[operator]
    assert secondary.process.poll() is None
    went = wait_shutdowns(log, {"s1", "m"}, timeout=8)
    assert went["s1"] - low < 3.0
    assert "FSD" in secondary.events()
    assert went["s1"] + 2.5 < went["m"] < went["s1"] + 5.0, went
    assert secondary.process.wait(5) == 0
    assert any(kind == "SHUTDOWN" for _, kind in upsmon.notifications())
    # FSD is latched in upsd until its driver restarts: a late host goes down at once, and
    # logs out as soon as its command has run, not at its next poll (5 s here).
    slow = {"interval": "5s", "interval_alert": "5s"}
    config = pyups_config(recorder(tmp_path, "x", log), [ups(upsd, tmp_path, "secondary")], slow)
    late = net.pyups("x", config, tmp_path)
    went = wait_shutdowns(log, {"x"}, timeout=5)
    assert "forced shutdown" in late.wait_event("SHUTDOWN")["MESSAGE"]
    time.sleep(max(0.0, went["x"] + 1.0 - time.time()))
    assert net["x"].address not in in_nut(net, upsd, "clients")  # type: ignore[operator]


# -- network faults ---------------------------------------------------------------------------


def test_network_faults_take_down_only_hosts_that_lost_a_ups_on_battery(
    net: Network, upsd: NutServer, tmp_path: Path, log: Path
) -> None:
    """dead_time 10 s, host_sync 4 s, no primary. While on line power x loses its link for
    good: never a shutdown. On battery s1's link blips for 4 s: COMMBAD, COMMOK and nothing
    more (NUT #2454); s2's link goes for good and p's upsd dies: both go down after
    dead_time. Then LB without a primary's FSD: s1 waits host_sync and goes."""
    other = net.inside(
        "nut", lambda: NutServer(host=net["nut"].address, port=next(_ports), extra_users=USERS)
    )
    net.inside("nut", other.start)
    try:
        hosts = {}
        for host, server in (("s1", upsd), ("s2", upsd), ("x", upsd), ("p", other)):
            hosts[host] = start_pyups(net, host, server, tmp_path, log, "secondary",
                                      host_sync="4s")  # fmt: skip
        wait_logins(net, upsd, 3)
        net.cut("x")
        on_line_cut = time.time()
        set_status(net, upsd, "OB DISCHRG")
        set_status(net, other, "OB DISCHRG")
        hosts["s2"].wait_event("ONBATT")
        hosts["p"].wait_event("ONBATT")
        net.cut("s2")
        net.inside("nut", other.stop_upsd)
        lost = time.time()
        net.cut("s1")
        time.sleep(4)
        net.mend("s1")
        hosts["s1"].wait_event("COMMOK", timeout=5)
        went = wait_shutdowns(log, {"s2", "p"}, timeout=16)
        for host in ("s2", "p"):
            assert 8.5 < went[host] - lost < 13.0, f"{host} went {went[host] - lost:.1f}s after"
        time.sleep(max(0.0, on_line_cut + 10 + 3 - time.time()))
        assert {s.host for s in shutdowns(log)} == {"s2", "p"}
        assert "COMMBAD" in hosts["s1"].events() and "COMMBAD" in hosts["x"].events()

        low = set_status(net, upsd, "OB DISCHRG LB")
        went = wait_shutdowns(log, {"s1"}, timeout=10)
        assert 3.5 < went["s1"] - low < 6.0, f"s1 went {went['s1'] - low:.1f}s after LB"
        assert "no FSD within host_sync" in hosts["s1"].wait_event("SHUTDOWN")["MESSAGE"]
        assert "x" not in {s.host for s in shutdowns(log)}
    finally:
        net.mend("x")
        net.mend("s2")
        net.inside("nut", other.stop)


def test_the_namespaces_of_a_killed_test_process_are_swept_and_a_live_ones_kept() -> None:
    """A test process killed with SIGKILL leaves its namespaces and the processes in them; the
    next network sweeps them, by the PID in their names, and keeps those of a live one."""
    gone = subprocess.Popen(["true"])
    gone.wait()  # a test process that no longer runs
    stale, live = f"pyups-{gone.pid}-abcdef-0", f"pyups-{os.getpid()}-abcdef-1"
    left: subprocess.Popen[bytes] | None = None
    try:
        for name in (stale, live):
            ip("netns", "add", name)
        left = subprocess.Popen([IP, "netns", "exec", stale, "sleep", "60"])  # its upsd, say
        time.sleep(0.3)
        assert left.poll() is None
        swept = sweep_stale()
        assert stale in swept and live not in swept
        assert left.wait(5) == -signal.SIGKILL
        assert stale not in os.listdir("/run/netns") and live in os.listdir("/run/netns")
    finally:
        if left is not None and left.poll() is None:
            left.kill()
            left.wait()
        for name in (stale, live):
            subprocess.run([IP, "netns", "del", name], capture_output=True, check=False)
