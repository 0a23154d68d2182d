"""The outcome of one signature generation: signature, notes, debug log and extras."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    """Mutable state the rules pass along; later rules see what earlier ones produced.

    ``notes`` are public (they end up in ``processor_notes``), so rules only put fixed
    texts and values derived from the crash's own stack in them. ``debug_log`` explains
    every decision and is meant for protected storage. ``changes`` records each signature
    change as (rule, old, new) for ``signature explain``.
    """

    signature: str = ""
    notes: list[str] = field(default_factory=list)
    debug_log: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    changes: list[tuple[str, str, str]] = field(default_factory=list)

    def set_signature(self, rule: str, signature: str) -> None:
        self.debug(rule, f'change signature: "{self.signature}" -> "{signature}"')
        self.changes.append((rule, self.signature, signature))
        self.signature = signature

    def info(self, rule: str, message: str) -> None:
        """Add a public note, prefixed with the rule's name as Socorro does."""
        self.notes.append(f"{rule}: {message}")

    def debug(self, rule: str, message: str) -> None:
        self.debug_log.append(f"{rule}: {message}")

    @property
    def proto_signature(self) -> str | None:
        """All normalized frames joined by `` | `` (C/C++/Rust stacks only), else None."""
        return self.extra.get("proto_signature")

    def to_dict(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "proto_signature": self.proto_signature,
            "notes": list(self.notes),
            "debug_log": list(self.debug_log),
        }
