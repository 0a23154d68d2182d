"""Stackwalk speed: ours in-process with a warm symbol cache against minidump-stackwalk.

Usage: ``make bench-stackwalk`` or
``.venv/bin/python bench/stackwalk.py [--runs 21] [--warmup 3] [--peer PATH]``.

The processor walks dumps with the built-in stackwalker in its own process, sharing one
SymbolProvider across crashes, whereas an external stackwalker pays a process start and a
cold symbol cache for every crash. So the comparison that matters to a processor is, per
dump in tests/data that the peer can walk (symbols from tests/data/symbols):

* ours: `stackwalk.process.walk_minidump` with one provider reused for every run (a few
  warm-up runs, then the median of ``--runs``); the JSON document is not serialized, since
  the processor uses it as a dict;
* the peer: ``minidump-stackwalk --json DUMP SYMBOLS`` run as a subprocess per dump, output
  captured, median wall-clock time of ``--runs``.

Goal (issue 6): ours per dump <= the peer's per-process time (ratio <= 1).

Two cold-cache figures follow, summed over the same dumps: ours in-process with a fresh
provider and an empty cache directory for each dump (symbol files found and parsed once),
and ours as a whole process (a fresh interpreter running the ``stackwalk`` command), which
is what a per-crash subprocess of ours would cost. A column says whether the crashing
thread's frames agree with the peer's by (module, module_offset, function, trust), so a
fast but wrong walk is not mistaken for a win.

Last, the whole-process cost of one `stackwalk --json` run per dump (what a script or a
processor running it as its external stackwalker pays), for test.dmp without symbols and
with a small .sym (test_app.sym cut down to the crashing thread's functions, ~2 KB):
ours, the peer, `python -c pass` (the interpreter's own start, the floor) and our walk
in-process (modules already imported, symbols parsed afresh, JSON serialized). Goal
(issue 17): ours <= 1.5 x (python -c pass + the in-process walk). The packages' bytecode
is compiled first, as an installed copy's is (with PYTHONDONTWRITEBYTECODE set, a
checkout would otherwise recompile every module in every process).

On a loaded machine those wall-clock figures wander by more than the goal's margin, so the
same ratios follow as instructions executed, counted by valgrind (callgrind) when it is
installed (``--no-instructions`` skips them): ``python -c pass``, ours as a process (with
symbols: the default symbol cache already holding the converted file, as on every run but
the first), and the in-process walk as the difference between fresh interpreters walking
the dump 10 + 1 times and once, divided by 10.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# This script is named like the package it measures: keep its directory off sys.path.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
REPO = HERE.parent
TESTDATA = REPO / "tests" / "data"
SYMBOLS = TESTDATA / "symbols"
FETCH = REPO / "tools" / "fetch-minidump-stackwalk"

# A fresh interpreter walking one dump through our command as its console script runs it.
_WHOLE_PROCESS = "import sys\nfrom stackwalk.cli import main\nsys.exit(main())\n"
# A fresh interpreter walking the dump (argv[2]) in-process argv[1] times after 3 warm-up walks,
# symbols parsed afresh each time from the paths after it, as whole_process's walk().
_IN_PROCESS = """import sys
from pathlib import Path
from stackwalk.process import to_json, walk_minidump
from symbols.provider import SymbolProvider
from symbols.supplier import SymbolSupplier
runs, dump, paths = int(sys.argv[1]), Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]]
for _ in range(3 + runs):
    provider = SymbolProvider(SymbolSupplier(symbols_paths=paths)) if paths else None
    to_json(walk_minidump(dump, provider))
"""


def fetch_peer(dest: Path) -> Path:
    """The peer binary, fetched by tools/fetch-minidump-stackwalk when it is not there yet."""
    proc = subprocess.run(
        ["bash", str(FETCH), str(dest)], capture_output=True, text=True, cwd=REPO, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"minidump-stackwalk cannot be had: {proc.stderr.strip()[-300:]}")
    return (REPO / proc.stdout.strip().splitlines()[-1]).resolve()


def run_peer(peer: Path, dump: Path) -> tuple[float, dict[str, Any] | None]:
    """Wall-clock seconds of one peer process, and its document (None when it fails)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [str(peer), "--json", str(dump), str(SYMBOLS)], capture_output=True, check=False
    )
    elapsed = time.perf_counter() - start
    return elapsed, json.loads(proc.stdout) if proc.returncode == 0 else None


def median_time(action: Callable[[], object], runs: int, warmup: int) -> float:
    """Median seconds of `runs` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def crashing_frames(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The crashing thread's frames by the fields the differential tests compare."""
    frames = (doc.get("crashing_thread") or {}).get("frames") or []
    return [(f["module"], f["module_offset"], f["function"], f["trust"]) for f in frames]


def provider_for(cache_dir: Path):
    """The processor's SymbolProvider over the test symbols, caching under `cache_dir`."""
    from processor.config import Settings
    from processor.resources.symbols import build_symbol_provider

    return build_symbol_provider(Settings(symbols_paths=[str(SYMBOLS)], symbols_cache=cache_dir))


def small_sym(full: Path, offsets: list[int]) -> str:
    """`full` cut down to its MODULE line and the FUNC (with lines and FILEs) and STACK WIN
    records covering `offsets`."""
    lines = full.read_text(errors="replace").splitlines()
    files: dict[str, str] = {}
    funcs: list[str] = []
    stack: list[str] = []
    keep = False
    for line in lines[1:]:
        parts = line.split()
        if parts[0] == "FILE":
            files[parts[1]] = line
            keep = False
        elif parts[0] == "FUNC":
            start, size = int(parts[1], 16), int(parts[2], 16)
            keep = any(start <= o < start + size for o in offsets)
            if keep:
                funcs.append(line)
        elif parts[0] == "STACK":
            keep = False
            if parts[1] == "WIN":
                start, size = int(parts[3], 16), int(parts[4], 16)
                if any(start <= o < start + size for o in offsets):
                    stack.append(line)
        elif parts[0] in ("PUBLIC", "INFO", "INLINE", "INLINE_ORIGIN"):
            keep = False
        elif keep:
            funcs.append(line)
    used = sorted({line.split()[3] for line in funcs if not line.startswith("FUNC")}, key=int)
    return "\n".join([lines[0], *(files[f] for f in used), *funcs, *stack]) + "\n"


def process_time(argv: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall-clock seconds of `runs` runs of a command (output discarded)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def instructions(argv: list[str], env: dict[str, str] | None = None) -> int:
    """Instructions a command executes, as valgrind's callgrind counts them."""
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        env=env,
    )
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"valgrind failed on {argv}: {proc.stderr.strip()[-300:]}")
    return int(found.group(1))


def whole_process_instructions(dump: Path, small: Path, env: dict[str, str]) -> dict[str, float]:
    """The whole-process ratios of whole_process, as instructions executed (see above)."""
    python = sys.executable
    floor = instructions([python, "-c", "pass"], env)
    print(f"\ninstructions executed (valgrind), millions; python -c pass {floor / 1e6:.1f}")
    print(f"{'':22} {'ours':>9} {'walk':>9} {'ours/(pass+walk)':>17}")
    figures: dict[str, float] = {"instructions_python_pass": floor}
    for label, paths in (("test.dmp no symbols", []), ("test.dmp small .sym", [str(small)])):
        argv = [python, "-c", _WHOLE_PROCESS, "--json", str(dump), *paths]
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=env)  # fills the cache
        ours = instructions(argv, env)
        walks = [
            instructions([python, "-c", _IN_PROCESS, str(n), str(dump), *paths], env)
            for n in (0, 10)
        ]
        walk = (walks[1] - walks[0]) / 10
        ratio = ours / (floor + walk)
        print(f"{label:22} {ours / 1e6:8.1f}M {walk / 1e6:8.2f}M {ratio:16.2f}x")
        key = "symbols" if paths else "no_symbols"
        figures |= {f"instructions_ours_{key}": ours, f"instructions_walk_{key}": walk}
        figures[f"instructions_ratio_{key}"] = ratio
    print("goal: ours/(pass+walk) <= 1.5 with and without symbols")
    return figures


def whole_process(
    peer: Path, runs: int, scratch: Path, count_instructions: bool
) -> dict[str, float]:
    """Per-process cost of ours and the peer against the interpreter floor (see above)."""
    import compileall

    from stackwalk.process import to_json, walk_minidump
    from symbols.provider import SymbolProvider
    from symbols.supplier import SymbolSupplier

    for package in ("crashproc", "stackwalk", "symbols"):
        compileall.compile_dir(REPO / package, quiet=1)
    dump = TESTDATA / "test.dmp"
    module = "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"
    small = scratch / "small-symbols"
    (small / module).parent.mkdir(parents=True)
    (small / module).write_text(small_sym(SYMBOLS / module, [0x429E, 0x41FF, 0x53EB]))
    # the default symbol cache ($TMPDIR/crashproc-stackwalk-cache) under the scratch directory
    env = {**os.environ, "TMPDIR": str(scratch)}
    floor = process_time([sys.executable, "-c", "pass"], runs, env)
    print(
        f"\nwhole process, one run per dump (median of {runs}); python -c pass "
        f"{floor * 1e3:.1f} ms; small .sym {(small / module).stat().st_size} bytes"
    )
    print(f"{'':22} {'ours':>9} {'peer':>9} {'walk':>9} {'ours/peer':>10} {'ours/(pass+walk)':>17}")
    figures = {"python_pass": floor}
    for label, paths in (("test.dmp no symbols", []), ("test.dmp small .sym", [small])):

        def walk(paths=paths):
            provider = SymbolProvider(SymbolSupplier(symbols_paths=paths)) if paths else None
            return to_json(walk_minidump(dump, provider))

        in_process = median_time(walk, runs, 3)
        extra = [str(p) for p in paths]
        ours = process_time(
            [sys.executable, "-c", _WHOLE_PROCESS, "--json", str(dump), *extra], runs, env
        )
        theirs = process_time([str(peer), "--json", str(dump), *extra], runs)
        ratio = ours / (floor + in_process)
        print(
            f"{label:22} {ours * 1e3:7.1f}ms {theirs * 1e3:7.1f}ms {in_process * 1e3:7.2f}ms "
            f"{ours / theirs:9.1f}x {ratio:16.2f}x"
        )
        key = "symbols" if paths else "no_symbols"
        figures |= {f"ours_{key}": ours, f"peer_{key}": theirs, f"walk_{key}": in_process}
        figures[f"ratio_{key}"] = ratio
    print("goal: ours/(pass+walk) <= 1.5 with and without symbols")
    if count_instructions:
        figures |= whole_process_instructions(dump, small, env)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs per dump (median)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before timing")
    parser.add_argument("--peer", type=Path, help="minidump-stackwalk binary (default: fetch)")
    parser.add_argument(
        "--no-instructions",
        action="store_true",
        help="skip the whole-process ratios as instructions (valgrind; a few minutes)",
    )
    args = parser.parse_args(argv)
    peer = args.peer or fetch_peer(REPO / ".cache" / "peers")

    from stackwalk.process import walk_minidump

    dumps = sorted(TESTDATA.glob("*.dmp"))
    print(f"peer {peer}; {len(dumps)} dumps; median of {args.runs} after {args.warmup} warm-up")
    header = (
        f"{'dump':34} {'ours warm':>10} {'ours cold':>10} {'peer/proc':>10} {'ratio':>7}  "
        "crashing frames"
    )
    print(header)
    totals = {"warm": 0.0, "cold": 0.0, "peer": 0.0, "whole": 0.0}
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-stackwalk-") as tmp:
        scratch = Path(tmp)
        warm_provider = provider_for(scratch / "warm-cache")
        for index, dump in enumerate(dumps):
            _, peer_doc = run_peer(peer, dump)
            if peer_doc is None:
                print(f"{dump.name:34} skipped: the peer cannot walk it either")
                continue
            warm = median_time(
                lambda d=dump: walk_minidump(d, warm_provider), args.runs, args.warmup
            )
            cold_provider = provider_for(scratch / f"cold-cache-{index}")
            start = time.perf_counter()
            walk_minidump(dump, cold_provider)
            cold = time.perf_counter() - start
            ours_doc = walk_minidump(dump, warm_provider)
            peer_time = median_time(lambda d=dump: run_peer(peer, d), args.runs, args.warmup)
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", _WHOLE_PROCESS, "--json", str(dump), str(SYMBOLS)],
                stdout=subprocess.DEVNULL,
                check=True,
            )
            totals["whole"] += time.perf_counter() - start
            ratio = warm / peer_time
            worst = max(worst, ratio)
            same = crashing_frames(ours_doc) == crashing_frames(peer_doc)
            frames = len(crashing_frames(peer_doc))
            print(
                f"{dump.name:34} {warm * 1e3:8.2f}ms {cold * 1e3:8.1f}ms {peer_time * 1e3:8.2f}ms "
                f"{ratio:6.2f}x  {frames} {'same' if same else 'DIFFERENT'}"
            )
            totals["warm"] += warm
            totals["cold"] += cold
            totals["peer"] += peer_time
    peer_total = totals["peer"]
    print(
        f"{'total':34} {totals['warm'] * 1e3:8.2f}ms {totals['cold'] * 1e3:8.1f}ms "
        f"{peer_total * 1e3:8.2f}ms {totals['warm'] / peer_total:6.2f}x  "
        f"(goal: every ratio <= 1; worst {worst:.2f}x)"
    )
    print(
        f"cold cache: ours in-process, fresh provider and empty cache per dump "
        f"{totals['cold'] * 1e3:.0f} ms ({totals['cold'] / peer_total:.2f}x the peer); "
        f"ours as a process per dump {totals['whole'] * 1e3:.0f} ms "
        f"({totals['whole'] / peer_total:.2f}x); peer {peer_total * 1e3:.0f} ms"
    )
    with tempfile.TemporaryDirectory(prefix="bench-stackwalk-") as tmp:
        count = not args.no_instructions and shutil.which("valgrind") is not None
        if not count and not args.no_instructions:
            print("valgrind not found: no instruction counts")
        process = whole_process(peer, args.runs, Path(tmp), count)
    totals |= {f"process_{key}": value for key, value in process.items()}
    print(json.dumps({key: round(value, 6) for key, value in totals.items()} | {"worst": worst}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
