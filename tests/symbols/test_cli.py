"""`symbols locate` and `symbols symbolicate` end to end; flags named as in crashproc."""

from __future__ import annotations

from pathlib import Path

import pytest

from symbols.cli import main
from symbols.server import start_background
from symbols.store import SymbolStore
from tests.symbols.conftest import CRASH_CLIENT_SYM, TEST_APP_CODE_SYM, TEST_APP_ID


def test_locate_through_a_server(tmp_path: Path, testdata: Path, capsys) -> None:
    store = SymbolStore(tmp_path / "store")
    store.add_path(TEST_APP_CODE_SYM)
    srv = start_background(store.root)
    try:
        base = f"http://127.0.0.1:{srv.server_port}/"
        args = [
            "locate",
            "--code-file",
            "c:\\test_app.exe",
            "--code-id",
            "45d35f6c2d000",
            "--symbols-url",
            base,
            "--symbols-cache",
            str(tmp_path / "cache"),
        ]
        assert main(args) == 0
        out, err = capsys.readouterr()
        assert f"test_app.pdb {TEST_APP_ID} (via code info)" in out
        assert "code-info redirect" in err
        assert (
            main(
                [
                    "locate",
                    "--code-file",
                    "x.dll",
                    "--code-id",
                    "1",
                    "--symbols-url",
                    base,
                    "--symbols-cache",
                    str(tmp_path / "cache"),
                ]
            )
            == 1
        )
        assert "not-found" in capsys.readouterr().err
    finally:
        srv.shutdown()
        srv.server_close()


def test_symbolicate(tmp_path: Path, testdata: Path, capsys) -> None:
    assert main(["symbolicate", str(CRASH_CLIENT_SYM), "423d", "zz"]) == 2
    assert main(["symbolicate", str(CRASH_CLIENT_SYM), "423d", "--cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("0x423d\tcrash_client::main+0xe3d\t") and out[0].endswith(":142")
    assert out[1].startswith("\t(inlined) crash_client::real_main::{closure#1}")
    bad = tmp_path / "bad.sym"
    bad.write_bytes(b"MODULE a b C0 bad\nFILE 1")
    assert main(["symbolicate", str(bad), "0"]) == 1


def test_locate_flags_are_named_as_crashproc_process_names_them(tmp_path: Path, capsys) -> None:
    store = SymbolStore(tmp_path / "store")
    store.add_path(TEST_APP_CODE_SYM)
    module = ["--debug-file", "test_app.pdb", "--debug-id", TEST_APP_ID]
    for flags in (
        ["--symbols-path", str(store.root), "--symbols-trusted-host", "example.com"],
        # The former name still works (hidden from --help).
        ["--symbols-path", str(store.root), "--trusted-host", "example.com"],
    ):
        assert main(["locate", *module, *flags, "--symbols-timeout", "5"]) == 0
        assert capsys.readouterr().out.startswith(str(store.root))
    with pytest.raises(SystemExit):
        main(["locate", "--help"])
    text = capsys.readouterr().out
    assert "--symbols-trusted-host HOST" in text and "--trusted-host" not in text
