"""upsd users for the protection tests and benchmarks: one per ``upsmon`` right, and one with
none, each with its password, written once for upsd.users and for pyups' configurations."""

from __future__ import annotations

# user -> (password, the upsd.users line giving its rights; "" for none)
USERS = {
    "monprimary": ("primary-secret", "upsmon primary"),
    "monsecondary": ("secondary-secret", "upsmon secondary"),
    "watcher": ("watcher-secret", ""),  # may read, may not be counted
}
PASSWORDS = {user: password for user, (password, _) in USERS.items()}


def upsd_users(*names: str) -> str:
    """The upsd.users sections of these users (all of them by default), for NutServer."""
    sections = []
    for name in names or tuple(USERS):
        password, rights = USERS[name]
        sections.append(
            f"[{name}]\n  password = {password}\n" + (f"  {rights}\n" if rights else "")
        )
    return "".join(sections)
