"""commands/killpower: `pyups killpower --check`, upsmon -K's exit codes."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pyups import cli
from pyups.commands import killpower
from pyups.commands.common import EXIT_USAGE, Failure
from pyups.service.flag import write_flag


def args(flag: Path | None, check: bool = True) -> argparse.Namespace:
    return argparse.Namespace(check=check, config=None, flag=str(flag) if flag else None)


def test_a_set_flag_exits_0_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "killpower"
    write_flag(str(path))
    assert killpower.main(args(path)) == 0
    assert capsys.readouterr().out == f"power-down flag {path} is set\n"


def test_no_flag_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert killpower.main(args(tmp_path / "killpower")) == 1
    assert "is not set" in capsys.readouterr().err


def test_a_foreign_file_exits_1_and_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "killpower"
    path.write_text("upsmon-shutdown\n")
    assert killpower.main(args(path)) == 1
    assert "does not hold the power-down flag" in capsys.readouterr().err
    assert path.read_text() == "upsmon-shutdown\n"


def test_without_check_it_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(Failure) as caught:
        killpower.main(args(tmp_path / "killpower", check=False))
    assert caught.value.code == EXIT_USAGE


def test_the_flag_defaults_to_run_pyups_killpower(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYUPS_CONFIG", raising=False)
    monkeypatch.setattr("pyups.commands.common.DEFAULT_CONFIG_PATH", str(tmp_path / "none"))
    assert killpower.flag_path(args(None)) == "/run/pyups/killpower"
    assert killpower.DEFAULT_FLAG == "/run/pyups/killpower"


def test_the_command_line_reaches_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "killpower"
    assert cli.main(["killpower", "--check", "--flag", str(path)]) == 1
    write_flag(str(path))
    assert cli.main(["killpower", "--check", "--flag", str(path)]) == 0
    assert cli.main(["killpower", "--flag", str(path)]) == 2
    assert "without --check" in capsys.readouterr().err


# --- which file is the flag -------------------------------------------------------------------


def with_config(tmp_path: Path, text: str, flag: str | None = None) -> argparse.Namespace:
    config = tmp_path / "pyups.conf"
    config.write_text(text)
    config.chmod(0o600)
    return argparse.Namespace(check=True, config=str(config), flag=flag)


def test_the_configured_powerdown_flag_is_checked(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    namespace = with_config(tmp_path, f'[shutdown]\npowerdown_flag = "{flag}"\n')
    assert killpower.flag_path(namespace) == str(flag)
    assert killpower.main(namespace) == 1
    write_flag(str(flag))
    assert killpower.main(namespace) == 0


def test_the_flag_option_wins_over_the_configuration(tmp_path: Path) -> None:
    namespace = with_config(tmp_path, '[shutdown]\npowerdown_flag = "/run/x"\n', "/run/y")
    assert killpower.flag_path(namespace) == "/run/y"


def test_a_configuration_without_the_key_gives_the_default(tmp_path: Path) -> None:
    assert killpower.flag_path(with_config(tmp_path, "")) == "/run/pyups/killpower"


def test_no_configured_flag_checks_as_not_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert killpower.main(with_config(tmp_path, '[shutdown]\npowerdown_flag = ""\n')) == 1
    assert "no power-down flag is configured" in capsys.readouterr().err


def test_pyups_config_names_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "env.conf"
    config.write_text('[shutdown]\npowerdown_flag = "/run/env-flag"\n')
    monkeypatch.setenv("PYUPS_CONFIG", str(config))
    assert killpower.flag_path(args(None)) == "/run/env-flag"


def test_a_configuration_that_fails_to_load_exits_78_with_its_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "pyups.conf"
    config.write_text('[shutdown]\npowerdown_flag = "relative"\n')
    assert cli.main(["killpower", "--check", "-c", str(config)]) == 78
    assert f"{config}:2: shutdown.powerdown_flag:" in capsys.readouterr().err
    missing = str(tmp_path / "missing.conf")
    assert cli.main(["killpower", "--check", "-c", missing]) == 78
