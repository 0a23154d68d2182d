"""How a crash was processed (``processed_with``), and what reprocessing it now would lose.

A processed crash's stack is only as good as the symbols and the stackwalker it was made with,
and neither is in the crash: reprocessing with a configuration that lacks a symbol source
silently turns ``CrashFunction`` back into ``test_app.exe``. So every pass records how it ran
(crashproc's version, the ruleset, the stackwalker backend and its version, the symbol sources),
and ``crashproc reprocess`` compares that record with its own configuration before it
overwrites anything.

Symbol source locations are stored in public crashes: URLs lose credentials, query and
fragment (as in the symbolication notes); paths are made absolute, so a crash processed with
``--symbols-path syms`` in one directory and reprocessed with the same store named by the
configuration file (whose paths are absolute) is seen to have the same source.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import crashproc
from processor.config import Settings
from processor.resources.stackwalker import Stackwalker
from processor.resources.symbols import public_location

FIELD = "processed_with"
BUILTIN, EXTERNAL, NONE = "builtin", "external", "none"
PATH, URL = "path", "url"
# stackwalk_version of a dump whose stored stackwalker output was used as is.
PRECOMPUTED = "precomputed"
BUILTIN_VERSION_PREFIX = "crashproc-stackwalk"


def symbol_sources(settings: Settings) -> list[dict[str, str]]:
    """The configured symbol sources as the record lists them (URLs redacted)."""
    return [
        {"kind": PATH, "location": os.path.abspath(path)} for path in settings.symbols_paths
    ] + [{"kind": URL, "location": public_location(url)} for url in settings.symbols_urls]


def configured_backend(settings: Settings) -> str:
    """The backend a pipeline built from ``settings`` walks with, without building it.

    The same choice as ``RulesetContext.stackwalker``: ``auto`` is the external command when it
    is found, else the built-in one.
    """
    if settings.stackwalker in (BUILTIN, NONE, EXTERNAL):
        return settings.stackwalker
    return EXTERNAL if shutil.which(settings.stackwalker_command) else BUILTIN


def stackwalker_record(stackwalker: Stackwalker | None) -> dict[str, Any]:
    """Backend and version of a pipeline's stackwalker (None: no stackwalker)."""
    if stackwalker is None:
        return {"backend": NONE, "version": None}
    backend = stackwalker.kind
    version = crashproc.version() if backend == BUILTIN else stackwalker.version
    return {"backend": backend, "version": version}


def _source_key(source: Any) -> tuple[str, str] | None:
    if not isinstance(source, dict):
        return None
    kind, location = source.get("kind"), source.get("location")
    if not (isinstance(kind, str) and isinstance(location, str)):
        return None
    return kind, os.path.abspath(location) if kind == PATH else location


def _dump_results(processed: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(dump name, its stackwalk fields): the main dump's are top level, the others nested."""
    yield "upload_file_minidump", processed
    for name in processed.get("additional_minidumps") or []:
        if isinstance(name, str) and isinstance(processed.get(name), dict):
            yield name, processed[name]


def modules_with_symbols(processed: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(dump name, module file name, base address) of every module whose symbols loaded."""
    found = set()
    for name, result in _dump_results(processed):
        json_dump = result.get("json_dump")
        modules = json_dump.get("modules") if isinstance(json_dump, dict) else None
        for module in modules if isinstance(modules, list) else []:
            if isinstance(module, dict) and module.get("loaded_symbols") is True:
                found.add((name, str(module.get("filename")), str(module.get("base_addr"))))
    return found


@dataclass(frozen=True)
class Baseline:
    """What a stored processed crash was made with, recorded or (for crashes processed before
    the record existed) inferred from its output; None where it cannot be told."""

    backend: str | None
    # (kind, location) of each symbol source; None when there is no record.
    sources: frozenset[tuple[str, str]] | None
    # Whether the output shows symbols found (loaded modules, code-info recoveries).
    had_symbols: bool


def _inferred_backend(processed: dict[str, Any]) -> str | None:
    version = processed.get("stackwalk_version")
    if processed.get("mdsw_status_string") == "no stackwalker":
        return NONE
    if not isinstance(version, str) or not version or version == PRECOMPUTED:
        return None
    return BUILTIN if version.startswith(BUILTIN_VERSION_PREFIX) else EXTERNAL


def _recovered_any(processed: dict[str, Any]) -> bool:
    for _, result in _dump_results(processed):
        symbolication = result.get("symbolication")
        if isinstance(symbolication, dict) and symbolication.get("recovered_modules"):
            return True
    return False


def baseline(processed: dict[str, Any]) -> Baseline:
    """The stored crash's record, or what its output says when it has none.

    A ruleset that does not walk (``regenerate_signature``) records no stackwalker or sources;
    the walk's own record stays, so the baseline is always the pass that made the stack.
    """
    had_symbols = bool(modules_with_symbols(processed)) or _recovered_any(processed)
    record = processed.get(FIELD)
    record = record if isinstance(record, dict) else {}
    stackwalker = record.get("stackwalker")
    backend = stackwalker.get("backend") if isinstance(stackwalker, dict) else None
    if not isinstance(backend, str):
        backend = _inferred_backend(processed)
    sources = record.get("symbol_sources")
    keys = None
    if isinstance(sources, list):
        keys = frozenset(k for k in map(_source_key, sources) if k is not None)
    return Baseline(backend, keys, had_symbols)


def losses(before: Baseline, backend: str, sources: list[dict[str, str]]) -> list[str]:
    """What processing with ``backend`` and ``sources`` now would lack, one phrase each; empty
    when it has everything the stored crash was made with."""
    now = {k for k in map(_source_key, sources) if k is not None}
    problems = []
    if before.backend is not None and before.backend != backend:
        problems.append(f"the {before.backend} stackwalker (now: {backend})")
    if before.sources is not None:
        for kind, location in sorted(before.sources - now):
            problems.append(f"symbol {kind} {location}")
    elif before.had_symbols and not now:
        problems.append("symbols (found before processing was recorded; no source is configured)")
    return problems
