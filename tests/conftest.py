"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# ../shared sits beside the clone, on developer machines and in CI alike.
SHARED = REPO.parent / "shared"
TESTDATA = SHARED / "testdata"


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not present beside the clone")
    return SHARED


@pytest.fixture
def testdata_dir(shared_dir: Path) -> Path:
    return shared_dir / "testdata"
