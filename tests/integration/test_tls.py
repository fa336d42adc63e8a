"""TLS to a real upsd 2.8.0 (STARTTLS, NSS certificate database) and the no-downgrade rule.

The harness's ``TlsNutServer`` (a simulated upsd) serves STARTTLS with a certificate for
127.0.0.1 and localhost signed by its own CA (``nut.ca_file``). upsd logs ``SSL handshake done
successfully with client ...`` for every TLS session, which proves a session really was
encrypted; the same settings against a plain upsd must fail, never fall back to clear text.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyups.address import UpsAddress
from pyups.core.events import Event
from pyups.core.rules import ActionRequest, InstcmdAction
from pyups.nut import Connection, NutError, poll
from pyups.nut.tls import Tls
from pyups.sim import NutServer
from tests.harness.certs import TlsNutServer, make_certificates
from tests.harness.config import write_config
from tests.harness.dispatch import dispatched
from tests.harness.pyups import Entry, Pyups, cli
from tests.harness.wait import repeat_until

Start = Callable[..., Pyups]
HANDSHAKE = "SSL handshake done successfully"


@pytest.fixture(scope="module")
def tls_upsd() -> Iterator[TlsNutServer]:
    """One upsd serving STARTTLS; the tests leave its UPS as they found it.

    upsd's default MAXAGE (15 s): these tests need no DATA-STALE, and a short one gives it
    on a busy host while the module runs.
    """
    with TlsNutServer() as server:
        yield server


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CA that did not sign upsd's certificate."""
    return str(make_certificates(tmp_path_factory.mktemp("other-ca")).ca_file)


def handshakes(nut: NutServer) -> int:
    return (nut.workdir / "upsd.log").read_text(errors="replace").count(HANDSHAKE)


def tls_config(tmp_path: Path, nut: NutServer, ups: str = "", rules: str = "") -> str:
    """A config watching ``nut``'s eaton800 with ``ups`` (TOML lines) added to its [[ups]]."""
    return write_config(tmp_path, nut, rules, ups=ups, timeout='"2s"')


def login(tmp_path: Path, nut: NutServer) -> str:
    (tmp_path / "admin.secret").write_text(nut.admin_password + "\n")
    (tmp_path / "admin.secret").chmod(0o600)
    return f'username = "{nut.admin_user}"\npassword_file = "admin.secret"\n'


def tls_commbad(pyups: Start, config: str) -> tuple[Pyups, Entry]:
    """``pyups run -c config`` and its COMMBAD entry, whose reason must be TLS."""
    run = pyups("run", "-c", config)
    commbad = run.wait_event("COMMBAD")
    assert commbad["PYUPS_REASON"] == "TLS"
    return run, commbad


def openssl_mapped(pid: int) -> bool:
    """Whether the process has OpenSSL's libraries mapped."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return "/libssl.so" in maps or "/libcrypto.so" in maps


def never(run: Pyups, event: str, seconds: float) -> None:
    """``event`` is not logged for ``seconds`` (several polls at 0.3 s)."""
    time.sleep(seconds)
    assert event not in run.events()


# --- the adapter ----------------------------------------------------------------------------


def test_a_tls_connection_is_encrypted_and_upsd_logs_the_handshake(tls_upsd: TlsNutServer) -> None:
    before = handshakes(tls_upsd)
    conn = Connection(tls_upsd.server, 5.0, tls=Tls(str(tls_upsd.ca_file)))
    try:
        variables = conn.list_vars("eaton800")
        assert conn.encrypted
    finally:
        conn.close()
    assert variables["ups.mfr"] == "EATON"
    assert variables["ups.status"] == "OL CHRG"
    repeat_until(lambda: handshakes(tls_upsd), lambda count: count > before, 5)
    assert handshakes(tls_upsd) == before + 1


def test_list_var_over_tls_is_not_stalled_by_delayed_acks(tls_upsd: TlsNutServer) -> None:
    """upsd sends each reply line as its own TLS record: without TCP_QUICKACK set after each
    request, each LIST VAR stalls ~44 ms (Nagle + delayed ACK) as it does in clear text."""
    conn = Connection(tls_upsd.server, 5.0, tls=Tls(str(tls_upsd.ca_file)))
    try:
        conn.list_vars("eaton800")
        times = []
        for _ in range(15):
            started = time.perf_counter()
            conn.list_vars("eaton800")
            times.append(time.perf_counter() - started)
    finally:
        conn.close()
    assert statistics.median(times) < 0.020, times


def test_without_tls_the_same_upsd_still_talks_in_clear_text(tls_upsd: TlsNutServer) -> None:
    conn = Connection(tls_upsd.server, 5.0)
    try:
        assert conn.list_vars("eaton800")["ups.status"] == "OL CHRG"
        assert not conn.encrypted
    finally:
        conn.close()


def test_tls_to_a_plain_upsd_is_a_tls_error_and_the_password_is_never_sent(
    nut: NutServer, tls_upsd: TlsNutServer
) -> None:
    conn = Connection(
        nut.server, 5.0, nut.admin_user, nut.admin_password, Tls(str(tls_upsd.ca_file))
    )
    with pytest.raises(NutError) as info:
        conn.list_vars("eaton800")
    assert info.value.code == "TLS"
    assert info.value.detail == (
        f"upsd at {nut.server} does not offer TLS (it answered ERR FEATURE-NOT-CONFIGURED); "
        "configure CERTFILE or CERTPATH and CERTIDENT in upsd.conf, or set tls = false"
    )
    assert not conn.connected
    assert nut.admin_password not in str(info.value)
    snap = poll(conn, "eaton800", 0.0)
    assert (snap.error, snap.vars) == ("TLS", {})


def test_a_certificate_from_an_unknown_ca_is_refused_with_the_reason(
    tls_upsd: TlsNutServer, other_ca: str
) -> None:
    for tls in (Tls(other_ca), Tls()):  # another CA, then the system's CAs
        conn = Connection(tls_upsd.server, 5.0, tls_upsd.admin_user, tls_upsd.admin_password, tls)
        with pytest.raises(NutError) as info:
            conn.list_vars("eaton800")
        assert info.value.code == "TLS"
        assert info.value.detail.startswith("upsd's certificate is not signed by a CA pyups trusts")
        assert "set ca_file (--ca-file)" in info.value.detail
        assert tls_upsd.admin_password not in str(info.value)


def test_a_certificate_for_another_name_is_refused_unless_verify_is_off() -> None:
    with TlsNutServer(certificate_names=("ups.example.com",)) as nut:
        conn = Connection(nut.server, 5.0, tls=Tls(str(nut.ca_file)))
        with pytest.raises(NutError) as info:
            conn.list_vars("eaton800")
        assert info.value.code == "TLS"
        assert info.value.detail.startswith(
            "upsd's certificate is not valid for 127.0.0.1 (IP address mismatch, certificate "
            "is not valid for '127.0.0.1'); use a name or address its subjectAltName lists"
        )
        assert info.value.detail.endswith("or set tls_verify = false (--no-verify)")
        unchecked = Connection(nut.server, 5.0, tls=Tls(str(nut.ca_file), verify=False))
        try:
            assert unchecked.list_vars("eaton800")["ups.status"] == "OL CHRG"
        finally:
            unchecked.close()


def test_tls_verify_off_encrypts_without_checking_the_certificate(tls_upsd: TlsNutServer) -> None:
    conn = Connection(tls_upsd.server, 5.0, tls=Tls(verify=False))
    try:
        assert conn.list_vars("eaton800")["ups.status"] == "OL CHRG"
        assert conn.encrypted
    finally:
        conn.close()


def test_a_missing_ca_file_is_a_tls_error_naming_the_file(tls_upsd: TlsNutServer) -> None:
    conn = Connection(tls_upsd.server, 5.0, tls=Tls("/nonexistent/upsd-ca.pem"))
    with pytest.raises(NutError) as info:
        conn.list_vars("eaton800")
    assert (info.value.code, info.value.detail) == (
        "TLS",
        "cannot use the CA file /nonexistent/upsd-ca.pem: No such file or directory; "
        "fix ca_file (--ca-file)",
    )


# --- the monitor ----------------------------------------------------------------------------


def test_run_with_tls_reports_startup_over_an_encrypted_session(
    tls_upsd: TlsNutServer, pyups: Start, tmp_path: Path
) -> None:
    shutil.copy(tls_upsd.ca_file, tmp_path / "upsd-ca.pem")
    config = tls_config(tmp_path, tls_upsd, 'tls = true\nca_file = "upsd-ca.pem"\n')
    before = handshakes(tls_upsd)
    run = pyups("run", "-c", config)
    startup = run.wait_event("STARTUP")
    assert startup["PYUPS_STATUS"] == "OL CHRG"
    assert handshakes(tls_upsd) > before
    assert openssl_mapped(run.pid)  # PyNUTClient was handed ssl for the session
    assert run.stop() == 0
    assert run.events() == ["STARTUP"]


def test_a_clear_text_monitor_never_loads_openssl(
    nut: NutServer, pyups: Start, tmp_path: Path
) -> None:
    """PyNUTClient imports ssl and lark imports hashlib, and either maps OpenSSL (4 MiB of
    RSS); pyups imports both without (pyups.lean), a rule condition included."""
    rule = '[[rule]]\nname = "low"\nif = "OB and battery.charge < 50"\nmessage = "low"\n'
    run = pyups("run", "-c", write_config(tmp_path, nut, rule))
    run.wait_event("STARTUP")
    assert not openssl_mapped(run.pid)
    assert run.stop() == 0


def test_run_with_tls_against_a_plain_upsd_is_commbad_and_never_data(
    nut: NutServer, tls_upsd: TlsNutServer, pyups: Start, tmp_path: Path
) -> None:
    config = tls_config(tmp_path, nut, f'tls = true\nca_file = "{tls_upsd.ca_file}"\n')
    run, commbad = tls_commbad(pyups, config)
    assert commbad["MESSAGE"] == (
        f"Communications with UPS eaton800 lost: upsd at {nut.server} does not offer TLS (it "
        "answered ERR FEATURE-NOT-CONFIGURED); configure CERTFILE or CERTPATH and CERTIDENT in "
        "upsd.conf, or set tls = false (TLS)"
    )
    never(run, "STARTUP", 1.5)
    assert run.stop() == 0
    assert "STARTUP" not in run.events()


def test_run_with_another_ca_is_commbad_with_the_certificate_reason(
    tls_upsd: TlsNutServer, other_ca: str, pyups: Start, tmp_path: Path
) -> None:
    config = tls_config(tmp_path, tls_upsd, f'tls = true\nca_file = "{other_ca}"\n')
    run, commbad = tls_commbad(pyups, config)
    assert "certificate is not signed by a CA pyups trusts" in commbad["MESSAGE"]
    never(run, "STARTUP", 1.0)
    assert run.stop() == 0


def test_run_with_the_system_cas_refuses_a_private_ca(
    tls_upsd: TlsNutServer, pyups: Start, tmp_path: Path
) -> None:
    run, commbad = tls_commbad(pyups, tls_config(tmp_path, tls_upsd, "tls = true\n"))
    assert "certificate is not signed by a CA pyups trusts" in commbad["MESSAGE"]
    assert run.stop() == 0


def test_run_with_tls_verify_off_works_without_a_ca(
    tls_upsd: TlsNutServer, pyups: Start, tmp_path: Path
) -> None:
    run = pyups("run", "-c", tls_config(tmp_path, tls_upsd, "tls = true\ntls_verify = false\n"))
    assert run.wait_event("STARTUP")["PYUPS_STATUS"] == "OL CHRG"
    assert run.stop() == 0


def test_upsd_restarted_under_a_tls_session_gives_commbad_then_commok(
    pyups: Start, tmp_path: Path
) -> None:
    with TlsNutServer(maxage=3) as nut:
        config = tls_config(tmp_path, nut, f'tls = true\nca_file = "{nut.ca_file}"\n')
        run = pyups("run", "-c", config)
        run.wait_event("STARTUP")
        nut.stop_upsd()
        assert run.wait_event("COMMBAD")["PYUPS_REASON"] in {"CLOSED", "CONNECT"}
        nut.start_upsd()
        nut.wait_ready()
        run.wait_event("COMMOK", timeout=15)
        assert run.stop() == 0
        assert run.events() == ["STARTUP", "COMMBAD", "COMMOK"]


def test_an_instcmd_action_goes_over_tls_with_the_admin_login(
    tls_upsd: TlsNutServer, pyups: Start, tmp_path: Path
) -> None:
    rule = '[[rule]]\nname = "at-start"\non = ["STARTUP"]\ndo = [{ instcmd = "load.off" }]\n'
    ups = f'tls = true\nca_file = "{tls_upsd.ca_file}"\n' + login(tmp_path, tls_upsd)
    before = handshakes(tls_upsd)
    run = pyups("run", "-c", tls_config(tmp_path, tls_upsd, ups, rule))
    action = run.wait_event("ACTION", timeout=15)
    assert action["PYUPS_REASON"] == "ok", action["MESSAGE"]
    assert action["MESSAGE"] == f"instcmd load.off on eaton800@{tls_upsd.server}: accepted by upsd"
    assert run.stop() == 0
    # One session polls, the action opens its own: both were TLS.
    assert handshakes(tls_upsd) >= before + 2
    assert tls_upsd.admin_password not in "".join(e["MESSAGE"] for e in run.entries())


def test_the_dispatcher_never_sends_an_instcmd_in_clear_text_to_a_plain_upsd(
    nut: NutServer, tls_upsd: TlsNutServer
) -> None:
    key = UpsAddress("eaton800", nut.server)
    trigger = Event(
        name="RULE",
        ups="eaton800",
        server=nut.server,
        t=time.time(),
        status="OB",
        prev_status="OL",
        rule="outage",
        priority="crit",
        message="on battery",
    )
    [event] = dispatched(
        [ActionRequest(InstcmdAction("load.off"), trigger)],
        credentials={key: (nut.admin_user, nut.admin_password)},
        tls={key: Tls(str(tls_upsd.ca_file))},
        nut_timeout=5.0,
    )
    assert event.reason == "TLS"
    assert "does not offer TLS" in event.outcome
    assert nut.admin_password not in event.outcome
    log = (nut.workdir / "upsd.log").read_text(errors="replace")
    assert "Instant command" not in log


# --- the everyday commands -------------------------------------------------------------------


def test_status_with_tls_prints_the_variables_like_without(tls_upsd: TlsNutServer) -> None:
    before = handshakes(tls_upsd)
    secure = cli("status", tls_upsd.address(), "--tls", "--ca-file", str(tls_upsd.ca_file))
    plain = cli("status", tls_upsd.address())
    assert secure.returncode == 0, secure.stderr
    assert secure.stdout == plain.stdout
    assert "ups.status: OL CHRG\n" in secure.stdout
    assert handshakes(tls_upsd) == before + 1


def test_list_and_commands_take_tls_too(tls_upsd: TlsNutServer) -> None:
    ca = str(tls_upsd.ca_file)
    listed = cli("list", str(tls_upsd.server), "--tls", "--ca-file", ca)
    assert (listed.returncode, listed.stdout) == (0, "eaton800: Simulated eaton800\n")
    commands = cli("commands", tls_upsd.address(), "--tls", "--ca-file", ca, "--json")
    assert commands.returncode == 0, commands.stderr
    assert '"name": "load.off"' in commands.stdout


def test_status_with_tls_against_a_plain_upsd_is_one_line_and_exit_1(
    nut: NutServer, tls_upsd: TlsNutServer
) -> None:
    done = cli("status", nut.address(), "--tls", "--ca-file", str(tls_upsd.ca_file))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"pyups: {nut.address()}: upsd at {nut.server} does not offer TLS (it answered "
        "ERR FEATURE-NOT-CONFIGURED); configure CERTFILE or CERTPATH and CERTIDENT in "
        "upsd.conf, or set tls = false\n"
    )


def test_status_with_an_unknown_ca_says_which_option_to_set(
    tls_upsd: TlsNutServer, other_ca: str
) -> None:
    done = cli("status", tls_upsd.address(), "--tls", "--ca-file", other_ca)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1
    assert "certificate is not signed by a CA pyups trusts" in done.stderr
    assert "--ca-file" in done.stderr
    insecure = cli("status", tls_upsd.address(), "ups.status", "--tls", "--no-verify")
    assert (insecure.returncode, insecure.stdout) == (0, "OL CHRG\n")


def test_ca_file_without_tls_is_a_usage_error(tls_upsd: TlsNutServer) -> None:
    done = cli("status", tls_upsd.address(), "--ca-file", str(tls_upsd.ca_file))
    assert done.returncode == 2
    assert done.stderr == "pyups: --ca-file only applies with --tls; add --tls\n"


def test_cmd_over_tls_with_the_admin_login(tls_upsd: TlsNutServer, tmp_path: Path) -> None:
    secret = tmp_path / "admin.secret"
    secret.write_text(tls_upsd.admin_password + "\n")
    secret.chmod(0o600)
    before = handshakes(tls_upsd)
    done = cli(
        "cmd", tls_upsd.address(), "load.off", "-u", tls_upsd.admin_user,
        "--password-file", str(secret), "--tls", "--ca-file", str(tls_upsd.ca_file),
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "OK\n", "")
    assert handshakes(tls_upsd) == before + 1


def test_cmd_takes_tls_from_the_config_entry(
    nut: NutServer, tls_upsd: TlsNutServer, tmp_path: Path
) -> None:
    ups = f'tls = true\nca_file = "{tls_upsd.ca_file}"\n' + login(tmp_path, tls_upsd)
    config = tls_config(tmp_path, tls_upsd, ups)
    before = handshakes(tls_upsd)
    done = cli("cmd", tls_upsd.address(), "load.off", "-c", config)
    assert (done.returncode, done.stdout, done.stderr) == (0, "OK\n", "")
    assert handshakes(tls_upsd) == before + 1
    # The same entry for a plain upsd: refused before any password is sent.
    (tmp_path / "plain").mkdir()
    ups = f'tls = true\nca_file = "{tls_upsd.ca_file}"\n' + login(tmp_path / "plain", nut)
    config = tls_config(tmp_path / "plain", nut, ups)
    done = cli("cmd", nut.address(), "load.off", "-c", config)
    assert done.returncode == 1
    assert "does not offer TLS" in done.stderr
    assert "Instant command" not in (nut.workdir / "upsd.log").read_text(errors="replace")
