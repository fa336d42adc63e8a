"""Detection latency: a UPS's status changes → the event is logged, pyups vs NUT's upsmon.

One private upsd serves a row of simulated UPSes (dummy-ups, the eaton800's data). Watching
all of them at the same time:

* ``pyups run`` at a 1 s interval; latency ends at the journal entry's
  ``__REALTIME_TIMESTAMP`` (journald's own clock when the entry arrived);
* NUT's ``upsmon`` (the real /lib/nut/upsmon) at POLLFREQ 1, whose NOTIFYCMD stamps the time
  it runs (bash's ``$EPOCHREALTIME``, no extra process);
* ``pyups run`` at 0.25 s, a period upsmon cannot poll at (POLLFREQ is whole seconds).

The bench flips each UPS's ``ups.status`` between ``OL CHRG`` and ``OB DISCHRG`` through upsd
every three seconds and notes the time just before each SET. The moment within the second
is random but stratified (one per slice of 1/N s over all N flips, in shuffled order), so
every phase against the clients' poll schedules is covered evenly and the means compare the
clients, not the luck of the draw. Latency is the time from the SET to each client's ONBATT
or ONLINE for that UPS.

dummy-ups 2.8.0 sleeps a whole second in each update and applies a SET only after it; a flip
that upsd does not show within 5 ms landed in that second, so it is not counted and its
phase is drawn again (the drivers run with pollinterval 10, making that rare).

Prints a table, writes bench/results/latency.json and draws docs/latency.png (the
distributions side by side; needs matplotlib, from ``pip install -e '.[bench]'``).

    .venv/bin/python -m bench.latency [--upses N] [--flips N] [--seed N] [--no-plot]
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import itertools
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.harness import ROOT, Upsmon, machine_line, percentile, print_table, write_result
from pyups.core.trace import from_line
from pyups.nut import Connection
from pyups.sim import NutServer, eaton800
from tests.harness.config import pyups_config
from tests.harness.journald import shared_journald
from tests.harness.pyups import Pyups

STATES = [("OB DISCHRG", "ONBATT"), ("OL CHRG", "ONLINE")]
EVERY = 3  # seconds between two flips of one UPS: each client has seen one before the next
CHECK = 0.005  # a flip counts when upsd shows it this soon after the SET
PLOT = ROOT / "docs" / "latency.png"
BOOTSTRAP = 2000  # resamples for the confidence intervals of the differences
MONITOR_USER, MONITOR_PASSWORD = "bench-upsmon", "bench-upsmon-password"


@dataclass
class Flip:
    ups: str
    at: float
    status: str
    event: str
    phase: float
    counted: bool = False


def stratified(count: int, rng: random.Random) -> list[float]:
    """Phases within the second: one random point in each 1/count slice, shuffled."""
    phases = [(k + rng.random()) / count for k in range(count)]
    rng.shuffle(phases)
    return phases


def sleep_until(moment: float) -> None:
    while (left := moment - time.time()) > 0.002:
        time.sleep(left - 0.001)
    while time.time() < moment:
        pass


def latencies(flips: Sequence[Flip], seen: Sequence[tuple[float, str, str]]) -> list[float | None]:
    """For each counted flip, the delay to the first matching notification before the next."""
    out: list[float | None] = []
    for n, flip in enumerate(flips):
        if not flip.counted:
            continue
        later = [f.at for f in flips[n + 1 :] if f.ups == flip.ups]
        until = later[0] if later else float("inf")
        hits = [t for t, kind, ups in seen if ups == flip.ups and kind == flip.event]
        hits = [t for t in hits if flip.at <= t < until]
        out.append(min(hits) - flip.at if hits else None)
    return out


def pyups_seen(pyups: Pyups) -> list[tuple[float, str, str]]:
    return [
        (int(e["__REALTIME_TIMESTAMP"]) / 1e6, e["PYUPS_EVENT"], e["PYUPS_UPS"])
        for e in pyups.entries()
        if e.get("PYUPS_EVENT") in ("ONBATT", "ONLINE")
    ]


def run_flips(server: NutServer, names: Sequence[str], phases: list[float]) -> list[Flip]:
    """Flip each UPS every EVERY seconds at the phases given, until each phase has counted."""
    flips: list[Flip] = []
    base = {name: int(time.time()) + 1.0 + n % EVERY for n, name in enumerate(names)}
    # (when, tie-breaker, UPS, None for a flip to make or the flip whose SET to check)
    plan: list[tuple[float, int, str, Flip | None]] = []
    order = itertools.count()
    phase_of: dict[str, float] = {}

    def schedule(name: str) -> None:
        if phases:
            phase_of[name] = phases.pop()
            heapq.heappush(plan, (base[name] + phase_of[name], next(order), name, None))
            base[name] += EVERY

    for name in names:
        schedule(name)
    with contextlib.closing(Connection(server.server, 5.0)) as watcher:
        while plan:
            when, _, name, flip = heapq.heappop(plan)
            sleep_until(when)
            if flip is None:
                status, event = STATES[sum(f.ups == name for f in flips) % 2]
                flip = Flip(name, time.time(), status, event, phase_of[name])
                server.set_var(name, "ups.status", status)
                flips.append(flip)
                heapq.heappush(plan, (flip.at + CHECK, next(order), name, flip))
            else:
                flip.counted = watcher.get_var(name, "ups.status") == flip.status
                if not flip.counted:
                    phases.append(flip.phase)  # the driver's blind second: draw it again
                schedule(name)
                if sys.stdout.isatty():
                    counted = sum(f.counted for f in flips)
                    print(f"\r{counted} flips counted of {len(flips)}", end="", flush=True)
    if sys.stdout.isatty():
        print()
    return flips


def after_poll(
    flips: Sequence[Flip], seen: Sequence[tuple[float, str, str]], trace: str
) -> list[float]:
    """For pyups: the time from the poll that first saw each change to its journal entry."""
    polls: dict[str, list[tuple[float, str]]] = {}
    with open(trace) as lines:
        for line in lines:
            snap = from_line(line)
            polls.setdefault(snap.ups, []).append((snap.t, snap.vars.get("ups.status", "")))
    out = []
    counted = [f for f in flips if f.counted]
    for flip, latency in zip(counted, latencies(flips, seen), strict=True):
        if latency is None:
            continue
        first = next(
            (t for t, status in polls[flip.ups] if t >= flip.at - 0.001 and status == flip.status),
            None,
        )
        if first is not None:
            out.append(flip.at + latency - first)
    return out


def paired(a: Sequence[float | None], b: Sequence[float | None], seed: int) -> dict[str, float]:
    """a - b in mean and in p95 over the flips both saw, with bootstrap 95% intervals (ms)."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    rng = random.Random(seed)

    def diffs(sample: Sequence[tuple[float, float]]) -> tuple[float, float]:
        xs, ys = [x for x, _ in sample], [y for _, y in sample]
        return (
            (statistics.fmean(xs) - statistics.fmean(ys)) * 1000,
            (percentile(xs, 0.95) - percentile(ys, 0.95)) * 1000,
        )

    boot = [diffs(rng.choices(pairs, k=len(pairs))) for _ in range(BOOTSTRAP)]
    mean, p95 = diffs(pairs)
    means, p95s = sorted(m for m, _ in boot), sorted(p for _, p in boot)
    return {
        "mean_ms": mean,
        "mean_low_ms": percentile(means, 0.025),
        "mean_high_ms": percentile(means, 0.975),
        "p95_ms": p95,
        "p95_low_ms": percentile(p95s, 0.025),
        "p95_high_ms": percentile(p95s, 0.975),
    }


def summary(values: Sequence[float | None]) -> dict[str, Any]:
    found = [v for v in values if v is not None]
    return {
        "samples_ms": [round(v * 1000, 3) for v in found],
        "missed": len(values) - len(found),
        "mean_ms": statistics.fmean(found) * 1000,
        "p50_ms": statistics.median(found) * 1000,
        "p95_ms": percentile(found, 0.95) * 1000,
        "max_ms": max(found) * 1000,
    }


def plot(results: dict[str, dict[str, Any]], transitions: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.2), dpi=110)
    names = list(results)
    data = [results[n]["samples_ms"] for n in names]
    axes.boxplot(data, orientation="horizontal", widths=0.5, showmeans=True, whis=(5, 95), sym="")
    rng = random.Random(1)
    for row, samples in enumerate(data, start=1):
        jitter = [row + rng.uniform(-0.18, 0.18) for _ in samples]
        axes.scatter(samples, jitter, s=10, alpha=0.55)
    axes.set_yticks(range(1, len(names) + 1), names)
    axes.invert_yaxis()
    axes.set_xlabel("status change → event logged (ms)")
    axes.set_title(
        f"Detection latency, {transitions} status changes, random phase\n"
        "box: quartiles and median, whiskers: p5 and p95, triangle: mean\n" + machine_line(),
        fontsize=10,
    )
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    PLOT.parent.mkdir(exist_ok=True)
    figure.savefig(PLOT)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upses", type=int, default=40, help="simulated UPSes (default 40)")
    parser.add_argument("--flips", type=int, default=20, help="flips of each (default 20)")
    parser.add_argument("--seed", type=int, default=None, help="random seed for the phases")
    parser.add_argument("--no-plot", action="store_true", help=f"do not draw {PLOT.name}")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    names = [f"ups{n:02d}" for n in range(1, args.upses + 1)]
    total = args.upses * args.flips
    users = f"[{MONITOR_USER}]\n  password = {MONITOR_PASSWORD}\n  upsmon primary\n"
    print(machine_line())
    with contextlib.ExitStack() as stack:
        stack.enter_context(shared_journald())
        server = stack.enter_context(
            NutServer({n: eaton800() for n in names}, extra_users=users, pollinterval=10)
        )
        watched = [(server.server, names)]
        trace = str(stack.enter_context(tempfile.TemporaryDirectory()) + "/trace.jsonl")
        clients = {
            "pyups, 1 s": Pyups.run_config(pyups_config(watched, 1.0), "--record", trace),
            "pyups, 0.25 s": Pyups.run_config(pyups_config(watched, 0.25)),
        }
        for client in clients.values():
            stack.callback(client.close)
        upsmon = Upsmon(
            [server.address(n) for n in names], MONITOR_USER, MONITOR_PASSWORD, pollfreq=1
        )
        stack.callback(upsmon.close)
        for client in clients.values():
            client.wait_event("STARTUP", timeout=20)
        time.sleep(2.0)  # upsmon has logged in and polled
        flips = run_flips(server, names, stratified(total, random.Random(seed)))
        time.sleep(EVERY)
        seen = {name: pyups_seen(client) for name, client in clients.items()}
        measured = {
            "pyups, 1 s": latencies(flips, seen["pyups, 1 s"]),
            "upsmon, POLLFREQ 1": latencies(flips, upsmon.notifications()),
            "pyups, 0.25 s": latencies(flips, seen["pyups, 0.25 s"]),
        }
        overhead = after_poll(flips, seen["pyups, 1 s"], trace)
    results = {name: summary(values) for name, values in measured.items()}
    versus = paired(measured["pyups, 1 s"], measured["upsmon, POLLFREQ 1"], seed)

    pyups, fast = results["pyups, 1 s"], results["pyups, 0.25 s"]
    checks = {
        "pyups p95 <= interval + 50 ms (1 s)": pyups["p95_ms"] <= 1050,
        "pyups p95 <= interval + 50 ms (0.25 s)": fast["p95_ms"] <= 300,
        "pyups not slower than upsmon, mean (same period)": versus["mean_low_ms"] <= 0,
        "pyups not slower than upsmon, p95 (same period)": versus["p95_low_ms"] <= 0,
        "no transition missed": all(r["missed"] == 0 for r in results.values()),
    }
    not_counted = sum(not f.counted for f in flips)
    print_table(
        f"status change → event logged: {total} flips over {args.upses} UPSes, random phase "
        f"(seed {seed})",
        ["client", "mean ms", "p50 ms", "p95 ms", "max ms", "missed"],
        [
            [name, f"{r['mean_ms']:.0f}", f"{r['p50_ms']:.0f}", f"{r['p95_ms']:.0f}",
             f"{r['max_ms']:.0f}", r["missed"]]
            for name, r in results.items()
        ],
    )  # fmt: skip
    print_table(
        "pyups (1 s) minus upsmon, same flips, with 95% bootstrap intervals",
        ["", "difference ms", "95% interval ms"],
        [
            ["mean", f"{versus['mean_ms']:+.0f}",
             f"{versus['mean_low_ms']:+.0f} .. {versus['mean_high_ms']:+.0f}"],
            ["p95", f"{versus['p95_ms']:+.0f}",
             f"{versus['p95_low_ms']:+.0f} .. {versus['p95_high_ms']:+.0f}"],
        ],
    )  # fmt: skip
    print_table(
        "pyups (1 s): from the poll that saw the change to the journal entry",
        ["median ms", "p95 ms", "max ms"],
        [[f"{statistics.median(overhead) * 1000:.1f}", f"{percentile(overhead, 0.95) * 1000:.1f}",
          f"{max(overhead) * 1000:.1f}"]],
    )  # fmt: skip
    print_table("targets (DESIGN §8)", ["check", "result"], [
        [name, "met" if ok else "MISSED"] for name, ok in checks.items()
    ])  # fmt: skip
    write_result(
        "latency",
        {
            "upses": args.upses,
            "flips": total,
            "flips_not_counted": not_counted,
            "seed": seed,
            "clients": results,
            "pyups_minus_upsmon": versus,
            "pyups_after_poll_ms": {
                "median": statistics.median(overhead) * 1000,
                "p95": percentile(overhead, 0.95) * 1000,
                "max": max(overhead) * 1000,
            },
            "checks": checks,
        },
    )
    if not args.no_plot:
        plot(results, total)
        print(f"plot: {PLOT.relative_to(ROOT)}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
