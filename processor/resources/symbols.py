"""The symbol provider the processor's rules share, built from settings."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from processor.config import Settings
from processor.observability.emit import record_symbol_cache, record_symbol_download
from symbols.autoindex import ensure_indexes
from symbols.fetch import HttpOptions
from symbols.provider import SymbolProvider
from symbols.supplier import SymbolSupplier
from symbols.symcache import SymbolCache

SYMCACHE_DIR = "symcache"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "crashproc" / "symbols"


def symbols_cache_dir(settings: Settings) -> Path:
    """The configured cache, or a per-user default (downloads, indexes and parsed files)."""
    if settings.symbols_cache is not None:
        return Path(settings.symbols_cache)
    return default_cache_dir()


def build_symbol_provider(settings: Settings) -> SymbolProvider | None:
    """None when no symbols source is configured (the symbolication rule then does nothing).

    Local stores without a code-info index get one now (see symbols.autoindex); parsed files
    go to the compact cache under the cache directory.
    """
    if not settings.symbols_paths and not settings.symbols_urls:
        return None
    cache_dir = symbols_cache_dir(settings)
    paths = [Path(p) for p in settings.symbols_paths]
    supplier = SymbolSupplier(
        symbols_paths=paths,
        symbols_urls=list(settings.symbols_urls),
        cache_dir=cache_dir,
        options=HttpOptions(deadline=settings.symbols_timeout),
        trusted_hosts=settings.symbols_trusted_hosts,
        index_paths=ensure_indexes(paths, cache_dir),
        on_download=record_symbol_download,
    )
    return SymbolProvider(
        supplier, SymbolCache(cache_dir / SYMCACHE_DIR, on_open=record_symbol_cache)
    )


def public_location(location: str) -> str:
    """A tried location fit for public notes: URLs lose credentials and query strings."""
    parts = urlsplit(location)
    if parts.scheme in ("http", "https") and parts.hostname:
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return location
