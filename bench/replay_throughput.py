"""Replay throughput: a two-hour outage polled every second, through ``pyups replay``.

Builds the trace (7,200 polls on battery, charge and runtime falling, between two minutes on
line power), then times the whole command (process start included) and the engine alone
(:func:`pyups.core.engine.replay` in this process over the trace's lines, JSON decoding
included). One run of each, wall clock: on a machine shared with other benchmarks expect
some noise. Prints a table and writes bench/results/replay_throughput.json. A few seconds.

    .venv/bin/python -m bench.replay_throughput
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import machine_line, print_table, write_result
from pyups.config import config_from_text
from pyups.config.views import policy_of
from pyups.core.engine import replay
from pyups.core.trace import from_line

RULES = """
[[rule]]
name = "outage-30s"
if = "OB"
for = "30s"
repeat = "10m"
clear_message = "power back after {held}"
[[rule]]
name = "low-runtime"
if = "OB and battery.runtime < 600"
do = [{ shutdown = true }]
"""


def trace_lines() -> list[str]:
    lines: list[str] = []
    t0 = 1_795_000_000.0
    for second in range(2 * 3600 + 240):
        on_battery = 120 <= second < 120 + 7200
        left = max(0.0, 1 - (second - 120) / 7200) if on_battery else 1.0
        status = "OB DISCHRG" if on_battery else "OL CHRG"
        variables = {
            "ups.status": status,
            "battery.charge": str(round(100 * left)),
            "battery.runtime": str(round(7500 * left)),
            "input.voltage": "0.0" if on_battery else "230.0",
        }
        record = {
            "t": t0 + second,
            "ups": "eaton800",
            "server": "localhost:3493",
            "vars": variables,
        }
        lines.append(json.dumps(record))
    return lines


def main() -> None:
    print(machine_line())
    lines = trace_lines()
    config_text = '[[ups]]\nname = "eaton800"\n' + RULES
    config = config_from_text(config_text)
    with tempfile.TemporaryDirectory() as tmp:
        trace, conf = Path(tmp) / "outage.jsonl", Path(tmp) / "pyups.conf"
        trace.write_text("\n".join(lines) + "\n")
        conf.write_text(config_text)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pyups", "replay", "-c", str(conf), str(trace), "--json"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        command = time.perf_counter() - started
    started = time.perf_counter()
    events = list(replay((from_line(line) for line in lines), policy_of(config)))
    engine = time.perf_counter() - started
    results = {
        "polls": len(lines),
        "entries_printed": len(result.stdout.splitlines()),
        "engine_entries": len(events),
        "command_seconds": command,
        "engine_seconds": engine,
        "snapshots_per_second": len(lines) / engine,
        "command_snapshots_per_second": len(lines) / command,
    }
    print_table(
        f"two-hour outage, 1 s polls: {len(lines)} snapshots, {len(events)} entries",
        ["run", "seconds", "snapshots/s"],
        [
            ["pyups replay (whole command)", f"{command:.3f}", f"{len(lines) / command:,.0f}"],
            ["engine alone", f"{engine:.3f}", f"{results['snapshots_per_second']:,.0f}"],
        ],
    )
    path = write_result("replay_throughput", results)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
