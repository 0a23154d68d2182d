"""Find the symbol file for a module: local stores first, then HTTP symbol servers.

This is the API the stackwalker and the symbolication rule call:

    supplier = SymbolSupplier(symbols_paths=[...], symbols_urls=[...], cache_dir=...)
    result = supplier.locate(ModuleId(code_file=..., code_id=..., debug_file=..., debug_id=...))
    result.path, result.debug_file, result.debug_id, result.url, result.attempts

Every place tried is recorded with its outcome and a short reason, so a module left
without symbols can say why (not found, transient error, corrupt, timeout, too large,
refused). Modules without a debug id are resolved through code info (code file + code
id): local store indexes first, then each server's Tecken code-info redirect.

Lookups over HTTP are bounded beyond each file's own deadline: by the caller's deadline (a
crash's symbols budget; what is left undone is recorded as `budget`), by a circuit breaker per
server (a server that keeps not answering is skipped for a while: `unavailable`) and by
`cancel()` (a stopping process). Downloads must start with a MODULE record and stay under the
size limit; they follow redirects only to trusted hosts (symbols.trust), and the download
cache is kept under a size quota by removing the least recently used files.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote, unquote, urlencode, urljoin, urlsplit

from crashproc.records import FrozenRecord, Record
from symbols import fetch
from symbols.errors import SymbolError, SymbolParseError
from symbols.names import (
    INDEX_NAME,
    SCRATCH_NAME,
    check_component,
    code_info_sym_name,
    leaf,
    normalize_id,
    store_relpath,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    from symbols.breaker import CircuitBreaker
    from symbols.index import DebugInfo

NEGATIVE_DIR = ".misses"
DEFAULT_NEGATIVE_TTL = 600.0
BUDGET_REASON = "the crash's symbols budget is spent (symbols.crash_budget); not looked up"
NULL_DEBUG_ID_CHARS = frozenset("0")
# Outcomes of a lookup that never reached the server.
NOT_TRIED = frozenset({fetch.BUDGET, fetch.CANCELLED, fetch.UNAVAILABLE})


class ModuleId(FrozenRecord):
    """A module as the minidump describes it (any field may be missing)."""

    code_file: str | None = None
    code_id: str | None = None
    debug_file: str | None = None
    debug_id: str | None = None

    def __init__(
        self,
        code_file: str | None = None,
        code_id: str | None = None,
        debug_file: str | None = None,
        debug_id: str | None = None,
    ) -> None:
        self.code_file = code_file
        self.code_id = code_id
        self.debug_file = debug_file
        self.debug_id = debug_id

    _fields = ("code_file", "code_id", "debug_file", "debug_id")


class Attempt(FrozenRecord):
    location: str
    outcome: str
    reason: str

    def __init__(self, location: str, outcome: str, reason: str) -> None:
        self.location = location
        self.outcome = outcome
        self.reason = reason

    _fields = ("location", "outcome", "reason")

    def __str__(self) -> str:
        return f"{self.location}: {self.outcome} ({self.reason})"


class LookupResult(Record):
    path: Path | None = None
    debug_file: str | None = None
    debug_id: str | None = None
    url: str | None = None
    from_code_info: bool = False
    attempts: list[Attempt]

    def __init__(
        self,
        path: Path | None = None,
        debug_file: str | None = None,
        debug_id: str | None = None,
        url: str | None = None,
        from_code_info: bool = False,
        attempts: list[Attempt] | None = None,
    ) -> None:
        self.path = path
        self.debug_file = debug_file
        self.debug_id = debug_id
        self.url = url
        self.from_code_info = from_code_info
        self.attempts = list() if attempts is None else attempts

    _fields = ("path", "debug_file", "debug_id", "url", "from_code_info", "attempts")

    @property
    def found(self) -> bool:
        return self.path is not None

    @property
    def cut_short(self) -> bool:
        """Something was left untried for this lookup's sake or a server's (budget spent,
        cancelled, server skipped by its breaker): the answer holds for this lookup only, not
        for the module."""
        return any(a.outcome in NOT_TRIED for a in self.attempts)

    def why_missing(self) -> str:
        """One line naming each place tried and why it failed."""
        if not self.attempts:
            return "no symbol source was tried"
        return "; ".join(f"{a.outcome}: {a.reason}" for a in self.attempts)


def validate_sym(path: Path) -> None:
    """Default download check: the file must parse as rust-minidump would parse it."""
    # the grammar compiles its regexes on import: only parsing pays for them
    from symbols.parser import feed_stream
    from symbols.sinks import NullSink

    with open(path, "rb") as f:
        feed_stream(f, NullSink())


def check_sym_head(first_line: bytes) -> str | None:
    """Why a download whose first line is `first_line` is no symbol file (None: it may be)."""
    from symbols.header import is_module_line

    if is_module_line(first_line):
        return None
    return "does not start with a MODULE record"


def _has_debug_id(debug_id: str | None) -> bool:
    return bool(debug_id) and not set(debug_id) <= NULL_DEBUG_ID_CHARS


def _read_info_url(path: Path) -> str | None:
    """The `INFO URL` line the download cache appends at the end of a file."""
    with open(path, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
        tail = f.read()
    for line in reversed(tail.splitlines()):
        if line.startswith(b"INFO URL "):
            return line[9:].decode("utf-8", errors="replace").strip()
    return None


def _existing(base: Path, rel: tuple[str, ...]) -> Path | None:
    """`base/rel` if it exists, also trying the id as rust-minidump writes it.

    Our stores upper-case ids (as Tecken does); rust-minidump's own cache and symbol
    directories use the breakpad form, whose age suffix is lower-case hex.
    """
    debug_file, debug_id, sym_file = rel
    for ident in dict.fromkeys((debug_id, debug_id[:32] + debug_id[32:].lower())):
        path = base / debug_file / ident / sym_file
        if path.is_file():
            return path
    return None


class SymbolSupplier:
    def __init__(
        self,
        symbols_paths: Sequence[Path] = (),
        symbols_urls: Sequence[str] = (),
        cache_dir: Path | None = None,
        options: fetch.HttpOptions | None = None,
        trusted_hosts: Iterable[str] = (),
        negative_ttl: float = DEFAULT_NEGATIVE_TTL,
        validate: Callable[[Path], None] = validate_sym,
        index_paths: Mapping[Path, Path] | None = None,
        index_for: Callable[[Path], Path | None] | None = None,
        on_download: Callable[[float, str], None] | None = None,
        scratch_dir: Path | None = None,
        breaker: CircuitBreaker | None = None,
        cache_max_bytes: int | None = None,
    ) -> None:
        """`index_paths` maps a symbols path to its code-info index when the index does not
        live inside the store (read-only stores indexed on first use; see autoindex);
        `index_for(path)`, when given, finds that index the first time a module without
        a debug id needs it (a one-dump command never pays for indexing otherwise).
        Downloads are assembled in `scratch_dir` (default: a directory inside the cache)
        and renamed into the cache, so it must be on the cache's filesystem. `breaker`
        skips servers that keep not answering (default: one with its default thresholds);
        `cache_max_bytes` bounds the downloaded files in the cache (None: unbounded)."""
        self.paths = [Path(p) for p in symbols_paths]
        self.index_paths = {Path(k): Path(v) for k, v in (index_paths or {}).items()}
        self.index_for = index_for
        # Told (seconds, "found" | "missing" | "error") after each download: metrics hooks
        # without this package importing anything of the processor.
        self.on_download = on_download
        self.urls = [u if u.endswith("/") else u + "/" for u in symbols_urls]
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.scratch_dir = Path(scratch_dir) if scratch_dir else None
        if self.urls and self.cache_dir is None:
            raise ValueError("a cache directory is required with symbol URLs")
        self.fetcher = fetch.Fetcher(options) if self.urls else None
        self.trusted_hosts = {h.lower() for h in trusted_hosts}
        self.negative_ttl = negative_ttl
        self.validate = validate
        if breaker is None and self.urls:
            from symbols.breaker import CircuitBreaker

            breaker = CircuitBreaker()
        self.breaker = breaker  # None without URLs: only HTTP lookups use it
        self.cache_max_bytes = cache_max_bytes
        # threading costs a one-dump command over local stores more to import than its
        # lookups take: only HTTP lookups, which need a cancel event, pay for it
        self._cancel = None
        if self.urls:
            import threading

            self._cancel = threading.Event()

    def close(self) -> None:
        if self.fetcher is not None:
            self.fetcher.close()

    def cancel(self) -> None:
        """Cut short the download under way (between chunks) and make every later HTTP
        lookup of this supplier give up at once (outcome `cancelled`): for a stopping
        process. Safe to call from another thread."""
        if self._cancel is not None:  # without URLs there is nothing to cut short
            self._cancel.set()

    # -- the lookup ------------------------------------------------------------------------

    def locate(self, module: ModuleId, deadline: float | None = None) -> LookupResult:
        """Find `module`'s symbol file; HTTP lookups stop at `deadline` (time.monotonic)."""
        result = LookupResult(debug_file=module.debug_file, debug_id=module.debug_id)
        if not _has_debug_id(module.debug_id):
            info = self._code_info(module, result.attempts, deadline)
            if info is None:
                if not result.attempts:
                    result.attempts.append(
                        Attempt("module", fetch.NOT_FOUND, "no debug id and no code file/id")
                    )
                return result
            result.debug_file, result.debug_id = info.debug_file, info.debug_id
            result.from_code_info = True
        debug_file = leaf(result.debug_file or module.code_file or "")
        try:
            rel = store_relpath(debug_file, result.debug_id)
        except SymbolError as e:
            result.attempts.append(Attempt("module", fetch.REFUSED, str(e)))
            return result
        if self._find_local(rel, result) or self._find_cached(rel, result):
            return result
        self._download(rel, module, result, deadline)
        return result

    def _find_local(self, rel: tuple[str, ...], result: LookupResult) -> bool:
        for base in self.paths:
            if base.is_file():
                from symbols.header import read_header

                try:
                    match = read_header(base).debug_id == rel[1]
                except (SymbolError, OSError):
                    match = False
                candidate = base if match else None
            else:
                candidate = _existing(base, rel)
            where = str(base if base.is_file() else base.joinpath(*rel))
            if candidate is not None:
                result.path = candidate
                result.attempts.append(Attempt(where, fetch.FOUND, "local file"))
                return True
            result.attempts.append(Attempt(where, fetch.NOT_FOUND, "no such local file"))
        return False

    def _find_cached(self, rel: tuple[str, ...], result: LookupResult) -> bool:
        if self.cache_dir is None:
            return False
        path = _existing(self.cache_dir, rel)
        if path is not None:
            _touch_used(path)
            result.path, result.url = path, _read_info_url(path)
            result.attempts.append(Attempt(str(path), fetch.FOUND, "download cache"))
            return True
        return False

    # -- HTTP ------------------------------------------------------------------------------

    def _negative_marker(self, rel: tuple[str, ...]) -> Path:
        return self.cache_dir.joinpath(NEGATIVE_DIR, *rel)

    def _http(
        self,
        base: str,
        url: str,
        target: Path | None,
        deadline: float | None,
        follow_redirects: bool = True,
        head_check: Callable[[bytes], str | None] | None = None,
    ) -> fetch.FetchResult:
        """One fetch from server `base`, within the caller's deadline and the breaker."""
        if self._cancel.is_set():
            return fetch.FetchResult(fetch.CANCELLED, "lookup cancelled")
        if deadline is not None and time.monotonic() >= deadline:
            return fetch.FetchResult(fetch.BUDGET, BUDGET_REASON)
        if (left := self.breaker.cooling(base)) is not None:
            return fetch.FetchResult(
                fetch.UNAVAILABLE,
                f"server skipped for {left:.0f} s more: {self.breaker.describe()}",
            )
        from symbols.trust import redirect_policy

        limits = fetch.FetchLimits(
            deadline=deadline,
            cancel=self._cancel,
            head_check=head_check,
            redirect_allowed=redirect_policy(base, self.trusted_hosts),
        )
        started = time.monotonic()
        got = self.fetcher.fetch(url, target, follow_redirects=follow_redirects, limits=limits)
        if got.outcome == fetch.TIMEOUT and deadline is not None and time.monotonic() >= deadline:
            # Cut by the crash's budget: the server's fault only if it had a full read timeout
            # to answer and did not (else a crash with little budget left would open the
            # breaker of a slow but healthy server).
            if got.silent and time.monotonic() - started >= self.fetcher.options.read_timeout:
                self.breaker.record(base, silent=True)
            return fetch.FetchResult(
                fetch.BUDGET, "the crash's symbols budget ran out during the lookup", got.status
            )
        if got.outcome != fetch.CANCELLED:
            self.breaker.record(base, got.silent)
        return got

    def _download(
        self,
        rel: tuple[str, ...],
        module: ModuleId,
        result: LookupResult,
        deadline: float | None = None,
    ) -> None:
        if not self.urls:
            return
        marker = self._negative_marker(rel)
        try:
            age = time.time() - marker.stat().st_mtime
        except OSError:
            age = None
        if age is not None and age < self.negative_ttl:
            result.attempts.append(
                Attempt("/".join(rel), fetch.NOT_FOUND, f"remembered 404 ({int(age)}s old)")
            )
            return
        query = ""
        if module.code_file and module.code_id:
            query = "?" + urlencode(
                {"code_file": leaf(module.code_file), "code_id": module.code_id.lower()}
            )
        all_missing = True
        for base in self.urls:
            url = base + "/".join(quote(part) for part in rel) + query
            attempt = self._download_one(base, url, rel, result, deadline)
            result.attempts.append(attempt)
            if attempt.outcome == fetch.FOUND:
                return
            all_missing &= attempt.outcome == fetch.NOT_FOUND
        if all_missing:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()

    def _download_one(
        self,
        base: str,
        url: str,
        rel: tuple[str, ...],
        result: LookupResult,
        deadline: float | None,
    ) -> Attempt:
        from symbols.atomic import publish, scratch_file

        scratch = self.scratch_dir or self.cache_dir / SCRATCH_NAME
        with scratch_file(scratch) as tmp:
            started = time.monotonic()
            got = self._http(base, url, tmp, deadline, head_check=check_sym_head)
            if got.status is None and got.outcome in NOT_TRIED:
                return Attempt(url, got.outcome, got.reason)  # nothing fetched, nothing to time
            if self.on_download is not None:
                outcome = {fetch.FOUND: "found", fetch.NOT_FOUND: "missing"}.get(
                    got.outcome, "error"
                )
                self.on_download(time.monotonic() - started, outcome)
            if got.outcome != fetch.FOUND:
                return Attempt(url, got.outcome, got.reason)
            try:
                self.validate(tmp)
            except SymbolParseError as e:
                return Attempt(url, fetch.CORRUPT, e.reason)
            with open(tmp, "ab") as f:
                f.write(b"INFO URL " + url.encode() + b"\n")
            final = self.cache_dir.joinpath(*rel)
            publish(tmp, final)
        result.path, result.url = final, url
        if self.cache_max_bytes is not None:
            evict_downloads(self.cache_dir, self.cache_max_bytes, keep=final)
        return Attempt(url, fetch.FOUND, got.reason)

    # -- code info -------------------------------------------------------------------------

    def _code_info(
        self, module: ModuleId, attempts: list[Attempt], deadline: float | None = None
    ) -> DebugInfo | None:
        if not module.code_file or not module.code_id:
            return None
        code_file = leaf(module.code_file)
        try:
            check_component(code_file, "code file")
            code_id = normalize_id(module.code_id, "code id")
        except SymbolError as e:
            attempts.append(Attempt("code info", fetch.REFUSED, str(e)))
            return None
        for base in self.paths:
            index_path = self.index_paths.get(base)
            if index_path is None and self.index_for is not None:
                index_path = self.index_for(base)
                if index_path is not None:
                    self.index_paths[base] = index_path
            index_path = index_path or base / INDEX_NAME
            if not index_path.is_file():
                continue
            from symbols.index import CodeInfoIndex

            found = CodeInfoIndex(index_path).lookup(code_file, code_id)
            outcome = fetch.FOUND if found else fetch.NOT_FOUND
            attempts.append(Attempt(str(index_path), outcome, "code-info index"))
            if found is not None:
                return found
        for base in self.urls:
            probe = base + f"{quote(code_file)}/{code_id}/{quote(code_info_sym_name(code_file))}"
            got = self._http(base, probe, None, deadline, follow_redirects=False)
            if got.status not in (301, 302) or not got.location:
                outcome = got.outcome if got.outcome != fetch.FOUND else fetch.NOT_FOUND
                attempts.append(Attempt(probe, outcome, got.reason + " (no code-info redirect)"))
                continue
            info, reason = self._parse_redirect(base, probe, got.location)
            attempts.append(Attempt(probe, fetch.FOUND if info else fetch.REFUSED, reason))
            if info is not None:
                return info
        return None

    def _parse_redirect(self, base: str, probe: str, location: str) -> tuple[DebugInfo | None, str]:
        from symbols.trust import redirect_trusted

        absolute = urljoin(probe, location)
        if not redirect_trusted(base, absolute, self.trusted_hosts):
            return None, "code-info redirect to an untrusted host"
        target = urlsplit(absolute)
        parts = unquote(target.path).split("/")
        if len(parts) < 4:
            return None, "code-info redirect is not a symbol path"
        try:
            debug_file = check_component(parts[-3], "debug file")
            debug_id = normalize_id(parts[-2], "debug id")
        except SymbolError as e:
            return None, f"code-info redirect refused: {e}"
        from symbols.index import DebugInfo

        return DebugInfo(debug_file, debug_id), "code-info redirect"


def _touch_used(path: Path) -> None:
    """Record a use of a cached download in its access time, the cache's recency.

    The modification time is kept: the parsed-symbol cache keys its entries on it.
    """
    with contextlib.suppress(OSError):
        os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))


def evict_downloads(cache_dir: Path, max_bytes: int, keep: Path | None = None) -> int:
    """Remove the least recently used downloaded `.sym` files until those left take at most
    `max_bytes` (never `keep`, the file just stored); returns bytes freed.

    Only `{debug_file}/{id}/*.sym` files are counted: the cache's own dot-directories and the
    parsed-symbol cache beside them are not downloads. A process still reading a removed file
    keeps reading it.
    """
    entries = []
    for debug_dir in cache_dir.iterdir():
        if debug_dir.name.startswith(".") or not debug_dir.is_dir():
            continue
        for path in debug_dir.glob("*/*.sym"):
            with contextlib.suppress(OSError):
                stat = path.stat()
                entries.append((stat.st_atime_ns, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    freed = 0
    for _, size, path in sorted(entries):
        if total - freed <= max_bytes:
            break
        if path == keep:
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            freed += size
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # its id directory, when now empty
    return freed
