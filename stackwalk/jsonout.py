"""Serialize the document byte for byte as serde_json does for minidump-stackwalk.

Keys sorted at every level; compact (`,` `:`) or pretty (2-space indent, `": "`,
empty containers as `[]`/`{}`); no trailing newline; non-ASCII written as is and
control characters escaped; F32 values printed as the shortest text that reads back
as the same 32-bit float (Rust's f32 Display), not as Python's float64 repr.
"""

from __future__ import annotations

import json
import struct


class F32(float):
    """A float that rust holds as f32 (e.g. bit-flip `confidence`)."""


def f32(value: float) -> float:
    """`value` rounded to single precision (what a Rust f32 operation yields)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def _f32_text(value: float) -> str:
    target = struct.pack("<f", value)
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if struct.pack("<f", float(text)) == target:
            break
    number = float(text)
    if number == int(number) and abs(number) < 1e16:
        return f"{int(number)}.0"
    return repr(number) if "e" not in text else text


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, F32):
        return _f32_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot serialize {type(value).__name__}")


def _write(value: object, out: list[str], indent: str | None, level: int) -> None:
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        items = sorted(value.items())
        if indent is None:
            out.append("{")
            for i, (key, item) in enumerate(items):
                if i:
                    out.append(",")
                out.append(_scalar(str(key)) + ":")
                _write(item, out, None, level)
            out.append("}")
        else:
            inner = "\n" + indent * (level + 1)
            out.append("{")
            for i, (key, item) in enumerate(items):
                out.append(("," if i else "") + inner + _scalar(str(key)) + ": ")
                _write(item, out, indent, level + 1)
            out.append("\n" + indent * level + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        if indent is None:
            out.append("[")
            for i, item in enumerate(value):
                if i:
                    out.append(",")
                _write(item, out, None, level)
            out.append("]")
        else:
            inner = "\n" + indent * (level + 1)
            out.append("[")
            for i, item in enumerate(value):
                out.append(("," if i else "") + inner)
                _write(item, out, indent, level + 1)
            out.append("\n" + indent * level + "]")
    else:
        out.append(_scalar(value))


def _has_f32(value: object) -> bool:
    if isinstance(value, dict):
        return any(_has_f32(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_f32(v) for v in value)
    return isinstance(value, F32)


def to_json(doc: object, pretty: bool = False) -> str:
    """The document as minidump-stackwalk --json [--pretty] prints it."""
    if not _has_f32(doc):
        # the standard encoder writes the same bytes, much faster, when no f32 is involved
        if pretty:
            return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=2)
        return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    out: list[str] = []
    _write(doc, out, "  " if pretty else None, 0)
    return "".join(out)
