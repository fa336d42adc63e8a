"""The notify action through the real Apprise, to a real HTTP receiver on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pyups.actions import notify
from pyups.address import Server
from pyups.core.events import Event
from pyups.core.rules import NotifyAction
from pyups.sim import NutServer
from tests.harness.config import write_config
from tests.harness.pyups import Pyups, cli
from tests.harness.receiver import Receiver


def on_battery_event() -> Event:
    return Event(
        name="RULE",
        ups="eaton800",
        server=Server("127.0.0.1"),
        t=time.time(),
        status="OB DISCHRG",
        rule="page-on-battery",
        trigger="ONBATT",
        message="UPS eaton800 on battery, 87% left",
    )


def test_a_notify_rule_posts_the_event_to_a_json_webhook(
    nut: NutServer, pyups: Callable[..., Pyups], tmp_path: Path
) -> None:
    with Receiver() as receiver:
        rules = (
            '[[rule]]\nname = "page-on-battery"\non = ["ONBATT"]\n'
            'message = "UPS {ups} on battery, {battery.charge}% left"\n'
            f'do = [{{ notify = "{receiver.url}" }}]\n'
        )
        monitor = pyups("run", "-c", write_config(tmp_path, nut, rules))
        monitor.wait_event("STARTUP")
        nut.set_status("OB DISCHRG", battery_charge="87")
        action = monitor.wait_event("ACTION")
        posts = receiver.wait(1)
    assert len(posts) == 1
    assert posts[0]["path"] == "/hook"
    assert posts[0]["title"] == "UPS eaton800: ONBATT"
    assert posts[0]["message"] == "UPS eaton800 on battery, 87% left"
    assert action["PRIORITY"] == "6"
    assert action["PYUPS_REASON"] == "sent"
    assert action["MESSAGE"].endswith("notify json://: sent")


def test_a_failing_webhook_is_tried_three_times_and_reported_as_an_error() -> None:
    waits: list[float] = []
    with Receiver(status=500) as receiver:
        outcome = notify.run_notify(
            NotifyAction((receiver.url,)), on_battery_event(), sleep=waits.append
        )
    assert len(receiver.posts) == notify.ATTEMPTS == 3
    assert waits == list(notify.BACKOFF)
    assert not outcome.ok
    assert outcome.reason == "failed"
    assert outcome.message.startswith("notify json://: failed after 3 tries: json://: ")
    assert str(receiver.port) not in outcome.message  # the URL stays out of the journal


def test_only_the_urls_that_failed_are_tried_again() -> None:
    with Receiver() as good, Receiver(status=503) as bad:
        outcome = notify.run_notify(
            NotifyAction((good.url, bad.url)), on_battery_event(), sleep=lambda _: None
        )
    assert len(good.posts) == 1
    assert len(bad.posts) == 3
    assert "(1 of 2 sent)" in outcome.message


def test_a_receiver_that_recovers_gets_the_message_once() -> None:
    with Receiver(status=500) as receiver:

        def recover(_: float) -> None:
            receiver.status = 200

        outcome = notify.run_notify(NotifyAction((receiver.url,)), on_battery_event(), recover)
    assert outcome.ok
    assert outcome.message == "notify json://: sent (after 2 tries)"
    assert [p["message"] for p in receiver.posts] == ["UPS eaton800 on battery, 87% left"] * 2


def test_check_config_names_a_url_apprise_cannot_use_without_showing_it(tmp_path: Path) -> None:
    conf = tmp_path / "pyups.conf"
    conf.write_text(
        '[[ups]]\nname = "eaton800"\n[[rule]]\nname = "x"\non = ["ONBATT"]\n'
        'do = [{ notify = ["json://127.0.0.1/ok", "nosuchservice://secret-token"] }]\n'
    )
    conf.chmod(0o600)
    result = cli("check-config", "-c", str(conf))
    assert result.returncode == 78
    assert result.stderr.strip().splitlines() == [
        f'pyups: {conf}:6: rule[0].do[0].notify[1]: rule "x": nosuchservice:// URL that Apprise '
        "cannot use (unknown service or bad format)"
    ]
    assert "secret-token" not in result.stderr


def test_without_apprise_a_notify_rule_is_a_config_error_saying_what_to_install(
    tmp_path: Path,
) -> None:
    # A package that fails to import stands in for Apprise not being installed.
    shadow = tmp_path / "shadow" / "apprise"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named apprise')\n")
    conf = tmp_path / "pyups.conf"
    conf.write_text(
        '[[ups]]\nname = "eaton800"\n[[rule]]\nname = "x"\non = ["ONBATT"]\n'
        'do = [{ notify = "ntfy://ups-topic" }]\n'
    )
    conf.chmod(0o600)
    result = cli("check-config", "-c", str(conf), env={"PYTHONPATH": str(tmp_path / "shadow")})
    assert result.returncode == 78
    assert "needs Apprise, which is not installed: pip install 'pyups[notify]'" in result.stderr
    assert "Traceback" not in result.stderr
