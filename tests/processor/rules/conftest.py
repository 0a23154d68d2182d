"""Fixtures for rule tests: running one rule, and real stackwalker output for the test dumps."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from processor.rules.base import Rule
from processor.status import Status
from schemas.library import load_schema
from tests.conftest import TESTDATA


@pytest.fixture
def run_rule() -> Callable[..., Status]:
    """Run ``rule.act`` on the given crash parts (changed in place) and return the Status."""

    def run(
        rule: Rule,
        raw_crash: dict[str, Any] | None = None,
        processed_crash: dict[str, Any] | None = None,
        dumps: dict[str, str] | None = None,
    ) -> Status:
        status = Status()
        rule.act(
            raw_crash={} if raw_crash is None else raw_crash,
            dumps={} if dumps is None else dumps,
            processed_crash={} if processed_crash is None else processed_crash,
            tmpdir="/nonexistent-tmpdir",
            status=status,
        )
        return status

    return run


@pytest.fixture(scope="session")
def schema_problems() -> Callable[[Mapping[str, Any]], dict[str, list[str]]]:
    """``schema_problems(fields)`` -> ``{field: reasons}`` for the fields the processed-crash
    schema rejects, ``{}`` when all fit: rules may only write declared fields, with the
    declared types, or storage and search would drop or mistype them."""
    schema = load_schema("processed_crash")

    def problems(fields: Mapping[str, Any]) -> dict[str, list[str]]:
        return {
            key: errors
            for key, value in fields.items()
            if (errors := schema.field_errors(key, value))
        }

    return problems


@pytest.fixture(scope="session")
def stackwalk(peer_stackwalker: Path) -> Callable[[str], dict[str, Any]]:
    """``stackwalk("test.dmp")`` -> the peer minidump-stackwalk's ``--json`` output for a
    dump in tests/data, symbolicated with its symbols (a fresh copy per call)."""
    exe = str(peer_stackwalker)
    cache: dict[str, dict[str, Any]] = {}

    def run(dump_name: str) -> dict[str, Any]:
        if dump_name not in cache:
            done = subprocess.run(
                [exe, "--json", str(TESTDATA / dump_name), str(TESTDATA / "symbols")],
                capture_output=True,
                timeout=120,
                check=True,
            )
            cache[dump_name] = json.loads(done.stdout)
        return copy.deepcopy(cache[dump_name])

    return run
