"""``pyups events``: the event history, read back from the journal with systemd-python.

Only entries with ``SYSLOG_IDENTIFIER=pyups`` and a ``PYUPS_EVENT`` field are shown (the
service's own "started"/"stopping" notes are left out), oldest first. ``--ups NAME`` keeps one
UPS (``NAME@HOST[:PORT]`` also matches ``PYUPS_SERVER``), ``--since WHEN`` starts at a time
(see :func:`parse_since`; a leading ``-`` needs ``--since=-2h``), ``-n N`` keeps the last N
(read backwards from the end of the journal, so it costs the same however long the journal is).

The default output is a table ``TIME  UPS  EVENT  MESSAGE`` in local time. ``--json`` prints
one JSON document: a list of objects, oldest first, each with exactly these keys:

=========== ====================================================================
key         value
=========== ====================================================================
time        local time, ISO 8601 with UTC offset: "2026-11-24T14:26:01.250000+01:00"
t           the same instant as Unix seconds (float)
ups         ``PYUPS_UPS``: the UPS name as upsd knows it
server      ``PYUPS_SERVER``: ``host:port`` of its upsd
event       ``PYUPS_EVENT``: ONBATT, ONLINE, RULE, ACTION, ...
priority    syslog priority name: emerg alert crit err warning notice info debug
message     ``MESSAGE``: the human sentence
status      ``PYUPS_STATUS``: raw ``ups.status`` at the event
prev_status ``PYUPS_PREV_STATUS``: raw ``ups.status`` before it ("" at STARTUP)
rule        ``PYUPS_RULE`` (RULE/ACTION entries), else null
reason      ``PYUPS_REASON`` (COMMBAD, NOCOMM, dead-time LOWBATT, ACTION), else null
pid         ``_PID``: the pyups process that wrote the entry, or null
=========== ====================================================================

Any other field missing from an entry is null too. The time is when pyups sent the entry
(``_SOURCE_REALTIME_TIMESTAMP``, as journalctl shows it), else when journald received it.
No event found is not an error: nothing on stdout (``[]`` with ``--json``), a note on stderr.
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any, TypedDict

from systemd import journal

from pyups.address import AddressError, parse_ups
from pyups.commands.common import EXIT_OK, EXIT_USAGE, Failure
from pyups.core.catalogue import PRIORITIES
from pyups.core.durations import DurationError, parse_duration
from pyups.sinks.journal import IDENTIFIER

SINCE_FORMS = (
    "a duration ago (2h, 90m, 1h30m, 45s, -2h), today, yesterday, now, YYYY-MM-DD, "
    '"YYYY-MM-DD HH:MM[:SS]" (local time) or @UNIXSECONDS'
)
JOURNAL_DIRS = ("/run/log/journal", "/var/log/journal")
READER_GROUPS = ("systemd-journal", "adm")
_PERMISSION_HINT = (
    "only your own journal entries are visible to you; run it with sudo, "
    "or join the systemd-journal group"
)

_PRIORITY_NAMES = {number: name for name, number in PRIORITIES.items()}
_CALENDAR = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?")
_UNIX = re.compile(r"@(\d+(?:\.\d+)?)")
_LAST_SECOND = 253402300799.0  # 9999-12-31 23:59:59 UTC: what datetime and the journal can hold


class SinceError(ValueError):
    """A ``--since`` value that is none of the accepted forms; the message lists them."""


class EventRecord(TypedDict):
    """One event as ``--json`` prints it (keys documented in the module docstring)."""

    time: str
    t: float
    ups: str | None
    server: str | None
    event: str
    priority: str | None
    message: str
    status: str | None
    prev_status: str | None
    rule: str | None
    reason: str | None
    pid: int | None


def parse_since(text: str, now: datetime) -> float:
    """Unix seconds for a ``--since`` value; ``now`` is an aware datetime (the present).

    Calendar forms are in the system's local time zone, as journalctl reads them.
    """
    value = text.strip()
    word = value.lower()
    if word == "now":
        return now.timestamp()
    if word in ("today", "yesterday"):
        day = now.astimezone().date()
        if word == "yesterday":
            day -= timedelta(days=1)
        return datetime.combine(day, clock()).astimezone().timestamp()
    if (match := _UNIX.fullmatch(value)) and float(match.group(1)) <= _LAST_SECOND:
        return float(match.group(1))
    if match := _CALENDAR.fullmatch(value):
        year, month, mday, hour, minute, second = (int(p or 0) for p in match.groups())
        try:
            local = datetime(year, month, mday, hour, minute, second)  # naive: local time
            return local.astimezone().timestamp()
        except (ValueError, OverflowError, OSError) as exc:
            raise SinceError(f"{text!r}: {exc}; accepted: {SINCE_FORMS}") from None
    ago = word.removeprefix("-").removesuffix(" ago").strip()
    if ago and ago[0].isdigit() and ago[-1].isalpha():  # a unit, so "2026" is no duration
        try:
            return max(0.0, now.timestamp() - parse_duration(ago))
        except DurationError:
            pass
    raise SinceError(f"{text!r} is not a time; accepted: {SINCE_FORMS}")


def record_of(entry: Mapping[str, Any]) -> EventRecord:
    """The JSON record of one journal entry as ``Reader`` returns it (or as journalctl's JSON)."""
    t = _seconds(entry.get("_SOURCE_REALTIME_TIMESTAMP"))
    if t is None:
        t = _seconds(entry.get("__REALTIME_TIMESTAMP"))
    if t is None:
        t = 0.0
    priority = _number(entry.get("PRIORITY"))
    return {
        "time": datetime.fromtimestamp(t, UTC).astimezone().isoformat(timespec="microseconds"),
        "t": t,
        "ups": _text(entry.get("PYUPS_UPS")),
        "server": _text(entry.get("PYUPS_SERVER")),
        "event": _text(entry.get("PYUPS_EVENT")) or "",
        "priority": _PRIORITY_NAMES.get(priority) if priority is not None else None,
        "message": _text(entry.get("MESSAGE")) or "",
        "status": _text(entry.get("PYUPS_STATUS")),
        "prev_status": _text(entry.get("PYUPS_PREV_STATUS")),
        "rule": _text(entry.get("PYUPS_RULE")),
        "reason": _text(entry.get("PYUPS_REASON")),
        "pid": _number(entry.get("_PID")),
    }


def format_table(records: Iterable[EventRecord]) -> list[str]:
    """Aligned ``TIME  UPS  EVENT  MESSAGE`` lines with a header, widths from the data."""
    rows = [("TIME", "UPS", "EVENT", "MESSAGE")]
    for r in records:
        rows.append(
            (_local(r["t"]), _one_line(r["ups"] or "-"), _one_line(r["event"]), r["message"])
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        "  ".join([*(row[i].ljust(widths[i]) for i in range(3)), _one_line(row[3])]).rstrip()
        for row in rows
    ]


def main(args: argparse.Namespace) -> int:
    lines: int | None = args.lines
    if lines is not None and lines < 1:
        raise Failure(f"-n/--lines: must be 1 or more (got {lines})", EXIT_USAGE)
    since = None
    if args.since is not None:
        try:
            since = parse_since(args.since, datetime.now(UTC))
        except SinceError as exc:
            raise Failure(f"--since {exc}", EXIT_USAGE) from None
    matches = _matches(args.ups)
    try:
        records = _read(matches, since, lines)
    except OSError as exc:
        raise Failure(f"cannot read the journal: {exc.strerror or exc}") from None
    if args.json:
        _write(json.dumps(records, indent=2, ensure_ascii=False))
    elif records:
        _write("\n".join(format_table(records)))
    else:
        where = f" for UPS {args.ups}" if args.ups else ""
        if since is not None:
            where += f" since {_local(since)}"
        print(f"pyups: no pyups events in the journal{where}", file=sys.stderr)
        if not _may_read_system_journal():
            print(f"pyups: {_PERMISSION_HINT}", file=sys.stderr)
    return EXIT_OK


def _write(text: str) -> None:
    """Print to stdout at once, so a reader that stops early (``| head``) is seen early."""
    print(text, flush=True)


def _matches(ups: str | None) -> dict[str, str]:
    matches = {"SYSLOG_IDENTIFIER": IDENTIFIER}
    if ups is None:
        return matches
    if "@" not in ups:
        if not ups.strip():
            raise Failure("--ups: give a UPS name, e.g. --ups eaton800", EXIT_USAGE)
        matches["PYUPS_UPS"] = ups.strip()
        return matches
    try:
        address = parse_ups(ups)
    except AddressError as exc:
        raise Failure(f"--ups: {exc}", EXIT_USAGE) from None
    matches["PYUPS_UPS"] = address.name
    matches["PYUPS_SERVER"] = str(address.server)
    return matches


def _read(matches: Mapping[str, str], since: float | None, lines: int | None) -> list[EventRecord]:
    """Matching events oldest first; with ``lines``, walk back from the end, keeping only those."""
    with journal.Reader() as reader:
        if not (reader.has_runtime_files() or reader.has_persistent_files()):
            raise Failure(_no_journal_message())
        reader.add_match(**matches)
        if lines is None:
            if since is not None:
                reader.seek_realtime(since)
            return [record_of(e) for e in _events(_walk(reader, 1), since)]
        reader.seek_tail()
        kept: list[EventRecord] = []
        for entry in _walk(reader, -1):
            if since is not None and _received(entry) < since:
                break
            if "PYUPS_EVENT" in entry:
                kept.append(record_of(entry))
                if len(kept) == lines:
                    break
        return list(reversed(kept))


def _walk(reader: Any, step: int) -> Iterator[Mapping[str, Any]]:
    """Entries one by one, forwards (``step`` 1) or backwards (-1)."""
    while entry := reader.get_next(step):
        yield entry


def _events(
    entries: Iterable[Mapping[str, Any]], since: float | None
) -> Iterator[Mapping[str, Any]]:
    for entry in entries:
        if "PYUPS_EVENT" in entry and (since is None or _received(entry) >= since):
            yield entry


def _received(entry: Mapping[str, Any]) -> float:
    """When journald stored the entry: the clock ``seek_realtime`` uses."""
    return _seconds(entry.get("__REALTIME_TIMESTAMP")) or 0.0


def _no_journal_message() -> str:
    """Why no journal file could be opened, as far as can be told."""
    existing = [d for d in JOURNAL_DIRS if os.path.isdir(d)]
    if not existing:
        return (
            f"no journal to read: neither {' nor '.join(JOURNAL_DIRS)} exists; "
            "is systemd-journald running?"
        )
    where = " or ".join(existing)
    if os.geteuid() == 0:
        return f"no journal files in {where}; is systemd-journald running?"
    if not _may_read_system_journal():
        return (
            f"cannot read the journal in {where}: only root and the systemd-journal and adm "
            "groups may; run it with sudo, or join the systemd-journal group"
        )
    return f"cannot read the journal files in {where}: permission denied (check their mode)"


def _may_read_system_journal() -> bool:
    """Root, or a member of a group journald lets read every entry."""
    if os.geteuid() == 0:
        return True
    gids = {os.getegid(), *os.getgroups()}
    for name in READER_GROUPS:
        try:
            if grp.getgrnam(name).gr_gid in gids:
                return True
        except KeyError:
            continue
    return False


def _text(value: object) -> str | None:
    """A field as text: bytes are decoded (invalid UTF-8 replaced), a repeated field's first."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _number(value: object) -> int | None:
    text = _text(value)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _seconds(value: object) -> float | None:
    """Unix seconds from a Reader datetime, or microseconds as int or text (journalctl JSON)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value / 1_000_000
    number = _number(value)
    return number / 1_000_000 if number is not None else None


def _local(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _one_line(text: str) -> str:
    """Control characters (a newline in a message) would break the table's alignment."""
    return "".join(c if c.isprintable() else " " for c in text)
