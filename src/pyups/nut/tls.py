"""STARTTLS settings for a session with upsd, and why a certificate was refused, in words.

``ssl`` (OpenSSL, about 4 MiB of a process) is loaded only by a session that uses TLS:
most sites talk to an upsd on the same host or LAN in clear text and never pay for it.
:func:`loaded_ssl` is how the rest of ``nut/`` asks about TLS sockets and errors without
loading it: when ``ssl`` was never loaded, no socket is a TLS one and no error is a TLS error.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from pyups.address import Server
from pyups.nut.errors import TLS, NutError

if TYPE_CHECKING:
    import ssl


def loaded_ssl() -> ModuleType | None:
    """The ``ssl`` module if this process has loaded it, else None (and none is loaded)."""
    return sys.modules.get("ssl")


@dataclass(frozen=True, slots=True)
class Tls:
    """STARTTLS to upsd: verify its certificate and host name against ``ca_file`` (a PEM file;
    None: the system's CAs), or, with ``verify`` off, encrypt without checking who answers."""

    ca_file: str | None = None
    verify: bool = True

    def context(self) -> ssl.SSLContext:
        """A client context for these settings; NutError(TLS) when ca_file cannot be used."""
        import ssl

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


# OpenSSL's X509_V_ERR_* codes for the certificate problems a person can fix.
_NOT_YET_VALID, _EXPIRED = 9, 10
_UNKNOWN_ISSUER = (18, 19, 20, 21)  # self-signed, self-signed in chain, issuer not found
_NAME_MISMATCH = (62, 64)  # host name, IP address


def untrusted(exc: ssl.SSLCertVerificationError, server: Server) -> str:
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
