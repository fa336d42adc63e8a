"""The pure core: status flags, the event catalogue, the per-UPS tracker, rule expressions
and their timing, message templates, and the engine that runs a poll result through them
(live and in replay), plus the trace and state records.

Nothing here touches a socket, reads a clock or configures logging. Time is
always an argument, and results are immutable values, so every module can be
tested (and replayed) without a server.
"""
