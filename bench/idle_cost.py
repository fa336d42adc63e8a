"""Idle cost of monitoring one UPS: CPU share and memory of pyups, next to NUT's upsmon.

One private upsd serves the simulated eaton800, which stays on line power (nothing happens:
the steady state a monitor spends its life in). Against it, one after the other:

* ``pyups run`` at a 1 s interval (``interval`` = ``interval_alert``), no rule;
* the same with ``[metrics]`` served (nobody scrapes it: the endpoint's idle cost);
* the same with rules (a condition: the rule grammar is loaded) and no metrics;
* ``pyups run`` at 0.25 s, a period upsmon cannot poll at;
* NUT's ``upsmon`` (the real /lib/nut/upsmon, ``-p``: one process) at POLLFREQ 1, the
  reference;
* the Python floor (``bench/python_floor.py``): a thread that wakes each second and reads one
  ``LIST VAR`` off a plain socket, parsing nothing. It is what CPython on this machine spends
  on a poll before any monitoring work, so it shows how much of pyups' CPU is its own;
* the same thread waking each second and doing nothing else (``--wake-only``): the floor's
  share that is CPython waking up at all, the rest of the floor being the exchange itself.

Each client is started, given time to start (pyups: its STARTUP entry is in the journal;
upsmon: 2 s) and a warm-up (default 5 s), then its user + system CPU time (all threads) is
taken over a window: CPU share of one core in %, CPU per poll in ms (polls = window /
interval), and RSS at the end of the window. upsd's CPU share over the same window is shown
too: the server-side cost of each client (it includes upsd's own housekeeping, which goes on
with no client at all).

The clients run one after the other, not side by side, so that on a small machine each is
measured alone with its own upsd-side cost and none is slowed by the others. They take turns in
rounds (default 3, each client started afresh for each): a virtual machine's speed drifts over
minutes (the floor row has read 0.35 and 0.45 ms a poll within two hours), and measured in
turns every client sees the same drift, so ratios between rows hold where a single window per
client, minutes apart, would not. Each client's figures add up its rounds (default 60 s in all,
20 s a round) and take the largest RSS; the JSON keeps each round's CPU per poll. The defaults
take about 9 minutes.

Figures are per process CPU time, but that is not proof against everything else: a process that
sleeps a second between polls wakes with cold caches, and its poll can cost more when other
work has run since. In one per-second trace, a second in which a short command ran read about 1
ms a poll for a quiet pyups (0.4 otherwise) and 0.6 to 0.8 for a Python process beside it (0.2
otherwise); in a run of this script, 72 Python start-ups in 9 s did not move the round they
fell in. Runs with nothing else started have also met a few seconds at 1.5 to 3 ms a poll, with
a Python process beside pyups slowing down in the same seconds (1.5 to 2 times); a 20 s round
that catches them reads up to twice the others. So a round that reads more than 1.5 times its
client's median round is measured once more (the client started afresh), for every client,
references included. If the second measurement is back within that bound, it takes the first
one's place; if it is high again, the cost came back under the same conditions, so it is the
client's own and the first measurement stays in the figures. Both measurements are printed and
kept in the JSON (``measured_again``). A median round alone would drop such a round without
looking again, and would hide a cost that shows in only one round in three.

CPU time is read from the process's CPU-time clock (nanoseconds, the clock
``clock_getcpuclockid`` gives), because /proc counts in 10 ms ticks, 0.017% of a core over
60 s: a quarter of an idle pyups' share and twice upsmon's. The /proc figure
(``tests.harness.procs.cpu_seconds``, psutil) is kept in the JSON as ``cpu_s_ticks``.

The targets (DESIGN): under 0.5% of one core and under 40 MB RSS at 1 s. The 0.25 s row is
held to the same bounds with four times the polls. Tighter ones, against upsmon measured in
the same run: at 1 s, at most 0.5 ms of CPU per poll (0.55 ms with ``[metrics]``) and at
most 3x upsmon's; RSS at most 24 MiB without rules and 26 MiB with them. From the 1 s and
0.25 s pyups rows the script also splits pyups' CPU into a fixed part (per second, spent
whether it polls or not) and a part per poll. Prints a table and writes
bench/results/idle_cost.json.

    .venv/bin/python -m bench.idle_cost [--seconds N] [--rounds N] [--warmup N]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.harness import Upsmon, machine_line, print_table, write_result
from pyups.sim import NutServer
from tests.harness.config import pyups_config
from tests.harness.journald import shared_journald
from tests.harness.procs import cpu_seconds, rss_mib
from tests.harness.pyups import Pyups

UPS = "eaton800"
CPU_TARGET = 0.5  # % of one core
RSS_TARGET = 40.0  # MB, read as MiB (the stricter reading)
PER_POLL_TARGET = 0.5  # ms of CPU per poll at 1 s
PER_POLL_METRICS_TARGET = 0.55  # the same with [metrics] served
UPSMON_RATIO_TARGET = 3.0  # at most this many times upsmon's CPU per poll
RSS_LEAN_TARGET = 24.0  # MiB, pyups run with one UPS and no rule
RSS_RULES_TARGET = 26.0  # MiB, with rules
RULES = """
[[rule]]
name = "outage-2min"
if = "OB and battery.charge < 50"
for = "2m"
message = "UPS {ups} on battery for {held}"
do = [{ exec = ["/bin/true"] }]

[[rule]]
name = "page-on-battery"
on = ["ONBATT", "LOWBATT"]
do = [{ exec = ["/bin/true"] }]
"""
MONITOR_USER, MONITOR_PASSWORD = "bench-upsmon", "bench-upsmon-password"
UPSMON_SETTLE = 2.0  # seconds for upsmon to log in and poll before the warm-up
OUTLIER = 1.5  # a round above this many times its client's median round is measured again


@dataclass(frozen=True)
class Client:
    name: str
    interval: float
    is_pyups: bool
    launch: Callable[[NutServer], tuple[int, Callable[[], None]]]  # → (pid, close)
    per_poll_target: float | None = None  # ms
    rss_target: float | None = None  # MiB


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def launch_pyups(
    interval: float, *, metrics: bool = False, rules: bool = False
) -> Callable[[NutServer], tuple[int, Callable[[], None]]]:
    def launch(server: NutServer) -> tuple[int, Callable[[], None]]:
        config = pyups_config([(server.server, [UPS])], interval)
        if metrics:
            config += f'\n[metrics]\nlisten = "127.0.0.1:{free_port()}"\n'
        if rules:
            config += RULES
        pyups = Pyups.run_config(config)
        try:
            pyups.wait_event("STARTUP", timeout=20)
        except BaseException:
            pyups.close()
            raise
        return pyups.pid, pyups.close

    return launch


def launch_floor(*extra: str) -> Callable[[NutServer], tuple[int, Callable[[], None]]]:
    def launch(server: NutServer) -> tuple[int, Callable[[], None]]:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.python_floor", server.server.host,
             str(server.server.port), UPS, "1", *extra],
        )  # fmt: skip

        def close() -> None:
            process.kill()
            process.wait()

        time.sleep(1.0)
        if process.poll() is not None:
            raise RuntimeError(f"bench.python_floor exited with {process.returncode}")
        return process.pid, close

    return launch


def launch_upsmon(server: NutServer) -> tuple[int, Callable[[], None]]:
    upsmon = Upsmon(server.address(UPS), MONITOR_USER, MONITOR_PASSWORD, 1)
    time.sleep(UPSMON_SETTLE)
    if upsmon.process.poll() is not None:
        log = (upsmon.workdir / "log").read_text(errors="replace").strip()
        upsmon.close()
        raise RuntimeError(f"upsmon exited: {log}")
    return upsmon.pid, upsmon.close


CLIENTS = [
    Client("pyups, 1 s", 1.0, True, launch_pyups(1.0), PER_POLL_TARGET, RSS_LEAN_TARGET),
    Client(
        "pyups, 1 s, [metrics]",
        1.0,
        True,
        launch_pyups(1.0, metrics=True),
        PER_POLL_METRICS_TARGET,
    ),
    Client(
        "pyups, 1 s, rules",
        1.0,
        True,
        launch_pyups(1.0, rules=True),
        PER_POLL_TARGET,
        RSS_RULES_TARGET,
    ),
    Client("pyups, 0.25 s", 0.25, True, launch_pyups(0.25)),
    Client("Python floor, 1 s", 1.0, False, launch_floor()),
    Client("Python, wake only, 1 s", 1.0, False, launch_floor("--wake-only")),
    Client("upsmon, POLLFREQ 1", 1.0, False, launch_upsmon),
]
UPSMON = CLIENTS[-1].name


def process_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` so far (all threads, ended ones too), to the nanosecond.

    Linux's CPU-time clock of another process: clockid ``(~pid << 3) | 2``
    (MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED), what ``clock_getcpuclockid`` returns).
    """
    try:
        return time.clock_gettime((~pid << 3) | 2)
    except OSError:
        return cpu_seconds(pid)


def measure(
    client: Client, server: NutServer, upsd: int | None, warmup: float, seconds: float
) -> dict[str, Any]:
    """One round of one client: started afresh, warmed up, measured over ``seconds``."""
    pid, close = client.launch(server)
    try:
        time.sleep(warmup)
        ticks0, upsd0 = cpu_seconds(pid), process_cpu(upsd) if upsd else 0.0
        cpu0, t0 = process_cpu(pid), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = process_cpu(pid), time.monotonic()
        ticks1, upsd1 = cpu_seconds(pid), process_cpu(upsd) if upsd else 0.0
        rss = rss_mib(pid)
    finally:
        close()
    return {
        "window_s": t1 - t0,
        "cpu_s": cpu1 - cpu0,
        "cpu_s_ticks": ticks1 - ticks0,
        "upsd_cpu_s": upsd1 - upsd0 if upsd else None,
        "rss_mib": rss,
    }


def per_poll_ms(client: Client, cpu_s: float, window_s: float) -> float:
    """CPU ms per poll of ``client``, from its CPU seconds over a window."""
    return 1000 * cpu_s * client.interval / window_s


def round_per_poll_ms(client: Client, measured: dict[str, Any]) -> float:
    """CPU ms per poll of one round."""
    return per_poll_ms(client, measured["cpu_s"], measured["window_s"])


def outliers(client: Client, rounds: list[dict[str, Any]]) -> tuple[list[int], float]:
    """The rounds reading more than OUTLIER times the client's median round, and that bound.

    With fewer than three rounds there is no median to stand out from."""
    figures = [round_per_poll_ms(client, r) for r in rounds]
    if len(figures) < 3:
        return [], float("inf")
    bound = OUTLIER * statistics.median(figures)
    return [i for i, figure in enumerate(figures) if figure > bound], bound


def measure_outliers_again(
    client: Client,
    rounds: list[dict[str, Any]],
    server: NutServer,
    upsd: int | None,
    warmup: float,
    window: float,
) -> list[dict[str, Any]]:
    """Measure each outlying round of ``client`` once more (see the module's docstring).

    A second measurement back within the bound replaces the first in ``rounds``. Returns,
    for each round measured again, its CPU per poll both times and whether it was replaced.
    """
    again = []
    suspects, bound = outliers(client, rounds)
    for i in suspects:
        first = round_per_poll_ms(client, rounds[i])
        print(
            f"again, {client.name}: round {i + 1} read {first:.3f} ms a poll, more than "
            f"{OUTLIER:g}x the median round ({bound / OUTLIER:.3f} ms)",
            flush=True,
        )
        fresh = measure(client, server, upsd, warmup, window)
        second = round_per_poll_ms(client, fresh)
        replaced = second <= bound
        if replaced:
            rounds[i] = fresh
        said = "the first is set aside" if replaced else "high again, the first stays"
        print(f"  {second:.3f} ms a poll: {said}", flush=True)
        again.append({"round": i + 1, "first_ms": first, "again_ms": second, "replaced": replaced})
    return again


def combine(client: Client, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """A client's figures over all its rounds: CPU and windows added up, the largest RSS."""
    window = sum(r["window_s"] for r in rounds)
    cpu = sum(r["cpu_s"] for r in rounds)
    upsd = [r["upsd_cpu_s"] for r in rounds]
    return {
        "interval_s": client.interval,
        "window_s": window,
        "cpu_s": cpu,
        "cpu_s_ticks": sum(r["cpu_s_ticks"] for r in rounds),
        "cpu_percent": 100 * cpu / window,
        "cpu_per_poll_ms": per_poll_ms(client, cpu, window),
        "rss_mib": max(r["rss_mib"] for r in rounds),
        "upsd_cpu_percent": None if None in upsd else 100 * sum(upsd) / window,
        "rounds_cpu_per_poll_ms": [round_per_poll_ms(client, r) for r in rounds],
    }


def client_checks(client: Client, r: dict[str, Any], upsmon: dict[str, Any]) -> dict[str, bool]:
    """Each target of one pyups row: met or not."""
    name = client.name
    checks = {
        f"{name}: CPU < {CPU_TARGET}% of a core": r["cpu_percent"] < CPU_TARGET,
        f"{name}: RSS < {RSS_TARGET:g} MiB": r["rss_mib"] < RSS_TARGET,
    }
    if client.per_poll_target is not None:
        per_poll, reference = r["cpu_per_poll_ms"], upsmon["cpu_per_poll_ms"]
        checks[f"{name}: CPU <= {client.per_poll_target:g} ms a poll"] = (
            per_poll <= client.per_poll_target
        )
        checks[f"{name}: CPU a poll <= {UPSMON_RATIO_TARGET:g}x upsmon's"] = (
            per_poll <= UPSMON_RATIO_TARGET * reference
        )
    if client.rss_target is not None:
        checks[f"{name}: RSS <= {client.rss_target:g} MiB"] = r["rss_mib"] <= client.rss_target
    return checks


def split(slow: dict[str, Any], fast: dict[str, Any]) -> dict[str, float]:
    """pyups' CPU as a fixed part plus a part per poll, from its runs at two intervals.

    cpu_share = fixed + per_poll / interval, solved with the two rows: the fixed part is what
    pyups spends with no poll at all (its main thread's service ticks), per second.
    """
    rate_slow, rate_fast = 1 / slow["interval_s"], 1 / fast["interval_s"]
    share_slow, share_fast = slow["cpu_s"] / slow["window_s"], fast["cpu_s"] / fast["window_s"]
    per_poll = (share_fast - share_slow) / (rate_fast - rate_slow)
    return {
        "fixed_ms_per_s": 1000 * (share_slow - per_poll * rate_slow),
        "per_poll_ms": 1000 * per_poll,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=60.0,
        help="measuring time per client, all rounds together (default 60)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="turns each client takes (default 3)")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="seconds after start-up before it (default 5)"
    )
    args = parser.parse_args()
    users = f"[{MONITOR_USER}]\n  password = {MONITOR_PASSWORD}\n  upsmon primary\n"
    print(machine_line())
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds must be at least 1 and --seconds more than 0")
    window = args.seconds / args.rounds
    rounds: dict[str, list[dict[str, Any]]] = {client.name: [] for client in CLIENTS}
    with shared_journald(), NutServer(extra_users=users) as server:
        upsd = server.upsd_pid
        for turn in range(1, args.rounds + 1):
            for client in CLIENTS:
                print(
                    f"round {turn}/{args.rounds}, {client.name}: {args.warmup:g} s warm-up, "
                    f"{window:g} s",
                    flush=True,
                )
                rounds[client.name].append(measure(client, server, upsd, args.warmup, window))
        again = {
            client.name: measure_outliers_again(
                client, rounds[client.name], server, upsd, args.warmup, window
            )
            for client in CLIENTS
        }
    results = {client.name: combine(client, rounds[client.name]) for client in CLIENTS}
    for name, measured in again.items():
        results[name]["measured_again"] = measured

    checks: dict[str, bool] = {}
    rows = []
    for client in CLIENTS:
        r = results[client.name]
        if client.is_pyups:
            mine = client_checks(client, r, results[UPSMON])
            checks.update(mine)
            missed = [check.split(": ", 1)[1] for check, ok in mine.items() if not ok]
            said = "MISSED: " + ", ".join(missed) if missed else "met"
        else:
            said = "reference"
        upsd_share = r["upsd_cpu_percent"]
        rows.append(
            [
                client.name,
                f"{r['cpu_percent']:.3f}",
                f"{r['cpu_per_poll_ms']:.3f}",
                f"{r['rss_mib']:.1f}",
                f"{r['cpu_per_poll_ms'] / results[UPSMON]['cpu_per_poll_ms']:.1f}x",
                "?" if upsd_share is None else f"{upsd_share:.3f}",
                said,
            ]
        )
    parts = split(results["pyups, 1 s"], results["pyups, 0.25 s"])
    print()
    print_table(
        f"idle cost of monitoring {UPS}, one client at a time, {args.seconds:g} s each in "
        f"{args.rounds} rounds (targets: CPU < {CPU_TARGET}% of a core, RSS < {RSS_TARGET:g} MiB)",
        ["client", "CPU % core", "CPU ms/poll", "RSS MiB", "x upsmon", "upsd CPU %", "verdict"],
        rows,
    )
    path = write_result(
        "idle_cost",
        {
            "ups": UPS,
            "mode": "one client after the other, same upsd, in rounds",
            "seconds": args.seconds,
            "rounds": args.rounds,
            "warmup": args.warmup,
            "outlier_ratio": OUTLIER,
            "targets": {
                "cpu_percent_below": CPU_TARGET,
                "rss_mib_below": RSS_TARGET,
                "cpu_per_poll_ms": PER_POLL_TARGET,
                "cpu_per_poll_ms_metrics": PER_POLL_METRICS_TARGET,
                "upsmon_ratio": UPSMON_RATIO_TARGET,
                "rss_mib_lean": RSS_LEAN_TARGET,
                "rss_mib_rules": RSS_RULES_TARGET,
            },
            "clients": results,
            "pyups_split": parts,
            "checks": checks,
        },
    )
    for name, measured in again.items():
        for m in measured:
            said = "replaced" if m["replaced"] else "kept"
            print(
                f"{name}: round {m['round']} measured again: {m['first_ms']:.3f} then "
                f"{m['again_ms']:.3f} ms a poll, the first {said}"
            )
    print(
        f"pyups split (from its two rows): {parts['fixed_ms_per_s']:.3f} ms CPU a second fixed"
        f" + {parts['per_poll_ms']:.3f} ms a poll"
    )
    print(f"results: {path}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
