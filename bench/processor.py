"""Processor throughput: crashes per second per worker through the real daemon.

Usage: ``make bench-processor`` or
``.venv/bin/python bench/processor.py [--symbols-path STORE] [--count 1000] [--workers 1,2]``.

The sample crashes (examples/crashes) are copied, with fresh crash ids, until there are
``--count`` of them. For each worker count the whole production path runs as processes, the
way an operator runs it: ``crashproc submit`` stores and queues every crash (SQLite queue,
filesystem storage, both in a fresh temporary directory), then ``crashproc daemon --once
--workers N`` processes them with the built-in stackwalker and exits when the queue is empty.
The daemon's wall-clock time, start-up included, gives crashes per second and per worker;
scaling is the rate against the first worker count's.

Symbols come from a store built as ``make demo`` builds .cache/demo-symbols (``--symbols-path``;
built in the temporary directory when not given), and the parsed-symbol cache is warmed by one
``crashproc process`` pass over the samples before anything is timed, so the runs measure a
processor in its steady state rather than its first symbol downloads. That pass also fills a
bytecode cache in the work directory, as an installed processor has one.

The rulesets' share of a worker's time is the goal of issue 17 (at least 75%): everything else
(process start-up, queue, storage, fsync, scratch directories) is overhead. Each worker logs,
as it stops, its own CPU time (user + system since the process started, so start-up counts)
and the CPU and wall-clock time its pipeline spent in rulesets; the CPU ratio is the one to
read on a shared machine, where waiting for the disk or the processor stretches wall-clock
times. The wall-clock ratio sets the rulesets' time against the daemon's run times the workers.

The share of time spent stackwalking comes from the processor's own metrics: the daemon sends
them to a statsd listener in this script, which sums ``processor.stackwalk.timing`` (every walk,
including a second walk after a code-info recovery) against ``processor.process_crash`` (the
whole ruleset per crash). Metrics travel over UDP, so the number of crashes they cover is shown.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This script is named like the package it measures: keep its directory off sys.path.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
REPO = HERE.parent
SAMPLES = REPO / "examples" / "crashes"
TESTDATA = REPO / "tests" / "data"

from processor.crashid import create_crash_id  # noqa: E402
from processor.service.worker import USAGE_PATTERN  # noqa: E402

STACKWALK = "crashproc.processor.stackwalk.timing"
PROCESS_CRASH = "crashproc.processor.process_crash"
FINAL_LINE = re.compile(r"stopped: processed (\d+), already done (\d+), failed (\d+)")
USAGE_LINE = re.compile(USAGE_PATTERN)
GOAL = 0.75  # issue 17: the ruleset at least 75% of a worker's time


def run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """A command of ours in a fresh interpreter; its failure ends the benchmark with stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", *argv], cwd=REPO, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:2])} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def build_store(store: Path) -> Path:
    """The demo's symbol store (the Makefile's DEMO_SYMBOLS recipe)."""
    files = sorted(TESTDATA.glob("symbols-with-code-id/*/*/*.sym"))
    files += sorted(TESTDATA.glob("symbols/crash-client/*/*.sym"))
    if not files:
        raise SystemExit(f"no symbol files under {TESTDATA}")
    run(["symbols.cli", "add", str(store), *map(str, files)])
    return store


def fresh_crash_id(raw_crash: dict) -> str:
    """A new id for a copy of a sample: the sample's throttle and date kept, or for a sample
    without a uuid (whose id would be derived from its content, the same in every copy, and
    all copies but one "already done") dated by its submission."""
    crash_id = raw_crash.get("uuid")
    if isinstance(crash_id, str):
        return str(uuid.uuid4())[:-7] + crash_id[-7:]
    stamp = raw_crash.get("submitted_timestamp")
    try:
        moment = datetime.datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        moment = None
    return create_crash_id(moment)


def write_corpus(target: Path, count: int) -> list[Path]:
    """`count` crash directories cycling through the samples, each with a fresh crash id
    (keeping the sample's date and throttle suffix); dumps are hard links where possible."""
    samples = sorted(p for p in SAMPLES.iterdir() if (p / "raw_crash.json").is_file())
    dirs = []
    for index in range(count):
        sample = samples[index % len(samples)]
        directory = target / f"{index:05d}-{sample.name}"
        directory.mkdir(parents=True)
        for item in sample.iterdir():
            if item.name == "raw_crash.json":
                continue
            try:
                os.link(item, directory / item.name)
            except OSError:
                shutil.copyfile(item, directory / item.name)
        raw_crash = json.loads((sample / "raw_crash.json").read_text(encoding="utf-8"))
        raw_crash["uuid"] = fresh_crash_id(raw_crash)
        (directory / "raw_crash.json").write_text(json.dumps(raw_crash), encoding="utf-8")
        dirs.append(directory)
    return dirs


@dataclass
class StatsdSink:
    """A statsd listener on 127.0.0.1 summing the timings it receives, by metric name."""

    sock: socket.socket = field(init=False)
    totals: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def _receive(self) -> None:
        while not self.stopping.is_set():
            try:
                packet = self.sock.recv(65536)
            except TimeoutError:
                continue
            for line in packet.decode("utf-8", "replace").splitlines():
                name, _, rest = line.partition(":")
                value, _, kind = rest.partition("|")
                if kind.startswith("ms"):
                    self.totals[name] += float(value)
                    self.counts[name] += 1

    def close(self) -> None:
        time.sleep(0.3)  # the last packets are on their way
        self.stopping.set()
        self.thread.join()
        self.sock.close()


@dataclass
class Result:
    workers: int
    submit_seconds: float
    daemon_seconds: float
    processed: int
    stackwalk_ms: float
    ruleset_ms: float
    crashes_timed: int
    worker_cpu: float = 0.0
    ruleset_cpu: float = 0.0
    ruleset_wall: float = 0.0
    startup_cpu: float = 0.0

    @property
    def cpu_share(self) -> float:
        """The rulesets' share of the workers' CPU time (start-up included)."""
        return self.ruleset_cpu / self.worker_cpu if self.worker_cpu else float("nan")

    @property
    def running_share(self) -> float:
        """The same once the workers are running: their start-up left out, as for a daemon
        that runs for days."""
        running = self.worker_cpu - self.startup_cpu
        return self.ruleset_cpu / running if running > 0 else float("nan")

    @property
    def wall_share(self) -> float:
        """The rulesets' share of the workers' wall-clock time (the daemon's run, start-up
        included, times the workers)."""
        return self.ruleset_wall / (self.daemon_seconds * self.workers)


def measure(work: Path, dirs: list[Path], workers: int, env: dict[str, str]) -> Result:
    """Submit every crash to a fresh site, then time one `daemon --once` run over them."""
    site = work / f"site-{workers}"
    site_env = env | {
        "CRASHPROC_STORAGE": str(site / "crashes"),
        "CRASHPROC_QUEUE": f"sqlite:{site / 'queue.sqlite'}",
    }
    start = time.perf_counter()
    run(["processor", "submit", *map(str, dirs)], site_env)
    submit_seconds = time.perf_counter() - start
    sink = StatsdSink()
    try:
        metrics_env = site_env | {
            "CRASHPROC_METRICS": "statsd",
            "CRASHPROC_STATSD_HOST": "127.0.0.1",
            "CRASHPROC_STATSD_PORT": str(sink.port),
        }
        start = time.perf_counter()
        proc = run(["processor", "daemon", "--once", "--workers", str(workers)], metrics_env)
        daemon_seconds = time.perf_counter() - start
    finally:
        sink.close()
    finals = list(FINAL_LINE.finditer(proc.stderr))
    final = finals[-1] if finals else None
    if final is None or int(final.group(3)) or int(final.group(1)) != len(dirs):
        raise SystemExit(f"the daemon did not process every crash:\n{proc.stderr[-2000:]}")
    usage = [tuple(map(float, m.groups())) for m in USAGE_LINE.finditer(proc.stderr)]
    if len(usage) != workers or sum(u[0] for u in usage) != len(dirs):
        raise SystemExit(f"expected one usage line per worker:\n{proc.stderr[-2000:]}")
    return Result(
        workers=workers,
        worker_cpu=sum(u[1] for u in usage),
        ruleset_cpu=sum(u[2] for u in usage),
        ruleset_wall=sum(u[3] for u in usage),
        startup_cpu=sum(u[4] for u in usage),
        submit_seconds=submit_seconds,
        daemon_seconds=daemon_seconds,
        processed=int(final.group(1)),
        stackwalk_ms=sink.totals[STACKWALK],
        ruleset_ms=sink.totals[PROCESS_CRASH],
        crashes_timed=sink.counts[PROCESS_CRASH],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols-path", type=Path, help="symbol store (default: build one)")
    parser.add_argument("--count", type=int, default=1000, help="crashes per run")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--keep", type=Path, help="work here and keep the files")
    args = parser.parse_args(argv)
    worker_counts = [int(n) for n in args.workers.split(",") if n.strip()]

    with tempfile.TemporaryDirectory(prefix="bench-processor-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        store = args.symbols_path or build_store(work / "symbols")
        env = dict(os.environ) | {
            "CRASHPROC_STACKWALKER": "builtin",
            "CRASHPROC_SYMBOLS_PATH": str(store.resolve()),
            "CRASHPROC_SYMBOLS_CACHE": str(work / "symbols-cache"),
            "CRASHPROC_DAEMON_LOG_INTERVAL": "3600",
            # Compiled modules cached as an installed processor has them (in the work
            # directory, not the tree): without, with PYTHONDONTWRITEBYTECODE set, every worker
            # compiled each module from source as it started, 0.2 s of CPU each.
            "PYTHONPYCACHEPREFIX": str(work / "pycache"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        samples = sorted(str(p) for p in SAMPLES.iterdir() if (p / "raw_crash.json").is_file())
        run(["processor", "process", "--format", "summary", *samples], env)  # warm the cache
        dirs = write_corpus(work / "corpus", args.count)
        print(
            f"{len(dirs)} crashes from {len(samples)} samples; built-in stackwalker; "
            f"symbols {store}; {os.cpu_count()} CPUs",
            flush=True,
        )
        results = []
        for workers in worker_counts:
            results.append(measure(work, dirs, workers, env))
            done = results[-1]
            print(f"  {workers} worker(s): {done.daemon_seconds:.1f} s", flush=True)

    base = results[0].processed / results[0].daemon_seconds
    print(
        f"{'workers':>7} {'daemon s':>9} {'crashes/s':>10} {'per worker':>11} {'scaling':>8} "
        f"{'CPU ms/crash':>13} {'rules CPU':>10} {'running':>8} {'rules wall':>11} "
        f"{'stackwalk':>10} {'submit/s':>9}"
    )
    for r in results:
        rate = r.processed / r.daemon_seconds
        stackwalk = r.stackwalk_ms / r.ruleset_ms if r.ruleset_ms else float("nan")
        print(
            f"{r.workers:7d} {r.daemon_seconds:9.1f} {rate:10.1f} {rate / r.workers:11.1f} "
            f"{rate / base:7.2f}x {1000 * r.worker_cpu / r.processed:13.1f} "
            f"{r.cpu_share:10.1%} {r.running_share:8.1%} {r.wall_share:11.1%} {stackwalk:10.1%} "
            f"{r.processed / r.submit_seconds:9.0f}"
        )
    print(
        "daemon s: wall clock of `crashproc daemon --once`, start-up included; CPU ms/crash: "
        "the workers' CPU time (user + system, process start-up included) per crash; rules "
        "CPU: the rulesets' CPU time / the workers' CPU time, both from each worker's own "
        "count (its last log line); running: the same without the workers' start-up CPU; "
        "rules wall: the rulesets' wall-clock time / (daemon s x "
        "workers), the rest being start-up, queue, storage and waiting; stackwalk: "
        "processor.stackwalk.timing / processor.process_crash (statsd, "
        f"{min(r.crashes_timed for r in results)} or more crashes timed)"
    )
    worst = min(r.cpu_share for r in results)
    print(
        f"goal (issue 17): rulesets >= {GOAL:.0%} of a worker's CPU time: "
        f"{'met' if worst >= GOAL else 'NOT met'} (lowest {worst:.1%})"
    )
    print(json.dumps([r.__dict__ for r in results]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
