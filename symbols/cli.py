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


def _cmd_locate(args: argparse.Namespace) -> int:
    from symbols.supplier import ModuleId, SymbolSupplier

    if args.symbols_url and not args.symbols_cache:
        print("--symbols-url needs --symbols-cache", file=sys.stderr)
        return 2
    supplier = SymbolSupplier(
        symbols_paths=args.symbols_path,
        symbols_urls=args.symbols_url,
        cache_dir=args.symbols_cache,
        trusted_hosts=args.trusted_host,
    )
    try:
        module = ModuleId(args.code_file, args.code_id, args.debug_file, args.debug_id)
        result = supplier.locate(module)
    finally:
        supplier.close()
    for attempt in result.attempts:
        print(f"tried {attempt}", file=sys.stderr)
    if result.path is None:
        print("not found", file=sys.stderr)
        return 1
    via = " (via code info)" if result.from_code_info else ""
    print(
        f"{result.path}\t{result.debug_file} {result.debug_id}{via}"
        + (f"\t{result.url}" if result.url else "")
    )
    return 0


def _cmd_symbolicate(args: argparse.Namespace) -> int:
    from symbols.parser import parse_file
    from symbols.symcache import SymbolCache

    try:
        if args.cache:
            symbols = SymbolCache(args.cache).open(Path(args.file))
        else:
            symbols = parse_file(args.file)
    except (SymbolError, OSError) as e:
        print(f"{args.file}: {e}", file=sys.stderr)
        return 1
    for text in args.offsets:
        try:
            offset = int(text, 16)
        except ValueError:
            print(f"{text}: not a hex module offset", file=sys.stderr)
            return 2
        found = symbols.lookup(offset)
        if found is None:
            print(f"{offset:#x}\t??")
            continue
        where = f"\t{found.file}:{found.line}" if found.file else ""
        print(f"{offset:#x}\t{found.function}+{offset - found.function_address:#x}{where}")
        for inline in found.inlines:
            place = f"\t{inline.file}:{inline.line}" if inline.file else ""
            print(f"\t(inlined) {inline.function}{place}")
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

    p = sub.add_parser("locate", help="find the symbol file of a module, saying what was tried")
    p.add_argument("--code-file")
    p.add_argument("--code-id")
    p.add_argument("--debug-file")
    p.add_argument("--debug-id")
    p.add_argument("--symbols-path", type=Path, action="append", default=[])
    p.add_argument("--symbols-url", action="append", default=[])
    p.add_argument("--symbols-cache", type=Path)
    p.add_argument(
        "--trusted-host",
        action="append",
        default=[],
        help="host a code-info redirect may point to besides the server itself",
    )
    p.set_defaults(func=_cmd_locate)

    p = sub.add_parser("symbolicate", help="look module offsets up in a .sym file")
    p.add_argument("file")
    p.add_argument("offsets", nargs="+", help="hex module offsets")
    p.add_argument("--cache", type=Path, help="compact cache directory to use (else parse)")
    p.set_defaults(func=_cmd_symbolicate)

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
