"""Scale: one ``pyups run`` polling a machine room's worth of UPSes, and a hung server.

DESIGN's targets: 200 UPSes over several servers at 1 s with no drift; a hung server delays
no other by more than 100 ms. This bench starts several real upsd servers (default 4), each
with one dummy-ups driver per UPS (the simulated eaton800), and for each size (default 100
and 200 UPSes, split evenly over the servers) runs one ``pyups run`` at a 1 s interval with
``--record`` and ``[monitor] timeout = "5s"``. Once every UPS has been polled and a warm-up
has passed, it measures a window (default 60 s):

* polls done (counted in the trace) against the polls due, and errors;
* CPU of the pyups process (from /proc) as a share of one core, the part of it spent in the
  kernel, and milliseconds per UPS-poll; its RSS at the end of the window; and the CPU the
  servers took meanwhile (the upsd processes; for the simulated run, the FakeUpsd hosts);
* the schedule, from the trace: each UPS's polls against its ideal grid (its first poll in
  the window + k x interval, shifted to its earliest poll, since pyups never polls before a
  deadline). Lateness p50 / p95 / max, polls missed (gaps over 1.5 intervals) and the
  trend: the least-squares slope of lateness over time within each UPS, in ms per hour and
  over the window, and the same slope through each UPS's least lateness in each 10 s (the
  "floor", which jitter hardly moves and drift moves as much as the rest). "No drift" is a
  flat floor trend and no missed polls. A server's UPSes are polled one after the other by
  one thread, so lateness is mostly the jitter of a UPS's place in that pass, which grows
  with the number of UPSes on its server.

In the largest run, after the window, one upsd is frozen with SIGSTOP (by its PID; SIGCONT
always follows) for longer than pyups' request timeout (default 15 s). The lateness of the
UPSes on the other servers during the freeze is set against the same span just before it and
the seconds just after the thaw: that is the delay a hung server causes the others.

The largest size then runs once more without ``--record`` (``--bare-seconds``, CPU and RSS
only), since the trace costs pyups CPU of its own that a production monitor does not spend.

Then, optionally (``--simulated N``, default 1000, 0 skips), a larger count through a
simulated server: the test harness's FakeUpsd (tests/harness/fakeupsd.py) serves a single
UPS name, so this is N FakeUpsd instances, one UPS each, i.e. N servers and N pyups polling
threads, hosted in a few helper processes (``--fake-processes``). Its rows are labelled
"simulated server"; that shape (one UPS per thread) is not the few-servers one above.

With ``--profile`` and py-spy installed (not a dependency), the largest run's window is also
sampled with ``py-spy record --nonblocking --gil`` (where the Python code spends its CPU;
time in system calls without the GIL is not seen), and the hottest functions are printed.
The sampler then shares the machine with what it measures.

Prints tables, writes bench/results/scale.json; exits 1 if a target is missed. Takes about
3.5 minutes with the defaults. Anything else running on the machine (2 cores when this was
written) shows up in every figure here.

    .venv/bin/python -m bench.scale [--sizes 100,200] [--servers 4] [--seconds 60]
        [--warmup 5] [--freeze 15] [--bare-seconds 20] [--simulated 1000]
        [--simulated-seconds 30] [--fake-processes 2] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from bench.harness import ROOT, machine_line, percentile, print_table, write_result
from pyups.address import Server
from pyups.sim import NutServer, eaton800
from tests.harness.config import pyups_config
from tests.harness.fakeupsd import FakeUpsd
from tests.harness.journald import shared_journald
from tests.harness.procs import cpu_seconds, end_process, rss_mib, sys_seconds
from tests.harness.pyups import Pyups
from tests.harness.wait import TimedOut, wait_until

TRACE = "trace.jsonl"  # relative: Pyups runs pyups in its own work directory
TIMEOUT = 5.0  # [monitor] timeout, seconds: the freeze must outlast it
THAW = 3.0  # seconds watched after SIGCONT
MISSED_GAP = 1.5  # a gap over this many intervals between two polls of a UPS misses polls
# A poll belongs to the grid slot it follows: from EARLY intervals before the UPS's usual
# phase to 1 - EARLY after it.
EARLY = 0.1
TARGET_DELAY_MS = 100.0  # a hung server delays no other by more than this
# "No drift", read as: the trend would move polls by less than half an interval in an hour.
# A scheduler that restarted its period from each poll's end would drift by at least the
# poll's own duration every period (0.1 ms a poll is 360 ms/h), and usually by far more.
# The check reads the trend of each UPS's least lateness per block of this many seconds:
# the slope through every poll moves by a few hundred ms/h from one 60 s window to the next
# with jitter alone.
DRIFT_FRACTION_PER_HOUR = 0.5
FLOOR_BLOCK = 10.0


@dataclass(frozen=True, slots=True)
class Poll:
    t: float
    ups: str
    server: str
    ok: bool


# -- the trace ------------------------------------------------------------------------------


def read_trace(path: Path) -> list[Poll]:
    """Every complete line of a --record trace (the last may still be being written)."""
    polls = []
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            polls.append(Poll(float(r["t"]), r["ups"], r["server"], "vars" in r))
    return polls


def by_ups(polls: Iterable[Poll], since: float) -> dict[str, list[Poll]]:
    """Per UPS, its polls from ``since`` on, oldest first."""
    grouped: dict[str, list[Poll]] = defaultdict(list)
    for p in sorted(polls, key=lambda p: p.t):
        if p.t >= since:
            grouped[p.ups].append(p)
    return grouped


@dataclass(frozen=True, slots=True)
class Schedule:
    """Lateness (seconds) of every poll against its UPS's grid, and the gaps between polls."""

    samples: list[tuple[str, float, float]]  # (ups, t, lateness)
    gaps: list[float]  # between consecutive polls of a UPS, seconds


def schedule(grouped: dict[str, list[Poll]], interval: float) -> Schedule:
    """Each UPS's grid is its first poll + k x interval, shifted to its earliest poll.

    pyups never polls before a deadline, so the earliest poll is the nearest to the ideal
    grid; the shift keeps a late first poll from making every other poll look early. A poll
    counts against the slot it follows, and lateness is never negative.
    """
    samples, gaps = [], []
    for ups, polls in grouped.items():
        anchor = polls[0].t
        # The UPS's usual phase against its first poll, then each poll against that phase.
        phases = [(p.t - anchor + interval / 2) % interval - interval / 2 for p in polls]
        usual = statistics.median(phases)
        offsets = [(ph - usual + EARLY * interval) % interval - EARLY * interval for ph in phases]
        earliest = min(offsets)
        for n, (p, offset) in enumerate(zip(polls, offsets, strict=True)):
            samples.append((ups, p.t, offset - earliest))
            if n:
                gaps.append(p.t - polls[n - 1].t)
    return Schedule(samples, gaps)


def span(s: Schedule, start: float, stop: float, only: set[str] | None = None) -> Schedule:
    """The samples with ``start <= t < stop`` (of the UPSes in ``only``), gaps recomputed."""
    samples = [x for x in s.samples if start <= x[1] < stop and (only is None or x[0] in only)]
    times: dict[str, list[float]] = defaultdict(list)
    for ups, t, _ in samples:
        times[ups].append(t)
    gaps = [b - a for ts in times.values() for a, b in pairwise(ts)]
    return Schedule(samples, gaps)


def missed(gaps: Sequence[float], interval: float) -> int:
    """Grid slots without a poll: a gap of 2.1 intervals misses one, of 3 misses two."""
    return sum(round(g / interval) - 1 for g in gaps if g > MISSED_GAP * interval)


def drift_ms_per_hour(samples: Sequence[tuple[str, float, float]]) -> float:
    """Least-squares slope of lateness over time within each UPS (offsets removed), ms/h."""
    points_of: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for ups, t, late in samples:
        points_of[ups].append((t, late))
    sxy = sxx = 0.0
    for points in points_of.values():
        mx = sum(t for t, _ in points) / len(points)
        my = sum(y for _, y in points) / len(points)
        sxy += sum((t - mx) * (y - my) for t, y in points)
        sxx += sum((t - mx) ** 2 for t, _ in points)
    return sxy / sxx * 1000 * 3600 if sxx else math.nan


def floor_drift_ms_per_hour(
    samples: Sequence[tuple[str, float, float]], start: float, seconds: float
) -> float:
    """The same slope through each UPS's least lateness in every block of the span
    (FLOOR_BLOCK seconds, shorter in a window of under six blocks).

    Jitter only ever adds lateness, drift moves all of it: the least lateness of a block is
    nearly free of jitter, so its trend tells drift from noise in a short window.
    """
    block = min(FLOOR_BLOCK, seconds / 6)
    floors: dict[tuple[str, int], tuple[float, float]] = {}
    for ups, t, late in samples:
        key = (ups, int((t - start) // block))
        if key not in floors or late < floors[key][1]:
            floors[key] = (start + (key[1] + 0.5) * block, late)
    return drift_ms_per_hour([(ups, t, late) for (ups, _), (t, late) in floors.items()])


def late_stats(s: Schedule, interval: float) -> dict[str, float]:
    values = [late * 1000 for _, _, late in s.samples]
    return {
        "polls": len(values),
        "p50_ms": round(percentile(values, 0.50), 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "max_ms": round(max(values, default=math.nan), 2),
        "missed": missed(s.gaps, interval),
    }


# -- processes ------------------------------------------------------------------------------


def split(size: int, servers: int) -> list[int]:
    """``size`` UPSes over ``servers`` as evenly as whole numbers allow."""
    return [size // servers + (1 if i < size % servers else 0) for i in range(servers)]


def start_servers(stack: contextlib.ExitStack, count: int, per_server: int) -> list[NutServer]:
    """``count`` upsd servers with ``per_server`` dummy-ups drivers each, started in parallel."""
    device = eaton800()
    servers = [
        NutServer(devices={f"ups{s}_{u:03d}": device for u in range(per_server)})
        for s in range(count)
    ]
    for server in servers:
        stack.callback(server.stop)
    with ThreadPoolExecutor(count) as pool:
        list(pool.map(lambda s: s.start(), servers))
    return servers


def config_text(servers: Sequence[tuple[Server, Sequence[str]]], interval: float) -> str:
    return pyups_config(servers, interval, timeout=f'"{TIMEOUT:g}s"')


def wait_polled(pyups: Pyups, names: set[str], timeout: float = 60.0) -> None:
    """Until every UPS has been polled once (read from the trace, not the journal, which
    may belong to another bench and come and go)."""
    try:
        wait_until(
            lambda: names <= {p.ups for p in read_trace(pyups.workdir / TRACE)},
            timeout,
            every=0.2,
            what="every UPS polled",
            process=pyups.process,
        )
    except TimedOut as exc:
        stderr = pyups.stderr().splitlines()[-20:]
        raise RuntimeError(f"pyups did not poll every UPS ({exc}): " + "\n".join(stderr)) from None


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def hot_spots(raw: Path, top: int = 12) -> dict[str, Any]:
    """From ``py-spy --format raw`` (collapsed stacks): the functions most often on top of a
    stack (self) and anywhere in it (total), as percentages of the samples."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f.strip() for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith(("process ", "thread "))] or frames
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n

    def share(c: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100 * n / samples, 1)) for f, n in c.most_common(top)]

    return {"samples": samples, "self": share(own), "total": share(total)} if samples else {}


# -- one run --------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    upses: int
    servers: int
    interval: float
    polls: list[Poll]
    window: tuple[float, float]
    cpu_s: float
    sys_s: float
    server_cpu_s: float
    rss_mib: float
    extra: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        start, stop = self.window
        seconds = stop - start
        in_window = [p for p in self.polls if start <= p.t < stop]
        s = span(schedule(by_ups(self.polls, start), self.interval), start, stop)
        drift = drift_ms_per_hour(s.samples)
        floor_drift = floor_drift_ms_per_hour(s.samples, start, seconds)
        return {
            "label": self.label,
            "upses": self.upses,
            "servers": self.servers,
            "window_s": round(seconds, 2),
            "polls": len(in_window),
            "polls_due": round(self.upses * seconds / self.interval),
            "errors": sum(not p.ok for p in in_window),
            "cpu_s": round(self.cpu_s, 3),
            "cpu_core_pct": round(100 * self.cpu_s / seconds, 2),
            "cpu_ms_per_poll": round(1000 * self.cpu_s / max(1, len(in_window)), 3),
            "cpu_sys_pct": round(100 * self.sys_s / self.cpu_s, 1) if self.cpu_s else math.nan,
            "server_cpu_core_pct": round(100 * self.server_cpu_s / seconds, 2),
            "rss_mib": round(self.rss_mib, 1),
            "lateness": late_stats(s, self.interval),
            "drift_ms_per_h": round(drift, 1),
            "drift_ms_over_window": round(drift * seconds / 3600, 3),
            "floor_drift_ms_per_h": round(floor_drift, 1),
            **self.extra,
        }


def measure(
    label: str,
    targets: Sequence[tuple[Server, Sequence[str]]],
    args: argparse.Namespace,
    seconds: float,
    server_pids: Sequence[int],
    profile: bool = False,
    freeze: NutServer | None = None,
) -> Run:
    """One ``pyups run`` over ``targets``: warm up, measure a window, optionally freeze."""
    upses = sum(len(names) for _, names in targets)
    print(f"{label}: {upses} UPSes on {len(targets)} servers ...", flush=True)
    extra: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        pyups = Pyups.run_config(config_text(targets, args.interval), "--record", TRACE)
        stack.callback(pyups.close)
        wait_polled(pyups, {n for _, names in targets for n in names})
        time.sleep(args.warmup)
        spy: subprocess.Popen[bytes] | None = None
        raw = pyups.workdir / "py-spy.txt"
        if profile:
            if (program := py_spy()) is None:
                print("  py-spy not found: no profile (pip install py-spy to get one)")
            else:
                spy = subprocess.Popen(
                    [
                        program, "record", "--pid", str(pyups.pid), "--duration",
                        str(max(1, int(seconds))), "--rate", "1000", "--nonblocking", "--gil",
                        "--format", "raw", "--output", str(raw),
                    ],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
                stack.callback(end_process, spy)
        start, cpu0, sys0 = time.time(), cpu_seconds(pyups.pid), sys_seconds(pyups.pid)
        servers0 = sum(cpu_seconds(pid) for pid in server_pids)
        time.sleep(seconds)
        stop, cpu1, sys1 = time.time(), cpu_seconds(pyups.pid), sys_seconds(pyups.pid)
        server_cpu = sum(cpu_seconds(pid) for pid in server_pids) - servers0
        rss = rss_mib(pyups.pid)
        if spy is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(30)
            extra["profile"] = hot_spots(raw) if raw.exists() else {}
        if freeze is not None:
            os.kill(freeze.upsd_pid, signal.SIGSTOP)
            try:
                extra["freeze_at"] = time.time()
                time.sleep(args.freeze)
            finally:
                os.kill(freeze.upsd_pid, signal.SIGCONT)
            extra["thaw_at"] = time.time()
            time.sleep(THAW)
        polls = read_trace(pyups.workdir / TRACE)
        if pyups.process.poll() is not None:
            raise RuntimeError(f"pyups exited with {pyups.process.returncode} during {label}")
    return Run(
        label, upses, len(targets), args.interval, polls, (start, stop),
        cpu1 - cpu0, sys1 - sys0, server_cpu, rss, extra,
    )  # fmt: skip


def measure_bare(
    label: str, targets: Sequence[tuple[Server, Sequence[str]]], args: argparse.Namespace
) -> dict[str, Any]:
    """CPU and RSS of ``pyups run`` without --record: what the trace itself costs shows as the
    difference. No trace, so polls are not counted: CPU per poll is per poll due."""
    upses = sum(len(names) for _, names in targets)
    print(f"{label}: {upses} UPSes on {len(targets)} servers ...", flush=True)
    seconds = args.bare_seconds
    with contextlib.ExitStack() as stack:
        pyups = Pyups.run_config(config_text(targets, args.interval))
        stack.callback(pyups.close)
        time.sleep(args.warmup + 2)  # every UPS is first polled within a second or so
        if pyups.process.poll() is not None:
            raise RuntimeError(f"pyups exited with {pyups.process.returncode} during {label}")
        start, cpu0, sys0 = time.monotonic(), cpu_seconds(pyups.pid), sys_seconds(pyups.pid)
        time.sleep(seconds)
        wall = time.monotonic() - start
        cpu, sys_s = cpu_seconds(pyups.pid) - cpu0, sys_seconds(pyups.pid) - sys0
        rss = rss_mib(pyups.pid)
    due = round(upses * wall / args.interval)
    return {
        "label": label,
        "upses": upses,
        "servers": len(targets),
        "window_s": round(wall, 2),
        "polls_due": due,
        "cpu_s": round(cpu, 3),
        "cpu_core_pct": round(100 * cpu / wall, 2),
        "cpu_ms_per_poll": round(1000 * cpu / max(1, due), 3),
        "cpu_sys_pct": round(100 * sys_s / cpu, 1) if cpu else math.nan,
        "rss_mib": round(rss, 1),
    }


def freeze_report(run: Run, frozen: Server, seconds: float) -> dict[str, Any]:
    """Lateness of the other servers' UPSes before, during and after the freeze."""
    freeze_at, thaw_at = run.extra["freeze_at"], run.extra["thaw_at"]
    s = schedule(by_ups(run.polls, run.window[0]), run.interval)
    others = {p.ups for p in run.polls if p.server != str(frozen)}
    spans = {
        "before": (freeze_at - seconds, freeze_at),
        "during": (freeze_at, thaw_at),
        "after thaw": (thaw_at, thaw_at + THAW),
    }
    result: dict[str, Any] = {
        "frozen_server": str(frozen),
        "freeze_s": round(thaw_at - freeze_at, 2),
        "other_upses": len(others),
        **{name: late_stats(span(s, a, b, others), run.interval) for name, (a, b) in spans.items()},
    }
    for key in ("p95_ms", "max_ms"):
        result[f"added_{key}"] = round(result["during"][key] - result["before"][key], 2)
    mine = [p for p in run.polls if p.server == str(frozen) and freeze_at <= p.t < thaw_at + THAW]
    during = [p for p in mine if p.t < thaw_at]
    good_after = [p.t for p in mine if p.t >= thaw_at and p.ok]
    result["frozen_server_polls_during"] = len(during)
    result["frozen_server_errors_during"] = sum(not p.ok for p in during)
    result["frozen_server_first_good_after_thaw_s"] = (
        round(min(good_after) - thaw_at, 3) if good_after else None
    )
    return result


# -- the simulated servers ------------------------------------------------------------------


def serve_fakes(first: int, count: int) -> None:
    """Helper process: ``count`` FakeUpsd, one UPS each; their ports as one JSON line on
    stdout; runs until stdin closes (its threads are daemons and go with the process)."""
    fakes = []
    for n in range(first, first + count):
        fake = FakeUpsd(f"sim{n:04d}")
        fake.start()
        fakes.append(fake)
    print(json.dumps([[f.ups, f.port] for f in fakes]), flush=True)
    sys.stdin.read()


def start_fakes(
    stack: contextlib.ExitStack, count: int, processes: int
) -> tuple[list[tuple[Server, list[str]]], list[int]]:
    """``count`` FakeUpsd over ``processes`` helper processes, each ended by its PID."""
    helpers = []
    first = 0
    for n in split(count, processes):
        helper = subprocess.Popen(
            [sys.executable, "-m", "bench.scale", "--serve-fakes", str(n), "--first", str(first)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True, cwd=ROOT,
        )  # fmt: skip
        stack.callback(end_process, helper, 10.0)
        stack.callback(helper.stdin.close)  # type: ignore[union-attr]
        helpers.append(helper)
        first += n
    targets = []
    for helper in helpers:
        line = helper.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError(f"FakeUpsd helper {helper.pid} exited with {helper.wait()}")
        for name, port in json.loads(line):
            targets.append((Server("127.0.0.1", port), [name]))
    return targets, [h.pid for h in helpers]


# -- main -----------------------------------------------------------------------------------


def cost_row(s: dict[str, Any]) -> list[object]:
    return [
        s["label"], s["upses"], s["servers"], s["polls"], s["polls_due"], s["errors"],
        f"{s['cpu_core_pct']:.1f}", f"{s['cpu_sys_pct']:.0f}", f"{s['cpu_ms_per_poll']:.3f}",
        f"{s['rss_mib']:.1f}", f"{s['server_cpu_core_pct']:.1f}",
    ]  # fmt: skip


def schedule_row(s: dict[str, Any]) -> list[object]:
    late = s["lateness"]
    return [
        s["label"], f"{late['p50_ms']:.1f}", f"{late['p95_ms']:.1f}", f"{late['max_ms']:.1f}",
        late["missed"], f"{s['drift_ms_per_h']:+.0f}", f"{s['drift_ms_over_window']:+.2f}",
        f"{s['floor_drift_ms_per_h']:+.0f}",
    ]  # fmt: skip


def bare_row(s: dict[str, Any]) -> list[object]:
    return [
        s["label"], s["upses"], s["servers"], "-", s["polls_due"], "-",
        f"{s['cpu_core_pct']:.1f}", f"{s['cpu_sys_pct']:.0f}", f"{s['cpu_ms_per_poll']:.3f}",
        f"{s['rss_mib']:.1f}", "-",
    ]  # fmt: skip


def report(
    args: argparse.Namespace,
    summaries: list[dict[str, Any]],
    freeze: dict[str, Any],
    bare: dict[str, Any],
) -> dict[str, bool]:
    """Print the tables; return the checks against DESIGN's targets."""
    print()
    window = f"window {args.seconds:g} s (simulated: {args.simulated_seconds:g} s)"
    print_table(
        f"pyups run, interval {args.interval:g} s, {window}: cost",
        ["run", "UPSes", "servers", "polls", "due", "errors", "CPU %core", "of it sys %",
         "CPU ms/poll", "RSS MiB", "server CPU %core"],
        [*[cost_row(s) for s in summaries], *([bare_row(bare)] if bare else [])],
    )  # fmt: skip
    print_table(
        f"pyups run, {window}: lateness against each UPS's own grid",
        ["run", "p50 ms", "p95 ms", "max ms", "missed", "trend ms/h", "over window ms",
         f"floor trend ms/h ({FLOOR_BLOCK:g} s minima)"],
        [schedule_row(s) for s in summaries],
    )  # fmt: skip
    if freeze:
        print_table(
            f"upsd {freeze['frozen_server']} frozen (SIGSTOP) {freeze['freeze_s']:.1f} s, "
            f"request timeout {TIMEOUT:g} s: lateness of the {freeze['other_upses']} UPSes "
            "on the other servers",
            ["span", "polls", "p50 ms", "p95 ms", "max ms", "missed"],
            [
                [name, r["polls"], f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}",
                 f"{r['max_ms']:.1f}", r["missed"]]
                for name in ("before", "during", "after thaw")
                for r in [freeze[name]]
            ],
        )  # fmt: skip
        first_good = freeze["frozen_server_first_good_after_thaw_s"]
        print(
            f"delay the freeze added to the others: p95 {freeze['added_p95_ms']:+.1f} ms, "
            f"max {freeze['added_max_ms']:+.1f} ms (during - before)"
        )
        print(
            f"frozen server's own UPSes: {freeze['frozen_server_polls_during']} polls during the "
            f"freeze ({freeze['frozen_server_errors_during']} errors); first good poll "
            f"{'none' if first_good is None else f'{first_good:.2f} s'} after the thaw"
        )
        print()
    for s in summaries:
        if s.get("profile"):
            p = s["profile"]
            print_table(
                f"py-spy --gil, {s['label']}: {p['samples']} samples of the thread holding the GIL",
                ["function (self)", "%", "function (total)", "%"],
                [[a, b, c, d] for (a, b), (c, d) in zip(p["self"], p["total"], strict=False)],
            )

    real = [s for s in summaries if "simulated" not in s]
    biggest = real[-1]
    checks = {
        f"{biggest['upses']} UPSes: no poll missed": biggest["lateness"]["missed"] == 0,
        f"{biggest['upses']} UPSes: no drift (|floor trend| < "
        f"{DRIFT_FRACTION_PER_HOUR * args.interval * 1000:.0f} ms/h)": abs(
            biggest["floor_drift_ms_per_h"]
        )
        < DRIFT_FRACTION_PER_HOUR * args.interval * 1000,
        f"{biggest['upses']} UPSes: all polls done": biggest["polls"]
        >= 0.99 * biggest["polls_due"],
    }
    if freeze:
        checks[f"hung server delays no other by more than {TARGET_DELAY_MS:.0f} ms (max)"] = (
            freeze["during"]["max_ms"] <= TARGET_DELAY_MS and freeze["during"]["missed"] == 0
        )
    print_table("targets (DESIGN)", ["check", "result"], [
        [name, "met" if ok else "MISSED"] for name, ok in checks.items()
    ])  # fmt: skip
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,200", help="UPS counts, comma-separated")
    parser.add_argument("--servers", type=int, default=4, help="real upsd servers")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval, seconds")
    parser.add_argument("--seconds", type=float, default=60, help="measurement window")
    parser.add_argument("--warmup", type=float, default=5, help="seconds before the window")
    parser.add_argument("--freeze", type=float, default=15, help="seconds one upsd is stopped")
    parser.add_argument("--simulated", type=int, default=1000, help="FakeUpsd UPSes; 0 skips")
    parser.add_argument("--simulated-seconds", type=float, default=30, help="their window")
    parser.add_argument("--fake-processes", type=int, default=2, help="processes hosting them")
    parser.add_argument(
        "--bare-seconds", type=float, default=20, help="largest size again without --record, "
        "CPU only, for this long; 0 skips",
    )  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="py-spy the largest run")
    parser.add_argument("--serve-fakes", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fakes is not None:
        serve_fakes(args.first, args.serve_fakes)
        return 0
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if args.freeze <= TIMEOUT:
        parser.error(f"--freeze must be longer than pyups' request timeout ({TIMEOUT:g} s)")
    if args.servers < 2 or min(sizes) < args.servers:
        parser.error("need at least 2 servers and a UPS per server")

    # SIGTERM unwinds like an error, so that every process started here is ended.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    print(machine_line())
    print()
    began = time.monotonic()
    summaries: list[dict[str, Any]] = []
    freeze: dict[str, Any] = {}
    bare: dict[str, Any] = {}
    with shared_journald(), contextlib.ExitStack() as stack:
        t = time.monotonic()
        servers = start_servers(stack, args.servers, max(split(max(sizes), args.servers)))
        print(
            f"{args.servers} upsd with {max(sizes)} dummy-ups drivers ready in "
            f"{time.monotonic() - t:.1f} s",
            flush=True,
        )
        for size in sizes:
            largest = size == sizes[-1]
            targets = [
                (server.server, sorted(server.devices)[:n])
                for server, n in zip(servers, split(size, args.servers), strict=True)
            ]
            run = measure(
                f"{size} UPSes, upsd", targets, args, args.seconds,
                [s.upsd_pid for s in servers],
                profile=args.profile and largest, freeze=servers[0] if largest else None,
            )  # fmt: skip
            summaries.append(run.summary())
            if largest:
                freeze = freeze_report(run, servers[0].server, args.freeze)
                if args.bare_seconds:
                    bare = measure_bare(f"{size} UPSes, upsd, no --record", targets, args)
        for server in servers:  # free the CPU their drivers take before the simulated run
            server.stop()
        if args.simulated:
            t = time.monotonic()
            fakes, helpers = start_fakes(stack, args.simulated, args.fake_processes)
            print(f"{args.simulated} FakeUpsd ready in {time.monotonic() - t:.1f} s", flush=True)
            label = f"{args.simulated} UPSes, simulated server"
            run = measure(label, fakes, args, args.simulated_seconds, helpers)
            summary = run.summary()
            summary["simulated"] = (
                "FakeUpsd serves one UPS name, so one FakeUpsd (one server, one pyups polling "
                f"thread) per UPS, in {len(helpers)} helper processes"
            )
            summaries.append(summary)

    checks = report(args, summaries, freeze, bare)
    settings = {k: v for k, v in vars(args).items() if k not in ("serve_fakes", "first")}
    path = write_result(
        "scale",
        {
            "settings": {**settings, "timeout": TIMEOUT, "thaw_watched_s": THAW},
            "runs": summaries,
            "freeze": freeze,
            "without_record": bare,
            "checks": checks,
            "runtime_s": round(time.monotonic() - began, 1),
        },
    )
    print(f"{path.relative_to(ROOT)}, {time.monotonic() - began:.0f} s in all")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
