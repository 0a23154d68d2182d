"""A crash storage per backend, so every behaviour test runs against each of them."""

from __future__ import annotations

import pytest

from processor.storage import CrashStorage, open_storage


@pytest.fixture(params=["fs"])
def storage(request, tmp_path) -> CrashStorage:
    if request.param == "fs":
        return open_storage(str(tmp_path / "crashes"))
    raise AssertionError(request.param)
