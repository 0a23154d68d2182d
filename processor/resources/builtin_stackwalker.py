"""The built-in stackwalker as a processor backend: in-process, sharing the warm symbol caches.

The external command pays a process start and a cold symbol cache per dump; the built-in one
walks in the processor's own process with the pipeline's SymbolProvider, so symbol files are
found, parsed and mapped once per process. It answers with the same WalkOutcome as the external
backend, so StackwalkRule treats both alike. A dump the reader rejects is an error outcome;
a bug in the walker is contained here and becomes one too (the crash is still processed).
"""

from __future__ import annotations

import logging
from typing import Any

import crashproc
from processor.errors import traceback_without_message
from processor.resources.recovery import recovery_record
from processor.resources.stackwalker import WalkOutcome, tail
from symbols.provider import ModuleSymbols, SymbolProvider
from symbols.supplier import ModuleId

logger = logging.getLogger(__name__)
READ_ERROR_RETURN_CODE = 1
WALKER_BUG_RETURN_CODE = 70  # EX_SOFTWARE


class RecordingProvider:
    """The shared provider, remembering which modules one walk asked for."""

    def __init__(self, provider: SymbolProvider) -> None:
        self.provider = provider
        self.asked: dict[ModuleId, ModuleSymbols] = {}

    def get(self, module: ModuleId) -> ModuleSymbols:
        found = self.asked[module] = self.provider.get(module)
        return found

    def recovered(self) -> list[dict[str, Any]]:
        return [
            recovery_record(module.code_file, module.code_id, found)
            for module, found in self.asked.items()
            if found.lookup.from_code_info
        ]


class BuiltinStackwalker:
    """stackwalk.process in-process, reading symbols through the pipeline's provider."""

    kind = "builtin"
    uses_symbol_provider = True

    def __init__(self, provider: SymbolProvider | None = None, limits: Any = None) -> None:
        self.provider = provider
        # stackwalk.limits.WalkLimits; None: its defaults.
        self.limits = limits

    @property
    def version(self) -> str:
        found = crashproc.version()
        if found == crashproc.UNKNOWN_VERSION:
            return "crashproc-stackwalk (unknown version)"
        return f"crashproc-stackwalk {found}"

    def walk(self, dump_path: str, raw_crash: dict[str, Any], workdir: str) -> WalkOutcome:
        """Walk in this process; the annotations are read where they are, in memory, so the
        crash needs no scratch file (the external command needs ``raw_crash.json``)."""
        from stackwalk.minidump.errors import MinidumpError
        from stackwalk.process import walk_minidump_with_notes

        recorder = RecordingProvider(self.provider) if self.provider is not None else None
        try:
            result = walk_minidump_with_notes(dump_path, recorder, raw_crash, self.limits)
        except MinidumpError as exc:
            reason = str(exc)[:200]
            return WalkOutcome(
                None,
                READ_ERROR_RETURN_CODE,
                stderr=f"ERROR {exc.code} - {reason}",  # as minidump-stackwalk logs it
                problem=f"minidump could not be read: {reason}",
            )
        except Exception as exc:  # a walker bug must cost one dump's frames, not the crash
            logger.error(
                "built-in stackwalker failed on %s: %s\n%s",
                dump_path,
                type(exc).__name__,
                traceback_without_message(exc),
            )
            return WalkOutcome(
                None, WALKER_BUG_RETURN_CODE, problem=f"stackwalker failed: {type(exc).__name__}"
            )
        stderr = "\n".join(f"{stream}: {error}" for stream, error in result.stream_errors.items())
        return WalkOutcome(
            result.document,
            0,
            stderr=tail(stderr),
            recovered=recorder.recovered() if recorder is not None else [],
            notes=list(result.limit_notes),
        )
