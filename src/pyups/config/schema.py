"""The configuration schema: the frozen dataclasses the program uses, and one table of every key.

The table (``KEYS``) is the single source for validation (which keys exist, of what kind) and for
the test that checks ``etc/pyups.conf.example`` documents every key with its default.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pyups.address import DEFAULT_HOST, DEFAULT_PORT, AddressError, Server, parse_server
from pyups.core.catalogue import EVENTS, PRIORITIES
from pyups.core.durations import DurationError, parse_duration
from pyups.core.template import FIXED_FIELDS, TemplateError, unknown_fields

DEFAULT_CONFIG_PATH = "/etc/pyups/pyups.conf"
_DEFAULT_SERVER = Server(DEFAULT_HOST, DEFAULT_PORT)


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """How the monitor polls and shuts down (the ``[monitor]`` table); durations in seconds."""

    interval: float = 5.0
    interval_alert: float = 2.0
    timeout: float = 5.0
    dead_time: float = 15.0
    nocomm_warn: float = 300.0
    replbatt_warn: float = 43200.0
    shutdown_command: tuple[str, ...] = ("systemctl", "poweroff")
    dry_run: bool = False
    state_file: str = "/var/lib/pyups/state.json"


@dataclass(frozen=True, slots=True)
class UpsConfig:
    """One monitored UPS (a ``[[ups]]`` entry); ``password`` is the resolved secret, never shown."""

    name: str
    server: Server = _DEFAULT_SERVER
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    password_file: str | None = None


@dataclass(frozen=True, slots=True)
class EventSettings:
    """Overrides for one built-in event (``[events.NAME]``); None means the catalogue's default."""

    enabled: bool = True
    priority: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """A whole validated configuration; ``events`` holds only the events the file mentions."""

    monitor: MonitorConfig
    ups: tuple[UpsConfig, ...]
    events: Mapping[str, EventSettings]
    source: str | None = None


Kind = Literal[
    "duration",
    "bool",
    "string",
    "path",
    "command",
    "ups_name",
    "server",
    "secret",
    "priority",
    "template",
]


@dataclass(frozen=True, slots=True)
class Key:
    """One configuration key: where it lives, its kind, its default as TOML text, what it does."""

    section: str  # "monitor", "ups" (each [[ups]]) or "events" (each [events.NAME])
    name: str
    kind: Kind
    default: str | None  # TOML source of the default; None: required, or no value by default
    doc: str
    required: bool = False


KEYS: tuple[Key, ...] = (
    Key("monitor", "interval", "duration", '"5s"', "poll period (upsmon POLLFREQ)"),
    Key(
        "monitor",
        "interval_alert",
        "duration",
        '"2s"',
        "poll period while on battery or alarm (POLLFREQALERT); at most interval",
    ),
    Key("monitor", "timeout", "duration", '"5s"', "time allowed for one request to upsd"),
    Key(
        "monitor",
        "dead_time",
        "duration",
        '"15s"',
        "no data for this long while last seen on battery = critical (DEADTIME)",
    ),
    Key(
        "monitor",
        "nocomm_warn",
        "duration",
        '"5m"',
        "repeat NOCOMM this often while unreachable (NOCOMMWARNTIME)",
    ),
    Key("monitor", "replbatt_warn", "duration", '"12h"', "repeat REPLBATT this often (RBWARNTIME)"),
    Key(
        "monitor",
        "shutdown_command",
        "command",
        '["systemctl", "poweroff"]',
        "the command that shuts this host down, as a list of arguments",
    ),
    Key("monitor", "dry_run", "bool", "false", "log what actions would do, do nothing"),
    Key(
        "monitor",
        "state_file",
        "path",
        '"/var/lib/pyups/state.json"',
        "where pyups keeps state across restarts",
    ),
    Key("ups", "name", "ups_name", None, "the UPS as upsd knows it", required=True),
    Key("ups", "server", "server", '"localhost:3493"', "upsd address, HOST[:PORT] or [IPV6]:PORT"),
    Key("ups", "username", "string", None, "upsd user (upsd.users), optional"),
    Key(
        "ups",
        "password",
        "secret",
        None,
        "upsd password; refused if the config file is group/world-readable",
    ),
    Key(
        "ups",
        "password_file",
        "path",
        None,
        "file holding the password (one trailing newline ignored); instead of password",
    ),
    Key("events", "enabled", "bool", "true", "false: never report this event"),
    Key(
        "events",
        "priority",
        "priority",
        None,
        "syslog priority name; default: the event's built-in one",
    ),
    Key(
        "events",
        "message",
        "template",
        None,
        'message template, e.g. "UPS {ups} on battery"; default: the built-in one',
    ),
)


def keys_of(section: str) -> tuple[Key, ...]:
    """The keys of one section, in table order."""
    return tuple(key for key in KEYS if key.section == section)


# Events the user may configure under [events.NAME]; RULE and ACTION belong to rules.
CONFIGURABLE_EVENTS = tuple(name for name in EVENTS if name not in ("RULE", "ACTION"))

_UPS_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")


class Invalid(ValueError):
    """A value of the wrong kind; the message says what is wrong and what to write instead."""


def show(value: object) -> str:
    """A value as it would look in TOML, for error messages (never used for secrets)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | list | dict):
        try:
            return json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            pass
    return repr(value)


def _string(value: object, what: str = "a string") -> str:
    if not isinstance(value, str):
        raise Invalid(f"{show(value)} is not {what}; write it in quotes")
    if not value.strip():
        raise Invalid("must not be empty; remove the key to use the default")
    return value


def _duration(value: object) -> float:
    try:
        seconds = parse_duration(value)
    except DurationError:
        raise Invalid(
            f"{show(value)} is not a duration; write seconds (30) or e.g. "
            '"500ms", "90s", "5m", "1h30m"'
        ) from None
    if seconds <= 0:
        raise Invalid(f'{show(value)} must be longer than zero, e.g. "5s"')
    return seconds


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{show(value)} is not a boolean; write true or false (no quotes)")
    return value


def _command(value: object) -> tuple[str, ...]:
    example = '["systemctl", "poweroff"]'
    if isinstance(value, str):
        raise Invalid(f"{show(value)} must be a list of arguments, e.g. {example}")
    if not isinstance(value, list) or not value:
        raise Invalid(f"{show(value)} must be a non-empty list of strings, e.g. {example}")
    if not all(isinstance(arg, str) for arg in value) or not value[0].strip():
        raise Invalid(f"{show(value)} must contain only strings, starting with the program")
    return tuple(value)


def _ups_name(value: object) -> str:
    name = _string(value)
    if not _UPS_NAME.match(name):
        raise Invalid(f"{show(name)} is not a UPS name; use letters, digits and _ . : - only")
    return name


def _server(value: object) -> Server:
    try:
        return parse_server(_string(value, "an address"))
    except AddressError as exc:
        raise Invalid(f'{exc}; write HOST[:PORT], e.g. "localhost:3493"') from None


def _secret(value: object) -> str:
    # Never show the value: it may be (part of) a password.
    if not isinstance(value, str):
        raise Invalid(f"expected a string, got {type(value).__name__}; write it in quotes")
    if not value:
        raise Invalid("must not be empty; remove the key to log in without a password")
    return value


def _priority(value: object) -> str:
    if not isinstance(value, str) or value not in PRIORITIES:
        names = ", ".join(PRIORITIES)
        raise Invalid(f"{show(value)} is not a syslog priority; use one of: {names}")
    return value


def _template(value: object) -> str:
    template = _string(value)
    try:
        unknown = unknown_fields(template)
    except TemplateError as exc:
        raise Invalid(f"bad template: {exc}") from None
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        known = ", ".join("{" + name + "}" for name in sorted(FIXED_FIELDS))
        raise Invalid(
            f"unknown field {names}; use {known}, or a NUT variable such as {{battery.charge}}"
        )
    return template


CHECKS: Mapping[Kind, Callable[[object], Any]] = {
    "duration": _duration,
    "bool": _bool,
    "string": _string,
    "path": _string,
    "command": _command,
    "ups_name": _ups_name,
    "server": _server,
    "secret": _secret,
    "priority": _priority,
    "template": _template,
}
