"""Read a crash directory: ``raw_crash.json``, dump files named by form field, optional outputs.

A crash directory is what a collector would have stored for one report. The loader plays the
collector's part for hand-made directories (assigning a crash id and a submission time when
they are missing) and turns every problem into either a clear error naming the directory (the
crash cannot be processed) or a note (it can, with less data).
"""

from __future__ import annotations

import datetime
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processor.crashid import crash_id_problem, derive_crash_id
from processor.jsontext import loads_clean, surrogate_note
from processor.regularfiles import UnsafeFile, read_regular_file, regular_file_problem

RAW_CRASH_FILE = "raw_crash.json"
PRECOMPUTED_SUFFIX = ".json"
DUMP_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
# A raw crash or a dump larger than these is not a crash report but an accident or an attack
# (the processor.max_raw_crash_size and processor.max_dump_size settings).
MAX_RAW_CRASH_BYTES = 64 * 1024 * 1024
MAX_DUMP_BYTES = 256 * 1024 * 1024


class CrashInputError(Exception):
    """A crash directory that cannot be processed at all; the message names it."""


@dataclass
class CrashInput:
    """Everything the pipeline needs from one crash directory."""

    path: Path
    crash_id: str
    raw_crash: dict[str, Any]
    dumps: dict[str, str]
    notes: list[str] = field(default_factory=list)


def precomputed_output_path(dump_path: str | Path) -> Path:
    """Where a stored stackwalker output for ``dump_path`` lives (``<dump name>.json``)."""
    dump_path = Path(dump_path)
    return dump_path.with_name(dump_path.name + PRECOMPUTED_SUFFIX)


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def load_raw_crash(
    path: Path, notes: list[str] | None = None, max_bytes: int = MAX_RAW_CRASH_BYTES
) -> dict[str, Any]:
    """Parse ``raw_crash.json``; any problem is a CrashInputError naming the file. Only a
    regular file (not a link) of at most ``max_bytes`` is read. Text no UTF-8 can hold is
    replaced, with a note in ``notes``."""
    try:
        data = read_regular_file(path, max_bytes)
    except FileNotFoundError:
        raise CrashInputError(
            f"{path.parent}: no {RAW_CRASH_FILE} in the crash directory"
        ) from None
    except UnsafeFile as exc:
        raise CrashInputError(f"raw crash refused: {exc}") from None
    except OSError as exc:
        raise CrashInputError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    try:
        raw_crash, replaced = loads_clean(data.decode("utf-8", errors="replace"))
    except RecursionError:
        raise CrashInputError(f"{path}: not valid JSON (nested too deeply)") from None
    except ValueError as exc:
        raise CrashInputError(f"{path}: not valid JSON ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(raw_crash, dict):
        raise CrashInputError(f"{path}: expected a JSON object, got {type(raw_crash).__name__}")
    if replaced and notes is not None:
        notes.append(surrogate_note(replaced, RAW_CRASH_FILE))
    return raw_crash


def assign_crash_id(raw_crash: dict[str, Any], content: bytes, dumps: dict[str, str]) -> str:
    """Give a crash without a uuid the id its content makes, dated by its submission.

    The same directory processed or submitted twice is then one crash (the same id, stored
    once), as a client's retried upload with its own id would be: a random id would make
    a new crash each time. The dumps count by name and size.
    """
    for name, dump_path in sorted(dumps.items()):
        content += f"\0{name}\0{os.stat(dump_path).st_size}".encode()
    crash_id = derive_crash_id(content, _submitted(raw_crash.get("submitted_timestamp")))
    raw_crash["uuid"] = crash_id
    return crash_id


def _submitted(value: object) -> datetime.datetime:
    """The submission time a raw crash states, else now (UTC)."""
    if isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return _utc_now()
        return moment.astimezone(datetime.UTC) if moment.tzinfo else moment
    return _utc_now()


def load_crash_dir(
    path: str | Path,
    max_raw_crash_size: int = MAX_RAW_CRASH_BYTES,
    max_dump_size: int = MAX_DUMP_BYTES,
) -> CrashInput:
    """Load one crash directory, assigning collector fields that a hand-made one lacks.

    Only regular files count: a symbolic link, a named pipe or a device is ignored with a note,
    never followed or read, and so is a dump over ``max_dump_size`` bytes.
    """
    path = Path(path)
    if not path.is_dir():
        raise CrashInputError(f"{path}: not a crash directory")
    notes: list[str] = []
    raw_crash = load_raw_crash(path / RAW_CRASH_FILE, notes, max_raw_crash_size)

    crash_id = raw_crash.get("uuid")
    if crash_id is not None:
        problem = crash_id_problem(crash_id)
        if problem:
            raise CrashInputError(f"{path}: {problem}")
    # Read before the collector fields are filled in: the id of a crash without one is
    # derived from what the directory holds (see assign_crash_id).
    content = json.dumps(raw_crash, sort_keys=True, ensure_ascii=True).encode()
    if "submitted_timestamp" not in raw_crash:
        raw_crash["submitted_timestamp"] = _utc_now().isoformat()
        notes.append("submitted_timestamp assigned: the raw crash had none")

    dumps: dict[str, str] = {}
    for entry in sorted(path.iterdir()):
        name = entry.name
        if name == RAW_CRASH_FILE or name.startswith("."):
            continue
        if name.endswith(PRECOMPUTED_SUFFIX) and DUMP_NAME_RE.match(
            name[: -len(PRECOMPUTED_SUFFIX)]
        ):
            if problem := regular_file_problem(entry):
                notes.append(f"ignored {name[:100]!r}: {problem}")
            continue  # a stored stackwalker output, found beside its dump by the stackwalk rule
        problem = regular_file_problem(entry, max_dump_size)
        if problem:
            notes.append(f"ignored {name[:100]!r}: {problem}")
        elif not DUMP_NAME_RE.match(name):
            notes.append(f"ignored file {name[:100]!r}: not a dump form-field name")
        else:
            dumps[name] = str(entry)

    for entry in sorted(path.glob("*" + PRECOMPUTED_SUFFIX)):
        dump_name = entry.name[: -len(PRECOMPUTED_SUFFIX)]
        if (
            entry.name != RAW_CRASH_FILE
            and DUMP_NAME_RE.match(dump_name)
            and dump_name not in dumps
        ):
            notes.append(f"ignored {entry.name!r}: a stored stackwalker output without its dump")

    if crash_id is None:
        crash_id = assign_crash_id(raw_crash, content, dumps)
        notes.insert(0, "crash id assigned: the raw crash had no uuid")

    metadata = raw_crash.get("metadata")
    checksums = metadata.get("dump_checksums") if isinstance(metadata, dict) else None
    if isinstance(checksums, dict):
        for name in sorted(checksums):
            if isinstance(name, str) and name not in dumps:
                notes.append(f"dump {name[:100]!r} is listed in the raw crash but missing")
    return CrashInput(path=path, crash_id=crash_id, raw_crash=raw_crash, dumps=dumps, notes=notes)
