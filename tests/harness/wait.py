"""Poll until something holds, or give up at a deadline: the one such loop of the harness."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class TimedOut(AssertionError):
    """What was waited for did not come in time (or the process it came from exited)."""


def wait_until(
    check: Callable[[], T | None],
    timeout: float = 10.0,
    *,
    what: str = "the condition",
    every: float = 0.05,
    process: subprocess.Popen[Any] | None = None,
) -> T:
    """``check()``'s first true result, asking every ``every`` seconds for ``timeout`` seconds.

    TimedOut (an AssertionError, so a test fails on it) names ``what`` when time is up, or
    when ``process`` (the one expected to bring it about) exits first.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if process is not None and process.poll() is not None:
            raise TimedOut(f"exited with {process.returncode} before {what}")
        if time.monotonic() > deadline:
            raise TimedOut(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)
