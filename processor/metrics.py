"""The one markus metrics interface every processor module emits through."""

from __future__ import annotations

import markus

METRICS = markus.get_metrics("crashproc")
