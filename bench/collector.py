"""Collector throughput and memory: HTTP submissions against ``crashproc submit`` of the same crashes.

Usage: ``make bench-collector`` or
``.venv/bin/python bench/collector.py [--count 5000] [--clients 16] [--workers 2]
[--big 20] [--big-mb 19]``.

Phase 1 (throughput): a ``crashproc collector`` (filesystem storage and SQLite queue in a
fresh temporary directory) receives ``--count`` submissions of the sample crashes
(examples/crashes, Breakpad's layout: one form field per annotation, the dumps as file parts)
from ``--clients`` concurrent clients over keep-alive connections on 127.0.0.1. Printed:
submissions/s, p50/p99 latency and the peak RSS of the collector's processes (supervisor and
workers, summed). The baseline, measured in the same run: ``crashproc submit`` of the same
number of crash directories (the same samples, each made distinct), split over ``--clients``
concurrent processes, which store and queue through the same storage and queue code without
HTTP; its latency is per crash within its batch (wall time / crashes of one process).

Phase 2 (bounded memory): ``--big`` concurrent uploads of a ``--big-mb`` MB dump each (just
under the default 20 MB limit); the collector's peak RSS must not grow with the bodies, as
they stream to disk. Printed with the total bytes in flight for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
REPO = HERE.parent
SAMPLES = REPO / "examples" / "crashes"

import requests  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRASHPROC_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "CRASHPROC_STORAGE": str(root / "crashes"),
            "CRASHPROC_QUEUE": f"sqlite:{root / 'queue.sqlite'}",
        }
    )
    return env


def tree_rss(pid: int) -> int:
    """RSS in bytes of ``pid`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class PeakRss:
    """Samples a process tree's RSS every 20 ms in a thread; ``.peak`` after ``stop()``."""

    def __init__(self, pids) -> None:
        self.pids = pids
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(tree_rss(pid) for pid in self.pids()))
            time.sleep(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def samples() -> list[tuple[dict[str, str], dict[str, bytes]]]:
    found = []
    for directory in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        raw = json.loads((directory / "raw_crash.json").read_text())
        annotations = {
            k: v
            for k, v in raw.items()
            if k not in ("uuid", "submitted_timestamp", "version", "metadata")
            and isinstance(v, str)
        }
        dumps = {
            p.name: p.read_bytes()
            for p in directory.iterdir()
            if p.name != "raw_crash.json" and not p.name.endswith(".json")
        }
        if dumps:  # Breakpad's clients send multipart only with a dump
            found.append((annotations, dumps))
    return found


def start_collector(root: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "processor", "collector", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers)],
        cwd=root, env=environment(root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/__heartbeat__", timeout=1).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("the collector did not start")


def post_all(url: str, jobs: list, clients: int) -> tuple[float, list[float]]:
    """Send every job from ``clients`` threads; (wall seconds, latencies)."""
    local = threading.local()

    def send(job) -> float:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        annotations, files = job
        started = time.perf_counter()
        r = local.session.post(url + "/submit", data=annotations, files=files, timeout=300)
        elapsed = time.perf_counter() - started
        if r.status_code != 200 or not r.text.startswith("CrashID=bp-"):
            raise SystemExit(f"submission failed: {r.status_code} {r.text[:200]}")
        return elapsed

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(send, jobs))
    return time.perf_counter() - started, latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_collector(root: Path, count: int, clients: int, workers: int) -> dict:
    crashes = samples()
    jobs = []
    for i in range(count):
        annotations, dumps = crashes[i % len(crashes)]
        files = {name: (f"{name}.dmp", data) for name, data in dumps.items()}
        jobs.append(({**annotations, "BenchIndex": str(i)}, files))
    proc, url = start_collector(root, workers)
    try:
        post_all(url, jobs[: clients * 2], clients)  # warm up every worker and connection
        rss = PeakRss(lambda: [proc.pid])
        wall, latencies = post_all(url, jobs, clients)
        peak = rss.stop()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return {
        "rate": count / wall,
        "p50": pct(latencies, 0.5) * 1000,
        "p99": pct(latencies, 0.99) * 1000,
        "rss": peak,
    }


def bench_submit(root: Path, count: int, clients: int) -> dict:
    crashes = sorted(p for p in SAMPLES.iterdir() if p.is_dir())
    incoming = root / "incoming"
    dirs = []
    for i in range(count):
        source = crashes[i % len(crashes)]
        target = incoming / f"{i:06d}"
        target.mkdir(parents=True)
        raw = json.loads((source / "raw_crash.json").read_text())
        raw.pop("uuid", None)  # an id made from the content: distinct with BenchIndex
        raw["BenchIndex"] = str(i)
        (target / "raw_crash.json").write_text(json.dumps(raw))
        for dump in source.iterdir():
            if dump.name != "raw_crash.json":
                os.link(dump, target / dump.name)
        dirs.append(target)
    shares = [dirs[i::clients] for i in range(clients)]
    env = environment(root)
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "processor", "submit", *map(str, share)],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for share in shares
    ]
    rss = PeakRss(lambda: [p.pid for p in procs if p.poll() is None])
    per_process = []
    for proc in procs:
        proc.wait()
        per_process.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit("crashproc submit failed")
    wall = time.perf_counter() - started
    peak = rss.stop()
    per_crash = [seconds / len(share) for seconds, share in zip(per_process, shares, strict=True)]
    return {
        "rate": count / wall,
        "p50": statistics.median(per_crash) * 1000,
        "p99": max(per_crash) * 1000,
        "rss": peak,
    }


def bench_big(root: Path, uploads: int, size_mb: int, workers: int) -> dict:
    proc, url = start_collector(root, workers)
    dump = os.urandom(size_mb * 1024 * 1024)
    jobs = [
        ({"ProductName": "Big", "Index": str(i)}, {"upload_file_minidump": ("big.dmp", dump)})
        for i in range(uploads)
    ]
    try:
        base = tree_rss(proc.pid)
        rss = PeakRss(lambda: [proc.pid])
        wall, _latencies = post_all(url, jobs, uploads)
        peak = rss.stop()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return {"idle": base, "rss": peak, "wall": wall, "in_flight": uploads * len(dump)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="submissions (default: 5000)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--workers", type=int, default=2, help="collector workers (2)")
    parser.add_argument("--big", type=int, default=20, help="concurrent big uploads (20)")
    parser.add_argument("--big-mb", type=int, default=19, help="size of a big upload (19 MB)")
    args = parser.parse_args()
    mb = 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="bench-collector-") as tmp:
        root = Path(tmp)
        for name in ("collector", "submit", "big"):
            (root / name).mkdir()
        print(
            f"{args.count} submissions of {len(samples())} sample crashes, "
            f"{args.clients} concurrent clients, collector workers: {args.workers}",
            flush=True,
        )
        collector = bench_collector(root / "collector", args.count, args.clients, args.workers)
        shutil.rmtree(root / "collector")
        submit = bench_submit(root / "submit", args.count, args.clients)
        shutil.rmtree(root / "submit")
        print(f"{'':28}{'per second':>12}{'p50 ms':>10}{'p99 ms':>10}{'peak RSS MB':>13}")
        for name, result in (
            ("crashproc collector (HTTP)", collector),
            ("crashproc submit (baseline)", submit),
        ):
            print(
                f"{name:28}{result['rate']:12.1f}{result['p50']:10.1f}{result['p99']:10.1f}"
                f"{result['rss'] / mb:13.1f}"
            )
        print(f"collector / submit throughput: {collector['rate'] / submit['rate']:.2f}x")
        big = bench_big(root / "big", args.big, args.big_mb, args.workers)
        print(
            f"{args.big} concurrent {args.big_mb} MB uploads ({big['in_flight'] / mb:.0f} MB "
            f"in flight) in {big['wall']:.1f} s: collector peak RSS {big['rss'] / mb:.1f} MB "
            f"(idle {big['idle'] / mb:.1f} MB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
