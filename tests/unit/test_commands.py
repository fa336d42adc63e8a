"""How ``pyups run`` combines the configuration file with command-line arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyups.commands.common import EXIT_USAGE, Failure, monitor_config
from pyups.commands.demo import ending


@pytest.fixture
def config_file(tmp_path: Path) -> str:
    path = tmp_path / "pyups.conf"
    path.write_text(
        '[monitor]\ninterval = "10s"\ninterval_alert = "4s"\n'
        '[[ups]]\nname = "eaton800"\nserver = "localhost"\nusername = "monuser"\n'
        '[[ups]]\nname = "other"\n'
    )
    return str(path)


def test_ups_arguments_replace_the_file_list_keeping_matching_credentials(
    config_file: str,
) -> None:
    config = monitor_config(config_file, ["eaton800@localhost:3493", "rack2@10.0.0.5"])
    assert [(u.name, str(u.server), u.username) for u in config.ups] == [
        ("eaton800", "localhost:3493", "monuser"),
        ("rack2", "10.0.0.5:3493", None),
    ]


def test_a_ups_named_twice_is_monitored_once(config_file: str) -> None:
    config = monitor_config(config_file, ["b@h", "eaton800@localhost", "b@h:3493"])
    assert [(u.name, str(u.server)) for u in config.ups] == [
        ("b", "h:3493"),
        ("eaton800", "localhost:3493"),
    ]


def test_interval_option_overrides_and_keeps_the_alert_period_no_longer(
    config_file: str,
) -> None:
    assert monitor_config(config_file, [], "2s").monitor.interval_alert == 2.0
    assert monitor_config(config_file, [], "30s").monitor.interval_alert == 4.0
    assert monitor_config(config_file, [], "500ms").monitor.interval == 0.5


@pytest.mark.parametrize("interval", ["soon", "0", "-1"])
def test_a_bad_interval_is_a_usage_error(config_file: str, interval: str) -> None:
    with pytest.raises(Failure) as caught:
        monitor_config(config_file, [], interval)
    assert caught.value.code == EXIT_USAGE
    assert str(caught.value).startswith("--interval: ")


def test_dry_run_option_sets_the_monitor_flag(config_file: str) -> None:
    assert not monitor_config(config_file, []).monitor.dry_run
    assert monitor_config(config_file, [], dry_run=True).monitor.dry_run


def test_upses_named_on_the_command_line_are_watched_only(config_file: str, tmp_path: Path) -> None:
    config = monitor_config(config_file, ["eaton800@localhost", "rack2@10.0.0.5"])
    assert [(u.name, u.power) for u in config.ups] == [("eaton800", 0), ("rack2", 0)]
    assert monitor_config(config_file, []).ups[0].power == 1  # the file's own list is as written


def test_ups_arguments_alone_pass_a_min_supplies_they_could_never_meet(tmp_path: Path) -> None:
    path = tmp_path / "strict.conf"
    path.write_text("[shutdown]\nmin_supplies = 3\n")
    config = monitor_config(str(path), ["eaton800@localhost"])
    assert config.shutdown.min_supplies == 3
    assert [u.power for u in config.ups] == [0]


def test_the_demo_watches_its_simulated_ups_only_so_its_power_cut_shuts_nothing_down() -> None:
    from types import SimpleNamespace

    from pyups.address import Server
    from pyups.commands.demo import example_config
    from pyups.config.views import sequence_plan_of

    server = Server("127.0.0.1", 34930)
    config = example_config(SimpleNamespace(server=server))  # type: ignore[arg-type]
    assert [(u.name, u.server, u.power) for u in config.ups] == [("eaton800", server, 0)]
    assert sequence_plan_of(config).primary_for == ()
    assert not any(rule.actions for rule in config.rules)


# --- the demo's last line ------------------------------------------------------------------


def test_the_demo_suggests_pyups_events_only_when_the_journal_took_the_entries() -> None:
    assert ending(4, {"journal": 6}) == (
        "done: 4 events, in the journal. Read them back with: pyups events -n 4"
    )
    assert ending(4, {"syslog": 6}) == (
        "done: 4 events, sent to syslog (/dev/log): no journald here, so pyups events has "
        "nothing to read back"
    )
    assert ending(4, {"stderr": 6}) == (
        "done: 4 events, on stderr only (above): neither journald nor syslog is here, so pyups "
        "events has nothing to read back"
    )
    assert "syslog and stderr" in ending(4, {"syslog": 2, "stderr": 4})
    assert "pyups events" in ending(4, {"journal": 2, "syslog": 4})
