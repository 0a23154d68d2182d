"""processor.jsontext.compact_json: json's compact UTF-8 text from orjson, json for the rest."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from processor.jsontext import compact_json

REPO = Path(__file__).resolve().parents[2]


def json_text(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def crash_documents() -> list[Path]:
    """Every JSON document the repository holds about crashes: stackwalker outputs (the bulk
    of a processed crash), raw crashes, the peer's outputs."""
    found = sorted((REPO / "tests" / "data").rglob("*.json"))
    found += sorted((REPO / "examples" / "crashes").rglob("*.json"))
    return [path for path in found if path.stat().st_size < 20_000_000]


def test_crash_documents_are_encoded_byte_for_byte_as_json_encodes_them():
    documents = crash_documents()
    assert len(documents) > 20
    for path in documents:
        try:
            document = json.loads(path.read_bytes())
        except ValueError:
            continue  # deliberately broken fixtures
        # Their floats (CPU usage, confidences) all print alike; see the exponent test.
        assert compact_json(document) == json_text(document), path


def test_text_is_escaped_as_json_escapes_it():
    every_ascii = "".join(map(chr, range(128)))
    text = every_ascii + "é€\u2028\u2029\ufeff\U0001f600\x80\x9f"
    document = {text: [text, {"k": text}], "": ""}
    assert compact_json(document) == json_text(document)


def test_a_float_subclass_is_written_as_its_float(monkeypatch):
    class F32(float):  # as stackwalk.jsonout's
        pass

    document = {"possible_bit_flips": [{"confidence": F32(0.6625000238418579)}]}
    monkeypatch.setattr(json, "dumps", None)  # orjson alone, no fallback
    encoded = compact_json(document)
    monkeypatch.undo()
    assert (
        encoded
        == json_text(document)
        == b'{"possible_bit_flips":[{"confidence":0.6625000238418579}]}'
    )


def test_numbers_read_back_as_the_same_values():
    numbers = [0, -1, 2**63 - 1, -(2**63), 0.1, -2.5, 1e16, 1e-7, 123456.789, 5e-324, 1.7e308]
    encoded = compact_json(numbers)
    assert json.loads(encoded) == numbers
    assert encoded.startswith(b"[0,-1,9223372036854775807,-9223372036854775808,0.1,-2.5,")
    # Non-finite numbers, which JSON cannot hold, are null rather than json's NaN.
    assert compact_json([math.nan, math.inf, -math.inf]) == b"[null,null,null]"


@pytest.mark.parametrize(
    "document",
    [
        {"big": 2**64},  # past orjson's 64 bits
        {1: "a", None: "b", 2.5: "c"},  # keys that are not strings
        json.loads("[" * 300 + "]" * 300),  # deeper than orjson goes
    ],
    ids=["big-int", "non-string-keys", "deep"],
)
def test_what_orjson_refuses_is_encoded_by_json(document):
    assert compact_json(document) == json_text(document)


def test_text_and_values_json_cannot_hold_raise_as_json_does():
    with pytest.raises(UnicodeEncodeError):
        compact_json({"comment": "lone \ud800"})
    with pytest.raises(UnicodeEncodeError):
        compact_json({"lone \udfff": 1})
    with pytest.raises(TypeError):
        compact_json({"odd": object()})
