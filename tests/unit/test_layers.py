"""What importing a command loads: replay needs the engine, not the service, systemd-python,
the NUT client or the action dispatcher."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = (
    "import json, sys, pyups.commands.replay; "
    "print(json.dumps(sorted(m for m in sys.modules "
    "if m in ('systemd', 'PyNUTClient', 'pyups.actions.dispatcher') "
    "or m.startswith(('systemd.', 'pyups.service', 'PyNUTClient.')))))"
)


def test_replay_loads_neither_the_service_nor_systemd_nor_the_nut_client() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []
