"""pyups stopping while its shutdown command runs: the command did not fail.

systemd stops pyups because of the very ``systemctl poweroff`` pyups ran, often before that
systemctl has exited (through PID 1 directly, without logind, always: the system tier saw
it). The command gets the grace running actions get; one killed after it must not read as
a failed shutdown (no SHUTDOWN_FAILED, no retry) nor remove the power-down flag.
"""

from __future__ import annotations

import time
from pathlib import Path

from pyups.config import load_config
from pyups.core.events import Event
from pyups.service.protector import Protector, protection_of_config


def stopped_during_the_command(tmp_path: Path, command: str, grace: float) -> list[Event]:
    """A primary's sequence, stopped with ``grace`` once its command (sh -c) has started;
    the entries it gave."""
    started = tmp_path / "started"
    config = tmp_path / "pyups.conf"
    config.write_text(
        '[[ups]]\nname = "eaton800"\nserver = "127.0.0.1:9"\nrole = "primary"\n'
        f'[shutdown]\ncommand = ["sh", "-c", "touch {started}; {command}"]\n'
        f'final_delay = "0s"\nhost_sync = "0s"\npowerdown_flag = "{tmp_path / "killpower"}"\n'
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
    protector.stop(grace)
    protector.join(10)
    assert not protector.is_alive()
    names = [e.name for e in events]
    assert names[0] == "SHUTDOWN"
    assert "SHUTDOWN_FAILED" not in names, notes
    assert (tmp_path / "killpower").read_bytes() == b"upsmon-shutdown-file"  # for the hook
    return [e for e in events if e.name == "ACTION"]


def test_a_command_that_ends_within_the_grace_is_let_finish(tmp_path: Path) -> None:
    (action,) = stopped_during_the_command(tmp_path, "sleep 0.3", grace=10)
    assert ": exit 0 after " in action.message


def test_a_command_killed_because_pyups_stops_is_not_a_failed_shutdown(tmp_path: Path) -> None:
    (action,) = stopped_during_the_command(tmp_path, "exec sleep 30", grace=0.2)
    assert action.message.endswith("pyups stopped first")
