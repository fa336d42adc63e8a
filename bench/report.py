"""Rewrite the README's Performance section from bench/results/*.json.

The section lies between the ``<!-- performance:begin -->`` and ``<!-- performance:end -->``
lines; everything else in the file is left as it is. Exits 1 when a result is missing or a
figure misses its target (every check is listed, met or not).

    .venv/bin/python -m bench.report README.md
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.harness import RESULTS

BEGIN, END = "<!-- performance:begin -->", "<!-- performance:end -->"
NAMES = ["poll_cost", "latency", "idle_cost", "scale", "replay_throughput", "protection"]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; every column but the first right-aligned."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(headers) - 1)) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)


def ms(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}"


def poll_cost(r: dict[str, Any]) -> str:
    rows = [
        [name, ms(c["wall_median_ms"]), ms(c["wall_p95_ms"]), ms(c["cpu_mean_ms"]),
         f"{c['wall_x_raw']:.1f}x", f"{c['cpu_x_raw']:.1f}x"]
        for name, c in r["clients"].items()
    ]  # fmt: skip
    return (
        f"**Poll cost**: one `LIST VAR` of the simulated Eaton 800 ({r['ups']}), every client "
        "against the same upsd in the same run, taking turns (`bench/poll_cost.py`). "
        "*pyups poll* is the daemon's poll: `LIST VAR` through the adapter into a snapshot; "
        "*pyups poll + engine* adds what the daemon then does with it (events, rules, the "
        "next deadline). CPU ratios are the median of per-round ratios.\n\n"
        + table(["client", "median ms", "p95 ms", "CPU ms", "wall x raw", "CPU x raw"], rows)
    )


def latency(r: dict[str, Any]) -> str:
    rows = [
        [name, f"{c['mean_ms']:.0f}", f"{c['p50_ms']:.0f}", f"{c['p95_ms']:.0f}",
         f"{c['max_ms']:.0f}", c["missed"]]
        for name, c in r["clients"].items()
    ]  # fmt: skip
    v, after = r["pyups_minus_upsmon"], r["pyups_after_poll_ms"]
    return (
        f"**Detection latency**: status change in upsd → event logged, {r['flips']} changes "
        f"over {r['upses']} simulated UPSes at random (stratified) moments, all clients "
        "watching at once (`bench/latency.py`). pyups' time is journald's receive stamp; "
        "upsmon's is its NOTIFYCMD's first instruction.\n\n"
        + table(["client", "mean ms", "p50 ms", "p95 ms", "max ms", "missed"], rows)
        + "\n\npyups (1 s) minus upsmon on the same changes: mean "
        f"{v['mean_ms']:+.0f} ms (95% interval {v['mean_low_ms']:+.0f} … "
        f"{v['mean_high_ms']:+.0f}), p95 {v['p95_ms']:+.0f} ms ({v['p95_low_ms']:+.0f} … "
        f"{v['p95_high_ms']:+.0f}). Both poll once a second, so both wait for the next poll "
        "(0 to 1 s, half a second on average); what pyups adds after the poll that saw the "
        f"change is {after['median']:.1f} ms median, {after['p95']:.1f} ms p95.\n\n"
        "![Detection latency: pyups at 1 s, upsmon at POLLFREQ 1, pyups at 0.25 s]"
        "(docs/latency.png)"
    )


def idle_cost(r: dict[str, Any]) -> str:
    again = measured_again(r)
    rows = [
        [name, f"{c['cpu_percent']:.3f} %", ms(c["cpu_per_poll_ms"]), f"{c['rss_mib']:.1f}"]
        for name, c in r["clients"].items()
    ]
    return (
        f"**Idle cost**: one UPS, {r['seconds']:.0f} s of each client after a warm-up, "
        f"each alone against the same upsd, the clients taking turns in {r.get('rounds', 1)} "
        "rounds so that all of them see the machine's drift alike (`bench/idle_cost.py`).\n\n"
        + table(["client", "CPU, share of a core", "CPU ms per poll", "RSS MiB"], rows)
        + ("\n\n" + again if again else "")
    )


def measured_again(r: dict[str, Any]) -> str:
    """The idle rounds measured again (bench/idle_cost.py's outlier rule), or that none was."""
    clients = r["clients"].values()
    if not any("measured_again" in c for c in clients):
        return ""  # a result from before the rule
    again = [
        f"{name}, round {m['round']}: {ms(m['first_ms'])} then {ms(m['again_ms'])} ms, "
        + ("replaced" if m["replaced"] else "kept")
        for name, c in r["clients"].items()
        for m in c.get("measured_again", [])
    ]
    beyond = f"more than {r['outlier_ratio']:g} times"
    if not again:
        return f"No round read {beyond} its client's median round."
    return (
        f"Rounds that read {beyond} their client's median round were measured again, and "
        "the first measurement replaced when the second was back within that: "
        + "; ".join(again)
        + "."
    )


def scale(r: dict[str, Any]) -> str:
    rows = []
    bare = [r["without_record"]] if r.get("without_record") else []
    for run in [*r["runs"], *bare]:
        late = run.get("lateness")
        timing = (
            [f"{late['p95_ms']:.0f}", f"{late['max_ms']:.0f}", late["missed"],
             f"{run['floor_drift_ms_per_h']:+.0f}"]
            if late else ["-", "-", "-", "-"]
        )  # fmt: skip
        rows.append(
            [run["label"], run.get("polls", run["polls_due"]), f"{run['cpu_core_pct']:.2f} %",
             ms(run["cpu_ms_per_poll"]), f"{run['rss_mib']:.1f}", *timing]
        )  # fmt: skip
    text = (
        "**Scale**: one pyups polling every UPS once a second over several upsd servers "
        "(`bench/scale.py`). Lateness is each poll's start against its UPS's own schedule; "
        "drift is the trend of the smallest lateness in each 10 s. The runs with `--record` "
        "also write every poll to a trace, which costs about as much again as the poll; the "
        "last run shows the cost without it.\n\n"
        + table(
            [
                "run",
                "polls",
                "CPU, share of a core",
                "CPU ms per UPS-poll",
                "RSS MiB",
                "late p95 ms",
                "late max ms",
                "missed",
                "drift ms/h",
            ],
            rows,
        )
    )
    freeze = r.get("freeze")
    if freeze:
        before, during = freeze["before"], freeze["during"]
        text += (
            f"\n\nOne upsd frozen (SIGSTOP) for {freeze['freeze_s']:.0f} s: the "
            f"{freeze['other_upses']} UPSes on the other servers were polled "
            f"{during['max_ms']:.0f} ms late at worst ({during['p95_ms']:.0f} ms p95), "
            f"against {before['max_ms']:.0f} ms ({before['p95_ms']:.0f} ms p95) before it."
        )
    return text


def replay_throughput(r: dict[str, Any]) -> str:
    return (
        f"**Replay**: a two-hour outage recorded at one poll a second ({r['polls']:,} "
        f"snapshots) goes through the engine at {r['snapshots_per_second']:,.0f} snapshots/s; "
        f"the whole `pyups replay` command takes {r['command_seconds']:.2f} s "
        "(`bench/replay_throughput.py`)."
    )


HEADERS_PROTECTION = [
    "timing", "tool", "secondaries s", "mean", "primary s", "mean", "every secondary first"
]  # fmt: skip


def protection(r: dict[str, Any]) -> str:
    rows = []
    for timing, tools in r["summary"].items():
        for tool, s in tools.items():
            rows.append(
                [timing, tool,
                 f"{s['secondaries_min']:.2f} … {s['secondaries_max']:.2f}",
                 f"{s['secondaries_mean']:.2f}",
                 f"{s['primary_min']:.2f} … {s['primary_max']:.2f}",
                 f"{s['primary_mean']:.2f}",
                 "yes" if s["in_order"] == 1.0 else "**no**"]
            )  # fmt: skip
    return (
        "**Protection**: one UPS, one primary and three secondaries, each host a network "
        "namespace with its own upsmon 2.8.0 or its own pyups; the UPS goes on battery, then "
        "low battery, and every host's (recording) shutdown command notes when it ran "
        f"(`bench/protection.py`, {r['rounds']} outages per tool and timing). Seconds from the "
        "moment upsd first served LB. *default* is each tool's own defaults (upsmon POLLFREQ 5, "
        "FINALDELAY 5; pyups interval 5 s, interval_alert 2 s, final_delay 5 s); *1s* is "
        "POLLFREQ 1, POLLFREQALERT 1, FINALDELAY 1 against interval 1 s, interval_alert 1 s, "
        "final_delay 1 s, no linger. Each secondary waits for the primary's poll, its own "
        "poll to see FSD and its final delay; the primary then for the last secondary to log "
        "out (NUMLOGINS every 250 ms) and its own final delay.\n\n"
        + table(HEADERS_PROTECTION, rows)
    )


def section(results: dict[str, dict[str, Any]]) -> tuple[str, bool]:
    machine = results["poll_cost"]["machine"]
    parts = [
        BEGIN,
        "Measured with `make bench` on "
        f"{machine['cpu']} ({machine['cores']} cores), Linux {machine['kernel']}, "
        f"Python {machine['python']}, {machine['nut']}.",
    ]
    render = {
        "poll_cost": poll_cost,
        "latency": latency,
        "idle_cost": idle_cost,
        "scale": scale,
        "replay_throughput": replay_throughput,
        "protection": protection,
    }
    for name in NAMES:
        parts.append(render[name](results[name]))
    checks = [
        [check, "met" if ok else "**missed**"]
        for name in NAMES
        for check, ok in results[name].get("checks", {}).items()
    ]
    parts.append("**Targets** (DESIGN §8), as each script checked them:\n\n" + table(
        ["check", "result"], checks
    ))  # fmt: skip
    parts.append(END)
    return "\n\n".join(parts), all(ok == "met" for _, ok in checks)


def main() -> int:
    readme = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    missing = [n for n in NAMES if not (RESULTS / f"{n}.json").exists()]
    if missing:
        print(f"no results for {', '.join(missing)}: run make bench", file=sys.stderr)
        return 1
    results = {n: json.loads((RESULTS / f"{n}.json").read_text()) for n in NAMES}
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        print(f"{readme}: no {BEGIN} … {END} section to rewrite", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    body, all_met = section(results)
    readme.write_text(head + body + tail)
    verdict = "all targets met" if all_met else "targets missed"
    print(f"{readme}: Performance section rewritten ({verdict})")
    return 0 if all_met else 1


if __name__ == "__main__":
    raise SystemExit(main())
