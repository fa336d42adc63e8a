"""Fixtures that start real components: journald (when none runs), upsd + dummy-ups, pyups.

Every process a fixture starts is ended by its PID when the test is over, pass or fail.
Every test in this directory is marked ``integration`` (``pytest -m integration``).
The helpers themselves are in tests/harness, shared with the benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyups.sim import NutServer, SimulatorError
from tests.harness.fakeupsd import FakeUpsd
from tests.harness.journald import shared_journald
from tests.harness.pyups import Pyups

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The integration tier: every test in this directory needs real servers."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def journald() -> Iterator[None]:
    """A journald to write to and read back from; started here when the host has none."""
    try:
        with shared_journald():
            yield
    except SimulatorError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def nut() -> Iterator[NutServer]:
    """A private upsd serving the simulated eaton800 (MAXAGE 3 s so DATA-STALE comes fast)."""
    with NutServer(maxage=3) as server:
        yield server


@pytest.fixture
def fake_upsd() -> Iterator[FakeUpsd]:
    """A loopback server speaking just enough NUT to misbehave on demand."""
    server = FakeUpsd()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pyups(journald: None, tmp_path: Path) -> Iterator[Callable[..., Pyups]]:
    """Start ``pyups ARGS...``; every process started is stopped after the test."""
    started: list[Pyups] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Pyups:
        proc = Pyups(list(args), tmp_path, env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
