"""A small minidump *writer* for tests: synthesize dumps for any CPU and stream mix.

Used by the reader's tests, the differential tests against rust-minidump, and by
anyone who needs a dump with a particular shape (unloaded modules, corrupt streams,
absurd counts). It writes what the reader reads, field for field, so a test can
state exactly what a dump contains.

    b = DumpBuilder("amd64", "linux")
    b.add_module(0x400000, 0x1000, "/bin/app", build_id=bytes(range(20)))
    tid = b.add_thread(0x10, {"rip": 0x400100, "rsp": 0x7000}, stack=(0x7000, b"\\0" * 256))
    b.set_exception(tid, code=11, address=0x45)
    data = b.build()
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from stackwalk.minidump import format as fmt
from stackwalk.minidump.context import AMD64_LAYOUT, X86_LAYOUT

ARCH = {"x86": 0, "amd64": 9, "arm": 5, "arm64": 12, "arm64_old": 0x8003, "ppc": 3, "mips": 1}
PLATFORM = {
    "windows": 2,
    "mac": 0x8101,
    "ios": 0x8102,
    "linux": 0x8201,
    "android": 0x8203,
    "solaris": 0x8202,
}
CONTEXT_FLAGS = {
    "x86": fmt.CONTEXT_X86 | 0x7,
    "amd64": fmt.CONTEXT_AMD64 | 0x7,
    "arm": fmt.CONTEXT_ARM | 0x7,
    "arm64": fmt.CONTEXT_ARM64 | 0x7,
    "arm64_old": fmt.CONTEXT_ARM64_OLD | 0x7,
}


def encode_context(cpu: str, regs: dict[str, int], flags: int | None = None) -> bytes:
    """A raw CONTEXT_* structure for `cpu` holding `regs` (rust-minidump register names)."""
    flags = CONTEXT_FLAGS[cpu] if flags is None else flags
    get = regs.get
    if cpu == "x86":
        out = bytearray(716)
        struct.pack_into("<I", out, 0, flags)
        struct.pack_into("<11I", out, 156, *(get(n, 0) for n in X86_LAYOUT))
    elif cpu == "amd64":
        out = bytearray(1232)
        struct.pack_into("<I", out, 0x30, flags)
        struct.pack_into("<I", out, 0x44, get("eflags", 0))
        struct.pack_into("<17Q", out, 0x78, *(get(n, 0) for n in AMD64_LAYOUT), get("rip", 0))
    elif cpu == "arm":
        out = bytearray(368)
        iregs = [get(f"r{i}", 0) for i in range(16)]
        for i, alias in ((11, "fp"), (13, "sp"), (14, "lr"), (15, "pc")):
            iregs[i] = get(alias, iregs[i])
        struct.pack_into("<I16I", out, 0, flags, *iregs)
    elif cpu in ("arm64", "arm64_old"):
        out = bytearray(912 if cpu == "arm64" else 796)
        x = [get(f"x{i}", 0) for i in range(31)]
        x[29], x[30] = get("fp", x[29]), get("lr", x[30])
        if cpu == "arm64":
            struct.pack_into("<II", out, 0, flags, get("cpsr", 0))
        else:
            struct.pack_into("<Q", out, 0, flags)
        struct.pack_into("<33Q", out, 8, *x, get("sp", 0), get("pc", 0))
    else:
        raise ValueError(f"no context layout for {cpu}")
    return bytes(out)


def utf16_string(text: str) -> bytes:
    raw = text.encode("utf-16-le")
    return struct.pack("<I", len(raw)) + raw + b"\0\0"


def utf8_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("<I", len(raw)) + raw + b"\0"


@dataclass
class _Thread:
    tid: int
    context_rva: tuple[int, int]
    stack: tuple[int, int, int]  # start, size, rva
    teb: int


class DumpBuilder:
    """Builds a little-endian minidump. Blobs are laid out as they are added."""

    def __init__(
        self,
        cpu: str = "amd64",
        os: str = "windows",
        *,
        cpu_count: int = 4,
        os_version: tuple[int, int, int] = (10, 0, 19041),
        csd_version: str = "",
        cpu_data: bytes | None = None,
        processor_level: int = 6,
        processor_revision: int = 0x4601,
        time_date_stamp: int = 0x60000000,
    ) -> None:
        self.cpu = cpu
        self.os = os
        self.time_date_stamp = time_date_stamp
        self._data = bytearray(32)
        self._streams: list[tuple[int, bytes]] = []
        self._threads: list[_Thread] = []
        self._modules: list[bytes] = []
        self._unloaded: list[bytes] = []
        self._memory: list[tuple[int, int, int]] = []
        if cpu_data is None:
            cpu_data = b"GenuineIntel" + bytes(12) if cpu == "x86" else bytes(24)
        if os is not None:
            csd_rva = self.blob(utf16_string(csd_version))
            info = struct.pack(
                "<HHHBBIIIIIHH24s",
                ARCH.get(cpu, 0xFFFF),
                processor_level,
                processor_revision,
                cpu_count,
                1,
                *os_version,
                PLATFORM.get(os, 0xFFFF),
                csd_rva,
                0,
                0,
                cpu_data,
            )
            self.add_stream(fmt.SYSTEM_INFO, info)

    # -- raw layout ----------------------------------------------------------------------

    def blob(self, data: bytes) -> int:
        """Append `data` (4-byte aligned) and return its RVA."""
        while len(self._data) % 4:
            self._data.append(0)
        rva = len(self._data)
        self._data += data
        return rva

    def add_stream(self, kind: int, data: bytes) -> None:
        """A stream with these exact bytes (repeat a kind to test "the later one wins")."""
        self._streams.append((kind, data))

    # -- threads, memory, exception ------------------------------------------------------

    def add_memory(self, base: int, data: bytes) -> tuple[int, int, int]:
        desc = (base, len(data), self.blob(data))
        self._memory.append(desc)
        return desc

    def add_thread(
        self,
        tid: int,
        regs: dict[str, int] | None = None,
        *,
        stack: tuple[int, bytes] | None = None,
        teb: int = 0,
        context: bytes | None = None,
        context_at: tuple[int, int] | None = None,
        stack_at: tuple[int, int, int] | None = None,
        stack_in_memory_list: bool = True,
    ) -> int:
        """A thread with a context built from `regs` (or raw `context` bytes, or the
        (size, rva) of a context already written) and a stack (or the (start, size, rva) of
        memory already written: threads may share one, as a hostile dump's do)."""
        if context_at is not None:
            ctx = context_at
        else:
            raw = context if context is not None else encode_context(self.cpu, regs or {})
            ctx = (len(raw), self.blob(raw))
        desc = stack_at or (0, 0, 0)
        if stack is not None:
            if stack_in_memory_list:
                desc = self.add_memory(*stack)
            else:
                desc = (stack[0], len(stack[1]), self.blob(stack[1]))
        self._threads.append(_Thread(tid, ctx, desc, teb))
        return tid

    def set_exception(
        self,
        tid: int,
        code: int,
        *,
        flags: int = 0,
        address: int = 0,
        params: tuple[int, ...] = (),
        regs: dict[str, int] | None = None,
        context: bytes | None = None,
    ) -> None:
        ctx_size = ctx_rva = 0
        if regs is not None or context is not None:
            raw = context if context is not None else encode_context(self.cpu, regs or {})
            ctx_size, ctx_rva = len(raw), self.blob(raw)
        info = list(params[:15]) + [0] * (15 - min(len(params), 15))
        data = struct.pack(
            "<IIIIQQII15QII", tid, 0, code, flags, 0, address, len(params), 0, *info, ctx_size,
            ctx_rva,
        )  # fmt: skip
        self.add_stream(fmt.EXCEPTION, data)

    # -- modules -------------------------------------------------------------------------

    def codeview_pdb70(self, guid: bytes, age: int, pdb: str) -> tuple[int, int]:
        raw = struct.pack("<I", fmt.CV_PDB70) + guid + struct.pack("<I", age) + pdb.encode() + b"\0"
        return len(raw), self.blob(raw)

    def codeview_elf(self, build_id: bytes) -> tuple[int, int]:
        raw = struct.pack("<I", fmt.CV_ELF) + build_id
        return len(raw), self.blob(raw)

    def add_module(
        self,
        base: int,
        size: int,
        name: str,
        *,
        timestamp: int = 0,
        pdb: tuple[bytes, int, str] | None = None,
        build_id: bytes | None = None,
        codeview: tuple[int, int] | None = None,
        version: tuple[int, int, int, int] | None = None,
    ) -> None:
        """`pdb=(guid16, age, name)` for a PDB70 record, `build_id` for an ELF one."""
        name_rva = self.blob(utf16_string(name))
        if codeview is None and pdb is not None:
            codeview = self.codeview_pdb70(*pdb)
        if codeview is None and build_id is not None:
            codeview = self.codeview_elf(build_id)
        cv_size, cv_rva = codeview or (0, 0)
        vi = [0] * 13
        if version is not None:
            vi[0], vi[1] = fmt.VS_FFI_SIGNATURE, fmt.VS_FFI_STRUCVERSION
            vi[2] = (version[0] << 16) | version[1]
            vi[3] = (version[2] << 16) | version[3]
        self._modules.append(
            struct.pack(
                "<QIIII13IIIIIQQ",
                base,
                size,
                0,
                timestamp,
                name_rva,
                *vi,
                cv_size,
                cv_rva,
                0,
                0,
                0,
                0,
            )
        )

    def add_unloaded_module(self, base: int, size: int, name: str, timestamp: int = 0) -> None:
        name_rva = self.blob(utf16_string(name))
        self._unloaded.append(struct.pack("<QIIII", base, size, 0, timestamp, name_rva))

    # -- small streams -------------------------------------------------------------------

    def set_misc_info(self, pid: int | None = None, create_time: int | None = None) -> None:
        flags = (fmt.MISC1_PROCESS_ID if pid is not None else 0) | (
            fmt.MISC1_PROCESS_TIMES if create_time is not None else 0
        )
        self.add_stream(
            fmt.MISC_INFO, struct.pack("<6I", 24, flags, pid or 0, create_time or 0, 0, 0)
        )

    def set_breakpad_info(
        self, dump_tid: int | None = None, requesting_tid: int | None = None
    ) -> None:
        validity = (1 if dump_tid is not None else 0) | (2 if requesting_tid is not None else 0)
        self.add_stream(
            fmt.BREAKPAD_INFO, struct.pack("<III", validity, dump_tid or 0, requesting_tid or 0)
        )

    def set_thread_names(self, names: dict[int, str]) -> None:
        entries = b"".join(
            struct.pack("<IQ", tid, self.blob(utf16_string(name))) for tid, name in names.items()
        )
        self.add_stream(fmt.THREAD_NAMES, struct.pack("<I", len(names)) + entries)

    def add_text_stream(self, kind: int, text: str | bytes) -> None:
        self.add_stream(kind, text.encode() if isinstance(text, str) else text)

    def set_mac_boot_args(self, text: str) -> None:
        rva = self.blob(utf16_string(text))
        self.add_stream(fmt.MOZ_MACOS_BOOTARGS, struct.pack("<IQ", fmt.MOZ_MACOS_BOOTARGS, rva))

    def set_mac_crash_info(self, records: list[dict], version: int = 5) -> None:
        """Records with thread/dialog_mode/abort_cause numbers and the five strings."""
        fixed = {1: 16, 4: 32, 5: 40}[version]
        locations = []
        for rec in records:
            body = struct.pack("<QQ", fmt.MOZ_MACOS_CRASH_INFO, version)
            if version >= 4:
                body += struct.pack("<QQ", rec.get("thread", 0), rec.get("dialog_mode", 0))
            if version >= 5:
                body += struct.pack("<Q", rec.get("abort_cause", 0))
            if version >= 4:
                for key in ("module_path", "message", "signature_string", "backtrace", "message2"):
                    body += rec.get(key, "").encode() + b"\0"
            locations.append((len(body), self.blob(body)))
        locs = locations + [(0, 0)] * (20 - len(locations))
        header = struct.pack("<III", fmt.MOZ_MACOS_CRASH_INFO, len(records), fixed)
        self.add_stream(
            fmt.MOZ_MACOS_CRASH_INFO, header + b"".join(struct.pack("<II", *loc) for loc in locs)
        )

    def set_handles(self, handles: list[tuple[int, str | None, str | None]]) -> None:
        body = b""
        for handle, type_name, object_name in handles:
            type_rva = self.blob(utf16_string(type_name)) if type_name is not None else 0
            name_rva = self.blob(utf16_string(object_name)) if object_name is not None else 0
            body += struct.pack("<QIIIIII", handle, type_rva, name_rva, 0, 0, 1, 1)
        self.add_stream(fmt.HANDLE_DATA, struct.pack("<IIII", 16, 32, len(handles), 0) + body)

    # -- output --------------------------------------------------------------------------

    def build(self) -> bytes:
        streams = list(self._streams)
        if self._threads:
            body = b"".join(
                struct.pack("<IIIIQQIIII", t.tid, 0, 0, 0, t.teb, *t.stack, *t.context_rva)
                for t in self._threads
            )
            streams.insert(0, (fmt.THREAD_LIST, struct.pack("<I", len(self._threads)) + body))
        if self._modules:
            body = struct.pack("<I", len(self._modules)) + b"".join(self._modules)
            streams.append((fmt.MODULE_LIST, body))
        if self._unloaded:
            body = struct.pack("<III", 12, 24, len(self._unloaded)) + b"".join(self._unloaded)
            streams.append((fmt.UNLOADED_MODULE_LIST, body))
        if self._memory:
            body = struct.pack("<I", len(self._memory)) + b"".join(
                struct.pack("<QII", *m) for m in self._memory
            )
            streams.append((fmt.MEMORY_LIST, body))
        directory = b""
        for kind, data in streams:
            directory += struct.pack("<III", kind, len(data), self.blob(data))
        dir_rva = self.blob(directory)
        struct.pack_into(
            "<IIIIIIQ", self._data, 0, fmt.SIGNATURE, fmt.VERSION, len(streams), dir_rva, 0,
            self.time_date_stamp, 0,
        )  # fmt: skip
        return bytes(self._data)


def shared_stack_dump(threads: int, depth: int = 8, *, crashing: int | None = None) -> bytes:
    """A hostile amd64 Linux dump: `threads` threads sharing one context and one stack whose
    rbp chain holds `depth` frames in one module, so every thread unwinds to `depth + 1`
    frames while the dump grows by only a thread descriptor (48 bytes) per thread.

    Thread ids are 1..threads; `crashing` (a thread id) gets the exception stream. 100,000
    threads make a 4.8 MB dump.
    """
    base, module_base = 0x7F00_0000_0000, 0x40_0000
    frame_size = 64
    stack = bytearray(frame_size * (depth + 1))
    for i in range(depth):
        frame = base + frame_size * i
        # The saved rbp of this frame points at the next one; the return address follows.
        struct.pack_into("<QQ", stack, frame_size * i, frame + frame_size, module_base + 0x100 + i)
    b = DumpBuilder("amd64", "linux")
    b.add_module(module_base, 0x10000, "/usr/lib/hostile", build_id=bytes(range(20)))
    memory = b.add_memory(base, bytes(stack))
    regs = {"rip": module_base + 0x80, "rsp": base, "rbp": base}
    raw = encode_context("amd64", regs)
    context = (len(raw), b.blob(raw))
    for tid in range(1, threads + 1):
        b.add_thread(tid, context_at=context, stack_at=memory)
    if crashing is not None:
        b.set_exception(crashing, code=11, address=0x45, regs=regs)
    return b.build()
