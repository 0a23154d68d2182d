"""The processed crash uses Socorro's field names wherever Socorro has the field.

Processed crashes are read by people and tools that know Socorro's data dictionary
(Crash Stats searches, Telemetry's crash table, scripts), so a field Socorro has must be
found under Socorro's name. ``socorro_processed_fields.json`` lists Socorro's top-level
processed fields and the annotation each copied field comes from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.library import load_schema

SOCORRO = json.loads((Path(__file__).parent / "socorro_processed_fields.json").read_text())
SOCORRO_FIELDS: dict[str, str | None] = SOCORRO["fields"]
# Socorro field -> our field, for a difference we keep on purpose; our field's description must
# name Socorro's field and say why. None today.
DELIBERATE: dict[str, str] = {}


@pytest.fixture(scope="module")
def processed_fields() -> dict[str, dict]:
    return load_schema("processed_crash").properties


@pytest.mark.parametrize("name", sorted(SOCORRO_FIELDS))
def test_every_socorro_field_is_declared_under_its_name(processed_fields, name):
    ours = DELIBERATE.get(name, name)
    assert ours in processed_fields, f"Socorro's processed field {name!r} is missing"
    if ours != name:
        assert name in processed_fields[ours]["description"]


def test_a_copied_annotation_goes_to_socorros_field(processed_fields):
    ours = {
        node["source_annotation"]: name
        for name, node in processed_fields.items()
        if "source_annotation" in node
    }
    wrong = {
        annotation: (ours[annotation], field)
        for field, annotation in SOCORRO_FIELDS.items()
        if annotation in ours and ours[annotation] != DELIBERATE.get(field, field)
    }
    assert wrong == {}, "annotation: (our field, Socorro's field)"


def test_android_package_name_is_socorros_android_packagename(processed_fields):
    node = processed_fields["android_packagename"]
    assert node["source_annotation"] == "Android_PackageName"
    assert "android_package_name" not in processed_fields
