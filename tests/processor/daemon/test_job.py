"""One job: process a stored crash and save it, idempotently, with failures sorted for retry."""

from __future__ import annotations

import json
import time

import pytest

from processor.config import Settings
from processor.crashdir import load_crash_dir
from processor.runner import CrashProcessor
from processor.service.job import ALREADY_DONE, PROCESSED, PermanentFailure, failure_text, run_job
from processor.storage import open_storage, stored_outputs

VOLATILE = ("started_datetime", "completed_datetime", "processor_notes")


@pytest.fixture(scope="module")
def processor():
    settings = Settings()
    settings.stackwalker = "none"
    crash_processor = CrashProcessor(settings)
    yield crash_processor
    crash_processor.close()


@pytest.fixture
def storage(tmp_path):
    return open_storage(str(tmp_path / "crashes"))


@pytest.fixture
def sample(sample_dir):
    return sample_dir("windows-x86-test-app")


@pytest.fixture
def crash_id(storage, sample):
    crash = load_crash_dir(sample)
    storage.save_raw_crash(
        crash.crash_id, crash.raw_crash, crash.dumps, stored_outputs(crash.dumps.items())
    )
    return crash.crash_id


def without_volatile(processed):
    return {k: v for k, v in processed.items() if k not in VOLATILE}


def test_a_stored_crash_gives_what_its_directory_gives(storage, processor, sample, crash_id):
    result = run_job(storage, processor, crash_id, use_previous=False)
    assert result.outcome == PROCESSED
    direct = processor.process(load_crash_dir(sample))
    assert without_volatile(result.processed) == without_volatile(direct)
    assert result.processed["signature"] == "crashproc_test::Boom"
    assert result.processed["stackwalk_version"] == "precomputed"
    assert storage.load_processed_crash(crash_id) == result.processed
    public = storage.load_processed_crash(crash_id, public=True)
    assert public["signature"] == result.processed["signature"]
    assert public == storage.public_view(result.processed)
    stored_text = json.dumps(result.processed)
    public_text = json.dumps(public)
    for protected in ("example.com/private", "jane@example.com"):
        assert protected in stored_text
        assert protected not in public_text


def test_a_redelivered_job_is_done_once(storage, processor, crash_id):
    queued_at = time.time()
    first = run_job(storage, processor, crash_id, use_previous=False, enqueued_at=queued_at)
    # Killed after saving the processed crash but before its public copy and the ack:
    storage.store.put(f"v1/processed_crash_public/{crash_id}", b'{"stale": true}')
    told = []
    storage.processed_listeners.append(lambda cid, processed: told.append(cid))
    again = run_job(storage, processor, crash_id, use_previous=False, enqueued_at=queued_at)
    assert again.outcome == ALREADY_DONE
    assert storage.load_processed_crash(crash_id) == first.processed, "the first result stands"
    public = storage.load_processed_crash(crash_id, public=True)
    assert public == storage.public_view(first.processed), "the rest of the save is finished"
    assert told == [crash_id], "listeners hear of it again (they must be idempotent)"


def test_a_job_queued_after_the_last_processing_runs_again(storage, processor, crash_id):
    first = run_job(storage, processor, crash_id, use_previous=False)
    second = run_job(storage, processor, crash_id, use_previous=False, enqueued_at=time.time())
    assert second.outcome == PROCESSED
    assert second.processed["completed_datetime"] > first.processed["completed_datetime"]


def test_new_crashes_start_from_nothing_reprocessing_from_the_stored_result(
    storage, processor, crash_id
):
    run_job(storage, processor, crash_id, use_previous=False)
    fresh = run_job(storage, processor, crash_id, use_previous=False)
    assert "processor_history" not in fresh.processed
    reprocessed = run_job(storage, processor, crash_id, "default", use_previous=True)
    assert reprocessed.processed["processor_history"] == [fresh.processed["processor_notes"]]


def test_regenerate_signature_reuses_the_stored_stack(storage, processor, crash_id):
    first = run_job(storage, processor, crash_id, use_previous=False)
    result = run_job(storage, processor, crash_id, "regenerate_signature", use_previous=True)
    assert result.processed["signature"] == first.processed["signature"]
    assert result.processed["json_dump"] == first.processed["json_dump"]


def test_preview_saves_nothing(storage, processor, crash_id):
    result = run_job(storage, processor, crash_id, use_previous=False, save=False)
    assert result.outcome == PROCESSED
    assert not storage.has_processed_crash(crash_id)


def test_an_unreadable_previous_result_is_a_note(storage, processor, crash_id):
    storage.store.put(f"v1/processed_crash/{crash_id}", b"{torn")
    result = run_job(storage, processor, crash_id, use_previous=True, enqueued_at=0)
    assert result.outcome == PROCESSED
    assert (
        "previous processed crash unreadable; processed from the raw crash alone"
        in result.processed["processor_notes"]
    )


@pytest.mark.parametrize(
    "arrange, crash, ruleset, message",
    [
        (None, "0bba61c5-dfc3-43e7-87e6-8afda3260919", "default", "raw crash not found"),
        (None, "not-a-crash-id", "default", "invalid crash id"),
        (None, "CRASH", "no_such_ruleset", "unknown ruleset 'no_such_ruleset'"),
        ("corrupt", "CRASH", "default", "stored raw crash or dump list is corrupt"),
    ],
)
def test_failures_that_retrying_cannot_fix(
    storage, processor, crash_id, arrange, crash, ruleset, message
):
    crash = crash_id if crash == "CRASH" else crash
    if arrange == "corrupt":
        storage.store.put(f"v1/dump_names/{crash_id}", b"[oops")
    with pytest.raises(PermanentFailure, match=message) as info:
        run_job(storage, processor, crash, ruleset, use_previous=False)
    assert failure_text("processing", info.value) == str(info.value)


def test_failure_text_never_carries_the_exception_message():
    exc = ValueError("https://example.com/private?token=secret")
    assert failure_text("processing", exc) == "processing: ValueError"


def test_the_stored_processed_crash_is_storage_s_own_encoding(storage, processor, crash_id):
    """run_job hands storage the encoding made while looking for lone surrogates: the bytes
    stored are encode_json's of the result, whichever way they were made."""
    from processor.storage.crashstorage import encode_json, processed_key

    result = run_job(storage, processor, crash_id, use_previous=False)
    assert storage.store.get(processed_key(crash_id)) == encode_json(result.processed)


@pytest.mark.parametrize(
    ("value", "reused"),
    [
        ("plain \u00e9 text", True),
        ("lone \ud800 surrogate", False),  # replaced, with a note: storage encodes the copy
        (object(), False),  # not JSON: clean_text and storage decide, as before
    ],
)
def test_clean_and_encode_shares_the_encoding_only_when_it_is_storage_s(value, reused):
    from processor.runner import clean_and_encode, clean_text
    from processor.storage.crashstorage import encode_json

    processed = {"signature": "x", "odd": value}
    cleaned, encoded = clean_and_encode(processed)
    if reused:
        assert cleaned is processed
        assert encoded == encode_json(processed)
    else:
        assert encoded is None
        if isinstance(value, str):
            assert cleaned == clean_text(processed)
            assert "\ufffd" in cleaned["odd"] and "surrogate" in cleaned["processor_notes"]
