"""pyups and NUT's upsmon on the same random outage: the same events per UPS?

Two simulated UPSes on one private upsd go through a random sequence of statuses (``--steps``,
default 40; each step changes every UPS and holds it ``--hold`` seconds, long enough for
both monitors to poll it). pyups at 1 s and NUT's real ``upsmon`` (``/lib/nut/upsmon``, the
installed 2.8.0, POLLFREQ 1, NOTIFYCMD for every notification it knows) watch them at once.
The script compares, per UPS, the sequence of events each reported, over the events upsmon
2.8.0 has (ONLINE, ONBATT, LOWBATT, FSD, COMMOK, COMMBAD, REPLBATT, NOCOMM): pyups' STARTUP
is its own, and a dead-time LOWBATT needs lost communications, which this sequence has none
of. The statuses all carry OL or OB (upsmon 2.8.0 also calls OFF → OL an ONLINE). Events are
compared step by step: within one step their order is not compared, because upsmon runs a
NOTIFYCMD process for each and they race to write their line.

    .venv/bin/python -m bench.upsmon_parity [--steps N] [--hold S] [--seed N]
"""

from __future__ import annotations

import argparse
import bisect
import random
import time
from collections.abc import Sequence

from bench.harness import Upsmon, write_result
from pyups.sim import NutServer, eaton800
from tests.harness.config import pyups_config
from tests.harness.journald import shared_journald
from tests.harness.pyups import Pyups

UPSES = ("ups1", "ups2")
STATUSES = ("OL", "OL CHRG", "OB DISCHRG", "OB DISCHRG LB", "OL RB", "OL CHRG LB", "OB RB")
COMPARED = ("ONLINE", "ONBATT", "LOWBATT", "FSD", "COMMOK", "COMMBAD", "REPLBATT", "NOCOMM")
USER, PASSWORD = "bench-upsmon", "bench-upsmon-password"


def by_step(events: Sequence[tuple[float, str]], starts: Sequence[float]) -> list[str]:
    """``step: EVENT EVENT`` for each step with events, events sorted within a step (step 0
    is the start-up, before the first change)."""
    steps: dict[int, list[str]] = {}
    for t, event in events:
        steps.setdefault(bisect.bisect_right(starts, t), []).append(event)
    return [f"{step}: {' '.join(sorted(names))}" for step, names in sorted(steps.items())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--hold", type=float, default=3.0, help="seconds each step is held")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    users = f"[{USER}]\n  password = {PASSWORD}\n  upsmon primary\n"
    devices = {name: eaton800() for name in UPSES}
    sequence = [{u: rng.choice(STATUSES) for u in UPSES} for _ in range(args.steps)]
    with shared_journald(), NutServer(devices, extra_users=users) as server:
        for ups in UPSES:
            server.set_status("OL", ups)
            server.wait_for(ups, "ups.status", "OL")
        upsmon = Upsmon([server.address(u) for u in UPSES], USER, PASSWORD, 1, COMPARED)
        pyups = Pyups.run_config(pyups_config([(server.server, UPSES)], 1.0))
        try:
            pyups.wait_event("STARTUP", timeout=20)
            time.sleep(args.hold)
            starts = []
            for step in sequence:
                starts.append(time.time())
                for ups, status in step.items():
                    server.set_status(status, ups)
                time.sleep(args.hold)
            time.sleep(args.hold)
            theirs = upsmon.notifications()
            ours = [
                (int(e["__REALTIME_TIMESTAMP"]) / 1e6, e["PYUPS_UPS"], e["PYUPS_EVENT"])
                for e in pyups.entries()
                if "PYUPS_EVENT" in e
            ]
        finally:
            pyups.close()
            upsmon.close()
    same = True
    per_ups = {}
    for ups in UPSES:
        mine = by_step([(t, e) for t, name, e in ours if name == ups and e in COMPARED], starts)
        reference = by_step([(t, kind) for t, kind, name in theirs if name == ups], starts)
        per_ups[ups] = {"pyups": mine, "upsmon": reference, "same": mine == reference}
        same &= mine == reference
        verdict = "same" if mine == reference else "DIFFERENT"
        print(f"{ups}: {verdict}\n  pyups:  {'; '.join(mine)}\n  upsmon: {'; '.join(reference)}")
    path = write_result(
        "upsmon_parity",
        {"seed": seed, "steps": args.steps, "hold": args.hold, "sequence": sequence,
         "ups": per_ups, "checks": {"same events per UPS as upsmon": same}},
    )  # fmt: skip
    print(f"seed {seed}; results: {path}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
