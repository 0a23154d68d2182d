"""The one exception family the reader raises.

Every failure to read a dump (or one of its streams) is a MinidumpError carrying a
short, public reason: callers can show it to people and never see an IndexError or a
struct.error from deep inside the parser.
"""

from __future__ import annotations


class MinidumpError(Exception):
    """A dump (or part of one) cannot be read; `reason` is a short public sentence and `code`
    the name rust-minidump's minidump-stackwalk gives the same failure on its `ERROR <code>`
    log line (which Socorro turns into mdsw_status_string)."""

    code = "UnknownError"

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code


class OutOfBounds(MinidumpError):
    """A read reached past the end of the data it was confined to."""


class BadHeader(MinidumpError):
    """Not a minidump: wrong signature or version, or no readable stream directory."""


class StreamError(MinidumpError):
    """One stream is corrupt (bad size, count or pointer); the rest of the dump is usable."""


class MissingStream(MinidumpError):
    """A stream the processor cannot do without (thread list, system info) is absent."""
