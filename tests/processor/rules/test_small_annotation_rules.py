from __future__ import annotations

import pytest

from processor.rules.mozilla import AccessibilityRule, PluginRule


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


def test_plugin_fields_only_for_plugin_crashes(run_rule):
    processed = {}
    run_rule(PluginRule(), {"ProcessType": "content", "PluginName": "Flash"}, processed)
    assert processed == {}
    run_rule(
        PluginRule(),
        {"ProcessType": "plugin", "PluginName": "Flash", "PluginVersion": 3},
        processed,
    )
    assert processed == {"plugin_filename": "", "plugin_name": "Flash", "plugin_version": ""}
