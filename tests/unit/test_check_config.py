"""Unit tests for ``pyups check-config``'s protection line and its warnings (DESIGN §10)."""

from __future__ import annotations

import pytest

from pyups.commands.check_config import protection, warnings
from pyups.config import Config, config_from_text

ALWAYS = "/bin/sh"  # a program every test host has


def config(text: str) -> Config:
    return config_from_text(text, "test.conf")


def ups(name: str, extra: str = "") -> str:
    return f'[[ups]]\nname = "{name}"\nusername = "mon"\n{extra}'


def warned(text: str, volatile: bool | None = True, command: str = ALWAYS) -> list[str]:
    """The warnings for ``text`` with a harmless, existing command, on a tmpfs by default."""
    body = f'{text}\n[shutdown]\ncommand = ["{command}"]\n' if "[shutdown]" not in text else text
    return warnings(
        config(body), volatile=lambda path: volatile, which=lambda p: p == ALWAYS or None
    )


# --- the protection line --------------------------------------------------------------------


def test_one_ups_takes_the_host_down_when_it_is_critical() -> None:
    line = protection(config(ups("eaton800", 'role = "primary"\n')))
    assert line == (
        "protection: this host goes down when eaton800@localhost:3493 is critical (1 supply needed)"
    )


def test_two_redundant_upses_take_it_down_only_when_both_are_critical() -> None:
    assert protection(config(ups("ups1") + ups("ups2"))) == (
        "protection: this host goes down when both ups1@localhost:3493 and ups2@localhost:3493 "
        "are critical (1 of 2 supplies needed)"
    )


def test_three_redundant_upses_take_it_down_only_when_all_are_critical() -> None:
    assert protection(config(ups("a") + ups("b") + ups("c"))) == (
        "protection: this host goes down when all of a@localhost:3493, b@localhost:3493 and "
        "c@localhost:3493 are critical (1 of 3 supplies needed)"
    )


def test_when_every_supply_is_needed_any_critical_ups_takes_it_down() -> None:
    text = ups("ups1") + ups("ups2") + "[shutdown]\nmin_supplies = 2\n"
    assert protection(config(text)) == (
        "protection: this host goes down when any of ups1@localhost:3493 or "
        "ups2@localhost:3493 is critical (2 supplies needed)"
    )


def test_uneven_power_is_said_as_supplies_left() -> None:
    text = ups("big", "power = 2\n") + ups("a") + ups("b") + "[shutdown]\nmin_supplies = 2\n"
    assert protection(config(text)) == (
        "protection: this host goes down when fewer than 2 of 4 supplies remain "
        "(big@localhost:3493 feeds 2, a@localhost:3493 feeds 1, b@localhost:3493 feeds 1)"
    )


def test_watch_only_upses_are_left_out_of_the_line() -> None:
    text = ups("eaton800") + ups("watched", "power = 0\n")
    assert protection(config(text)) == (
        "protection: this host goes down when eaton800@localhost:3493 is critical (1 supply needed)"
    )


def test_every_ups_with_power_zero_protects_nothing() -> None:
    assert protection(config(ups("a", "power = 0\n"))) == (
        "protection: none (every UPS has power = 0)"
    )


def test_no_ups_protects_nothing() -> None:
    assert protection(config("")) == (
        "protection: none (no [[ups]]; UPSes named on the pyups run command line are watched only)"
    )


def test_rules_that_shut_down_and_dry_run_are_named() -> None:
    text = (
        ups("a", "power = 0\n")
        + '[monitor]\ndry_run = true\n[[rule]]\nname = "low"\non = ["LOWBATT"]\n'
        + "do = [{ shutdown = true }]\n"
    )
    assert protection(config(text)) == (
        "protection: none (every UPS has power = 0); rule low can also shut it down; "
        "dry_run = true: nothing would actually be done"
    )


# --- warnings -------------------------------------------------------------------------------


def test_a_sound_primary_set_up_has_no_warning() -> None:
    assert warned(ups("eaton800", 'role = "primary"\n')) == []


def test_a_missing_shutdown_program_is_a_warning_when_the_host_is_protected() -> None:
    assert warned(ups("eaton800", 'role = "primary"\n'), command="/nonexistent/poweroff") == [
        "shutdown.command: '/nonexistent/poweroff' is not an executable program on this host, "
        "so this host could not shut itself down"
    ]


def test_a_missing_shutdown_program_is_a_warning_when_a_rule_shuts_down() -> None:
    rule = '[[rule]]\nname = "down"\non = ["LOWBATT"]\ndo = [{ shutdown = true }]\n'
    assert warned(rule, command="/nonexistent/poweroff") == [
        "shutdown.command: '/nonexistent/poweroff' is not an executable program on this host, "
        "so this host could not shut itself down"
    ]


def test_a_missing_shutdown_program_is_no_warning_when_nothing_would_run_it() -> None:
    assert warned(ups("eaton800", "power = 0\n"), command="/nonexistent/poweroff") == []


def test_a_primary_without_a_flag_is_a_warning() -> None:
    text = ups("eaton800", 'role = "primary"\n') + (
        f'[shutdown]\ncommand = ["{ALWAYS}"]\npowerdown_flag = ""\n'
    )
    assert warned(text) == [
        'shutdown.powerdown_flag: "" while this host is primary for eaton800@localhost:3493: '
        "the UPS is never switched off after the shutdown, so hosts that halt while the power "
        'comes back stay off; set powerdown_flag = "/run/pyups/killpower"'
    ]


def test_a_secondary_without_a_flag_is_no_warning() -> None:
    text = ups("eaton800") + f'[shutdown]\ncommand = ["{ALWAYS}"]\npowerdown_flag = ""\n'
    assert warned(text) == []


def test_a_flag_on_persistent_storage_is_a_warning_for_a_primary() -> None:
    assert warned(ups("eaton800", 'role = "primary"\n'), volatile=False) == [
        "shutdown.powerdown_flag: /run/pyups/killpower is not on tmpfs: it would survive a "
        "reboot, and the next ordinary shutdown would switch the UPS off; put it on a tmpfs "
        "such as /run"
    ]


@pytest.mark.parametrize("volatile", [True, None])
def test_a_flag_on_tmpfs_or_on_unknown_storage_is_no_warning(volatile: bool | None) -> None:
    assert warned(ups("eaton800", 'role = "primary"\n'), volatile=volatile) == []


def test_a_secondary_never_writes_the_flag_so_its_storage_does_not_matter() -> None:
    assert warned(ups("eaton800"), volatile=False) == []


def test_host_sync_not_longer_than_interval_alert_and_final_delay_is_a_warning() -> None:
    text = ups("eaton800") + (
        f'[monitor]\ninterval_alert = "3s"\n[shutdown]\ncommand = ["{ALWAYS}"]\n'
        'final_delay = "5s"\nhost_sync = "8s"\n'
    )
    assert warned(text) == [
        "shutdown.host_sync: 8s is not longer than interval_alert + final_delay (3s + 5s): a "
        "primary would stop waiting before its secondaries have seen FSD and gone down; make "
        "host_sync longer"
    ]
    assert warned(text.replace('"8s"', '"8.5s"')) == []


def test_host_sync_does_not_matter_to_a_watch_only_config() -> None:
    text = ups("a", "power = 0\n") + f'[shutdown]\ncommand = ["{ALWAYS}"]\nhost_sync = 0\n'
    assert warned(text) == []


def test_a_secondary_that_feeds_the_host_without_a_username_is_a_warning() -> None:
    text = '[[ups]]\nname = "ok"\nusername = "u"\n[[ups]]\nname = "anon"\nserver = "192.0.2.1"\n'
    assert warned(text) == [
        "ups[1].username: anon@192.0.2.1:3493 feeds this host (power = 1) as a secondary "
        "without a username: this host does not log in, so its primary cannot count it and "
        "may cut the power before it is down; add username and password_file (upsd.users: "
        "upsmon secondary), or power = 0 to watch it only"
    ]


def test_a_watch_only_ups_needs_no_username() -> None:
    assert warned('[[ups]]\nname = "anon"\npower = 0\n') == []


def test_a_primary_with_power_zero_is_a_warning() -> None:
    assert warned(ups("mgmt", 'role = "primary"\npower = 0\n')) == [
        "ups[0].power: mgmt@localhost:3493 is primary with power = 0: it only watches, so this "
        "host never sets FSD on it and its secondaries go down by themselves after their "
        "host_sync; give it power = 1 if it feeds this host, or make another host primary"
    ]
