"""HTTP downloads for the symbol supplier: retries, a hard deadline, a size limit.

Symbol servers are remote and sometimes sick. A processor must not hang on a server
that never answers, fill its disk with a 2 GB response, or give up on one 503: every
request here is bounded in time and size, retried with backoff on 429/5xx/connection
errors, and reports a short reason instead of raising. A caller may also bound a fetch
by its own deadline (a crash's symbols budget) and cancel it (a stopping worker): both are
checked before every attempt, before every retry and between body chunks. Redirects are
followed one hop at a time, each target checked by the caller's policy (trusted hosts), and
a body may be refused by its first line before the rest is read (a .sym starts with MODULE).

`requests` is imported when a Fetcher first needs it, not with this module: it costs
more to import (~50 ms) than a whole stackwalk over local symbols, and only a
supplier with symbols URLs makes a Fetcher.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

from crashproc.records import FrozenRecord

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up cost)
if TYPE_CHECKING:
    import threading

    import requests

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Outcomes recorded in Attempt.outcome.
FOUND = "found"
NOT_FOUND = "not-found"
TRANSIENT = "transient-error"
TIMEOUT = "timeout"
TOO_LARGE = "too-large"
CORRUPT = "corrupt"
REFUSED = "refused"
# Not tried at all: the crash's symbols budget was spent, the lookup was cancelled, or the
# source is cooling down after failing again and again (circuit breaker).
BUDGET = "budget"
CANCELLED = "cancelled"
UNAVAILABLE = "unavailable"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
MAX_HEAD = 64 * 1024  # bytes of a body's first line given to a head check at most
CHUNK = 64 * 1024
DEFAULT_MAX_SIZE = 2 << 30


class HttpOptions(FrozenRecord):
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    deadline: float = 300.0  # whole download of one file, retries included
    max_size: int = DEFAULT_MAX_SIZE  # decoded bytes
    retries: int = 3
    backoff: float = 0.5  # first retry delay; doubles each time
    max_backoff: float = 10.0
    user_agent: str = "crashproc-symbols/0.1"

    def __init__(
        self,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        deadline: float = 300.0,
        max_size: int = DEFAULT_MAX_SIZE,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        user_agent: str = "crashproc-symbols/0.1",
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.max_size = max_size
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.user_agent = user_agent

    _fields = (
        "connect_timeout",
        "read_timeout",
        "deadline",
        "max_size",
        "retries",
        "backoff",
        "max_backoff",
        "user_agent",
    )


class FetchResult(FrozenRecord):
    outcome: str
    reason: str
    status: int | None = None
    location: str | None = None  # Location header of a redirect (redirects not followed)
    # The server did not answer at all (timeout, connection refused or broken): what a
    # circuit breaker counts, unlike an HTTP error, which is an answer.
    silent: bool = False

    def __init__(
        self,
        outcome: str,
        reason: str,
        status: int | None = None,
        location: str | None = None,
        silent: bool = False,
    ) -> None:
        self.outcome = outcome
        self.reason = reason
        self.status = status
        self.location = location
        self.silent = silent

    _fields = ("outcome", "reason", "status", "location", "silent")


class FetchLimits(FrozenRecord):
    """What a caller adds to one fetch: its own deadline (time.monotonic), a cancel event,
    a check of the body's first line (returns why it is refused, or None), and the policy
    for redirect targets (True: follow; None: follow any)."""

    deadline: float | None = None
    cancel: threading.Event | None = None
    head_check: Callable[[bytes], str | None] | None = None
    redirect_allowed: Callable[[str], bool] | None = None

    def __init__(
        self,
        deadline: float | None = None,
        cancel: threading.Event | None = None,
        head_check: Callable[[bytes], str | None] | None = None,
        redirect_allowed: Callable[[str], bool] | None = None,
    ) -> None:
        self.deadline = deadline
        self.cancel = cancel
        self.head_check = head_check
        self.redirect_allowed = redirect_allowed

    _fields = ("deadline", "cancel", "head_check", "redirect_allowed")


def make_session(options: HttpOptions) -> requests.Session:
    """A session with pooled keep-alive connections (one per host), reused across files."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=8, pool_maxsize=8, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = options.user_agent
    session.headers["Accept-Encoding"] = "gzip"
    return session


def _abort(response: requests.Response) -> None:
    """Interrupt a read blocked in another thread: shut the socket down, then close."""
    # urllib3 keeps the socket on the connection, or (when the server will close the
    # connection, e.g. HTTP/1.0) only inside the http.client response's file object.
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is None:
        fp = getattr(getattr(response.raw, "_fp", None), "fp", None)
        sock = getattr(getattr(fp, "raw", None), "_sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            import socket

            sock.shutdown(socket.SHUT_RDWR)
    response.close()


class Fetcher:
    def __init__(
        self, options: HttpOptions | None = None, session: requests.Session | None = None
    ) -> None:
        self.options = options or HttpOptions()
        self.session = session or make_session(self.options)

    def close(self) -> None:
        self.session.close()

    def _sleep_before_retry(
        self,
        attempt: int,
        deadline: float,
        response: requests.Response | None,
        cancel: threading.Event | None,
    ) -> bool:
        """Wait before retry `attempt`; False if the deadline leaves no time for it or the
        fetch was cancelled meanwhile.

        Timeouts are retried too (a stalled connection is often transient); the per-file
        deadline bounds the total.
        """
        delay = min(self.options.backoff * (2**attempt), self.options.max_backoff)
        if response is not None and (after := response.headers.get("Retry-After", "")).isdigit():
            delay = min(float(after), self.options.max_backoff)
        if time.monotonic() + delay >= deadline:
            return False
        if cancel is not None:
            return not cancel.wait(delay)
        time.sleep(delay)
        return True

    def fetch(
        self,
        url: str,
        target: Path | None,
        follow_redirects: bool = True,
        limits: FetchLimits | None = None,
    ) -> FetchResult:
        """GET `url`; with `target`, stream the (decoded) body into it.

        Without `target` (code-info probes) a 301/302 is reported with its Location.
        """
        import requests

        limits = limits or FetchLimits()
        deadline = time.monotonic() + self.options.deadline
        if limits.deadline is not None:
            deadline = min(deadline, limits.deadline)
        cancel = limits.cancel
        last = FetchResult(TRANSIENT, "no attempt made")
        for attempt in range(self.options.retries + 1):
            if cancel is not None and cancel.is_set():
                return FetchResult(CANCELLED, "lookup cancelled")
            response = None
            try:
                result, response = self._fetch_once(url, target, follow_redirects, deadline, limits)
            except requests.Timeout:
                result = FetchResult(TIMEOUT, "server did not answer in time", silent=True)
            except requests.ConnectionError:
                result = (
                    FetchResult(TIMEOUT, "download deadline exceeded")
                    if time.monotonic() >= deadline
                    else FetchResult(TRANSIENT, "connection error", silent=True)
                )
            except requests.RequestException as e:
                result = FetchResult(TRANSIENT, f"request failed ({type(e).__name__})")
            last = result
            if result.outcome not in (TRANSIENT, TIMEOUT):
                return result
            if attempt == self.options.retries or not self._sleep_before_retry(
                attempt, deadline, response, cancel
            ):
                break
        if cancel is not None and cancel.is_set():
            return FetchResult(CANCELLED, "lookup cancelled")
        return last

    def _fetch_once(
        self,
        url: str,
        target: Path | None,
        follow_redirects: bool,
        deadline: float,
        limits: FetchLimits,
    ) -> tuple[FetchResult, requests.Response | None]:
        """One attempt, following up to MAX_REDIRECTS redirects itself (each target checked
        by `limits.redirect_allowed`), so no hop reaches a host the policy refuses."""
        for _ in range(MAX_REDIRECTS + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return FetchResult(TIMEOUT, "download deadline exceeded"), None
            timeout = (
                min(self.options.connect_timeout, remaining),
                min(self.options.read_timeout, remaining),
            )
            response = self.session.get(url, stream=True, timeout=timeout, allow_redirects=False)
            with response:
                status = response.status_code
                location = response.headers.get("Location")
                if status not in REDIRECT_STATUSES or not location:
                    return self._answer(response, target, deadline, limits), response
                if not follow_redirects:
                    return FetchResult(FOUND, f"HTTP {status}", status, location), response
            url = urljoin(url, location)
            if limits.redirect_allowed is not None and not limits.redirect_allowed(url):
                return FetchResult(REFUSED, "redirect to an untrusted host", status), None
        return FetchResult(REFUSED, f"more than {MAX_REDIRECTS} redirects"), None

    def _answer(
        self, response: requests.Response, target: Path | None, deadline: float, limits: FetchLimits
    ) -> FetchResult:
        status = response.status_code
        if status in RETRY_STATUSES:
            return FetchResult(TRANSIENT, f"HTTP {status}", status)
        if status != 200:
            return FetchResult(NOT_FOUND, f"HTTP {status}", status)
        if target is None:
            return FetchResult(FOUND, "HTTP 200", status)
        declared = response.headers.get("Content-Length", "")
        if (
            declared.isdigit()
            and int(declared) > self.options.max_size
            and "Content-Encoding" not in response.headers
        ):
            return FetchResult(
                TOO_LARGE, f"response larger than {self.options.max_size} bytes", status
            )
        return self._stream_body(response, target, deadline, limits)

    def _stream_body(
        self, response: requests.Response, target: Path, deadline: float, limits: FetchLimits
    ) -> FetchResult:
        import threading  # here, not at the top: a lookup over local stores never needs it

        import requests

        # A watchdog closes the connection at the deadline or on cancel, so neither a server
        # trickling bytes nor a stalled read can hold the download open past either.
        expired = threading.Event()
        done = threading.Event()
        cancel = limits.cancel

        def watch() -> None:
            while not done.is_set():
                left = deadline - time.monotonic()
                if left <= 0 or (cancel is not None and cancel.is_set()):
                    expired.set()
                    _abort(response)
                    return
                done.wait(min(left, 0.2) if cancel is not None else left)

        watchdog = threading.Thread(target=watch, name="symbols-download-watchdog", daemon=True)
        watchdog.start()
        size = 0
        head = b"" if limits.head_check is not None else None
        try:
            with open(target, "wb") as out:
                for chunk in response.iter_content(CHUNK):
                    size += len(chunk)
                    if size > self.options.max_size:
                        return FetchResult(
                            TOO_LARGE, f"response larger than {self.options.max_size} bytes", 200
                        )
                    if head is not None:
                        head += chunk[:MAX_HEAD]
                        if b"\n" in head or len(head) >= MAX_HEAD:
                            refused = limits.head_check(head.split(b"\n", 1)[0][:MAX_HEAD])
                            if refused is not None:
                                return FetchResult(CORRUPT, refused, 200)
                            head = None
                    out.write(chunk)
                if head is not None and (refused := limits.head_check(head)) is not None:
                    return FetchResult(CORRUPT, refused, 200)
        except (requests.RequestException, OSError, AttributeError, ValueError):
            # Closing the response under iter_content surfaces as one of these.
            if expired.is_set():
                return self._cut_short(cancel)
            return FetchResult(TRANSIENT, "connection broken during download", 200, silent=True)
        finally:
            done.set()
        if expired.is_set():
            return self._cut_short(cancel)
        return FetchResult(FOUND, f"HTTP 200, {size} bytes", 200)

    @staticmethod
    def _cut_short(cancel: threading.Event | None) -> FetchResult:
        if cancel is not None and cancel.is_set():
            return FetchResult(CANCELLED, "lookup cancelled", 200)
        return FetchResult(TIMEOUT, "download deadline exceeded", 200)
