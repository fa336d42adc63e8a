"""Durations as the config writes them ("500ms", "90s", "1h30m", 5) and as humans read them."""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


class DurationError(ValueError):
    """A duration that cannot be understood; the message says what is accepted."""


def parse_duration(value: object) -> float:
    """Seconds from a non-negative number or a string such as "500ms", "90s", "5m", "1h30m"."""
    if isinstance(value, bool):
        raise DurationError(f"expected a duration, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise DurationError(f"a duration must be a finite number of seconds ({value})")
        if value < 0:
            raise DurationError(f"a duration cannot be negative ({value})")
        return float(value)
    if not isinstance(value, str):
        raise DurationError(f"expected a duration, got {type(value).__name__}")
    text = value.strip().replace(" ", "")
    try:
        return parse_duration(float(text))
    except ValueError:
        pass
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise DurationError(
            f'{value!r} is not a duration; write seconds (30) or e.g. "500ms", "90s", "5m", "1h30m"'
        )
    return total


def format_duration(seconds: float) -> str:
    """A short human rendering: "350ms", "42s", "2m05s", "1h30m", "2d3h"."""
    if not math.isfinite(seconds):
        return str(seconds)  # "inf" or "nan", as a confused driver may report a runtime
    if seconds < 0:
        seconds = 0.0
    if round(seconds * 1000) < 1000:
        return f"{round(seconds * 1000)}ms"
    if seconds < 59.5:
        whole = round(seconds, 1)
        return f"{whole:g}s" if whole < 10 else f"{round(seconds)}s"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"
