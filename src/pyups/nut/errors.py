"""The one exception pyups.nut raises, and upsd's error codes in words."""

from __future__ import annotations

from dataclasses import dataclass

# Codes pyups adds for failures that never reached upsd's ERR reply.
CONNECT = "CONNECT"
TIMEOUT = "TIMEOUT"
CLOSED = "CLOSED"
PROTOCOL = "PROTOCOL"
TLS = "TLS"
WAIT = "WAIT"


@dataclass(frozen=True, slots=True)
class Advice:
    """One error code in words: what went wrong and what to do about it.

    ``detail`` is the sentence for when all that is known is the code: the COMMBAD reason of
    a failed poll, the outcome of an action. ``asked`` says it to a person who asked for
    something at a shell (``pyups status``, ``pyups cmd``), filled in with what was asked:
    {code} {ups} {user} {login} {name} {target} {server} {timeout} {detail}, and the facts
    the CLI looks up: {declared} {offered} {similar} {grant} {password}; without it the
    person reads ``detail`` with the code. ``configured`` is for an action logging in with
    the ``[[ups]]`` entry's credentials: {user} {name}.
    """

    what: str
    todo: str = ""
    asked: str | None = None
    configured: str | None = None

    @property
    def detail(self) -> str:
        return f"{self.what}; {self.todo}" if self.todo else self.what


# upsd's ERR codes (docs/net-protocol.txt) and ours: the one place each is put into words.
ADVICE = {
    "ACCESS-DENIED": Advice(
        "upsd refused access",
        "it does not accept this client's address or user (upsd.conf LISTEN, upsd.users)",
        asked=(
            "upsd refused user {login!r} (ACCESS-DENIED): the password is wrong, or upsd.users "
            "does not give [{login}] {grant}; reload upsd after changing it (upsd -c reload)"
        ),
        configured=(
            "user {user!r} has a wrong password or lacks `instcmds = {name}` (or ALL) in upsd.users"
        ),
    ),
    "UNKNOWN-UPS": Advice(
        "upsd does not know this UPS name (see `pyups list HOST`)",
        asked="upsd has no UPS named {ups!r} (UNKNOWN-UPS); {declared}",
    ),
    "VAR-NOT-SUPPORTED": Advice(
        "the UPS does not report this variable",
        asked="no variable {name!r} on this UPS (VAR-NOT-SUPPORTED); {similar}",
    ),
    "CMD-NOT-SUPPORTED": Advice(
        "the UPS does not support this instant command",
        asked="no instant command {name!r} on this UPS (CMD-NOT-SUPPORTED); {offered}",
    ),
    "INVALID-ARGUMENT": Advice(
        "upsd rejected an argument",
        asked="upsd rejected the request's arguments (INVALID-ARGUMENT); check {name!r}",
    ),
    "INSTCMD-FAILED": Advice(
        "the driver could not run the command",
        asked=(
            "upsd accepted it but the driver could not run {name} (INSTCMD-FAILED); "
            "the driver's log says why (journalctl -u nut-driver@{ups})"
        ),
    ),
    "SET-FAILED": Advice(
        "the driver could not set the variable",
        asked=(
            "upsd accepted it but the driver could not set {name} (SET-FAILED); "
            "the driver's log says why (journalctl -u nut-driver@{ups})"
        ),
    ),
    "READONLY": Advice(
        "this variable is read-only",
        asked="{name} is read-only (READONLY); `upsrw {target}` lists the writable ones",
    ),
    "TOO-LONG": Advice(
        "the value is too long for this variable",
        asked="the value is too long for {name} (TOO-LONG); `upsrw {target}` shows the limit",
    ),
    "FEATURE-NOT-SUPPORTED": Advice(
        "upsd does not support this feature (e.g. TLS not configured)",
        asked="upsd: {detail} ({code}); for TLS see CERTFILE in upsd.conf",
    ),
    "FEATURE-NOT-CONFIGURED": Advice(
        "this feature is not configured on upsd",
        asked="upsd: {detail} ({code}); for TLS see CERTFILE in upsd.conf",
    ),
    "ALREADY-SSL-MODE": Advice("the connection is already in TLS mode"),
    "DRIVER-NOT-CONNECTED": Advice(
        "the driver is not running",
        "start it with `upsdrvctl start`",
        asked=(
            "the UPS driver is not running (DRIVER-NOT-CONNECTED); start it with "
            "`upsdrvctl start {ups}` (systemd: `systemctl start nut-driver@{ups}`)"
        ),
    ),
    "DATA-STALE": Advice(
        "the driver stopped updating (data stale)",
        "check the UPS cable and the driver",
        asked=(
            "the UPS driver has stopped sending fresh data (DATA-STALE); check the UPS's "
            "cable, then restart the driver: `upsdrvctl stop {ups}; upsdrvctl start {ups}`"
        ),
    ),
    "ALREADY-LOGGED-IN": Advice("already logged in to this UPS"),
    "INVALID-PASSWORD": Advice(
        "wrong password for this user (see upsd.users)",
        asked="upsd rejected the password for user {user!r} (INVALID-PASSWORD); {password}",
    ),
    "ALREADY-SET-PASSWORD": Advice("password already sent on this connection"),
    "INVALID-USERNAME": Advice(
        "unknown user (see upsd.users)",
        asked="upsd.users has no user {user!r} (INVALID-USERNAME); check -u or username",
    ),
    "ALREADY-SET-USERNAME": Advice("user name already sent on this connection"),
    "USERNAME-REQUIRED": Advice(
        "upsd requires a user name for this",
        asked="upsd wants a user and password for this ({code}); pass -u USER ({password})",
        configured="no username is configured for this UPS; set username and password in [[ups]]",
    ),
    "PASSWORD-REQUIRED": Advice(
        "upsd requires a password for this",
        asked="upsd wants a user and password for this ({code}); pass -u USER ({password})",
    ),
    "UNKNOWN-COMMAND": Advice(
        "upsd does not understand the request",
        asked="upsd did not understand the request (UNKNOWN-COMMAND); is it NUT 2.8 or newer?",
    ),
    "INVALID-VALUE": Advice(
        "the value is not valid for this variable",
        asked=(
            "upsd refused that value for {name} (INVALID-VALUE); `upsrw {target}` shows "
            "its type and allowed values"
        ),
    ),
    CONNECT: Advice("cannot connect to upsd", asked="{detail}"),
    TIMEOUT: Advice(
        "upsd did not answer in time",
        asked=(
            "no answer within {timeout:g} s; is upsd hung, or a firewall dropping packets? "
            "(--timeout waits longer)"
        ),
    ),
    CLOSED: Advice(
        "upsd closed the connection",
        asked=(
            "upsd closed the connection; its log says why "
            "(journalctl -u nut-server, or syslog on hosts without systemd)"
        ),
    ),
    PROTOCOL: Advice(
        "upsd sent a reply pyups does not understand",
        asked="{detail}; is this really upsd (default port 3493)?",
    ),
    TLS: Advice(
        "no TLS session with upsd: it does not offer STARTTLS or its certificate was not trusted",
        asked="{detail}",
    ),
    WAIT: Advice(
        "upsd has no data from the driver yet (status WAIT)",
        "is the driver starting?",
        asked="upsd has no data from the driver yet (WAIT); try again in a few seconds",
    ),
}
DESCRIPTIONS = {code: advice.detail for code, advice in ADVICE.items()}


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
