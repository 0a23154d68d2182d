"""Throttle rules as data: the first matching rule decides, Throttleable=0 always passes."""

from __future__ import annotations

import pytest
import requests
import yaml

from processor.collector.throttle import Throttler, load_throttler, parse_rules
from processor.config import ConfigError
from tests.collector.conftest import crash_id_of

RULES = """
rules:
  - name: old_firefox
    match: {ProductName: Firefox, Version: {prefix: "52."}}
    accept: 0
  - name: nightly
    match: {ReleaseChannel: [nightly, aurora]}
    accept: 100
  - name: release_sample
    match: {ReleaseChannel: release, BuildID: {regex: "20[0-9]{12}"}}
    accept: 10
  - name: no_product
    match: {ProductName: {present: false}}
    accept: 0
"""


def throttler(draw: float) -> Throttler:
    return Throttler(parse_rules(yaml.safe_load(RULES)), draw=lambda: draw)


@pytest.mark.parametrize(
    ("annotations", "draw", "accepted", "rule"),
    [
        ({"ProductName": "Firefox", "Version": "52.0.1"}, 0, False, "old_firefox"),
        ({"ProductName": "Firefox", "Version": "52.0.1", "Throttleable": "0"}, 99, True,
         "throttleable_0"),
        ({"ProductName": "Firefox", "ReleaseChannel": "aurora"}, 99.9, True, "nightly"),
        ({"ProductName": "F", "ReleaseChannel": "release", "BuildID": "20261026142318"}, 9.9,
         True, "release_sample"),
        ({"ProductName": "F", "ReleaseChannel": "release", "BuildID": "20261026142318"}, 10,
         False, "release_sample"),
        ({"ProductName": "F", "ReleaseChannel": "release", "BuildID": "2026"}, 50, True,
         "accept_everything"),
        ({"Version": "1"}, 0, False, "no_product"),
    ],
)  # fmt: skip
def test_first_matching_rule_decides(annotations, draw, accepted, rule):
    decision = throttler(draw).decide(annotations)
    assert (decision.accepted, decision.rule) == (accepted, rule)


def test_no_rules_accept_everything():
    assert load_throttler(None).decide({"ProductName": "x"}).rule == "accept_everything"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"rules": [{"name": "Bad Name", "accept": 1}]}, "name must match"),
        ({"rules": [{"name": "a", "accept": 101}]}, "percentage"),
        ({"rules": [{"name": "a", "accept": 1, "match": {"X": {"glob": "*"}}}]}, "condition"),
        ({"rules": [{"name": "a", "accept": 1}, {"name": "a", "accept": 2}]}, "taken"),
        ({"rules": [{"name": "a", "accept": 1, "when": {}}]}, "unknown key"),
        ({"rulez": []}, "'rules' list"),
    ],
)
def test_bad_rules_are_configuration_errors(document, message):
    with pytest.raises(ConfigError, match=message):
        parse_rules(document, "throttle.yaml")


def test_over_http_discarded_reports_are_not_stored(make_collector, tmp_path):
    rules = tmp_path / "throttle.yaml"
    rules.write_text(RULES)
    site = make_collector(collector_throttle_rules=rules)
    dump = {"upload_file_minidump": ("m.dmp", b"MDMP")}
    old = {"ProductName": "Firefox", "Version": "52.0"}
    r = requests.post(site.url + "/submit", data=old, files=dump, timeout=30)
    assert (r.status_code, r.text) == (200, "Discarded=old_firefox\n")
    assert site.files() == [] and site.queued() == 0
    r = requests.post(
        site.url + "/submit", data={**old, "Throttleable": "0"}, files=dump, timeout=30
    )
    raw = site.raw_crash(crash_id_of(r.text))
    assert raw["metadata"]["throttle_rule"] == "throttleable_0"
    r = requests.post(
        site.url + "/submit", data={"ProductName": "F", "ReleaseChannel": "nightly"},
        files=dump, timeout=30,
    )  # fmt: skip
    assert site.raw_crash(crash_id_of(r.text))["metadata"]["throttle_rule"] == "nightly"
    assert site.queued() == 2
