"""Cost of one ``LIST VAR`` of the simulated eaton800: raw socket, stock PyNUTClient, pyups.

All three run against the same private upsd in the same run. The raw socket re-arms
TCP_QUICKACK like pyups does, so it is the floor; the stock client shows the ~44 ms
delayed-ACK stall. Prints a table and writes bench/results/poll_cost.json.

    .venv/bin/python bench/poll_cost.py [--polls N]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from PyNUTClient.PyNUT import PyNUTClient

from pyups.nut import Connection
from pyups.sim import NutServer

UPS = "eaton800"


def raw_client(server: NutServer) -> Callable[[], None]:
    sock = socket.create_connection((server.server.host, server.server.port))
    end = f"END LIST VAR {UPS}\n".encode()

    def fetch() -> None:
        sock.sendall(f"LIST VAR {UPS}\n".encode())
        data = b""
        while not data.endswith(end):
            data += sock.recv(65536)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)

    return fetch


def measure(fetch: Callable[[], None], polls: int) -> dict[str, float]:
    fetch()  # warm up
    wall, cpu = [], []
    for _ in range(polls):
        w, c = time.perf_counter(), time.process_time()
        fetch()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return {
        "wall_median_ms": statistics.median(wall) * 1000,
        "wall_p95_ms": sorted(wall)[int(len(wall) * 0.95) - 1] * 1000,
        "cpu_mean_ms": statistics.fmean(cpu) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=200)
    args = parser.parse_args()
    with NutServer() as server:
        stock = PyNUTClient(host=server.server.host, port=server.server.port)
        pyups = Connection(server.server)
        results = {
            "raw socket (floor)": measure(raw_client(server), args.polls),
            "pyups adapter": measure(lambda: pyups.list_vars(UPS), args.polls),
            # The stock client stalls ~44 ms a poll: fewer polls keep the run short.
            "stock PyNUTClient 2.8.5": measure(
                lambda: stock.GetUPSVars(UPS), max(20, args.polls // 10)
            ),
        }
    floor = results["raw socket (floor)"]["wall_median_ms"]
    print(f"LIST VAR {UPS} ({args.polls} polls), same upsd, same run")
    print(f"{'client':<26}{'median ms':>11}{'p95 ms':>10}{'CPU ms':>9}{'x raw':>8}")
    for name, r in results.items():
        ratio = r["wall_median_ms"] / floor
        print(
            f"{name:<26}{r['wall_median_ms']:>11.3f}{r['wall_p95_ms']:>10.3f}"
            f"{r['cpu_mean_ms']:>9.3f}{ratio:>8.1f}"
        )
    out = Path(__file__).parent / "results" / "poll_cost.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
