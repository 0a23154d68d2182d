"""Text that JSON can carry but UTF-8 cannot: lone UTF-16 surrogates.

JSON's ``\\ud800`` escape decodes to a Python string holding a lone surrogate, which no UTF-8
encoder accepts: a single such annotation made ``crashproc process`` and ``submit`` stop with
a traceback and the daemon dead-letter the crash. Such text is replaced by U+FFFD wherever a
document enters (a raw crash from a crash directory or from storage, a stackwalker output) or
leaves (a processed crash) processing, and the replacement is a processing note naming the
fields, not a failure. The encoders below are the last guard for whatever else slips through.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

REPLACEMENT = "\ufffd"
SURROGATE = re.compile("[\ud800-\udfff]")
# A surrogate can only come from a \u escape (undecodable bytes are replaced when read);
# a document without one needs no walk.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
MAX_NAMED_FIELDS = 10
MAX_PATH_LENGTH = 100


def may_hold_surrogates(data: bytes | str) -> bool:
    """Whether JSON text ``data`` can decode to a string with a lone surrogate."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return SURROGATE_ESCAPE.search(data) is not None


def replace_lone_surrogates(document: Any, path: str = "") -> tuple[Any, list[str]]:
    """``document`` with every lone surrogate (in keys and strings) replaced by U+FFFD, and
    the JSON paths that held one (``Notes``, ``json_dump.modules.3.filename``)."""
    found: list[str] = []
    return _clean(document, path, found), found


def _clean(value: Any, path: str, found: list[str]) -> Any:
    if isinstance(value, str):
        if SURROGATE.search(value):
            found.append(path or "(document)")
            return SURROGATE.sub(REPLACEMENT, value)
        return value
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            if isinstance(key, str) and SURROGATE.search(key):
                key = SURROGATE.sub(REPLACEMENT, key)
                found.append(_join(path, key))
            cleaned[key] = _clean(item, _join(path, str(key)), found)
        return cleaned
    if isinstance(value, list):
        return [_clean(item, _join(path, str(index)), found) for index, item in enumerate(value)]
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def surrogate_note(paths: list[str], where: str) -> str:
    """The processing note for replaced text: which fields, clipped (names come from the
    crash, so they are bounded here)."""
    shown = [p if len(p) <= MAX_PATH_LENGTH else p[: MAX_PATH_LENGTH - 3] + "..." for p in paths]
    more = len(shown) - MAX_NAMED_FIELDS
    listed = ", ".join(shown[:MAX_NAMED_FIELDS]) + (f" and {more} more" if more > 0 else "")
    return f"{where}: invalid text (lone UTF-16 surrogates) replaced by U+FFFD in {listed}"


def loads_clean(data: bytes | str) -> tuple[Any, list[str]]:
    """``json.loads`` with lone surrogates replaced; (document, JSON paths that held one)."""
    document = json.loads(data)
    if not may_hold_surrogates(data):
        return document, []
    return replace_lone_surrogates(document)


def compact_json(document: Any) -> bytes:
    """Compact UTF-8 JSON, as ``json.dumps(ensure_ascii=False, separators=(",", ":"))`` writes
    it, encoded. orjson writes it about ten times faster than json's C encoder, and a worker
    encodes every processed crash twice (it and its public copy): on the sample crashes that
    was a tenth of a worker's time. What orjson refuses (integers past 64 bits, keys that are
    not strings, nesting deeper than 254, lone surrogates) goes through json as before.

    Raises UnicodeEncodeError for a lone surrogate and TypeError for a value JSON cannot hold,
    as json's text encoded to UTF-8 would. The output differs from json's in numbers only: a
    float is written in its shortest round-trip form without a ``+`` or leading zero in its
    exponent (``1e16``, ``1e-7``: the same value when read back), and NaN and the infinities,
    which JSON cannot hold, become ``null`` where json wrote ``NaN``, which strict readers
    (browsers, PostgreSQL, jq) refuse.
    """
    try:
        return orjson.dumps(document, default=_plain_float)
    except orjson.JSONEncodeError:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _plain_float(value: Any) -> float:
    """A float subclass (the stackwalker's F32 confidences) as the float it is: json writes
    it so, orjson asks."""
    if isinstance(value, float):
        return float(value)
    raise TypeError


def dumps_utf8(document: Any, **options: Any) -> str:
    """``json.dumps(ensure_ascii=False)`` that is always encodable as UTF-8."""
    text = json.dumps(document, ensure_ascii=False, **options)
    if SURROGATE.search(text):
        text = json.dumps(replace_lone_surrogates(document)[0], ensure_ascii=False, **options)
    return text
