"""Minidump + symbols -> the document minidump-stackwalk --json prints (rust-minidump 0.25).

`walk_minidump(path, provider, evil_json, limits)` reads the dump, walks every thread
(through `stackwalk.unwind.walk_stack` when available) within the caps of
`stackwalk.limits` (thread, frame and size caps a normal dump never reaches; a capped
document says so in `stackwalk_limits`), symbolicates the frames and returns the whole
document as plain dicts/lists with the same keys, types and hex widths as the Rust tool. `to_json(doc, pretty)` prints it byte for byte.

Reader problems never escape as anything but MinidumpError: a dump without a thread
list or system info cannot be processed (the Rust tool exits 1 without JSON); a
corrupt optional stream is skipped and named in `stream_errors`, which callers may
show as a note (it is not part of the Rust output, so it is returned separately by
`walk_minidump_with_notes`).
"""

from __future__ import annotations

import os

from crashproc.records import Record
from stackwalk.bitflip import MemoryInfoMap, crash_inconsistencies
from stackwalk.context import CpuContext
from stackwalk.crash_reason import crash_address, crash_reason, windows_error
from stackwalk.evil import Evil, read_evil
from stackwalk.frames import StackFrame
from stackwalk.jsonout import to_json
from stackwalk.limits import Budget, LimitsReport, WalkLimits, fit_size
from stackwalk.memory import MemoryMap, MemoryRegion
from stackwalk.minidump import Minidump, MissingStream
from stackwalk.minidump import format as fmt
from stackwalk.minidump.context import REGISTER_BYTES, REGISTERS, read_context
from stackwalk.modules import Module, ModuleMap
from stackwalk.opanalysis import (
    adjusted_address,
    analyze,
    bit_flips,
    crash_info_fields,
    inconsistencies,
    mark_guard_pages,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from typing import Any

    from stackwalk.minidump.module_list import DumpModule

__all__ = ["to_json", "walk_minidump", "walk_minidump_with_notes"]

NULL_DEBUG_ID = "0" * 33


def basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


class Hex:
    """Address formatting at the dump's pointer width (8 digits on 32-bit CPUs, else 16)."""

    def __init__(self, pointer_width: int | None) -> None:
        self.digits = 8 if pointer_width == 4 else 16

    def __call__(self, value: int | None) -> str | None:
        if value is None:
            return None
        return f"0x{value:0{self.digits}x}"


class SymbolStats(Record):
    """What rust-minidump's symbolizer reports per module (keyed by code-file basename)."""

    loaded: bool = False
    corrupt: bool = False
    url: str | None = None
    debug_file: str | None = None
    debug_id: str | None = None

    def __init__(
        self,
        loaded: bool = False,
        corrupt: bool = False,
        url: str | None = None,
        debug_file: str | None = None,
        debug_id: str | None = None,
    ) -> None:
        self.loaded = loaded
        self.corrupt = corrupt
        self.url = url
        self.debug_file = debug_file
        self.debug_id = debug_id

    _fields = ("loaded", "corrupt", "url", "debug_file", "debug_id")


class _Symbolizer(Record):
    """Looks modules up through the provider once each and records the statistics."""

    provider: object | None
    stats: dict[str, SymbolStats]
    _cache: dict[int, object]

    def __init__(
        self,
        provider: object | None,
        stats: dict[str, SymbolStats] | None = None,
        _cache: dict[int, object] | None = None,
    ) -> None:
        self.provider = provider
        self.stats = dict() if stats is None else stats
        self._cache = dict() if _cache is None else _cache

    _fields = ("provider", "stats", "_cache")

    def symbols_for(self, module: Module):
        if self.provider is None:
            return None
        key = id(module)
        if key in self._cache:
            return self._cache[key]
        from symbols.supplier import ModuleId

        found = self.provider.get(
            ModuleId(module.code_file, module.code_id, module.debug_file, module.debug_id)
        )
        lookup = found.lookup
        recovered = getattr(lookup, "from_code_info", False)
        self.stats[module.name] = SymbolStats(
            loaded=found.loaded,
            corrupt=found.corrupt,
            url=found.symbol_url,
            debug_file=lookup.debug_file if recovered else None,
            debug_id=lookup.debug_id if recovered else None,
        )
        self._cache[key] = found.symbols
        return found.symbols


def _to_module(m: DumpModule) -> Module:
    return Module(
        base_address=m.base,
        size=m.size,
        code_file=m.name,
        code_id=m.code_id,
        debug_file=m.debug_file,
        debug_id=m.debug_id,
        version=m.version,
    )


def _stack_memory(thread, context: CpuContext | None, memory: MemoryMap) -> MemoryRegion | None:
    """The thread's stack, or the captured region holding its stack start or SP (as rust)."""
    stack = thread.stack or memory.region_at(thread.stack_start)
    if context is not None:
        sp = context.stack_pointer
        if stack is None or not stack.contains(sp, 8):
            stack = memory.region_at(sp) or stack
    return stack


def _last_error(teb: int, pointer_width: int | None, memory: MemoryMap) -> str | None:
    if pointer_width is None:
        return None
    value = memory.read_uint(teb + 13 * pointer_width, 4)
    return None if value is None else windows_error(value)


def _frame_json(
    index: int,
    frame: StackFrame,
    modules: ModuleMap,
    unloaded: list,
    symbolizer: _Symbolizer,
    hexa: Hex,
) -> tuple[dict, int | None]:
    """The frame's JSON and its offset from its source line's start (None without one)."""
    module = frame.module or modules.find(frame.instruction)
    line_offset = None
    out = {
        "frame": index,
        "module": None,
        "module_offset": None,
        "function": None,
        "function_offset": None,
        "file": None,
        "line": None,
        "inlines": None,
        "missing_symbols": True,
        "offset": hexa(frame.instruction),
        "trust": frame.trust,
        "unloaded_modules": None,
    }
    if module is not None:
        out["module"] = basename(module.code_file)
        out["module_offset"] = hexa(frame.instruction - module.base_address)
        symbols = symbolizer.symbols_for(module)
        found = symbols.lookup(frame.instruction - module.base_address) if symbols else None
        if found is not None:
            out["function"] = found.function
            out["function_offset"] = hexa(
                frame.instruction - module.base_address - found.function_address
            )
            out["file"] = found.file
            out["line"] = found.line
            out["missing_symbols"] = False
            if found.line_address is not None and found.line is not None:
                line_offset = frame.instruction - module.base_address - found.line_address
            if found.inlines:
                out["inlines"] = [
                    {"function": i.function, "file": i.file, "line": i.line} for i in found.inlines
                ]
    else:
        offsets: dict[str, set[int]] = {}
        for u in unloaded:
            if u.base <= frame.instruction < u.end:
                offsets.setdefault(u.name, set()).add(frame.instruction - u.base)
        if offsets:
            out["unloaded_modules"] = [
                {"module": name, "offsets": [hexa(o) for o in sorted(offsets[name])]}
                for name in sorted(offsets)
            ]
    return out, line_offset


def _registers_json(context: CpuContext) -> dict[str, str]:
    width = REGISTER_BYTES.get(context.cpu, 8) * 2
    valid = context.valid_registers()
    return {
        name: f"0x{valid[name]:0{width}x}"
        for name in REGISTERS.get(context.cpu, ())
        if name in valid
    }


class ReportFacts(Record):
    """What the peer's human report shows beyond the JSON document, per thread and frame:
    each frame's recovered registers (its context) and its offset from the start of its
    source line; the threads the report skips (the one that wrote the dump); the
    process uptime; the directory's stream types with their offsets; and whether the
    crashing instruction is known not to move the instruction pointer."""

    frame_contexts: list[list[CpuContext]]
    line_offsets: list[list[int | None]]
    skipped_threads: frozenset[int]
    uptime: int | None
    streams: list[tuple[int, int]]
    no_ip_update: bool

    def __init__(
        self,
        frame_contexts: list[list[CpuContext]],
        line_offsets: list[list[int | None]],
        skipped_threads: frozenset[int],
        uptime: int | None,
        streams: list[tuple[int, int]],
        no_ip_update: bool,
    ) -> None:
        self.frame_contexts = frame_contexts
        self.line_offsets = line_offsets
        self.skipped_threads = skipped_threads
        self.uptime = uptime
        self.streams = streams
        self.no_ip_update = no_ip_update

    _fields = (
        "frame_contexts",
        "line_offsets",
        "skipped_threads",
        "uptime",
        "streams",
        "no_ip_update",
    )


class WalkResult(Record):
    """`stream_errors`: stream name -> why it was skipped; `unwind_errors`: thread index ->
    the error that stopped its unwinding (the thread keeps its context frame); `report`:
    the facts `stackwalk.human` needs besides the document."""

    document: dict
    stream_errors: dict[str, str]
    unwind_errors: dict[int, str]
    # One line per cap that triggered (stackwalk.limits); the document's stackwalk_limits.
    limit_notes: list[str]
    report: ReportFacts | None = None

    def __init__(
        self,
        document: dict,
        stream_errors: dict[str, str],
        unwind_errors: dict[int, str] | None = None,
        limit_notes: list[str] | None = None,
        report: ReportFacts | None = None,
    ) -> None:
        self.document = document
        self.stream_errors = stream_errors
        self.unwind_errors = dict() if unwind_errors is None else unwind_errors
        self.limit_notes = list() if limit_notes is None else limit_notes
        self.report = report

    _fields = ("document", "stream_errors", "unwind_errors", "limit_notes", "report")


def walk_minidump(
    path: str | os.PathLike | bytes,
    provider=None,
    evil_json: str | os.PathLike | dict | None = None,
    limits: WalkLimits | None = None,
) -> dict:
    """The minidump-stackwalk --json document for the dump at `path` (or in `bytes`)."""
    return walk_minidump_with_notes(path, provider, evil_json, limits).document


def walk_minidump_with_notes(
    path: str | os.PathLike | bytes,
    provider=None,
    evil_json: str | os.PathLike | dict | None = None,
    limits: WalkLimits | None = None,
) -> WalkResult:
    """The document and the notes a caller may show: streams skipped as corrupt, threads
    whose unwinding failed (kept with their context frame) and the caps that triggered
    (`limits`, by default WalkLimits(): see stackwalk.limits)."""
    facts = _read_dump(path)
    symbolizer = _Symbolizer(provider)
    walked = _walk_threads(facts, symbolizer, limits or WalkLimits())
    doc = _document(facts, walked, symbolizer, read_evil(evil_json))
    kept = fit_size(doc, walked.report, walked.requesting_index)
    walked.report.record(doc)
    return WalkResult(
        doc,
        dict(facts.dump.stream_errors),
        walked.unwind_errors,
        list(walked.report.notes),
        _report_facts(facts, walked, kept),
    )


def _report_facts(
    facts: _DumpFacts, walked: _WalkedThreads, kept: list[int] | None = None
) -> ReportFacts:
    """`kept`: the walked threads still in the document, when the size cap removed some
    (stackwalk.limits.fit_size), so the facts follow the document's thread positions."""
    dump = facts.dump
    frame_contexts, line_offsets, skipped = (
        walked.frame_contexts,
        walked.line_offsets,
        walked.skipped,
    )
    if kept is not None:
        frame_contexts = [frame_contexts[i] for i in kept]
        line_offsets = [line_offsets[i] for i in kept]
        skipped = [new for new, old in enumerate(kept) if old in set(walked.skipped)]
    uptime = None
    misc = dump.stream(fmt.MISC_INFO) if dump.has_stream(fmt.MISC_INFO) else None
    if misc is not None and misc.process_create_time is not None:
        uptime = max(0, dump.time_date_stamp - misc.process_create_time)
    return ReportFacts(
        frame_contexts=frame_contexts,
        line_offsets=line_offsets,
        skipped_threads=frozenset(skipped),
        uptime=uptime,
        streams=sorted((kind, rva) for kind, (_size, rva) in dump.directory.items()),
        no_ip_update=walked.no_ip_update,
    )


class _DumpFacts(Record):
    """What the walk needs from the dump's streams, read once."""

    dump: Minidump
    info: Any
    thread_list: Any
    memory: MemoryMap
    dump_modules: list[DumpModule]
    module_map: ModuleMap
    unloaded: list
    names: dict
    dump_tid: int | None
    crashing_tid: int | None
    exception: Any
    exception_context: CpuContext | None
    hexa: Hex

    def __init__(
        self,
        dump: Minidump,
        info: Any,
        thread_list: Any,
        memory: MemoryMap,
        dump_modules: list[DumpModule],
        module_map: ModuleMap,
        unloaded: list,
        names: dict,
        dump_tid: int | None,
        crashing_tid: int | None,
        exception: Any,
        exception_context: CpuContext | None,
        hexa: Hex,
    ) -> None:
        self.dump = dump
        self.info = info
        self.thread_list = thread_list
        self.memory = memory
        self.dump_modules = dump_modules
        self.module_map = module_map
        self.unloaded = unloaded
        self.names = names
        self.dump_tid = dump_tid
        self.crashing_tid = crashing_tid
        self.exception = exception
        self.exception_context = exception_context
        self.hexa = hexa

    _fields = (
        "dump",
        "info",
        "thread_list",
        "memory",
        "dump_modules",
        "module_map",
        "unloaded",
        "names",
        "dump_tid",
        "crashing_tid",
        "exception",
        "exception_context",
        "hexa",
    )


def _read_dump(path: str | os.PathLike | bytes) -> _DumpFacts:
    dump = (
        Minidump(path) if isinstance(path, bytes | bytearray | memoryview) else Minidump.open(path)
    )
    thread_list = dump.stream(fmt.THREAD_LIST)
    if thread_list is None:
        raise MissingStream("the dump has no readable thread list", "MissingThreadList")
    info = dump.system_info
    if info is None:
        raise MissingStream("the dump has no readable system info", "MissingSystemInfo")
    dump_modules = dump.stream(fmt.MODULE_LIST) or []
    breakpad = dump.stream(fmt.BREAKPAD_INFO)
    exception = dump.stream(fmt.EXCEPTION)
    arch = info.processor_architecture
    return _DumpFacts(
        dump=dump,
        info=info,
        thread_list=thread_list,
        memory=MemoryMap(dump.memory_regions()),
        dump_modules=dump_modules,
        module_map=ModuleMap([_to_module(m) for m in dump_modules]),
        unloaded=dump.stream(fmt.UNLOADED_MODULE_LIST) or [],
        names=dump.stream(fmt.THREAD_NAMES) or {},
        dump_tid=breakpad.dump_thread_id if breakpad else None,
        # The exception's thread crashed; without one, the thread that asked for the dump.
        crashing_tid=exception.thread_id
        if exception
        else (breakpad.requesting_thread_id if breakpad else None),
        exception=exception,
        exception_context=read_context(exception.context, arch, dump.endian) if exception else None,
        hexa=Hex(info.pointer_width),
    )


class _WalkedThreads(Record):
    threads_json: list[dict]
    # The first frame's context of each thread (None for the dump thread and unreadable ones).
    contexts: list[CpuContext | None]
    unwind_errors: dict[int, str]
    requesting_index: int | None
    report: LimitsReport
    # For the human report (ReportFacts): every frame's context and source-line offset, by
    # thread index (a thread listed without frames has none).
    frame_contexts: list[list[CpuContext]]
    line_offsets: list[list[int | None]]
    skipped: list[int]
    no_ip_update: bool = False

    def __init__(
        self,
        threads_json: list[dict],
        contexts: list[CpuContext | None],
        unwind_errors: dict[int, str],
        requesting_index: int | None,
        report: LimitsReport,
        frame_contexts: list[list[CpuContext]] | None = None,
        line_offsets: list[list[int | None]] | None = None,
        skipped: list[int] | None = None,
        no_ip_update: bool = False,
    ) -> None:
        self.threads_json = threads_json
        self.contexts = contexts
        self.unwind_errors = unwind_errors
        self.requesting_index = requesting_index
        self.report = report
        self.frame_contexts = list() if frame_contexts is None else frame_contexts
        self.line_offsets = list() if line_offsets is None else line_offsets
        self.skipped = list() if skipped is None else skipped
        self.no_ip_update = no_ip_update

    _fields = (
        "threads_json",
        "contexts",
        "unwind_errors",
        "requesting_index",
        "report",
        "frame_contexts",
        "line_offsets",
        "skipped",
        "no_ip_update",
    )


def _crashing_index(facts: _DumpFacts) -> int | None:
    """The thread walked with the exception's context: the last one with the crashing id."""
    found = None
    if facts.crashing_tid is not None:
        for index, thread in enumerate(facts.thread_list):
            if thread.thread_id == facts.crashing_tid and thread.thread_id != facts.dump_tid:
                found = index
    return found


def _walk_threads(facts: _DumpFacts, symbolizer: _Symbolizer, limits: WalkLimits) -> _WalkedThreads:
    """Every thread unwound within `limits` (the thread that wrote the dump is listed
    without frames); the crashing thread first, so no cap can leave it unwalked. A thread
    whose unwinding fails keeps its context frame and the error is noted."""

    count = len(facts.thread_list)
    report = LimitsReport(limits)
    budget = Budget(limits, report)
    walked = _WalkedThreads([{}] * count, [None] * count, {}, _crashing_index(facts), report)
    walked.frame_contexts = [[] for _ in range(count)]
    walked.line_offsets = [[] for _ in range(count)]
    arch, endian = facts.info.processor_architecture, facts.dump.endian
    first = walked.requesting_index
    order = [first] if first is not None else []
    order += [index for index in range(count) if index != first]
    for index in order:
        thread = facts.thread_list[index]
        if facts.dump_tid is not None and thread.thread_id == facts.dump_tid:
            walked.threads_json[index] = _thread_json(thread.thread_id, [], None, None)
            walked.skipped.append(index)
            continue
        frames: list[StackFrame] = []
        allowed = budget.frames_for(index == first)
        if not allowed:  # over the caps: listed without frames, its context not even read
            report.threads_not_walked += 1
        else:
            context = read_context(thread.context, arch, endian)
            if facts.crashing_tid is not None and thread.thread_id == facts.crashing_tid:
                context = facts.exception_context or context
            if context is not None:
                frames = _walk_one(index, thread, context, facts, symbolizer, allowed, walked)
                if len(frames) > allowed:
                    frames = frames[:allowed]
                    budget.cut()
                budget.walked(len(frames))
        frames_json = []
        offsets = []
        for i, f in enumerate(frames):
            frame_json, line_offset = _frame_json(
                i, f, facts.module_map, facts.unloaded, symbolizer, facts.hexa
            )
            frames_json.append(frame_json)
            offsets.append(line_offset)
        walked.frame_contexts[index] = [f.context for f in frames]
        walked.line_offsets[index] = offsets
        walked.threads_json[index] = _thread_json(
            thread.thread_id,
            frames_json,
            facts.names.get(thread.thread_id),
            _last_error(thread.teb, facts.info.pointer_width, facts.memory),
        )
        walked.contexts[index] = frames[0].context if frames else None
    budget.finish(count)
    return walked


def _walk_one(
    index: int,
    thread,
    context: CpuContext,
    facts: _DumpFacts,
    symbolizer: _Symbolizer,
    allowed: int,
    walked: _WalkedThreads,
) -> list[StackFrame]:
    """One thread's frames, one more than `allowed` at most (so a cut can be told)."""
    from stackwalk.unwind import walk_stack

    stack = _stack_memory(thread, context, facts.memory)
    try:
        return walk_stack(
            context,
            stack,
            facts.memory,
            facts.module_map,
            symbolizer.symbols_for,
            facts.info.os_key,
            allowed + 1,
        )
    except Exception as e:
        walked.unwind_errors[index] = type(e).__name__
        return [StackFrame(context.instruction_pointer, context, "context")]


def _document(
    facts: _DumpFacts, walked: _WalkedThreads, symbolizer: _Symbolizer, evil: Evil
) -> dict:
    """minidump-stackwalk's JSON document, in its key order."""
    dump, hexa, threads_json = facts.dump, facts.hexa, walked.threads_json
    crash_info, walked.no_ip_update = _crash_info_json(
        dump,
        facts.info,
        facts.exception,
        facts.exception_context,
        walked.requesting_index,
        hexa,
        facts.memory,
        _exception_stack(facts.thread_list, facts.exception, facts.memory),
    )
    doc = {
        "status": "OK",
        "system_info": _system_info_json(dump, facts.info, evil),
        "crash_info": crash_info,
        "threads": threads_json,
        "thread_count": len(threads_json),
        "modules": [
            _module_json(m, symbolizer.stats.get(basename(m.name)), evil, hexa)
            for m in facts.dump_modules
        ],
        "main_module": 0,
        "modules_contains_cert_info": bool(evil.certs),
        "unloaded_modules": [
            {
                "base_addr": hexa(u.base),
                "end_addr": hexa(u.end),
                "code_id": u.code_id,
                "filename": u.name,
                "cert_subject": evil.certs.get(u.name),
            }
            for u in facts.unloaded
        ],
        "pid": _pid(dump),
        "lsb_release": _lsb_json(dump),
        "mac_crash_info": _mac_crash_info_json(dump, hexa),
        "mac_boot_args": dump.stream(fmt.MOZ_MACOS_BOOTARGS),
        "linux_memory_map_count": _count(dump.stream(fmt.LINUX_MAPS)),
        "handles": _handles_json(dump),
        "proc_limits": _limits_json(dump),
        "soft_errors": dump.stream(fmt.MOZ_SOFT_ERRORS),
    }
    crashing = _crashing_thread(walked)
    if crashing is not None:
        doc["crashing_thread"] = crashing
    return doc


def _crashing_thread(walked: _WalkedThreads) -> dict | None:
    """The crashing thread again, its first frame with the registers."""
    index = walked.requesting_index
    if index is None or not walked.threads_json[index]["frames"]:
        return None
    crashing = dict(walked.threads_json[index])
    crashing["frames"] = list(crashing["frames"])
    crashing["frames"][0] = dict(crashing["frames"][0])
    crashing["frames"][0]["registers"] = _registers_json(walked.contexts[index])
    crashing["threads_index"] = index
    return crashing


def _thread_json(tid: int, frames: list, name: str | None, last_error: str | None) -> dict:
    return {
        "thread_id": tid,
        "thread_name": name,
        "last_error_value": last_error,
        "frame_count": len(frames),
        "frames": frames,
    }


def _system_info_json(dump: Minidump, info, evil: Evil) -> dict:
    microcode = None
    cpuinfo = dump.stream(fmt.LINUX_CPU_INFO)
    if cpuinfo or evil.cpu_microcode_version is not None:
        from stackwalk.minidump.linux import microcode_version, parse_hex_version

        microcode = microcode_version(cpuinfo or [])
        if microcode is None and evil.cpu_microcode_version is not None:
            microcode = parse_hex_version(evil.cpu_microcode_version)
    return {
        "os": info.os_name,
        "os_ver": info.os_version(),
        "cpu_arch": info.cpu,
        "cpu_info": info.cpu_info,
        "cpu_count": info.number_of_processors,
        "cpu_microcode_version": None if microcode is None else f"{microcode:#x}",
    }


def _exception_stack(thread_list, exception, memory: MemoryMap) -> MemoryRegion | None:
    """The stack memory of the thread the exception names (op analysis reads it)."""
    for thread in thread_list if exception is not None else ():
        if thread.thread_id == exception.thread_id:
            return thread.stack or memory.region_at(thread.stack_start)
    return None


def _crash_info_json(
    dump: Minidump,
    info,
    exception,
    context: CpuContext | None,
    requesting_index,
    hexa: Hex,
    memory: MemoryMap,
    stack: MemoryRegion | None,
) -> tuple[dict, bool]:
    """crash_info, and whether the crashing instruction is known not to move the IP
    (the human report says so; the JSON prints null for that and for "unknown")."""
    no_ip_update = False
    out = {
        "type": None,
        "address": None,
        "adjusted_address": None,
        "instruction": None,
        "memory_accesses": None,
        "instruction_pointer_update": None,
        "possible_bit_flips": None,
        "crash_inconsistencies": None,
        "crashing_thread": requesting_index,
        "assertion": None,
    }
    if exception is not None:
        code, nparams, params = exception.code, exception.number_parameters, exception.information
        reason = crash_reason(info.os_key, info.cpu, code, exception.flags, nparams, params)
        address = crash_address(
            info.os_key, info.pointer_width, code, nparams, params, exception.address
        )
        out["type"] = reason
        out["address"] = hexa(address)
        memory_info = dump.stream(fmt.MEMORY_INFO_LIST)
        windows_info = MemoryInfoMap.from_dump(memory_info, None)
        operation = None
        if reason.startswith("EXCEPTION_ACCESS_VIOLATION_"):
            operation = reason.rsplit("_", 1)[1].lower()
        analysis = analyze(context, memory, stack) if context is not None else None
        adjusted = adjusted_address(analysis, info.os_key, reason, address)
        if analysis is not None:
            mark_guard_pages(analysis.memory_accesses, windows_info)
            out.update(crash_info_fields(analysis, adjusted, hexa))
            no_ip_update = analysis.leaves_ip_alone
        out["crash_inconsistencies"] = inconsistencies(
            analysis, info.os_key, reason, address, context.instruction_pointer if context else 0
        ) + crash_inconsistencies(address, operation, windows_info)
        flips = bit_flips(
            analysis,
            adjusted,
            address,
            info.cpu,
            info.pointer_width,
            operation,
            MemoryInfoMap.from_dump(memory_info, dump.stream(fmt.LINUX_MAPS)),
            context,
        )
        for flip in flips:
            flip["address"] = hexa(flip["address"])
        out["possible_bit_flips"] = flips or None
    return out, no_ip_update


def _module_json(m: DumpModule, stats: SymbolStats | None, evil: Evil, hexa: Hex) -> dict:
    name = basename(m.name)
    debug_file = (stats.debug_file if stats and stats.debug_file else None) or m.debug_file
    debug_id = (stats.debug_id if stats and stats.debug_id else None) or m.debug_id
    return {
        "base_addr": hexa(m.base),
        "end_addr": hexa(m.end),
        "filename": name,
        "code_id": m.code_id or "",
        "debug_file": basename(debug_file or ""),
        "debug_id": debug_id or NULL_DEBUG_ID,
        "version": m.version,
        "cert_subject": evil.certs.get(name),
        "missing_symbols": stats is not None and not stats.loaded,
        "loaded_symbols": bool(stats and stats.loaded),
        "corrupt_symbols": bool(stats and stats.corrupt),
        "symbol_url": stats.url if stats else None,
    }


def _pid(dump: Minidump) -> int | None:
    if dump.has_stream(fmt.MISC_INFO):
        misc = dump.stream(fmt.MISC_INFO)
        if misc is not None:
            return misc.process_id
    status = dump.stream(fmt.LINUX_PROC_STATUS)
    if status is not None:
        from stackwalk.minidump.linux import proc_status_pid

        return proc_status_pid(status)
    return None


def _lsb_json(dump: Minidump) -> dict | None:
    lsb = dump.stream(fmt.LINUX_LSB_RELEASE)
    if lsb is None:
        return None
    return {
        "id": lsb.id,
        "release": lsb.release,
        "codename": lsb.codename,
        "description": lsb.description,
    }


def _mac_crash_info_json(dump: Minidump, hexa: Hex) -> dict | None:
    records = dump.stream(fmt.MOZ_MACOS_CRASH_INFO)
    if records is None:
        return None
    return {
        "num_records": len(records),
        "records": [
            {
                "thread": hexa(r.thread) if r.thread else None,
                "dialog_mode": hexa(r.dialog_mode) if r.dialog_mode else None,
                "abort_cause": hexa(r.abort_cause) if r.abort_cause else None,
                "module": r.module_path or None,
                "message": r.message or None,
                "signature_string": r.signature_string or None,
                "backtrace": r.backtrace or None,
                "message2": r.message2 or None,
            }
            for r in records
        ],
    }


def _count(items) -> int | None:
    return None if items is None else len(items)


def _handles_json(dump: Minidump) -> list | None:
    handles = dump.stream(fmt.HANDLE_DATA)
    if handles is None:
        return None
    return [
        {"handle": h.handle, "type_name": h.type_name, "object_name": h.object_name}
        for h in handles
    ]


def _limits_json(dump: Minidump) -> dict | None:
    limits = dump.stream(fmt.MOZ_LINUX_LIMITS)
    if limits is None:
        return None
    return {
        "limits": [
            {"name": lim.name, "soft": lim.soft, "hard": lim.hard, "unit": lim.unit}
            for lim in limits
        ]
    }
