"""Serialize the document byte for byte as serde_json does for minidump-stackwalk.

Keys sorted at every level; compact (`,` `:`) or pretty (2-space indent, `": "`,
empty containers as `[]`/`{}`); no trailing newline; non-ASCII written as is and
control characters escaped. The standard library's encoder writes exactly that.

Floats: rust-minidump holds bit-flip confidences as f32 but builds its JSON through
serde_json `Value`s, which hold f64, so the f32 is widened before it is printed
(`0.6625000238418579`, not `0.6625`). An f32-rounded Python float printed as a float64
is therefore the peer's text: compute with `f32()` and print normally.

Compact text comes from the C encoder that ``json.dumps`` itself uses for compact output,
called directly: importing ``json`` (its decoder and scanner, six regular expressions) costs
a one-dump ``stackwalk`` process more than serializing the document does.
"""

from __future__ import annotations

import struct

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from collections.abc import Callable

try:
    from _json import encode_basestring as _encode_string
    from _json import make_encoder as _make_encoder
except ImportError:  # pragma: no cover - a Python without the C accelerator
    _make_encoder = None


class F32(float):
    """A float that rust holds as f32 (e.g. bit-flip `confidence`); printed widened to
    f64, as the peer prints it."""


def f32(value: float) -> float:
    """`value` rounded to single precision (what a Rust f32 operation yields)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def to_json(doc: object, pretty: bool = False) -> str:
    """The document as minidump-stackwalk --json [--pretty] prints it."""
    if pretty:
        import json  # the indented form is json's Python encoder

        return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=2)
    return compact_json(doc, sort_keys=True)


def _not_serializable(value: object) -> object:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def compact_json(
    value: object, sort_keys: bool = False, default: Callable[[object], object] | None = None
) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys,
    default=default)``, the same text from the same C encoder, without importing json."""
    if _make_encoder is None:  # pragma: no cover - a Python without the C accelerator
        import json

        return json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys, default=default
        )
    # json.JSONEncoder.iterencode's one-shot call: markers (circular references), default,
    # string encoder, indent, key and item separators, sort_keys, skipkeys, allow_nan
    encode = _make_encoder(
        {}, default or _not_serializable, _encode_string, None, ":", ",", sort_keys, False, True
    )
    return "".join(encode(value, 0))
