"""`symbols` command line: add/index/lookup a store, check/repair files, serve a store.

Exit status: 0 success, 1 the operation found problems (missing symbols, defects,
refused files), 2 usage errors, 141 the reader of the output went away.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from crashproc import config
from crashproc.cli import add_version_argument, run_main, setting_help
from crashproc.progress import ProgressCallback
from symbols.check import UnrepairableError, check_file, repair_stream
from symbols.errors import SymbolError
from symbols.store import DEFECT_POLICIES, SymbolStore


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
    with ProgressCallback("indexing", unit="file") as bar:
        done, problems = store.reindex(progress=None if args.quiet else bar)
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
    out = Path(args.out) if args.out else Path(args.file + ".repaired")
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
    from symbols.fetch import HttpOptions
    from symbols.supplier import ModuleId, SymbolSupplier

    if args.symbols_urls and not args.symbols_cache:
        print("--symbols-url needs --symbols-cache", file=sys.stderr)
        return 2
    options = HttpOptions()
    if args.symbols_timeout is not None:
        options = HttpOptions(deadline=args.symbols_timeout)
    supplier = SymbolSupplier(
        symbols_paths=args.symbols_paths,
        symbols_urls=args.symbols_urls,
        cache_dir=args.symbols_cache,
        options=options,
        trusted_hosts=args.symbols_trusted_hosts,
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


# `serve`'s flags and the settings they override (crashproc/settings.yaml).
SERVE_SETTINGS = {
    "store": "symbols_server.store",
    "host": "symbols_server.host",
    "port": "symbols_server.port",
    "workers": "symbols_server.workers",
}


# Connection handling, from the configuration only (issue 18: idle sockets, floods).
SERVE_CONNECTION_SETTINGS = (
    "symbols_server.max_connections",
    "symbols_server.idle_timeout",
    "symbols_server.backlog",
)


def _cmd_serve(args: argparse.Namespace) -> int:
    """Serve with the installation's configuration, the flags given overriding it."""
    from symbols.server import serve

    flags = {
        key: (getattr(args, name), f"--{name}" if name != "store" else "STORE")
        for name, key in SERVE_SETTINGS.items()
        if getattr(args, name) is not None
    }
    try:
        loaded = config.load(config_file=args.config, flags=flags)
        loaded.check([*SERVE_SETTINGS.values(), *SERVE_CONNECTION_SETTINGS])
    except config.ConfigError as exc:
        print(f"symbols serve: error: {exc}", file=sys.stderr)
        return 2
    if loaded["symbols_server.store"] is None:
        print(
            "symbols serve: error: no store to serve: give STORE or set symbols_server.store",
            file=sys.stderr,
        )
        return 2
    return serve(
        Path(loaded["symbols_server.store"]),
        host=loaded["symbols_server.host"],
        port=loaded["symbols_server.port"],
        token=args.token,
        workers=loaded["symbols_server.workers"],
        token_sha256=loaded["symbols_server.upload_token_sha256"],
        sentry_dsn=loaded["sentry.dsn"],
        max_connections=loaded["symbols_server.max_connections"],
        idle_timeout=loaded["symbols_server.idle_timeout"],
        backlog=loaded["symbols_server.backlog"],
    )


def _cmd_token(args: argparse.Namespace) -> int:
    """A new upload token, and the hash the server's configuration keeps instead of it."""
    import secrets

    from symbols.server import token_digest

    token = sys.stdin.readline().rstrip("\n") if args.from_stdin else secrets.token_urlsafe(32)
    if not token:
        print("symbols token: error: no token on standard input", file=sys.stderr)
        return 2
    if not args.from_stdin:
        print(f"token: {token}")
    print(f'upload_token_sha256 = "{token_digest(token)}"  # [symbols_server] in crashproc.toml')
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symbols", description=__doc__.splitlines()[0])
    add_version_argument(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("add", help="store .sym files or zips of them, and index them")
    p.add_argument("store", type=Path, help="the symbol store directory (created if missing)")
    p.add_argument("files", nargs="+", metavar="FILE", help=".sym files or zips of them")
    p.add_argument(
        "--on-defect",
        choices=DEFECT_POLICIES,
        default="refuse",
        help="what to do with files that have dump_syms defects (default: %(default)s)",
    )
    p.set_defaults(func=_cmd_add)

    p = sub.add_parser("index", help="(re)build the code-info index of a store (resumable)")
    p.add_argument("store", type=Path, help="the symbol store directory")
    p.add_argument("--quiet", action="store_true", help="print no progress")
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("lookup", help="print the debug file and id for a code file and id")
    p.add_argument("store", type=Path, help="the symbol store directory")
    p.add_argument("code_file", help="the module's code file name, e.g. xul.dll")
    p.add_argument("code_id", help="the module's code id (PE timestamp and size)")
    p.set_defaults(func=_cmd_lookup)

    p = sub.add_parser("check", help="report malformed records with line numbers")
    p.add_argument("files", nargs="+", metavar="FILE", help=".sym files")
    p.add_argument("--quiet", action="store_true", help="print nothing for files without defects")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("repair", help="write a copy with the dump_syms defects fixed")
    p.add_argument("file", metavar="FILE", help="the .sym file to repair")
    p.add_argument("-o", "--out", metavar="PATH", help="write here (default: FILE.repaired)")
    p.add_argument("--output", dest="out", help=argparse.SUPPRESS)  # the flag's former name
    p.set_defaults(func=_cmd_repair)

    p = sub.add_parser("locate", help="find the symbol file of a module, saying what was tried")
    p.add_argument("--code-file", help="the module's code file name, e.g. xul.dll")
    p.add_argument("--code-id", help="the module's code id")
    p.add_argument("--debug-file", help="the module's debug file name, e.g. xul.pdb")
    p.add_argument("--debug-id", help="the module's debug id")
    _add_supplier_arguments(p)
    p.set_defaults(func=_cmd_locate)

    p = sub.add_parser("symbolicate", help="look module offsets up in a .sym file")
    p.add_argument("file", metavar="FILE", help="the .sym file")
    p.add_argument("offsets", nargs="+", metavar="OFFSET", help="hex module offsets")
    p.add_argument(
        "--cache", type=Path, metavar="DIR", help="compact cache directory to use (else parse)"
    )
    p.set_defaults(func=_cmd_symbolicate)

    p = sub.add_parser(
        "serve",
        help="serve a store with the Tecken download API (settings: [symbols_server])",
    )
    p.add_argument(
        "store",
        nargs="?",
        type=Path,
        help=setting_help("symbols_server.store", "the symbol store directory"),
    )
    p.add_argument("--host", help=setting_help("symbols_server.host", "address to listen on"))
    p.add_argument(
        "--port", type=int, help=setting_help("symbols_server.port", "port to listen on")
    )
    p.add_argument(
        "--token",
        help="API token for POST /upload/, kept only as its hash (default: $SYMBOLS_UPLOAD_TOKEN, "
        "else the configured symbols_server.upload_token_sha256; see `symbols token`)",
    )
    p.add_argument(
        "--workers",
        type=int,
        help=setting_help(
            "symbols_server.workers", "gunicorn worker processes, when gunicorn is installed"
        ),
    )
    p.add_argument(
        "--config",
        metavar="PATH",
        help="configuration file (default: $CRASHPROC_CONFIG, else ./crashproc.toml if present)",
    )
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("token", help="make an upload token and the hash to configure for it")
    p.add_argument(
        "--from-stdin",
        action="store_true",
        help="hash the token read from standard input instead of making a new one",
    )
    p.set_defaults(func=_cmd_token)
    return parser


def _add_supplier_arguments(parser: argparse.ArgumentParser) -> None:
    """Where symbols are looked for, under the names ``crashproc process`` gives them."""
    parser.add_argument(
        "--symbols-path",
        dest="symbols_paths",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="symbol store (repeatable)",
    )
    parser.add_argument(
        "--symbols-url",
        dest="symbols_urls",
        action="append",
        default=[],
        metavar="URL",
        help="symbols server (repeatable; needs --symbols-cache)",
    )
    parser.add_argument(
        "--symbols-cache", type=Path, metavar="DIR", help="where downloaded symbols are kept"
    )
    parser.add_argument(
        "--symbols-trusted-host",
        dest="symbols_trusted_hosts",
        action="append",
        default=[],
        metavar="HOST",
        help="host a symbols server may redirect code-info lookups to (repeatable)",
    )
    # The flag's former name, kept working for existing scripts.
    parser.add_argument(
        "--trusted-host", dest="symbols_trusted_hosts", action="append", help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--symbols-timeout",
        type=float,
        metavar="SECONDS",
        help="deadline for one symbol download, retries included (default: 300)",
    )


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``symbols`` console script; returns the exit status."""
    return run_main(lambda: _run(argv))


if __name__ == "__main__":
    sys.exit(main())
