"""Sentry for every crashproc service: explicit integrations, no personal data, and events
scrubbed before they leave the process.

Sentry is read by more people than may see protected annotations (URLs, email addresses,
comments, exception messages from the crashing program...). An event can pick such values up
in several places, and each place gets a rule:

- free-form data attached by code (``extra``, ``contexts``, ``tags``): every value under a key
  named like a protected field is masked, at any depth (the service names them: the processor
  passes its schemas' protected fields, processor/observability/scrub.py);
- exception messages: formatted by arbitrary code from arbitrary data (a ValueError quoting an
  annotation, a KeyError naming a key), so they are all masked; type and stack stay;
- local variables of stack frames: masked (the SDK is also told not to collect them);
- breadcrumbs: their messages and data are log lines and their arguments, which may quote a
  value; level, category (logger) and time stay;
- log entries: the formatted message and its arguments are masked; the template stays;
- request data and the user: masked whole (URLs and query strings may carry tokens, headers
  carry Auth-Token, bodies carry crash reports).

It lives in the base package because the symbols server, the collector and the web UI, which
may not all import the processor, report the same way; the processor adds the protected names
its schemas declare.

A rule that fails replaces its value with an error marker; a scrub that cannot even walk the
event drops the event, because sending it unscrubbed is the one thing that must not happen.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any

import sentry_sdk
from fillmore.scrubber import MASK_TEXT, Rule, Scrubber
from sentry_sdk.integrations import logging as sentry_logging
from sentry_sdk.integrations.atexit import AtexitIntegration
from sentry_sdk.integrations.dedupe import DedupeIntegration
from sentry_sdk.integrations.excepthook import ExcepthookIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.integrations.modules import ModulesIntegration
from sentry_sdk.integrations.threading import ThreadingIntegration
from sentry_sdk.utils import BadDsn

from crashproc.config import ConfigError
from crashproc.metrics import METRICS

logger = logging.getLogger(__name__)

MASK = MASK_TEXT
# fillmore paths start below the event, so the scrubber wraps the event under this key and
# rules that need the event's own top-level keys address them through it.
ROOT = "event"
# Sections of an event where code attaches data of its own choosing.
FREE_FORM_SECTIONS = ("extra", "contexts", "tags")


def mask(value: Any) -> Any:
    """The mask for a value that has content; empty values stay as they are (nothing to hide)."""
    return value if value in (None, "", {}, []) else MASK


def build_key_masker(names: Iterable[str]) -> Callable[[Any], Any]:
    """A scrub function masking, at any depth, every value whose key is one of ``names``.

    Keys match case-insensitively: the same datum is ``URL`` in a raw crash and ``url`` in a
    processed crash.
    """
    lowered = frozenset(name.lower() for name in names)

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: mask(item) if str(key).lower() in lowered else scrub(item)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [scrub(item) for item in value]
        return value

    return scrub


def scrub_rules(names: Iterable[str]) -> list[Rule]:
    """The fillmore rules for an event wrapped as ``{ROOT: event}``."""
    frames = "stacktrace.frames.[]"
    return [
        Rule(path=ROOT, keys=list(FREE_FORM_SECTIONS), scrub=build_key_masker(names)),
        Rule(path=ROOT, keys=["user"], scrub=mask),
        Rule(
            path=f"{ROOT}.request",
            keys=["url", "query_string", "data", "cookies", "headers", "env"],
            scrub=mask,
        ),
        Rule(path=f"{ROOT}.exception.values.[]", keys=["value"], scrub=mask),
        Rule(path=f"{ROOT}.exception.values.[].{frames}", keys=["vars"], scrub=mask),
        Rule(path=f"{ROOT}.threads.values.[].{frames}", keys=["vars"], scrub=mask),
        Rule(path=f"{ROOT}.breadcrumbs.values.[]", keys=["message", "data"], scrub=mask),
        Rule(path=f"{ROOT}.logentry", keys=["formatted", "params"], scrub=mask),
    ]


class ProtectedDataScrubber:
    """Sentry's ``before_send``: scrubs each event with fillmore, or drops it if that fails."""

    def __init__(self, names: Iterable[str], service: str = "processor"):
        self.service = service
        self.rules = scrub_rules(names)

    def __call__(self, event: dict[str, Any], hint: Any) -> dict[str, Any] | None:
        # A scrubber per event: events are sent from several threads, each with its own errors.
        errors: list[str] = []
        wrapped = Scrubber(rules=self.rules, error_handler=errors.append)({ROOT: event}, hint)
        if not errors:
            return wrapped[ROOT]
        METRICS.incr("sentry_scrub_error", tags=[f"service:{self.service}"])
        # fillmore has replaced a value it could not scrub ("scrub fun error"); any other
        # error means a rule could not reach its part of the event, which may be unscrubbed.
        if all(message.startswith("scrub fun error") for message in errors):
            return wrapped[ROOT]
        logger.error("a Sentry event was dropped: it could not be scrubbed")
        return None


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
        _breadcrumbs_from_logging(),
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


def _breadcrumbs_from_logging() -> LoggingIntegration:
    """The logging integration making breadcrumbs of INFO and above, and nothing else.

    Its arguments changed meaning in sentry-sdk 3: ``level`` became the level of Sentry Logs
    (log records sent as they are, which our scrubber never sees) and breadcrumbs got
    ``breadcrumb_level``. Sentry Logs stay off on every version.
    """
    accepted = inspect.signature(LoggingIntegration.__init__).parameters
    if "breadcrumb_level" in accepted:
        return LoggingIntegration(level=None, event_level=None, breadcrumb_level=logging.INFO)
    options: dict[str, Any] = {"level": logging.INFO, "event_level": None}
    if "sentry_logs_level" in accepted:
        options["sentry_logs_level"] = None
    return LoggingIntegration(**options)


def _drop_sentry_log(log: Any, hint: Any) -> None:
    """Sentry Logs carry log records unscrubbed: none is sent."""
    return None


def _ignore_logger_for_events(name: str) -> None:
    """Keep a logger's lines out of breadcrumbs and events.

    sentry-sdk 3 names this ``ignore_logger_for_events`` (its ``ignore_logger`` now only
    concerns Sentry Logs); 2.x calls it ``ignore_logger``.
    """
    ignore = getattr(sentry_logging, "ignore_logger_for_events", sentry_logging.ignore_logger)
    ignore(name)


def _no_personal_data() -> dict[str, Any]:
    """The SDK options saying: no user data, no request bodies, no local variables, no logs.

    They are stated although most are the SDK's defaults, because they are the promise this
    setup makes. sentry-sdk 3 (and late 2.x) spell them as one ``data_collection`` option and
    3 refuses the older ``send_default_pii`` and ``include_local_variables``; earlier 2.x
    releases know only those.
    """
    accepted = inspect.signature(sentry_sdk.consts.ClientConstructor.__init__).parameters
    options: dict[str, Any] = {"send_default_pii": False, "include_local_variables": False}
    if "data_collection" in accepted:
        options = {
            "data_collection": {
                "user_info": False,
                "http_bodies": [],
                "stack_frame_variables": False,
            }
        }
    if "before_send_log" in accepted:
        options["before_send_log"] = _drop_sentry_log
    return options


def setup_sentry(
    dsn: str | None,
    release: str | None = None,
    *,
    server_name: str | None = None,
    environment: str | None = None,
    protected: Iterable[str] = (),
    service: str = "processor",
    transport: Any = None,
) -> bool:
    """Start reporting errors to Sentry at ``dsn``; without a DSN nothing is set up.

    Returns whether Sentry is on. Values under the ``protected`` names are masked at any
    depth (the processor passes its schemas' protected fields; a service handling no crash
    data passes none, and every other rule still applies); ``transport`` replaces the HTTP
    transport (tests). An invalid DSN is a ConfigError that does not quote it (a DSN holds a
    key).
    """
    if not dsn:
        return False
    try:
        sentry_sdk.init(
            dsn=dsn,
            release=release or default_release(),
            server_name=server_name,
            environment=environment,
            default_integrations=False,
            auto_enabling_integrations=False,
            integrations=integrations(),
            max_request_body_size="never",
            before_send=ProtectedDataScrubber(protected, service=service),
            transport=transport,
            **_no_personal_data(),
        )
    except BadDsn:
        raise ConfigError("the Sentry DSN is not valid") from None
    # Scrubber problems must not become breadcrumbs of the very events being scrubbed, and the
    # logging metrics backend would fill the breadcrumb buffer with one line per metric.
    for name in ("fillmore.scrubber", logger.name, "markus"):
        _ignore_logger_for_events(name)
    return True
