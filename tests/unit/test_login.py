"""Where cmd and set get the user and password from, in the documented order."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyups.address import parse_ups
from pyups.commands.common import Failure
from pyups.commands.login import Login, Sources, resolve
from pyups.config import ConfigError

ADDRESS = parse_ups("eaton800@localhost")


def sources(tmp_path: Path, **overrides: object) -> Sources:
    """No environment, no terminal, an empty config, warnings collected in ``.warnings``."""
    warnings: list[str] = []
    config = tmp_path / "empty.conf"
    config.touch()
    base = Sources(
        config=str(config),
        env={},
        interactive=lambda: False,
        prompt=lambda text: pytest.fail(f"prompted: {text}"),
        warn=warnings.append,
    )
    for key, value in overrides.items():
        setattr(base, key, value)
    base.warnings = warnings  # type: ignore[attr-defined]
    return base


def secret_file(tmp_path: Path, text: str, mode: int = 0o600) -> str:
    path = tmp_path / "secret"
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def config_with_login(tmp_path: Path) -> str:
    (tmp_path / "ups.secret").write_text("from-config\n")
    path = tmp_path / "pyups.conf"
    path.write_text(
        '[[ups]]\nname = "eaton800"\nusername = "monuser"\npassword_file = "ups.secret"\n'
    )
    path.chmod(0o600)
    return str(path)


def test_a_password_file_comes_first(tmp_path: Path) -> None:
    found = sources(
        tmp_path,
        user="admin",
        password_file=secret_file(tmp_path, "from-file\n"),
        env={"PYUPS_PASSWORD": "from-env"},
    )
    assert resolve(ADDRESS, "cmd", found) == Login("admin", "from-file")


def test_the_environment_comes_before_the_config(tmp_path: Path) -> None:
    found = sources(
        tmp_path, env={"PYUPS_PASSWORD": "from-env"}, config=config_with_login(tmp_path)
    )
    assert resolve(ADDRESS, "cmd", found) == Login("monuser", "from-env")


def test_the_config_gives_user_and_password(tmp_path: Path) -> None:
    found = sources(tmp_path, config=config_with_login(tmp_path))
    assert resolve(ADDRESS, "set", found) == Login("monuser", "from-config")


def test_the_configs_password_is_not_given_to_another_user(tmp_path: Path) -> None:
    found = sources(tmp_path, user="admin", config=config_with_login(tmp_path))
    with pytest.raises(Failure, match="no password for upsd user 'admin'") as caught:
        resolve(ADDRESS, "set", found)
    assert caught.value.code == 2


def test_the_configs_entry_must_be_for_the_same_server(tmp_path: Path) -> None:
    found = sources(tmp_path, config=config_with_login(tmp_path))
    with pytest.raises(Failure, match="needs an upsd user"):
        resolve(parse_ups("eaton800@other-host"), "cmd", found)


def test_a_terminal_is_asked_last(tmp_path: Path) -> None:
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "typed"

    found = sources(tmp_path, user="admin", interactive=lambda: True, prompt=prompt)
    assert resolve(ADDRESS, "cmd", found) == Login("admin", "typed")
    assert asked == ["Password for admin on localhost:3493: "]


def test_a_readable_password_file_is_used_with_a_warning(tmp_path: Path) -> None:
    path = secret_file(tmp_path, "pw", mode=0o640)
    found = sources(tmp_path, user="admin", password_file=path)
    assert resolve(ADDRESS, "cmd", found).password == "pw"
    assert found.warnings == [  # type: ignore[attr-defined]
        f"{path} is readable by other users; protect it with: chmod 600 {path}"
    ]


@pytest.mark.parametrize(("text", "says"), [("", "the file is empty"), ("\n", "the file is empty")])
def test_an_empty_password_file_is_an_error(tmp_path: Path, text: str, says: str) -> None:
    found = sources(tmp_path, user="admin", password_file=secret_file(tmp_path, text))
    with pytest.raises(Failure, match=says):
        resolve(ADDRESS, "cmd", found)


def test_a_missing_password_file_is_an_error(tmp_path: Path) -> None:
    found = sources(tmp_path, user="admin", password_file=str(tmp_path / "nope"))
    with pytest.raises(Failure, match="cannot read: No such file or directory"):
        resolve(ADDRESS, "cmd", found)


def test_a_broken_named_config_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.conf"
    broken.write_text("[monitor\n")
    with pytest.raises(ConfigError):
        resolve(ADDRESS, "cmd", sources(tmp_path, user="admin", config=str(broken)))


def test_no_password_anywhere_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(Failure) as caught:
        resolve(ADDRESS, "cmd", sources(tmp_path, user="admin"))
    assert caught.value.code == 2
    assert "--password-file FILE, $PYUPS_PASSWORD" in str(caught.value)
