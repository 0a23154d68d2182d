"""FUNC records of the compact cache (symbols.cacheformat), encoded a batch at a time.

Line records are nearly all of a big .sym file. Decoding them one FUNC at a time costs a
split, four `int` maps and a dozen small arrays per function; here the validated sublines
of many functions are decoded together (one split, one conversion per column, one array
per column) and each function's record is cut out of the batch's column bytes. A function
whose line records are not already sorted and disjoint (rare) goes through
`function_record`, the one-function encoder that applies rust's overlap rule; both give
the same bytes for the same function.
"""

from __future__ import annotations

from array import array
from itertools import repeat
from operator import add, le, sub

from symbols.cacheformat import FUNC
from symbols.grammar import BODY_INLINE_FIELDS, inlinees_of, strip_inline_lines
from symbols.sinks import LineValues, complete_function
from symbols.symfile import U64_MAX, Function

# Distinct small decimal and hex fields (line numbers, file ids, line sizes) are few and
# repeat constantly: a dict lookup is about twice as fast as `int` on the bytes. The
# memo stops growing at this many entries (a few MB) so memory stays bounded.
MEMO_LIMIT = 1 << 16


class _IntMemo(dict):
    """`memo[field]` is `int(field, base)`; remembers up to MEMO_LIMIT fields."""

    def __init__(self, base: int) -> None:
        super().__init__()
        self.base = base

    def __missing__(self, field: bytes) -> int:
        value = int(field, self.base)
        if len(self) < MEMO_LIMIT:
            self[field] = value
        return value


class IntMemos:
    """The memos of one conversion (decimal fields, hex sizes)."""

    def __init__(self) -> None:
        self.dec = _IntMemo(10)
        self.hex = _IntMemo(16)


def _pad(n: int) -> bytes:
    return b"\0" * (-n % 8)


def function_record(func: Function, body: list[bytes]) -> bytes:
    """The cache record of one FUNC from its validated subline text (any line layout)."""
    complete_function(func, body)
    name = func.name.encode()
    lines = func.lines
    values = lines.values
    if isinstance(values, LineValues):  # the common case: columns as decoded
        sizes, numbers, files = values.cols.sizes, values.cols.lines, values.cols.files
    else:
        sizes = [v.size for v in values]
        numbers = [v.line for v in values]
        files = [v.file for v in values]
    inlinees = list(zip(*func.inlinees, strict=True)) or [()] * 6
    depths, addresses, lengths, call_files, call_lines, origins = inlinees
    head = FUNC.pack(
        func.address,
        func.size,
        func.parameter_size,
        len(name),
        len(lines.starts),
        len(func.inlinees),
    )
    wide = array("Q", lines.starts)
    wide.extend(lines.ends)
    wide.extend(addresses)
    wide.extend(lengths)
    narrow = array("I", sizes)
    for column in (numbers, files, depths, call_files, call_lines, origins):
        narrow.extend(column)
    return b"".join((head, name, _pad(len(name)), wide.tobytes(), narrow.tobytes()))


def _decode_inlinees(
    records: list[tuple[bytes, ...]], memos: IntMemos
) -> tuple[list[tuple[int, ...]], list[int] | None]:
    """Inlinee tuples (Inlinee field order) of a batch's INLINE records, and for each
    record the index just past its inlinees (None when every record has one range)."""
    depths, call_lines, call_files, origins, pairs = zip(*records, strict=True)
    dec = memos.dec.__getitem__
    nums = b" ".join(pairs).split()
    if len(nums) == 2 * len(records):  # the usual case: one address range per record
        inlinees = list(
            zip(
                map(dec, depths),
                map(int, nums[0::2], repeat(16)),
                map(memos.hex.__getitem__, nums[1::2]),
                map(dec, call_files),
                map(dec, call_lines),
                map(dec, origins),
                strict=True,
            )
        )
        return inlinees, None
    inlinees = []
    ends = []
    for record in records:
        inlinees.extend(inlinees_of(*record))
        ends.append(len(inlinees))
    return inlinees, ends


def _inlinee_columns(inlinees: list[tuple[int, ...]]) -> tuple[bytes, bytes]:
    """(u64 column bytes, u32 column bytes) of one FUNC's inlinees, sorted."""
    inlinees.sort()
    depths, addresses, sizes, call_files, call_lines, origins = zip(*inlinees, strict=True)
    wide = array("Q", addresses)
    wide.extend(sizes)
    narrow = array("I", depths)
    for column in (call_files, call_lines, origins):
        narrow.extend(column)
    return wide.tobytes(), narrow.tobytes()


def function_records(
    funcs: list[Function], bodies: list[list[bytes]], memos: IntMemos
) -> list[bytes]:
    """The cache records of `funcs` (their validated sublines in `bodies`), in order."""
    texts = list(map(b"".join, bodies))
    text = b"".join(texts)
    counts = list(map(bytes.count, texts, repeat(b"\n")))
    inline_counts = None
    inlinees: list[tuple[int, ...]] = []
    inline_ends = None
    if b"INLINE" in text:
        # "INLINE" starts a line wherever it occurs: line records are digits and blanks
        inline_counts = list(map(bytes.count, texts, repeat(b"INLINE")))
        inlinees, inline_ends = _decode_inlinees(BODY_INLINE_FIELDS.findall(text), memos)
        text = strip_inline_lines(text)
        counts = list(map(sub, counts, inline_counts))
    fields = text.split()
    starts = list(map(int, fields[0::4], repeat(16)))
    sizes = list(map(memos.hex.__getitem__, fields[1::4]))
    numbers = array("I", map(memos.dec.__getitem__, fields[2::4])).tobytes()
    files = array("I", map(memos.dec.__getitem__, fields[3::4])).tobytes()
    del fields
    stops = list(map(add, starts, sizes))
    # ordered[i]: record i ends before record i + 1 starts; nonzero[i]: record i has a size.
    # Both hold everywhere in nearly every file: then no per-function check is needed.
    ordered = nonzero = None
    if not all(map(le, stops, starts[1:])):
        ordered = bytes(map(le, stops, starts[1:]))
    if 0 in sizes:
        nonzero = bytes(map(bool, sizes))
    try:
        end_bytes = array("Q", map(sub, stops, repeat(1))).tobytes()
    except OverflowError:  # only functions that take the one-function path have such ends
        ends = (end if 0 <= end <= U64_MAX else 0 for end in map(sub, stops, repeat(1)))
        end_bytes = array("Q", ends).tobytes()
    start_bytes = array("Q", starts).tobytes()
    size_bytes = array("I", sizes).tobytes()

    records = []
    a = r = 0
    for i, func in enumerate(funcs):
        n = counts[i]
        b = a + n
        k = inline_counts[i] if inline_counts is not None else 0
        if n and (
            (nonzero is not None and nonzero.find(0, a, b) >= 0)
            or (ordered is not None and ordered.find(0, a, b - 1) >= 0)
            or stops[b - 1] > U64_MAX + 1
        ):
            records.append(function_record(func, bodies[i]))
            a, r = b, r + k
            continue
        inline_wide = inline_narrow = b""
        m = 0
        if k:
            if inline_ends is None:
                own = inlinees[r : r + k]
            else:
                own = inlinees[inline_ends[r - 1] if r else 0 : inline_ends[r + k - 1]]
            inline_wide, inline_narrow = _inlinee_columns(own)
            m = len(own)
        name = func.name.encode()
        records.append(
            b"".join(
                (
                    FUNC.pack(func.address, func.size, func.parameter_size, len(name), n, m),
                    name,
                    _pad(len(name)),
                    start_bytes[8 * a : 8 * b],
                    end_bytes[8 * a : 8 * b],
                    inline_wide,
                    size_bytes[4 * a : 4 * b],
                    numbers[4 * a : 4 * b],
                    files[4 * a : 4 * b],
                    inline_narrow,
                )
            )
        )
        a, r = b, r + k
    return records
