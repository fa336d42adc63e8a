"""The Debian package (``make deb``) installed, upgraded, removed and purged with apt under
a real systemd.

The package is built once per session (``deb``: ``make deb``, so lintian has passed on it);
its upgrade is the same package repacked with a higher version (``deb_upgrade``). Each
system here boots without the ``make install`` layer the other tests start with: a bare
copy of this host, where ``apt-get install ./pyups_*.deb`` finds the package's dependencies
(python3, libsystemd0) already installed and downloads nothing.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pyups import manpages
from pyups.cli import build_parser
from pyups.sim import NutServer
from tests.harness.system import RESULTS_AT, ROOT, UPPER_AT, BootError, System

from .test_unit import events, wait_event

CONFIG = "/etc/pyups/pyups.conf"
STATE = "/var/lib/pyups/state.json"
UPGRADE_VERSION = "0.1.0+test1"
# The catalog's first entry (packaging/systemd/pyups.catalog): STARTUP's MESSAGE_ID.
STARTUP_ID = "a1f37c2e9b4d4e0f8c6a2b5d7e9f1c30"
# What apt and dpkg write for themselves while installing and purging anything; the rest of
# what a purge leaves that was not there before is pyups'.
BOOKKEEPING = (
    "var/lib/dpkg/",
    "var/lib/apt/",
    "var/cache/apt/",
    "var/cache/debconf/",
    "var/cache/man/",
    "var/log/",
    "var/lib/systemd/catalog/",
    "var/lib/systemd/deb-systemd-helper-enabled/",
    "var/lib/systemd/deb-systemd-helper-masked/",
    "var/lib/man-db/",
)
# apt's hooks wake PackageKit (and polkit with it) over D-Bus: not what these tests look at.
NOT_NEEDED = ("packagekit.service", "polkit.service")
# Where a trace of pyups could be left: looked for by name before and after.
SEARCHED = ("/etc", "/var", "/run", "/usr/bin", "/usr/lib", "/lib/systemd", "/usr/share")


@pytest.fixture(scope="session")
def deb() -> Path:
    """``make deb``'s package: the one ``make test`` built just before the tests, or built
    here (a minute or two) when there is none, e.g. for ``pytest tests/system`` alone."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    (ROOT / "build").mkdir(exist_ok=True)
    # Each xdist worker has its own session: the first to get here builds, the other waits
    # for it and then finds the package, instead of both building in the same build/deb.
    with (ROOT / "build" / "deb.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = sorted((ROOT / "dist").glob(f"pyups_{version}_*.deb"))
        if built:
            return built[0]
        made = subprocess.run(
            ["make", "-C", str(ROOT), "deb"],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        if made.returncode != 0:
            pytest.fail(f"make deb failed:\n{made.stdout[-4000:]}{made.stderr[-4000:]}")
        [package] = (ROOT / "dist").glob(f"pyups_{version}_*.deb")
        return package


@pytest.fixture(scope="session")
def deb_upgrade(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same package with a higher version: unpacked, Version: raised, packed again."""
    work = tmp_path_factory.mktemp("pyups-deb-upgrade")
    tree = work / "tree"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True)
    control = tree / "DEBIAN/control"
    fields = control.read_text().replace("Version: 0.1.0\n", f"Version: {UPGRADE_VERSION}\n")
    assert f"Version: {UPGRADE_VERSION}\n" in fields
    control.write_text(fields)
    target = work / f"pyups_{UPGRADE_VERSION}_{deb.name.rsplit('_', 1)[1]}"
    subprocess.run(
        ["dpkg-deb", "-Zgzip", "-z1", "--root-owner-group", "-b", str(tree), str(target)],
        check=True, capture_output=True,
    )  # fmt: skip
    return target


@pytest.fixture
def bare_boot(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., System]]:
    """``bare_boot(debs, **options)``: a booted copy of this host without pyups, with the
    ``debs`` in its /pyups-test. Ended like ``boot``'s systems."""
    systems: list[System] = []

    def start(debs: list[Path], **options: Any) -> System:
        options["mask"] = (*options.get("mask", ()), *NOT_NEEDED)
        system = System(tmp_path / f"system{len(systems)}", **options)
        for package in debs:
            shutil.copy(package, system.results / package.name)
        systems.append(system)
        system.boot()
        # This host is a container image whose policy-rc.d forbids starting services from
        # maintainer scripts; an ordinary Debian system has none.
        system.run("rm", "-f", "/usr/sbin/policy-rc.d", check=True)
        return system

    request.node.pyups_systems = systems
    yield start
    failed = getattr(request.node, "pyups_failed", False)
    for system in systems:
        try:
            if system.running and not failed:
                system.poweroff()
        except BootError:
            pass
        finally:
            system.kill()


def apt(system: System, *argv: str) -> subprocess.CompletedProcess[str]:
    """apt-get inside, as an administrator runs it unattended; fails the test on an error."""
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    result = system.run("apt-get", "-y", "-q", *argv, env=env, timeout=180)
    if result.returncode != 0:
        system.fail(f"apt-get {argv} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def write_config(system: System, text: str) -> None:
    path = system.path(CONFIG)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)


def good_config(nut: NutServer) -> str:
    return (
        '[monitor]\ninterval = "0.5s"\ninterval_alert = "0.5s"\ntimeout = "1s"\n'
        f'\n[[ups]]\nname = "eaton800"\nserver = "{nut.server}"\n'
    )


def upper_files(system: System) -> set[str]:
    """Every file and link the system wrote to its overlay so far (not deletions)."""
    found = subprocess.run(
        ["find", ".", "!", "-type", "d", "!", "-type", "c", "-printf", "%P\\n"],
        cwd=system.path(UPPER_AT), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return set(found.stdout.splitlines())


def named_pyups(system: System) -> set[str]:
    """Paths with "pyups" in their name under SEARCHED, but the test harness' own."""
    found = system.run("find", *SEARCHED, "-xdev", "-name", "*pyups*", timeout=120).stdout
    return {p for p in found.splitlines() if not p.startswith(("/run/pyups-system",))}


def catalog_knows_pyups(system: System) -> bool:
    return system.run("journalctl", "--dump-catalog", STARTUP_ID).returncode == 0


def test_install_upgrade_remove_purge(
    bare_boot: Callable[..., System], deb: Path, deb_upgrade: Path, nut: NutServer
) -> None:
    system = bare_boot([deb, deb_upgrade])
    before_files, before_named = upper_files(system), named_pyups(system)
    catalog_before = catalog_knows_pyups(system)

    # A configuration put there first (as configuration management would), kept by
    # --force-confold: valid, so the package enables and starts pyups against the upsd.
    write_config(system, good_config(nut))
    installed = apt(system, "-o", "Dpkg::Options::=--force-confold", "install",
                    f"{RESULTS_AT}/{deb.name}")  # fmt: skip
    assert "not started" not in installed.stdout
    shown = system.show("pyups", "ActiveState", "UnitFileState", "FragmentPath")
    assert shown == {
        "ActiveState": "active", "UnitFileState": "enabled",
        "FragmentPath": "/lib/systemd/system/pyups.service",
    }  # fmt: skip
    assert "STARTUP" in events(system)
    assert system.run("readlink", "-f", "/usr/bin/pyups").stdout == "/usr/lib/pyups/bin/pyups\n"
    assert oct(system.path(CONFIG).stat().st_mode & 0o777) == "0o600"
    assert system.path("/lib/systemd/system-shutdown/pyups").stat().st_mode & 0o111
    assert catalog_knows_pyups(system)

    # The man pages render and hold every command and every key.
    page = system.run("man", "-P", "cat", "pyups", env={"MANWIDTH": "100"}, check=True).stdout
    for command in ("run", "check-config", "status", "killpower"):
        assert f"\n   {command}\n" in page, page[:2000]
    conf = system.run("man", "-P", "cat", "pyups.conf", env={"MANWIDTH": "100"}, check=True)
    assert "interval_alert (duration, default" in conf.stdout

    # Upgrade: the edited configuration and the state file stay; pyups is restarted.
    edited = system.path(CONFIG).read_text() + "# edited by the administrator\n"
    system.path(CONFIG).write_text(edited)
    nut.set_status("OB DISCHRG")
    wait_event(system, "ONBATT")
    system.run("systemctl", "restart", "pyups", check=True)  # its stop writes the state file
    state = system.path(STATE).read_text()
    pid = system.show("pyups", "MainPID")["MainPID"]
    apt(system, "install", f"{RESULTS_AT}/{deb_upgrade.name}")
    version = system.run("dpkg-query", "-W", "-f", "${Version}", "pyups").stdout
    assert version == UPGRADE_VERSION
    assert system.path(CONFIG).read_text() == edited
    assert not system.path(CONFIG + ".dpkg-new").exists()
    shown = system.show("pyups", "ActiveState", "MainPID", "UnitFileState")
    assert shown["ActiveState"] == "active" and shown["UnitFileState"] == "enabled"
    assert shown["MainPID"] != pid
    saved = json.loads(system.path(STATE).read_text())
    assert saved["ups"][f"eaton800@{nut.server}"]["status"] == "OB DISCHRG", state

    # Remove: stopped, the program gone, configuration and state kept.
    apt(system, "remove", "pyups")
    assert system.show("pyups", "ActiveState", "LoadState") == {
        "ActiveState": "inactive", "LoadState": "not-found",
    }  # fmt: skip
    assert not system.path("/usr/lib/pyups").exists()
    assert system.run("test", "-e", "/usr/bin/pyups").returncode != 0
    assert system.path(CONFIG).read_text() == edited
    assert system.path(STATE).exists()

    # Purge: nothing of pyups is left, whether looked for by name or among the files written.
    apt(system, "purge", "pyups")
    assert named_pyups(system) == before_named
    left = sorted(p for p in upper_files(system) - before_files if not p.startswith(BOOKKEEPING))
    assert left == []
    assert catalog_knows_pyups(system) == catalog_before
    status = system.run("dpkg-query", "-W", "-f", "${Status}", "pyups").stdout
    assert status in ("", "unknown ok not-installed"), status


NUT_MONITOR = "/etc/systemd/system/nut-monitor.service"


def test_a_broken_configuration_is_installed_not_started_and_upsmon_is_pointed_out(
    bare_boot: Callable[..., System], deb: Path
) -> None:
    system = bare_boot(
        [deb],
        unmask=("nut-monitor.service",),
        files={NUT_MONITOR: "[Service]\nExecStart=/bin/sleep infinity\n"},
    )
    system.run("systemctl", "start", "nut-monitor", check=True)
    write_config(system, '[monitor]\ninterval = "often"\n')
    installed = apt(system, "-o", "Dpkg::Options::=--force-confold", "install",
                    f"{RESULTS_AT}/{deb.name}")  # fmt: skip
    said = [line for line in installed.stdout.splitlines() if line.startswith("pyups: ")]
    assert said == [
        'pyups: installed, not started: /etc/pyups/pyups.conf:2: monitor.interval: "often" is'
        ' not a duration; write seconds (30) or e.g. "500ms", "90s", "5m", "1h30m"'
        f" (fix {CONFIG}, then: systemctl enable --now pyups)",
        "pyups: NUT's nut-monitor (upsmon) is active too: both would shut this host down;"
        " keep one (systemctl disable --now nut-monitor)",
    ], installed.stdout
    shown = system.show("pyups", "ActiveState", "UnitFileState")
    assert shown == {"ActiveState": "inactive", "UnitFileState": "disabled"}


def test_the_packaged_unit_and_files_point_at_the_package_paths(deb: Path, tmp_path: Path) -> None:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    unit = tmp_path / "lib/systemd/system/pyups.service"
    hook = tmp_path / "lib/systemd/system-shutdown/pyups"
    catalog = tmp_path / "usr/lib/systemd/catalog/pyups.catalog"
    for path in (unit, hook, catalog):
        text = path.read_text()
        assert "/usr/local/bin" not in text and "/usr/local/share" not in text, path
    assert "\nExecStart=/usr/bin/pyups run\n" in unit.read_text()
    assert "\nDocumentation=file:/usr/share/doc/pyups/README.md\n" in unit.read_text()
    assert (tmp_path / "usr/share/doc/pyups/README.md").exists()
    assert (tmp_path / "usr/share/doc/pyups/prometheus/pyups-alerts.yml").exists()
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    score = security.stdout.rsplit("Overall exposure level for pyups.service: ", 1)[1]
    assert float(score.split()[0]) <= 1.5, security.stdout[-500:]
    # The man pages are the generator's (tests/unit/test_manpages.py checks them) run on
    # this tree: every command and every key.
    pages = {"man8/pyups.8.gz": manpages.command_page(build_parser()),
             "man5/pyups.conf.5.gz": manpages.config_page()}  # fmt: skip
    for name, text in pages.items():
        assert gzip.decompress((tmp_path / "usr/share/man" / name).read_bytes()).decode() == text
    subprocess.run(["dpkg-deb", "-e", str(deb), str(tmp_path / "DEBIAN")], check=True)
    assert (tmp_path / "DEBIAN/conffiles").read_text() == f"{CONFIG}\n"
    assert oct((tmp_path / CONFIG.lstrip("/")).stat().st_mode & 0o777) == "0o600"
