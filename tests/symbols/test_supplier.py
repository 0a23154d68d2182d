"""Suppliers: local stores, the download cache, HTTP misbehaviour, code-info redirects.

Every server here is real and local: our own symbols server, or a small scripted
http.server on 127.0.0.1 for the failure modes (503s, silence, 2 GB, garbage, foreign
redirects).
"""

from __future__ import annotations

import gzip
import threading
import time
from pathlib import Path

from symbols.fetch import HttpOptions
from symbols.parser import parse_file
from symbols.store import SymbolStore
from symbols.supplier import ModuleId, SymbolSupplier
from tests.scripted_http import reply as _reply
from tests.scripted_http import url_of as _url
from tests.symbols.conftest import TEST_APP_CODE_SYM, TEST_APP_ID, TEST_APP_SYM

TEST_APP = ModuleId(
    code_file="c:\\test_app.exe",
    code_id="45d35f6c2d000",
    debug_file="c:\\test_app.pdb",
    debug_id=TEST_APP_ID,
)
NO_DEBUG_ID = ModuleId(
    code_file="c:\\test_app.exe", code_id="45d35f6c2d000", debug_file="", debug_id="0" * 33
)
FAST = HttpOptions(connect_timeout=2, read_timeout=1, deadline=4, retries=2, backoff=0.05)
SYM_REL = ("test_app.pdb", TEST_APP_ID, "test_app.sym")
MODULE_LINE = f"MODULE windows x86 {TEST_APP_ID} test_app.pdb\n".encode()


def _no_partial_files(cache: Path) -> None:
    assert not any(p.is_file() for p in (cache / ".tmp").glob("*"))
    assert not cache.joinpath(*SYM_REL).exists()


def test_local_store_and_file_paths(tmp_path: Path, testdata: Path) -> None:
    store = SymbolStore(tmp_path / "store")
    store.add_path(TEST_APP_CODE_SYM)
    result = SymbolSupplier([tmp_path / "empty", store.root]).locate(TEST_APP)
    assert result.path == store.root.joinpath(*SYM_REL)
    assert [a.outcome for a in result.attempts] == ["not-found", "found"]
    # A path that is a .sym file is used when its MODULE id is the module's debug id.
    assert SymbolSupplier([TEST_APP_SYM]).locate(TEST_APP).path == TEST_APP_SYM
    other = ModuleId(debug_file="test_app.pdb", debug_id="1" * 33)
    assert SymbolSupplier([TEST_APP_SYM]).locate(other).path is None


def test_code_info_from_local_index(tmp_path: Path, testdata: Path) -> None:
    store = SymbolStore(tmp_path / "store")
    store.add_path(TEST_APP_CODE_SYM)
    result = SymbolSupplier([store.root]).locate(NO_DEBUG_ID)
    assert result.from_code_info and (result.debug_file, result.debug_id) == SYM_REL[:2]
    assert result.path == store.root.joinpath(*SYM_REL)
    missing = SymbolSupplier([store.root]).locate(ModuleId(code_file="x.dll", code_id="12"))
    assert missing.path is None and "not-found" in missing.why_missing()


def test_http_code_info_download_and_cache(tmp_path: Path, store_server) -> None:
    base, srv = store_server
    cache = tmp_path / "cache"
    supplier = SymbolSupplier(symbols_urls=[base], cache_dir=cache, options=FAST)
    result = supplier.locate(NO_DEBUG_ID)
    assert result.from_code_info and result.debug_id == TEST_APP_ID
    expected_url = base + "/".join(SYM_REL) + "?code_file=test_app.exe&code_id=45d35f6c2d000"
    assert result.url == expected_url
    cached = cache.joinpath(*SYM_REL)
    assert result.path == cached
    # Original bytes (served gzip-encoded) plus the INFO URL line rust-minidump appends.
    assert (
        cached.read_bytes()
        == TEST_APP_CODE_SYM.read_bytes() + f"INFO URL {expected_url}\n".encode()
    )
    assert parse_file(str(cached)).url == expected_url
    srv.shutdown()
    again = SymbolSupplier(symbols_urls=[base], cache_dir=cache, options=FAST).locate(TEST_APP)
    assert (again.path, again.url) == (cached, expected_url)


def test_404_is_remembered_for_a_bounded_time(tmp_path: Path, scripted) -> None:
    srv = scripted(lambda h: _reply(h, 404, b"Symbol Not Found"))
    cache = tmp_path / "cache"
    first = SymbolSupplier(symbols_urls=[_url(srv)], cache_dir=cache, options=FAST).locate(TEST_APP)
    assert first.path is None and first.attempts[-1].outcome == "not-found"
    assert len(srv.hits) == 1
    SymbolSupplier(symbols_urls=[_url(srv)], cache_dir=cache, options=FAST).locate(TEST_APP)
    assert len(srv.hits) == 1  # remembered
    SymbolSupplier(symbols_urls=[_url(srv)], cache_dir=cache, options=FAST, negative_ttl=0).locate(
        TEST_APP
    )
    assert len(srv.hits) == 2  # expired


def test_retries_then_success(tmp_path: Path, scripted, testdata: Path) -> None:
    body = TEST_APP_SYM.read_bytes()

    def flaky(h) -> None:
        if len(h.server.hits) <= 2:
            _reply(h, 503 if len(h.server.hits) == 1 else 429, b"busy")
        else:
            _reply(h, 200, body)

    srv = scripted(flaky)
    result = SymbolSupplier(
        symbols_urls=[_url(srv)], cache_dir=tmp_path / "c", options=FAST
    ).locate(TEST_APP)
    assert result.path is not None and len(srv.hits) == 3


def test_persistent_5xx_is_a_transient_error(tmp_path: Path, scripted) -> None:
    srv = scripted(lambda h: _reply(h, 502, b"bad gateway"))
    result = SymbolSupplier(
        symbols_urls=[_url(srv)], cache_dir=tmp_path / "c", options=FAST
    ).locate(TEST_APP)
    assert result.path is None
    assert result.attempts[-1].outcome == "transient-error"
    assert len(srv.hits) == FAST.retries + 1
    _no_partial_files(tmp_path / "c")


def test_server_that_never_answers(tmp_path: Path, scripted) -> None:
    release = threading.Event()
    srv = scripted(lambda h: release.wait(10))
    start = time.monotonic()
    result = SymbolSupplier(
        symbols_urls=[_url(srv)], cache_dir=tmp_path / "c", options=FAST
    ).locate(TEST_APP)
    elapsed = time.monotonic() - start
    release.set()
    assert result.attempts[-1].outcome == "timeout"
    assert elapsed < FAST.deadline + 1.5


def test_trickling_server_hits_the_deadline(tmp_path: Path, scripted) -> None:
    def trickle(h) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        for _ in range(200):
            h.wfile.write(b"F")
            h.wfile.flush()
            time.sleep(0.1)

    srv = scripted(trickle)
    options = HttpOptions(read_timeout=1, deadline=1.5, retries=0)
    start = time.monotonic()
    result = SymbolSupplier(
        symbols_urls=[_url(srv)], cache_dir=tmp_path / "c", options=options
    ).locate(TEST_APP)
    assert result.attempts[-1].outcome == "timeout"
    assert time.monotonic() - start < 4
    _no_partial_files(tmp_path / "c")


def test_too_large_responses(tmp_path: Path, scripted) -> None:
    declared = scripted(lambda h: _reply(h, 200, b"", {"Content-Length": str(2 << 30)}))

    def endless(h) -> None:
        h.send_response(200)
        h.end_headers()
        h.wfile.write(MODULE_LINE)
        for _ in range(100):
            h.wfile.write(b"FILE 1 " + b"a" * 65536 + b"\n")

    streamed = scripted(endless)
    options = HttpOptions(max_size=1 << 20, retries=0, read_timeout=2, deadline=5)
    for srv in (declared, streamed):
        result = SymbolSupplier(
            symbols_urls=[_url(srv)], cache_dir=tmp_path / "c", options=options
        ).locate(TEST_APP)
        assert result.attempts[-1].outcome == "too-large"
        _no_partial_files(tmp_path / "c")


def test_corrupt_download_not_cached_next_server_tried(
    tmp_path: Path, scripted, testdata: Path
) -> None:
    garbage = scripted(lambda h: _reply(h, 200, b"<html>not a sym file</html>\n"))
    good = scripted(lambda h: _reply(h, 200, TEST_APP_SYM.read_bytes()))
    result = SymbolSupplier(
        symbols_urls=[_url(garbage), _url(good)], cache_dir=tmp_path / "c", options=FAST
    ).locate(TEST_APP)
    assert [a.outcome for a in result.attempts] == ["corrupt", "found"]
    assert result.url.startswith(_url(good))


def test_code_info_redirect_to_other_host_needs_trust(
    tmp_path: Path, scripted, store_server
) -> None:
    base, _ = store_server
    foreign = base.replace("127.0.0.1", "localhost")
    redirector = scripted(lambda h: _reply(h, 302, b"", {"Location": foreign + "/".join(SYM_REL)}))
    urls = [_url(redirector)]
    refused = SymbolSupplier(symbols_urls=urls, cache_dir=tmp_path / "c", options=FAST).locate(
        NO_DEBUG_ID
    )
    assert refused.path is None
    assert "untrusted host" in refused.attempts[0].reason
    # The same redirect is followed when the host is trusted; the file then comes from
    # the configured server (which has it here: the redirector only answers code info).
    trusted = SymbolSupplier(
        symbols_urls=[*urls, base],
        cache_dir=tmp_path / "c2",
        options=FAST,
        trusted_hosts=["localhost"],
    ).locate(NO_DEBUG_ID)
    assert trusted.from_code_info and trusted.path is not None


def test_escaping_names_are_refused(tmp_path: Path, scripted) -> None:
    srv = scripted(lambda h: _reply(h, 302, b"", {"Location": "/../../etc/passwd/x.sym"}))
    result = SymbolSupplier(
        symbols_urls=[_url(srv)], cache_dir=tmp_path / "c", options=FAST
    ).locate(NO_DEBUG_ID)
    assert result.path is None and result.attempts[0].outcome == "refused"
    evil = ModuleId(debug_file="..", debug_id=TEST_APP_ID)
    result = SymbolSupplier(
        symbols_urls=[_url(srv)], cache_dir=tmp_path / "c", options=FAST
    ).locate(evil)
    assert result.attempts[0].outcome == "refused" and srv.hits == [
        "/test_app.exe/45D35F6C2D000/test_app.exe.sym"
    ]
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_rust_style_lowercase_age_directories_are_found(tmp_path: Path, testdata: Path) -> None:
    # rust-minidump writes ids in breakpad form: upper-case GUID, lower-case age.
    ident = "5A9832E5287241C1838ED98914E9B7FFa"
    target = tmp_path / "syms" / "test_app.pdb" / ident / "test_app.sym"
    target.parent.mkdir(parents=True)
    target.write_bytes(TEST_APP_SYM.read_bytes())
    module = ModuleId(debug_file="test_app.pdb", debug_id=ident)
    assert SymbolSupplier([tmp_path / "syms"]).locate(module).path == target


def test_gzip_bomb_is_too_large(tmp_path: Path, scripted) -> None:
    bomb = gzip.compress(
        MODULE_LINE + b"FILE 1 x\n" * 600_000
    )  # ~5 MB decoded, a few KB on the wire
    srv = scripted(lambda h: _reply(h, 200, bomb, {"Content-Encoding": "gzip"}))
    options = HttpOptions(max_size=1 << 20, retries=0, read_timeout=2, deadline=5)
    result = SymbolSupplier(
        symbols_urls=[_url(srv)], cache_dir=tmp_path / "c", options=options
    ).locate(TEST_APP)
    assert result.attempts[-1].outcome == "too-large"
    _no_partial_files(tmp_path / "c")
