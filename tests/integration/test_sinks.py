"""The journal sink's fallbacks, with journald really out of reach (hidden in a mount namespace)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

# Runs inside `unshare -m` after journald's socket directory was covered by an empty tmpfs.
PROBE = textwrap.dedent("""
    import io, json, socket, sys
    from pyups.address import Server
    from pyups.core.events import Event, finish
    from pyups.sinks.journal import JournalSink

    syslog_path, mode = sys.argv[1], sys.argv[2]
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(syslog_path)
    receiver.settimeout(2)
    stream = io.StringIO()
    sink = JournalSink(stream=stream, syslog_path=syslog_path)
    event = finish(Event("ONBATT", "eaton800", Server("localhost"), 0.0, status="OB"), {})
    sink.emit(event)
    first = receiver.recv(4096).decode()
    receiver.close()  # now /dev/log is gone too: stderr is the last resort
    sink.emit(event)
    sink.note("pyups stopping")
    print(json.dumps({"syslog": first, "stderr": stream.getvalue(), "counts": sink.counts}))
""")


def test_without_journald_entries_go_to_syslog_then_to_stderr_and_are_counted(
    tmp_path: Path,
) -> None:
    hide = 'mount -t tmpfs none /run/systemd/journal 2>/dev/null || true; exec "$@"'
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", hide, "sh", sys.executable, "-c", PROBE,
         str(tmp_path / "log"), "x"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["syslog"].startswith("<28>pyups[")  # facility daemon (3) * 8 + warning (4)
    assert report["syslog"].endswith("]: UPS eaton800 on battery")
    lines = report["stderr"].splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("]: UPS eaton800 on battery")
    assert lines[1].endswith("]: pyups stopping")
    assert report["counts"] == {"syslog": 1, "stderr": 2}
