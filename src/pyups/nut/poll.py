"""One poll of one UPS as a :class:`~pyups.core.snapshot.Snapshot`, never an exception."""

from __future__ import annotations

from pyups.core.snapshot import Snapshot
from pyups.nut.client import Connection
from pyups.nut.errors import NutError


def poll(conn: Connection, ups: str, t: float) -> Snapshot:
    """``LIST VAR`` of ``ups`` stamped with ``t``; failures become an error snapshot.

    A broken connection is closed by :class:`Connection` and reopened by the next poll.
    """
    server = str(conn.server)
    try:
        variables = conn.list_vars(ups)
    except NutError as exc:
        return Snapshot(ups, server, t, error=exc.code, detail=exc.detail)
    return Snapshot(ups, server, t, vars=variables)
