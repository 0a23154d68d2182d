"""Run a ruleset over one crash, isolating each rule's failures.

A rule that raises must not cost the crash: the failure becomes a public note that names the
rule and the exception class only (exception messages can carry protected data), the traceback
goes to the log and to the error reporter, and the remaining rules still run.
"""

from __future__ import annotations

import datetime
import logging
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from processor.errors import ErrorReporter, no_reporter, traceback_without_message
from processor.metrics import METRICS
from processor.rules.base import Rule
from processor.status import Status
from symbols.scope import lookup_scope

logger = logging.getLogger(__name__)

PLACEHOLDER_SIGNATURE = "EMPTY: crash failed to process"


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class UnknownRuleset(KeyError):
    pass


@dataclass
class RulesetTime:
    """What running rulesets has cost this process so far: crashes, wall-clock and CPU
    seconds (process CPU: every thread, so a rule's helper threads count too). A worker sets
    it against its whole CPU time to show what processing costs beyond the rules."""

    crashes: int = 0
    wall: float = 0.0
    cpu: float = 0.0


class Pipeline:
    """Applies named rulesets (ordered lists of rules) to crashes."""

    def __init__(
        self,
        rulesets: Mapping[str, list[Rule]],
        hostname: str | None = None,
        error_reporter: ErrorReporter | None = None,
    ):
        self.rulesets = dict(rulesets)
        self.hostname = hostname or socket.gethostname()
        self.error_reporter = error_reporter or no_reporter
        self.spent = RulesetTime()

    def process_crash(
        self,
        ruleset_name: str,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        notes: list[str] | None = None,
    ) -> dict[str, Any]:
        """Run ``ruleset_name`` over the crash; ``processed_crash`` is changed and returned.

        ``processed_crash`` is the previously saved result when reprocessing, so earlier notes
        move into ``processor_history``. ``notes`` are notes gathered before the pipeline (for
        example by the loader) that belong to this pass.
        """
        status = Status()
        started = utc_now()
        status.add_note(f">>> Start processing: {started.isoformat()} ({self.hostname})")
        status.add_notes(list(notes or []))

        previous_notes = processed_crash.get("processor_notes")
        processed_crash["success"] = False
        processed_crash["started_datetime"] = started.isoformat()
        processed_crash["signature"] = PLACEHOLDER_SIGNATURE

        crash_id = str(raw_crash.get("uuid", "unknown"))
        rules = self.rulesets.get(ruleset_name)
        failed: list[str] = []
        wall, cpu = time.perf_counter(), time.process_time()
        # One symbol lookup scope per crash: the stackwalker and the rules ask the provider for
        # each module once, within the crash's symbols budget (symbols.crash_budget).
        with (
            METRICS.timer("processor.process_crash", tags=[f"ruleset:{ruleset_name}"]),
            lookup_scope(),
        ):
            if rules is None:
                status.add_note(f"error: unknown ruleset {ruleset_name!r}")
                failed.append("ruleset")
            else:
                for rule in rules:
                    if not self._run_rule(
                        rule,
                        ruleset_name,
                        crash_id,
                        raw_crash,
                        dumps,
                        processed_crash,
                        tmpdir,
                        status,
                    ):
                        failed.append(rule.name)
        self.spent.crashes += 1
        self.spent.wall += time.perf_counter() - wall
        self.spent.cpu += time.process_time() - cpu

        processed_crash["success"] = not failed and self._stackwalk_succeeded(processed_crash)
        if previous_notes:
            history = processed_crash.get("processor_history")
            history = list(history) if isinstance(history, list) else []
            history.insert(0, previous_notes)
            processed_crash["processor_history"] = history
        processed_crash["processor_notes"] = "\n".join(status.notes)
        processed_crash["completed_datetime"] = utc_now().isoformat()
        return processed_crash

    @staticmethod
    def _stackwalk_succeeded(processed_crash: dict[str, Any]) -> bool:
        """A crash whose minidump could not be walked did not process successfully."""
        status = processed_crash.get("mdsw_status_string")
        return status is None or status == "OK"

    def _run_rule(
        self,
        rule: Rule,
        ruleset_name: str,
        crash_id: str,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        try:
            rule.act(
                raw_crash=raw_crash,
                dumps=dumps,
                processed_crash=processed_crash,
                tmpdir=tmpdir,
                status=status,
            )
            return True
        except Exception as exc:
            rule_name = type(rule).__name__
            status.add_note(
                f"ruleset {ruleset_name!r} rule {rule_name!r} failed: {type(exc).__name__}"
            )
            logger.error(
                "crash %s: ruleset %r rule %r failed\n%s",
                crash_id,
                ruleset_name,
                rule.name,
                traceback_without_message(exc),
            )
            try:
                self.error_reporter(
                    exc, {"crash_id": crash_id, "ruleset": ruleset_name, "rule": rule.name}
                )
            except Exception:
                logger.error("crash %s: the error reporter failed too", crash_id)
            return False

    def close(self) -> None:
        for rules in self.rulesets.values():
            for rule in rules:
                try:
                    rule.close()
                except Exception:
                    logger.error("closing rule %s failed", rule.name)
