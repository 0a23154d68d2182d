"""One crash's symbol lookups: asked once per module, and within one time budget.

A crash is walked, then symbolicated, sometimes walked again, each step asking the provider
for the same modules (under slightly different names: a full code-file path here, its leaf
there). Within a `lookup_scope()` every provider answers a module once, whatever the outcome,
and all its HTTP lookups together take at most the provider's budget: a symbols server that
never answers costs a crash the budget, not the timeouts of every module times every try.

The scope lives in a context variable, so whoever processes one crash opens it (the
processor's pipeline does, around a ruleset) and the providers deep inside the stackwalker
and the rules find it without being handed it.
"""

from __future__ import annotations

import contextlib
from _contextvars import ContextVar  # contextvars' own source, one module fewer to load
from collections.abc import Iterator

from crashproc.records import Record

_CURRENT: ContextVar[LookupScope | None] = ContextVar("symbols_lookup_scope", default=None)


TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from typing import Any


class LookupScope(Record):
    """Answers by (provider, module) and the HTTP lookup time each provider has spent."""

    answers: dict[tuple[int, Any], Any]
    spent: dict[int, float]

    def __init__(
        self,
        answers: dict[tuple[int, Any], Any] | None = None,
        spent: dict[int, float] | None = None,
    ) -> None:
        self.answers = dict() if answers is None else answers
        self.spent = dict() if spent is None else spent

    _fields = ("answers", "spent")


@contextlib.contextmanager
def lookup_scope() -> Iterator[LookupScope]:
    """A fresh scope for one crash (nested scopes are independent)."""
    scope = LookupScope()
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)


def current_scope() -> LookupScope | None:
    return _CURRENT.get()
