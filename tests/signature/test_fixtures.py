"""Every fixture in fixtures/*.json: crash data in, expected signature (and proto) out.

Fixture format: {description, crash_data, expected_signature, expected_proto_signature?,
expected_notes?}. ``expected_proto_signature`` may be null (no native frames); when
``expected_notes`` is present the notes must match exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signature import SignatureGenerator

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.json"))
REQUIRED = {"description", "crash_data", "expected_signature"}
OPTIONAL = {"expected_proto_signature", "expected_notes"}


@pytest.fixture(scope="module")
def generator() -> SignatureGenerator:
    return SignatureGenerator()


def test_there_are_enough_fixtures() -> None:
    assert len(FIXTURES) >= 150


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture(path: Path, generator: SignatureGenerator) -> None:
    fixture = json.loads(path.read_text(encoding="utf-8"))
    assert REQUIRED <= fixture.keys() <= REQUIRED | OPTIONAL, "malformed fixture"
    assert fixture["description"].strip()

    result = generator.generate(fixture["crash_data"])

    assert result.signature == fixture["expected_signature"]
    if "expected_proto_signature" in fixture:
        assert result.proto_signature == fixture["expected_proto_signature"]
    if "expected_notes" in fixture:
        assert result.notes == fixture["expected_notes"]
