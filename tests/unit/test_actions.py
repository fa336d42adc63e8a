"""Action runners and the dispatcher, with real processes: small shell scripts in tmp_path."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pyups.actions.dispatcher import Dispatcher
from pyups.address import Server
from pyups.core.events import Event, finish
from pyups.core.rules import ActionRequest, ExecAction, InstcmdAction, ShutdownAction
from pyups.sim import free_port
from tests.harness.dispatch import Recorder, make_dispatcher
from tests.harness.procs import alive
from tests.harness.wait import TimedOut, wait_until

MESSAGE = "UPS eaton800 on battery; 87% left"


def rule_event(trigger: str | None = None, **vars: str) -> Event:
    variables = {"battery.charge": "87", "battery.runtime": "1200", "ups.status": "OB DISCHRG"}
    variables.update(vars)
    return Event(
        name="RULE",
        ups="eaton800",
        server=Server("127.0.0.1"),
        t=1000.0,
        status="OB DISCHRG",
        prev_status="OL",
        vars=variables,
        rule="outage",
        trigger=trigger,
        priority="crit",
        message=MESSAGE,
    )


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


MakeDispatcher = Callable[..., tuple[Dispatcher, Recorder]]


@pytest.fixture
def dispatcher() -> Iterator[MakeDispatcher]:
    made: list[Dispatcher] = []

    def make(**options: object) -> tuple[Dispatcher, Recorder]:
        recorder = Recorder()
        made.append(make_dispatcher(recorder, **options))
        return made[-1], recorder

    yield make
    for each in made:
        each.close(0)


def run_one(make: MakeDispatcher, action: object, event: Event | None = None) -> Event:
    """Submit one action, wait for its ACTION event."""
    dispatcher, recorder = make()
    dispatcher.submit(ActionRequest(action, event or rule_event()))  # type: ignore[arg-type]
    [action_event] = recorder.wait(1)
    return action_event


def wait_for_file(path: Path, timeout: float = 5.0) -> str:
    try:
        wait_until(lambda: path.exists() and path.read_text().endswith("\n"), timeout, every=0.01)
    except TimedOut:
        raise TimedOut(f"{path} was not written") from None
    return path.read_text()


# -- exec: arguments, environment, outcomes -------------------------------------------------


def test_exec_renders_each_argument_as_exactly_one_argv_element(
    dispatcher: MakeDispatcher, tmp_path: Path
) -> None:
    out = tmp_path / "args"
    echo = script(tmp_path, "echo-args", f'for a in "$@"; do printf "%s\\n" "$a"; done > {out}\n')
    argv = (echo, "{ups}", "{message}", "{battery.charge}", "two words", "{rule}", "{nothing}")

    action = run_one(dispatcher, ExecAction(argv))

    assert out.read_text().splitlines() == [
        "eaton800",
        MESSAGE,
        "87",
        "two words",
        "outage",
        "n/a",
    ]
    assert action.name == "ACTION"
    assert action.message == action.outcome
    assert finish(action, {}) == action
    assert action.reason == "exit:0"
    assert action.priority == "info"
    assert action.rule == "outage"
    assert (action.ups, str(action.server), action.status) == (
        "eaton800",
        "127.0.0.1:3493",
        "OB DISCHRG",
    )
    assert action.outcome.startswith(
        f"exec {echo} eaton800 'UPS eaton800 on battery; 87% left' 87 'two words' outage n/a: "
        "exit 0 after "
    )


def test_exec_gets_the_event_in_its_environment_and_no_inherited_pyups_values(
    dispatcher: MakeDispatcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYUPS_PASSWORD", "hunter2")
    monkeypatch.setenv("PYUPS_BATTERY_CHARGE", "stale")
    monkeypatch.setenv("PYUPS_TEST_INHERITED", "kept")
    out = tmp_path / "env"
    dump = script(tmp_path, "dump-env", f"env | grep -e ^PYUPS_ -e ^PYUPS_TEST_INHERITED > {out}\n")

    run_one(dispatcher, ExecAction((dump,)), rule_event("ONBATT"))

    env = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert env == {
        "PYUPS_EVENT": "ONBATT",
        "PYUPS_UPS": "eaton800",
        "PYUPS_SERVER": "127.0.0.1:3493",
        "PYUPS_STATUS": "OB DISCHRG",
        "PYUPS_PREV_STATUS": "OL",
        "PYUPS_RULE": "outage",
        "PYUPS_MESSAGE": MESSAGE,
        "PYUPS_BATTERY_CHARGE": "87",
        "PYUPS_BATTERY_RUNTIME": "1200",
    }


def test_exec_for_a_condition_rule_says_rule_and_omits_values_the_ups_does_not_report(
    dispatcher: MakeDispatcher, tmp_path: Path
) -> None:
    out = tmp_path / "env"
    dump = script(tmp_path, "dump-env", f"env | grep ^PYUPS_ > {out}\n")
    event = replace(rule_event(), vars={"ups.status": "OB"})

    run_one(dispatcher, ExecAction((dump, "{event}")), event)

    env = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert env["PYUPS_EVENT"] == "RULE"
    assert "PYUPS_BATTERY_CHARGE" not in env
    assert "PYUPS_BATTERY_RUNTIME" not in env


def test_event_template_in_an_argument_is_the_builtin_event_of_an_on_rule(
    dispatcher: MakeDispatcher, tmp_path: Path
) -> None:
    out = tmp_path / "args"
    echo = script(tmp_path, "echo-args", f'printf "%s\\n" "$@" > {out}\n')

    run_one(dispatcher, ExecAction((echo, "{event}")), rule_event("LOWBATT"))

    assert out.read_text() == "LOWBATT\n"


def test_exec_exit_code_is_reported_as_an_error(dispatcher: MakeDispatcher, tmp_path: Path) -> None:
    fail = script(tmp_path, "fail", "exit 3\n")

    action = run_one(dispatcher, ExecAction((fail,)))

    assert action.reason == "exit:3"
    assert action.priority == "err"
    assert action.outcome.startswith(f"exec {fail}: exit 3 after ")


def test_exec_that_dies_of_a_signal_is_reported_by_signal_name(
    dispatcher: MakeDispatcher, tmp_path: Path
) -> None:
    die = script(tmp_path, "die", "kill -TERM $$\nsleep 5\n")

    action = run_one(dispatcher, ExecAction((die,)))

    assert action.reason == "signal:SIGTERM"
    assert action.priority == "err"
    assert f"exec {die}: died of SIGTERM after " in action.outcome


def test_exec_timeout_kills_the_whole_process_group(
    dispatcher: MakeDispatcher, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    hang = script(tmp_path, "hang", f"sleep 60 &\necho $$ $! > {pids}\nwait\n")

    started = time.monotonic()
    action = run_one(dispatcher, ExecAction((hang,), timeout=0.5))

    assert time.monotonic() - started < 2.0, "SIGTERM should have ended it at once"
    assert action.reason == "timeout"
    assert action.priority == "err"
    assert action.outcome == f"exec {hang}: killed after timeout 500ms"
    shell, child = (int(pid) for pid in pids.read_text().split())
    assert not alive(shell)
    assert not alive(child), "the background child outlived the timeout"


def test_exec_ignoring_sigterm_is_killed_two_seconds_later(
    dispatcher: MakeDispatcher, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    stubborn = script(
        tmp_path, "stubborn", f"trap '' TERM\nsleep 60 &\necho $$ $! > {pids}\nwait\n"
    )

    started = time.monotonic()
    action = run_one(dispatcher, ExecAction((stubborn,), timeout=0.3))
    took = time.monotonic() - started

    assert action.reason == "timeout"
    assert 2.2 < took < 4.0
    assert not any(alive(int(pid)) for pid in pids.read_text().split())


def test_exec_of_a_missing_program_is_an_error(dispatcher: MakeDispatcher, tmp_path: Path) -> None:
    action = run_one(dispatcher, ExecAction(("/nonexistent/page-admin", "{ups}")))

    assert action.reason == "error"
    assert action.priority == "err"
    assert action.outcome == (
        "exec /nonexistent/page-admin eaton800: cannot run: No such file or directory"
    )


def test_exec_of_a_file_that_is_not_executable_is_an_error(
    dispatcher: MakeDispatcher, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\n")

    action = run_one(dispatcher, ExecAction((str(plain),)))

    assert action.reason == "error"
    assert action.outcome == f"exec {plain}: cannot run: Permission denied"


def test_exec_stderr_tail_is_noted_at_debug(dispatcher: MakeDispatcher, tmp_path: Path) -> None:
    complain = script(tmp_path, "complain", "echo 'no modem found' >&2\nexit 1\n")
    made, recorder = dispatcher()

    made.submit(ActionRequest(ExecAction((complain, "x")), rule_event()))
    recorder.wait(1)

    assert recorder.notes == [(f"exec {complain} x: stderr: no modem found", "debug")]


def test_exec_flooding_stderr_neither_blocks_nor_grows_the_tail(
    dispatcher: MakeDispatcher, tmp_path: Path
) -> None:
    flood = script(
        tmp_path, "flood", "head -c 1048576 /dev/zero | tr '\\0' x >&2\necho ' last words' >&2\n"
    )
    made, recorder = dispatcher()

    made.submit(ActionRequest(ExecAction((flood,), timeout=10), rule_event()))
    [action] = recorder.wait(1)

    assert action.reason == "exit:0"
    [(note, priority)] = recorder.notes
    tail = note.split(": stderr: ", 1)[1]
    assert priority == "debug"
    assert len(tail.encode()) <= 2048 + 3
    assert tail.startswith("...xxx")
    assert tail.endswith("xxx last words")


def test_no_stderr_means_no_note(dispatcher: MakeDispatcher) -> None:
    made, recorder = dispatcher()
    made.submit(ActionRequest(ExecAction(("/bin/true",)), rule_event()))
    recorder.wait(1)
    assert recorder.notes == []


# -- dry run ------------------------------------------------------------------------------


def test_dry_run_runs_nothing_and_says_what_would_have_run(
    dispatcher: MakeDispatcher, tmp_path: Path
) -> None:
    out = tmp_path / "ran"
    touch = script(tmp_path, "touch", f"echo ran > {out}\n")
    shutdown_out = tmp_path / "shutdown"
    made, recorder = dispatcher(
        dry_run=True, shutdown_command=["/bin/sh", "-c", f"echo x >> {shutdown_out}"]
    )

    made.submit(ActionRequest(ExecAction((touch, "{ups}", "{rule}")), rule_event()))
    made.submit(ActionRequest(InstcmdAction("beeper.disable"), rule_event()))
    made.submit(ActionRequest(ShutdownAction(), rule_event()))
    made.submit(ActionRequest(ShutdownAction(), rule_event()))
    made.close(5)

    assert [(e.reason, e.priority) for e in recorder.events] == [
        ("dry-run", "info"),
        ("dry-run", "info"),
        ("dry-run", "info"),
        ("skipped", "info"),
    ]
    messages = [e.outcome for e in recorder.events]
    assert messages[:3] == [
        f"dry run: would exec {touch} eaton800 outage",
        "dry run: would send instcmd beeper.disable on eaton800@127.0.0.1:3493",
        f"dry run: would run shutdown: /bin/sh -c 'echo x >> {shutdown_out}'",
    ]
    assert messages[3].startswith("shutdown already started at ")
    assert not out.exists()
    assert not shutdown_out.exists()


# -- shutdown -----------------------------------------------------------------------------


def test_shutdown_runs_once_and_later_requests_are_skipped(
    dispatcher: MakeDispatcher, tmp_path: Path
) -> None:
    log = tmp_path / "shutdowns"
    made, recorder = dispatcher(shutdown_command=["/bin/sh", "-c", f"echo x >> {log}"])

    for _ in range(3):
        made.submit(ActionRequest(ShutdownAction(), rule_event()))
    events = recorder.wait(3)
    made.close(5)

    assert log.read_text() == "x\n"
    assert sorted(e.reason or "" for e in events) == ["ok", "skipped", "skipped"]
    [ran] = [e for e in events if e.reason == "ok"]
    assert ran.outcome == f"shutdown: /bin/sh -c 'echo x >> {log}' exited 0"
    assert ran.priority == "info"
    skipped = [e.outcome for e in events if e.reason == "skipped"]
    assert all(
        m.startswith("shutdown already started at ") and m.endswith("; not run again")
        for m in skipped
    )


def test_shutdown_is_never_dropped_even_when_the_queue_is_full(
    dispatcher: MakeDispatcher, tmp_path: Path
) -> None:
    log = tmp_path / "shutdowns"
    made, recorder = dispatcher(
        workers=1, queue_limit=0, shutdown_command=["/bin/sh", "-c", f"echo x >> {log}"]
    )
    made.submit(ActionRequest(ExecAction(("/bin/sleep", "5")), rule_event()))
    made.submit(ActionRequest(ShutdownAction(), rule_event()))

    [event] = recorder.wait(1)

    assert event.reason == "ok"
    assert log.read_text() == "x\n"


def test_shutdown_command_that_is_missing_is_an_error(dispatcher: MakeDispatcher) -> None:
    made, recorder = dispatcher(shutdown_command=["/nonexistent/poweroff", "now"])
    made.submit(ActionRequest(ShutdownAction(), rule_event()))
    [event] = recorder.wait(1)
    assert event.reason == "error"
    assert event.priority == "err"
    assert event.outcome == (
        "shutdown: /nonexistent/poweroff now: cannot run: No such file or directory"
    )


def test_shutdown_command_that_fails_reports_its_exit_code(dispatcher: MakeDispatcher) -> None:
    made, recorder = dispatcher(shutdown_command=["/bin/sh", "-c", "exit 4"])
    made.submit(ActionRequest(ShutdownAction(), rule_event()))
    [event] = recorder.wait(1)
    assert event.reason == "exit:4"
    assert event.priority == "err"
    assert event.outcome.startswith("shutdown: /bin/sh -c 'exit 4' exited 4 after ")


# -- bounds, closing ----------------------------------------------------------------------


def test_a_full_queue_drops_requests_at_once_instead_of_blocking(
    dispatcher: MakeDispatcher,
) -> None:
    made, recorder = dispatcher(workers=1, queue_limit=2)

    started = time.monotonic()
    for _ in range(10):
        made.submit(ActionRequest(ExecAction(("/bin/sleep", "1")), rule_event()))
    assert time.monotonic() - started < 0.5, "submit() blocked"

    assert recorder.reasons() == ["dropped"] * 7
    dropped = recorder.events[0]
    assert dropped.priority == "err"
    assert dropped.outcome.startswith("exec /bin/sleep 1: not run: queue full (")
    made.close(10)
    assert recorder.reasons() == ["dropped"] * 7 + ["exit:0"] * 3


def test_no_more_than_workers_actions_run_at_once(
    dispatcher: MakeDispatcher, tmp_path: Path
) -> None:
    running = tmp_path / "running"
    running.mkdir()
    counts = tmp_path / "counts"
    body = f"mkdir {running}/$$\nls {running} | wc -l >> {counts}\nsleep 0.3\nrmdir {running}/$$\n"
    count = script(tmp_path, "count", body)
    made, recorder = dispatcher(workers=2)

    for _ in range(6):
        made.submit(ActionRequest(ExecAction((count,)), rule_event()))
    recorder.wait(6)

    assert recorder.reasons() == ["exit:0"] * 6
    assert max(int(line) for line in counts.read_text().split()) == 2


def test_close_kills_a_hung_action_after_the_grace_period_and_joins_its_threads(
    dispatcher: MakeDispatcher, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    hang = script(tmp_path, "hang", f"sleep 60 &\necho $$ $! > {pids}\nwait\n")
    made, recorder = dispatcher()
    made.submit(ActionRequest(ExecAction((hang,), timeout=60), rule_event()))
    wait_for_file(pids)

    started = time.monotonic()
    made.close(0.5)
    took = time.monotonic() - started

    assert 0.4 < took < 2.0
    [event] = recorder.events
    assert event.reason == "signal:SIGKILL"
    assert event.priority == "err"
    assert event.outcome.startswith(f"exec {hang}: killed after ")
    assert event.outcome.endswith(": pyups stopped first")
    assert not any(alive(int(pid)) for pid in pids.read_text().split())
    assert not [t for t in threading.enumerate() if t.name.startswith("pyups-")]


def test_close_waits_for_actions_that_finish_within_the_grace_period(
    dispatcher: MakeDispatcher,
) -> None:
    made, recorder = dispatcher()
    made.submit(ActionRequest(ExecAction(("/bin/sleep", "0.3")), rule_event()))
    made.close(5)
    assert recorder.reasons() == ["exit:0"]


def test_after_close_requests_are_dropped_and_close_again_does_nothing(
    dispatcher: MakeDispatcher,
) -> None:
    made, recorder = dispatcher(workers=1, queue_limit=5)
    made.submit(ActionRequest(ExecAction(("/bin/sleep", "60")), rule_event()))
    made.submit(ActionRequest(ExecAction(("/bin/echo", "waiting")), rule_event()))
    time.sleep(0.2)

    made.close(0.1)
    made.submit(ActionRequest(ExecAction(("/bin/echo", "late")), rule_event()))
    made.submit(ActionRequest(ShutdownAction(), rule_event()))
    started = time.monotonic()
    made.close(5)

    assert time.monotonic() - started < 0.5
    messages = sorted(e.outcome for e in recorder.events)
    assert len(messages) == 4
    assert "exec /bin/echo waiting: not run: pyups is stopping" in messages
    assert "exec /bin/echo late: not run: pyups is stopping" in messages
    assert "shutdown: /bin/true: not run: pyups is stopping" in messages
    assert sorted(recorder.reasons(), key=str) == [
        "dropped",
        "dropped",
        "dropped",
        "signal:SIGKILL",
    ]


def test_a_dispatcher_that_never_ran_anything_starts_no_thread() -> None:
    before = threading.active_count()
    recorder = Recorder()
    made = Dispatcher(
        recorder.emit, recorder.note, dry_run=False, shutdown_command=["/bin/true"], credentials={}
    )
    assert threading.active_count() == before
    made.close(1)


# -- instcmd without a server -------------------------------------------------------------


def test_instcmd_to_a_server_that_is_not_there_reports_connect(
    dispatcher: MakeDispatcher,
) -> None:
    server = Server("127.0.0.1", free_port())
    event = replace(rule_event(), server=server)

    action = run_one(dispatcher, InstcmdAction("beeper.disable"), event)

    assert action.reason == "CONNECT"
    assert action.priority == "err"
    assert action.outcome.startswith(
        f"instcmd beeper.disable on eaton800@{server}: failed: CONNECT (connection refused"
    )
