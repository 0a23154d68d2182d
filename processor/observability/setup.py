"""One call that turns on metrics and error reporting for a process, from its settings.

Every entry point that processes crashes (``crashproc process``, each daemon worker, reprocess)
calls ``setup_observability`` once at start-up, in the process that does the work (after a
fork, again), and passes the reporter it returns to the pipeline.
"""

from __future__ import annotations

import socket

from processor.config import Settings
from processor.errors import ErrorReporter
from processor.observability.metrics_setup import setup_metrics


def setup_observability(settings: Settings) -> ErrorReporter | None:
    """Configure markus and Sentry; return the pipeline's error reporter (None: Sentry off).

    Raises ConfigError for an unusable metrics backend or Sentry DSN.
    """
    hostname = settings.hostname or socket.gethostname()
    setup_metrics(
        settings.metrics, host=settings.statsd_host, port=settings.statsd_port, hostname=hostname
    )
    if not settings.sentry_dsn:
        return None
    # Only with a DSN: importing sentry_sdk is a fifth of a worker's start-up.
    from processor.observability.sentry import report_rule_error, setup_sentry

    sentry_on = setup_sentry(
        settings.sentry_dsn, server_name=hostname, schema_dir=settings.schema_dir
    )
    return report_rule_error if sentry_on else None
