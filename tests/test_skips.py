"""A missing external need skips a test locally, naming it, and fails it in CI.

Every such skip goes through `tests.conftest.missing`, so `CI=true make test` runs the whole
suite or fails: a CI run that quietly skipped the Chromium, peer or backend tests would pass
while covering less.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO, import_or_missing, missing

# Spellings that skip a test without going through `missing`.
DIRECT_SKIP = re.compile(r"pytest\.skip\(|importorskip|mark\.skip|skipif|pytest\.xfail|mark\.xfail")


def test_missing_skips_with_its_reason_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        missing("chromium is not installed")


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_missing_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI=true and this test cannot run: no peer"):
        missing("no peer")


def test_import_or_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert import_or_missing("json", "stdlib").dumps([]) == "[]"
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot import no_such_module_here"):
        import_or_missing("no_such_module_here", "a test of the helper")


# Skips that are not about a missing need (each would be a gap in CI): none.
NOT_A_MISSING_NEED: dict[str, str] = {}


def test_no_test_skips_around_the_helper() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for path in sorted((REPO / "tests").rglob("*.py"))
        if path.name not in ("conftest.py", "test_skips.py") or path.parent != REPO / "tests"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if DIRECT_SKIP.search(line)
        and NOT_A_MISSING_NEED.get(str(path.relative_to(REPO)), "\0") not in line
    ]
    assert offenders == [], "skip through tests.conftest.missing (it fails in CI)"
