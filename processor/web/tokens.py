"""API tokens of the crash browser and the browser sessions signed in with them.

A token is shown once, when it is made (``crashproc tokens add``); the file keeps only its
SHA-256, so a copy of the file grants nothing. Tokens are 32 random bytes, which is why a plain
SHA-256 (not a slow password hash) is enough: there is nothing to guess. SQLite because the
file sits beside the report index and several web workers read it while the command writes.

A session (``POST /signin`` with a token) is another 32 random bytes kept the same way, in the
same file, naming its token. It holds no permissions of its own: every request reads them
from the token, so revoking the token ends its sessions at once (``revoke`` also deletes them,
so a new token of the same name never inherits an old session).
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
);
CREATE TABLE IF NOT EXISTS sessions (
    sha256 TEXT PRIMARY KEY,
    token_name TEXT NOT NULL,
    created TEXT NOT NULL,          -- ISO 8601 UTC, seconds: compared as text
    expires TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_token ON sessions (token_name);
"""


class TokenError(Exception):
    """A token command that cannot be done (a duplicate name, an unknown permission)."""


@dataclass(frozen=True)
class TokenInfo:
    name: str
    permissions: tuple[str, ...]
    created: str


@dataclass(frozen=True)
class Viewer:
    """Who a request comes from: the token's name and what it may do, and whether a browser
    session (rather than an ``Auth-Token`` header) said so."""

    name: str
    permissions: frozenset[str]
    session: bool = False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _timestamp(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).isoformat(timespec="seconds")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


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
        if create:  # also upgrades a file made before sessions existed
            conn.executescript(SCHEMA)
        return conn

    def add(self, name: str, permissions: list[str]) -> str:
        """Make a token named ``name``; returns it (the only time it exists in clear)."""
        unknown = sorted(set(permissions) - set(PERMISSIONS))
        if unknown or not permissions:
            raise TokenError(f"permissions are {', '.join(PERMISSIONS)}; got {unknown or 'none'}")
        token = secrets.token_hex(32)
        created = _timestamp(_now())
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
        """Delete the token ``name`` and its sessions; False when there is no such token."""
        if not self.path.exists():
            return False
        conn = self._connect(create=True)
        assert conn is not None
        try:
            with conn:
                conn.execute("DELETE FROM sessions WHERE token_name = ?", (name,))
                return conn.execute("DELETE FROM tokens WHERE name = ?", (name,)).rowcount > 0
        finally:
            conn.close()

    def viewer(self, token: str | None) -> Viewer | None:
        """Whose ``token`` is (None for no token, an unknown or a revoked one)."""
        if not token:
            return None
        conn = self._connect(create=False)
        if conn is None:
            return None
        try:
            row = conn.execute(
                "SELECT name, permissions FROM tokens WHERE sha256 = ?", (token_hash(token),)
            ).fetchone()
        except sqlite3.DatabaseError:
            return None
        finally:
            conn.close()
        return Viewer(row[0], frozenset(row[1].split(","))) if row else None

    def permissions(self, token: str | None) -> frozenset[str]:
        """What ``token`` may do (nothing for no token, an unknown or a revoked one)."""
        viewer = self.viewer(token)
        return viewer.permissions if viewer else frozenset()

    # -- sessions -------------------------------------------------------------------------

    def create_session(
        self, token: str, max_age: float, now: datetime.datetime | None = None
    ) -> tuple[str, Viewer] | None:
        """A new session for ``token`` lasting ``max_age`` seconds: (session id, viewer), the
        id in clear only here; None when the token is unknown. Expired sessions go first."""
        viewer = self.viewer(token)
        if viewer is None:
            return None
        now = now or _now()
        session_id = secrets.token_urlsafe(32)
        conn = self._connect(create=True)
        assert conn is not None
        try:
            with conn:
                conn.execute("DELETE FROM sessions WHERE expires <= ?", (_timestamp(now),))
                conn.execute(
                    "INSERT INTO sessions (sha256, token_name, created, expires)"
                    " VALUES (?, ?, ?, ?)",
                    (
                        token_hash(session_id),
                        viewer.name,
                        _timestamp(now),
                        _timestamp(now + datetime.timedelta(seconds=max_age)),
                    ),
                )
        finally:
            conn.close()
        return session_id, Viewer(viewer.name, viewer.permissions, session=True)

    def session_viewer(
        self, session_id: str | None, now: datetime.datetime | None = None
    ) -> Viewer | None:
        """Who the session ``session_id`` is, with its token's permissions as they are now;
        None for no session, an unknown or expired one (deleted then) or a revoked token."""
        if not session_id:
            return None
        conn = self._connect(create=False)
        if conn is None:
            return None
        key = token_hash(session_id)
        try:
            row = conn.execute(
                "SELECT t.name, t.permissions, s.expires FROM sessions s"
                " JOIN tokens t ON t.name = s.token_name WHERE s.sha256 = ?",
                (key,),
            ).fetchone()
            if row is not None and row[2] <= _timestamp(now or _now()):
                with conn:
                    conn.execute("DELETE FROM sessions WHERE sha256 = ?", (key,))
                return None
        except sqlite3.DatabaseError:  # a file made before sessions existed
            return None
        finally:
            conn.close()
        if row is None:
            return None
        return Viewer(row[0], frozenset(row[1].split(",")), session=True)

    def end_session(self, session_id: str | None) -> bool:
        """Delete the session (signing out); False when there was none."""
        if not session_id or not self.path.exists():
            return False
        conn = self._connect(create=True)
        assert conn is not None
        try:
            with conn:
                return (
                    conn.execute(
                        "DELETE FROM sessions WHERE sha256 = ?", (token_hash(session_id),)
                    ).rowcount
                    > 0
                )
        finally:
            conn.close()
