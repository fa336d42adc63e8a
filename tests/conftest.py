"""Suite-wide settings.

Hypothesis' timing checks (a per-example deadline, "input generation is slow") measure the
machine, not the code: on a two-core CI box that is also running upsd, drivers and journald
for the integration tests, a single slow draw fails a correct property. They are switched
off; every property still runs its full number of examples.

With pytest-xdist (``make test`` runs two workers) each test file is one group, so a file's
module fixtures (one upsd for the file) are made once, and the system tier is one group: its
systems boot one at a time and its installed layer is built once.
"""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("pyups", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("pyups")


SYSTEM = Path(__file__).parent / "system"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group the tests for ``--dist loadgroup``: by file, and the whole system tier as one."""
    for item in items:
        group = "system" if item.path.is_relative_to(SYSTEM) else str(item.path)
        item.add_marker(pytest.mark.xdist_group(group))
