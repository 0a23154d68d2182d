"""`stackwalk` and the processor build their symbol provider the same way (symbols.setup), so
a dump symbolicates alike in both: here a module without a debug id, found through the local
store's code-info index, which `stackwalk` once had no way to use."""

from __future__ import annotations

import json
import shutil

from processor.config import Settings
from processor.crashdir import load_crash_dir
from processor.runner import CrashProcessor
from stackwalk.cli import main
from tests.conftest import REPO, TESTDATA


def crashing_functions(json_dump: dict) -> list[str | None]:
    thread = json_dump["threads"][json_dump["crash_info"]["crashing_thread"]]
    return [frame.get("function") for frame in thread["frames"]]


def test_stackwalk_and_the_processor_symbolicate_alike(tmp_path, capsys):
    store = tmp_path / "store"
    shutil.copytree(TESTDATA / "symbols-with-code-id", store)
    dump = TESTDATA / "test-no-debug-id.dmp"
    status = main(["--json", "--symbols-cache", str(tmp_path / "cache-a"), str(dump), str(store)])
    assert status == 0
    walked = json.loads(capsys.readouterr().out)
    ours = crashing_functions(walked)
    assert "`anonymous namespace'::CrashFunction" in ours  # recovered by code-info lookup

    settings = Settings(
        stackwalker="builtin", symbols_paths=[str(store)], symbols_cache=tmp_path / "cache-b"
    )
    crash = load_crash_dir(REPO / "examples" / "crashes" / "no-debug-id")
    crash.dumps = {"upload_file_minidump": str(dump)}  # the same dump, no stored output
    processed = CrashProcessor(settings).process(crash)
    assert crashing_functions(processed["json_dump"]) == ours
