"""Crash reason strings and crash addresses, exactly as rust-minidump prints them.

`crash_reason(...)` turns an exception record into the JSON `crash_info.type`;
`crash_address(...)` picks `crash_info.address`; `windows_error(code)` names a
Windows error (used for `last_error_value`).
"""

from __future__ import annotations

from collections.abc import Sequence

from stackwalk.crash_reason import tables as t


def _hex32(value: int) -> str:
    return f"{value & 0xFFFFFFFF:#010x}"


def windows_error(code: int) -> str:
    """WinError name, else NTSTATUS name, else facility HRESULT, else "unknown 0x..."."""
    named = _windows_error_name(code)
    return named if named is not None else f"unknown {_hex32(code)}"


def _windows_error_name(code: int) -> str | None:
    tables = t.windows_tables()
    if code in tables["winerror"]:
        return tables["winerror"][code]
    if code in tables["ntstatus"]:
        return tables["ntstatus"][code]
    if code & 0xF0000000:
        facility = t.WINDOWS_FACILITIES.get((code & 0x0FFF0000) >> 16)
        error = tables["winerror"].get(code & 0xFFFF)
        if facility and error:
            return f"{facility} / {error}"
    return None


def _ntstatus(value: int) -> str:
    name = t.windows_tables()["ntstatus"].get(value)
    return name if name is not None else _hex32(value)


def _windows(code: int, nparams: int, info: Sequence[int]) -> str:
    if code in t.WINDOWS_EXCEPTIONS:
        if code == t.EXCEPTION_ACCESS_VIOLATION and nparams >= 1:
            kind = t.WINDOWS_ACCESS_TYPES.get(info[0])
            if kind:
                return f"EXCEPTION_ACCESS_VIOLATION_{kind}"
        if code == t.EXCEPTION_IN_PAGE_ERROR and nparams >= 3:
            kind = t.WINDOWS_ACCESS_TYPES.get(info[0])
            if kind:
                return f"EXCEPTION_IN_PAGE_ERROR_{kind} / {_ntstatus(info[2] & 0xFFFFFFFF)}"
        return t.WINDOWS_EXCEPTIONS[code]
    tables = t.windows_tables()
    if (
        code == t.STATUS_STACK_BUFFER_OVERRUN
        and code not in tables["winerror"]
        and code in tables["ntstatus"]
        and nparams >= 1
    ):
        fast_fail = info[0] & 0xFFFFFFFF
        name = tables["fastfail"].get(fast_fail)
        return f"EXCEPTION_STACK_BUFFER_OVERRUN / {name or _hex32(fast_fail)}"
    return windows_error(code)


def _linux(code: int, flags: int) -> str | None:
    signal = t.LINUX_SIGNALS.get(code)
    if signal is None:
        return None
    kind = t.LINUX_SIGNAL_KINDS.get(signal, {}).get(flags)
    if kind:
        return f"{signal} / {kind}"
    si_code = flags - (1 << 32) if flags & 0x80000000 else flags
    name = t.LINUX_SI_CODES.get(si_code)
    if name == "SI_USER":
        return signal
    if name:
        return f"{signal} / {name}"
    return f"{signal} / {_hex32(flags)}"


def _cpu_family(cpu: str) -> str | None:
    return {"arm64": "arm", "ppc": "ppc", "x86": "x86", "amd64": "x86"}.get(cpu)


def _mac(code: int, flags: int, info: Sequence[int], cpu: str) -> str | None:
    exc = t.MAC_EXCEPTIONS.get(code)
    if exc is None:
        return None
    if exc == "SIMULATED":
        return "Simulated Exception"
    if exc == "EXC_BAD_ACCESS" and flags in t.MAC_KERN_RETURNS:
        return f"EXC_BAD_ACCESS / {t.MAC_KERN_RETURNS[flags]}"
    family = _cpu_family(cpu)
    refined = t.MAC_CPU_CODES.get((exc, family), {}).get(flags) if family else None
    if refined:
        return f"{exc} / {refined}"
    if exc == "EXC_SOFTWARE" and flags in t.MAC_SOFTWARE:
        return f"EXC_SOFTWARE / {t.MAC_SOFTWARE[flags]}"
    if exc == "EXC_RESOURCE":
        kind = t.MAC_RESOURCE_TYPES.get((flags >> 29) & 0x7)
        if kind:
            return _mac_resource(kind, info[1], info[2])
    if exc == "EXC_GUARD":
        kind = t.MAC_GUARD_TYPES.get((flags >> 29) & 0x7)
        if kind:
            return _mac_guard(kind, info[1], info[2])
    return f"{exc} / {_hex32(flags)}"


def _mac_resource(kind: str, code: int, subcode: int) -> str:
    flavor = t.MAC_RESOURCE_FLAVORS[kind].get((code >> 58) & 0x7)
    head = f"EXC_RESOURCE / {kind} / "
    if flavor is None:
        return head + f"{code:#018x} / {subcode:#018x}"
    if kind == "RESOURCE_TYPE_CPU":
        return head + (
            f"{flavor} interval: {(code >> 7) & 0x1FFFFFF}s CPU limit: {code & 0x7}% "
            f"CPU consumed: {subcode & 0x7}%"
        )
    if kind == "RESOURCE_TYPE_WAKEUPS":
        return head + (
            f"{flavor} interval: {(code >> 20) & 0xFFFFF}s wakeups permitted: {code & 0xFFF} "
            f"wakeups observed: {subcode & 0xFFF}"
        )
    if kind == "RESOURCE_TYPE_MEMORY":
        return head + f"{flavor} high watermark limit: {code & 0x1FFF}MiB"
    if kind == "RESOURCE_TYPE_IO":
        return head + (
            f"{flavor} interval: {(code >> 15) & 0x1FFFF}s I/O limit: {code & 0x7FFF}% "
            f"I/O observed: {subcode & 0x7FFF}%"
        )
    return head + f"{flavor} high watermark limit: {code & 0x7FFF}"


def _mac_guard(kind: str, code: int, subcode: int) -> str:
    head = f"EXC_GUARD / {kind}"
    if kind == "GUARD_TYPE_NONE":
        return head
    if kind == "GUARD_TYPE_USER":
        return head + f"/ namespace: {code & 0xFFFFFFFF} guard identifier: {subcode}"
    flavor = t.MAC_GUARD_FLAVORS[kind].get((code >> 32) & 0x1FFFFFFF)
    if flavor is None:
        return head + f" / {code:#018x} / {subcode:#018x}"
    if kind == "GUARD_TYPE_MACH_PORT":
        text = f" / {flavor} port name: {code & 0xFFFFFFF}"
        return head + text + (f" subcode: {subcode}" if subcode else "")
    if kind == "GUARD_TYPE_FD":
        return head + f" / {flavor} file descriptor: {code & 0xFFFFFFF} guard identifier: {subcode}"
    if kind == "GUARD_TYPE_VN":
        return head + f" / {flavor} pid: {code & 0xFFFFFFF} guard identifier: {subcode}"
    if kind == "GUARD_TYPE_REJECTED_SC":
        return head + f" / {flavor} syscall: {subcode}"
    return head + f" / {flavor} offset: {subcode}"


def crash_reason(
    os_key: str, cpu: str, code: int, flags: int, nparams: int, info: Sequence[int]
) -> str:
    """The `crash_info.type` string for an exception record."""
    info = tuple(info) + (0,) * (3 - min(3, len(info)))
    reason = None
    if os_key in ("mac", "ios"):
        reason = _mac(code, flags, info, cpu)
    elif os_key in ("linux", "android"):
        reason = _linux(code, flags)
    elif os_key == "windows":
        reason = _windows(code, nparams, info)
    if reason is None:
        reason = f"unknown {_hex32(code)} / {_hex32(flags)}"
    return reason


def crash_address(
    os_key: str,
    pointer_width: int | None,
    code: int,
    nparams: int,
    info: Sequence[int],
    exception_address: int,
) -> int:
    """Windows access violations report the data address; everything else the IP."""
    address = exception_address
    faults = (t.EXCEPTION_ACCESS_VIOLATION, t.EXCEPTION_IN_PAGE_ERROR)
    if os_key == "windows" and code in faults and nparams >= 2:
        address = info[1]
    return address & 0xFFFFFFFF if pointer_width == 4 else address
