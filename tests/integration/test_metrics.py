"""The /metrics endpoint of a real ``pyups run``, checked by promtool and scraped by Prometheus."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pyups.sim import NutServer, free_port
from tests.harness.config import checked_config, write_config
from tests.harness.procs import end_process
from tests.harness.pyups import Pyups, cli
from tests.harness.wait import repeat_until

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return str(reply.read().decode())


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def wait_scrape(
    port: int, predicate: Callable[[dict[Any, float]], bool], timeout: float = 10.0
) -> dict[Any, float]:
    def found() -> dict[Any, float]:
        try:
            return samples(scrape(port))
        except OSError:
            return {}

    return repeat_until(found, predicate, timeout, every=0.1)


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (name, frozenset(labels.items()))


def start(
    pyups: Callable[..., Pyups], tmp_path: Path, nut: NutServer, *args: str
) -> tuple[Pyups, int]:
    port = free_port()
    monitor = pyups("run", "-c", write_config(tmp_path, nut), "--metrics", f"127.0.0.1:{port}")
    monitor.wait_event("STARTUP")
    return monitor, port


def test_metrics_use_nut_exporter_names_and_pass_promtool(
    nut: NutServer, pyups: Callable[..., Pyups], tmp_path: Path
) -> None:
    _, port = start(pyups, tmp_path, nut)
    text = scrape(port)
    found = samples(text)
    assert found[key("network_ups_tools_battery_charge", ups="eaton800")] == 100
    assert found[key("network_ups_tools_ups_status", ups="eaton800", flag="OL")] == 1
    assert found[key("network_ups_tools_ups_status", ups="eaton800", flag="OB")] == 0
    assert found[key("pyups_up", ups="eaton800")] == 1
    info = [k for k in found if k[0] == "network_ups_tools_device_info"]
    assert len(info) == 1 and ("mfr", "EATON") in info[0][1]
    assert found[key("pyups_events_total", ups="eaton800", event="STARTUP")] == 1
    assert any(k[0] == "pyups_poll_duration_seconds_count" for k in found)
    check = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_power_cut_sets_the_ob_flag_and_counts_onbatt(
    nut: NutServer, pyups: Callable[..., Pyups], tmp_path: Path
) -> None:
    monitor, port = start(pyups, tmp_path, nut)
    nut.set_status("OB DISCHRG", battery_charge="80")
    monitor.wait_event("ONBATT")
    found = wait_scrape(
        port, lambda f: f.get(key("network_ups_tools_battery_charge", ups="eaton800")) == 80
    )
    assert found[key("network_ups_tools_ups_status", ups="eaton800", flag="OB")] == 1
    assert found[key("network_ups_tools_ups_status", ups="eaton800", flag="OL")] == 0
    assert found[key("pyups_events_total", ups="eaton800", event="ONBATT")] == 1


def test_an_unreachable_ups_is_down_with_no_stale_values(
    nut: NutServer, pyups: Callable[..., Pyups], tmp_path: Path
) -> None:
    monitor, port = start(pyups, tmp_path, nut)
    nut.stop_driver("eaton800")
    monitor.wait_event("COMMBAD")
    found = wait_scrape(port, lambda f: f.get(key("pyups_up", ups="eaton800")) == 0)
    assert found[key("pyups_up", ups="eaton800")] == 0
    assert not [k for k in found if k[0].startswith("network_ups_tools_")]


def test_a_taken_port_is_one_clear_error(nut: NutServer, tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = cli("run", "-c", write_config(tmp_path, nut), "--metrics", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"pyups: cannot serve metrics on 127.0.0.1:{port}: Address already in use; choose "
        "another address in [metrics] listen (or --metrics HOST:PORT)"
    ]


def test_the_daemon_says_the_port_is_taken_before_it_detaches(
    nut: NutServer, tmp_path: Path
) -> None:
    settings = {"state_file": '""'}
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        body = f'[metrics]\nlisten = "127.0.0.1:{port}"\n[[ups]]\nname = "eaton800"\n'
        conf = checked_config(tmp_path, settings, body)
        result = cli("daemon", "-c", conf, "--pidfile", str(tmp_path / "pyups.pid"))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"pyups: cannot serve metrics on 127.0.0.1:{port}: Address already in use; choose "
        "another address in [metrics] listen (or --metrics HOST:PORT)"
    )
    assert not (tmp_path / "pyups.pid").exists()


def test_a_metrics_address_without_a_port_is_a_usage_error(nut: NutServer, tmp_path: Path) -> None:
    result = cli("run", "-c", write_config(tmp_path, nut), "--metrics", "127.0.0.1")
    assert result.returncode == 2
    assert "--metrics: '127.0.0.1' has no port; write HOST:PORT" in result.stderr


def test_a_reload_moves_the_endpoint_to_the_new_address(
    nut: NutServer, pyups: Callable[..., Pyups], tmp_path: Path
) -> None:
    first, second = free_port(), free_port()
    settings = {"interval": '"0.3s"', "interval_alert": '"0.3s"', "state_file": '""'}
    ups = f'[[ups]]\nname = "eaton800"\nserver = "{nut.server}"\n'
    conf = checked_config(tmp_path, settings, f'[metrics]\nlisten = "127.0.0.1:{first}"\n' + ups)
    monitor = pyups("run", "-c", conf)
    monitor.wait_event("STARTUP")
    assert samples(scrape(first))[key("pyups_up", ups="eaton800")] == 1
    checked_config(tmp_path, settings, f'[metrics]\nlisten = "127.0.0.1:{second}"\n' + ups)
    monitor.process.send_signal(1)  # SIGHUP
    monitor.wait_for(lambda es: any("configuration reloaded" in e["MESSAGE"] for e in es))
    found = wait_scrape(second, lambda f: f.get(key("pyups_up", ups="eaton800")) == 1)
    assert found[key("pyups_up", ups="eaton800")] == 1
    with pytest.raises(OSError):
        scrape(first)


# -- a real Prometheus ------------------------------------------------------------------------


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[int], int]]:
    """Start Debian's prometheus scraping 127.0.0.1:PORT every second; returns its API port."""
    started: list[subprocess.Popen[bytes]] = []

    def run(target: int) -> int:
        api = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: pyups\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
        )
        log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed below
        process = subprocess.Popen(
            [
                PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path}/tsdb",
                f"--web.listen-address=127.0.0.1:{api}",
            ],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        log.close()
        started.append(process)
        return api

    yield run
    for process in started:
        end_process(process, 15)


def query(api: int, promql: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{api}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            answer = json.loads(reply.read())
    except OSError:
        return []
    return list(answer["data"]["result"])


def wait_query(api: int, promql: str, value: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    def became(result: list[dict[str, Any]]) -> bool:
        return bool(result) and result[0]["value"][1] == value

    result = repeat_until(lambda: query(api, promql), became, timeout, every=0.25)
    if not became(result):
        pytest.fail(f"Prometheus: {promql} did not become {value} in {timeout}s: {result}")
    return result


def test_prometheus_scrapes_pyups_and_sees_a_power_cut(
    nut: NutServer,
    pyups: Callable[..., Pyups],
    tmp_path: Path,
    prometheus: Callable[[int], int],
) -> None:
    assert shutil.which(PROMETHEUS), "prometheus is not installed: apt-get install prometheus"
    monitor, port = start(pyups, tmp_path, nut)
    api = prometheus(port)
    charge = wait_query(api, 'network_ups_tools_battery_charge{ups="eaton800"}', "100")
    assert charge[0]["metric"]["job"] == "pyups"
    wait_query(api, 'network_ups_tools_ups_status{ups="eaton800",flag="OB"}', "0")
    nut.set_status("OB DISCHRG")
    monitor.wait_event("ONBATT")
    wait_query(api, 'network_ups_tools_ups_status{ups="eaton800",flag="OB"}', "1")
    wait_query(api, 'pyups_events_total{ups="eaton800",event="ONBATT"}', "1")
