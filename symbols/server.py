"""A Tecken-compatible symbols server over a SymbolStore (WSGI).

Download API: GET/HEAD `/{debug_file}/{debug_id}/{sym_file}` answers 200 with the file,
or, for a missing `.sym` whose "debug id" is too short to be one (so probably a code
id), a 302 to the debug-id path found in the code-info index -- the redirect
rust-minidump's HTTP supplier follows for modules without a debug id. Also Dockerflow
heartbeats and `POST /upload/` (zip of .sym files, API token).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import mmap
import os
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from symbols.atomic import scratch_file
from symbols.errors import StoreError
from symbols.names import sym_file_name
from symbols.store import SymbolStore

log = logging.getLogger(__name__)

# Tecken's VALID_KEY_CHARS for debug and symbol file names; ids are hex.
_KEY = r"[^\x00-\x1f\x7f-\xff\\^`><{}\[\]#%\"'|/]+"
_DOWNLOAD = re.compile(rf"^/(?:try/)?({_KEY})/([0-9A-Fa-f]+)/({_KEY})$")
NULL_DEBUG_ID = "0" * 33
ALLOWED_EXTENSIONS = (".sym", ".dl_", ".ex_", ".pd_", ".dbg.gz", ".tar.bz2")
CORS_HEADERS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET"),
    (
        "Access-Control-Allow-Headers",
        "accept,accept-encoding,authorization,content-type,dnt,"
        "origin,user-agent,x-csrftoken,x-requested-with",
    ),
]
CHUNK = 256 * 1024
DEFAULT_MAX_UPLOAD = 2 << 30

StartResponse = Callable[[str, list[tuple[str, str]]], object]


def _json(
    start: StartResponse, status: str, payload: object, extra: list[tuple[str, str]] | None = None
) -> list[bytes]:
    body = json.dumps(payload).encode()
    start(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *(extra or [])],
    )
    return [body]


def _text(start: StartResponse, status: str, text: str, method: str = "GET") -> list[bytes]:
    body = text.encode()
    start(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *CORS_HEADERS,
        ],
    )
    return [] if method == "HEAD" else [body]


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def _gzip_chunks(path: Path) -> Iterator[bytes]:
    """Compress while streaming (wbits 31 = gzip container), never holding the whole file."""
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    for chunk in _file_chunks(path):
        if out := z.compress(chunk):
            yield out
    yield z.flush()


class SymbolsApp:
    """The WSGI application; one instance serves one store."""

    def __init__(
        self,
        store: SymbolStore,
        token: str | None = None,
        max_upload: int = DEFAULT_MAX_UPLOAD,
        token_sha256: str | None = None,
    ) -> None:
        self.store = store
        # Only the token's SHA-256 is kept (a plain token given here is hashed at once), so
        # neither memory nor the configuration holds the secret itself.
        self.token_sha256 = (token_digest(token) if token else token_sha256 or "").lower()
        self.max_upload = max_upload

    def __call__(self, environ: dict, start: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "") or "/"
        try:
            if path in ("/__lbheartbeat__", "/__heartbeat__"):
                return self._heartbeat(path, start)
            if path == "/upload/":
                if method != "POST":
                    return _json(
                        start,
                        "405 Method Not Allowed",
                        {"error": f"Method Not Allowed ({method}): {path}"},
                        [("Allow", "POST")],
                    )
                return self._upload(environ, start)
            match = _DOWNLOAD.match(path)
            if match is None:
                return _json(start, "404 Not Found", {"error": "Not Found", "path": path})
            if method not in ("GET", "HEAD"):
                return _json(
                    start,
                    "405 Method Not Allowed",
                    {"error": f"Method Not Allowed ({method}): {path}"},
                    [("Allow", "GET, HEAD")],
                )
            return self._download(environ, start, method, *match.groups())
        except Exception:  # a request must never kill the server or leak a traceback
            log.exception("internal error serving %s %s", method, path)
            return _json(start, "500 Internal Server Error", {"error": "Internal Server Error"})

    # -- download --------------------------------------------------------------------------

    def _download(
        self,
        environ: dict,
        start: StartResponse,
        method: str,
        debug_file: str,
        debug_id: str,
        sym_file: str,
    ) -> Iterable[bytes]:
        debug_id = debug_id.upper()
        if (
            sym_file == "file.ptr"
            or debug_id == NULL_DEBUG_ID
            or not sym_file.endswith(ALLOWED_EXTENSIONS)
        ):
            return _text(start, "404 Not Found", "Symbol Not Found (and ignored)", method)
        path = self.store.find(debug_file, debug_id, sym_file)
        if path is not None:
            return self._send_file(environ, start, method, path)
        if sym_file.endswith(".sym") and len(debug_id) < len(NULL_DEBUG_ID):
            found = self.store.lookup_code_info(debug_file, debug_id)
            if found is not None:
                location = f"/{found.debug_file}/{found.debug_id}/{sym_file_name(found.debug_file)}"
                if query := environ.get("QUERY_STRING"):
                    location += "?" + query
                start("302 Found", [("Location", location), ("Content-Length", "0"), *CORS_HEADERS])
                return []
        return _text(start, "404 Not Found", "Symbol Not Found", method)

    def _send_file(
        self, environ: dict, start: StartResponse, method: str, path: Path
    ) -> Iterable[bytes]:
        headers = [("Content-Type", "text/plain"), *CORS_HEADERS]
        accepts_gzip = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
        if accepts_gzip:
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
            start("200 OK", headers)
            return [] if method == "HEAD" else _gzip_chunks(path)
        headers.append(("Content-Length", str(path.stat().st_size)))
        start("200 OK", headers)
        return [] if method == "HEAD" else _file_chunks(path)

    # -- heartbeats --------------------------------------------------------------------------

    def _heartbeat(self, path: str, start: StartResponse) -> list[bytes]:
        if path == "/__lbheartbeat__":
            return _json(start, "200 OK", {"status": "ok"})
        checks = {}
        checks["store"] = "ok" if os.access(self.store.root, os.R_OK | os.X_OK) else "unreadable"
        try:
            self.store.index.lookup("__heartbeat__", "0")
            checks["index"] = "ok"
        except Exception:
            checks["index"] = "error"
        healthy = all(v == "ok" for v in checks.values())
        return _json(
            start,
            "200 OK" if healthy else "500 Internal Server Error",
            {"status": "ok" if healthy else "error", "checks": checks},
        )

    # -- upload ------------------------------------------------------------------------------

    def _authorized(self, environ: dict) -> bool:
        given = environ.get("HTTP_AUTH_TOKEN", "")
        return bool(self.token_sha256 and given) and hmac.compare_digest(
            token_digest(given), self.token_sha256
        )

    def _upload(self, environ: dict, start: StartResponse) -> list[bytes]:
        if not self._authorized(environ):
            return _json(start, "403 Forbidden", {"error": "missing or invalid Auth-Token"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length <= 0:
            return _json(start, "400 Bad Request", {"error": "empty or unsized upload"})
        if length > self.max_upload:
            return _json(
                start,
                "413 Payload Too Large",
                {"error": f"upload larger than {self.max_upload} bytes"},
            )
        with scratch_file(self.store.scratch) as body, scratch_file(self.store.scratch) as zipped:
            with open(body, "wb") as out:
                _copy_exact(environ["wsgi.input"], out, length)
            try:
                _extract_zip_body(body, environ.get("CONTENT_TYPE", ""), zipped)
                results = self.store.add_zip(zipped, on_defect="refuse")
            except StoreError as e:
                return _json(start, "400 Bad Request", {"error": str(e)})
        stored = [str(r.path.relative_to(self.store.root)) for r in results if r.error is None]
        skipped = [{"file": r.source, "error": r.error} for r in results if r.error is not None]
        if not stored and not skipped:
            return _json(start, "400 Bad Request", {"error": "zip contains no .sym files"})
        return _json(start, "201 Created", {"upload": {"stored": stored, "skipped": skipped}})


def _copy_exact(stream, out, length: int) -> None:
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(CHUNK, remaining))
        if not chunk:
            raise StoreError("upload body ended early")
        out.write(chunk)
        remaining -= len(chunk)


def _extract_zip_body(body: Path, content_type: str, target: Path) -> None:
    """The zip inside a raw or multipart/form-data body, copied to `target` via mmap."""
    m = re.search(r"boundary=\"?([^\";]+)\"?", content_type)
    if not content_type.startswith("multipart/form-data") or m is None:
        os.replace(body, target)
        return
    delimiter = b"--" + m.group(1).encode("latin-1")
    with (
        open(body, "rb") as f,
        contextlib.closing(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)) as data,
    ):
        pos = data.find(delimiter)
        while pos >= 0:
            head_end = data.find(b"\r\n\r\n", pos)
            if head_end < 0:
                break
            headers = data[pos:head_end].lower()
            end = data.find(b"\r\n" + delimiter, head_end)
            if end < 0:
                break
            if b"filename=" in headers:
                with open(target, "wb") as out:
                    for start in range(head_end + 4, end, CHUNK):
                        out.write(data[start : min(start + CHUNK, end)])
                return
            pos = end + 2
    raise StoreError("multipart upload has no file part")


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def token_digest(token: str) -> str:
    """The hex SHA-256 of an upload token: what the configuration stores and the server keeps."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def make_app(
    store_root: Path, token: str | None = None, token_sha256: str | None = None
) -> SymbolsApp:
    return SymbolsApp(
        SymbolStore(store_root),
        token=token or os.environ.get("SYMBOLS_UPLOAD_TOKEN") or None,
        token_sha256=token_sha256,
    )


def start_background(
    store_root: Path, host: str = "127.0.0.1", port: int = 0, token: str | None = None
) -> ThreadingWSGIServer:
    """Start the threaded server in a daemon thread (tests, embedding); call .shutdown()."""
    server = make_server(
        host,
        port,
        make_app(store_root, token),
        server_class=ThreadingWSGIServer,
        handler_class=QuietHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve(
    store_root: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    workers: int = 2,
    token_sha256: str | None = None,
) -> int:
    """Run in the foreground: gunicorn when installed, the threaded wsgiref server otherwise."""
    app = make_app(store_root, token, token_sha256)
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:
        BaseApplication = None
    if BaseApplication is not None:

        class _Gunicorn(BaseApplication):
            def load_config(self) -> None:
                self.cfg.set("bind", f"{host}:{port}")
                self.cfg.set("workers", workers)

            def load(self) -> SymbolsApp:
                return app

        _Gunicorn().run()
        return 0
    server = make_server(
        host, port, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler
    )
    print(f"serving {store_root} on http://{host}:{server.server_port}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0
