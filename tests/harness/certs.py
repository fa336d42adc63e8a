"""Certificates for a upsd serving STARTTLS, and a simulated upsd that serves it.

Debian builds upsd with NSS, so it reads its key and certificate from an NSS database
(``CERTPATH``/``CERTIDENT`` in upsd.conf), made here with NSS's ``certutil`` (Debian's
libnss3-tools): a self-signed CA and a server certificate for the listening address and
``localhost`` signed by it. The CA is exported as PEM to ``ca_file``, which is what a client
verifies upsd with.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyups.sim import NutServer, SimulatorError

CERTUTIL_HINT = "install NSS's certutil with: sudo apt-get install libnss3-tools"


@dataclass(frozen=True)
class Certificates:
    """An NSS database holding a CA and a server certificate signed by it, for upsd.

    ``nickname`` and ``password`` are what upsd.conf's ``CERTIDENT`` names; ``ca_file`` is the
    CA certificate in PEM, for clients.
    """

    database: Path
    nickname: str
    password: str
    ca_file: Path


def make_certificates(
    directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"), name: str = "pyups"
) -> Certificates:
    """A fresh CA and a server certificate for ``hosts`` in ``directory`` (made if needed).

    The recipe (``certutil`` from libnss3-tools)::

        certutil -N -d sql:DB -f PWFILE
        certutil -S -x -d sql:DB -f PWFILE -z NOISE -n CA -s "CN=pyups test CA RANDOM" \\
            -t CT,C,C -m SERIAL -v 12 -2 --keyUsage certSigning,crlSigning
            # -2 asks three questions, answered on stdin: y (a CA), -1 (no path length), y
        certutil -S -d sql:DB -f PWFILE -z NOISE -n upsd -c CA -s CN=127.0.0.1 -t u,u,u \\
            -m SERIAL -v 12 --extSAN ip:127.0.0.1,dns:localhost \\
            --keyUsage digitalSignature,keyEncipherment --extKeyUsage serverAuth
        certutil -L -d sql:DB -n CA -a > ca.pem

    upsd.conf then says ``CERTPATH DB`` and ``CERTIDENT "upsd" "PASSWORD"``. Every CA gets
    its own name and every certificate a random serial, so two CAs made here never pass for
    one another.
    """
    certutil = shutil.which("certutil")
    if certutil is None:
        raise SimulatorError(f"certutil not found; {CERTUTIL_HINT}")
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "nssdb"
    database.mkdir(mode=0o700, exist_ok=True)
    password = secrets.token_hex(12)
    pwfile, noise = directory / "nss-password", directory / "nss-noise"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    noise.write_bytes(secrets.token_bytes(64))
    noise.chmod(0o600)
    db = ["-d", f"sql:{database}", "-f", str(pwfile), "-z", str(noise)]
    san = ",".join(f"ip:{h}" if _is_ip(h) else f"dns:{h}" for h in dict.fromkeys(hosts))

    def run(*args: str, answers: str = "") -> str:
        done = subprocess.run(
            [certutil, *args], input=answers, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            why = (done.stderr or done.stdout).strip().splitlines()
            raise SimulatorError(
                f"certutil {args[0]} failed: {why[-1] if why else done.returncode}"
            )
        return done.stdout

    run("-N", "-d", f"sql:{database}", "-f", str(pwfile))
    run(
        "-S", "-x", *db, "-n", "CA", "-s", f"CN={name} test CA {secrets.token_hex(4)},O=pyups",
        "-t", "CT,C,C",
        "-m", str(secrets.randbelow(2**31) + 1), "-v", "12", "-2",
        "--keyUsage", "certSigning,crlSigning", answers="y\n-1\ny\n",
    )  # fmt: skip
    run(
        "-S", *db, "-n", "upsd", "-c", "CA", "-s", f"CN={hosts[0]},O=pyups", "-t", "u,u,u",
        "-m", str(secrets.randbelow(2**31) + 1), "-v", "12", "--extSAN", san,
        "--keyUsage", "digitalSignature,keyEncipherment", "--extKeyUsage", "serverAuth",
    )  # fmt: skip
    ca_file = directory / "ca.pem"
    ca_file.write_text(run("-L", "-d", f"sql:{database}", "-n", "CA", "-a"))
    return Certificates(database, "upsd", password, ca_file)


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


class TlsNutServer(NutServer):
    """A simulated upsd that also serves STARTTLS, with a certificate made for it.

    ``certificate_names`` are what the certificate is valid for: by default the listening
    address, 127.0.0.1 and localhost. The other arguments are :class:`NutServer`'s.
    ``ca_file`` is the CA that signed the certificate, in PEM, for clients.
    """

    def __init__(self, *args: Any, certificate_names: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = certificate_names or (self.server.host, "127.0.0.1", "localhost")
        try:
            self.certificates = make_certificates(self.workdir / "tls", names)
        except BaseException:
            self.stop()  # removes the work directory NutServer made
            raise
        self.ca_file = self.certificates.ca_file

    def upsd_conf(self) -> str:
        certs = self.certificates
        return super().upsd_conf() + (
            f"CERTPATH {certs.database}\n"
            f'CERTIDENT "{certs.nickname}" "{certs.password}"\n'
            "DISABLE_WEAK_SSL true\n"
        )
