"""``crashproc tokens`` and ``crashproc web`` as a user runs them."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

from processor.cli import run
from processor.web.tokens import TokenStore


def clean_env() -> dict[str, str]:
    """The environment without a configuration file named (commands run in a scratch cwd)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CRASHPROC_")}


def crashproc(cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "processor", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env=clean_env(),
    )


def test_tokens_add_list_revoke_keep_only_the_hash(tmp_path, capsys):
    path = tmp_path / "tokens.sqlite"
    assert (
        run(["tokens", "add", "alice", "--permission", "view_protected", "--tokens", str(path)])
        == 0
    )
    token = capsys.readouterr().out.strip()
    assert len(token) == 64
    stored = (
        sqlite3.connect(path).execute("SELECT name, sha256, permissions FROM tokens").fetchall()
    )
    assert stored == [("alice", hashlib.sha256(token.encode()).hexdigest(), "view_protected")]
    assert token not in path.read_bytes().decode("latin-1")
    assert TokenStore(path).permissions(token) == {"view_protected"}
    # A second token of that name is refused; the first is never shown again.
    assert run(["tokens", "add", "alice", "--permission", "reprocess", "--tokens", str(path)]) == 2
    assert run(["tokens", "list", "--tokens", str(path)]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith("alice\tview_protected\t") and token not in listed
    assert run(["tokens", "revoke", "alice", "--tokens", str(path)]) == 0
    assert TokenStore(path).permissions(token) == frozenset()
    assert run(["tokens", "revoke", "alice", "--tokens", str(path)]) == 1


def test_a_token_file_from_before_sessions_gets_them(tmp_path):
    path = tmp_path / "tokens.sqlite"
    token = "ab" * 32
    with sqlite3.connect(path) as conn:  # the file as crashproc wrote it before sign-in
        conn.execute(
            "CREATE TABLE tokens (name TEXT PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE,"
            " permissions TEXT NOT NULL, created TEXT NOT NULL)"
        )
        conn.execute(
            "INSERT INTO tokens VALUES ('old', ?, 'view_protected', '2026-11-01T00:00:00+00:00')",
            (hashlib.sha256(token.encode()).hexdigest(),),
        )
    store = TokenStore(path)
    assert store.session_viewer("no-such-session") is None  # read before any sign-in
    session_id, viewer = store.create_session(token, 60)
    assert viewer.name == "old" and store.session_viewer(session_id) == viewer
    assert store.revoke("old") and store.session_viewer(session_id) is None


def test_tokens_live_beside_the_report_index_by_default(tmp_path, capsys):
    index = tmp_path / "idx" / "report-index.sqlite"
    assert run(["tokens", "add", "bob", "--permission", "reprocess", "--index", str(index)]) == 0
    assert (tmp_path / "idx" / "api-tokens.sqlite").is_file()


def test_web_command_serves_the_report_index(report_storage, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    stderr = (tmp_path / "stderr").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "processor",
            "web",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--storage",
            str(report_storage.storage_dir),
            "--index",
            str(report_storage.index_path),
            "--tokens",
            str(tmp_path / "tokens.sqlite"),
        ],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = requests.get(
                    f"http://127.0.0.1:{port}/?days=30&until=2026-11-14", timeout=10
                )
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "stderr"
                ).read_text()
                time.sleep(0.2)
        assert page.status_code == 200
        assert f"{len(report_storage.processed)} crash reports" in page.text
        heartbeat = requests.get(f"http://127.0.0.1:{port}/__heartbeat__", timeout=10)
        assert heartbeat.json()["checks"] == {"index": "ok"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        stderr.close()


def test_web_command_refuses_a_bad_bind(tmp_path):
    done = crashproc(tmp_path, "web", "--bind", "nowhere")
    assert done.returncode == 2 and "web.bind: expected HOST:PORT" in done.stderr
