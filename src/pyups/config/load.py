"""Loading and validating the configuration: every problem is collected and reported at once.

Each error is one line, ``FILE:LINE: key.path: what is wrong and what to do``. No error message
ever contains a password.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from pyups.address import UpsAddress
from pyups.config.locate import Locator
from pyups.config.schema import (
    CHECKS,
    CONFIGURABLE_EVENTS,
    RULE_NAME,
    Config,
    EventSettings,
    Invalid,
    KeySpec,
    MetricsConfig,
    MonitorConfig,
    ShutdownConfig,
    UpsConfig,
    keys_of,
    show,
)
from pyups.core.durations import format_duration
from pyups.core.rules import Rule

_TOML_POSITION = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$", re.DOTALL)


class ConfigError(Exception):
    """Every problem found in a configuration; ``errors`` holds one line per problem."""

    errors: list[str]

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


@dataclass
class Context:
    """What section validators share: where the text came from, its lines, the errors so far."""

    source: str
    locator: Locator
    mode: int | None
    parsed: dict[str, Any] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)  # the TOML as read
    invalid: set[str] = field(default_factory=set)  # key paths whose value was refused
    _found: list[tuple[int, str]] = field(default_factory=list)
    _warned: list[tuple[int, str]] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """The errors so far, in file order (errors without a line first)."""
        return [text for _, text in sorted(self._found, key=lambda item: item[0])]

    @property
    def warnings(self) -> list[str]:
        """The warnings so far, in file order, formatted as errors are."""
        return [text for _, text in sorted(self._warned, key=lambda item: item[0])]

    def error(self, path: str, message: str) -> None:
        """Record one problem with ``path`` (a key path such as ``ups[0].server``)."""
        self._found.append(self._located(path, message))

    def warn(self, path: str, message: str) -> None:
        """Record something valid that should change (``Config.warnings``)."""
        self._warned.append(self._located(path, message))

    def _located(self, path: str, message: str) -> tuple[int, str]:
        line = self.locator.line(path) if path else None
        where = self.source if line is None else f"{self.source}:{line}"
        text = f"{where}: {path}: {message}" if path else f"{where}: {message}"
        return line or 0, text

    def table(
        self, value: object, path: str, keys: tuple[KeySpec, ...], label: str = ""
    ) -> dict[str, Any] | None:
        """Check one table against its schema keys; the valid values, converted, or None.

        ``label`` starts every message, e.g. ``rule "outage": `` to name the table.
        """
        if not isinstance(value, dict):
            self.error(path, f"expected a table, got {_kind_of(value)}")
            return None
        known = {key.name: key for key in keys}
        values: dict[str, Any] = {}
        for name, raw in value.items():
            key = known.get(name)
            if key is None:
                self.error(f"{path}.{name}", f"{label}unknown key; known keys: {', '.join(known)}")
                continue
            try:
                values[name] = CHECKS[key.kind](raw)
            except Invalid as exc:
                self.invalid.add(f"{path}.{name}")
                for where, message in exc.problems:
                    self.error(f"{path}.{name}{where}", f"{label}{message}")
        for key in keys:
            if key.required and key.name not in value:
                self.error(
                    f"{path}.{key.name}", f"{label}missing; add {key.name} = ... ({key.doc})"
                )
        return values


def _kind_of(value: object) -> str:
    """A TOML type name; containers are never shown, as they might hold a password."""
    names = {
        bool: "a boolean",
        str: "a string",
        int: "an integer",
        float: "a float",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), "a date/time")


def _monitor(value: object, ctx: Context) -> MonitorConfig:
    """The [monitor] table; interval_alert may not exceed interval (left out, it follows it)."""
    values = ctx.table(value, "monitor", keys_of("monitor")) if value is not None else {}
    if values is None:
        return MonitorConfig()
    monitor = MonitorConfig(**values)
    # Compare only values that are valid (or defaults), not a default standing in for a bad one.
    given = value if isinstance(value, dict) else {}
    checked = all(key in values for key in ("interval", "interval_alert") if key in given)
    if checked and monitor.interval_alert > monitor.interval:
        path = "monitor.interval_alert" if "interval_alert" in values else "monitor.interval"
        alert, interval = format_duration(monitor.interval_alert), format_duration(monitor.interval)
        ctx.error(
            path,
            f"interval_alert ({alert}) is longer than interval ({interval}); "
            "interval_alert is the faster polling used on battery, so make it at most "
            "interval",
        )
    return monitor


def _metrics(value: object, ctx: Context) -> MetricsConfig:
    """The [metrics] table."""
    values = ctx.table(value, "metrics", keys_of("metrics")) if value is not None else {}
    return MetricsConfig(**(values or {}))


def _shutdown(value: object, ctx: Context) -> ShutdownConfig:
    """The [shutdown] table; it takes over monitor.shutdown_command, and checks the supplies.

    Runs after [monitor] and [[ups]]: the command in effect is written back into
    ``monitor.shutdown_command`` too, so both names always hold the same command.
    """
    values = ctx.table(value, "shutdown", keys_of("shutdown")) if value is not None else {}
    shutdown = ShutdownConfig(**(values or {}))
    given = value if isinstance(value, dict) else {}
    monitor_given = ctx.document.get("monitor")
    old = "shutdown_command" in monitor_given if isinstance(monitor_given, dict) else False
    monitor: MonitorConfig = ctx.parsed["monitor"]
    if old and "command" in given:
        ctx.warn(
            "monitor.shutdown_command",
            "ignored: [shutdown] command is set and is the command used; remove this key",
        )
    elif old and "monitor.shutdown_command" not in ctx.invalid:
        shutdown = replace(shutdown, command=monitor.shutdown_command)
        ctx.warn(
            "monitor.shutdown_command",
            "still read, but its place is now [shutdown]: move it there as command = "
            f"{show(list(monitor.shutdown_command))}",
        )
    ctx.parsed["monitor"] = replace(monitor, shutdown_command=shutdown.command)
    _check_supplies(shutdown, ctx)
    return shutdown


def _check_supplies(shutdown: ShutdownConfig, ctx: Context) -> None:
    """Total power below min_supplies is an error, unless every UPS watches only (power 0)."""
    unsure = any(re.fullmatch(r"ups\[\d+\]\.power", path) for path in ctx.invalid)
    if unsure or "shutdown.min_supplies" in ctx.invalid:
        return  # already reported: no second error built on a default standing in for it
    total = sum(ups.power for ups in ctx.parsed["ups"])
    if 0 < total < shutdown.min_supplies:
        fed = f"{total} {'supply' if total == 1 else 'supplies'}"
        ctx.error(
            "shutdown.min_supplies",
            f"the [[ups]] entries feed {fed} in all (their power), fewer than min_supplies = "
            f"{shutdown.min_supplies}, so this host would shut down at once; lower "
            f"min_supplies to at most {total} or raise the power of the UPSes that feed it",
        )


def _ups_list(value: object, ctx: Context) -> tuple[UpsConfig, ...]:
    """The [[ups]] entries; names are checked, servers parsed, passwords resolved."""
    if value is None:
        return ()
    if not isinstance(value, list):
        ctx.error(
            "ups",
            f"expected an array of tables, got {_kind_of(value)}; "
            "write each UPS as [[ups]] (two brackets)",
        )
        return ()
    found: list[UpsConfig] = []
    seen: dict[UpsAddress, int] = {}
    for index, entry in enumerate(value):
        path = f"ups[{index}]"
        values = ctx.table(entry, path, keys_of("ups"))
        if not isinstance(entry, dict) or values is None or "name" not in values:
            continue
        _resolve_password(entry, values, path, ctx)
        _check_tls(entry, values, path, ctx)
        ups = UpsConfig(**values)
        identity = ups.address
        if "server" in entry and "server" not in values:
            pass  # a bad address, already reported: no duplicate check against the default
        elif identity in seen:
            first = seen[identity]
            ctx.error(
                path,
                f"{ups.name} at {ups.server} is already listed as ups[{first}]; remove one of them",
            )
        seen.setdefault(identity, index)
        found.append(ups)
    return tuple(found)


def _resolve_password(
    entry: dict[str, Any], values: dict[str, Any], path: str, ctx: Context
) -> None:
    """Refuse unsafe inline passwords; read password_file into values["password"]."""
    if "password" in entry and "password_file" in entry:
        ctx.error(f"{path}.password", "password and password_file are both set; keep only one")
        return
    mode = ctx.mode
    if "password" in values and mode is not None and mode & 0o044:
        ctx.error(
            f"{path}.password",
            f"{ctx.source} is readable by group/others "
            f"(mode {mode & 0o7777:04o}); run chmod 600 {ctx.source} or move the password "
            "to password_file",
        )
    if "password_file" not in values:
        return
    filename = os.path.join(os.path.dirname(ctx.source), values["password_file"])
    values["password_file"] = filename
    try:
        secret, _ = read_password_file(filename)
    except OSError as exc:
        ctx.error(
            f"{path}.password_file",
            f"cannot read {filename}: {exc.strerror or exc}; create it (chmod 600) or fix the path",
        )
        return
    except UnicodeDecodeError:
        ctx.error(f"{path}.password_file", f"{filename} is not UTF-8 text")
        return
    if not secret:
        ctx.error(f"{path}.password_file", f"{filename} is empty; write the password into it")
        return
    values["password"] = secret


def read_password_file(path: str) -> tuple[str, int]:
    """The password a file holds (one trailing line ending is not part of it), and the file's
    st_mode for a permission check; raises OSError or UnicodeDecodeError."""
    with open(path, encoding="utf-8") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        text = handle.read()
    return text.removesuffix("\n").removesuffix("\r"), mode


# [[ups]] keys that only mean something with tls = true.
_TLS_ONLY = ("ca_file", "tls_verify")


def _check_tls(entry: dict[str, Any], values: dict[str, Any], path: str, ctx: Context) -> None:
    """TLS settings need tls = true; ca_file is resolved like password_file and must be a PEM."""
    if "tls" in entry and "tls" not in values:
        return  # a bad tls value, already reported
    if not values.get("tls"):
        for key in _TLS_ONLY:
            if key in entry:
                ctx.error(
                    f"{path}.{key}",
                    f"{key} only applies to TLS connections; add tls = true to this [[ups]] "
                    f"(or remove {key})",
                )
    if "ca_file" not in values:
        return
    filename = os.path.join(os.path.dirname(ctx.source), values["ca_file"])
    values["ca_file"] = filename
    try:
        with open(filename, "rb") as handle:
            pem = handle.read(1024 * 1024)
    except OSError as exc:
        ctx.error(
            f"{path}.ca_file",
            f"cannot read {filename}: {exc.strerror or exc}; export upsd's CA there "
            "(certutil -L -d DB -n NICKNAME -a) or fix the path",
        )
        return
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        ctx.error(
            f"{path}.ca_file",
            f"{filename} is not a PEM certificate (no -----BEGIN CERTIFICATE----- line); "
            "export the CA with certutil's -a option",
        )


def _events(value: object, ctx: Context) -> Mapping[str, EventSettings]:
    """The [events.NAME] tables, for built-in events other than RULE and ACTION."""
    found: dict[str, EventSettings] = {}
    if value is None:
        return MappingProxyType(found)
    if not isinstance(value, dict):
        ctx.error("events", f"expected a table, got {_kind_of(value)}; write e.g. [events.CAL]")
        return MappingProxyType(found)
    for name, entry in value.items():
        path = f"events.{name}"
        if name not in CONFIGURABLE_EVENTS:
            hint = f" (did you mean {name.upper()}?)" if name.upper() in CONFIGURABLE_EVENTS else ""
            ctx.error(path, f"unknown event{hint}; valid names: {', '.join(CONFIGURABLE_EVENTS)}")
            continue
        values = ctx.table(entry, path, keys_of("events"))
        if values is not None:
            found[name] = EventSettings(**values)
    return MappingProxyType(found)


# [[rule]] keys that fill a Rule field of another name.
_RULE_FIELDS = {"if": "condition", "for": "hold", "do": "actions"}
_CONDITION_ONLY = ("for", "repeat", "clear_message")


def _rules(value: object, ctx: Context) -> tuple[Rule, ...]:
    """The [[rule]] entries: names unique, either if or on, ups names from the [[ups]] list."""
    if value is None:
        return ()
    if not isinstance(value, list):
        ctx.error(
            "rule",
            f"expected an array of tables, got {_kind_of(value)}; "
            "write each rule as [[rule]] (two brackets)",
        )
        return ()
    known_ups = sorted({ups.name for ups in ctx.parsed.get("ups", ())})
    seen: dict[str, int] = {}
    found: list[Rule] = []
    for index, entry in enumerate(value):
        path = f"rule[{index}]"
        name = entry.get("name") if isinstance(entry, dict) else None
        label = f"rule {show(name)}: " if isinstance(name, str) and RULE_NAME.match(name) else ""
        values = ctx.table(entry, path, keys_of("rule"), label)
        if not isinstance(entry, dict) or values is None:
            continue
        if "name" in values:
            if values["name"] in seen:
                ctx.error(
                    f"{path}.name",
                    f"{label}the name is already used by rule[{seen[values['name']]}]; "
                    "give every rule its own name",
                )
            seen.setdefault(values["name"], index)
        if "if" in entry and "on" in entry:
            ctx.error(
                f"{path}.on",
                f"{label}a rule has either if (a condition) or on (built-in events), not both; "
                "split it into two rules",
            )
        elif "if" not in entry and "on" not in entry:
            ctx.error(
                path,
                f'{label}say when the rule fires: if = "a condition" or on = ["EVENT", ...]',
            )
        elif "on" in entry:
            for key in _CONDITION_ONLY:
                if key in entry:
                    ctx.error(
                        f"{path}.{key}",
                        f"{label}{key} only applies to a condition (if); an on rule fires on "
                        f"every event it lists, so remove {key}",
                    )
        for ups in sorted(values.get("ups", ())):
            if ups not in known_ups:
                listed = ", ".join(known_ups) if known_ups else "none"
                ctx.error(
                    f"{path}.ups",
                    f"{label}{show(ups)} is not a UPS of this file's [[ups]] list "
                    f"(listed: {listed})",
                )
        if "name" in values:
            found.append(Rule(**{_RULE_FIELDS.get(key, key): v for key, v in values.items()}))
    return tuple(found)


Section = Callable[[Any, Context], Any]

# Top-level sections: TOML key -> (Config field it fills, validator). The validator gets the
# section's value (None when absent) and runs in this order, so it may read ctx.parsed.
# Adding a section = one entry here and one field in Config.
SECTIONS: dict[str, tuple[str, Section]] = {
    "monitor": ("monitor", _monitor),
    "ups": ("ups", _ups_list),
    "shutdown": ("shutdown", _shutdown),
    "events": ("events", _events),
    "rule": ("rules", _rules),
    "metrics": ("metrics", _metrics),
}


def _syntax_error(source: str, exc: tomllib.TOMLDecodeError) -> str:
    """tomllib's message as ``FILE:LINE: ...``."""
    message = str(exc)
    if match := _TOML_POSITION.match(message):
        return (
            f"{source}:{match.group(2)}: invalid TOML (column {match.group(3)}): {match.group(1)}"
        )
    return f"{source}: invalid TOML: {message}"


def config_from_text(text: str, source: str = "<config>", mode: int | None = None) -> Config:
    """Parse and validate TOML text; ``mode`` is the file's st_mode for the password check."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_syntax_error(source, exc)]) from None
    ctx = Context(source, Locator(text), mode, document=document)
    for name in document:
        if name not in SECTIONS:
            ctx.error(name, f"unknown key; known top-level keys: {', '.join(SECTIONS)}")
    for name, (field_name, validate) in SECTIONS.items():
        ctx.parsed[field_name] = validate(document.get(name), ctx)
    if ctx.errors:
        raise ConfigError(ctx.errors)
    return Config(**ctx.parsed, source=source, warnings=tuple(ctx.warnings))


def load_config(path: str) -> Config:
    """Read and validate the file at ``path``; a missing or unreadable file is one error line."""
    try:
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            data = handle.read()
    except OSError as exc:
        hint = (
            "create it from etc/pyups.conf.example or pass -c FILE"
            if isinstance(exc, FileNotFoundError)
            else "check the path and its permissions, or pass -c FILE"
        )
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}; {hint}"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"{path}: not UTF-8 text (byte {exc.start + 1}); save it as UTF-8"
        raise ConfigError([message]) from None
    return config_from_text(text, path, mode)


def default_config() -> Config:
    """The built-in defaults, monitoring no UPS."""
    return Config(MonitorConfig(), (), MappingProxyType({}))
