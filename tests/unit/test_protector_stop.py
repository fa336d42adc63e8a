"""pyups stopping while its shutdown command runs: the command did not fail.

systemd stops pyups because of the very ``systemctl poweroff`` pyups ran, often before that
systemctl has exited (through PID 1 directly, without logind, always: the system tier saw
it). pyups kills what it still runs as it stops; that kill must not read as a failed
shutdown (no SHUTDOWN_FAILED, no retry) nor remove the power-down flag.
"""

from __future__ import annotations

import time
from pathlib import Path

from pyups.config import load_config
from pyups.core.events import Event
from pyups.service.protector import Protector, protection_of_config


def test_a_command_killed_because_pyups_stops_is_not_a_failed_shutdown(tmp_path: Path) -> None:
    started = tmp_path / "started"
    flag = tmp_path / "killpower"
    config = tmp_path / "pyups.conf"
    # A primary (so it writes the flag) whose command is still running when pyups stops.
    config.write_text(
        '[[ups]]\nname = "eaton800"\nserver = "127.0.0.1:9"\nrole = "primary"\n'
        f'[shutdown]\ncommand = ["sh", "-c", "touch {started}; exec sleep 30"]\n'
        f'final_delay = "0s"\nhost_sync = "0s"\npowerdown_flag = "{flag}"\n'
    )
    events: list[Event] = []
    notes: list[str] = []
    protector = Protector(
        protection_of_config(load_config(str(config))),
        events.append,
        lambda message, _priority: notes.append(message),
        lambda _ups: None,
    )
    protector.start()
    protector.request("a test")
    deadline = time.monotonic() + 20
    while not started.exists():
        assert time.monotonic() < deadline, (events, notes)
        time.sleep(0.02)

    protector.stop()
    protector.join(10)
    assert not protector.is_alive()
    names = [e.name for e in events]
    assert names[0] == "SHUTDOWN"
    assert "SHUTDOWN_FAILED" not in names, notes
    killed = [e for e in events if e.name == "ACTION"]
    assert len(killed) == 1 and "pyups stopped first" in killed[0].message
    assert flag.read_bytes() == b"upsmon-shutdown-file"  # still there for the hook
