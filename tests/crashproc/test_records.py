"""crashproc.records: what @dataclass gave the plain record classes of stackwalk and symbols."""

from __future__ import annotations

import pytest

from crashproc.records import FrozenRecord, Record, TupleRecord


class Point(Record):
    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y

    _fields = ("x", "y")


class Name(FrozenRecord):
    def __init__(self, text: str) -> None:
        self.text = text

    _fields = ("text",)


class OtherPoint(Record):
    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y

    _fields = ("x", "y")


def test_repr_names_the_fields_in_order():
    assert repr(Point(1, "a")) == "Point(x=1, y='a')"
    assert repr(Name("b")) == "Name(text='b')"


def test_equality_is_by_fields_and_class():
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(2, 1)
    assert Point(1, 2) != OtherPoint(1, 2)
    assert Name("a") == Name("a") and Name("a") != Name("b")


def test_mutable_records_are_unhashable_frozen_ones_hash_by_fields():
    with pytest.raises(TypeError):
        hash(Point(1, 2))
    assert hash(Name("a")) == hash(Name("a"))
    assert len({Name("a"), Name("a"), Name("b")}) == 2


class Span(TupleRecord):
    __slots__ = ()
    _fields = ("start", "size")

    def __new__(cls, start: int, size: int) -> Span:
        return tuple.__new__(cls, (start, size))


def test_tuple_record_is_a_namedtuple_by_another_route():
    import copy
    import pickle
    from collections import namedtuple

    span = Span(4, 2)
    reference = namedtuple("Span", "start size")(4, 2)
    assert (span.start, span.size) == (4, 2)
    assert repr(span) == repr(reference) == "Span(start=4, size=2)"
    assert span == (4, 2) == reference and hash(span) == hash((4, 2))
    assert sorted([Span(5, 0), Span(4, 9), span]) == [(4, 2), (4, 9), (5, 0)]
    for again in (copy.copy(span), copy.deepcopy(span), pickle.loads(pickle.dumps(span))):
        assert type(again) is Span and again == span
    with pytest.raises(AttributeError):
        span.start = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        Span(1)  # type: ignore[call-arg]
