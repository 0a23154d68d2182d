"""The schema library: refs, validation with paths, coercion, public view, docs rows."""

from __future__ import annotations

import pytest

from schemas.library import Schema, SchemaError, coerce


def _node(type_, permission="public", **extra):
    return {"type": type_, "description": "d", "permissions": [permission], **extra}


MINI = {
    "$schema": "crashproc-data/1",
    "type": "object",
    "definitions": {
        "frame": _node(
            "object",
            properties={
                "function": _node(["string", "null"]),
                "registers": _node(
                    "object",
                    "protected",
                    pattern_properties={"^.+$": _node("string", "protected", nickname="REGISTER")},
                ),
            },
        ),
    },
    "properties": {
        "count": _node("integer", source_annotation="Count"),
        "flag": _node("boolean", source_annotation="Flag"),
        "ratio": _node("number", source_annotation="Ratio"),
        "name": _node("string", source_annotation="Name"),
        "url": _node("string", "protected", source_annotation="URL"),
        "frames": _node("array", items={"$ref": "#/definitions/frame", "permissions": ["public"]}),
        "env": _node(
            "object",
            source_annotation="Env",
            properties={"build": _node("object", properties={"id": _node("string")})},
        ),
        "counters": _node(
            "object",
            pattern_properties={
                "^c_": _node("integer", nickname="COUNTER"),
                "^secret_": _node("integer", "protected", nickname="SECRET"),
            },
        ),
        "blob": _node("any", "protected"),
        "open": _node("any"),
        # A public list of protected items: the list may be shown, never what it holds.
        "emails": _node("array", items=_node("string", "protected")),
        "tags": _node("array", items=_node("string")),
    },
}


@pytest.fixture
def schema() -> Schema:
    return Schema(MINI, name="mini")


def test_refs_are_inlined_and_referrer_keys_win(schema):
    items = schema.field("frames")["items"]
    assert "function" in items["properties"]
    assert items["permissions"] == ["public"]


def test_ref_to_missing_definition_is_a_schema_error():
    doc = {**MINI, "properties": {"x": {"$ref": "#/definitions/nope", "permissions": ["public"]}}}
    with pytest.raises(SchemaError, match="nope"):
        Schema(doc, name="bad")


def test_schema_not_matching_meta_schema_is_rejected():
    doc = {**MINI, "properties": {"x": {"type": "string", "description": "no permissions"}}}
    with pytest.raises(SchemaError, match="meta-schema"):
        Schema(doc, name="bad")


def test_valid_document_has_no_issues(schema):
    doc = {
        "count": 3,
        "frames": [{"function": None, "registers": {"eip": "0x1"}}],
        "counters": {"c_a": 1, "secret_b": 2},
        "open": {"anything": [1, 2]},
    }
    assert schema.validate(doc) == []


def test_validation_reports_json_paths_without_values(schema):
    doc = {"count": "three", "frames": [{"function": 5}, {"bogus": "https://secret"}]}
    issues = schema.validate(doc)
    by_path = {issue.path: issue.message for issue in issues}
    assert by_path["$.count"] == "expected integer, got string"
    assert by_path["$.frames[0].function"] == "expected string or null, got integer"
    assert "'bogus'" in by_path["$.frames[1]"]
    assert all("three" not in str(i) and "secret" not in str(i) for i in issues)


def test_strict_validation_closes_objects_with_pattern_properties(schema):
    issues = schema.validate({"counters": {"c_a": 1, "other": 2}})
    assert [issue.path for issue in issues] == ["$.counters"]
    assert issues[0].message == "unknown key(s) not in the schema: 'other'"


def test_non_strict_validation_allows_unknown_keys(schema):
    assert schema.validate({"unknown": 1}, strict=False) == []
    assert schema.validate({"unknown": 1}) != []


def test_field_errors_prefix_the_field_name(schema):
    assert schema.field_errors("env", {"build": {"id": 7}}) == [
        "env.build.id: expected string, got integer"
    ]
    assert schema.field_errors("env", {"build": {"id": "x"}}) == []


@pytest.mark.parametrize(
    ("value", "types", "expected"),
    [
        ("42", "integer", 42),
        (" 42\n", "integer", 42),
        (7, "integer", 7),
        ("1.5", "number", 1.5),
        ("1", "boolean", True),
        ("TRUE", "boolean", True),
        ("false", "boolean", False),
        ("0", "boolean", False),
        ("text \n", "string", "text"),
        ('{"a": 1}', "object", {"a": 1}),
        ("[1, 2]", "array", [1, 2]),
        (None, ("string", "null"), None),
        ({"x": 1}, "any", {"x": 1}),
    ],
)
def test_coerce_converts_wire_strings(value, types, expected):
    result = coerce(value, types)
    assert result.ok, result.error
    assert result.value == expected


@pytest.mark.parametrize(
    ("value", "types", "error"),
    [
        ("abc", "integer", "has a non-integer value"),
        (True, "integer", "has a non-integer value"),
        ("nan", "number", "has a non-numeric value"),
        ("inf", "number", "has a non-numeric value"),
        ("yes", "boolean", "has a non-boolean value"),
        ("{not json", "object", "has malformed JSON"),
        ("[1]", "object", "is not a JSON object"),
        (5, "string", "has a non-string value"),
        (None, "integer", "has a null value"),
    ],
)
def test_coerce_reports_errors_without_values(value, types, error):
    result = coerce(value, types)
    assert not result.ok
    assert result.error == error


def test_coerce_field_validates_objects_against_the_field(schema):
    assert schema.coerce_field("env", '{"build": {"id": "abc"}}').value == {"build": {"id": "abc"}}
    bad = schema.coerce_field("env", '{"build": {"id": 1}}')
    assert bad.error == "value is malformed: env.build.id: expected string, got integer"


def test_public_view_drops_protected_and_unknown_fields_at_any_depth(schema):
    doc = {
        "count": 1,
        "url": "https://example.com/private",
        "unknown": "x",
        "frames": [{"function": "f", "registers": {"eip": "1"}, "extra": 1}],
        "counters": {"c_a": 1, "secret_b": 2, "other": 3},
        "env": {"build": {"id": "x", "hidden": 1}, "stray": {}},
        "blob": {"a": 1},
        "open": {"kept": [1, {"deep": True}]},
        "emails": ["jane@example.com"],
        "tags": ["crash"],
    }
    assert schema.public_view(doc) == {
        "count": 1,
        "frames": [{"function": "f"}],
        "counters": {"c_a": 1},
        "env": {"build": {"id": "x"}},
        "open": {"kept": [1, {"deep": True}]},
        "tags": ["crash"],
    }


def test_public_view_drops_values_of_the_wrong_type(schema):
    # A string field holding an object could smuggle anything; it is left out.
    assert schema.public_view({"name": {"email": "jane@example.com"}, "count": True}) == {}


def test_iter_fields_lists_nested_paths_with_nicknames(schema):
    paths = {field.path: field for field in schema.iter_fields()}
    assert "frames[].registers.{REGISTER}" in paths
    assert paths["frames[].registers.{REGISTER}"].permission == "protected"
    assert paths["counters.{COUNTER}"].types == ("integer",)
    assert paths["url"].source_annotation == "URL"


def test_source_annotations(schema):
    assert schema.source_annotations() == {
        "count": "Count",
        "flag": "Flag",
        "ratio": "Ratio",
        "name": "Name",
        "url": "URL",
        "env": "Env",
    }
