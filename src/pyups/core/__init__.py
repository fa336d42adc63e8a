"""The pure core: status flags, the event catalogue, the per-UPS tracker.

Nothing here touches a socket, reads a clock or configures logging. Time is
always an argument, and results are immutable values, so every module can be
tested (and replayed) without a server.
"""
