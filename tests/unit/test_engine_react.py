"""``on`` rules fire for the shutdown sequence's events as they do for a poll's (engine.react)."""

from __future__ import annotations

from pyups.address import Server
from pyups.config.schema import EventSettings
from pyups.core.engine import Policy, react
from pyups.core.events import Event
from pyups.core.expr import compile_expression
from pyups.core.rules import ExecAction, Rule, fired_by

SERVER = Server("localhost")
PAGE = ExecAction(("/usr/local/bin/page", "{ups}", "{event}"))


def sequence_event(name: str, ups: str = "eaton800", reason: str = "eaton800 is critical") -> Event:
    return Event(name=name, ups=ups, server=SERVER, t=100.0, status="OB LB", reason=reason)


def on_rule(name: str, *events: str, ups: frozenset[str] | None = None) -> Rule:
    return Rule(name=name, on=frozenset(events), ups=ups, actions=(PAGE,))


def test_a_shutdown_event_fires_an_on_rule_with_its_actions() -> None:
    policy = Policy(rules=(on_rule("page", "SHUTDOWN", "SHUTDOWN_FAILED"),))
    events, requests = react([sequence_event("SHUTDOWN")], policy)
    assert [e.name for e in events] == ["SHUTDOWN", "RULE"]
    shutdown, rule = events
    assert shutdown.priority == "emerg"
    assert shutdown.message == "Executing automatic power-fail shutdown: eaton800 is critical"
    assert (rule.rule, rule.trigger, rule.ups, rule.status) == (
        "page",
        "SHUTDOWN",
        "eaton800",
        "OB LB",
    )
    assert rule.message == "UPS eaton800: rule page on SHUTDOWN"
    assert [(r.action, r.event) for r in requests] == [(PAGE, rule)]


def test_events_no_rule_names_and_condition_rules_fire_nothing() -> None:
    condition = Rule(name="cond", condition=compile_expression("OB"), actions=(PAGE,))
    policy = Policy(rules=(on_rule("onbatt", "ONBATT"), condition))
    events, requests = react([sequence_event("SHUTDOWN_FAILED")], policy)
    assert [e.name for e in events] == ["SHUTDOWN_FAILED"]
    assert requests == []


def test_a_rule_for_other_upses_does_not_fire() -> None:
    rules = (on_rule("other", "SHUTDOWN", ups=frozenset({"other"})),)
    assert fired_by(rules, [sequence_event("SHUTDOWN")]) == []


def test_a_disabled_entry_still_fires_its_rules_as_a_poll_s_event_does() -> None:
    policy = Policy(
        settings={"SHUTDOWN": EventSettings(enabled=False)}, rules=(on_rule("page", "SHUTDOWN"),)
    )
    events, requests = react([sequence_event("SHUTDOWN")], policy)
    assert [e.name for e in events] == ["RULE"]
    assert len(requests) == 1
