"""pyups as the tests and benchmarks run it: a ``pyups`` process watched through the journal,
and a ``pyups`` command run to its end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .guard import refuse_real_shutdown
from .journald import pyups_entries
from .procs import cpu_seconds, end_process
from .wait import TimedOut, wait_until

Entry = dict[str, Any]
STOP_WAIT = 15.0  # seconds a pyups gets to stop before SIGKILL

read_journal = pyups_entries  # the tests' name for it

# The keys of every record `pyups events --json` prints (README, "Event history").
EVENTS_JSON_KEYS = {
    "time",
    "t",
    "ups",
    "server",
    "event",
    "priority",
    "message",
    "status",
    "prev_status",
    "rule",
    "reason",
    "pid",
}


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``pyups ARGS`` to completion, never with the host's own config or password, never
    with a configuration that could shut this machine down."""
    environment = {
        k: v for k, v in os.environ.items() if k not in ("PYUPS_PASSWORD", "PYUPS_CONFIG")
    }
    environment["PYUPS_CONFIG"] = "/dev/null"
    refuse_real_shutdown(args, {**environment, **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "pyups", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**environment, **(env or {})},
        timeout=timeout,
        check=False,
    )


class Pyups:
    """A ``pyups`` process, its stderr in a file in ``workdir``, its entries in the journal."""

    def __init__(
        self,
        args: list[str],
        workdir: Path,
        env: dict[str, str] | None = None,
        *,
        cwd: Path | None = None,
        prefix: Sequence[str] = (),
    ) -> None:
        """``prefix`` goes before the interpreter: a command that execs the rest, such as
        ``ip netns exec NS`` (tests/harness/hosts.py), so :attr:`pid` stays pyups' own."""
        refuse_real_shutdown(args, {**os.environ, **(env or {})})
        self.workdir = workdir
        self.stderr_path = workdir / f"pyups-{uuid.uuid4().hex[:8]}.stderr"
        self.started = time.time()
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "pyups", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        self.pid = self.process.pid

    @classmethod
    def run_config(
        cls,
        config: str,
        *args: str,
        workdir: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> Pyups:
        """``pyups run ARGS`` with ``config`` written to ``workdir`` (by default a new
        temporary directory), which is also its working directory; ``close()`` ends it and
        removes the directory."""
        workdir = workdir or Path(tempfile.mkdtemp(prefix="pyups-bench-"))
        path = workdir / "pyups.conf"
        path.write_text(config)
        path.chmod(0o600)
        return cls(["run", "-c", str(path), *args], workdir, env, cwd=workdir)

    def entries(self) -> list[Entry]:
        return read_journal(self.pid, self.started)

    def events(self) -> list[str]:
        return [e["PYUPS_EVENT"] for e in self.entries() if "PYUPS_EVENT" in e]

    def wait_for(
        self, predicate: Callable[[list[Entry]], bool], timeout: float = 10.0
    ) -> list[Entry]:
        """Poll the journal until ``predicate(entries)`` holds; TimedOut says what was seen."""
        seen: list[Entry] = []

        def check() -> list[Entry] | None:
            seen[:] = self.entries()
            return seen if predicate(seen) else None

        try:
            return wait_until(check, timeout, every=0.1, process=self.process)
        except TimedOut:
            if self.process.poll() is not None:
                raise TimedOut(
                    f"pyups exited with {self.process.returncode}: {self.stderr()}"
                ) from None
            events = [e.get("PYUPS_EVENT", e["MESSAGE"]) for e in seen]
            raise TimedOut(f"timed out after {timeout}s; journal has {events}") from None

    def wait_event(self, name: str, count: int = 1, timeout: float = 10.0) -> Entry:
        """The ``count``-th entry of event ``name``, waiting for it to appear."""
        entries = self.wait_for(
            lambda es: sum(e.get("PYUPS_EVENT") == name for e in es) >= count, timeout
        )
        return [e for e in entries if e.get("PYUPS_EVENT") == name][count - 1]

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        return cpu_seconds(self.pid)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_WAIT) -> int:
        """End it with ``sig`` (SIGKILL after ``timeout`` seconds); its exit code."""
        end_process(self.process, timeout, sig)
        self._stderr.close()
        return self.process.returncode

    def close(self) -> None:
        """Stop it and remove its working directory (of :meth:`run_config`)."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
