"""Protection against upsmon: one UPS, one primary, three secondaries, OB then LB.

Each host is a network namespace (tests/harness/hosts.py) with its own upsmon 2.8.0 or its own
pyups; upsd and the simulated UPS run on a fifth. The UPS goes on battery, then low battery;
every host's shutdown command only records when it ran. The figure is the time from the moment
upsd first serves LB (its status polled every 5 ms) to each host's command, secondaries and
primary, played once with upsmon on every host and once with pyups on every host, at each
tool's default timings and at 1 s polling:

* default: upsmon POLLFREQ 5, POLLFREQALERT 5, FINALDELAY 5, HOSTSYNC 15; pyups interval 5 s,
  interval_alert 2 s, final_delay 5 s, host_sync 15 s (each tool's own defaults);
* 1 s: upsmon POLLFREQ 1, POLLFREQALERT 1, FINALDELAY 1; pyups interval 1 s, interval_alert
  1 s, final_delay 1 s; no linger.

    python -m bench.protection [--rounds N]

Needs root (namespaces) and NUT's upsd, dummy-ups and upsmon. Writes
bench/results/protection.json.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import print_table, write_result
from pyups.nut import Connection, NutError
from pyups.sim import NutServer
from tests.harness.hosts import (
    USERS,
    Network,
    UpsmonConfig,
    network,
    pyups_config,
    recorder,
    wait_shutdowns,
)

PRIMARY, SECONDARIES = "h0", ("h1", "h2", "h3")
HOSTS = ("nut", PRIMARY, *SECONDARIES)

TIMINGS: dict[str, dict[str, Any]] = {
    "default": {
        "upsmon": {"pollfreq": 5, "pollfreq_alert": 5, "finaldelay": 5, "hostsync": 15},
        "pyups": {"monitor": {}, "shutdown": {}},
        "settle": 7.0,  # on battery this long first, so every host has seen OB
        "period": 5.0,  # hosts start at random moments within one poll period
    },
    "1s": {
        "upsmon": {"pollfreq": 1, "pollfreq_alert": 1, "finaldelay": 1, "hostsync": 15},
        "pyups": {
            "monitor": {"interval": "1s", "interval_alert": "1s"},
            "shutdown": {"final_delay": "1s"},
        },
        "settle": 2.5,
        "period": 1.0,
    },
}


def role(host: str) -> str:
    return "primary" if host == PRIMARY else "secondary"


def offsets(period: float) -> dict[str, float]:
    """When each host starts, within one poll period: their polls fall at independent moments
    against the change, as on real machines (both tools get the same ones in a round)."""
    return {host: random.uniform(0, period) for host in (PRIMARY, *SECONDARIES)}


def start_hosts(
    net: Network,
    tool: str,
    timing: dict[str, Any],
    server: NutServer,
    work: Path,
    log: Path,
    starts: dict[str, float],
) -> None:
    begin = time.monotonic()
    for host in sorted(starts, key=starts.__getitem__):
        time.sleep(max(0.0, begin + starts[host] - time.monotonic()))
        who = role(host)
        command = recorder(work, host, log)
        if tool == "upsmon":
            line = f"eaton800@{server.server} 1 {who} {who}-secret {who}"
            net.upsmon(host, UpsmonConfig([line], command, **timing["upsmon"]), work)
            continue
        secret = work / f"{who}.secret"
        secret.write_text(f"{who}-secret\n")
        secret.chmod(0o600)
        ups = {
            "name": "eaton800",
            "server": str(server.server),
            "role": who,
            "username": who,
            "password_file": str(secret),
        }
        monitor = {"state_file": "", **timing["pyups"]["monitor"]}
        # pyups_config's test timings are replaced by the defaults (or the 1 s ones) here.
        defaults = {"interval": "5s", "interval_alert": "2s", "timeout": "5s", "dead_time": "15s"}
        shutdown = {
            "final_delay": "5s",
            "host_sync": "15s",
            "powerdown_flag": str(work / f"killpower-{host}"),
            **timing["pyups"]["shutdown"],
        }
        config = pyups_config(command, [ups], {**defaults, **monitor}, **shutdown)
        net.pyups(host, config, work)


def logins(net: Network, server: NutServer) -> int:
    def ask() -> int:
        with contextlib.closing(Connection(server.server, 2.0)) as conn:
            try:
                return conn.num_logins("eaton800")
            except NutError:
                return -1

    return net.inside("nut", ask)


def lb_visible(net: Network, server: NutServer) -> float:
    """Set OB LB; the first moment upsd serves it (asked every 5 ms)."""

    def watch() -> float:
        with contextlib.closing(Connection(server.server, 2.0)) as conn:
            server.set_status("OB DISCHRG LB")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if "LB" in conn.get_var("eaton800", "ups.status").split():
                    return time.time()
                time.sleep(0.005)
        raise RuntimeError("upsd never served OB LB")

    return net.inside("nut", watch)


def play(
    net: Network, tool: str, timing: dict[str, Any], starts: dict[str, float]
) -> dict[str, float]:
    """One outage; seconds from LB to each host's command."""
    work = Path(tempfile.mkdtemp(prefix="pyups-bench-protection-"))
    log = work / "shutdowns.log"
    server = net.inside("nut", lambda: NutServer(host=net["nut"].address, extra_users=USERS))
    net.inside("nut", server.start)
    try:
        start_hosts(net, tool, timing, server, work, log, starts)
        deadline = time.monotonic() + 30
        while logins(net, server) != 4:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{tool}: not every host logged in")
            time.sleep(0.2)
        net.inside("nut", server.set_status, "OB DISCHRG")
        time.sleep(timing["settle"])
        low = lb_visible(net, server)
        went = wait_shutdowns(log, set(HOSTS) - {"nut"}, timeout=60)
        return {host: went[host] - low for host in (PRIMARY, *SECONDARIES)}
    finally:
        net.end_processes()
        net.inside("nut", server.stop)
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="outages per tool and timing")
    parser.add_argument("--timings", nargs="+", choices=list(TIMINGS), default=list(TIMINGS),
                        help="which timings to play (default: all)")  # fmt: skip
    args = parser.parse_args()
    timings = {name: TIMINGS[name] for name in args.timings}
    runs: list[dict[str, Any]] = []
    with network(HOSTS) as net:
        for name, timing in timings.items():
            for n in range(args.rounds):
                starts = offsets(timing["period"])
                for tool in ("upsmon", "pyups"):
                    seconds = play(net, tool, timing, starts)
                    runs.append({"timing": name, "tool": tool, "round": n + 1, "hosts": seconds})
                    print(f"{name} {tool} round {n + 1}: "
                          + ", ".join(f"{h} {s:.2f}s" for h, s in seconds.items()))  # fmt: skip
    summary: dict[str, dict[str, dict[str, float]]] = {}
    rows = []
    for name in timings:
        summary[name] = {}
        for tool in ("upsmon", "pyups"):
            mine = [r for r in runs if r["timing"] == name and r["tool"] == tool]
            sec = [r["hosts"][h] for r in mine for h in SECONDARIES]
            pri = [r["hosts"][PRIMARY] for r in mine]
            ordered = all(
                max(r["hosts"][h] for h in SECONDARIES) < r["hosts"][PRIMARY] for r in mine
            )
            summary[name][tool] = {
                "secondaries_min": min(sec),
                "secondaries_max": max(sec),
                "secondaries_mean": statistics.fmean(sec),
                "primary_min": min(pri),
                "primary_max": max(pri),
                "primary_mean": statistics.fmean(pri),
                "in_order": float(ordered),
            }
            for r in mine:
                for host, seconds in r["hosts"].items():
                    rows.append([name, tool, r["round"], host, role(host), f"{seconds:.2f}"])
    print_table(
        "Shutdown commands, seconds after upsd first served LB",
        ["timing", "tool", "round", "host", "role", "s after LB"],
        rows,
    )
    fast = summary.get("1s")
    if fast is None:
        print("no 1 s runs: nothing checked, no result written")
        return 0
    # Where each poll falls against the change is chance (0 to 1 s at 1 s polling), so the
    # means over every round are compared, with a quarter of a poll period to spare.
    checks = {
        "protection at 1 s polling: pyups' primary goes down no later than upsmon's": (
            fast["pyups"]["primary_mean"] <= fast["upsmon"]["primary_mean"] + 0.25
        ),
        "protection at 1 s polling: pyups' secondaries go down no later than upsmon's": (
            fast["pyups"]["secondaries_mean"] <= fast["upsmon"]["secondaries_mean"] + 0.25
        ),
        "protection: every pyups secondary goes down before its primary": all(
            summary[n]["pyups"]["in_order"] == 1.0 for n in timings
        ),
    }
    for check, ok in checks.items():
        print(f"{'met' if ok else 'MISSED'}: {check}")
    path = write_result("protection", {"rounds": args.rounds, "runs": runs, "summary": summary,
                                       "checks": checks})  # fmt: skip
    print(f"wrote {path}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
