"""The state file (``monitor.state_file``): what each UPS's tracker keeps across restarts.

Writes are atomic (a temporary file in the same directory, fsync, rename), so a crash or a
power cut mid-write leaves the previous file. A missing file is a first start; a corrupt or
unreadable one is reported once and pyups starts fresh, as it would without the file. An
empty path switches persistence off.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Mapping
from typing import Any

from pyups.address import AddressError, UpsAddress, parse_server
from pyups.core.persist import record, restore
from pyups.core.tracker import UpsState
from pyups.service.files import replace_atomically

VERSION = 1


class StateFile:
    def __init__(self, path: str) -> None:
        self.path = path
        self._saved: dict[str, Any] | None = None
        self._failing: str | None = None

    def load(self) -> tuple[dict[UpsAddress, UpsState], str | None]:
        """The saved states, and a warning to log if the file could not be used."""
        if not self.path:
            return {}, None
        try:
            with open(self.path, encoding="utf-8") as handle:
                document = json.load(handle)
            states = _states(document)
        except FileNotFoundError:
            return {}, None
        except OSError as exc:
            return {}, f"state file {self.path}: cannot read: {exc.strerror}; starting fresh"
        except ValueError as exc:
            return {}, f"state file {self.path} is corrupt ({exc}); starting fresh"
        self._saved = document
        return states, None

    def save(self, states: Mapping[UpsAddress, UpsState]) -> str | None:
        """Write the states if they changed; a warning the first time writing fails."""
        if not self.path:
            return None
        kept = {str(address): r for address, s in states.items() if (r := record(s))}
        document = {"version": VERSION, "ups": kept}
        if document == self._saved:
            return None
        try:
            _write_atomically(self.path, json.dumps(document, indent=1, sort_keys=True) + "\n")
        except OSError as exc:
            problem = f"state file {self.path}: cannot write: {exc.strerror or exc}"
            first, self._failing = self._failing != problem, problem
            return f"{problem}; a restart will not remember the UPSes' state" if first else None
        self._saved = document
        if self._failing is not None:
            self._failing = None
            return f"state file {self.path}: written again"
        return None


def _states(document: object) -> dict[UpsAddress, UpsState]:
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise ValueError(f"not a version {VERSION} pyups state file")
    entries = document.get("ups")
    if not isinstance(entries, dict):
        raise ValueError("no 'ups' table")
    states: dict[UpsAddress, UpsState] = {}
    for key, kept in entries.items():
        ups, at, server = key.partition("@")
        if not at or not isinstance(kept, dict):
            raise ValueError(f"bad entry {key!r}")
        try:
            address = UpsAddress(ups, parse_server(server))
        except AddressError:
            continue  # pyups never wrote it, and no configured UPS could match it
        states[address] = restore(address.name, address.server, kept)
    return states


def _write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.lexists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), directory)
    os.makedirs(directory, exist_ok=True)  # /var/lib/pyups outside systemd's StateDirectory=
    replace_atomically(path, text.encode("utf-8"))
