"""The configuration schema: the frozen dataclasses the program uses, and one table of every key.

The table (``KEYS``) is the single source for validation (which keys exist, of what kind) and for
the test that checks ``etc/pyups.conf.example`` documents every key with its default.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pyups.address import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    UPS_NAME,
    AddressError,
    Server,
    UpsAddress,
    parse_server,
)
from pyups.core.catalogue import EVENTS, PRIORITIES
from pyups.core.durations import DurationError, parse_duration
from pyups.core.expr import Expression, ExpressionError, compile_expression
from pyups.core.protection import Role
from pyups.core.rules import (
    DEFAULT_EXEC_TIMEOUT,
    Action,
    ExecAction,
    InstcmdAction,
    NotifyAction,
    Rule,
    ShutdownAction,
)
from pyups.core.sequence import Step
from pyups.core.template import FIXED_FIELDS, TemplateError, unknown_fields

DEFAULT_CONFIG_PATH = "/etc/pyups/pyups.conf"
# interval_alert's default follows interval: this, or interval when interval is shorter.
INTERVAL_ALERT_DEFAULT = 2.0
_FOLLOWS_INTERVAL = -1.0  # interval_alert not given: derived from interval in __post_init__
_DEFAULT_SERVER = Server(DEFAULT_HOST, DEFAULT_PORT)


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """How the monitor polls (the ``[monitor]`` table); durations in seconds.

    ``shutdown_command`` is the older place of ``[shutdown] command``: once loaded it always
    holds the command in effect (the same as ``Config.shutdown.command``), so whatever still
    reads it runs what ``[shutdown]`` says.

    ``interval_alert`` left out is the smaller of :data:`INTERVAL_ALERT_DEFAULT` and
    ``interval``, so ``MonitorConfig(interval=1.0).interval_alert == 1.0`` and a file that sets
    only ``interval`` is valid; once built, it always holds the period in effect.
    """

    interval: float = 5.0
    interval_alert: float = _FOLLOWS_INTERVAL
    timeout: float = 5.0
    dead_time: float = 15.0
    nocomm_warn: float = 300.0
    replbatt_warn: float = 43200.0
    shutdown_command: tuple[str, ...] = ("systemctl", "poweroff")
    dry_run: bool = False
    state_file: str = "/var/lib/pyups/state.json"

    def __post_init__(self) -> None:
        if self.interval_alert == _FOLLOWS_INTERVAL:
            derived = min(INTERVAL_ALERT_DEFAULT, self.interval)
            object.__setattr__(self, "interval_alert", derived)


@dataclass(frozen=True, slots=True)
class UpsConfig:
    """One monitored UPS (a ``[[ups]]`` entry); ``password`` is the resolved secret, never shown."""

    name: str
    server: Server = _DEFAULT_SERVER
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    password_file: str | None = None
    tls: bool = False  # STARTTLS, never falling back to clear text
    ca_file: str | None = None  # resolved against the config file's directory
    tls_verify: bool = True
    role: Role = Role.SECONDARY  # this host's part for this UPS (DESIGN §10)
    power: int = 1  # supplies of this host the UPS feeds (upsmon POWERVALUE); 0 watches only

    @property
    def address(self) -> UpsAddress:
        return UpsAddress(self.name, self.server)


@dataclass(frozen=True, slots=True)
class EventSettings:
    """Overrides for one built-in event (``[events.NAME]``); None means the catalogue's default."""

    enabled: bool = True
    priority: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """The ``[metrics]`` table: where to serve Prometheus metrics; None serves none."""

    listen: Server | None = None


DEFAULT_POWERDOWN_FLAG = "/run/pyups/killpower"


@dataclass(frozen=True, slots=True)
class ShutdownConfig:
    """When and how this host goes down (the ``[shutdown]`` table, DESIGN §10); seconds.

    ``powerdown_flag`` is ``""`` for no flag. ``before`` steps run their argv as written
    (no templates: a step is about the host, not about one UPS's event).
    """

    min_supplies: int = 1
    command: tuple[str, ...] = ("systemctl", "poweroff")
    before: tuple[Step, ...] = ()
    final_delay: float = 5.0
    host_sync: float = 15.0
    lowbatt_for: float = 0.0
    linger: float = 0.0
    powerdown_flag: str = DEFAULT_POWERDOWN_FLAG


@dataclass(frozen=True, slots=True)
class Config:
    """A whole validated configuration; ``events`` holds only the events the file mentions.

    ``warnings`` are the loader's own ``FILE:LINE: key: text`` lines about things that are
    valid but should change (an old key still read); ``check-config`` prints them.
    """

    monitor: MonitorConfig
    ups: tuple[UpsConfig, ...]
    events: Mapping[str, EventSettings]
    source: str | None = None
    rules: tuple[Rule, ...] = ()
    metrics: MetricsConfig = MetricsConfig()
    shutdown: ShutdownConfig = ShutdownConfig()
    warnings: tuple[str, ...] = ()

    def entry(self, ups: UpsAddress) -> UpsConfig | None:
        """The ``[[ups]]`` entry for this UPS (its login and TLS settings), if it has one."""
        return next((u for u in self.ups if u.address == ups), None)


Kind = Literal[
    "duration",
    "bool",
    "string",
    "path",
    "optional_path",
    "command",
    "ups_name",
    "server",
    "listen",
    "secret",
    "priority",
    "template",
    "rule_name",
    "condition",
    "event_names",
    "hold",
    "ups_names",
    "actions",
    "role",
    "power",
    "supplies",
    "delay",
    "steps",
    "flag_path",
]


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One configuration key: where it lives, its kind, its default as TOML text, what it does."""

    # "monitor", "ups" (each [[ups]]), "events" ([events.NAME]), "rule" ([[rule]]), "metrics",
    # "shutdown"
    section: str
    name: str
    kind: Kind
    default: str | None  # TOML source of the default; None: required, or no value by default
    doc: str
    required: bool = False
    # How the default follows other keys, when it does; ``default`` is then its value with
    # every other key at its own default (what the example file shows).
    derived: str | None = None


KEYS: tuple[KeySpec, ...] = (
    KeySpec("monitor", "interval", "duration", '"5s"', "poll period (upsmon POLLFREQ)"),
    KeySpec(
        "monitor",
        "interval_alert",
        "duration",
        '"2s"',
        "poll period while on battery or alarm (POLLFREQALERT); at most interval",
        derived="the smaller of 2s and interval",
    ),
    KeySpec("monitor", "timeout", "duration", '"5s"', "time allowed for one request to upsd"),
    KeySpec(
        "monitor",
        "dead_time",
        "duration",
        '"15s"',
        "no data for this long while last seen on battery = critical (DEADTIME)",
    ),
    KeySpec(
        "monitor",
        "nocomm_warn",
        "duration",
        '"5m"',
        "repeat NOCOMM this often while unreachable (NOCOMMWARNTIME)",
    ),
    KeySpec(
        "monitor", "replbatt_warn", "duration", '"12h"', "repeat REPLBATT this often (RBWARNTIME)"
    ),
    KeySpec(
        "monitor",
        "shutdown_command",
        "command",
        '["systemctl", "poweroff"]',
        "older name of [shutdown] command, still read (check-config warns); "
        "[shutdown] command wins when both are set",
    ),
    KeySpec("monitor", "dry_run", "bool", "false", "log what actions would do, do nothing"),
    KeySpec(
        "monitor",
        "state_file",
        "optional_path",
        '"/var/lib/pyups/state.json"',
        'where pyups keeps state across restarts; "" keeps none',
    ),
    KeySpec(
        "metrics",
        "listen",
        "listen",
        '""',
        'serve Prometheus metrics on /metrics at HOST:PORT, e.g. "127.0.0.1:9199"; "" serves none',
    ),
    KeySpec("ups", "name", "ups_name", None, "the UPS as upsd knows it", required=True),
    KeySpec(
        "ups", "server", "server", '"localhost:3493"', "upsd address, HOST[:PORT] or [IPV6]:PORT"
    ),
    KeySpec(
        "ups",
        "role",
        "role",
        '"secondary"',
        '"primary" if this host manages the UPS (sets FSD, waits for the others, writes the '
        'power-down flag), else "secondary"',
    ),
    KeySpec(
        "ups",
        "power",
        "power",
        "1",
        "supplies of this host the UPS feeds (upsmon POWERVALUE); 0 = watch only",
    ),
    KeySpec("ups", "username", "string", None, "upsd user (upsd.users), optional"),
    KeySpec(
        "ups",
        "password",
        "secret",
        None,
        "upsd password; refused if the config file is group/world-readable",
    ),
    KeySpec(
        "ups",
        "password_file",
        "path",
        None,
        "file holding the password (one trailing newline ignored); instead of password",
    ),
    KeySpec(
        "ups",
        "tls",
        "bool",
        "false",
        "talk to upsd over TLS (STARTTLS); an upsd without TLS is then an error, never clear text",
    ),
    KeySpec(
        "ups",
        "ca_file",
        "path",
        None,
        "the CA that signed upsd's certificate (PEM); default: the system's CAs; needs tls = true",
    ),
    KeySpec(
        "ups",
        "tls_verify",
        "bool",
        "true",
        "check upsd's certificate and host name (against ca_file); needs tls = true",
    ),
    KeySpec(
        "shutdown",
        "min_supplies",
        "supplies",
        "1",
        "go down when the power of the UPSes that are not critical adds up to less than this "
        "(upsmon MINSUPPLIES); at least 1",
    ),
    KeySpec(
        "shutdown",
        "command",
        "command",
        '["systemctl", "poweroff"]',
        "the command that shuts this host down, as a list of arguments",
    ),
    KeySpec(
        "shutdown",
        "before",
        "steps",
        "[]",
        'steps run in order before the command: { exec = ["/usr/local/sbin/stop-vms"], '
        'timeout = "2m" } (timeout default "30s"; arguments as written, no templates)',
    ),
    KeySpec(
        "shutdown",
        "final_delay",
        "delay",
        '"5s"',
        "after the SHUTDOWN entry and the steps, before the command (upsmon FINALDELAY)",
    ),
    KeySpec(
        "shutdown",
        "host_sync",
        "delay",
        '"15s"',
        "primary: wait this long for the secondaries to log out; "
        "secondary: for the primary's FSD (upsmon HOSTSYNC)",
    ),
    KeySpec(
        "shutdown",
        "lowbatt_for",
        "delay",
        '"0s"',
        "OB + LB must hold this long before it counts (upsmon OBLBDURATION); FSD never waits",
    ),
    KeySpec(
        "shutdown",
        "linger",
        "delay",
        '"0s"',
        "secondary: stay logged in this long after the command starts (upsmon SHUTDOWNEXIT)",
    ),
    KeySpec(
        "shutdown",
        "powerdown_flag",
        "flag_path",
        f'"{DEFAULT_POWERDOWN_FLAG}"',
        'primary: written just before the command, for the late-shutdown hook; on tmpfs; "" = none',
    ),
    KeySpec("events", "enabled", "bool", "true", "false: never report this event"),
    KeySpec(
        "events",
        "priority",
        "priority",
        None,
        "syslog priority name; default: the event's built-in one",
    ),
    KeySpec(
        "events",
        "message",
        "template",
        None,
        'message template, e.g. "UPS {ups} on battery"; default: the built-in one',
    ),
    KeySpec(
        "rule", "name", "rule_name", None, "unique rule name: a-z, 0-9, _ and -", required=True
    ),
    KeySpec(
        "rule",
        "if",
        "condition",
        None,
        'a condition, e.g. "OB and battery.charge < 50"; a rule has either if or on',
    ),
    KeySpec(
        "rule",
        "on",
        "event_names",
        None,
        'built-in events to fire on, e.g. ["ONBATT", "LOWBATT"]; a rule has either if or on',
    ),
    KeySpec(
        "rule",
        "for",
        "hold",
        "0",
        "fire once the condition has held continuously this long (debounce); if rules only",
    ),
    KeySpec(
        "rule",
        "repeat",
        "duration",
        None,
        "fire again this often while the condition keeps holding; if rules only",
    ),
    KeySpec(
        "rule", "ups", "ups_names", None, "only these [[ups]] names; default: every monitored UPS"
    ),
    KeySpec(
        "rule", "priority", "priority", '"notice"', "syslog priority of the rule's RULE entries"
    ),
    KeySpec(
        "rule",
        "message",
        "template",
        None,
        'message template, e.g. "UPS {ups}: {rule} after {held}"; default: a built-in one',
    ),
    KeySpec(
        "rule",
        "clear_message",
        "template",
        None,
        "message logged when a fired condition stops holding; if rules only; default: none",
    ),
    KeySpec(
        "rule",
        "do",
        "actions",
        "[]",
        'actions: { exec = ["/path", "{ups}"], timeout = "30s" }, '
        '{ instcmd = "beeper.disable", value = "..." }, { notify = "ntfy://topic" } '
        "(Apprise URL or list, needs pyups[notify]), { shutdown = true }",
    ),
)


def keys_of(section: str) -> tuple[KeySpec, ...]:
    """The keys of one section, in table order."""
    return tuple(key for key in KEYS if key.section == section)


# Events the user may configure under [events.NAME]; RULE and ACTION belong to rules.
CONFIGURABLE_EVENTS = tuple(name for name in EVENTS if name not in ("RULE", "ACTION"))


class Invalid(ValueError):
    """A value of the wrong kind; the message says what is wrong and what to write instead.

    ``problems`` lists (path below the key, message) pairs, for a value such as ``do`` whose
    parts are checked one by one: ``("[1].exec", "...")`` is reported as ``KEY[1].exec``.
    """

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems) or (("", message),)


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


def _command(value: object, example: str = '["systemctl", "poweroff"]') -> tuple[str, ...]:
    """A program and its arguments, taken as written."""
    if isinstance(value, str):
        raise Invalid(f"{show(value)} must be a list of arguments, e.g. {example}")
    if not isinstance(value, list) or not value:
        raise Invalid(f"{show(value)} must be a non-empty list of strings, e.g. {example}")
    if not all(isinstance(arg, str) for arg in value) or not value[0].strip():
        raise Invalid(f"{show(value)} must contain only strings, starting with the program")
    return tuple(value)


def _ups_name(value: object) -> str:
    name = _string(value)
    if not UPS_NAME.match(name):
        raise Invalid(f"{show(name)} is not a UPS name; use letters, digits and _ . : - only")
    return name


def _server(value: object) -> Server:
    try:
        return parse_server(_string(value, "an address"))
    except AddressError as exc:
        raise Invalid(f'{exc}; write HOST[:PORT], e.g. "localhost:3493"') from None


def parse_listen(text: str) -> Server:
    """``HOST:PORT`` or ``[IPV6]:PORT`` to serve on; the port must be given. Raises Invalid."""
    example = '"127.0.0.1:9199", "[::1]:9199" or "0.0.0.0:9199"'
    try:
        address = parse_server(text)
    except AddressError as exc:
        raise Invalid(f"{exc}; write HOST:PORT, e.g. {example}") from None
    if not text.strip().rsplit("]", 1)[-1].count(":"):
        raise Invalid(f"{text!r} has no port; write HOST:PORT, e.g. {example}")
    return address


def _listen(value: object) -> Server | None:
    return None if value == "" else parse_listen(_string(value, "an address"))


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
    return _check_template(_string(value))


def _check_template(template: str) -> str:
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


RULE_NAME = re.compile(r"^[a-z0-9_-]+$")
_COMMAND_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
# Each kind of action (named by its key) and the options it takes besides that key.
_ACTION_KEYS = {"exec": ("timeout",), "instcmd": ("value",), "notify": (), "shutdown": ()}


def _rule_name(value: object) -> str:
    name = _string(value)
    if not RULE_NAME.match(name):
        raise Invalid(f"{show(name)} is not a rule name; use a-z, 0-9, _ and - only")
    return name


def _condition(value: object) -> Expression:
    text = _string(value, "a condition")
    try:
        return compile_expression(text)
    except ExpressionError as exc:
        raise Invalid(f"{exc} in {show(text)}") from None


def _event_names(value: object) -> frozenset[str]:
    example = '["ONBATT", "LOWBATT"]'
    if not isinstance(value, list) or not value:
        raise Invalid(f"{show(value)} must be a non-empty list of event names, e.g. {example}")
    unknown = [show(name) for name in value if name not in CONFIGURABLE_EVENTS]
    if unknown:
        raise Invalid(
            f"unknown event {', '.join(unknown)}; valid names: {', '.join(CONFIGURABLE_EVENTS)}"
        )
    return frozenset(value)


def _hold(value: object) -> float:
    try:
        return parse_duration(value)
    except DurationError:
        raise Invalid(
            f'{show(value)} is not a duration; write seconds (30) or e.g. "90s", "5m", "1h30m"'
        ) from None


def _ups_names(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise Invalid(
            f'{show(value)} must be a non-empty list of UPS names, e.g. ["eaton800"]; '
            "remove the key to apply the rule to every UPS"
        )
    return frozenset(_ups_name(name) for name in value)


def _actions(value: object) -> tuple[Action, ...]:
    example = '[{ exec = ["/usr/local/bin/page-admin", "{ups}"] }]'
    if not isinstance(value, list):
        raise Invalid(f"{show(value)} must be a list of actions, e.g. {example}")
    return tuple(_each(value, _action))


E = TypeVar("E")


def _each(entries: list[Any], convert: Callable[[object], E]) -> list[E]:
    """``convert`` every entry; every problem is reported at its own ``[index]`` path."""
    found: list[E] = []
    problems: list[tuple[str, str]] = []
    for index, entry in enumerate(entries):
        try:
            found.append(convert(entry))
        except Invalid as exc:
            problems.extend((f"[{index}]{where}", message) for where, message in exc.problems)
    if problems:
        raise Invalid(problems[0][1], problems)
    return found


def _action(entry: object) -> Action:
    """One ``do`` entry; every problem in it is reported, each at its own path."""
    return _entry(entry, _ACTION_KEYS, _argv, "{ shutdown = true }")


def _entry(
    entry: object,
    kinds: Mapping[str, tuple[str, ...]],
    argv: Callable[[object], tuple[str, ...]],
    example: str,
) -> Action:
    """An action table of one of ``kinds`` (its key -> the options it takes), fully checked.

    Shared by ``[[rule]] do`` and ``[shutdown] before`` (which takes exec only, its
    arguments checked by ``argv``), so that both read and fail the same way.
    """
    if not isinstance(entry, dict):
        raise Invalid(f"{show(entry)} is not an action; write e.g. {example}")
    found = [kind for kind in kinds if kind in entry]
    if len(found) > 1:
        raise Invalid(f"{' and '.join(found)} in one entry; write one action per {{ ... }}")
    if not found or (found == ["shutdown"] and entry["shutdown"] is not True):
        *others, last = kinds
        use = f"use {', '.join(others)} or {last}" if others else f"write {example}"
        raise Invalid(f"unknown action; {use}")
    kind = found[0]
    options = kinds[kind]
    takes = f"{kind} takes only {', '.join(options)}" if options else f"{kind} takes no other key"
    problems = [
        (f".{key}", f"unknown key; {takes}") for key in entry if key != kind and key not in options
    ]

    def check(key: str, convert: Callable[[object], Any]) -> Any:
        try:
            return convert(entry[key]) if key in entry else None
        except Invalid as exc:
            problems.extend((f".{key}{where}", message) for where, message in exc.problems)
            return None

    action: Action = ShutdownAction()
    if kind == "exec":
        args, timeout = check("exec", argv), check("timeout", _duration)
        action = ExecAction(args, DEFAULT_EXEC_TIMEOUT if timeout is None else timeout)
    elif kind == "instcmd":
        action = InstcmdAction(check("instcmd", _command_name), check("value", _string))
    elif kind == "notify":
        action = NotifyAction(check("notify", _notify_urls) or ())
    if problems:
        raise Invalid(problems[0][1], problems)
    return action


def _argv(value: object) -> tuple[str, ...]:
    example = '["/usr/local/bin/page-admin", "{ups}"]'
    if not isinstance(value, list) or not value:
        raise Invalid(f"{show(value)} must be a non-empty list of arguments, e.g. {example}")
    if not all(isinstance(arg, str) for arg in value) or not value[0].strip():
        raise Invalid(f"{show(value)} must contain only strings, starting with the program")
    problems: list[tuple[str, str]] = []
    for index, arg in enumerate(value):
        try:
            _check_template(arg)
        except Invalid as exc:
            problems.append((f"[{index}]", str(exc)))
    if problems:
        raise Invalid(problems[0][1], problems)
    return tuple(value)


def _notify_urls(value: object) -> tuple[str, ...]:
    """One Apprise URL or a list of them; each must be one Apprise understands.

    URLs are never repeated in messages (they often hold a token): a bad one is named by its
    place in the list and its scheme.
    """
    example = '"ntfy://my-ups-topic" or ["json://host/path", "mailto://user:pass@example.com"]'
    urls = [value] if isinstance(value, str) else value
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise Invalid(f"must be an Apprise URL or a non-empty list of them, e.g. {example}")
    from pyups.actions.notify import unknown_urls

    try:
        unusable = unknown_urls(urls)
    except ImportError as exc:  # Apprise is an optional extra
        raise Invalid(str(exc)) from None
    problems = [
        ("" if isinstance(value, str) else f"[{index}]", message) for index, message in unusable
    ]
    if problems:
        raise Invalid(problems[0][1], problems)
    return tuple(urls)


def _command_name(value: object) -> str:
    name = _string(value)
    if not _COMMAND_NAME.match(name):
        raise Invalid(f"{show(name)} is not an instant command name, e.g. beeper.disable")
    return name


_STEP_EXAMPLE = '{ exec = ["/usr/local/sbin/stop-vms"], timeout = "2m" }'


def _step(entry: object) -> Step:
    """One ``[shutdown] before`` entry: an exec action whose arguments are taken as written."""
    action = _entry(entry, {"exec": ("timeout",)}, _step_argv, _STEP_EXAMPLE)
    assert isinstance(action, ExecAction)
    return Step(action.argv, action.timeout)


def _step_argv(value: object) -> tuple[str, ...]:
    return _command(value, '["/usr/local/sbin/stop-vms", "--all"]')


def _steps(value: object) -> tuple[Step, ...]:
    if not isinstance(value, list):
        raise Invalid(f"{show(value)} must be a list of steps, e.g. [{_STEP_EXAMPLE}]")
    return tuple(_each(value, _step))


def _role(value: object) -> Role:
    old = {"master": "primary", "slave": "secondary"}
    if isinstance(value, str) and value in old:
        raise Invalid(f'{show(value)} is upsmon\'s old name; write "{old[value]}"')
    if not isinstance(value, str) or value not in tuple(Role):
        raise Invalid(f'{show(value)} is not a role; write "primary" or "secondary"')
    return Role(value)


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _power(value: object) -> int:
    power = _whole(value)
    if power is None or power < 0:
        raise Invalid(
            f"{show(value)} is not a number of supplies; write a whole number: 1 (the default) "
            "or more for a UPS that feeds this host, 0 to watch it only"
        )
    return power


def _supplies(value: object) -> int:
    supplies = _whole(value)
    if supplies is None or supplies < 1:
        raise Invalid(
            f"{show(value)} must be a whole number of at least 1, e.g. min_supplies = 1; "
            "for a host that no UPS shuts down, give every [[ups]] power = 0 instead"
        )
    return supplies


def _flag_path(value: object) -> str:
    if value == "":
        return ""
    path = _string(value, "a path")
    if not path.startswith("/"):
        raise Invalid(
            f'{show(path)} is not an absolute path; write e.g. "/run/pyups/killpower" '
            '(on tmpfs), or "" for no flag'
        )
    return path


CHECKS: Mapping[Kind, Callable[[object], Any]] = {
    "duration": _duration,
    "bool": _bool,
    "string": _string,
    "path": _string,
    "optional_path": lambda value: _string(value) if value != "" else "",
    "command": _command,
    "ups_name": _ups_name,
    "server": _server,
    "listen": _listen,
    "secret": _secret,
    "priority": _priority,
    "template": _template,
    "rule_name": _rule_name,
    "condition": _condition,
    "event_names": _event_names,
    "hold": _hold,
    "ups_names": _ups_names,
    "actions": _actions,
    "role": _role,
    "power": _power,
    "supplies": _supplies,
    "delay": _hold,
    "steps": _steps,
    "flag_path": _flag_path,
}
