"""A tiny real HTTP server on 127.0.0.1 whose answers a test scripts: the misbehaving
symbol servers (500s, silence, foreign redirects) that our own server never imitates."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Scripted(BaseHTTPRequestHandler):
    """Answers from `server.script(handler)`; records every path requested."""

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        self.server.script(self)

    def log_message(self, *args) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # clients hanging up on purpose (timeouts, size limits) are expected here


def url_of(srv: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{srv.server_port}/"


def reply(handler, status: int, body: bytes = b"", headers: dict | None = None) -> None:
    handler.send_response(status)
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    if "Content-Length" not in (headers or {}):
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def serve_scripted(script: Callable[[BaseHTTPRequestHandler], None]) -> ThreadingHTTPServer:
    """Start a server calling `script(handler)` for every GET; `.shutdown()` it after."""
    srv = QuietServer(("127.0.0.1", 0), Scripted)
    srv.script, srv.hits = script, []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv
