"""The example rules shipped in the example configuration, each checked against a sample trace.

In the example file, rule code is commented with a bare ``#`` (``#if = "OB"``) and prose with
``# ``. Uncommenting the code gives a configuration whose every rule must have, in
tests/examples/, a trace NAME.jsonl and the entries it gives, NAME.expected.jsonl (time in
seconds from the trace's start, event, priority, message). A shipped example without a
sample, or a sample without its example, fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pyups.config import Config, config_from_text
from pyups.config.views import policy_of
from pyups.core.engine import replay
from pyups.core.rules import describe
from pyups.core.trace import from_line

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "src" / "pyups" / "data" / "pyups.conf.example"
SAMPLES = ROOT / "tests" / "examples"


def uncommented_example() -> Config:
    lines = [
        line[1:] if re.match(r"#[^\s#]", line) else line
        for line in EXAMPLE.read_text().splitlines()
    ]
    return config_from_text("\n".join(lines), source="example with its rules uncommented")


CONFIG = uncommented_example()
NAMES = [rule.name for rule in CONFIG.rules]


def entries_for(name: str) -> list[dict[str, object]]:
    """What replaying the rule's sample trace gives for that rule, as the expected file has it."""
    lines = (SAMPLES / f"{name}.jsonl").read_text().splitlines()
    snapshots = [from_line(line) for line in lines]
    start = snapshots[0].t
    found: list[dict[str, object]] = []
    shutdown = CONFIG.monitor.shutdown_command
    for event, requests in replay(snapshots, policy_of(CONFIG)):
        if event.rule != name:
            continue
        t = round(event.t - start, 3)
        found.append(
            {"t": t, "event": event.name, "priority": event.priority, "message": event.message}
        )
        found.extend(
            {"t": t, "event": "ACTION", "would_run": describe(r, shutdown)} for r in requests
        )
    return found


def test_the_example_ships_the_documented_rules() -> None:
    assert set(NAMES) == {
        "shutdown-low-charge",
        "shutdown-low-runtime",
        "shutdown-on-battery-too-long",
        "notify-on-battery-30s",
        "page-replace-battery",
        "real-outage-not-self-test",
    }


@pytest.mark.parametrize("name", NAMES)
def test_each_example_rule_gives_what_its_sample_trace_expects(name: str) -> None:
    trace, expected = SAMPLES / f"{name}.jsonl", SAMPLES / f"{name}.expected.jsonl"
    assert trace.exists(), f"the example rule {name!r} has no sample trace {trace}"
    assert expected.exists(), f"the example rule {name!r} has no expected entries {expected}"
    wanted = [json.loads(line) for line in expected.read_text().splitlines()]
    assert entries_for(name) == wanted


def test_every_sample_trace_belongs_to_a_shipped_example() -> None:
    samples = {
        p.name.removesuffix(".expected.jsonl").removesuffix(".jsonl") for p in SAMPLES.iterdir()
    }
    assert samples == set(NAMES)
