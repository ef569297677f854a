"""A webhook receiver for the sandbox tests: an HTTP server on 127.0.0.1 that records every POST."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """One request as it arrived."""

    path: str
    headers: dict  # lower-case names
    body: bytes
    at: float  # time.monotonic()


def hmac_base64(key: str, message: bytes) -> str:
    """base64(HMAC-SHA256(key, message)), worked out here independently of the sandbox."""
    return base64.b64encode(hmac.new(key.encode(), message, hashlib.sha256).digest()).decode()


class Receiver:
    """Records requests; `respond(received) -> (status, body)` decides each answer (200, empty by default)."""

    def __init__(self):
        self.requests: list[Received] = []
        self.respond = lambda received: (200, b"")
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                    time.monotonic())
                with receiver._lock:
                    receiver.requests.append(received)
                status, answer = receiver.respond(received)
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:40123."""
        return f"http://127.0.0.1:{self._server.server_port}"

    def received(self) -> list[Received]:
        """Every request so far."""
        with self._lock:
            return list(self.requests)

    def wait_for(self, predicate, timeout: float = 5.0) -> list[Received]:
        """Poll until `predicate(requests)` holds; the requests then (fails after `timeout` s)."""
        deadline = time.monotonic() + timeout
        while True:
            requests = self.received()
            if predicate(requests):
                return requests
            assert time.monotonic() < deadline, f"receiver never saw what was expected: {requests}"
            time.sleep(0.01)

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def wait_until_idle(client, provider: str, timeout: float = 5.0) -> dict:
    """Poll GET /_sandbox/<provider>/webhooks until nothing is queued, collecting or being retried."""
    deadline = time.monotonic() + timeout
    while True:
        view = client.get(f"/_sandbox/{provider}/webhooks").get_json()
        if view["pending"] == 0:
            return view
        assert time.monotonic() < deadline, f"webhooks still pending: {view}"
        time.sleep(0.01)
