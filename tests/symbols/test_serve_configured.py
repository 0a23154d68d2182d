"""`symbols serve` from the installation's configuration, with only a token hash configured.

The real command runs in a child process on 127.0.0.1, its store, port and upload token
hash coming from a crashproc.toml; an upload with the token is accepted, one without is not.
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

from symbols.cli import main
from symbols.server import token_digest
from symbols.store import SymbolStore
from tests.symbols.conftest import TEST_APP_SYM

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, deadline: float = 30.0) -> None:
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def test_serve_takes_store_port_and_token_hash_from_the_configuration(tmp_path):
    store = SymbolStore(tmp_path / "store")
    port = free_port()
    token = "configured-upload-token"
    config = tmp_path / "crashproc.toml"
    config.write_text(
        f'[symbols_server]\nstore = "store"\nport = {port}\n'
        f'upload_token_sha256 = "{token_digest(token)}"\n',
        encoding="utf-8",
    )
    assert token not in config.read_text()
    proc = subprocess.Popen(
        [sys.executable, "-m", "symbols.cli", "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/__lbheartbeat__", proc)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("a/b/test_app.sym", TEST_APP_SYM.read_bytes())
        headers = {"Content-Type": "application/zip"}
        refused = requests.post(
            base + "/upload/",
            data=archive.getvalue(),
            headers={**headers, "Auth-Token": token_digest(token)},  # the hash is no token
            timeout=10,
        )
        assert refused.status_code == 403
        accepted = requests.post(
            base + "/upload/",
            data=archive.getvalue(),
            headers={**headers, "Auth-Token": token},
            timeout=30,
        )
        assert accepted.status_code == 201, accepted.text
        assert list(store.root.rglob("test_app.sym"))
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[symbols_server]\nprot = 8000\n", ":2: unknown setting 'symbols_server.prot'"),
        ('[symbols_server]\nstore = "missing"\n', "symbols_server.store: "),
        ("[symbols_server]\nport = 8000\n", "no store to serve"),
    ],
)
def test_serve_configuration_errors_are_one_line(tmp_path, capsys, text, message):
    config = tmp_path / "crashproc.toml"
    config.write_text(text, encoding="utf-8")
    assert main(["serve", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_token_makes_a_token_and_the_hash_to_configure(capsys, monkeypatch):
    assert main(["token"]) == 0
    token_line, hash_line = capsys.readouterr().out.splitlines()
    token = token_line.removeprefix("token: ")
    assert len(token) >= 40
    assert hash_line.startswith(f'upload_token_sha256 = "{token_digest(token)}"')
    monkeypatch.setattr(sys, "stdin", io.StringIO("my-token\n"))
    assert main(["token", "--from-stdin"]) == 0
    assert capsys.readouterr().out.startswith(f'upload_token_sha256 = "{token_digest("my-token")}"')
