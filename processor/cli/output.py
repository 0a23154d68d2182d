"""How processed crashes are printed and written: compact JSON, the one-line summary."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from processor.jsontext import dumps_utf8


def dumps_json(document: Any) -> str:
    """Compact JSON that any UTF-8 output accepts (see processor.jsontext)."""
    return dumps_utf8(document, separators=(",", ":"))


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
