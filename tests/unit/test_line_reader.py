"""LineReader over a real loopback TCP pair: whole replies, fragments, caps, EOF, deadlines."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from unittest import mock

import pytest

from pyups.nut import reader as reader_module
from pyups.nut.errors import NutError
from pyups.nut.reader import MAX_LINE, LineReader

# How the reader waits: while a session connects (a Python timeout on the socket), once it is
# settled on a plain socket (blocking, the kernel's timeouts) and on a non-blocking one (what a
# settled TLS session uses, waiting in poll).
MODES = ["connecting", "settled", "non-blocking"]


def loopback() -> tuple[socket.socket, socket.socket]:
    """A connected TCP pair over loopback: (ours, theirs)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        ours = socket.create_connection(listener.getsockname())
        theirs, _ = listener.accept()
    return ours, theirs


def waiting(mode: str, reader: LineReader) -> None:
    """Put the reader's socket in one of :data:`MODES`."""
    if mode == "connecting":
        reader.sock.settimeout(5)
    elif mode == "settled":
        reader.settle(5)
        assert reader.sock.gettimeout() is None  # blocking: the kernel times each read
    else:
        reader.sock.settimeout(0)


def times_out(reader: LineReader, run: Callable[[], object], within: float, slack: float) -> None:
    """``run`` raises TIMEOUT once ``within`` seconds have passed, and not ``slack`` later."""
    reader.deadline = time.monotonic() + within
    started = time.monotonic()
    with pytest.raises(NutError) as caught:
        run()
    assert caught.value.code == "TIMEOUT"
    assert within - 0.05 < time.monotonic() - started < within + slack


@pytest.fixture(params=MODES)
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[socket.socket, LineReader]]:
    ours, theirs = loopback()
    reader = LineReader(ours)
    waiting(request.param, reader)
    reader.deadline = time.monotonic() + 2
    yield theirs, reader
    ours.close()
    theirs.close()


BEGIN = b"BEGIN LIST VAR ups\n"


def listed(reader: LineReader) -> list[str]:
    """``LIST VAR ups`` through the reader: the lines of the body."""
    return reader.request_block(b"LIST VAR ups\n", b"VAR ups").decode().split("\n")[:-1]


def send_slowly(sock: socket.socket, data: bytes, size: int) -> threading.Thread:
    def run() -> None:
        for i in range(0, len(data), size):
            sock.sendall(data[i : i + size])
            time.sleep(0.001)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_an_empty_list_body_is_an_empty_list(pair: tuple[socket.socket, LineReader]) -> None:
    theirs, reader = pair
    theirs.sendall(BEGIN + b"END LIST VAR ups\nnext\n")
    assert listed(reader) == []
    assert reader.readline() == "next"


def test_a_reply_arriving_in_fragments_is_put_back_together(
    pair: tuple[socket.socket, LineReader],
) -> None:
    theirs, reader = pair
    body = b"".join(b'VAR ups v%d "%d"\n' % (i, i) for i in range(300))
    thread = send_slowly(theirs, BEGIN + body + b"END LIST VAR ups\n", 7)
    lines = listed(reader)
    thread.join()
    assert lines == [f'VAR ups v{i} "{i}"' for i in range(300)]


def test_a_line_that_only_looks_like_the_end_does_not_end_the_reply(
    pair: tuple[socket.socket, LineReader],
) -> None:
    theirs, reader = pair
    theirs.sendall(BEGIN + b'VAR ups x "END LIST VAR ups"\nXEND LIST VAR ups\nEND LIST VAR ups\n')
    assert listed(reader) == [
        'VAR ups x "END LIST VAR ups"',
        "XEND LIST VAR ups",
    ]


def test_an_overlong_line_is_refused_even_when_it_ends(
    pair: tuple[socket.socket, LineReader],
) -> None:
    theirs, reader = pair
    thread = send_slowly(theirs, BEGIN + b"A" * (MAX_LINE + 800) + b"\nEND LIST VAR ups\n", 3000)
    with pytest.raises(NutError) as caught:
        listed(reader)
    thread.join()
    assert caught.value.code == "PROTOCOL"


def test_a_line_that_never_ends_is_refused_once_past_the_cap(
    pair: tuple[socket.socket, LineReader],
) -> None:
    theirs, reader = pair
    theirs.sendall(b"B" * (MAX_LINE + 10))
    with pytest.raises(NutError, match="longer than"):
        reader.readline()


def test_end_of_file_in_a_reply_is_closed(pair: tuple[socket.socket, LineReader]) -> None:
    theirs, reader = pair
    theirs.sendall(BEGIN + b'VAR ups a "1"\nVAR ups')
    theirs.shutdown(socket.SHUT_WR)
    with pytest.raises(NutError) as caught:
        listed(reader)
    assert caught.value.code == "CLOSED"


def test_the_deadline_covers_the_whole_request(pair: tuple[socket.socket, LineReader]) -> None:
    _, reader = pair
    times_out(reader, reader.readline, 0.3, 0.7)


def test_a_reply_trickling_in_still_times_out_at_the_deadline(
    pair: tuple[socket.socket, LineReader],
) -> None:
    theirs, reader = pair
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            theirs.sendall(b"x")
            time.sleep(0.05)

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        times_out(reader, reader.readline, 0.4, 0.4)
    finally:
        stop.set()
        thread.join()


def test_a_request_after_one_that_timed_out_gets_its_whole_deadline(
    pair: tuple[socket.socket, LineReader],
) -> None:
    """A short deadline sets the kernel's timeout low; the next request's must not inherit it."""
    theirs, reader = pair
    reader.deadline = time.monotonic() + 0.1
    with pytest.raises(NutError):
        reader.readline()
    reader.deadline = time.monotonic() + 3
    timer = threading.Timer(0.6, theirs.sendall, [b"late but in time\n"])
    timer.start()
    try:
        assert reader.readline() == "late but in time"
    finally:
        timer.join()


@pytest.mark.parametrize("mode", ["settled", "non-blocking"])  # how a session sends
def test_a_request_upsd_does_not_take_in_times_out_at_the_deadline(mode: str) -> None:
    ours, theirs = loopback()
    with ours, theirs:  # theirs never reads: the send buffers fill up
        reader = LineReader(ours)
        waiting(mode, reader)
        times_out(reader, lambda: reader.send(b"x" * 64_000_000), 0.3, 0.7)


def test_a_socket_that_refuses_the_kernel_timeouts_is_read_without_blocking() -> None:
    """A 32-bit build with a 64-bit time_t refuses two longs for SO_RCVTIMEO: poll instead."""
    ours, theirs = loopback()
    with ours, theirs:
        reader = LineReader(ours)
        refused = OSError(22, "Invalid argument")
        with mock.patch.object(socket.socket, "setsockopt", side_effect=refused):
            reader.settle(5)
        assert ours.gettimeout() == 0.0
        reader.deadline = time.monotonic() + 2
        timer = threading.Timer(0.2, theirs.sendall, [BEGIN + b"END LIST VAR ups\n"])
        timer.start()
        assert listed(reader) == []
        timer.join()


def test_the_line_cap_counts_bytes_not_characters(pair: tuple[socket.socket, LineReader]) -> None:
    theirs, reader = pair
    theirs.sendall(BEGIN + "é".encode() * (MAX_LINE // 2 + 1) + b"\nEND LIST VAR ups\n")  # 2 B each
    with pytest.raises(NutError) as caught:
        listed(reader)
    assert caught.value.code == "PROTOCOL"


def test_a_list_request_gets_its_body_as_sent_and_leaves_what_follows(
    pair: tuple[socket.socket, LineReader],
) -> None:
    theirs, reader = pair
    body = b'VAR ups ups.status "OL"\nVAR ups x "caf\xc3\xa9"\n'
    thread = send_slowly(theirs, b"BEGIN LIST VAR ups\n" + body + b"END LIST VAR ups\nOK\n", 5)
    assert reader.request_block(b"LIST VAR ups\n", b"VAR ups") == body
    thread.join()
    assert theirs.recv(100) == b"LIST VAR ups\n"
    assert reader.readline() == "OK"


def test_an_empty_list_reply_is_an_empty_body(pair: tuple[socket.socket, LineReader]) -> None:
    theirs, reader = pair
    theirs.sendall(b"BEGIN LIST CLIENT ups\nEND LIST CLIENT ups\n")
    assert reader.request_block(b"LIST CLIENT ups\n", b"CLIENT ups") == b""


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (b"ERR DATA-STALE\n", "DATA-STALE"),
        (b"ERR UNKNOWN-UPS\n", "UNKNOWN-UPS"),
        (b"BEGIN LIST VAR other\nEND LIST VAR other\n", "PROTOCOL"),
        (b"BEGIN LIST VAR ups2\nEND LIST VAR ups2\n", "PROTOCOL"),
        (b"OK\n", "PROTOCOL"),
    ],
)
def test_a_list_reply_that_does_not_begin_the_list_asked_for_is_refused(
    pair: tuple[socket.socket, LineReader], reply: bytes, code: str
) -> None:
    theirs, reader = pair
    theirs.sendall(reply)
    with pytest.raises(NutError) as caught:
        reader.request_block(b"LIST VAR ups\n", b"VAR ups")
    assert caught.value.code == code


def test_a_first_line_that_never_ends_is_refused_once_past_the_cap(
    pair: tuple[socket.socket, LineReader],
) -> None:
    theirs, reader = pair
    theirs.sendall(b"BEGIN" + b"x" * (MAX_LINE + 10))
    with pytest.raises(NutError, match="longer than"):
        reader.request_block(b"LIST VAR ups\n", b"VAR ups")


def test_a_reply_past_the_size_cap_is_refused_while_it_arrives(
    pair: tuple[socket.socket, LineReader],
) -> None:
    theirs, reader = pair
    line = b'VAR ups x "' + b"y" * 100 + b'"\n'
    thread = send_slowly(theirs, BEGIN + line * 200, 1000)  # 22 kB and no END line
    with (
        mock.patch.object(reader_module, "MAX_REPLY_BYTES", 20_000),
        pytest.raises(NutError, match="reply larger than 20000 bytes"),
    ):
        listed(reader)
    thread.join()


def test_a_reply_of_more_lines_than_the_cap_is_refused(
    pair: tuple[socket.socket, LineReader],
) -> None:
    theirs, reader = pair
    theirs.sendall(BEGIN + b'VAR ups x "1"\n' * 11 + b"END LIST VAR ups\n")
    with (
        mock.patch.object(reader_module, "MAX_REPLY_LINES", 10),
        pytest.raises(NutError, match="too many lines"),
    ):
        listed(reader)
