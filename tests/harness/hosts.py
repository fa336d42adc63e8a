"""Several test hosts on one machine: network namespaces joined by a bridge (DESIGN §7).

Each host is a network namespace of its own (``pyups-<pid>-<random>-<n>``, ``<pid>`` the test
process that made it) with one interface, ``eth0``, addressed from 192.0.2.0/24 (TEST-NET-1,
documentation only). Its peer end is a port of the bridge ``br0``, which lives in a namespace
of its own (``pyups-<pid>-<random>-br``):
nothing is added to the machine's own namespace, no address outside these namespaces is
ever used, and deleting the namespaces removes every interface with them.

* :meth:`Network.spawn` starts a process inside a host (``ip netns exec``), with a private
  tmpfs on ``/run/nut`` when asked (``unshare --mount``: upsmon 2.8.0 insists on
  ``/run/nut/upsmon.pid``). ``ip netns exec``, ``unshare`` and ``sh`` all exec, so the PID
  kept is the program's own and every process is ended by it.
* :meth:`Network.inside` runs a function on a thread that has entered a host's network
  namespace (``setns``): sockets it opens and processes it starts belong to that host. The
  simulated upsd (:class:`pyups.sim.NutServer`, unchanged) is started that way, and the
  harness talks to it (SET VAR, LIST CLIENT) the same way.
* :meth:`Network.cut` / :meth:`Network.mend` take a host's cable out and put it back: the
  bridge port goes down, so the host's packets vanish (timeouts, as with a real cable or a
  switch failing), not a local error the host could notice at once.
* :func:`recorder` writes a shutdown command that only records when it ran (wall clock, ns)
  and on which host.

Everything is undone by :meth:`Network.close`: processes by PID, then the namespaces. Tests
use :func:`network`, a context manager that closes even when the test fails. A test process
that is killed (SIGKILL, an OOM kill) cannot close: :func:`sweep_stale`, run before every new
network, ends the processes left in the namespaces of test processes that are gone (by the
PIDs the kernel lists in each namespace) and deletes those namespaces.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .procs import alive, end_process
from .pyups import Pyups

# The upsd users of a multi-host set-up: one per upsmon role (upsd.users sections).
USERS = """
[primary]
  password = primary-secret
  upsmon primary
[secondary]
  password = secondary-secret
  upsmon secondary
"""

T = TypeVar("T")

SUBNET = "192.0.2"  # TEST-NET-1 (RFC 5737): never routed anywhere
FIRST_ADDRESS = 10  # host n gets 192.0.2.(10 + n)
CLONE_NEWNET = 0x40000000
SRC = Path(__file__).resolve().parents[2] / "src"  # this checkout's pyups
UPSMON = "/lib/nut/upsmon"
IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "/sbin/ip"
PRIVATE_RUN_NUT = (
    'mkdir -p /run/nut && mount -t tmpfs -o mode=0770 pyups-test /run/nut && exec "$@"'
)

_libc = ctypes.CDLL(None, use_errno=True)
_OURS = re.compile(r"^pyups-(\d+)-[0-9a-f]{6}-(?:br|\d+)$")  # pyups-<pid>-<random>-<n>|br


def sweep_stale() -> list[str]:
    """Delete the namespaces test processes that are gone left behind, ending the processes
    still inside them first (by PID); returns their names. A namespace of a test process that
    still runs (another xdist worker's) is left alone."""
    swept = []
    for name in sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []:
        match = _OURS.match(name)
        if match is None or alive(int(match.group(1))):
            continue
        listed = subprocess.run([IP, "netns", "pids", name], capture_output=True, text=True)
        for pid in (int(word) for word in listed.stdout.split() if word.isdigit()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        subprocess.run([IP, "netns", "del", name], capture_output=True, check=False)
        swept.append(name)
    return swept


def ip(*args: str) -> None:
    """``ip ARGS``; an AssertionError with ip's own message when it fails."""
    done = subprocess.run([IP, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr.strip()}"


@dataclass(frozen=True)
class Host:
    """One test host: its name in the tests, its namespace, its address, its bridge port."""

    name: str
    netns: str
    address: str
    port: str  # the bridge's end of its cable


class Network:
    """Hosts on one bridge; every namespace and process made here is undone by :meth:`close`."""

    def __init__(self, names: Sequence[str]) -> None:
        self.tag = f"pyups-{os.getpid()}-{secrets.token_hex(3)}"
        self.bridge_ns = f"{self.tag}-br"
        self.hosts = {
            name: Host(name, f"{self.tag}-{n}", f"{SUBNET}.{FIRST_ADDRESS + n}", f"p{n}")
            for n, name in enumerate(names)
        }
        self._made: list[str] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        self._pyups: list[Pyups] = []

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def start(self) -> None:
        sweep_stale()
        ip("netns", "add", self.bridge_ns)
        self._made.append(self.bridge_ns)
        br = ("-n", self.bridge_ns)
        ip(*br, "link", "add", "br0", "type", "bridge")
        ip(*br, "link", "set", "br0", "up")
        for host in self.hosts.values():
            ip("netns", "add", host.netns)
            self._made.append(host.netns)
            ns = ("-n", host.netns)
            ip(*br, "link", "add", host.port, "type", "veth", "peer", "name", "eth0",
               "netns", host.netns)  # fmt: skip
            ip(*br, "link", "set", host.port, "master", "br0", "up")
            ip(*ns, "addr", "add", f"{host.address}/24", "dev", "eth0")
            ip(*ns, "link", "set", "eth0", "up")
            ip(*ns, "link", "set", "lo", "up")

    def close(self) -> None:
        """End every process started here (by PID), then delete every namespace."""
        self.end_processes()
        for netns in reversed(self._made):
            subprocess.run([IP, "netns", "del", netns], capture_output=True, check=False)
        self._made.clear()

    def end_processes(self) -> None:
        """End every pyups, upsmon and other process started here so far, by PID."""
        for proc in reversed(self._pyups):
            with contextlib.suppress(Exception):
                proc.stop(timeout=5.0)
        for process in reversed(self._processes):
            with contextlib.suppress(Exception):
                end_process(process, 5.0)
        self._pyups.clear()
        self._processes.clear()

    # -- processes and sockets inside a host ------------------------------------------------

    def spawn(
        self,
        host: str,
        argv: Sequence[str],
        *,
        log: Path,
        env: dict[str, str] | None = None,
        private_run_nut: bool = False,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside ``host``; ended by PID at :meth:`close` (or earlier by
        :func:`end_process`). Its output goes to ``log``."""
        command = [IP, "netns", "exec", self.hosts[host].netns]
        if private_run_nut:
            command += ["unshare", "--mount", "--propagation", "private",
                        "sh", "-c", PRIVATE_RUN_NUT, "sh"]  # fmt: skip
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [*command, *argv],
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._processes.append(process)
        return process

    def inside(self, host: str, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` on a thread inside ``host``'s network namespace; its result."""
        result: list[T] = []
        error: list[BaseException] = []

        def run() -> None:
            try:
                fd = os.open(f"/run/netns/{self.hosts[host].netns}", os.O_RDONLY)
                try:
                    if _libc.setns(fd, CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns")
                finally:
                    os.close(fd)
                result.append(call(*args))
            except BaseException as exc:  # handed to the caller's thread
                error.append(exc)

        thread = threading.Thread(target=run, name=f"inside {host}")
        thread.start()
        thread.join()
        if error:
            raise error[0]
        return result[0]

    def pyups(self, host: str, config: str, workdir: Path) -> Pyups:
        """``python -m pyups run -c FILE`` inside ``host``, this checkout's pyups first on
        PYTHONPATH; the config is written to ``workdir`` (refused by the harness's guard if it
        could run a real shutdown)."""
        path = workdir / f"pyups-{host}.conf"
        path.write_text(config)
        path.chmod(0o600)
        paths = [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {"PYTHONPATH": os.pathsep.join(paths), "PYUPS_CONFIG": "/dev/null"}
        proc = Pyups(
            ["run", "-c", str(path)],
            workdir,
            env,
            cwd=workdir,
            prefix=[IP, "netns", "exec", self.hosts[host].netns],
        )
        self._pyups.append(proc)
        return proc

    def upsmon(self, host: str, config: UpsmonConfig, workdir: Path) -> Upsmon:
        """NUT's real upsmon (2.8.0) inside ``host``, with a private ``/run/nut``."""
        directory = workdir / f"upsmon-{host}"
        directory.mkdir()
        text = config.text(directory)
        (directory / "upsmon.conf").write_text(text)
        (directory / "upsmon.conf").chmod(0o600)
        env = dict(
            os.environ,
            NUT_CONFPATH=str(directory),
            NUT_STATEPATH=str(directory),
            NUT_ALTPIDPATH=str(directory),
        )
        process = self.spawn(
            host, [UPSMON, "-F", "-p"], log=directory / "log", env=env, private_run_nut=True
        )
        return Upsmon(host, process, directory / "stamps")

    # -- the cable --------------------------------------------------------------------------

    def cut(self, host: str) -> None:
        """Take ``host``'s cable out: its bridge port goes down, its packets vanish."""
        ip("-n", self.bridge_ns, "link", "set", self.hosts[host].port, "down")

    def mend(self, host: str) -> None:
        """Put ``host``'s cable back."""
        ip("-n", self.bridge_ns, "link", "set", self.hosts[host].port, "up")


@contextlib.contextmanager
def network(names: Sequence[str]) -> Iterator[Network]:
    """A :class:`Network` of these hosts, closed (processes ended, namespaces deleted) after."""
    net = Network(names)
    try:
        net.start()
        yield net
    finally:
        net.close()


# -- shutdown commands that only record -----------------------------------------------------


def recorder(directory: Path, host: str, log: Path, sleep: float = 0.0) -> Path:
    """A shutdown command for ``host``: appends ``<unix time, ns> <host> <args>`` to ``log``,
    then sleeps ``sleep`` seconds (an upsmon secondary stays logged in while it runs)."""
    script = directory / f"shutdown-{host}"
    pause = f"sleep {sleep}\n" if sleep > 0 else ""
    script.write_text(f'#!/bin/sh\necho "$(date +%s.%N) {host} $*" >> "{log}"\n{pause}')
    script.chmod(0o755)
    return script


@dataclass(frozen=True)
class Shutdown:
    """One recorded run of a shutdown command."""

    t: float
    host: str


def shutdowns(log: Path) -> list[Shutdown]:
    """Every recorded shutdown, in the order they ran."""
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        stamp, host, *_ = line.split()
        out.append(Shutdown(float(stamp), host))
    return sorted(out, key=lambda s: s.t)


def wait_shutdowns(log: Path, hosts: set[str], timeout: float) -> dict[str, float]:
    """Wait until every host in ``hosts`` has recorded a shutdown; when each did first.

    AssertionError after ``timeout`` seconds, naming who did not."""
    deadline = time.monotonic() + timeout
    while True:
        seen: dict[str, float] = {}
        for s in shutdowns(log):
            seen.setdefault(s.host, s.t)
        if hosts <= set(seen) or time.monotonic() > deadline:
            missing = hosts - set(seen)
            assert not missing, f"no shutdown recorded by {sorted(missing)} in {timeout}s: {seen}"
            return seen
        time.sleep(0.05)


# -- pyups and upsmon configurations --------------------------------------------------------


def toml(value: object) -> str:
    """A TOML value for a str, number, bool or list of str."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def pyups_config(
    command: Path,
    upses: Sequence[dict[str, object]],
    monitor: dict[str, object] | None = None,
    **shutdown: object,
) -> str:
    """A pyups configuration: ``[monitor]`` (short test timings unless given), ``[shutdown]``
    with the recording ``command`` and ``shutdown`` keys, one ``[[ups]]`` per dict."""
    settings: dict[str, object] = {
        "interval": "0.5s",
        "interval_alert": "0.5s",
        "timeout": "1s",
        "dead_time": "10s",
        "state_file": "",
        **(monitor or {}),
    }
    sections = {"final_delay": "0s", "powerdown_flag": "", **shutdown, "command": [str(command)]}
    text = "[monitor]\n" + "".join(f"{k} = {toml(v)}\n" for k, v in settings.items())
    text += "[shutdown]\n" + "".join(f"{k} = {toml(v)}\n" for k, v in sections.items())
    for ups in upses:
        text += "[[ups]]\n" + "".join(f"{k} = {toml(v)}\n" for k, v in ups.items())
    return text


NOTIFY_TYPES = (
    "ONLINE", "ONBATT", "LOWBATT", "FSD", "COMMOK", "COMMBAD", "SHUTDOWN", "REPLBATT",
    "NOCOMM", "NOPARENT",
)  # fmt: skip


@dataclass(frozen=True)
class UpsmonConfig:
    """One upsmon.conf: a MONITOR line per UPS, short timings, a recording SHUTDOWNCMD."""

    monitors: Sequence[str]  # "eaton800@192.0.2.10:3493 1 user password secondary"
    command: Path
    hostsync: int = 5
    deadtime: int = 10
    finaldelay: int = 0
    pollfreq: int = 1
    pollfreq_alert: int = 1
    minsupplies: int = 1

    def text(self, directory: Path) -> str:
        assert self.command.name.startswith("shutdown-"), "SHUTDOWNCMD must be a recorder"
        notify = directory / "notify"
        notify.write_text(
            f'#!/bin/bash\necho "$EPOCHREALTIME $NOTIFYTYPE $UPSNAME" >> {directory / "stamps"}\n'
        )
        notify.chmod(0o755)
        return (
            "".join(f"MONITOR {m}\n" for m in self.monitors)
            + f"MINSUPPLIES {self.minsupplies}\n"
            + f'SHUTDOWNCMD "{self.command}"\n'
            + f"POLLFREQ {self.pollfreq}\nPOLLFREQALERT {self.pollfreq_alert}\n"
            + f"HOSTSYNC {self.hostsync}\nDEADTIME {self.deadtime}\n"
            + f"FINALDELAY {self.finaldelay}\n"
            + f"NOTIFYCMD {notify}\n"
            + "".join(f"NOTIFYFLAG {kind} SYSLOG+EXEC\n" for kind in NOTIFY_TYPES)
            + f"POWERDOWNFLAG {directory / 'killpower'}\n"
        )


@dataclass
class Upsmon:
    """A running upsmon: its host, its process (ended by PID), its notifications."""

    host: str
    process: subprocess.Popen[bytes]
    stamps: Path

    def notifications(self) -> list[tuple[float, str]]:
        """(time, NOTIFYTYPE) of every notification so far."""
        if not self.stamps.exists():
            return []
        out = []
        for line in self.stamps.read_text().splitlines():
            stamp, kind, *_ = line.split()
            out.append((float(stamp), kind))
        return out

    def log(self) -> str:
        return (self.stamps.parent / "log").read_text(errors="replace")
