"""`stackwalk DUMP [SYMBOLS_PATH...]`: minidump-stackwalk's command line, in Python.

    stackwalk DUMP [SYMBOLS_PATH...] [--symbols-url URL]... [--symbols-cache DIR]
              [--json] [--pretty] [--human] [--evil-json FILE]

JSON is printed exactly as `minidump-stackwalk --json [--pretty]` prints it; --human
prints a readable report (the default when neither is given, as in rust-minidump).
A dump that cannot be read exits 1 with one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from crashproc.cli import add_version_argument, run_main
from stackwalk.human import render
from stackwalk.minidump import MinidumpError
from stackwalk.process import to_json, walk_minidump_with_notes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stackwalk",
        description="Walk the stacks of a minidump (minidump-stackwalk compatible).",
    )
    add_version_argument(parser)
    parser.add_argument("dump", type=Path, help="the minidump file")
    parser.add_argument(
        "symbols_path",
        nargs="*",
        type=Path,
        metavar="SYMBOLS_PATH",
        help="symbol directories or .sym files",
    )
    parser.add_argument(
        "--symbols-url",
        action="append",
        default=[],
        metavar="URL",
        help="symbols server base URL (repeatable; needs --symbols-cache)",
    )
    parser.add_argument(
        "--symbols-cache", type=Path, metavar="DIR", help="where downloaded symbols are kept"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the JSON document minidump-stackwalk prints"
    )
    parser.add_argument("--pretty", action="store_true", help="pretty-print the JSON")
    parser.add_argument(
        "--human",
        action="store_true",
        help="print a readable report (the default without --json; with it, after the JSON)",
    )
    parser.add_argument(
        "--evil-json",
        type=Path,
        metavar="FILE",
        help="Socorro's raw crash annotations (JSON): module signers, CPU microcode version",
    )
    return parser


def _provider(args: argparse.Namespace):
    if not args.symbols_path and not args.symbols_url:
        return None, None
    from symbols.provider import SymbolProvider
    from symbols.supplier import SymbolSupplier

    supplier = SymbolSupplier(
        symbols_paths=args.symbols_path,
        symbols_urls=args.symbols_url,
        cache_dir=args.symbols_cache,
    )
    return SymbolProvider(supplier), supplier


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.symbols_url and not args.symbols_cache:
        print("stackwalk: --symbols-url needs --symbols-cache", file=sys.stderr)
        return 2
    provider, supplier = _provider(args)
    try:
        result = walk_minidump_with_notes(args.dump, provider, args.evil_json)
    except MinidumpError as e:
        print(f"stackwalk: {args.dump.name}: {e.reason}", file=sys.stderr)
        return 1
    finally:
        if supplier is not None:
            supplier.close()
    for stream, reason in sorted(result.stream_errors.items()):
        print(f"stackwalk: note: {stream} stream skipped: {reason}", file=sys.stderr)
    for index, error in sorted(result.unwind_errors.items()):
        print(
            f"stackwalk: note: thread {index} not unwound past its context ({error})",
            file=sys.stderr,
        )
    if args.json:
        sys.stdout.write(to_json(result.document, pretty=args.pretty))
    if args.human or not args.json:
        sys.stdout.write(render(result.document))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stackwalk`` console script; returns the exit status."""
    return run_main(lambda: _run(argv))


if __name__ == "__main__":
    sys.exit(main())
