"""Issue 18: what a symbols server sends back is not to be trusted either.

A body of endless "A"s, or a plausible start followed by no end, must cost bounded bytes on
disk and end refused; the download cache stays under its quota; a download follows a redirect
only to a trusted host (the rule code-info redirects follow); stored and cached files are
readable by the group (0666 less the umask); Windows code files match without case.

Every server is a real one on 127.0.0.1.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from symbols.atomic import file_mode
from symbols.fetch import HttpOptions
from symbols.store import SymbolStore
from symbols.supplier import ModuleId, SymbolSupplier
from tests.scripted_http import reply, url_of
from tests.symbols.conftest import TEST_APP_CODE_SYM, TEST_APP_ID, TEST_APP_SYM

TEST_APP = ModuleId("c:\\test_app.exe", "45d35f6c2d000", "c:\\test_app.pdb", TEST_APP_ID)
MODULE_LINE = f"MODULE windows x86 {TEST_APP_ID} test_app.pdb\n".encode()
LIMIT = 1 << 20
CHUNK = 64 * 1024
OPTIONS = HttpOptions(max_size=LIMIT, retries=0, read_timeout=5, deadline=20)


def bytes_under(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def endless(scripted, first: bytes, fill: bytes, cache: Path):
    """A server streaming `first` then `fill` forever (no Content-Length), until the client
    hangs up; it records the most bytes it ever saw under `cache` and how much it sent."""
    seen = {"max_on_disk": 0, "sent": 0}

    def script(handler) -> None:
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(first)
        block = fill * (CHUNK // len(fill))
        try:
            while seen["sent"] < (64 << 30):
                handler.wfile.write(block)
                seen["sent"] += len(block)
                if seen["sent"] % (16 * CHUNK) == 0 and cache.exists():
                    seen["max_on_disk"] = max(seen["max_on_disk"], bytes_under(cache))
        except OSError:
            pass  # the client hung up

    return scripted(script), seen


@pytest.mark.parametrize(
    ("first", "fill", "outcome"),
    [
        (b"", b"A", "corrupt"),  # 2 GB of "A": no MODULE record, refused on its first line
        (MODULE_LINE, b"FILE 1 a.c\n", "too-large"),  # a good start, then no end
    ],
)
def test_an_endless_body_is_refused_with_bounded_bytes_on_disk(
    tmp_path, scripted, first, fill, outcome
):
    cache = tmp_path / "cache"
    server, seen = endless(scripted, first, fill, cache)
    result = SymbolSupplier(symbols_urls=[url_of(server)], cache_dir=cache, options=OPTIONS).locate(
        TEST_APP
    )
    assert result.path is None
    assert result.attempts[-1].outcome == outcome, result.attempts
    # Never more than the limit and one chunk on disk; nothing left after.
    assert seen["max_on_disk"] <= LIMIT + CHUNK, seen
    assert bytes_under(cache) == 0
    if outcome == "corrupt":
        assert result.attempts[-1].reason == "does not start with a MODULE record"


def test_a_declared_length_over_the_limit_is_refused_before_the_body(tmp_path, scripted):
    server = scripted(lambda h: reply(h, 200, b"", {"Content-Length": str(3 << 30)}))
    result = SymbolSupplier(
        symbols_urls=[url_of(server)],
        cache_dir=tmp_path / "cache",
        options=HttpOptions(retries=0),  # the default limit, 2 GiB
    ).locate(TEST_APP)
    assert len(server.hits) == 1, "asked once: a refusal is no reason to retry"
    assert result.attempts[-1].outcome == "too-large"
    assert str(2 << 30) in result.attempts[-1].reason


def sym_file(n: int, size: int) -> tuple[ModuleId, bytes]:
    ident = f"{n:032X}1"
    body = f"MODULE windows x86 {ident} m{n}.pdb\nPUBLIC 1000 0 f{n}\n".encode()
    body += b"".join(f"FILE {i} f{i:06d}.c\n".encode() for i in range(size // 16))
    return ModuleId(f"m{n}.dll", None, f"m{n}.pdb", ident), body


def test_the_download_cache_keeps_to_its_quota_least_recently_used_first(tmp_path, scripted):
    files = dict(sym_file(n, 200_000) for n in range(1, 4))
    by_path = {f"/{m.debug_file}/{m.debug_id}/{m.debug_file[:-4]}.sym": b for m, b in files.items()}
    server = scripted(lambda h: reply(h, 200, by_path[h.path.split("?")[0]]))
    cache = tmp_path / "cache"
    size = len(next(iter(files.values())))
    supplier = SymbolSupplier(
        symbols_urls=[url_of(server)], cache_dir=cache, cache_max_bytes=2 * size + 1000
    )
    first, second, third = files
    a, b = supplier.locate(first), supplier.locate(second)
    assert a.found and b.found
    os.utime(a.path, ns=(1, a.path.stat().st_mtime_ns))  # first: used long ago ...
    assert supplier.locate(first).attempts[-1].reason == "download cache"  # ... and now again
    c = supplier.locate(third)  # over the quota: second, now the least recently used, goes
    assert c.found and a.path.exists() and not b.path.exists()
    assert bytes_under(cache) <= 2 * size + 1000
    assert len(server.hits) == 3


@pytest.fixture
def store_server(tmp_path):
    from symbols.server import start_background

    store = SymbolStore(tmp_path / "remote")
    store.add_path(TEST_APP_CODE_SYM)
    srv = start_background(store.root)
    yield f"http://127.0.0.1:{srv.server_port}/"
    srv.shutdown()
    srv.server_close()


def test_a_download_follows_redirects_to_trusted_hosts_only(tmp_path, scripted, store_server):
    # The same server by another name: "localhost" is another host unless trusted.
    elsewhere = store_server.replace("127.0.0.1", "localhost")
    redirector = scripted(lambda h: reply(h, 302, b"", {"Location": elsewhere + h.path[1:]}))
    untrusted = SymbolSupplier(
        symbols_urls=[url_of(redirector)], cache_dir=tmp_path / "a", options=OPTIONS
    ).locate(TEST_APP)
    assert untrusted.path is None
    assert (untrusted.attempts[-1].outcome, untrusted.attempts[-1].reason) == (
        "refused",
        "redirect to an untrusted host",
    )
    trusted = SymbolSupplier(
        symbols_urls=[url_of(redirector)],
        cache_dir=tmp_path / "b",
        options=OPTIONS,
        trusted_hosts=["LOCALHOST"],
    ).locate(TEST_APP)
    assert trusted.found and trusted.path.read_bytes().startswith(b"MODULE windows x86")

    # A redirect to its own host is always followed.
    def moved(handler) -> None:
        if handler.path.startswith("/moved/"):
            reply(handler, 200, TEST_APP_SYM.read_bytes())
        else:
            reply(handler, 301, b"", {"Location": "/moved" + handler.path})

    same = scripted(moved)
    own = SymbolSupplier(
        symbols_urls=[url_of(same)], cache_dir=tmp_path / "c", options=OPTIONS
    ).locate(TEST_APP)
    assert own.found and len(same.hits) == 2


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_stored_and_cached_files_follow_the_umask(tmp_path, scripted, umask):
    old = os.umask(umask)
    try:
        assert file_mode() == 0o666 & ~umask
        store = SymbolStore(tmp_path / "store")
        [added] = store.add_path(TEST_APP_SYM)
        server = scripted(lambda h: reply(h, 200, TEST_APP_SYM.read_bytes()))
        cached = SymbolSupplier(
            symbols_urls=[url_of(server)], cache_dir=tmp_path / "cache", options=OPTIONS
        ).locate(TEST_APP)
    finally:
        os.umask(old)
    for path in (added.path, cached.path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path


def test_code_files_match_without_case(tmp_path):
    store = SymbolStore(tmp_path / "store")
    store.add_path(TEST_APP_CODE_SYM)
    for code_file in ("C:\\Windows\\TEST_APP.EXE", "test_app.exe", "Test_App.Exe"):
        module = ModuleId(code_file, "45D35F6C2D000", None, None)
        found = SymbolSupplier([store.root]).locate(module)
        assert found.from_code_info and found.found, code_file
        assert (found.debug_file, found.debug_id) == ("test_app.pdb", TEST_APP_ID)
    # Ids keep their meaning: another code id is another module.
    other = SymbolSupplier([store.root]).locate(ModuleId("TEST_APP.EXE", "45D35F6C2D001"))
    assert not other.found
