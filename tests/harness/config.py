"""pyups configurations for tests and benchmarks, written as TOML text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from pyups.address import Server
from pyups.sim import NutServer

from .pyups import cli


def ups_table(name: str, server: object, extra: str = "") -> str:
    """One ``[[ups]]`` table; ``extra`` holds more of its keys, one per line."""
    return f'[[ups]]\nname = "{name}"\nserver = "{server}"\n{extra}'


def monitor_table(settings: Mapping[str, object]) -> str:
    """``[monitor]`` with these keys, their values TOML already."""
    return "[monitor]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())


def checked_config(tmp_path: Path, monitor: Mapping[str, str], body: str) -> str:
    """``tmp_path/pyups.conf``: ``[monitor]`` with these keys (TOML values), then ``body``.

    Owner-readable only, and accepted by ``pyups check-config``, so a test fails on its own
    typo, not later on a puzzling monitor. Unless ``body`` has its own ``[shutdown]``, the
    shutdown command is a harmless recorder (see :func:`shutdown_recorder`), or the
    ``shutdown_command`` given among ``monitor``, written as ``[shutdown] command``.
    """
    monitor = dict(monitor)
    command = monitor.pop("shutdown_command", None)
    text = monitor_table(monitor)
    if "[shutdown]" not in body:
        command = command or f'["{shutdown_recorder(tmp_path)}"]'
        # final_delay 0: the sequence reaches the recorder without the 5 s meant for a host.
        text += f"[shutdown]\ncommand = {command}\nfinal_delay = \"0s\"\n"
    elif command is not None:
        text += f"shutdown_command = {command}\n"
    path = tmp_path / "pyups.conf"
    path.write_text(text + body)
    path.chmod(0o600)
    check = cli("check-config", "-c", str(path))
    assert check.returncode == 0, check.stderr
    return str(path)


def shutdown_recorder(tmp_path: Path) -> Path:
    """A harmless shutdown command: appends its arguments to ``tmp_path/shutdown.log``."""
    script = tmp_path / "record-shutdown"
    if not script.exists():
        log = tmp_path / "shutdown.log"
        script.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n')
        script.chmod(0o755)
    return script


def write_config(
    tmp_path: Path,
    nut: NutServer,
    rules: str = "",
    *,
    login: bool = False,
    ups: str = "",
    **monitor: str,
) -> str:
    """A checked config watching the simulated eaton800 with short timers, plus ``rules``.

    ``monitor`` overrides ``[monitor]`` keys (TOML values); ``ups`` adds keys (TOML lines) to
    the ``[[ups]]`` table; ``login`` logs in as the server's admin, its password in a
    password_file. The UPS is watched only (``power = 0``) unless ``ups`` sets ``power``:
    these tests are about monitoring, and a low battery must not start the shutdown sequence
    in the middle of the events they expect.
    """
    settings = {
        "interval": '"0.3s"',
        "interval_alert": '"0.3s"',
        "timeout": '"1s"',
        "state_file": f'"{tmp_path}/state.json"',
        **monitor,
    }
    if "power" not in ups:
        ups = "power = 0\n" + ups  # monitoring tests: no shutdown sequence among their events
    if login:
        ups += f'username = "{nut.admin_user}"\npassword_file = "{tmp_path}/secret"\n'
        (tmp_path / "secret").write_text(nut.admin_password + "\n")
    return checked_config(tmp_path, settings, ups_table("eaton800", nut.server, ups) + rules)


def pyups_config(
    servers: Sequence[tuple[Server, Sequence[str]]], interval: float, **monitor: object
) -> str:
    """A config polling every listed UPS at ``interval``, alert interval the same, no state;
    ``monitor`` adds ``[monitor]`` keys (TOML values). The UPSes are watched only
    (``power = 0``): benchmarks measure monitoring, and never shut the machine down."""
    settings = {
        "interval": f'"{interval}s"',
        "interval_alert": f'"{interval}s"',
        "state_file": '""',
        **monitor,
    }
    upses = (ups_table(name, server, "power = 0\n") for server, names in servers for name in names)
    return monitor_table(settings) + "".join(upses)
