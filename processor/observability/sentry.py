"""Sentry error reporting: explicit integrations, no personal data, scrubbed events.

Every crashproc process that processes crashes calls ``setup_sentry`` once at start-up (a no-op
without a DSN) and hands ``report_rule_error`` to the pipeline, which calls it for every rule
that raises.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sentry_sdk

from crashproc.sentry import default_release, integrations
from crashproc.sentry import setup_sentry as base_setup
from processor.crashid import crash_id_problem
from processor.observability import scrub

__all__ = ["default_release", "integrations", "report_rule_error", "setup_sentry"]

logger = logging.getLogger(__name__)

INVALID_CRASH_ID = "invalid"


def setup_sentry(
    dsn: str | None,
    release: str | None = None,
    *,
    server_name: str | None = None,
    environment: str | None = None,
    schema_dir: str | Path | None = None,
    transport: Any = None,
) -> bool:
    """Sentry for a processor process: the shared setup (crashproc/sentry.py) with the
    protected fields of the schemas in ``schema_dir`` masked wherever they appear."""
    return base_setup(
        dsn,
        release,
        server_name=server_name,
        environment=environment,
        protected=scrub.protected_names(schema_dir),
        transport=transport,
    )


def report_rule_error(exc: BaseException, context: dict[str, str]) -> None:
    """The pipeline's error reporter: the exception, tagged with its crash id, and nothing else.

    Crash ids are public; the ruleset and rule are on the stack already. An id that is not a
    crash id (it came from the raw crash) is not repeated.
    """
    crash_id = context.get("crash_id")
    with sentry_sdk.new_scope() as scope:
        scope.set_tag(
            "crash_id", crash_id if crash_id_problem(crash_id) is None else INVALID_CRASH_ID
        )
        scope.capture_exception(exc)
