"""The built-in events: names, syslog priorities, default messages and journal MESSAGE_IDs.

Names and messages follow NUT's upsmon (2.8.3+) so that NUT users recognise them. The
MESSAGE_IDs are fixed forever: the journal catalog and users' ``journalctl MESSAGE_ID=…``
filters depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass

# syslog priority names, as journald and systemd's PRIORITY= field number them.
PRIORITIES = {
    "emerg": 0,
    "alert": 1,
    "crit": 2,
    "err": 3,
    "warning": 4,
    "notice": 5,
    "info": 6,
    "debug": 7,
}


@dataclass(frozen=True, slots=True)
class EventKind:
    """What is fixed about one event name."""

    name: str
    priority: str
    message: str
    message_id: str
    description: str


def _kind(name: str, priority: str, message: str, message_id: str, description: str) -> EventKind:
    return EventKind(name, priority, message, message_id, description)


# Flag events that come in pairs (token appears / token goes), as upsmon reports them.
_PAIRS = {
    "CAL": (
        "calibration in progress",
        "calibration finished",
        "e2a8b6a2f1f34a5c9b1c0e0d7f3a4b21",
        "0b6f3f5e7d2c4e1a8c9d2b4f6a1e3c57",
    ),
    "OFF": (
        "administratively OFF or asleep",
        "no longer administratively OFF or asleep",
        "4c1d9e7b2a6f4b8d9e3c5a7f1b2d4e68",
        "9f2e4b6d8a1c4e3f8b7d5c2a9e6f1b34",
    ),
    "BYPASS": (
        "on bypass (powered, not protecting)",
        "no longer on bypass",
        "7a3c5e9f1b2d4c6e8a0b2d4f6a8c0e19",
        "2d4f6a8c0e1b3d5f7a9c1e3b5d7f9a2c",
    ),
    "ECO": (
        "in ECO mode (as defined by vendor)",
        "no longer in ECO mode",
        "5b7d9f1a3c5e4f7a9b1d3f5a7c9e1b4d",
        "8c0e2a4c6e8a4b1d3f5b7d9f1a3c5e8a",
    ),
    "OVER": (
        "overloaded",
        "no longer overloaded",
        "1e3a5c7e9b1d4f3a5c7e9b1d3f5a7c2e",
        "6f8b0d2f4a6c4e9b1d3f5a7c9e1b3d6f",
    ),
    "TRIM": (
        "trimming incoming voltage",
        "no longer trimming incoming voltage",
        "3a5c7e9b1d3f4a6c8e0a2c4e6b8d0f3b",
        "0d2f4b6d8f0a4c3e5a7c9e1b3d5f7a0c",
    ),
    "BOOST": (
        "boosting incoming voltage",
        "no longer boosting incoming voltage",
        "9e1b3d5f7a9c4e2b4d6f8a0c2e4a6c9e",
        "4b6d8f0a2c4e4a7c9e1b3d5f7a9c1e4b",
    ),
}

_KINDS = [
    _kind(
        "STARTUP",
        "info",
        "UPS {ups} monitored: {summary}",
        "a1f37c2e9b4d4e0f8c6a2b5d7e9f1c30",
        "pyups polled the UPS successfully for the first time since it started.",
    ),
    _kind(
        "ONLINE",
        "notice",
        "UPS {ups} on line power (after {held} on battery)",
        "5c2e8a1f3b7d4c9e8f0a2b4c6d8e1f52",
        "The UPS is back on line power after running on battery.",
    ),
    _kind(
        "ONBATT",
        "warning",
        "UPS {ups} on battery",
        "c8e4a2f6b1d94c7e9a3f5b7d2e4c6a81",
        "The UPS lost line power and is running on battery.",
    ),
    _kind(
        "LOWBATT",
        "crit",
        "UPS {ups} battery is low",
        "3f9b1d7e5a2c4f8e9b6d0a2c4e7f9b13",
        "The battery is low (or the UPS is unreachable while on battery): shutdown is near.",
    ),
    _kind(
        "FSD",
        "alert",
        "UPS {ups}: forced shutdown in progress",
        "7e1c5a9f3d2b4e6a8c0f2d4b6a9e1c74",
        "The primary upsmon set forced shutdown; the systems it feeds are going down.",
    ),
    _kind(
        "COMMBAD",
        "err",
        "Communications with UPS {ups} lost: {reason}",
        "b2d6f0a4c8e14a3c9d5f7b1e3a6c8d95",
        "A poll failed: upsd, the network or the driver did not answer.",
    ),
    _kind(
        "NOCOMM",
        "err",
        "UPS {ups} is unavailable: {reason}",
        "d4f8b2e6a0c34e5b8d1f3a5c7e9b2d06",
        "The UPS has been unreachable for longer than monitor.nocomm_warn; repeated.",
    ),
    _kind(
        "COMMOK",
        "notice",
        "Communications with UPS {ups} established",
        "6a0e4c8b2f1d4a7e9c3b5d7f1a3e5c27",
        "The UPS answers again after a communications failure.",
    ),
    _kind(
        "REPLBATT",
        "warning",
        "UPS {ups} battery needs to be replaced",
        "9d3b7f1e5c2a4d8f8e0b2c4a6f8d1e48",
        "The UPS reports RB; repeated every monitor.replbatt_warn.",
    ),
    _kind(
        "ALARM",
        "warning",
        "UPS {ups}: active alarms: {ups.alarm}",
        "f0c4a8e2d6b14f9a8b2d4f6e8a0c2e59",
        "The UPS reports ALARM or its ups.alarm text changed.",
    ),
    _kind(
        "NOTALARM",
        "notice",
        "UPS {ups}: no longer has active alarms",
        "2b6f0d4a8e3c4b1f9d5a7c9e1f3b5d7a",
        "The UPS no longer reports ALARM.",
    ),
    _kind(
        "OTHER",
        "warning",
        "UPS {ups}: unclassified status: {tokens}",
        "8f2b6e0c4a9d4f3b8e1c3a5d7f9b2e4c",
        "The UPS reports status tokens pyups does not classify.",
    ),
    _kind(
        "NOTOTHER",
        "notice",
        "UPS {ups}: no unclassified status tokens anymore",
        "0a4e8c2f6b3d4a5f8c7e9b1d3a5f7c9e",
        "The unclassified status tokens are gone.",
    ),
    _kind(
        "SHUTDOWN",
        "emerg",
        "Executing automatic power-fail shutdown: {reason}",
        "009f27a299be4f05b8824129952f1137",
        "The shutdown sequence of this host started; the reason says which UPS is critical.",
    ),
    _kind(
        "SHUTDOWN_HOSTSYNC",
        "warning",
        "Host sync ended: {reason} still connected to UPS {ups}",
        "529e70d87c344eac882b7911d40eb251",
        "As primary, host_sync ended while other hosts were still logged in to the UPS.",
    ),
    _kind(
        "SHUTDOWN_FAILED",
        "alert",
        "Shutdown of this host failed: {reason}",
        "add769b54f31491ca480aa85e5852775",
        "The shutdown command failed or a step could not run; repeated on each try.",
    ),
    _kind(
        "RULE",
        "notice",
        "{message}",
        "4e8c2a6f0d5b4c7a9e1f3b5d7c9a1e3f",
        "A configured rule fired or cleared.",
    ),
    _kind(
        "ACTION",
        "info",
        "{message}",
        "c6a0e4b8f2d74e9b8a3c5e7f9b1d3a5c",
        "An action of a rule finished, failed or timed out.",
    ),
]
for _flag, (_on, _off, _on_id, _off_id) in _PAIRS.items():
    _KINDS.append(
        _kind(_flag, "warning", f"UPS {{ups}}: {_on}", _on_id, f"The UPS reports {_flag}.")
    )
    _KINDS.append(
        _kind(
            "NOT" + _flag,
            "notice",
            f"UPS {{ups}}: {_off}",
            _off_id,
            f"The UPS no longer reports {_flag}.",
        )
    )

EVENTS: dict[str, EventKind] = {kind.name: kind for kind in _KINDS}
PAIRED_FLAGS = tuple(_PAIRS)
