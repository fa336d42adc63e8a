"""Rules on a real upsd: debounce, repeat, clear, actions, and replay of a recorded run."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pyups.sim import NutServer
from tests.harness.config import write_config
from tests.harness.pyups import Entry, Pyups

Start = Callable[..., Pyups]

# Writes its arguments (one per line) and its PYUPS_* environment to $OUT.
RECORDER = """#!/bin/sh
out="{out}/$$.txt"
for arg in "$@"; do printf 'arg=%s\\n' "$arg"; done > "$out"
env | grep '^PYUPS_' | sort >> "$out"
"""


def recorder(tmp_path: Path) -> tuple[str, Path]:
    out = tmp_path / "calls"
    out.mkdir()
    script = tmp_path / "record-call"
    script.write_text(RECORDER.format(out=out))
    script.chmod(0o755)
    return str(script), out


def calls(out: Path) -> list[list[str]]:
    return [
        f.read_text().splitlines() for f in sorted(out.iterdir(), key=lambda f: f.stat().st_mtime)
    ]


def rule_entries(run: Pyups, rule: str, event: str = "RULE") -> list[Entry]:
    return [
        e for e in run.entries() if e.get("PYUPS_EVENT") == event and e.get("PYUPS_RULE") == rule
    ]


def outage(nut: NutServer, seconds: float) -> None:
    nut.set_status("OB DISCHRG", battery_charge="80")
    nut.wait_for("eaton800", "ups.status", "OB DISCHRG")
    time.sleep(seconds)
    nut.set_status("OL CHRG")
    nut.wait_for("eaton800", "ups.status", "OL CHRG")


DEBOUNCE = """
[[rule]]
name = "outage-3s"
if = "OB and battery.charge < 90"
for = "3s"
priority = "crit"
message = "UPS {ups} on battery for {held}, {battery.charge}% left"
clear_message = "UPS {ups}: power back after {held}"
"""


def on_battery(pyups: Start, tmp_path: Path, nut: NutServer, rules: str, **variables: str) -> Pyups:
    """``pyups run`` with ``rules``, logged in to ``nut``, once it has started and the UPS has
    gone on battery (``variables`` set with it, as :meth:`NutServer.set_status` takes them)."""
    run = pyups("run", "-c", write_config(tmp_path, nut, login=True, rules=rules))
    run.wait_event("STARTUP")
    nut.set_status("OB DISCHRG", **variables)
    return run


def test_a_brief_outage_does_not_fire_a_3s_debounce_and_a_long_one_does_then_clears(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    run = pyups("run", "-c", write_config(tmp_path, nut, login=True, rules=DEBOUNCE))
    run.wait_event("STARTUP")
    outage(nut, 1.0)
    run.wait_event("ONLINE")
    time.sleep(1)
    assert rule_entries(run, "outage-3s") == []

    outage(nut, 4.5)
    run.wait_event("ONLINE", count=2)
    entries = run.wait_for(lambda es: len([e for e in es if e.get("PYUPS_RULE")]) >= 2)
    fired, cleared = [e for e in entries if e.get("PYUPS_RULE") == "outage-3s"]
    assert fired["PRIORITY"] == "2"
    assert fired["PYUPS_EVENT"] == "RULE"
    assert fired["PYUPS_STATUS"] == "OB DISCHRG"
    assert fired["MESSAGE"].startswith("UPS eaton800 on battery for 3")
    assert fired["MESSAGE"].endswith("s, 80% left")
    assert cleared["MESSAGE"].startswith("UPS eaton800: power back after 4")
    assert run.stop() == 0


def test_repeat_fires_again_while_the_condition_holds(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    rules = '[[rule]]\nname = "nag"\nif = "OB"\nrepeat = "1s"\nmessage = "still {status}"\n'
    run = on_battery(pyups, tmp_path, nut, rules)
    run.wait_for(lambda es: len([e for e in es if e.get("PYUPS_RULE") == "nag"]) >= 3)
    nut.set_status("OL CHRG")
    run.wait_event("ONLINE")
    count = len(rule_entries(run, "nag"))
    time.sleep(1.5)
    assert len(rule_entries(run, "nag")) == count  # stopped with the condition
    times = [int(e["__REALTIME_TIMESTAMP"]) / 1e6 for e in rule_entries(run, "nag")]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(0.9 < gap < 1.8 for gap in gaps), gaps
    assert {e["MESSAGE"] for e in rule_entries(run, "nag")} == {"still OB DISCHRG"}
    assert run.stop() == 0


def test_exec_gets_its_templated_arguments_as_single_elements_and_the_event_environment(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    script, out = recorder(tmp_path)
    rules = f"""
[[rule]]
name = "low-charge"
if = "OB and battery.charge < 50"
message = "UPS {{ups}} low: {{battery.charge}}% \\"left\\""
do = [{{ exec = ["{script}", "{{ups}}", "{{message}}", "{{battery.charge}}", "{{rule}}"] }}]

[[rule]]
name = "on-batt"
on = ["ONBATT"]
do = [{{ exec = ["{script}", "{{event}}"] }}]
"""
    run = on_battery(pyups, tmp_path, nut, rules, battery_charge="42")
    run.wait_for(lambda es: len([e for e in es if e.get("PYUPS_EVENT") == "ACTION"]) >= 2)
    assert run.stop() == 0

    by_rule = {e["PYUPS_RULE"]: e for e in run.entries() if e.get("PYUPS_EVENT") == "ACTION"}
    for entry in by_rule.values():
        assert entry["PYUPS_REASON"] == "exit:0"
        assert entry["PRIORITY"] == "6"
    recorded = {lines[0]: lines for lines in calls(out)}
    low = recorded["arg=eaton800"]
    assert low[:4] == [
        "arg=eaton800",
        'arg=UPS eaton800 low: 42% "left"',
        "arg=42",
        "arg=low-charge",
    ]
    env = dict(line.split("=", 1) for line in low[4:])
    assert env["PYUPS_EVENT"] == "RULE"
    assert env["PYUPS_UPS"] == "eaton800"
    assert env["PYUPS_SERVER"] == str(nut.server)
    assert env["PYUPS_STATUS"] == "OB DISCHRG"
    assert env["PYUPS_RULE"] == "low-charge"
    assert env["PYUPS_MESSAGE"] == 'UPS eaton800 low: 42% "left"'
    on_batt = recorded["arg=ONBATT"]
    assert dict(line.split("=", 1) for line in on_batt[1:])["PYUPS_EVENT"] == "ONBATT"


def test_a_hanging_exec_is_killed_at_its_timeout(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    rules = (
        '[[rule]]\nname = "hang"\nif = "OB"\n'
        'do = [{ exec = ["/bin/sleep", "60"], timeout = "1s" }]\n'
    )
    run = on_battery(pyups, tmp_path, nut, rules)
    fired = run.wait_event("RULE")
    action = run.wait_event("ACTION", timeout=10)
    assert action["PYUPS_REASON"] == "timeout"
    assert action["PRIORITY"] == "3"
    waited = (int(action["__REALTIME_TIMESTAMP"]) - int(fired["__REALTIME_TIMESTAMP"])) / 1e6
    assert 0.9 < waited < 4.0
    assert run.stop() == 0


def test_shutdown_in_dry_run_is_logged_and_runs_nothing(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    marker = tmp_path / "powered-off"
    rules = '[[rule]]\nname = "low"\nif = "LB"\ndo = [{ shutdown = true }]\n'
    command = f'["/usr/bin/touch", "{marker}"]'
    config = write_config(tmp_path, nut, login=True, rules=rules, shutdown_command=command)
    run = pyups("run", "-c", config, "--dry-run")
    run.wait_event("STARTUP")
    nut.set_status("OB DISCHRG LB")
    action = run.wait_event("ACTION")
    assert action["PYUPS_REASON"] == "dry-run"
    assert f"/usr/bin/touch {marker}" in action["MESSAGE"]
    assert run.stop() == 0
    assert not marker.exists()
    assert "dry run" in run.entries()[0]["MESSAGE"]


def test_shutdown_runs_the_command_once_never_twice(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    marker = tmp_path / "powered-off"
    rules = '[[rule]]\nname = "low"\nif = "OB"\nrepeat = "0.5s"\ndo = [{ shutdown = true }]\n'
    command = f'["/bin/sh", "-c", "echo off >> {marker}"]'
    run = pyups(
        "run", "-c", write_config(tmp_path, nut, login=True, rules=rules, shutdown_command=command)
    )
    run.wait_event("STARTUP")
    nut.set_status("OB DISCHRG")
    run.wait_for(lambda es: len([e for e in es if e.get("PYUPS_RULE") == "low"]) >= 4)
    assert run.stop() == 0
    assert marker.read_text() == "off\n"
    actions = [e for e in run.entries() if e.get("PYUPS_EVENT") == "ACTION"]
    asked = [e["PYUPS_REASON"] for e in actions if e.get("PYUPS_RULE") == "low"]
    assert asked[0] == "ok"  # the first request starts the shutdown sequence ...
    assert set(asked[1:]) == {"skipped"}  # ... which runs once: later ones are told so
    ran = [e["PYUPS_REASON"] for e in actions if "shutdown command" in e["MESSAGE"]]
    assert ran == ["exit:0"]


def test_replay_of_a_recorded_run_gives_the_events_the_live_run_journaled(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    script, _ = recorder(tmp_path)
    rules = (
        DEBOUNCE
        + f'\n[[rule]]\nname = "page"\non = ["LOWBATT"]\ndo = [{{ exec = ["{script}"] }}]\n'
    )
    config = write_config(tmp_path, nut, login=True, rules=rules)
    trace = tmp_path / "outage.jsonl"
    run = pyups("run", "-c", config, "--record", str(trace))
    run.wait_event("STARTUP")
    nut.set_status("OB DISCHRG", battery_charge="80")
    run.wait_event("RULE", timeout=10)
    nut.set_status("OB DISCHRG LB", battery_charge="10")
    run.wait_event("LOWBATT")
    nut.stop_driver("eaton800")
    run.wait_event("COMMBAD")
    nut.start_driver("eaton800")
    run.wait_event("COMMOK", timeout=15)
    nut.set_status("OL CHRG")
    run.wait_event("ONLINE")
    run.wait_for(lambda es: sum(e.get("PYUPS_EVENT") == "RULE" for e in es) >= 3)
    assert run.stop() == 0
    live = [(e["PYUPS_EVENT"], e.get("PYUPS_RULE")) for e in run.entries() if "PYUPS_EVENT" in e]

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pyups", "replay", "-c", config, str(trace), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 5
    replayed = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"t", "ups", "event", "rule", "priority", "message"} <= replayed[0].keys()
    # Live, an action's ACTION entry comes when it finishes; replay reports it right after
    # its rule, as a "would run" line. Compare the rest in order, and the actions as a set.
    assert [(r["event"], r["rule"]) for r in replayed if r["event"] != "ACTION"] == [
        x for x in live if x[0] != "ACTION"
    ]
    assert sorted((r["event"], r["rule"]) for r in replayed if r["event"] == "ACTION") == sorted(
        x for x in live if x[0] == "ACTION"
    )
    assert all(r["reason"] == "dry-run" for r in replayed if r["event"] == "ACTION")


def test_an_instcmd_action_is_answered_by_upsd(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    # dummy-ups declares load.off only; upsd accepts it for a user with instcmds rights.
    rules = (
        '[[rule]]\nname = "cut-load"\non = ["ONBATT"]\ndo = [{ instcmd = "load.off" }]\n'
        '[[rule]]\nname = "beep"\non = ["ONBATT"]\ndo = [{ instcmd = "beeper.toggle" }]\n'
    )
    run = on_battery(pyups, tmp_path, nut, rules)
    run.wait_for(lambda es: sum(e.get("PYUPS_EVENT") == "ACTION" for e in es) >= 2)
    assert run.stop() == 0
    actions = {e["PYUPS_RULE"]: e for e in run.entries() if e.get("PYUPS_EVENT") == "ACTION"}
    assert actions["cut-load"]["PYUPS_REASON"] == "ok"
    assert actions["cut-load"]["MESSAGE"] == (
        f"instcmd load.off on eaton800@{nut.server}: accepted by upsd"
    )
    assert actions["beep"]["PYUPS_REASON"] == "CMD-NOT-SUPPORTED"
    assert actions["beep"]["PRIORITY"] == "3"
    assert nut.admin_password not in json.dumps(run.entries()) + run.stderr()
