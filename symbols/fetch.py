"""HTTP downloads for the symbol supplier: retries, a hard deadline, a size limit.

Symbol servers are remote and sometimes sick. A processor must not hang on a server
that never answers, fill its disk with a 2 GB response, or give up on one 503: every
request here is bounded in time and size, retried with backoff on 429/5xx/connection
errors, and reports a short reason instead of raising.

`requests` is imported when a Fetcher first needs it, not with this module: it costs
more to import (~50 ms) than a whole stackwalk over local symbols, and only a
supplier with symbols URLs makes a Fetcher.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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


@dataclass(frozen=True)
class HttpOptions:
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    deadline: float = 300.0  # whole download of one file, retries included
    max_size: int = 4 << 30  # decoded bytes
    retries: int = 3
    backoff: float = 0.5  # first retry delay; doubles each time
    max_backoff: float = 10.0
    user_agent: str = "crashproc-symbols/0.1"


@dataclass(frozen=True)
class FetchResult:
    outcome: str
    reason: str
    status: int | None = None
    location: str | None = None  # Location header of a redirect (redirects not followed)


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
        self, attempt: int, deadline: float, response: requests.Response | None
    ) -> bool:
        """Wait before retry `attempt`; False if the deadline leaves no time for it.

        Timeouts are retried too (a stalled connection is often transient); the per-file
        deadline bounds the total.
        """
        delay = min(self.options.backoff * (2**attempt), self.options.max_backoff)
        if response is not None and (after := response.headers.get("Retry-After", "")).isdigit():
            delay = min(float(after), self.options.max_backoff)
        if time.monotonic() + delay >= deadline:
            return False
        time.sleep(delay)
        return True

    def fetch(self, url: str, target: Path | None, follow_redirects: bool = True) -> FetchResult:
        """GET `url`; with `target`, stream the (decoded) body into it.

        Without `target` (code-info probes) a 301/302 is reported with its Location.
        """
        import requests

        deadline = time.monotonic() + self.options.deadline
        last = FetchResult(TRANSIENT, "no attempt made")
        for attempt in range(self.options.retries + 1):
            response = None
            try:
                result, response = self._fetch_once(url, target, follow_redirects, deadline)
            except requests.Timeout:
                result = FetchResult(TIMEOUT, "server did not answer in time")
            except requests.ConnectionError:
                result = (
                    FetchResult(TIMEOUT, "download deadline exceeded")
                    if time.monotonic() >= deadline
                    else FetchResult(TRANSIENT, "connection error")
                )
            except requests.RequestException as e:
                result = FetchResult(TRANSIENT, f"request failed ({type(e).__name__})")
            last = result
            if result.outcome not in (TRANSIENT, TIMEOUT):
                return result
            if attempt == self.options.retries or not self._sleep_before_retry(
                attempt, deadline, response
            ):
                break
        return last

    def _fetch_once(
        self, url: str, target: Path | None, follow_redirects: bool, deadline: float
    ) -> tuple[FetchResult, requests.Response | None]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return FetchResult(TIMEOUT, "download deadline exceeded"), None
        timeout = (
            min(self.options.connect_timeout, remaining),
            min(self.options.read_timeout, remaining),
        )
        response = self.session.get(
            url, stream=True, timeout=timeout, allow_redirects=follow_redirects
        )
        with response:
            status = response.status_code
            if status in RETRY_STATUSES:
                return FetchResult(TRANSIENT, f"HTTP {status}", status), response
            if status in (301, 302, 303, 307, 308) and not follow_redirects:
                return FetchResult(
                    FOUND, f"HTTP {status}", status, response.headers.get("Location")
                ), response
            if status != 200:
                return FetchResult(NOT_FOUND, f"HTTP {status}", status), response
            if target is None:
                return FetchResult(FOUND, "HTTP 200", status), response
            declared = response.headers.get("Content-Length", "")
            if (
                declared.isdigit()
                and int(declared) > self.options.max_size
                and "Content-Encoding" not in response.headers
            ):
                return FetchResult(
                    TOO_LARGE, f"response larger than {self.options.max_size} bytes", status
                ), response
            return self._stream_body(response, target, deadline), response

    def _stream_body(
        self, response: requests.Response, target: Path, deadline: float
    ) -> FetchResult:
        import threading

        import requests

        # A watchdog closes the connection at the deadline, so a server trickling bytes
        # cannot hold the download open past it.
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            _abort(response)

        timer = threading.Timer(max(deadline - time.monotonic(), 0), expire)
        timer.daemon = True
        timer.start()
        size = 0
        try:
            with open(target, "wb") as out:
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > self.options.max_size:
                        return FetchResult(
                            TOO_LARGE, f"response larger than {self.options.max_size} bytes", 200
                        )
                    out.write(chunk)
        except (requests.RequestException, OSError, AttributeError, ValueError):
            # Closing the response under iter_content surfaces as one of these.
            if expired.is_set():
                return FetchResult(TIMEOUT, "download deadline exceeded", 200)
            return FetchResult(TRANSIENT, "connection broken during download", 200)
        finally:
            timer.cancel()
        if expired.is_set():
            return FetchResult(TIMEOUT, "download deadline exceeded", 200)
        return FetchResult(FOUND, f"HTTP 200, {size} bytes", 200)
