"""pyups' action dispatcher driven directly: what it emits and notes, recorded."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from pyups.actions.dispatcher import Dispatcher
from pyups.core.events import Event
from pyups.core.rules import ActionRequest

from .wait import TimedOut, wait_until


class Recorder:
    """Collects what the dispatcher emits and notes, from any thread."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.notes: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def note(self, message: str, priority: str) -> None:
        with self._lock:
            self.notes.append((message, priority))

    def wait(self, count: int, timeout: float = 10.0) -> list[Event]:
        """The events once there are ``count`` of them."""
        try:
            wait_until(lambda: len(self.events) >= count, timeout, every=0.01)
        except TimedOut:
            raise TimedOut(f"only {len(self.events)} of {count} ACTIONs") from None
        return list(self.events)

    def reasons(self) -> list[str | None]:
        return [event.reason for event in self.events]


def make_dispatcher(recorder: Recorder, **options: Any) -> Dispatcher:
    """A Dispatcher reporting to ``recorder``: not a dry run, ``/bin/true`` as the shutdown
    command and no credentials, unless ``options`` say otherwise."""
    settings: dict[str, Any] = {
        "dry_run": False,
        "shutdown_command": ["/bin/true"],
        "credentials": {},
        **options,
    }
    return Dispatcher(recorder.emit, recorder.note, **settings)


def dispatched(
    requests: Iterable[ActionRequest], timeout: float = 15.0, **options: Any
) -> list[Event]:
    """Submit ``requests`` to a new Dispatcher (``options`` as :func:`make_dispatcher`'s),
    give it ``timeout`` seconds to finish them; the events it emitted."""
    recorder = Recorder()
    dispatcher = make_dispatcher(recorder, **options)
    for request in requests:
        dispatcher.submit(request)
    dispatcher.close(timeout)
    return recorder.events
