"""Line numbers for key paths such as ``ups[1].server``, found by scanning the raw TOML text.

tomllib reports no positions, so this small scanner follows ``[table]`` and ``[[array]]``
headers and ``key = ...`` lines; anything cleverer (inline tables, odd quoting) falls back to
the nearest enclosing line it did see.
"""

from __future__ import annotations

import re

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\[\]]+?)\s*\]\]\s*(?:#.*)?$")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_PART_TEXT = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY_LINE = re.compile(rf"^\s*({_PART_TEXT}(?:\s*\.\s*{_PART_TEXT})*)\s*=")
_KEY_PART = re.compile(_PART_TEXT)
_PARENT = re.compile(r"(?:\.[^.\[\]]+|\[\d+\])$")


def _parts(dotted: str) -> list[str]:
    """The parts of a dotted TOML key, quotes removed."""
    return [part.strip("\"'") for part in _KEY_PART.findall(dotted)]


class Locator:
    """Maps key paths (``monitor.interval``, ``ups[0]``, ``events.CAL.x``) to 1-based lines."""

    def __init__(self, text: str) -> None:
        self._lines: dict[str, int] = {}
        self._arrays: dict[str, int] = {}
        table = ""
        in_multiline: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if in_multiline is not None:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            if match := _ARRAY_HEADER.match(line):
                table = self._enter(_parts(match.group(1)), number, array=True)
            elif match := _TABLE_HEADER.match(line):
                table = self._enter(_parts(match.group(1)), number, array=False)
            elif match := _KEY_LINE.match(line):
                path = table
                for part in _parts(match.group(1)):
                    path = f"{path}.{part}" if path else part
                    self._lines.setdefault(path, number)
            for quotes in ('"""', "'''"):
                if line.count(quotes) % 2 == 1:
                    in_multiline = quotes
                    break

    def _resolve(self, parts: list[str]) -> str:
        """A header's path, with the current index of every array of tables on the way."""
        path = ""
        for part in parts:
            path = f"{path}.{part}" if path else part
            if path in self._arrays:
                path = f"{path}[{self._arrays[path] - 1}]"
        return path

    def _enter(self, parts: list[str], number: int, *, array: bool) -> str:
        if array:
            base = self._resolve(parts[:-1])
            name = f"{base}.{parts[-1]}" if base else parts[-1]
            index = self._arrays.get(name, 0)
            self._arrays[name] = index + 1
            self._lines.setdefault(name, number)
            path = f"{name}[{index}]"
        else:
            path = self._resolve(parts)
        self._lines.setdefault(path, number)
        return path

    def line(self, path: str) -> int | None:
        """The line of ``path`` or of its nearest enclosing table or key; None if none was seen."""
        while path:
            if path in self._lines:
                return self._lines[path]
            shorter = _PARENT.sub("", path)
            if shorter == path:
                return None
            path = shorter
        return None
