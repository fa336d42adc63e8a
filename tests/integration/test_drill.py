"""``pyups drill`` against a real upsd: it checks everything the plan needs and does none of it."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyups.nut import Attach, Connection
from pyups.sim import NutServer, eaton800, free_port
from tests.harness.config import checked_config, shutdown_recorder, ups_table
from tests.harness.pyups import cli
from tests.harness.users import upsd_users

USERS = upsd_users()
MONITOR = {"interval": '"5s"', "interval_alert": '"2s"', "timeout": '"2s"', "state_file": '""'}
RUNTIME_LOW = 60  # seconds the simulated UPS has left when it raises LB


@pytest.fixture(scope="module")
def upsd() -> Iterator[NutServer]:
    device = eaton800() + f"battery.runtime.low: {RUNTIME_LOW}\n"
    with NutServer({"eaton800": device}, extra_users=USERS) as server:
        yield server


def config(
    tmp_path: Path,
    nut: NutServer,
    user: str | None,
    role: str = "primary",
    shutdown: str = "",
    server: object = None,
) -> str:
    """A checked config for the simulated eaton800, this host its ``role``, as ``user``."""
    keys = f'role = "{role}"\n'
    if user is not None:
        (tmp_path / "secret").write_text(user.removeprefix("mon") + "-secret\n")
        keys += f'username = "{user}"\npassword_file = "{tmp_path}/secret"\n'
    body = ups_table("eaton800", server or nut.server, keys)
    body += f'[shutdown]\ncommand = ["{shutdown_recorder(tmp_path)}"]\n'
    body += shutdown or f'powerdown_flag = "{tmp_path}/run/killpower"\n'
    return checked_config(tmp_path, MONITOR, body)


def counted(nut: NutServer) -> int:
    with contextlib.closing(Connection(nut.server, 5.0)) as observer:
        return observer.num_logins("eaton800")


def status(nut: NutServer) -> str:
    with contextlib.closing(Connection(nut.server, 5.0)) as observer:
        return observer.list_vars("eaton800")["ups.status"]


def settled(nut: NutServer, expected: int) -> int:
    """NUMLOGINS once upsd has seen the drill's sessions close (within a second)."""
    deadline = time.monotonic() + 1.0
    while (now := counted(nut)) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return now


def row(output: str, name: str) -> str:
    """The first line of the table row for check ``name``."""
    return next(line for line in output.splitlines() if line.startswith(name + " "))


def test_a_good_primary_plan_can_work_and_the_drill_sets_no_fsd_and_leaves_no_session(
    upsd: NutServer, tmp_path: Path
) -> None:
    secondary = Connection(
        upsd.server, 5.0, "monsecondary", "secondary-secret", attach=Attach("eaton800")
    )
    with contextlib.closing(secondary):
        secondary.open()
        assert secondary.attached
        before = counted(upsd)
        path = config(
            tmp_path,
            upsd,
            "monprimary",
            shutdown=f'before = [{{ exec = ["/bin/true"], timeout = "10s" }}]\n'
            f'powerdown_flag = "{tmp_path}/run/killpower"\n',
        )
        done = cli("drill", "-c", path)
        assert done.returncode == 0, done.stdout + done.stderr
        out = done.stdout
        assert "FSD" not in status(upsd).split()
        assert settled(upsd, before) == before
    name = f"eaton800@{upsd.server}"
    assert "ok       user monprimary: upsd accepts LOGIN and PRIMARY" in row(out, f"session {name}")
    assert f"upsd counts {before} session" in row(out, f"hosts {name}")
    assert "besides the drill's own: 127.0.0.1 (this host)" in " ".join(out.split())
    assert row(out, "before 1").split()[2] == "ok"
    assert row(out, "flag").split()[1] == "ok"
    assert not (tmp_path / "run").exists()  # the flag's directory is not even created
    assert not (tmp_path / "shutdown.log").exists()  # the command never ran
    # 2s to see LB + 15s host_sync + 10s step + 5s final_delay, against 60s at low battery
    assert "fits with 28s to spare" in out
    assert "total: 32s from LB to the command's start" in out
    assert out.splitlines()[-1].startswith("verdict: the plan can work")


def test_a_broken_set_up_fails_and_names_every_problem(upsd: NutServer, tmp_path: Path) -> None:
    before = counted(upsd)
    path = config(
        tmp_path,
        upsd,
        "watcher",
        shutdown=f'before = [{{ exec = ["{tmp_path}/stop-vms"] }}]\n'
        'powerdown_flag = "/proc/sys/pyups-drill/killpower"\n',
    )
    done = cli("drill", "-c", path)
    assert done.returncode == 1, done.stdout + done.stderr
    out = " ".join(done.stdout.split())  # the table wraps long details
    assert f"session eaton800@{upsd.server} failed upsd refused to count this host" in out
    assert "add `upsmon primary` under [watcher] in upsd.users" in out
    assert f"before 1 failed {tmp_path}/stop-vms: no such file" in out
    assert "flag failed /proc/sys/pyups-drill/killpower: /proc/sys is not writable" in out
    assert "verdict: the plan cannot work: 3 checks failed" in out
    assert settled(upsd, before) == before
    assert "FSD" not in status(upsd).split()


def test_a_secondary_that_may_only_log_in_as_secondary_passes(
    upsd: NutServer, tmp_path: Path
) -> None:
    done = cli("drill", "-c", config(tmp_path, upsd, "monsecondary", role="secondary"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "upsd accepts LOGIN (logged out again)" in done.stdout
    assert "wait for the primary's FSD" in done.stdout
    assert "host_sync" not in [line.split()[0] for line in done.stdout.splitlines() if line]


def test_a_user_allowed_secondary_only_cannot_be_primary(upsd: NutServer, tmp_path: Path) -> None:
    done = cli("drill", "-c", config(tmp_path, upsd, "monsecondary"))
    assert done.returncode == 1
    assert "`upsmon primary` under [monsecondary]" in " ".join(done.stdout.split())


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_a_ups_feeding_this_host_without_a_username_fails(
    upsd: NutServer, tmp_path: Path, role: str
) -> None:
    done = cli("drill", "-c", config(tmp_path, upsd, None, role=role))
    assert done.returncode == 1
    text = " ".join(done.stdout.split())
    assert "cannot count it" in text if role == "secondary" else "cannot log in" in text


def test_a_plan_longer_than_the_runtime_at_low_battery_fails(
    upsd: NutServer, tmp_path: Path
) -> None:
    path = config(tmp_path, upsd, "monprimary", shutdown='host_sync = "90s"\n')
    done = cli("drill", "-c", path, "--json")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    (ups,) = document["ups"]
    assert ups["runtime"] == RUNTIME_LOW and ups["runtime_source"] == "battery.runtime.low"
    assert ups["worst_case"] == 2 + 90 + 5 + 0  # the default flag adds no time
    assert ups["verdict"] == "too-long" and ups["margin"] == RUNTIME_LOW - 97


def test_json_is_one_document_with_every_check_the_timeline_and_the_verdict(
    upsd: NutServer, tmp_path: Path
) -> None:
    done = cli("drill", "-c", config(tmp_path, upsd, "monprimary"), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert document["ok"] is True and document["verdict"] == "the plan can work"
    names = [check["name"] for check in document["checks"]]
    name = f"eaton800@{upsd.server}"
    assert names[:3] == [f"session {name}", f"hosts {name}", "host_sync"]
    assert {"command", "flag", f"runtime {name}"} <= set(names)
    assert all(set(c) == {"name", "ok", "level", "detail"} for c in document["checks"])
    (timeline,) = document["timelines"]
    assert timeline["role"] == "primary" and timeline["worst_case"] == 22
    assert [s["name"] for s in timeline["stages"]][2:4] == ["FSD on eaton800", "host_sync"]
    assert document["ups"][0]["clients"] == []  # nobody else is logged in
    assert document["ups"][0]["verdict"] == "fits"


def test_an_unreachable_upsd_fails_in_words(upsd: NutServer, tmp_path: Path) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    done = cli("drill", "-c", config(tmp_path, upsd, "monprimary", server=nowhere))
    assert done.returncode == 1
    assert "connection refused" in done.stdout
    assert "runtime at low battery unknown: not reached" in " ".join(done.stdout.split())


def test_a_config_error_exits_78(tmp_path: Path) -> None:
    path = tmp_path / "pyups.conf"
    path.write_text('[[ups]]\nname = "eaton800"\nrole = "boss"\n')
    path.chmod(0o600)
    done = cli("drill", "-c", str(path))
    assert done.returncode == 78
    assert "role" in done.stderr


def test_no_config_file_and_no_option_is_a_usage_error() -> None:
    assert cli("drill", "--no-such-option").returncode == 2
