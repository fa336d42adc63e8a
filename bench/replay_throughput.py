"""Replay throughput: a two-hour outage polled every second, through ``pyups replay``.

Builds the trace (7,200 polls on battery, charge and runtime falling, between two minutes on
line power), then times the whole command (process start included) and the engine alone.
Prints a table and writes bench/results/replay_throughput.json.

    .venv/bin/python bench/replay_throughput.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyups.config import config_from_text
from pyups.core.engine import replay
from pyups.core.trace import from_line
from pyups.service.monitor import policy_of

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
    lines = []
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
    lines = trace_lines()
    config = config_from_text('[[ups]]\nname = "eaton800"\n' + RULES)
    with tempfile.TemporaryDirectory() as tmp:
        trace, conf = Path(tmp) / "outage.jsonl", Path(tmp) / "pyups.conf"
        trace.write_text("\n".join(lines) + "\n")
        conf.write_text('[[ups]]\nname = "eaton800"\n' + RULES)
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
        "command_seconds": command,
        "engine_seconds": engine,
        "snapshots_per_second": len(lines) / engine,
    }
    print(f"two-hour outage, 1 s polls: {len(lines)} snapshots, {len(events)} entries")
    print(f"{'pyups replay (whole command)':<32}{command:>8.3f} s")
    print(
        f"{'engine alone':<32}{engine:>8.3f} s   {results['snapshots_per_second']:,.0f} snapshots/s"
    )
    out = Path(__file__).parent / "results" / "replay_throughput.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
