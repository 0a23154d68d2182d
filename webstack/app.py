"""What every crashproc HTTP service has: Dockerflow endpoints, access log, metrics, errors.

- ``/__lbheartbeat__`` answers at once (the load balancer's "is the process up");
  ``/__heartbeat__`` runs the service's checks and answers 500 when one fails;
  ``/__version__`` names the service and crashproc's version.
- One access-log line per request (logger ``webstack.access``): method, path, status, bytes
  sent, milliseconds. Never the query string (signed URLs and tokens travel there), never
  headers (``Auth-Token``), never the body (annotations may be protected).
- ``crashproc.web.request`` timing per request, tagged with the service, the route template
  (not the path: debug ids would make a tag value per file) and the status class.
- An exception escaping an endpoint becomes a JSON 500 without the traceback, is logged, and
  is captured to Sentry when the process set Sentry up (the collector does, with the
  processor's scrubbing); the event carries the service and route, no request data.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence

import sentry_sdk
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import crashproc
from crashproc.metrics import METRICS

access_log = logging.getLogger("webstack.access")
log = logging.getLogger(__name__)

# A check answers "ok" or a short word saying what is wrong; it must not raise (if it does,
# the check reads "error").
Check = Callable[[], str]


def _status_class(status: int) -> str:
    return f"{status // 100}xx"


class ServiceMiddleware:
    """Pure ASGI middleware (streamed responses stay streamed): access log, metrics, 500s."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        sent = 0
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            route = _route_template(scope)
            log.exception("internal error serving %s %s", scope["method"], route)
            with sentry_sdk.new_scope() as sentry_scope:
                sentry_scope.set_tag("service", self.service)
                sentry_scope.set_tag("route", route)
                sentry_scope.capture_exception(exc)
            status = 500
            if not response_started:
                await JSONResponse({"error": "Internal Server Error"}, status_code=500)(
                    scope, receive, send
                )
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            route = _route_template(scope)
            METRICS.timing(
                "web.request",
                elapsed_ms,
                tags=[
                    f"service:{self.service}",
                    f"route:{route}",
                    f"status:{_status_class(status)}",
                ],
            )
            access_log.info(
                "%s %s %s %d %dB %.1fms",
                self.service,
                scope["method"],
                scope["path"],
                status,
                sent,
                elapsed_ms,
            )


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


def _heartbeat_routes(service: str, checks: Mapping[str, Check]) -> list[Route]:
    async def lbheartbeat(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def heartbeat(request: Request) -> Response:  # sync: checks touch the disk (threadpool)
        results = {}
        for name, check in checks.items():
            try:
                results[name] = check()
            except Exception:
                log.exception("heartbeat check %s failed", name)
                results[name] = "error"
        healthy = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "ok" if healthy else "error", "checks": results},
            status_code=200 if healthy else 500,
        )

    async def version(request: Request) -> Response:
        return JSONResponse(
            {
                "source": "crashproc",
                "service": service,
                "version": crashproc.version(),
                "commit": os.environ.get("CRASHPROC_COMMIT", ""),
            }
        )

    return [
        Route("/__lbheartbeat__", lbheartbeat, methods=["GET", "HEAD"]),
        Route("/__heartbeat__", heartbeat, methods=["GET", "HEAD"]),
        Route("/__version__", version, methods=["GET", "HEAD"]),
    ]


def service_app(
    service: str,
    routes: Sequence[BaseRoute],
    checks: Mapping[str, Check] | None = None,
) -> Starlette:
    """A Starlette application for ``service`` with the shared endpoints and middleware.

    ``checks`` are what ``/__heartbeat__`` runs, by name.
    """
    app = Starlette(routes=[*_heartbeat_routes(service, checks or {}), *routes])
    app.add_middleware(ServiceMiddleware, service=service)
    return app
