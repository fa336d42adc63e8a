"""Reading upsd's replies off a socket, bounded in line length, reply size and time.

PyNUTClient's own reader loops on ``recv(50)`` without checking for end of file, so a server
that closes mid-reply makes it spin at 100% CPU forever. :class:`LineReader` replaces it: it
raises CLOSED at EOF, caps line length and reply size, and enforces one deadline per request,
so a server that trickles one byte per second still times out.

upsd writes each reply line separately with Nagle on: after its first line it sends no more
until the client has acknowledged it. Linux delays that ACK (by up to 40 ms) while it takes
the connection for an interactive one, which it does once the client has sent a request soon
after a reply (its "pingpong" mode), so every ``LIST VAR`` stalls ~44 ms on loopback with the
stock client. Setting TCP_QUICKACK once each request is sent leaves that mode for the whole
reply (only the client sending data enters it again), and each read that empties the socket
then acknowledges at once: on the simulated eaton800 over loopback the median ``LIST VAR``
went from 44.0 ms to 0.09 ms (``bench/`` reproduces it); over TLS, where upsd sends each line
as its own record, from 44.0 ms to 0.3 ms. Set once a request rather than after every read
(two or three reads a ``LIST VAR`` on loopback), it costs one system call a request.
"""

from __future__ import annotations

import select
import socket
import struct
import time

from pyups.nut.errors import CLOSED, PROTOCOL, TIMEOUT, NutError
from pyups.nut.protocol import check_error
from pyups.nut.tls import loaded_ssl

MAX_LINE = 8192  # bytes; upsd's own lines stay far below this
MAX_REPLY_LINES = 20000  # per LIST reply
MAX_REPLY_BYTES = 4 * 1024 * 1024
_RECV = 4096
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
# How far the kernel's timeout on a blocking socket may stray from what is left of a request's
# deadline before it is set again: above the kernel's own granularity (a jiffy, 4 ms at
# HZ=250), far below any timeout a configuration can give.
_SLACK = 0.01


class LineReader:
    """Reads ``\\n``-terminated lines from a socket, bounded in size and time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()
        self.deadline = float("inf")
        self._poller = select.poll()
        self._waiting_for = 0
        # The kernel's timeout (SO_RCVTIMEO, SO_SNDTIMEO) on a blocking socket, in seconds;
        # None while the socket is non-blocking or has a Python timeout (see :meth:`settle`).
        self._armed: float | None = None
        # What "nothing to read (or write) yet" raises: on a TLS socket also the ssl module's
        # want-read/want-write, which only a session that loaded ssl can meet.
        ssl = loaded_ssl()
        self._tls = ssl is not None and isinstance(sock, ssl.SSLSocket)
        self._not_readable: tuple[type[Exception], ...] = (BlockingIOError,)
        self._not_writable: tuple[type[Exception], ...] = (BlockingIOError,)
        if self._tls:
            assert ssl is not None
            self._not_readable += (ssl.SSLWantReadError,)
            self._not_writable += (ssl.SSLWantWriteError,)

    def settle(self, timeout: float) -> None:
        """Once connected (and logged in): how each read and write waits from now on.

        A plain socket blocks, with the kernel's own timeouts set to ``timeout`` and moved
        only when what is left of a request's deadline strays from them by more than
        ``_SLACK``. A read then is one system call that sleeps until upsd's bytes arrive,
        as a bare blocking client's would. A non-blocking socket costs more on every poll:
        the read that finds nothing yet raises, and a poll follows (measured on the idle
        pyups by ``bench/idle_cost``). A TLS socket stays non-blocking and waits in poll:
        ``ssl`` retries a blocking read whose kernel timeout ran out, for ever, so only poll
        bounds it. A Python timeout (what PyNUTClient connects with) would poll before
        every read.
        """
        if not self._tls:
            try:
                self._arm(timeout)
                self.sock.settimeout(None)
                return
            except OSError:  # timeouts this platform's struct timeval does not fit: poll
                self._armed = None
        self.sock.settimeout(0)

    def _arm(self, seconds: float) -> None:
        """Bound each blocking read and write by ``seconds`` (more than 0) in the kernel.

        ``struct timeval`` is two C longs here, as on every 64-bit Linux; a 32-bit build
        with a 64-bit ``time_t`` refuses it, and :meth:`settle` then keeps the socket
        non-blocking."""
        whole = int(seconds)
        micro = max(int((seconds - whole) * 1e6), 0 if whole else 1)  # all zero: no timeout
        value = struct.pack("@ll", whole, micro)  # struct timeval
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
        self._armed = seconds

    def _bound(self) -> None:
        """Before each read or write: TIMEOUT past the deadline, else the wait it may make is
        bounded by what is left of the deadline (on a non-blocking socket, :meth:`_wait`
        bounds it).

        The kernel's timeouts are set again only when they stray from what is left by more
        than ``_SLACK``: a request that gets its reply at once sets nothing. A Python timeout
        (while connecting) is shortened before every read.
        """
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise NutError(TIMEOUT)
        armed = self._armed
        if armed is not None:
            if not remaining - _SLACK <= armed <= remaining + _SLACK:
                self._arm(remaining)
        elif self.sock.gettimeout() != 0.0:
            self.sock.settimeout(remaining)

    def readline(self) -> str:
        """One line without its newline; raises NutError (CLOSED, TIMEOUT, PROTOCOL)."""
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[: end + 1]
                if len(line) > MAX_LINE:
                    raise NutError(PROTOCOL, f"reply line longer than {MAX_LINE} bytes")
                return line.decode("utf-8", "replace")
            if len(self._buf) > MAX_LINE:
                raise NutError(PROTOCOL, f"reply line longer than {MAX_LINE} bytes")
            self._fill()

    def request_block(self, request: bytes, subject: bytes) -> bytes:
        """Send a ``LIST`` request; the body of its reply as upsd sent it, each line with its
        ``\\n``, not decoded.

        The reply must open with ``BEGIN LIST <subject>`` (an ``ERR`` line raises its code,
        anything else PROTOCOL) and end with ``END LIST <subject>``. Left undecoded, a body
        can be compared with the last one before any work is done on it.

        The reply is gathered whole and looked at once per read, not a line at a time; line
        length and reply size stay capped while it arrives. Each step of this loop runs on
        every poll, cold after a second's sleep, so it does as little as it can: one pass
        over BEGIN, END and the caps instead of a loop for each (about 0.06 ms of CPU a poll
        less, measured with the reader alone in ``bench/python_floor.py``'s loop).
        """
        self.send(request)
        if self._armed is None:  # a blocking read waits by itself
            self.await_reply()
        begin = b"BEGIN LIST " + subject + b"\n"
        end = b"\nEND LIST " + subject + b"\n"  # its newline ends the line before
        buf = self._buf
        while True:
            if buf.startswith(begin):
                at = buf.find(end, len(begin) - 1)  # an empty body: BEGIN's own newline
                if at >= 0:
                    block = bytes(buf[len(begin) : at + 1])
                    del buf[: at + len(end)]
                    _check_block(block)
                    return block
                if len(buf) > MAX_LINE:
                    _check_arriving(buf)
            # find, not ``in``: ``bytes in bytearray`` first tries the bytes as an integer,
            # which raises (and formats) a TypeError that is thrown away, on every poll.
            elif len(buf) >= len(begin) or buf.find(b"\n") >= 0:
                line = self.readline()  # a whole first line, and not the expected one
                check_error(line)
                asked = request.decode("utf-8", "replace").strip()
                raise NutError(PROTOCOL, f"unexpected answer to {asked}: {line[:80]!r}")
            self._fill()

    def send(self, data: bytes) -> None:
        """Send a whole request before the deadline."""
        view = memoryview(data)
        while view:
            self._bound()
            try:
                view = view[self.sock.send(view) :]
            except self._not_writable:
                if self._armed is None:
                    self._wait(select.POLLOUT)
                # else the kernel's timeout ran out: the loop looks at the deadline again
            except TimeoutError:
                raise NutError(TIMEOUT) from None
        if _QUICKACK is not None:
            # Out of delayed-ACK mode for the reply to come (see the module's docstring).
            self.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)

    def _fill(self) -> None:
        """Append what the socket has, waiting for it until the deadline.

        Once connected the socket blocks with the kernel's timeouts, or over TLS it is
        non-blocking (:meth:`settle`). Before that (login, STARTTLS) it has a Python timeout,
        shortened here to the deadline.
        """
        while True:
            self._bound()
            try:
                data = self.sock.recv(_RECV)
                break
            except self._not_readable:
                if self._armed is None:
                    self._wait(select.POLLIN)  # nothing yet, or only part of a TLS record
                # else the kernel's timeout ran out: the loop looks at the deadline again
            except TimeoutError:
                raise NutError(TIMEOUT) from None
        if not data:
            raise NutError(CLOSED, "upsd closed the connection in the middle of a reply")
        self._buf += data

    def await_reply(self) -> None:
        """After a request: wait for the first bytes of the reply, unless some are here.

        Asking the socket first would only fail (upsd needs a moment to answer): waiting
        straight away saves a system call and an exception on every request.
        """
        if self._buf or self._armed is not None or self.sock.gettimeout() != 0.0:
            return  # a blocking read waits by itself
        if self._tls and self.sock.pending():  # type: ignore[attr-defined]
            return
        self._wait(select.POLLIN)

    def _wait(self, event: int) -> None:
        """Block until the socket is ready for ``event``; NutError(TIMEOUT) at the deadline."""
        remaining = self.deadline - time.monotonic()
        if event != self._waiting_for:
            self._poller.register(self.sock, event)  # registering again modifies
            self._waiting_for = event
        if remaining <= 0 or not self._poller.poll(remaining * 1000):
            raise NutError(TIMEOUT)


def _check_block(block: bytes) -> None:
    """A whole reply body within the caps: lines, and the length of each line."""
    if block.count(b"\n") > MAX_REPLY_LINES:
        raise NutError(PROTOCOL, "reply has too many lines")
    # The cap is in bytes; only a block longer than it can hold a line that is.
    if len(block) > MAX_LINE and max(map(len, block.split(b"\n"))) > MAX_LINE:
        raise NutError(PROTOCOL, f"reply line longer than {MAX_LINE} bytes")


def _check_arriving(buf: bytearray) -> None:
    """A reply still arriving within the caps: its last, unfinished line and its size."""
    if len(buf) - (buf.rfind(b"\n") + 1) > MAX_LINE:
        raise NutError(PROTOCOL, f"reply line longer than {MAX_LINE} bytes")
    if len(buf) > MAX_REPLY_BYTES:
        raise NutError(PROTOCOL, f"reply larger than {MAX_REPLY_BYTES} bytes")
