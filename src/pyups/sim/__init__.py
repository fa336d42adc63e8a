"""A private NUT server: real upsd and dummy-ups drivers in a temporary directory on loopback.

``pyups demo`` plays a power cut on it; the test suite and the benchmarks (their harness is
tests/harness/, not installed) run against it too. Debian's
``/usr/sbin/upsd`` is a wrapper that reads ``/etc/nut``, so the binaries in ``/lib/nut`` are
started directly with ``NUT_CONFPATH``/``NUT_STATEPATH``/``NUT_ALTPIDPATH`` pointing at the
temporary directory. Every process is started by this class and ended by its PID.

:meth:`NutServer.upsd_conf` is upsd.conf's text; a subclass adds lines to it (the test
harness's TLS server adds its certificate database there).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

from pyups.address import Server
from pyups.nut import Connection, NutError

_NUT_DIRS = ("/lib/nut", "/usr/lib/nut", "/usr/libexec/nut")
INSTALL_HINT = "install NUT's server with: sudo apt-get install nut-server nut-client"


class SimulatorError(RuntimeError):
    """The simulated server could not be started; the message says why and what to do."""


def find_nut_program(name: str) -> str:
    """Path of a NUT program such as ``upsd`` or ``dummy-ups``; SimulatorError if absent."""
    for directory in _NUT_DIRS:
        path = os.path.join(directory, name)
        if os.access(path, os.X_OK):
            return path
    raise SimulatorError(f"{name} not found in {', '.join(_NUT_DIRS)}; {INSTALL_HINT}")


def eaton800() -> str:
    """The simulated Eaton 800 as a dummy-ups ``.dev`` file."""
    return resources.files("pyups.sim").joinpath("eaton800.dev").read_text()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class NutServer:
    """upsd plus one dummy-ups driver per simulated UPS; use as a context manager."""

    def __init__(
        self,
        devices: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        maxage: int = 15,
        extra_users: str = "",
        pollinterval: int | None = None,
    ) -> None:
        self._programs = {name: find_nut_program(name) for name in ("upsd", "dummy-ups")}
        self.devices = dict(devices) if devices is not None else {"eaton800": eaton800()}
        self.server = Server(host, port or free_port(host))
        self.maxage = maxage
        self.extra_users = extra_users
        # dummy-ups sleeps a whole second in each update (2.8.0), and a SET VAR sent during that
        # second waits for it; a longer pollinterval (default 2 s) makes such waits rarer.
        self.pollinterval = pollinterval
        self.admin_user = "pyups-admin"
        self.admin_password = secrets.token_hex(12)
        self.workdir = Path(tempfile.mkdtemp(prefix="pyups-nut-"))
        self._user = pwd.getpwuid(os.getuid()).pw_name
        self._drivers: dict[str, subprocess.Popen[bytes]] = {}
        self._upsd: subprocess.Popen[bytes] | None = None
        self._admin: Connection | None = None

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> NutServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Write the configuration, start every driver and upsd, wait until all answer."""
        try:
            self._write_config()
            for name in self.devices:
                self.start_driver(name)
            self.start_upsd()
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """End every process this server started and remove its directory."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self._upsd is not None:
            end_process(self._upsd)
            self._upsd = None
        for name in list(self._drivers):
            self.stop_driver(name)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def address(self, ups: str = "eaton800") -> str:
        """``UPS@HOST:PORT`` as pyups and upsc take it."""
        return f"{ups}@{self.server}"

    # -- processes --------------------------------------------------------------------------

    def start_driver(self, name: str) -> None:
        self._drivers[name] = self._spawn(f"driver-{name}", "dummy-ups", "-a", name)

    def stop_driver(self, name: str) -> None:
        """Kill a driver: upsd then answers DRIVER-NOT-CONNECTED."""
        process = self._drivers.pop(name, None)
        if process is not None:
            end_process(process)

    def driver_pid(self, name: str) -> int:
        return self._drivers[name].pid

    @property
    def upsd_pid(self) -> int:
        """PID of the upsd this server started; SimulatorError if none is running."""
        if self._upsd is None:
            raise SimulatorError("this NutServer has no upsd running")
        return self._upsd.pid

    def start_upsd(self) -> None:
        self._upsd = self._spawn("upsd", "upsd")
        self._wait_listening()

    def stop_upsd(self) -> None:
        if self._admin is not None:
            self._admin.close()
        if self._upsd is not None:
            end_process(self._upsd)
            self._upsd = None

    def _spawn(self, log: str, program: str, *args: str) -> subprocess.Popen[bytes]:
        env = dict(
            os.environ,
            NUT_CONFPATH=str(self.workdir),
            NUT_STATEPATH=str(self.workdir),
            NUT_ALTPIDPATH=str(self.workdir),
        )
        with open(self.workdir / f"{log}.log", "ab") as out:
            return subprocess.Popen(
                [self._programs[program], *args, "-u", self._user, "-F"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    # -- state ------------------------------------------------------------------------------

    def set_var(self, ups: str, var: str, value: str) -> None:
        """Change a variable live through upsd (dummy-ups accepts SET VAR for any of them)."""
        if self._admin is None:
            self._admin = Connection(self.server, 5.0, self.admin_user, self.admin_password)
        self._admin.set_var(ups, var, value)

    def set_status(self, status: str, ups: str = "eaton800", **variables: str) -> None:
        """Set ``ups.status`` and optional variables (``battery_charge="40"`` → battery.charge)."""
        for key, value in variables.items():
            self.set_var(ups, key.replace("_", "."), value)
        self.set_var(ups, "ups.status", status)

    def wait_for(
        self, ups: str, var: str, value: str, timeout: float = 10.0, *, also: Sequence[str] = ()
    ) -> None:
        """Block until upsd reports ``var`` as ``value``, or as one of ``also`` (drivers apply
        SET VAR asynchronously)."""
        deadline = time.monotonic() + timeout
        wanted = {value, *also}
        with contextlib.closing(Connection(self.server, 2.0)) as conn:
            while True:
                with contextlib.suppress(NutError):
                    if conn.list_vars(ups).get(var) in wanted:
                        return
                if time.monotonic() > deadline:
                    raise SimulatorError(f"{ups}: {var} did not become {value!r} in {timeout}s")
                time.sleep(0.05)

    def wait_for_status(self, ups: str, status: str, timeout: float = 10.0) -> None:
        """Block until upsd serves ``status``, with or without its own FSD flag in front: a
        primary that sees a critical status may raise FSD before the next look, and upsd then
        serves ``FSD OB LB`` for the ``OB LB`` the driver holds."""
        self.wait_for(ups, "ups.status", status, timeout, also=[f"FSD {status}"])

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Block until every UPS answers with a real status (not WAIT)."""
        deadline = time.monotonic() + timeout
        pending = set(self.devices)
        last = ""
        with contextlib.closing(Connection(self.server, 2.0)) as conn:
            while pending:
                for name in sorted(pending):
                    try:
                        status = conn.list_vars(name).get("ups.status", "")
                    except NutError as exc:
                        last = f"{name}: {exc}"
                        continue
                    if status and status != "WAIT":
                        pending.discard(name)
                if not pending:
                    return
                self._check_alive()
                if time.monotonic() > deadline:
                    raise SimulatorError(
                        f"simulated UPS not ready after {timeout}s ({last}); logs in {self.workdir}"
                    )
                time.sleep(0.05)

    def _wait_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.server.host, self.server.port), 0.5),
            ):
                return
            self._check_alive()
            if time.monotonic() > deadline:
                raise SimulatorError(
                    f"upsd did not listen on {self.server} in {timeout}s; "
                    f"see {self.workdir / 'upsd.log'}"
                )
            time.sleep(0.02)

    def _check_alive(self) -> None:
        if self._upsd is not None and self._upsd.poll() is not None:
            log = (self.workdir / "upsd.log").read_text(errors="replace").strip().splitlines()
            raise SimulatorError(f"upsd exited: {log[-1] if log else 'no output'}")

    def upsd_conf(self) -> str:
        """upsd.conf: where it listens and how old a driver's data may get."""
        return f"LISTEN {self.server.host} {self.server.port}\nMAXAGE {self.maxage}\n"

    def _write_config(self) -> None:
        files = {
            "nut.conf": "MODE=netserver\n",
            "upsd.conf": self.upsd_conf(),
            "upsd.users": (
                f"[{self.admin_user}]\n  password = {self.admin_password}\n"
                "  actions = SET\n  instcmds = ALL\n" + self.extra_users
            ),
            "ups.conf": "".join(
                f"[{name}]\n  driver = dummy-ups\n  port = {name}.dev\n"
                f'  desc = "Simulated {name}"\n'
                + (f"  pollinterval = {self.pollinterval}\n" if self.pollinterval else "")
                for name in self.devices
            ),
        }
        for name, text in self.devices.items():
            files[f"{name}.dev"] = text
        for name, text in files.items():
            path = self.workdir / name
            path.write_text(text)
            path.chmod(0o600)
        self.workdir.chmod(0o700)


def end_process(
    process: subprocess.Popen[Any], timeout: float = 5.0, sig: int = signal.SIGTERM
) -> None:
    """Stop one process we started with ``sig`` (resuming it first if it was frozen); SIGKILL
    if it is still there after ``timeout`` seconds."""
    if process.poll() is not None:
        return
    for each in (signal.SIGCONT, sig):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, each)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
