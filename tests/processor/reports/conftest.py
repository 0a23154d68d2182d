"""A small realistic crash storage for the report tests, made by the real pipeline.

The example crashes are processed (stackwalk output, symbolication through the test symbol
store, signature generation) under chosen crash ids and dates, with a few variations: another
product, an IPC message name that puts ``<``, ``&`` and quotes into the signature, one crash
processed without a symbols source from another walker's stored output (its missing modules
were never looked up here), one raw crash
not processed yet. Every processed crash is saved through CrashStorage with the report index
attached, exactly as the daemon would, so the index is the incremental one.

``report_storage`` comes once per backend: the SQLite index is filled while the crashes are
processed; the PostgreSQL one (a database of a real server, tests/postgresserver.py) by saving
the same processed crashes again, in the same order, through a storage listener on it.
``new_index()`` gives a test an empty index of the same backend.
"""

from __future__ import annotations

import copy
import datetime
import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from processor.config import Settings
from processor.crashdir import load_crash_dir
from processor.crashid import create_crash_id
from processor.reports.index import attach_report_index
from processor.resources.symbols import build_symbol_provider
from processor.runner import CrashProcessor
from processor.storage import CrashStorage, open_storage, stored_outputs
from stackwalk.process import walk_minidump
from tests.conftest import TESTDATA
from tests.postgresserver import PostgresServer, postgres_server  # noqa: F401 -- a fixture

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples" / "crashes"
SYMBOLS = TESTDATA / "symbols-with-code-id"
PLAIN_SYMBOLS = TESTDATA / "symbols"  # no INFO CODE_ID: code-info lookups fail
KERNEL32 = ("kernel32.pdb", "BCE8785C57B44245A669896B6A19B9542", "kernel32.sym")

# Windows for the compare tests: the "fix" landed between them.
BEFORE = (datetime.date(2026, 11, 1), datetime.date(2026, 11, 7))
AFTER = (datetime.date(2026, 11, 8), datetime.date(2026, 11, 14))
IPC_NAME = 'PContent::Msg_<Async>&"quoted"'


@dataclass(frozen=True)
class Variant:
    example: str
    day: datetime.date
    product: str | None = None
    ipc_name: str | None = None
    # Symbol stores: "code-id" (the tests/data store with code ids), "plain" (without them),
    # "corrupt" (a store whose kernel32 symbols are garbage, then "code-id"), None (no source).
    symbols: str | None = "code-id"


def _d(day: int) -> datetime.date:
    return datetime.date(2026, 11, day)


# Before the fix: the Windows test app dominates; after it, the Linux crash does.
VARIANTS = [
    Variant("windows-x86-test-app", _d(1)),
    Variant("windows-x86-test-app", _d(2)),
    Variant("windows-x86-test-app", _d(3)),
    Variant("windows-x86-test-app", _d(9)),
    Variant("linux-amd64", _d(4)),
    Variant("linux-amd64", _d(8)),
    Variant("linux-amd64", _d(10)),
    Variant("linux-amd64", _d(12)),
    Variant("linux-amd64", _d(5), symbols=None),
    Variant("macos-inlines", _d(6)),
    Variant("crashpad-macos", _d(2)),
    Variant("crashpad-macos", _d(11), product="Thunderbird"),
    Variant("no-debug-id", _d(7)),
    Variant("no-debug-id", _d(12), symbols="plain"),
    Variant("windows-x86-test-app", _d(13), symbols="corrupt"),
    Variant("no-minidump", _d(3)),
    Variant("oom-with-memory-report", _d(13)),
    Variant("malformed-annotations", _d(5)),
    Variant("windows-x86-test-app", _d(11), ipc_name=IPC_NAME),
    Variant("windows-x86-test-app", _d(14), ipc_name=IPC_NAME),
]


@dataclass
class ReportStorage:
    """The built storage: its directory, the incremental index, and what went in."""

    storage_dir: Path
    index_path: Path | str  # an SQLite file or a postgresql:// URL
    processed: dict[str, dict[str, Any]] = field(default_factory=dict)
    variants: dict[str, Variant] = field(default_factory=dict)
    unprocessed: list[str] = field(default_factory=list)
    backend: str = "sqlite"
    server: PostgresServer | None = None
    # The processed crashes in the order they were saved.
    order: list[str] = field(default_factory=list)

    def new_index(self, directory: Path, name: str = "index") -> Path | str:
        """An empty index target of this backend (created on first open)."""
        if self.server is None:
            return directory / f"{name}.sqlite"
        return self.server.create_database(name.replace("-", "_"))

    def storage(self) -> CrashStorage:
        return open_storage(str(self.storage_dir))

    def crash_ids(self, **match: Any) -> list[str]:
        return sorted(
            crash_id
            for crash_id, variant in self.variants.items()
            if all(getattr(variant, k) == v for k, v in match.items())
        )

    def copy_to(self, directory: Path) -> ReportStorage:
        """A private copy for tests that change the storage or the index."""
        storage_dir = directory / "crashes"
        shutil.copytree(self.storage_dir, storage_dir)
        if self.server is None:
            index_path: Path | str = directory / "index.sqlite"
            conn = sqlite3.connect(self.index_path)
            conn.execute(f"VACUUM INTO '{index_path}'")
            conn.close()
        else:
            index_path = self.server.copy_database(str(self.index_path), "copy")
        return ReportStorage(
            storage_dir,
            index_path,
            self.processed,
            self.variants,
            self.unprocessed,
            self.backend,
            self.server,
            self.order,
        )


def variant_crash(variant: Variant) -> tuple[str, dict[str, Any], dict[str, str]]:
    crash = load_crash_dir(EXAMPLES / variant.example)
    when = datetime.datetime.combine(variant.day, datetime.time(12, 30), datetime.UTC)
    crash_id = create_crash_id(when)
    raw = copy.deepcopy(crash.raw_crash)
    raw["uuid"] = crash_id
    raw["submitted_timestamp"] = when.isoformat()
    if variant.product:
        raw["ProductName"] = variant.product
    if variant.ipc_name:
        raw["IPCMessageName"] = variant.ipc_name
    return crash_id, raw, crash.dumps


def walked_elsewhere(dumps: dict[str, str], directory: Path, crash_id: str) -> str:
    """A stackwalker output made by another walker with symbols (a stored output), so the
    processor, having no symbols source, only sees which modules that walker missed."""
    provider = build_symbol_provider(
        Settings(symbols_paths=[str(PLAIN_SYMBOLS)], symbols_cache=directory / "cache")
    )
    directory.mkdir(parents=True, exist_ok=True)
    output = directory / f"{crash_id}.json"
    output.write_text(json.dumps(walk_minidump(dumps["upload_file_minidump"], provider)))
    return str(output)


@pytest.fixture(scope="session")
def sqlite_report_storage(tmp_path_factory: pytest.TempPathFactory) -> ReportStorage:
    root = tmp_path_factory.mktemp("report-storage")
    built = ReportStorage(root / "crashes", root / "index.sqlite")
    storage = built.storage()
    index = attach_report_index(storage, built.index_path)
    corrupt_store = root / "corrupt-symbols"
    corrupt_file = corrupt_store.joinpath(*KERNEL32)
    corrupt_file.parent.mkdir(parents=True)
    corrupt_file.write_bytes(b"MODULE windows x86 \xff\xfe not a symbol file\n\x00\x01")
    stores = {
        "code-id": [SYMBOLS],
        "plain": [PLAIN_SYMBOLS],
        "corrupt": [corrupt_store, SYMBOLS],
        None: [],
    }
    processors = {
        name: CrashProcessor(
            Settings(symbols_paths=[str(p) for p in paths], symbols_cache=root / f"cache-{name}")
        )
        for name, paths in stores.items()
    }
    for variant in VARIANTS:
        crash_id, raw, dumps = variant_crash(variant)
        outputs = stored_outputs(dumps.items())
        if variant.symbols is None:
            outputs = {
                "upload_file_minidump": walked_elsewhere(dumps, root / "elsewhere", crash_id)
            }
        storage.save_raw_crash(crash_id, raw, dumps, outputs)
        work = root / "work" / crash_id
        work.mkdir(parents=True)
        crash = storage.load_crash(crash_id, work)
        processed = processors[variant.symbols].process(crash)
        storage.save_processed_crash(crash_id, processed)
        built.order.append(crash_id)
        built.processed[crash_id] = processed
        built.variants[crash_id] = variant
    # A crash the processor has not reached yet: in storage, not in any report.
    crash_id, raw, dumps = variant_crash(Variant("windows-x86-test-app", _d(6)))
    storage.save_raw_crash(crash_id, raw, dumps, stored_outputs(dumps.items()))
    built.unprocessed.append(crash_id)
    for processor in processors.values():
        processor.close()
    index.close()
    storage.close()
    return built


@pytest.fixture(scope="session")
def postgresql_report_storage(
    sqlite_report_storage: ReportStorage,
    postgres_server: PostgresServer,  # noqa: F811 -- the imported fixture
) -> ReportStorage:
    built = sqlite_report_storage
    url = postgres_server.create_database("reports")
    storage = built.storage()
    index = attach_report_index(storage, url)
    for crash_id in built.order:
        storage.save_processed_crash(crash_id, built.processed[crash_id])
    index.close()
    storage.close()
    return ReportStorage(
        built.storage_dir,
        url,
        built.processed,
        built.variants,
        built.unprocessed,
        "postgresql",
        postgres_server,
        built.order,
    )


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session", params=BACKENDS)
def report_storage(request: pytest.FixtureRequest) -> ReportStorage:
    """The report storage with its index in each backend."""
    return request.getfixturevalue(f"{request.param}_report_storage")


@pytest.fixture
def new_index(report_storage: ReportStorage, tmp_path: Path) -> Callable[[str], Path | str]:
    """Empty index targets of the backend under test: ``new_index("name")``."""
    return lambda name="index": report_storage.new_index(tmp_path, name)
