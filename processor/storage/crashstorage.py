"""Crash storage: where a crash's raw data, dumps and processed results live.

The layout is the one Socorro uses in its buckets, over any ObjectStore::

    v1/raw_crash/{yyyymmdd}/{crash_id}       raw crash (JSON)
    v1/dump_names/{crash_id}                 JSON list of the crash's dump names
    v1/{dump_name}/{crash_id}                each dump, under its form-field name
    v1/{dump_name}.json/{crash_id}           a stored stackwalker output for that dump, if any
    v1/processed_crash/{crash_id}            processed crash (JSON, protected data included)
    v1/processed_crash_public/{crash_id}     its public (redacted) copy
    v1/queued/{crash_id}                     empty: the crash was handed to the queue

Dump names cannot contain a dot, so ``{dump_name}.json`` never collides with a dump; the
names of the other kinds are refused as dump names. A raw crash is written last, after its
dumps, so a crash whose raw crash exists is complete. Crash ids are validated before any key
is built: they come from queues, files and command lines.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from processor.crashdir import (
    DUMP_NAME_RE,
    MAX_DUMP_BYTES,
    PRECOMPUTED_SUFFIX,
    CrashInput,
    precomputed_output_path,
)
from processor.crashid import crash_id_problem, date_from_crash_id, validate_crash_id
from processor.jsontext import compact_json, dumps_utf8, loads_clean, surrogate_note
from processor.regularfiles import UnsafeFile, open_regular_file, regular_file_problem
from processor.scratch import make_crash_directory
from processor.storage.objectstore import KeyNotFound, ObjectStore, StorageError, StoredObject

logger = logging.getLogger(__name__)

PREFIX = "v1"
RAW_CRASH = "raw_crash"
DUMP_NAMES = "dump_names"
PROCESSED = "processed_crash"
PROCESSED_PUBLIC = "processed_crash_public"
RESERVED_NAMES = frozenset({RAW_CRASH, DUMP_NAMES, PROCESSED, PROCESSED_PUBLIC})
DATE_FORMAT = "%Y%m%d"

# Called with (crash_id, processed_crash) after a processed crash and its public copy are saved.
ProcessedListener = Callable[[str, dict[str, Any]], None]
PublicView = Callable[[dict[str, Any]], dict[str, Any]]


class CrashNotFound(KeyNotFound):
    """The crash (or the requested part of it) is not stored."""


class CorruptCrashData(StorageError):
    """A stored document is not the JSON object it should be."""


class ListenerError(StorageError):
    """A processed-crash listener failed after the crash was saved."""


def check_dump_name(name: object) -> str:
    if not isinstance(name, str) or not DUMP_NAME_RE.match(name):
        raise StorageError(f"invalid dump name {str(name)[:100]!r}")
    if name in RESERVED_NAMES:
        raise StorageError(f"dump name {name!r} is reserved by the storage layout")
    return name


def raw_crash_key(crash_id: str) -> str:
    date = date_from_crash_id(crash_id)  # validates the crash id
    return f"{PREFIX}/{RAW_CRASH}/{date:{DATE_FORMAT}}/{crash_id}"


def dump_names_key(crash_id: str) -> str:
    return f"{PREFIX}/{DUMP_NAMES}/{validate_crash_id(crash_id)}"


def dump_key(crash_id: str, name: str) -> str:
    return f"{PREFIX}/{check_dump_name(name)}/{validate_crash_id(crash_id)}"


def output_key(crash_id: str, name: str) -> str:
    return f"{PREFIX}/{check_dump_name(name)}{PRECOMPUTED_SUFFIX}/{validate_crash_id(crash_id)}"


def processed_key(crash_id: str, public: bool = False) -> str:
    kind = PROCESSED_PUBLIC if public else PROCESSED
    return f"{PREFIX}/{kind}/{validate_crash_id(crash_id)}"


def encode_json(document: Any) -> bytes:
    """Compact UTF-8 JSON; text UTF-8 cannot hold (lone surrogates) is replaced, never fatal."""
    try:
        return compact_json(document)
    except UnicodeEncodeError:
        return dumps_utf8(document, separators=(",", ":")).encode("utf-8")


def decode_json_object(data: bytes, key: str, replaced: list[str] | None = None) -> dict[str, Any]:
    """The stored JSON object; the paths of text replaced on the way go to ``replaced``."""
    try:
        document, paths = loads_clean(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CorruptCrashData(f"{key}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(document, dict):
        raise CorruptCrashData(f"{key}: expected a JSON object, got {type(document).__name__}")
    if replaced is not None:
        replaced.extend(paths)
    return document


def _bundled_public_view() -> PublicView:
    from schemas.library import load_schema

    return load_schema("processed_crash").public_view


class CrashStorage:
    """Saves and loads crashes in the v1 layout over an ObjectStore.

    ``public_view`` turns a processed crash into its public copy (by default the bundled
    processed-crash schema's redaction). ``processed_listeners`` run after every processed
    crash is saved; their failures are raised (after all of them ran) so that a caller who
    acks only successful work retries the crash rather than losing, say, an index entry.
    """

    def __init__(self, store: ObjectStore, public_view: PublicView | None = None):
        self.store = store
        self._public_view = public_view
        self.processed_listeners: list[ProcessedListener] = []

    def describe(self) -> str:
        return self.store.describe()

    def public_view(self, processed: dict[str, Any]) -> dict[str, Any]:
        if self._public_view is None:
            self._public_view = _bundled_public_view()
        return self._public_view(processed)

    # -- raw crashes ------------------------------------------------------------------------

    def save_raw_crash(
        self,
        crash_id: str,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str | Path],
        outputs: Mapping[str, str | Path] | None = None,
        max_file_size: int = MAX_DUMP_BYTES,
    ) -> None:
        """Store a raw crash with its dump files (name -> path) and stored stackwalker outputs.

        Each file is copied only if it is a regular file (a symbolic link is never followed)
        of at most ``max_file_size`` bytes, checked on the open file: a StorageError otherwise.
        The raw crash goes last: its presence marks a complete crash.
        """
        raw_key = raw_crash_key(crash_id)
        names = sorted(dumps)
        for name in [*names, *(outputs or {})]:
            check_dump_name(name)  # all names are checked before anything is written
        for name in names:
            self._put_crash_file(dump_key(crash_id, name), dumps[name], max_file_size)
        for name, path in sorted((outputs or {}).items()):
            if name not in dumps:
                raise StorageError(f"stored output for {name!r} without its dump")
            self._put_crash_file(output_key(crash_id, name), path, max_file_size)
        self.store.put(dump_names_key(crash_id), encode_json(names))
        self.store.put(raw_key, encode_json(raw_crash))

    def _put_crash_file(self, key: str, path: str | Path, max_bytes: int) -> None:
        try:
            with open_regular_file(path, max_bytes) as stream:
                self.store.put_stream(key, stream)
        except UnsafeFile as exc:
            raise StorageError(f"refused to store {exc}") from None

    def has_raw_crash(self, crash_id: str) -> bool:
        return self.store.exists(raw_crash_key(crash_id))

    def load_raw_crash(self, crash_id: str) -> dict[str, Any]:
        return self._load_object(raw_crash_key(crash_id), crash_id, "raw crash")

    def load_dump_names(self, crash_id: str) -> list[str]:
        key = dump_names_key(crash_id)
        try:
            data = self.store.get(key)
        except KeyNotFound:
            return []
        try:
            names = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise CorruptCrashData(f"{key}: not valid JSON ({exc.__class__.__name__})") from None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise CorruptCrashData(f"{key}: expected a list of dump names")
        return names

    def open_dump(self, crash_id: str, name: str) -> StoredObject:
        """The dump ``name`` of the crash, opened for streaming. ``name`` may come from a
        request: it is looked up among the names stored for the crash (never made into a key
        otherwise), so CrashNotFound for any other name, as for a listed but missing dump."""
        if name not in self.load_dump_names(crash_id):
            raise CrashNotFound(f"crash {crash_id}: no such dump")
        try:
            return self.store.open(dump_key(crash_id, name))
        except KeyNotFound:
            raise CrashNotFound(f"crash {crash_id}: dump {name!r} is not in storage") from None

    def fetch_dumps(self, crash_id: str, directory: str | Path) -> tuple[dict[str, str], list[str]]:
        """The crash's dumps as local files: read in place where the store keeps them on this
        machine, else copied into ``directory`` (made when first needed) with any stored
        output beside each.

        Returns (name -> local path, notes). A listed dump that is missing or has a bad name
        costs a note, not the crash. A dump in place is only read: copying it cost a file
        creation per dump (the most expensive thing a filesystem does, here about half a
        millisecond of kernel time) and a second place holding protected data.
        """
        directory = Path(directory)
        dumps: dict[str, str] = {}
        notes: list[str] = []
        for name in self.load_dump_names(crash_id):
            try:
                key = dump_key(crash_id, name)
            except StorageError:
                notes.append(f"storage: ignored dump with an invalid name {name[:100]!r}")
                continue
            # A stored output is found beside its dump (precomputed_output_path), which only a
            # copy can give; dumps without one, nearly all, are read in place.
            output = output_key(crash_id, name)
            local = self.store.local_path(key)
            if local is not None and not self.store.exists(output):
                dumps[name] = str(local)
                continue
            make_crash_directory(directory)
            target = directory / name
            try:
                self.store.fetch(key, target)
            except KeyNotFound:
                notes.append(f"storage: dump {name!r} is listed but missing from storage")
                continue
            dumps[name] = str(target)
            with contextlib.suppress(KeyNotFound):  # most dumps have no stored output
                self.store.fetch(output, Path(f"{target}{PRECOMPUTED_SUFFIX}"))
        return dumps, notes

    def load_crash(self, crash_id: str, directory: str | Path) -> CrashInput:
        """Everything the pipeline needs to process a stored crash, dumps fetched to files."""
        replaced: list[str] = []
        raw_crash = self._load_object(raw_crash_key(crash_id), crash_id, "raw crash", replaced)
        dumps, notes = self.fetch_dumps(crash_id, directory)
        if replaced:
            notes.insert(0, surrogate_note(replaced, "stored raw crash"))
        return CrashInput(
            path=Path(directory), crash_id=crash_id, raw_crash=raw_crash, dumps=dumps, notes=notes
        )

    # -- processed crashes ------------------------------------------------------------------

    def save_processed_crash(
        self, crash_id: str, processed: dict[str, Any], encoded: bytes | None = None
    ) -> None:
        """Save the processed crash, then its public copy, then tell the listeners.
        ``encoded``: ``encode_json(processed)`` when the caller already made it."""
        self.store.put(
            processed_key(crash_id), encoded if encoded is not None else encode_json(processed)
        )
        self.save_public_copy(crash_id, processed)
        self.notify_listeners(crash_id, processed)

    def save_public_copy(self, crash_id: str, processed: dict[str, Any]) -> None:
        self.store.put(
            processed_key(crash_id, public=True), encode_json(self.public_view(processed))
        )

    def notify_listeners(self, crash_id: str, processed: dict[str, Any]) -> None:
        failed = []
        for listener in self.processed_listeners:
            try:
                listener(crash_id, processed)
            except Exception as exc:
                name = getattr(listener, "__qualname__", type(listener).__qualname__)
                logger.error(
                    "crash %s: processed-crash listener %s failed: %s",
                    crash_id,
                    name,
                    exc.__class__.__name__,
                )
                failed.append(name)
        if failed:
            raise ListenerError(f"crash {crash_id}: listener(s) failed: {', '.join(failed)}")

    def has_processed_crash(self, crash_id: str) -> bool:
        return self.store.exists(processed_key(crash_id))

    def load_processed_crash(self, crash_id: str, public: bool = False) -> dict[str, Any]:
        kind = "public processed crash" if public else "processed crash"
        return self._load_object(processed_key(crash_id, public), crash_id, kind)

    def _load_object(
        self, key: str, crash_id: str, kind: str, replaced: list[str] | None = None
    ) -> dict[str, Any]:
        try:
            data = self.store.get(key)
        except KeyNotFound:
            raise CrashNotFound(f"crash {crash_id}: no {kind} in storage") from None
        return decode_json_object(data, key, replaced)

    # -- listing ----------------------------------------------------------------------------

    def list_crash_ids(
        self, since: datetime.date | None = None, until: datetime.date | None = None
    ) -> Iterator[str]:
        """Stored crash ids (those with a raw crash) dated ``since``..``until`` inclusive."""
        low = f"{since:{DATE_FORMAT}}" if since else None
        high = f"{until:{DATE_FORMAT}}" if until else None
        for day in self.store.list_children(f"{PREFIX}/{RAW_CRASH}/"):
            if len(day) != 8 or not day.isdigit():
                continue
            if (low and day < low) or (high and day > high):
                continue
            for name in self.store.list_children(f"{PREFIX}/{RAW_CRASH}/{day}/"):
                if crash_id_problem(name) is None:
                    yield name
                else:
                    logger.warning("storage: ignoring %s/%s: not a crash id", day, name[:100])

    def sweep_temporary(self) -> int:
        """Remove the temporary files of interrupted writes (see the store); how many."""
        return self.store.sweep_temporary()

    def close(self) -> None:
        self.store.close()


def stored_outputs(dumps: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The stored stackwalker outputs found beside a crash directory's dump files."""
    found = {}
    for name, path in dumps:
        output = precomputed_output_path(path)
        if regular_file_problem(output) is None:  # a link or a pipe is never stored
            found[name] = str(output)
    return found
