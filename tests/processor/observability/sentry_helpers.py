"""What the Sentry tests share: a rule that leaks on purpose, the sample's protected values."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sentry_sdk

from processor.rules.base import Rule
from processor.status import Status
from schemas.library import PROTECTED, load_schema

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "examples" / "crashes" / "windows-x86-test-app"

logger = logging.getLogger("tests.leaky_rule")


def sample_raw_crash() -> dict[str, Any]:
    """A real sample's raw crash; it carries URL, Email and Comments (fake but protected)."""
    with open(SAMPLE / "raw_crash.json", encoding="utf-8") as fp:
        return json.load(fp)


def protected_values(raw_crash: Mapping[str, Any]) -> list[str]:
    """The raw crash's values of protected annotations (those a Sentry event must not carry)."""
    schema = load_schema("raw_crash")
    names = {f.path for f in schema.iter_fields() if f.permission == PROTECTED}
    values = [v for k, v in raw_crash.items() if k in names and isinstance(v, str) and v]
    assert len(values) >= 3, "the sample should carry several protected values"
    return values


class LeakyRule(Rule):
    """A buggy rule that puts protected values everywhere an event can pick them up."""

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        url, email = raw_crash["URL"], raw_crash["Email"]
        logger.warning("cannot parse the page %s", url, extra={"email": email})
        sentry_sdk.set_context(
            "crash",
            {"product": raw_crash["ProductName"], "url": url, "notes": {"Comments": email}},
        )
        sentry_sdk.set_extra("raw_crash", {"URL": url, "ProductName": raw_crash["ProductName"]})
        raise ValueError(f"cannot parse {url} sent by {email}")
