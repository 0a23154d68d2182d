"""Stackwalker outputs into the processed crash.

Every dump whose name starts with ``upload_file_minidump`` gets a ``json_dump``: the main dump at
the top level, the others nested under their dump name and listed in ``additional_minidumps``.
"""

from __future__ import annotations

import os
from typing import Any

from processor.crashdir import precomputed_output_path
from processor.resources.stackwalker import DEFAULT_MAX_OUTPUT_BYTES, Stackwalker, read_output
from processor.resources.walking import (
    DUMP_FIELD,
    minidump_names,
    stackwalk_result,
    walk_dump,
)
from processor.rules.base import Rule
from processor.status import Status


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
        limits: Any = None,
    ):
        self.stackwalker = stackwalker
        self.dump_field = dump_field
        self.max_output_bytes = max_output_bytes
        # stackwalk.limits.WalkLimits for stored outputs (the backends apply their own).
        self.limits = limits

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
            limits = self.limits or getattr(self.stackwalker, "limits", None)
            if output is not None and limits is not None:
                # The configured backend's caps hold for a stored output too.
                from stackwalk.limits import limit_document

                for note in limit_document(output, limits):
                    status.add_note(f"StackwalkRule: {name}: stackwalker limit: {note}")
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
