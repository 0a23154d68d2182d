"""The symbols server must never hand out, or write, a file outside its store.

Every route (download GET and HEAD, the code-info redirect, upload) gets raw requests whose
path tries to leave the store: `..`, `%2e%2e`, `%2f`, `%5c`, backslashes, NUL, absolute paths
and over-long names. The requests go over a plain socket, so no client library normalizes or
refuses the path before the server sees it. Secret files are planted next to the store (where
each naive join would land); every answer is checked for its status and for any byte of them.

The tests only speak HTTP to a base URL: `served_store` is the one place that knows how the
server runs, so these tests carry over when the server moves to another web stack.
"""

from __future__ import annotations

import io
import json
import socket
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from symbols.server import start_background
from symbols.store import SymbolStore
from tests.symbols.conftest import CRASH_CLIENT_SYM, TEST_APP_CODE_SYM, TEST_APP_ID

TOKEN = "upload-token-for-the-security-tests"
SECRET = b"TOP-SECRET-" + b"7f3a9c" * 8  # no byte run of this may ever come back
SECRET_ID = "ABC123"
GOOD_PATH = f"/test_app.pdb/{TEST_APP_ID}/test_app.sym"
GOOD_CODE_INFO = "/test_app.exe/45D35F6C2D000/test_app.exe.sym"


@dataclass
class Served:
    """What the tests may know: the base URL, the upload token and where secrets lie."""

    base_url: str
    token: str
    sandbox: Path  # the directory holding the store and the secrets
    store_root: Path

    def files_outside_store(self) -> dict[Path, bytes]:
        """Every file in the sandbox but outside the store, with its content."""
        return {
            p: p.read_bytes()
            for p in self.sandbox.rglob("*")
            if p.is_file() and not p.is_relative_to(self.store_root)
        }


def _plant_secrets(sandbox: Path, store_root: Path) -> list[Path]:
    """Secrets where `root/<parts>` lands for the parts an attacker can send.

    `root/../ABC123/secret.sym` (the parent of the store), `root/../secret.sym`, a file in
    a dot-directory of the store (reserved for the store's own files), and one under an
    absolute path the requests name.
    """
    spots = [
        sandbox / SECRET_ID / "secret.sym",
        sandbox / "secret.sym",
        sandbox / SECRET_ID / "secret.exe.sym",
        sandbox / "secret" / SECRET_ID / "secret.sym",
        store_root / ".private" / SECRET_ID / "secret.sym",
        sandbox / "abs" / SECRET_ID / "secret.sym",
    ]
    for spot in spots:
        spot.parent.mkdir(parents=True, exist_ok=True)
        spot.write_bytes(SECRET)
    return spots


@pytest.fixture
def served_store(tmp_path: Path) -> Iterator[Served]:
    """A store with test_app's symbols (with a code id) served on 127.0.0.1."""
    store_root = tmp_path / "store"
    store = SymbolStore(store_root)
    store.add_path(TEST_APP_CODE_SYM)
    _plant_secrets(tmp_path, store_root)
    srv = start_background(store_root, token=TOKEN)
    try:
        yield Served(f"http://127.0.0.1:{srv.server_port}", TOKEN, tmp_path, store_root)
    finally:
        srv.shutdown()
        srv.server_close()


# -- a client that sends the path byte for byte --------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes  # status line, headers and body exactly as received


def raw_request(
    base_url: str,
    method: str,
    target: bytes,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> Answer:
    """Send one request with `target` written verbatim into the request line."""
    url = urlsplit(base_url)
    lines = [method.encode() + b" " + target + b" HTTP/1.1", f"Host: {url.netloc}".encode()]
    all_headers = {"Connection": "close", "Accept-Encoding": "identity", **(headers or {})}
    if body or method == "POST":
        all_headers["Content-Length"] = str(len(body))
    lines += [f"{k}: {v}".encode() for k, v in all_headers.items()]
    request = b"\r\n".join(lines) + b"\r\n\r\n" + body
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    parsed = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return Answer(status, parsed, raw)


def assert_nothing_leaks(answer: Answer) -> None:
    # Any 16-byte run of the secret would give it away, not just the whole file.
    for start in range(0, len(SECRET) - 16 + 1, 8):
        assert SECRET[start : start + 16] not in answer.raw, answer.raw[:300]


# -- download and HEAD ---------------------------------------------------------------------

# Each names the secret a naive `root / debug_file / debug_id / sym_file` would reach.
TRAVERSALS = [
    f"/../{SECRET_ID}/secret.sym",
    f"/%2e%2e/{SECRET_ID}/secret.sym",
    f"/%2E%2E/{SECRET_ID}/secret.sym",
    f"/.%2e/{SECRET_ID}/secret.sym",
    f"/try/../{SECRET_ID}/secret.sym",
    f"/try/%2e%2e/{SECRET_ID}/secret.sym",
    f"/test_app.pdb/../../{SECRET_ID}/secret.sym",
    f"/x/%2e%2e%2f%2e%2e%2f{SECRET_ID}/secret.sym",
    f"/%2e%2e%2f{SECRET_ID}/0/secret.sym",
    f"/test_app.pdb/{TEST_APP_ID}/..%2f..%2f..%2fsecret.sym",
    f"/test_app.pdb/{TEST_APP_ID}/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.sym",
    f"/..%2fsecret/{SECRET_ID}/secret.sym",
    f"/%2e%2e%5csecret/{SECRET_ID}/secret.sym",
    f"/..%5C..%5Csecret/{SECRET_ID}/secret.sym",
    f"/..\\..\\secret/{SECRET_ID}/secret.sym",
    f"/test_app.pdb/{TEST_APP_ID}/..\\..\\..\\secret.sym",
    f"/.private/{SECRET_ID}/secret.sym",
    f"/%2eprivate/{SECRET_ID}/secret.sym",
    f"/..%00/{SECRET_ID}/secret.sym",
    f"/test_app.pdb/{TEST_APP_ID}/test_app.sym%00/../../../secret.sym",
    f"/%00/{SECRET_ID}/secret.sym",
    f"//{SECRET_ID}/secret.sym",
    f"/{SECRET_ID}/secret.sym",
    "/secret.sym",
]


def _absolute_targets(served: Served) -> list[str]:
    """Requests naming a secret by its absolute path, plain and encoded."""
    abs_dir = str(served.sandbox / "abs")
    encoded = abs_dir.replace("/", "%2f")
    return [
        f"{abs_dir}/{SECRET_ID}/secret.sym",
        f"/{encoded}/{SECRET_ID}/secret.sym",
        f"/%2f{encoded.removeprefix('%2f')}/{SECRET_ID}/secret.sym",
        f"/x/{SECRET_ID}/{encoded}%2f{SECRET_ID}%2fsecret.sym",
        f"http://127.0.0.1{abs_dir}/{SECRET_ID}/secret.sym",
        f"file://{abs_dir}/{SECRET_ID}/secret.sym",
        "/x/ABC/%2fetc%2fpasswd",
        "/%2fetc/ABC/passwd.sym",
    ]


def _check_refused(served: Served, method: str, target: str | bytes) -> Answer:
    raw_target = target if isinstance(target, bytes) else target.encode("latin-1")
    answer = raw_request(served.base_url, method, raw_target)
    assert answer.status in (400, 404), (method, target, answer.raw[:300])
    assert_nothing_leaks(answer)
    return answer


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("target", TRAVERSALS)
def test_download_never_leaves_the_store(served_store: Served, method: str, target: str) -> None:
    _check_refused(served_store, method, target)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_download_refuses_absolute_paths(served_store: Served, method: str) -> None:
    for target in _absolute_targets(served_store):
        _check_refused(served_store, method, target)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_download_refuses_raw_nul_and_control_bytes(served_store: Served, method: str) -> None:
    for target in (
        b"/..\x00/" + SECRET_ID.encode() + b"/secret.sym",
        b"/test_app.pdb/" + TEST_APP_ID.encode() + b"/test_app.sym\x00.sym",
        b"/\x01/" + SECRET_ID.encode() + b"/secret.sym",
    ):
        answer = raw_request(served_store.base_url, method, target)
        assert answer.status in (400, 404), target
        assert_nothing_leaks(answer)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_download_refuses_over_long_names(served_store: Served, method: str) -> None:
    long_name = "a" * 300
    for target in (
        f"/{long_name}.pdb/{TEST_APP_ID}/{long_name}.sym",
        f"/test_app.pdb/{'A' * 100}/test_app.sym",
        f"/test_app.pdb/{TEST_APP_ID}/{long_name}.sym",
        f"/{'../' * 2000}{SECRET_ID}/secret.sym",
    ):
        _check_refused(served_store, method, target)
    # A request line beyond what any server reads is refused outright, and the server lives.
    # The server answers 400 and closes while the line is still arriving: the kernel may
    # then reset the connection before the client reads the answer (a CI run saw that).
    try:
        huge = raw_request(served_store.base_url, method, b"/" + b"a" * 100_000 + b"/ABC/x.sym")
    except (ConnectionResetError, BrokenPipeError):
        pass  # refused, nothing sent back
    else:
        assert huge.status in (400, 404, 414)
        assert_nothing_leaks(huge)
    assert raw_request(served_store.base_url, method, GOOD_PATH.encode()).status == 200


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_good_path_still_answers(served_store: Served, method: str) -> None:
    """The refusals above are not an artefact of a server that refuses everything."""
    answer = raw_request(served_store.base_url, method, GOOD_PATH.encode())
    assert answer.status == 200
    assert answer.headers["content-length"] == str(TEST_APP_CODE_SYM.stat().st_size)
    body = answer.raw.split(b"\r\n\r\n", 1)[1]
    assert body == (TEST_APP_CODE_SYM.read_bytes() if method == "GET" else b"")


# -- code-info redirect --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    "target",
    [
        "/../45D35F6C2D000/test_app.exe.sym",
        "/%2e%2e/45D35F6C2D000/test_app.exe.sym",
        "/..%2ftest_app.exe/45D35F6C2D000/test_app.exe.sym",
        "/test_app.exe%2f..%2f../45D35F6C2D000/test_app.exe.sym",
        "/..%5ctest_app.exe/45D35F6C2D000/test_app.exe.sym",
        "/..\\test_app.exe/45D35F6C2D000/test_app.exe.sym",
        "/test_app.exe%00/45D35F6C2D000/test_app.exe.sym",
        "/test_app.exe/45D35F6C2D000/..%2f..%2fsecret.sym",
        "/test_app.exe/45D35F6C2D000/%2e%2e",
        f"/{'a' * 300}.exe/45D35F6C2D000/test_app.exe.sym",
        f"/test_app.exe/{'4' * 100}/test_app.exe.sym",
        f"/secret/{SECRET_ID}/secret.sym",
    ],
)
def test_code_info_redirect_refuses_escaping_names(
    served_store: Served, method: str, target: str
) -> None:
    answer = _check_refused(served_store, method, target)
    assert "location" not in answer.headers


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_code_info_redirect_points_inside_the_store(served_store: Served, method: str) -> None:
    query = "?code_file=..%2f..%2fsecret&code_id=..%2f"
    answer = raw_request(served_store.base_url, method, (GOOD_CODE_INFO + query).encode())
    assert answer.status == 302
    location = answer.headers["location"]
    # The redirect names the indexed module; the query is passed along, never the path.
    assert location.split("?")[0] == GOOD_PATH
    followed = raw_request(served_store.base_url, method, location.encode("latin-1"))
    assert followed.status == 200
    assert_nothing_leaks(followed)


# -- upload --------------------------------------------------------------------------------


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _sym(debug_file: str, debug_id: str = SECRET_ID + "0") -> bytes:
    """A minimal valid .sym file whose MODULE line names `debug_file`."""
    return (
        f"MODULE windows x86 {debug_id} {debug_file}\nFILE 0 a.c\nFUNC 1000 10 0 f\n1000 10 1 0\n"
    ).encode()


ESCAPING_ENTRY_NAMES = [
    "../secret.sym",
    f"../../{SECRET_ID}/escape.sym",
    "a/../../escape.sym",
    "/abs/escape.sym",
    "..\\..\\escape.sym",
    "a\\..\\..\\escape.sym",
    "C:/escape.sym",
    "C:\\escape.sym",
    "a\x00/../../escape.sym",
]

# Header names a store would turn into a path outside itself (the path comes from the header,
# not the entry name).
ESCAPING_HEADER_NAMES = [
    "..",
    ".",
    "../escape.pdb",
    "../../escape.pdb",
    "..\\..\\escape.pdb",
    "/abs/escape.pdb",
    ".private",
    "a" * 300,
]


def _upload(served: Served, body: bytes, content_type: str = "application/zip") -> Answer:
    return raw_request(
        served.base_url,
        "POST",
        b"/upload/",
        {"Auth-Token": served.token, "Content-Type": content_type},
        body,
    )


def assert_nothing_stored(answer: Answer) -> None:
    """The zip is fine, its file is not: refused (400), or skipped with a reason (201)."""
    assert answer.status in (201, 400), answer.raw[-300:]
    if answer.status == 201:
        result = json.loads(answer.raw.split(b"\r\n\r\n", 1)[1])["upload"]
        assert result["stored"] == [] and len(result["skipped"]) == 1, result


def _assert_nothing_written_outside(served: Served, before: dict[Path, bytes]) -> None:
    assert served.files_outside_store() == before
    # Nor in the store's own dot-directories (reserved), nor beside the store's layout.
    stored = {
        p.relative_to(served.store_root).parts[0]
        for p in served.store_root.rglob("*.sym")
        if p.is_file()
    }
    assert stored <= {"test_app.pdb", "crash-client", ".private"}
    assert (served.store_root / ".private" / SECRET_ID / "secret.sym").read_bytes() == SECRET


@pytest.mark.parametrize("entry", ESCAPING_ENTRY_NAMES)
def test_upload_refuses_escaping_entry_names(served_store: Served, entry: str) -> None:
    before = served_store.files_outside_store()
    answer = _upload(served_store, _zip({entry: _sym("escape.pdb")}))
    assert answer.status == 400, answer.raw[-300:]
    assert_nothing_leaks(answer)
    _assert_nothing_written_outside(served_store, before)


@pytest.mark.parametrize("debug_file", ESCAPING_HEADER_NAMES)
def test_upload_refuses_escaping_module_names(served_store: Served, debug_file: str) -> None:
    before = served_store.files_outside_store()
    answer = _upload(served_store, _zip({"ok/x/escape.sym": _sym(debug_file)}))
    assert_nothing_stored(answer)
    assert_nothing_leaks(answer)
    _assert_nothing_written_outside(served_store, before)


def test_upload_refuses_an_escaping_id(served_store: Served) -> None:
    before = served_store.files_outside_store()
    for debug_id in ("../../ABC", "ABC/../..", "%2e%2e"):
        answer = _upload(served_store, _zip({"ok/x/escape.sym": _sym("escape.pdb", debug_id)}))
        assert_nothing_stored(answer)
    _assert_nothing_written_outside(served_store, before)


def test_upload_multipart_filename_does_not_choose_the_path(served_store: Served) -> None:
    before = served_store.files_outside_store()
    boundary = "b0undary"
    archive = _zip({"crash-client/X/crash-client.sym": CRASH_CLIENT_SYM.read_bytes()})
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="x"; filename="../../{SECRET_ID}/escape.zip"\r\n'
            "Content-Type: application/zip\r\n\r\n"
        ).encode()
        + archive
        + f"\r\n--{boundary}--\r\n".encode()
    )
    answer = _upload(served_store, body, f"multipart/form-data; boundary={boundary}")
    assert answer.status == 201, answer.raw[-300:]
    _assert_nothing_written_outside(served_store, before)
    got = raw_request(
        served_store.base_url,
        "GET",
        b"/crash-client/509C0610949836F7B70BD88BCF03E5400/crash-client.sym",
    )
    assert got.status == 200


@pytest.mark.parametrize(
    "target",
    [b"/upload/../upload/", b"/upload/%2e%2e/", b"/%2e%2e/upload/", b"/upload/\\"],
)
def test_upload_route_is_not_reached_by_other_spellings(
    served_store: Served, target: bytes
) -> None:
    before = served_store.files_outside_store()
    # A small body: a server refusing the route may close without reading a big one (the
    # client would then see a reset instead of the answer).
    tiny = f"MODULE Linux x86_64 {'AB' * 16}0 tiny.so\nFUNC 10 4 0 tiny_function\n".encode()
    answer = raw_request(
        served_store.base_url,
        "POST",
        target,
        {"Auth-Token": served_store.token, "Content-Type": "application/zip"},
        _zip({"tiny.so/X/tiny.so.sym": tiny}),
    )
    assert answer.status in (400, 404, 405), answer.raw[:300]
    assert served_store.files_outside_store() == before
    assert not list(served_store.store_root.rglob("tiny.so.sym"))
