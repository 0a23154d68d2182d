"""A directory of symbol files laid out `{debug_file}/{DEBUG_ID}/{sym_file}` + code-info index.

This is the layout rust-minidump's local supplier, its download cache and Tecken's
download URLs all share, so the same directory can be given to a stackwalker with
`--symbols-path` or served over HTTP. Files arrive atomically; names from file headers
or zip entries that could leave the directory are refused.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from crashproc.records import Record
from symbols.atomic import publish, scratch_file
from symbols.check import REPAIRABLE, Defect, check_file, repair_stream
from symbols.errors import StoreError, SymbolError
from symbols.header import SymHeader, read_header
from symbols.index import CodeInfoIndex, DebugInfo
from symbols.names import (
    INDEX_NAME,
    SCRATCH_NAME,
    check_component,
    normalize_id,
    store_relpath,
    sym_file_name,
)
from symbols.zipsafe import BoundedReader, ZipLimits, checked_members

DEFECT_POLICIES = ("refuse", "repair", "accept")
DEFAULT_MAX_FILE = 4 << 30


class AddResult(Record):
    """One stored symbol file, or the reason it was not stored."""

    source: str
    path: Path | None = None
    header: SymHeader | None = None
    repaired: list[Defect]
    error: str | None = None

    def __init__(
        self,
        source: str,
        path: Path | None = None,
        header: SymHeader | None = None,
        repaired: list[Defect] | None = None,
        error: str | None = None,
    ) -> None:
        self.source = source
        self.path = path
        self.header = header
        self.repaired = list() if repaired is None else repaired
        self.error = error

    _fields = ("source", "path", "header", "repaired", "error")


def _code_file(header: SymHeader) -> str | None:
    """Code file to index: dump_syms omits it for ELF/Mach-O, whose code file is the debug file."""
    if header.code_id is None:
        return None
    return header.code_file or header.debug_file


class SymbolStore:
    def __init__(
        self, root: Path, max_file_size: int = DEFAULT_MAX_FILE, index_path: Path | None = None
    ) -> None:
        """`index_path` puts the code-info index elsewhere, for stores we may not write to."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.scratch = self.root / SCRATCH_NAME
        self.index = CodeInfoIndex(index_path or self.root / INDEX_NAME)
        self.max_file_size = max_file_size

    # -- paths -----------------------------------------------------------------------------

    def path_for(self, debug_file: str, debug_id: str, sym_file: str | None = None) -> Path:
        """Checked path of a symbol file (raises UnsafeNameError for escaping names)."""
        return self.root.joinpath(*store_relpath(debug_file, debug_id, sym_file))

    def find(self, debug_file: str, debug_id: str, sym_file: str | None = None) -> Path | None:
        try:
            path = self.path_for(debug_file, debug_id, sym_file)
        except SymbolError:
            return None
        return path if path.is_file() else None

    def lookup_code_info(self, code_file: str, code_id: str) -> DebugInfo | None:
        try:
            check_component(code_file, "code file")
            code_id = normalize_id(code_id, "code id")
        except SymbolError:
            return None
        return self.index.lookup(code_file, code_id)

    # -- adding ----------------------------------------------------------------------------

    def add_stream(self, stream: BinaryIO, source: str, on_defect: str = "refuse") -> AddResult:
        """Store one .sym stream; the result carries the error instead of raising."""
        result = AddResult(source)
        try:
            with scratch_file(self.scratch) as tmp:
                self._copy_bounded(stream, tmp)
                self._store_checked(tmp, result, on_defect)
        except (SymbolError, OSError) as e:
            result.error = str(e) if isinstance(e, SymbolError) else f"I/O error: {e.strerror}"
        return result

    def add_path(self, path: Path, on_defect: str = "refuse") -> list[AddResult]:
        """Store a .sym file or every .sym member of a zip archive."""
        if zipfile.is_zipfile(path):
            return self.add_zip(path, on_defect)
        with open(path, "rb") as f:
            return [self.add_stream(f, str(path), on_defect)]

    def add_zip(
        self, path: Path | BinaryIO, on_defect: str = "refuse", limits: ZipLimits | None = None
    ) -> list[AddResult]:
        """Store the .sym members of a zip; unsafe archives are refused before any write."""
        try:
            with zipfile.ZipFile(path) as archive:
                members = checked_members(archive, limits or ZipLimits())
                results = []
                for info in members:
                    if not info.filename.endswith(".sym"):
                        continue
                    with archive.open(info) as raw:
                        bounded = BoundedReader(raw, info.file_size)
                        results.append(self.add_stream(bounded, info.filename, on_defect))
                return results
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
            raise StoreError(f"not a readable zip archive ({type(e).__name__})") from None

    def _copy_bounded(self, stream: BinaryIO, tmp: Path) -> None:
        copied = 0
        with open(tmp, "wb") as out:
            while chunk := stream.read(1 << 20):
                copied += len(chunk)
                if copied > self.max_file_size:
                    raise StoreError(f"symbol file is larger than {self.max_file_size} bytes")
                out.write(chunk)

    def _store_checked(self, tmp: Path, result: AddResult, on_defect: str) -> None:
        if on_defect not in DEFECT_POLICIES:
            raise ValueError(f"on_defect must be one of {DEFECT_POLICIES}")
        header = read_header(tmp)
        final = self.path_for(header.debug_file, header.debug_id, sym_file_name(header.debug_file))
        if on_defect != "accept":
            defects = check_file(tmp)
            if defects and (
                on_defect == "refuse" or any(d.kind not in REPAIRABLE for d in defects)
            ):
                raise StoreError(f"symbol file has {len(defects)} defect(s), first: {defects[0]}")
            if defects:
                with scratch_file(self.scratch) as fixed:
                    with open(tmp, "rb") as src, open(fixed, "wb") as dst:
                        result.repaired = repair_stream(src, dst)
                    os.replace(fixed, tmp)
        publish(tmp, final)
        result.path, result.header = final, header
        self._index_files([(final, header)])

    # -- indexing --------------------------------------------------------------------------

    def _index_files(self, entries: list[tuple[Path, SymHeader]]) -> None:
        """Index stored files in one transaction; the location comes from the path."""
        with self.index.connect() as db:
            for path, header in entries:
                debug_file, debug_id = path.parent.parent.name, path.parent.name
                code_file = _code_file(header)
                if code_file is not None:
                    self.index.add(
                        db, code_file, header.code_id, debug_file, debug_id, header.generator
                    )
                stat = path.stat()
                db.execute(
                    "INSERT OR REPLACE INTO indexed_files VALUES (?, ?, ?)",
                    (str(path.relative_to(self.root)), stat.st_size, stat.st_mtime_ns),
                )

    def iter_symbol_files(self) -> Iterator[Path]:
        """Every `{debug_file}/{id}/{name}.sym` in the store (own dot-files skipped)."""
        for debug_dir in sorted(self.root.iterdir()):
            if debug_dir.name.startswith(".") or not debug_dir.is_dir():
                continue
            for id_dir in sorted(debug_dir.iterdir()):
                if id_dir.is_dir():
                    yield from sorted(p for p in id_dir.glob("*.sym") if p.is_file())

    def reindex(
        self, progress: Callable[[int, int], None] | None = None, batch: int = 200
    ) -> tuple[int, list[str]]:
        """Index files not yet indexed (or changed); resumable, commits every `batch` files.

        Returns (files indexed, problems). Headers only are read, so this is fast even
        for stores of 600 MB files.
        """
        with self.index.connect() as db:
            known = {
                row[0]: (row[1], row[2])
                for row in db.execute("SELECT relpath, size, mtime_ns FROM indexed_files")
            }
        files = list(self.iter_symbol_files())
        done, problems = 0, []
        pending: list[tuple[Path, SymHeader]] = []
        for n, path in enumerate(files, 1):
            stat = path.stat()
            if known.get(str(path.relative_to(self.root))) != (stat.st_size, stat.st_mtime_ns):
                try:
                    pending.append((path, read_header(path)))
                except SymbolError as e:
                    problems.append(f"{path.relative_to(self.root)}: {e}")
            if len(pending) >= batch or n == len(files):
                self._index_files(pending)
                done += len(pending)
                pending = []
            if progress is not None:
                progress(n, len(files))
        return done, problems
