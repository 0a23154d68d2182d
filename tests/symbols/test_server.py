"""The Tecken-compatible server, exercised over real HTTP on 127.0.0.1.

The acceptance test runs rust-minidump's own minidump-stackwalk against the server: a
dump whose module has no debug id must symbolicate exactly like the original dump.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from symbols.server import start_background
from symbols.store import SymbolStore
from tests.symbols.conftest import (
    CRASH_CLIENT_SYM,
    TEST_APP_CODE_SYM,
    TEST_APP_ID,
    TEST_APP_SYM,
    run_peer,
)

TOKEN = "s3cret-token"
SYM_PATH = f"/test_app.pdb/{TEST_APP_ID}/test_app.sym"


@pytest.fixture
def server(tmp_path: Path, testdata: Path) -> Iterator[tuple[str, SymbolStore]]:
    store = SymbolStore(tmp_path / "store")
    store.add_path(TEST_APP_CODE_SYM)
    srv = start_background(store.root, token=TOKEN)
    try:
        yield f"http://127.0.0.1:{srv.server_port}", store
    finally:
        srv.shutdown()
        srv.server_close()


def test_download_get_head_gzip(server) -> None:
    base, _ = server
    expected = TEST_APP_CODE_SYM.read_bytes()
    plain = requests.get(base + SYM_PATH, headers={"Accept-Encoding": "identity"}, timeout=10)
    assert plain.status_code == 200
    assert plain.headers["Content-Length"] == str(len(expected))
    assert plain.content == expected
    assert plain.headers["Access-Control-Allow-Origin"] == "*"
    zipped = requests.get(base + SYM_PATH.replace(TEST_APP_ID, TEST_APP_ID.lower()), timeout=10)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.content == expected
    head = requests.head(base + SYM_PATH, headers={"Accept-Encoding": "identity"}, timeout=10)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["Content-Length"] == str(len(expected))


def test_not_found_and_ignored(server) -> None:
    base, _ = server
    r = requests.get(base + f"/other.pdb/{TEST_APP_ID}/other.sym", timeout=10)
    assert (r.status_code, r.text) == (404, "Symbol Not Found")
    for path in (
        f"/x.pdb/{'0' * 33}/x.sym",
        f"/x.pdb/{TEST_APP_ID}/file.ptr",
        f"/x.pdb/{TEST_APP_ID}/x.txt",
    ):
        r = requests.get(base + path, timeout=10)
        assert (r.status_code, r.text) == (404, "Symbol Not Found (and ignored)")
    r = requests.get(base + "/a/NOTHEX/b.sym", timeout=10)
    assert r.status_code == 404 and r.json() == {"error": "Not Found", "path": "/a/NOTHEX/b.sym"}
    r = requests.get(base + "/a%5Cb/ABC/b.sym", timeout=10)  # backslash in a name
    assert r.status_code == 404 and r.json()["error"] == "Not Found"
    r = requests.post(base + SYM_PATH, timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"


def test_code_info_redirect(server) -> None:
    base, _ = server
    query = "?code_file=test_app.exe&code_id=45d35f6c2d000"
    r = requests.get(
        base + "/test_app.exe/45d35f6c2d000/test_app.exe.sym" + query,
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 302
    assert r.headers["Location"] == SYM_PATH + query
    followed = requests.get(base + "/test_app.exe/45D35F6C2D000/test_app.exe.sym", timeout=10)
    assert followed.status_code == 200 and followed.url.endswith(SYM_PATH)
    # A Windows code file has no case: the loader's TEST_APP.EXE is the indexed test_app.exe.
    r = requests.get(
        base + "/TEST_APP.EXE/45D35F6C2D000/TEST_APP.sym", allow_redirects=False, timeout=10
    )
    assert (r.status_code, r.headers["Location"]) == (302, SYM_PATH)
    # Unknown code id, a debug file in another case, or an id as long as a debug id: 404.
    for path in (
        "/test_app.exe/45D35F6C2D001/test_app.exe.sym",
        SYM_PATH.replace("test_app.pdb", "TEST_APP.PDB"),
        f"/test_app.exe/{'4' * 33}/test_app.exe.sym",
    ):
        r = requests.get(base + path, allow_redirects=False, timeout=10)
        assert r.status_code == 404, path


def test_heartbeats(server) -> None:
    base, _ = server
    assert requests.get(base + "/__lbheartbeat__", timeout=10).status_code == 200
    r = requests.get(base + "/__heartbeat__", timeout=10)
    assert r.status_code == 200 and r.json()["checks"] == {"store": "ok", "index": "ok"}


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_upload(server) -> None:
    base, store = server
    archive = _zip({"crash-client/X/crash-client.sym": CRASH_CLIENT_SYM.read_bytes()})
    assert requests.post(base + "/upload/", data=archive, timeout=10).status_code == 403
    bad = requests.post(base + "/upload/", data=archive, headers={"Auth-Token": "nope"}, timeout=10)
    assert bad.status_code == 403
    r = requests.post(
        base + "/upload/",
        files={"symbols.zip": ("symbols.zip", archive)},
        headers={"Auth-Token": TOKEN},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    assert r.json()["upload"]["stored"] == [
        "crash-client/509C0610949836F7B70BD88BCF03E5400/crash-client.sym"
    ]
    got = requests.get(
        base + "/crash-client/509C0610949836F7B70BD88BCF03E5400/crash-client.sym", timeout=10
    )
    assert got.content == CRASH_CLIENT_SYM.read_bytes()
    assert store.lookup_code_info("crash-client", "509C0610949836F7B70BD88BCF03E540") is not None
    raw = requests.post(
        base + "/upload/",
        data=_zip({"a/b/test_app.sym": TEST_APP_SYM.read_bytes()}),
        headers={"Auth-Token": TOKEN, "Content-Type": "application/zip"},
        timeout=30,
    )
    assert raw.status_code == 201
    assert requests.get(base + "/upload/", timeout=10).status_code == 405


@pytest.mark.parametrize(
    "body",
    [
        _zip({"../../escape.sym": b"MODULE a b ABC0 escape.pdb\n"}),
        b"this is not a zip",
    ],
)
def test_bad_uploads_refused(server, body: bytes, tmp_path: Path) -> None:
    base, store = server
    before = {p for p in tmp_path.rglob("*")}
    r = requests.post(base + "/upload/", data=body, headers={"Auth-Token": TOKEN}, timeout=10)
    assert r.status_code == 400 and "error" in r.json()
    after = {p for p in tmp_path.rglob("*") if not p.name.startswith(".code-info")}
    assert after <= before
    assert list((store.root / ".tmp").iterdir()) == []


def test_peer_symbolicates_dump_without_debug_id(
    server, peer: Path, testdata: Path, tmp_path: Path
) -> None:
    base, _ = server
    reference = run_peer(peer, testdata / "test.dmp", str(testdata / "symbols"))
    (tmp_path / "cache").mkdir()
    via_server = run_peer(
        peer,
        testdata / "test-no-debug-id.dmp",
        "--symbols-url",
        base + "/",
        "--symbols-cache",
        str(tmp_path / "cache"),
        "--symbols-tmp",
        str(tmp_path),
    )
    assert via_server["threads"] == reference["threads"]
    assert via_server["crashing_thread"] == reference["crashing_thread"]
    frame0 = via_server["crashing_thread"]["frames"][0]
    assert frame0["function"] == "`anonymous namespace'::CrashFunction"
    module = via_server["modules"][0]
    assert (module["debug_file"], module["debug_id"]) == ("test_app.pdb", TEST_APP_ID)
    assert module["symbol_url"] == (
        base + SYM_PATH + "?code_file=test_app.exe&code_id=45d35f6c2d000"
    )
    # Without the server the same dump stays unsymbolicated (the test can fail).
    bare = run_peer(peer, testdata / "test-no-debug-id.dmp")
    assert bare["crashing_thread"]["frames"][0]["function"] is None
    assert json.dumps(bare["threads"]) != json.dumps(reference["threads"])
