"""SymbolProvider's memory: bounded, and misses forgotten so late uploads are found;
stores without a code-info index are indexed on first use, outside the store."""

from __future__ import annotations

import shutil
from pathlib import Path

from symbols.autoindex import cached_index_path, ensure_index
from symbols.provider import SymbolProvider
from symbols.store import INDEX_NAME
from symbols.supplier import ModuleId, SymbolSupplier
from tests.symbols.conftest import TEST_APP_CODE_SYM, TEST_APP_ID

TEST_APP = ModuleId("test_app.exe", "45d35f6c2d000", "test_app.pdb", TEST_APP_ID)
BY_CODE_INFO = ModuleId("test_app.exe", "45d35f6c2d000", None, None)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def _hand_made_store(root: Path) -> Path:
    """A store copied in by hand: the layout is right but there is no index."""
    target = root / "test_app.pdb" / TEST_APP_ID / "test_app.sym"
    target.parent.mkdir(parents=True)
    shutil.copy(TEST_APP_CODE_SYM, target)
    return root


def test_a_miss_is_forgotten_after_its_ttl(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    clock = Clock()
    provider = SymbolProvider(SymbolSupplier([store]), miss_ttl=60, clock=clock)
    assert not provider.get(TEST_APP).loaded
    _hand_made_store(tmp_path / "late")
    shutil.copytree(tmp_path / "late", store, dirs_exist_ok=True)  # symbols uploaded later
    clock.now = 59
    assert not provider.get(TEST_APP).loaded  # still remembered as missing
    clock.now = 61
    assert provider.get(TEST_APP).loaded


def test_found_entries_are_bounded_least_recently_used_first(tmp_path: Path) -> None:
    store = _hand_made_store(tmp_path / "store")
    provider = SymbolProvider(SymbolSupplier([store]), max_entries=2)
    others = [ModuleId("x.dll", None, "x.pdb", f"{i:032X}1") for i in range(2)]
    first = provider.get(TEST_APP)
    provider.get(others[0])
    assert provider.get(TEST_APP) is first  # refreshed: now the most recent
    provider.get(others[1])  # evicts others[0], not TEST_APP
    assert provider.get(TEST_APP) is first
    assert len(provider._memo) == 2


def test_store_without_index_is_indexed_in_the_cache_not_in_the_store(tmp_path: Path) -> None:
    store = _hand_made_store(tmp_path / "store")
    cache = tmp_path / "cache"
    index = ensure_index(store, cache)
    assert index == cached_index_path(store, cache) and index.is_file()
    assert not (store / INDEX_NAME).exists()
    supplier = SymbolSupplier([store], index_paths={store: index})
    found = SymbolProvider(supplier).get(BY_CODE_INFO)
    assert found.loaded and found.lookup.from_code_info
    assert found.lookup.debug_file == "test_app.pdb"
    # Without the index the module cannot be found by code info at all.
    assert not SymbolProvider(SymbolSupplier([store])).get(BY_CODE_INFO).loaded


def test_a_store_with_its_own_index_keeps_it(tmp_path: Path) -> None:
    store = _hand_made_store(tmp_path / "store")
    (store / INDEX_NAME).write_bytes(b"")
    assert ensure_index(store, tmp_path / "cache") == store / INDEX_NAME
    assert ensure_index(tmp_path / "missing", tmp_path / "cache") is None


def test_cache_and_download_hooks_are_told_what_happened(tmp_path: Path, store_server) -> None:
    from symbols.symcache import SymbolCache

    base, _ = store_server
    opened, downloads = [], []
    supplier = SymbolSupplier(
        symbols_urls=[base],
        cache_dir=tmp_path / "dl",
        on_download=lambda seconds, outcome: downloads.append((seconds >= 0, outcome)),
    )
    cache = SymbolCache(tmp_path / "symcache", on_open=opened.append)
    assert SymbolProvider(supplier, cache).get(TEST_APP).loaded
    missing = ModuleId("x.dll", None, "x.pdb", "0123456789ABCDEF0123456789ABCDEF1")
    assert not SymbolProvider(supplier, cache).get(missing).loaded
    assert SymbolProvider(supplier, cache).get(TEST_APP).loaded  # from the download cache
    assert downloads == [(True, "found"), (True, "missing")]
    assert opened == [False, True]
