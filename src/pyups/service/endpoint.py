"""The metrics endpoint's life: up at start, moved, stopped or kept across reloads.

prometheus-client is imported only when ``[metrics] listen`` is set, so a monitor without
metrics (and every CLI command) does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyups.config import Config

if TYPE_CHECKING:
    from pyups.service.metrics import Metrics


def stale_after(config: Config) -> float:
    """How old a poll result may be and still be shown as current by the metrics."""
    return 2 * config.monitor.interval + 2 * config.monitor.timeout


class MetricsEndpoint:
    """Holds the :class:`~pyups.service.metrics.Metrics` sink while one is configured."""

    def __init__(self) -> None:
        self.metrics: Metrics | None = None

    def open(self, config: Config) -> Metrics | None:
        """Serve ``[metrics] listen`` if set; raises MetricsError when the address is unusable."""
        if config.metrics.listen is None:
            return None
        metrics = _new(config)
        metrics.serve(config.metrics.listen)
        self.metrics = metrics
        return metrics

    def follow(self, config: Config) -> tuple[Metrics | None, str | None]:
        """Start, move or stop the endpoint as a reloaded ``config`` says.

        Returns the sink to use from now on and an error to log: a new address that cannot be
        used keeps the old endpoint serving (or none, if there was none).
        """
        listen = config.metrics.listen
        metrics = self.metrics
        if listen is None:
            self.close()
            return None, None
        if metrics is None:
            metrics = _new(config)
        else:
            metrics.reconfigure([u.address for u in config.ups], stale_after(config))
        error = None
        if metrics.address != listen:
            from pyups.service.metrics import MetricsError

            try:
                metrics.serve(listen)
            except MetricsError as exc:
                where = f"; still serving on {metrics.address}" if metrics.address else ""
                error = f"{exc}{where}"
                if metrics.address is None:
                    return self.metrics, error
        self.metrics = metrics
        return metrics, error

    def close(self) -> None:
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None


def _new(config: Config) -> Metrics:
    from pyups.service.metrics import Metrics

    return Metrics([u.address for u in config.ups], stale_after(config))
