"""Signature generation throughput: ours against siggen, same corpus, same run.

Usage: ``make bench-signature`` (installs siggen into the venv first), or
``.venv/bin/python bench/signature.py [--count N] [--repeat R] [--keep DIR]``.

Two measurements per implementation over a generated corpus (bench/signature_corpus.py,
one JSON file per crash, written to a temporary directory):

* in-process: a fresh generator (lists compiled, caches empty) generates every crash;
  best of ``--repeat`` runs;
* whole-process: a new interpreter imports the library, reads and parses every file and
  generates every signature; wall-clock time, startup included;
* the command: ``crashproc-signature generate FILE...`` as a user runs it, every input validated against
  the crash-data schema (the default), against siggen's whole-process loop (which validates
  nothing). Best of ``--repeat`` runs each. Goal: at least 2x siggen.

Then every crash whose signature differs is attributed to a change current Socorro made
after siggen 2.2.20241029 (signature lists, SigPrintableCharsOnly, frame normalization);
anything else is reported as unexplained.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# This script is named like the package it measures: keep its own directory off the path
# so ``import signature`` finds the library, and load the corpus module by file location.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
_spec = importlib.util.spec_from_file_location("signature_corpus", HERE / "signature_corpus.py")
assert _spec is not None and _spec.loader is not None
signature_corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(signature_corpus)
write_corpus = signature_corpus.write_corpus

WORKER = """
import json, sys, time
start = time.perf_counter()
if sys.argv[1] == "ours":
    from signature import SignatureGenerator
else:
    from siggen.generator import SignatureGenerator
generator = SignatureGenerator()
signatures = []
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as handle:
        signatures.append(generator.generate(json.load(handle)).signature)
print(json.dumps({"elapsed": time.perf_counter() - start, "count": len(signatures)}))
"""


def whole_process(kind: str, paths: list[Path]) -> float:
    """Wall-clock seconds for a fresh interpreter to generate every file's signature."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", WORKER, kind, *map(str, paths)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


# Our command by its entry point (crashproc-signature), run in a fresh interpreter as a user would.
COMMAND = "import sys; from signature.cli import main; sys.exit(main())"


def command(paths: list[Path], repeat: int) -> float:
    """Best wall-clock seconds of ``signature generate`` over every file, validation included."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", COMMAND, "generate", *map(str, paths)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        best = min(best, time.perf_counter() - start)
    return best


def in_process(factory: Any, corpus: list[dict[str, Any]], repeat: int) -> tuple[float, list[Any]]:
    """Best time of ``repeat`` passes, each with a fresh generator; plus the results."""
    best = float("inf")
    results: list[Any] = []
    for _ in range(repeat):
        start = time.perf_counter()
        generator = factory()
        results = [generator.generate(crash) for crash in corpus]
        best = min(best, time.perf_counter() - start)
    return best, results


def attribute(corpus: list[dict[str, Any]], ours: list[Any], theirs: list[Any]) -> dict[str, int]:
    """Count differing signatures by the Socorro change that explains them."""
    import siggen

    from signature import SignatureGenerator
    from signature.rules import SigPrintableCharsOnly, default_ruleset
    from signature.siglists import SignatureLists

    siggen_lists = SignatureLists.load(Path(siggen.__file__).parent / "siglists")

    def without_printable(lists: SignatureLists | None) -> SignatureGenerator:
        rules = [r for r in default_ruleset(lists) if not isinstance(r, SigPrintableCharsOnly)]
        return SignatureGenerator(ruleset=rules)

    variants = [
        ("SigPrintableCharsOnly (bug 1764633)", without_printable(None)),
        ("signature lists updated", SignatureGenerator(ruleset=default_ruleset(siggen_lists))),
        ("signature lists + SigPrintableCharsOnly", without_printable(siggen_lists)),
    ]
    reasons: collections.Counter[str] = collections.Counter()
    for crash, mine, peer in zip(corpus, ours, theirs, strict=True):
        if mine.signature == peer.signature:
            continue
        for reason, generator in variants:
            if generator.generate(crash).signature == peer.signature:
                reasons[reason] += 1
                break
        else:
            if mine.proto_signature != peer.extra.get("proto_signature"):
                reasons["frame normalization (bugs 2031036, 2010995)"] += 1
            else:
                reasons["UNEXPLAINED"] += 1
    return dict(reasons)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=600, help="corpus size (>= 500)")
    parser.add_argument("--repeat", type=int, default=3, help="in-process passes (best kept)")
    parser.add_argument("--keep", type=Path, help="write the corpus here and keep it")
    args = parser.parse_args(argv)

    try:
        from siggen.generator import SignatureGenerator as Siggen
    except ImportError:
        print("siggen is not installed: run `make bench-signature`", file=sys.stderr)
        return 2
    from signature import SignatureGenerator as Ours

    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch) / "corpus"
        paths = write_corpus(directory, args.count)
        corpus = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
        count = len(corpus)
        print(f"corpus: {count} crash-data files in {directory}")

        ours_time, ours = in_process(Ours, corpus, args.repeat)
        siggen_time, theirs = in_process(Siggen, corpus, args.repeat)
        print(
            f"in-process:    ours {count / ours_time:8.0f} crashes/s   "
            f"siggen {count / siggen_time:8.0f} crashes/s   ratio {siggen_time / ours_time:.2f}x"
        )
        ours_wall = min(whole_process("ours", paths) for _ in range(args.repeat))
        siggen_wall = min(whole_process("siggen", paths) for _ in range(args.repeat))
        print(
            f"whole-process: ours {count / ours_wall:8.0f} crashes/s   "
            f"siggen {count / siggen_wall:8.0f} crashes/s   ratio {siggen_wall / ours_wall:.2f}x"
        )
        command_wall = command(paths, args.repeat)
        print(
            f"`crashproc-signature generate` (validating): {command_wall:.2f} s   "
            f"siggen loop {siggen_wall:.2f} s   ratio {siggen_wall / command_wall:.2f}x (goal >= 2x)"
        )

    reasons = attribute(corpus, ours, theirs)
    differing = sum(reasons.values())
    print(f"differing signatures: {differing} of {count}")
    for reason, number in sorted(reasons.items(), key=lambda item: -item[1]):
        print(f"  {number:5d}  {reason}")
    return 1 if reasons.get("UNEXPLAINED") else 0


if __name__ == "__main__":
    sys.exit(main())
