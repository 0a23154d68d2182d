"""The symbol provider the processor's rules share, built from settings by the one builder
every command uses (symbols.setup), and how a symbol source is shown in public output."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from processor.config import Settings
from processor.observability.emit import (
    record_symbol_breaker_open,
    record_symbol_cache,
    record_symbol_download,
)
from symbols.provider import SymbolProvider
from symbols.setup import build_provider, default_cache_dir


def symbols_cache_dir(settings: Settings) -> Path:
    """The configured cache, or the per-user default (downloads, indexes and parsed files)."""
    if settings.symbols_cache is not None:
        return Path(settings.symbols_cache)
    return default_cache_dir()


def build_symbol_provider(settings: Settings) -> SymbolProvider | None:
    """The provider of the configured stores and servers (None when there are none: the
    symbolication rule then does nothing), built as every command builds one, with the
    processor's metrics watching downloads, cache opens and servers skipped by the breaker.
    The budget applies per crash: the pipeline opens a lookup scope around each ruleset run."""
    return build_provider(
        paths=settings.symbols_paths,
        urls=settings.symbols_urls,
        cache_dir=symbols_cache_dir(settings),
        trusted_hosts=settings.symbols_trusted_hosts,
        timeout=settings.symbols_timeout,
        on_download=record_symbol_download,
        on_open=record_symbol_cache,
        crash_budget=settings.symbols_crash_budget,
        max_file_size=settings.symbols_max_file_size,
        cache_max_size=settings.symbols_cache_max_size,
        breaker_failures=settings.symbols_breaker_failures,
        breaker_cooldown=settings.symbols_breaker_cooldown,
        on_breaker_open=record_symbol_breaker_open,
    )


def public_location(location: str) -> str:
    """A tried location fit for public notes: URLs lose credentials and query strings."""
    parts = urlsplit(location)
    if parts.scheme in ("http", "https") and parts.hostname:
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return location
