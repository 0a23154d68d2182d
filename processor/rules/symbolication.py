"""Symbolicate a walked minidump after the fact, recovering modules by code-info lookup.

A stackwalker without the right symbols (or a stored output walked elsewhere) leaves modules
with ``missing_symbols`` and frames without functions. Windows modules whose dump lacks the
CodeView record have no debug file or id at all, so no store can be asked by debug id; their
code file and code id still identify them, and the symbol store's code-info index (or a
Tecken-compatible server's code-info redirect) gives the debug file and id back.

This rule asks the configured symbol suppliers for every module that is still missing symbols
and has frames (or that the stackwalker tried), fills in the frames of every thread, updates the
module the way rust-minidump would have printed it, and records why each module that is still
missing stayed so (``symbolication.missing_modules``), so reports can count the reasons.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from processor.metrics import METRICS
from processor.resources.recovery import recovered_note, recovery_record
from processor.resources.stackwalker import Stackwalker
from processor.resources.symbols import public_location
from processor.resources.walking import DUMP_FIELD, minidump_names, walk_dump
from processor.rules.base import Rule
from processor.status import Status
from symbols import fetch
from symbols.provider import ModuleSymbols, SymbolProvider
from symbols.supplier import Attempt, ModuleId
from symbols.symfile import SymbolFile

NULL_DEBUG_ID = "0" * 33
# Pointer width by the stackwalker's cpu_arch: 32-bit CPUs print 8 hex digits, others 16.
CPUS_32_BIT = frozenset({"x86", "arm", "ppc", "sparc", "mips"})
MAX_TRIED_PER_MODULE = 8

# Why a module is still without symbols: the vocabulary of the missing-symbols report.
NO_DEBUG_ID = "no-debug-id"
CODE_INFO_FAILED = "code-info-lookup-failed"
NOT_FOUND = "not-found"
CORRUPT = "corrupt-symbols"
TRANSIENT = "transient"
REFUSED = "refused"
BUDGET = "budget"


def _hex(value: int, width: int) -> str:
    return f"0x{value:0{width}x}"


def _int(text: Any) -> int | None:
    if isinstance(text, str) and text.startswith("0x"):
        try:
            return int(text, 16)
        except ValueError:
            return None
    return None


def _usable_debug_id(debug_id: Any) -> bool:
    return isinstance(debug_id, str) and bool(debug_id.strip("0"))


def classify_missing(module: Mapping[str, Any], found: ModuleSymbols) -> str:
    """The one reason a module is without symbols after every supplier was asked."""
    if found.corrupt:
        return CORRUPT
    attempts = found.lookup.attempts
    if any(a.outcome == fetch.BUDGET for a in attempts):
        return BUDGET  # left untried (or cut) because the crash's symbols budget was spent
    if any(
        a.outcome in (fetch.TRANSIENT, fetch.TIMEOUT, fetch.UNAVAILABLE, fetch.CANCELLED)
        for a in attempts
    ):
        return TRANSIENT
    if not _usable_debug_id(module.get("debug_id")) and not found.lookup.from_code_info:
        if not (module.get("filename") and module.get("code_id")):
            return NO_DEBUG_ID
        return CODE_INFO_FAILED
    if any(a.outcome in (fetch.REFUSED, fetch.TOO_LARGE, fetch.CORRUPT) for a in attempts):
        return REFUSED
    return NOT_FOUND


def _unique(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (code file, code id), the latest winning."""
    return list({(r.get("filename"), r.get("code_id")): r for r in records}.values())


def tried(attempts: list[Attempt]) -> list[str]:
    shown = [
        f"{public_location(a.location)}: {a.outcome} ({a.reason})"
        for a in attempts[:MAX_TRIED_PER_MODULE]
    ]
    if len(attempts) > MAX_TRIED_PER_MODULE:
        shown.append(f"... {len(attempts) - MAX_TRIED_PER_MODULE} more")
    return shown


class DumpFrames:
    """The frames of one json_dump grouped by the module whose range holds them."""

    def __init__(self, json_dump: dict[str, Any]) -> None:
        cpu = (json_dump.get("system_info") or {}).get("cpu_arch")
        self.width = 8 if cpu in CPUS_32_BIT else 16
        self.modules = [m for m in json_dump.get("modules") or [] if isinstance(m, dict)]
        ranges = []
        for index, module in enumerate(self.modules):
            base, end = _int(module.get("base_addr")), _int(module.get("end_addr"))
            if base is not None and end is not None and end > base:
                ranges.append((base, end, index))
        ranges.sort()
        bases = [base for base, _, _ in ranges]
        self.by_module: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for frame in self._frames(json_dump):
            offset = _int(frame.get("offset"))
            i = bisect_right(bases, offset) - 1 if offset is not None else -1
            if i >= 0 and offset < ranges[i][1]:
                self.by_module[ranges[i][2]].append(frame)

    @staticmethod
    def _frames(json_dump: dict[str, Any]) -> Iterator[dict[str, Any]]:
        threads = list(json_dump.get("threads") or [])
        if isinstance(json_dump.get("crashing_thread"), dict):
            threads.append(json_dump["crashing_thread"])
        for thread in threads:
            if isinstance(thread, dict):
                for frame in thread.get("frames") or []:
                    if isinstance(frame, dict):
                        yield frame

    def unsymbolicated(self, index: int) -> list[dict[str, Any]]:
        return [f for f in self.by_module.get(index, ()) if f.get("function") is None]

    def symbolicate(self, index: int, symbols: SymbolFile) -> int:
        """Fill the function fields of the module's frames; returns how many got a function."""
        module = self.modules[index]
        base = _int(module.get("base_addr")) or 0
        frames = self.unsymbolicated(index)
        offsets = [_int(f["offset"]) - base for f in frames]
        filled = 0
        for frame, offset, result in zip(
            frames, offsets, symbols.lookup_many(offsets), strict=True
        ):
            frame["module"] = module.get("filename")
            frame["module_offset"] = _hex(offset, self.width)
            if result is None:
                continue
            frame["function"] = result.function
            frame["function_offset"] = _hex(offset - result.function_address, self.width)
            frame["file"] = result.file
            frame["line"] = result.line
            frame["inlines"] = [
                {"file": i.file, "function": i.function, "line": i.line} for i in result.inlines
            ] or None
            frame["missing_symbols"] = False
            filled += 1
        return filled


class SymbolicationRule(Rule):
    """Symbols for what the stackwalker left unsymbolicated, through the configured suppliers.

    Runs on every walked dump (the main one and the additional ones). Only modules that are
    not loaded yet and that matter (frames in them, or the stackwalker wanted them) are looked
    up, one at a time, so at most one module's symbol cache is being read at any moment.

    Frames unwound without a module's CFI may differ from the real stack, so when a module was
    recovered here and the built-in stackwalker is configured (and did not walk this dump), the
    dump is walked again by it; it finds the recovered module through the same provider.
    """

    def __init__(
        self,
        symbols: SymbolProvider | None = None,
        stackwalker: Stackwalker | None = None,
        dump_field: str = DUMP_FIELD,
    ):
        self.symbols = symbols
        # Only a walker reading symbols through our provider can walk again with a module
        # recovered here.
        self.stackwalker = (
            stackwalker if stackwalker is not None and stackwalker.uses_symbol_provider else None
        )
        self.dump_field = dump_field

    def predicate(self, raw_crash, dumps, processed_crash, tmpdir, status) -> bool:
        return self.symbols is not None and any(
            isinstance(container.get("json_dump"), dict) and container["json_dump"].get("modules")
            for _, container in self._containers(dumps, processed_crash)
        )

    def _containers(
        self, dumps: Mapping[str, str], processed_crash: dict[str, Any]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        for name in minidump_names(dumps, self.dump_field):
            container = processed_crash if name == self.dump_field else processed_crash.get(name)
            if isinstance(container, dict):
                yield name, container

    def action(self, raw_crash, dumps, processed_crash, tmpdir, status: Status) -> None:
        for name, container in self._containers(dumps, processed_crash):
            json_dump = container.get("json_dump")
            if not (isinstance(json_dump, dict) and json_dump.get("modules")):
                continue
            prefix = "" if name == self.dump_field else f"{name}: "
            earlier = container.get("symbolication") or {}
            found = self._symbolicate(json_dump, prefix, status)
            if found["recovered_modules"] and self._can_walk_again(container, dumps[name]):
                walked = walk_dump(
                    self.stackwalker, name, dumps[name], raw_crash, tmpdir, status, self.dump_field
                )
                if walked.get("success"):
                    status.add_note(
                        f"{prefix}walked again by the built-in stackwalker with the "
                        f"{len(found['recovered_modules'])} module(s) code-info lookup recovered"
                    )
                    earlier, found = found, self._symbolicate(walked["json_dump"], prefix, status)
                    container.update(walked)
            container["symbolication"] = {
                "recovered_modules": _unique(
                    [*earlier.get("recovered_modules", ()), *found["recovered_modules"]]
                ),
                "missing_modules": found["missing_modules"],
            }

    def _can_walk_again(self, container: Mapping[str, Any], dump_path: str) -> bool:
        return (
            self.stackwalker is not None
            and container.get("stackwalk_version") != self.stackwalker.version
            and os.path.isfile(dump_path)
            and os.path.getsize(dump_path) > 0
        )

    def _symbolicate(self, json_dump: dict[str, Any], prefix: str, status: Status) -> dict:
        frames = DumpFrames(json_dump)
        recovered, missing = [], []
        for index, module in enumerate(frames.modules):
            # rust-minidump counts a corrupt file as loaded; for reports it is still missing.
            if module.get("loaded_symbols") is True and module.get("corrupt_symbols") is not True:
                continue
            if not frames.unsymbolicated(index) and module.get("missing_symbols") is not True:
                continue
            found = self.symbols.get(self._module_id(module))
            lookup = found.lookup
            if lookup.from_code_info:
                recovered.append(self._recover(module, found, prefix, status))
            if found.symbols is not None:
                filled = frames.symbolicate(index, found.symbols)
                self._mark_loaded(module, found)
                METRICS.incr("processor.symbolication.module", tags=["result:loaded"])
                METRICS.incr("processor.symbolication.frames", value=filled)
                continue
            module["loaded_symbols"] = found.loaded
            module["corrupt_symbols"] = found.corrupt
            module["missing_symbols"] = not found.loaded
            reason = classify_missing(module, found)
            METRICS.incr("processor.symbolication.module", tags=[f"result:{reason}"])
            missing.append(self._missing_entry(module, reason, lookup.attempts))
            status.add_note(
                f"{prefix}missing symbols: {self._describe(module)}: {reason}; tried "
                + "; ".join(tried(lookup.attempts))
            )
        return {"recovered_modules": recovered, "missing_modules": missing}

    @staticmethod
    def _module_id(module: Mapping[str, Any]) -> ModuleId:
        def text(key: str) -> str | None:
            value = module.get(key)
            return value if isinstance(value, str) and value else None

        debug_id = text("debug_id")
        return ModuleId(
            code_file=text("filename"),
            code_id=text("code_id"),
            debug_file=text("debug_file"),
            debug_id=debug_id if _usable_debug_id(debug_id) else None,
        )

    @staticmethod
    def _describe(module: Mapping[str, Any]) -> str:
        debug_id = module.get("debug_id")
        if _usable_debug_id(debug_id):
            return f"{module.get('debug_file') or module.get('filename')}/{debug_id}"
        return f"{module.get('filename')}/{module.get('code_id') or '(no code id)'}"

    @staticmethod
    def _recover(module: dict, found: ModuleSymbols, prefix: str, status: Status) -> dict:
        record = recovery_record(module.get("filename"), module.get("code_id"), found)
        status.add_note(prefix + recovered_note(record))
        module["debug_file"] = found.lookup.debug_file
        module["debug_id"] = found.lookup.debug_id
        return record

    @staticmethod
    def _mark_loaded(module: dict, found: ModuleSymbols) -> None:
        module["loaded_symbols"] = True
        module["missing_symbols"] = False
        module["corrupt_symbols"] = False
        module["symbol_url"] = found.symbol_url

    @staticmethod
    def _missing_entry(module: Mapping[str, Any], reason: str, attempts: list[Attempt]) -> dict:
        return {
            "filename": module.get("filename"),
            "version": module.get("version"),
            "debug_file": module.get("debug_file") or None,
            "debug_id": module.get("debug_id") or None,
            "code_id": module.get("code_id") or None,
            "reason": reason,
            "tried": tried(attempts),
        }
