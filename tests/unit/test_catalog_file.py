"""packaging/systemd/pyups.catalog: one well-formed entry per MESSAGE_ID pyups writes.

The real journalctl compiles and shows the file in tests/integration/test_packaging.py;
this checks the contract without a journal: every event of the catalogue has exactly one
entry, there are no strays, and every @FIELD@ substitution names a field that the entries
it explains always carry (journalctl prints the bare field name for a missing one).
"""

from __future__ import annotations

import re
from pathlib import Path

from pyups.core.catalogue import EVENTS

CATALOG = Path(__file__).resolve().parents[2] / "packaging" / "systemd" / "pyups.catalog"

# Fields on every pyups event entry (sinks/journal.py), and those only some events carry.
ALWAYS = {
    "MESSAGE",
    "MESSAGE_ID",
    "PRIORITY",
    "SYSLOG_IDENTIFIER",
    "PYUPS_EVENT",
    "PYUPS_UPS",
    "PYUPS_SERVER",
    "PYUPS_STATUS",
    "PYUPS_PREV_STATUS",
}
ONLY_FOR = {"PYUPS_RULE": {"RULE", "ACTION"}, "PYUPS_REASON": {"COMMBAD", "NOCOMM", "ACTION"}}

HEADER = re.compile(r"^-- ([0-9a-f]{32})$")


def entries() -> list[tuple[str, list[str]]]:
    """(MESSAGE_ID, lines) for each entry, in file order; comments before the first skipped."""
    found: list[tuple[str, list[str]]] = []
    for line in CATALOG.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- "):
            match = HEADER.match(line)
            assert match, f"bad entry header (32 lowercase hex digits expected): {line!r}"
            found.append((match.group(1), []))
        elif found:
            found[-1][1].append(line)
        else:
            assert line == "" or line.startswith("#"), f"text before the first entry: {line!r}"
    return found


def test_every_event_has_exactly_one_entry_and_there_are_no_extras() -> None:
    ids = [message_id for message_id, _ in entries()]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    expected = {kind.message_id for kind in EVENTS.values()}
    assert set(ids) == expected, {"missing": expected - set(ids), "extra": set(ids) - expected}
    assert len(ids) == len(EVENTS) == 32


def test_each_entry_has_subject_defined_by_support_a_blank_line_and_a_body() -> None:
    for message_id, lines in entries():
        head = lines[:4]
        assert head[0].startswith("Subject: ") and len(head[0]) > len("Subject: "), message_id
        assert head[1] == "Defined-By: pyups", message_id
        assert head[2].startswith("Support: "), message_id
        assert head[3] == "", message_id
        body = [line for line in lines[4:] if line.strip()]
        assert len(body) >= 2, f"{message_id}: the body should explain the event and what to do"


def test_substitutions_name_fields_the_explained_entries_always_have() -> None:
    by_id = {kind.message_id: name for name, kind in EVENTS.items()}
    for message_id, lines in entries():
        event = by_id[message_id]
        for field in re.findall(r"@([A-Z_]+)@", "\n".join(lines)):
            allowed = ALWAYS | {f for f, events in ONLY_FOR.items() if event in events}
            assert field in allowed, f"{event}: @{field}@ is not always set on its entries"


def test_subjects_are_unique_so_list_catalog_tells_the_events_apart() -> None:
    subjects = [lines[0] for _, lines in entries()]
    assert len(subjects) == len(set(subjects))
