"""A session with one upsd: connect, STARTTLS, log in, and the requests pyups makes.

Defects of PyNUTClient 2.8.5 neutralised here, once, at the boundary (the reading ones in
:mod:`pyups.nut.reader`, the private names it needs in :mod:`pyups.nut.pynut`):

* A silent server raises a bare ``TimeoutError``; every foreign exception is translated by
  :func:`translate` into a :class:`NutError` with a code (upsd's ``ERR`` code, or CONNECT,
  TIMEOUT, CLOSED, PROTOCOL, TLS).
* ``GetUPSVars`` and friends split lines on ``"``: a ``\\"`` in a value truncates it, nothing
  is unescaped and values come back as bytes. pyups sends LIST requests over the same socket
  and parses replies with :mod:`pyups.nut.protocol`, returning exact ``str`` values.
* ``SetRWVar`` does not quote the value; pyups quotes values itself.
* With ``use_ssl`` alone PyNUTClient carries on in clear text when upsd refuses STARTTLS. pyups
  always passes ``force_ssl`` with its own :class:`ssl.SSLContext` (:class:`~pyups.nut.tls.Tls`),
  so a server without TLS is a TLS error, never a silent downgrade, and a certificate failure
  says why.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Concatenate, ParamSpec, TypeVar

from pyups.address import Server
from pyups.nut.errors import CLOSED, CONNECT, PROTOCOL, TIMEOUT, TLS, NutError
from pyups.nut.protocol import (
    check_error,
    parse_list_block,
    parse_ups_list,
    quote,
    split_line,
)
from pyups.nut.pynut import STARTTLS_REFUSED, Client, PyNUTError, offer_tls
from pyups.nut.reader import LineReader
from pyups.nut.tls import Tls, loaded_ssl, untrusted

T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class Attach:
    """Log in to one UPS on every (re)connect, so upsd counts this host (``NUMLOGINS``).

    ``primary`` also claims the primary role (``PRIMARY``, or ``MASTER`` on an upsd that
    predates 2.8), which lets this session set FSD. upsd accepts one LOGIN per connection,
    so each attached UPS needs a connection of its own.
    """

    ups: str
    primary: bool = False


class Connection:
    """One session with one upsd; reconnects lazily after any failure that broke it.

    With ``attach`` the session also logs in to that UPS each time it connects. A refusal
    (missing rights in upsd.users) does not stop the session: it keeps answering requests
    and :attr:`attach_error` says what upsd refused and which line to add.
    """

    def __init__(
        self,
        server: Server,
        timeout: float = 5.0,
        username: str | None = None,
        password: str | None = None,
        tls: Tls | None = None,
        attach: Attach | None = None,
    ) -> None:
        self.server = server
        self.timeout = timeout
        self.username = username
        self._password = password
        self.tls = tls
        self.attach = attach
        self.attached = False  # LOGIN (and PRIMARY if asked) accepted on the current socket
        self.attach_error: NutError | None = None
        self._client: Client | None = None
        self._last_reply: dict[str, tuple[bytes, Mapping[str, str]]] = {}  # LIST VAR, per UPS

    def __repr__(self) -> str:
        tls = f", tls={self.tls}" if self.tls else ""
        return f"Connection({self.server}, user={self.username!r}{tls})"

    @property
    def encrypted(self) -> bool:
        """True while connected over TLS."""
        client, ssl = self._client, loaded_ssl()
        return client is not None and ssl is not None and isinstance(client.sock, ssl.SSLSocket)

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def local_host(self) -> str | None:
        """This end's address on the current connection: what upsd lists for this host."""
        client = self._client
        if client is None:
            return None
        try:
            return str(client.sock.getsockname()[0])
        except OSError:
            return None

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
            offer_tls()
        try:
            client = Client(
                deadline,
                host=self.server.host,
                port=self.server.port,
                login=self.username,
                password=self._password if self.username else None,
                timeout=self.timeout,
                **secure,
            )
            client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.reader.settle(self.timeout)  # STARTTLS is over: from here on, each deadline
        except Exception as exc:
            raise translate(exc, self.server) from None
        self._client = client
        if self.attach is not None:
            self._attach(self.attach)

    def _attach(self, attach: Attach) -> None:
        """LOGIN (and PRIMARY) on the new socket; upsd's refusal is kept, not raised."""
        try:
            self._call(_expect_ok, f"LOGIN {attach.ups}")
            if attach.primary:
                try:
                    self._call(_expect_ok, f"PRIMARY {attach.ups}")
                except NutError as exc:
                    if exc.code != "UNKNOWN-COMMAND":
                        raise
                    self._call(_expect_ok, f"MASTER {attach.ups}")
        except NutError as exc:
            if not exc.from_upsd:
                raise
            self.attach_error = _refused(exc, attach, self.username)
            return
        self.attached, self.attach_error = True, None

    def close(self) -> None:
        """Say LOGOUT if possible and drop the socket."""
        client, self._client = self._client, None
        self.attached = False
        if client is None:
            return
        sock = client.sock
        try:
            sock.settimeout(0.2)
            sock.sendall(b"LOGOUT\n")
        except OSError:
            pass
        finally:
            sock.close()

    # -- requests ---------------------------------------------------------------------------

    def list_vars(self, ups: str) -> Mapping[str, str]:
        """Every variable of a UPS, exactly as upsd holds it (``LIST VAR``).

        A reply that is the same bytes as the last one for this UPS is neither decoded nor
        parsed again: the same mapping comes back, which tells the tracker at a glance that
        nothing changed. A quiet UPS answers the same, poll after poll (a driver refreshes
        its data every few seconds, readings stay put on line power). The mapping is
        read-only: it is kept, and handed out again, while the reply stays the same.
        """
        block = self._request_block(f"LIST VAR {ups}", f"VAR {ups}")
        last = self._last_reply.get(ups)
        if last is not None and last[0] == block:
            return last[1]
        variables = MappingProxyType(parse_list_block(block.decode("utf-8", "replace"), "VAR", ups))
        self._last_reply[ups] = (block, variables)
        return variables

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
        line = self._call(_ask, f"SET VAR {ups} {var} {quote(value)}")
        if line != "OK":
            raise NutError(PROTOCOL, f"unexpected answer to SET VAR: {line[:80]!r}")

    def instcmd(self, ups: str, command: str, value: str | None = None) -> None:
        """``INSTCMD`` with an optional quoted value; upsd 2.8 may answer ``OK TRACKING <id>``."""
        request = f"INSTCMD {ups} {command}"
        if value is not None:
            request += f" {quote(value)}"
        line = self._call(_ask, request)
        if not line.startswith("OK"):
            raise NutError(PROTOCOL, f"unexpected answer to INSTCMD: {line[:80]!r}")

    def set_fsd(self, ups: str) -> None:
        """``FSD``: mark the UPS forced-shutdown for every host on it (needs PRIMARY)."""
        self._call(_expect_ok, f"FSD {ups}")

    def num_logins(self, ups: str) -> int:
        """How many sessions upsd counts as logged in to the UPS (``GET NUMLOGINS``)."""
        value = self._get("NUMLOGINS", ups, "")
        if not (value.isascii() and value.isdigit()):
            raise NutError(PROTOCOL, f"unexpected NUMLOGINS value: {value[:20]!r}")
        return int(value)

    def list_clients(self, ups: str) -> list[str]:
        """The addresses of the sessions logged in to the UPS (``LIST CLIENT``)."""
        lines = self._request_list(f"LIST CLIENT {ups}", f"CLIENT {ups}")
        clients = []
        for line in lines:
            words = split_line(line)
            if len(words) != 3 or words[:2] != ["CLIENT", ups]:
                raise NutError(PROTOCOL, f"unexpected line in LIST CLIENT: {line[:80]!r}")
            clients.append(words[2])
        return clients

    def _list(self, kind: str, ups: str) -> dict[str, str]:
        block = self._request_block(f"LIST {kind} {ups}", f"{kind} {ups}")
        return parse_list_block(block.decode("utf-8", "replace"), kind, ups)

    def _get(self, kind: str, ups: str, name: str) -> str:
        """``GET kind ups [name]``; the reply repeats the request words and adds the value."""
        asked = [kind, ups, name] if name else [kind, ups]
        line = self._call(_ask, "GET " + " ".join(asked))
        words = split_line(line)
        if len(words) != len(asked) + 1 or words[:-1] != asked:
            raise NutError(PROTOCOL, f"unexpected answer to GET {kind}: {line[:80]!r}")
        return words[-1]

    def _request_list(self, request: str, subject: str) -> list[str]:
        return self._request_block(request, subject).decode("utf-8", "replace").split("\n")[:-1]

    def _request_block(self, request: str, subject: str) -> bytes:
        """The body of a ``LIST`` reply as upsd sent it, one ``\\n``-terminated line per item."""
        line, about = (request + "\n").encode("utf-8"), subject.encode("utf-8")
        return self._call(LineReader.request_block, line, about)

    def _call(
        self, run: Callable[Concatenate[LineReader, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``run(reader, *args)``: one exchange with the session's reader, bounded by
        ``timeout``; a transport failure closes the connection for the next call."""
        if self._client is None:
            self.open()
        assert self._client is not None
        reader = self._client.reader
        reader.deadline = time.monotonic() + self.timeout
        try:
            return run(reader, *args, **kwargs)
        except NutError as exc:
            if not exc.from_upsd:
                self.close()
            raise
        except Exception as exc:
            self.close()
            raise translate(exc, self.server) from None


def _ask(reader: LineReader, request: str) -> str:
    """Send one request line and return the first reply line, raising on ``ERR``."""
    reader.send(request.encode("utf-8") + b"\n")
    reader.await_reply()
    line = reader.readline()
    check_error(line)
    return line


def _expect_ok(reader: LineReader, request: str) -> str:
    """A request upsd answers with ``OK`` and maybe a word (``OK FSD-SET``)."""
    line = _ask(reader, request)
    if line != "OK" and not line.startswith("OK "):
        verb = request.split()[0]
        raise NutError(PROTOCOL, f"unexpected answer to {verb}: {line[:80]!r}")
    return line


def _refused(exc: NutError, attach: Attach, username: str | None) -> NutError:
    """upsd's refusal of LOGIN/PRIMARY, saying which upsd.users line would allow it."""
    role = "primary" if attach.primary else "secondary"
    if exc.code in ("ACCESS-DENIED", "USERNAME-REQUIRED", "PASSWORD-REQUIRED"):
        who = f"[{username}]" if username else "a user (and set username/password_file here)"
        return NutError(
            exc.code,
            f"upsd refused to count this host on {attach.ups} as {role}: add "
            f"`upsmon {role}` under {who} in upsd.users (and check the password)",
        )
    return NutError(exc.code, f"upsd refused to count this host on {attach.ups}: {exc.detail}")


def translate(exc: BaseException, server: Server) -> NutError:
    """Map anything the socket layer or PyNUTClient raised to a NutError, without secrets."""
    if isinstance(exc, NutError):
        return exc
    if isinstance(exc, PyNUTError):
        text = str(exc)
        if text.startswith(STARTTLS_REFUSED):
            answer = text.removeprefix(STARTTLS_REFUSED).strip()[:80] or "nothing"
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
    ssl = loaded_ssl()  # never loaded: no TLS error can have happened
    if ssl is not None and isinstance(exc, ssl.SSLCertVerificationError):
        return NutError(TLS, untrusted(exc, server))
    if ssl is not None and isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return NutError(
            CLOSED,
            f"{server} closed the TLS connection (during the handshake: upsd's log says why)",
        )
    if ssl is not None and isinstance(exc, ssl.SSLError):
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
