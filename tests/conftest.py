"""Suite-wide settings.

Hypothesis' timing checks (a per-example deadline, "input generation is slow") measure the
machine, not the code: on a two-core CI box that is also running upsd, drivers and journald
for the integration tests, a single slow draw fails a correct property. They are switched
off; every property still runs its full number of examples.
"""

from hypothesis import HealthCheck, settings

settings.register_profile("pyups", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("pyups")
