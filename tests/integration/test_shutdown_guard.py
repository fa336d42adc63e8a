"""The harness never starts pyups with a configuration that could shut this machine down."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.config import checked_config, shutdown_recorder
from tests.harness.guard import RealShutdown, refuse_real_shutdown

UPS = '[[ups]]\nname = "eaton800"\nserver = "127.0.0.1:9"\n'
ENV = {"PYUPS_CONFIG": "/dev/null"}


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "pyups.conf"
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


@pytest.mark.parametrize(
    "command", ['["systemctl", "poweroff"]', '["/sbin/shutdown", "-h", "now"]', '["halt"]']
)
def test_a_ups_that_feeds_the_host_with_a_real_command_is_refused(
    tmp_path: Path, command: str
) -> None:
    path = config(tmp_path, f"{UPS}[shutdown]\ncommand = {command}\n")
    for args in (["run", "-c", path], ["daemon", "-c", path]):
        with pytest.raises(RealShutdown, match="refusing to start pyups"):
            refuse_real_shutdown(args, ENV)


def test_the_default_command_is_refused_and_so_is_the_old_key(tmp_path: Path) -> None:
    with pytest.raises(RealShutdown):
        refuse_real_shutdown(["run", "-c", config(tmp_path, UPS)], ENV)
    old = config(tmp_path, f'[monitor]\nshutdown_command = ["/usr/sbin/poweroff"]\n{UPS}')
    with pytest.raises(RealShutdown):
        refuse_real_shutdown(["run", "-c", old], ENV)


def test_a_rule_that_shuts_down_is_refused_even_when_watching_only(tmp_path: Path) -> None:
    text = f'{UPS}power = 0\n[[rule]]\nname = "x"\non = ["LOWBATT"]\ndo = [{{ shutdown = true }}]\n'
    with pytest.raises(RealShutdown):
        refuse_real_shutdown(["run", "-c", config(tmp_path, text)], ENV)


def test_harmless_configurations_start(tmp_path: Path) -> None:
    recorder = shutdown_recorder(tmp_path)
    refuse_real_shutdown(
        ["run", "-c", config(tmp_path, f'{UPS}[shutdown]\ncommand = ["{recorder}"]\n')], ENV
    )
    refuse_real_shutdown(["run", "-c", config(tmp_path, f"{UPS}power = 0\n")], ENV)
    refuse_real_shutdown(["run", "-c", config(tmp_path, UPS), "--dry-run"], ENV)
    refuse_real_shutdown(["run", "-c", config(tmp_path, "[monitor]\ndry_run = true\n" + UPS)], ENV)
    refuse_real_shutdown(["run", "eaton800@127.0.0.1:9"], ENV)  # named UPSes watch only
    refuse_real_shutdown(["run", "-c", config(tmp_path, UPS), "eaton800@127.0.0.1:9"], ENV)
    refuse_real_shutdown(["status", "-c", config(tmp_path, UPS), "eaton800@127.0.0.1:9"], ENV)
    missing = f'{UPS}[shutdown]\ncommand = ["/nonexistent/poweroff"]\n'
    refuse_real_shutdown(["run", "-c", config(tmp_path, missing)], ENV)  # cannot run at all


def test_a_real_program_hidden_in_a_shell_command_is_refused(tmp_path: Path) -> None:
    text = f'{UPS}[shutdown]\ncommand = ["/bin/sh", "-c", "sleep 1; systemctl poweroff"]\n'
    with pytest.raises(RealShutdown):
        refuse_real_shutdown(["run", "-c", config(tmp_path, text)], ENV)


def test_checked_configs_get_a_recording_command(tmp_path: Path) -> None:
    path = checked_config(tmp_path, {"interval": "10"}, UPS)
    refuse_real_shutdown(["run", "-c", path], ENV)
    assert f'command = ["{tmp_path}/record-shutdown"]' in Path(path).read_text()
    moved = checked_config(tmp_path, {"shutdown_command": '["/bin/true"]'}, UPS)
    assert '[shutdown]\ncommand = ["/bin/true"]' in Path(moved).read_text()


def test_pyups_fsd_is_refused_unless_it_names_the_test_s_own_daemon(tmp_path: Path) -> None:
    with pytest.raises(RealShutdown, match="without --pidfile"):
        refuse_real_shutdown(["fsd", "--yes"], ENV)
    refuse_real_shutdown(["fsd", "--yes", "--pidfile", str(tmp_path / "pyups.pid")], ENV)
    refuse_real_shutdown(["fsd", f"--pidfile={tmp_path / 'pyups.pid'}"], ENV)
