"""The journal contract: one entry per event with ``PYUPS_*`` fields, sent with systemd-python.

When journald is not there, the same text goes to syslog through ``/dev/log`` (ident
``pyups``, facility daemon), and when that fails too, to stderr. Nothing is dropped silently:
``counts`` says how many entries went each way.
"""

from __future__ import annotations

import os
import socket
import sys
from collections import Counter
from typing import TextIO

from systemd import journal

from pyups.core.catalogue import EVENTS, PRIORITIES
from pyups.core.events import Event

IDENTIFIER = "pyups"
JOURNAL_SOCKET = "/run/systemd/journal/socket"
_FACILITY_DAEMON = 3


def journal_fields(event: Event) -> dict[str, str]:
    """Every field of an event's journal entry except MESSAGE (DESIGN §4)."""
    fields = {
        "PRIORITY": str(PRIORITIES[event.priority]),
        "SYSLOG_IDENTIFIER": IDENTIFIER,
        "MESSAGE_ID": EVENTS[event.name].message_id,
        "PYUPS_EVENT": event.name,
        "PYUPS_UPS": event.ups,
        "PYUPS_SERVER": str(event.server),
        "PYUPS_STATUS": event.status,
        "PYUPS_PREV_STATUS": event.prev_status,
    }
    for var, key in (
        ("battery.charge", "PYUPS_BATTERY_CHARGE"),
        ("battery.runtime", "PYUPS_BATTERY_RUNTIME"),
    ):
        if var in event.vars:
            fields[key] = event.vars[var]
    if event.rule is not None:
        fields["PYUPS_RULE"] = event.rule
    if event.reason is not None:
        fields["PYUPS_REASON"] = event.reason
    return fields


class JournalSink:
    """Writes to journald; falls back to /dev/log, then to stderr (unless told a console has it)."""

    def __init__(
        self,
        *,
        stderr_fallback: bool = True,
        stream: TextIO | None = None,
        syslog_path: str = "/dev/log",
    ) -> None:
        self.counts: Counter[str] = Counter()
        self._stderr_fallback = stderr_fallback
        self._stream = stream
        self._syslog_path = syslog_path

    def emit(self, event: Event) -> None:
        self._send(event.message, journal_fields(event))

    def note(self, message: str, priority: str = "info") -> None:
        """A plain entry about the service itself (started, reloaded, stopping)."""
        self._send(
            message, {"PRIORITY": str(PRIORITIES[priority]), "SYSLOG_IDENTIFIER": IDENTIFIER}
        )

    def _send(self, message: str, fields: dict[str, str]) -> None:
        # libsystemd drops entries without a word when the socket does not exist (it only
        # reports a socket nobody listens on), so look for it first.
        if os.path.exists(JOURNAL_SOCKET):
            try:
                journal.send(message, **fields)
                self.counts["journal"] += 1
                return
            except OSError:
                pass
        priority = int(fields["PRIORITY"])
        line = f"<{_FACILITY_DAEMON * 8 + priority}>{IDENTIFIER}[{os.getpid()}]: {message}"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self._syslog_path)
                sock.send(line.encode("utf-8", "replace"))
            self.counts["syslog"] += 1
            return
        except OSError:
            pass
        self.counts["stderr"] += 1
        if self._stderr_fallback:
            stream = self._stream or sys.stderr
            print(f"{IDENTIFIER}[{os.getpid()}]: {message}", file=stream, flush=True)
