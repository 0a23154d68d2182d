"""What one crash costs the shared services: Redis memory and commands, S3 requests.

Usage: ``make bench-scaling`` or ``.venv/bin/python bench/scaling.py [--crashes 200]
[--queued 20000]``.

Counts, not speeds (so the shared machine's load does not change them), for docs/scaling.md:

- S3: ``--crashes`` small crashes (a raw crash, a tiny dump and its stored stackwalker output,
  as tests/multihost makes them) submitted as ``crashproc submit`` does and processed as a
  daemon worker does (claim, run_job, ack), against moto's S3 server on 127.0.0.1; every S3
  call the storage's boto3 client makes is counted by operation, per crash and per phase.
- Redis: the commands each phase sent (``INFO commandstats``), and the memory and append-only
  file growth of ``--queued`` crash ids waiting in the standard queue (stream length, bytes
  per queued crash), then after they are all claimed and acked (the stream is emptied).

The peer is the other phase or size measured in the same run: submit against processing,
queued against drained.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402
import redis  # noqa: E402

from processor.config import Settings  # noqa: E402
from processor.queues import STANDARD, open_queue  # noqa: E402
from processor.runner import CrashProcessor  # noqa: E402
from processor.service.job import run_job  # noqa: E402
from processor.service.wiring import open_settings_storage  # noqa: E402

BUCKET = "crashes"


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


hosts = _load("bench_hosts", REPO / "tests" / "multihost" / "hosts.py")
redisserver = _load("bench_redisserver", REPO / "tests" / "processor" / "queues" / "redisserver.py")
AWS_ENV = _load("bench_s3credentials", REPO / "tests" / "s3credentials.py").AWS_ENV


class S3Calls:
    """Every S3 operation made by clients of the default boto3 session, by name."""

    def __init__(self) -> None:
        self.counts: collections.Counter = collections.Counter()
        boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-call.s3", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.counts[model.name] += 1

    def take(self) -> collections.Counter:
        counts, self.counts = self.counts, collections.Counter()
        return counts


def commandstats(client: redis.Redis) -> collections.Counter:
    return collections.Counter(
        {
            name.removeprefix("cmdstat_"): stats["calls"]
            for name, stats in client.info("commandstats").items()
        }
    )


def aof_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file() and "aof" in p.name)


def per_crash(counts: collections.Counter, crashes: int) -> str:
    parts = [f"{name} {n / crashes:.2f}" for name, n in sorted(counts.items()) if n]
    return f"{sum(counts.values()) / crashes:.2f} ({', '.join(parts)})"


def s3_and_commands(settings: Settings, server: Any, crashes: int, scratch: Path) -> None:
    from processor.cli import run

    calls = S3Calls()
    client = redis.Redis(host="127.0.0.1", port=server.port)
    made = hosts.make_crashes(scratch / "incoming", crashes)
    before = commandstats(client)
    with open(os.devnull, "w") as out:
        status = run(
            ["submit", *(str(d) for d in sorted((scratch / "incoming").iterdir()))], out=out
        )
    assert status == 0, status
    submit_s3 = calls.take()
    submit_redis = commandstats(client) - before

    storage = open_settings_storage(settings)
    queue = open_queue(settings.queue)
    processor = CrashProcessor(settings)
    calls.take()  # opening costs nothing per crash
    before = commandstats(client)
    done = 0
    while (delivery := queue.claim("bench")) is not None:
        queue.renew(delivery)  # one heartbeat: a crash of a third of a lease or more
        run_job(storage, processor, delivery.crash_id, use_previous=False, enqueued_at=0)
        queue.ack(delivery)
        done += 1
    assert done == len(made) == crashes, (done, len(made))
    process_s3 = calls.take()
    process_redis = commandstats(client) - before
    for thing in (processor, queue, storage):
        thing.close()
    print(f"\nper crash, {crashes} crashes        requests (by operation)")
    print(f"S3, submit:      {per_crash(submit_s3, crashes)}")
    print(f"S3, processing:  {per_crash(process_s3, crashes)}")
    print(f"Redis, submit:     {per_crash(submit_redis, crashes)}")
    print(f"Redis, processing: {per_crash(process_redis, crashes)}")


def queued_memory(server: Any, queued: int) -> None:
    prefix = "membench"
    url = f"{server.url}?prefix={prefix}"
    client = redis.Redis(host="127.0.0.1", port=server.port)
    queue = open_queue(url)
    crash_ids = [hosts.make_crash_id() for _ in range(queued)]
    base_memory = client.info("memory")["used_memory"]
    base_aof = aof_bytes(server.directory)
    for start in range(0, queued, 1000):
        queue.publish(STANDARD, crash_ids[start : start + 1000])
    memory = client.info("memory")["used_memory"]
    length = client.xlen(f"{prefix}:queue:{STANDARD}")
    aof = aof_bytes(server.directory)
    start = time.perf_counter()
    drained = 0
    while (delivery := queue.claim("bench")) is not None:
        queue.ack(delivery)
        drained += 1
    seconds = time.perf_counter() - start
    after = client.info("memory")["used_memory"]
    queue.close()
    print(f"\nRedis, {queued:,} crashes queued")
    print(f"stream length:                 {length:,}")
    print(f"memory per queued crash:       {(memory - base_memory) / queued:,.0f} bytes")
    print(f"append-only file per crash:    {(aof - base_aof) / queued:,.0f} bytes (publish)")
    print(f"memory once drained, per crash: {(after - base_memory) / queued:,.1f} bytes")
    print(f"claim + ack, one client:       {drained / seconds:,.0f} crashes/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crashes", type=int, default=200)
    parser.add_argument("--queued", type=int, default=20_000)
    args = parser.parse_args(argv)
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise

    os.environ.update(AWS_ENV)
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as scratch:
        scratch = Path(scratch)
        server = redisserver.RedisServer(scratch / "redis").start()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        try:
            host, port = moto.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
            env = {
                "CRASHPROC_STORAGE": f"s3://{BUCKET}/site",
                "CRASHPROC_S3_ENDPOINT_URL": endpoint,
                "CRASHPROC_QUEUE": f"{server.url}?prefix=s3bench",
                "CRASHPROC_REPORT_INDEX": str(scratch / "index.sqlite"),
                "CRASHPROC_REPORT_OWED": str(scratch / "owed"),
                "CRASHPROC_STACKWALKER": "none",
                "CRASHPROC_SCRATCH_DIR": str(scratch / "work"),
            }
            os.environ.update(env)
            settings = Settings.load()
            s3_and_commands(settings, server, args.crashes, scratch)
            queued_memory(server, args.queued)
        finally:
            moto.stop()
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
