"""Prometheus metrics on ``/metrics``, named the way nut_exporter names them.

Dashboards and alert rules written for nut_exporter work unchanged: every numeric NUT variable
is ``network_ups_tools_<variable, dots as underscores>{ups}``, the status flags are
``network_ups_tools_ups_status{ups,flag}`` 0 or 1 for a fixed set of flags, and the device is
``network_ups_tools_device_info{ups,mfr,model,serial,type} 1``. pyups adds ``pyups_up{ups}``,
``pyups_events_total{ups,event}`` and ``pyups_poll_duration_seconds{server}``.

The pollers hand each poll result to :meth:`Metrics.observe`; a scrape renders the latest
result of each UPS at that moment. Only a fresh, good result is shown: while a UPS does not
answer (or its last answer is older than ``stale_after``) it has ``pyups_up 0`` and no NUT
series at all, so nothing stale passes for fresh. The ``ups`` label is the UPS's name, or
``name@server`` when two servers have a UPS of the same name.
"""

from __future__ import annotations

import itertools
import os
import re
import selectors
import socket
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from pyups.address import Server, UpsAddress
from pyups.core.events import Event
from pyups.core.snapshot import Snapshot

if TYPE_CHECKING:
    from prometheus_client.core import Metric
    from prometheus_client.registry import Collector

FLAGS = (
    "OL", "OB", "LB", "HB", "RB", "CHRG", "DISCHRG", "BYPASS", "CAL", "OFF", "OVER", "TRIM",
    "BOOST", "FSD", "ALARM",
)  # fmt: skip
DEVICE_LABELS = ("mfr", "model", "serial", "type")
# A poll on loopback takes ~0.1 ms; one that waits for a timeout takes seconds.
DURATION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
_UNSAFE = re.compile(r"[^a-zA-Z0-9_]")


class MetricsError(Exception):
    """The metrics endpoint cannot be served; the message says where and what to do."""


def metric_name(variable: str) -> str:
    """``battery.charge`` → ``network_ups_tools_battery_charge``."""
    return "network_ups_tools_" + _UNSAFE.sub("_", variable)


def ups_labels(upses: Sequence[UpsAddress]) -> dict[UpsAddress, str]:
    """The ``ups`` label of each UPS: its name, unless another server has one of that name."""
    names = [ups.name for ups in upses]
    return {ups: ups.name if names.count(ups.name) == 1 else str(ups) for ups in upses}


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


class Metrics:
    """Latest poll results and event counts; a Prometheus collector and a sink.

    prometheus-client is imported only here, when metrics are served, so that the commands
    that never serve them do not pay for loading it.
    """

    def __init__(
        self,
        upses: Sequence[UpsAddress],
        stale_after: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from prometheus_client import CollectorRegistry, Counter
        from prometheus_client.process_collector import ProcessCollector

        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[UpsAddress, tuple[Snapshot, float]] = {}  # and when (monotonic)
        self._durations: dict[Server, _Durations] = {}
        self._labels: dict[UpsAddress, str] = {}
        self.stale_after = stale_after
        self.registry = CollectorRegistry()
        self._events = Counter(
            "pyups_events",
            "Events pyups logged, by UPS and event name",
            ["ups", "event"],
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        self.registry.register(cast("Collector", self))
        self.reconfigure(upses, stale_after)
        self._server: Any = None
        self.address: Server | None = None

    # -- fed by the monitor -----------------------------------------------------------------

    def reconfigure(self, upses: Sequence[UpsAddress], stale_after: float) -> None:
        """A new set of UPSes (after a reload); series of UPSes no longer watched go."""
        labels = ups_labels(upses)
        with self._lock:
            removed = set(self._labels.values()) - set(labels.values())
            self._labels = labels
            self._latest = {k: v for k, v in self._latest.items() if k in labels}
            self.stale_after = stale_after
        if not removed:
            return
        for metric in self._events.collect():
            for sample in metric.samples:
                if sample.name == "pyups_events_total" and sample.labels["ups"] in removed:
                    self._events.remove(sample.labels["ups"], sample.labels["event"])

    def observe(self, address: UpsAddress, snap: Snapshot, seconds: float) -> None:
        """One poll's result and how long it took (called from the pollers' threads)."""
        at = self._clock()
        with self._lock:
            self._latest[address] = (snap, at)
            durations = self._durations.get(snap.server)
            if durations is None:
                durations = self._durations[snap.server] = _Durations()
            durations.add(seconds)

    def emit(self, event: Event) -> None:
        """Count one event (the monitor's sinks interface)."""
        label = self._labels.get(event.address, event.ups)
        self._events.labels(label, event.name).inc()

    def note(self, message: str, priority: str = "info") -> None:
        """Service notes are not events: nothing to count."""

    # -- read by a scrape -------------------------------------------------------------------

    def collect(self) -> Iterable[Metric]:
        from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
        from prometheus_client.utils import floatToGoString

        now = self._clock()
        with self._lock:
            labels = dict(self._labels)
            latest = dict(self._latest)
            durations = {server: (list(d.counts), d.total) for server, d in self._durations.items()}
        up = GaugeMetricFamily(
            "pyups_up", "1 while upsd and the driver answer for the UPS, else 0", labels=["ups"]
        )
        status = GaugeMetricFamily(
            "network_ups_tools_ups_status", "UPS status flag (1 = set)", labels=["ups", "flag"]
        )
        info = GaugeMetricFamily(
            "network_ups_tools_device_info",
            "UPS device description (always 1)",
            labels=["ups", *DEVICE_LABELS],
        )
        variables: dict[str, Any] = {}
        for key, ups in sorted(labels.items(), key=lambda item: item[1]):
            snap, at = latest.get(key, (None, 0.0))
            fresh = snap is not None and snap.ok and now - at <= self.stale_after
            up.add_metric([ups], 1.0 if fresh else 0.0)
            if not fresh or snap is None:
                continue
            flags = set(snap.status.split())
            for flag in FLAGS:
                status.add_metric([ups, flag], 1.0 if flag in flags else 0.0)
            info.add_metric([ups, *(_device(snap.vars, field) for field in DEVICE_LABELS)], 1)
            for variable, value in snap.vars.items():
                number = _number(value)
                if number is None:
                    continue
                name = metric_name(variable)
                family = variables.get(name)
                if family is None:
                    family = variables[name] = GaugeMetricFamily(
                        name, f"Value of the NUT variable {variable}", labels=["ups"]
                    )
                family.add_metric([ups], number)
        polls = HistogramMetricFamily(
            "pyups_poll_duration_seconds",
            "Time one poll of one UPS took (LIST VAR, including a reconnect when one was due)",
            labels=["server"],
        )
        bounds = [*map(floatToGoString, DURATION_BUCKETS), "+Inf"]
        for server, (counts, total) in sorted(durations.items(), key=lambda item: str(item[0])):
            cumulative = list(itertools.accumulate(counts))
            polls.add_metric([str(server)], list(zip(bounds, cumulative, strict=True)), total)
        yield up
        yield status
        yield info
        yield polls
        yield from (variables[name] for name in sorted(variables))

    # -- the HTTP endpoint ------------------------------------------------------------------

    @staticmethod
    def check_address(address: Server) -> None:
        """MetricsError now if ``address`` cannot be served (before a daemon detaches)."""
        try:
            family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((address.host, address.port))
        except OSError as exc:
            raise _unusable(address, exc) from None

    def serve(self, address: Server) -> None:
        """Serve /metrics at ``address`` (stopping any previous endpoint once it is up)."""
        try:
            server = _Endpoint(address, self.registry)
        except OSError as exc:
            raise _unusable(address, exc) from None
        self.close()
        self._server, self.address = server, address

    def close(self) -> None:
        """Stop serving (idempotent)."""
        server, self._server, self.address = self._server, None, None
        if server is not None:
            server.close()


class _Durations:
    """The poll durations of one server: a count per bucket of DURATION_BUCKETS (the last for
    +Inf), and their sum.

    Counted here, under the lock the metrics take for the latest result anyway, rather than
    by a prometheus-client Histogram, whose observe() costs several times as much (~35 us
    cold): it runs after every poll, in the poller's thread. A scrape renders the counts.
    """

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(DURATION_BUCKETS) + 1)
        self.total = 0.0

    def add(self, seconds: float) -> None:
        self.counts[bisect_left(DURATION_BUCKETS, seconds)] += 1  # le: a bound counts as in
        self.total += seconds


class _Endpoint:
    """prometheus-client's own WSGI server (what ``start_http_server`` builds), run by a loop
    that sleeps until a scrape connects or :meth:`close` wakes it through a pipe.

    socketserver's ``serve_forever`` wakes every ``poll_interval`` (0.5 s) only to see whether
    ``shutdown`` was called: twice a second for nothing in an idle daemon.
    """

    def __init__(self, address: Server, registry: Any) -> None:
        from wsgiref.simple_server import make_server

        from prometheus_client.exposition import (
            ThreadingWSGIServer,
            _get_best_family,
            _SilentHandler,
            make_wsgi_app,
        )

        class _Server(ThreadingWSGIServer):
            pass

        _Server.address_family, host = _get_best_family(address.host, address.port)  # type: ignore[no-untyped-call]
        self._httpd = make_server(
            host, address.port, make_wsgi_app(registry), _Server, handler_class=_SilentHandler
        )
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="metrics", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._httpd.socket, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if any(key.fd == self._wake_read for key, _ in ready):
                    return
                self._httpd._handle_request_noblock()  # type: ignore[attr-defined]

    def close(self) -> None:
        os.write(self._wake_write, b"x")
        self._thread.join()
        self._httpd.server_close()
        os.close(self._wake_read)
        os.close(self._wake_write)


def _unusable(address: Server, exc: OSError) -> MetricsError:
    return MetricsError(
        f"cannot serve metrics on {address}: {exc.strerror or exc}; choose another address "
        "in [metrics] listen (or --metrics HOST:PORT)"
    )


def _device(variables: Mapping[str, str], field: str) -> str:
    """``device.FIELD``, or the older ``ups.FIELD`` some drivers still report."""
    return variables.get(f"device.{field}") or variables.get(f"ups.{field}", "")
