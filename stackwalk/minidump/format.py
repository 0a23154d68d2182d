"""Numbers of the minidump format: stream types, CPU architectures, platforms, flags.

Values come from Microsoft's minidumpapiset.h and Breakpad/Crashpad/Mozilla's
extensions, as rust-minidump's minidump-common lists them.
"""

from __future__ import annotations

SIGNATURE = 0x504D444D  # "MDMP"
VERSION = 0xA793
HEADER_SIZE = 32
DIRECTORY_ENTRY_SIZE = 12

# Stream types.
THREAD_LIST = 3
MODULE_LIST = 4
MEMORY_LIST = 5
EXCEPTION = 6
SYSTEM_INFO = 7
MEMORY_64_LIST = 9
HANDLE_DATA = 12
UNLOADED_MODULE_LIST = 14
MISC_INFO = 15
MEMORY_INFO_LIST = 16
THREAD_INFO_LIST = 17
THREAD_NAMES = 24
BREAKPAD_INFO = 0x47670001
ASSERTION_INFO = 0x47670002
LINUX_CPU_INFO = 0x47670003
LINUX_PROC_STATUS = 0x47670004
LINUX_LSB_RELEASE = 0x47670005
LINUX_CMD_LINE = 0x47670006
LINUX_ENVIRON = 0x47670007
LINUX_AUXV = 0x47670008
LINUX_MAPS = 0x47670009
LINUX_DSO_DEBUG = 0x4767000A
CRASHPAD_INFO = 0x43500001
MOZ_MACOS_CRASH_INFO = 0x4D7A0001
MOZ_MACOS_BOOTARGS = 0x4D7A0002
MOZ_LINUX_LIMITS = 0x4D7A0003
MOZ_SOFT_ERRORS = 0x4D7A0004

STREAM_NAMES = {
    THREAD_LIST: "ThreadList",
    MODULE_LIST: "ModuleList",
    MEMORY_LIST: "MemoryList",
    EXCEPTION: "Exception",
    SYSTEM_INFO: "SystemInfo",
    MEMORY_64_LIST: "Memory64List",
    HANDLE_DATA: "HandleData",
    UNLOADED_MODULE_LIST: "UnloadedModuleList",
    MISC_INFO: "MiscInfo",
    MEMORY_INFO_LIST: "MemoryInfoList",
    THREAD_INFO_LIST: "ThreadInfoList",
    THREAD_NAMES: "ThreadNames",
    BREAKPAD_INFO: "BreakpadInfo",
    ASSERTION_INFO: "AssertionInfo",
    LINUX_CPU_INFO: "LinuxCpuInfo",
    LINUX_PROC_STATUS: "LinuxProcStatus",
    LINUX_LSB_RELEASE: "LinuxLsbRelease",
    LINUX_CMD_LINE: "LinuxCmdLine",
    LINUX_ENVIRON: "LinuxEnviron",
    LINUX_AUXV: "LinuxAuxv",
    LINUX_MAPS: "LinuxMaps",
    LINUX_DSO_DEBUG: "LinuxDsoDebug",
    CRASHPAD_INFO: "CrashpadInfo",
    MOZ_MACOS_CRASH_INFO: "MozMacosCrashInfo",
    MOZ_MACOS_BOOTARGS: "MozMacosBootargs",
    MOZ_LINUX_LIMITS: "MozLinuxLimits",
    MOZ_SOFT_ERRORS: "MozSoftErrors",
}


def stream_name(stream_type: int) -> str:
    return STREAM_NAMES.get(stream_type, f"stream {stream_type:#x}")


# MINIDUMP_SYSTEM_INFO.ProcessorArchitecture -> rust-minidump's CPU name.
CPU_BY_ARCH = {
    0: "x86",
    10: "x86",  # IA32 on Win64
    9: "amd64",
    3: "ppc",
    0x8002: "ppc64",
    0x8001: "sparc",
    5: "arm",
    12: "arm64",
    0x8003: "arm64",  # Breakpad's old ARM64 value
    1: "mips",
    0x8004: "mips64",
}
ARCH_ARM64_OLD = 0x8003
CPU_POINTER_WIDTH = {
    "x86": 4,
    "ppc": 4,
    "sparc": 4,
    "arm": 4,
    "mips": 4,
    "amd64": 8,
    "ppc64": 8,
    "arm64": 8,
    "mips64": 8,
}

# MINIDUMP_SYSTEM_INFO.PlatformId -> (rust-minidump's long name, short OS key).
OS_BY_PLATFORM = {
    1: None,  # VER_PLATFORM_WIN32s: rust treats it as unknown
    2: ("Windows NT", "windows"),
    3: ("Windows NT", "windows"),
    0x8101: ("Mac OS X", "mac"),
    0x8102: ("iOS", "ios"),
    0x8201: ("Linux", "linux"),
    0x8202: ("Solaris", "solaris"),
    0x8203: ("Android", "android"),
    0x8204: ("PS3", "ps3"),
    0x8205: ("NaCl", "nacl"),
}
PLATFORM_LINUX = 0x8201

# CodeView record signatures.
CV_PDB70 = 0x53445352  # "RSDS"
CV_PDB20 = 0x3031424E  # "NB10"
CV_ELF = 0x4270454C  # "BpEL"

VS_FFI_SIGNATURE = 0xFEEF04BD
VS_FFI_STRUCVERSION = 0x00010000

# Context flags: the CPU part of context_flags, and the bits rust-minidump knows.
CONTEXT_CPU_MASK = 0xFFFFFF00
CONTEXT_KNOWN_CPU_BITS = (
    0x10000  # x86
    | 0x20000  # alpha
    | 0x40000  # mips
    | 0x80000  # mips64
    | 0x100000  # amd64
    | 0x400000  # arm64
    | 0x1000000  # ppc64
    | 0x10000000  # sparc
    | 0x20000000  # ppc
    | 0x40000000  # arm
    | 0x80000000  # old arm64
)
CONTEXT_X86 = 0x10000
CONTEXT_AMD64 = 0x100000
CONTEXT_ARM = 0x40000000
CONTEXT_ARM64 = 0x400000
CONTEXT_ARM64_OLD = 0x80000000

MISC1_PROCESS_ID = 0x1
MISC1_PROCESS_TIMES = 0x2
BREAKPAD_DUMP_THREAD_VALID = 0x1
BREAKPAD_REQUESTING_THREAD_VALID = 0x2
