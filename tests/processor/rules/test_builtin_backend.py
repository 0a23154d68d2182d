"""The built-in stackwalker as the processor's backend: in-process walks through the shared
symbol provider, code-info recovery during the walk, walking a stored output's dump again
after recovery, and unreadable dumps as notes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from processor.config import Settings
from processor.crashdir import load_crash_dir
from processor.runner import CrashProcessor

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "examples" / "crashes"
RECOVERED_NOTE = (
    "code-info lookup: test_app.exe/45D35F6C2D000 -> test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1"
)


def crash_dir(tmp_path: Path, dump: Path, name: str = "crash") -> Path:
    """A crash directory holding only `dump` and the windows sample's annotations."""
    target = tmp_path / name
    target.mkdir()
    shutil.copy(SAMPLES / "windows-x86-test-app" / "raw_crash.json", target)
    raw = json.loads((target / "raw_crash.json").read_text())
    raw.pop("uuid", None)
    (target / "raw_crash.json").write_text(json.dumps(raw))
    shutil.copy(dump, target / "upload_file_minidump")
    return target


def process(path: Path, tmp_path: Path, **settings) -> dict:
    settings.setdefault("symbols_cache", tmp_path / "cache")
    processor = CrashProcessor(Settings(**settings))
    try:
        return processor.process(load_crash_dir(path))
    finally:
        processor.close()


def frames(processed: dict) -> list[tuple]:
    return [
        (f["module"], f["module_offset"], f["function"], f["trust"])
        for f in processed["json_dump"]["crashing_thread"]["frames"]
    ]


@pytest.fixture
def expected(testdata_dir: Path) -> dict:
    return json.loads((testdata_dir / "expected" / "test.dmp.symbols.json").read_text())


def test_builtin_walk_matches_the_reference_output(
    tmp_path: Path, testdata_dir: Path, expected: dict
) -> None:
    crash = crash_dir(tmp_path, testdata_dir / "test.dmp")
    processed = process(
        crash, tmp_path, stackwalker="builtin", symbols_paths=[str(testdata_dir / "symbols")]
    )
    assert processed["stackwalk_version"].startswith("crashproc-stackwalk ")
    assert processed["mdsw_status_string"] == "OK" and processed["success"] is True
    assert frames(processed) == frames({"json_dump": expected})
    assert processed["signature"] == "(anonymous namespace)::CrashFunction"


def test_code_info_recovery_during_the_walk(
    tmp_path: Path, testdata_dir: Path, expected: dict
) -> None:
    crash = crash_dir(tmp_path, testdata_dir / "test-no-debug-id.dmp")
    processed = process(
        crash,
        tmp_path,
        stackwalker="builtin",
        symbols_paths=[str(testdata_dir / "symbols-with-code-id")],
    )
    assert RECOVERED_NOTE in processed["processor_notes"].splitlines()
    assert [r["debug_file"] for r in processed["symbolication"]["recovered_modules"]] == [
        "test_app.pdb"
    ]
    # With the recovered module's CFI the walk is the same as with the debug id.
    assert frames(processed) == frames({"json_dump": expected})
    assert processed["signature"] == "(anonymous namespace)::CrashFunction"


def process_stored_sample(tmp_path: Path, testdata_dir: Path, stackwalker: str) -> dict:
    """The no-debug-id sample (a stored output, test_app without ids) with code-info symbols."""
    crash = tmp_path / "no-debug-id"
    shutil.copytree(SAMPLES / "no-debug-id", crash)
    symbols = [str(testdata_dir / "symbols-with-code-id")]
    return process(crash, tmp_path, stackwalker=stackwalker, symbols_paths=symbols)


def test_stored_output_is_walked_again_after_recovery(
    tmp_path: Path, testdata_dir: Path, expected: dict
) -> None:
    processed = process_stored_sample(tmp_path, testdata_dir, "builtin")
    notes = processed["processor_notes"].splitlines()
    assert RECOVERED_NOTE in notes
    assert any(n.startswith("walked again by the built-in stackwalker") for n in notes)
    assert processed["stackwalk_version"].startswith("crashproc-stackwalk ")
    # The stored output was walked without test_app's CFI (frame-pointer frames); the
    # second walk has it.
    assert frames(processed) == frames({"json_dump": expected})
    assert len(processed["symbolication"]["recovered_modules"]) == 1


def test_stored_output_without_builtin_is_only_symbolicated(
    tmp_path: Path, testdata_dir: Path
) -> None:
    processed = process_stored_sample(tmp_path, testdata_dir, "none")
    assert processed["stackwalk_version"] == "precomputed"
    assert [t for *_, t in frames(processed)] == [
        "context",
        "frame_pointer",
        "frame_pointer",
        "frame_pointer",
    ]
    assert "walked again" not in processed["processor_notes"]


@pytest.mark.parametrize(
    "dump", ["invalid-record-count.dmp", "invalid-range.dmp", "truncated", "garbage"]
)
def test_unreadable_dumps_become_notes(tmp_path: Path, testdata_dir: Path, dump: str) -> None:
    if dump == "truncated":
        source = tmp_path / "t.dmp"
        source.write_bytes((testdata_dir / "test.dmp").read_bytes()[:300])
    elif dump == "garbage":
        source = tmp_path / "g.dmp"
        source.write_bytes(b"MDMP" + b"\xff" * 200)
    else:
        source = testdata_dir / dump
    processed = process(crash_dir(tmp_path, source), tmp_path, stackwalker="builtin")
    assert processed["success"] is False
    assert processed["json_dump"] == {}
    assert processed["mdsw_return_code"] != 0
    assert any(
        n.startswith("StackwalkRule: upload_file_minidump: minidump could not be read")
        for n in processed["processor_notes"].splitlines()
    )
    assert processed["signature"]  # still processed to the end


def test_auto_falls_back_to_builtin_without_the_command(tmp_path: Path, testdata_dir: Path) -> None:
    crash = crash_dir(tmp_path, testdata_dir / "test.dmp")
    processed = process(
        crash,
        tmp_path,
        stackwalker="auto",
        stackwalker_command=str(tmp_path / "no-such-stackwalker"),
        symbols_paths=[str(testdata_dir / "symbols")],
    )
    assert processed["stackwalk_version"].startswith("crashproc-stackwalk ")
    assert processed["signature"] == "(anonymous namespace)::CrashFunction"


def test_builtin_reads_the_annotations_in_memory_and_writes_no_scratch_file(
    tmp_path: Path, testdata_dir: Path
) -> None:
    # The windows sample signs test_app.exe as its ModuleSignatureInfo says (the facts
    # minidump-stackwalk takes from --evil-json); the built-in walker gets them without a file.
    crash = crash_dir(tmp_path, testdata_dir / "test.dmp")
    scratch = tmp_path / "scratch"
    processor = CrashProcessor(
        Settings(stackwalker="builtin", symbols_cache=tmp_path / "cache", scratch_dir=scratch)
    )
    made = []
    real_mkdir = os.mkdir

    def watch(path, *args, **kwargs) -> None:
        made.append(path)
        real_mkdir(path, *args, **kwargs)

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(os, "mkdir", watch)
            processed = processor.process(load_crash_dir(crash))
        assert made == []  # no crash directory in scratch
        (own,) = scratch.iterdir()
        assert sorted(p.name for p in own.iterdir()) == [".owner.lock"]
    finally:
        processor.close()
    signers = json.loads(json.loads((crash / "raw_crash.json").read_text())["ModuleSignatureInfo"])
    signed = {module for modules in signers.values() for module in modules}
    subjects = {m["filename"]: m.get("cert_subject") for m in processed["json_dump"]["modules"]}
    assert signed & set(subjects)
    for module in signed & set(subjects):
        assert subjects[module] in signers
