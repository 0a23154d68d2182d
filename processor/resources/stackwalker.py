"""Run a minidump-stackwalk compatible command as a subprocess.

A subprocess keeps a hostile minidump from taking the processor down: a hang is killed at the
deadline, a crash is an exit status, and an absurd output is cut at a size limit. Every failure
comes back as data (return code, status, a problem string), never as an exception.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from processor.regularfiles import UnsafeFile, read_regular_file
from processor.scratch import make_crash_directory

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024 * 1024
STDERR_TAIL_LINES = 10
TIMEOUT_RETURN_CODE = -9


@dataclass
class WalkOutcome:
    """What one stackwalker run produced."""

    output: dict[str, Any] | None
    return_code: int
    stderr: str = ""
    problem: str | None = None
    # Modules the walk found by code-info lookup (the built-in walker knows; rust-minidump's
    # output does not say).
    recovered: list[dict[str, Any]] = field(default_factory=list)
    # One line per stackwalker cap that triggered (stackwalk.limits), for processing notes.
    notes: list[str] = field(default_factory=list)


class Stackwalker(Protocol):
    """A stackwalker backend: walks one dump into minidump-stackwalk's JSON.

    ``kind`` names the backend in metrics and in the processed crash's ``processed_with``;
    ``uses_symbol_provider`` says whether it reads symbols through the pipeline's own provider
    (so a module recovered after the walk is found if the dump is walked again).
    """

    kind: str
    uses_symbol_provider: bool

    @property
    def version(self) -> str: ...

    def walk(self, dump_path: str, raw_crash: dict[str, Any], workdir: str) -> WalkOutcome:
        """Walk the dump at ``dump_path``; ``raw_crash`` is what --evil-json gives
        minidump-stackwalk, ``workdir`` the crash's scratch directory (not yet made, perhaps:
        see processor.scratch)."""
        ...


@functools.cache
def command_version(command: str) -> str:
    """What ``command --version`` prints; cached, because every processed crash records it and
    the answer cannot change while the process runs."""
    try:
        done = subprocess.run(
            [command, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc.__class__.__name__})"
    return done.stdout.strip() or f"unknown ({Path(command).name})"


def tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    """The last ``lines`` lines, with ``...`` in front when something was cut."""
    parts = text.rstrip("\n").splitlines()
    if len(parts) <= lines:
        return "\n".join(parts)
    return "...\n" + "\n".join(parts[-lines:])


@dataclass
class ExternalStackwalker:
    """minidump-stackwalk (rust-minidump) or a compatible command, run once per dump."""

    kind = "external"
    # It reads symbols itself, from the same stores and servers but not through our provider.
    uses_symbol_provider = False

    command: str
    symbols_paths: list[str] = field(default_factory=list)
    symbols_urls: list[str] = field(default_factory=list)
    symbols_cache: str | None = None
    extra_args: list[str] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    # The caps the built-in walker applies while walking, applied here to the output
    # (stackwalk.limits.WalkLimits; None: none), so both backends hand over the same bounds.
    limits: Any = None

    @classmethod
    def find(cls, command: str = "minidump-stackwalk", **kwargs: Any) -> ExternalStackwalker | None:
        """The stackwalker at ``command`` (a path or a name on PATH), or None when absent."""
        resolved = shutil.which(command)
        return cls(command=resolved, **kwargs) if resolved else None

    @property
    def version(self) -> str:
        """``minidump-stackwalk --version``, asked once per process."""
        return command_version(self.command)

    def argv(
        self, dump_path: str, evil_json_path: str | None, output_path: str, log_path: str
    ) -> list[str]:
        argv = [self.command, "--json", "--no-color", "--verbose=error"]
        argv += [f"--output-file={output_path}", f"--log-file={log_path}"]
        if evil_json_path:
            argv.append(f"--evil-json={evil_json_path}")
        if self.symbols_cache:
            argv.append(f"--symbols-cache={self.symbols_cache}")
        argv += [f"--symbols-url={url}" for url in self.symbols_urls]
        argv += [*self.extra_args, dump_path, *self.symbols_paths]
        return argv

    def walk(self, dump_path: str, raw_crash: dict[str, Any], workdir: str) -> WalkOutcome:
        evil_json_path = write_evil_json(raw_crash, workdir)
        stem = os.path.join(workdir, Path(dump_path).name)
        output_path, log_path = stem + ".stackwalk.json", stem + ".stackwalk.log"
        argv = self.argv(dump_path, evil_json_path, output_path, log_path)
        try:
            return_code = run_with_deadline(argv, self.timeout)
        except OSError as exc:
            return WalkOutcome(
                None, -1, problem=f"cannot run the stackwalker: {exc.__class__.__name__}"
            )
        stderr = ""
        if os.path.exists(log_path):
            with open(log_path, "rb") as fp:
                fp.seek(max(0, os.path.getsize(log_path) - 64 * 1024))
                stderr = tail(fp.read().decode("utf-8", errors="replace"))
        if return_code == TIMEOUT_RETURN_CODE:
            return WalkOutcome(
                None, return_code, stderr, f"timeout after {self.timeout:g}s (SIGKILL)"
            )
        if return_code != 0:
            return WalkOutcome(None, return_code, stderr, f"failed with exit code {return_code}")
        output, problem = read_output(output_path, self.max_output_bytes)
        notes = []
        if output is not None and self.limits is not None:
            from stackwalk.limits import limit_document

            notes = limit_document(output, self.limits)
        return WalkOutcome(output, return_code, stderr, problem, notes=notes)


def write_evil_json(raw_crash: dict[str, Any], workdir: str) -> str:
    """The raw crash as the --evil-json file minidump-stackwalk reads annotation-supplied facts
    from (module signature info, CPU microcode); written once per crash."""
    make_crash_directory(workdir)
    evil_json_path = os.path.join(workdir, "raw_crash.json")
    if not os.path.exists(evil_json_path):
        with open(evil_json_path, "w", encoding="utf-8") as fp:
            json.dump(raw_crash, fp, default=str)
    return evil_json_path


def run_with_deadline(argv: list[str], timeout: float) -> int:
    """Run ``argv`` in its own process group; the whole group is killed at the deadline.

    Output goes to files named on the command line, so no pipe can keep us waiting on a
    child the command forked.
    """
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return TIMEOUT_RETURN_CODE
    except BaseException:
        # Interrupted (a worker stopping, Ctrl-C): the walk is abandoned, so is its group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def read_output(
    path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
) -> tuple[Any, str | None]:
    """Parse a stackwalker JSON output file; returns (output, problem)."""
    try:
        # A stored output comes from a crash directory: a regular file, not a link or a pipe.
        output = json.loads(read_regular_file(path, max_bytes))
    except UnsafeFile as exc:
        problem = str(exc).rpartition(": ")[2]
        return None, f"output refused: {problem}"
    except OSError as exc:
        return None, f"cannot read output: {exc.__class__.__name__}"
    except (ValueError, RecursionError) as exc:
        return None, f"non-json output: {exc.__class__.__name__}"
    if not isinstance(output, dict):
        return None, f"unexpected output: a JSON {type(output).__name__}, not an object"
    return output, None
