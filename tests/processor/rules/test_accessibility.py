from __future__ import annotations

import pytest

from processor.rules.mozilla import AccessibilityRule


@pytest.mark.parametrize(
    ("raw_crash", "expected"),
    [
        ({"Accessibility": "Active"}, True),
        ({"Accessibility": "On"}, False),
        ({}, False),
        ({"Accessibility": 1}, False),
    ],
)
def test_accessibility_is_true_only_for_active(run_rule, raw_crash, expected):
    processed = {}
    status = run_rule(AccessibilityRule(), raw_crash, processed)
    assert processed == {"accessibility": expected}
    assert status.notes == []
