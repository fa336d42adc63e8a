"""``pyups run`` against a server that misbehaves: COMMBAD, bounded CPU, then recovery."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.harness.fakeupsd import FakeUpsd
from tests.harness.pyups import Pyups


@pytest.mark.parametrize(
    ("mode", "reasons"),
    [
        ("cut", {"CLOSED"}),
        ("silent", {"TIMEOUT"}),
        ("garbage", {"PROTOCOL", "CLOSED"}),
        ("endless", {"PROTOCOL"}),
        ("trickle", {"TIMEOUT"}),
    ],
)
def test_a_misbehaving_server_gives_commbad_costs_little_cpu_and_recovers(
    fake_upsd: FakeUpsd, pyups: Callable[..., Pyups], mode: str, reasons: set[str]
) -> None:
    run = pyups("run", fake_upsd.address, "--interval", "0.2")
    run.wait_event("STARTUP")
    fake_upsd.mode = mode
    commbad = run.wait_event("COMMBAD", timeout=10)
    assert commbad["PYUPS_REASON"] in reasons
    assert commbad["PYUPS_STATUS"] == "OL CHRG"

    cpu_before, wall_before = run.cpu_seconds(), time.monotonic()
    time.sleep(3)
    share = (run.cpu_seconds() - cpu_before) / (time.monotonic() - wall_before)
    assert share < 0.25, f"pyups used {share:.0%} of a core while the server was {mode}"

    fake_upsd.mode = "good"
    run.wait_event("COMMOK", timeout=10)
    assert run.stop() == 0
    assert run.events() == ["STARTUP", "COMMBAD", "COMMOK"]
