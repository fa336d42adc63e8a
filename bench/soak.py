"""Soak: a real ``pyups run`` polling two servers fast, with faults, until 10,000 polls.

One server is a private upsd + dummy-ups (the simulated eaton800) whose status changes at
random and whose driver is stopped and started now and then; the other is the test
harness's fake upsd (tests/harness/fakeupsd.py), switched at random between good answers and
every way of misbehaving (cut, silent, garbage, endless, trickle) every few hundred
milliseconds. Polls are counted from the ``--record`` trace. The pyups process is sampled
(psutil: RSS, open file descriptors, threads) after a warm-up, a few times in between and at
the end; prints a table and verdicts and writes bench/results/soak.json. Exits 1 unless RSS,
fds and threads stayed flat.

    .venv/bin/python -m bench.soak [--polls N] [--seed N] [--interval S] [--timeout S]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.harness import RESULTS
from pyups.core.catalogue import EVENTS
from pyups.nut import NutError
from pyups.sim import NutServer
from tests.harness.config import pyups_config
from tests.harness.fakeupsd import FakeUpsd
from tests.harness.procs import open_fds, rss_mib, threads
from tests.harness.pyups import Pyups

REAL_UPS, FAKE_UPS = "eaton800", "fake800"
# Fake modes, good answers weighted so that good polls and faults both come often.
FAKE_MODES = ["good"] * 4 + ["cut", "silent", "garbage", "endless", "trickle"]
REAL_STATUSES = [
    ("OL CHRG", {"battery_charge": "100"}),
    ("OB DISCHRG", {"battery_charge": "80"}),
    ("OB DISCHRG LB", {"battery_charge": "15"}),
    ("OL CHRG RB", {}),
    ("OL BYPASS", {}),
    ("OL ALARM", {"ups_alarm": "Fan failure"}),
    ("OL CHRG TEST", {}),
]
FAKE_STATUSES = ["OL CHRG", "OB DISCHRG", "OL CHRG RB", "OB LB", "OL OVER"]
# Flat means: RSS grew by less than this many MiB, or by less than this fraction; fds and
# threads at the end within this many of their count at the start.
RSS_TOLERANCE_MIB = 5.0
RSS_TOLERANCE_FRACTION = 0.10
COUNT_TOLERANCE = 2


@dataclass(frozen=True)
class Sample:
    polls: int
    elapsed_s: float
    rss_mib: float
    fds: int
    threads: int


def sample(pid: int, polls: int, started: float) -> Sample:
    return Sample(
        polls=polls,
        elapsed_s=round(time.monotonic() - started, 1),
        rss_mib=rss_mib(pid),
        fds=open_fds(pid),
        threads=threads(pid),
    )


class TraceCounter:
    """Counts poll results in the growing trace file, reading only what was appended."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""
        self.total = 0
        self.by_server: Counter[str] = Counter()  # "real good", "fake TIMEOUT", ...

    def update(self, servers: dict[str, str]) -> int:
        with contextlib.suppress(FileNotFoundError), open(self.path, "rb") as trace:
            trace.seek(self.offset)
            data = trace.read()
            self.offset += len(data)
            lines = (self.partial + data).split(b"\n")
            self.partial = lines.pop()
            for line in lines:
                record = json.loads(line)
                who = servers.get(record["server"], record["server"])
                self.by_server[f"{who} {record.get('error', 'good')}"] += 1
                self.total += 1
        return self.total


class Chaos:
    """Random faults and status changes, seeded, applied a step at a time."""

    def __init__(self, rnd: random.Random, real: NutServer, fake: FakeUpsd) -> None:
        self.rnd, self.real, self.fake = rnd, real, fake
        self.driver_down_until: float | None = None
        self.counts: Counter[str] = Counter()

    def step(self) -> None:
        rnd, now = self.rnd, time.monotonic()
        self.fake.mode = rnd.choice(FAKE_MODES)
        self.counts[f"fake mode {self.fake.mode}"] += 1
        if rnd.random() < 0.3:
            self.fake.vars["ups.status"] = rnd.choice(FAKE_STATUSES)
        if self.driver_down_until is not None:
            if now >= self.driver_down_until:
                self.real.start_driver(REAL_UPS)
                self.driver_down_until = None
                self.counts["driver started"] += 1
            return
        if rnd.random() < 0.03:
            self.real.stop_driver(REAL_UPS)
            self.driver_down_until = now + rnd.uniform(1.0, 3.0)
            self.counts["driver stopped"] += 1
        elif rnd.random() < 0.3:
            status, variables = rnd.choice(REAL_STATUSES)
            try:
                self.real.set_status(status, REAL_UPS, **variables)
                self.counts["status set"] += 1
            except NutError:  # the driver is restarting: upsd refuses SET VAR meanwhile
                self.counts["status set refused"] += 1

    def restore(self) -> None:
        """Leave both servers answering, so that pyups can stop cleanly."""
        self.fake.mode = "good"
        if self.driver_down_until is not None:
            self.real.start_driver(REAL_UPS)
            self.driver_down_until = None


def config_text(args: argparse.Namespace, real: NutServer, fake: FakeUpsd, workdir: Path) -> str:
    return pyups_config(
        [(real.server, [REAL_UPS]), (fake.server, [FAKE_UPS])],
        args.interval,
        timeout=f'"{args.timeout}s"',
        dead_time='"2s"',
        nocomm_warn='"5s"',
        replbatt_warn='"10s"',
        dry_run="true",
        state_file=f'"{workdir / "state.json"}"',
    )


def soak(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rnd = random.Random(args.seed)
    fake = FakeUpsd(FAKE_UPS)
    fake.start()
    try:
        with NutServer() as real:
            trace = workdir / "trace.jsonl"
            servers = {str(real.server): "real", str(fake.server): "fake"}
            chaos = Chaos(rnd, real, fake)
            counter = TraceCounter(trace)
            pyups = Pyups.run_config(
                config_text(args, real, fake, workdir),
                "--record",
                str(trace),
                workdir=workdir,
                env={"NO_COLOR": "1"},
            )
            try:
                result = drive(args, pyups.process, chaos, counter, servers, pyups.stderr_path)
            finally:
                chaos.restore()
                time.sleep(0.5)
                result_code = pyups.stop(timeout=20)  # SIGTERM, SIGKILL if not gone in 20 s
            stderr = pyups.stderr().splitlines()
    finally:
        fake.stop()
    events: Counter[str] = Counter()
    for line in stderr:
        words = line.split()
        if len(words) >= 4 and words[3] in EVENTS:
            events[words[3]] += 1
    result.update(
        exit_code=result_code,
        stderr_lines=len(stderr),
        events=dict(events.most_common()),
        tracebacks=sum("Traceback" in line for line in stderr),
        stuck_lines=sum("is stuck" in line for line in stderr),
        polls_by_result=dict(sorted(counter.by_server.items())),
        chaos=dict(sorted(chaos.counts.items())),
    )
    return result


def drive(
    args: argparse.Namespace,
    process: subprocess.Popen[bytes],
    chaos: Chaos,
    counter: TraceCounter,
    servers: dict[str, str],
    stderr: Path,
) -> dict[str, Any]:
    """Inject faults until enough polls are made; sample /proc along the way."""
    started = time.monotonic()
    marks = [
        args.warmup + (args.polls - args.warmup) * i // args.samples
        for i in range(1, 1 + args.samples)
    ]
    samples: list[Sample] = []
    next_chaos = started
    deadline = started + args.max_seconds
    while True:
        if process.poll() is not None:
            tail = stderr.read_text(errors="replace").splitlines()[-20:]
            raise SystemExit("\n".join([f"pyups exited with {process.returncode}:", *tail]))
        now = time.monotonic()
        if now > deadline:
            raise SystemExit(f"only {counter.total} polls after {args.max_seconds:.0f} s")
        if now >= next_chaos:
            chaos.step()
            next_chaos = now + chaos.rnd.uniform(0.2, 0.5)
        polls = counter.update(servers)
        if not samples and polls >= args.warmup:
            samples.append(sample(process.pid, polls, started))
            print(f"warmed up after {polls} polls: sampling from now on", flush=True)
        elif samples and marks and polls >= marks[0]:
            marks.pop(0)
            samples.append(sample(process.pid, polls, started))
            s = samples[-1]
            print(
                f"  {s.polls:>7} polls {s.elapsed_s:>7.1f} s  RSS {s.rss_mib:6.1f} MiB  "
                f"fds {s.fds:>3}  threads {s.threads:>3}",
                flush=True,
            )
            if not marks:
                break
        time.sleep(0.05)
    return {
        "polls": counter.total,
        "seconds": round(time.monotonic() - started, 1),
        "samples": [asdict(s) for s in samples],
    }


def verdicts(samples: list[dict[str, float]]) -> list[tuple[str, bool, str]]:
    first, last = samples[0], samples[-1]
    growth = last["rss_mib"] - first["rss_mib"]
    rss_flat = growth < RSS_TOLERANCE_MIB or growth < RSS_TOLERANCE_FRACTION * first["rss_mib"]
    lines = [
        (
            "RSS flat",
            rss_flat,
            f"growth {growth:+.1f} MiB, {growth / first['rss_mib']:+.1%}; tolerance "
            f"< {RSS_TOLERANCE_MIB:g} MiB or < {RSS_TOLERANCE_FRACTION:.0%}",
        )
    ]
    for key, name in (("fds", "fds flat"), ("threads", "threads flat")):
        delta = int(last[key] - first[key])
        lines.append(
            (
                name,
                abs(delta) <= COUNT_TOLERANCE,
                f"end - start {delta:+d}; tolerance ±{COUNT_TOLERANCE}",
            )
        )
    return lines


def report(result: dict[str, Any]) -> bool:
    samples: list[dict[str, float]] = result["samples"]
    events: dict[str, int] = result["events"]
    print()
    print(f"pyups run, 2 servers, {result['polls']} polls in {result['seconds']} s")
    print(f"{'':<10}{'start':>10}{'end':>10}{'max':>10}")
    for key, label, fmt in (
        ("rss_mib", "RSS MiB", "{:.1f}"),
        ("fds", "fds", "{:.0f}"),
        ("threads", "threads", "{:.0f}"),
    ):
        values = [s[key] for s in samples]
        cells = [fmt.format(v) for v in (values[0], values[-1], max(values))]
        print(f"{label:<10}" + "".join(f"{c:>10}" for c in cells))
    print(f"{'polls':<10}{samples[0]['polls']:>10}{samples[-1]['polls']:>10}")
    print()
    print("polls by result: " + ", ".join(f"{k} {v}" for k, v in result["polls_by_result"].items()))
    listed = ", ".join(f"{k} {v}" for k, v in events.items())
    print(
        f"events (one stderr line each, also sent to the journal): {sum(events.values())}: {listed}"
    )
    print(
        f"stderr lines {result['stderr_lines']}, tracebacks {result['tracebacks']}, "
        f"'is stuck' lines {result['stuck_lines']}, pyups exit code {result['exit_code']}"
    )
    print("faults injected: " + ", ".join(f"{k} {v}" for k, v in result["chaos"].items()))
    print()
    ok = True
    for name, flat, detail in verdicts(samples):
        print(f"{name}: {'yes' if flat else 'no'} ({detail})")
        ok = ok and flat
    clean = result["exit_code"] == 0 and result["tracebacks"] == 0
    print(f"clean exit, no traceback: {'yes' if clean else 'no'}")
    return ok and clean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=10_000, help="polls to make in total")
    parser.add_argument("--warmup", type=int, default=500, help="polls before the first sample")
    parser.add_argument("--samples", type=int, default=8, help="samples after the first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--interval", type=float, default=0.01, help="poll period, seconds")
    parser.add_argument("--timeout", type=float, default=0.2, help="pyups' request timeout")
    parser.add_argument("--max-seconds", type=float, default=600, help="give up after this")
    args = parser.parse_args()
    if args.polls <= args.warmup:
        parser.error("--polls must be larger than --warmup")
    workdir = Path(tempfile.mkdtemp(prefix="pyups-soak-"))
    try:
        result = soak(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["settings"] = {k: v for k, v in vars(args).items()}
    ok = report(result)
    result["flat"] = ok
    out = RESULTS / "soak.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
