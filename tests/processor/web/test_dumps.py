"""Dump downloads (``/report/<crash id>/dumps/<name>``) over real HTTP, from filesystem and
S3 crash storage (moto's server standing in for S3, as in the storage tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from processor.crashdir import load_crash_dir
from processor.storage import CrashStorage, open_storage, stored_outputs
from processor.web.app import CrashBrowser
from processor.web.tokens import REPROCESS, VIEW_PROTECTED, TokenStore
from tests.processor.storage.conftest import s3_bucket, s3_server  # noqa: F401 -- fixtures
from tests.processor.web.test_signin import SESSION_COOKIE, session_of
from webstack.serve import start_background

REPO = Path(__file__).resolve().parents[3]
# Two dumps, one with a stored stackwalker output beside it (v1/upload_file_minidump.json/...).
SAMPLE = REPO / "examples" / "crashes" / "oom-with-memory-report"


class Served:
    def __init__(self, url: str, tokens: TokenStore, storage: CrashStorage) -> None:
        self.url = url
        self.tokens = tokens
        self.storage = storage


@pytest.fixture(params=["fs", "s3"])
def served(request, tmp_path) -> Iterator[Served]:
    """The crash browser over a storage of one backend holding the sample crash (no index:
    dumps are read from storage only)."""
    if request.param == "fs":
        storage = open_storage(str(tmp_path / "crashes"))
    else:
        endpoint = request.getfixturevalue("s3_server")
        bucket = request.getfixturevalue("s3_bucket")
        storage = open_storage(f"s3://{bucket}/site/crashes", s3_endpoint_url=endpoint)
    crash = load_crash_dir(SAMPLE)
    storage.save_raw_crash(
        crash.crash_id, crash.raw_crash, crash.dumps, stored_outputs(crash.dumps.items())
    )
    tokens = TokenStore(tmp_path / "tokens.sqlite")
    browser = CrashBrowser(storage, tmp_path / "no-index.sqlite", tokens)
    server = start_background(browser.asgi())
    try:
        yield Served(f"http://127.0.0.1:{server.server_port}", tokens, storage)
    finally:
        server.shutdown()
        server.server_close()
        browser.close()


def download(served: Served, path: str, **headers: str) -> requests.Response:
    return requests.get(served.url + path, headers=headers, timeout=30)


def test_dumps_download_with_view_protected_only(served):
    crash = load_crash_dir(SAMPLE)
    viewer = served.tokens.add("dumps", [VIEW_PROTECTED])
    reprocessor = served.tokens.add("no-dumps", [REPROCESS])
    for name, path in crash.dumps.items():
        url = f"/report/{crash.crash_id}/dumps/{name}"
        assert download(served, url).status_code == 403
        assert download(served, url, **{"Auth-Token": reprocessor}).status_code == 403
        session = session_of(served, reprocessor)
        refused = download(served, url, Cookie=f"{SESSION_COOKIE}={session}")
        assert refused.status_code == 403 and "Dumps need view_protected" in refused.text
        expected = Path(path).read_bytes()
        for headers in (
            {"Auth-Token": viewer},
            {"Cookie": f"{SESSION_COOKIE}={session_of(served, viewer)}"},
        ):
            answer = download(served, url, **headers)
            assert answer.status_code == 200
            assert answer.content == expected
            assert answer.headers["content-type"] == "application/octet-stream"
            assert answer.headers["content-length"] == str(len(expected))
            assert answer.headers["content-disposition"] == (
                f'attachment; filename="{crash.crash_id}-{name}.dmp"'
            )
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["cache-control"] == "private, no-store"
        head = requests.head(served.url + url, headers={"Auth-Token": viewer}, timeout=30)
        assert head.status_code == 200 and head.headers["content-length"] == str(len(expected))


@pytest.mark.parametrize(
    "name",
    [
        "nothing",  # not a dump of the crash
        "raw_crash",  # keys of the storage layout
        "dump_names",
        "processed_crash",
        "upload_file_minidump.json",  # the stored output beside a dump
        "..%2F..%2Fraw_crash",  # climbing out, encoded
        "..",
        "%2e%2e",
        "upload_file_minidump%0A",
    ],
)
def test_only_the_names_stored_for_the_crash_download(served, name):
    crash = load_crash_dir(SAMPLE)
    viewer = served.tokens.add("names", [VIEW_PROTECTED])
    answer = requests.get(
        f"{served.url}/report/{crash.crash_id}/dumps/{name}",
        headers={"Auth-Token": viewer},
        timeout=30,
    )
    assert answer.status_code == 404
    assert "attachment" not in answer.headers.get("content-disposition", "")
    other = "0bba61c5-dfc3-43e7-87e6-8afda3260919"
    answer = download(
        served, f"/report/{other}/dumps/upload_file_minidump", **{"Auth-Token": viewer}
    )
    assert answer.status_code == 404
