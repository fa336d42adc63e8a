"""packaging/: the systemd unit and the journal catalog, checked with the real tools.

- ``systemd-analyze verify`` and ``systemd-analyze security --offline=true`` on the unit;
  neither needs systemd as PID 1.
- The catalog compiled into the host's real catalog database, and ``journalctl -x`` showing
  it under an entry a real ``pyups run`` wrote.
- A real rsyslogd turning the journal into a traditional ``/var/log/syslog``-style file.
- ``make install`` / ``make uninstall`` into a staging directory (DESTDIR).

Every process started here is ended by its PID in a ``finally``; files put in system
locations (the catalog) are removed again, or the copy that was there put back.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from systemd import journal

from pyups.core.catalogue import EVENTS
from pyups.sim import NutServer
from tests.harness.config import write_config
from tests.harness.procs import end_process
from tests.harness.pyups import Pyups
from tests.harness.wait import TimedOut, repeat_until, wait_until

Start = Callable[..., Pyups]

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "packaging" / "systemd" / "pyups.service"
CATALOG = ROOT / "packaging" / "systemd" / "pyups.catalog"
EXEC_START = "ExecStart=/usr/local/bin/pyups run"

# Where `make install` puts the catalog, and where journalctl compiles the catalogs to.
CATALOG_DIR = Path("/usr/local/lib/systemd/catalog")
CATALOG_DB = Path("/var/lib/systemd/catalog/database")
ONBATT_ID = EVENTS["ONBATT"].message_id


def run(*argv: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=timeout, check=False
    )


# ---- the unit ----------------------------------------------------------------------------


def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    """`verify` also checks that ExecStart's program exists and is executable, and there
    is no /usr/local/bin/pyups before `make install`. So the unit is checked as a copy whose
    ExecStart names this venv's own `pyups` script (the same program `make install` links
    there); nothing else in the file changes. The exact installed file is verified with
    --root in test_make_install_and_uninstall_into_a_staging_directory.

    With the default --man=yes, verify runs man(1) for every man: URI in Documentation=
    and fails on a missing page; the unit only has file: and https: URIs (which verify does
    not check), so the result is the same with --man=no and without man-db installed.
    """
    text = UNIT.read_text()
    assert text.count(EXEC_START + "\n") == 1
    pyups_script = Path(sys.executable).with_name("pyups")
    assert os.access(pyups_script, os.X_OK), pyups_script
    copy = tmp_path / "pyups.service"
    copy.write_text(text.replace(EXEC_START, f"ExecStart={pyups_script} run"))
    for extra in ([], ["--man=no"]):
        result = run("systemd-analyze", "verify", *extra, copy)
        about_unit = [line for line in result.stderr.splitlines() if "pyups" in line]
        assert result.returncode == 0 and not about_unit, (extra, result.stderr)
        assert result.stdout == "", result.stdout


def test_systemd_analyze_security_exposure_is_at_most_2_5() -> None:
    result = run("systemd-analyze", "security", "--offline=true", "--no-pager", UNIT)
    assert result.returncode == 0, result.stderr
    match = re.search(r"Overall exposure level for pyups\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout
    assert float(match.group(1)) <= 2.5, result.stdout
    # No capability at all is what the low score rests on; a drop-in that adds one shows here.
    failing = [line for line in result.stdout.splitlines() if line.startswith("✗")]
    assert not [line for line in failing if "CapabilityBoundingSet" in line], failing
    # The threshold option agrees (exit status non-zero above 25 on its 0-100 scale).
    limited = run("systemd-analyze", "security", "--offline=true", "--threshold=25", UNIT)
    assert limited.returncode == 0, limited.stdout[-500:]


# ---- the catalog --------------------------------------------------------------------------


@pytest.fixture
def installed_catalog() -> Iterator[Path]:
    """pyups.catalog in /usr/local/lib/systemd/catalog, compiled into the real database.

    Afterwards, pass or fail: the file is removed, or the copy that was there before (from
    `make install`) put back; directories this fixture made are removed; the database is
    compiled again, or removed if there was none.
    """
    target = CATALOG_DIR / "pyups.catalog"
    previous = target.read_bytes() if target.exists() else None
    made_dirs = [d for d in (CATALOG_DIR, *CATALOG_DIR.parents) if not d.exists()]
    db_existed = CATALOG_DB.exists()
    db_dir_existed = CATALOG_DB.parent.exists()
    try:
        CATALOG_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CATALOG, target)
        update = run("journalctl", "--update-catalog")
        assert update.returncode == 0, update.stderr
        assert "pyups" not in update.stderr, update.stderr  # journalctl names bad lines
        yield target
    finally:
        if previous is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(previous)
        for directory in made_dirs:  # deepest first
            directory.rmdir()
        run("journalctl", "--update-catalog")
        if not db_existed:
            CATALOG_DB.unlink(missing_ok=True)
        if not db_dir_existed and CATALOG_DB.parent.exists():
            CATALOG_DB.parent.rmdir()


def test_journalctl_lists_every_pyups_message_id(installed_catalog: Path) -> None:
    listed = run("journalctl", "--list-catalog", "--no-pager").stdout
    for name, kind in EVENTS.items():
        assert re.search(rf"^{kind.message_id} pyups: ", listed, re.M), name
    dumped = run("journalctl", "--dump-catalog", "--no-pager", ONBATT_ID).stdout
    assert "Subject: UPS @PYUPS_UPS@ is on battery" in dumped
    assert "Defined-By: pyups" in dumped


def test_journalctl_x_explains_a_real_onbatt_entry(
    installed_catalog: Path, nut: NutServer, pyups: Start
) -> None:
    monitor = pyups("run", nut.address(), "--interval", "0.3")
    monitor.wait_event("STARTUP")
    nut.set_status("OB DISCHRG")
    monitor.wait_event("ONBATT")
    argv = ["journalctl", "-x", "-o", "short", "--no-pager", f"_PID={monitor.pid}"]
    # The entry is in the journal already; give a busy machine a moment to show it.
    shown = repeat_until(
        lambda: run(*argv, f"MESSAGE_ID={ONBATT_ID}"),
        lambda shown: "Subject: UPS eaton800" in shown.stdout,
        10,
        every=0.2,
    )
    out = shown.stdout
    assert shown.returncode == 0, shown.stderr
    assert f"pyups[{monitor.pid}]: UPS eaton800 on battery" in out, out
    # The catalog text, with the entry's own fields substituted.
    assert "Subject: UPS eaton800 is on battery" in out, out
    assert "Defined-By: pyups" in out, out
    assert f"UPS eaton800 (upsd {nut.server}) lost line power" in out, out
    assert f"journalctl MESSAGE_ID={ONBATT_ID}" in out, out
    assert "@PYUPS_" not in out, out


# ---- /var/log/syslog through a real rsyslog ------------------------------------------------

RSYSLOG_CONF = """\
global(workDirectory="{work}")
module(load="imjournal" StateFile="{work}/imjournal.state" IgnorePreviousMessages="on")
*.* action(type="omfile" file="{syslog}" template="RSYSLOG_TraditionalFileFormat")
"""


def wait_for_line(
    path: Path, pattern: str, process: subprocess.Popen[bytes], timeout: float
) -> str:
    """The first line of ``path`` matching ``pattern``, waiting up to ``timeout`` s for it."""

    def text() -> str:
        return path.read_text(errors="replace") if path.exists() else ""

    def found() -> re.Match[str] | None:
        return re.search(pattern, text(), re.M)

    try:
        match = wait_until(found, timeout, every=0.1, process=process)
    except TimedOut:
        assert process.poll() is None, f"rsyslogd exited with {process.returncode}"
        raise TimedOut(f"no line matching {pattern!r} in:\n{text()}") from None
    return match.group(0)


def test_events_land_in_a_syslog_file_written_by_a_real_rsyslog(
    journald: None, nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    """rsyslogd reads the journal with imjournal and writes the traditional file format.

    imjournal is what works here: it reads the journal files through libsystemd, with its
    own state file, so this rsyslog touches nothing of the host's (no /dev/log, no
    /var/spool/rsyslog, no /var/log/syslog). The other route, journald's ForwardToSyslog=
    to imuxsock, would mean binding the fixed path /run/systemd/journal/syslog, which a
    system rsyslog may own, and the journald started by the fixtures (without systemd as
    PID 1) forwards only when that socket exists as it starts. imjournal names the sender
    from SYSLOG_IDENTIFIER and the entry's _PID, exactly like the syslog lines a Debian host
    writes for services, so the line is ``pyups[PID]: MESSAGE``.
    """
    work = tmp_path / "rsyslog"
    work.mkdir()
    syslog = tmp_path / "syslog"
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(RSYSLOG_CONF.format(work=work, syslog=syslog))
    check = run("rsyslogd", "-N1", "-f", conf)
    assert check.returncode == 0, check.stderr
    stderr_path = tmp_path / "rsyslogd.stderr"
    stderr = open(stderr_path, "wb")  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(
        ["rsyslogd", "-n", "-f", str(conf), "-i", str(work / "rsyslogd.pid")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        # rsyslog starts at the end of the journal: wait until it passes a marker through,
        # so the monitor's entries cannot come before it looks.
        marker = f"pyups-packaging-test {uuid.uuid4().hex}"
        def passed() -> bool:
            if syslog.exists() and marker in syslog.read_text(errors="replace"):
                return True
            journal.send(marker, SYSLOG_IDENTIFIER="pyups-test")
            return False

        try:
            wait_until(passed, 20, every=0.5, process=process)
        except TimedOut:
            assert process.poll() is None, stderr_path.read_text()
            raise TimedOut("rsyslogd never wrote the marker") from None

        config = write_config(tmp_path, nut)
        monitor = pyups("run", "-c", config)
        monitor.wait_event("STARTUP")
        nut.set_status("OB DISCHRG")
        line = wait_for_line(
            syslog,
            rf"^\w{{3}} [ \d]\d \d\d:\d\d:\d\d \S+ pyups\[{monitor.pid}\]: "
            r"UPS eaton800 on battery$",
            process,
            timeout=20,
        )
        assert line.endswith(f"pyups[{monitor.pid}]: UPS eaton800 on battery")
        # The service's own life is there too.
        wait_for_line(syslog, rf"pyups\[{monitor.pid}\]: pyups \S+ started", process, 5)
    finally:
        end_process(process, 10)
        stderr.close()


# ---- make install / uninstall -------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_make_install_and_uninstall_into_a_staging_directory(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    make = ["make", "--no-print-directory", "-C", str(ROOT)]
    common = [f"DESTDIR={stage}", "INSTALL_VENV=no"]

    installed = run(*make, "install", *common)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    unit = stage / "usr/local/lib/systemd/system/pyups.service"
    catalog = stage / "usr/local/lib/systemd/catalog/pyups.catalog"
    example = stage / "etc/pyups/pyups.conf.example"
    config = stage / "etc/pyups/pyups.conf"
    link = stage / "usr/local/bin/pyups"
    readme = stage / "usr/local/share/doc/pyups/README.md"
    state = stage / "var/lib/pyups"
    assert unit.read_bytes() == UNIT.read_bytes() and mode(unit) == 0o644
    assert catalog.read_bytes() == CATALOG.read_bytes() and mode(catalog) == 0o644
    assert example.read_bytes() == (ROOT / "etc/pyups.conf.example").read_bytes()
    assert config.read_bytes() == example.read_bytes() and mode(config) == 0o600
    assert link.is_symlink() and os.readlink(link) == "/opt/pyups/bin/pyups"
    assert readme.read_bytes() == (ROOT / "README.md").read_bytes()
    assert state.is_dir() and mode(state) == 0o700

    # A second install never overwrites the admin's configuration.
    config.write_text("# the admin's own\n")
    again = run(*make, "install", *common)
    assert again.returncode == 0, again.stdout + again.stderr
    assert config.read_text() == "# the admin's own\n" and mode(config) == 0o600
    assert "Keeping the existing" in again.stdout

    # The installed unit, byte for byte, verifies in the staged tree: --root resolves
    # ExecStart=/usr/local/bin/pyups through the symlink inside the stage (to a stand-in
    # for the venv's script) and ExecReload's /bin/kill inside it too, and needs systemd's
    # own units (sysinit.target, ...) there.
    venv_script = stage / "opt/pyups/bin/pyups"
    venv_script.parent.mkdir(parents=True)
    venv_script.write_text("#!/bin/sh\nexit 0\n")
    venv_script.chmod(0o755)
    (stage / "bin").mkdir()
    shutil.copy("/bin/kill", stage / "bin/kill")
    shutil.copytree("/usr/lib/systemd/system", stage / "usr/lib/systemd/system", symlinks=True)
    verified = run("systemd-analyze", "verify", f"--root={stage}", "pyups.service")
    assert verified.returncode == 0 and "pyups" not in verified.stderr, verified.stderr
    shutil.rmtree(stage / "usr/lib/systemd/system")
    shutil.rmtree(stage / "bin")

    removed = run(*make, "uninstall", *common)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    for gone in (unit, catalog, example, link, readme, stage / "opt/pyups"):
        assert not os.path.lexists(gone), gone
    assert config.read_text() == "# the admin's own\n"
    assert state.is_dir()
    assert f"Kept {config}" in removed.stdout


def test_make_install_with_prefix_usr_rewrites_the_paths(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    result = run(
        "make", "-C", ROOT, "install", f"DESTDIR={stage}", "INSTALL_VENV=no", "PREFIX=/usr"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    unit = (stage / "usr/lib/systemd/system/pyups.service").read_text()
    assert "ExecStart=/usr/bin/pyups run\n" in unit
    assert "/usr/local" not in unit
    assert "/usr/local" not in (stage / "usr/lib/systemd/catalog/pyups.catalog").read_text()
    assert os.readlink(stage / "usr/bin/pyups") == "/opt/pyups/bin/pyups"
