"""A real PostgreSQL server on 127.0.0.1 for the tests: a throw-away cluster, restartable, stopped.

The binaries come from Debian's ``postgresql`` package when it is installed (``.ci/run``
installs it when missing), else from the ``pgserver`` wheel of the dev extra, which ships a
complete PostgreSQL build, so that ``make test`` runs these tests on a machine without the
system package too. Only its binaries are used: its own server manager changes the permissions
of every parent directory and keeps a socket in the user's runtime directory, which tests
sharing a machine must not do.

PostgreSQL refuses to run as root. Under root the cluster belongs to an unprivileged account
(``postgres`` when Debian's package made it, else ``nobody``) and lives in a directory of its
own under the system temporary directory (a pytest ``tmp_path`` is private to root). It listens
on TCP only (no Unix socket), trusts local connections, and trades durability for speed
(``fsync=off``): a stop is always a clean shutdown here, so nothing is lost across restarts.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

USER = "crashproc"  # the database superuser the tests connect as


def postgres_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None when there is none here."""
    candidates: list[Path] = []
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).resolve().parent)
    # Debian keeps the server binaries out of PATH, one directory per major version.
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    candidates.extend(Path(p) for p in debian)
    # Located without importing pgserver (its import takes a lock file in the home directory).
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        candidates.extend(Path(p) / "pginstall" / "bin" for p in spec.submodule_search_locations)
    for bindir in candidates:
        if all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_account() -> pwd.struct_passwd | None:
    """The account the server runs as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and there is neither a postgres nor a nobody account")


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory, on a free port of 127.0.0.1."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.port = free_port()
        self.account = _server_account()
        self.directory = Path(tempfile.mkdtemp(prefix="crashproc-postgres-"))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self._databases = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str) -> None:
        kwargs = {}
        if self.account is not None:
            kwargs = {"user": self.account.pw_uid, "group": self.account.pw_gid}
        proc = subprocess.run(
            [str(self.bindir / argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.directory,
            env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
            **kwargs,
        )
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr}\n{log}")

    def start(self) -> PostgresServer:
        if self.account is not None:
            os.chown(self.directory, self.account.pw_uid, self.account.pw_gid)
        if not self.data.exists():
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
        options = (
            f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB"
        )
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: clients are disconnected, everything committed is kept)."""
        self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", str(self.data))

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, prefix: str = "test") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        self._databases += 1
        name = f"{prefix}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def copy_database(self, url: str, prefix: str = "copy") -> str:
        """A new database with the contents of the one at ``url`` (its clients are
        disconnected: a pool reconnects on its next checkout)."""
        import psycopg

        source = url.rsplit("/", 1)[1]
        self._databases += 1
        name = f"{prefix}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (source,),
            )
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        return self.url(name)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def wait_connectable(self, timeout: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def missing(reason: str) -> NoReturn:
    """Skip a test for want of PostgreSQL, or fail it under CI=true (tests.conftest.missing)."""
    from tests.conftest import missing as shared

    shared(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (tests make a database each)."""
    bindir = postgres_bindir()
    if bindir is None:
        missing(
            "no PostgreSQL server binaries: install Debian's postgresql package or the dev "
            "extra (pgserver)"
        )
    server = PostgresServer(bindir).start()
    try:
        yield server
    finally:
        server.close()
