"""Running a service: uvicorn worker processes in the foreground, or a thread for tests.

uvicorn starts each worker process fresh (spawn), so an application with more than one
worker is named by an import string of a factory, and the factory reads its configuration
from environment variables the caller sets here (``env``): nothing but plain strings crosses
into the workers, and secrets only as the hashes the caller chose to pass.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Mapping

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

# Connection handling every service shares, unless a service passes its own settings.
BACKLOG = 2048
KEEP_ALIVE_SECONDS = 5


class IdleTimeoutProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection that sends no complete request
    within the keep-alive timeout.

    uvicorn (0.55) starts its keep-alive timer only after a response: a client that connects
    and never sends a request keeps its connection forever, and every such connection counts
    against ``limit_concurrency``, so a few hundred idle sockets would make the server answer
    503 to real clients. Here the first request's headers must arrive in time too; between
    requests uvicorn's own keep-alive timer applies.
    """

    _first_request_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._first_request_timer = self.loop.call_later(
            self.timeout_keep_alive, self._no_request_in_time
        )

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is not None and self._first_request_timer is not None:
            self._first_request_timer.cancel()
            self._first_request_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._first_request_timer is not None:
            self._first_request_timer.cancel()
            self._first_request_timer = None
        super().connection_lost(exc)

    def _no_request_in_time(self) -> None:
        self._first_request_timer = None
        if self.cycle is None and not self.transport.is_closing():
            if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                self.conn.send(h11.ConnectionClosed())
            self.transport.close()


def run(
    factory: str,
    *,
    host: str,
    port: int,
    workers: int,
    env: Mapping[str, str],
    limit_concurrency: int | None = None,
    keep_alive: float = KEEP_ALIVE_SECONDS,
    backlog: int = BACKLOG,
) -> int:
    """Serve the application ``factory`` (``"module:function"``) until interrupted.

    ``limit_concurrency``: connections (idle ones included) plus requests in progress per
    worker process beyond which requests are answered 503 (None: no limit);
    ``keep_alive``: seconds a connection may stay idle, before its first request or between
    two; ``backlog``: connections the kernel queues before they are accepted.
    """
    os.environ.update(env)
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=IdleTimeoutProtocol,
        backlog=backlog,
        timeout_keep_alive=keep_alive,
        limit_concurrency=limit_concurrency,
        # Our access log (webstack.app) leaves query strings out; uvicorn's does not.
        access_log=False,
        lifespan="off",
        server_header=False,
        log_level="info",
    )
    return 0


class BackgroundServer:
    """A uvicorn server in a daemon thread on an already bound socket (the port is known)."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.server_address = self._socket.getsockname()
        self.server_port: int = self.server_address[1]
        config = uvicorn.Config(
            app,
            access_log=False,
            lifespan="off",
            log_level="warning",
            http=IdleTimeoutProtocol,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        # uvicorn installs signal handlers only in the main thread; this is not it.
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the background server did not start")
            time.sleep(0.01)

    def shutdown(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def server_close(self) -> None:
        self._socket.close()


def start_background(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> BackgroundServer:
    """Serve ``app`` from a daemon thread; call ``.shutdown()`` when done."""
    return BackgroundServer(app, host, port)
