"""NUT's address syntax: ``UPS[@HOST[:PORT]]`` and ``HOST[:PORT]``, IPv6 as ``[::1]:3493``."""

from __future__ import annotations

import re
from typing import NamedTuple

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 3493

UPS_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")  # what upsd accepts in ups.conf section names
_HOST = re.compile(r"^[A-Za-z0-9_.-]+$")


class AddressError(ValueError):
    """An address that does not follow NUT's syntax."""


class Server(NamedTuple):
    """One upsd endpoint.

    Server and :class:`UpsAddress` are named tuples, not dataclasses: they key the per-UPS
    dicts that every poll looks up, and a tuple hashes in C where a dataclass runs its
    Python ``__hash__`` (twice for an address: its own and its server's).
    """

    host: str
    port: int = DEFAULT_PORT

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class UpsAddress(NamedTuple):
    """A UPS as upsd names it, on one server: the identity of a UPS throughout pyups.

    Everything kept per UPS (credentials, TLS settings, tracker states, metrics) is keyed by
    it; ``str()`` gives ``name@host:port``, the form logs and the state file use.
    """

    name: str
    server: Server

    def __str__(self) -> str:
        return f"{self.name}@{self.server}"


def parse_server(text: str) -> Server:
    """``HOST[:PORT]`` or ``[IPV6][:PORT]``; host defaults to localhost, port to 3493."""
    text = text.strip()
    if not text:
        return Server(DEFAULT_HOST)
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise AddressError(f"{text!r}: unclosed '[' in IPv6 address (write [::1]:3493)")
        host, rest = text[1:end], text[end + 1 :]
        if not host:
            raise AddressError(f"{text!r}: empty IPv6 address")
        if rest and not rest.startswith(":"):
            raise AddressError(f"{text!r}: expected ':PORT' after ']'")
        if rest == ":":
            raise AddressError(f"{text!r}: missing port after ':'")
        port_text = rest[1:] if rest else ""
    else:
        if text.count(":") > 1:
            raise AddressError(f"{text!r}: write IPv6 addresses in brackets, e.g. [::1]:3493")
        host, _, port_text = text.partition(":")
        if not host:
            raise AddressError(f"{text!r}: missing host name")
        if not _HOST.match(host):
            raise AddressError(f"{text!r}: {host!r} is not a valid host name")
        if ":" in text and not port_text:
            raise AddressError(f"{text!r}: missing port after ':'")
    return Server(host, _parse_port(text, port_text) if port_text else DEFAULT_PORT)


def parse_ups(text: str) -> UpsAddress:
    """``UPS[@HOST[:PORT]]`` as upsc takes it."""
    name, at, server = text.strip().partition("@")
    if not name:
        raise AddressError(
            f"{text!r}: missing UPS name (write UPS@HOST[:PORT], e.g. eaton800@localhost)"
        )
    if not UPS_NAME.match(name):
        raise AddressError(f"{text!r}: {name!r} is not a valid UPS name")
    if at and not server:
        raise AddressError(f"{text!r}: missing host after '@'")
    return UpsAddress(name, parse_server(server) if at else Server(DEFAULT_HOST))


def _parse_port(text: str, port_text: str) -> int:
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise AddressError(f"{text!r}: port {port_text!r} must be a number from 1 to 65535")
    return int(port_text)
