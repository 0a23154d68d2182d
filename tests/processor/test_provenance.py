"""``processed_with``: what each processed crash records about how it was processed.

Crashes are processed by the real pipeline into real storage, so the record is checked as it is
stored: validated strictly against the schema, and in the public copy. The no-minidump sample
keeps these tests free of stackwalking and symbol lookups (the record is configuration).
"""

from __future__ import annotations

import json
from pathlib import Path

import crashproc
from processor.config import Settings
from processor.crashdir import load_crash_dir
from processor.resources.provenance import baseline, losses, symbol_sources
from processor.runner import CrashProcessor
from processor.service.job import run_job
from processor.storage import open_storage, stored_outputs
from schemas.library import load_schema
from tests.conftest import REPO

NO_MINIDUMP = REPO / "examples" / "crashes" / "no-minidump"
SECRET_URL = "https://symuser:hunter2@symbols.example.com:8443/try/?token=abc123#frag9"
SHOWN_URL = "https://symbols.example.com:8443/try/"


def store_sample(tmp_path: Path):
    """Storage holding the sample's raw crash; returns (storage, crash id)."""
    crash = load_crash_dir(NO_MINIDUMP)  # the sample has no uuid: a fresh id each time
    storage = open_storage(str(tmp_path / "crashes"))
    outputs = stored_outputs(crash.dumps.items())
    storage.save_raw_crash(crash.crash_id, crash.raw_crash, crash.dumps, outputs)
    return storage, crash.crash_id


def process(storage, crash_id: str, settings: Settings, ruleset: str = "default") -> None:
    processor = CrashProcessor(settings)
    try:
        run_job(storage, processor, crash_id, ruleset, use_previous=True)
    finally:
        processor.close()


def process_stored(tmp_path: Path, settings: Settings):
    storage, crash_id = store_sample(tmp_path)
    process(storage, crash_id, settings)
    return storage, crash_id


def test_the_record_names_version_ruleset_backend_and_redacted_sources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "symbols" / "store").mkdir(parents=True)
    (tmp_path / "srv").mkdir()
    settings = Settings(
        stackwalker="builtin",
        symbols_paths=["./symbols/store", str(tmp_path / "srv")],
        symbols_urls=[SECRET_URL],
        symbols_cache=tmp_path / "cache",
    )
    storage, crash_id = process_stored(tmp_path, settings)
    expected = {
        "crashproc_version": crashproc.version(),
        "ruleset": "default",
        "stackwalker": {"backend": "builtin", "version": crashproc.version()},
        "symbol_sources": [
            {"kind": "path", "location": str(tmp_path / "symbols" / "store")},  # made absolute
            {"kind": "path", "location": str(tmp_path / "srv")},
            {"kind": "url", "location": SHOWN_URL},
        ],
    }
    processed = storage.load_processed_crash(crash_id)
    assert processed["processed_with"] == expected
    assert load_schema("processed_crash").validate(processed, strict=True) == []
    public = storage.load_processed_crash(crash_id, public=True)
    assert public["processed_with"] == expected
    stored_text = json.dumps(processed) + json.dumps(public)
    for secret in ("hunter2", "symuser", "abc123", "frag9"):
        assert secret not in stored_text


def test_the_external_stackwalker_version_is_asked_once_per_process(tmp_path):
    asked = tmp_path / "asked"
    command = tmp_path / "fake-stackwalk"
    command.write_text(
        f'#!/bin/sh\nif [ "$1" = --version ]; then echo >> {asked}; echo "fake-stackwalk 1.2.3"; '
        "fi\nexit 1\n"
    )
    command.chmod(0o755)
    settings = Settings(stackwalker="external", stackwalker_command=str(command))
    storage, crash_id = process_stored(tmp_path, settings)
    process(storage, crash_id, settings)  # a second pipeline, same process
    record = storage.load_processed_crash(crash_id)["processed_with"]
    assert record["stackwalker"] == {"backend": "external", "version": "fake-stackwalk 1.2.3"}
    assert record["symbol_sources"] == []
    assert asked.read_text().count("\n") == 1


def test_no_stackwalker_is_recorded_as_none(tmp_path):
    storage, crash_id = process_stored(tmp_path, Settings(stackwalker="none"))
    record = storage.load_processed_crash(crash_id)["processed_with"]
    assert record["stackwalker"] == {"backend": "none", "version": None}


def test_a_ruleset_that_does_not_walk_keeps_the_walking_pass_record(tmp_path):
    walked = Settings(stackwalker="builtin", symbols_paths=[str(tmp_path)])
    storage, crash_id = process_stored(tmp_path, walked)
    process(storage, crash_id, Settings(stackwalker="none"), "regenerate_signature")
    processed = storage.load_processed_crash(crash_id)
    assert processed["processed_with"] == {
        "crashproc_version": crashproc.version(),
        "ruleset": "regenerate_signature",
        "stackwalker": {"backend": "builtin", "version": crashproc.version()},
        "symbol_sources": [{"kind": "path", "location": str(tmp_path)}],
    }
    assert load_schema("processed_crash").validate(processed, strict=True) == []


def test_a_store_named_relatively_or_absolutely_is_the_same_source(tmp_path, monkeypatch):
    """Processed with `--symbols-path syms` here, reprocessed with the configuration file's
    absolute path to the same store: nothing is lost."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "syms").mkdir()
    recorded = {
        "processed_with": {
            "stackwalker": {"backend": "builtin"},
            "symbol_sources": symbol_sources(Settings(symbols_paths=["syms"])),
        }
    }
    now = symbol_sources(Settings(symbols_paths=[str(tmp_path / "syms")]))
    assert losses(baseline(recorded), "builtin", now) == []
    elsewhere = symbol_sources(Settings(symbols_paths=[str(tmp_path / "other")]))
    assert losses(baseline(recorded), "builtin", elsewhere) == [f"symbol path {tmp_path / 'syms'}"]
