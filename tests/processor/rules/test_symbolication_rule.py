"""SymbolicationRule: code-info recovery of a module without a debug id, end to end.

The crash is the sample made from tests/data/test-no-debug-id.dmp: its stored
stackwalker output was walked without test_app's symbols, and its module list has no debug
file or id for test_app.exe. Symbols come from (a) a local store, (b) our own symbols server
over HTTP on 127.0.0.1, (c) real local servers that fail (500, silence, a redirect to a host
that is not trusted). No mocks.
"""

from __future__ import annotations

import io
import json
import shutil
import threading
from pathlib import Path

import pytest

from processor import cli
from processor.config import Settings
from processor.crashdir import load_crash_dir
from processor.resources.symbols import public_location
from processor.rules.symbolication import (
    CODE_INFO_FAILED,
    NOT_FOUND,
    TRANSIENT,
    DumpFrames,
    SymbolicationRule,
)
from processor.runner import CrashProcessor
from processor.status import Status
from schemas.library import load_schema
from symbols.server import start_background
from symbols.store import SymbolStore
from tests.scripted_http import reply, url_of

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "examples" / "crashes"
RECOVERED_NOTE = (
    "code-info lookup: test_app.exe/45D35F6C2D000 -> test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1"
)


@pytest.fixture
def code_id_store(testdata_dir: Path) -> Path:
    return testdata_dir / "symbols-with-code-id"


@pytest.fixture
def no_debug_id_crash(tmp_path: Path) -> Path:
    crash = tmp_path / "no-debug-id"
    shutil.copytree(SAMPLES / "no-debug-id", crash)
    return crash


def process(crash_dir: Path, **settings) -> dict:
    settings.setdefault("stackwalker", "none")
    processor = CrashProcessor(Settings(**settings))
    try:
        return processor.process(load_crash_dir(crash_dir))
    finally:
        processor.close()


def crashing_functions(processed: dict) -> list:
    return [f["function"] for f in processed["json_dump"]["crashing_thread"]["frames"]]


def test_stored_output_really_lacks_the_debug_id() -> None:
    stored = json.loads((SAMPLES / "no-debug-id" / "upload_file_minidump.json").read_text())
    test_app = stored["modules"][0]
    assert (test_app["filename"], test_app["debug_file"]) == ("test_app.exe", "")
    assert set(test_app["debug_id"]) == {"0"}
    assert crashing_functions({"json_dump": stored})[:3] == [None, None, None]


def test_local_store_recovers_the_module_and_the_signature(
    tmp_path: Path, no_debug_id_crash: Path, code_id_store: Path
) -> None:
    before = sorted(p.name for p in code_id_store.rglob("*"))
    processed = process(
        no_debug_id_crash, symbols_paths=[str(code_id_store)], symbols_cache=tmp_path / "cache"
    )
    # The same crash with its debug id, walked with the plain symbols.
    reference = process(
        SAMPLES / "windows-x86-test-app",
        stackwalker="builtin",
        symbols_paths=[str(code_id_store.parent / "symbols")],
        symbols_cache=tmp_path / "cache2",
    )

    assert processed["signature"] == reference["signature"]
    assert processed["signature"] == "(anonymous namespace)::CrashFunction"
    assert crashing_functions(processed) == crashing_functions(reference)
    ours = processed["json_dump"]["crashing_thread"]["frames"][0]
    theirs = reference["json_dump"]["crashing_thread"]["frames"][0]
    for key in ("function", "function_offset", "file", "line", "module_offset", "inlines"):
        assert ours[key] == theirs[key], key

    module = processed["json_dump"]["modules"][0]
    assert (module["debug_file"], module["debug_id"]) == (
        "test_app.pdb",
        "5A9832E5287241C1838ED98914E9B7FF1",
    )
    assert (module["loaded_symbols"], module["missing_symbols"]) == (True, False)
    assert RECOVERED_NOTE in processed["processor_notes"].splitlines()
    assert processed["symbolication"]["recovered_modules"] == [
        {
            "filename": "test_app.exe",
            "code_id": "45d35f6c2d000",
            "debug_file": "test_app.pdb",
            "debug_id": "5A9832E5287241C1838ED98914E9B7FF1",
            "symbols_found": True,
        }
    ]
    # kernel32 has a debug id but no symbols anywhere: missing, with the place tried.
    [kernel32] = processed["symbolication"]["missing_modules"]
    assert (kernel32["filename"], kernel32["reason"]) == ("kernel32.dll", NOT_FOUND)
    assert "no such local file" in kernel32["tried"][0]
    assert processed["success"] is True
    load_schema("processed_crash").validate(processed)
    # The store was only read: its index was built in our cache directory.
    assert sorted(p.name for p in code_id_store.rglob("*")) == before
    assert list((tmp_path / "cache" / "indexes").glob("*.sqlite3"))


def test_our_symbols_server_over_http(
    tmp_path: Path, no_debug_id_crash: Path, code_id_store: Path
) -> None:
    store = SymbolStore(tmp_path / "served")
    store.add_path(next(code_id_store.rglob("*.sym")))
    server = start_background(store.root)
    base = f"http://127.0.0.1:{server.server_port}/"
    try:
        processed = process(
            no_debug_id_crash, symbols_urls=[base], symbols_cache=tmp_path / "cache"
        )
    finally:
        server.shutdown()
        server.server_close()
    assert processed["signature"] == "(anonymous namespace)::CrashFunction"
    assert RECOVERED_NOTE in processed["processor_notes"].splitlines()
    module = processed["json_dump"]["modules"][0]
    assert module["loaded_symbols"] is True
    # The rule recorded the download URL; ModuleURLRewriteRule then removed it because a
    # server on 127.0.0.1 means nothing to readers of the crash.
    assert (
        "Redacting symbol url for module test_app.exe" in processed["processor_notes"].splitlines()
    )
    assert module["symbol_url"] is None
    [kernel32] = processed["symbolication"]["missing_modules"]
    assert kernel32["reason"] == NOT_FOUND


def _hang(release: threading.Event):
    return lambda handler: release.wait(20)


@pytest.mark.parametrize("failure", ["500", "hang", "foreign-redirect"])
def test_failing_servers_leave_the_module_missing_and_the_crash_saved(
    tmp_path: Path, no_debug_id_crash: Path, scripted, failure: str
) -> None:
    release = threading.Event()
    foreign = (
        "http://symbols.example.invalid/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"
    )
    script = {
        "500": lambda h: reply(h, 500, b"internal error"),
        "hang": _hang(release),
        "foreign-redirect": lambda h: reply(h, 302, b"", {"Location": foreign}),
    }[failure]
    server = scripted(script)
    env = {
        "CRASHPROC_SYMBOLS_URL": url_of(server),
        "CRASHPROC_SYMBOLS_CACHE": str(tmp_path / "cache"),
        "CRASHPROC_SYMBOLS_TIMEOUT": "2",
    }
    out_dir = tmp_path / "out"
    stdout = io.StringIO()
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            code = cli.run(
                ["process", "--stackwalker", "none", "--out", str(out_dir), str(no_debug_id_crash)],
                stdout,
            )
    finally:
        release.set()
    assert code == 0
    [saved] = list(out_dir.glob("*.json"))
    processed = json.loads(saved.read_text())
    missing = {m["filename"]: m for m in processed["symbolication"]["missing_modules"]}
    expected = TRANSIENT if failure in ("500", "hang") else CODE_INFO_FAILED
    assert missing["test_app.exe"]["reason"] == expected
    assert processed["json_dump"]["modules"][0]["missing_symbols"] is True
    assert crashing_functions(processed)[0] is None
    notes = processed["processor_notes"]
    assert "missing symbols: test_app.exe/45d35f6c2d000: " + expected in notes
    if failure == "foreign-redirect":
        assert "untrusted host" in notes
        assert "symbols.example.invalid" not in notes  # only the server we asked is named
    if failure == "hang":
        assert "timeout" in missing["test_app.exe"]["tried"][0]
    assert processed["signature"]  # the crash still gets a signature
    load_schema("processed_crash").validate(processed)


def test_no_symbol_source_means_the_rule_does_not_run(run_rule) -> None:
    processed = {"json_dump": {"modules": [{"filename": "a.dll", "missing_symbols": True}]}}
    dumps = {"upload_file_minidump": "/nonexistent"}
    status = run_rule(SymbolicationRule(None), processed_crash=processed, dumps=dumps)
    assert status.notes == [] and "symbolication" not in processed


def test_additional_minidumps_are_symbolicated_in_place(
    tmp_path: Path, code_id_store: Path
) -> None:
    from processor.resources.symbols import build_symbol_provider

    stored = json.loads((SAMPLES / "no-debug-id" / "upload_file_minidump.json").read_text())
    processed = {"json_dump": {}, "upload_file_minidump_browser": {"json_dump": stored}}
    dumps = {"upload_file_minidump": "/x", "upload_file_minidump_browser": "/y"}
    provider = build_symbol_provider(
        Settings(symbols_paths=[str(code_id_store)], symbols_cache=tmp_path / "c")
    )
    status = Status()
    SymbolicationRule(provider).act(
        raw_crash={}, dumps=dumps, processed_crash=processed, tmpdir="/tmp", status=status
    )
    browser = processed["upload_file_minidump_browser"]
    assert browser["symbolication"]["recovered_modules"][0]["debug_file"] == "test_app.pdb"
    assert "symbolication" not in processed
    assert status.notes[0] == "upload_file_minidump_browser: " + RECOVERED_NOTE
    # threads and the crashing_thread copy are both filled in
    assert browser["json_dump"]["threads"][0]["frames"][1]["function"] == "main"
    assert browser["json_dump"]["crashing_thread"]["frames"][1]["function"] == "main"


def test_frames_are_grouped_by_address_not_by_name() -> None:
    dump = {
        "system_info": {"cpu_arch": "amd64"},
        "modules": [
            {
                "filename": "a.so",
                "base_addr": "0x0000000000001000",
                "end_addr": "0x0000000000002000",
            },
            {
                "filename": "a.so",
                "base_addr": "0x0000000000005000",
                "end_addr": "0x0000000000006000",
            },
        ],
        "threads": [
            {
                "frames": [
                    {"offset": "0x0000000000005010", "function": None},
                    {"offset": "0x0000000000001fff", "function": None},
                    {"offset": "0x0000000000009000", "function": None},
                    {"offset": "garbage", "function": None},
                ]
            }
        ],
    }
    frames = DumpFrames(dump)
    assert frames.width == 16
    assert [f["offset"] for f in frames.unsymbolicated(0)] == ["0x0000000000001fff"]
    assert [f["offset"] for f in frames.unsymbolicated(1)] == ["0x0000000000005010"]


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        (
            "https://user:secret@sym.example.com:8443/a/b.sym?token=x",
            "https://sym.example.com:8443/a/b.sym",
        ),
        (
            "http://127.0.0.1:9/x.pdb/ID/x.sym?code_file=x.exe&code_id=1",
            "http://127.0.0.1:9/x.pdb/ID/x.sym",
        ),
        ("/srv/symbols/x.pdb/ID/x.sym", "/srv/symbols/x.pdb/ID/x.sym"),
    ],
)
def test_public_locations_drop_credentials_and_queries(location: str, shown: str) -> None:
    assert public_location(location) == shown


def test_summary_counts_recovered_modules(
    tmp_path: Path, no_debug_id_crash: Path, code_id_store: Path
) -> None:
    out = io.StringIO()
    argv = ["process", "--stackwalker", "none", "--format", "summary"]
    argv += ["--symbols-path", str(code_id_store), "--symbols-cache", str(tmp_path / "c")]
    assert cli.run([*argv, str(no_debug_id_crash)], out) == 0
    assert "(anonymous namespace)::CrashFunction" in out.getvalue()
    assert "code-info-recovered=1" in out.getvalue()
