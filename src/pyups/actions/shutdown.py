"""The ``shutdown`` action: ``monitor.shutdown_command``, run at most once per process.

Once it has started, later requests are skipped; one that failed (could not start, or
exited non-zero) is not a shutdown in progress, so the next request runs it again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from pyups.actions.outcome import Outcome
from pyups.actions.process import ProcessGroups, run
from pyups.actions.run_exec import Note, environment, report
from pyups.core.events import Event
from pyups.core.rules import ActionRequest, ShutdownAction, describe


def run_shutdown(
    command: Sequence[str], event: Event, groups: ProcessGroups, note: Note
) -> Outcome:
    """Run the shutdown command (no timeout: it may take as long as it needs)."""
    label = describe(ActionRequest(ShutdownAction(), event), command)
    finished = run(command, environment(event), None, groups)
    if finished.error is None and finished.returncode is not None and finished.returncode >= 0:
        if finished.stderr:
            note(f"{label}: stderr: {finished.stderr}", "debug")
        code = finished.returncode
        if code == 0:
            return Outcome("ok", f"{label} exited 0", ok=True)
        return Outcome(
            f"exit:{code}", f"{label} exited {code} after {finished.elapsed:.2f}s", ok=False
        )
    return report(label, finished, note, timeout=None)


def skipped(started: float) -> Outcome:
    """A later shutdown request: one is running or succeeded (or, in a dry run, would have)."""
    at = time.strftime("%H:%M:%S", time.localtime(started))
    return Outcome("skipped", f"shutdown already started at {at}; not run again", ok=True)
