"""A throwaway Linux system per test: a real systemd as PID 1 on a copy-on-write copy of /.

How one is made (``System.boot``):

- The harness opens a pty (its master is read into ``console``) and creates a cgroup of its
  own on the host's cgroup2 hierarchy, ``pyups-system-<harness PID>-<token>``, the subtree
  delegated to the system's systemd.
- ``unshare --fork --pid --mount --uts --cgroup --mount-proc`` starts ``LAUNCHER`` (a shell
  script) as PID 1 of new namespaces, from inside that cgroup, with the pty as its
  terminal. The network namespace is the host's: the system reaches the test's upsd on the
  host's loopback.
- The launcher mounts a tmpfs in the new mount namespace, makes an overlayfs with ``/`` as
  its lower layer and a directory on that tmpfs as its upper one (pyups' install layer is
  copied into the upper first), mounts fresh ``/tmp``, ``/run``, ``/var/tmp``, ``/proc``,
  a read-only ``/sys`` with a cgroup2 ``/sys/fs/cgroup`` (rooted at the delegated cgroup,
  through the cgroup namespace), a small ``/dev`` with the pty bound as ``/dev/console``,
  and the test's results directory at ``/pyups-test``; masks the units no test needs;
  ``pivot_root``s into the overlay; checks that ``/`` is that overlay (a token written into
  its upper layer) in a mount namespace that is not the harness's, and only then execs
  ``/lib/systemd/systemd`` with ``container=pyups-test``. Started on the real root, systemd's
  tmpfiles set-up would empty the real /tmp and start every enabled unit of this machine.
- Commands run inside with ``nsenter -t PID1 -m -p -u -C``; files are read and written
  through ``/proc/PID1/root``.
- The system ends by its own ``systemctl poweroff`` (PID 1 then dies of the SIGINT the
  kernel sends when reboot() is called in a PID namespace) or, when that does not happen in
  time or a test fails, by SIGKILL to its PID 1, which ends every process of the namespace;
  the namespaces and mounts go with their last process, and the harness removes its cgroup.

pyups itself is installed once per session (``install_layer``): ``make install`` runs for
real in a booted system, with pip reading only a wheelhouse built beforehand, and what it
added to the copy (the overlay's upper layer, less what the boot itself wrote) is kept as a
directory that every later system starts with in its upper layer.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = "/lib/systemd/systemd"
RESULTS_AT = "/pyups-test"  # where the test's results directory appears inside
UPPER_AT = "/run/pyups-system/upper"  # the overlay's upper layer, read-only, inside
# systemd's $container: without it, its shutdown would sync, swap off and detach the host's
# loop, MD and DM devices.
CONTAINER = "pyups-test"

# Units the tests never need: hardware and kernel set-up, clocks, terminals, timers, and
# the services this machine enables for itself (NUT, Prometheus, PostgreSQL, ...). Every
# unit enabled in the host's /etc/systemd/system is masked as well (``host_enabled_units``).
MASKED = (
    "systemd-udevd.service",
    "systemd-udevd-control.socket",
    "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service",
    "systemd-udev-settle.service",
    "systemd-sysctl.service",
    "systemd-modules-load.service",
    "kmod-static-nodes.service",
    "systemd-timesyncd.service",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
    "sys-kernel-config.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "sys-fs-fuse-connections.mount",
    "dev-hugepages.mount",
    "systemd-pstore.service",
    "systemd-random-seed.service",
    "systemd-firstboot.service",
    "systemd-repart.service",
    "systemd-journald-audit.socket",
    "systemd-ask-password-wall.path",
    "systemd-ask-password-console.path",
    "getty.target",
    "getty@.service",
    "serial-getty@.service",
    "console-getty.service",
    "container-getty@.service",
    "timers.target",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "man-db.timer",
    "fstrim.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "dpkg-db-backup.timer",
    "logrotate.timer",
    "systemd-tmpfiles-clean.timer",
    "rsyslog.service",
    "syslog.socket",
    "nut.target",
    "nut-server.service",
    "nut-monitor.service",
    "nut-client.service",
    "nut-driver.target",
    "nut-driver@.service",
    "nut-driver-enumerator.service",
    "nut-driver-enumerator.path",
    "prometheus.service",
    "prometheus-node-exporter.service",
    "prometheus-alertmanager.service",
    "postgresql.service",
)
# The host's late-shutdown hooks (NUT's nutshutdown would run `upsmon -K` on the host's NUT).
HOST_HOOKS = ("/lib/systemd/system-shutdown/nutshutdown",)
DBUS_UNITS = ("dbus.service", "dbus.socket", "systemd-logind.service")
# journald copies every entry to the console too: a test that fails shows what the system
# logged, and entries written just before a poweroff are seen after the journal is gone.
BOOT_FILES = {
    "/etc/systemd/journald.conf.d/pyups-test.conf": (
        "[Journal]\nForwardToConsole=yes\nMaxLevelConsole=info\n"
    ),
}

# PID 1 of the new namespaces until it execs systemd; its settings come in PYUPS_* variables
# (System.boot). It refuses, exit status 97, unless it is PID 1 in a mount namespace of its
# own, and checks again after pivot_root that / is the overlay it made.
LAUNCHER = r"""
set -eu
die() { echo "pyups-system launcher: $*" >&2; exit 97; }
[ "$$" = 1 ] || die "not PID 1 of a new PID namespace"
[ "$(readlink /proc/self/ns/mnt)" != "$PYUPS_HOST_MNTNS" ] || die "in the host's mount namespace"
mount --make-rprivate /
base=$PYUPS_BASE
mount -t tmpfs -o mode=700 pyups-system "$base"
mkdir "$base/upper" "$base/work" "$base/root"
for layer in $PYUPS_LAYERS; do cp -a "$layer/." "$base/upper/"; done
echo "$PYUPS_TOKEN" > "$base/upper/.pyups-system"
mount -t overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" overlay "$base/root"
R=$base/root
[ "$(cat "$R/.pyups-system")" = "$PYUPS_TOKEN" ] || die "the overlay does not show its upper layer"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/var/tmp"
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$R/run"
mkdir -p "$R/run/pyups-system/upper"
mount --bind "$base/upper" "$R/run/pyups-system/upper"
mount -o remount,bind,ro "$R/run/pyups-system/upper"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount --bind "$R/proc/sys" "$R/proc/sys"
mount -o remount,bind,ro "$R/proc/sys"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"
mount -t tmpfs -o mode=755,nosuid tmpfs "$R/dev"
for n in null zero full random urandom tty; do
  touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"
done
mkdir "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
touch "$R/dev/console"; mount --bind "$PYUPS_CONSOLE" "$R/dev/console"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
mkdir -p "$R$PYUPS_RESULTS_AT"
mount --bind "$PYUPS_RESULTS" "$R$PYUPS_RESULTS_AT"
for unit in $PYUPS_MASK; do ln -sfn /dev/null "$R/etc/systemd/system/$unit"; done
for hook in $PYUPS_HOOKS; do rm -f "$R$hook"; done
# A pyups the host itself has enabled is disabled in the copy: the tests enable it there.
rm -f "$R"/etc/systemd/system/*.wants/pyups.service
# Into the copy; the real root is detached, then / is checked before systemd may start.
cd "$R"
mkdir -p .pyups-oldroot
pivot_root . .pyups-oldroot
exec /bin/sh -c '
set -eu
die() { echo "pyups-system launcher: $*" >&2; exit 97; }
umount -l /.pyups-oldroot
rmdir /.pyups-oldroot
[ "$(stat -f -c %T /)" = overlayfs ] || die "/ is not the overlay"
[ "$(cat /run/pyups-system/upper/.pyups-system)" = "$PYUPS_TOKEN" ] || die "/ is not our overlay"
[ "$(cat /.pyups-system)" = "$PYUPS_TOKEN" ] || die "/ is not our overlay"
[ "$(readlink /proc/self/ns/mnt)" != "$PYUPS_HOST_MNTNS" ] || die "in the host mount namespace"
exec env -i container="$PYUPS_CONTAINER" LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /lib/systemd/systemd </dev/console >/dev/console 2>&1
'
"""


class BootError(AssertionError):
    """The system did not come up (or down) as expected; the message has its console."""


def host_enabled_units() -> list[str]:
    """Units this machine enables for itself (links in /etc/systemd/system/*.wants), but
    pyups' own, which the launcher disables instead: the tests enable it themselves."""
    units = set()
    for wants in Path("/etc/systemd/system").glob("*.wants"):
        units.update(p.name for p in wants.iterdir())
    return sorted(units - {"pyups.service"})


def cgroup2_root() -> Path:
    """The host's cgroup2 mount plus this process' cgroup in it."""
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    for line in mounts:
        fields = line.split(" - ")
        if fields[1].split()[0] == "cgroup2":
            mountpoint = Path(fields[0].split()[4])
            break
    else:
        raise BootError("no cgroup2 hierarchy is mounted: the nested systemd needs one")
    own = next(
        line[3:]
        for line in Path("/proc/self/cgroup").read_text().splitlines()
        if line.startswith("0::")
    )
    return mountpoint / own.lstrip("/")


def remove_cgroup(path: Path, timeout: float = 10.0) -> None:
    """Remove a cgroup and its children, deepest first, once their processes are gone."""
    deadline = time.monotonic() + timeout
    while path.exists():
        dirs = sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        try:
            for directory in [*dirs, path]:
                directory.rmdir()
        except OSError as exc:
            if exc.errno not in (errno.EBUSY, errno.ENOTEMPTY) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def remove_stale_cgroups() -> None:
    """Remove the cgroups of systems whose test session was killed before it could.

    Each is named after the PID of the process that made it; one whose maker is gone and
    that has no process left in it is stale.
    """
    for cgroup in cgroup2_root().glob("pyups-system-*"):
        maker = cgroup.name.split("-")[2]
        with contextlib.suppress(OSError):
            if Path(f"/proc/{maker}").exists():
                continue
            if "populated 0" in (cgroup / "cgroup.events").read_text():
                remove_cgroup(cgroup, timeout=0)


class Console:
    """Reads the pty's master end into memory (and a file) until the other side closes."""

    def __init__(self, master: int, log: Path) -> None:
        self.master = master
        self.log = log
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with open(self.log, "ab") as out:
            while True:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO once every slave descriptor is closed
                    break
                if not data:
                    break
                out.write(data)
                out.flush()
                with self._lock:
                    self._chunks.append(data)

    def text(self) -> str:
        with self._lock:
            data = b"".join(self._chunks)
        return re.sub(r"\r+\n", "\n", data.decode(errors="replace"))

    def close(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)
        with contextlib.suppress(OSError):
            os.close(self.master)


class System:
    """One booted systemd; ``boot`` it, drive it with ``run``, end it with ``poweroff``.

    ``layers`` are directories copied, in order, into the overlay's upper layer before
    boot; ``files`` (path inside: text) are written on top of them. ``unmask`` keeps units
    of ``MASKED`` (rsyslog, ...) and ``mask`` adds units to it.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        layers: Iterable[Path] = (),
        files: Mapping[str, str] | None = None,
        unmask: Iterable[str] = (),
        mask: Iterable[str] = (),
    ) -> None:
        self.workdir = workdir
        self.results = workdir / "results"
        self.results.mkdir(parents=True, exist_ok=True)
        unmasked = set(unmask)
        self.masked = sorted((set(MASKED) | set(host_enabled_units()) | set(mask)) - unmasked)
        own = workdir / "layer"
        for inside, text in {**BOOT_FILES, **(files or {})}.items():
            target = own / inside.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.layers = [*layers, own]
        self.console: Console | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.pid1 = 0
        self.cgroup: Path | None = None

    # -- life cycle -------------------------------------------------------------------------

    def boot(self, timeout: float = 60.0) -> None:
        """Start systemd and wait until ``is-system-running`` says ``running``."""
        if os.geteuid() != 0:
            pytest.fail("the system tests boot systemd in namespaces and need root")
        token = uuid.uuid4().hex
        base = self.workdir / "mnt"
        base.mkdir(exist_ok=True)
        master, slave = os.openpty()
        self.console = Console(master, self.workdir / "console.log")
        self.cgroup = cgroup2_root() / f"pyups-system-{os.getpid()}-{token[:12]}"
        self.cgroup.mkdir()
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "PYUPS_HOST_MNTNS": os.readlink("/proc/self/ns/mnt"),
            "PYUPS_BASE": str(base),
            "PYUPS_LAYERS": " ".join(str(layer) for layer in self.layers),
            "PYUPS_TOKEN": token,
            "PYUPS_CONSOLE": os.ttyname(slave),
            "PYUPS_RESULTS": str(self.results),
            "PYUPS_RESULTS_AT": RESULTS_AT,
            "PYUPS_MASK": " ".join(self.masked),
            "PYUPS_HOOKS": " ".join(HOST_HOOKS),
            "PYUPS_CONTAINER": CONTAINER,
        }
        # Into the delegated cgroup first: the new cgroup namespace is rooted where unshare
        # runs. Should pytest itself die, unshare gets SIGKILL (setpriv's parent-death
        # signal) and so does PID 1 (--kill-child): no system outlives its test session.
        argv = [
            "sh", "-c", 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', "sh", str(self.cgroup),
            "setpriv", "--pdeathsig", "KILL",
            "unshare", "--fork", "--kill-child=KILL", "--pid", "--mount", "--uts", "--cgroup",
            "--mount-proc", "sh", "-c", LAUNCHER,
        ]  # fmt: skip
        try:
            self.process = subprocess.Popen(
                argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,
            )
        finally:
            os.close(slave)
        self.pid1 = self._find_pid1()
        self._wait_systemd(timeout)
        self.wait_running(timeout)

    def _find_pid1(self, timeout: float = 10.0) -> int:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                found = children.read_text().split()
                if found:
                    return int(found[0])
            if self.process.poll() is not None:
                self.fail(f"the launcher exited with {self.process.returncode}")
            time.sleep(0.01)
        self.fail("unshare started no PID 1")

    def _wait_systemd(self, timeout: float) -> None:
        """Wait until the launcher has exec'd systemd and its private socket is there."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        socket = self.path("/run/systemd/private")
        systemd = os.path.realpath(SYSTEMD)
        while True:
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{self.pid1}/exe") == systemd and socket.exists():
                    return
            if self.process.poll() is not None:
                self.fail(f"the system ended during boot ({self.process.returncode})")
            if time.monotonic() > deadline:
                self.fail(f"systemd did not start within {timeout}s")
            time.sleep(0.02)

    def wait_running(self, timeout: float = 60.0) -> None:
        result = self.run("systemctl", "is-system-running", "--wait", timeout=timeout)
        state = result.stdout.strip()
        if state != "running":
            failed = self.run("systemctl", "--failed", "--no-legend", "--plain").stdout
            self.fail(f"the system is {state or 'unreachable'!r}; failed units:\n{failed}")

    def poweroff(self, timeout: float = 30.0) -> int:
        """``systemctl poweroff`` inside, then wait until PID 1 is gone; its exit status."""
        self.run("systemctl", "poweroff", "--no-block")
        return self.wait_down(timeout)

    def wait_down(self, timeout: float = 30.0) -> int:
        """Wait for the system to end by itself; BootError (with the console) if it does not."""
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"the system did not power off within {timeout}s")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """End the system now (SIGKILL to its PID 1 ends the whole PID namespace)."""
        process = self.process
        if process is not None and process.poll() is None:
            # While unshare has not reaped its child, that child's PID cannot be reused.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid1 or process.pid, signal.SIGKILL)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self.console is not None:
            self.console.close()
        if self.cgroup is not None:
            remove_cgroup(self.cgroup)
            self.cgroup = None

    def fail(self, message: str) -> NoReturn:
        console = self.console.text() if self.console else ""
        raise BootError(f"{message}\n---- console ----\n{console[-6000:]}")

    # -- inside -----------------------------------------------------------------------------

    def run(
        self,
        *argv: str,
        timeout: float = 60.0,
        env: dict[str, str] | None = None,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """A command inside the system (its mount, PID, UTS and cgroup namespaces)."""
        environment = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            **(env or {}),
        }
        try:
            result = subprocess.run(
                ["nsenter", "-t", str(self.pid1), "-m", "-p", "-u", "-C", "--", *argv],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=environment,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self.fail(f"{argv} did not finish within {timeout}s")
        if check and result.returncode != 0:
            self.fail(f"{argv} exited with {result.returncode}:\n{result.stdout}{result.stderr}")
        return result

    def path(self, inside: str) -> Path:
        """A path inside the system, as seen from the host (through PID 1's root)."""
        return Path(f"/proc/{self.pid1}/root") / inside.lstrip("/")

    def entries(self, *matches: str) -> list[dict[str, str]]:
        """The system's journal entries matching ``matches`` (``FIELD=VALUE``), as dicts."""
        result = self.run("journalctl", "-o", "json", "--no-pager", *matches)
        return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]

    def messages(self, unit: str = "pyups.service") -> list[str]:
        """The MESSAGE of every journal entry of ``unit`` (its own and systemd's about it)."""
        return [
            str(e.get("MESSAGE", ""))
            for e in self.entries(f"UNIT={unit}", "+", f"_SYSTEMD_UNIT={unit}")
        ]

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        """``systemctl show -p ...`` as a dict."""
        argv = ["systemctl", "show", unit, *(f"--property={p}" for p in properties)]
        out = self.run(*argv, check=True).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_until(self, what: str, predicate: Callable[[], object], timeout: float = 20.0) -> None:
        """Poll ``predicate`` until it is true; fail (with the console) after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if not self.running:
                self.fail(f"the system ended while waiting for {what}")
            if time.monotonic() > deadline:
                self.fail(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.1)


# ---- pyups installed once per session ---------------------------------------------------

# What `make install` adds to a system (the rest of the upper layer is the boot's own),
# the late-shutdown hook among it: systemd looks for hooks only under /usr/lib and /lib.
INSTALLED = (
    "opt/pyups",
    "usr/local",
    "usr/lib/systemd/system-shutdown/pyups",
    "etc/pyups",
    "var/lib/pyups",
    "var/lib/systemd/catalog",
)
# Left out of the source tree copied into the system: local environments and caches.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "build",
    "*.egg-info",
    "results",
)


def requirements() -> list[str]:
    """pyproject.toml's pinned dependencies, the notify extra and the build backend."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["notify"],
        *project["build-system"]["requires"],
    ]


def build_wheelhouse(target: Path, python: str = "/usr/bin/python3") -> Path:
    """Wheels of everything ``pip install .[notify]`` needs, for an install with no index.

    Built with the interpreter ``make install`` makes its venv from, so a compiled wheel
    (systemd-python) fits it; pip's own cache makes this quick after the first time.
    """
    result = subprocess.run(
        [python, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(target), *requirements()],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise BootError(f"pip wheel failed:\n{result.stdout}{result.stderr}")
    return target


def install_layer(workdir: Path) -> Path:
    """``make install`` for real in a booted system; what it added, as a directory.

    The source tree and the wheelhouse go in through the results directory (the system's
    /tmp is its own, and the checkout may be under the host's /tmp). pip reads nothing but
    the wheelhouse (PIP_NO_INDEX), so the install is the same with or without a network.
    """
    system = System(workdir)
    layer = workdir / "installed"
    build_wheelhouse(system.results / "wheelhouse")
    shutil.copytree(ROOT, system.results / "src", symlinks=True, ignore=NOT_SOURCE)
    try:
        system.boot()
        env = {
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": f"{RESULTS_AT}/wheelhouse",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
        argv = ["make", "-C", f"{RESULTS_AT}/src", "install", "SYSTEM_PYTHON=/usr/bin/python3"]
        made = system.run(*argv, env=env, timeout=600)
        if made.returncode != 0 or "systemctl enable --now pyups" not in made.stdout:
            system.fail(f"make install exited {made.returncode}:\n{made.stdout}{made.stderr}")
        upper = system.path(UPPER_AT)
        layer.mkdir()
        copied = subprocess.run(
            ["cp", "-a", "--parents", *INSTALLED, str(layer)],
            cwd=upper, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if copied.returncode != 0:
            system.fail(f"copying the install layer failed: {copied.stderr}")
        system.poweroff()
    finally:
        system.kill()
    return layer


# ---- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def installed_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pyups as ``make install`` puts it on a system, once per session (see install_layer)."""
    if os.geteuid() != 0:
        pytest.fail("tests/system boots systemd in namespaces and mounts overlays: run as root")
    remove_stale_cgroups()
    return install_layer(tmp_path_factory.mktemp("pyups-install"))


@pytest.fixture
def boot(
    installed_layer: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., System]]:
    """``boot(**options)``: a System with pyups installed, booted to ``running``.

    Options are System's (files, unmask, mask). After the test, a system still up is
    powered off by ``systemctl poweroff`` (an error if that does not end it) or, when the
    test failed (``pyups_failed`` set on the item by a report hook), killed at once; a
    failed test's report shows the consoles (``console_sections``).
    """
    systems: list[System] = []

    def start(**options: Any) -> System:
        system = System(tmp_path / f"system{len(systems)}", layers=[installed_layer], **options)
        systems.append(system)
        system.boot()
        return system

    request.node.pyups_systems = systems  # their consoles go on a failed test's report
    yield start
    failed = getattr(request.node, "pyups_failed", False)
    stuck = []
    for system in systems:
        try:
            if system.running and not failed:
                system.poweroff()
        except BootError as exc:
            stuck.append(str(exc))
        finally:
            system.kill()
    if stuck:
        pytest.fail("after the test, a system did not power off:\n" + "\n".join(stuck))


def console_sections(item: pytest.Item) -> list[tuple[str, str]]:
    """(title, text) of the consoles of the systems ``boot`` started for ``item``."""
    return [
        (f"console of {s.workdir.name}", s.console.text()[-15000:])
        for s in getattr(item, "pyups_systems", [])
        if s.console is not None
    ]
