"""STACK WIN (x86 Windows): FrameData program strings and old-style FPO records.

FrameData programs are postfix code over 32-bit variables: `$T0 $ebp = $eip $T0 4 + ^ =`
assigns, `^` reads the stack, and the caller's registers are whatever `$eip $esp $ebp $ebx
$esi $edi` hold at the end. `.raSearch` (where the return address is expected) is the
callee's `$esp` plus the frame size, or `$ebp + 4` when the program realigns the stack
with `@`. FPO records carry only sizes and say whether the function pushed `ebp`.

rust-minidump's behaviour is reproduced, including its quirk of not clearing the
callee-saved registers forwarded into the caller (its clearing code passes `$`-prefixed
names, which match nothing), because frames and trust are compared with it.
"""

from __future__ import annotations

from stackwalk.unwind.postfix import BINARY_OPERATORS, apply_binary, parse_literal, tokens
from stackwalk.unwind.step import UnwindStep

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from symbols.symfile import StackWin

U32 = (1 << 32) - 1
U64 = (1 << 64) - 1
OUTPUT_REGISTERS = ("$eip", "$esp", "$ebp", "$ebx", "$esi", "$edi")
FRAMEDATA, FPO = 4, 0


class _Undef:
    """The `.undef` value: assigning it deletes a variable, using it fails."""


UNDEF = _Undef()


def frame_size(info: StackWin, grand_callee_parameter_size: int) -> int:
    return (info.local_size + info.saved_register_size + grand_callee_parameter_size) & U32


def program_tokens(program: str) -> list[str]:
    """Tokens of a program, with `=$ebp` split into `=` and `$ebp`: some toolchains omit
    the space after `=`."""
    out: list[str] = []
    for token in tokens(program):
        if token.startswith("=") and len(token) > 1:
            out.extend(("=", token[1:]))
        else:
            out.append(token)
    return out


def evaluate_program(info: StackWin, step: UnwindStep) -> bool:
    """Run a FrameData program against `step`; False when it cannot be evaluated."""
    program = info.program_string or ""
    esp = step.callee_register("esp")
    ebp = step.callee_register("ebp")
    if esp is None or ebp is None:
        return False
    variables: dict[str, int] = {"$esp": esp & U32, "$ebp": ebp & U32}
    ebx = step.callee_register("ebx")
    if ebx is not None:
        variables["$ebx"] = ebx & U32
    params = step.grand_callee_parameter_size & U32
    search_start = (ebp & U32) + 4 if "@" in program else (esp & U32) + frame_size(info, params)
    if search_start > U32:
        return False
    variables.update(
        {
            ".cbParams": info.parameter_size & U32,
            ".cbCalleeParams": params,
            ".cbSavedRegs": info.saved_register_size & U32,
            ".cbLocals": info.local_size & U32,
            ".raSearch": search_start,
            ".raSearchStart": search_start,
        }
    )

    # Stack items: int (a value), str (a variable name) or UNDEF.
    stack: list[int | str | _Undef] = []

    def value_of(item: int | str | _Undef) -> int | None:
        if isinstance(item, str):
            return variables.get(item)
        return None if item is UNDEF else item

    for token in program_tokens(program):
        if token in BINARY_OPERATORS:
            if len(stack) < 2:
                return False
            rhs = value_of(stack.pop())
            lhs = value_of(stack.pop())
            if rhs is None or lhs is None:
                return False
            result = apply_binary(token, lhs, rhs, U32)
            if result is None:
                return False
            stack.append(result)
        elif token == "=":
            if len(stack) < 2:
                return False
            rhs_item = stack.pop()
            target = stack.pop()
            if not isinstance(target, str):
                return False
            if rhs_item is UNDEF:
                variables.pop(target, None)
                continue
            value = value_of(rhs_item)
            if value is None:
                return False
            variables[target] = value
        elif token == "^":
            address = value_of(stack.pop()) if stack else None
            value = None if address is None else step.read_pointer(address)
            if value is None:
                return False
            stack.append(value & U32)
        elif token == ".undef":
            stack.append(UNDEF)
        elif token.startswith(("$", ".")):
            stack.append(token)
        else:
            literal = parse_literal(token, 32)
            if literal is None:
                return False
            stack.append(literal)

    for name in OUTPUT_REGISTERS:
        if name in variables and not step.set_caller_register(name[1:], variables[name]):
            return False
    return True


def walk_with_fpo(info: StackWin, step: UnwindStep) -> bool:
    """Unwind with an FPO record: return address above the frame, `ebp` maybe saved."""
    params = step.grand_callee_parameter_size & U32
    size = frame_size(info, params)
    esp = step.callee_register("esp")
    if esp is None:
        return False
    eip_address = esp + size
    eip = step.read_pointer(eip_address)
    if eip is None:
        return False
    if not step.has_grand_callee:
        # A frame-pointer-omitting system call can leave its return address on the stack;
        # on the context frame a return address equal to the current eip is skipped.
        callee_eip = step.callee_register("eip")
        if callee_eip is None:
            return False
        if eip == callee_eip:
            eip_address += 4
            eip = step.read_pointer(eip_address)
            if eip is None:
                return False
    if info.allocates_base_pointer:
        ebp = step.read_pointer((esp + params + info.saved_register_size - 8) & U64)
        if ebp is None:
            return False
    else:
        # ebx is commonly untouched by such functions (Breakpad's observation), so it is
        # forwarded too.
        ebx = step.callee_register("ebx")
        if ebx is not None and not step.set_caller_register("ebx", ebx):
            return False
        ebp = step.callee_register("ebp")
        if ebp is None:
            return False
    return (
        step.set_caller_register("eip", eip)
        and step.set_caller_register("esp", eip_address + 4)
        and step.set_caller_register("ebp", ebp)
    )


def walk_with_stack_win(info: StackWin, step: UnwindStep) -> bool:
    if info.kind == FRAMEDATA:
        return evaluate_program(info, step)
    if info.kind == FPO:
        return walk_with_fpo(info, step)
    return False
