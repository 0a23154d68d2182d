"""One dump through a stackwalker backend, into processed-crash fields and notes.

Both rules that walk use it: ``StackwalkRule`` for every dump, and ``SymbolicationRule`` when a
module recovered after the walk calls for walking a dump again with the built-in walker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from processor.metrics import METRICS
from processor.observability.emit import stackwalk_timer
from processor.resources.recovery import recovered_note
from processor.resources.stackwalker import Stackwalker
from processor.status import Status

DUMP_FIELD = "upload_file_minidump"


def minidump_names(dumps: Mapping[str, str], dump_field: str = DUMP_FIELD) -> list[str]:
    """The dumps to walk, main dump first."""
    return sorted(
        (name for name in dumps if name.startswith(dump_field)), key=lambda n: (n != dump_field, n)
    )


def stackwalk_result(
    output: Any, *, return_code: int, version: str, stderr: str = ""
) -> dict[str, Any]:
    """The processed-crash fields for one stackwalker run whose output was ``output``."""
    json_dump = output if isinstance(output, dict) else {}
    status_string = json_dump.get("status") if isinstance(json_dump.get("status"), str) else None
    status_string = status_string or "unknown error"
    return {
        "json_dump": json_dump,
        "mdsw_return_code": return_code,
        "mdsw_status_string": status_string,
        "mdsw_stderr": stderr,
        "stackwalk_version": version,
        "success": status_string == "OK",
    }


#: Statuses an error code from the stackwalker's log replaces (Socorro's list).
STATUSES_A_LOG_ERROR_REPLACES = ("OK", "unknown error")


def log_error_code(stderr: str) -> str | None:
    """The error code of a stackwalker log that starts with an ``ERROR <code>`` line.

    minidump-stackwalk --verbose=error logs a dump it cannot read as
    ``ERROR HeaderMismatch - Error reading dump: Header mismatch``; Socorro takes the word
    after ``ERROR`` as the status. Only a log that *starts* with it counts (Socorro's test),
    so a tail cut to its last lines (``...`` first) gives none.
    """
    text = stderr.strip()
    if not text.startswith("ERROR "):
        return None
    # Socorro splits on spaces and takes the second word; a word running into the next line
    # ends at the line break here.
    word = text.split(" ", 2)[1].split("\n", 1)[0].strip()
    return word or None


def walk_dump(
    stackwalker: Stackwalker,
    name: str,
    dump_path: str,
    raw_crash: dict[str, Any],
    tmpdir: str,
    status: Status,
    dump_field: str = DUMP_FIELD,
) -> dict[str, Any]:
    """One dump through a stackwalker backend, as processed-crash fields plus notes."""
    with stackwalk_timer(stackwalker.kind):
        outcome = stackwalker.walk(dump_path, raw_crash, tmpdir)
    result = stackwalk_result(
        outcome.output,
        return_code=outcome.return_code,
        version=stackwalker.version,
        stderr=outcome.stderr,
    )
    if outcome.recovered:
        result["symbolication"] = {"recovered_modules": outcome.recovered, "missing_modules": []}
        prefix = "" if name == dump_field else f"{name}: "
        for record in outcome.recovered:
            status.add_note(prefix + recovered_note(record))
    succeeded = outcome.problem is None and result["success"]
    METRICS.incr(
        "processor.minidumpstackwalk.run",
        tags=[
            f"outcome:{'success' if succeeded else 'fail'}",
            f"exitcode:{outcome.return_code}",
        ],
    )
    for note in outcome.notes:
        status.add_note(f"StackwalkRule: {name}: stackwalker limit: {note}")
    if outcome.problem:
        status.add_note(f"StackwalkRule: {name}: {outcome.problem}")
    elif not result["success"]:
        status.add_note(f"StackwalkRule: {name}: status {result['mdsw_status_string'][:100]}")
    code = log_error_code(outcome.stderr)
    if code and result["mdsw_status_string"] in STATUSES_A_LOG_ERROR_REPLACES:
        # As Socorro: the code names the failure better than "unknown error"; `success`
        # still follows the output's own status.
        result["mdsw_status_string"] = code
        status.add_note(
            f"StackwalkRule: processing {name} had error; stomped on mdsw_status_string"
        )
    return result
