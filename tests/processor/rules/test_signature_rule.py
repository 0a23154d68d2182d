"""SignatureGeneratorRule: processed crash in, signature fields and notes out."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

import pytest

from processor.rules.signature import SignatureGeneratorRule
from processor.status import Status
from schemas.library import Schema, load_schema


def frame(function: str | None = None, **extra: Any) -> dict[str, Any]:
    data = {"module": "xul.dll", "module_offset": "0x10", "offset": "0x7ff600000010"}
    if function is not None:
        data["function"] = function
    data.update(extra)
    return data


def processed(*frames: dict[str, Any], **fields: Any) -> dict[str, Any]:
    crash = {
        "json_dump": {
            "crash_info": {"crashing_thread": 0, "type": "EXCEPTION_ACCESS_VIOLATION_READ"},
            "system_info": {"os": "Windows NT"},
            "threads": [{"frames": list(frames)}],
        },
        "signature": "EMPTY: crash failed to process",
    }
    crash.update(fields)
    return crash


@pytest.fixture(scope="module")
def rule() -> SignatureGeneratorRule:
    return SignatureGeneratorRule(schema=load_schema("processed_crash"))


def test_native_stack_writes_signature_proto_and_debug(
    rule: SignatureGeneratorRule, run_rule: Callable[..., Status]
) -> None:
    crash = processed(
        frame("NtWaitForSingleObject"),
        frame("nsDocShell::Destroy()"),
        frame("main", inlines=[{"function": "nsFoo::Inlined(int)", "file": "a.h", "line": 3}]),
    )
    status = run_rule(rule, processed_crash=crash)

    assert crash["signature"] == "nsDocShell::Destroy"
    assert (
        crash["proto_signature"]
        == "NtWaitForSingleObject | nsDocShell::Destroy | nsFoo::Inlined | main"
    )
    assert 'irrelevant; ignoring: "NtWaitForSingleObject"' in crash["signature_debug"]
    assert status.notes == []


def test_every_converted_field_reaches_the_generator(
    rule: SignatureGeneratorRule, run_rule: Callable[..., Status]
) -> None:
    crash = processed(
        frame("nsDocShell::Destroy()"),
        hang="ui",
        oom_allocation_size="300000",
        abort_message="###!!! ABORT: boom: file x.cpp:1",
        ipc_message_name="PHal::Msg_X",
    )
    crash["json_dump"]["crash_info"]["type"] = "EXCEPTION_STACK_OVERFLOW"
    run_rule(rule, processed_crash=crash)
    assert crash["signature"] == (
        "hang: ui | stackoverflow | Abort | boom | OOM | large | nsDocShell::Destroy"
        " | IPC_Message_Name=PHal::Msg_X"
    )


def test_unloaded_modules_and_ipc_channel_error(
    rule: SignatureGeneratorRule, run_rule: Callable[..., Status]
) -> None:
    unloaded = {"offset": "0x10", "unloaded_modules": [{"module": "gone.dll", "offsets": ["0x1"]}]}
    crash = processed(unloaded, frame("nsDocShell::Destroy()"))
    run_rule(rule, processed_crash=crash)
    # "(unloaded gone.dll)" contains ".dll", which the prefix list chains past
    assert crash["signature"] == "(unloaded gone.dll) | nsDocShell::Destroy"

    crash = processed(
        frame("f"),
        ipc_channel_error="ShutDownKill",
        additional_minidumps=["upload_file_minidump_browser"],
    )
    status = run_rule(rule, processed_crash=crash)
    assert crash["signature"] == "IPCError-browser | ShutDownKill"
    assert status.notes == ["SignatureIPCChannelError: IPC Channel Error stomped on signature"]


def test_java_crash_has_no_proto_signature(
    rule: SignatureGeneratorRule, run_rule: Callable[..., Status]
) -> None:
    crash = {
        "java_stack_trace": "java.lang.NullPointerException\n\tat org.Foo.bar(Foo.java:12)",
        "signature": "old",
    }
    status = run_rule(rule, processed_crash=crash)
    assert crash["signature"] == "java.lang.NullPointerException: at org.Foo.bar(Foo.java)"
    assert "proto_signature" not in crash
    assert status.notes == [
        "SignatureGenerationRule: JavaSignatureTool: stack trace line 1 is not in the expected format"
    ]


def test_regenerating_replaces_the_stored_signature(
    rule: SignatureGeneratorRule, run_rule: Callable[..., Status]
) -> None:
    crash = processed(frame("nsDocShell::Destroy()"))
    crash["signature"] = "Some | old | signature"
    run_rule(rule, processed_crash=crash)
    assert crash["signature"] == "nsDocShell::Destroy"


def test_no_stack_gives_empty_signature_with_stackwalker_status(
    rule: SignatureGeneratorRule, run_rule: Callable[..., Status]
) -> None:
    crash = {"json_dump": {}, "mdsw_status_string": "ERROR_NO_THREAD_LIST"}
    status = run_rule(rule, processed_crash=crash)
    assert crash["signature"] == "EMPTY: no frame data available; ERROR_NO_THREAD_LIST"
    assert status.notes == [
        "SignatureGenerationRule: CSignatureTool: no frame data for crashing thread (0)"
    ]


def test_malformed_frames_give_a_signature_and_notes(
    rule: SignatureGeneratorRule, run_rule: Callable[..., Status]
) -> None:
    crash = processed(None, 7, frame(function=12345), frame("nsDocShell::Destroy()"))
    status = run_rule(rule, processed_crash=crash)
    # frame 2 still has its module, which the Windows lower-casing keeps as a prefix frame
    assert crash["signature"] == "xul.dll | nsDocShell::Destroy"
    assert (
        "SignatureGenerationRule: CSignatureTool: frame 0 is not an object; ignored" in status.notes
    )
    assert (
        "SignatureGenerationRule: CSignatureTool: frame 2 function is not a string; ignored"
        in status.notes
    )


def test_failing_signature_rule_is_a_note_without_the_exception_text(
    rule: SignatureGeneratorRule,
    run_rule: Callable[..., Status],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A JSON list is not a valid AsyncShutdownTimeout document: the rule raises on it.
    secret = "do-not-leak@example.com"
    crash = processed(frame("nsDocShell::Destroy()"), async_shutdown_timeout=f'["{secret}"]')
    with caplog.at_level(logging.WARNING):
        status = run_rule(rule, processed_crash=crash)
    assert crash["signature"] == "nsDocShell::Destroy"
    assert status.notes == ["SignatureShutdownTimeout: Rule failed: AttributeError"]
    assert "SignatureShutdownTimeout" in caplog.text
    assert secret not in caplog.text and all(secret not in note for note in status.notes)


def test_fields_that_fail_the_schema_are_not_written(run_rule: Callable[..., Status]) -> None:
    document = copy.deepcopy(load_schema("processed_crash").document)
    document["properties"]["proto_signature"]["type"] = "integer"
    rule = SignatureGeneratorRule(schema=Schema(document, "edited"))
    crash = processed(frame("nsDocShell::Destroy()"))
    status = run_rule(rule, processed_crash=crash)
    assert crash["signature"] == "nsDocShell::Destroy"
    assert "proto_signature" not in crash
    assert len(status.notes) == 1
    assert status.notes[0].startswith("SignatureGeneratorRule: proto_signature not written: ")


def test_huge_symbols_are_capped_in_the_debug_log(
    rule: SignatureGeneratorRule, run_rule: Callable[..., Status]
) -> None:
    crash = processed(frame("x" * 1_000_000))
    status = run_rule(rule, processed_crash=crash)
    assert crash["signature"] == "x" * 252 + "..."
    assert "SigTruncate: SigTrunc: signature truncated due to length" in status.notes
    assert max(len(line) for line in crash["signature_debug"].splitlines()) <= 2003


def test_default_schema_is_the_processed_crash_schema(run_rule: Callable[..., Status]) -> None:
    crash = processed(frame("nsDocShell::Destroy()"))
    run_rule(SignatureGeneratorRule(), processed_crash=crash)
    assert crash["signature"] == "nsDocShell::Destroy"
