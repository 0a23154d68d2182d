"""API tokens of the crash browser: who may see protected data or ask for reprocessing.

A token is shown once, when it is made (``crashproc tokens add``); the file keeps only its
SHA-256, so a copy of the file grants nothing. Tokens are 32 random bytes, which is why a plain
SHA-256 (not a slow password hash) is enough: there is nothing to guess. SQLite because the
file sits beside the report index and several web workers read it while the command writes.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from processor.config import Settings

VIEW_PROTECTED = "view_protected"
REPROCESS = "reprocess"
PERMISSIONS = (VIEW_PROTECTED, REPROCESS)
TOKENS_NAME = "api-tokens.sqlite"
BUSY_TIMEOUT_S = 30

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    name TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    permissions TEXT NOT NULL,      -- comma-separated
    created TEXT NOT NULL
)
"""


class TokenError(Exception):
    """A token command that cannot be done (a duplicate name, an unknown permission)."""


@dataclass(frozen=True)
class TokenInfo:
    name: str
    permissions: tuple[str, ...]
    created: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_path(settings: Settings) -> Path:
    """``web.tokens``, else ``api-tokens.sqlite`` beside an SQLite report index (in ``./var``
    when the index is a PostgreSQL database)."""
    if settings.web_tokens:
        return Path(settings.web_tokens)
    from processor.reports.database import is_postgresql
    from processor.reports.index import configured_index_path

    index = configured_index_path(settings.report_index, settings.storage)
    if is_postgresql(index):
        return Path("./var") / TOKENS_NAME
    return Path(index).parent / TOKENS_NAME


class TokenStore:
    """The token file. Opened per call: the web workers' threads and the command share it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if not self.path.exists():
            if not create:
                return None
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        if create:
            conn.execute(SCHEMA)
        return conn

    def add(self, name: str, permissions: list[str]) -> str:
        """Make a token named ``name``; returns it (the only time it exists in clear)."""
        unknown = sorted(set(permissions) - set(PERMISSIONS))
        if unknown or not permissions:
            raise TokenError(f"permissions are {', '.join(PERMISSIONS)}; got {unknown or 'none'}")
        token = secrets.token_hex(32)
        created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        conn = self._connect(create=True)
        assert conn is not None
        try:
            with conn:
                conn.execute(
                    "INSERT INTO tokens (name, sha256, permissions, created) VALUES (?, ?, ?, ?)",
                    (name, token_hash(token), ",".join(sorted(set(permissions))), created),
                )
        except sqlite3.IntegrityError:
            raise TokenError(f"a token named {name!r} exists: revoke it first") from None
        finally:
            conn.close()
        return token

    def list(self) -> list[TokenInfo]:
        conn = self._connect(create=False)
        if conn is None:
            return []
        try:
            rows = conn.execute(
                "SELECT name, permissions, created FROM tokens ORDER BY name"
            ).fetchall()
        finally:
            conn.close()
        return [TokenInfo(name, tuple(p.split(",")), created) for name, p, created in rows]

    def revoke(self, name: str) -> bool:
        """Delete the token ``name``; False when there is none."""
        conn = self._connect(create=False)
        if conn is None:
            return False
        try:
            with conn:
                return conn.execute("DELETE FROM tokens WHERE name = ?", (name,)).rowcount > 0
        finally:
            conn.close()

    def permissions(self, token: str | None) -> frozenset[str]:
        """What ``token`` may do (nothing for no token, an unknown or a revoked one)."""
        if not token:
            return frozenset()
        conn = self._connect(create=False)
        if conn is None:
            return frozenset()
        try:
            row = conn.execute(
                "SELECT permissions FROM tokens WHERE sha256 = ?", (token_hash(token),)
            ).fetchone()
        except sqlite3.DatabaseError:
            return frozenset()
        finally:
            conn.close()
        return frozenset(row[0].split(",")) if row else frozenset()
