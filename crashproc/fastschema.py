"""JSON Schema validation that costs little when the document is valid, which it nearly always is.

``jsonschema`` (pure Python) is the reference validator and the one that explains errors, but
it walks a processed crash at about the speed of the rest of the processing, and importing it
alone costs a command ~0.1 s. ``jsonschema-rs`` (compiled) answers "valid?" one to two orders
of magnitude faster. So a document goes to the compiled validator first:

* accepted: it is valid, and ``jsonschema`` is never imported;
* rejected, or holding a value the compiled validator cannot read (a non-string key, an
  object that is not JSON): ``jsonschema`` decides and says why.

``jsonschema`` therefore has the last word on every rejection; the verdicts can only differ
where the compiled validator is *more lenient* than ``jsonschema``. Where it is stricter
(NaN and infinities are not numbers to it; ``\\d`` and ``$`` in patterns follow ECMA-262, so a
non-ASCII digit or a trailing newline does not match) it only costs the slow path. The one
leniency found, tuples taken as arrays, is removed by making the reference accept tuples as
arrays too (a tuple serializes as a JSON array). ``tests/crashproc/test_fastschema.py`` runs
both validators over every schema and test document and asserts the same verdicts.

Without ``jsonschema-rs`` (a platform with no wheel) everything goes to ``jsonschema``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

try:
    import jsonschema_rs
except ImportError:  # pragma: no cover - every supported platform has a wheel
    jsonschema_rs = None

DRAFT7_URI = "http://json-schema.org/draft-07/schema#"


class Validator:
    """One schema, validated fast when possible and explained by ``jsonschema`` when not.

    A schema without ``$schema`` is read as draft 7 (the crashproc-data schemas are
    translated to draft 7); otherwise its ``$schema`` picks the draft for both validators.
    """

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self._reference: Any = None
        self._native: Any = None
        if jsonschema_rs is not None:
            options = {"validate_formats": False, "offline": True}  # as jsonschema's defaults
            if "$schema" in schema:
                self._native = jsonschema_rs.validator_for(schema, **options)
            else:
                self._native = jsonschema_rs.Draft7Validator(schema, **options)

    @property
    def reference(self) -> Any:
        """The ``jsonschema`` validator, built (and ``jsonschema`` imported) on first need."""
        if self._reference is None:
            self._reference = reference_validator(self.schema)
        return self._reference

    def native_is_valid(self, instance: Any) -> bool | None:
        """The compiled validator's verdict; None without one or for a value it cannot read."""
        if self._native is None:
            return None
        try:
            return bool(self._native.is_valid(instance))
        except (ValueError, TypeError, OverflowError):
            return None  # a non-string key, a non-JSON object: jsonschema decides

    def is_valid(self, instance: Any) -> bool:
        if self.native_is_valid(instance):
            return True
        return bool(self.reference.is_valid(instance))

    def iter_errors(self, instance: Any) -> Iterator[Any]:
        """``jsonschema`` errors of ``instance`` (none, without asking it, when it is valid)."""
        if self.native_is_valid(instance):
            return iter(())
        return self.reference.iter_errors(instance)


def reference_validator(schema: dict[str, Any]) -> Any:
    """The ``jsonschema`` validator of ``schema``'s draft (draft 7 by default), tuples as arrays."""
    import jsonschema  # costly import: only when a document is rejected or no wheel exists

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    checker = cls.TYPE_CHECKER.redefine(
        "array", lambda _checker, instance: isinstance(instance, list | tuple)
    )
    return jsonschema.validators.extend(cls, type_checker=checker)(schema)
