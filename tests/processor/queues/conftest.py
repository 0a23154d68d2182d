"""A queue URL per backend, so every behaviour test runs against each of them."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite"])
def queue_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'queue.sqlite'}"
    raise AssertionError(request.param)
