"""A crash storage per backend, so every behaviour test runs against each of them.

S3 cannot be reached from these machines, so moto's server mode, started on 127.0.0.1 for the
session, stands in for it: the S3 backend talks real HTTP to it through boto3.
"""

from __future__ import annotations

import itertools

import boto3
import pytest

from processor.storage import CrashStorage, open_storage
from tests.s3credentials import AWS_ENV

_buckets = itertools.count()


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3-compatible server on a free port of 127.0.0.1; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_server, monkeypatch):
    """A fresh bucket on the stand-in server, with the fake credentials it accepts."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = f"crashes-{next(_buckets)}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(params=["fs", "s3"])
def storage(request, tmp_path) -> CrashStorage:
    if request.param == "fs":
        return open_storage(str(tmp_path / "crashes"))
    endpoint = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    return open_storage(f"s3://{bucket}/site/crashes", s3_endpoint_url=endpoint)
