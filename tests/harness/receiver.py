"""A webhook receiver on loopback: records every POST, answers with a chosen HTTP status."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .wait import repeat_until


class Receiver:
    """``json://127.0.0.1:PORT/hook`` for Apprise; ``posts`` holds each JSON body received."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                owner.posts.append({"path": self.path, **json.loads(body or b"{}")})
                self.send_response(owner.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads ``posts``."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The posts once there are ``count`` of them, or all there are after ``timeout``."""
        return repeat_until(lambda: self.posts, lambda posts: len(posts) >= count, timeout)
