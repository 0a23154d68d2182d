"""The one markus metrics interface every part of crashproc emits through.

It lives in the base package so services that may not import the processor (the symbols
server, the shared web stack) emit through the same interface, and the registry check
(processor/metrics.yaml) sees every metric wherever it is emitted.
"""

from __future__ import annotations

import markus

METRICS = markus.get_metrics("crashproc")
