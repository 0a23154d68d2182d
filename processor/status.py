"""Per-pass processing status shared by every rule of a pipeline run."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Status:
    """Collects the notes of one processing pass.

    Notes end up in the public ``processor_notes`` field, so they must never carry
    annotation values that could be protected (URLs, emails, exception messages). A note
    already made is not repeated: several rules may trip over the same bad value.
    """

    notes: list[str] = field(default_factory=list)

    def add_note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def add_notes(self, notes: list[str]) -> None:
        for note in notes:
            self.add_note(note)
