"""Checks that a stored public copy of a processed crash holds no protected value.

Read from the schema file itself, not through `public_view`, so a bug in the redaction code
cannot make the check agree with it.
"""

from __future__ import annotations

import functools
import json

from crashproc import yamlfile
from tests.conftest import REPO

SCHEMA = REPO / "schemas" / "processed_crash.schema.yaml"


@functools.cache
def protected_top_level_keys() -> frozenset[str]:
    """Read once per test run: a reliability test checks hundreds of crashes with it."""
    properties = yamlfile.parse(SCHEMA.read_bytes())["properties"]
    return frozenset(k for k, v in properties.items() if "public" not in v.get("permissions", []))


def assert_public_copy_hides_protected(processed: dict, public: dict) -> None:
    """No protected key is in `public`, nor any protected value of `processed` anywhere in it;
    `processed` must hold at least one protected value (so the check is not vacuous)."""
    protected = protected_top_level_keys() & processed.keys()
    assert protected, "the processed crash has no protected field: nothing is checked"
    assert not protected & public.keys(), sorted(protected & public.keys())
    text = json.dumps(public)
    for key in protected:
        value = processed[key]
        if isinstance(value, str) and len(value) >= 6:
            assert json.dumps(value) not in text, f"the value of {key} is in the public copy"
