"""The ``signature`` command: generate, explain, and turn processed crashes into fixtures.

Input files hold one JSON object, a JSON array of objects, or JSON lines (one crash per
line); ``-`` (or no file) reads standard input. An object with a ``json_dump`` key is taken
as a processed crash and converted; one with a ``crash_data`` key (a test fixture) is
unwrapped. Bad input is reported on stderr as ``error: <where>: <what>`` and the command
exits 1 after processing the rest; it never prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from crashproc.cli import add_version_argument, run_main
from signature.crashdata import convert_to_crash_data, validation_errors
from signature.cstack import FrameDecision
from signature.generator import SignatureGenerator
from signature.result import Result
from signature.rules import SignatureGenerationRule
from signature.siglists import SignatureListError, SignatureLists

VERDICTS = {
    "above-sentinel": "cut: above the sentinel",
    "empty": "skipped: empty frame",
    "irrelevant": "skipped: irrelevant",
    "duplicate": "skipped: repeats the previous kept frame",
    "prefix": "kept: prefix, continue",
    "stop": "kept: not a prefix, stop",
    "unused": "not reached",
}


class InputError(Exception):
    """A crash that cannot be read; the message says where and why (never the data)."""


def _parse_documents(label: str, text: str) -> Iterator[tuple[str, Any]]:
    """Yield (where, parsed JSON value) for a file holding JSON or JSON lines.

    A file is read as JSON lines only when it is not one JSON document and its first line is
    a JSON object: a text, YAML or broken pretty-printed JSON file is one error, not one per
    line. A bad line in a JSON lines file is an error for that line alone.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as whole_error:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2 or not _is_json_object(lines[0][1]):
            raise InputError(f"{label}: not valid JSON ({whole_error})") from None
        for number, line in lines:
            try:
                yield f"{label}:{number}", json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"{label}:{number}", InputError(f"{label}:{number}: not valid JSON ({exc})")
        return
    if isinstance(document, list):
        for index, item in enumerate(document):
            yield f"{label}[{index}]", item
    else:
        yield label, document


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


def as_crash_data(document: Any) -> Any:
    """Unwrap fixtures and convert processed crashes; other values pass through."""
    if isinstance(document, dict):
        if isinstance(document.get("crash_data"), dict):
            return document["crash_data"]
        if "json_dump" in document:
            return convert_to_crash_data(document)
    return document


def read_crashes(paths: Sequence[str], stdin: TextIO) -> Iterator[tuple[str, Any]]:
    """Yield (where, crash data or InputError) for every crash in the given files."""
    for path in paths or ["-"]:
        label = "<stdin>" if path == "-" else path
        try:
            text = stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            yield label, InputError(f"{label}: cannot read ({type(exc).__name__})")
            continue
        try:
            for where, document in _parse_documents(label, text):
                yield (
                    where,
                    document if isinstance(document, InputError) else as_crash_data(document),
                )
        except InputError as exc:
            yield label, exc


def _checked(where: str, crash: Any, lenient: bool, stderr: TextIO) -> tuple[bool, bool]:
    """(usable, ok): report unreadable or schema-invalid crash data on stderr."""
    if isinstance(crash, InputError):
        print(f"error: {crash}", file=stderr)
        return False, False
    errors = validation_errors(crash)
    if not errors:
        return True, True
    kind = "warning" if lenient else "error"
    print(f"{kind}: {where}: invalid crash data: {'; '.join(errors)}", file=stderr)
    return lenient, lenient


def cmd_generate(args: argparse.Namespace, generator: SignatureGenerator, out: TextIO) -> int:
    status = 0
    for where, crash in read_crashes(args.files, sys.stdin):
        usable, ok = _checked(where, crash, args.lenient, sys.stderr)
        status = status if ok else 1
        if not usable:
            continue
        result = generator.generate(crash)
        if args.format == "json":
            line = json.dumps(
                {
                    "signature": result.signature,
                    "proto_signature": result.proto_signature,
                    "notes": result.notes,
                }
            )
            print(line, file=out)
        else:
            print(result.signature, file=out)
    return status


def _why(decision: FrameDecision, lists: SignatureLists | None) -> str:
    """Which list entry made the decision (irrelevant and prefix verdicts only)."""
    verdict = decision.verdict.split(", ")[-1]
    if lists is None or verdict not in ("irrelevant", "prefix"):
        return ""
    entries = lists.irrelevant_entries if verdict == "irrelevant" else lists.prefix_entries
    entry = lists.first_match(entries, decision.frame)
    return f" [{entry}]" if entry else ""


def explain(result: Result, out: TextIO, lists: SignatureLists | None = None) -> None:
    """Print frame-by-frame decisions (with the matching list entry when ``lists`` is
    given) and the rules that changed the signature."""
    uses = [
        line.split(": using ", 1)[1]
        for line in result.debug_log
        if line.startswith("SignatureGenerationRule: using ")
    ]
    if uses:
        sources = f" ({', '.join(uses[1:])})" if len(uses) > 1 else ""
        print(f"Tool: {uses[0]}{sources}", file=out)
    decisions: list[FrameDecision] = result.extra.get("frame_decisions", [])
    if decisions:
        print("Frames:", file=out)
        width = max(len(str(d.index)) for d in decisions)
        for decision in decisions:
            verdict = decision.verdict
            if verdict.startswith("sentinel, "):
                text = "sentinel: start here; " + VERDICTS[verdict.split(", ", 1)[1]]
            else:
                text = VERDICTS[verdict]
            why = _why(decision, lists)
            print(f"  {decision.index:>{width}}  {text:<42} {decision.frame!r}{why}", file=out)
    print("Rules that changed the signature:", file=out)
    for rule, old, new in result.changes:
        print(f"  {rule}: {old!r} -> {new!r}", file=out)
    if not result.changes:
        print("  (none)", file=out)
    print(f"Notes: {len(result.notes)}", file=out)
    for note in result.notes:
        print(f"  {note}", file=out)
    print(f"Proto signature: {result.proto_signature}", file=out)
    print(f"Signature: {result.signature}", file=out)


def generator_lists(generator: SignatureGenerator) -> SignatureLists | None:
    """The lists of the generator's SignatureGenerationRule, if it has one."""
    for rule in generator.ruleset:
        if isinstance(rule, SignatureGenerationRule):
            return rule.c_tool.lists
    return None


def cmd_explain(args: argparse.Namespace, generator: SignatureGenerator, out: TextIO) -> int:
    status = 0
    for where, crash in read_crashes([args.file], sys.stdin):
        usable, ok = _checked(where, crash, True, sys.stderr)
        status = status if ok else 1
        if usable:
            print(f"== {where}", file=out)
            explain(generator.generate(crash), out, generator_lists(generator))
    return status


def cmd_fixture(args: argparse.Namespace, generator: SignatureGenerator, out: TextIO) -> int:
    try:
        processed = json.loads(Path(args.processed_crash).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(
            f"error: {args.processed_crash}: cannot read JSON ({type(exc).__name__})",
            file=sys.stderr,
        )
        return 1
    if not isinstance(processed, dict):
        print(f"error: {args.processed_crash}: not a JSON object", file=sys.stderr)
        return 1
    crash_data = convert_to_crash_data(processed)
    result = generator.generate(crash_data)
    fixture = {
        "description": args.description or f"generated from {Path(args.processed_crash).name}",
        # The expectation is our own output: no reference stands behind it until someone
        # checks it against siggen or Socorro and marks it so (tests/signature/test_fixtures.py).
        "source": "ours",
        "crash_data": crash_data,
        "expected_signature": result.signature,
        "expected_proto_signature": result.proto_signature,
    }
    text = json.dumps(fixture, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        out.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crashproc-signature", description=__doc__.split("\n")[0])
    add_version_argument(parser)
    parser.add_argument(
        "--signature-list-dir",
        metavar="DIR",
        help="directory with the four signature list .txt files (default: bundled lists)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser("generate", help="print one signature per crash")
    gen.add_argument(
        "files", nargs="*", metavar="FILE", help="crash data files, - for stdin (default: stdin)"
    )
    gen.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: one signature per line; json: one object per line with the proto "
        "signature and notes (default: %(default)s)",
    )
    gen.add_argument(
        "--lenient",
        action="store_true",
        help="generate even for crash data that fails the schema (report a warning)",
    )
    gen.set_defaults(handler=cmd_generate)

    exp = sub.add_parser("explain", help="show why each frame was kept or skipped")
    exp.add_argument("file", metavar="FILE", help="crash data file, - for stdin")
    exp.set_defaults(handler=cmd_explain)

    fix = sub.add_parser("fixture", help="write a test fixture from a processed crash")
    fix.add_argument(
        "processed_crash", metavar="PROCESSED_CRASH.json", help="a processed crash (JSON)"
    )
    fix.add_argument("-o", "--out", metavar="PATH", help="write to PATH instead of stdout")
    fix.add_argument("--output", dest="out", help=argparse.SUPPRESS)  # the flag's former name
    fix.add_argument(
        "--description",
        help="fixture description (default: generated from PROCESSED_CRASH.json's name)",
    )
    fix.set_defaults(handler=cmd_fixture)
    return parser


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        generator = SignatureGenerator(signature_list_dir=args.signature_list_dir)
    except SignatureListError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return args.handler(args, generator, sys.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``signature`` console script; returns the exit status."""
    return run_main(lambda: _run(argv))


if __name__ == "__main__":
    sys.exit(main())
