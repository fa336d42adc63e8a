"""The PyNUTClient adapter: one connection to one upsd, made safe.

PyNUTClient 2.8.5 still does the connecting, STARTTLS and USERNAME/PASSWORD, so pyups follows
NUT's own client. Its defects are neutralised here, once, at the boundary:

* ``__read_until`` loops on ``recv(50)`` without checking for end of file: a server that closes
  mid-reply makes it spin at 100% CPU forever. :class:`_Client` replaces that method (the base
  class calls it by its mangled name) with :class:`LineReader`, which raises CLOSED at EOF,
  caps line length and reply size, and enforces one deadline per request, so a server that
  trickles one byte per second still times out.
* A silent server raises a bare ``TimeoutError``; every foreign exception is translated by
  :func:`translate` into a :class:`NutError` with a code (upsd's ``ERR`` code, or CONNECT,
  TIMEOUT, CLOSED, PROTOCOL).
* ``GetUPSVars`` and friends split lines on ``"``: a ``\\"`` in a value truncates it, nothing
  is unescaped and values come back as bytes. pyups sends LIST requests over the same socket
  and parses replies with :mod:`pyups.nut.protocol`, returning exact ``str`` values.
* ``SetRWVar`` does not quote the value; pyups quotes values itself.
* With ``use_ssl`` alone PyNUTClient carries on in clear text when upsd refuses STARTTLS. pyups
  always passes ``force_ssl`` with its own :class:`ssl.SSLContext` (:class:`Tls`), so a server
  without TLS is a TLS error, never a silent downgrade, and a certificate failure says why.
* upsd writes each reply line separately with Nagle on, and Linux delays the client's ACK,
  so every ``LIST VAR`` stalls ~44 ms on loopback. Re-arming TCP_QUICKACK after every read
  makes the client ACK at once: measured on the simulated eaton800 over loopback, the median
  ``LIST VAR`` went from 44.0 ms to 0.09 ms (``bench/`` reproduces it); over TLS, where upsd
  sends each line as its own record, from 44.0 ms to 0.3 ms.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from PyNUTClient.PyNUT import PyNUTClient, PyNUTError

from pyups.address import Server
from pyups.nut.errors import CLOSED, CONNECT, PROTOCOL, TIMEOUT, TLS, NutError
from pyups.nut.protocol import (
    check_error,
    parse_list_block,
    parse_ups_list,
    quote,
    split_line,
)

MAX_LINE = 8192  # bytes; upsd's own lines stay far below this
MAX_REPLY_LINES = 20000  # per LIST reply
MAX_REPLY_BYTES = 4 * 1024 * 1024
_RECV = 4096
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
T = TypeVar("T")


# PyNUTClient's words when upsd refuses STARTTLS and force_ssl is set.
_STARTTLS_REFUSED = "STARTTLS failed but SSL is required:"


@dataclass(frozen=True, slots=True)
class Tls:
    """STARTTLS to upsd: verify its certificate and host name against ``ca_file`` (a PEM file;
    None: the system's CAs), or, with ``verify`` off, encrypt without checking who answers."""

    ca_file: str | None = None
    verify: bool = True

    def context(self) -> ssl.SSLContext:
        """A client context for these settings; NutError(TLS) when ca_file cannot be used."""
        try:
            context = ssl.create_default_context(cafile=self.ca_file)
        except OSError as exc:  # ssl.SSLError is an OSError too
            if isinstance(exc, ssl.SSLError):
                why = "it holds no PEM certificate"
            else:
                why = exc.strerror or type(exc).__name__
            raise NutError(
                TLS, f"cannot use the CA file {self.ca_file}: {why}; fix ca_file (--ca-file)"
            ) from None
        if not self.verify:
            context.check_hostname = False  # must go first: CERT_NONE refuses check_hostname
            context.verify_mode = ssl.CERT_NONE
        return context


class LineReader:
    """Reads ``\\n``-terminated lines from a socket, bounded in size and time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()
        self.deadline = float("inf")
        self._poller = select.poll()
        self._waiting_for = 0

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

    def read_block(self, last: str) -> str:
        """One LIST reply body: the lines before the line ``last`` (consumed too) as one text.

        Each line keeps its ``\\n``. The reply is gathered whole and decoded once, which is
        several times cheaper than a line at a time; line length and reply size stay capped
        while it arrives.
        """
        marker = last.encode("utf-8") + b"\n"
        while True:
            if self._buf.startswith(marker):
                at = 0
            else:
                found = self._buf.find(b"\n" + marker)
                at = found + 1 if found >= 0 else -1
            if at >= 0:
                block = bytes(self._buf[:at])
                del self._buf[: at + len(marker)]
                if block.count(b"\n") > MAX_REPLY_LINES:
                    raise NutError(PROTOCOL, "reply has too many lines")
                # The cap is in bytes; only a block longer than it can hold a line that is.
                if len(block) > MAX_LINE and max(map(len, block.split(b"\n"))) > MAX_LINE:
                    raise NutError(PROTOCOL, f"reply line longer than {MAX_LINE} bytes")
                return block.decode("utf-8", "replace")
            if len(self._buf) - (self._buf.rfind(b"\n") + 1) > MAX_LINE:
                raise NutError(PROTOCOL, f"reply line longer than {MAX_LINE} bytes")
            if len(self._buf) > MAX_REPLY_BYTES:
                raise NutError(PROTOCOL, f"reply larger than {MAX_REPLY_BYTES} bytes")
            self._fill()

    def send(self, data: bytes) -> None:
        """Send a whole request before the deadline (the socket may be non-blocking)."""
        view = memoryview(data)
        while view:
            try:
                view = view[self.sock.send(view) :]
            except (BlockingIOError, ssl.SSLWantWriteError):
                self._wait(select.POLLOUT)
            except TimeoutError:
                raise NutError(TIMEOUT) from None

    def _fill(self) -> None:
        """Append what the socket has, waiting for it until the deadline.

        Once connected the socket is non-blocking (:meth:`Connection.open`): a read that finds
        data costs one system call, where a socket timeout would poll before every read.
        Before that (login, STARTTLS) it has a timeout, shortened here to the deadline.
        """
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise NutError(TIMEOUT)
            if self.sock.gettimeout() != 0.0:
                self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(_RECV)
                break
            except (BlockingIOError, ssl.SSLWantReadError):
                self._wait(select.POLLIN)  # nothing yet, or only part of a TLS record
            except TimeoutError:
                raise NutError(TIMEOUT) from None
        if not data:
            raise NutError(CLOSED, "upsd closed the connection in the middle of a reply")
        if _QUICKACK is not None:
            # Linux clears QUICKACK after a while; re-arm it after every read. Over TLS too:
            # upsd sends every reply line as its own record, and without it each LIST VAR
            # stalls ~44 ms there as well (measured: 44.0 ms -> 0.3 ms).
            self.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        self._buf += data

    def await_reply(self) -> None:
        """After a request: wait for the first bytes of the reply, unless some are here.

        Asking the socket first would only fail (upsd needs a moment to answer): waiting
        straight away saves a system call and an exception on every request.
        """
        if self._buf or self.sock.gettimeout() != 0.0:
            return
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
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


class _Client(PyNUTClient):  # type: ignore[misc]
    """PyNUTClient with its reading replaced by :class:`LineReader`."""

    def __init__(self, deadline: float, **kwargs: Any) -> None:
        self._pyups_reader: LineReader | None = None
        self._pyups_deadline = deadline
        super().__init__(**kwargs)

    @property
    def reader(self) -> LineReader:
        sock = self._PyNUTClient__srv_handler
        if self._pyups_reader is None or self._pyups_reader.sock is not sock:
            self._pyups_reader = LineReader(sock)  # a new socket after STARTTLS
        self._pyups_reader.deadline = self._pyups_deadline
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
        """No LOGOUT from the garbage collector: :meth:`Connection.close` says goodbye."""


class Connection:
    """One session with one upsd; reconnects lazily after any failure that broke it."""

    def __init__(
        self,
        server: Server,
        timeout: float = 5.0,
        username: str | None = None,
        password: str | None = None,
        tls: Tls | None = None,
    ) -> None:
        self.server = server
        self.timeout = timeout
        self.username = username
        self._password = password
        self.tls = tls
        self._client: _Client | None = None

    def __repr__(self) -> str:
        tls = f", tls={self.tls}" if self.tls else ""
        return f"Connection({self.server}, user={self.username!r}{tls})"

    @property
    def encrypted(self) -> bool:
        """True while connected over TLS."""
        client = self._client
        return client is not None and isinstance(client._PyNUTClient__srv_handler, ssl.SSLSocket)

    @property
    def connected(self) -> bool:
        return self._client is not None

    def open(self) -> None:
        """Connect, STARTTLS (if ``tls`` is set) and log in (if a user is set); raises NutError.

        With TLS the password is only sent once the session is encrypted and upsd's
        certificate has been checked.
        """
        self.close()
        deadline = time.monotonic() + self.timeout
        secure: dict[str, Any] = {}
        if self.tls is not None:
            secure = {"use_ssl": True, "force_ssl": True, "ssl_context": self.tls.context()}
        try:
            client = _Client(
                deadline,
                host=self.server.host,
                port=self.server.port,
                login=self.username,
                password=self._password if self.username else None,
                timeout=self.timeout,
                **secure,
            )
            sock = client._PyNUTClient__srv_handler
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(0)  # from here on LineReader waits, bounded by each deadline
        except Exception as exc:
            raise translate(exc, self.server) from None
        self._client = client

    def close(self) -> None:
        """Say LOGOUT if possible and drop the socket."""
        client, self._client = self._client, None
        if client is None:
            return
        sock = client._PyNUTClient__srv_handler
        try:
            sock.settimeout(0.2)
            sock.sendall(b"LOGOUT\n")
        except OSError:
            pass
        finally:
            sock.close()

    # -- requests ---------------------------------------------------------------------------

    def list_vars(self, ups: str) -> dict[str, str]:
        """Every variable of a UPS, exactly as upsd holds it (``LIST VAR``)."""
        return self._list("VAR", ups)

    def list_ups(self) -> dict[str, str]:
        """Every UPS the server declares, with its description (``LIST UPS``)."""
        return parse_ups_list(self._request_list("LIST UPS", "UPS"))

    def list_commands(self, ups: str) -> list[str]:
        """The instant commands a UPS supports (``LIST CMD``)."""
        return list(self._list("CMD", ups))

    def get_var(self, ups: str, var: str) -> str:
        """One variable's value (``GET VAR``), unescaped."""
        return self._get("VAR", ups, var)

    def command_description(self, ups: str, command: str) -> str:
        """upsd's description of an instant command (``GET CMDDESC``)."""
        return self._get("CMDDESC", ups, command)

    def set_var(self, ups: str, var: str, value: str) -> None:
        """``SET VAR`` with the value quoted, so spaces and quotes arrive intact."""
        line = self._call(lambda c: _ask(c, f"SET VAR {ups} {var} {quote(value)}"))
        if line != "OK":
            raise NutError(PROTOCOL, f"unexpected answer to SET VAR: {line[:80]!r}")

    def instcmd(self, ups: str, command: str, value: str | None = None) -> None:
        """``INSTCMD`` with an optional quoted value; upsd 2.8 may answer ``OK TRACKING <id>``."""
        request = f"INSTCMD {ups} {command}"
        if value is not None:
            request += f" {quote(value)}"
        line = self._call(lambda c: _ask(c, request))
        if not line.startswith("OK"):
            raise NutError(PROTOCOL, f"unexpected answer to INSTCMD: {line[:80]!r}")

    def _list(self, kind: str, ups: str) -> dict[str, str]:
        return parse_list_block(
            self._request_block(f"LIST {kind} {ups}", f"{kind} {ups}"), kind, ups
        )

    def _get(self, kind: str, ups: str, name: str) -> str:
        """``GET kind ups name``; the reply repeats the request words and adds the value."""
        line = self._call(lambda c: _ask(c, f"GET {kind} {ups} {name}"))
        words = split_line(line)
        if len(words) != 4 or words[:3] != [kind, ups, name]:
            raise NutError(PROTOCOL, f"unexpected answer to GET {kind}: {line[:80]!r}")
        return words[3]

    def _request_list(self, request: str, subject: str) -> list[str]:
        return self._request_block(request, subject).split("\n")[:-1]

    def _request_block(self, request: str, subject: str) -> str:
        """The body of a ``LIST`` reply as text, one ``\\n``-terminated line per item."""

        def run(client: _Client) -> str:
            first = _ask(client, request)
            if first != f"BEGIN LIST {subject}":
                raise NutError(PROTOCOL, f"unexpected answer to {request}: {first[:80]!r}")
            return client.reader.read_block(f"END LIST {subject}")

        return self._call(run)

    def _call(self, run: Callable[[_Client], T]) -> T:
        """Run one exchange; a transport failure closes the connection for the next call."""
        if self._client is None:
            self.open()
        assert self._client is not None
        self._client._pyups_deadline = time.monotonic() + self.timeout
        try:
            return run(self._client)
        except NutError as exc:
            if not exc.from_upsd:
                self.close()
            raise
        except Exception as exc:
            self.close()
            raise translate(exc, self.server) from None


def _ask(client: _Client, request: str) -> str:
    """Send one request line and return the first reply line, raising on ``ERR``."""
    reader = client.reader
    reader.send(request.encode("utf-8") + b"\n")
    reader.await_reply()
    line = reader.readline()
    check_error(line)
    return line


def translate(exc: BaseException, server: Server) -> NutError:
    """Map anything the socket layer or PyNUTClient raised to a NutError, without secrets."""
    if isinstance(exc, NutError):
        return exc
    if isinstance(exc, PyNUTError):
        text = str(exc)
        if text.startswith(_STARTTLS_REFUSED):
            answer = text.removeprefix(_STARTTLS_REFUSED).strip()[:80] or "nothing"
            return NutError(
                TLS,
                f"upsd at {server} does not offer TLS (it answered {answer}); configure "
                "CERTFILE or CERTPATH and CERTIDENT in upsd.conf, or set tls = false",
            )
        if text.startswith("ERR "):
            return NutError(text.split()[1])
        return NutError(PROTOCOL, "upsd refused the request")
    if isinstance(exc, socket.gaierror):
        return NutError(CONNECT, f"cannot resolve host name {server.host!r}; check the address")
    if isinstance(exc, ConnectionRefusedError):
        return NutError(
            CONNECT,
            f"connection refused by {server}; is upsd running and listening there "
            "(upsd.conf LISTEN)?",
        )
    if isinstance(exc, TimeoutError):
        return NutError(TIMEOUT, f"{server} did not answer in time")
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return NutError(CLOSED, f"{server} closed the connection")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return NutError(TLS, _untrusted(exc, server))
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return NutError(
            CLOSED,
            f"{server} closed the TLS connection (during the handshake: upsd's log says why)",
        )
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or type(exc).__name__
        return NutError(
            TLS,
            f"TLS with upsd at {server} failed ({reason}); upsd's log says why "
            "(its CERTPATH/CERTIDENT or CERTFILE in upsd.conf)",
        )
    if isinstance(exc, UnicodeDecodeError):
        return NutError(PROTOCOL, f"{server} answered with bytes that are not ASCII")
    if isinstance(exc, UnicodeError):
        return NutError(PROTOCOL, "user names and passwords must be plain ASCII for upsd")
    if isinstance(exc, OSError):
        return NutError(CONNECT, f"cannot connect to {server}: {exc.strerror or 'network error'}")
    return NutError(PROTOCOL, f"unexpected failure talking to {server}: {type(exc).__name__}")


# OpenSSL's X509_V_ERR_* codes for the certificate problems a person can fix.
_NOT_YET_VALID, _EXPIRED = 9, 10
_UNKNOWN_ISSUER = (18, 19, 20, 21)  # self-signed, self-signed in chain, issuer not found
_NAME_MISMATCH = (62, 64)  # host name, IP address


def _untrusted(exc: ssl.SSLCertVerificationError, server: Server) -> str:
    """Why upsd's certificate was refused, in one line, and what to change."""
    code = getattr(exc, "verify_code", None)
    message = getattr(exc, "verify_message", None) or getattr(exc, "reason", None)
    why = str(message or "verification failed").rstrip(".")
    if code in _UNKNOWN_ISSUER:
        return (
            f"upsd's certificate is not signed by a CA pyups trusts ({why}); set ca_file "
            "(--ca-file) to the CA that signed it, e.g. exported with certutil -L -n CA -a"
        )
    if code in _NAME_MISMATCH:
        return (
            f"upsd's certificate is not valid for {server.host} ({why}); use a name or address "
            "its subjectAltName lists, or set tls_verify = false (--no-verify)"
        )
    if code == _EXPIRED:
        return "upsd's certificate has expired; renew it in upsd's certificate store"
    if code == _NOT_YET_VALID:
        return "upsd's certificate is not valid yet; check both hosts' clocks"
    return f"cannot verify upsd's certificate ({why}); check ca_file (--ca-file)"
