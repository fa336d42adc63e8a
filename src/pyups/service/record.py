"""``pyups run --record TRACE``: every poll result appended to a trace file as it happens."""

from __future__ import annotations

import threading
from typing import TextIO

from pyups.core.snapshot import Snapshot
from pyups.core.trace import to_line


class Recorder:
    """Appends snapshots from any poller thread; each line is written and flushed whole."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: TextIO = open(path, "a", encoding="utf-8")  # noqa: SIM115 - see close()

    def record(self, snap: Snapshot) -> None:
        line = to_line(snap) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
