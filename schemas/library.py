"""Load a crashproc data schema once and answer everything the processor asks of it.

The YAML schemas are the single source of truth: which annotations exist, which processed
fields they are copied to and as what type, which fields are public, and how the stackwalker
output is shaped. Code asks this module instead of hard-coding field lists, so adding an
annotation is a schema edit only.

Validation messages never quote the offending value: they end up in processor notes and logs,
and a value may be protected (a URL, an email address, an exception message).
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from crashproc import fastschema, yamlfile

if TYPE_CHECKING:
    import jsonschema

SCHEMA_DIR = Path(__file__).resolve().parent
SCHEMA_NAMES = ("raw_crash", "processed_crash")
META_SCHEMA_FILE = "meta.schema.yaml"

PUBLIC = "public"
PROTECTED = "protected"

_JSON_TYPES = {
    "null": (type(None),),
    "boolean": (bool,),
    "string": (str,),
    "object": (dict,),
    "array": (list, tuple),
}


class SchemaError(Exception):
    """A schema file is missing, unreadable or not of the crashproc-data format."""


@dataclass(frozen=True)
class ValidationIssue:
    """One reason a document does not match its schema, located by a JSON path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class Coerced:
    """The outcome of converting an annotation to its field's type: a value or an error."""

    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class FieldDoc:
    """One row of the data dictionary."""

    path: str
    types: tuple[str, ...]
    permission: str
    description: str
    source_annotation: str | None
    examples: tuple[Any, ...]
    deprecated: bool
    nickname: str | None


class _Drop:
    """Marks a value the public view leaves out."""


_DROP = _Drop()


def node_types(node: dict[str, Any]) -> tuple[str, ...]:
    """The node's types as a tuple (a schema may give one type or a list)."""
    types = node.get("type", "any")
    return (types,) if isinstance(types, str) else tuple(types)


def node_permission(node: dict[str, Any]) -> str:
    permissions = node.get("permissions") or [PROTECTED]
    return PUBLIC if list(permissions) == [PUBLIC] else PROTECTED


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yamlfile.load(path)
    except FileNotFoundError as exc:
        raise SchemaError(f"schema file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise SchemaError(f"schema file {path} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise SchemaError(f"schema file {path} does not hold a mapping")
    return document


@functools.cache
def meta_schema() -> dict[str, Any]:
    return _read_yaml(SCHEMA_DIR / META_SCHEMA_FILE)


@functools.cache
def _meta_validator() -> fastschema.Validator:
    return fastschema.Validator(meta_schema())


def check_schema_document(document: dict[str, Any], origin: str = "schema") -> None:
    """Raise SchemaError listing every way ``document`` breaks the meta-schema."""
    errors = sorted(_meta_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  {_json_path(e.absolute_path)}: {e.message}" for e in errors[:20]]
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise SchemaError(
            f"{origin} does not match the crashproc-data meta-schema:\n" + "\n".join(lines) + more
        )


def resolve_references(document: dict[str, Any]) -> dict[str, Any]:
    """Inline every local ``$ref``; the referring node's own keys win over the definition's."""
    definitions = document.get("definitions", {})

    def resolve(node: Any, seen: tuple[str, ...]) -> Any:
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if ref is not None:
            name = ref.removeprefix("#/definitions/")
            if name not in definitions or not ref.startswith("#/definitions/"):
                raise SchemaError(f"unresolvable $ref {ref!r}")
            if name in seen:
                raise SchemaError(f"$ref cycle through {' -> '.join((*seen, name))}")
            merged = {**definitions[name], **{k: v for k, v in node.items() if k != "$ref"}}
            return resolve(merged, (*seen, name))
        resolved = dict(node)
        if "properties" in node:
            resolved["properties"] = {k: resolve(v, seen) for k, v in node["properties"].items()}
        if "pattern_properties" in node:
            resolved["pattern_properties"] = {
                k: resolve(v, seen) for k, v in node["pattern_properties"].items()
            }
        if "items" in node:
            resolved["items"] = resolve(node["items"], seen)
        return resolved

    root = {k: v for k, v in document.items() if k != "definitions"}
    return resolve(root, ())


def _to_json_schema(node: dict[str, Any], strict: bool) -> dict[str, Any]:
    """Translate one resolved crashproc-data node into plain JSON Schema (draft 7)."""
    types = node_types(node)
    out: dict[str, Any] = {}
    if "any" in types:
        return out
    out["type"] = list(types) if len(types) > 1 else types[0]
    if "enum" in node:
        out["enum"] = list(node["enum"])
        if "null" in types and None not in out["enum"]:
            out["enum"].append(None)
    if "properties" in node:
        out["properties"] = {k: _to_json_schema(v, strict) for k, v in node["properties"].items()}
    if "pattern_properties" in node:
        out["patternProperties"] = {
            k: _to_json_schema(v, strict) for k, v in node["pattern_properties"].items()
        }
    if strict and ("properties" in node or "pattern_properties" in node):
        # Keys matching neither a property nor a pattern are unknown to the schema.
        out["additionalProperties"] = False
    if "items" in node:
        out["items"] = _to_json_schema(node["items"], strict)
    return out


def _json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _describe(error: jsonschema.ValidationError) -> str:
    """A message about ``error`` that names keys and types but never quotes the value."""
    kind = error.validator
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"expected {expected}, got {_type_name(error.instance)}"
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        unknown = sorted(
            k for k in error.instance if k not in known and not any(p.search(k) for p in patterns)
        )
        return "unknown key(s) not in the schema: " + ", ".join(repr(k)[:80] for k in unknown[:10])
    if kind == "enum":
        return "value is not one of the allowed values"
    if kind == "required":
        return "a required key is missing"
    return f"value fails the schema's {kind!r} check"


class Schema:
    """One loaded data schema (raw or processed) with refs resolved once."""

    def __init__(self, document: dict[str, Any], name: str = "schema", *, check: bool = True):
        if check:
            check_schema_document(document, origin=name)
        self.name = name
        self.document = document
        self.root = resolve_references(document)
        self._validators: dict[tuple[str | None, bool], fastschema.Validator] = {}
        self._public_root: _PublicNode | None = None

    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None) -> Schema:
        path = Path(path)
        return cls(_read_yaml(path), name=name or path.name)

    # -- fields ---------------------------------------------------------------------------

    @property
    def properties(self) -> dict[str, dict[str, Any]]:
        return self.root.get("properties", {})

    def field(self, name: str) -> dict[str, Any]:
        try:
            return self.properties[name]
        except KeyError:
            raise KeyError(f"{self.name} has no field {name!r}") from None

    def source_annotations(self) -> dict[str, str]:
        """Top-level field name -> the raw annotation it is copied from."""
        return {
            name: node["source_annotation"]
            for name, node in self.properties.items()
            if "source_annotation" in node
        }

    def public_field_names(self) -> set[str]:
        return {name for name, node in self.properties.items() if node_permission(node) == PUBLIC}

    # -- validation -----------------------------------------------------------------------

    def _validator(self, field_name: str | None, strict: bool) -> fastschema.Validator:
        key = (field_name, strict)
        if key not in self._validators:
            node = self.root if field_name is None else self.field(field_name)
            self._validators[key] = fastschema.Validator(_to_json_schema(node, strict))
        return self._validators[key]

    def validate(self, document: Any, *, strict: bool = True) -> list[ValidationIssue]:
        """Every way ``document`` breaks the schema, each with its JSON path.

        Strict validation treats an object node that lists ``properties`` or
        ``pattern_properties`` as closed: a key matching neither is an error.
        """
        errors = self._validator(None, strict).iter_errors(document)
        issues = [ValidationIssue(_json_path(e.absolute_path), _describe(e)) for e in errors]
        return sorted(issues, key=lambda issue: issue.path)

    def field_errors(self, name: str, value: Any, *, strict: bool = True) -> list[str]:
        """Errors of ``value`` against the top-level field ``name`` ("" paths are the field)."""
        errors = self._validator(name, strict).iter_errors(value)
        return sorted(
            f"{_json_path(e.absolute_path).replace('$', name, 1)}: {_describe(e)}" for e in errors
        )

    # -- coercion -------------------------------------------------------------------------

    def coerce_field(self, name: str, value: Any) -> Coerced:
        """Convert an annotation value (normally a string) to field ``name``'s type."""
        node = self.field(name)
        result = coerce(value, node_types(node))
        if result.ok and "object" in node_types(node) and isinstance(result.value, dict):
            problems = self.field_errors(name, result.value, strict=False)
            if problems:
                return Coerced(error="value is malformed: " + problems[0])
        return result

    # -- public view ----------------------------------------------------------------------

    def public_view(self, document: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``document`` holding only the public fields the schema knows, at any depth."""
        if self._public_root is None:
            self._public_root = _PublicNode(self.root, {})
        result = self._public_root.reduce(document, is_root=True)
        return {} if result is _DROP else result

    # -- documentation --------------------------------------------------------------------

    def iter_fields(self) -> Iterator[FieldDoc]:
        """Every node, depth first, with a path such as ``json_dump.threads[].frames[].module``."""

        def walk(node: dict[str, Any], path: str) -> Iterator[FieldDoc]:
            if path:
                yield FieldDoc(
                    path=path,
                    types=node_types(node),
                    permission=node_permission(node),
                    description=str(node.get("description", "")).strip(),
                    source_annotation=node.get("source_annotation"),
                    examples=tuple(node.get("examples", ())),
                    deprecated=bool(node.get("deprecated", False)),
                    nickname=node.get("nickname"),
                )
            for key in sorted(node.get("properties", {})):
                yield from walk(node["properties"][key], f"{path}.{key}" if path else key)
            for pattern, child in node.get("pattern_properties", {}).items():
                label = "{" + child.get("nickname", pattern) + "}"
                yield from walk(child, f"{path}.{label}" if path else label)
            if "items" in node:
                yield from walk(node["items"], f"{path}[]")

        return walk(self.root, "")


class _PublicNode:
    """One schema node compiled for the public view: what it lets through, decided once.

    Every saved processed crash gets a public copy, so the view runs over every field of
    every crash; reading the node's permissions and types again at each value cost a third of
    what saving a crash costs in Python.
    """

    __slots__ = (
        "allow_bool",
        "allow_float",
        "allow_int",
        "allow_null",
        "allow_str",
        "any",
        "array",
        "items",
        "kept_as_is",
        "object",
        "patterns",
        "properties",
        "public",
    )

    def __init__(self, node: dict[str, Any], patterns: dict[str, re.Pattern[str]]):
        types = node_types(node)
        self.public = node_permission(node) == PUBLIC
        self.any = "any" in types
        self.object = "object" in types
        self.array = "array" in types
        self.properties = {
            key: _PublicNode(child, patterns) for key, child in node.get("properties", {}).items()
        }
        self.patterns = [
            (patterns.setdefault(pattern, re.compile(pattern)), _PublicNode(child, patterns))
            for pattern, child in node.get("pattern_properties", {}).items()
        ]
        self.items = _PublicNode(node["items"], patterns) if "items" in node else None
        self.allow_null = "null" in types
        self.allow_bool = "boolean" in types
        self.allow_int = "integer" in types or "number" in types
        self.allow_float = "number" in types
        self.allow_str = "string" in types
        # The exact scalar types a public leaf keeps as they are, tested inline by its parent
        # (most of a processed crash is frames of such leaves: a call per value cost half the
        # view); any other value goes through reduce(), which decides as before.
        kept: set[type] = set()
        if self.public and not (self.any or self.object or self.array):
            for allowed, kinds in (
                (self.allow_null, (type(None),)),
                (self.allow_bool, (bool,)),
                (self.allow_int, (int,)),
                (self.allow_float, (float,)),
                (self.allow_str, (str,)),
            ):
                if allowed:
                    kept.update(kinds)
        self.kept_as_is = frozenset(kept)

    def child(self, key: str) -> _PublicNode | None:
        found = self.properties.get(key)
        if found is not None:
            return found
        for pattern, node in self.patterns:
            if pattern.search(key):
                return node
        return None

    def reduce(self, value: Any, is_root: bool = False) -> Any:
        """``value`` with what this node does not make public left out (_DROP: all of it)."""
        if not (is_root or self.public):
            return _DROP
        if self.any:
            return copy.deepcopy(value)
        if isinstance(value, dict):
            if not self.object:
                return _DROP
            out = {}
            properties = self.properties
            for key, child_value in value.items():
                child = properties.get(key)
                if child is None:
                    child = self.child(key) if isinstance(key, str) else None
                    if child is None:
                        continue
                if type(child_value) in child.kept_as_is:
                    out[key] = child_value
                    continue
                reduced = child.reduce(child_value)
                if reduced is not _DROP:
                    out[key] = reduced
            return out
        if isinstance(value, list | tuple):
            if not self.array:
                return _DROP
            items = self.items
            if items is None:
                return copy.deepcopy(list(value))
            if not items.public:
                return _DROP
            return [r for r in (items.reduce(item) for item in value) if r is not _DROP]
        if value is None:
            return value if self.allow_null else _DROP
        if isinstance(value, bool):  # before int: a bool is an int to Python, not to JSON
            return value if self.allow_bool else _DROP
        if isinstance(value, int):
            return value if self.allow_int else _DROP
        if isinstance(value, float):
            return value if self.allow_float else _DROP
        if isinstance(value, str):
            return value if self.allow_str else _DROP
        return _DROP


_TRUE = {"1", "true"}
_FALSE = {"0", "false"}


def coerce(value: Any, types: tuple[str, ...] | str) -> Coerced:
    """Convert a wire value (annotations arrive as strings) to the first non-null schema type.

    Errors name the expected type only, never the value.
    """
    if isinstance(types, str):
        types = (types,)
    target = next((t for t in types if t != "null"), "null")
    if value is None:
        return Coerced(None) if "null" in types else Coerced(error="has a null value")
    if target == "any":
        return Coerced(value)
    if target == "boolean":
        if isinstance(value, bool):
            return Coerced(value)
        text = str(value).strip().lower() if isinstance(value, str | int) else None
        if text in _TRUE:
            return Coerced(True)
        if text in _FALSE:
            return Coerced(False)
        return Coerced(error="has a non-boolean value")
    if target == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return Coerced(value)
        if isinstance(value, str):
            try:
                return Coerced(int(value.strip()))
            except ValueError:
                pass
        return Coerced(error="has a non-integer value")
    if target == "number":
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if number is None or not math.isfinite(number):
            return Coerced(error="has a non-numeric value")
        return Coerced(number)
    if target == "string":
        if isinstance(value, str):
            # Trailing whitespace (often a newline) is noise from the client.
            return Coerced(value.rstrip())
        return Coerced(error="has a non-string value")
    if target in ("object", "array"):
        decoded = value
        if isinstance(value, str):
            try:
                decoded = json.loads(value)
            except ValueError:
                return Coerced(error="has malformed JSON")
        if not isinstance(decoded, _JSON_TYPES[target]):
            return Coerced(error=f"is not a JSON {target}")
        return Coerced(decoded)
    return Coerced(error=f"cannot be converted to {target}")


@functools.cache
def _load_cached(name: str, schema_dir: str) -> Schema:
    if name not in SCHEMA_NAMES:
        raise SchemaError(f"unknown schema {name!r}; expected one of {', '.join(SCHEMA_NAMES)}")
    return Schema.from_file(Path(schema_dir) / f"{name}.schema.yaml", name=name)


def load_schema(name: str, schema_dir: str | Path | None = None) -> Schema:
    """The schema ``raw_crash`` or ``processed_crash``, loaded once per directory.

    ``schema_dir`` lets a deployment (or a test) use edited copies of the schemas.
    """
    return _load_cached(name, str(Path(schema_dir or SCHEMA_DIR).resolve()))
