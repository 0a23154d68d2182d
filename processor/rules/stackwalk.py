"""Stackwalker outputs into the processed crash.

Every dump whose name starts with ``upload_file_minidump`` gets a ``json_dump``: the main dump at
the top level, the others nested under their dump name and listed in ``additional_minidumps``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from processor.crashdir import precomputed_output_path
from processor.metrics import METRICS
from processor.observability.emit import stackwalk_timer
from processor.resources.recovery import recovered_note
from processor.resources.stackwalker import DEFAULT_MAX_OUTPUT_BYTES, Stackwalker, read_output
from processor.rules.base import Rule
from processor.status import Status

DUMP_FIELD = "upload_file_minidump"


def minidump_names(dumps: Mapping[str, str], dump_field: str = DUMP_FIELD) -> list[str]:
    """The dumps to walk, main dump first."""
    return sorted(
        (name for name in dumps if name.startswith(dump_field)), key=lambda n: (n != dump_field, n)
    )


def place_stackwalk_result(
    processed_crash: dict[str, Any],
    dump_name: str,
    result: dict[str, Any],
    dump_field: str = DUMP_FIELD,
) -> None:
    """Store one dump's stackwalk fields where Socorro puts them."""
    additional = processed_crash.setdefault("additional_minidumps", [])
    if dump_name == dump_field:
        processed_crash.update(result)
        return
    processed_crash[dump_name] = result
    if dump_name not in additional:
        additional.append(dump_name)


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


class StackwalkRule(Rule):
    """Walks every minidump of the crash into a ``json_dump``.

    A stored output (``<dump name>.json`` beside the dump) is used as is; a 0-byte dump is not
    worth a process; everything else goes to the stackwalker backend. Stackwalker failures
    become notes and ``mdsw_*`` fields with an empty ``json_dump``, and processing goes on.
    """

    PRECOMPUTED_VERSION = "precomputed"

    def __init__(
        self,
        stackwalker: Stackwalker | None = None,
        dump_field: str = DUMP_FIELD,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    ):
        self.stackwalker = stackwalker
        self.dump_field = dump_field
        self.max_output_bytes = max_output_bytes

    def action(self, raw_crash, dumps, processed_crash, tmpdir, status: Status) -> None:
        processed_crash.setdefault("additional_minidumps", [])
        for name in minidump_names(dumps, self.dump_field):
            result = self._walk_one(name, dumps[name], raw_crash, tmpdir, status)
            place_stackwalk_result(processed_crash, name, result, self.dump_field)

    def _walk_one(
        self, name: str, dump_path: str, raw_crash: dict[str, Any], tmpdir: str, status: Status
    ) -> dict[str, Any]:
        precomputed = precomputed_output_path(dump_path)
        if precomputed.exists():
            output, problem = read_output(precomputed, self.max_output_bytes)
            if problem:
                status.add_note(f"StackwalkRule: {name}: stored output: {problem}")
            return stackwalk_result(
                output,
                return_code=0 if output is not None else -1,
                version=self.PRECOMPUTED_VERSION,
            )
        if not os.path.exists(dump_path) or os.path.getsize(dump_path) == 0:
            status.add_note(f"StackwalkRule: {name} is empty--skipping minidump processing")
            return {
                "mdsw_status_string": "EmptyMinidump",
                "mdsw_stderr": "Shortcut for 0-bytes minidump.",
            }
        if self.stackwalker is None:
            status.add_note(f"StackwalkRule: {name}: no stackwalker available; not walked")
            return {"json_dump": {}, "mdsw_status_string": "no stackwalker", "success": False}
        return walk_dump(
            self.stackwalker, name, dump_path, raw_crash, tmpdir, status, self.dump_field
        )


def write_evil_json(raw_crash: dict[str, Any], tmpdir: str) -> str:
    """The raw crash as --evil-json: the stackwalker reads annotation-supplied facts from it
    (module signature info, CPU microcode). Written once per crash."""
    evil_json_path = os.path.join(tmpdir, "raw_crash.json")
    if not os.path.exists(evil_json_path):
        with open(evil_json_path, "w", encoding="utf-8") as fp:
            json.dump(raw_crash, fp, default=str)
    return evil_json_path


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
    evil_json_path = write_evil_json(raw_crash, tmpdir)
    with stackwalk_timer(stackwalker.kind):
        outcome = stackwalker.walk(dump_path, evil_json_path, tmpdir)
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
    if outcome.problem:
        status.add_note(f"StackwalkRule: {name}: {outcome.problem}")
    elif not result["success"]:
        status.add_note(f"StackwalkRule: {name}: status {result['mdsw_status_string'][:100]}")
    return result
