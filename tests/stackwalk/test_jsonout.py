"""Serialization rules of serde_json as minidump-stackwalk uses it."""

from __future__ import annotations

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
