"""service/flag: the power-down flag, byte for byte upsmon's, and where it lives."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from pyups.core.sequence import FLAG_CONTENT
from pyups.service import flag
from pyups.service.flag import FlagState, ForeignFileError

MAGIC = b"upsmon-shutdown-file"


def test_the_magic_is_upsmons_sdmagic_without_a_newline() -> None:
    assert flag.MAGIC == MAGIC == FLAG_CONTENT.encode()


def test_write_flag_writes_exactly_the_magic_readable_by_all(tmp_path: Path) -> None:
    path = tmp_path / "killpower"
    flag.write_flag(str(path))
    assert path.read_bytes() == MAGIC
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert flag.is_set(str(path))
    assert [p.name for p in tmp_path.iterdir()] == ["killpower"]  # no temporary left


def test_write_flag_makes_the_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "run" / "pyups" / "killpower"
    flag.write_flag(str(path))
    assert path.read_bytes() == MAGIC


def test_write_flag_replaces_a_flag_in_one_step(tmp_path: Path) -> None:
    path = tmp_path / "killpower"
    path.write_bytes(MAGIC + b"\n")
    inode = path.stat().st_ino
    flag.write_flag(str(path))
    assert path.read_bytes() == MAGIC
    assert path.stat().st_ino != inode  # renamed over, not rewritten in place


def test_write_flag_refuses_to_replace_someone_elses_file(tmp_path: Path) -> None:
    path = tmp_path / "killpower"
    path.write_text("my notes\n")
    with pytest.raises(ForeignFileError, match="not a power-down flag"):
        flag.write_flag(str(path))
    assert path.read_text() == "my notes\n"


def test_write_flag_fails_with_oserror_where_it_cannot_write(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError):
        flag.write_flag(str(tmp_path / "file" / "killpower"))


# What counts as set is upsmon 2.8.0's pdflag_status(): the first line begins with the magic.
@pytest.mark.parametrize(
    ("content", "state"),
    [
        (MAGIC, FlagState.SET),
        (MAGIC + b"\n", FlagState.SET),
        (MAGIC + b"xyz\nmore", FlagState.SET),
        (b"", FlagState.FOREIGN),
        (MAGIC[:-1], FlagState.FOREIGN),
        (b"\n" + MAGIC, FlagState.FOREIGN),
        (b" " + MAGIC, FlagState.FOREIGN),
        (MAGIC.upper(), FlagState.FOREIGN),
        (b"important data\n", FlagState.FOREIGN),
    ],
)
def test_flag_state_follows_upsmon(tmp_path: Path, content: bytes, state: FlagState) -> None:
    path = tmp_path / "killpower"
    path.write_bytes(content)
    assert flag.flag_state(str(path)) is state
    assert flag.is_set(str(path)) is (state is FlagState.SET)


def test_a_missing_file_or_directory_is_absent(tmp_path: Path) -> None:
    assert flag.flag_state(str(tmp_path / "nope")) is FlagState.ABSENT
    assert flag.flag_state(str(tmp_path / "no" / "dir")) is FlagState.ABSENT
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert flag.flag_state(str(tmp_path / "dangling")) is FlagState.ABSENT


def test_a_directory_or_a_fifo_is_foreign_and_the_fifo_does_not_hang(tmp_path: Path) -> None:
    assert flag.flag_state(str(tmp_path)) is FlagState.FOREIGN
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert flag.flag_state(str(fifo)) is FlagState.FOREIGN


def test_remove_flag_removes_only_a_flag(tmp_path: Path) -> None:
    path = tmp_path / "killpower"
    assert flag.remove_flag(str(path)) is False
    path.write_bytes(MAGIC + b"\n")
    assert flag.remove_flag(str(path)) is True
    assert not path.exists()
    path.write_text("mine\n")
    assert flag.remove_flag(str(path)) is False
    assert path.read_text() == "mine\n"


def test_clear_stale_flag_removes_a_leftover_flag(tmp_path: Path) -> None:
    path = tmp_path / "killpower"
    flag.write_flag(str(path))
    assert flag.clear_stale_flag(str(path)) is None
    assert not path.exists()
    assert flag.clear_stale_flag(str(path)) is None  # nothing there: nothing to say


def test_clear_stale_flag_leaves_a_foreign_file_and_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "killpower"
    path.write_text("precious\n")
    warning = flag.clear_stale_flag(str(path))
    assert warning is not None
    assert str(path) in warning
    assert "left untouched" in warning and "powerdown_flag" in warning
    assert path.read_text() == "precious\n"


# ---- tmpfs or not --------------------------------------------------------------------------

MOUNTINFO = """\
22 1 0:21 / /proc rw,nosuid - proc proc rw
25 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
26 25 0:23 / /run rw,nosuid shared:5 - tmpfs tmpfs rw,mode=755
27 26 0:24 / /run/lock rw shared:6 - tmpfs tmpfs rw
28 25 0:25 / /run\\040data rw - ramfs none rw
29 26 252:1 / /run/disk rw - xfs /dev/vdb rw
30 29 0:26 / /run/disk rw - tmpfs tmpfs rw
"""


@pytest.mark.parametrize(
    ("path", "fstype"),
    [
        ("/", "ext4"),
        ("/var/lib/pyups/state.json", "ext4"),
        ("/run", "tmpfs"),
        ("/run/pyups/killpower", "tmpfs"),
        ("/running/x", "ext4"),  # a prefix of the name is not a parent directory
        ("/run data/killpower", "ramfs"),  # \040 is a space
        ("/run/disk/x", "tmpfs"),  # the last mount on a point is the one on top
    ],
)
def test_fstype_in_mountinfo_takes_the_longest_mount_point(path: str, fstype: str) -> None:
    assert flag.fstype_in_mountinfo(MOUNTINFO, path) == fstype


def test_fstype_in_mountinfo_without_a_match_is_none() -> None:
    assert flag.fstype_in_mountinfo("", "/run/x") is None


def findmnt_fstype(path: str) -> str:
    result = subprocess.run(
        ["findmnt", "-n", "-o", "FSTYPE", "-T", path], capture_output=True, text=True, check=True
    )
    return result.stdout.split()[-1]  # of several mounts on one point, the top one


def test_dev_shm_is_volatile_and_the_temp_dir_agrees_with_findmnt(tmp_path: Path) -> None:
    assert findmnt_fstype("/dev/shm") == "tmpfs"
    assert flag.is_volatile("/dev/shm/pyups/killpower") is True  # need not exist yet
    expected = findmnt_fstype(str(tmp_path))
    assert flag.filesystem_type(str(tmp_path / "killpower")) == expected
    assert flag.is_volatile(str(tmp_path)) is (expected in {"tmpfs", "ramfs"})


def test_a_symlink_is_judged_by_where_it_points(tmp_path: Path) -> None:
    link = tmp_path / "shm"
    link.symlink_to("/dev/shm")
    assert flag.filesystem_type(str(link / "killpower")) == "tmpfs"


def test_without_mountinfo_it_cannot_tell(tmp_path: Path) -> None:
    assert flag.filesystem_type("/run", str(tmp_path / "missing")) is None
