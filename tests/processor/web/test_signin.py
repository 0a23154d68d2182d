"""Signing in from a browser, over real HTTP: the session cookie, its flags, CSRF refusals,
sign-out, expiry and revocation, and what a session may see (the protected report page)."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from html import unescape
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import requests

from processor.web.app import DEFAULT_SESSION_MAX_AGE
from processor.web.signin import SESSION_COOKIE
from processor.web.tokens import REPROCESS, VIEW_PROTECTED
from tests.processor.web.conftest import serving

# What the sample crashes carry in their protected annotations (test_pages's leak test).
from tests.processor.web.test_pages import PROTECTED_VALUES


def sign_in(web, token: str, headers: dict | None = None, **form) -> requests.Response:
    """POST /signin as a page of the site would (its Origin), unless ``headers`` say else."""
    return requests.post(
        web.url + "/signin",
        data={"token": token, **form},
        headers={"Origin": web.url} if headers is None else headers,
        allow_redirects=False,
        timeout=30,
    )


def cookie_of(answer: requests.Response) -> SimpleCookie:
    jar = SimpleCookie()
    jar.load(answer.headers["set-cookie"])
    return jar


def session_of(web, token: str) -> str:
    answer = sign_in(web, token)
    assert answer.status_code == 303, answer.text
    return cookie_of(answer)[SESSION_COOKIE].value


def sign_out(web, session: str, headers: dict | None = None) -> requests.Response:
    """POST /signout with ``session``'s cookie, as a page of the site would unless ``headers``
    say else."""
    return requests.post(
        web.url + "/signout",
        headers={
            **({"Origin": web.url} if headers is None else headers),
            "Cookie": f"{SESSION_COOKIE}={session}",
        },
        allow_redirects=False,
        timeout=30,
    )


def get(web, path: str, session: str | None = None, **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if session is not None:
        headers["Cookie"] = f"{SESSION_COOKIE}={session}"
    return requests.get(web.url + path, headers=headers, timeout=30, **kwargs)


def sessions_rows(web) -> list[tuple]:
    with sqlite3.connect(web.tokens.path) as conn:
        return conn.execute("SELECT sha256, token_name, created, expires FROM sessions").fetchall()


def linux_crash(web) -> str:
    return web.data.crash_ids(example="linux-amd64")[0]


def test_sign_in_sets_a_strict_http_only_session_cookie(sqlite_web):
    web = sqlite_web
    token = web.tokens.add("cookie-flags", [VIEW_PROTECTED])
    form = get(web, "/signin")
    assert form.status_code == 200 and 'name="token"' in form.text
    assert form.headers["cache-control"] == "private, no-store"
    answer = sign_in(web, token, next="/search/")
    assert answer.status_code == 303 and answer.headers["location"] == "/search/"
    raw = answer.headers["set-cookie"]
    morsel = cookie_of(answer)[SESSION_COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "strict"
    assert morsel["path"] == "/"
    assert morsel["max-age"] == str(DEFAULT_SESSION_MAX_AGE)
    assert not morsel["secure"]  # plain http from here
    assert "Domain" not in raw
    session = morsel.value
    assert len(session) >= 43 and token not in raw  # 32 random bytes, not the token
    # Only the session's hash is stored, with its token's name and an expiry 14 days on.
    (row,) = [r for r in sessions_rows(web) if r[1] == "cookie-flags"]
    assert row[0] == hashlib.sha256(session.encode()).hexdigest()
    assert session not in Path(web.tokens.path).read_bytes().decode("latin-1")
    # Every page names who is signed in and offers to sign out; none may be cached.
    for path in ("/?days=14&until=2026-11-14", "/search/", "/missing-symbols/", "/signin"):
        page = get(web, path, session)
        assert 'Signed in as <b class="viewer">cookie-flags</b>' in page.text, path
        assert 'action="/signout"' in page.text
        assert page.headers["cache-control"] == "private, no-store"
    anonymous = get(web, "/?days=14&until=2026-11-14")
    assert '<a href="/signin">Sign in</a>' in anonymous.text
    assert "cache-control" not in anonymous.headers
    # A next that would leave the site goes home instead.
    for away in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        assert sign_in(web, token, next=away).headers["location"] == "/"


def test_the_cookie_is_secure_over_https_or_when_configured(sqlite_web, tmp_path):
    web = sqlite_web
    token = web.tokens.add("secure-flag", [VIEW_PROTECTED])
    # Behind a proxy on this host that says the request came over https (uvicorn trusts
    # X-Forwarded-Proto from 127.0.0.1); the Origin the browser sent is then https.
    over_https = sign_in(
        web,
        token,
        headers={"Origin": web.url.replace("http:", "https:"), "X-Forwarded-Proto": "https"},
    )
    assert over_https.status_code == 303
    assert cookie_of(over_https)[SESSION_COOKIE]["secure"] is True
    with serving(web.data, tmp_path, secure_cookie=True, session_max_age=3600) as configured:
        token = configured.tokens.add("secure-setting", [VIEW_PROTECTED])
        answer = sign_in(configured, token)
        morsel = cookie_of(answer)[SESSION_COOKIE]
        assert morsel["secure"] is True and morsel["max-age"] == "3600"


def test_a_wrong_token_is_refused_without_saying_more(sqlite_web, caplog):
    caplog.set_level(logging.DEBUG)
    web = sqlite_web
    before = len(sessions_rows(web))
    guess = "0" * 64
    answer = sign_in(web, guess)
    assert answer.status_code == 403
    assert "That token is not valid." in answer.text and guess not in answer.text
    assert "set-cookie" not in answer.headers
    assert len(sessions_rows(web)) == before
    revoked = web.tokens.add("revoked-before", [VIEW_PROTECTED])
    web.tokens.revoke("revoked-before")
    assert sign_in(web, revoked).status_code == 403
    messages = [r.getMessage() for r in caplog.records]
    assert "sign-in refused: unknown or revoked token" in messages
    assert not any(guess in m or revoked in m for m in messages)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # neither Origin nor Referer
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Referer": "http://evil.example/page"},
        {"Origin": "http://127.0.0.1:1"},  # this machine, another port: another site
    ],
    ids=["none", "other-origin", "null-origin", "other-referer", "other-port"],
)
def test_cross_site_sign_in_and_sign_out_are_refused(sqlite_web, headers):
    web = sqlite_web
    token = web.tokens.add(f"csrf-{len(sessions_rows(web))}", [VIEW_PROTECTED])
    answer = sign_in(web, token, headers=headers)
    assert answer.status_code == 403 and "not sent from this site" in answer.text
    assert "set-cookie" not in answer.headers
    session = session_of(web, token)
    out = sign_out(web, session, headers=headers)
    assert out.status_code == 403
    assert "Signed in as" in get(web, "/signin", session).text  # still signed in
    # The site's own page as Referer (no Origin) is accepted.
    referred = sign_in(web, token, headers={"Referer": web.url + "/signin"})
    assert referred.status_code == 303


def test_sign_out_ends_the_session(sqlite_web):
    web = sqlite_web
    token = web.tokens.add("signs-out", [VIEW_PROTECTED])
    session = session_of(web, token)
    crash_id = linux_crash(web)
    assert "sample-secret" in unescape(get(web, f"/report/{crash_id}", session).text)
    out = sign_out(web, session)
    assert out.status_code == 303 and out.headers["location"] == "/"
    cleared = cookie_of(out)[SESSION_COOKIE]
    assert cleared.value == "" and cleared["max-age"] == "0"
    assert not [r for r in sessions_rows(web) if r[1] == "signs-out"]
    # The old cookie, sent again, is nobody's.
    page = get(web, f"/report/{crash_id}", session)
    assert "sample-secret" not in unescape(page.text) and "Sign in" in page.text
    # The token itself still signs in again.
    assert sign_in(web, token).status_code == 303


def test_revoking_the_token_ends_its_sessions_at_once(sqlite_web):
    web = sqlite_web
    token = web.tokens.add("revoked-later", [VIEW_PROTECTED])
    sessions = [session_of(web, token), session_of(web, token)]
    crash_id = linux_crash(web)
    for session in sessions:
        assert "sample-secret" in unescape(get(web, f"/report/{crash_id}", session).text)
    web.tokens.revoke("revoked-later")
    assert not [r for r in sessions_rows(web) if r[1] == "revoked-later"]
    # A new token of the same name does not bring the old sessions back.
    web.tokens.add("revoked-later", [VIEW_PROTECTED])
    for session in sessions:
        page = get(web, f"/report/{crash_id}", session)
        assert "sample-secret" not in unescape(page.text) and "Signed in" not in page.text
        raw = get(web, "/api/RawCrash/", session, params={"crash_id": crash_id})
        assert raw.status_code == 403


def test_permissions_are_read_from_the_token_on_every_request(sqlite_web):
    web = sqlite_web
    token = web.tokens.add("changing", [REPROCESS])
    session = session_of(web, token)
    crash_id = linux_crash(web)
    assert "sample-secret" not in unescape(get(web, f"/report/{crash_id}", session).text)
    with sqlite3.connect(web.tokens.path) as conn:
        conn.execute(
            "UPDATE tokens SET permissions = ? WHERE name = ?", (VIEW_PROTECTED, "changing")
        )
    assert "sample-secret" in unescape(get(web, f"/report/{crash_id}", session).text)


def test_an_expired_session_is_refused_and_pruned(sqlite_web):
    web = sqlite_web
    token = web.tokens.add("expires", [VIEW_PROTECTED])
    expired, other = session_of(web, token), session_of(web, token)
    crash_id = linux_crash(web)
    past = "2026-01-01T00:00:00+00:00"
    with sqlite3.connect(web.tokens.path) as conn:
        for session in (expired, other):
            conn.execute(
                "UPDATE sessions SET expires = ? WHERE sha256 = ?",
                (past, hashlib.sha256(session.encode()).hexdigest()),
            )
    page = get(web, f"/report/{crash_id}", expired)
    assert page.status_code == 200 and "sample-secret" not in unescape(page.text)
    assert '<a href="/signin">Sign in</a>' in page.text
    hashes = {r[0] for r in sessions_rows(web)}
    assert hashlib.sha256(expired.encode()).hexdigest() not in hashes  # refused and deleted
    assert hashlib.sha256(other.encode()).hexdigest() in hashes  # not looked at yet
    session_of(web, token)  # a new sign-in prunes every expired session
    assert all(r[3] > past for r in sessions_rows(web))


def test_view_protected_report_page_shows_the_whole_crash(sqlite_web):
    web = sqlite_web
    token = web.tokens.add("report-viewer", [VIEW_PROTECTED])
    session = session_of(web, token)
    crash_id = linux_crash(web)
    storage = web.data.storage()
    full = storage.load_processed_crash(crash_id)
    public = storage.load_processed_crash(crash_id, public=True)
    anonymous = get(web, f"/report/{crash_id}")
    for answer in (
        get(web, f"/report/{crash_id}", session),
        get(web, f"/report/{crash_id}", headers={"Auth-Token": token}),
    ):
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "private, no-store"
        text = unescape(answer.text)
        protected = text.split('<section class="protected">', 1)[1].split("</section>", 1)[0]
        # Every field the public copy lacks is in the protected section, and only there.
        for key in sorted(set(full) - set(public) - {"json_dump"}):
            assert f'<td class="mono">{key}</td>' in protected, key
        assert "sample-secret" in protected and "sample comment" in protected
        assert "sample-secret" not in text.replace(protected, "")
        assert f"/api/RawCrash/?crash_id={crash_id}" in text and "(needs a token)" not in text
        assert f"/report/{crash_id}/dumps/upload_file_minidump" in protected
        # The rest of the page is the public one's (the header aside).
        assert (
            anonymous.text.split("<h2>Summary</h2>")[1].split("<h2>Annotations")[0] in answer.text
        )
    # The link to the raw crash works in the signed-in browser: the API's GETs honour the
    # cookie. Reprocessing (a POST) does not: it takes the Auth-Token header only.
    raw = get(web, "/api/RawCrash/", session, params={"crash_id": crash_id})
    assert raw.status_code == 200 and raw.json() == storage.load_raw_crash(crash_id)
    assert get(web, "/api/ProcessedCrash/", session, params={"crash_id": crash_id}).json() == full
    both = web.tokens.add("report-both", [VIEW_PROTECTED, REPROCESS])
    reprocess = requests.post(
        web.url + "/api/Reprocessing/",
        data={"crash_ids": crash_id},
        headers={"Origin": web.url, "Cookie": f"{SESSION_COOKIE}={session_of(web, both)}"},
        timeout=30,
    )
    assert reprocess.status_code == 403


def test_no_protected_value_for_sessions_without_the_permission(sqlite_web, caplog):
    """Signed in without view_protected, signed out, expired, revoked: each such browser sees
    exactly what an anonymous one sees, on pages, API answers, dump URLs and error pages, and
    no log line holds a protected value, a token or a session id."""
    caplog.set_level(logging.DEBUG)
    web = sqlite_web
    crash_id = linux_crash(web)
    report = f"/report/{crash_id}"
    secrets = []

    def viewing_session(name: str) -> str:
        token = web.tokens.add(name, [VIEW_PROTECTED])
        session = session_of(web, token)
        secrets.extend([token, session])
        # It did see the protected values: the checks below could fail.
        assert "sample-secret" in unescape(get(web, report, session).text)
        return session

    reprocess_token = web.tokens.add("leak-reprocess", [REPROCESS])
    states = {"anonymous": None, "reprocess only": session_of(web, reprocess_token)}
    secrets += [reprocess_token, states["reprocess only"]]
    signed_out = viewing_session("leak-signed-out")
    assert sign_out(web, signed_out).status_code == 303
    states["signed out"] = signed_out
    expired = viewing_session("leak-expired")
    with sqlite3.connect(web.tokens.path) as conn:
        conn.execute(
            "UPDATE sessions SET expires = '2026-01-01T00:00:00+00:00' WHERE sha256 = ?",
            (hashlib.sha256(expired.encode()).hexdigest(),),
        )
    states["expired"] = expired
    states["revoked"] = viewing_session("leak-revoked")
    web.tokens.revoke("leak-revoked")

    unknown = "00000000" + crash_id[8:]
    paths = [
        "/?days=30&until=2026-11-14",
        "/search/?signature=~a&_facets=signature,product",
        "/missing-symbols/?days=60&until=2026-11-14",
        "/signin",
        "/report/not-a-crash",
        f"/report/{unknown}",
        f"{report}/dumps/upload_file_minidump",
        f"{report}/dumps/nothing",
        "/signature/",
    ]
    for each in [*web.data.processed, *web.data.unprocessed]:
        paths += [
            f"/report/{each}",
            f"/api/ProcessedCrash/?crash_id={each}",
            f"/api/RawCrash/?crash_id={each}",
            f"/report/{each}/dumps/upload_file_minidump",
        ]
    for state, session in states.items():
        for path in paths:
            answer = get(web, path, session)
            assert answer.status_code in (200, 400, 403, 404), (state, path)
            body = unescape(answer.text)
            for value in PROTECTED_VALUES:
                assert value not in body, (state, path, value)
            if "/dumps/" in path:
                assert answer.status_code == 403, (state, path)
            assert "Signed in" not in body or state == "reprocess only", (state, path)
    assert not [r for r in sessions_rows(web) if r[1] in ("leak-expired", "leak-revoked")]
    assert any(record.name == "webstack.access" for record in caplog.records)
    for record in caplog.records:
        message = record.getMessage()
        for value in (*PROTECTED_VALUES, *secrets):
            assert value not in message, (record.name, message)
