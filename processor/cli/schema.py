"""``crashproc schema validate|redact|docs``: the schemas as a user's tool."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from processor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_setting_argument,
    error,
    settings_from_args,
)
from processor.cli.output import write_atomically
from processor.crashdir import RAW_CRASH_FILE
from schemas import docs as schema_docs
from schemas.library import load_schema


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


def add_parser(commands: argparse._SubParsersAction) -> None:
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
