"""``ups.status`` tokens as flags, classified the way upsmon classifies them."""

from __future__ import annotations

# Tokens upsmon (2.8.3+) knows; anything else a driver reports is "unclassified" (OTHER).
KNOWN_FLAGS = frozenset(
    [
        "OL",
        "OB",
        "LB",
        "HB",
        "RB",
        "CHRG",
        "DISCHRG",
        "BYPASS",
        "CAL",
        "OFF",
        "OVER",
        "TRIM",
        "BOOST",
        "FSD",
        "ALARM",
        "ECO",
    ]
)
# While any of these is up the UPS is polled at monitor.interval_alert.
ALERT_FLAGS = frozenset({"OB", "ALARM", "OVER"})


def parse_status(raw: str) -> frozenset[str]:
    """The set of tokens in a raw ``ups.status`` value such as ``"OB DISCHRG LB"``."""
    return frozenset(raw.split())


def unclassified(flags: frozenset[str]) -> tuple[str, ...]:
    """Tokens upsmon does not know, sorted so that comparisons and messages are stable."""
    return tuple(sorted(flags - KNOWN_FLAGS))
