"""The NUT adapter: each PyNUTClient 2.8.5 defect shown on the stock client, then neutralised.

Showing the defect first keeps each test honest: if a later PyNUTClient fixed it, the first
half would fail and tell us the workaround can go.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import textwrap
import time
import tracemalloc

import pytest
from PyNUTClient.PyNUT import PyNUTClient

from pyups.address import Server
from pyups.nut import Connection, NutError, poll
from pyups.nut.reader import MAX_LINE
from pyups.sim import NutServer, free_port
from tests.harness.fakeupsd import FakeUpsd
from tests.harness.procs import cpu_seconds

TRICKY = 'Say "hi" \\ #1 \\" end'


def test_stock_client_spins_on_a_cut_reply_while_the_adapter_reports_closed(
    fake_upsd: FakeUpsd,
) -> None:
    fake_upsd.mode = "cut"
    stock = textwrap.dedent(f"""
        from PyNUTClient.PyNUT import PyNUTClient
        PyNUTClient(host="127.0.0.1", port={fake_upsd.port}).GetUPSVars("eaton800")
    """)
    process = subprocess.Popen([sys.executable, "-c", stock])
    try:
        time.sleep(2.0)
        assert process.poll() is None, "stock PyNUTClient no longer hangs on a cut reply"
        cpu = cpu_seconds(process.pid)
        assert cpu > 0.8, f"expected the stock client to spin, it used {cpu}s of CPU in ~2s"
    finally:
        process.kill()
        process.wait()

    conn = Connection(fake_upsd.server, timeout=2.0)
    started = time.process_time(), time.monotonic()
    with pytest.raises(NutError) as caught:
        conn.list_vars("eaton800")
    assert caught.value.code == "CLOSED"
    assert time.monotonic() - started[1] < 1.0
    assert time.process_time() - started[0] < 0.2
    assert not conn.connected  # reopened by the next request


def test_a_silent_server_is_a_timeout_error_code_not_a_bare_timeouterror(
    fake_upsd: FakeUpsd,
) -> None:
    fake_upsd.mode = "silent"
    stock = PyNUTClient(host="127.0.0.1", port=fake_upsd.port, timeout=0.5)
    with pytest.raises(TimeoutError):
        stock.GetUPSVars("eaton800")

    conn = Connection(fake_upsd.server, timeout=0.5)
    started = time.monotonic()
    snap = poll(conn, "eaton800", 123.0)
    assert (snap.ok, snap.error, snap.t) == (False, "TIMEOUT", 123.0)
    assert 0.4 < time.monotonic() - started < 1.5


def test_values_are_exact_unescaped_strings_where_the_stock_client_truncates_bytes(
    fake_upsd: FakeUpsd,
) -> None:
    fake_upsd.vars["device.model"] = TRICKY
    stock = PyNUTClient(host="127.0.0.1", port=fake_upsd.port).GetUPSVars("eaton800")
    assert stock[b"device.model"] == b"Say \\"  # bytes, cut at the first escaped quote

    variables = Connection(fake_upsd.server).list_vars("eaton800")
    assert variables["device.model"] == TRICKY
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in variables.items())
    assert variables["ups.status"] == "OL CHRG"


def test_a_trickling_server_times_out_on_the_whole_request_not_per_byte(
    fake_upsd: FakeUpsd,
) -> None:
    fake_upsd.mode = "trickle"
    conn = Connection(fake_upsd.server, timeout=1.5)
    started = time.monotonic()
    with pytest.raises(NutError) as caught:
        conn.list_vars("eaton800")
    assert caught.value.code == "TIMEOUT"
    assert time.monotonic() - started < 2.5


def test_an_endless_line_is_an_error_not_a_memory_sink(fake_upsd: FakeUpsd) -> None:
    fake_upsd.mode = "endless"
    conn = Connection(fake_upsd.server, timeout=2.0)
    tracemalloc.start()
    try:
        with pytest.raises(NutError) as caught:
            conn.list_vars("eaton800")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.code == "PROTOCOL"
    assert f"longer than {MAX_LINE} bytes" in caught.value.detail
    assert peak < 1_000_000


def test_garbage_is_a_protocol_error_and_the_next_poll_reconnects(fake_upsd: FakeUpsd) -> None:
    fake_upsd.mode = "garbage"
    conn = Connection(fake_upsd.server, timeout=1.0)
    assert poll(conn, "eaton800", 0).error in {"PROTOCOL", "CLOSED"}
    assert not conn.connected
    fake_upsd.mode = "good"
    assert poll(conn, "eaton800", 0).status == "OL CHRG"


def test_errors_carry_upsd_codes_and_connection_failures_are_named(nut: NutServer) -> None:
    conn = Connection(nut.server, timeout=2.0)
    unknown = poll(conn, "nosuch", 0)
    assert unknown.error == "UNKNOWN-UPS"
    assert conn.connected  # an ERR reply leaves the session usable
    assert poll(conn, "eaton800", 0).status == "OL CHRG"

    nut.stop_driver("eaton800")
    seen = set()
    deadline = time.monotonic() + 5
    while "DRIVER-NOT-CONNECTED" not in seen and time.monotonic() < deadline:
        seen.add(poll(conn, "eaton800", 0).error)
    # upsd may answer WAIT for a moment while it notices the driver is gone.
    assert seen in ({"DRIVER-NOT-CONNECTED"}, {"WAIT", "DRIVER-NOT-CONNECTED"})

    refused = poll(Connection(Server("127.0.0.1", free_port()), 1.0), "eaton800", 0)
    assert refused.error == "CONNECT"
    assert "connection refused" in refused.detail
    unresolvable = poll(Connection(Server("no-such-host.invalid"), 1.0), "eaton800", 0)
    assert unresolvable.error == "CONNECT"
    assert "cannot resolve host name 'no-such-host.invalid'" in unresolvable.detail


def test_list_var_is_not_stalled_by_delayed_acks(nut: NutServer) -> None:
    """Stock: ~44 ms per LIST VAR on loopback (Nagle + delayed ACK); with QUICKACK: ~0.1 ms."""
    stock = PyNUTClient(host=nut.server.host, port=nut.server.port)
    ours = Connection(nut.server)

    def median(fetch: object) -> float:
        times = []
        for _ in range(15):
            started = time.perf_counter()
            fetch("eaton800")  # type: ignore[operator]
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    stock_median, our_median = median(stock.GetUPSVars), median(ours.list_vars)
    assert stock_median > 0.030, f"stock client no longer stalls ({stock_median * 1000:.1f} ms)"
    assert our_median * 10 < stock_median, (our_median, stock_median)


def test_set_var_quotes_values_where_the_stock_client_does_not(nut: NutServer) -> None:
    stock = PyNUTClient(
        host=nut.server.host, port=nut.server.port, login=nut.admin_user,
        password=nut.admin_password,
    )  # fmt: skip
    assert stock.SetRWVar("eaton800", "device.model", "two words") == "OK"
    nut.wait_for("eaton800", "device.model", "two")  # upsd took the first word only

    conn = Connection(nut.server, 2.0, nut.admin_user, nut.admin_password)
    conn.set_var("eaton800", "device.model", "two words")
    nut.wait_for("eaton800", "device.model", "two words")


def test_queries_for_the_everyday_commands_answer_from_a_real_upsd(nut: NutServer) -> None:
    connection = Connection(nut.server, timeout=2)
    try:
        assert connection.list_ups() == {"eaton800": "Simulated eaton800"}
        assert connection.list_commands("eaton800") == ["load.off"]
        description = connection.command_description("eaton800", "load.off")
        assert description == "Turn off the load immediately"
        assert connection.get_var("eaton800", "ups.status") == "OL CHRG"
        with pytest.raises(NutError) as caught:
            connection.get_var("eaton800", "no.such.var")
        assert caught.value.code == "VAR-NOT-SUPPORTED"
        assert connection.connected  # an ERR reply leaves the session usable
        assert connection.get_var("eaton800", "battery.charge") == "100"
    finally:
        connection.close()


def test_get_var_unescapes_what_upsd_escaped(fake_upsd: FakeUpsd) -> None:
    fake_upsd.vars["ups.id"] = 'a "b" \\ c'
    connection = Connection(fake_upsd.server, timeout=2)
    try:
        assert connection.get_var("eaton800", "ups.id") == 'a "b" \\ c'
    finally:
        connection.close()


def test_a_reply_like_the_last_is_not_parsed_again_and_a_changed_one_is(nut: NutServer) -> None:
    conn = Connection(nut.server)
    first = conn.list_vars("eaton800")
    again = conn.list_vars("eaton800")  # nothing changed in between: the same text
    assert again is first
    with pytest.raises(TypeError):  # handed to every poll after: nobody may change it
        first["ups.status"] = "OB"  # type: ignore[index]
    nut.set_var("eaton800", "input.voltage", "231.5")
    nut.wait_for("eaton800", "input.voltage", "231.5")
    changed = conn.list_vars("eaton800")
    assert changed is not first and changed["input.voltage"] == "231.5"
    assert {k: v for k, v in changed.items() if k != "input.voltage"} == {
        k: v for k, v in first.items() if k != "input.voltage"
    }
    conn.close()
