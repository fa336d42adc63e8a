"""Unit tests for the [[rule]] section of the configuration: what it builds, what it refuses."""

from __future__ import annotations

import pytest

from pyups.config import ConfigError, config_from_text
from pyups.core.expr import compile_expression
from pyups.core.rules import ExecAction, InstcmdAction, NotifyAction, Rule, ShutdownAction

UPS = '[[ups]]\nname = "eaton800"\n[[ups]]\nname = "apc"\nserver = "nas"\n'
CANARY = "canary-Pa55w0rd-7f3e"


def rules_of(text: str) -> tuple[Rule, ...]:
    return config_from_text(UPS + text, "test.conf").rules


def errors_of(text: str) -> list[str]:
    """The errors for UPS + text; line numbers count from the first [[rule]] line as 6."""
    with pytest.raises(ConfigError) as info:
        config_from_text(UPS + text, "test.conf", 0o600)
    return info.value.errors


def rule(body: str, name: str = "r") -> str:
    return f'[[rule]]\nname = "{name}"\n{body}\n'


# --- what valid rules become ----------------------------------------------------------------


def test_a_file_without_rules_has_none() -> None:
    assert config_from_text(UPS).rules == ()


def test_a_condition_rule_with_every_key_becomes_the_expected_rule() -> None:
    text = """
[[rule]]
name = "outage-2min"
if = "OB and battery.charge < 50"
for = "2m"
repeat = "10m"
ups = ["eaton800", "apc"]
priority = "crit"
message = "UPS {ups} on battery for {held}, {battery.charge}% left ({rule})"
clear_message = "UPS {ups}: power back"
do = [
  { exec = ["/usr/local/bin/page-admin", "{ups}", "{rule}", "{event}"], timeout = "45s" },
  { instcmd = "beeper.disable" },
  { instcmd = "load.off.delay", value = "120" },
  { shutdown = true },
]
"""
    (built,) = rules_of(text)
    assert built.condition is not None
    assert built.condition.text == "OB and battery.charge < 50"
    assert built == Rule(
        name="outage-2min",
        condition=compile_expression("OB and battery.charge < 50"),
        on=frozenset(),
        hold=120.0,
        repeat=600.0,
        ups=frozenset({"eaton800", "apc"}),
        priority="crit",
        message="UPS {ups} on battery for {held}, {battery.charge}% left ({rule})",
        clear_message="UPS {ups}: power back",
        actions=(
            ExecAction(("/usr/local/bin/page-admin", "{ups}", "{rule}", "{event}"), 45.0),
            InstcmdAction("beeper.disable"),
            InstcmdAction("load.off.delay", "120"),
            ShutdownAction(),
        ),
    )


def test_a_minimal_condition_rule_gets_the_defaults() -> None:
    (built,) = rules_of(rule('if = "LB"'))
    assert built == Rule("r", compile_expression("LB"))
    assert (built.hold, built.repeat, built.ups, built.priority) == (0.0, None, None, "notice")
    assert (built.message, built.clear_message, built.actions) == (None, None, ())
    assert built.on == frozenset()


def test_an_event_rule_becomes_the_expected_rule() -> None:
    text = rule(
        'on = ["ONBATT", "LOWBATT", "ONBATT"]\n'
        'do = [{ exec = ["/usr/local/bin/page-admin", "{ups}", "{event}"] }]',
        name="page-on-battery",
    )
    assert rules_of(text) == (
        Rule(
            "page-on-battery",
            on=frozenset({"ONBATT", "LOWBATT"}),
            actions=(ExecAction(("/usr/local/bin/page-admin", "{ups}", "{event}"), 30.0),),
        ),
    )


def test_an_event_rule_may_react_to_the_shutdown_sequence_s_events() -> None:
    names = '["SHUTDOWN", "SHUTDOWN_HOSTSYNC", "SHUTDOWN_FAILED"]'
    (only,) = rules_of(rule(f'on = {names}\ndo = [{{ exec = ["/bin/true"] }}]'))
    assert only.on == {"SHUTDOWN", "SHUTDOWN_HOSTSYNC", "SHUTDOWN_FAILED"}


def test_rules_keep_their_order_and_accept_for_zero_and_seconds() -> None:
    text = (
        rule('if = "OB"\nfor = 0', "b")
        + rule('if = "nocomm"\nfor = 90', "a")
        + rule('on = ["COMMBAD"]', "c")
    )
    assert [(r.name, r.hold) for r in rules_of(text)] == [("b", 0.0), ("a", 90.0), ("c", 0.0)]


def test_a_notify_action_takes_one_url_or_a_list() -> None:
    rules = rules_of(
        '[[rule]]\nname = "a"\nif = "OB"\ndo = [{ notify = "ntfy://ups-topic" }]\n'
        '[[rule]]\nname = "b"\nif = "OB"\n'
        'do = [{ notify = ["json://127.0.0.1/hook", '
        '"tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/42"] }]\n'
    )
    assert rules[0].actions == (NotifyAction(("ntfy://ups-topic",)),)
    assert rules[1].actions == (
        NotifyAction(
            ("json://127.0.0.1/hook", "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/42")
        ),
    )
    assert "AAHdqTcv" not in repr(rules[1].actions)


def test_an_empty_do_list_means_no_action() -> None:
    assert rules_of(rule('if = "OB"\ndo = []'))[0].actions == ()


def test_rules_may_be_written_as_an_inline_array_of_tables() -> None:
    text = 'rule = [{ name = "x", on = ["FSD"], do = [{ shutdown = true }] }]\n' + UPS
    (built,) = config_from_text(text).rules
    assert built == Rule("x", on=frozenset({"FSD"}), actions=(ShutdownAction(),))


# --- one error of each kind -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # names
        ('if = "OB"', "test.conf:6: rule[0].name: missing; add name = ... (unique rule name: "),
        (
            'name = "Outage 1"\nif = "OB"',
            'test.conf:7: rule[0].name: "Outage 1" is not a rule name; use a-z, 0-9, _ and - only',
        ),
        ('name = 5\nif = "OB"', "test.conf:7: rule[0].name: 5 is not a string"),
        # if / on
        (
            'name = "x"\nif = "OB"\non = ["ONBATT"]',
            'test.conf:9: rule[0].on: rule "x": a rule has either if (a condition) or on '
            "(built-in events), not both; split it into two rules",
        ),
        (
            'name = "x"\npriority = "crit"',
            'test.conf:6: rule[0]: rule "x": say when the rule fires: if = "a condition" or '
            'on = ["EVENT", ...]',
        ),
        (
            'name = "outage"\nif = "OB and battery.charge <"',
            'test.conf:8: rule[0].if: rule "outage": unexpected end of expression at position 24 '
            'in "OB and battery.charge <"',
        ),
        (
            'name = "outage"\nif = "OB and battery.charge < < 5"',
            "test.conf:8: rule[0].if: rule \"outage\": unexpected '<' at position 25 in "
            '"OB and battery.charge < < 5"',
        ),
        (
            'name = "x"\nif = "OB == 1"',
            'test.conf:8: rule[0].if: rule "x": cannot compare a status flag (OB) at position 1: '
            'it is true or false; write OB or not OB in "OB == 1"',
        ),
        ('name = "x"\nif = ""', 'test.conf:8: rule[0].if: rule "x": must not be empty'),
        ('name = "x"\nif = true', 'test.conf:8: rule[0].if: rule "x": true is not a condition'),
        (
            'name = "x"\non = ["ONBAT"]',
            'test.conf:8: rule[0].on: rule "x": unknown event "ONBAT"; valid names: STARTUP, ',
        ),
        ('name = "x"\non = ["RULE"]', 'test.conf:8: rule[0].on: rule "x": unknown event "RULE"'),
        ('name = "x"\non = ["ACTION"]', 'test.conf:8: rule[0].on: rule "x": unknown event'),
        ('name = "x"\non = []', 'test.conf:8: rule[0].on: rule "x": [] must be a non-empty list'),
        ('name = "x"\non = "ONBATT"', 'test.conf:8: rule[0].on: rule "x": "ONBATT" must be a'),
        # timing
        ('name = "x"\nif = "OB"\nfor = "soon"', 'test.conf:9: rule[0].for: rule "x": "soon" is'),
        ('name = "x"\nif = "OB"\nfor = -1', 'test.conf:9: rule[0].for: rule "x": -1 is not a'),
        (
            'name = "x"\nif = "OB"\nrepeat = 0',
            'test.conf:9: rule[0].repeat: rule "x": 0 must be longer than zero',
        ),
        (
            'name = "x"\non = ["ONBATT"]\nfor = "1m"',
            'test.conf:9: rule[0].for: rule "x": for only applies to a condition (if); an on '
            "rule fires on every event it lists, so remove for",
        ),
        (
            'name = "x"\non = ["ONBATT"]\nrepeat = "1m"',
            'test.conf:9: rule[0].repeat: rule "x": repeat only applies to a condition (if)',
        ),
        (
            'name = "x"\non = ["ONBATT"]\nclear_message = "back"',
            'test.conf:9: rule[0].clear_message: rule "x": clear_message only applies to a '
            "condition (if)",
        ),
        # ups filter
        (
            'name = "x"\nif = "OB"\nups = ["nas-ups"]',
            'test.conf:9: rule[0].ups: rule "x": "nas-ups" is not a UPS of this file\'s [[ups]] '
            "list (listed: apc, eaton800)",
        ),
        ('name = "x"\nif = "OB"\nups = []', 'test.conf:9: rule[0].ups: rule "x": [] must be a'),
        ('name = "x"\nif = "OB"\nups = "apc"', 'test.conf:9: rule[0].ups: rule "x": "apc" must'),
        ('name = "x"\nif = "OB"\nups = ["a b"]', 'test.conf:9: rule[0].ups: rule "x": "a b" is'),
        # priority and templates
        ('name = "x"\nif = "OB"\npriority = "loud"', 'test.conf:9: rule[0].priority: rule "x": '),
        (
            'name = "x"\nif = "OB"\nmessage = "{ups"',
            "test.conf:9: rule[0].message: rule \"x\": bad template: unmatched '{' at position 1",
        ),
        (
            'name = "x"\nif = "OB"\nmessage = "{upsname} fired"',
            'test.conf:9: rule[0].message: rule "x": unknown field {upsname}; use ',
        ),
        (
            'name = "x"\nif = "OB"\nclear_message = "{x}"',
            'test.conf:9: rule[0].clear_message: rule "x": unknown field {x}; use ',
        ),
        # actions
        (
            'name = "x"\nif = "OB"\ndo = { shutdown = true }',
            'test.conf:9: rule[0].do: rule "x": {"shutdown": true} must be a list of actions',
        ),
        (
            'name = "x"\nif = "OB"\ndo = ["shutdown"]',
            'test.conf:9: rule[0].do[0]: rule "x": "shutdown" is not an action; '
            "write e.g. { shutdown = true }",
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ shutdown = false }]',
            'test.conf:9: rule[0].do[0]: rule "x": '
            "unknown action; use exec, instcmd, notify or shutdown",
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ reboot = true }]',
            'test.conf:9: rule[0].do[0]: rule "x": '
            "unknown action; use exec, instcmd, notify or shutdown",
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ shutdown = true, instcmd = "x" }]',
            'test.conf:9: rule[0].do[0]: rule "x": instcmd and shutdown in one entry; '
            "write one action per { ... }",
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ shutdown = true, now = true }]',
            'test.conf:9: rule[0].do[0].now: rule "x": unknown key; shutdown takes no other key',
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ exec = "/bin/page {ups}" }]',
            'test.conf:9: rule[0].do[0].exec: rule "x": "/bin/page {ups}" must be a non-empty '
            "list of arguments",
        ),
        ('name = "x"\nif = "OB"\ndo = [{ exec = [] }]', "test.conf:9: rule[0].do[0].exec: rule"),
        (
            'name = "x"\nif = "OB"\ndo = [{ exec = ["/bin/x", 1] }]',
            'test.conf:9: rule[0].do[0].exec: rule "x": ["/bin/x", 1] must contain only strings',
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ exec = ["/bin/x", "{nope}"] }]',
            'test.conf:9: rule[0].do[0].exec[1]: rule "x": unknown field {nope}; use ',
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ exec = ["/bin/x"], timeout = 0 }]',
            'test.conf:9: rule[0].do[0].timeout: rule "x": 0 must be longer than zero',
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ notify = [] }]',
            'test.conf:9: rule[0].do[0].notify: rule "x": must be an Apprise URL or a non-empty',
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ notify = "my-topic" }]',
            'test.conf:9: rule[0].do[0].notify: rule "x": not an Apprise URL (no scheme://)',
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ notify = ["ntfy://t", "bogus://token"] }]',
            'test.conf:9: rule[0].do[0].notify[1]: rule "x": bogus:// URL that Apprise cannot',
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ notify = "ntfy://t", timeout = "5s" }]',
            'test.conf:9: rule[0].do[0].timeout: rule "x": unknown key; notify takes no other key',
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ exec = ["/bin/x"], value = "1" }]',
            'test.conf:9: rule[0].do[0].value: rule "x": unknown key; exec takes only timeout',
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ instcmd = "beeper disable" }]',
            'test.conf:9: rule[0].do[0].instcmd: rule "x": "beeper disable" is not an instant '
            "command name, e.g. beeper.disable",
        ),
        (
            'name = "x"\nif = "OB"\ndo = [{ instcmd = "load.off.delay", value = 120 }]',
            'test.conf:9: rule[0].do[0].value: rule "x": 120 is not a string; write it in quotes',
        ),
        # unknown keys and shapes
        (
            'name = "x"\nif = "OB"\nwhen = "OB"',
            'test.conf:9: rule[0].when: rule "x": unknown key; known keys: name, if, on, for, '
            "repeat, ups, priority, message, clear_message, do",
        ),
    ],
)
def test_each_mistake_is_one_error_naming_line_key_and_rule(body: str, expected: str) -> None:
    (error,) = errors_of(f"[[rule]]\n{body}\n")
    assert error.startswith(expected), error


def test_a_single_rule_table_asks_for_double_brackets() -> None:
    (error,) = errors_of('[rule]\nname = "x"\nif = "OB"\n')
    assert error.startswith("test.conf:6: rule: expected an array of tables, got a table")
    assert "[[rule]]" in error


def test_a_duplicate_name_is_reported_on_the_later_rule() -> None:
    text = rule('if = "OB"', "outage") + rule('if = "LB"', "other") + rule('on = ["FSD"]', "outage")
    assert errors_of(text) == [
        'test.conf:13: rule[2].name: rule "outage": the name is already used by rule[0]; '
        "give every rule its own name"
    ]


def test_a_ups_filter_needs_a_ups_list_in_the_file() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_text('[[rule]]\nname = "x"\nif = "OB"\nups = ["eaton800"]\n', "t.conf")
    assert info.value.errors == [
        't.conf:4: rule[0].ups: rule "x": "eaton800" is not a UPS of this file\'s [[ups]] list '
        "(listed: none)"
    ]


@pytest.mark.parametrize("field", ["event", "rule", "held", "ups", "status", "battery.charge"])
def test_event_rule_and_held_are_valid_template_fields(field: str) -> None:
    template = f"{{{field}}}"
    text = rule(f'if = "OB"\nmessage = "{template}"\nclear_message = "{template}"')
    text += f'do = [{{ exec = ["/bin/echo", "{template}"] }}]\n'
    (built,) = rules_of(text)
    assert built.message == built.clear_message == template
    assert built.actions == (ExecAction(("/bin/echo", template)),)


# --- all errors at once ---------------------------------------------------------------------


def test_many_mistakes_in_many_rules_are_reported_at_once_with_their_lines() -> None:
    text = """\
[[rule]]
name = "outage"
if = "OB and battery.charge <"
for = "2m"

[[rule]]
name = "page"
on = ["ONBATT", "LOWBAT"]
repeat = "1m"
ups = ["eaton800", "other"]
do = [
  { exec = ["/bin/page", "{ups", "{bogus}"], timeout = "x" },
  { shutdown = false },
  { instcmd = "beeper.disable", value = "1", timeout = 3 },
]
message = "{nope}"

[[rule]]
name = "outage"
if = "OB == 1"

[[rule]]
name = "Bad Name"

[[rule]]
bogus = 1
"""
    errors = errors_of(text)
    assert [error.split(": ")[0:2] for error in errors] == [
        ["test.conf:8", "rule[0].if"],
        ["test.conf:13", "rule[1].on"],
        ["test.conf:14", "rule[1].repeat"],
        ["test.conf:15", "rule[1].ups"],
        ["test.conf:16", "rule[1].do[0].exec[1]"],
        ["test.conf:16", "rule[1].do[0].exec[2]"],
        ["test.conf:16", "rule[1].do[0].timeout"],
        ["test.conf:16", "rule[1].do[1]"],
        ["test.conf:16", "rule[1].do[2].timeout"],
        ["test.conf:21", "rule[1].message"],
        ["test.conf:24", "rule[2].name"],
        ["test.conf:25", "rule[2].if"],
        ["test.conf:27", "rule[3]"],
        ["test.conf:28", "rule[3].name"],
        ["test.conf:30", "rule[4].name"],
        ["test.conf:30", "rule[4]"],
        ["test.conf:31", "rule[4].bogus"],
    ]
    assert all('rule "page": ' in error for error in errors if "rule[1]" in error)


def test_rule_errors_come_together_with_errors_of_other_sections() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_text(
            '[monitor]\ninterval = "x"\n[[rule]]\nname = "a"\nif = "OB <"\n[[ups]]\nname = "a b"\n',
            "t.conf",
        )
    assert [error.split(": ")[0:2] for error in info.value.errors] == [
        ["t.conf:2", "monitor.interval"],
        ["t.conf:5", "rule[0].if"],
        ["t.conf:7", "ups[0].name"],
    ]


# --- secrets --------------------------------------------------------------------------------


def test_rule_errors_never_show_a_password() -> None:
    text = (
        f'[[ups]]\nname = "eaton800"\npassword = "{CANARY}"\n'
        '[[rule]]\nname = "x"\nif = "OB =="\nups = ["eaton800", "nope"]\n'
        'do = [{ instcmd = "x y" }]\n'
    )
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "t.conf", 0o644)
    assert len(info.value.errors) == 4
    assert CANARY not in str(info.value) and CANARY not in repr(info.value)
    good = config_from_text(
        text.replace('"OB =="', '"OB"')
        .replace(', "nope"', "")
        .replace('"x y"', '"beeper.disable"'),
        "t.conf",
        0o600,
    )
    assert CANARY not in repr(good.rules)
