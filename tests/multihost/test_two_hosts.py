"""Two processor hosts on one Redis, one S3 and one PostgreSQL: one host dies, the database
restarts, and still every crash is processed exactly once and indexed exactly once.

Each host is a daemon in a process group of its own, with its own working directory, scratch
directory, symbols cache and host name (see conftest). The S3 bucket keeps every version of
every key, so "processed once" is read from storage itself: one PUT of each processed crash.

Cost: about 2 minutes of CPU in all (moto serves some 7,000 S3 requests); on the shared 2-core
development machine it took 4.5 minutes at a load average of 8 to 16, 2 minutes once the
load had eased.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import re

from processor.queues import open_queue
from processor.reports.extract import index_entry
from processor.reports.index import ReportIndex
from tests.multihost.hosts import BUCKET, make_crashes, wait_for

CRASHES = 1000
PROCESSED_PREFIX = "site/v1/processed_crash/"


def processed_versions(client) -> collections.Counter:
    """How many times each processed crash was written."""
    counts: collections.Counter = collections.Counter()
    for page in client.get_paginator("list_object_versions").paginate(
        Bucket=BUCKET, Prefix=PROCESSED_PREFIX
    ):
        for version in page.get("Versions", []):
            counts[version["Key"][len(PROCESSED_PREFIX) :]] += 1
    return counts


def index_rows(url: str) -> tuple[list[str], collections.Counter, collections.Counter]:
    """The crash ids in the index, and module and missing-symbol rows per crash id."""
    with ReportIndex(url, create=False) as index:
        ids = [row[0] for row in index.query("SELECT crash_id FROM crashes")]
        modules = collections.Counter(
            row[0]
            for row in index.query(
                "SELECT c.crash_id FROM crash_modules m LEFT JOIN crashes c ON c.id = m.crash"
            )
        )
        missing = collections.Counter(
            row[0]
            for row in index.query(
                "SELECT c.crash_id FROM missing_symbols m LEFT JOIN crashes c ON c.id = m.crash"
            )
        )
    return ids, modules, missing


def read_processed(client, crash_ids: list[str]) -> dict[str, dict]:
    def read(crash_id: str) -> dict:
        body = client.get_object(Bucket=BUCKET, Key=PROCESSED_PREFIX + crash_id)["Body"].read()
        return json.loads(body)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return dict(zip(crash_ids, pool.map(read, crash_ids), strict=True))


def test_two_hosts_one_killed_database_restarted(make_host, servers, tmp_path):
    host_a, host_b = make_host("host-a"), make_host("host-b")
    # Every tenth crash has a dump and a stack (rows in every index table); the others are a
    # raw crash only, so that 1,000 crashes stay quick on moto.
    submitted = make_crashes(tmp_path / "incoming", CRASHES, dump_every=10)
    dirs = [str(d) for d in sorted((tmp_path / "incoming").iterdir())]
    # Each host's collector submits half.
    submits = [host.popen("submit", *dirs[n::2]) for n, host in enumerate((host_a, host_b))]
    ids = []
    for submit in submits:
        out, err = submit.communicate(timeout=300)
        assert submit.returncode == 0, err
        ids += out.split()
    assert sorted(ids) == sorted(submitted)
    queue = open_queue(servers.redis.url)
    assert queue.pending() == CRASHES

    def done() -> int:
        return CRASHES - queue.pending()

    # Host b gives up on the database after 1 s, so an outage of a few seconds leaves it
    # crashes whose index rows it owes.
    first_a = host_a.start_daemon()
    daemon_b = host_b.start_daemon(CRASHPROC_REPORT_RETRY="1")
    wait_for(lambda: done() >= 200, what="200 crashes processed")
    first_a.kill_group()  # kill -9: host a's machine dies mid-run
    assert done() < CRASHES, "host a died while there was work left"

    wait_for(lambda: done() >= 350, what="host b going on alone")
    servers.postgres.stop()
    down_from = done()
    wait_for(lambda: done() >= down_from + 4, what="crashes saved while the index is down")
    servers.postgres.start()
    assert done() < CRASHES, "the database came back while there was work left"

    second_a = host_a.start_daemon()  # the machine is back: same directory, same name
    wait_for(lambda: queue.pending() == 0, timeout=300, what="an empty queue")
    assert second_a.stop() == 0, second_a.output()
    assert daemon_b.stop() == 0, daemon_b.output()

    # Storage: every crash processed, each written once, by one processing pass.
    s3 = servers.s3()
    versions = processed_versions(s3)
    assert sorted(versions) == sorted(submitted)
    assert set(versions.values()) == {1}, [k for k, n in versions.items() if n > 1][:5]
    processed_crashes = read_processed(s3, sorted(submitted))
    hosts: collections.Counter = collections.Counter()
    for crash_id, processed in processed_crashes.items():
        assert processed["version"] == f"1.0.{submitted[crash_id]}", "the result is its own"
        notes = processed["processor_notes"]
        starts = re.findall(r">>> Start processing: \S+ \(([^)]*)\)", notes)
        assert len(starts) == 1, notes
        hosts[starts[0]] += 1
    assert set(hosts) == {"host-a", "host-b"}, hosts
    assert queue.dead_letters() == []

    # The index: the crashes saved while the database was down are owed, not silently missing.
    owed = sorted(p.name for p in host_b.owed_dir.iterdir())
    assert owed, "host b saved crashes while the database was down"
    assert daemon_b.output().count("recorded for repair") == len(owed)
    assert not host_a.owed_dir.exists() or not list(host_a.owed_dir.iterdir())
    ids, _, _ = index_rows(servers.index_url)
    assert sorted(ids) == sorted(set(submitted) - set(owed))

    # The next run of host b repairs them (its worker indexes what is owed as it starts).
    repair_run = host_b.start_daemon("--once", CRASHPROC_WORKERS="1")
    assert repair_run.process.wait(timeout=120) == 0, repair_run.output()
    assert list(host_b.owed_dir.iterdir()) == []

    # Exactly one row set per crash: the rows its stored processed crash gives, once.
    ids, modules, missing = index_rows(servers.index_url)
    assert sorted(ids) == sorted(submitted)
    assert None not in modules and None not in missing, "rows of no crash"
    with_stacks = 0
    for crash_id, processed in processed_crashes.items():
        entry = index_entry(crash_id, processed)
        with_stacks += bool(entry.stack_modules)
        assert modules[crash_id] == len(entry.stack_modules), crash_id
        assert missing[crash_id] == len(entry.missing), crash_id
    assert with_stacks == CRASHES // 10
    queue.close()
