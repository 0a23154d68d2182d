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
from processor.rules.base import Rule
from processor.status import Status

DUMP_FIELD = "upload_file_minidump"
MAX_OUTPUT_BYTES = 256 * 1024 * 1024


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


def read_output_file(
    path: str | os.PathLike[str], max_bytes: int = MAX_OUTPUT_BYTES
) -> tuple[Any, str | None]:
    """Parse a stackwalker JSON output; returns (output, problem)."""
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            return None, f"output is {size} bytes, over the {max_bytes} limit"
        with open(path, "rb") as fp:
            output = json.loads(fp.read())
    except OSError as exc:
        return None, f"cannot read output: {exc.__class__.__name__}"
    except ValueError as exc:
        return None, f"non-json output: {exc.__class__.__name__}"
    if not isinstance(output, dict):
        return None, f"unexpected output: a JSON {type(output).__name__}, not an object"
    return output, None


class PrecomputedStackwalkRule(Rule):
    """Uses a stored stackwalker output (``<dump name>.json`` beside the dump) as that dump's
    ``json_dump``, exactly as if the stackwalker had just produced it.
    """

    VERSION = "precomputed"

    def __init__(self, dump_field: str = DUMP_FIELD, max_output_bytes: int = MAX_OUTPUT_BYTES):
        self.dump_field = dump_field
        self.max_output_bytes = max_output_bytes

    def action(self, raw_crash, dumps, processed_crash, tmpdir, status: Status) -> None:
        processed_crash.setdefault("additional_minidumps", [])
        for name in minidump_names(dumps, self.dump_field):
            path = precomputed_output_path(dumps[name])
            if not path.exists():
                continue
            output, problem = read_output_file(path, self.max_output_bytes)
            if problem:
                status.add_note(f"PrecomputedStackwalkRule: {name}: {problem}")
            result = stackwalk_result(
                output, return_code=0 if output is not None else -1, version=self.VERSION
            )
            place_stackwalk_result(processed_crash, name, result, self.dump_field)
