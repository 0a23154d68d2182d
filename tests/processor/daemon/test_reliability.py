"""The daemon under abuse: killed mid-run, poison crashes, hung crashes, graceful stops.

These run the real ``crashproc`` commands as processes against a real SQLite queue and a
filesystem storage. Crashes are small synthetic ones processed without a stackwalker; a test
rule (see conftest) slows, hangs or kills processing where a test needs it.
"""

from __future__ import annotations

import json
import re
import signal

from processor.queues import open_queue
from schemas.library import load_schema
from tests.public_copy import assert_public_copy_hides_protected

STORAGE_V1 = ("crashes", "v1")


def check_every_crash_processed_once(site, submitted: dict[str, int]) -> None:
    """Each submitted crash has one processed result, its own, from one processing pass."""
    assert site.processed_ids() == sorted(submitted)
    public_schema = load_schema("processed_crash")
    v1 = site.root.joinpath(*STORAGE_V1)
    for crash_id, index in submitted.items():
        processed = json.loads((v1 / "processed_crash" / crash_id).read_text())
        public = json.loads((v1 / "processed_crash_public" / crash_id).read_text())
        assert processed["uuid"] == crash_id
        assert processed["version"] == f"1.0.{index}", "the result belongs to this crash"
        assert "processor_history" not in processed, "a new crash is processed from nothing"
        assert processed["processor_notes"].count(">>> Start processing") == 1
        assert public == public_schema.public_view(processed)
        assert_public_copy_hides_protected(processed, public)


def test_kill_9_twice_mid_run_then_restart_loses_nothing(make_site):
    site = make_site()
    dirs = site.crashes(300, SleepSeconds=0.01)
    ids = site.submit([d for d, _ in dirs])
    assert ids == [crash_id for _, crash_id in dirs]
    submitted = {crash_id: index for index, (_, crash_id) in enumerate(dirs)}

    # First the machine dies (daemon and workers at once), then the daemon alone: its
    # orphaned workers must notice, finish their crash and stop.
    for threshold, kill in ((60, "group"), (160, "main")):
        daemon = site.start_daemon()
        site.wait_for(lambda t=threshold: len(site.processed_ids()) >= t, what=f"{threshold}")
        if kill == "group":
            daemon.kill_group()
        else:
            daemon.kill_main()
            site.wait_for(lambda d=daemon: not d.group_alive(), timeout=20, what="orphans")
        assert len(site.processed_ids()) < 300, "killed while it still had work"

    final = site.start_daemon("--once")
    assert final.wait(timeout=90) == 0, final.output()
    check_every_crash_processed_once(site, submitted)
    queue = open_queue(site.queue_url)
    assert queue.pending() == 0
    assert queue.dead_letters() == []
    assert re.search(r"stopped: processed \d+, already done \d+, failed 0", final.output())


def test_redis_restarted_mid_run_loses_nothing(make_site, own_redis_server):
    site = make_site(queue_url=own_redis_server.url)
    dirs = site.crashes(300, SleepSeconds=0.01)
    site.submit([d for d, _ in dirs])
    submitted = {crash_id: index for index, (_, crash_id) in enumerate(dirs)}
    daemon = site.start_daemon()
    site.wait_for(lambda: len(site.processed_ids()) >= 100, what="100 processed")
    # SIGKILL, as if its machine died; it comes back a second later from its append-only file.
    own_redis_server.restart(down_for=1.0, kill=True)
    assert len(site.processed_ids()) < 300, "Redis went away while the daemon had work"
    queue = open_queue(site.queue_url)
    site.wait_for(lambda: queue.pending() == 0, timeout=90, what="an empty queue")
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0, daemon.output()
    check_every_crash_processed_once(site, submitted)
    assert queue.dead_letters() == []


def test_a_poison_crash_is_dead_lettered_with_its_reason_while_the_rest_go_on(make_site):
    site = make_site()
    healthy = site.crashes(20)
    ((poison_dir, poison_id),) = site.crashes(1, Poison="segfault")
    site.submit([d for d, _ in healthy[:10]] + [poison_dir] + [d for d, _ in healthy[10:]])

    daemon = site.start_daemon("--once", CRASHPROC_QUEUE_MAX_ATTEMPTS="3")
    assert daemon.wait(timeout=90) == 1, "--once reports that a crash was dead-lettered"
    output = daemon.output()
    queue = open_queue(site.queue_url)
    (dead,) = queue.dead_letters()
    assert (dead.crash_id, dead.attempts, dead.error) == (
        poison_id,
        3,
        "worker died: killed by SIGSEGV",
    )
    assert queue.pending() == 0
    assert site.processed_ids() == sorted(crash_id for _, crash_id in healthy)
    assert output.count("died (worker died: killed by SIGSEGV) with a crash in hand") == 3
    final = output.splitlines()[-1]
    assert "stopped: processed 20, already done 0, failed 3" in final
    assert "dead=1" in final


def test_sigterm_finishes_the_crash_in_hand_then_exits_cleanly(make_site):
    site = make_site()
    ((slow_dir, slow_id),) = site.crashes(1, SleepSeconds=2)
    waiting = site.crashes(3)
    site.submit([slow_dir])
    daemon = site.start_daemon(CRASHPROC_WORKERS="1", CRASHPROC_QUEUE_LEASE="5")
    site.wait_for(lambda: "daemon started" in daemon.output(), what="start")
    site.submit([d for d, _ in waiting])
    # Wait until the slow crash is leased (in hand), then ask the daemon to stop.
    queue = open_queue(site.queue_url)
    site.wait_for(
        lambda: queue._read("SELECT COUNT(*) FROM jobs WHERE lease_owner IS NOT NULL")[0][0],
        what="a leased crash",
    )
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0, daemon.output()
    assert site.processed_ids() == [slow_id], "the crash in hand was finished and saved"
    assert queue.depths()["standard"] == 3, "the others wait for the next run, unleased"
    assert queue._read("SELECT COUNT(*) FROM jobs WHERE lease_owner IS NOT NULL")[0][0] == 0
    assert "died" not in daemon.output()


def test_a_hung_crash_costs_its_worker_not_the_daemon(make_site):
    site = make_site()
    ((hung_dir, hung_id),) = site.crashes(1, Poison="hang")
    healthy = site.crashes(5)
    site.submit([hung_dir] + [d for d, _ in healthy])
    # 3 s: a healthy crash (tens of milliseconds, a worker's first one a little more) stays
    # well over a second inside the limit on a busy machine.
    daemon = site.start_daemon(
        "--once", CRASHPROC_JOB_TIMEOUT="3", CRASHPROC_QUEUE_MAX_ATTEMPTS="2"
    )
    assert daemon.wait(timeout=60) == 1
    (dead,) = open_queue(site.queue_url).dead_letters()
    assert (dead.crash_id, dead.error) == (hung_id, "worker killed: one crash took longer than 3 s")
    assert site.processed_ids() == sorted(crash_id for _, crash_id in healthy)


def test_progress_line_reports_rates_and_queue_depths(make_site):
    site = make_site()
    dirs = site.crashes(40, SleepSeconds=0.05)
    site.submit([d for d, _ in dirs])
    daemon = site.start_daemon("--once", CRASHPROC_WORKERS="1")
    assert daemon.wait(timeout=60) == 0
    lines = [line for line in daemon.output().splitlines() if "crashes/s" in line]
    assert len(lines) >= 2, "a line every log interval, and a final one"
    pattern = re.compile(
        r"processed (\d+), already done \d+, failed 0 \(([\d.]+) crashes/s\); "
        r"queues: priority=0 standard=(\d+) reprocessing=0 dead=0; workers \d/1"
    )
    progress = [m for m in map(pattern.search, lines[:-1]) if m and int(m.group(1)) > 0]
    assert progress, "an intermediate line while crashes were processed"
    mid = progress[0]
    assert float(mid.group(2)) > 0
    assert 0 < int(mid.group(3)) < 40
    assert int(mid.group(1)) + int(mid.group(3)) <= 40
    final = pattern.search(lines[-1])
    assert final.group(1) == "40"
    assert float(final.group(2)) > 0, "the final line gives the rate over the whole run"
    assert lines[-1].split("INFO crashproc.daemon: ")[1].startswith("stopped: ")


def test_workers_and_daemon_emit_their_metrics(make_site):
    site = make_site()
    site.submit([d for d, _ in site.crashes(3)])
    daemon = site.start_daemon(
        "--once", verbose=True, CRASHPROC_METRICS="logging", CRASHPROC_WORKERS="1"
    )
    assert daemon.wait(timeout=60) == 0
    output = daemon.output()
    # The daemon samples the queues; each worker process times its crashes.
    assert re.search(r"gauge\|crashproc\.processor\.queue\.depth\|\d+\|#queue:standard", output)
    assert re.search(r"gauge\|crashproc\.processor\.queue\.depth\|0\|#queue:deadletter", output)
    assert len(re.findall(r"timing\|crashproc\.processor\.process_crash\|", output)) == 3


def test_an_unusable_pipeline_stops_the_daemon_instead_of_restarting_workers(make_site):
    site = make_site()
    site.submit([d for d, _ in site.crashes(2)])
    daemon = site.start_daemon(CRASHPROC_EXTRA_RULES="no_such_module.NoSuchRule")
    assert daemon.wait(timeout=60) == 2
    output = daemon.output()
    assert "cannot load rule 'no_such_module.NoSuchRule'" in output
    assert "cannot start with this configuration; stopping" in output
    assert open_queue(site.queue_url).depths()["standard"] == 2, "nothing was lost"
