"""``crashproc web``: the crash browser's routes over the report index and crash storage.

Pages read public data: the report index (public columns) and the stored public copy of each
processed crash. A viewer with ``view_protected`` (an ``Auth-Token`` header, or a browser
session signed in with such a token: processor.web.signin) gets more: the report page shows
the whole processed crash, its protected fields apart, and links to the raw crash and the
dumps (``/report/<id>/dumps/<name>``); the API answers the full processed crash and the raw
crash (``/api/RawCrash/``, never public). ``POST /api/Reprocessing/`` queues stored crashes
for reprocessing with a token that has ``reprocess``.

The API's GETs honour the session cookie too, so the report page's links to the JSON work in
the browser that is signed in; they only read, and the cookie is SameSite=Strict, so another
site cannot make a browser send it. ``POST /api/Reprocessing/`` takes the ``Auth-Token``
header only: a cookie-authenticated POST would be open to cross-site request forgery.

Storage and index reads block, so the endpoints are plain functions Starlette runs in its
thread pool; each thread opens its own index connection.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from processor.config import Settings
from processor.crashdir import DUMP_NAME_RE
from processor.crashid import crash_id_problem
from processor.queues import REPROCESSING, CrashQueue, QueueError
from processor.reports import browse, queries, search
from processor.reports.database import is_postgresql
from processor.reports.index import ReportIndex, ReportIndexError, configured_index_path
from processor.storage import CrashStorage, StorageError, open_storage
from processor.storage.crashstorage import CrashNotFound
from processor.web import pages, signin
from processor.web.render import CSP
from processor.web.tokens import REPROCESS, VIEW_PROTECTED, TokenStore, Viewer, tokens_path
from webstack.app import service_app
from webstack.form import Disconnected, FormError

log = logging.getLogger("crashproc.web")
MAX_DAYS = 366
MAX_CHART_DAYS = 90
MAX_REPROCESS = 1000  # crash ids in one reprocessing request
MAX_SIGNATURES = 500  # signatures in one SignatureFirstDate request
MISSING_SYMBOLS_TOP = 200  # modules on the missing-symbols page
DEFAULT_SESSION_MAX_AGE = 14 * 24 * 3600  # web.session_max_age
PRIVATE = "private, no-store"


def _cross_site_refusal(title: str) -> HTMLResponse:
    """The 403 for a sign-in or sign-out form sent from another site (login CSRF)."""
    return _html(
        pages.message_page(title, "Refused: the form was not sent from this site."), 403, True
    )


def _html(markup: str, status: int = 200, private: bool = False) -> HTMLResponse:
    """A page; ``private`` for one made for a viewer (it names them, or shows protected
    data): no cache may keep it."""
    headers = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}
    if private:
        headers["Cache-Control"] = PRIVATE
    return HTMLResponse(markup, status_code=status, headers=headers)


class CrashBrowser:
    """The pages and API over one storage, report index and token file (one per process).

    ``open_queue`` opens the queue ``POST /api/Reprocessing/`` publishes to (None: refused).
    ``session_max_age``: seconds a browser session lasts; ``secure_cookie``: mark the session
    cookie Secure even when the request came over plain http (TLS ends at a proxy).
    """

    def __init__(
        self,
        storage: CrashStorage,
        index_path: os.PathLike | str,
        tokens: TokenStore,
        open_queue: Callable[[], CrashQueue] | None = None,
        session_max_age: int = DEFAULT_SESSION_MAX_AGE,
        secure_cookie: bool = False,
    ):
        self.storage = storage
        self.index_path = index_path
        self.tokens = tokens
        self.open_queue = open_queue
        self.session_max_age = session_max_age
        self.secure_cookie = secure_cookie
        self._local = threading.local()
        self._shared: ReportIndex | None = None
        self._shared_lock = threading.Lock()

    def index(self) -> ReportIndex:
        """The index reader: one per thread for SQLite (a connection stays in its thread), one
        shared for PostgreSQL (its pool serves every thread; opened under a lock because
        opening the pool is not thread-safe)."""
        if is_postgresql(self.index_path):
            with self._shared_lock:
                if self._shared is None:
                    index = ReportIndex(self.index_path, create=False)
                    index.crash_count()  # the pool and the schema check, once
                    self._shared = index
                return self._shared
        index = getattr(self._local, "index", None)
        if index is None:
            index = self._local.index = ReportIndex(self.index_path, create=False)
        return index

    def close(self) -> None:
        """Close the storage and the shared (PostgreSQL) index; SQLite readers close with
        their threads."""
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        self.storage.close()

    def asgi(self) -> ASGIApp:
        return service_app(
            "web",
            [
                Route("/", self.top_crashers, methods=["GET", "HEAD"]),
                Route("/signature/", self.signature, methods=["GET", "HEAD"]),
                Route("/report/{crash_id}", self.report, methods=["GET", "HEAD"]),
                Route("/report/{crash_id}/dumps/{name}", self.dump, methods=["GET", "HEAD"]),
                Route("/signin", self.signin_page, methods=["GET", "HEAD"]),
                Route("/signin", self.signin, methods=["POST"]),
                Route("/signout", self.signout, methods=["POST"]),
                Route("/api/ProcessedCrash/", self.api_processed, methods=["GET", "HEAD"]),
                Route("/api/RawCrash/", self.api_raw, methods=["GET", "HEAD"]),
                Route("/api/SuperSearch/", self.api_search, methods=["GET", "HEAD"]),
                Route("/api/Reprocessing/", self.api_reprocessing, methods=["POST"]),
                Route("/api/SignatureFirstDate/", self.api_first_date, methods=["GET", "HEAD"]),
                Route("/search/", self.search_page, methods=["GET", "HEAD"]),
                Route("/missing-symbols/", self.missing_symbols, methods=["GET", "HEAD"]),
            ],
            checks={"index": self._check_index},
        )

    def _check_index(self) -> str:
        try:
            self.index().crash_count()
        except ReportIndexError:
            return "error"
        return "ok"

    # -- pages --------------------------------------------------------------------------------

    def _filters(self, request: Request) -> browse.Filters:
        params = request.query_params
        try:
            days = min(max(int(params.get("days") or browse.DEFAULT_DAYS), 1), MAX_DAYS)
        except ValueError:
            days = browse.DEFAULT_DAYS
        try:
            until = datetime.date.fromisoformat(params["until"]) if params.get("until") else None
        except ValueError:
            until = None
        base = browse.default_filters(self.index(), days, until)
        return browse.Filters(
            base.since,
            base.until,
            **{name: params.get(name) or None for name in browse.FILTERS},
        )

    def _viewer(self, request: Request) -> Viewer | None:
        return signin.viewer_of(request, self.tokens)

    def _page(self, markup: str, viewer: Viewer | None, status: int = 200) -> Response:
        return _html(markup, status, private=viewer is not None)

    def top_crashers(self, request: Request) -> Response:
        viewer = self._viewer(request)
        try:
            index = self.index()
            filters = self._filters(request)
            rows = browse.top_crashers(index, filters)
            total = browse.total(index, filters)
            choices = {
                name: browse.distinct(index, name)
                for name in ("product", "os_name", "process_type")
            }
        except ReportIndexError as exc:
            return self._page(pages.message_page("No crashes yet", str(exc), viewer), viewer, 503)
        return self._page(pages.top_crashers_page(filters, rows, total, choices, viewer), viewer)

    def missing_symbols(self, request: Request) -> Response:
        viewer = self._viewer(request)
        try:
            filters = self._filters(request)
            report = queries.report(
                self.index(),
                queries.MISSING_SYMBOLS,
                queries.Period(filters.since, filters.until),
                top=MISSING_SYMBOLS_TOP,
            )
        except ReportIndexError as exc:
            return self._page(pages.message_page("No crashes yet", str(exc), viewer), viewer, 503)
        return self._page(pages.missing_symbols_page(filters, report, viewer), viewer)

    def signature(self, request: Request) -> Response:
        viewer = self._viewer(request)
        signature = request.query_params.get("signature")
        if signature is None:
            return self._page(
                pages.message_page("Signature", "Which signature? (?signature=…)", viewer),
                viewer,
                400,
            )
        try:
            page_number = max(int(request.query_params.get("page") or 1), 1)
        except ValueError:
            page_number = 1
        split = request.query_params.get("chart") or None
        if split not in (None, *browse.SPLITS):
            split = None
        try:
            index = self.index()
            summary = browse.signature_summary(index, signature)
            filters, per_day, series = None, [], []
            if summary.last_seen:
                until = datetime.date.fromisoformat(summary.last_seen)
                since = max(
                    datetime.date.fromisoformat(summary.first_seen),
                    until - datetime.timedelta(days=MAX_CHART_DAYS - 1),
                )
                filters = browse.Filters(since, until)
                if split:
                    series = browse.signature_series(index, filters, signature, split)
                else:
                    per_day = browse.signature_days(index, filters, [signature])[signature]
            crashes = browse.signature_crashes(index, signature, page_number)
        except ReportIndexError as exc:
            return self._page(pages.message_page("No crashes yet", str(exc), viewer), viewer, 503)
        if not summary.crashes:
            return self._page(
                pages.message_page("Signature", "No crash has this signature.", viewer), viewer, 404
            )
        return self._page(
            pages.signature_page(
                summary,
                filters,
                per_day,
                crashes,
                page_number,
                browse.PAGE_SIZE,
                split,
                series,
                viewer,
            ),
            viewer,
        )

    def report(self, request: Request) -> Response:
        """The public copy; for a viewer with view_protected the whole processed crash (with
        its public copy, to tell the protected fields apart) and the dumps' names."""
        viewer = self._viewer(request)
        crash_id = request.path_params["crash_id"].removeprefix("bp-")
        if crash_id_problem(crash_id):
            return self._page(
                pages.message_page("Crash", "That is not a crash id.", viewer), viewer, 400
            )
        try:
            public = self.storage.load_processed_crash(crash_id, public=True)
            if viewer is None or VIEW_PROTECTED not in viewer.permissions:
                return self._page(pages.report_page(crash_id, public, viewer), viewer)
            processed = self.storage.load_processed_crash(crash_id)
            dump_names = self.storage.load_dump_names(crash_id)
        except CrashNotFound:
            return self._page(
                pages.message_page("Crash", "No processed crash has this id.", viewer), viewer, 404
            )
        markup = pages.report_page(crash_id, processed, viewer, public, dump_names)
        return _html(markup, private=True)

    def dump(self, request: Request) -> Response:
        """A stored dump as a download, for a viewer with view_protected only. The name must
        be one the storage lists for the crash: it never builds a key or a path by itself."""
        viewer = self._viewer(request)
        if viewer is None or VIEW_PROTECTED not in viewer.permissions:
            return self._page(
                pages.message_page("Dump", "Dumps need view_protected: sign in.", viewer),
                viewer,
                403,
            )
        crash_id = request.path_params["crash_id"].removeprefix("bp-")
        name = request.path_params["name"]
        if crash_id_problem(crash_id) or not DUMP_NAME_RE.fullmatch(name):
            return _html(pages.message_page("Dump", "No such dump.", viewer), 404, True)
        try:
            stored = self.storage.open_dump(crash_id, name)
        except CrashNotFound:
            return _html(pages.message_page("Dump", "No such dump.", viewer), 404, True)
        except StorageError as exc:
            log.warning("dump of crash %s not read (%s)", crash_id, exc.__class__.__name__)
            return _html(pages.message_page("Dump", "Storage is unavailable.", viewer), 503, True)
        headers = {
            "Content-Disposition": f'attachment; filename="{crash_id}-{name}.dmp"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": PRIVATE,
            "Content-Security-Policy": "default-src 'none'; sandbox",
        }
        if stored.size is not None:
            headers["Content-Length"] = str(stored.size)
        if request.method == "HEAD":
            stored.close()
            return Response(b"", media_type="application/octet-stream", headers=headers)
        log.info("dump %s of crash %s downloaded by %s", name, crash_id, viewer.name)
        return StreamingResponse(
            stored.chunks(), media_type="application/octet-stream", headers=headers
        )

    # -- signing in ---------------------------------------------------------------------------

    def signin_page(self, request: Request) -> Response:
        viewer = self._viewer(request)
        next_path = signin.safe_next(request.query_params.get("next"))
        return _html(pages.signin_page(viewer, next_path), private=True)

    async def signin(self, request: Request) -> Response:
        """Trade a token for a session cookie; a wrong token is a 403 saying only that."""
        if not signin.same_origin(request):
            return _cross_site_refusal("Sign in")
        try:
            form = await signin.read_signin_form(request)
        except (FormError, ValueError):
            return _html(pages.signin_page(None, "/", "Expected the sign-in form."), 400, True)
        except Disconnected:
            return Response(status_code=400)
        next_path = signin.safe_next(form.get("next"))
        made = await run_in_threadpool(
            self.tokens.create_session, form.get("token", "").strip(), self.session_max_age
        )
        if made is None:
            log.info("sign-in refused: unknown or revoked token")
            return _html(pages.signin_page(None, next_path, "That token is not valid."), 403, True)
        session_id, viewer = made
        log.info("signed in: token %s", viewer.name)
        response = RedirectResponse(next_path, status_code=303)
        response.headers["Cache-Control"] = PRIVATE
        signin.set_session_cookie(
            response,
            session_id,
            self.session_max_age,
            signin.is_https(request, self.secure_cookie),
        )
        return response

    async def signout(self, request: Request) -> Response:
        if not signin.same_origin(request):
            return _cross_site_refusal("Sign out")
        ended = await run_in_threadpool(
            self.tokens.end_session, request.cookies.get(signin.SESSION_COOKIE)
        )
        if ended:
            log.info("signed out")
        response = RedirectResponse("/", status_code=303)
        response.headers["Cache-Control"] = PRIVATE
        signin.clear_session_cookie(response, signin.is_https(request, self.secure_cookie))
        return response

    # -- API ----------------------------------------------------------------------------------

    def _permissions(self, request: Request, cookie: bool = True) -> frozenset[str]:
        viewer = signin.viewer_of(request, self.tokens, cookie)
        return viewer.permissions if viewer else frozenset()

    def _crash_id(self, request: Request) -> str | None:
        crash_id = (request.query_params.get("crash_id") or "").removeprefix("bp-")
        return None if crash_id_problem(crash_id) else crash_id

    def api_processed(self, request: Request) -> Response:
        crash_id = self._crash_id(request)
        if crash_id is None:
            return _json({"error": "crash_id: expected a crash id"}, 400)
        protected = VIEW_PROTECTED in self._permissions(request)
        try:
            document = self.storage.load_processed_crash(crash_id, public=not protected)
        except CrashNotFound:
            return _json({"error": "no processed crash has this id"}, 404)
        return _json(document)

    def api_raw(self, request: Request) -> Response:
        if VIEW_PROTECTED not in self._permissions(request):
            return _json({"error": "the raw crash needs a token with view_protected"}, 403)
        crash_id = self._crash_id(request)
        if crash_id is None:
            return _json({"error": "crash_id: expected a crash id"}, 400)
        try:
            document = self.storage.load_raw_crash(crash_id)
        except CrashNotFound:
            return _json({"error": "no raw crash has this id"}, 404)
        return _json(document)

    async def api_reprocessing(self, request: Request) -> Response:
        """Crash Stats's reprocessing: ``crash_ids`` (repeated) in a form; answers ``true``."""
        permissions = await run_in_threadpool(self._permissions, request, False)
        if REPROCESS not in permissions:
            return _json({"error": "reprocessing needs a token with reprocess"}, 403)
        if self.open_queue is None:
            return _json({"error": "this server has no queue to reprocess with"}, 503)
        try:
            form = await request.form(max_files=0, max_fields=MAX_REPROCESS)
        except Exception:  # a malformed or oversized form: the parser's errors vary
            return _json({"error": f"expected a form of at most {MAX_REPROCESS} crash_ids"}, 400)
        crash_ids = [str(v).removeprefix("bp-") for v in form.getlist("crash_ids")]
        if not crash_ids:
            return _json({"error": "crash_ids: give at least one"}, 400)
        for crash_id in crash_ids:
            if crash_id_problem(crash_id):
                return _json({"error": f"crash_ids: {crash_id[:60]!r} is not a crash id"}, 400)
        return await run_in_threadpool(self._reprocess, crash_ids)

    def _reprocess(self, crash_ids: list[str]) -> Response:
        unknown = [c for c in crash_ids if not self.storage.has_raw_crash(c)]
        if unknown:
            return _json({"error": f"crash_ids: not stored: {', '.join(unknown[:10])}"}, 400)
        assert self.open_queue is not None
        try:
            queue = self.open_queue()
            try:
                queue.publish(REPROCESSING, crash_ids)
            finally:
                queue.close()
        except QueueError as exc:
            log.warning("reprocessing not queued (%s)", exc.__class__.__name__)
            return _json({"error": "the queue is unavailable"}, 503)
        log.info("queued %d crashes for reprocessing", len(crash_ids))
        return _json(True)

    def api_first_date(self, request: Request) -> Response:
        signatures = request.query_params.getlist("signatures")
        if not signatures or len(signatures) > MAX_SIGNATURES:
            return _json({"error": f"signatures: give 1 to {MAX_SIGNATURES}"}, 400)
        try:
            hits = browse.first_and_last_seen(self.index(), signatures)
        except ReportIndexError as exc:
            return _json({"error": str(exc)}, 503)
        return _json({"hits": hits, "total": len(hits)})

    def api_search(self, request: Request) -> Response:
        try:
            query = search.parse_query(request.query_params.multi_items())
            return _json(search.search(self.index(), query))
        except search.SearchError as exc:
            return _json({"error": str(exc)}, 400)
        except ReportIndexError as exc:
            return _json({"error": str(exc)}, 503)

    def search_page(self, request: Request) -> Response:
        viewer = self._viewer(request)
        params = request.query_params.multi_items()
        try:
            query = search.parse_query(params)
            query.columns = tuple(name for name, _ in pages.RESULT_COLUMNS)
            if "_facets" not in request.query_params:
                query.facets = pages.DEFAULT_PAGE_FACETS
            result = search.search(self.index(), query) if params else None
        except search.SearchError as exc:
            return self._page(pages.search_page(params, None, str(exc), None, viewer), viewer, 400)
        except ReportIndexError as exc:
            return self._page(pages.message_page("No crashes yet", str(exc), viewer), viewer, 503)
        return self._page(pages.search_page(params, result, None, query, viewer), viewer)


def _json(document: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(document, ensure_ascii=False),
        status_code=status,
        media_type="application/json",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )


def build_browser(settings: Settings) -> CrashBrowser:
    """The crash browser the settings describe (storage, report index, token file)."""
    storage = open_storage(settings.storage, s3_endpoint_url=settings.s3_endpoint_url)
    index_path = configured_index_path(settings.report_index, settings.storage)
    from processor.service.wiring import open_settings_queue

    return CrashBrowser(
        storage,
        index_path,
        TokenStore(tokens_path(settings)),
        lambda: open_settings_queue(settings),
        session_max_age=settings.web_session_max_age,
        secure_cookie=settings.web_secure_cookie,
    )


# How `crashproc web` hands its command line to the worker processes (webstack.serve).


def app_from_env() -> ASGIApp:
    """The factory each worker process calls: the command's configuration file and flags."""
    from processor.observability.setup import setup_observability
    from processor.service.wiring import worker_settings

    settings = worker_settings()
    setup_observability(settings)
    return build_browser(settings).asgi()
