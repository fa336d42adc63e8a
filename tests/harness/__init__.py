"""The test and benchmark harness: everything tests/ and bench/ share, none of it installed.

Tests and benchmarks import it from the repository root as ``tests.harness`` (pytest's
rootdir; ``python -m bench.NAME`` from the root). By topic:

* ``journald``: a journald shared by test sessions and benchmarks, pyups' entries read back;
* ``fakeupsd``: a loopback server speaking just enough NUT to misbehave on demand;
* ``receiver``: a webhook receiver recording what Apprise posts;
* ``certs``: certificates for upsd's STARTTLS, and a simulated upsd serving it;
* ``procs``: CPU, memory, descriptors, threads and children of a process (psutil), its end;
* ``wait``: poll until something holds, or give up at a deadline;
* ``pyups``: a ``pyups`` process watched through the journal, a ``pyups`` command run;
* ``config``: pyups configurations written as TOML;
* ``dispatch``: pyups' action dispatcher driven directly, what it emits recorded;
* ``system``: a real systemd booted as PID 1 on a throwaway copy of ``/`` (tests/system).
* ``hosts``: several hosts as network namespaces on one bridge, pyups and upsmon in them,
  shutdown commands that record when they ran (tests/integration/test_multihost.py).

The simulated upsd itself (``pyups.sim.NutServer``) is product code: ``pyups demo`` runs it.
"""
