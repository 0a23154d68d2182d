"""The ``Breadcrumbs`` annotation: the events an Android app recorded before crashing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from processor.rules.base import AnnotationRule
from processor.status import Status
from schemas.library import Schema

FIELD = "breadcrumbs"


class BreadcrumbsRule(AnnotationRule):
    """Parse ``Breadcrumbs`` (JSON) into the protected ``breadcrumbs`` list.

    Android Components sends the list wrapped the way Sentry does, ``{"values": [...]}``; the
    wrapper is removed. The list must match the processed schema's ``breadcrumbs`` field, so
    the stored shape is the documented one (the schema itself decides whether undeclared keys
    are allowed). Problems are noted as ``Breadcrumbs: malformed: <reason>``;
    the schema library's reasons name paths and types, never values, because breadcrumbs hold
    URLs and messages.
    """

    ANNOTATION = "Breadcrumbs"

    def __init__(self, schema: Schema) -> None:
        schema.field(FIELD)  # fail at start-up, not per crash, if the schema lacks the field
        self.schema = schema

    def __repr__(self) -> str:
        return f"<BreadcrumbsRule schema={self.schema.name}>"

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        value = raw_crash[self.ANNOTATION]
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                status.add_note("Breadcrumbs: malformed: not valid json")
                return
        elif not isinstance(value, list | dict):
            # A JSON ``extra`` blob may carry the list itself; anything else is garbage.
            status.add_note("Breadcrumbs: malformed: not valid json")
            return

        if isinstance(value, dict) and "values" in value:
            value = value["values"]

        try:
            errors = self.schema.field_errors(FIELD, value)
        except RecursionError:
            errors = ["nested too deeply"]
        if errors:
            status.add_note(f"Breadcrumbs: malformed: {errors[0]}")
            return
        processed_crash[FIELD] = value
