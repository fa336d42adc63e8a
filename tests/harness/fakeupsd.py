"""A fake upsd for the faults a real one cannot produce on demand.

It answers ``LIST VAR``, ``LIST UPS``, ``GET VAR``, ``SET VAR`` and ``INSTCMD`` like upsd
(escaping values the way upsd does, and unescaping what it is sent with its own small
parser, not pyups') while ``mode`` is ``"good"``, and otherwise misbehaves: ``cut`` sends
half a reply and closes, ``silent`` never answers, ``garbage`` sends random bytes,
``endless`` sends one line that never ends, ``trickle`` sends a byte a second. The mode
can be switched while clients are connected; each new request reads it afresh.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import threading
import time

from pyups.address import Server
from pyups.nut.protocol import quote

DEFAULT_VARS = {
    "battery.charge": "100",
    "battery.runtime": "3160",
    "device.model": "Fake 800",
    "ups.status": "OL CHRG",
}

# ``SET VAR ups var "value"`` / ``INSTCMD ups cmd ["value"]`` with upsd's backslash escapes.
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_SET = re.compile(rf"SET VAR (\S+) (\S+) {_QUOTED}$")
_INSTCMD = re.compile(rf"INSTCMD (\S+) (\S+)(?: {_QUOTED})?$")


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


class FakeUpsd:
    """One listening socket on 127.0.0.1, a thread per client."""

    def __init__(self, ups: str = "eaton800") -> None:
        self.ups = ups
        self.vars = dict(DEFAULT_VARS)
        self.mode = "good"
        self.requests = 0
        self.commands: list[tuple[str, str | None]] = []  # instant commands run, with values
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._clients: list[socket.socket] = []

    @property
    def address(self) -> str:
        return f"{self.ups}@127.0.0.1:{self.port}"

    @property
    def server(self) -> Server:
        return Server("127.0.0.1", self.port)

    def start(self) -> None:
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._spawn(self._accept)

    def stop(self) -> None:
        self._stop.set()
        for client in list(self._clients):
            with contextlib.suppress(OSError):
                client.close()
        self._sock.close()
        for thread in self._threads:
            thread.join(5)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self._clients.append(client)
            self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(0.2)
        buffer = b""
        with contextlib.suppress(OSError), client:
            while not self._stop.is_set():
                try:
                    data = client.recv(4096)
                except TimeoutError:
                    continue
                if not data:
                    return
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    self.requests += 1
                    if not self._answer(client, line.decode("utf-8")):
                        return

    def _answer(self, client: socket.socket, request: str) -> bool:
        """Reply to one request line; False closes the connection."""
        words = request.split()
        mode = self.mode
        if mode == "good" or not words or words[0] != "LIST":
            client.sendall(self._reply(words, request).encode())
            return True
        if mode == "cut":
            reply = self._reply(words).encode()
            client.sendall(reply[: len(reply) // 2])
            return False
        if mode == "silent":
            return self._idle(lambda: None)
        if mode == "garbage":
            rnd = random.Random(self.requests)
            client.sendall(bytes(rnd.randrange(256) for _ in range(3000)))
            return True
        if mode == "endless":
            chunk = b"A" * 65536
            return self._idle(lambda: client.sendall(chunk))
        if mode == "trickle":
            rest = iter(self._reply(words).encode())
            return self._idle(lambda: client.sendall(bytes([next(rest, 32)])), pause=1.0)
        raise ValueError(mode)

    def _idle(self, action: object, pause: float = 0.0) -> bool:
        """Keep misbehaving (``action`` each round) until the mode changes or we stop."""
        mode = self.mode
        while self.mode == mode and not self._stop.is_set():
            action()  # type: ignore[operator]
            time.sleep(pause or 0.01)
        return False

    def _reply(self, words: list[str], request: str = "") -> str:
        if words[:2] == ["LIST", "VAR"] and len(words) == 3:
            if words[2] != self.ups:
                return "ERR UNKNOWN-UPS\n"
            body = "".join(f"VAR {self.ups} {k} {quote(v)}\n" for k, v in self.vars.items())
            return f"BEGIN LIST VAR {self.ups}\n{body}END LIST VAR {self.ups}\n"
        if words[:2] == ["LIST", "UPS"]:
            return f'BEGIN LIST UPS\nUPS {self.ups} "Fake UPS"\nEND LIST UPS\n'
        if words[:2] == ["GET", "VAR"] and len(words) == 4:
            if words[2] != self.ups:
                return "ERR UNKNOWN-UPS\n"
            if words[3] not in self.vars:
                return "ERR VAR-NOT-SUPPORTED\n"
            return f"VAR {self.ups} {words[3]} {quote(self.vars[words[3]])}\n"
        if (match := _SET.match(request)) and match[1] == self.ups:
            self.vars[match[2]] = _unescape(match[3])
            return "OK\n"
        if (match := _INSTCMD.match(request)) and match[1] == self.ups:
            value = None if match[3] is None else _unescape(match[3])
            self.commands.append((match[2], value))
            return "OK\n"
        if words and words[0] in ("USERNAME", "PASSWORD", "LOGOUT"):
            return "OK\n" if words[0] != "LOGOUT" else "OK Goodbye\n"
        return "ERR UNKNOWN-COMMAND\n"
