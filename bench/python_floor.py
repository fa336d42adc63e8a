"""The least a Python monitor can spend per poll: the floor row of ``bench/idle_cost.py``.

A thread wakes on a fixed grid, sends ``LIST VAR`` on a plain socket (TCP_NODELAY, and
TCP_QUICKACK set once the request is sent, as pyups does) and reads until the closing line. It
parses nothing, keeps no state and reports nothing. What it costs is what CPython on this
machine spends to wake a thread and do one exchange with upsd, which no Python client can
go below; pyups' CPU per poll is that plus its own work.

With ``--wake-only`` the thread wakes on the same grid and does nothing else (no connection,
no exchange): the part of the floor that is CPython waking up once a period, so that the
rest of it is the ``LIST VAR`` exchange itself (the kernel receiving upsd's reply, which
upsd writes a line at a time).

    python -m bench.python_floor HOST PORT UPS INTERVAL [--wake-only]   (runs until killed)
"""

from __future__ import annotations

import socket
import sys
import threading
import time


def serve(host: str, port: int, ups: str, interval: float, exchange: bool) -> None:
    """Wake on the grid, and (``exchange``) do one ``LIST VAR`` at each wake-up."""
    if exchange:
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request, end = f"LIST VAR {ups}\n".encode(), f"END LIST VAR {ups}\n".encode()
    never_released = threading.Lock()
    never_released.acquire()
    due = time.monotonic()
    while True:
        if exchange:
            sock.sendall(request)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            reply = b""
            while not reply.endswith(end):
                chunk = sock.recv(65536)
                if not chunk:
                    raise SystemExit("upsd closed the connection")
                reply += chunk
        due += interval
        never_released.acquire(timeout=max(0.0, due - time.monotonic()))


def main() -> None:
    host, port, ups, interval = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    exchange = "--wake-only" not in sys.argv[5:]
    poller = threading.Thread(target=serve, args=(host, port, ups, interval, exchange), daemon=True)
    poller.start()
    poller.join()


if __name__ == "__main__":
    main()
