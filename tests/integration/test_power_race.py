"""The power race (DESIGN §10): the flag, `pyups killpower --check`, and the late hook.

- `pyups killpower --check` run as a user runs it, and beside NUT's real `upsmon -K` 2.8.0
  on the same files: both must give the same verdict on every one.
- The late-shutdown hook run by sh with a recording stand-in for upsdrvctl
  (``PYUPS_HOOK_UPSDRVCTL``, so the real one never runs), asking the real pyups or, when it
  cannot run, looking at the file itself.
- `make install` / `make uninstall` of the hook into a staging directory, and the unit
  keeping /run/pyups when it stops.

upsmon 2.8.0 refuses to run (-K included) when /run/nut/upsmon.pid names a live process, and
that path is compiled in; so it runs in a mount namespace of its own with a fresh tmpfs on
/run/nut, which leaves the machine's /run/nut as it is.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pyups.service.flag import write_flag

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "packaging" / "systemd" / "system-shutdown" / "pyups"
UNIT = ROOT / "packaging" / "systemd" / "pyups.service"
UPSMON = Path("/lib/nut/upsmon")
MAGIC = b"upsmon-shutdown-file"


def pyups(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyups", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


# ---- pyups killpower --check, the real CLI ------------------------------------------------


def test_killpower_check_exits_0_on_a_flag_pyups_wrote(tmp_path: Path) -> None:
    path = tmp_path / "killpower"
    write_flag(str(path))
    result = pyups("killpower", "--check", "--flag", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"power-down flag {path} is set\n"


def test_killpower_check_exits_1_without_a_flag_or_on_a_foreign_file(tmp_path: Path) -> None:
    path = tmp_path / "killpower"
    absent = pyups("killpower", "--check", "--flag", str(path))
    assert (absent.returncode, absent.stdout) == (1, "")
    assert absent.stderr == f"pyups: power-down flag {path} is not set\n"
    path.write_text("keep me\n")
    foreign = pyups("killpower", "--check", "--flag", str(path))
    assert foreign.returncode == 1
    assert "does not hold the power-down flag" in foreign.stderr
    assert path.read_text() == "keep me\n"


def test_killpower_without_check_is_a_usage_error(tmp_path: Path) -> None:
    result = pyups("killpower", "--flag", str(tmp_path / "killpower"))
    assert result.returncode == 2
    assert "--check" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_killpower_check_reads_the_flag_path_from_the_configuration(tmp_path: Path) -> None:
    path = tmp_path / "flag"
    config = tmp_path / "pyups.conf"
    config.write_text(f'[shutdown]\npowerdown_flag = "{path}"\n')
    assert pyups("killpower", "--check", "-c", str(config)).returncode == 1
    write_flag(str(path))
    result = pyups("killpower", "--check", "-c", str(config))
    assert (result.returncode, result.stdout) == (0, f"power-down flag {path} is set\n")
    config.write_text('[shutdown]\npowerdown_flag = "not/absolute"\n')
    broken = pyups("killpower", "--check", "-c", str(config))
    assert broken.returncode == 78
    assert f"{config}:2: shutdown.powerdown_flag:" in broken.stderr


# ---- side by side with upsmon -K ----------------------------------------------------------


def upsmon_k(confdir: Path) -> subprocess.CompletedProcess[str]:
    """NUT's own `upsmon -K`, reading confdir/upsmon.conf, with a private empty /run/nut."""
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount -t tmpfs -o mode=0770 tmpfs /run/nut && exec "$0" -K', str(UPSMON)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "NUT_CONFPATH": str(confdir)},
        check=False,
    )  # fmt: skip


def flag_written_by_pyups(path: Path) -> None:
    write_flag(str(path))


def content(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def nothing(path: Path) -> None:
    pass


def a_directory(path: Path) -> None:
    path.mkdir()


# (what is at the flag's path, upsmon -K's exit status as found with NUT 2.8.0)
CASES: list[tuple[str, Callable[[Path], None], int]] = [
    ("written by pyups", flag_written_by_pyups, 0),
    ("the magic and a newline", content(MAGIC + b"\n"), 0),
    ("the magic and more", content(MAGIC + b"-and-more\nsecond line\n"), 0),
    ("no file", nothing, 1),
    # upsmon compares a buffer fgets() left untouched here (undefined, in practice garbage).
    ("an empty file", content(b""), 1),
    ("the magic less its last byte", content(MAGIC[:-1]), 1),
    ("a blank line, then the magic", content(b"\n" + MAGIC), 1),
    ("the magic in capitals", content(MAGIC.upper()), 1),
    ("someone's data", content(b"important: do not delete\n"), 1),
    ("a directory", a_directory, 1),
]


@pytest.mark.parametrize(("case", "make", "expected"), CASES, ids=[c[0] for c in CASES])
def test_pyups_and_upsmon_k_agree_on_the_flag(
    tmp_path: Path, case: str, make: Callable[[Path], None], expected: int
) -> None:
    path = tmp_path / "run" / "killpower"
    path.parent.mkdir()
    (tmp_path / "upsmon.conf").write_text(f"POWERDOWNFLAG {path}\n")
    make(path)
    before = sorted(os.listdir("/run/nut")) if os.path.isdir("/run/nut") else None

    upsmon = upsmon_k(tmp_path)
    ours = pyups("killpower", "--check", "--flag", str(path))

    assert upsmon.returncode == expected, upsmon.stdout + upsmon.stderr
    assert ours.returncode == expected, (case, ours.stdout, ours.stderr)
    said = "Power down flag is set" if expected == 0 else "not set|magic string"
    assert any(s in upsmon.stderr for s in said.split("|")), upsmon.stderr
    if before is not None:
        assert sorted(os.listdir("/run/nut")) == before  # the real /run/nut untouched


# ---- the late-shutdown hook ---------------------------------------------------------------


class Hook:
    """Runs the hook with a recording upsdrvctl; ``calls`` are the arguments it got."""

    def __init__(self, tmp_path: Path, shell: str) -> None:
        self.dir = tmp_path
        self.shell = shell
        self.flag = tmp_path / "run" / "pyups" / "killpower"
        self.flag.parent.mkdir(parents=True)
        self.record = tmp_path / "upsdrvctl.calls"
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        self.upsdrvctl = bin_dir / "upsdrvctl"
        self.upsdrvctl.write_text(f'#!/bin/sh\necho "$*" >> {self.record}\nexit 0\n')
        self.upsdrvctl.chmod(0o755)
        # The real pyups (this checkout, this interpreter) as the hook would call it.
        self.pyups = bin_dir / "pyups"
        self.pyups.write_text(
            f'#!/bin/sh\nPYTHONPATH={ROOT / "src"} exec {sys.executable} -m pyups "$@"\n'
        )
        self.pyups.chmod(0o755)
        self.env = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "PYUPS_HOOK_PYUPS": str(self.pyups),
            "PYUPS_HOOK_FLAG": str(self.flag),
            "PYUPS_HOOK_UPSDRVCTL": str(self.upsdrvctl),
            "PYUPS_CONFIG": str(tmp_path / "absent.conf"),
        }

    def run(self, action: str, **env: str | None) -> subprocess.CompletedProcess[str]:
        full = {**self.env, **env}
        return subprocess.run(
            [self.shell, str(HOOK), action],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in full.items() if v is not None},
            check=False,
        )

    @property
    def calls(self) -> list[str]:
        return self.record.read_text().splitlines() if self.record.exists() else []


SHELLS = [s for s in ("sh", "bash") if shutil.which(s)]


@pytest.fixture(params=SHELLS)
def hook(request: pytest.FixtureRequest, tmp_path: Path) -> Hook:
    return Hook(tmp_path, request.param)


@pytest.mark.parametrize("action", ["poweroff", "halt"])
def test_hook_on_poweroff_or_halt_with_the_flag_runs_upsdrvctl_shutdown(
    hook: Hook, action: str
) -> None:
    write_flag(str(hook.flag))
    result = hook.run(action)
    assert result.returncode == 0, result.stderr
    assert hook.calls == ["shutdown"]
    assert result.stdout == (
        f"pyups: power-down flag {hook.flag} is set: running {hook.upsdrvctl} shutdown "
        "(the UPS cuts the load after ups.delay.shutdown and restores it when mains returns)\n"
    )


@pytest.mark.parametrize("action", ["reboot", "kexec", ""])
def test_hook_on_reboot_or_kexec_does_nothing_even_with_the_flag(hook: Hook, action: str) -> None:
    write_flag(str(hook.flag))
    result = hook.run(action)
    assert (result.returncode, result.stdout, hook.calls) == (0, "", [])


def test_hook_without_the_flag_does_nothing(hook: Hook) -> None:
    result = hook.run("poweroff")
    assert (result.returncode, result.stdout, result.stderr, hook.calls) == (0, "", "", [])


def test_hook_with_foreign_content_does_nothing_and_leaves_it(hook: Hook) -> None:
    hook.flag.write_text("upsmon-shutdown\n")
    result = hook.run("poweroff")
    assert (result.returncode, result.stdout, hook.calls) == (0, "", [])
    assert hook.flag.read_text() == "upsmon-shutdown\n"


@pytest.mark.parametrize(
    ("why", "pyups"),
    [("not installed", "/nonexistent/pyups"), ("exits 78", "exit 78"), ("killed", "kill")],
)
def test_hook_looks_at_the_file_itself_when_pyups_cannot_answer(
    hook: Hook, why: str, pyups: str
) -> None:
    if not pyups.startswith("/"):
        body = "kill -9 $$" if pyups == "kill" else pyups
        fake = hook.dir / "broken-pyups"
        fake.write_text(f"#!/bin/sh\n{body}\n")
        fake.chmod(0o755)
        pyups = str(fake)
    hook.flag.write_bytes(MAGIC + b"\n")
    result = hook.run("poweroff", PYUPS_HOOK_PYUPS=pyups)
    assert hook.calls == ["shutdown"], (why, result.stdout, result.stderr)
    assert f"power-down flag {hook.flag} is set (checked without pyups)" in result.stdout

    hook.record.unlink()
    hook.flag.write_text("not a flag\n")
    assert hook.run("poweroff", PYUPS_HOOK_PYUPS=pyups).stdout == ""
    hook.flag.unlink()
    assert hook.run("poweroff", PYUPS_HOOK_PYUPS=pyups).stdout == ""
    assert hook.calls == []


def test_hook_trusts_pyups_when_it_answers(hook: Hook) -> None:
    """pyups knows the configured path; a "not set" from it is not second-guessed."""
    write_flag(str(hook.flag))
    says_no = hook.dir / "says-no"
    says_no.write_text("#!/bin/sh\nexit 1\n")
    says_no.chmod(0o755)
    assert hook.run("poweroff", PYUPS_HOOK_PYUPS=str(says_no)).stdout == ""
    assert hook.calls == []


def test_hook_without_pyups_reads_the_flag_path_from_the_config(hook: Hook) -> None:
    elsewhere = hook.dir / "elsewhere"
    write_flag(str(elsewhere))
    config = hook.dir / "pyups.conf"
    config.write_text(
        f'[shutdown]\n# powerdown_flag = "/nope"\n  powerdown_flag = "{elsewhere}"  # here\n'
    )
    no_pyups = {"PYUPS_HOOK_PYUPS": "/nonexistent", "PYUPS_HOOK_FLAG": None}
    result = hook.run("poweroff", PYUPS_CONFIG=str(config), **no_pyups)
    assert hook.calls == ["shutdown"], result.stdout + result.stderr
    assert f"flag {elsewhere} is set" in result.stdout

    hook.record.unlink()
    config.write_text(f"[shutdown]\npowerdown_flag = '{hook.dir / 'other'}'\n")
    assert hook.run("poweroff", PYUPS_CONFIG=str(config), **no_pyups).stdout == ""
    config.write_text('[shutdown]\npowerdown_flag = ""\n')  # no flag at all
    assert hook.run("poweroff", PYUPS_CONFIG=str(config), **no_pyups).stdout == ""
    assert hook.calls == []


def test_hook_says_so_when_upsdrvctl_is_missing_or_fails(hook: Hook) -> None:
    write_flag(str(hook.flag))
    missing = hook.run("poweroff", PYUPS_HOOK_UPSDRVCTL=str(hook.dir / "no-upsdrvctl"))
    assert missing.returncode == 0
    assert "upsdrvctl was not found: the UPS will not cut the load" in missing.stdout
    hook.upsdrvctl.write_text(f'#!/bin/sh\necho "$*" >> {hook.record}\nexit 3\n')
    failed = hook.run("poweroff")
    assert failed.returncode == 0 and hook.calls == ["shutdown"]
    assert failed.stdout.splitlines()[-1] == (
        f"pyups: {hook.upsdrvctl} shutdown failed (exit status 3)"
    )


def test_hook_is_shellcheck_clean() -> None:
    result = subprocess.run(
        ["shellcheck", "-s", "sh", str(HOOK)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


# ---- installing it, and the unit keeping the flag -----------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.mark.parametrize(("prefix", "bindir"), [(None, "/usr/local/bin"), ("/usr", "/usr/bin")])
def test_make_install_puts_the_hook_where_systemd_looks_whatever_the_prefix(
    tmp_path: Path, prefix: str | None, bindir: str
) -> None:
    stage = tmp_path / "stage"
    make = ["make", "--no-print-directory", "-C", str(ROOT)]
    common = [f"DESTDIR={stage}", "INSTALL_VENV=no", *([f"PREFIX={prefix}"] if prefix else [])]
    installed = subprocess.run([*make, "install", *common], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    hook = stage / "usr/lib/systemd/system-shutdown/pyups"
    assert mode(hook) == 0o755
    text = hook.read_text()
    assert f"PYUPS_HOOK_PYUPS:-{bindir}/pyups}}" in text
    assert text.replace(f"{bindir}/pyups", "/usr/local/bin/pyups") == HOOK.read_text()

    removed = subprocess.run([*make, "uninstall", *common], capture_output=True, text=True)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not hook.exists() and not hook.parent.exists()


def test_the_unit_keeps_its_runtime_directory_so_the_flag_outlives_pyups() -> None:
    """systemd stops pyups before the late hook runs; a RuntimeDirectory= that were removed
    on stop would take /run/pyups/killpower with it."""
    lines = [line.strip() for line in UNIT.read_text().splitlines()]
    assert "RuntimeDirectory=pyups" in lines
    assert "RuntimeDirectoryPreserve=yes" in lines
