"""Every malformed submission: 400, one reason, nothing stored, nothing queued."""

from __future__ import annotations

import socket
import zlib

import pytest
import requests

from tests.collector.conftest import gzipped, multipart

DUMP = ("upload_file_minidump", "m.dmp", b"MDMP" + b"\0" * 100)


def _bomb(size: int) -> tuple[bytes, str]:
    """A small gzip body that inflates to a multipart report with a ``size``-byte dump."""
    head, content_type = multipart([("ProductName", "Test")], [DUMP])
    head = head[: head.index(b"MDMP")]
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [z.compress(head)]
    chunk = b"\0" * (1 << 20)
    out += [z.compress(chunk) for _ in range(size >> 20)]
    return b"".join(out) + z.flush(), content_type


def _cases():
    good, content_type = multipart([("ProductName", "Test")], [DUMP])
    plain = {"Content-Type": content_type}
    zipped = {**plain, "Content-Encoding": "gzip"}
    truncated = good[: good.rindex(b"--")]  # no closing boundary
    no_annotations, ct_none = multipart([], [DUMP])
    bad_id, ct_id = multipart([("ProductName", "T"), ("uuid", "not-a-crash-id")], [DUMP])
    not_file, ct_nf = multipart([("ProductName", "T"), ("upload_file_minidump", "MDMP")], [])
    escape, ct_esc = multipart([("ProductName", "T")], [("../../etc/passwd", "x", b"MDMP")])
    dotted, ct_dot = multipart([("ProductName", "T")], [("raw_crash", "x", b"MDMP")])
    many, ct_many = multipart([(f"A{i}", "v") for i in range(20)], [DUMP])
    big_field, ct_big = multipart([("ProductName", "x" * 5000)], [DUMP])
    bad_json, ct_json = multipart([], [DUMP], extra_json="{not json")
    bomb, ct_bomb = _bomb(8 << 20)
    return [
        (
            "not_multipart",
            b"ProductName=Test",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        ("bad_gzip", b"this is not gzip at all", zipped),
        ("bad_gzip", gzipped(good)[:-20], zipped),  # cut inside the gzip stream
        ("truncated", truncated, plain),
        ("no_annotations", no_annotations, {"Content-Type": ct_none}),
        ("invalid_crash_id", bad_id, {"Content-Type": ct_id}),
        ("dump_not_a_file", not_file, {"Content-Type": ct_nf}),
        ("bad_dump_name", escape, {"Content-Type": ct_esc}),
        ("bad_dump_name", dotted, {"Content-Type": ct_dot}),
        ("too_many_parts", many, {"Content-Type": ct_many}),
        ("field_too_large", big_field, {"Content-Type": ct_big}),
        ("body_too_large", good + b"\0" * 70000, plain),
        ("uncompressed_too_large", bomb, {**zipped, "Content-Type": ct_bomb}),
        ("invalid_json", bad_json, {"Content-Type": ct_json}),
    ]


@pytest.fixture
def small(make_collector):
    """A collector with small limits, so each limit is cheap to cross."""
    return make_collector(
        collector_max_body=65536,
        collector_max_uncompressed=1 << 20,
        collector_max_parts=10,
        collector_max_field_size=4096,
    )


@pytest.mark.parametrize(
    ("reason", "body", "headers"), _cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_malformed_is_refused_and_nothing_kept(small, reason, body, headers):
    r = requests.post(small.url + "/submit", data=body, headers=headers, timeout=30)
    assert r.status_code == 400
    assert r.text.splitlines()[0] == f"Discarded=malformed_{reason}"
    assert len(r.text.splitlines()) == 2  # the code and one sentence
    assert small.files() == [] and small.queued() == 0


def test_a_body_shorter_than_its_length_stores_nothing(small):
    good, content_type = multipart([("ProductName", "Test")], [DUMP])
    host, port = small.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /submit HTTP/1.1\r\nHost: x\r\n"
            + f"Content-Type: {content_type}\r\nContent-Length: {len(good) + 100}\r\n\r\n".encode()
            + good
        )
        sock.shutdown(socket.SHUT_WR)  # the client goes away mid-body
        sock.recv(1000)
    assert small.files() == [] and small.queued() == 0


def test_a_well_formed_report_passes_the_same_limits(small):
    good, content_type = multipart([("ProductName", "Test")], [DUMP])
    r = requests.post(
        small.url + "/submit",
        data=gzipped(good),
        timeout=30,
        headers={"Content-Type": content_type, "Content-Encoding": "gzip"},
    )
    assert r.status_code == 200 and r.text.startswith("CrashID=bp-")
