"""One poll of one UPS as a :class:`~pyups.core.snapshot.Snapshot`, never an exception."""

from __future__ import annotations

from pyups.core.snapshot import Snapshot
from pyups.nut.errors import DESCRIPTIONS, WAIT, NutError
from pyups.nut.session import Connection


def poll(conn: Connection, ups: str, t: float) -> Snapshot:
    """``LIST VAR`` of ``ups`` stamped with ``t``; failures become an error snapshot.

    A broken connection is closed by :class:`Connection` and reopened by the next poll.
    upsd answers ``ups.status "WAIT"`` and nothing else while a driver (re)connects: that is
    no data, so it is reported as a failed poll with code ``WAIT``.
    """
    server = conn.server
    try:
        variables = conn.list_vars(ups)
    except NutError as exc:
        return Snapshot(ups, server, t, error=exc.code, detail=exc.detail)
    if variables.get("ups.status") == WAIT:
        return Snapshot(ups, server, t, error=WAIT, detail=DESCRIPTIONS[WAIT])
    return Snapshot(ups, server, t, vars=variables)
