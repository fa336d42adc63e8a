"""Actions of rules: ``exec`` (argv, no shell, timeout, process group), ``instcmd``, ``notify``
(Apprise) and ``shutdown``, run by a bounded :class:`~pyups.actions.dispatcher.Dispatcher`
that reports each outcome as an ACTION (:mod:`~pyups.actions.outcome`).

Nothing is imported here, so that ``pyups replay``, which only words what actions would do,
does not load the dispatcher, the NUT client or Apprise.
"""
