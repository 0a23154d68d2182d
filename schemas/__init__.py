"""crashproc's data schemas (YAML) and the library that reads them."""

from schemas.library import (
    SCHEMA_DIR,
    Coerced,
    Schema,
    SchemaError,
    ValidationIssue,
    coerce,
    load_schema,
)

__all__ = [
    "SCHEMA_DIR",
    "Coerced",
    "Schema",
    "SchemaError",
    "ValidationIssue",
    "coerce",
    "load_schema",
]
