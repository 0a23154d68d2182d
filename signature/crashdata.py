"""Reading crash data: tolerant accessors, the processed-crash converter, validation.

Crash data is the small dict signature generation works on (documented by
``crash_data.schema.json``). Producers make mistakes, so the accessors here never raise on
wrong types: they fall back the way Socorro does (a bad ``crashing_thread`` means thread 0)
or report the problem to the caller, who turns it into a note.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

SCHEMA_RESOURCE = "crash_data.schema.json"


def crashing_thread_index(crash_data: Mapping[str, Any]) -> int:
    """The crashing thread's index; missing, null or unparseable values mean thread 0.

    Socorro does the same (``int(value)`` with a fallback of 0), so a minidump without
    an identified crashing thread gets thread 0's signature.
    """
    try:
        return int(crash_data.get("crashing_thread", 0))
    except (TypeError, ValueError, OverflowError):
        return 0


def thread_at(crash_data: Mapping[str, Any], index: int) -> object:
    """``threads[index]`` (negative indexes count from the end; a dict keyed by the
    number also works), or None when there is no such thread."""
    threads = crash_data.get("threads")
    if isinstance(threads, list):
        if -len(threads) <= index < len(threads):
            return threads[index]
        return None
    if isinstance(threads, Mapping):
        return threads.get(str(index))
    return None


def int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None


def _dig(data: object, *path: str) -> object:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def convert_to_crash_data(processed_crash: Mapping[str, Any]) -> dict[str, Any]:
    """Build crash data from a processed crash (Socorro's ``convert_to_crash_data``).

    Stack fields come from ``json_dump`` only when it is present; the previous signature
    travels along as ``original_signature`` (no rule uses it, tools compare against it).
    """
    crash_data: dict[str, Any] = {
        "hang": processed_crash.get("hang"),
        "oom_allocation_size": int_or_none(processed_crash.get("oom_allocation_size")),
        "js_large_allocation_failure": processed_crash.get("js_large_allocation_failure"),
        "abort_message": processed_crash.get("abort_message"),
        "mdsw_status_string": processed_crash.get("mdsw_status_string"),
        "async_shutdown_timeout": processed_crash.get("async_shutdown_timeout"),
        "ipc_channel_error": processed_crash.get("ipc_channel_error"),
        "ipc_message_name": processed_crash.get("ipc_message_name"),
        "additional_minidumps": processed_crash.get("additional_minidumps", []),
        "original_signature": processed_crash.get("signature", ""),
    }
    if "json_dump" in processed_crash:
        json_dump = processed_crash["json_dump"]
        crash_data["crashing_thread"] = _dig(json_dump, "crash_info", "crashing_thread")
        crash_data["reason"] = _dig(json_dump, "crash_info", "type")
        crash_data["threads"] = _dig(json_dump, "threads")
        crash_data["os"] = _dig(json_dump, "system_info", "os")
    for key in ("java_exception", "java_stack_trace"):
        if key in processed_crash:
            crash_data[key] = processed_crash[key]
    return crash_data


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The crash-data JSON Schema shipped with the package."""
    from importlib import resources  # costly import; generation does not need it

    text = resources.files("signature").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Any:
    """The crash-data schema's validator: compiled, with jsonschema explaining rejections."""
    from crashproc import fastschema  # only callers that validate need it (the command, tests)

    return fastschema.Validator(load_schema())


def validation_errors(crash_data: object, limit: int = 10) -> list[str]:
    """Readable schema violations of ``crash_data`` (empty when valid).

    Messages name the location and the expected type, never the offending value, so they
    are safe to print even for protected fields.
    """
    errors = []
    found = _validator().iter_errors(crash_data)
    for error in sorted(found, key=lambda e: list(e.absolute_path)):
        location = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        errors.append(f"{location}: {_describe(error)}")
        if len(errors) >= limit:
            break
    return errors


def _describe(error: Any) -> str:
    """A value-free description of a jsonschema error."""
    keyword = error.validator
    if keyword == "type":
        expected = error.validator_value
        if isinstance(expected, list):
            expected = " or ".join(expected)
        return f"must be of type {expected}"
    if keyword == "additionalProperties":
        return "has properties the schema does not allow"
    if keyword == "required":
        return f"is missing a required property ({', '.join(error.validator_value)})"
    if keyword in ("maxLength", "maxItems"):
        return f"is longer than {error.validator_value}"
    return f"fails the {keyword!r} constraint"
