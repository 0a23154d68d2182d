"""Lookup results compared with two independent references.

1. rust-minidump's minidump-stackwalk (the behaviour we must match) on the dumps in tests/data:
   every symbolicated frame's function, offset, file, line and inline chain.
2. symbolic's SymCache at every address of test_app.sym and at every record boundary of
   crash-client.sym (results are constant between boundaries, so this covers every
   address). symbolic differs from rust-minidump only in PUBLIC handling, so each
   difference must be one of the two PUBLIC cases, and the rust answer is asserted there.
"""

from __future__ import annotations

import re
from pathlib import Path

import symbolic

from symbols.parser import parse_file
from symbols.symfile import SymbolFile, SymbolResult
from tests.symbols.conftest import CRASH_CLIENT_SYM, TEST_APP_SYM


def _norm_line(file: str | None, line: int | None) -> tuple[str | None, int | None]:
    # rust prints null where symbolic prints 0/"" (no covering line record).
    return (file or None, line or None)


def _ours(result: SymbolResult | None) -> list[tuple] | None:
    if result is None:
        return None
    frames = [(i.function, *_norm_line(i.file, i.line)) for i in result.inlines]
    frames.append((result.function, *_norm_line(result.file, result.line)))
    return frames


def _symbolic(cache: symbolic.SymCache, address: int) -> tuple[list[tuple] | None, int | None]:
    locations = cache.lookup(address)
    if not locations:
        return None, None
    frames = [(loc.symbol, *_norm_line(loc.full_path, loc.line)) for loc in locations]
    return frames, locations[-1].sym_addr


def _compare(sym: SymbolFile, path: Path, addresses: list[int]) -> dict[str, list[int]]:
    cache = next(symbolic.Archive.open(str(path)).iter_objects()).make_symcache()
    public_names = {p.name for p in sym.publics}
    differences: dict[str, list[int]] = {"public_past_func": [], "public_inside_func": []}
    for address in addresses:
        ours = sym.lookup(address)
        theirs, base = _symbolic(cache, address)
        if _ours(ours) == theirs and (ours is None or ours.function_address == base):
            continue
        if theirs is None and ours.from_public:
            differences["public_past_func"].append(address)
        elif not ours.from_public and theirs[-1][0] in public_names:
            differences["public_inside_func"].append(address)
        else:
            raise AssertionError(f"{path.name} {address:#x}: ours {_ours(ours)} symbolic {theirs}")
    return differences


def test_every_address_of_test_app_against_symbolic() -> None:
    sym = parse_file(str(TEST_APP_SYM))
    end = max(sym.functions.ends[-1], sym.publics[-1].address) + 0x10
    diffs = _compare(sym, TEST_APP_SYM, list(range(end)))
    # rust keeps PUBLIC __from_strstr_to_strchr past FUNC strchr; symbolic drops it.
    assert 0x23BBE in diffs["public_past_func"]
    assert sym.lookup(0x23BBE).function == "__from_strstr_to_strchr"
    # rust prefers FUNC _NLG_Notify over PUBLIC _NLG_Dispatch2 inside it.
    assert 0x142E8 in diffs["public_inside_func"]
    assert not sym.lookup(0x142E8).from_public


_BOUNDARY = re.compile(
    rb"^(?:FUNC (?:m )?([0-9a-f]+) ([0-9a-f]+)|PUBLIC (?:m )?([0-9a-f]+)|([0-9a-f]+) ([0-9a-f]+) \d+"
    rb"|INLINE(?: \d+){4}((?: [0-9a-f]+ [0-9a-f]+)+))",
    re.MULTILINE,
)


def _boundaries(path: Path) -> list[int]:
    points: set[int] = set()
    for m in _BOUNDARY.finditer(path.read_bytes()):
        pairs = [(m.group(1), m.group(2)), (m.group(4), m.group(5))]
        if m.group(3):
            points.add(int(m.group(3), 16))
        if m.group(6):
            nums = m.group(6).split()
            pairs += list(zip(nums[::2], nums[1::2], strict=True))
        for start, size in pairs:
            if start is not None:
                a = int(start, 16)
                points.update((a, a + int(size, 16)))
    return sorted({q for p in points for q in (p - 1, p) if q >= 0})


def test_every_boundary_of_crash_client_against_symbolic() -> None:
    sym = parse_file(str(CRASH_CLIENT_SYM))
    points = _boundaries(CRASH_CLIENT_SYM)
    assert len(points) > 50_000
    diffs = _compare(sym, CRASH_CLIENT_SYM, points)
    assert diffs == {"public_past_func": [], "public_inside_func": []}


def _check_frames(output: dict, module_name: str, sym: SymbolFile) -> int:
    checked = 0
    for thread in output["threads"]:
        for frame in thread["frames"]:
            if frame["module"] != module_name:
                continue
            result = sym.lookup(int(frame["module_offset"], 16))
            offset = int(frame["module_offset"], 16)
            if frame["function"] is None:
                assert result is None
                continue
            assert result.function == frame["function"]
            assert offset - result.function_address == int(frame["function_offset"], 16)
            assert (result.file, result.line) == (frame["file"], frame["line"])
            expected = [(i["function"], i["file"], i["line"]) for i in frame["inlines"] or []]
            assert [(i.function, i.file, i.line) for i in result.inlines] == expected
            checked += 1
    return checked


def test_frames_match_peer_test_dmp(peer_outputs, testdata: Path) -> None:
    output = peer_outputs.get(testdata / "test.dmp", "symbols").json()
    assert _check_frames(output, "test_app.exe", parse_file(str(TEST_APP_SYM))) == 3


def test_frames_match_peer_macos_inlines(peer_outputs, testdata: Path) -> None:
    output = peer_outputs.get(testdata / "pipeline-inlines-macos-segv.dmp", "symbols").json()
    checked = _check_frames(output, "crash-client", parse_file(str(CRASH_CLIENT_SYM)))
    assert checked >= 40
