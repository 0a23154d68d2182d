"""Signing in from a browser: an API token typed once, a session cookie after it.

We have no identity provider, so sign-in is Jupyter's kind: ``POST /signin`` takes a token
``crashproc tokens add`` made, and the server answers with a session cookie (a new random id;
the token itself never travels again). The cookie is HttpOnly (no script reads it; the pages
have none anyway), SameSite=Strict (no other site's page or link sends it), Path=/, Secure
when the request came over https or ``web.secure_cookie`` says TLS ends in front of us.

State-changing browser POSTs (sign-in, sign-out) must come from this host's own pages: the
``Origin`` header, else the ``Referer``, must name the host the request was sent to. Without
that, another site could sign a visitor in with the other site's token (login CSRF) or sign
them out. Hosts are compared, not schemes, so a proxy terminating TLS without saying so does
not lock everyone out; the SameSite cookie already keeps other sites' requests anonymous.

Neither the token nor the session id is ever logged: log lines name the token's name only.
"""

from __future__ import annotations

import io
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from processor.web.tokens import TokenStore, Viewer
from webstack.form import FormError, Limits, read_body

SESSION_COOKIE = "crashproc_session"
# A sign-in form is a token (64 hex digits) and a path to go back to.
FORM_LIMITS = Limits(max_body=4096, max_uncompressed=4096, allow_gzip=False)


def viewer_of(request: Request, tokens: TokenStore, cookie: bool = True) -> Viewer | None:
    """Who sent ``request``: its ``Auth-Token`` header's token, else (with ``cookie``) its
    session cookie's, with the token's permissions as they are now."""
    token = request.headers.get("auth-token")
    if token:
        return tokens.viewer(token)
    if cookie:
        return tokens.session_viewer(request.cookies.get(SESSION_COOKIE))
    return None


def same_origin(request: Request) -> bool:
    """Whether a POST comes from a page of this host (its Origin, else its Referer); a
    request naming neither is refused, as is ``Origin: null`` (a sandboxed or privacy-
    stripped context that cannot be told apart from another site)."""
    host = (request.headers.get("host") or "").lower()
    source = request.headers.get("origin") or request.headers.get("referer")
    if not host or not source:
        return False
    parts = urlsplit(source)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host


def is_https(request: Request, always_secure: bool) -> bool:
    """Whether the session cookie gets the Secure flag: the request came over https (as
    uvicorn tells from the connection, or a trusted proxy's X-Forwarded-Proto), or the
    setting says so."""
    return always_secure or request.url.scheme == "https"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only (``//host`` or ``/\\host``
    would be another site to a browser), else ``/``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 0x20 or c == "\\" for c in value):
        return "/"
    return value


async def read_signin_form(request: Request) -> dict[str, str]:
    """The urlencoded sign-in form (FormError when it is too large or not a form)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise FormError("not_a_form", "expected application/x-www-form-urlencoded")
    body = io.BytesIO()
    await read_body(request, FORM_LIMITS, body)
    try:
        text = body.getvalue().decode("utf-8")
    except UnicodeDecodeError:
        raise FormError("not_utf8", "the form is not UTF-8") from None
    return dict(parse_qsl(text, max_num_fields=10))


def set_session_cookie(response: Response, session_id: str, max_age: int, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="strict"
    )
