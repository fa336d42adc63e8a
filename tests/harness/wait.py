"""Poll until something holds, or give up at a deadline: the one such loop of the harness."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class TimedOut(AssertionError):
    """What was waited for did not come in time (or the process it came from exited)."""


def repeat_until(
    call: Callable[[], T],
    done: Callable[[T], object],
    timeout: float = 10.0,
    *,
    every: float = 0.05,
    process: subprocess.Popen[Any] | None = None,
) -> T:
    """``call()`` again every ``every`` seconds until ``done`` holds for its result, ``timeout``
    seconds have passed or ``process`` has exited; the last result, for the caller to judge.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = call()
        if done(result) or time.monotonic() > deadline:
            return result
        if process is not None and process.poll() is not None:
            return result
        time.sleep(every)


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
    result = repeat_until(check, bool, timeout, every=every, process=process)
    if result:
        return result
    if process is not None and process.poll() is not None:
        raise TimedOut(f"exited with {process.returncode} before {what}")
    raise TimedOut(f"timed out after {timeout:g}s waiting for {what}")
