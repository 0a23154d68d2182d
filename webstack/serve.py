"""Running a service: uvicorn worker processes in the foreground, or a thread for tests.

uvicorn starts each worker process fresh (spawn), so an application with more than one
worker is named by an import string of a factory, and the factory reads its configuration
from environment variables the caller sets here (``env``): nothing but plain strings crosses
into the workers, and secrets only as the hashes the caller chose to pass.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Mapping

import uvicorn
from starlette.types import ASGIApp

# Connection handling every service shares (issue 18 tunes them per service).
BACKLOG = 2048
KEEP_ALIVE_SECONDS = 5


def run(
    factory: str,
    *,
    host: str,
    port: int,
    workers: int,
    env: Mapping[str, str],
    limit_concurrency: int | None = None,
) -> int:
    """Serve the application ``factory`` (``"module:function"``) until interrupted."""
    os.environ.update(env)
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        backlog=BACKLOG,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
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
