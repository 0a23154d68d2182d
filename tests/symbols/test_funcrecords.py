"""The batch FUNC encoder gives, function for function, the one-function encoder's bytes."""

from __future__ import annotations

import io

from symbols.funcrecords import IntMemos, function_record, function_records
from symbols.parser import feed_stream
from symbols.sinks import NullSink
from symbols.symfile import Function

# Every layout the batch path must either encode itself or hand to the one-function path:
# sorted lines, overlapping and unsorted lines, a zero-size line, a line overflowing the
# address space, no lines at all, INLINE records with several ranges and between line
# records, CRLF endings, tabs, leading zeros and upper-case hex.
SYM = b"""MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 lib.so
FILE 0 a.cpp
FILE 1 b.cpp
INLINE_ORIGIN 0 inlined
FUNC 1000 30 0 sorted
1000 10 10 0
1010 8 11 1
1018 18 12 0
FUNC 2000 30 4 overlapping
2000 10 20 0
2008 10 21 1
2004 4 22 0
FUNC 3000 20 0 unsorted
3010 10 30 0
3000 10 31 0
FUNC 4000 20 0 zero size
4000 0 40 0
4000 20 41 1
FUNC m ffffffffffffff00 ff 0 overflowing
ffffffffffffff00 80 50 0
ffffffffffffff80 100 51 0
FUNC 5000 40 0 inlines only
INLINE 1 7 1 0 5010 8 5020 4
INLINE 0 6 0 0 5000 40
FUNC 6000 40 8 inlines between lines
6000 10 60 0
INLINE 0 9 1 0 6004 8
6010 10 061 01
INLINE 1 3 0 0 6010 4 6000 2
6020 20 62 1
FUNC 7000\t40\t0\tcrlf and tabs\r
7000\t20\t70\t0\r\r
7020 20 71 1\r
INLINE 0 1 0 0 7000 A\r
FUNC 8000 10 0 upper-case hex
80A0 1F 80 0
FUNC 9000 0 0 empty
"""


class _Recorder(NullSink):
    def __init__(self) -> None:
        self.functions: list[tuple[Function, list[bytes]]] = []

    def function(self, func: Function, body: list[bytes]) -> None:
        self.functions.append((func, body))


def _functions() -> list[tuple[Function, list[bytes]]]:
    sink = _Recorder()
    feed_stream(io.BytesIO(SYM), sink)
    return sink.functions


def _copy(func: Function) -> Function:
    return Function(func.address, func.size, func.parameter_size, func.name)


def test_batch_matches_one_function_encoder() -> None:
    functions = _functions()
    assert len(functions) == 10
    expected = [function_record(_copy(f), body) for f, body in functions]
    batch = function_records(
        [_copy(f) for f, _ in functions], [b for _, b in functions], IntMemos()
    )
    assert batch == expected
    # any split into batches gives the same records
    for size in (1, 2, 3):
        got = []
        for i in range(0, len(functions), size):
            part = functions[i : i + size]
            got += function_records([_copy(f) for f, _ in part], [b for _, b in part], IntMemos())
        assert got == expected


def test_memo_is_bounded(monkeypatch) -> None:
    import symbols.funcrecords as funcrecords

    monkeypatch.setattr(funcrecords, "MEMO_LIMIT", 2)
    memos = IntMemos()
    functions = _functions()
    expected = [function_record(_copy(f), body) for f, body in functions]
    got = function_records([_copy(f) for f, _ in functions], [b for _, b in functions], memos)
    assert got == expected
    assert len(memos.dec) == 2 and len(memos.hex) == 2
