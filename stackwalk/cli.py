"""`stackwalk`: a drop-in for rust-minidump's `minidump-stackwalk` 0.25 command line.

    stackwalk [OPTIONS] DUMP [SYMBOLS_PATH...]

It takes the options a processor or a script passes to minidump-stackwalk, with the same
meaning, defaults, conflicts and exit statuses: one output format of --json, --human (the
default) and --cyborg FILE (human report to the output, JSON to FILE; `--json --human` is
a usage error, exit 2, as in the peer); --pretty only with JSON and --brief only with a
human report (exit 1 otherwise); --output-file, --log-file, --verbose LEVEL; symbols from
positional paths and --symbols-path, --symbols-url with --symbols-cache (default: a
directory under the system's temp directory), --symbols-tmp and
--symbols-download-timeout-secs; --features; --evil-json. --no-color and --no-interactive
are accepted because this command never colours its output or shows progress. Its own
--max-threads, --max-frames-per-thread, --max-total-frames and --max-json-size bound the
walk of a hostile dump (stackwalk.limits); their defaults are far above any normal dump, so
a normal dump's output is the peer's byte for byte. The peer options it cannot honour
(--dump, --recover-function-args and `--features unstable-all` with a human report, which
prints recovered arguments, --use-local-debuginfo) are refused with a message, never
ignored.

Messages: a dump that cannot be read is an error (exit 1, one line, never a traceback);
streams skipped as corrupt and threads not unwound are warnings, shown from
`--verbose warn` on, as the peer logs such things. Imports are kept to what the
invocation uses: a one-dump process is mostly interpreter start-up (see
bench/stackwalk.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

from crashproc.cli import add_version_argument, run_main

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    import argparse
    from typing import TextIO

LEVELS = ("off", "error", "warn", "info", "debug", "trace")
FEATURES = ("stable-basic", "stable-all", "unstable-all")
# The peer's options this command refuses, with why.
UNSUPPORTED = {
    "--dump": "the raw minidump dump (minidump_dump) is not implemented",
    "--recover-function-args": "function argument recovery is not implemented",
    "--use-local-debuginfo": "only Breakpad .sym files are read, not local debug info",
    "--help-markdown": "help is available as --help",
}
DEFAULT_CACHE_NAME = "crashproc-stackwalk-cache"


class UsageError(Exception):
    """A combination of options the peer refuses after parsing (exit status 1, as there)."""


class Refused(Exception):
    """A peer option this command does not implement (a usage error, exit 2)."""


class ArgumentNotSupported(Exception):
    """An option value the peer accepts and this command cannot honour (exit 2)."""


def build_parser() -> argparse.ArgumentParser:
    import argparse

    from crashproc.argparsing import HelpFormatter

    parser = argparse.ArgumentParser(
        prog="stackwalk",
        formatter_class=HelpFormatter,
        description="Walk the stacks of a minidump: minidump-stackwalk 0.25's command line, "
        "its JSON byte for byte and its human report.",
    )
    add_version_argument(parser)
    parser.add_argument("minidump", type=Path, metavar="DUMP", help="the minidump file")
    parser.add_argument(
        "symbols_path_positional",
        nargs="*",
        type=Path,
        metavar="SYMBOLS_PATH",
        help="symbol directories (store layout) or .sym files",
    )
    formats = parser.add_mutually_exclusive_group()
    formats.add_argument(
        "--json", action="store_true", help="print the JSON document minidump-stackwalk prints"
    )
    formats.add_argument(
        "--human", action="store_true", help="print the human-readable report (the default)"
    )
    formats.add_argument(
        "--cyborg",
        type=Path,
        metavar="FILE",
        help="the human report to the output and the JSON document to FILE",
    )
    for flag, why in UNSUPPORTED.items():
        target = formats if flag == "--dump" else parser
        target.add_argument(flag, action="store_true", help=f"refused: {why}")
    parser.add_argument("--pretty", action="store_true", help="pretty-print the JSON")
    parser.add_argument(
        "--brief",
        action="store_true",
        help="human report: only the summary and the crashing thread",
    )
    parser.add_argument(
        "--output-file", type=Path, metavar="FILE", help="write the output here (default: stdout)"
    )
    parser.add_argument(
        "--log-file", type=Path, metavar="FILE", help="write messages here (default: stderr)"
    )
    parser.add_argument(
        "--verbose",
        choices=LEVELS,
        default="error",
        metavar="LEVEL",
        help=f"which messages to show: {', '.join(LEVELS)} (default: %(default)s)",
    )
    parser.add_argument(
        "--features",
        choices=FEATURES,
        default="stable-basic",
        help="analysis level, as in the peer; unstable-all is refused with a human report "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--no-color", action="store_true", help="accepted: output is never coloured"
    )
    parser.add_argument(
        "--no-interactive", action="store_true", help="accepted: no progress is ever shown"
    )
    parser.add_argument(
        "--evil-json",
        type=Path,
        metavar="FILE",
        help="Socorro's raw crash annotations (JSON): module signers, CPU microcode version",
    )
    parser.add_argument(
        "--symbols-path",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="a symbol directory or .sym file (repeatable; positional paths come after)",
    )
    parser.add_argument(
        "--symbols-url",
        action="append",
        default=[],
        metavar="URL",
        help="a Tecken-compatible symbols server, tried in order (repeatable)",
    )
    parser.add_argument(
        "--symbols-cache",
        type=Path,
        metavar="DIR",
        help=f"where downloaded symbols are kept (default: {DEFAULT_CACHE_NAME} in the "
        "system's temp directory)",
    )
    parser.add_argument(
        "--symbols-tmp",
        type=Path,
        metavar="DIR",
        help="where downloads are assembled before they move into the cache; must be on "
        "the cache's filesystem (default: a directory inside the cache)",
    )
    parser.add_argument(
        "--symbols-download-timeout-secs",
        type=int,
        default=1000,
        metavar="SECS",
        help="longest one symbol file download may take, retries included (default: %(default)s)",
    )
    caps = parser.add_argument_group(
        "caps",
        "bounds on one walk, far above what a normal dump needs (so its output is the "
        "peer's); a cap that triggers is a warning and the output's stackwalk_limits object "
        "(see stackwalk/limits.py); 0 means no cap",
    )
    for flag, default, what in cap_options():
        caps.add_argument(
            flag, type=int, default=default, metavar="N", help=f"{what} (default: %(default)s)"
        )
    return parser


def cap_options() -> tuple[tuple[str, int, str], ...]:
    """(flag, default, what it bounds) of each cap option, for argparse and quick_parse."""
    from stackwalk import limits

    return (
        ("--max-threads", limits.DEFAULT_MAX_THREADS, "threads walked (crashing thread first)"),
        ("--max-frames-per-thread", limits.DEFAULT_MAX_FRAMES_PER_THREAD, "frames per thread"),
        ("--max-total-frames", limits.DEFAULT_MAX_TOTAL_FRAMES, "frames of all threads"),
        ("--max-json-size", limits.DEFAULT_MAX_JSON_SIZE, "bytes of the compact JSON document"),
    )


def walk_limits(args: argparse.Namespace):
    """The stackwalk.limits.WalkLimits of the command's cap options."""
    from stackwalk.limits import WalkLimits

    return WalkLimits(
        max_threads=args.max_threads,
        max_frames_per_thread=args.max_frames_per_thread,
        max_total_frames=args.max_total_frames,
        max_json_size=args.max_json_size,
    )


class Log:
    """Messages at or above the --verbose level, to stderr or the --log-file."""

    def __init__(self, level: str, stream: TextIO) -> None:
        self.threshold = LEVELS.index(level)
        self.stream = stream

    def error(self, text: str) -> None:
        self._write(1, text)

    def warn(self, text: str) -> None:
        self._write(2, text)

    def _write(self, level: int, text: str) -> None:
        if level <= self.threshold:
            print(f"stackwalk: {text}", file=self.stream, flush=True)


def check_options(args: argparse.Namespace) -> tuple[bool, bool]:
    """(human, json) to print; UsageError for what the peer refuses after parsing."""
    for flag in UNSUPPORTED:
        if getattr(args, flag[2:].replace("-", "_")):
            raise Refused(f"{flag} is not supported: {UNSUPPORTED[flag]}")
    json_out = args.json or args.cyborg is not None
    human = not args.json
    if args.pretty and not json_out:
        raise UsageError("--pretty needs --json or --cyborg (a human report is not JSON)")
    if args.brief and not human:
        raise UsageError("--brief is only valid with --human or --cyborg")
    if args.features == "unstable-all" and human:
        raise ArgumentNotSupported(
            "--features unstable-all is not supported with a human report "
            "(it adds recovered function arguments, which are not implemented)"
        )
    if args.symbols_download_timeout_secs < 0:
        raise UsageError("--symbols-download-timeout-secs must not be negative")
    for flag in ("max_threads", "max_frames_per_thread", "max_total_frames", "max_json_size"):
        if getattr(args, flag) < 0:
            raise UsageError(f"--{flag.replace('_', '-')} must not be negative")
    return human, json_out


def build_provider(args: argparse.Namespace):
    """The symbol provider for the command's symbol options and its supplier, or (None, None)
    without any: built by symbols.setup, as crashproc's processor builds its own, so a dump
    symbolicates the same way here and there (code-info index, compact cache, deadline)."""
    paths = [*args.symbols_path, *args.symbols_path_positional]
    if not paths and not args.symbols_url:
        return None, None
    from symbols.setup import build_provider as build

    if args.symbols_cache is not None:
        cache = args.symbols_cache
    else:
        # the peer's default: Rust's std::env::temp_dir() ($TMPDIR, else /tmp), which is
        # also cheaper than importing tempfile
        cache = Path(os.environ.get("TMPDIR") or "/tmp") / DEFAULT_CACHE_NAME
    provider = build(
        paths=paths,
        urls=args.symbols_url,
        cache_dir=cache,
        timeout=float(args.symbols_download_timeout_secs),
        scratch_dir=args.symbols_tmp,
        lazy_indexes=True,
    )
    return provider, provider.supplier


def _walk(args: argparse.Namespace, log: Log):
    from stackwalk.minidump import MinidumpError
    from stackwalk.process import walk_minidump_with_notes

    provider, supplier = build_provider(args)
    try:
        return walk_minidump_with_notes(args.minidump, provider, args.evil_json, walk_limits(args))
    except MinidumpError as e:
        log.error(f"{args.minidump.name}: {e.reason}")
        return None
    finally:
        if supplier is not None:
            supplier.close()


# Flags without a value that quick_parse takes; anything else goes through argparse.
QUICK_FLAGS = {
    "--json": "json",
    "--pretty": "pretty",
    "--human": "human",
    "--brief": "brief",
    "--no-color": "no_color",
    "--no-interactive": "no_interactive",
}
# What argparse sets when an option is absent (tests check this against build_parser); the
# cap options' defaults come from cap_options().
DEFAULTS = {
    "json": False,
    "human": False,
    "cyborg": None,
    **{flag[2:].replace("-", "_"): False for flag in UNSUPPORTED},
    "pretty": False,
    "brief": False,
    "output_file": None,
    "log_file": None,
    "verbose": "error",
    "features": "stable-basic",
    "no_color": False,
    "no_interactive": False,
    "evil_json": None,
    "symbols_path": [],
    "symbols_url": [],
    "symbols_cache": None,
    "symbols_tmp": None,
    "symbols_download_timeout_secs": 1000,
}


def quick_parse(argv: Sequence[str]) -> SimpleNamespace | None:
    """The namespace argparse would build for the argument lists scripts pass most (a dump,
    symbol paths and value-less flags such as --json --pretty), without building the
    parser: that and its gettext lookups are a tenth of a one-dump process. None for
    anything else (options with values, abbreviations, errors, --help), which argparse
    then parses and reports exactly as before."""
    flags, paths, runs, previous = set(), [], 0, None
    for arg in argv:
        if arg.startswith("-"):
            if arg not in QUICK_FLAGS:
                return None
            flags.add(QUICK_FLAGS[arg])
        else:
            runs += previous is not True
            paths.append(Path(arg))
        previous = not arg.startswith("-")
    if runs != 1 or {"json", "human"} <= flags:
        # argparse reports the missing dump, paths split by flags, or the conflict
        return None
    values = {k: list(v) if isinstance(v, list) else v for k, v in DEFAULTS.items()}
    values |= {flag[2:].replace("-", "_"): default for flag, default, _ in cap_options()}
    values |= dict.fromkeys(flags, True)
    return SimpleNamespace(minidump=paths[0], symbols_path_positional=paths[1:], **values)


def _run(argv: Sequence[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = quick_parse(argv)
    parser = None
    if args is None:
        parser = build_parser()
        args = parser.parse_args(argv)
    try:
        human, json_out = check_options(args)
    except (Refused, ArgumentNotSupported) as e:
        (parser or build_parser()).error(str(e))
    except UsageError as e:
        print(f"stackwalk: error: {e}", file=sys.stderr)
        return 1
    log_stream = open(args.log_file, "w") if args.log_file else sys.stderr  # noqa: SIM115
    try:
        return _walk_and_print(args, human, json_out, Log(args.verbose, log_stream))
    finally:
        if log_stream is not sys.stderr:
            log_stream.close()


def _walk_and_print(args: argparse.Namespace, human: bool, json_out: bool, log: Log) -> int:
    result = _walk(args, log)
    if result is None:
        return 1
    for stream, reason in sorted(result.stream_errors.items()):
        log.warn(f"{stream} stream skipped: {reason}")
    for index, error in sorted(result.unwind_errors.items()):
        log.warn(f"thread {index} not unwound past its context ({error})")
    for note in result.limit_notes:
        log.warn(note)
    from stackwalk.jsonout import to_json

    output = open(args.output_file, "w") if args.output_file else sys.stdout  # noqa: SIM115
    try:
        if human:
            from stackwalk.human import render

            output.write(render(result.document, brief=args.brief, facts=result.report))
        if json_out:
            text = to_json(result.document, pretty=args.pretty)
            if args.cyborg is not None:
                args.cyborg.write_text(text)
            else:
                output.write(text)
    finally:
        if output is not sys.stdout:
            output.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stackwalk`` console script; returns the exit status.

    Without `argv` (the console script, ``python -m stackwalk.cli``) the process ends as
    soon as this returns: everything it made is then frozen out of the garbage collector's
    reach, since the interpreter's last collection at exit would walk every object of the
    run (a tenth of a one-dump process) only to free memory the system takes back anyway.
    Files are closed and output flushed before that; `argv` given (a caller in a longer
    process) leaves the collector alone."""
    status = run_main(lambda: _run(argv))
    if argv is None:
        import gc

        gc.freeze()
    return status


if __name__ == "__main__":
    sys.exit(main())
