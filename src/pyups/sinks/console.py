"""Readable, timestamped event lines for the foreground; colour only on a terminal."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from pyups.core.catalogue import PRIORITIES
from pyups.core.events import Event

_COLOURS = {0: "1;31", 1: "1;31", 2: "1;31", 3: "31", 4: "33", 5: "32", 6: "", 7: "2"}


class ConsoleSink:
    """``2026-11-24 14:30:01  eaton800  ONBATT  UPS eaton800 on battery`` on stderr."""

    def __init__(self, stream: TextIO | None = None, colour: bool | None = None) -> None:
        self._stream = stream or sys.stderr
        if colour is None:
            colour = self._stream.isatty() and os.environ.get("NO_COLOR") is None
        self._colour = colour

    def emit(self, event: Event) -> None:
        level = PRIORITIES[event.priority]
        message = f"[{event.rule}] {event.message}" if event.rule else event.message
        self._write(event.t, level, f"{event.ups:<12} {event.name:<9} {message}")

    def note(self, message: str, priority: str = "info") -> None:
        self._write(time.time(), PRIORITIES[priority], f"{'pyups':<12} {'':<9} {message}")

    def _write(self, t: float, level: int, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
        line = f"{stamp}  {text}"
        code = _COLOURS.get(level, "")
        if self._colour and code:
            line = f"\x1b[{code}m{line}\x1b[0m"
        print(line, file=self._stream, flush=True)


def stderr_is_journal() -> bool:
    """True when systemd connected stderr to the journal (then console lines would be doubled)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    device, _, inode = stream.partition(":")
    if not device or not inode:
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return f"{st.st_dev}:{st.st_ino}" == stream
