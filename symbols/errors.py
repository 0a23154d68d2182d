"""Exceptions raised by the symbols package.

They carry short, fixed-vocabulary messages (never the content of a symbol file or a
URL's query), so callers can put them in notes and logs.
"""

from __future__ import annotations


class SymbolError(Exception):
    """Base class of every error the symbols package raises on purpose."""


class SymbolParseError(SymbolError):
    """A .sym file that rust-minidump would reject as a whole (reported as corrupt)."""

    def __init__(self, reason: str, line_number: int) -> None:
        super().__init__(f"{reason} (line {line_number})")
        self.reason = reason
        self.line_number = line_number


class UnsafeNameError(SymbolError, ValueError):
    """A debug file, code file or id that could escape a store or cache directory."""


class StoreError(SymbolError):
    """A file could not be added to a symbol store."""
