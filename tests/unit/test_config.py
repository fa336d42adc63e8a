"""Unit tests for pyups.config: schema defaults, validation, line numbers, secrets."""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path

import pytest

from pyups.address import Server
from pyups.config import (
    DEFAULT_CONFIG_PATH,
    Config,
    ConfigError,
    EventSettings,
    MonitorConfig,
    ShutdownConfig,
    UpsConfig,
    config_from_text,
    default_config,
    load_config,
)
from pyups.config.locate import Locator
from pyups.config.schema import CHECKS, CONFIGURABLE_EVENTS, KEYS, KeySpec
from pyups.config.views import timing_of
from pyups.core.expr import compile_expression
from pyups.core.protection import Role
from pyups.core.rules import Rule
from pyups.core.tracker import Timing

EXAMPLE = Path(__file__).resolve().parents[2] / "etc" / "pyups.conf.example"
CANARY = "canary-Pa55w0rd-7f3e"


def errors_of(text: str, mode: int | None = None, source: str = "test.conf") -> list[str]:
    """The error lines config_from_text reports for ``text``."""
    with pytest.raises(ConfigError) as info:
        config_from_text(text, source, mode)
    assert str(info.value) == "\n".join(info.value.errors)
    return info.value.errors


def write(path: Path, text: str, mode: int = 0o600) -> str:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return str(path)


# --- defaults -------------------------------------------------------------------------------


def test_default_config_has_the_documented_defaults_and_no_ups() -> None:
    config = default_config()
    assert config.monitor == MonitorConfig()
    assert config.monitor.interval == 5.0
    assert config.monitor.interval_alert == 2.0
    assert config.monitor.timeout == 5.0
    assert config.monitor.dead_time == 15.0
    assert config.monitor.nocomm_warn == 300.0
    assert config.monitor.replbatt_warn == 43200.0
    assert config.monitor.shutdown_command == ("systemctl", "poweroff")
    assert config.monitor.dry_run is False
    assert config.monitor.state_file == "/var/lib/pyups/state.json"
    assert config.ups == ()
    assert dict(config.events) == {}
    assert config.rules == ()
    assert config.source is None
    assert DEFAULT_CONFIG_PATH == "/etc/pyups/pyups.conf"


def test_an_empty_file_gives_the_defaults() -> None:
    config = config_from_text("", "empty.conf")
    assert config == Config(MonitorConfig(), (), {}, "empty.conf")


def test_the_schema_table_defaults_match_the_dataclass_defaults() -> None:
    def lines(section: str, skip: tuple[str, ...] = ()) -> str:
        keys = [k for k in KEYS if k.section == section and k.default is not None]
        return "\n".join(f"{k.name} = {k.default}" for k in keys if k.name not in skip)

    # tls_verify needs tls = true, whose default is false: it is checked on its own below.
    monitor, events, rule = lines("monitor"), lines("events"), lines("rule")
    ups, shutdown = lines("ups", skip=("tls_verify",)), lines("shutdown")
    text = (
        f'[monitor]\n{monitor}\n[[ups]]\nname = "u"\n{ups}\n[events.CAL]\n{events}\n'
        f'[[rule]]\nname = "r"\nif = "OB"\n{rule}\n[shutdown]\n{shutdown}\n'
    )
    config = config_from_text(text)
    assert config.monitor == MonitorConfig()
    assert config.shutdown == ShutdownConfig()
    assert config.ups == (UpsConfig("u"),)
    [tls_verify] = [k for k in KEYS if k.section == "ups" and k.name == "tls_verify"]
    tls = config_from_text(f'[[ups]]\nname = "u"\ntls = true\ntls_verify = {tls_verify.default}\n')
    assert tls.ups[0].tls_verify == UpsConfig("u").tls_verify
    assert config.events["CAL"] == EventSettings()
    assert config.rules == (Rule("r", compile_expression("OB")),)


def test_a_ups_defaults_to_localhost_3493_without_credentials() -> None:
    (ups,) = config_from_text('[[ups]]\nname = "eaton800"\n').ups
    assert ups == UpsConfig("eaton800", Server("localhost", 3493))
    assert ups.username is None and ups.password is None and ups.password_file is None


def test_the_loader_accepts_a_file_without_any_ups() -> None:
    assert config_from_text("[monitor]\ninterval = 10\n").ups == ()


# --- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ('"500ms"', 0.5),
        ('"90s"', 90.0),
        ('"5m"', 300.0),
        ('"1h30m"', 5400.0),
        ("5", 5.0),
        ("2.5", 2.5),
    ],
)
def test_every_duration_form_is_understood(written: str, seconds: float) -> None:
    config = config_from_text(f"[monitor]\ninterval = 3600\ndead_time = {written}\n")
    assert config.monitor.dead_time == seconds


def test_a_word_is_not_a_duration() -> None:
    assert errors_of('[monitor]\ninterval = "fast"\n') == [
        'test.conf:2: monitor.interval: "fast" is not a duration; write seconds (30) or e.g. '
        '"500ms", "90s", "5m", "1h30m"'
    ]


@pytest.mark.parametrize(
    "key", ["interval", "interval_alert", "timeout", "dead_time", "nocomm_warn", "replbatt_warn"]
)
def test_durations_must_be_longer_than_zero(key: str) -> None:
    (error,) = errors_of(f"[monitor]\n{key} = 0\n")
    assert error.startswith(f"test.conf:2: monitor.{key}: 0 must be longer than zero")


def test_negative_and_boolean_durations_are_refused() -> None:
    errors = errors_of("[monitor]\ntimeout = -1\ndead_time = true\n")
    assert [e.split(": ")[1] for e in errors] == ["monitor.timeout", "monitor.dead_time"]
    assert "not a duration" in errors[0] and "not a duration" in errors[1]


def test_interval_alert_longer_than_interval_is_an_error_that_explains_why() -> None:
    (error,) = errors_of('[monitor]\ninterval = "5s"\ninterval_alert = "10s"\n')
    assert error.startswith("test.conf:3: monitor.interval_alert: interval_alert (10s) is longer")
    assert "at most interval" in error


def test_a_bad_interval_is_not_also_compared_with_interval_alert() -> None:
    (error,) = errors_of('[monitor]\ninterval = "fast"\ninterval_alert = "10s"\n')
    assert error.startswith("test.conf:2: monitor.interval: ")


def test_a_bad_server_is_not_also_reported_as_a_duplicate_of_the_default_server() -> None:
    (error,) = errors_of('[[ups]]\nname = "a"\n[[ups]]\nname = "a"\nserver = "x:0"\n')
    assert error.startswith("test.conf:5: ups[1].server: ")


def test_interval_alone_is_valid_and_interval_alert_follows_it_down() -> None:
    assert config_from_text('[monitor]\ninterval = "1s"\n').monitor.interval_alert == 1.0
    assert config_from_text('[monitor]\ninterval = "30s"\n').monitor.interval_alert == 2.0
    assert MonitorConfig(interval=0.5).interval_alert == 0.5
    assert MonitorConfig(interval=0.5, interval_alert=0.2).interval_alert == 0.2


def test_an_explicit_interval_alert_longer_than_a_short_interval_points_at_it() -> None:
    (error,) = errors_of('[monitor]\ninterval = "1s"\ninterval_alert = "2s"\n')
    assert error.startswith("test.conf:3: monitor.interval_alert: interval_alert (2s) is longer")


# --- monitor keys ---------------------------------------------------------------------------


def test_all_monitor_keys_are_read() -> None:
    text = """
[monitor]
interval = "10s"
interval_alert = "3s"
timeout = 2
dead_time = "1m"
nocomm_warn = "10m"
replbatt_warn = "1d"
shutdown_command = ["/sbin/shutdown", "-h", "+0"]
dry_run = true
state_file = "/tmp/state.json"
"""
    assert config_from_text(text).monitor == MonitorConfig(
        10.0,
        3.0,
        2.0,
        60.0,
        600.0,
        86400.0,
        ("/sbin/shutdown", "-h", "+0"),
        True,
        "/tmp/state.json",
    )


@pytest.mark.parametrize("written", ['"systemctl poweroff"', "[]", '["systemctl", 1]', '[""]'])
def test_shutdown_command_must_be_a_non_empty_list_of_strings(written: str) -> None:
    (error,) = errors_of(f"[monitor]\nshutdown_command = {written}\n")
    assert error.startswith("test.conf:2: monitor.shutdown_command: ")


def test_dry_run_must_be_a_boolean_not_a_string() -> None:
    (error,) = errors_of('[monitor]\ndry_run = "yes"\n')
    assert error == (
        'test.conf:2: monitor.dry_run: "yes" is not a boolean; write true or false (no quotes)'
    )


# --- unknown keys and wrong shapes ----------------------------------------------------------


def test_unknown_top_level_keys_are_reported_with_their_line() -> None:
    errors = errors_of('verbose = true\n\n[logging]\nlevel = "debug"\n')
    assert errors == [
        "test.conf:1: verbose: unknown key; known top-level keys: "
        "monitor, ups, shutdown, events, rule, metrics",
        "test.conf:3: logging: unknown key; known top-level keys: "
        "monitor, ups, shutdown, events, rule, metrics",
    ]


def test_unknown_keys_are_reported_with_their_path_and_line() -> None:
    text = '[[ups]]\nname = "a"\n\n[[ups]]\nname = "b"\npasswrd = "x"\n'
    assert errors_of(text) == [
        "test.conf:6: ups[1].passwrd: unknown key; known keys: name, server, role, power, "
        "username, password, password_file, tls, ca_file, tls_verify"
    ]


def test_unknown_keys_in_monitor_and_events_are_reported() -> None:
    errors = errors_of("[monitor]\npoll = 5\n[events.CAL]\nenable = false\n")
    assert errors[0].startswith("test.conf:2: monitor.poll: unknown key; known keys: interval, ")
    assert errors[1] == (
        "test.conf:4: events.CAL.enable: unknown key; known keys: enabled, priority, message"
    )


def test_ups_written_as_a_single_table_asks_for_double_brackets() -> None:
    (error,) = errors_of('[ups]\nname = "a"\n')
    assert error.startswith("test.conf:1: ups: expected an array of tables, got a table")
    assert "[[ups]]" in error


def test_monitor_that_is_not_a_table_is_an_error() -> None:
    assert errors_of("monitor = 5\n") == ["test.conf:1: monitor: expected a table, got an integer"]


def test_a_toml_syntax_error_is_one_error_with_file_and_line() -> None:
    (error,) = errors_of('[monitor]\ninterval = "5s"\ntimeout = \n')
    assert re.match(r"test\.conf:3: invalid TOML \(column \d+\): Invalid value$", error)


# --- [[ups]] --------------------------------------------------------------------------------


def test_ups_entries_are_read_in_order() -> None:
    text = '[[ups]]\nname = "a"\n[[ups]]\nname = "b"\nserver = "[::1]:3500"\nusername = "mon"\n'
    assert config_from_text(text).ups == (
        UpsConfig("a"),
        UpsConfig("b", Server("::1", 3500), username="mon"),
    )


def test_a_ups_without_a_name_is_reported_at_its_header_line() -> None:
    text = '[[ups]]\nname = "a"\n\n[[ups]]\nserver = "nas"\n'
    (error,) = errors_of(text)
    assert error.startswith("test.conf:4: ups[1].name: missing; add name = ")


@pytest.mark.parametrize("name", ['"has space"', '""', "42", '"a/b"'])
def test_bad_ups_names_are_refused(name: str) -> None:
    (error,) = errors_of(f"[[ups]]\nname = {name}\n")
    assert error.startswith("test.conf:2: ups[0].name: ")


def test_a_bad_server_address_is_reported_with_the_reason() -> None:
    (error,) = errors_of('[[ups]]\nname = "a"\nserver = "host:99999"\n')
    assert error.startswith("test.conf:3: ups[0].server: 'host:99999': port '99999' must be")


def test_the_same_ups_on_the_same_server_twice_is_an_error() -> None:
    text = (
        '[[ups]]\nname = "a"\n[[ups]]\nname = "a"\nserver = "localhost"\n'
        '[[ups]]\nname = "a"\nserver = "other"\n'
    )
    assert errors_of(text) == [
        "test.conf:3: ups[1]: a at localhost:3493 is already listed as ups[0]; remove one of them"
    ]


def test_password_and_password_file_together_are_an_error() -> None:
    text = '[[ups]]\nname = "a"\npassword = "p"\npassword_file = "/nonexistent"\n'
    assert errors_of(text, mode=0o600) == [
        "test.conf:3: ups[0].password: password and password_file are both set; keep only one"
    ]


def test_an_inline_password_is_refused_when_the_file_is_readable_by_others() -> None:
    text = f'[[ups]]\nname = "a"\nusername = "mon"\npassword = "{CANARY}"\n'
    assert errors_of(text, mode=0o100644, source="/etc/pyups/pyups.conf") == [
        "/etc/pyups/pyups.conf:4: ups[0].password: /etc/pyups/pyups.conf is readable by "
        "group/others (mode 0644); run chmod 600 /etc/pyups/pyups.conf or move the password "
        "to password_file"
    ]


def test_an_inline_password_is_accepted_when_only_the_owner_can_read_the_file() -> None:
    text = f'[[ups]]\nname = "a"\nusername = "mon"\npassword = "{CANARY}"\n'
    (ups,) = config_from_text(text, "x.conf", 0o100600).ups
    assert ups.password == CANARY


def test_load_config_checks_the_real_file_mode(tmp_path: Path) -> None:
    text = f'[[ups]]\nname = "a"\npassword = "{CANARY}"\n'
    path = write(tmp_path / "pyups.conf", text, 0o640)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.errors == [
        f"{path}:3: ups[0].password: {path} is readable by group/others (mode 0640); "
        f"run chmod 600 {path} or move the password to password_file"
    ]
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    assert load_config(path).ups[0].password == CANARY


def test_password_file_is_read_and_one_trailing_newline_stripped(tmp_path: Path) -> None:
    secret = write(tmp_path / "ups.secret", f"{CANARY} \n\n")
    write(tmp_path / "other.secret", CANARY + "\n")
    path = write(
        tmp_path / "pyups.conf",
        f'[[ups]]\nname = "a"\npassword_file = "{secret}"\n'
        '[[ups]]\nname = "b"\npassword_file = "other.secret"\n',
        0o644,
    )
    first, second = load_config(path).ups
    assert first.password == f"{CANARY} \n"
    assert first.password_file == secret
    assert second.password == CANARY
    assert second.password_file == str(tmp_path / "other.secret")  # relative to the config file


def test_a_missing_password_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.secret"
    (error,) = errors_of(f'[[ups]]\nname = "a"\npassword_file = "{missing}"\n')
    assert error == (
        f"test.conf:3: ups[0].password_file: cannot read {missing}: No such file or "
        "directory; create it (chmod 600) or fix the path"
    )


def test_an_empty_password_file_is_an_error(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.secret", "\n")
    (error,) = errors_of(f'[[ups]]\nname = "a"\npassword_file = "{empty}"\n')
    assert error == (
        f"test.conf:3: ups[0].password_file: {empty} is empty; write the password into it"
    )


# --- [events.NAME] --------------------------------------------------------------------------


def test_event_settings_are_read_for_the_events_the_file_mentions() -> None:
    text = (
        "[events.CAL]\nenabled = false\n"
        '[events.ONBATT]\npriority = "crit"\nmessage = "{ups} on battery, {battery.charge}%"\n'
    )
    events = config_from_text(text).events
    assert dict(events) == {
        "CAL": EventSettings(enabled=False),
        "ONBATT": EventSettings(True, "crit", "{ups} on battery, {battery.charge}%"),
    }


def test_unknown_event_names_are_errors_listing_the_valid_names() -> None:
    (error,) = errors_of("[events.POWERLOSS]\nenabled = false\n")
    assert error.startswith("test.conf:1: events.POWERLOSS: unknown event; valid names: STARTUP, ")
    assert "NOTBOOST" in error


def test_a_lower_case_event_name_gets_a_hint() -> None:
    (error,) = errors_of("[events.onbatt]\n")
    assert "(did you mean ONBATT?)" in error


@pytest.mark.parametrize("name", ["RULE", "ACTION"])
def test_rule_and_action_events_cannot_be_configured(name: str) -> None:
    (error,) = errors_of(f"[events.{name}]\nenabled = false\n")
    assert error.startswith(f"test.conf:1: events.{name}: unknown event;")


def test_an_unknown_priority_is_an_error_listing_the_priorities() -> None:
    assert errors_of('[events.CAL]\npriority = "loud"\n') == [
        'test.conf:2: events.CAL.priority: "loud" is not a syslog priority; use one of: emerg, '
        "alert, crit, err, warning, notice, info, debug"
    ]


def test_a_template_with_bad_syntax_is_an_error() -> None:
    (error,) = errors_of('[events.CAL]\nmessage = "UPS {ups"\n')
    assert error.startswith("test.conf:2: events.CAL.message: bad template: unmatched '{'")


def test_a_template_with_an_unknown_field_names_the_field() -> None:
    (error,) = errors_of('[events.CAL]\nmessage = "UPS {upsname} calibrating"\n')
    assert error.startswith("test.conf:2: events.CAL.message: unknown field {upsname}; use ")
    assert "{battery.charge}" in error


def test_enabled_must_be_a_boolean() -> None:
    (error,) = errors_of('[events.CAL]\nenabled = "no"\n')
    assert error.startswith('test.conf:2: events.CAL.enabled: "no" is not a boolean')


def test_events_written_as_inline_tables_are_located_on_their_line() -> None:
    (error,) = errors_of('[events]\nCAL = { priority = "loud" }\n')
    assert error.startswith("test.conf:2: events.CAL.priority: ")


# --- all errors at once ---------------------------------------------------------------------


def test_multiple_errors_in_one_file_are_reported_at_once_with_their_lines() -> None:
    text = """\
# a config with many mistakes
[monitor]
interval = "fast"
timeout = 0
shutdown_command = "poweroff"

[[ups]]
name = "eaton800"

[[ups]]
server = "nas:0"

[[ups]]
name = "eaton800"
passwrd = "x"

[events.CAL]
priority = "loud"

[events.BOGUS]
enabled = false

[extra]
"""
    errors = errors_of(text)
    assert [(e.split(": ")[0], e.split(": ")[1]) for e in errors] == [
        ("test.conf:3", "monitor.interval"),
        ("test.conf:4", "monitor.timeout"),
        ("test.conf:5", "monitor.shutdown_command"),
        ("test.conf:10", "ups[1].name"),
        ("test.conf:11", "ups[1].server"),
        ("test.conf:13", "ups[2]"),
        ("test.conf:15", "ups[2].passwrd"),
        ("test.conf:18", "events.CAL.priority"),
        ("test.conf:20", "events.BOGUS"),
        ("test.conf:23", "extra"),
    ]


# --- load_config ----------------------------------------------------------------------------


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.conf"
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    assert info.value.errors == [
        f"{path}: cannot read: No such file or directory; create it from etc/pyups.conf.example "
        "or pass -c FILE"
    ]


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path))
    (error,) = info.value.errors
    assert error.startswith(f"{tmp_path}: cannot read: ")


def test_load_config_records_the_source_path(tmp_path: Path) -> None:
    path = write(tmp_path / "pyups.conf", '[[ups]]\nname = "a"\n', 0o644)
    assert load_config(path).source == path


# --- secrets --------------------------------------------------------------------------------


def test_a_password_never_appears_in_an_error_or_a_repr(tmp_path: Path) -> None:
    secret_file = write(tmp_path / "secret", CANARY)
    bad_configs = [
        (f'[[ups]]\nname = "a"\npassword = "{CANARY}"\n', 0o644),
        (f'[[ups]]\nname = "a"\npassword = "{CANARY}"\npassword_file = "{secret_file}"\n', 0o600),
        (f'[[ups]]\nname = "a b"\npassword = "{CANARY}"\n', 0o600),
        (f'[[ups]]\npassword = "{CANARY}"\n', 0o600),
        (f'[[ups]]\nname = "a"\npasword = "{CANARY}"\n', 0o600),
        (f'[monitor]\npassword = "{CANARY}"\n', 0o600),
        (f'ups = {{ name = "a", password = "{CANARY}" }}\n', 0o600),
        (f'ups = [{{ name = "a", password = "{CANARY}" }}, "{CANARY}"]\n', 0o600),
        (f'[events]\nCAL = "{CANARY}"\n', 0o600),
        (f'[[ups]]\nname = "a"\npassword = "{CANARY}\n', 0o600),
        (f'[[ups]]\nname = "a"\npassword = {CANARY}\n', 0o600),
        (f'[[ups]]\nname = "a"\npassword = "{CANARY}"\npassword = "{CANARY}"\n', 0o600),
    ]
    for text, mode in bad_configs:
        path = write(tmp_path / "pyups.conf", text, mode)
        with pytest.raises(ConfigError) as info:
            load_config(path)
        assert info.value.errors, text
        assert CANARY not in str(info.value) and CANARY not in repr(info.value), text
        assert all(CANARY not in error for error in info.value.errors), text
    good = config_from_text(f'[[ups]]\nname = "a"\npassword = "{CANARY}"\n', "x", 0o600)
    assert good.ups[0].password == CANARY
    assert CANARY not in repr(good) and CANARY not in str(good)
    assert CANARY not in repr(good.ups[0]) and CANARY not in str(good.ups[0])


# --- the example file -----------------------------------------------------------------------


def test_the_example_file_is_valid_and_monitors_eaton800_on_localhost() -> None:
    config = load_config(str(EXAMPLE))
    assert config.monitor == MonitorConfig()
    assert config.ups == (UpsConfig("eaton800", Server("localhost", 3493), role=Role.PRIMARY),)
    assert config.shutdown == ShutdownConfig()
    assert config.warnings == ()
    assert dict(config.events) == {}


def test_the_example_file_documents_every_key_with_its_default() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for key in KEYS:
        # Sections share key names (priority, message), so any line of that key may show it.
        lines = re.findall(rf"^[#\s]*{key.name}\s*=.*$", text, re.MULTILINE)
        assert lines, f"{key.section}.{key.name} is not documented in {EXAMPLE.name}"
        if key.default is not None:
            shown = any(key.default in line for line in lines)
            assert shown, f"{key.section}.{key.name}: default not shown"


# Where each section's keys are documented in the example, in file order.
_EXAMPLE_SECTIONS = {
    "monitor": "[monitor]",
    "metrics": "[metrics]",
    "ups": "[[ups]]",
    "shutdown": "[shutdown]",
    "events": "[events.NAME]",
    "rule": "# [[rule]]",
}


@pytest.mark.parametrize(
    "key", [k for k in KEYS if k.default is not None], ids=lambda k: f"{k.section}.{k.name}"
)
def test_the_example_file_documents_each_default_as_the_schema_has_it(key: KeySpec) -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    header = _EXAMPLE_SECTIONS[key.section]
    start = next(i for i, line in enumerate(lines) if header in line)
    pattern = re.compile(rf"^[#\s]*{key.name}\s*=(.*)$")
    shown = next(m.group(1) for line in lines[start:] if (m := pattern.match(line)))
    # Read both as the loader does: "5m" and 300 are the same duration; comments are TOML's.
    check = CHECKS[key.kind]
    documented = check(tomllib.loads(f"value = {shown}")["value"])
    assert documented == check(tomllib.loads(f"value = {key.default}")["value"]), (
        f"{key.section}.{key.name}: the example shows {shown.split('#')[0].strip()}, "
        f"the schema's default is {key.default}"
    )


def test_the_tracker_timing_defaults_are_the_schema_defaults() -> None:
    assert Timing() == timing_of(MonitorConfig())


def test_the_example_file_has_no_active_rule() -> None:
    assert load_config(str(EXAMPLE)).rules == ()


def test_the_example_file_names_every_configurable_event() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert all(re.search(rf"\b{name}\b", text) for name in CONFIGURABLE_EVENTS)
    assert "[events.CAL]" in text


# --- the locator ----------------------------------------------------------------------------


def test_the_locator_counts_array_tables_and_falls_back_to_the_enclosing_line() -> None:
    locator = Locator(
        '# c\n[monitor]\ninterval = 5\n[[ups]]\nname = "a"\n[[ups]]\nname = "b"\n'
        'text = """\nx = 1\n"""\n[events.CAL]\nenabled = true\n[events."ONBATT"]\n'
    )
    assert locator.line("monitor") == 2
    assert locator.line("monitor.interval") == 3
    assert locator.line("monitor.timeout") == 2
    assert locator.line("ups[0]") == 4
    assert locator.line("ups[0].name") == 5
    assert locator.line("ups[1].name") == 7
    assert locator.line("ups[1].server") == 6
    assert locator.line("ups[1].x") == 6
    assert locator.line("events.CAL.enabled") == 12
    assert locator.line("events.ONBATT.priority") == 13
    assert locator.line("nowhere") is None


def test_the_locator_finds_rule_keys_and_falls_back_to_do_for_its_entries() -> None:
    locator = Locator(
        '[[ups]]\nname = "a"\n[[rule]]\nname = "x"\nif = "OB"\n[[rule]]\nname = "y"\n'
        'do = [\n  { shutdown = true },\n  { exec = ["a = b"] },\n]\nfor = 5\n'
    )
    assert locator.line("rule[0]") == 3
    assert locator.line("rule[0].if") == 5
    assert locator.line("rule[1].name") == 7
    assert locator.line("rule[1].do") == 8
    assert locator.line("rule[1].do[1].exec[0]") == 8
    assert locator.line("rule[1].for") == 12
