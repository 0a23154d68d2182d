"""How failures are reported without leaking crash data, for every layer of the processor.

An exception's message may quote the crash (a URL, an email in an annotation), so what
leaves a process (logs, notes, Sentry) names the exception's class and its stack, never the
message; the error reporter receives the exception with a context of ids only.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

# Called with the exception and a context dict (crash_id, ruleset, rule) for each failure.
ErrorReporter = Callable[[BaseException, dict[str, str]], None]


def no_reporter(exc: BaseException, context: dict[str, str]) -> None:
    """The reporter when none is configured."""
    return None


def traceback_without_message(exc: BaseException) -> str:
    """The stack of ``exc`` and its class, without its message (which may hold protected data)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    return f"Traceback (most recent call last):\n{frames}{type(exc).__qualname__}"
