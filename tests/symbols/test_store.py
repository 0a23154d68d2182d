"""Symbol store layout, name safety, zip safety, code-info index and the CLI."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pytest

from symbols.cli import main
from symbols.errors import StoreError, UnsafeNameError
from symbols.names import code_info_sym_name, sym_file_name
from symbols.parser import parse_file
from symbols.store import SymbolStore
from tests.symbols.conftest import CRASH_CLIENT_SYM, TEST_APP_CODE_SYM, TEST_APP_ID
from tests.terminal import Terminal

SMALL = b"MODULE windows x86 ABCDEF0123456789ABCDEF01234567891 %s\nINFO CODE_ID 5F00AA1000 %s\n"
SMALL_BODY = b"FILE 0 a.c\nFUNC 10 10 0 f\n10 10 1 0\n"


def _small(debug_file: bytes = b"lib.pdb", code_file: bytes = b"lib.dll", body=SMALL_BODY):
    return SMALL % (debug_file, code_file) + body


def _files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_names() -> None:
    assert sym_file_name("c:\\build\\xul.PDB") == "xul.sym"
    assert sym_file_name("libxul.so") == "libxul.so.sym"
    assert code_info_sym_name("C:\\WINDOWS\\system32\\kernel32.dll") == "kernel32.sym"
    assert code_info_sym_name("c:\\test_app.exe") == "test_app.exe.sym"


@pytest.mark.parametrize("bad", ["..", ".", "a/b", "a\\b", "x\x00y", "/abs", "C:evil", "", "\n"])
def test_unsafe_names_refused(tmp_path: Path, bad: str) -> None:
    store = SymbolStore(tmp_path / "store")
    with pytest.raises(UnsafeNameError):
        store.path_for(bad, TEST_APP_ID)
    with pytest.raises(UnsafeNameError):
        store.path_for("ok.pdb", TEST_APP_ID, bad)
    with pytest.raises(UnsafeNameError):
        store.path_for("ok.pdb", bad + "zz")


def test_add_and_code_info_lookup(tmp_path: Path, testdata: Path) -> None:
    store = SymbolStore(tmp_path)
    [result] = store.add_path(TEST_APP_CODE_SYM)
    assert result.error is None
    assert result.path == tmp_path / "test_app.pdb" / TEST_APP_ID / "test_app.sym"
    assert result.path.read_bytes() == TEST_APP_CODE_SYM.read_bytes()
    found = store.lookup_code_info("test_app.exe", "45d35f6c2d000")
    assert (found.debug_file, found.debug_id) == ("test_app.pdb", TEST_APP_ID)
    # Windows code files have no case: XUL.DLL is xul.dll. Debug files keep theirs (as Tecken).
    upper = store.lookup_code_info("TEST_APP.EXE", "45D35F6C2D000")
    assert (upper.debug_file, upper.debug_id) == ("test_app.pdb", TEST_APP_ID)
    assert store.find("TEST_APP.PDB", TEST_APP_ID) is None
    assert store.lookup_code_info("../x", "45D35F6C2D000") is None
    assert store.find("test_app.pdb", TEST_APP_ID.lower()) == result.path
    assert _files_under(tmp_path / ".tmp") == set()


def test_lookup_query_uses_the_index(tmp_path: Path) -> None:
    store = SymbolStore(tmp_path)
    plan = " ".join(store.index.query_plan())
    assert "code_info_by_code_nocase" in plan
    assert "SCAN" not in plan


def test_newest_mapping_wins(tmp_path: Path) -> None:
    store = SymbolStore(tmp_path)
    first = _small()
    second = first.replace(
        b"ABCDEF0123456789ABCDEF01234567891", b"11111111111111111111111111111111A"
    )
    for data in (first, second):
        assert store.add_stream(io.BytesIO(data), "x").error is None
    assert (
        store.lookup_code_info("lib.dll", "5f00aa1000").debug_id
        == "11111111111111111111111111111111A"
    )


def test_escaping_module_name_refused(tmp_path: Path) -> None:
    store = SymbolStore(tmp_path / "store")
    for name in (b"..", b"../../evil.pdb", b"c:\\x\\evil.pdb", b"/etc/evil"):
        result = store.add_stream(io.BytesIO(_small(name)), "evil")
        assert result.error is not None and result.path is None
    assert all(f.startswith("store/.code-info") for f in _files_under(tmp_path))


def _zip(entries: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    buf.seek(0)
    return buf


def test_zip_upload(tmp_path: Path, testdata: Path) -> None:
    store = SymbolStore(tmp_path)
    archive = _zip(
        {
            "test_app.pdb/X/test_app.sym": TEST_APP_CODE_SYM.read_bytes(),
            "crash-client/Y/crash-client.sym": CRASH_CLIENT_SYM.read_bytes(),
            "README.txt": b"ignored",
        }
    )
    results = store.add_zip(archive)
    assert [r.error for r in results] == [None, None]
    assert store.lookup_code_info("crash-client", "509c0610949836f7b70bd88bcf03e540") is not None


@pytest.mark.parametrize("name", ["../evil.sym", "/abs/evil.sym", "a/../../evil.sym", "c:/x.sym"])
def test_zip_with_escaping_entry_refused(tmp_path: Path, name: str) -> None:
    store = SymbolStore(tmp_path / "store")
    archive = _zip({"ok/ID/ok.sym": _small(), name: _small(b"evil.pdb")})
    with pytest.raises(StoreError, match="absolute or climbs"):
        store.add_zip(archive)
    assert not any("evil" in f or f.startswith("lib.pdb") for f in _files_under(tmp_path))


def test_zip_bomb_refused(tmp_path: Path) -> None:
    store = SymbolStore(tmp_path)
    archive = _zip({"bomb.sym": _small() + b"\n" * (64 << 20)})
    with pytest.raises(StoreError, match="ratio"):
        store.add_zip(archive)
    assert not (tmp_path / "lib.pdb").exists()


def test_not_a_zip(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="zip"):
        SymbolStore(tmp_path).add_zip(io.BytesIO(b"PK\x03\x04 garbage"))


def test_size_limit_leaves_no_partial_file(tmp_path: Path) -> None:
    store = SymbolStore(tmp_path, max_file_size=1000)
    result = store.add_stream(io.BytesIO(_small() + b"FILE 1 x\n" * 500), "big")
    assert "larger than" in result.error
    assert _files_under(tmp_path / ".tmp") == set()
    assert not (tmp_path / "lib.pdb").exists()


DEFECTIVE = _small(body=b"INLINE_ORIGIN 7\nFUNC 10 10 0 tmpl<a\nb>\n10 10 1 0\n")


def test_defect_policies(tmp_path: Path) -> None:
    store = SymbolStore(tmp_path)
    refused = store.add_stream(io.BytesIO(DEFECTIVE), "d", on_defect="refuse")
    assert "defect" in refused.error and "line 3" in refused.error
    repaired = store.add_stream(io.BytesIO(DEFECTIVE), "d", on_defect="repair")
    assert [d.line_number for d in repaired.repaired] == [3, 5]
    sym = parse_file(str(repaired.path))
    assert sym.lookup(0x10).function == "tmpl<a b>"
    accepted = store.add_stream(io.BytesIO(DEFECTIVE), "d", on_defect="accept")
    assert accepted.path.read_bytes() == DEFECTIVE
    truncated = store.add_stream(io.BytesIO(_small() + b"FILE 9"), "t", on_defect="repair")
    assert "truncated" in truncated.error


def test_reindex_is_resumable(tmp_path: Path, testdata: Path) -> None:
    store = SymbolStore(tmp_path)
    store.add_path(TEST_APP_CODE_SYM)
    (tmp_path / ".code-info.sqlite3").unlink()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f".code-info.sqlite3{suffix}").unlink(missing_ok=True)
    store = SymbolStore(tmp_path)
    assert store.lookup_code_info("test_app.exe", "45D35F6C2D000") is None
    seen = []
    assert store.reindex(progress=lambda d, t: seen.append((d, t))) == (1, [])
    assert seen == [(1, 1)]
    assert store.lookup_code_info("test_app.exe", "45D35F6C2D000").debug_id == TEST_APP_ID
    assert store.reindex() == (0, [])  # already indexed: nothing to redo


def test_cli_index_progress_bar_on_a_terminal_only(
    tmp_path: Path, testdata: Path, monkeypatch, capsys
) -> None:
    store = tmp_path / "store"
    SymbolStore(store).add_path(TEST_APP_CODE_SYM)
    SymbolStore(store).add_path(CRASH_CLIENT_SYM)
    index = store / ".code-info.sqlite3"
    terminal = Terminal()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", terminal.stream)
        index.unlink()
        assert main(["index", str(store)]) == 0
    final = terminal.text().rstrip("\r\n").split("\r")[-1]
    assert final.startswith("indexing: 100%") and " 2/2 " in final
    capsys.readouterr()
    index.unlink()
    assert main(["index", str(store)]) == 0  # stderr is no terminal here
    assert capsys.readouterr() == ("indexed 2 file(s)\n", "")


def test_cli_add_index_lookup(tmp_path: Path, testdata: Path, capsys) -> None:
    store = tmp_path / "store"
    assert main(["add", str(store), str(TEST_APP_CODE_SYM)]) == 0
    assert main(["index", str(store), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["lookup", str(store), "test_app.exe", "45d35f6c2d000"]) == 0
    assert capsys.readouterr().out.strip() == f"test_app.pdb {TEST_APP_ID}"
    assert main(["lookup", str(store), "test_app.exe", "0"]) == 1
    bad = tmp_path / "bad.sym"
    bad.write_bytes(DEFECTIVE)
    assert main(["add", str(store), str(bad)]) == 1
    assert main(["check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "line 3: inline-origin-without-name" in out and "line 5: split-name" in out
    assert main(["repair", str(bad), "-o", str(tmp_path / "fixed.sym")]) == 0
    assert main(["check", str(tmp_path / "fixed.sym")]) == 0
