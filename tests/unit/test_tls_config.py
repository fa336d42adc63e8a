"""TLS settings: the [[ups]] keys, the CLI options, and how TLS failures are put in words."""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

import pytest
from PyNUTClient.PyNUT import PyNUTError

from pyups.address import Server
from pyups.cli import build_parser
from pyups.commands.common import Failure
from pyups.commands.explain import Request, explain
from pyups.commands.upsd import tls_settings
from pyups.config import ConfigError, UpsConfig, config_from_text, load_config
from pyups.nut.errors import DESCRIPTIONS, TLS, NutError
from pyups.nut.session import Connection, translate
from pyups.nut.tls import Tls

SERVER = Server("ups.lan", 3493)
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def errors_of(text: str, source: str = "test.conf") -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_text(text, source)
    return info.value.errors


# --- the configuration ----------------------------------------------------------------------


def test_tls_is_off_by_default_and_verifies_when_on() -> None:
    (ups,) = config_from_text('[[ups]]\nname = "a"\n').ups
    assert (ups.tls, ups.ca_file, ups.tls_verify) == (False, None, True)
    (ups,) = config_from_text('[[ups]]\nname = "a"\ntls = true\n').ups
    assert (ups.tls, ups.ca_file, ups.tls_verify) == (True, None, True)


def test_a_relative_ca_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "upsd-ca.pem").write_text(PEM)
    config = tmp_path / "pyups.conf"
    config.write_text('[[ups]]\nname = "a"\ntls = true\nca_file = "upsd-ca.pem"\n')
    config.chmod(0o600)
    (ups,) = load_config(str(config)).ups
    assert ups.ca_file == str(tmp_path / "upsd-ca.pem")
    assert ups == UpsConfig("a", tls=True, ca_file=str(tmp_path / "upsd-ca.pem"))


def test_an_absolute_ca_file_and_tls_verify_false_are_kept(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(PEM)
    text = f'[[ups]]\nname = "a"\ntls = true\nca_file = "{ca}"\ntls_verify = false\n'
    (ups,) = config_from_text(text, "/elsewhere/pyups.conf").ups
    assert (ups.ca_file, ups.tls_verify) == (str(ca), False)


@pytest.mark.parametrize("tls", ["", "tls = false\n"])
def test_ca_file_and_tls_verify_without_tls_say_to_add_tls_true(tmp_path: Path, tls: str) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(PEM)
    text = f'[[ups]]\nname = "a"\n{tls}ca_file = "{ca}"\ntls_verify = false\n'
    line = 3 + bool(tls)
    assert errors_of(text) == [
        f"test.conf:{line}: ups[0].ca_file: ca_file only applies to TLS connections; "
        "add tls = true to this [[ups]] (or remove ca_file)",
        f"test.conf:{line + 1}: ups[0].tls_verify: tls_verify only applies to TLS connections; "
        "add tls = true to this [[ups]] (or remove tls_verify)",
    ]


def test_a_missing_ca_file_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    text = '[[ups]]\nname = "a"\ntls = true\nca_file = "missing.pem"\n'
    assert errors_of(text, str(tmp_path / "pyups.conf")) == [
        f"{tmp_path}/pyups.conf:4: ups[0].ca_file: cannot read {tmp_path}/missing.pem: "
        "No such file or directory; export upsd's CA there (certutil -L -d DB -n NICKNAME -a) "
        "or fix the path"
    ]


def test_a_ca_file_that_is_not_pem_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "ca.der").write_bytes(b"\x30\x82\x01\x0a binary")
    text = '[[ups]]\nname = "a"\ntls = true\nca_file = "ca.der"\n'
    assert errors_of(text, str(tmp_path / "pyups.conf")) == [
        f"{tmp_path}/pyups.conf:4: ups[0].ca_file: {tmp_path}/ca.der is not a PEM certificate "
        "(no -----BEGIN CERTIFICATE----- line); export the CA with certutil's -a option"
    ]


def test_tls_keys_must_be_booleans_and_a_bad_one_is_reported_once() -> None:
    errors = errors_of('[[ups]]\nname = "a"\ntls = "yes"\ntls_verify = 0\n')
    assert errors == [
        'test.conf:3: ups[0].tls: "yes" is not a boolean; write true or false (no quotes)',
        "test.conf:4: ups[0].tls_verify: 0 is not a boolean; write true or false (no quotes)",
    ]


# --- the command line -----------------------------------------------------------------------


def args_of(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["status", "eaton800", *argv])


def test_tls_options_make_the_settings() -> None:
    assert tls_settings(args_of()) is None
    assert tls_settings(args_of("--tls")) == Tls(None, True)
    assert tls_settings(args_of("--tls", "--ca-file", "ca.pem")) == Tls("ca.pem", True)
    assert tls_settings(args_of("--tls", "--no-verify")) == Tls(None, False)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("--ca-file", "ca.pem"), "--ca-file only applies with --tls; add --tls"),
        (("--no-verify",), "--no-verify only applies with --tls; add --tls"),
        (
            ("--ca-file", "x", "--no-verify"),
            "--ca-file and --no-verify only apply with --tls; add --tls",
        ),
    ],
)
def test_tls_options_without_tls_are_a_usage_error(argv: tuple[str, ...], says: str) -> None:
    with pytest.raises(Failure) as info:
        tls_settings(args_of(*argv))
    assert (str(info.value), info.value.code) == (says, 2)


def test_the_config_entry_gives_tls_unless_the_options_do() -> None:
    entry = UpsConfig("eaton800", tls=True, ca_file="/etc/pyups/upsd-ca.pem")
    assert tls_settings(args_of(), lambda: entry) == Tls("/etc/pyups/upsd-ca.pem", True)
    assert tls_settings(args_of(), lambda: UpsConfig("eaton800")) is None
    assert tls_settings(args_of(), lambda: None) is None
    assert tls_settings(args_of("--tls", "--no-verify"), lambda: entry) == Tls(None, False)


# --- the settings as an ssl context ---------------------------------------------------------


def test_verify_off_turns_off_both_the_chain_and_the_host_name_check() -> None:
    context = Tls(verify=False).context()
    assert (context.check_hostname, context.verify_mode) == (False, ssl.CERT_NONE)
    context = Tls().context()
    assert (context.check_hostname, context.verify_mode) == (True, ssl.CERT_REQUIRED)


def test_an_unusable_ca_file_is_a_tls_error(tmp_path: Path) -> None:
    with pytest.raises(NutError) as info:
        Tls(str(tmp_path / "none.pem")).context()
    assert (info.value.code, info.value.detail) == (
        TLS,
        f"cannot use the CA file {tmp_path}/none.pem: No such file or directory; "
        "fix ca_file (--ca-file)",
    )
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    with pytest.raises(NutError) as info:
        Tls(str(tmp_path / "junk.pem")).context()
    assert "it holds no PEM certificate" in info.value.detail


def test_connection_repr_shows_tls_but_never_the_password() -> None:
    conn = Connection(SERVER, 1.0, "admin", "canary-s3cret", Tls("/ca.pem"))
    assert repr(conn) == (
        "Connection(ups.lan:3493, user='admin', tls=Tls(ca_file='/ca.pem', verify=True))"
    )
    assert not conn.encrypted


# --- translate() ----------------------------------------------------------------------------


def verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    exc.verify_code, exc.verify_message, exc.reason = code, message, "CERTIFICATE_VERIFY_FAILED"
    return exc


def test_a_refused_starttls_is_a_tls_error_never_a_downgrade() -> None:
    exc = PyNUTError("STARTTLS failed but SSL is required: ERR FEATURE-NOT-CONFIGURED")
    error = translate(exc, SERVER)
    assert (error.code, error.detail) == (
        TLS,
        "upsd at ups.lan:3493 does not offer TLS (it answered ERR FEATURE-NOT-CONFIGURED); "
        "configure CERTFILE or CERTPATH and CERTIDENT in upsd.conf, or set tls = false",
    )
    assert not error.from_upsd  # the connection is dropped, not reused in clear text


def test_an_old_upsd_that_does_not_know_starttls_is_named_by_its_answer() -> None:
    error = translate(
        PyNUTError("STARTTLS failed but SSL is required: ERR UNKNOWN-COMMAND"), SERVER
    )
    assert error.code == TLS
    assert "(it answered ERR UNKNOWN-COMMAND)" in error.detail


@pytest.mark.parametrize(
    ("code", "message", "says"),
    [
        (
            19,
            "self-signed certificate in certificate chain",
            "upsd's certificate is not signed by a CA pyups trusts (self-signed certificate in "
            "certificate chain); set ca_file (--ca-file) to the CA that signed it, e.g. "
            "exported with certutil -L -n CA -a",
        ),
        (
            20,
            "unable to get local issuer certificate",
            "upsd's certificate is not signed by a CA pyups trusts (unable to get local issuer "
            "certificate); set ca_file (--ca-file) to the CA that signed it, e.g. exported "
            "with certutil -L -n CA -a",
        ),
        (
            62,
            "Hostname mismatch, certificate is not valid for 'ups.lan'.",
            "upsd's certificate is not valid for ups.lan (Hostname mismatch, certificate is "
            "not valid for 'ups.lan'); use a name or address its subjectAltName lists, or set "
            "tls_verify = false (--no-verify)",
        ),
        (
            10,
            "certificate has expired",
            "upsd's certificate has expired; renew it in upsd's certificate store",
        ),
        (
            9,
            "certificate is not yet valid",
            "upsd's certificate is not valid yet; check both hosts' clocks",
        ),
        (
            7,
            "certificate signature failure",
            "cannot verify upsd's certificate (certificate signature failure); check ca_file "
            "(--ca-file)",
        ),
    ],
)
def test_certificate_failures_name_the_reason_and_what_to_do(
    code: int, message: str, says: str
) -> None:
    error = translate(verify_error(code, message), SERVER)
    assert (error.code, error.detail) == (TLS, says)
    assert "\n" not in error.detail


def test_other_tls_failures_name_the_openssl_reason() -> None:
    exc = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    exc.reason = "WRONG_VERSION_NUMBER"
    error = translate(exc, SERVER)
    assert (error.code, error.detail) == (
        TLS,
        "TLS with upsd at ups.lan:3493 failed (WRONG_VERSION_NUMBER); upsd's log says why "
        "(its CERTPATH/CERTIDENT or CERTFILE in upsd.conf)",
    )


def test_a_tls_session_cut_short_is_closed() -> None:
    error = translate(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), SERVER)
    assert error.code == "CLOSED"
    assert error.detail.startswith("ups.lan:3493 closed the TLS connection")


def test_tls_errors_are_explained_as_they_are_and_close_the_connection() -> None:
    error = translate(verify_error(20, "unable to get local issuer certificate"), SERVER)
    request = Request("status", SERVER, "eaton800")
    assert explain(error, request) == f"eaton800@ups.lan:3493: {error.detail}"
    assert TLS in DESCRIPTIONS
    assert not NutError(TLS).from_upsd
