"""Fixtures of the system tier: a booted system (tests/harness/system.py) and a upsd.

The systems share the host's network namespace, so pyups inside reaches the upsd a test
starts on the host's loopback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyups.sim import NutServer
from tests.harness.system import System, boot, console_sections, installed_layer

__all__ = ["boot", "configure", "installed_layer", "nut"]

CONFIG = "/etc/pyups/pyups.conf"
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The system tier: every test in this directory boots a systemd of its own."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.system)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """A failed test's report shows the console of every system it booted, and its
    systems are killed rather than powered off."""
    report = yield
    if report.failed:
        item.pyups_failed = True  # type: ignore[attr-defined]
        report.sections.extend(console_sections(item))
    return report


@pytest.fixture(autouse=True)
def as_root() -> None:
    """Booting systemd in namespaces takes root: say so instead of failing obscurely."""
    if os.geteuid() != 0:
        pytest.fail("tests/system boots systemd in namespaces and mounts overlays: run as root")


@pytest.fixture
def nut() -> Iterator[NutServer]:
    """A private upsd serving the simulated eaton800, on the host's loopback."""
    with NutServer(maxage=3) as server:
        yield server


def configure(
    system: System, nut: NutServer, rules: str = "", ups: str = "", **monitor: str
) -> str:
    """Write /etc/pyups/pyups.conf of ``system`` (mode 600): eaton800 on ``nut``, short
    timers, ``monitor`` keys (TOML values), ``ups`` lines in eaton800's table and ``rules``
    (any tables after it); checked with the installed ``pyups check-config``. Returns the
    text."""
    settings = {"interval": '"0.5s"', "interval_alert": '"0.5s"', "timeout": '"1s"', **monitor}
    text = (
        "[monitor]\n"
        + "".join(f"{k} = {v}\n" for k, v in settings.items())
        + f'\n[[ups]]\nname = "eaton800"\nserver = "{nut.server}"\n'
        + ups
        + rules
    )
    path = system.path(CONFIG)
    path.write_text(text)
    path.chmod(0o600)
    system.run("pyups", "check-config", check=True)
    return text
