"""``pyups events`` reading back, from the real journal, what a real ``pyups run`` wrote.

One monitor watches a simulated UPS under a name of its own through a power cut
(STARTUP, ONBATT, ONLINE); every test reads that history back with ``--ups NAME --since @START``,
so entries other tests write into the same journal never get in the way.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from pyups.sim import NutServer, eaton800
from tests.harness.pyups import EVENTS_JSON_KEYS, Pyups, read_journal
from tests.harness.wait import repeat_until


@dataclass(frozen=True)
class Outage:
    """What the monitor did, to compare ``pyups events`` with."""

    ups: str
    server: str
    start: float
    end: float
    pid: int

    @property
    def since(self) -> str:
        return f"@{int(self.start)}"


@pytest.fixture(scope="module")
def outage(journald: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outage]:
    """A finished ``pyups run`` over OL CHRG → OB DISCHRG → OL CHRG on a uniquely named UPS."""
    name = f"ups-{uuid.uuid4().hex[:8]}"
    workdir = tmp_path_factory.mktemp("events")
    start = time.time()
    with NutServer(devices={name: eaton800()}) as nut:
        config = workdir / "pyups.conf"
        config.write_text(
            '[monitor]\ninterval = "0.3s"\ninterval_alert = "0.3s"\ntimeout = "1s"\n'
            f'state_file = "{workdir}/state.json"\n'
            f'[[ups]]\nname = "{name}"\nserver = "{nut.server}"\npower = 0\n'
        )
        monitor = Pyups(["run", "-c", str(config)], workdir)
        try:
            monitor.wait_event("STARTUP")
            for status, event in (("OB DISCHRG", "ONBATT"), ("OL CHRG", "ONLINE")):
                nut.set_status(status, ups=name)
                nut.wait_for(name, "ups.status", status)
                monitor.wait_event(event)
        finally:
            code = monitor.stop()
        assert code == 0, monitor.stderr()
        yield Outage(name, str(nut.server), start, time.time(), monitor.pid)


def events_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyups", "events", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def until(
    args: list[str], done: Callable[[subprocess.CompletedProcess[str]], bool], timeout: float = 10
) -> subprocess.CompletedProcess[str]:
    """Run ``pyups events ARGS`` until ``done`` holds: the journal may take a moment."""
    return repeat_until(lambda: events_cli(*args), done, timeout, every=0.1)


def table(outage: Outage, *more: str, rows: int = 3) -> tuple[str, list[str]]:
    result = until(
        ["--ups", outage.ups, "--since", outage.since, *more],
        lambda r: len(r.stdout.splitlines()) >= rows + 1,
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    header, *lines = result.stdout.splitlines()
    return header, lines


def document(outage: Outage, *more: str, rows: int = 3) -> list[dict[str, Any]]:
    result = until(
        ["--ups", outage.ups, "--since", outage.since, "--json", *more],
        lambda r: r.returncode != 0 or len(json.loads(r.stdout or "[]")) >= rows,
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    records: list[dict[str, Any]] = json.loads(result.stdout)
    return records


def columns(header: str, line: str) -> list[str]:
    """Cut a table row where the header's columns start: this checks the alignment too."""
    starts = [header.index(name) for name in ("TIME", "UPS", "EVENT", "MESSAGE")]
    cells = [line[a:b] for a, b in zip(starts, [*starts[1:], None], strict=True)]
    assert all(cell.endswith("  ") for cell in cells[:-1]), (header, line)
    return [cell.strip() for cell in cells]


def test_the_table_shows_the_outage_in_order(outage: Outage) -> None:
    header, lines = table(outage)
    assert header.split() == ["TIME", "UPS", "EVENT", "MESSAGE"]
    rows = [columns(header, line) for line in lines]
    assert [row[2] for row in rows] == ["STARTUP", "ONBATT", "ONLINE"]
    assert {row[1] for row in rows} == {outage.ups}
    startup, onbatt, online = (row[3] for row in rows)
    assert startup == f"UPS {outage.ups} monitored: OL CHRG, battery 100%, runtime 52m40s"
    assert onbatt == f"UPS {outage.ups} on battery"
    assert re.fullmatch(rf"UPS {outage.ups} on line power \(after [\d.]+m?s on battery\)", online)
    for row in rows:
        when = datetime.strptime(row[0], "%Y-%m-%d %H:%M:%S").timestamp()
        assert int(outage.start) - 1 <= when <= outage.end


def test_plain_service_notes_are_left_out(outage: Outage) -> None:
    written = read_journal(outage.pid, outage.start)
    notes = [e["MESSAGE"] for e in written if "PYUPS_EVENT" not in e]
    assert any(n.startswith("pyups ") and "started" in n for n in notes), notes
    assert any(n.startswith("pyups stopping") for n in notes), notes
    _, lines = table(outage)
    assert len(lines) == len(written) - len(notes) == 3
    assert not any(note in line for line in lines for note in notes)


def test_json_carries_every_key_with_the_journal_values(outage: Outage) -> None:
    records = document(outage)
    assert [r["event"] for r in records] == ["STARTUP", "ONBATT", "ONLINE"]
    for record in records:
        assert set(record) == EVENTS_JSON_KEYS
        assert (record["ups"], record["server"], record["pid"]) == (
            outage.ups,
            outage.server,
            outage.pid,
        )
        assert (record["rule"], record["reason"]) == (None, None)
        assert outage.start - 1 <= record["t"] <= outage.end
        assert datetime.fromisoformat(record["time"]).timestamp() == pytest.approx(record["t"])
        assert datetime.fromisoformat(record["time"]).utcoffset() is not None
    startup, onbatt, online = records
    assert (startup["priority"], startup["status"], startup["prev_status"]) == (
        "info",
        "OL CHRG",
        "",
    )
    assert (onbatt["priority"], onbatt["status"], onbatt["prev_status"]) == (
        "warning",
        "OB DISCHRG",
        "OL CHRG",
    )
    assert (online["priority"], online["status"], online["prev_status"]) == (
        "notice",
        "OL CHRG",
        "OB DISCHRG",
    )
    assert onbatt["message"] == f"UPS {outage.ups} on battery"
    assert startup["t"] <= onbatt["t"] <= online["t"]


def test_the_last_n(outage: Outage) -> None:
    _, lines = table(outage, "-n", "1", rows=1)
    assert len(lines) == 1 and "ONLINE" in lines[0]
    records = document(outage, "--lines", "2", rows=2)
    assert [r["event"] for r in records] == ["ONBATT", "ONLINE"]


def test_ups_by_address(outage: Outage) -> None:
    records = document(outage, "--ups", f"{outage.ups}@{outage.server}")
    assert [r["event"] for r in records] == ["STARTUP", "ONBATT", "ONLINE"]
    elsewhere = events_cli("--ups", f"{outage.ups}@192.0.2.1", "--since", outage.since, "--json")
    assert (elsewhere.returncode, elsewhere.stdout) == (0, "[]\n")


def test_since_after_the_outage_finds_nothing(outage: Outage) -> None:
    later = f"@{outage.end + 1:.0f}"
    result = events_cli("--ups", outage.ups, "--since", later)
    assert (result.returncode, result.stdout) == (0, "")
    first, *rest = result.stderr.splitlines()
    assert first.startswith(f"pyups: no pyups events in the journal for UPS {outage.ups} since ")
    assert not rest  # root reads everything: no permission hint
    result = events_cli("--ups", outage.ups, "--since", later, "--json")
    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "last tuesday"],
        ["--since", "2026-13-01"],
        ["--since=-2x"],
        ["-n", "0"],
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str]) -> None:
    result = events_cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("pyups: ")
    assert "Traceback" not in result.stderr


def test_a_duration_ago_includes_the_outage(outage: Outage) -> None:
    minutes = int((time.time() - outage.start) // 60) + 2
    records = document(outage, "--since", f"{minutes}m")  # the last --since wins
    assert [r["event"] for r in records] == ["STARTUP", "ONBATT", "ONLINE"]
