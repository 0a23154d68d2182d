"""Symbol cache benchmark: a synthetic release-size .sym, ours against symbolic.

Usage: ``make bench-symbols`` or
``.venv/bin/python bench/symbols.py [--size-mb 600] [--lookups 100000] [--keep DIR]``.

Generates a Breakpad .sym of about ``--size-mb`` MB with FUNC, line, INLINE_ORIGIN,
INLINE, PUBLIC and STACK CFI records in proportions like a Linux/macOS release build
(most lines are line records, then CFI rows and INLINE records), then measures, each in
a fresh interpreter so peak RSS is per task:

* conversion to our compact cache (symbols.symcache.convert): time and peak RSS;
* symbolic's own SymCache conversion of the same file: time and peak RSS;
* ``--lookups`` random module offsets looked up in our cache: cold (each address once,
  decoding what it touches) and cached (the same batch again through ``lookup_many``,
  answered from the per-file result cache), lookups per second and peak RSS.

Goals from the issue: conversion peak RSS < 300 MB, conversion time within 1.5x of
symbolic, over 1M cached lookups per second in batch, at least 100,000 cold lookups per
second (wall clock and CPU time are both printed: on a shared machine the CPU figure is
the steadier one).

``--compare-with DIR`` also measures another checkout of this project (say ``git worktree
add /tmp/before main``) in the same run: its conversion of the same .sym (time, CPU time,
peak RSS, and whether its cache file is byte-identical to ours) and its cold lookups on our
converted file, so a change is judged against its predecessor under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This script is named like the package it measures: keep its directory off sys.path.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

WORDS = (
    "mozilla",
    "dom",
    "nsTArray",
    "Element",
    "js",
    "gc",
    "Cell",
    "layout",
    "nsIFrame",
    "Reflow",
    "detail",
    "RefPtr",
    "Maybe",
    "Span",
    "Vector",
    "HashMap",
    "Runnable",
    "Promise",
    "WorkerPrivate",
    "net",
    "Http2Session",
    "ipc",
    "MessageChannel",
    "gfx",
)


def generate(
    path: Path, target_bytes: int, seed: int = 1, layout: list[tuple[int, int, int]] | None = None
) -> dict[str, int]:
    """Write the synthetic file; returns the number of lines of each record type.

    ``layout``, when given, receives ``(address, size, cfi_rows)`` for every FUNC: the rows
    at ``address + 1 .. address + cfi_rows`` set ``.cfa: $rsp 16 + 8k +`` (k from 0), so a
    caller can build stacks that unwind through the file's CFI (bench/production.py).
    """
    rnd = random.Random(seed)
    counts = dict.fromkeys(
        (
            "FILE",
            "INLINE_ORIGIN",
            "FUNC",
            "INLINE",
            "line",
            "PUBLIC",
            "STACK CFI INIT",
            "STACK CFI",
        ),
        0,
    )

    def name() -> str:
        parts = "::".join(rnd.choice(WORDS) for _ in range(rnd.randint(2, 5)))
        args = ", ".join(f"{rnd.choice(WORDS)}*" for _ in range(rnd.randint(0, 3)))
        return f"{parts}({args})"

    n_files = max(100, target_bytes // 6000)
    n_origins = max(100, target_bytes // 2000)
    with open(path, "wb", buffering=1 << 22) as out:
        out.write(
            b"MODULE Linux x86_64 A1B2C3D4E5F60718293A4B5C6D7E8F900 libxul.so\n"
            b"INFO CODE_ID D4C3B2A1F6E51807293A4B5C6D7E8F90 libxul.so\n"
            b"INFO GENERATOR mozilla/dump_syms 2.3.7\n"
        )
        for i in range(n_files):
            out.write(
                f"FILE {i} /builds/worker/checkouts/gecko/{rnd.choice(WORDS)}/"
                f"{rnd.choice(WORDS)}/Source{i}.cpp\n".encode()
            )
        for i in range(n_origins):
            out.write(f"INLINE_ORIGIN {i} {name()}\n".encode())
        counts["FILE"], counts["INLINE_ORIGIN"] = n_files, n_origins
        functions = []
        address = 0x1000
        written = out.tell()
        while written < target_bytes * 0.88:  # the CFI section adds the remaining ~12%
            size = rnd.randint(0x20, 0x600)
            block = [f"FUNC {address:x} {size:x} 0 {name()}\n"]
            for _ in range(rnd.randint(0, 4)):
                start = address + rnd.randrange(0, size // 2)
                length = rnd.randint(4, size // 4)
                for depth in range(rnd.randint(1, 3)):
                    block.append(
                        f"INLINE {depth} {rnd.randint(1, 3000)} {rnd.randrange(n_files)} "
                        f"{rnd.randrange(n_origins)} {start + depth:x} "
                        f"{max(1, length >> depth):x}\n"
                    )
                    counts["INLINE"] += 1
            offset, line, file_id = address, rnd.randint(1, 5000), rnd.randrange(n_files)
            while offset < address + size:
                step = min(rnd.randint(2, 0x18), address + size - offset)
                block.append(f"{offset:x} {step:x} {line} {file_id}\n")
                counts["line"] += 1
                offset += step
                line = max(1, line + rnd.randint(-3, 5))
                if rnd.random() < 0.1:
                    file_id = rnd.randrange(n_files)
            text = "".join(block).encode()
            out.write(text)
            written += len(text)
            functions.append((address, size))
            counts["FUNC"] += 1
            address += size + rnd.choice((0, 0, 0, 0x10))
        for _ in range(max(10, counts["FUNC"] // 50)):
            out.write(f"PUBLIC {rnd.randrange(0x1000, address):x} 0 {name()}\n".encode())
            counts["PUBLIC"] += 1
        for start, size in functions:
            rows = [f"STACK CFI INIT {start:x} {size:x} .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"]
            for k in range(rnd.randint(1, 5)):
                rows.append(
                    f"STACK CFI {start + k + 1:x} .cfa: $rsp {16 + 8 * k} + $rbp: .cfa -16 + ^\n"
                )
            counts["STACK CFI INIT"] += 1
            counts["STACK CFI"] += len(rows) - 1
            if layout is not None:
                layout.append((start, size, len(rows) - 1))
            out.write("".join(rows).encode())
    return counts


# -- measurements, each run in a child interpreter ---------------------------------------

_PEAK = """
import resource
def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

_OURS = (
    _PEAK
    + """
import json, sys, time
from symbols.symcache import convert
t, cpu = time.perf_counter(), time.process_time()
with open(sys.argv[1], "rb") as src, open(sys.argv[2], "wb") as out:
    convert(src, out)
print(json.dumps({
    "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - cpu,
    "peak_mb": peak_mb(),
}))
"""
)

_SYMBOLIC = (
    _PEAK
    + """
import json, sys, time
import symbolic
t, cpu = time.perf_counter(), time.process_time()
obj = next(symbolic.Archive.open(sys.argv[1]).iter_objects())
cache = obj.make_symcache()
with open(sys.argv[2], "wb") as out:
    cache.dump_into(out)
print(json.dumps({
    "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - cpu,
    "peak_mb": peak_mb(),
}))
"""
)

_LOOKUPS = (
    _PEAK
    + """
import json, random, sys, time
from pathlib import Path
from symbols.symcache import CachedSymbols
cache = CachedSymbols(Path(sys.argv[1]))
count = int(sys.argv[2])
funcs = cache.functions
rnd = random.Random(7)
addresses = [rnd.randrange(funcs.starts[0], funcs.ends[len(funcs) - 1] + 1) for _ in range(count)]
t, cpu = time.perf_counter(), time.process_time()
cold = [cache.lookup(a) for a in addresses]
cold_seconds, cold_cpu = time.perf_counter() - t, time.process_time() - cpu
cache.lookup_many(addresses)  # fills the result cache
t = time.perf_counter()
warm = cache.lookup_many(addresses)
cached_seconds = time.perf_counter() - t
assert warm == cold
print(json.dumps({
    "symbolicated": sum(r is not None for r in cold),
    "cold_per_second": count / cold_seconds,
    "cold_cpu_per_second": count / cold_cpu,
    "cached_per_second": count / cached_seconds,
    "peak_mb": peak_mb(),
}))
"""
)


def _child(code: str, *args: str, source: Path | None = None) -> dict:
    """Run `code` in a fresh interpreter; with `source`, importing that checkout's packages."""
    env = None
    if source is not None:
        env = {**os.environ, "PYTHONPATH": str(source)}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=source,  # "-c" puts the working directory first on sys.path
        env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _same_bytes(a: Path, b: Path, block: int = 1 << 20) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while chunk := fa.read(block):
            if chunk != fb.read(block):
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=600)
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="directory to keep the generated files in")
    parser.add_argument(
        "--compare-with",
        type=Path,
        metavar="DIR",
        help="another checkout whose cold lookups are measured too, on the same file",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-symbols-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        sym = work / f"synthetic-{args.size_mb:g}mb.sym"
        t = time.perf_counter()
        counts = generate(sym, int(args.size_mb * 1e6))
        print(
            f"generated {sym.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.0f} s: "
            + ", ".join(f"{k} {v}" for k, v in counts.items()),
            flush=True,
        )
        ours = _child(_OURS, str(sym), str(work / "ours.cpsym"))
        theirs = _child(_SYMBOLIC, str(sym), str(work / "symbolic.symc"))
        lookups = _child(_LOOKUPS, str(work / "ours.cpsym"), str(args.lookups))
        before = before_conversion = None
        if args.compare_with is not None:
            source = args.compare_with.resolve()
            before_conversion = _child(_OURS, str(sym), str(work / "before.cpsym"), source=source)
            before_conversion["identical"] = _same_bytes(work / "ours.cpsym", work / "before.cpsym")
            before = _child(_LOOKUPS, str(work / "ours.cpsym"), str(args.lookups), source=source)
    ratio = ours["seconds"] / theirs["seconds"]
    cpu_ratio = ours["cpu_seconds"] / theirs["cpu_seconds"]
    print(
        f"conversion  ours {ours['seconds']:.1f} s ({ours['cpu_seconds']:.1f} s CPU), "
        f"peak {ours['peak_mb']:.0f} MB | symbolic {theirs['seconds']:.1f} s "
        f"({theirs['cpu_seconds']:.1f} s CPU), peak {theirs['peak_mb']:.0f} MB | "
        f"ratio {ratio:.2f}x, {cpu_ratio:.2f}x of CPU time (goal <= 1.5x, peak < 300 MB)"
    )
    print(
        f"lookups     {args.lookups} random: cold {lookups['cold_per_second']:,.0f}/s "
        f"({lookups['cold_cpu_per_second']:,.0f}/s of CPU time; goal >= 100,000/s), "
        f"cached batch {lookups['cached_per_second']:,.0f}/s (goal > 1,000,000/s), "
        f"peak {lookups['peak_mb']:.0f} MB, {lookups['symbolicated']} symbolicated"
    )
    if before_conversion is not None:
        print(
            f"            {args.compare_with}: conversion {before_conversion['seconds']:.1f} s "
            f"({before_conversion['cpu_seconds']:.1f} s CPU), peak "
            f"{before_conversion['peak_mb']:.0f} MB, ratio "
            f"{before_conversion['seconds'] / theirs['seconds']:.2f}x; cache file "
            + ("byte-identical to ours" if before_conversion["identical"] else "DIFFERS from ours")
        )
    if before is not None:
        print(
            f"            {args.compare_with}: cold {before['cold_per_second']:,.0f}/s "
            f"({before['cold_cpu_per_second']:,.0f}/s of CPU time); this checkout "
            f"{lookups['cold_cpu_per_second'] / before['cold_cpu_per_second']:.2f}x per CPU second"
        )
    summary = {"ours": ours, "symbolic": theirs, "lookups": lookups, "ratio": ratio}
    if before is not None:
        summary |= {"conversion_before": before_conversion, "lookups_before": before}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
