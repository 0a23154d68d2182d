"""A readable report of the document for people (`stackwalk --human`).

Its layout is ours (rust-minidump does not promise one either, and its own needs facts
the JSON lacks: per-frame registers, line base addresses, process uptime); it shows the
same facts as the JSON: system, crash, the crashing thread first, then the others,
modules. `brief` stops after the crashing thread, as the peer's --brief does.
"""

from __future__ import annotations


def _frame_line(frame: dict) -> str:
    where = frame.get("module") or "???"
    if frame.get("function"):
        where += f"!{frame['function']}"
        if frame.get("function_offset"):
            where += f" + {frame['function_offset']}"
        if frame.get("file"):
            where += f"  [{frame['file']}:{frame.get('line')}]"
    elif frame.get("module_offset"):
        where += f" + {frame['module_offset']}"
    elif frame.get("unloaded_modules"):
        names = ", ".join(u["module"] for u in frame["unloaded_modules"])
        where = f"??? (in unloaded {names})"
    lines = [f"{frame['frame']:3d}  {where}  ({frame['offset']}, {frame['trust']})"]
    for inline in frame.get("inlines") or []:
        place = f"  [{inline['file']}:{inline['line']}]" if inline.get("file") else ""
        lines.append(f"       inlined: {inline['function']}{place}")
    return "\n".join(lines)


def _thread(title: str, thread: dict) -> list[str]:
    name = f" ({thread['thread_name']})" if thread.get("thread_name") else ""
    out = [f"{title} id {thread['thread_id']:#x}{name}"]
    if thread.get("last_error_value"):
        out.append(f"     last error: {thread['last_error_value']}")
    out += [_frame_line(f) for f in thread["frames"]] or ["     (no frames)"]
    return out


def render(doc: dict, brief: bool = False) -> str:
    sysinfo = doc["system_info"]
    crash = doc["crash_info"]
    out = [
        f"Operating system: {sysinfo['os']} {sysinfo['os_ver'] or ''}".rstrip(),
        f"CPU: {sysinfo['cpu_arch']} {sysinfo['cpu_info'] or ''} ({sysinfo['cpu_count']} CPUs)",
    ]
    if doc.get("lsb_release"):
        lsb = doc["lsb_release"]
        out.append(f"Linux: {lsb['id']} {lsb['release']} {lsb['codename']} ({lsb['description']})")
    out.append("")
    if crash["type"]:
        out.append(f"Crash reason:  {crash['type']}")
        out.append(f"Crash address: {crash['address']}")
    else:
        out.append("No crash")
    if doc.get("pid") is not None:
        out.append(f"Process id: {doc['pid']}")
    out.append("")
    crashing = doc.get("crashing_thread")
    if crashing is not None:
        out += _thread(f"Thread {crashing['threads_index']} (crashed)", crashing)
        regs = crashing["frames"][0].get("registers", {})
        out.append("     " + "  ".join(f"{k}={v}" for k, v in sorted(regs.items())))
        out.append("")
    if brief:
        return "\n".join(out) + "\n"
    for i, thread in enumerate(doc["threads"]):
        if crashing is not None and i == crashing["threads_index"]:
            continue
        out += _thread(f"Thread {i}", thread)
        out.append("")
    out.append("Loaded modules:")
    for m in doc["modules"]:
        flags = []
        if m["loaded_symbols"]:
            flags.append("symbols")
        if m["missing_symbols"]:
            flags.append("no symbols")
        if m["corrupt_symbols"]:
            flags.append("corrupt symbols")
        if m["cert_subject"]:
            flags.append(f"signed by {m['cert_subject']}")
        extra = f"  ({', '.join(flags)})" if flags else ""
        out.append(
            f"{m['base_addr']} - {m['end_addr']}  {m['filename']}  {m['version'] or '???'}  "
            f"{m['debug_file']} {m['debug_id']}{extra}"
        )
    if doc["unloaded_modules"]:
        out.append("")
        out.append("Unloaded modules:")
        for m in doc["unloaded_modules"]:
            out.append(f"{m['base_addr']} - {m['end_addr']}  {m['filename']}")
    return "\n".join(out) + "\n"
