"""A Tecken-compatible symbols server over a SymbolStore, on the shared web stack (webstack).

Download API: GET/HEAD `/{debug_file}/{debug_id}/{sym_file}` answers 200 with the file,
or, for a missing `.sym` whose "debug id" is too short to be one (so probably a code
id), a 302 to the debug-id path found in the code-info index -- the redirect
rust-minidump's HTTP supplier follows for modules without a debug id. Also Dockerflow
heartbeats and `POST /upload/` (zip of .sym files, raw or as a multipart file part, API
token in `Auth-Token`; only the token's SHA-256 is kept).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from symbols.errors import StoreError
from symbols.names import sym_file_name
from symbols.store import SymbolStore
from webstack import serve as webserve
from webstack.app import service_app
from webstack.form import Disconnected, FormError, Limits, read_body, read_form

# Tecken's VALID_KEY_CHARS for debug and symbol file names; ids are hex.
_KEY = r"[^\x00-\x1f\x7f-\xff\\^`><{}\[\]#%\"'|/]+"
_DOWNLOAD = re.compile(rf"^/(?:try/)?({_KEY})/([0-9A-Fa-f]+)/({_KEY})$")
NULL_DEBUG_ID = "0" * 33
ALLOWED_EXTENSIONS = (".sym", ".dl_", ".ex_", ".pd_", ".dbg.gz", ".tar.bz2")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET",
    "Access-Control-Allow-Headers": (
        "accept,accept-encoding,authorization,content-type,dnt,"
        "origin,user-agent,x-csrftoken,x-requested-with"
    ),
}
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CHUNK = 256 * 1024
DEFAULT_MAX_UPLOAD = 2 << 30
# How `serve` hands its configuration to the worker processes (webstack.serve).
ENV_STORE = "CRASHPROC_SYMBOLS_SERVER_STORE"
ENV_TOKEN_SHA256 = "CRASHPROC_SYMBOLS_SERVER_UPLOAD_TOKEN_SHA256"
ENV_SENTRY_DSN = "CRASHPROC_SENTRY_DSN"  # the setting's own variable


def _json(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(payload, status_code=status, headers=headers)


def _text(status: int, text: str, method: str = "GET") -> Response:
    body = text.encode()
    headers = {"Content-Length": str(len(body)), **CORS_HEADERS}
    return Response(
        b"" if method == "HEAD" else body,
        status_code=status,
        headers=headers,
        media_type="text/plain; charset=utf-8",
    )


def _method_not_allowed(request: Request, allow: str) -> Response:
    error = f"Method Not Allowed ({request.method}): {request.scope['path']}"
    return _json(405, {"error": error}, {"Allow": allow})


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


def _nothing() -> Iterator[bytes]:
    return iter(())


class SymbolsApp:
    """The symbols service's endpoints; one instance serves one store."""

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

    def asgi(self) -> ASGIApp:
        """The Starlette application: webstack's shared endpoints plus Tecken's API.

        Both routes take every method and answer 405 themselves, in Tecken's JSON and with
        a fixed Allow header.
        """
        return service_app(
            "symbols",
            [
                Route("/upload/", self.upload, methods=ANY_METHOD),
                Route("/{path:path}", self.download, methods=ANY_METHOD),
            ],
            checks={"store": self._check_store, "index": self._check_index},
        )

    # -- download --------------------------------------------------------------------------

    def download(self, request: Request) -> Response:
        """Sync on purpose: store lookups touch the disk, so Starlette runs this in a thread."""
        path = request.scope["path"]
        match = _DOWNLOAD.match(path)
        if match is None:
            return _json(404, {"error": "Not Found", "path": path})
        method = request.method
        if method not in ("GET", "HEAD"):
            return _method_not_allowed(request, "GET, HEAD")
        debug_file, debug_id, sym_file = match.groups()
        debug_id = debug_id.upper()
        if (
            sym_file == "file.ptr"
            or debug_id == NULL_DEBUG_ID
            or not sym_file.endswith(ALLOWED_EXTENSIONS)
        ):
            return _text(404, "Symbol Not Found (and ignored)", method)
        found_path = self.store.find(debug_file, debug_id, sym_file)
        if found_path is not None:
            return self._send_file(request, found_path)
        if sym_file.endswith(".sym") and len(debug_id) < len(NULL_DEBUG_ID):
            found = self.store.lookup_code_info(debug_file, debug_id)
            if found is not None:
                location = f"/{found.debug_file}/{found.debug_id}/{sym_file_name(found.debug_file)}"
                if query := request.scope.get("query_string", b"").decode("latin-1"):
                    location += "?" + query
                return Response(
                    status_code=302,
                    headers={"Location": location, "Content-Length": "0", **CORS_HEADERS},
                )
        return _text(404, "Symbol Not Found", method)

    def _send_file(self, request: Request, path: Path) -> Response:
        headers = {**CORS_HEADERS}
        head = request.method == "HEAD"
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
            body = _nothing() if head else _gzip_chunks(path)
            return StreamingResponse(body, headers=headers, media_type="text/plain")
        headers["Content-Length"] = str(path.stat().st_size)
        if head:
            return Response(b"", headers=headers, media_type="text/plain")
        return StreamingResponse(_file_chunks(path), headers=headers, media_type="text/plain")

    # -- heartbeats --------------------------------------------------------------------------

    def _check_store(self) -> str:
        return "ok" if os.access(self.store.root, os.R_OK | os.X_OK) else "unreadable"

    def _check_index(self) -> str:
        try:
            self.store.index.lookup("__heartbeat__", "0")
        except Exception:
            return "error"
        return "ok"

    # -- upload ------------------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get("auth-token", "")
        return bool(self.token_sha256 and given) and hmac.compare_digest(
            token_digest(given), self.token_sha256
        )

    async def upload(self, request: Request) -> Response:
        if request.method != "POST":
            return _method_not_allowed(request, "POST")
        if not self._authorized(request):
            return _json(403, {"error": "missing or invalid Auth-Token"})
        try:
            length = int(request.headers.get("content-length") or 0)
        except ValueError:
            length = -1
        if length <= 0:
            return _json(400, {"error": "empty or unsized upload"})
        if length > self.max_upload:
            return _json(413, {"error": f"upload larger than {self.max_upload} bytes"})
        limits = Limits(max_body=self.max_upload, max_uncompressed=self.max_upload, max_parts=16)
        self.store.scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.store.scratch, prefix=".upload-") as scratch:
            try:
                zipped = await self._receive_zip(request, limits, Path(scratch))
                results = await run_in_threadpool(self.store.add_zip, zipped, on_defect="refuse")
            except FormError as e:
                return _json(400, {"error": str(e)})
            except StoreError as e:
                return _json(400, {"error": str(e)})
            except Disconnected:
                return _json(400, {"error": "upload body ended early"})
        stored = [str(r.path.relative_to(self.store.root)) for r in results if r.error is None]
        skipped = [{"file": r.source, "error": r.error} for r in results if r.error is not None]
        if not stored and not skipped:
            return _json(400, {"error": "zip contains no .sym files"})
        return _json(201, {"upload": {"stored": stored, "skipped": skipped}})

    async def _receive_zip(self, request: Request, limits: Limits, scratch: Path) -> Path:
        """The zip of the upload on disk: the body itself, or its (first) multipart file."""
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await read_form(request, limits, scratch)
            if not form.files:
                raise StoreError("multipart upload has no file part")
            return form.files[0].path
        target = scratch / "upload.zip"
        with open(target, "wb") as out:
            await read_body(request, limits, out)
        return target


def token_digest(token: str) -> str:
    """The hex SHA-256 of an upload token: what the configuration stores and the server keeps."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def make_app(
    store_root: Path, token: str | None = None, token_sha256: str | None = None
) -> ASGIApp:
    return SymbolsApp(
        SymbolStore(store_root),
        token=token or os.environ.get("SYMBOLS_UPLOAD_TOKEN") or None,
        token_sha256=token_sha256,
    ).asgi()


def app_from_env() -> ASGIApp:
    """The factory each worker process of `serve` calls (its settings in the environment).
    With a Sentry DSN configured (``sentry.dsn``), the worker reports its errors, scrubbed as
    every crashproc service's are (crashproc/sentry.py)."""
    if dsn := os.environ.get(ENV_SENTRY_DSN):
        from crashproc.sentry import setup_sentry

        setup_sentry(dsn, service="symbols")
    return make_app(
        Path(os.environ[ENV_STORE]), token_sha256=os.environ.get(ENV_TOKEN_SHA256) or None
    )


def start_background(
    store_root: Path, host: str = "127.0.0.1", port: int = 0, token: str | None = None
) -> webserve.BackgroundServer:
    """Start the server in a daemon thread (tests, embedding); call .shutdown()."""
    return webserve.start_background(make_app(store_root, token), host, port)


def serve(
    store_root: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    workers: int = 2,
    token_sha256: str | None = None,
    sentry_dsn: str | None = None,
    max_connections: int | None = None,
    idle_timeout: float = webserve.KEEP_ALIVE_SECONDS,
    backlog: int = webserve.BACKLOG,
) -> int:
    """Run in the foreground with uvicorn worker processes until interrupted.

    Connections cost no thread (the old threading server held one per idle socket): an idle
    one is closed after ``idle_timeout`` seconds, requests beyond ``max_connections`` per
    worker (idle connections included) are answered 503, and the kernel queues ``backlog``
    connections not yet accepted.
    """
    token = token or os.environ.get("SYMBOLS_UPLOAD_TOKEN") or None
    digest = token_digest(token) if token else (token_sha256 or "")
    print(f"serving {store_root} on http://{host}:{port}/", flush=True)
    return webserve.run(
        "symbols.server:app_from_env",
        host=host,
        port=port,
        workers=workers,
        limit_concurrency=max_connections,
        keep_alive=idle_timeout,
        backlog=backlog,
        env={
            ENV_STORE: str(Path(store_root).resolve()),
            ENV_TOKEN_SHA256: digest,
            ENV_SENTRY_DSN: sentry_dsn or "",
        },
    )
