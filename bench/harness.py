"""What the benchmarks share: the machine's description, a journald, pyups and upsmon processes
read from /proc, and the table and JSON every script ends with.

Every process here is started by this module and ended by its PID.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyups.address import Server
from pyups.sim import end_process
from pyups.sim.journald import pyups_entries, shared_journald

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
UPSMON = "/lib/nut/upsmon"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STOP_WAIT = 15.0  # seconds a pyups or upsmon gets to stop before SIGKILL

# The host's journald, or one shared with the tests (started when none runs, stopped by the
# last user out).
journald = shared_journald


# -- the machine ----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    nut = subprocess.run(
        ["/lib/nut/upsd", "-V"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "nut": nut.splitlines()[0] if nut else "unknown",
    }


def machine_line() -> str:
    m = machine()
    return f"{m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, Python {m['python']}, {m['nut']}"


# -- results --------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.95 for p95)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned table: first column left, the others right."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print(title)
    for n, row in enumerate(cells):
        line = row[0].ljust(widths[0]) + "".join(
            "  " + c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        )
        print(line.rstrip())
        if n == 0:
            print("-" * len(line))
    print()


def write_result(name: str, data: dict[str, Any]) -> Path:
    """bench/results/NAME.json, with the machine it was measured on."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2) + "\n")
    return path


# -- processes ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


class Pyups:
    """``pyups run`` with a config written to a temporary directory; ``close()`` ends it."""

    def __init__(self, config: str, *args: str) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="pyups-bench-"))
        self.config = self.workdir / "pyups.conf"
        self.config.write_text(config)
        self.started = time.time()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pyups", "run", "-c", str(self.config), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "stderr", "wb"),  # noqa: SIM115 - the child keeps it
            cwd=self.workdir,
        )
        self.pid = self.process.pid

    def entries(self) -> list[dict[str, Any]]:
        return pyups_entries(self.pid, self.started)

    def wait_started(self, timeout: float = 20.0) -> None:
        """Until the first poll's STARTUP entry is in the journal."""
        deadline = time.monotonic() + timeout
        while not any(e.get("PYUPS_EVENT") == "STARTUP" for e in self.entries()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                stderr = (self.workdir / "stderr").read_text(errors="replace")
                raise RuntimeError(f"pyups did not start: {stderr.strip()}")
            time.sleep(0.1)

    def close(self) -> None:
        end_process(self.process, STOP_WAIT)
        shutil.rmtree(self.workdir, ignore_errors=True)


def pyups_config(servers: Sequence[tuple[Server, Sequence[str]]], interval: float) -> str:
    """A config polling every listed UPS at ``interval``, alert interval the same, no state."""
    text = f'[monitor]\ninterval = "{interval}s"\ninterval_alert = "{interval}s"\nstate_file = ""\n'
    for server, names in servers:
        for name in names:
            text += f'[[ups]]\nname = "{name}"\nserver = "{server}"\n'
    return text


class Upsmon:
    """NUT's own ``upsmon`` watching some UPSes, running NOTIFYCMD on ONBATT and ONLINE.

    The notify script is bash writing ``$EPOCHREALTIME`` (no extra process), so what it
    stamps is as close to upsmon's own detection as a NOTIFYCMD can be. upsmon insists on
    /run/nut/upsmon.pid; as root it gets a private /run/nut (a mount namespace), so a host's
    own upsmon is neither disturbed nor in the way.
    """

    def __init__(
        self, addresses: str | Sequence[str], user: str, password: str, pollfreq: int
    ) -> None:
        if isinstance(addresses, str):
            addresses = [addresses]
        self.workdir = Path(tempfile.mkdtemp(prefix="pyups-bench-upsmon-"))
        self.stamps = self.workdir / "stamps"
        notify = self.workdir / "notify"
        notify.write_text(
            f'#!/bin/bash\necho "$EPOCHREALTIME $NOTIFYTYPE $UPSNAME" >> {self.stamps}\n'
        )
        notify.chmod(0o755)
        conf = self.workdir / "upsmon.conf"
        conf.write_text(
            "".join(f"MONITOR {a} 1 {user} {password} primary\n" for a in addresses)
            + "MINSUPPLIES 0\n"
            'SHUTDOWNCMD "/bin/true"\n'
            f"POLLFREQ {pollfreq}\nPOLLFREQALERT {pollfreq}\n"
            f"NOTIFYCMD {notify}\n"
            "NOTIFYFLAG ONBATT EXEC\nNOTIFYFLAG ONLINE EXEC\n"
            f"POWERDOWNFLAG {self.workdir / 'killpower'}\n"
        )
        conf.chmod(0o600)
        env = dict(
            os.environ,
            NUT_CONFPATH=str(self.workdir),
            NUT_STATEPATH=str(self.workdir),
            NUT_ALTPIDPATH=str(self.workdir),
        )
        command = [UPSMON, "-F", "-p"]
        if os.geteuid() == 0 and shutil.which("unshare"):
            command = [
                "unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mkdir -p /run/nut && mount -t tmpfs tmpfs /run/nut && exec "$@"', "upsmon",
                *command,
            ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=open(self.workdir / "log", "wb"),  # noqa: SIM115 - the child keeps it
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """upsmon's own PID (``unshare`` and ``sh`` exec into it, so it keeps the child's)."""
        return self.process.pid

    def notifications(self) -> list[tuple[float, str, str]]:
        """(time, NOTIFYTYPE, UPS name) of every notification so far."""
        if not self.stamps.exists():
            return []
        out = []
        for line in self.stamps.read_text().splitlines():
            stamp, kind, address = line.split()
            out.append((float(stamp), kind, address.split("@", 1)[0]))
        return out

    def close(self) -> None:
        end_process(self.process, STOP_WAIT)
        shutil.rmtree(self.workdir, ignore_errors=True)
