"""The one markus metrics interface every processor module emits through (crashproc's)."""

from __future__ import annotations

from crashproc.metrics import METRICS

__all__ = ["METRICS"]
