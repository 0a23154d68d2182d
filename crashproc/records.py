"""Plain record classes without dataclasses: repr, equality and hashing from a field tuple.

`stackwalk` and `symbols` run once per dump as whole processes, where creating dataclasses at
import was a large share of start-up (see issue 17). Their records are plain classes; this
gives them what ``@dataclass`` would have written, from one ``_fields`` tuple per class,
instead of each class spelling the same three methods out. `TupleRecord` does the same for
``collections.namedtuple``, which compiles each class's ``__new__`` from source at import.
"""

from __future__ import annotations

import operator

try:  # the field accessor namedtuple itself uses
    from _collections import _tuplegetter
except ImportError:  # pragma: no cover - a Python without it

    def _tuplegetter(index: int, doc: str) -> property:
        return property(operator.itemgetter(index), doc=doc)


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


class TupleRecord(tuple):
    """A tuple with named fields, as ``collections.namedtuple`` makes one: a subclass names
    them in ``_fields`` and writes ``__new__`` (positional, one argument per field); it gets
    an accessor per field, namedtuple's repr, and copying and pickling by its fields. As
    tuples, records compare, sort and hash by their values, and equal plain tuples."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for index, name in enumerate(cls._fields):
            setattr(cls, name, _tuplegetter(index, f"Alias for field number {index}"))

    def __repr__(self) -> str:
        args = ", ".join(
            f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True)
        )
        return f"{type(self).__name__}({args})"

    def __getnewargs__(self) -> tuple:
        return tuple(self)
