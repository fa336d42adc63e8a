"""What only the benchmarks share: the machine's description, the table and JSON every script
ends with, and NUT's upsmon as the reference. The rest (journald, the pyups process, its CPU and
memory, configurations) is the test harness's, in tests/harness.

Every process here is started by this module and ended by its PID. Benchmarks run from the
repository root as modules: ``python -m bench.NAME``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.harness.procs import end_process

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
UPSMON = "/lib/nut/upsmon"
STOP_WAIT = 15.0  # seconds an upsmon gets to stop before SIGKILL


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


# -- NUT's own monitor, the reference -------------------------------------------------------


class Upsmon:
    """NUT's own ``upsmon`` watching some UPSes, running NOTIFYCMD on ONBATT and ONLINE (or
    the notification ``kinds`` given).

    The notify script is bash writing ``$EPOCHREALTIME`` (no extra process), so what it
    stamps is as close to upsmon's own detection as a NOTIFYCMD can be. upsmon insists on
    /run/nut/upsmon.pid; as root it gets a private /run/nut (a mount namespace), so a host's
    own upsmon is neither disturbed nor in the way.
    """

    def __init__(
        self,
        addresses: str | Sequence[str],
        user: str,
        password: str,
        pollfreq: int,
        kinds: Sequence[str] = ("ONBATT", "ONLINE"),
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
            + "".join(f"NOTIFYFLAG {kind} EXEC\n" for kind in kinds)
            + f"POWERDOWNFLAG {self.workdir / 'killpower'}\n"
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
