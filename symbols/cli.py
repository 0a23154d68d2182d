"""`symbols` command line: add/index/lookup a store, check/repair files, serve a store.

Exit status: 0 success, 1 the operation found problems (missing symbols, defects,
refused files), 2 usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from symbols.check import UnrepairableError, check_file, repair_stream
from symbols.errors import SymbolError
from symbols.store import DEFECT_POLICIES, SymbolStore, print_progress


def _cmd_add(args: argparse.Namespace) -> int:
    store = SymbolStore(args.store)
    failed = 0
    for source in args.files:
        try:
            results = store.add_path(Path(source), on_defect=args.on_defect)
        except (SymbolError, OSError) as e:
            print(f"{source}: refused: {e}", file=sys.stderr)
            failed += 1
            continue
        for r in results:
            if r.error is not None:
                print(f"{r.source}: refused: {r.error}", file=sys.stderr)
                failed += 1
            else:
                note = f" (repaired {len(r.repaired)} defect(s))" if r.repaired else ""
                print(f"{r.source}: stored {r.path.relative_to(store.root)}{note}")
    return 1 if failed else 0


def _cmd_index(args: argparse.Namespace) -> int:
    store = SymbolStore(args.store)
    done, problems = store.reindex(progress=None if args.quiet else print_progress)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"indexed {done} file(s)")
    return 1 if problems else 0


def _cmd_lookup(args: argparse.Namespace) -> int:
    found = SymbolStore(args.store).lookup_code_info(args.code_file, args.code_id)
    if found is None:
        print(
            f"{args.code_file} {args.code_id.upper()}: not in the code-info index", file=sys.stderr
        )
        return 1
    print(f"{found.debug_file} {found.debug_id}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    bad = 0
    for name in args.files:
        try:
            defects = check_file(Path(name))
        except OSError as e:
            print(f"{name}: cannot read: {e.strerror}", file=sys.stderr)
            bad += 1
            continue
        for defect in defects:
            print(f"{name}: {defect}")
        if defects:
            bad += 1
        elif not args.quiet:
            print(f"{name}: ok")
    return 1 if bad else 0


def _cmd_repair(args: argparse.Namespace) -> int:
    out = Path(args.output) if args.output else Path(args.file + ".repaired")
    try:
        with open(args.file, "rb") as src, open(out, "wb") as dst:
            fixed = repair_stream(src, dst)
    except (UnrepairableError, OSError) as e:
        out.unlink(missing_ok=True)
        print(f"{args.file}: {e}", file=sys.stderr)
        return 1
    for defect in fixed:
        print(f"{args.file}: fixed {defect}")
    print(f"wrote {out}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from symbols.server import serve

    return serve(args.store, host=args.host, port=args.port, token=args.token, workers=args.workers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symbols", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("add", help="store .sym files or zips of them, and index them")
    p.add_argument("store", type=Path)
    p.add_argument("files", nargs="+")
    p.add_argument(
        "--on-defect",
        choices=DEFECT_POLICIES,
        default="refuse",
        help="what to do with files that have dump_syms defects (default refuse)",
    )
    p.set_defaults(func=_cmd_add)

    p = sub.add_parser("index", help="(re)build the code-info index of a store (resumable)")
    p.add_argument("store", type=Path)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("lookup", help="print the debug file and id for a code file and id")
    p.add_argument("store", type=Path)
    p.add_argument("code_file")
    p.add_argument("code_id")
    p.set_defaults(func=_cmd_lookup)

    p = sub.add_parser("check", help="report malformed records with line numbers")
    p.add_argument("files", nargs="+")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("repair", help="write a copy with the dump_syms defects fixed")
    p.add_argument("file")
    p.add_argument("-o", "--output", help="output path (default FILE.repaired)")
    p.set_defaults(func=_cmd_repair)

    p = sub.add_parser("serve", help="serve a store with the Tecken download API")
    p.add_argument("store", type=Path)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--token", help="API token for POST /upload/ (else $SYMBOLS_UPLOAD_TOKEN)")
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
