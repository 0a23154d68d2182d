"""Records and notes of modules found by code-info lookup.

Both the built-in stackwalker backend (which recovers modules while it walks) and the
symbolication rule (which recovers them in a stored or external output) report a recovery the
same way: one record in ``symbolication.recovered_modules`` and one note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from symbols.provider import ModuleSymbols


def recovery_record(code_file: str | None, code_id: str | None, found: ModuleSymbols) -> dict:
    """`code_file` may be a full path (as the dump gives it); the record keeps its basename."""
    filename = (code_file or "").replace("\\", "/").rsplit("/", 1)[-1]
    return {
        "filename": filename or None,
        "code_id": code_id,
        "debug_file": found.lookup.debug_file,
        "debug_id": found.lookup.debug_id,
        "symbols_found": found.symbols is not None,
    }


def recovered_note(record: Mapping[str, Any]) -> str:
    code_id = str(record.get("code_id") or "").upper()
    return (
        f"code-info lookup: {record.get('filename')}/{code_id} -> "
        f"{record.get('debug_file')}/{record.get('debug_id')}"
    )
