"""The power-down flag: the file that tells the late-shutdown hook to switch the UPS off.

A primary writes it just before its shutdown command (DESIGN §10); after every service has
stopped, ``/usr/lib/systemd/system-shutdown/pyups`` asks ``pyups killpower --check`` whether
it is set and, if so, runs ``upsdrvctl shutdown``, so the UPS cuts the load and gives it back
when mains returns: a host that halted while power came back is power-cycled, not left off.

The file is upsmon's (NUT 2.8.0 ``POWERDOWNFLAG``), so that either tool, and NUT's own
``nutshutdown`` hook through ``upsmon -K``, reads the other's flag:

- upsmon writes exactly the 20 bytes ``upsmon-shutdown-file``, no newline; so does pyups.
- upsmon counts a file as set when its first line *begins* with those bytes (``fgets`` then
  ``strncmp`` over the magic's length): ``upsmon-shutdown-file\\n`` and
  ``upsmon-shutdown-filexyz`` are set, an empty file or a leading blank is not. pyups uses
  that one rule everywhere — to answer the check, to remove a flag, to refuse one — so its
  verdict on any file is upsmon's.
- A file that exists without the magic is someone else's. upsmon then neither removes nor
  writes it (it disables its flag for the run); pyups leaves it untouched too, says so, and
  :func:`write_flag` refuses to replace it.
"""

from __future__ import annotations

import enum
import os

from pyups.core.sequence import FLAG_CONTENT
from pyups.service.files import replace_atomically

MAGIC = FLAG_CONTENT.encode("ascii")
VOLATILE_FS = frozenset({"tmpfs", "ramfs"})  # gone at reboot, as the flag must be


class FlagState(enum.Enum):
    """What is at the flag's path (upsmon's ``pdflag_status``: 0, 1, -1)."""

    ABSENT = "absent"
    SET = "set"
    FOREIGN = "foreign"  # exists (file, directory, ...) without the magic: not ours


class ForeignFileError(OSError):
    """The flag's path holds something that is not a power-down flag; it was left alone."""


def flag_state(path: str) -> FlagState:
    """Whether ``path`` is absent, a set flag, or someone else's file.

    Opened non-blocking, so a FIFO put there reads as foreign instead of hanging the hook.
    Anything that exists but cannot be read counts as foreign, as upsmon reads it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        return FlagState.ABSENT
    except OSError:
        return FlagState.ABSENT if not os.path.lexists(path) else FlagState.FOREIGN
    try:
        head = b""
        while len(head) < len(MAGIC):
            chunk = os.read(fd, len(MAGIC) - len(head))
            if not chunk:
                break
            head += chunk
    except OSError:  # a directory (EISDIR), a FIFO with no writer (EAGAIN), ...
        return FlagState.FOREIGN
    finally:
        os.close(fd)
    return FlagState.SET if head == MAGIC else FlagState.FOREIGN


def is_set(path: str) -> bool:
    """True when the flag exists and carries upsmon's magic (``upsmon -K`` exits 0)."""
    return flag_state(path) is FlagState.SET


def write_flag(path: str) -> None:
    """Write the flag atomically: a temporary file in the same directory, renamed over.

    A reader sees no file or the whole flag, never a partial one. The parent directory is
    created (mode 755) when missing. Raises :class:`ForeignFileError` when ``path`` holds
    something else (left as it is), ``OSError`` when the file cannot be written.
    """
    if flag_state(path) is FlagState.FOREIGN:
        raise ForeignFileError(f"{path} exists and is not a power-down flag: not replaced")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    # 644: root writes it; upsmon -K or a check may read it as anyone
    replace_atomically(path, MAGIC, 0o644)


def remove_flag(path: str) -> bool:
    """Remove the flag if it carries the magic; anything else stays. True if removed."""
    if flag_state(path) is not FlagState.SET:
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def clear_stale_flag(path: str) -> str | None:
    """At start-up: remove a flag left by an earlier run; refuse someone else's file.

    A flag still there when pyups starts belongs to a shutdown that did not happen (or a
    restart of pyups alone); left in place it would make the next ordinary poweroff switch
    the UPS off. Returns None when the path is clear now, or a warning sentence naming the
    file and what to do when it holds something else (which stays untouched).
    """
    try:
        if remove_flag(path) or flag_state(path) is FlagState.ABSENT:
            return None
    except OSError as exc:
        return f"could not remove the stale power-down flag {path}: {exc.strerror or exc}"
    return (
        f"{path} exists but does not hold the power-down flag ({FLAG_CONTENT!r}): left "
        "untouched, and no flag will be written there; move that file away or set "
        "[shutdown] powerdown_flag to a path of pyups' own"
    )


# ---- is the flag on storage that a reboot clears? -----------------------------------------


def _unescape_mountinfo(field: str) -> str:
    """Mount points in mountinfo escape space, tab, newline and backslash as ``\\ooo``."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def fstype_in_mountinfo(mountinfo: str, path: str) -> str | None:
    """The type of the file system that holds absolute ``path``, from mountinfo's text.

    The mount point that is the longest prefix of ``path`` wins; of several mounts on the
    same point, the last one listed (the one on top). None when nothing matches.
    """
    best: tuple[int, str] | None = None
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        dash = fields.index("-", 6)
        point = _unescape_mountinfo(fields[4])
        fstype = fields[dash + 1]
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= best[0]):
            best = (len(point), fstype)
    return None if best is None else best[1]


def filesystem_type(path: str, mountinfo_file: str = "/proc/self/mountinfo") -> str | None:
    """The type of the file system ``path`` is (or would be, once created) on.

    Symbolic links are resolved first; a path that does not exist yet is looked up as far
    as it goes. None when /proc is not mounted or nothing matches.
    """
    try:
        with open(mountinfo_file, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    except OSError:
        return None
    return fstype_in_mountinfo(text, os.path.realpath(path))


def is_volatile(path: str) -> bool | None:
    """True when ``path`` is on tmpfs/ramfs, so a reboot clears it; None if unknown.

    ``check-config`` and ``drill`` warn when it is False: a flag on a disk survives the
    reboot, and the next ordinary poweroff would switch the UPS off.
    """
    fstype = filesystem_type(path)
    return None if fstype is None else fstype in VOLATILE_FS
