"""Plain record classes without dataclasses: repr, equality and hashing from a field tuple.

`stackwalk` and `symbols` run once per dump as whole processes, where creating dataclasses at
import was a large share of start-up (see issue 17). Their records are plain classes; this
gives them what ``@dataclass`` would have written, from one ``_fields`` tuple per class,
instead of each class spelling the same three methods out.
"""

from __future__ import annotations

import operator

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from typing import Any


class Record:
    """``__repr__`` and ``__eq__`` over ``_fields``; unhashable, as a mutable dataclass is."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _values: Any = staticmethod(lambda record: ())

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = cls._fields
        if len(fields) == 1:  # attrgetter of one name returns the value, not a tuple
            (name,) = fields
            cls._values = staticmethod(lambda record: (getattr(record, name),))
        elif fields:
            cls._values = staticmethod(operator.attrgetter(*fields))

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({args})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values(self) == self._values(other)

    __hash__ = None  # type: ignore[assignment]


class FrozenRecord(Record):
    """A Record that hashes by its fields, as a frozen dataclass does."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._values(self))
