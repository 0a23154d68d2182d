"""The signature rules, in the order Socorro runs them.

Each rule looks at the crash data and the result so far and may change the signature;
because later rules see earlier results, prefixes read outside-in in reverse order
(``hang: ui | stackoverflow | OOM | large | <frames>``). Rule names (class names) appear
in notes and the debug log exactly as in Socorro, so notes stay comparable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from signature import java
from signature.crashdata import crashing_thread_index, thread_at
from signature.cstack import CStackTool, FrameDecision
from signature.result import Result
from signature.siglists import SignatureLists

SIGNATURE_MAX_LENGTH = 255
CrashData = Mapping[str, Any]


class Rule:
    """Base rule: the predicate always holds, the action does nothing."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def predicate(self, crash_data: CrashData, result: Result) -> bool:
        return True

    def action(self, crash_data: CrashData, result: Result) -> None:
        return None


class SignatureGenerationRule(Rule):
    """The base signature: Java stack trace, else Java exception, else the native stack.

    For native stacks it also records ``proto_signature`` (every normalized frame, joined)
    and ``normalized_frames`` in ``result.extra``, plus ``frame_decisions`` for explain.
    """

    def __init__(self, lists: SignatureLists | None = None) -> None:
        self.c_tool = CStackTool(lists or SignatureLists.load())

    def action(self, crash_data: CrashData, result: Result) -> None:
        if crash_data.get("java_stack_trace"):
            result.debug(self.name, "using JavaSignatureTool")
            signature, notes = java.stack_trace_signature(crash_data["java_stack_trace"])
            self._add_notes(result, notes)
            result.set_signature(self.name, signature)
            return
        if crash_data.get("java_exception"):
            result.debug(self.name, "using JavaExceptionSignatureTool")
            signature, notes = java.exception_signature(crash_data["java_exception"])
            self._add_notes(result, notes)
            result.set_signature(self.name, signature)
            return
        result.debug(self.name, "using CSignatureTool")
        index = crashing_thread_index(crash_data)
        notes: list[str] = []
        if not isinstance(crash_data.get("threads"), (list, Mapping, type(None))):
            notes.append("CSignatureTool: threads is not a list; ignored")
        debug: list[str] = []
        decisions: list[FrameDecision] = []
        frames = self.c_tool.frame_list(
            thread_at(crash_data, index), crash_data.get("os") == "Windows NT", notes
        )
        signature = self.c_tool.generate(frames, index, notes, debug, decisions)
        if frames:
            result.extra["proto_signature"] = " | ".join(frames)
            result.extra["normalized_frames"] = frames
            result.extra["frame_decisions"] = decisions
        self._add_notes(result, notes)
        for line in debug:
            result.debug(self.name, line)
        if signature:
            result.set_signature(self.name, signature)

    def _add_notes(self, result: Result, notes: list[str]) -> None:
        for note in notes:
            result.info(self.name, note)


class StackwalkerErrorSignatureRule(Rule):
    """Appends the stackwalker status to EMPTY signatures: ``EMPTY: ...; <status>``."""

    def predicate(self, crash_data: CrashData, result: Result) -> bool:
        return result.signature.startswith("EMPTY") and bool(crash_data.get("mdsw_status_string"))

    def action(self, crash_data: CrashData, result: Result) -> None:
        status = crash_data["mdsw_status_string"]
        result.set_signature(self.name, f"{result.signature}; {status}")


class BadHardware(Rule):
    """Prefixes ``bad hardware`` when the crash reason says the device reported an error."""

    def predicate(self, crash_data: CrashData, result: Result) -> bool:
        reason = crash_data.get("reason")
        return bool(reason) and "STATUS_DEVICE_DATA_ERROR" in reason

    def action(self, crash_data: CrashData, result: Result) -> None:
        result.set_signature(self.name, f"bad hardware | {result.signature}")


class OOMSignature(Rule):
    """Marks out-of-memory crashes ``OOM | large|small|unknown`` (small drops the frames)."""

    FRAGMENTS = (
        "NS_ABORT_OOM",
        "mozalloc_handle_oom",
        "CrashAtUnhandlableOOM",
        "AutoEnterOOMUnsafeRegion",
        "alloc::oom::oom",
    )
    REASONS = ("STATUS_FATAL_MEMORY_EXHAUSTION", "STATUS_NO_MEMORY")
    LAST_ERRORS = ("ERROR_COMMITMENT_LIMIT", "ERROR_NOT_ENOUGH_MEMORY")
    SMALL = 262144  # 256 KiB

    def predicate(self, crash_data: CrashData, result: Result) -> bool:
        if crash_data.get("oom_allocation_size"):
            return True
        signature = result.signature
        if not signature:
            return False
        if any(fragment in signature for fragment in self.FRAGMENTS):
            return True
        thread = thread_at(crash_data, crashing_thread_index(crash_data))
        if isinstance(thread, Mapping) and thread.get("last_error_value") in self.LAST_ERRORS:
            return True
        if crash_data.get("reason") in self.REASONS:
            return True
        return crash_data.get("js_large_allocation_failure") == "Reporting"

    def action(self, crash_data: CrashData, result: Result) -> None:
        if crash_data.get("js_large_allocation_failure") == "Reporting":
            result.set_signature(self.name, f"OOM | large | {result.signature}")
            return
        try:
            size = int(crash_data.get("oom_allocation_size"))  # type: ignore[arg-type]
        except TypeError:  # missing or null: the size is unknown
            result.set_signature(self.name, f"OOM | unknown | {result.signature}")
            return
        if size <= self.SMALL:
            result.set_signature(self.name, "OOM | small")
        else:
            result.set_signature(self.name, f"OOM | large | {result.signature}")


def printable_ascii(text: str) -> str:
    """Keep only characters 32..126 (tabs and newlines vanish rather than become spaces)."""
    return "".join(char for char in text if " " <= char <= "~")


class AbortSignature(Rule):
    """Prefixes ``Abort | <message>`` from the abort message, cleaned and capped at 80."""

    def predicate(self, crash_data: CrashData, result: Result) -> bool:
        return bool(crash_data.get("abort_message"))

    def action(self, crash_data: CrashData, result: Result) -> None:
        message = crash_data["abort_message"]
        if "###!!! ABORT: file " in message:
            result.set_signature(self.name, f"Abort | {result.signature}")
            return
        if "###!!! ABORT:" in message:
            message = message.split("###!!! ABORT:", 1)[1]
        message = message.partition(": file ")[0]
        if "unable to find a usable font" in message:
            opening, closing = message.find("("), message.rfind(")")
            if opening != -1 and closing != -1:
                message = message[:opening] + message[closing + 1 :]
        message = printable_ascii(message).strip()
        if len(message) > 80:
            message = message[:77] + "..."
        result.set_signature(self.name, f"Abort | {message} | {result.signature}")


class SignatureShutdownTimeout(Rule):
    """Replaces the signature with ``AsyncShutdownTimeout | <phase> | <conditions>``."""

    def predicate(self, crash_data: CrashData, result: Result) -> bool:
        return bool(crash_data.get("async_shutdown_timeout"))

    def action(self, crash_data: CrashData, result: Result) -> None:
        parts = ["AsyncShutdownTimeout"]
        try:
            data = json.loads(crash_data["async_shutdown_timeout"])
            phase = data.get("phase")
            parts.append(phase if isinstance(phase, str) else "(unknown)")
            conditions = sorted(
                str(c["name"] if isinstance(c, dict) else c) for c in data.get("conditions") or []
            )
            parts.append(",".join(conditions) if conditions else "(none)")
        except (ValueError, KeyError) as exc:
            parts.append("UNKNOWN")
            # JSON errors describe positions only and KeyError names the key, so the
            # text is safe in a public note (and matches Socorro's).
            result.info(self.name, f"Error parsing AsyncShutdownTimeout: {exc}")
        result.info(
            self.name,
            f'Signature replaced with a Shutdown Timeout signature, was: "{result.signature}"',
        )
        result.set_signature(self.name, " | ".join(parts))


class SignatureRunWatchDog(Rule):
    """Shutdown hangs: regenerate from thread 0 (the stuck main thread), add ``shutdownhang``.

    Prefixes added by earlier rules are lost, as in Socorro.
    """

    def __init__(self, generation: SignatureGenerationRule | None = None) -> None:
        self.generation = generation or SignatureGenerationRule()

    def predicate(self, crash_data: CrashData, result: Result) -> bool:
        return "RunWatchdog" in result.signature

    def action(self, crash_data: CrashData, result: Result) -> None:
        self.generation.action({**crash_data, "crashing_thread": 0}, result)
        result.set_signature(self.name, f"shutdownhang | {result.signature}")


class SignatureIPCChannelError(Rule):
    """Replaces the signature with ``IPCError-browser|content | <error>``."""

    def predicate(self, crash_data: CrashData, result: Result) -> bool:
        return bool(crash_data.get("ipc_channel_error"))

    def action(self, crash_data: CrashData, result: Result) -> None:
        minidumps = crash_data.get("additional_minidumps") or []
        side = "browser" if "upload_file_minidump_browser" in minidumps else "content"
        error = crash_data["ipc_channel_error"][:100]
        result.info(self.name, "IPC Channel Error stomped on signature")
        result.set_signature(self.name, f"IPCError-{side} | {error}")


class SignatureIPCMessageName(Rule):
    """Appends `` | IPC_Message_Name=<name>``."""

    def predicate(self, crash_data: CrashData, result: Result) -> bool:
        return bool(crash_data.get("ipc_message_name"))

    def action(self, crash_data: CrashData, result: Result) -> None:
        name = crash_data["ipc_message_name"]
        result.set_signature(self.name, f"{result.signature} | IPC_Message_Name={name}")


class StackOverflowSignature(Rule):
    """Prefixes ``stackoverflow`` for EXCEPTION_STACK_OVERFLOW crashes."""

    def predicate(self, crash_data: CrashData, result: Result) -> bool:
        return crash_data.get("reason") == "EXCEPTION_STACK_OVERFLOW"

    def action(self, crash_data: CrashData, result: Result) -> None:
        result.set_signature(self.name, f"stackoverflow | {result.signature}")


class HungProcess(Rule):
    """Prefixes ``hang: <type>`` whenever the Hang annotation is present (even empty)."""

    def predicate(self, crash_data: CrashData, result: Result) -> bool:
        return crash_data.get("hang") is not None

    def action(self, crash_data: CrashData, result: Result) -> None:
        result.set_signature(self.name, f"hang: {crash_data['hang']} | {result.signature}")


class SigPrintableCharsOnly(Rule):
    """Deletes every character that is not printable ASCII (bug 1764633)."""

    def action(self, crash_data: CrashData, result: Result) -> None:
        original = result.signature
        stripped = original.strip()
        if stripped.isascii() and stripped.isprintable():
            cleaned = stripped
        else:
            cleaned = "".join(c for c in stripped if c.isascii() and c.isprintable())
        if cleaned != original:
            result.set_signature(self.name, cleaned)
            result.info(self.name, "unprintable characters removed")


_WHITESPACE = re.compile(r"\s")
_WHITESPACE_RUN = re.compile(r"\s\s+")


class SigFixWhitespace(Rule):
    """Trims, turns every whitespace character into a space, collapses runs of spaces."""

    def action(self, crash_data: CrashData, result: Result) -> None:
        original = result.signature
        fixed = _WHITESPACE_RUN.sub(" ", _WHITESPACE.sub(" ", original.strip()))
        if fixed != original:
            result.set_signature(self.name, fixed)


class SigTruncate(Rule):
    """Caps signatures at 255 characters (252 + ``...``)."""

    def predicate(self, crash_data: CrashData, result: Result) -> bool:
        return len(result.signature) > SIGNATURE_MAX_LENGTH

    def action(self, crash_data: CrashData, result: Result) -> None:
        result.set_signature(self.name, result.signature[: SIGNATURE_MAX_LENGTH - 3] + "...")
        result.info(self.name, "SigTrunc: signature truncated due to length")


def default_ruleset(lists: SignatureLists | None = None) -> list[Rule]:
    """Socorro's pipeline, all rules sharing one set of signature lists."""
    generation = SignatureGenerationRule(lists)
    return [
        generation,
        StackwalkerErrorSignatureRule(),
        BadHardware(),
        OOMSignature(),
        AbortSignature(),
        SignatureShutdownTimeout(),
        SignatureRunWatchDog(generation),
        SignatureIPCChannelError(),
        SignatureIPCMessageName(),
        StackOverflowSignature(),
        HungProcess(),
        SigPrintableCharsOnly(),
        SigFixWhitespace(),
        SigTruncate(),
    ]
