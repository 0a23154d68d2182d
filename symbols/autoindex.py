"""Code-info indexes for local stores that were copied in without one.

A store filled by hand (or by rsync from a build machine) has .sym files but no index, and
then modules without a debug id can never be found in it. The processor builds the index on
first use, in its cache directory, keyed by the store's resolved path: a symbols path is an
input and is never written to (it may be a read-only share, or one another team owns).
Later runs bring the index up to date incrementally (only new or changed files are read).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

from symbols.errors import SymbolError
from symbols.store import INDEX_NAME, SymbolStore

logger = logging.getLogger(__name__)
INDEX_CACHE_DIR = "indexes"


def cached_index_path(store: Path, cache_dir: Path) -> Path:
    key = hashlib.sha256(str(store.resolve()).encode()).hexdigest()[:20]
    return cache_dir / INDEX_CACHE_DIR / f"{key}.sqlite3"


def ensure_index(store: Path, cache_dir: Path) -> Path | None:
    """The index to use for `store`: its own, else one kept up to date in `cache_dir`."""
    store = Path(store)
    own = store / INDEX_NAME
    if own.is_file():
        return own
    if not store.is_dir():
        return None
    target = cached_index_path(store, Path(cache_dir))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        count, problems = SymbolStore(store, index_path=target).reindex()
    except (OSError, SymbolError) as e:
        logger.warning("cannot index symbols path %s: %s", store, type(e).__name__)
        return None
    if count:
        logger.info("indexed %d symbol files of %s into %s", count, store, target)
    for problem in problems[:20]:
        logger.warning("while indexing %s: %s", store, problem)
    return target


def ensure_indexes(paths: Sequence[Path], cache_dir: Path) -> dict[Path, Path]:
    """Index every directory in `paths` that lacks one; maps each path to its index."""
    found = {}
    for path in map(Path, paths):
        if path.is_dir() and (index := ensure_index(path, cache_dir)) is not None:
            found[path] = index
    return found
