"""Unit tests for ``pyups events``: --since, records, the table, reading a fake journal."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from pyups import cli
from pyups.commands import events
from pyups.commands.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, Failure
from pyups.commands.events import (
    SINCE_FORMS,
    SinceError,
    format_table,
    parse_since,
    record_of,
)
from tests.harness.pyups import EVENTS_JSON_KEYS

# Tuesday 2026-11-24 15:30:45 in Berlin (UTC+1 in winter).
NOW = datetime(2026, 11, 24, 14, 30, 45, tzinfo=UTC)


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is Europe/Berlin, with its summer time, for the duration of a test."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def berlin_time(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


# -- --since --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("now", 0),
        ("2h", 7200),
        ("-2h", 7200),
        ("90m", 5400),
        ("1h30m", 5400),
        ("45s", 45),
        ("500ms", 0.5),
        ("1d", 86400),
        ("2h ago", 7200),
        (" 2H ", 7200),
    ],
)
def test_since_a_duration_is_that_long_ago(text: str, ago: float) -> None:
    assert parse_since(text, NOW) == pytest.approx(NOW.timestamp() - ago)


@pytest.mark.usefixtures("berlin")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", "2026-11-24T00:00:00+01:00"),
        ("Today", "2026-11-24T00:00:00+01:00"),
        ("yesterday", "2026-11-23T00:00:00+01:00"),
        ("2026-11-20", "2026-11-20T00:00:00+01:00"),
        ("2026-11-20 08:05", "2026-11-20T08:05:00+01:00"),
        ("2026-11-20 08:05:09", "2026-11-20T08:05:09+01:00"),
        ("2026-11-20T08:05:09", "2026-11-20T08:05:09+01:00"),
        ("2026-07-01 12:00", "2026-07-01T12:00:00+02:00"),  # summer time: its own offset
    ],
)
def test_since_calendar_forms_are_local_time(text: str, expected: str) -> None:
    assert parse_since(text, NOW) == berlin_time(expected)


@pytest.mark.usefixtures("berlin")
def test_today_is_the_local_day_not_the_utc_day() -> None:
    late = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # already the 25th in Berlin
    assert parse_since("today", late) == berlin_time("2026-11-25T00:00:00+01:00")


def test_since_unix_seconds() -> None:
    assert parse_since("@1732450000", NOW) == 1732450000.0
    assert parse_since("@1732450000.25", NOW) == 1732450000.25


def test_a_duration_longer_than_the_epoch_starts_at_the_beginning() -> None:
    assert parse_since("99999999h", NOW) == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bogus",
        "2026",  # a year, or seconds? neither: durations need a unit
        "30",
        "1e5",
        "+2h",
        "2x",
        "h",
        "-",
        "2026-11",
        "2026-02-30",
        "2026-11-24 25:00",
        "2026-11-24 08",
        "24.11.2026",
        "@",
        "@-5",
        "@abc",
        "@99999999999999",
        "tomorrow please",
    ],
)
def test_anything_else_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(SinceError) as info:
        parse_since(text, NOW)
    assert SINCE_FORMS in str(info.value)
    assert "\n" not in str(info.value)


# -- records ----------------------------------------------------------------------------------


def reader_entry(**fields: Any) -> dict[str, Any]:
    """An entry as systemd.journal.Reader returns it: timestamps as datetime, numbers as int."""
    entry: dict[str, Any] = {
        "__REALTIME_TIMESTAMP": datetime(2026, 11, 24, 14, 26, 1, 500000, tzinfo=UTC),
        "_SOURCE_REALTIME_TIMESTAMP": datetime(2026, 11, 24, 14, 26, 1, 250000, tzinfo=UTC),
        "SYSLOG_IDENTIFIER": "pyups",
        "PRIORITY": 4,
        "MESSAGE": "UPS eaton800 on battery",
        "MESSAGE_ID": "d8f1b0c2e4a64f3b9e7c5a1d3b5f7e91",
        "PYUPS_EVENT": "ONBATT",
        "PYUPS_UPS": "eaton800",
        "PYUPS_SERVER": "localhost:3493",
        "PYUPS_STATUS": "OB DISCHRG",
        "PYUPS_PREV_STATUS": "OL CHRG",
        "PYUPS_BATTERY_CHARGE": "80",
        "_PID": 1234,
        "_UID": 0,
    }
    entry.update(fields)
    return {k: v for k, v in entry.items() if v is not None}


@pytest.mark.usefixtures("berlin")
def test_a_record_has_every_key_with_the_entry_values() -> None:
    record = record_of(reader_entry())
    assert set(record) == EVENTS_JSON_KEYS
    assert record == {
        "time": "2026-11-24T15:26:01.250000+01:00",
        "t": datetime(2026, 11, 24, 14, 26, 1, 250000, tzinfo=UTC).timestamp(),
        "ups": "eaton800",
        "server": "localhost:3493",
        "event": "ONBATT",
        "priority": "warning",
        "message": "UPS eaton800 on battery",
        "status": "OB DISCHRG",
        "prev_status": "OL CHRG",
        "rule": None,
        "reason": None,
        "pid": 1234,
    }
    assert datetime.fromisoformat(record["time"]).timestamp() == record["t"]
    json.dumps(record)  # serialisable as it is


def test_a_record_carries_rule_and_reason_when_present() -> None:
    record = record_of(
        reader_entry(PYUPS_EVENT="ACTION", PYUPS_RULE="outage-2min", PYUPS_REASON="exit:0")
    )
    assert (record["event"], record["rule"], record["reason"]) == (
        "ACTION",
        "outage-2min",
        "exit:0",
    )


def test_bytes_are_decoded_and_missing_fields_are_null() -> None:
    record = record_of(
        reader_entry(
            MESSAGE=b"garbage \xff\xfe from upsd",
            PYUPS_REASON=b"PROTOCOL",
            PYUPS_SERVER=None,
            PYUPS_PREV_STATUS=None,
            _PID=None,
            _SOURCE_REALTIME_TIMESTAMP=None,
        )
    )
    assert record["message"] == "garbage \ufffd\ufffd from upsd"
    assert record["reason"] == "PROTOCOL"
    assert (record["server"], record["prev_status"], record["pid"]) == (None, None, None)
    # Without the sender's timestamp, the time journald received it.
    assert record["t"] == datetime(2026, 11, 24, 14, 26, 1, 500000, tzinfo=UTC).timestamp()


def test_journalctl_json_shapes_work_too() -> None:
    """Strings for numbers, microseconds for timestamps, a repeated field as a list."""
    record = record_of(
        {
            "__REALTIME_TIMESTAMP": "1795530361500000",
            "PRIORITY": "2",
            "MESSAGE": "UPS eaton800 battery is low",
            "PYUPS_EVENT": "LOWBATT",
            "PYUPS_UPS": ["eaton800", "other"],
            "_PID": "77",
        }
    )
    assert (record["t"], record["priority"], record["ups"], record["pid"]) == (
        1795530361.5,
        "crit",
        "eaton800",
        77,
    )


@pytest.mark.parametrize(("priority", "name"), [(0, "emerg"), (7, "debug"), (9, None), ("x", None)])
def test_priority_names(priority: object, name: str | None) -> None:
    assert record_of(reader_entry(PRIORITY=priority))["priority"] == name


# -- the table --------------------------------------------------------------------------------


@pytest.mark.usefixtures("berlin")
def test_the_table_is_aligned_on_the_widest_cell_of_each_column() -> None:
    records = [
        record_of(
            reader_entry(
                PYUPS_EVENT="STARTUP",
                PYUPS_UPS="eaton800",
                MESSAGE="UPS eaton800 monitored: OL CHRG",
                _SOURCE_REALTIME_TIMESTAMP=datetime(2026, 11, 24, 14, 26, 0, 900000, tzinfo=UTC),
            )
        ),
        record_of(
            reader_entry(PYUPS_EVENT="ONBATT", PYUPS_UPS="rack-ups-2", MESSAGE="on\nbattery")
        ),
        record_of(reader_entry(PYUPS_EVENT="NOTBYPASS", PYUPS_UPS=None, MESSAGE="x")),
    ]
    assert format_table(records) == [
        "TIME                 UPS         EVENT      MESSAGE",
        "2026-11-24 15:26:00  eaton800    STARTUP    UPS eaton800 monitored: OL CHRG",
        "2026-11-24 15:26:01  rack-ups-2  ONBATT     on battery",
        "2026-11-24 15:26:01  -           NOTBYPASS  x",
    ]


def test_an_empty_table_is_just_the_header() -> None:
    assert format_table([]) == ["TIME  UPS  EVENT  MESSAGE"]


# -- reading the journal, with a fake Reader --------------------------------------------------


class FakeReader:
    """Just enough of systemd.journal.Reader: matches, seeks, and stepping either way."""

    instances: list[FakeReader] = []  # noqa: RUF012 - the tests' view of what was opened

    def __init__(self, entries: list[dict[str, Any]], files: bool = True) -> None:
        self._all = entries
        self._files = files
        self._matches: dict[str, str] = {}
        self._selected: list[dict[str, Any]] = []
        self._gap = 0  # entries before the cursor
        self.visited = 0
        FakeReader.instances.append(self)

    def __enter__(self) -> FakeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def has_runtime_files(self) -> bool:
        return self._files

    def has_persistent_files(self) -> bool:
        return False

    def add_match(self, **matches: str) -> None:
        self._matches.update(matches)
        self._selected = [
            e for e in self._all if all(str(e.get(k)) == v for k, v in self._matches.items())
        ]
        self._gap = 0

    def seek_tail(self) -> None:
        self._gap = len(self._selected)

    def seek_realtime(self, t: float) -> None:
        times = [e["__REALTIME_TIMESTAMP"].timestamp() for e in self._selected]
        self._gap = next((i for i, when in enumerate(times) if when >= t), len(times))

    def get_next(self, skip: int = 1) -> Mapping[str, Any]:
        if skip == 1 and self._gap < len(self._selected):
            self._gap += 1
            self.visited += 1
            return self._selected[self._gap - 1]
        if skip == -1 and self._gap > 0:
            self._gap -= 1
            self.visited += 1
            return self._selected[self._gap]
        return {}


def fake_journal(
    monkeypatch: pytest.MonkeyPatch, entries: list[dict[str, Any]], files: bool = True
) -> None:
    FakeReader.instances = []
    monkeypatch.setattr(events.journal, "Reader", lambda: FakeReader(entries, files))


def at(second: int, event: str | None, ups: str = "eaton800", **fields: Any) -> dict[str, Any]:
    """An entry ``second`` seconds after 14:00 UTC; ``event`` None is a plain service note."""
    when = datetime(2026, 11, 24, 14, 0, second, tzinfo=UTC)
    entry = reader_entry(
        **{
            "__REALTIME_TIMESTAMP": when,
            "_SOURCE_REALTIME_TIMESTAMP": when,
            "PYUPS_EVENT": event,
            "PYUPS_UPS": ups,
            "MESSAGE": f"{event or 'note'} {second}",
            **fields,
        }
    )
    if event is None:
        entry = {k: v for k, v in entry.items() if not k.startswith("PYUPS_")}
    return entry


JOURNAL = [
    at(0, None, MESSAGE="pyups 0.1.0 started"),
    at(1, "STARTUP"),
    at(2, "STARTUP", ups="rack2"),
    at(3, "ONBATT"),
    at(4, "ONLINE"),
    at(5, None, MESSAGE="pyups stopping (SIGTERM)"),
    at(6, "STARTUP", PYUPS_SERVER="nas:3493"),
    {**at(7, "ONBATT"), "SYSLOG_IDENTIFIER": "upsmon"},  # someone else's
]


def run(
    *,
    ups: str | None = None,
    since: str | None = None,
    lines: int | None = None,
    as_json: bool = False,
) -> int:
    return events.main(argparse.Namespace(ups=ups, since=since, lines=lines, json=as_json))


def shown(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The MESSAGE column of the table printed, header left out."""
    header, *rows = capsys.readouterr().out.splitlines()
    return [row[header.index("MESSAGE") :] for row in rows]


def test_events_only_oldest_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_journal(monkeypatch, JOURNAL)
    assert run() == EXIT_OK
    assert shown(capsys) == ["STARTUP 1", "STARTUP 2", "ONBATT 3", "ONLINE 4", "STARTUP 6"]


def test_one_ups_by_name_or_by_address(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_journal(monkeypatch, JOURNAL)
    run(ups="rack2")
    assert shown(capsys) == ["STARTUP 2"]
    run(ups="eaton800@nas")
    assert shown(capsys) == ["STARTUP 6"]
    run(ups="eaton800@localhost:3493")
    assert shown(capsys) == ["STARTUP 1", "ONBATT 3", "ONLINE 4"]


def test_since_starts_at_that_time(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_journal(monkeypatch, JOURNAL)
    run(since=f"@{at(3, None)['__REALTIME_TIMESTAMP'].timestamp()}")
    assert shown(capsys) == ["ONBATT 3", "ONLINE 4", "STARTUP 6"]


def test_the_last_n_walk_back_from_the_end_without_reading_it_all(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_journal(monkeypatch, JOURNAL * 1000)
    run(lines=2)
    assert shown(capsys) == ["ONLINE 4", "STARTUP 6"]
    assert FakeReader.instances[0].visited == 3  # STARTUP 6, the note, ONLINE 4


def test_the_last_n_stop_at_since(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_journal(monkeypatch, JOURNAL)
    run(lines=10, since=f"@{at(4, None)['__REALTIME_TIMESTAMP'].timestamp()}")
    assert shown(capsys) == ["ONLINE 4", "STARTUP 6"]
    run(lines=1, ups="eaton800@localhost")
    assert shown(capsys) == ["ONLINE 4"]


def test_json_is_one_document_with_every_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_journal(monkeypatch, JOURNAL)
    assert run(as_json=True, lines=2) == EXIT_OK
    document = json.loads(capsys.readouterr().out)
    assert [(r["event"], r["message"]) for r in document] == [
        ("ONLINE", "ONLINE 4"),
        ("STARTUP", "STARTUP 6"),
    ]
    assert all(set(r) == EVENTS_JSON_KEYS for r in document)


def test_nothing_found_says_so_on_stderr_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_journal(monkeypatch, JOURNAL)
    monkeypatch.setattr(events, "_may_read_system_journal", lambda: True)
    assert run(ups="nosuch") == EXIT_OK
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "pyups: no pyups events in the journal for UPS nosuch\n"
    assert run(ups="nosuch", as_json=True) == EXIT_OK
    assert capsys.readouterr() == ("[]\n", "")


def test_nothing_found_hints_at_permissions_for_ordinary_users(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_journal(monkeypatch, [])
    monkeypatch.setattr(events, "_may_read_system_journal", lambda: False)
    assert run() == EXIT_OK
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "pyups: no pyups events in the journal"
    assert "sudo" in err[1] and "systemd-journal" in err[1]


def test_no_journal_at_all_is_a_runtime_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_journal(monkeypatch, [], files=False)
    with pytest.raises(Failure) as info:
        run()
    assert info.value.code == EXIT_FAILURE
    assert "journal" in str(info.value)


def test_an_unreadable_journal_is_a_runtime_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(events.journal, "Reader", broken)
    with pytest.raises(Failure) as info:
        run()
    assert (info.value.code, str(info.value)) == (
        EXIT_FAILURE,
        "cannot read the journal: Input/output error",
    )


@pytest.mark.parametrize(
    "options",
    [
        {"lines": 0},
        {"lines": -3},
        {"since": "last tuesday"},
        {"ups": ""},
        {"ups": "eaton800@host:notaport"},
    ],
)
def test_usage_errors(monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]) -> None:
    fake_journal(monkeypatch, JOURNAL)
    with pytest.raises(Failure) as info:
        run(**options)
    assert info.value.code == EXIT_USAGE
    assert "\n" not in str(info.value)


def test_a_reader_that_stops_early_is_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """``pyups events | head -1``: the pipe closes, the command ends quietly with exit 0."""
    fake_journal(monkeypatch, JOURNAL * 2000)
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w") as stream:
        monkeypatch.setattr(sys, "stdout", stream)
        assert cli.main(["events"]) == EXIT_OK
        print("and at exit", file=stream, flush=True)  # now into /dev/null, no error
