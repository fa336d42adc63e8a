"""The metrics collector: nut_exporter's names, freshness, labels, event counts."""

from __future__ import annotations

import functools

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pyups.address import Server, UpsAddress
from pyups.core.events import Event
from pyups.core.snapshot import Snapshot
from pyups.service.metrics import FLAGS, Metrics, metric_name, ups_labels

SERVER = Server("localhost")
EATON = UpsAddress("eaton800", SERVER)
VARS = {
    "ups.status": "OB DISCHRG",
    "battery.charge": "87",
    "battery.runtime": "2400",
    "input.voltage": "0.0",
    "device.mfr": "EATON",
    "device.model": "Ellipse PRO 800",
    "device.serial": "000000000",
    "device.type": "ups",
    "ups.beeper.status": "enabled",
    "driver.version": "2.8.0",
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by name and sorted labels, parsed back from the text."""
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


def names(found: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> set[str]:
    return {name for name, _ in found}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def metrics(clock: Clock) -> Metrics:
    return Metrics([EATON], stale_after=20.0, clock=clock)


def test_variable_names_follow_nut_exporter() -> None:
    assert metric_name("battery.charge") == "network_ups_tools_battery_charge"
    assert metric_name("ups.realpower-nominal") == "network_ups_tools_ups_realpower_nominal"


def test_a_good_poll_shows_numeric_variables_flags_and_device_info(metrics: Metrics) -> None:
    metrics.observe(EATON, Snapshot("eaton800", SERVER, 1.0, vars=VARS), 0.0002)
    found = samples(metrics)
    assert value(found, "pyups_up", ups="eaton800") == 1
    assert value(found, "network_ups_tools_battery_charge", ups="eaton800") == 87
    assert value(found, "network_ups_tools_battery_runtime", ups="eaton800") == 2400
    assert value(found, "network_ups_tools_input_voltage", ups="eaton800") == 0
    assert value(found, "network_ups_tools_driver_version", ups="eaton800") is None  # "2.8.0"
    assert "network_ups_tools_ups_beeper_status" not in names(found)  # "enabled"
    for flag in FLAGS:
        expected = 1 if flag in ("OB", "DISCHRG") else 0
        assert value(found, "network_ups_tools_ups_status", ups="eaton800", flag=flag) == expected
    info = dict(mfr="EATON", model="Ellipse PRO 800", serial="000000000", type="ups")
    assert value(found, "network_ups_tools_device_info", ups="eaton800", **info) == 1


def test_a_failed_poll_shows_the_ups_down_and_no_stale_values(metrics: Metrics) -> None:
    metrics.observe(EATON, Snapshot("eaton800", SERVER, 1.0, vars=VARS), 0.0002)
    metrics.observe(EATON, Snapshot("eaton800", SERVER, 2.0, error="DATA-STALE"), 0.0002)
    found = samples(metrics)
    assert value(found, "pyups_up", ups="eaton800") == 0
    assert not {n for n in names(found) if n.startswith("network_ups_tools_")}


def test_an_old_result_is_not_shown_as_current(metrics: Metrics, clock: Clock) -> None:
    metrics.observe(EATON, Snapshot("eaton800", SERVER, 1.0, vars=VARS), 0.0002)
    clock.now += 20.0
    assert value(samples(metrics), "pyups_up", ups="eaton800") == 1
    clock.now += 0.5  # a poller that stopped answering: its last result ages out
    found = samples(metrics)
    assert value(found, "pyups_up", ups="eaton800") == 0
    assert "network_ups_tools_battery_charge" not in names(found)


def test_a_ups_not_polled_yet_is_down(metrics: Metrics) -> None:
    assert value(samples(metrics), "pyups_up", ups="eaton800") == 0


def test_same_named_upses_on_two_servers_are_told_apart() -> None:
    a, b = Server("a"), Server("b")
    keys = [UpsAddress("ups", a), UpsAddress("ups", b), UpsAddress("rack2", a)]
    assert ups_labels(keys) == {
        UpsAddress("ups", a): "ups@a:3493",
        UpsAddress("ups", b): "ups@b:3493",
        UpsAddress("rack2", a): "rack2",
    }


def test_events_are_counted_by_ups_and_name(metrics: Metrics) -> None:
    for name in ("ONBATT", "ONLINE", "ONBATT"):
        metrics.emit(Event(name, "eaton800", SERVER, 1.0))
    found = samples(metrics)
    assert value(found, "pyups_events_total", ups="eaton800", event="ONBATT") == 2
    assert value(found, "pyups_events_total", ups="eaton800", event="ONLINE") == 1


def test_poll_durations_are_a_histogram_per_server(metrics: Metrics) -> None:
    metrics.observe(EATON, Snapshot("eaton800", SERVER, 1.0, vars=VARS), 0.0002)
    metrics.observe(EATON, Snapshot("eaton800", SERVER, 2.0, error="TIMEOUT"), 5.0)
    metrics.observe(EATON, Snapshot("eaton800", SERVER, 3.0, vars=VARS), 0.001)  # on a bound
    metrics.observe(EATON, Snapshot("eaton800", SERVER, 4.0, vars=VARS), 30.0)  # past the last
    found = samples(metrics)
    bucket = functools.partial(
        value, found, "pyups_poll_duration_seconds_bucket", server=str(SERVER)
    )
    assert value(found, "pyups_poll_duration_seconds_count", server=str(SERVER)) == 4
    assert value(found, "pyups_poll_duration_seconds_sum", server=str(SERVER)) == pytest.approx(
        35.0012
    )
    assert [bucket(le=le) for le in ("0.0005", "0.001", "2.5", "5.0", "10.0", "+Inf")] == [
        1,
        2,
        2,
        3,
        3,
        4,
    ]


def test_a_reload_drops_the_series_of_upses_no_longer_watched(metrics: Metrics) -> None:
    metrics.observe(EATON, Snapshot("eaton800", SERVER, 1.0, vars=VARS), 0.0002)
    metrics.emit(Event("ONBATT", "eaton800", SERVER, 1.0))
    metrics.reconfigure([UpsAddress("rack2", SERVER)], stale_after=20.0)
    found = samples(metrics)
    assert value(found, "pyups_up", ups="rack2") == 0
    assert not [key for key in found if ("ups", "eaton800") in key[1]]
