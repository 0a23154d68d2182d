"""Signatures for Java crashes: from the stack-trace text and from the structured exception.

Both return (signature, notes); notes carry the tool name as in Socorro. Quirks kept on
purpose because existing signatures depend on them: the missing ``: `` before the method
(bug 865142) and the un-anchored ``@<8 hex>`` address replacement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

DESCRIPTION_MAX_LENGTH = 255
_LINE_NUMBER = re.compile(r"\.java:\d+\)$")
_HEX_ADDRESS = re.compile(r"@[0-9a-f]{8}")

STACK_TOOL = "JavaSignatureTool"
EXCEPTION_TOOL = "JavaExceptionSignatureTool"


def _join_non_empty(delimiter: str, parts: tuple[str, ...]) -> str:
    return delimiter.join(part for part in parts if part)


def stack_trace_signature(source: object, delimiter: str = ": ") -> tuple[str, list[str]]:
    """Signature of a ``java_stack_trace`` text: ``Class: description method(File.java)``."""
    lines = [line.strip() for line in source.splitlines()] if isinstance(source, str) else []
    if not lines:
        return (
            "EMPTY: Java stack trace not in expected format",
            [f"{STACK_TOOL}: stack trace not in expected format"],
        )
    notes = []
    exception_class, colon, description = lines[0].partition(":")
    if colon:
        exception_class = exception_class.strip()
        description = _HEX_ADDRESS.sub("@<addr>", description).strip()
    else:
        notes.append(f"{STACK_TOOL}: stack trace line 1 is not in the expected format")
    if len(lines) > 1:
        method = _LINE_NUMBER.sub(".java)", lines[1])
        if not method:
            notes.append(f"{STACK_TOOL}: stack trace line 2 is empty")
    else:
        notes.append(f"{STACK_TOOL}: stack trace line 2 is missing")
        method = ""
    if description.endswith("<addr>"):
        signature = _join_non_empty(delimiter, (exception_class, description, method))
    else:
        phrase = _join_non_empty(" ", (description, method))
        signature = _join_non_empty(delimiter, (exception_class, phrase))
    if len(signature) > DESCRIPTION_MAX_LENGTH:
        signature = delimiter.join((exception_class, method))
        notes.append(f"{STACK_TOOL}: dropped Java exception description due to length")
    return signature, notes


def _first_stacktrace(source: Mapping[str, object]) -> object:
    exception = source.get("exception")
    values = exception.get("values") if isinstance(exception, Mapping) else None
    first = values[0] if isinstance(values, list) and values else None
    return first.get("stacktrace") if isinstance(first, Mapping) else None


def _exception_frame(frame: object) -> str:
    """``module.function(filename)`` with whatever parts exist; ``unknown`` without a name."""
    if not isinstance(frame, Mapping):
        return "unknown"
    module = frame.get("module", "")
    function = frame.get("function", "")
    if module and function:
        name = f"{module}.{function}"
    else:
        name = f"{module or function or ''}"
    if not name:
        return "unknown"
    filename = frame.get("filename", "")
    return f"{name}({filename})" if filename else name


def exception_signature(source: object) -> tuple[str, list[str]]:
    """Signature of a structured ``java_exception``: ``module.Type: at <first frame>``."""
    stacktrace = _first_stacktrace(source) if isinstance(source, Mapping) else None
    if not stacktrace or not isinstance(stacktrace, Mapping):
        return (
            "EMPTY: Java exception not in expected format",
            [f"{EXCEPTION_TOOL}: value not in expected format"],
        )
    module = stacktrace.get("module", "")
    exc_type = stacktrace.get("type", "Unknown")
    exc_class = f"{module}.{exc_type}" if module and exc_type else f"{exc_type}"
    frames = stacktrace.get("frames") or []
    if isinstance(frames, list) and frames:
        return f"{exc_class}: at {_exception_frame(frames[0])}", []
    return exc_class, []
