"""The console sink: one readable line per event, colour only on a terminal."""

from __future__ import annotations

import io
import os
import pty
import re
import sys

import pytest

from pyups.address import Server
from pyups.core.events import Event, finish
from pyups.sinks.console import ConsoleSink, stderr_is_journal

ONBATT = finish(Event("ONBATT", "eaton800", Server("localhost"), 1_790_000_000.0, status="OB"), {})


def test_an_event_is_one_timestamped_line_naming_the_ups_and_event() -> None:
    stream = io.StringIO()
    ConsoleSink(stream).emit(ONBATT)
    line = stream.getvalue()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  eaton800 +ONBATT +UPS eaton800 on battery\n", line
    ), line


def test_lines_are_plain_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    ConsoleSink(stream).emit(ONBATT)
    assert "\x1b[" not in stream.getvalue()


def test_lines_are_coloured_by_priority_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        ConsoleSink(terminal).emit(ONBATT)  # warning: yellow
    output = os.read(leader, 4096).decode()
    os.close(leader)
    assert output.startswith("\x1b[33m")
    assert output.rstrip().endswith("UPS eaton800 on battery\x1b[0m")


def test_no_color_turns_colour_off_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        ConsoleSink(terminal).emit(ONBATT)
    output = os.read(leader, 4096).decode()
    os.close(leader)
    assert "\x1b[" not in output


def test_stderr_is_recognised_as_the_journal_only_when_journal_stream_matches_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]
) -> None:
    with open(os.path.join(tmp_path, "stderr"), "w") as stream:
        monkeypatch.setattr(sys, "stderr", stream)
        st = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        assert stderr_is_journal()
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino + 1}")
        assert not stderr_is_journal()
        monkeypatch.delenv("JOURNAL_STREAM")
        assert not stderr_is_journal()
