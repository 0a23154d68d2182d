"""Every fixture in fixtures/*.json: crash data in, expected signature (and proto) out.

Fixture format: {description, source, socorro_change?, crash_data, expected_signature,
expected_proto_signature?, expected_notes?}. ``expected_proto_signature`` may be null (no
native frames); when ``expected_notes`` is present the notes must match exactly.

``source`` says what stands behind the expectation:

* ``siggen``: siggen 2.2.20241029 (the last release of Socorro's signature code) gives the same
  signature and proto signature; checked here against that release.
* ``socorro-head``: a change Socorro made after that release; ``socorro_change`` names it
  (commit, pull request, title), and siggen must disagree (or the mark is stale).
* ``ours``: our own design where Socorro has none to follow (bad input siggen fails on), or
  a fixture written from our own output (``crashproc-signature fixture``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from signature import SignatureGenerator
from signature.rules import default_ruleset
from tests.conftest import import_or_missing

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.json"))
REQUIRED = {"description", "source", "crash_data", "expected_signature"}
OPTIONAL = {"socorro_change", "expected_proto_signature", "expected_notes"}
SOURCES = {"siggen", "socorro-head", "ours"}
SIGGEN_VERSION = "2.2.20241029"
COMMIT = re.compile(r"^[0-9a-f]{40}$")
PULL = re.compile(r"^https://github\.com/mozilla-services/socorro/pull/(\d+)$")


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def generator() -> SignatureGenerator:
    return SignatureGenerator()


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture(path: Path, generator: SignatureGenerator) -> None:
    fixture = load(path)
    assert REQUIRED <= fixture.keys() <= REQUIRED | OPTIONAL, "malformed fixture"
    assert fixture["description"].strip()

    result = generator.generate(fixture["crash_data"])

    assert result.signature == fixture["expected_signature"]
    if "expected_proto_signature" in fixture:
        assert result.proto_signature == fixture["expected_proto_signature"]
    if "expected_notes" in fixture:
        assert result.notes == fixture["expected_notes"]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_every_fixture_names_its_source(path: Path) -> None:
    fixture = load(path)
    assert fixture.get("source") in SOURCES, f"source must be one of {sorted(SOURCES)}"
    change = fixture.get("socorro_change")
    if fixture["source"] != "socorro-head":
        assert change is None, "only socorro-head fixtures name a Socorro change"
        return
    assert isinstance(change, dict) and change.keys() == {"commit", "pull_request", "title"}
    assert COMMIT.match(change["commit"]), "the full commit id in mozilla-services/socorro"
    pull = PULL.match(change["pull_request"])
    assert pull, "a mozilla-services/socorro pull request URL"
    assert change["title"].strip().endswith(f"(#{pull.group(1)})"), "title of that pull request"


def test_the_marks_agree_with_siggen() -> None:
    """ "siggen" fixtures are what siggen gives; the others are where it gives something else."""
    siggen = import_or_missing("siggen", f"the siggen {SIGGEN_VERSION} reference (.[dev])")
    from siggen.generator import SignatureGenerator as Siggen

    assert siggen.__version__ == SIGGEN_VERSION
    reference = Siggen()
    wrong = []
    for path in FIXTURES:
        fixture = load(path)
        theirs = reference.generate(fixture["crash_data"])
        agrees = theirs.signature == fixture["expected_signature"] and (
            "expected_proto_signature" not in fixture
            or theirs.extra.get("proto_signature") == fixture["expected_proto_signature"]
        )
        if agrees != (fixture["source"] == "siggen"):
            wrong.append(
                f"{path.stem}: marked {fixture['source']}, siggen gives {theirs.signature!r}"
            )
    assert wrong == []
    sources = {load(path)["source"] for path in FIXTURES}
    assert sources == SOURCES, "each kind of source is represented"


def test_every_rule_decides_some_fixture() -> None:
    """The fixtures exercise the whole pipeline: without any one rule, some fixture's
    signature, proto signature or notes come out different."""
    fixtures = [load(path) for path in FIXTURES]
    full = SignatureGenerator()
    expected = [full.generate(f["crash_data"]) for f in fixtures]
    idle = []
    for index, rule in enumerate(full.ruleset):
        without = SignatureGenerator(ruleset=full.ruleset[:index] + full.ruleset[index + 1 :])
        if all(
            (r.signature, r.proto_signature, r.notes) == (e.signature, e.proto_signature, e.notes)
            for r, e in zip(
                (without.generate(f["crash_data"]) for f in fixtures), expected, strict=True
            )
        ):
            idle.append(rule.name)
    assert len(full.ruleset) == len(default_ruleset(None)) >= 10
    assert idle == [], "rules no fixture depends on"
