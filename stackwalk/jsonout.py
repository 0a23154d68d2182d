"""Serialize the document byte for byte as serde_json does for minidump-stackwalk.

Keys sorted at every level; compact (`,` `:`) or pretty (2-space indent, `": "`,
empty containers as `[]`/`{}`); no trailing newline; non-ASCII written as is and
control characters escaped. The standard library's encoder writes exactly that.

Floats: rust-minidump holds bit-flip confidences as f32 but builds its JSON through
serde_json `Value`s, which hold f64, so the f32 is widened before it is printed
(`0.6625000238418579`, not `0.6625`). An f32-rounded Python float printed as a float64
is therefore the peer's text: compute with `f32()` and print normally.
"""

from __future__ import annotations

import json
import struct


class F32(float):
    """A float that rust holds as f32 (e.g. bit-flip `confidence`); printed widened to
    f64, as the peer prints it."""


def f32(value: float) -> float:
    """`value` rounded to single precision (what a Rust f32 operation yields)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def to_json(doc: object, pretty: bool = False) -> str:
    """The document as minidump-stackwalk --json [--pretty] prints it."""
    if pretty:
        return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=2)
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
