"""walk_stack: the thread's frames from its context and stack memory.

The loop asks the CPU's unwinder for the caller of the newest frame until it says the
stack has ended. Termination does not depend on good input: every CPU requires the stack
pointer to move up (arm allows one exception for a leaf context frame), and a frame cap
derived from the stack size bounds walks whose rules never read memory.
"""

from __future__ import annotations

from importlib import import_module

from stackwalk.context import POINTER_REGISTERS, CpuContext
from stackwalk.frames import StackFrame
from stackwalk.memory import MemoryMap, MemoryRegion
from stackwalk.modules import ModuleMap
from stackwalk.unwind.common import Unwinder
from stackwalk.unwind.registers import SPECS, CpuSpec
from stackwalk.unwind.session import Session, SymbolsFor

# CPU -> its unwinder, imported when a dump of that CPU is first walked (a one-dump
# process loads one of them).
UNWINDERS: dict[str, Unwinder] = {}
_UNWINDER_MODULES = ("x86", "amd64", "arm", "arm64")


def _unwinder(cpu: str) -> Unwinder | None:
    if cpu not in UNWINDERS and cpu in _UNWINDER_MODULES:
        UNWINDERS[cpu] = import_module(f"stackwalk.unwind.{cpu}").UNWINDER
    return UNWINDERS.get(cpu)


# Floor of the frame cap; real walks are bounded by the stack size long before.
MIN_FRAME_CAP = 1024


def walk_stack(
    context: CpuContext,
    stack: MemoryRegion | None,
    memory: MemoryMap,
    modules: ModuleMap,
    symbols_for: SymbolsFor,
    system_os: str | None = None,
    max_frames: int | None = None,
) -> list[StackFrame]:
    """Frames of one thread, innermost first, as rust-minidump 0.25 unwinds them.

    `stack` is the thread's stack memory; it is the only memory read while unwinding, as
    in rust-minidump (`memory` is accepted for the caller's convenience and not read).
    `symbols_for(module)` is asked whenever rust-minidump would load a module's symbols,
    including for stack-scan candidates. `system_os` is the OS as the JSON prints it
    ("Windows NT", "iOS", ...); it changes the amd64 frame-pointer and arm strategies.
    `max_frames` stops the walk after that many frames (stackwalk.limits).
    Never raises: an unexpected failure ends the walk with the frames found so far.
    """
    spec = SPECS.get(context.cpu)
    if spec is not None:
        context = canonical_context(context, spec)
    ip = context.instruction_pointer if context.cpu in POINTER_REGISTERS else 0
    frames = [StackFrame(ip, context, "context", modules.find(ip))]
    unwinder = _unwinder(context.cpu)
    if spec is None or unwinder is None or stack is None or stack.size == 0:
        return frames
    session = Session(spec, stack, modules, symbols_for, system_os)
    cap = max(MIN_FRAME_CAP, stack.size // spec.width + 2)
    if max_frames is not None:
        cap = min(cap, max_frames)
    try:
        while len(frames) < cap:
            grand_callee = frames[-2] if len(frames) > 1 else None
            caller = unwinder.caller_frame(session, frames[-1], grand_callee)
            if caller is None:
                break
            frames.append(caller)
    except Exception:  # a crash report must not be lost to an unwinder bug
        import logging  # only here: importing logging costs more than most walks

        logging.getLogger(__name__).exception(
            "stack walk stopped by an internal error after %d frames", len(frames)
        )
    return frames


def canonical_context(context: CpuContext, spec: CpuSpec) -> CpuContext:
    """The context with register aliases (`x29`, `r11`, ...) under their canonical names
    and every register of the CPU present (0 when the reader gave none, as in the fixed
    layout rust-minidump reads), so each lookup needs one name per register."""
    registers = dict.fromkeys(spec.registers, 0)
    for name, value in context.registers.items():
        registers[spec.aliases.get(name, name)] = value
    valid = context.valid
    if valid is not None:
        valid = frozenset(spec.aliases.get(name, name) for name in valid)
    return CpuContext(context.cpu, registers, valid)
