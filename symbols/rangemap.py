"""Sorted, non-overlapping address ranges with rust-minidump's "overlap-safe" construction.

Symbol files often contain overlapping FUNC, line, CFI and STACK WIN ranges; which one
wins changes symbolication results, so the selection rule is reproduced exactly: sort by
(start, end), drop an entry that overlaps the last kept one with a different value, merge
adjacent or overlapping entries with equal values.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from typing import Generic, TypeVar

    V = TypeVar("V")
    _Generic = Generic[V]
else:
    _Generic = object  # generic for type checkers only


def resolve_overlaps(
    starts: Sequence[int], ends: Sequence[int], values: Sequence[object]
) -> tuple[list[int], list[int]]:
    """Apply rust's rule to parallel sequences; returns (kept indices, their final ends).

    Works on plain lists and on compact arrays alike (the on-disk cache passes value
    hashes), so the rule exists once. The sort key is one integer per entry to keep
    memory low for millions of entries.
    """
    order = sorted(range(len(starts)), key=lambda i: (starts[i] << 64) | ends[i])
    kept: list[int] = []
    kept_ends: list[int] = []
    for i in order:
        start, end, value = starts[i], ends[i], values[i]
        if kept:
            last_end = kept_ends[-1]
            same = value == values[kept[-1]]
            if start <= last_end and not same:
                continue
            if same and start <= last_end + 1:
                kept_ends[-1] = max(end, last_end)
                continue
        kept.append(i)
        kept_ends.append(end)
    return kept, kept_ends


class RangeMap(_Generic):
    """Inclusive ranges `[starts[i], ends[i]]` mapped to `values[i]`, sorted by start.

    The sequences may be lists or memory-mapped arrays (the compact cache).
    """

    starts: Sequence[int]
    ends: Sequence[int]
    values: Sequence[V]

    def __init__(
        self,
        starts: Sequence[int] | None = None,
        ends: Sequence[int] | None = None,
        values: Sequence[V] | None = None,
    ) -> None:
        self.starts = list() if starts is None else starts
        self.ends = list() if ends is None else ends
        self.values = list() if values is None else values

    def __repr__(self) -> str:
        shown = ("starts", "ends", "values")
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__qualname__}({args})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.starts, self.ends, self.values) == (other.starts, other.ends, other.values)

    @classmethod
    def build(cls, entries: Iterable[tuple[int, int, V]]) -> RangeMap[V]:
        """Build from `(start, end_inclusive, value)` entries, resolving overlaps as rust does."""
        items = list(entries)
        starts = [e[0] for e in items]
        values = [e[2] for e in items]
        kept, kept_ends = resolve_overlaps(starts, [e[1] for e in items], values)
        return cls([starts[i] for i in kept], kept_ends, [values[i] for i in kept])

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
