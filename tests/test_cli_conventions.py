"""The commands (``crashproc``, ``stackwalk``, ``signature``, ``symbols``) behave as one program.

Every one prints ``--version``, documents each argument and its default, and ends quietly
(status 141, nothing on stderr) when the reader of its output goes away, as ``| head`` does.
The installed console scripts are run, through real pipes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import crashproc
from crashproc.cli import EXIT_CLOSED_PIPE
from processor.cli import build_parser as crashproc_parser
from signature.cli import build_parser as signature_parser
from stackwalk.cli import build_parser as stackwalk_parser
from symbols.cli import build_parser as symbols_parser
from tests.cli_conventions import arguments_without_help, defaults_not_shown

PARSERS = {
    "crashproc": crashproc_parser,
    "stackwalk": stackwalk_parser,
    "crashproc-signature": signature_parser,
    "symbols": symbols_parser,
}
MODULES = {
    "crashproc": "processor",
    "stackwalk": "stackwalk.cli",
    "crashproc-signature": "signature.cli",
    "symbols": "symbols.cli",
}


def command(name: str) -> list[str]:
    """The console script installed beside this Python (else its module, same entry)."""
    script = Path(sys.executable).with_name(name)
    return [str(script)] if script.is_file() else [sys.executable, "-m", MODULES[name]]


def first_line_then_close(argv: list[str]) -> tuple[bytes, int, bytes]:
    """Run argv into a pipe, read one line and close the pipe, as ``| head -1`` does.

    The output must be well beyond a pipe's capacity (64 KiB) so the command is still
    writing when the reader goes away.
    """
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    return first, proc.wait(), err


@pytest.mark.parametrize("name", PARSERS)
def test_every_argument_has_help(name: str) -> None:
    assert arguments_without_help(PARSERS[name]()) == []


@pytest.mark.parametrize("name", PARSERS)
def test_help_shows_the_defaults(name: str) -> None:
    assert defaults_not_shown(PARSERS[name]()) == []


def test_symbols_serve_help_shows_its_defaults() -> None:
    serve = symbols_parser()._subparsers._group_actions[0].choices["serve"]
    text = " ".join(serve.format_help().split())
    assert (
        "--host HOST address to listen on (default: 127.0.0.1; config symbols_server.host" in text
    )
    assert "--port PORT port to listen on (default: 8000; config symbols_server.port" in text
    assert (
        "(default: 2; config symbols_server.workers, env CRASHPROC_SYMBOLS_SERVER_WORKERS)" in text
    )


def test_the_checks_find_what_they_look_for() -> None:
    parser = argparse.ArgumentParser(prog="p")
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("child", help="a subcommand")
    child.add_argument("path")
    child.add_argument("--port", type=int, default=8000, help="port to listen on")
    child.add_argument("--format", default="text")
    child.add_argument("--old-name", help=argparse.SUPPRESS)
    sub.add_parser("bare")
    assert arguments_without_help(parser) == ["p: bare", "p child: path", "p child: --format"]
    assert defaults_not_shown(parser) == [
        "p child: --port (default 8000)",
        "p child: --format (default 'text')",
    ]


@pytest.mark.parametrize("name", PARSERS)
def test_version(name: str) -> None:
    proc = subprocess.run([*command(name), "--version"], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"{name} {crashproc.version()}\n", "")


def test_symbols_check_into_a_closed_pipe(tmp_path: Path) -> None:
    bad = "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 a.so\n"
    bad += "FUNC zz malformed\n" * 2000
    files = []
    for n in range(10):  # a report is capped at 1000 defects a file: take many files
        path = tmp_path / f"bad{n}.sym"
        path.write_text(bad)
        files.append(str(path))
    first, status, err = first_line_then_close([*command("symbols"), "check", *files])
    assert first.startswith(f"{files[0]}: line 2: ".encode())
    assert (status, err) == (EXIT_CLOSED_PIPE, b"")


def test_signature_generate_into_a_closed_pipe(tmp_path: Path) -> None:
    crashes = [
        {"threads": [{"frames": [{"function": f"nsFoo{n}::" + "x" * 300}]}], "crashing_thread": 0}
        for n in range(1000)
    ]
    path = tmp_path / "crashes.json"
    path.write_text(json.dumps(crashes))
    first, status, err = first_line_then_close(
        [*command("crashproc-signature"), "generate", str(path)]
    )
    assert first.startswith(b"nsFoo0::xxx")
    assert (status, err) == (EXIT_CLOSED_PIPE, b"")


def test_stackwalk_into_a_pipe_already_closed(testdata_dir: Path) -> None:
    # Its output is smaller than a pipe holds: the reader is gone before it starts.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [*command("stackwalk"), str(testdata_dir / "test.dmp"), "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (EXIT_CLOSED_PIPE, b"")
