"""The processor rule that generates the crash signature with the ``signature`` library.

It runs after every rule whose output signature generation reads (stackwalker output,
Java stack trace, annotations) and alone in the ``regenerate_signature`` ruleset, where it
recomputes the signature from a stored processed crash.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from processor.metrics import METRICS
from processor.rules.base import Rule
from processor.status import Status
from schemas.library import Schema, load_schema
from signature import SignatureGenerator, convert_to_crash_data

logger = logging.getLogger(__name__)

#: Longest debug-log line kept in ``signature_debug``; frames of absurd length (a 1 MB
#: symbol) would otherwise be stored many times over.
MAX_DEBUG_LINE = 2000


class SignatureGeneratorRule(Rule):
    """Writes ``signature``, ``proto_signature`` and ``signature_debug`` (protected).

    The processed crash is converted to signature crash data (crashing thread, threads
    with inline frames and unloaded modules, Java fields, OOM size, abort message, async
    shutdown timeout, IPC fields, stackwalker status, previous signature); the generator's
    notes become processor notes. Each written field is checked against the processed
    crash schema; a field that does not match is not written and gets a note.

    A signature rule that raises is reported to the log and to metrics with the rule name
    and the exception class only (exception messages can quote crash data).
    """

    FIELDS = ("signature", "proto_signature", "signature_debug")

    def __init__(
        self,
        schema: Schema | None = None,
        signature_list_dir: str | Path | None = None,
    ) -> None:
        self.schema = schema if schema is not None else load_schema("processed_crash")
        self.generator = SignatureGenerator(
            error_handler=self._report_error, signature_list_dir=signature_list_dir
        )

    @staticmethod
    def _report_error(exc: BaseException, rule: str) -> None:
        METRICS.incr("processor.signature.rule_failed", tags=[f"rule:{rule}"])
        logger.warning("signature rule %s failed: %s", rule, type(exc).__name__)

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        result = self.generator.generate(convert_to_crash_data(processed_crash))
        status.add_notes(result.notes)
        debug = "\n".join(
            line if len(line) <= MAX_DEBUG_LINE else line[:MAX_DEBUG_LINE] + "..."
            for line in result.debug_log
        )
        values = {"signature": result.signature, "signature_debug": debug}
        if result.proto_signature is not None:
            values["proto_signature"] = result.proto_signature
        for name, value in values.items():
            errors = self.schema.field_errors(name, value)
            if errors:
                status.add_note(f"SignatureGeneratorRule: {name} not written: {errors[0]}")
                continue
            processed_crash[name] = value
