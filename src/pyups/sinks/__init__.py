"""Where events go: the systemd journal (with syslog and stderr fallbacks) and the console."""

from typing import Protocol

from pyups.core.events import Event


class Sink(Protocol):
    """Anything that records events and the service's own life."""

    def emit(self, event: Event) -> None: ...
    def note(self, message: str, priority: str = "info") -> None: ...
