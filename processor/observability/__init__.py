"""Metrics (markus) and error reporting (Sentry) for every crashproc process.

The metrics registry (``processor/metrics.yaml``) lists every metric the code emits; Sentry
events are scrubbed of protected crash data before they leave the process.
"""
