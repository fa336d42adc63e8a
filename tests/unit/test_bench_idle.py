"""bench/idle_cost.py's rule for outlying rounds, and how bench/report.py tells of it."""

from __future__ import annotations

from typing import Any

import pytest

from bench import idle_cost, report

CLIENT = idle_cost.Client("pyups, 1 s", 1.0, True, lambda server: (0, lambda: None))


def rounds_of(*per_poll_ms: float) -> list[dict[str, Any]]:
    """Rounds of 20 s at 1 s reading these CPU ms per poll."""
    return [
        {"cpu_s": ms * 20 / 1000, "window_s": 20.0, "cpu_s_ticks": 0.0, "upsd_cpu_s": None,
         "rss_mib": 19.5}
        for ms in per_poll_ms
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("figures", "suspects"),
    [
        ((0.40, 0.41, 0.42), []),
        ((0.43, 0.79, 0.40), [1]),  # a burst round, as met on 2026-11-28
        ((0.40, 0.60, 0.40), []),  # exactly 1.5 times the median: not beyond it
        ((0.40, 0.61, 0.40), [1]),
        ((1.0, 1.0, 0.40), []),  # two rounds high: that is the median, not an outlier
        ((0.40, 2.0), []),  # two rounds: no median to stand out from
        ((0.40, 0.41, 0.42, 0.40, 0.90), [4]),
    ],
)
def test_outliers_are_rounds_beyond_one_and_a_half_times_the_median(
    figures: tuple[float, ...], suspects: list[int]
) -> None:
    assert idle_cost.outliers(CLIENT, rounds_of(*figures))[0] == suspects


def measure_again(
    monkeypatch: pytest.MonkeyPatch, first: tuple[float, ...], second: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rounds = rounds_of(*first)
    calls: list[object] = []

    def measure(*args: object) -> dict[str, Any]:
        calls.append(args)
        return rounds_of(second)[0]

    monkeypatch.setattr(idle_cost, "measure", measure)
    again = idle_cost.measure_outliers_again(CLIENT, rounds, None, None, 5.0, 20.0)  # type: ignore[arg-type]
    assert len(calls) == len(again)
    return rounds, again


def test_a_burst_that_does_not_come_back_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    rounds, again = measure_again(monkeypatch, (0.43, 0.79, 0.40), 0.41)
    assert [round(idle_cost.round_per_poll_ms(CLIENT, r), 3) for r in rounds] == [0.43, 0.41, 0.40]
    assert again == [
        {"round": 2, "first_ms": pytest.approx(0.79), "again_ms": pytest.approx(0.41),
         "replaced": True}
    ]  # fmt: skip


def test_a_cost_that_comes_back_stays_in_the_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    rounds, again = measure_again(monkeypatch, (0.43, 0.79, 0.40), 0.75)
    assert [round(idle_cost.round_per_poll_ms(CLIENT, r), 3) for r in rounds] == [0.43, 0.79, 0.40]
    assert [m["replaced"] for m in again] == [False]
    total = idle_cost.combine(CLIENT, rounds)
    assert total["cpu_per_poll_ms"] == pytest.approx((0.43 + 0.79 + 0.40) / 3)


def test_steady_rounds_are_not_measured_again(monkeypatch: pytest.MonkeyPatch) -> None:
    assert measure_again(monkeypatch, (0.40, 0.41, 0.42), 0.41)[1] == []


def result(again: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    clients = {
        "pyups, 1 s": {"cpu_percent": 0.04, "cpu_per_poll_ms": 0.4, "rss_mib": 19.5},
        "upsmon, POLLFREQ 1": {"cpu_percent": 0.016, "cpu_per_poll_ms": 0.16, "rss_mib": 5.4},
    }
    for name, measured in (again or {}).items():
        clients[name]["measured_again"] = measured
    return {"seconds": 60, "rounds": 3, "outlier_ratio": 1.5, "clients": clients}


def test_the_report_says_which_rounds_were_measured_again() -> None:
    replaced = {"round": 2, "first_ms": 0.79, "again_ms": 0.41, "replaced": True}
    kept = {"round": 3, "first_ms": 0.9, "again_ms": 0.8, "replaced": False}
    text = report.idle_cost(result({"pyups, 1 s": [replaced, kept]}))
    assert "pyups, 1 s, round 2: 0.790 then 0.410 ms, replaced" in text
    assert "pyups, 1 s, round 3: 0.900 then 0.800 ms, kept" in text
    quiet = report.idle_cost(result({"pyups, 1 s": [], "upsmon, POLLFREQ 1": []}))
    assert "No round read more than 1.5 times its client's median round." in quiet
    assert "median round" not in report.idle_cost(result())  # a result from before the rule
