"""The ``notify`` action: a finished RULE event sent through Apprise to one or more URLs.

Apprise (``pip install 'pyups[notify]'``) knows ntfy, Telegram, e-mail, Slack, Matrix, JSON
webhooks and many more by their URL. Each URL gets the event's message as the body and
``UPS NAME: EVENT`` as the title, and is tried up to :data:`ATTEMPTS` times, waiting
:data:`BACKOFF` seconds between tries; a URL that already took the message is not sent it
again. Apprise's own connect and read timeouts (4 s each unless the URL sets ``cto``/``rto``)
bound every try, so a notify action ends within about half a minute whatever the far end does.

URLs often hold a token (a Telegram bot's, a webhook's secret path), so what pyups writes
names a URL by its scheme only, and Apprise's log lines go into the ACTION entry only as far as
they do not contain the URL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pyups.actions.outcome import Outcome
from pyups.core.events import Event
from pyups.core.rules import ActionRequest, NotifyAction, describe, notify_title, url_scheme

ATTEMPTS = 3
BACKOFF = (1.0, 3.0)  # seconds before the second and the third try
MISSING = "the notify action needs Apprise, which is not installed: pip install 'pyups[notify]'"


def _apprise() -> Any:
    """The apprise module; ImportError with the install hint when it is missing."""
    try:
        import apprise
    except ImportError:
        raise ImportError(MISSING) from None
    return apprise


def unknown_urls(urls: Sequence[str]) -> list[tuple[int, str]]:
    """(index, message) for each URL Apprise cannot use; ImportError without Apprise."""
    apprise = _apprise()
    problems = []
    for index, url in enumerate(urls):
        if "://" not in url:
            problems.append((index, "not an Apprise URL (no scheme://), e.g. ntfy://my-topic"))
        elif apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
            problems.append(
                (
                    index,
                    f"{url_scheme(url)} URL that Apprise cannot use (unknown service or bad "
                    "format)",
                )
            )
    return problems


def run_notify(
    action: NotifyAction, event: Event, sleep: Callable[[float], object] = time.sleep
) -> Outcome:
    """Send to every URL, retrying the ones that fail; one Outcome for all of them."""
    what = describe(ActionRequest(action, event))
    try:
        apprise = _apprise()
    except ImportError as exc:
        return Outcome("error", f"{what}: cannot run: {exc}", ok=False)
    title, body = notify_title(event), event.message
    pending = list(enumerate(action.urls))
    why: dict[int, str] = {}
    for attempt in range(ATTEMPTS):
        if attempt:
            sleep(BACKOFF[min(attempt, len(BACKOFF)) - 1])
        failed = []
        for index, url in pending:
            service = apprise.Apprise.instantiate(url, suppress_exceptions=True)
            if service is None:
                why[index] = "Apprise cannot use this URL"
                failed.append((index, url))
                continue
            with _warnings(url) as warnings:
                sent = service.notify(body=body, title=title)
            if not sent:
                why[index] = warnings[-1] if warnings else "Apprise reported a failure"
                failed.append((index, url))
        pending = failed
        if not pending:
            tries = f" (after {attempt + 1} tries)" if attempt else ""
            return Outcome("sent", f"{what}: sent{tries}", ok=True)
    failures = "; ".join(f"{url_scheme(url)}: {why[i]}" for i, url in pending)
    sent = len(action.urls) - len(pending)
    also = f" ({sent} of {len(action.urls)} sent)" if sent else ""
    return Outcome("failed", f"{what}: failed after {ATTEMPTS} tries{also}: {failures}", ok=False)


class _Collect(logging.Handler):
    """Apprise's warnings and errors from this thread only, without the URL in them."""

    def __init__(self, url: str) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.url = url
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        line = record.getMessage().strip().splitlines()[0] if record.getMessage() else ""
        if line and self.url not in line:
            self.lines.append(line[:200])


@contextmanager
def _warnings(url: str) -> Iterator[list[str]]:
    logger = logging.getLogger("apprise")
    handler = _Collect(url)
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
