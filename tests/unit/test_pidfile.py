"""The pidfile is a lock: held means running, a file nobody holds is stale."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyups.service.pidfile import AlreadyRunning, PidFile, running


def test_a_held_pidfile_names_its_process_and_refuses_a_second_holder(tmp_path: Path) -> None:
    path = str(tmp_path / "run" / "pyups.pid")
    first = PidFile(path)
    first.acquire()
    with first:
        assert Path(path).read_text() == f"{os.getpid()}\n"
        assert running(path) == os.getpid()
        with pytest.raises(AlreadyRunning, match=f"PID {os.getpid()}"):
            PidFile(path).acquire()
    assert not Path(path).exists()
    assert running(path) is None


def test_a_pidfile_nobody_holds_is_stale_and_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "pyups.pid"
    path.write_text("999999\n")
    assert running(str(path)) is None
    pidfile = PidFile(str(path))
    pidfile.acquire()
    # Between the lock and the detached child writing its PID, nobody may read the stale one
    # as the new daemon's (`pyups daemon` returns before the child has written it).
    assert path.read_text() == ""
    with pidfile:
        assert path.read_text() == f"{os.getpid()}\n"  # shorter or longer, no leftovers
