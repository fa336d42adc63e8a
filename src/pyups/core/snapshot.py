"""One poll result of one UPS: every variable, or the reason there are none."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyups.address import Server, UpsAddress


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one poll of one UPS returned at time ``t`` (Unix seconds).

    ``vars`` holds every variable as the exact, unescaped string upsd sent. When the poll
    failed, ``vars`` is empty and ``error`` is upsd's ERR code (``DATA-STALE``,
    ``DRIVER-NOT-CONNECTED``, ...) or one of ``CONNECT``, ``TIMEOUT``, ``CLOSED``, ``PROTOCOL``;
    ``detail`` is the same in words for humans.
    """

    ups: str
    server: Server
    t: float
    vars: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    detail: str = ""

    @property
    def address(self) -> UpsAddress:
        return UpsAddress(self.ups, self.server)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def status(self) -> str:
        return self.vars.get("ups.status", "")
