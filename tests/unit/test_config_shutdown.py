"""Unit tests for the protection keys: ``[[ups]] role``/``power`` and the ``[shutdown]`` table."""

from __future__ import annotations

import pytest

from pyups.config import ConfigError, MonitorConfig, ShutdownConfig, config_from_text
from pyups.core.protection import Role
from pyups.core.sequence import Step


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "test.conf")
    return info.value.errors


def test_a_ups_is_a_secondary_feeding_one_supply_by_default() -> None:
    (ups,) = config_from_text('[[ups]]\nname = "a"\n').ups
    assert (ups.role, ups.power) == (Role.SECONDARY, 1)


def test_role_and_power_are_read() -> None:
    (ups,) = config_from_text('[[ups]]\nname = "a"\nrole = "primary"\npower = 2\n').ups
    assert (ups.role, ups.power) == (Role.PRIMARY, 2)


def test_a_primary_may_have_power_zero() -> None:
    (ups,) = config_from_text('[[ups]]\nname = "a"\nrole = "primary"\npower = 0\n').ups
    assert (ups.role, ups.power) == (Role.PRIMARY, 0)


def test_upsmons_old_role_names_are_refused_with_the_new_one() -> None:
    assert errors_of('[[ups]]\nname = "a"\nrole = "master"\n') == [
        'test.conf:3: ups[0].role: "master" is upsmon\'s old name; write "primary"'
    ]
    assert errors_of('[[ups]]\nname = "a"\nrole = "slave"\n') == [
        'test.conf:3: ups[0].role: "slave" is upsmon\'s old name; write "secondary"'
    ]


def test_an_unknown_role_names_both_roles() -> None:
    assert errors_of('[[ups]]\nname = "a"\nrole = "boss"\n') == [
        'test.conf:3: ups[0].role: "boss" is not a role; write "primary" or "secondary"'
    ]


@pytest.mark.parametrize("written", ["-1", "1.5", "true", '"1"'])
def test_power_must_be_a_whole_number_of_zero_or_more(written: str) -> None:
    (error,) = errors_of(f'[[ups]]\nname = "a"\npower = {written}\n')
    assert error.startswith(f"test.conf:3: ups[0].power: {written} is not a number of supplies")
    assert "0 to watch it only" in error


def test_shutdown_defaults_are_the_design_defaults() -> None:
    shutdown = config_from_text("").shutdown
    assert shutdown == ShutdownConfig()
    assert shutdown.min_supplies == 1
    assert shutdown.command == ("systemctl", "poweroff")
    assert shutdown.before == ()
    assert (shutdown.final_delay, shutdown.host_sync) == (5.0, 15.0)
    assert (shutdown.lowbatt_for, shutdown.linger) == (0.0, 0.0)
    assert shutdown.powerdown_flag == "/run/pyups/killpower"


def test_every_shutdown_key_is_read() -> None:
    shutdown = config_from_text(
        '[shutdown]\nmin_supplies = 1\ncommand = ["/sbin/shutdown", "-h", "now"]\n'
        'before = [{ exec = ["/usr/local/sbin/stop-vms", "--all"], timeout = "2m" },\n'
        '          { exec = ["/bin/sync"] }]\n'
        'final_delay = 0\nhost_sync = "30s"\nlowbatt_for = "3s"\nlinger = "1m"\n'
        'powerdown_flag = ""\n'
    ).shutdown
    assert shutdown == ShutdownConfig(
        min_supplies=1,
        command=("/sbin/shutdown", "-h", "now"),
        before=(Step(("/usr/local/sbin/stop-vms", "--all"), 120.0), Step(("/bin/sync",), 30.0)),
        final_delay=0.0,
        host_sync=30.0,
        lowbatt_for=3.0,
        linger=60.0,
        powerdown_flag="",
    )


def test_min_supplies_zero_is_refused_pointing_to_power_zero() -> None:
    assert errors_of("[shutdown]\nmin_supplies = 0\n") == [
        "test.conf:2: shutdown.min_supplies: 0 must be a whole number of at least 1, e.g. "
        "min_supplies = 1; for a host that no UPS shuts down, give every [[ups]] power = 0 "
        "instead"
    ]


def test_total_power_below_min_supplies_is_an_error() -> None:
    text = '[[ups]]\nname = "a"\n[[ups]]\nname = "b"\npower = 0\n[shutdown]\nmin_supplies = 2\n'
    assert errors_of(text) == [
        "test.conf:7: shutdown.min_supplies: the [[ups]] entries feed 1 supply in all (their "
        "power), fewer than min_supplies = 2, so this host would shut down at once; lower "
        "min_supplies to at most 1 or raise the power of the UPSes that feed it"
    ]


def test_enough_power_for_min_supplies_is_accepted() -> None:
    text = '[[ups]]\nname = "a"\n[[ups]]\nname = "b"\npower = 2\n[shutdown]\nmin_supplies = 3\n'
    assert [u.power for u in config_from_text(text).ups] == [1, 2]


def test_a_watch_only_config_is_not_held_to_min_supplies() -> None:
    text = '[[ups]]\nname = "a"\npower = 0\n[shutdown]\nmin_supplies = 2\n'
    assert config_from_text(text).shutdown.min_supplies == 2
    assert config_from_text("[shutdown]\nmin_supplies = 2\n").ups == ()


def test_a_bad_power_is_reported_once_not_again_as_too_few_supplies() -> None:
    text = '[[ups]]\nname = "a"\npower = "lots"\n[shutdown]\nmin_supplies = 2\n'
    (error,) = errors_of(text)
    assert error.startswith("test.conf:3: ups[0].power:")


def test_before_steps_are_checked_like_exec_actions_each_at_its_path() -> None:
    text = (
        "[shutdown]\n"
        'before = [{ instcmd = "x" }, { exec = "stop-vms", timeou = 1 }, 3,\n'
        '          { exec = ["/bin/x"], timeout = "soon" }]\n'
    )
    assert errors_of(text) == [
        "test.conf:2: shutdown.before[0]: unknown action; write { exec = "
        '["/usr/local/sbin/stop-vms"], timeout = "2m" }',
        "test.conf:2: shutdown.before[1].timeou: unknown key; exec takes only timeout",
        'test.conf:2: shutdown.before[1].exec: "stop-vms" must be a list of arguments, e.g. '
        '["/usr/local/sbin/stop-vms", "--all"]',
        "test.conf:2: shutdown.before[2]: 3 is not an action; write e.g. { exec = "
        '["/usr/local/sbin/stop-vms"], timeout = "2m" }',
        'test.conf:2: shutdown.before[3].timeout: "soon" is not a duration; write seconds (30) '
        'or e.g. "500ms", "90s", "5m", "1h30m"',
    ]


def test_before_arguments_are_taken_as_written_not_as_templates() -> None:
    text = '[shutdown]\nbefore = [{ exec = ["/bin/sh", "-c", "echo {ups} {"] }]\n'
    assert config_from_text(text).shutdown.before == (Step(("/bin/sh", "-c", "echo {ups} {")),)


@pytest.mark.parametrize("key", ["final_delay", "host_sync", "lowbatt_for", "linger"])
def test_shutdown_durations_may_be_zero_but_not_negative(key: str) -> None:
    assert getattr(config_from_text(f"[shutdown]\n{key} = 0\n").shutdown, key) == 0.0
    (error,) = errors_of(f"[shutdown]\n{key} = -1\n")
    assert error.startswith(f"test.conf:2: shutdown.{key}: -1 is not a duration")


def test_the_powerdown_flag_is_an_absolute_path_or_empty() -> None:
    assert errors_of('[shutdown]\npowerdown_flag = "killpower"\n') == [
        'test.conf:2: shutdown.powerdown_flag: "killpower" is not an absolute path; write e.g. '
        '"/run/pyups/killpower" (on tmpfs), or "" for no flag'
    ]


def test_an_unknown_shutdown_key_lists_the_known_ones() -> None:
    assert errors_of("[shutdown]\nminsupplies = 1\n") == [
        "test.conf:2: shutdown.minsupplies: unknown key; known keys: min_supplies, command, "
        "before, final_delay, host_sync, lowbatt_for, linger, powerdown_flag"
    ]


# --- monitor.shutdown_command, the older place of [shutdown] command --------------------------


def test_monitor_shutdown_command_alone_is_used_with_a_warning() -> None:
    config = config_from_text('[monitor]\nshutdown_command = ["/bin/true"]\n', "test.conf")
    assert config.shutdown.command == ("/bin/true",)
    assert config.monitor.shutdown_command == ("/bin/true",)
    assert config.warnings == (
        "test.conf:2: monitor.shutdown_command: still read, but its place is now [shutdown]: "
        'move it there as command = ["/bin/true"]',
    )


def test_shutdown_command_wins_over_monitor_shutdown_command_which_is_ignored() -> None:
    text = '[monitor]\nshutdown_command = ["/bin/true"]\n[shutdown]\ncommand = ["/bin/false"]\n'
    config = config_from_text(text, "test.conf")
    assert config.shutdown.command == ("/bin/false",)
    assert config.monitor.shutdown_command == ("/bin/false",)  # both names, one command
    assert config.warnings == (
        "test.conf:2: monitor.shutdown_command: ignored: [shutdown] command is set and is the "
        "command used; remove this key",
    )


def test_shutdown_command_alone_is_the_command_everywhere_without_warning() -> None:
    config = config_from_text('[shutdown]\ncommand = ["/bin/false"]\n')
    assert config.monitor.shutdown_command == config.shutdown.command == ("/bin/false",)
    assert config.warnings == ()
    assert config_from_text("").monitor == MonitorConfig()
