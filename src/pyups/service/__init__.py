"""The running monitor: pollers (one thread per upsd server), the event queue, the sinks."""
