"""A tiny HTTP(S) receiver on 127.0.0.1 for REST hook tests: records every request, answers as told."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict
    body: bytes
    received_at: float = field(default_factory=time.time)

    def json(self) -> dict:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records requests; `answers` maps a path to the statuses to give in turn (the last one repeats)."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    answers: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook", host: str = "127.0.0.1", scheme: str = "http") -> str:
        """The URL of a path on this receiver."""
        return f"{scheme}://{host}:{self.port}{path}"

    def answer(self, path: str) -> int:
        """The status to give the next request to `path`."""
        with self.lock:
            queue = self.answers.get(path) or [200]
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def at(self, path: str) -> list[Received]:
        """Requests received on a path."""
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def wait(self, path: str, count: int = 1, timeout: float = 15.0) -> list[Received]:
        """Wait until `count` requests reached `path` (polling with a deadline)."""
        deadline = time.monotonic() + timeout
        while len(self.at(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.at(path))} of {count} requests reached {path} in {timeout}s")
            time.sleep(0.02)
        return self.at(path)


def start(ssl_context=None) -> tuple[Receiver, ThreadingHTTPServer]:
    """Serve a Receiver on a free loopback port (TLS when given a server context)."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = receiver.answer(self.path)
            with receiver.lock:
                receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if ssl_context is not None:
        server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
    receiver.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server
