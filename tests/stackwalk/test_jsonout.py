"""Serialization rules of serde_json as minidump-stackwalk uses it."""

from __future__ import annotations

import pytest

from stackwalk.jsonout import F32, f32, to_json


def test_sorted_keys_compact_and_pretty():
    doc = {"b": [1, {"z": None, "a": True}], "a": {}, "c": []}
    assert to_json(doc) == '{"a":{},"b":[1,{"a":true,"z":null}],"c":[]}'
    assert to_json(doc, pretty=True) == (
        '{\n  "a": {},\n  "b": [\n    1,\n    {\n      "a": true,\n      "z": null\n'
        '    }\n  ],\n  "c": []\n}'
    )


def test_strings_keep_unicode_and_escape_controls():
    assert to_json({"s": 'é\x00\x1f\n\t"\\'}) == '{"s":"é\\u0000\\u001f\\n\\t\\"\\\\"}'


def test_f32_prints_widened_to_f64_as_the_peer_does():
    # rust-minidump's f32 confidences go through serde_json Values (f64) before printing
    assert to_json([F32(f32(0.25)), F32(f32(1.0))]) == "[0.25,1.0]"
    assert to_json([F32(f32(1 - 0.75 * 0.45))]) == "[0.6625000238418579]"
    assert to_json([F32(f32(0.9))]) == "[0.8999999761581421]"


def test_compact_json_is_json_dumps_text():
    """compact_json calls json's C encoder itself: the same text as json.dumps, for what a
    document holds and for the failures json.dumps reports."""
    import json

    from stackwalk.jsonout import compact_json

    doc = {
        "z": [1, -2, 3.5, F32(f32(0.9)), float("inf"), float("nan"), 10**30, True, None],
        "a": {"é": "\x00\u2028\ud800", "n": {"2": "int key", "b": ()}},
        "k": {2: "an int key", None: 1.0},
        "m": "x" * 1000,
    }
    assert compact_json(doc) == json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    del doc["k"]  # keys of mixed types do not sort
    assert compact_json(doc, sort_keys=True) == json.dumps(
        doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )
    assert compact_json("top-level\n") == json.dumps("top-level\n", ensure_ascii=False)
    odd = {"when": object, "set": {1}}
    assert compact_json(odd, default=str) == json.dumps(
        odd, ensure_ascii=False, separators=(",", ":"), default=str
    )
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        compact_json({1, 2})
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        compact_json(loop)
