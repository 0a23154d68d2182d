"""Name tables for crash reasons (rust-minidump's minidump-common error enums, as data).

Windows WinError / NTSTATUS / FAST_FAIL names are large and live in
windows_errors.tsv (generated from rust-minidump itself, see generate_tables.py);
the short Windows, Linux and macOS tables are here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

WINDOWS_EXCEPTIONS = {
    0x80000001: "EXCEPTION_GUARD_PAGE",
    0x80000002: "EXCEPTION_DATATYPE_MISALIGNMENT",
    0x80000003: "EXCEPTION_BREAKPOINT",
    0x80000004: "EXCEPTION_SINGLE_STEP",
    0xC0000005: "EXCEPTION_ACCESS_VIOLATION",
    0xC0000006: "EXCEPTION_IN_PAGE_ERROR",
    0xC0000008: "EXCEPTION_INVALID_HANDLE",
    0xC000001D: "EXCEPTION_ILLEGAL_INSTRUCTION",
    0xC0000025: "EXCEPTION_NONCONTINUABLE_EXCEPTION",
    0xC0000026: "EXCEPTION_INVALID_DISPOSITION",
    0xC000008C: "EXCEPTION_BOUNDS_EXCEEDED",
    0xC000008D: "EXCEPTION_FLT_DENORMAL_OPERAND",
    0xC000008E: "EXCEPTION_FLT_DIVIDE_BY_ZERO",
    0xC000008F: "EXCEPTION_FLT_INEXACT_RESULT",
    0xC0000090: "EXCEPTION_FLT_INVALID_OPERATION",
    0xC0000091: "EXCEPTION_FLT_OVERFLOW",
    0xC0000092: "EXCEPTION_FLT_STACK_CHECK",
    0xC0000093: "EXCEPTION_FLT_UNDERFLOW",
    0xC0000094: "EXCEPTION_INT_DIVIDE_BY_ZERO",
    0xC0000095: "EXCEPTION_INT_OVERFLOW",
    0xC0000096: "EXCEPTION_PRIV_INSTRUCTION",
    0xC00000FD: "EXCEPTION_STACK_OVERFLOW",
    0xC0000194: "EXCEPTION_POSSIBLE_DEADLOCK",
    0xE0000008: "Out of Memory",
    0xE06D7363: "Unhandled C++ Exception",
    0xE0434352: "MANAGED_EXCEPTION_CODE_V4",
    0x0517A7ED: "Simulated Exception",
}
EXCEPTION_ACCESS_VIOLATION = 0xC0000005
EXCEPTION_IN_PAGE_ERROR = 0xC0000006
STATUS_STACK_BUFFER_OVERRUN = 0xC0000409
WINDOWS_ACCESS_TYPES = {0: "READ", 1: "WRITE", 8: "EXEC"}
WINDOWS_FACILITIES = {109: "FACILITY_VISUALCPP"}

LINUX_SIGNALS = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
    7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
    13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD",
    18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG",
    24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO",
    30: "SIGPWR", 31: "SIGSYS", 0xFFFFFFFF: "DUMP_REQUESTED",
}  # fmt: skip
LINUX_SI_CODES = {
    0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ",
    -4: "SI_ASYNCIO", -5: "SI_SIGIO", -6: "SI_TKILL", -7: "SI_DETHREAD", -60: "SI_ASYNCNL",
}  # fmt: skip
LINUX_SIGNAL_KINDS = {
    "SIGILL": {
        1: "ILL_ILLOPC", 2: "ILL_ILLOPN", 3: "ILL_ILLADR", 4: "ILL_ILLTRP", 5: "ILL_PRVOPC",
        6: "ILL_PRVREG", 7: "ILL_COPROC", 8: "ILL_BADSTK", 9: "ILL_BADIADDR",
    },
    "SIGTRAP": {
        1: "TRAP_BRKPT", 2: "TRAP_TRACE", 3: "TRAP_BRANCH", 4: "TRAP_HWBKPT", 5: "TRAP_UNK",
        6: "TRAP_PERF",
    },
    "SIGFPE": {
        1: "FPE_INTDIV", 2: "FPE_INTOVF", 3: "FPE_FLTDIV", 4: "FPE_FLTOVF", 5: "FPE_FLTUND",
        6: "FPE_FLTRES", 7: "FPE_FLTINV", 8: "FPE_FLTSUB",
    },
    "SIGSEGV": {1: "SEGV_MAPERR", 2: "SEGV_ACCERR", 3: "SEGV_BNDERR", 4: "SEGV_PKUERR"},
    "SIGBUS": {
        1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR", 4: "BUS_MCEERR_AR", 5: "BUS_MCEERR_AO",
    },
    "SIGSYS": {1: "SYS_SECCOMP", 2: "SYS_USER_DISPATCH"},
}  # fmt: skip

MAC_EXCEPTIONS = {
    1: "EXC_BAD_ACCESS", 2: "EXC_BAD_INSTRUCTION", 3: "EXC_ARITHMETIC", 4: "EXC_EMULATION",
    5: "EXC_SOFTWARE", 6: "EXC_BREAKPOINT", 7: "EXC_SYSCALL", 8: "EXC_MACH_SYSCALL",
    9: "EXC_RPC_ALERT", 11: "EXC_RESOURCE", 12: "EXC_GUARD", 0x43507378: "SIMULATED",
}  # fmt: skip
MAC_KERN_RETURNS = {
    1: "KERN_INVALID_ADDRESS", 2: "KERN_PROTECTION_FAILURE", 5: "KERN_FAILURE",
    8: "KERN_NO_ACCESS", 9: "KERN_MEMORY_FAILURE", 10: "KERN_MEMORY_ERROR",
    50: "KERN_CODESIGN_ERROR",
}  # fmt: skip
# Per exception and CPU family ("arm" = arm64 only, as in rust-minidump).
MAC_CPU_CODES = {
    ("EXC_BAD_ACCESS", "arm"): {
        0x101: "EXC_ARM_DA_ALIGN", 0x102: "EXC_ARM_DA_DEBUG", 0x103: "EXC_ARM_SP_ALIGN",
        0x104: "EXC_ARM_SWP", 0x105: "EXC_ARM_PAC_FAIL",
    },
    ("EXC_BAD_ACCESS", "ppc"): {
        0x101: "EXC_PPC_VM_PROT_READ", 0x102: "EXC_PPC_BADSPACE", 0x103: "EXC_PPC_UNALIGNED",
    },
    ("EXC_BAD_ACCESS", "x86"): {13: "EXC_I386_GPFLT"},
    ("EXC_BAD_INSTRUCTION", "arm"): {1: "EXC_ARM_UNDEFINED"},
    ("EXC_BAD_INSTRUCTION", "ppc"): {
        1: "EXC_PPC_INVALID_SYSCALL", 2: "EXC_PPC_UNIPL_INST", 3: "EXC_PPC_PRIVINST",
        4: "EXC_PPC_PRIVREG", 5: "EXC_PPC_TRACE", 6: "EXC_PPC_PERFMON",
    },
    ("EXC_BAD_INSTRUCTION", "x86"): {
        1: "EXC_I386_INVOP", 10: "EXC_I386_INVTSSFLT", 11: "EXC_I386_SEGNPFLT",
        12: "EXC_I386_STKFLT", 13: "EXC_I386_GPFLT", 17: "EXC_I386_ALIGNFLT",
    },
    ("EXC_ARITHMETIC", "arm"): {
        1: "EXC_ARM_FP_IO", 2: "EXC_ARM_FP_DZ", 3: "EXC_ARM_FP_OF", 4: "EXC_ARM_FP_UF",
        5: "EXC_ARM_FP_IX", 6: "EXC_ARM_FP_ID",
    },
    ("EXC_ARITHMETIC", "ppc"): {
        1: "EXC_PPC_OVERFLOW", 2: "EXC_PPC_ZERO_DIVIDE", 3: "EXC_FLT_INEXACT",
        4: "EXC_PPC_FLT_ZERO_DIVIDE", 5: "EXC_PPC_FLT_UNDERFLOW", 6: "EXC_PPC_FLT_OVERFLOW",
        7: "EXC_PPC_FLT_NOT_A_NUMBER", 8: "EXC_PPC_NOEMULATION", 9: "EXC_PPC_ALTIVECASSIST",
    },
    ("EXC_ARITHMETIC", "x86"): {
        1: "EXC_I386_DIV", 2: "EXC_I386_INTO", 3: "EXC_I386_NOEXT", 4: "EXC_I386_EXTOVR",
        5: "EXC_I386_EXTERR", 6: "EXC_I386_EMERR", 7: "EXC_I386_BOUND", 8: "EXC_I386_SSEEXTERR",
    },
    ("EXC_BREAKPOINT", "arm"): {1: "EXC_ARM_BREAKPOINT"},
    ("EXC_BREAKPOINT", "ppc"): {1: "EXC_PPC_BREAKPOINT"},
    ("EXC_BREAKPOINT", "x86"): {1: "EXC_I386_SGL", 2: "EXC_I386_BPT"},
}  # fmt: skip
MAC_SOFTWARE = {
    0x00010002: "SIGABRT", 0xDEADC0DE: "UNCAUGHT_NS_EXCEPTION", 0x00000001: "EXC_PPC_TRAP",
    0x00010100: "EXC_PPC_MIGRATE",
}  # fmt: skip
MAC_RESOURCE_TYPES = {
    1: "RESOURCE_TYPE_CPU", 2: "RESOURCE_TYPE_WAKEUPS", 3: "RESOURCE_TYPE_MEMORY",
    4: "RESOURCE_TYPE_IO", 5: "RESOURCE_TYPE_THREADS",
}  # fmt: skip
MAC_RESOURCE_FLAVORS = {
    "RESOURCE_TYPE_CPU": {1: "FLAVOR_CPU_MONITOR", 2: "FLAVOR_CPU_MONITOR_FATAL"},
    "RESOURCE_TYPE_WAKEUPS": {1: "FLAVOR_WAKEUPS_MONITOR"},
    "RESOURCE_TYPE_MEMORY": {1: "FLAVOR_HIGH_WATERMARK"},
    "RESOURCE_TYPE_IO": {1: "FLAVOR_IO_PHYSICAL_WRITES", 2: "FLAVOR_IO_LOGICAL_WRITES"},
    "RESOURCE_TYPE_THREADS": {1: "FLAVOR_THREADS_HIGH_WATERMARK"},
}
MAC_GUARD_TYPES = {
    0: "GUARD_TYPE_NONE", 1: "GUARD_TYPE_MACH_PORT", 2: "GUARD_TYPE_FD", 3: "GUARD_TYPE_USER",
    4: "GUARD_TYPE_VN", 5: "GUARD_TYPE_VIRT_MEMORY", 6: "GUARD_TYPE_REJECTED_SC",
}  # fmt: skip
MAC_GUARD_FLAVORS = {
    "GUARD_TYPE_MACH_PORT": {
        1 << i: name
        for i, name in enumerate(
            (
                "GUARD_EXC_DESTROY", "GUARD_EXC_MOD_REFS", "GUARD_EXC_SET_CONTEXT",
                "GUARD_EXC_UNGUARDED", "GUARD_EXC_INCORRECT_GUARD", "GUARD_EXC_IMMOVABLE",
                "GUARD_EXC_STRICT_REPLY", "GUARD_EXC_MSG_FILTERED", "GUARD_EXC_INVALID_RIGHT",
                "GUARD_EXC_INVALID_NAME", "GUARD_EXC_INVALID_VALUE", "GUARD_EXC_INVALID_ARGUMENT",
                "GUARD_EXC_RIGHT_EXISTS", "GUARD_EXC_KERN_NO_SPACE", "GUARD_EXC_KERN_FAILURE",
                "GUARD_EXC_KERN_RESOURCE", "GUARD_EXC_SEND_INVALID_REPLY",
                "GUARD_EXC_SEND_INVALID_VOUCHER", "GUARD_EXC_SEND_INVALID_RIGHT",
                "GUARD_EXC_RCV_INVALID_NAME", "GUARD_EXC_RCV_GUARDED_DESC",
                "GUARD_EXC_MOD_REFS_NON_FATAL", "GUARD_EXC_IMMOVABLE_NON_FATAL",
            )
        )
    },
    "GUARD_TYPE_FD": {
        1 << i: name
        for i, name in enumerate(
            (
                "GUARD_EXC_CLOSE", "GUARD_EXC_DUP", "GUARD_EXC_NOCLOEXEC", "GUARD_EXC_SOCKET_IPC",
                "GUARD_EXC_FILEPORT", "GUARD_EXC_MISMATCH", "GUARD_EXC_WRITE",
            )
        )
    },
    "GUARD_TYPE_VN": {
        1 << i: name
        for i, name in enumerate(
            (
                "GUARD_EXC_RENAME_TO", "GUARD_EXC_RENAME_FROM", "GUARD_EXC_UNLINK",
                "GUARD_EXC_WRITE_OTHER", "GUARD_EXC_TRUNC_OTHER", "GUARD_EXC_LINK",
                "GUARD_EXC_EXCHDATA",
            )
        )
    },
    "GUARD_TYPE_VIRT_MEMORY": {1: "GUARD_EXC_DEALLOC_GAP"},
    "GUARD_TYPE_REJECTED_SC": {0: "GUARD_EXC_MACH_TRAP"},
}  # fmt: skip


@cache
def windows_tables() -> dict[str, dict[int, str]]:
    """{"winerror": ..., "ntstatus": ..., "fastfail": ...} read from windows_errors.tsv."""
    tables: dict[str, dict[int, str]] = {"winerror": {}, "ntstatus": {}, "fastfail": {}}
    path = Path(__file__).with_name("windows_errors.tsv")
    with open(path, encoding="ascii") as f:
        for line in f:
            if line.startswith("#"):
                continue
            table, code, name = line.rstrip("\n").split("\t")
            tables[table][int(code, 16)] = name
    return tables
