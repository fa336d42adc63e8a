"""Message templates: ``{ups}``, ``{held}``, ``{battery.charge}``; ``{{``/``}}`` are braces.

``str.format`` cannot be used: NUT names contain dots, which it reads as attribute access.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Fields every event can fill in, besides NUT variables (dotted names).
FIXED_FIELDS = frozenset(
    {
        "ups",
        "server",
        "event",
        "rule",
        "status",
        "prev_status",
        "held",
        "message",
        "reason",
        "summary",
        "runtime",
        "tokens",
    }
)
MISSING = "n/a"

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FIELD = re.compile(r"^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$")


class TemplateError(ValueError):
    """A template that cannot be rendered; the message names the position."""


def fields(template: str) -> list[str]:
    """The field names a template uses, in order; raises TemplateError on bad syntax."""
    names: list[str] = []
    for match in _TOKEN.finditer(template):
        text = match.group(0)
        if text in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise TemplateError(
                f"unmatched {text!r} at position {match.start() + 1} "
                f"(write {text * 2} for a literal brace)"
            )
        if not _FIELD.match(name):
            raise TemplateError(f"{{{name}}} at position {match.start() + 1} is not a field name")
        names.append(name)
    return names


def unknown_fields(template: str) -> list[str]:
    """Fields that are neither fixed nor a NUT variable name (which always has a dot)."""
    return [name for name in fields(template) if name not in FIXED_FIELDS and "." not in name]


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill a template; a field without a value renders as ``n/a``. Bad syntax renders literally."""

    def substitute(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "{{":
            return "{"
        if text == "}}":
            return "}"
        name = match.group(1)
        if name is None or not _FIELD.match(name):
            return text
        return values.get(name, MISSING)

    return _TOKEN.sub(substitute, template)
