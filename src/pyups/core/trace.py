"""The trace format: one poll result per JSON line, as ``--record`` writes and ``replay`` reads.

``{"t": 1732450000.25, "ups": "eaton800", "server": "localhost:3493", "vars": {...}}`` for a
good poll; ``{"t": ..., "ups": ..., "server": ..., "error": "DATA-STALE"}`` for a failed one,
with an optional ``"detail"`` sentence. Values are upsd's exact, unescaped strings.
"""

from __future__ import annotations

import json
from typing import Any

from pyups.address import AddressError, parse_server
from pyups.core.snapshot import Snapshot


class TraceError(ValueError):
    """A line that is not a poll result; the message says what is wrong with it."""


def to_line(snap: Snapshot) -> str:
    """A snapshot as one JSON line (without the newline)."""
    record: dict[str, Any] = {"t": round(snap.t, 3), "ups": snap.ups, "server": str(snap.server)}
    if snap.ok:
        record["vars"] = dict(snap.vars)
    else:
        record["error"] = snap.error
        if snap.detail:
            record["detail"] = snap.detail
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def from_line(line: str) -> Snapshot:
    """Parse one trace line; raises TraceError."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise TraceError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise TraceError("expected a JSON object")
    t, ups, server = record.get("t"), record.get("ups"), record.get("server", "")
    if not isinstance(t, int | float) or isinstance(t, bool):
        raise TraceError('"t" must be a number (Unix time in seconds)')
    if not isinstance(ups, str) or not ups:
        raise TraceError('"ups" must be the UPS name')
    if not isinstance(server, str):
        raise TraceError('"server" must be a string')
    try:
        address = parse_server(server)
    except AddressError as exc:
        raise TraceError(f'"server": {exc}') from None
    if "vars" in record:
        variables = record["vars"]
        if not isinstance(variables, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
        ):
            raise TraceError('"vars" must map variable names to strings')
        return Snapshot(ups, address, float(t), vars=variables)
    error = record.get("error")
    if not isinstance(error, str) or not error:
        raise TraceError('a poll result needs "vars" or "error"')
    detail = record.get("detail", "")
    return Snapshot(ups, address, float(t), error=error, detail=str(detail))
