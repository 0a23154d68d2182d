"""Fixtures of the multi-host test: the shared servers (real, on 127.0.0.1) and the hosts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.conftest import import_or_missing
from tests.multihost.hosts import AWS_ENV, BUCKET, Host, S3Server, Servers, load_redisserver
from tests.postgresserver import PostgresServer, missing, postgres_bindir


@pytest.fixture
def servers(tmp_path, monkeypatch) -> Iterator[Servers]:
    """A persistent redis-server (append-only file, as the queue requires), moto's S3 server
    with a versioned bucket (every PUT of a key is kept), a PostgreSQL of the test's own."""
    import_or_missing("psycopg", "the postgresql extra (psycopg) is needed")
    bindir = postgres_bindir()
    if bindir is None:
        missing("no PostgreSQL server binaries (Debian's postgresql or the pgserver wheel)")
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    redis = load_redisserver().RedisServer(tmp_path / "redis").start()
    s3 = postgres = None
    try:
        s3 = S3Server(tmp_path / "s3.log").start()
        postgres = PostgresServer(bindir).start()
        found = Servers(redis, s3.endpoint, postgres, postgres.create_database("hosts"))
        client = found.s3()
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield found
    finally:
        if postgres is not None:
            postgres.close()
        if s3 is not None:
            s3.stop()
        redis.stop()


@pytest.fixture
def make_host(tmp_path, servers) -> Iterator[Callable[[str], Host]]:
    """Hosts whose daemons are all killed at the end of the test, whatever happened."""
    hosts: list[Host] = []

    def make(name: str) -> Host:
        root = tmp_path / name
        root.mkdir()
        hosts.append(Host(name, root, servers))
        return hosts[-1]

    yield make
    for host in hosts:
        for daemon in host.daemons:
            daemon.kill_group()
