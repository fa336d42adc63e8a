"""The one exception pyups.nut raises, and upsd's error codes in words."""

from __future__ import annotations

# Codes pyups adds for failures that never reached upsd's ERR reply.
CONNECT = "CONNECT"
TIMEOUT = "TIMEOUT"
CLOSED = "CLOSED"
PROTOCOL = "PROTOCOL"
TLS = "TLS"
WAIT = "WAIT"

# upsd's ERR codes (docs/net-protocol.txt) and ours, as a sentence saying what to do.
DESCRIPTIONS = {
    "ACCESS-DENIED": "upsd refused access: the user lacks the permission in upsd.users",
    "UNKNOWN-UPS": "upsd does not know this UPS name (see `pyups list HOST`)",
    "VAR-NOT-SUPPORTED": "the UPS does not report this variable",
    "CMD-NOT-SUPPORTED": "the UPS does not support this instant command",
    "INVALID-ARGUMENT": "upsd rejected an argument",
    "INSTCMD-FAILED": "the driver could not run the command",
    "SET-FAILED": "the driver could not set the variable",
    "READONLY": "this variable is read-only",
    "TOO-LONG": "the value is too long for this variable",
    "FEATURE-NOT-SUPPORTED": "upsd does not support this feature (e.g. TLS not configured)",
    "FEATURE-NOT-CONFIGURED": "this feature is not configured on upsd",
    "ALREADY-SSL-MODE": "the connection is already in TLS mode",
    "DRIVER-NOT-CONNECTED": "the driver is not running; start it with `upsdrvctl start`",
    "DATA-STALE": "the driver stopped updating (data stale); check the UPS cable and the driver",
    "ALREADY-LOGGED-IN": "already logged in to this UPS",
    "INVALID-PASSWORD": "wrong password for this user (see upsd.users)",
    "ALREADY-SET-PASSWORD": "password already sent on this connection",
    "INVALID-USERNAME": "unknown user (see upsd.users)",
    "ALREADY-SET-USERNAME": "user name already sent on this connection",
    "USERNAME-REQUIRED": "upsd requires a user name for this",
    "PASSWORD-REQUIRED": "upsd requires a password for this",
    "UNKNOWN-COMMAND": "upsd does not understand the request",
    "INVALID-VALUE": "the value is not valid for this variable",
    CONNECT: "cannot connect to upsd",
    TIMEOUT: "upsd did not answer in time",
    CLOSED: "upsd closed the connection",
    PROTOCOL: "upsd sent a reply pyups does not understand",
    TLS: "no TLS session with upsd: it does not offer STARTTLS or its certificate was not trusted",
    WAIT: "upsd has no data from the driver yet (status WAIT); is the driver starting?",
}


class NutError(Exception):
    """A failed exchange with upsd: ``code`` is upsd's ERR code or one of pyups' codes above.

    ``detail`` is a sentence for humans. Neither ever contains a password.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail or DESCRIPTIONS.get(code, f"upsd answered ERR {code}")
        super().__init__(f"{self.code}: {self.detail}")

    @property
    def from_upsd(self) -> bool:
        """True for an ``ERR`` reply, after which the connection is still usable."""
        return self.code not in (CONNECT, TIMEOUT, CLOSED, PROTOCOL, TLS)
