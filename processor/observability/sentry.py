"""Sentry error reporting: explicit integrations, no personal data, scrubbed events.

Every crashproc process that processes crashes calls ``setup_sentry`` once at start-up (a no-op
without a DSN) and hands ``report_rule_error`` to the pipeline, which calls it for every rule
that raises.
"""

from __future__ import annotations

import importlib.metadata
import logging
import warnings
from pathlib import Path
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.atexit import AtexitIntegration
from sentry_sdk.integrations.dedupe import DedupeIntegration
from sentry_sdk.integrations.excepthook import ExcepthookIntegration
from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger
from sentry_sdk.integrations.modules import ModulesIntegration
from sentry_sdk.integrations.threading import ThreadingIntegration
from sentry_sdk.utils import BadDsn

from processor.config import ConfigError
from processor.crashid import crash_id_problem
from processor.observability import scrub

logger = logging.getLogger(__name__)

INVALID_CRASH_ID = "invalid"


def default_release() -> str:
    """``crashproc@<version>``: which code raised is the first thing a Sentry reader needs."""
    try:
        return f"crashproc@{importlib.metadata.version('crashproc')}"
    except importlib.metadata.PackageNotFoundError:
        return "crashproc@unknown"


def _quiet_atexit(pending: int, timeout: float) -> None:
    """Flushing at exit is not worth a message on a command's stderr."""


def integrations() -> list[Any]:
    """The integrations crashproc uses, each for a reason; nothing is enabled implicitly."""
    return [
        # Log records at INFO and above become breadcrumbs (logger name and level survive the
        # scrubber; their text does not). No record becomes an event: failures are captured
        # explicitly, and the pipeline both logs and reports each rule failure, which would
        # otherwise be two events for one failure.
        LoggingIntegration(level=logging.INFO, event_level=None),
        # An exception that escapes main() (a bug in the CLI or the daemon) is reported before
        # the process dies.
        ExcepthookIntegration(),
        # The same for exceptions that end a background thread (the daemon's lease renewal),
        # which Python would only print to stderr.
        ThreadingIntegration(propagate_scope=True),
        # Events still queued when a short command exits are sent instead of lost.
        AtexitIntegration(callback=_quiet_atexit),
        # One exception reported twice (by the pipeline's reporter, then again by a caller or
        # the excepthook) is one event.
        DedupeIntegration(),
        # Installed package versions (symbolic, sentry-sdk...) on each event: a bug in a
        # dependency shows as such. Package names and versions are public.
        ModulesIntegration(),
        # Left out on purpose: stdlib (its http.client breadcrumbs carry symbol-server URLs,
        # which may embed credentials, and its subprocess breadcrumbs carry command lines) and
        # argv (command lines name crash directories and may carry secrets in flags).
    ]


def setup_sentry(
    dsn: str | None,
    release: str | None = None,
    *,
    server_name: str | None = None,
    environment: str | None = None,
    schema_dir: str | Path | None = None,
    transport: Any = None,
) -> bool:
    """Start reporting errors to Sentry at ``dsn``; without a DSN nothing is set up.

    Returns whether Sentry is on. ``schema_dir`` selects the schemas whose protected fields
    are scrubbed; ``transport`` replaces the HTTP transport (tests). An invalid DSN is a
    ConfigError that does not quote it (a DSN holds a key).
    """
    if not dsn:
        return False
    # send_default_pii=False is stated because it is the promise this setup makes (the SDK
    # collects no personal data), although it is also the SDK's default. sentry-sdk 2.7x
    # deprecates it for ``data_collection``, which the older 2.x releases pyproject allows do
    # not know, so that one warning is silenced here.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="The send_default_pii option is deprecated",
            category=DeprecationWarning,
        )
        try:
            sentry_sdk.init(
                dsn=dsn,
                release=release or default_release(),
                server_name=server_name,
                environment=environment,
                default_integrations=False,
                auto_enabling_integrations=False,
                integrations=integrations(),
                send_default_pii=False,
                include_local_variables=False,
                max_request_body_size="never",
                before_send=scrub.build_scrubber(schema_dir),
                transport=transport,
            )
        except BadDsn:
            raise ConfigError("the Sentry DSN is not valid") from None
    # Scrubber problems must not become breadcrumbs of the very events being scrubbed, and the
    # logging metrics backend would fill the breadcrumb buffer with one line per metric.
    for name in ("fillmore.scrubber", scrub.logger.name, "markus"):
        ignore_logger(name)
    return True


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
