"""The running monitor: pollers (one thread per upsd server), the event queue and the sinks,
and what keeps it a service: sd_notify and the watchdog, the state file, the pidfile, the
trace recorder and the metrics endpoint."""
