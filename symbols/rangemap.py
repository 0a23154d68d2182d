"""Sorted, non-overlapping address ranges with rust-minidump's "overlap-safe" construction.

Symbol files often contain overlapping FUNC, line, CFI and STACK WIN ranges; which one
wins changes symbolication results, so the selection rule is reproduced exactly: sort by
(start, end), drop an entry that overlaps the last kept one with a different value, merge
adjacent or overlapping entries with equal values.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(eq=True)
class RangeMap(Generic[V]):
    """Inclusive ranges `[starts[i], ends[i]]` mapped to `values[i]`, sorted by start."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    values: list[V] = field(default_factory=list)

    @classmethod
    def build(cls, entries: Iterable[tuple[int, int, V]]) -> RangeMap[V]:
        """Build from `(start, end_inclusive, value)` entries, resolving overlaps as rust does."""
        ordered = sorted(entries, key=lambda e: (e[0], e[1]))
        result: RangeMap[V] = cls()
        starts, ends, values = result.starts, result.ends, result.values
        for start, end, value in ordered:
            if values:
                last_end = ends[-1]
                same = value == values[-1]
                if start <= last_end and not same:
                    continue
                if same and start <= last_end + 1:
                    ends[-1] = max(end, last_end)
                    continue
            starts.append(start)
            ends.append(end)
            values.append(value)
        return result

    def index_of(self, address: int) -> int | None:
        """Index of the range containing `address`, or None."""
        i = bisect_right(self.starts, address) - 1
        if i >= 0 and self.ends[i] >= address:
            return i
        return None

    def get(self, address: int) -> V | None:
        i = self.index_of(address)
        return None if i is None else self.values[i]

    def __len__(self) -> int:
        return len(self.values)
