"""Invariants of the two data schemas, raw_crash and processed_crash.

The schemas decide what gets copied, converted, published and documented, so a slip in them
(a missing permission, a public copy of a protected annotation, a stackwalker key the
processed schema does not know) silently leaks data or rejects good crashes. These tests
check the YAML files themselves, and check ``definitions.json_dump`` against real output of
rust-minidump's ``minidump-stackwalk`` on the test dumps in tests/data.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import yaml

from schemas.library import (
    SCHEMA_DIR,
    load_schema,
    meta_schema,
    node_types,
    resolve_references,
)
from tests.conftest import TESTDATA
from tests.peer_outputs import PeerOutputs
from tests.stackwalk.compare import UNPROCESSABLE

SCHEMA_NAMES = ("raw_crash", "processed_crash")
ANNOTATION_MARKER = "# Add new annotations below this line, in alphabetical order"
# Types a copied annotation may be converted to (the copy rule knows no others).
COPY_TARGET_TYPES = {"integer", "number", "boolean", "string", "object"}
# Keys of the stackwalker output definitions whose values the brief requires to be nullable.
STACKWALK_DEFINITIONS = ("json_dump", "json_dump_frame", "json_dump_thread")


def _document(name: str) -> dict[str, Any]:
    with open(SCHEMA_DIR / f"{name}.schema.yaml", encoding="utf-8") as fp:
        return yaml.safe_load(fp)


def _walk(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every node below and including ``node``, depth first, with a readable path."""
    yield path, node
    for key, child in node.get("properties", {}).items():
        yield from _walk(child, f"{path}.{key}")
    for pattern, child in node.get("pattern_properties", {}).items():
        yield from _walk(child, f"{path}.({pattern})")
    if "items" in node:
        yield from _walk(node["items"], f"{path}[]")


def _all_nodes(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every node of a schema document as written: definitions and properties, any depth."""
    for name, definition in document.get("definitions", {}).items():
        yield from _walk(definition, f"definitions.{name}")
    for name, field in document["properties"].items():
        yield from _walk(field, name)


def _annotation_names() -> list[str]:
    """Top-level raw properties written after the marker comment, in file order."""
    text = (SCHEMA_DIR / "raw_crash.schema.yaml").read_text(encoding="utf-8")
    assert text.count(ANNOTATION_MARKER) == 1, "the annotation marker comment must appear once"
    after = text.split(ANNOTATION_MARKER, 1)[1]
    return [m.group(1).strip('"') for m in re.finditer(r"^  (\S[^:]*):\s*$", after, re.M)]


@pytest.fixture(scope="module")
def raw_doc() -> dict[str, Any]:
    return _document("raw_crash")


@pytest.fixture(scope="module")
def processed_doc() -> dict[str, Any]:
    return _document("processed_crash")


@pytest.fixture(scope="module")
def processed():
    return load_schema("processed_crash")


# -- format --------------------------------------------------------------------------------


def test_meta_schema_is_valid_draft7() -> None:
    jsonschema.Draft7Validator.check_schema(meta_schema())


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_file_matches_meta_schema(name: str) -> None:
    validator = jsonschema.Draft7Validator(meta_schema())
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(_document(name))
    ]
    assert errors == []


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_node_has_explicit_permissions(name: str) -> None:
    bad = [
        path
        for path, node in _all_nodes(_document(name))
        if node.get("permissions") not in (["public"], ["protected"])
    ]
    assert bad == []


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_no_public_node_below_a_protected_one(name: str) -> None:
    """A public child of a protected node would be dropped with its parent anyway: the
    schema would promise something the public view never shows."""

    def offenders(node: dict[str, Any], path: str, protected_above: bool) -> Iterator[str]:
        public = node.get("permissions") == ["public"]
        if protected_above and public:
            yield path
        below = protected_above or not public
        for key, child in node.get("properties", {}).items():
            yield from offenders(child, f"{path}.{key}", below)
        for pattern, child in node.get("pattern_properties", {}).items():
            yield from offenders(child, f"{path}.({pattern})", below)
        if "items" in node:
            yield from offenders(node["items"], f"{path}[]", below)

    root = resolve_references(_document(name))
    found = [p for key, field in root["properties"].items() for p in offenders(field, key, False)]
    assert found == []


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_pattern_properties_child_has_a_nickname(name: str) -> None:
    missing = [
        f"{path}.({pattern})"
        for path, node in _all_nodes(_document(name))
        for pattern, child in node.get("pattern_properties", {}).items()
        if not child.get("nickname")
    ]
    assert missing == []


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_pattern_compiles(name: str) -> None:
    for _path, node in _all_nodes(_document(name)):
        for pattern in node.get("pattern_properties", {}):
            re.compile(pattern)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_ref_resolves(name: str) -> None:
    document = _document(name)
    definitions = document.get("definitions", {})
    refs = [(path, node["$ref"]) for path, node in _all_nodes(document) if "$ref" in node]
    unresolved = [
        (path, ref)
        for path, ref in refs
        if not ref.startswith("#/definitions/") or ref.split("/")[-1] not in definitions
    ]
    assert unresolved == []
    resolved = resolve_references(document)
    leftover = [
        path
        for key, f in resolved["properties"].items()
        for path, n in _walk(f, key)
        if "$ref" in n
    ]
    assert leftover == []


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_examples_have_the_node_type(name: str) -> None:
    """An example of the wrong type documents a value the field can never hold."""
    wrong = []
    for path, node in _all_nodes(_document(name)):
        if "examples" not in node or "any" in node_types(node):
            continue
        validator = jsonschema.Draft7Validator({"type": list(node_types(node))})
        wrong += [
            (path, example) for example in node["examples"] if not validator.is_valid(example)
        ]
    assert wrong == []


# -- raw crash -----------------------------------------------------------------------------


def test_collector_fields_come_before_the_annotations(raw_doc) -> None:
    annotations = _annotation_names()
    collector = [name for name in raw_doc["properties"] if name not in annotations]
    assert collector == ["metadata", "submitted_timestamp", "uuid", "version"]
    assert set(annotations) | set(collector) == set(raw_doc["properties"])


def test_raw_schema_has_at_least_100_annotations_with_examples(raw_doc) -> None:
    annotations = _annotation_names()
    assert len(annotations) >= 100
    without = [name for name in annotations if not raw_doc["properties"][name].get("examples")]
    assert without == []


def test_annotations_are_wire_strings(raw_doc) -> None:
    """Annotations arrive as strings; conversion belongs to the processed schema."""
    bad = [
        name
        for name in _annotation_names()
        if node_types(raw_doc["properties"][name]) not in (("string",), ("string", "null"))
    ]
    assert bad == []


def test_annotations_are_in_alphabetical_order() -> None:
    annotations = _annotation_names()
    assert annotations == sorted(annotations, key=str.lower)


def test_dump_checksums_are_keyed_by_dump_name(raw_doc) -> None:
    raw = load_schema("raw_crash")
    crash = {
        "uuid": "de1bb258-cbbf-4589-a673-34f800240115",
        "version": 2,
        "metadata": {
            "dump_checksums": {"upload_file_minidump": "e3b0c442" * 8},
            "payload": "multipart",
            "collector_notes": [],
        },
    }
    assert raw.validate(crash) == []
    crash["metadata"]["dump_checksums"]["upload_file_minidump"] = 1234
    assert [i.path for i in raw.validate(crash)] == [
        "$.metadata.dump_checksums.upload_file_minidump"
    ]


# -- processed crash -----------------------------------------------------------------------


def test_processed_schema_has_at_least_150_top_level_fields(processed_doc) -> None:
    assert len(processed_doc["properties"]) >= 150


def test_every_source_annotation_names_a_raw_annotation(processed) -> None:
    annotations = set(_annotation_names())
    sources = processed.source_annotations()
    assert len(sources) >= 100
    assert {f: a for f, a in sources.items() if a not in annotations} == {}


def test_public_fields_copy_only_public_annotations(processed, raw_doc) -> None:
    """A public field may copy a protected annotation only if it is an object whose
    sensitive parts stay protected inside it (java_exception keeps the messages protected)."""
    leaks = []
    for field, annotation in processed.source_annotations().items():
        node = processed.field(field)
        if node["permissions"] != ["public"]:
            continue
        if raw_doc["properties"][annotation]["permissions"] == ["public"]:
            continue
        guarded = "object" in node_types(node) and any(
            n["permissions"] == ["protected"] for _p, n in _walk(node, field)
        )
        if not guarded:
            leaks.append((field, annotation))
    assert leaks == []


def test_copied_fields_have_a_convertible_type(processed) -> None:
    bad = {}
    for field in processed.source_annotations():
        target = next(t for t in node_types(processed.field(field)) if t != "null")
        if target not in COPY_TARGET_TYPES:
            bad[field] = target
    assert bad == {}


def test_raw_examples_convert_to_the_copied_field_type(processed, raw_doc) -> None:
    """Each documented annotation value must survive the copy rule's conversion and then
    fit the processed field: the raw and processed schemas agree on what the data is."""
    failures = []
    for field, annotation in processed.source_annotations().items():
        for example in raw_doc["properties"][annotation]["examples"]:
            result = processed.coerce_field(field, example)
            if not result.ok:
                failures.append((field, example, result.error))
            elif processed.validate({field: result.value}):
                failures.append((field, example, "converted value fails the schema"))
    assert failures == []


@pytest.mark.parametrize(
    "field",
    [
        "crashing_thread",
        "last_crash",
        "crash_inconsistencies",
        "addons_checked",
        "topmost_filenames",
        "address",
        "crashing_thread_name",
        "json_dump",
        "upload_file_minidump_browser",
        "minidump_sha256_hash",
        "thread_count",
    ],
)
def test_fields_a_rule_may_set_to_none_allow_null(processed, field) -> None:
    assert processed.validate({field: None}) == []


def test_stackwalker_leaves_allow_null(processed_doc) -> None:
    """rust-minidump prints null for anything the minidump does not tell, at any depth."""
    not_nullable = []
    for name in STACKWALK_DEFINITIONS:
        definition = processed_doc["definitions"][name]
        for path, node in _walk(definition, name):
            if path.endswith("[]") or "$ref" in node:
                continue  # array items and references are checked where they are defined
            types = node_types(node)
            if "any" not in types and "null" not in types:
                not_nullable.append(path)
    assert not_nullable == []


def test_pipeline_fields_are_declared(processed) -> None:
    doc = {
        "crash_id": "de1bb258-cbbf-4589-a673-34f800240115",
        "uuid": "de1bb258-cbbf-4589-a673-34f800240115",
        "success": True,
        "started_datetime": "2024-01-15 09:31:00+00:00",
        "completed_datetime": "2024-01-15 09:31:02+00:00",
        "processor_notes": ">>> Start processing",
        "processor_history": ["older notes"],
        "signature": "EMPTY: crash failed to process",
        "additional_minidumps": [],
        "upload_file_minidump_browser": {
            "mdsw_status_string": "EmptyMinidump",
            "mdsw_stderr": "Shortcut for 0-bytes minidump.",
        },
    }
    assert processed.validate(doc) == []


def test_processed_documents_are_closed_where_the_schema_lists_keys(processed) -> None:
    issues = processed.validate({"json_dump": {"crash_info": {"no_such_key": 1}}, "bogus": 1})
    assert [i.path for i in issues] == ["$", "$.json_dump.crash_info"]


def test_client_documents_keep_unknown_keys_but_hide_them(processed) -> None:
    """The Telemetry environment is the client's document: keys we do not describe must not
    make a crash invalid, and must not reach public views either."""
    environment = {
        "build": {"applicationName": "Firefox", "newBuildKey": "x"},
        "partner": {"distributionId": "canonical"},
        "brandNewSection": {"anything": [1, 2]},
    }
    assert processed.validate({"telemetry_environment": environment}) == []
    public = processed.public_view({"telemetry_environment": environment})
    assert public == {
        "telemetry_environment": {
            "build": {"applicationName": "Firefox"},
            "partner": {"distributionId": "canonical"},
        }
    }


# -- real stackwalker output ---------------------------------------------------------------


def _dumps() -> list[str]:
    # The peer writes no JSON for the two fuzzer dumps without a thread list.
    return sorted(p.name for p in TESTDATA.glob("*.dmp") if p.name not in UNPROCESSABLE)


def _stackwalk(peer: PeerOutputs, dump: str, evil: bool) -> dict[str, Any]:
    """The peer's output with the test symbols (live, or stored in tests/data/peer)."""
    return peer.get(TESTDATA / dump, "evil-json" if evil else "symbols").json()


@pytest.mark.parametrize("evil", [False, True], ids=["plain", "evil-json"])
@pytest.mark.parametrize("dump", _dumps())
def test_json_dump_describes_real_stackwalker_output(processed, peer_outputs, dump, evil) -> None:
    output = _stackwalk(peer_outputs, dump, evil)
    assert [str(i) for i in processed.validate({"json_dump": output})] == []
    nested = {"upload_file_minidump_browser": {"json_dump": output, "success": True}}
    assert [str(i) for i in processed.validate(nested)] == []


def test_evil_json_output_has_cert_subjects_and_validates(processed, peer_outputs) -> None:
    """The evil-json run must really exercise the cert-info keys the schema declares."""
    output = _stackwalk(peer_outputs, "test.dmp", evil=True)
    assert output["modules_contains_cert_info"] is True
    assert "rust-minidump" in {m["cert_subject"] for m in output["modules"]}
    assert processed.validate({"json_dump": output}) == []


def test_truncated_stacks_validate(processed, peer_outputs) -> None:
    """TruncateStacksRule's marker frame and thread flag are part of the schema."""
    output = _stackwalk(peer_outputs, "test.dmp", evil=False)
    marker = {"truncated": {"msg": "1,234 frames truncated"}}
    for thread in [output["crashing_thread"], *output["threads"]]:
        thread["frames"] = [*thread["frames"][:1], marker, *thread["frames"][1:]]
        thread["truncated"] = True
    assert processed.validate({"json_dump": output}) == []


def test_public_view_hides_protected_stackwalker_data(processed, peer_outputs) -> None:
    output = _stackwalk(peer_outputs, "linux-mini.dmp", evil=False)
    assert output["crashing_thread"]["frames"][0]["registers"]
    assert output["soft_errors"]
    output["mac_boot_args"] = "-v keepsyms=1"
    public = processed.public_view({"json_dump": copy.deepcopy(output)})["json_dump"]
    assert "registers" not in public["crashing_thread"]["frames"][0]
    assert "soft_errors" not in public
    assert "mac_boot_args" not in public
    assert public["modules"] == output["modules"]
    assert public["threads"] == output["threads"]
