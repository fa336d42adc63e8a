"""A canary password sent down every failure path: it must show up in nothing pyups writes.

One scenario (a module fixture) runs ``pyups run --record`` with the canary as the password of
three UPSes (a ``password_file`` for a real upsd that refuses it, an inline ``password`` for a
fake server, an inline one for a server that refuses the connection), with ``$PYUPS_PASSWORD``
set as well, instcmd actions that upsd refuses, and exec actions whose argv uses every template
field; then ``pyups cmd``/``set`` with ``$PYUPS_PASSWORD``, ``--password-file`` and the config,
a password typed on the command line, and configurations that are refused. The tests then read
everything back: every field of every journal entry, every stdout and stderr, the trace, the
state file, what the exec actions saw, and the argv ``ps`` shows.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pyups.core.template import FIXED_FIELDS
from pyups.sim import NutServer
from tests.harness.fakeupsd import FakeUpsd
from tests.harness.pyups import Entry, Pyups

# What an exec action runs: records its argv, its environment and its PID, then stays a
# moment so that the test can read its /proc/PID/cmdline and environ while it runs.
CHILD = """
import json, os, sys, time
out = sys.argv[1]
record = {"argv": sys.argv[2:], "env": dict(os.environ), "pid": os.getpid()}
part = os.path.join(out, f".{os.getpid()}.part")
with open(part, "w") as f:
    json.dump(record, f)
os.rename(part, os.path.join(out, f"{os.getpid()}.json"))
time.sleep(3)
"""

# Every template field, then NUT variables: one of them carries shell syntax.
TEMPLATE_FIELDS = sorted(FIXED_FIELDS)
VARIABLE_ARGS = ["{battery.charge}", "{device.location}", "loc={device.location}"]


@dataclass
class Ran:
    """One command that ran to its end."""

    args: list[str]
    pid: int
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Scenario:
    canary: str
    workdir: Path
    nut: NutServer
    location: str  # the hostile device.location value
    run_pid: int = 0
    run_entries: list[Entry] = field(default_factory=list)
    run_stderr: str = ""
    ran: dict[str, Ran] = field(default_factory=dict)
    cmdlines: dict[str, list[str]] = field(default_factory=dict)  # what ps shows, by process
    environs: dict[str, str] = field(default_factory=dict)  # exec children's environments
    calls: list[dict[str, object]] = field(default_factory=list)  # what the exec child saw
    started: float = 0.0

    def pids(self) -> list[int]:
        return [self.run_pid, *(r.pid for r in self.ran.values())]


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> Ran:
    """Run ``pyups ARGS`` to its end (killed by its PID if it overruns)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pyups", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return Ran(list(args), process.pid, process.returncode, out, err)


def proc_read(pid: int, what: str) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/{what}").read_bytes()
    except OSError:
        return None


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


@pytest.fixture(scope="module")
def scenario(journald: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    canary = "canary-" + uuid.uuid4().hex
    work = tmp_path_factory.mktemp("secrets")
    calls_dir = work / "calls"
    calls_dir.mkdir()
    child = work / "record-call.py"
    child.write_text(CHILD)
    location = f"Rack 4 \"north\" 'room'; rm -rf / $(touch {work}/pwned) `id` \\ {{ups}} --all"

    fake = FakeUpsd(ups="fake1")
    fake.vars["device.location"] = location
    refused = FakeUpsd(ups="gone")  # bound, never listening: connections are refused
    try:
        with NutServer() as nut:
            fake.start()
            scene = Scenario(canary, work, nut, location, started=time.time())
            secret = work / "secret"
            secret.write_text(canary + "\n")
            secret.chmod(0o600)
            argv = [sys.executable, str(child), str(calls_dir)]
            argv += [f"{{{name}}}" for name in TEMPLATE_FIELDS] + VARIABLE_ARGS
            config_text = f"""
[monitor]
interval = "0.3s"
interval_alert = "0.3s"
timeout = "2s"
state_file = "{work}/state.json"

[shutdown]
command = ["/bin/true"]

[[ups]]
name = "eaton800"
server = "{nut.server}"
username = "{nut.admin_user}"
password_file = "secret"

[[ups]]
name = "fake1"
server = "127.0.0.1:{fake.port}"
username = "monuser"
password = "{canary}"

[[ups]]
name = "gone"
server = "127.0.0.1:{refused.port}"
username = "{nut.admin_user}"
password = "{canary}"

[[rule]]
name = "cut-load"
if = "OL"
ups = ["eaton800"]
do = [{{ instcmd = "load.off" }}]

[[rule]]
name = "cut-gone"
on = ["COMMBAD"]
ups = ["gone"]
do = [{{ instcmd = "load.off" }}]

[[rule]]
name = "record-fields"
if = "OL"
ups = ["fake1"]
message = "UPS {{ups}} at {{device.location}} ({{status}})"
do = [{{ exec = {toml_list(argv)}, timeout = "20s" }}]

[[rule]]
name = "record-commbad"
on = ["COMMBAD"]
ups = ["gone"]
do = [{{ exec = {toml_list(argv)}, timeout = "20s" }}]
"""
            config = work / "pyups.conf"
            config.write_text(config_text)
            config.chmod(0o600)
            scene.ran["check-config"] = cli("check-config", "-c", str(config))
            assert scene.ran["check-config"].returncode == 0, scene.ran["check-config"].stderr

            _run_monitor(scene, config)
            _run_commands(scene, config, secret, refused.port)
            yield scene
    finally:
        fake.stop()
        refused.stop()


def _run_monitor(scene: Scenario, config: Path) -> None:
    """``pyups run --record`` until every action has reported; ps and /proc looked at meanwhile."""
    calls_dir = scene.workdir / "calls"
    trace = scene.workdir / "trace.jsonl"
    run = Pyups(
        ["run", "-c", str(config), "--record", str(trace)],
        scene.workdir,
        env={"PYUPS_PASSWORD": scene.canary},
    )
    scene.run_pid = run.pid
    try:
        seen: set[str] = set()
        deadline = time.monotonic() + 30
        while True:
            cmdline = proc_read(run.pid, "cmdline")
            if cmdline is not None:
                scene.cmdlines["pyups run"] = cmdline.decode().split("\0")
            for path in calls_dir.glob("*.json"):
                if path.name in seen:
                    continue
                seen.add(path.name)
                call = json.loads(path.read_text())
                scene.calls.append(call)
                pid = int(call["pid"])  # still sleeping: its /proc entry is there
                child_cmdline = proc_read(pid, "cmdline")
                assert child_cmdline is not None, "the exec action ended before it was looked at"
                scene.cmdlines[f"exec child {pid}"] = child_cmdline.decode().split("\0")
                scene.environs[f"exec child {pid}"] = (proc_read(pid, "environ") or b"").decode()
            entries = run.entries()
            actions = {e.get("PYUPS_RULE") for e in entries if e.get("PYUPS_EVENT") == "ACTION"}
            if actions >= {"cut-load", "cut-gone", "record-fields", "record-commbad"}:
                break
            assert run.process.poll() is None, run.stderr()
            assert time.monotonic() < deadline, f"actions reported so far: {actions}"
            time.sleep(0.05)
        assert run.stop() == 0
    finally:
        run.stop()
    scene.run_entries = run.entries()
    scene.run_stderr = run.stderr()


def _run_commands(scene: Scenario, config: Path, secret: Path, refused_port: int) -> None:
    """The everyday commands down their failure paths, with the canary as the password."""
    nut, canary, work = scene.nut, scene.canary, scene.workdir
    env = {"PYUPS_PASSWORD": canary}
    user = ["-u", nut.admin_user]
    ran = scene.ran
    ran["cmd with $PYUPS_PASSWORD"] = cli("cmd", nut.address(), "load.off", *user, env=env)
    ran["cmd --password-file --json"] = cli(
        "cmd", nut.address(), "load.off", *user, "--password-file", str(secret), "--json"
    )
    ran["set with $PYUPS_PASSWORD"] = cli(
        "set", nut.address(), "ups.delay.shutdown=60", *user, env=env
    )
    ran["cmd with the config's password"] = cli("cmd", "-c", str(config), nut.address(), "load.off")
    ran["cmd to a refused server"] = cli(
        "cmd", f"gone@127.0.0.1:{refused_port}", "load.off", *user, env=env
    )
    ran["cmd -p"] = cli("cmd", nut.address(), "load.off", *user, "-p", canary)
    ran["cmd --password="] = cli("cmd", nut.address(), "load.off", *user, f"--password={canary}")

    readable = work / "readable.conf"
    shutil.copyfile(config, readable)
    readable.chmod(0o640)
    ran["check-config, group-readable"] = cli("check-config", "-c", str(readable))
    ran["run, group-readable"] = cli("run", "-c", str(readable))
    ran["cmd -c group-readable"] = cli("cmd", "-c", str(readable), nut.address(), "load.off")

    text = config.read_text()
    password = f'password = "{canary}"'
    broken = {
        "bad TOML on the password line": text.replace(password, f"{password} oops", 1),
        "password as a list": text.replace(password, f'password = ["{canary}"]', 1),
        "password as a table": text.replace(password, f'password = {{ x = "{canary}" }}', 1),
        "password set twice": text.replace(password, f"{password}\n{password}", 1),
        "misspelt password key": text.replace(password, f'pasword = "{canary}"', 1),
        "unterminated password": text.replace(password, f'password = """{canary}', 1),
    }
    for number, (name, broken_text) in enumerate(broken.items()):
        path = work / f"broken-{number}.conf"
        path.write_text(broken_text)
        path.chmod(0o600)
        ran[f"check-config, {name}"] = cli("check-config", "-c", str(path))

    ran["events --json"] = cli("events", "--since", f"@{int(scene.started) - 1}", "--json")
    ran["replay --json"] = cli("replay", "-c", str(config), str(work / "trace.jsonl"), "--json")


# -- the paths were really taken ------------------------------------------------------------------


def test_each_failure_path_was_really_taken(scenario: Scenario) -> None:
    """Without this, a canary found nowhere could just mean the password was never used."""
    assert (scenario.workdir / "secret").read_text() == scenario.canary + "\n"
    actions = {e["PYUPS_RULE"]: e for e in scenario.run_entries if e.get("PYUPS_EVENT") == "ACTION"}
    assert actions["cut-load"]["PYUPS_REASON"] == "ACCESS-DENIED"
    assert actions["cut-gone"]["PYUPS_REASON"] == "CONNECT"
    assert actions["record-fields"]["PYUPS_REASON"] == "exit:0"
    assert actions["record-commbad"]["PYUPS_REASON"] == "exit:0"
    [gone] = [e for e in scenario.run_entries if e.get("PYUPS_EVENT") == "COMMBAD"]
    assert (gone["PYUPS_UPS"], gone["PYUPS_REASON"]) == ("gone", "CONNECT")

    ran = scenario.ran
    for name in (
        "cmd with $PYUPS_PASSWORD",
        "cmd --password-file --json",
        "set with $PYUPS_PASSWORD",
        "cmd with the config's password",
    ):
        assert ran[name].returncode == 1, (name, ran[name].stderr)
        assert "(ACCESS-DENIED)" in ran[name].stderr, (name, ran[name].stderr)
    assert ran["cmd to a refused server"].returncode == 1
    assert "connection refused" in ran["cmd to a refused server"].stderr
    for name in ("cmd -p", "cmd --password="):
        assert ran[name].returncode == 2, (name, ran[name].stderr)
        assert "passwords are not taken on the command line" in ran[name].stderr
    for name in ("check-config, group-readable", "run, group-readable"):
        assert ran[name].returncode == 78, (name, ran[name].stderr)
        assert "readable by group/others (mode 0640)" in ran[name].stderr, ran[name].stderr
    assert ran["cmd -c group-readable"].returncode == 78
    broken = [name for name in ran if name.startswith("check-config, ") and "readable" not in name]
    assert len(broken) == 6
    for name in broken:
        assert ran[name].returncode == 78, (name, ran[name].stderr)
        assert ran[name].stderr.startswith("pyups: "), (name, ran[name].stderr)
    assert ran["events --json"].returncode == 0 and json.loads(ran["events --json"].stdout)
    assert ran["replay --json"].returncode == 0 and ran["replay --json"].stdout
    assert len(scenario.calls) == 2


# -- the canary is nowhere ----------------------------------------------------------------------


def test_no_journal_entry_carries_the_password_in_any_field(scenario: Scenario) -> None:
    assert scenario.run_entries, "the monitor journaled nothing"
    since = f"--since=@{int(scenario.started) - 1}"
    for pid in scenario.pids():
        entries = _journal(since, f"_PID={pid}")
        if pid == scenario.run_pid:  # the reader finds what the monitor wrote
            assert len(entries) >= len(scenario.run_entries), entries
        leaked = [e for e in entries if scenario.canary in json.dumps(e)]
        assert not leaked, f"PID {pid} journaled the password: {leaked}"
    # Anything at all in the journal since the scenario began, whoever wrote it.
    everything = _journal(since)
    assert everything, "journalctl returned nothing"
    assert not [e for e in everything if scenario.canary in json.dumps(e)]


def test_no_output_of_any_command_carries_the_password(scenario: Scenario) -> None:
    assert scenario.canary not in scenario.run_stderr, scenario.run_stderr
    for name, ran in scenario.ran.items():
        assert scenario.canary not in ran.stdout, (name, ran.stdout)
        assert scenario.canary not in ran.stderr, (name, ran.stderr)


def test_no_file_pyups_wrote_carries_the_password(scenario: Scenario) -> None:
    trace = (scenario.workdir / "trace.jsonl").read_text()
    state = (scenario.workdir / "state.json").read_text()
    assert '"ups":"gone"' in trace and '"ups":"fake1"' in trace and '"ups":"eaton800"' in trace
    assert "fake1@" in state
    assert scenario.canary not in trace
    assert scenario.canary not in state
    # And anything else under the scenario's directory, but the files that hold it on purpose.
    inputs = {"secret", "pyups.conf", "readable.conf"}
    written = [
        p
        for p in scenario.workdir.rglob("*")
        if p.is_file() and p.name not in inputs and not p.name.startswith("broken-")
    ]
    assert len(written) >= 5, written  # the trace, the state, stderr, the two calls
    for path in written:
        assert scenario.canary not in path.read_text(errors="replace"), path


def test_no_argv_or_action_environment_carries_the_password(scenario: Scenario) -> None:
    assert "pyups run" in scenario.cmdlines
    assert len([n for n in scenario.cmdlines if n.startswith("exec child")]) == 2
    for name, argv in scenario.cmdlines.items():
        assert scenario.canary not in "\0".join(argv), (name, argv)
    for name, environ in scenario.environs.items():
        assert environ, f"could not read the environment of {name}"
        assert scenario.canary not in environ, name  # $PYUPS_PASSWORD is not passed on
    for call in scenario.calls:
        assert scenario.canary not in json.dumps(call), call
        env = call["env"]
        assert isinstance(env, dict)
        assert "PYUPS_PASSWORD" not in env


def test_the_password_is_no_template_field(scenario: Scenario, tmp_path: Path) -> None:
    assert not {name for name in FIXED_FIELDS if "pass" in name or "secret" in name}
    config = tmp_path / "pyups.conf"
    config.write_text(
        f'[monitor]\nstate_file = ""\n[[ups]]\nname = "eaton800"\nserver = "127.0.0.1:1"\n'
        f'username = "u"\npassword = "{scenario.canary}"\n'
        '[[rule]]\nname = "leak"\nif = "OL"\ndo = [{ exec = ["/bin/echo", "{password}"] }]\n'
    )
    config.chmod(0o600)
    ran = cli("check-config", "-c", str(config))
    assert ran.returncode == 78
    assert "unknown field {password}" in ran.stderr, ran.stderr
    assert scenario.canary not in ran.stdout + ran.stderr


# -- templates cannot inject arguments ----------------------------------------------------------


def test_a_hostile_variable_reaches_the_exec_action_as_exactly_one_argument(
    scenario: Scenario,
) -> None:
    ups = TEMPLATE_FIELDS.index("ups")
    [call] = [c for c in scenario.calls if c["argv"][ups] == "fake1"]  # type: ignore[index]
    argv = call["argv"]
    assert isinstance(argv, list)
    assert len(argv) == len(TEMPLATE_FIELDS) + len(VARIABLE_ARGS)
    got = dict(zip([*TEMPLATE_FIELDS, *VARIABLE_ARGS], argv, strict=True))
    assert got["{device.location}"] == scenario.location
    assert got["loc={device.location}"] == "loc=" + scenario.location
    assert got["message"] == f"UPS fake1 at {scenario.location} (OL CHRG)"
    assert got["{battery.charge}"] == "100"
    assert (got["ups"], got["rule"], got["event"]) == ("fake1", "record-fields", "RULE")
    assert not (scenario.workdir / "pwned").exists()
    # What ps shows is the same argv: the action's own program, its script, then these.
    [cmdline] = [v for k, v in scenario.cmdlines.items() if k == f"exec child {call['pid']}"]
    assert cmdline[3:-1] == argv  # after python, the script and the output directory; "" ends it


# -- helpers ------------------------------------------------------------------------------------


def _journal(*match: str) -> list[Entry]:
    out = subprocess.run(
        ["journalctl", "-o", "json", "--no-pager", "--all", *match],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    entries = []
    for line in out.splitlines():
        with contextlib.suppress(ValueError):
            entries.append(json.loads(line))
    return entries
