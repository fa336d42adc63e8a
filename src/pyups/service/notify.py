"""Telling systemd how we are: READY, STATUS, WATCHDOG, RELOADING, STOPPING (sd_notify), and
asking for more time to stop (EXTEND_TIMEOUT_USEC).

Outside a ``Type=notify`` service (no ``$NOTIFY_SOCKET``) every call does nothing, so the
foreground, daemon and demo paths share the code. The watchdog period comes from
``$WATCHDOG_USEC`` (set by systemd from ``WatchdogSec=``) when ``$WATCHDOG_PID`` is unset or
is this process; pings go out at half of it, and only while the monitor says it is healthy.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

from systemd import daemon


def watchdog_period(env: Mapping[str, str] = os.environ, pid: int | None = None) -> float | None:
    """Seconds between pings systemd expects at the latest, or None without a watchdog."""
    usec = env.get("WATCHDOG_USEC", "")
    owner = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    return int(usec) / 1_000_000


class Notifier:
    """sd_notify with systemd-python; remembers the last STATUS so it is sent only on change."""

    def __init__(self) -> None:
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self.watchdog = watchdog_period() if self.enabled else None
        self._status = ""

    def ready(self, status: str = "") -> None:
        self._send("READY=1", status)

    def reloading(self, status: str = "") -> None:
        self._send("RELOADING=1", status)

    def stopping(self, status: str = "") -> None:
        self._send("STOPPING=1", status)

    def status(self, text: str) -> None:
        if text != self._status:
            self._send("", text)

    def ping(self) -> None:
        self._send("WATCHDOG=1", "")

    def extend_timeout(self, seconds: float) -> None:
        """Ask systemd (236+) to wait ``seconds`` more before it times out the state we are in
        (here: stopping), even past the unit's ``TimeoutStopSec=``."""
        self._send(f"EXTEND_TIMEOUT_USEC={max(1, round(seconds * 1_000_000))}", "")

    def _send(self, state: str, status: str) -> None:
        lines = [state] if state else []
        if status:
            self._status = status
            lines.append("STATUS=" + status.replace("\n", " "))
        if self.enabled and lines:
            # systemd going away (at shutdown) must not take pyups' orderly stop with it.
            with contextlib.suppress(OSError):
                daemon.notify("\n".join(lines))
