"""The ``crashproc`` command (and ``process-crash``, the same as ``crashproc process``).

Exit status: 0 when every crash was processed, 1 when any input could not be processed (the
others are still processed and printed), 2 for usage or configuration errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from crashproc.cli import add_version_argument, run_main
from processor.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_common_arguments,
    add_pipeline_arguments,
    add_setting_argument,
    error,
    settings_from_args,
)
from processor.config import ConfigError
from processor.crashdir import RAW_CRASH_FILE, CrashInputError, load_crash_dir
from processor.pipeline import UnknownRuleset
from processor.reports.commands import add_report_commands
from processor.rulesets import RULESETS, RulesetError
from schemas import docs as schema_docs
from schemas.library import SchemaError, load_schema

logger = logging.getLogger("crashproc")


def dumps_json(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fp:
            fp.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def frame_count(processed: dict[str, Any]) -> int:
    """Frames on the crashing thread's stack (0 when there is no stack)."""
    json_dump = processed.get("json_dump")
    if not isinstance(json_dump, dict):
        return 0
    crashing = json_dump.get("crashing_thread")
    if isinstance(crashing, dict) and isinstance(crashing.get("frames"), list):
        return len(crashing["frames"])
    threads = json_dump.get("threads")
    index = processed.get("crashing_thread")
    if isinstance(threads, list) and isinstance(index, int) and 0 <= index < len(threads):
        frames = threads[index].get("frames") if isinstance(threads[index], dict) else None
        return len(frames) if isinstance(frames, list) else 0
    return 0


def summary_line(processed: dict[str, Any], source: str | Path | None = None) -> str:
    """One line per crash: where it came from (a crash directory's name), crash id,
    signature, frames, code-info recoveries, notes, ok/FAILED."""
    notes = processed.get("processor_notes") or ""
    note_count = len(notes.splitlines())
    crash_id = processed.get("crash_id") or processed.get("uuid") or "?"
    signature = processed.get("signature") or "(no signature)"
    ok = "ok" if processed.get("success") else "FAILED"
    recovered = len((processed.get("symbolication") or {}).get("recovered_modules") or ())
    origin = f"{Path(source).name}  " if source is not None else ""
    return (
        f"{origin}{crash_id}  {signature}  frames={frame_count(processed)}  "
        f"code-info-recovered={recovered}  notes={note_count}  {ok}"
    )


# -- process --------------------------------------------------------------------------------


def cmd_process(args: argparse.Namespace, out: TextIO) -> int:
    from processor.observability.setup import setup_observability
    from processor.runner import CrashProcessor

    try:
        settings = settings_from_args(args)
        processor = CrashProcessor(settings, error_reporter=setup_observability(settings))
    except (ConfigError, RulesetError, SchemaError) as exc:
        error(str(exc))
        return EXIT_USAGE
    try:
        processor.check_ruleset(args.ruleset)
    except UnknownRuleset as exc:
        error(exc.args[0])
        return EXIT_USAGE
    public_schema = load_schema("processed_crash", settings.schema_dir) if args.public else None
    status = EXIT_OK
    for directory in args.dirs:
        try:
            crash = load_crash_dir(directory)
            processed = processor.process(crash, args.ruleset)
        except CrashInputError as exc:
            error(str(exc))
            status = EXIT_FAILED
            continue
        except Exception as exc:
            # A bug must not cost the rest of the batch; the message may hold crash data.
            logger.exception("processing %s failed", directory)
            error(f"{directory}: unexpected {exc.__class__.__name__} while processing")
            status = EXIT_FAILED
            continue
        document = public_schema.public_view(processed) if public_schema else processed
        if args.out:
            target = Path(args.out) / f"{crash.crash_id}.json"
            write_atomically(target, dumps_json(document) + "\n")
            print(f"{summary_line(processed, directory)}  -> {target}", file=out)
        elif args.format == "summary":
            print(summary_line(processed, directory), file=out)
        else:
            print(dumps_json(document), file=out)
        out.flush()
    processor.close()
    return status


# -- schema ---------------------------------------------------------------------------------


def _read_document(path: str, kind: str) -> Any:
    """A JSON document from FILE, or from a crash directory's raw_crash.json."""
    source = Path(path)
    if source.is_dir() and kind == "raw":
        source = source / RAW_CRASH_FILE
    with open(source, encoding="utf-8") as fp:
        return json.load(fp)


def _schema_dir(args: argparse.Namespace) -> Path | None:
    """--schema-dir, else the configured schema directory."""
    return settings_from_args(args).schema_dir


def cmd_schema_validate(args: argparse.Namespace, out: TextIO) -> int:
    schema = load_schema(
        "raw_crash" if args.kind == "raw" else "processed_crash", _schema_dir(args)
    )
    status = EXIT_OK
    for path in args.files:
        try:
            document = _read_document(path, args.kind)
        except (OSError, ValueError) as exc:
            error(f"{path}: cannot read JSON ({exc.__class__.__name__}: {exc})")
            status = EXIT_FAILED
            continue
        issues = schema.validate(document, strict=not args.allow_unknown)
        if issues:
            status = EXIT_FAILED
            print(f"{path}: INVALID ({len(issues)} errors)", file=out)
            for issue in issues:
                print(f"  {issue}", file=out)
        else:
            print(f"{path}: valid", file=out)
    return status


def cmd_schema_redact(args: argparse.Namespace, out: TextIO) -> int:
    schema = load_schema("raw_crash" if args.raw else "processed_crash", _schema_dir(args))
    try:
        document = _read_document(args.file, "raw" if args.raw else "processed")
    except (OSError, ValueError) as exc:
        error(f"{args.file}: cannot read JSON ({exc.__class__.__name__}: {exc})")
        return EXIT_FAILED
    if not isinstance(document, dict):
        error(f"{args.file}: expected a JSON object")
        return EXIT_FAILED
    print(json.dumps(schema.public_view(document), ensure_ascii=False, indent=2), file=out)
    return EXIT_OK


def cmd_schema_docs(args: argparse.Namespace, out: TextIO) -> int:
    schema_dir = _schema_dir(args)
    schemas = [load_schema(name, schema_dir) for name in ("raw_crash", "processed_crash")]
    text = schema_docs.render(schemas, args.format)
    if args.out:
        write_atomically(Path(args.out), text)
        print(f"wrote {args.out}", file=out)
    else:
        out.write(text)
    return EXIT_OK


# -- parser ---------------------------------------------------------------------------------


def _add_process_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="crash directories")
    parser.add_argument(
        "--ruleset",
        default="default",
        help=f"ruleset to run ({', '.join(RULESETS)}; default: default)",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="write <crash_id>.json files here instead of stdout"
    )
    parser.add_argument(
        "--public", action="store_true", help="print the public view (protected fields removed)"
    )
    parser.add_argument(
        "--format",
        choices=("json", "summary"),
        default="json",
        help="json: one processed crash per line; summary: one line per crash",
    )
    add_pipeline_arguments(parser)
    parser.set_defaults(func=cmd_process)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crashproc", description="Process crash reports.")
    add_common_arguments(parser, top=True)
    add_version_argument(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    process = commands.add_parser("process", help="process crash directories")
    _add_process_arguments(process)
    add_report_commands(commands)

    schema = commands.add_parser("schema", help="validate, redact and document with the schemas")
    schema_commands = schema.add_subparsers(dest="schema_command", required=True, metavar="ACTION")
    validate = schema_commands.add_parser("validate", help="validate documents against a schema")
    validate.add_argument(
        "kind", choices=("raw", "processed"), help="raw: a raw crash; processed: a processed crash"
    )
    validate.add_argument(
        "files", nargs="+", metavar="FILE", help="JSON files (or crash directories for raw)"
    )
    validate.add_argument(
        "--allow-unknown", action="store_true", help="accept keys the schema does not declare"
    )
    validate.set_defaults(func=cmd_schema_validate)
    redact = schema_commands.add_parser("redact", help="print the public view of a document")
    redact.add_argument("file", metavar="FILE", help="the JSON document")
    redact.add_argument(
        "--raw", action="store_true", help="FILE is a raw crash (default: processed)"
    )
    redact.set_defaults(func=cmd_schema_redact)
    docs = schema_commands.add_parser("docs", help="write the data dictionary")
    docs.add_argument(
        "--format", choices=("md", "html"), default="md", help="md (default: Markdown) or html"
    )
    docs.add_argument("--out", metavar="PATH", help="write to PATH instead of stdout")
    docs.set_defaults(func=cmd_schema_docs)
    for sub in (validate, redact, docs):
        add_setting_argument(sub, "schema_dir")

    from processor.commands import add_commands  # submit, daemon, reprocess, queue, config

    add_commands(commands)
    for sub in _leaf_parsers(parser):
        add_common_arguments(sub)
    return parser


def _leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser that runs a command (the ones without subcommands of their own)."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found.extend(_leaf_parsers(sub) or [sub])
    return found


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def standalone_parser(command: str, prog: str) -> argparse.ArgumentParser:
    """The parser of one ``crashproc`` command run under its own name (``process-crash``,
    ``reprocess-crash``): its help and errors name that program."""
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            sub = action.choices[command]
            sub.prog = prog
            add_version_argument(sub)
            return sub
    raise AssertionError("crashproc has no subcommands")


def run(argv: list[str] | None = None, out: TextIO | None = None, prog: str | None = None) -> int:
    """Run a ``crashproc`` command line; with ``prog``, ``argv`` is the arguments of the
    command ``argv[0]`` run under that program name."""
    if prog is None:
        args = build_parser().parse_args(argv)
    else:
        assert argv
        args = standalone_parser(argv[0], prog).parse_args(argv[1:])
        args.config = getattr(args, "config", None)
        args.verbose = getattr(args, "verbose", 0)
    _configure_logging(args.verbose)
    try:
        return args.func(args, out or sys.stdout)
    except (ConfigError, SchemaError) as exc:
        error(str(exc))
        return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    return run_main(lambda: run(argv))


def process_crash_main(argv: list[str] | None = None) -> int:
    """``process-crash DIR...``: the same as ``crashproc process DIR...``."""
    argv = sys.argv[1:] if argv is None else argv
    return run_main(lambda: run(["process", *argv], prog="process-crash"))


if __name__ == "__main__":
    sys.exit(main())
