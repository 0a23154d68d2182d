"""The one way a symbol provider is built from where symbols are: every command uses it.

``crashproc process``, the daemon and ``stackwalk`` must symbolicate a dump the same way, so
they share the choices made here: the per-user cache when none is given, a code-info index for
each local store that lacks one (kept in the cache, never written into the store), the trusted
hosts for redirects, the download deadline and size limit, the per-crash budget, the circuit
breaker, the cache quota, and the compact parsed-symbol cache.
Modules are imported when a provider is built, so a command that needs no symbols pays nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from symbols.provider import SymbolProvider

SYMCACHE_DIR = "symcache"
DEFAULT_TIMEOUT = 300.0


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/crashproc/symbols`` (``~/.cache/crashproc/symbols``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "crashproc" / "symbols"


def build_provider(
    paths: Sequence[str | Path] = (),
    urls: Sequence[str] = (),
    cache_dir: str | Path | None = None,
    trusted_hosts: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    on_download: Callable[[float, str], None] | None = None,
    on_open: Callable[..., None] | None = None,
    scratch_dir: str | Path | None = None,
    crash_budget: float | None = None,
    max_file_size: int | None = None,
    cache_max_size: int | None = None,
    breaker_failures: int = 3,
    breaker_cooldown: float = 60.0,
    on_breaker_open: Callable[[str], None] | None = None,
    lazy_indexes: bool = False,
) -> SymbolProvider | None:
    """A provider over local stores ``paths`` and symbols servers ``urls`` (None when there
    are neither). ``on_download`` and ``on_open`` observe downloads and cache opens (metrics);
    downloads are assembled in ``scratch_dir`` (default: inside the cache). ``crash_budget``
    bounds the HTTP lookups of one lookup scope (symbols.scope; None: unbounded),
    ``max_file_size`` one download, ``cache_max_size`` the downloads kept and, separately,
    their parsed forms; ``on_breaker_open(url)`` is told when a server starts being skipped.
    The supplier is ``provider.supplier`` (close it when done). ``lazy_indexes`` defers
    each store's code-info index to the first module without a debug id (a one-dump
    command; a daemon rather pays for it at start than in its first crash)."""
    if not paths and not urls:
        return None
    from symbols.fetch import DEFAULT_MAX_SIZE, HttpOptions
    from symbols.provider import SymbolProvider
    from symbols.supplier import SymbolSupplier
    from symbols.symcache import SymbolCache

    breaker = None  # the supplier's servers' breaker: without URLs, nothing to break
    if urls:
        from symbols.breaker import CircuitBreaker

        breaker = CircuitBreaker(breaker_failures, breaker_cooldown, on_open=on_breaker_open)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    stores = [Path(p) for p in paths]
    supplier = SymbolSupplier(
        symbols_paths=stores,
        symbols_urls=list(urls),
        cache_dir=cache,
        options=HttpOptions(deadline=timeout, max_size=max_file_size or DEFAULT_MAX_SIZE),
        trusted_hosts=list(trusted_hosts),
        index_paths={} if lazy_indexes else _ensure_indexes(stores, cache),
        index_for=_lazy_index(cache) if lazy_indexes else None,
        on_download=on_download,
        scratch_dir=Path(scratch_dir) if scratch_dir is not None else None,
        breaker=breaker,
        cache_max_bytes=cache_max_size,
    )
    cache_options: dict = {"on_open": on_open} if on_open is not None else {}
    if cache_max_size is not None:
        cache_options["max_bytes"] = cache_max_size
    return SymbolProvider(
        supplier, SymbolCache(cache / SYMCACHE_DIR, **cache_options), crash_budget=crash_budget
    )


def _ensure_indexes(stores: list[Path], cache: Path) -> dict[Path, Path]:
    from symbols.autoindex import ensure_indexes

    return ensure_indexes(stores, cache)


def _lazy_index(cache: Path) -> Callable[[Path], Path | None]:
    def index_for(store: Path) -> Path | None:
        from symbols.autoindex import ensure_index

        return ensure_index(store, cache) if store.is_dir() else None

    return index_for
