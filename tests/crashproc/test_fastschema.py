"""The compiled validator gives jsonschema's verdicts on our schemas and every test document.

crashproc.fastschema trusts jsonschema-rs when it accepts a document and asks jsonschema
otherwise, so a verdict can only change if jsonschema-rs accepts something jsonschema rejects.
These tests run both over every schema (the crashproc-data schemas per field and whole, the
meta-schema, signature's crash-data schema) and every document the tests have: the signature
fixtures, the processed and raw sample crashes, stored stackwalker outputs, plus wrong-typed
variants of each so that rejections are compared too.
"""

from __future__ import annotations

import copy
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crashproc import fastschema
from processor.cli import run
from schemas.library import SCHEMA_DIR, _read_yaml, _to_json_schema, load_schema, meta_schema
from signature.crashdata import load_schema as crash_data_schema

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted(p for p in (REPO / "examples" / "crashes").iterdir() if p.is_dir())
SIGNATURE_FIXTURES = sorted((REPO / "tests" / "signature" / "fixtures").glob("*.json"))
STACKWALK_OUTPUTS = [
    *sorted(REPO.glob("examples/crashes/*/*.json")),
    REPO / "tests" / "data" / "expected" / "test.dmp.symbols.json",
    REPO / "tests" / "processor" / "daemon" / "data" / "upload_file_minidump.json",
]
# Values of every JSON type, and two that are not JSON: each field gets each in turn.
ODD_VALUES = (None, True, 0, -1, 2**64, 1.5, "", "0x10", "text\n", [], [1, "a"], {}, {"k": None})


def agree(validator: fastschema.Validator, document: Any) -> tuple[bool | None, bool]:
    return validator.native_is_valid(document), bool(validator.reference.is_valid(document))


def assert_agree(validator: fastschema.Validator, document: Any, label: str) -> bool:
    native, reference = agree(validator, document)
    assert native is not None, f"{label}: jsonschema-rs could not read the document"
    assert native == reference, f"{label}: jsonschema-rs says {native}, jsonschema {reference}"
    return reference


def variants(document: Any, values: tuple[Any, ...] = ODD_VALUES) -> Iterator[tuple[str, Any]]:
    """The document, then copies with one top-level value replaced by each odd value."""
    yield "as is", document
    if not isinstance(document, dict):
        return
    for key in sorted(document):
        for value in values:
            changed = dict(document)
            changed[key] = value
            yield f"{key}={value!r}", changed
    yield "unknown key", {**document, "no_such_key_anywhere": 1}


@pytest.fixture(scope="module")
def processed_samples() -> list[dict[str, Any]]:
    out = io.StringIO()
    code = run(["process", *(str(d) for d in SAMPLES if (d / "raw_crash.json").is_file())], out=out)
    assert code == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_jsonschema_rs_is_installed():
    assert fastschema.jsonschema_rs is not None, "the fast path is what these tests check"


def test_signature_fixtures_and_their_variants():
    validator = fastschema.Validator(crash_data_schema())
    verdicts = set()
    for path in SIGNATURE_FIXTURES:
        crash_data = json.loads(path.read_text(encoding="utf-8"))["crash_data"]
        for label, document in variants(crash_data):
            verdicts.add(assert_agree(validator, document, f"{path.name}: {label}"))
    assert verdicts == {True, False}


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "allow-unknown"])
def test_processed_samples_whole_and_per_field(processed_samples, strict):
    schema = load_schema("processed_crash")
    whole = fastschema.Validator(_to_json_schema(schema.root, strict))
    fields = {
        name: fastschema.Validator(_to_json_schema(node, strict))
        for name, node in schema.properties.items()
    }
    verdicts = set()
    for processed in processed_samples:
        crash_id = processed["uuid"]
        assert assert_agree(whole, processed, crash_id)
        # Whole documents with a few odd values (each costs jsonschema milliseconds); every
        # odd value per field below.
        for label, document in variants(processed, (None, [1, "a"])):
            verdicts.add(assert_agree(whole, document, f"{crash_id}: {label}"))
        for name, value in processed.items():
            if name in fields:
                for label, variant in variants(value):
                    assert_agree(fields[name], variant, f"{crash_id}: {name}: {label}")
    assert verdicts == {True, False}


def test_stackwalker_outputs_against_json_dump(processed_samples):
    schema = load_schema("processed_crash")
    validator = fastschema.Validator(_to_json_schema(schema.field("json_dump"), True))
    outputs = [json.loads(p.read_text(encoding="utf-8")) for p in STACKWALK_OUTPUTS]
    outputs += [p["json_dump"] for p in processed_samples if "json_dump" in p]
    assert len(outputs) >= 8
    for index, output in enumerate(outputs):
        assert_agree(validator, output, f"output {index}")
        for thread in output.get("threads") or []:
            for frame in thread.get("frames") or []:
                for label, variant in variants(frame):
                    changed = copy.deepcopy(output)
                    changed["threads"][0]["frames"][:1] = [variant]
                    assert_agree(validator, changed, f"output {index} frame {label}")
                break
            break


def test_raw_crashes_against_the_raw_schema():
    schema = load_schema("raw_crash")
    for strict in (True, False):
        validator = fastschema.Validator(_to_json_schema(schema.root, strict))
        for sample in SAMPLES:
            path = sample / "raw_crash.json"
            if path.is_file():
                raw = json.loads(path.read_text(encoding="utf-8"))
                for label, document in variants(raw):
                    assert_agree(validator, document, f"{sample.name}: {label}")


def test_schema_files_against_the_meta_schema():
    validator = fastschema.Validator(meta_schema())
    for name in ("raw_crash", "processed_crash"):
        document = _read_yaml(SCHEMA_DIR / f"{name}.schema.yaml")
        assert assert_agree(validator, document, name)
        broken = copy.deepcopy(document)
        first = next(iter(broken["properties"]))
        broken["properties"][first]["type"] = "no-such-type"
        assert not assert_agree(validator, broken, f"{name} broken")


@pytest.mark.parametrize(
    ("schema", "document"),
    [
        # jsonschema-rs is stricter here; jsonschema has the last word.
        ({"type": "number"}, math.nan),
        ({"type": "number"}, math.inf),
        ({"type": "string", "pattern": "^a\\d$"}, "a\u0661"),
        ({"patternProperties": {"^[a-z]+$": {}}, "additionalProperties": False}, {"ab\n": 1}),
        # Values jsonschema-rs cannot read at all.
        ({"properties": {"a": {"type": "string"}}}, {"a": b"bytes"}),
        ({"type": "object"}, {1: "int key"}),
        # A tuple is an array for both (it serializes as one).
        ({"type": "array", "items": {"type": "integer"}}, (1, 2)),
        ({"type": "array", "items": {"type": "integer"}}, (1, "2")),
    ],
)
def test_where_the_validators_differ_jsonschema_decides(schema, document):
    validator = fastschema.Validator(schema)
    assert validator.is_valid(document) == validator.reference.is_valid(document)
    assert bool(list(validator.iter_errors(document))) != validator.is_valid(document)


def test_schema_validation_issues_come_from_jsonschema():
    schema = load_schema("processed_crash")
    issues = schema.validate({"uuid": 5, "no_such_field": 1})
    assert [str(issue) for issue in issues] == [
        "$: unknown key(s) not in the schema: 'no_such_field'",
        "$.uuid: expected string, got integer",
    ]
