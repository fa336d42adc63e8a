"""The one place that reaches into PyNUTClient's private names.

PyNUTClient 2.8.5 (pinned) still does the connecting, STARTTLS and USERNAME/PASSWORD, so
pyups follows NUT's own client for the handshake. Everything after it goes through pyups'
own reader, which needs two of PyNUTClient's private (name-mangled) members:

* ``_PyNUTClient__srv_handler``: the socket, which STARTTLS replaces with an SSL socket.
* ``_PyNUTClient__read_until``: the spinning reader, overridden here by :class:`Client`
  because the base class calls it by that mangled name during login and STARTTLS.

and two module globals, ``ssl`` and ``ssl_available``: PyNUTClient is imported without
``ssl`` (:mod:`pyups.lean`), so it records TLS as unavailable, and :func:`offer_tls` hands it
the module when a session needs STARTTLS.

A new PyNUTClient release that renames either breaks only this module (and its tests).
"""

from __future__ import annotations

import importlib
import socket
from typing import Any

from pyups.lean import import_without
from pyups.nut.errors import PROTOCOL, NutError
from pyups.nut.reader import MAX_REPLY_LINES, LineReader

_PyNUT = import_without("PyNUTClient.PyNUT", "ssl")
PyNUTClient = _PyNUT.PyNUTClient
PyNUTError: type[Exception] = _PyNUT.PyNUTError

__all__ = ["STARTTLS_REFUSED", "Client", "PyNUTError", "offer_tls"]

# PyNUTClient's words when upsd refuses STARTTLS and force_ssl is set.
STARTTLS_REFUSED = "STARTTLS failed but SSL is required:"


def offer_tls() -> None:
    """Load ``ssl`` and give it to PyNUTClient: before the first session that uses STARTTLS."""
    if not getattr(_PyNUT, "ssl_available"):  # noqa: B009  (mypy: the module is not typed)
        setattr(_PyNUT, "ssl", importlib.import_module("ssl"))  # noqa: B010
        setattr(_PyNUT, "ssl_available", True)  # noqa: B010


class Client(PyNUTClient):  # type: ignore[misc,valid-type]
    """PyNUTClient with its reading replaced by :class:`LineReader`.

    ``deadline`` (monotonic) bounds what PyNUTClient does while it is constructed (connect,
    STARTTLS, login): each reader made for a socket starts with it. After that the session
    sets the reader's own deadline before each request.
    """

    def __init__(self, deadline: float, **kwargs: Any) -> None:
        self._pyups_reader: LineReader | None = None
        self.deadline = deadline
        super().__init__(**kwargs)

    @property
    def sock(self) -> socket.socket:
        """The socket in use: plain, or the SSL socket STARTTLS put in its place."""
        sock: socket.socket = self._PyNUTClient__srv_handler
        return sock

    @property
    def reader(self) -> LineReader:
        sock = self.sock
        if self._pyups_reader is None or self._pyups_reader.sock is not sock:
            self._pyups_reader = LineReader(sock)  # a new socket after STARTTLS
            self._pyups_reader.deadline = self.deadline
        return self._pyups_reader

    def _PyNUTClient__read_until(self, terminator: bytes) -> bytes:
        """Replaces PyNUTClient's spinning reader.

        PyNUTClient asks for either the next line (``b"\\n"``) or everything up to a whole
        closing line such as ``b"END LIST UPS\\n"``.
        """
        last = terminator.decode("ascii").removesuffix("\n")
        lines: list[str] = []
        while True:
            line = self.reader.readline()
            lines.append(line + "\n")
            if not last or line == last:
                return "".join(lines).encode("utf-8")
            if len(lines) > MAX_REPLY_LINES:
                raise NutError(PROTOCOL, "reply has too many lines")

    def __del__(self) -> None:
        """No LOGOUT from the garbage collector: the session says goodbye when it closes."""
