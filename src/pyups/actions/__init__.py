"""Actions of rules: ``exec`` (argv, no shell, timeout, process group), ``instcmd``, ``notify``
(Apprise) and ``shutdown``, run by a bounded :class:`Dispatcher` that reports each outcome as
an ACTION."""

from pyups.actions.dispatcher import Dispatcher
from pyups.actions.outcome import Outcome, action_event

__all__ = ["Dispatcher", "Outcome", "action_event"]
