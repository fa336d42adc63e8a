"""NUT network protocol lines: splitting with quotes and escapes, and quoting values.

upsd escapes ``"`` and ``\\`` inside quoted values (and drivers may send ``\\#``); a backslash
makes the next character literal. PyNUTClient splits on ``"`` instead, which truncates a
value at its first ``\\"`` and never unescapes: this module is what pyups parses with.
"""

from __future__ import annotations

import functools
import re

from pyups.nut.errors import PROTOCOL, NutError


def split_line(line: str) -> list[str]:
    """Words of one reply line; a quoted word may hold spaces and backslash escapes."""
    words: list[str] = []
    i, n = 0, len(line)
    while i < n:
        if line[i] in " \t":
            i += 1
            continue
        quoted = line[i] == '"'
        if quoted:
            i += 1
        word: list[str] = []
        while i < n:
            ch = line[i]
            if ch == "\\" and i + 1 < n:
                word.append(line[i + 1])
                i += 2
                continue
            if (quoted and ch == '"') or (not quoted and ch in " \t"):
                break
            word.append(ch)
            i += 1
        if quoted:
            if i >= n:
                raise NutError(PROTOCOL, f"unterminated quoted value in {line[:80]!r}")
            i += 1
        words.append("".join(word))
    return words


def quote(value: str) -> str:
    """A value as a quoted protocol word, so that spaces, quotes and backslashes survive.

    ``#`` is escaped too: upsd 2.8 reads an unescaped ``#`` as a comment even inside quotes
    and then waits for the rest of the line forever.
    """
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("#", "\\#")
    return f'"{escaped}"'


def check_error(line: str) -> None:
    """Raise the NutError an ``ERR CODE [detail]`` line carries; do nothing for other lines."""
    if line.startswith("ERR "):
        parts = line.split(None, 2)
        code = parts[1] if len(parts) > 1 else "UNKNOWN"
        raise NutError(code)


def parse_list(lines: list[str], kind: str, ups: str) -> dict[str, str]:
    """``LIST VAR|RW|CMD`` body lines (between BEGIN and END) as ``{name: value}``.

    CMD lines have no value; their value is the empty string.
    """
    item = {"VAR": "VAR", "RW": "RW", "CMD": "CMD"}[kind]
    prefix = f"{item} {ups} "
    result: dict[str, str] = {}
    for line in lines:
        # Nearly every line is ``VAR ups name "value"`` with nothing escaped: taking it apart
        # without split_line keeps a poll of a hundred variables cheap.
        if line.startswith(prefix) and "\\" not in line:
            name, _, value = line[len(prefix) :].partition(" ")
            if len(value) >= 2 and value[0] == value[-1] == '"' and '"' not in value[1:-1]:
                result[name] = value[1:-1]
                continue
        words = split_line(line)
        if len(words) < 3 or words[0] != item or words[1] != ups:
            raise NutError(PROTOCOL, f"unexpected line in LIST {kind} reply: {line[:80]!r}")
        result[words[2]] = words[3] if len(words) > 3 else ""
    return result


@functools.lru_cache(maxsize=1024)
def _plain_line(kind: str, ups: str) -> re.Pattern[str]:
    """``KIND ups name "value"`` with nothing escaped: the shape of nearly every LIST line."""
    return re.compile(rf'^{kind} {re.escape(ups)} ([^ \n\\]+) "([^"\n\\]*)"$', re.MULTILINE)


def parse_list_block(text: str, kind: str, ups: str) -> dict[str, str]:
    """A whole ``LIST VAR|RW|CMD`` body (lines ending in ``\\n``) as ``{name: value}``.

    Same result as :func:`parse_list`, in one pass of a compiled pattern when every line
    is plain ``KIND ups name "value"`` (no escapes), which is what each poll gets; otherwise
    (escapes, CMD lines without a value) line by line.
    """
    pairs = _plain_line(kind, ups).findall(text)
    if len(pairs) == text.count("\n"):
        return dict(pairs)
    return parse_list(text.split("\n")[:-1], kind, ups)


def parse_ups_list(lines: list[str]) -> dict[str, str]:
    """``LIST UPS`` body lines, ``UPS name "description"``, as ``{name: description}``."""
    result: dict[str, str] = {}
    for line in lines:
        words = split_line(line)
        if len(words) != 3 or words[0] != "UPS":
            raise NutError(PROTOCOL, f"unexpected line in LIST UPS reply: {line[:80]!r}")
        result[words[1]] = words[2]
    return result
