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


def test_the_flag_defaults_to_run_pyups_killpower() -> None:
    assert killpower.flag_path(args(None)) == "/run/pyups/killpower"
    assert killpower.DEFAULT_FLAG == "/run/pyups/killpower"


def test_the_command_line_reaches_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "killpower"
    assert cli.main(["killpower", "--check", "--flag", str(path)]) == 1
    write_flag(str(path))
    assert cli.main(["killpower", "--check", "--flag", str(path)]) == 0
    assert cli.main(["killpower", "--flag", str(path)]) == 2
    assert "without --check" in capsys.readouterr().err
