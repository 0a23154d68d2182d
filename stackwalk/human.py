"""The human-readable report (`stackwalk --human`), laid out as minidump-stackwalk 0.25's.

People and scripts read this report side by side with the peer's, so it follows the
peer's layout line for line: system, crash (with the crashing instruction's analysis),
uptime, the crashing thread with every frame's recovered registers and how it was found,
the other threads, modules by address, the dump's streams the peer does not read, and
the soft errors of the dump writer. `brief` stops after the crashing thread, as the
peer's --brief does.

Most of it comes from the JSON document; what the document lacks (each frame's registers,
its offset from its source line, uptime, the stream directory) comes from the walk's
`ReportFacts`.
"""

from __future__ import annotations

from stackwalk.minidump.context import REGISTER_BYTES, REGISTERS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from stackwalk.process import ReportFacts

# FrameTrust as the peer describes it ("Found by: ...").
TRUST_DESCRIPTIONS = {
    "context": "given as instruction pointer in context",
    "prewalked": "recovered by external stack walker",
    "cfi": "call frame info",
    "cfi_scan": "call frame info with scanning",
    "frame_pointer": "previous frame's frame pointer",
    "scan": "stack scanning",
    "non": "unknown",
}
ACCESS_TYPES = {"read": "Read", "write": "Write", "readwrite": "ReadWrite"}
INCONSISTENCIES = {
    "int_div_by_zero_not_possible": "Crash reason is an integer division by zero but the "
    "crashing instruction is not a division",
    "priv_instruction_crash_without_priv_instruction": "Crash reason is a privileged "
    "instruction but crashing instruction is not a privileged one",
    "non_canonical_address_falsely_reported": "Crash address is reported as a non-canonical "
    "x86-64 address but the actual address is a canonical one",
    "access_violation_when_access_allowed": "Crash reason is access violation exception but "
    "access is allowed",
    "crashing_access_not_found_in_memory_accesses": "Crash address not found among the memory "
    "accesses of the crashing instruction",
}
# Stream types the peer knows by name but does not read ("Unimplemented streams"); any
# type it does not know at all is listed under "Unknown streams".
UNIMPLEMENTED_STREAMS = {
    0: "UnusedStream",
    1: "ReservedStream0",
    2: "ReservedStream1",
    0xFFFF: "LastReservedStream",
    8: "ThreadExListStream",
    10: "CommentStreamA",
    11: "CommentStreamW",
    13: "FunctionTable",
    18: "HandleOperationListStream",
    19: "TokenStream",
    20: "JavaScriptDataStream",
    21: "SystemMemoryInfoStream",
    22: "ProcessVmCountersStream",
    23: "IptTraceStream",
    **{
        0x8000 + i: f"ceStream{name}"
        for i, name in enumerate(
            (
                "Null",
                "SystemInfo",
                "Exception",
                "ModuleList",
                "ProcessList",
                "ThreadList",
                "ThreadContextList",
                "ThreadCallStackList",
                "MemoryVirtualList",
                "MemoryPhysicalList",
                "BucketParameters",
                "ProcessModuleMap",
                "DiagnosisList",
            )
        )
    },
    0x47670006: "LinuxCmdLine",
    0x47670008: "LinuxAuxv",
    0x4767000A: "LinuxDsoDebug",
}
KNOWN_STREAMS = {
    *range(25),
    *range(0x8000, 0x800D),
    0xFFFF,
    *range(0x47670001, 0x4767000B),
    0x43500001,
    *range(0x4D7A0001, 0x4D7A0005),
}


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _hex(text: str) -> int:
    return int(text, 16)


def _vendor(kind: int) -> str:
    if kind <= 0xFFFF:
        return "Official"
    return {0x4767: "Google Extension", 0x4D7A: "Mozilla Extension"}.get(
        kind >> 16, "Unknown Extension"
    )


def _registers(context, out: list[str]) -> None:
    """The frame's valid registers, several per line, no line over 81 characters."""
    if context is None:
        return
    width = REGISTER_BYTES.get(context.cpu, 8) * 2
    valid = context.valid_registers()
    line = ""
    for name in REGISTERS.get(context.cpu, ()):
        if name not in valid:
            continue
        item = f" {name:>6} = 0x{valid[name]:0{width}x}"
        if len(line) + len(item) > 80:
            out.append(f" {line}")
            line = ""
        line += item
    if line:
        out.append(f" {line}")


def _frames(thread: dict, index: int, facts: ReportFacts | None, out: list[str]) -> None:
    frames = thread["frames"]
    if not frames:
        out.append("<no frames>")
    contexts = facts.frame_contexts[index] if facts else []
    offsets = facts.line_offsets[index] if facts else []
    number = 0
    for i, frame in enumerate(frames):
        module = frame["module"]
        for inline in frame["inlines"] or ():
            where = f" [{_basename(inline['file'])} : {inline['line']}]"
            place = where if inline["file"] is not None and inline["line"] is not None else ""
            out.append(f"{number:2}  {module or ''}!{inline['function']}{place}")
            out.append("    Found by: inlining")
            number += 1
        if module is None:
            text = f"{_hex(frame['offset']):#x}"
            for unloaded in frame["unloaded_modules"] or ():
                offs = "|".join(f"{_hex(o):#x}" for o in unloaded["offsets"])
                text += f" (unloaded {unloaded['module']}@{offs})"
        elif frame["function"] is not None:
            text = f"{module}!{frame['function']}"
            line_offset = offsets[i] if i < len(offsets) else None
            if frame["file"] is not None and frame["line"] is not None and line_offset is not None:
                text += f" [{_basename(frame['file'])} : {frame['line']} + {line_offset:#x}]"
            else:
                text += f" + {_hex(frame['function_offset']):#x}"
        else:
            text = f"{module} + {_hex(frame['module_offset']):#x}"
        out.append(f"{number:2}  {text}")
        _registers(contexts[i] if i < len(contexts) else None, out)
        out.append(f"    Found by: {TRUST_DESCRIPTIONS.get(frame['trust'], 'unknown')}")
        number += 1


def _crash(doc: dict, facts: ReportFacts | None, out: list[str]) -> None:
    crash = doc["crash_info"]
    if crash["type"] is None:
        out.append("No crash")
        return
    out.append(f"Crash reason:  {crash['type']}")
    adjusted = crash["adjusted_address"]
    if adjusted is not None:
        out.append(f"Crash address: {crash['address']} **")
        if adjusted["kind"] == "non-canonical":
            out.append(f"    ** Non-canonical address detected: {adjusted['address']}")
        else:
            out.append(f"    ** Null pointer detected with offset: {adjusted['offset']}")
    else:
        out.append(f"Crash address: {crash['address']}")
    if crash["instruction"] is not None:
        out.append(f"Crashing instruction: `{crash['instruction']}`")
    accesses = crash["memory_accesses"]
    if accesses:
        out.append("Memory accessed by instruction:")
        for i, access in enumerate(accesses):
            out.append(f"  {i}. Address: {access['address']}")
            size = access["size"]
            out.append(f"     Size: {'Unknown' if size is None else size}")
            if access.get("is_likely_guard_page"):
                out.append("     This address falls in a likely guard page.")
            if access.get("access_type"):
                kind = access["access_type"]
                out.append(f"     Access type: {ACCESS_TYPES.get(kind, kind)}")
    elif accesses is not None:
        out.append("No memory accessed by instruction")
    update = crash["instruction_pointer_update"]
    if update is not None:
        out.append("Instruction pointer update done by instruction:")
        out.append(f"  Address: {update['address']}")
        if update.get("is_likely_guard_page"):
            out.append("     This address falls in a likely guard page.")
    elif facts is not None and facts.no_ip_update:
        out.append("No instruction pointer update by instruction")
    flips = crash["possible_bit_flips"] or []
    if flips:
        out.append("Crashing address may be the result of a flipped bit:")
        ranked = sorted(flips, key=lambda f: (-(f.get("confidence") or 0.0), _hex(f["address"])))
        for i, flip in enumerate(ranked):
            register = f"{flip['source_register']}=" if flip.get("source_register") else ""
            confidence = flip.get("confidence") or 0.0
            out.append(f"  {i}. Valid address: {register}{flip['address']} ({confidence:.3f})")
    if crash["crash_inconsistencies"]:
        out.append("Crash is inconsistent:")
        out += [f"  {INCONSISTENCIES.get(c, c)}" for c in crash["crash_inconsistencies"]]


def _mac(doc: dict, out: list[str]) -> None:
    info = doc.get("mac_crash_info")
    if info is not None:
        out.append("Mac Crash Info:")
        for i, record in enumerate(info["records"]):
            out.append(f"  Record {i}")
            # The peer prints these three as "0x" and the number in decimal.
            for key, label in (
                ("thread", "thread"),
                ("dialog_mode", "dialog mode"),
                ("abort_cause", "abort_cause"),
            ):
                if record[key] is not None:
                    out.append(f"    {label}: 0x{_hex(record[key])}")
            for key, label in (
                ("module", "module"),
                ("message", "message"),
                ("signature_string", "signature string"),
                ("backtrace", "backtrace"),
                ("message2", "message2"),
            ):
                if record[key] is not None:
                    out.append(f"    {label}: {record[key]}")
        out.append("")
    if doc.get("mac_boot_args") is not None:
        out.append(f"Mac Boot Args: {doc['mac_boot_args']}")
        out.append("")


def _modules(doc: dict, out: list[str]) -> None:
    out += ["", "Loaded modules:"]
    modules = doc["modules"]
    main = _hex(modules[0]["base_addr"]) if modules else None
    # By address; a module overlapping one before it is left out, as the peer's map does.
    ranged = sorted(
        ((_hex(m["base_addr"]), _hex(m["end_addr"]) - 1), i)
        for i, m in enumerate(modules)
        if _hex(m["end_addr"]) > _hex(m["base_addr"])
    )
    last_end = None
    for (base, end), i in ranged:
        if last_end is not None and base <= last_end:
            continue
        last_end = end
        m = modules[i]
        line = f"{base:#010x} - {end:#010x}  {m['filename']}  {m['version'] or '???'}"
        if base == main:
            line += "  (main)"
        if m["cert_subject"] is not None:
            line += f" ({m['cert_subject']})"
        out.append(line)
    out += ["", "Unloaded modules:"]
    unloaded = sorted(
        doc["unloaded_modules"], key=lambda u: (_hex(u["base_addr"]), _hex(u["end_addr"]))
    )
    for u in unloaded:
        base, end = _hex(u["base_addr"]), _hex(u["end_addr"]) - 1
        line = f"{base:#010x} - {end:#010x}  {_basename(u['filename'])}"
        if u["cert_subject"] is not None:
            line += f" ({u['cert_subject']})"
        out.append(line)


def _streams(facts: ReportFacts | None, out: list[str]) -> None:
    streams = facts.streams if facts else []
    unimplemented = [(k, rva) for k, rva in streams if k in UNIMPLEMENTED_STREAMS]
    if unimplemented:
        out += ["", "Unimplemented streams encountered:"]
        for kind, rva in unimplemented:
            name = UNIMPLEMENTED_STREAMS[kind]
            out.append(f"Stream 0x{kind:08x} {name} ({_vendor(kind)}) @ 0x{rva:08x}")
    unknown = [(k, rva) for k, rva in streams if k not in KNOWN_STREAMS]
    if unknown:
        out += ["", "Unknown streams encountered:"]
        for kind, rva in unknown:
            out.append(f"Stream 0x{kind:08x} ({_vendor(kind)}) @ 0x{rva:08x}")


def render(doc: dict, brief: bool = False, facts: ReportFacts | None = None) -> str:
    """The peer's --human report of `doc`; `facts` (from the same walk) adds per-frame
    registers, source-line offsets, uptime and streams, which the document lacks."""
    sysinfo = doc["system_info"]
    out = [f"Operating system: {sysinfo['os']}"]
    if sysinfo["os_ver"] is not None:
        out.append(f"                  {sysinfo['os_ver']}")
    out.append(f"CPU: {sysinfo['cpu_arch']}")
    if sysinfo["cpu_info"] is not None:
        out.append(f"     {sysinfo['cpu_info']}")
    count = sysinfo["cpu_count"]
    out.append(f"     {count} CPU{'s' if count > 1 else ''}")
    lsb = doc.get("lsb_release")
    if lsb is not None:
        out.append(f"Linux {lsb['id']} {lsb['release']} - {lsb['codename']} ({lsb['description']})")
    out.append("")
    _crash(doc, facts, out)
    crash = doc["crash_info"]
    if crash["assertion"] is not None:
        out.append(f"Assertion: {crash['assertion']}")
    _mac(doc, out)
    uptime = facts.uptime if facts else None
    out.append(
        "Process uptime: not available" if uptime is None else f"Process uptime: {uptime} seconds"
    )
    out.append("")
    if doc.get("linux_memory_map_count") is not None:
        out += [f"Linux memory map count: {doc['linux_memory_map_count']}", ""]
    threads = doc["threads"]
    requesting = crash["crashing_thread"]
    if requesting is not None:
        thread = threads[requesting]
        state = "crashed" if crash["type"] is not None else "requested dump, did not crash"
        name = thread["thread_name"] or ""
        out.append(f"Thread {requesting} {name} ({state}) - tid: {thread['thread_id']}")
        _frames(thread, requesting, facts, out)
        out.append("")
    if brief:
        return "\n".join(out) + "\n"
    skipped = facts.skipped_threads if facts else frozenset()
    for i, thread in enumerate(threads):
        if i == requesting or i in skipped:
            continue
        out.append(f"Thread {i} {thread['thread_name'] or ''} - tid: {thread['thread_id']}")
        _frames(thread, i, facts, out)
    _modules(doc, out)
    _streams(facts, out)
    soft_errors = doc.get("soft_errors")
    if isinstance(soft_errors, list) and soft_errors:
        out += ["", "Soft errors were encountered when minidump was written:"]
        import json  # only a dump with soft errors pays for importing json

        out.append(json.dumps(soft_errors, indent=2, ensure_ascii=False))
    return "\n".join(out) + "\n"
