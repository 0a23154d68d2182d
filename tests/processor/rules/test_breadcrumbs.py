"""Tests for BreadcrumbsRule against the real processed-crash schema."""

from __future__ import annotations

import json

import pytest

from processor.rules.breadcrumbs import BreadcrumbsRule
from schemas.library import Schema, load_schema

SECRET = "https://secret.example/inbox?user=alice"

CRUMBS = [
    {
        "timestamp": "2024-01-15T09:29:58",
        "category": "navigation",
        "type": "Navigation",
        "level": "Info",
        "message": "Page loaded",
        "data": {"to": SECRET, "from": "about:home", "tabs": 3, "private": False},
    },
    {"timestamp": 1705310999.5, "message": "Tapped the menu", "category": "ui.click"},
    # Sentry clients may add keys the schema does not describe; they are kept (protected).
    {"timestamp": "2024-01-15T09:30:01", "event_id": "abc"},
]


@pytest.fixture(scope="module")
def rule() -> BreadcrumbsRule:
    return BreadcrumbsRule(load_schema("processed_crash"))


def run(run_rule, rule, value):
    processed_crash = {}
    status = run_rule(rule, raw_crash={"Breadcrumbs": value}, processed_crash=processed_crash)
    assert all(SECRET not in note for note in status.notes)
    return processed_crash, status


class TestBreadcrumbsRule:
    def test_plain_list(self, run_rule, rule):
        processed_crash, status = run(run_rule, rule, json.dumps(CRUMBS))
        assert processed_crash == {"breadcrumbs": CRUMBS}
        assert status.notes == []

    def test_sentry_values_wrapper(self, run_rule, rule):
        processed_crash, status = run(run_rule, rule, json.dumps({"values": CRUMBS}))
        assert processed_crash == {"breadcrumbs": CRUMBS}
        assert status.notes == []

    def test_already_decoded_list(self, run_rule, rule):
        processed_crash, _ = run(run_rule, rule, CRUMBS)
        assert processed_crash == {"breadcrumbs": CRUMBS}

    def test_empty_list(self, run_rule, rule):
        processed_crash, status = run(run_rule, rule, "[]")
        assert processed_crash == {"breadcrumbs": []}
        assert status.notes == []

    @pytest.mark.parametrize("raw_crash", [{}, {"Breadcrumbs": ""}])
    def test_absent(self, run_rule, rule, raw_crash):
        processed_crash = {}
        status = run_rule(rule, raw_crash=raw_crash, processed_crash=processed_crash)
        assert processed_crash == {}
        assert status.notes == []

    @pytest.mark.parametrize(
        "value",
        [
            "{not json",
            f'[{{"message": "{SECRET}"',
            "[" * 100_000 + "]" * 100_000,
            "\x00",
            12,
            True,
        ],
    )
    def test_not_json(self, run_rule, rule, value):
        processed_crash, status = run(run_rule, rule, value)
        assert processed_crash == {}
        assert status.notes == ["Breadcrumbs: malformed: not valid json"]

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ({"crumbs": CRUMBS}, "breadcrumbs: expected array, got object"),
            ("a string", "breadcrumbs: expected array, got string"),
            ([SECRET], "breadcrumbs[0]: expected object, got string"),
            (
                [CRUMBS[0], {"timestamp": "t", "message": {"text": SECRET}}],
                "breadcrumbs[1].message: expected string or null, got object",
            ),
            (
                [{"timestamp": True}],
                "breadcrumbs[0].timestamp: expected string or number or null, got boolean",
            ),
            (
                [{"timestamp": "t", "data": {"url": [SECRET]}}],
                "breadcrumbs[0].data.url: expected string or number or boolean or null, got array",
            ),
        ],
    )
    def test_schema_violations(self, run_rule, rule, value, reason):
        processed_crash, status = run(run_rule, rule, json.dumps(value))
        assert processed_crash == {}
        assert status.notes == [f"Breadcrumbs: malformed: {reason}"]

    def test_many_breadcrumbs(self, run_rule, rule):
        crumbs = [{"timestamp": i, "message": "x" * 100} for i in range(20_000)]
        processed_crash, status = run(run_rule, rule, json.dumps({"values": crumbs}))
        assert len(processed_crash["breadcrumbs"]) == 20_000
        assert status.notes == []

    def test_schema_without_breadcrumbs_fails_at_start(self):
        schema = Schema({"type": "object", "properties": {}}, name="tiny", check=False)
        with pytest.raises(KeyError):
            BreadcrumbsRule(schema)
