"""Running the rule pipeline over one crash."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from signature.result import Result
from signature.rules import Rule, default_ruleset
from signature.siglists import SignatureLists

#: Called with the exception and the failing rule's name; for error reporting (Sentry,
#: logs). The library itself never logs.
ErrorHandler = Callable[[BaseException, str], None]


class SignatureGenerator:
    """Generates signatures with a fixed ruleset; reuse one instance for many crashes.

    A rule that raises does not stop the pipeline: the signature stays as it was, the
    ``error_handler`` (if any) receives the exception, and the public note says only
    ``<Rule>: Rule failed: <ExceptionClass>`` because exception messages can quote
    crash data.
    """

    def __init__(
        self,
        ruleset: Sequence[Rule] | None = None,
        error_handler: ErrorHandler | None = None,
        signature_list_dir: str | Path | None = None,
    ) -> None:
        if ruleset is None:
            ruleset = default_ruleset(SignatureLists.load(signature_list_dir))
        self.ruleset = list(ruleset)
        self.error_handler = error_handler

    def generate(self, crash_data: Mapping[str, Any]) -> Result:
        """Run every rule over ``crash_data`` and return the result (never raises for
        bad crash data)."""
        result = Result()
        if not isinstance(crash_data, Mapping):
            result.info("SignatureGenerator", "crash data is not an object; ignored")
            crash_data = {}
        for rule in self.ruleset:
            try:
                if rule.predicate(crash_data, result):
                    rule.action(crash_data, result)
            except Exception as exc:
                if self.error_handler is not None:
                    self.error_handler(exc, rule.name)
                result.info(rule.name, f"Rule failed: {type(exc).__name__}")
        return result


_DEFAULT: SignatureGenerator | None = None


def generate(crash_data: Mapping[str, Any]) -> Result:
    """Generate with a shared default generator (bundled lists, no error handler)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = SignatureGenerator()
    return _DEFAULT.generate(crash_data)
