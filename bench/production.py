"""Production-shaped crashes: a Firefox-sized minidump and xul.sym, the peer against our daemon.

Usage: ``make bench-production`` (``--scale 0.1``: a 60 MB xul.sym) or
``.venv/bin/python bench/production.py --scale 1`` for the full 600 MB file.

Mozilla's processors walk dumps of 50-150 threads and 100-300 modules whose biggest module
has a 500-600 MB ``xul.sym``. This benchmark builds that shape:

* a symbol store with a synthetic ``libxul.so.sym`` of ``600 MB x --scale`` (bench/symbols.py's
  generator: FUNC, line, INLINE, PUBLIC and STACK CFI records) and a small .sym for each of
  199 other modules;
* ``--crashes`` crash directories, each with its own minidump (stackwalk.testing.DumpBuilder):
  60 threads, 200 modules, stacks 30-80 frames deep, nine frames in ten in xul, every frame
  reachable only through the .sym's STACK CFI (the stack holds return addresses where the CFI
  says, nothing else), so both stackwalkers really unwind and symbolicate ~3,300 frames.

Then, in one run:

* the peer, rust-minidump's ``minidump-stackwalk`` 0.25, as Socorro runs it: one process per
  crash, ``--json`` with the store as ``--symbols-path``: seconds and peak RSS per crash (it
  parses the whole .sym text each time);
* our daemon, ``crashproc submit`` then ``crashproc daemon --once --stackwalker builtin`` on
  the same store, with an empty symbols cache: the first crash (cold: xul.sym converted once
  into the cache, start-up included); then for 1 and 2 workers, steady-state crashes/s per
  worker (from the processed crashes' own started/completed times: the crashes completed
  after every worker finished its first one, over that span) and each process's peak RSS,
  split into private memory and mapped file pages, which says whether the workers share the
  converted cache or each hold their own.

Both walks are checked to find the same number of frames on the first dump. The generated
store is kept in ``.cache/bench-production/`` (regenerating 600 MB takes minutes; the size is
printed; ``--clean`` deletes it at the end); converted caches and crashes live in a temporary
directory that is removed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
REPO = HERE.parent
_spec = importlib.util.spec_from_file_location("bench_symbols", HERE / "symbols.py")
assert _spec is not None and _spec.loader is not None
bench_symbols = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_symbols)

from processor.service.worker import USAGE_PATTERN  # noqa: E402
from stackwalk.testing import DumpBuilder  # noqa: E402

FULL_SIZE = 600e6
XUL_NAME = "libxul.so"
XUL_BUILD_ID = bytes.fromhex("D4C3B2A1F6E51807293A4B5C6D7E8F90")  # the generator's MODULE id
XUL_BASE = 0x7F0000000000
SMALL_BASE = 0x7E0000000000
SMALL_FUNCS = 64
SMALL_FUNC_SIZE = 0x100
THREADS = 60
MODULES = 200
DEPTH = (30, 80)
STACK_BASE = 0x7FF000000000
PEER = REPO / "tools" / "fetch-minidump-stackwalk"


def debug_id(build_id: bytes) -> str:
    """Breakpad's debug id of an ELF build id: the first 16 bytes as a GUID, age 0."""
    d1, d2, d3 = struct.unpack_from("<IHH", build_id)
    return f"{d1:08X}{d2:04X}{d3:04X}{build_id[8:16].hex().upper()}0"


# -- the store ---------------------------------------------------------------------------------


def build_store(root: Path, scale: float) -> list[tuple[int, int, int]]:
    """The store under ``root/store`` (reused when complete); returns xul's FUNC layout."""
    store = root / "store"
    layout_file = root / "xul-layout.json"
    if (root / ".built").exists():
        return [tuple(f) for f in json.loads(layout_file.read_text(encoding="utf-8"))]
    shutil.rmtree(root, ignore_errors=True)
    xul = store / XUL_NAME / debug_id(XUL_BUILD_ID) / f"{XUL_NAME}.sym"
    xul.parent.mkdir(parents=True)
    layout: list[tuple[int, int, int]] = []
    started = time.perf_counter()
    bench_symbols.generate(xul, int(FULL_SIZE * scale), layout=layout)
    print(
        f"generated {xul.stat().st_size / 1e6:.0f} MB {XUL_NAME}.sym "
        f"({len(layout)} functions) in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    for index in range(1, MODULES):
        name = f"libmod{index}.so"
        sym = store / name / debug_id(small_build_id(index)) / f"{name}.sym"
        sym.parent.mkdir(parents=True)
        sym.write_text(small_sym(name, small_build_id(index)), encoding="utf-8")
    layout_file.write_text(json.dumps(layout), encoding="utf-8")
    (root / ".built").touch()
    return layout


def small_build_id(index: int) -> bytes:
    return struct.pack("<I", index) + bytes(range(1, 13))


def small_sym(name: str, build_id: bytes) -> str:
    lines = [f"MODULE Linux x86_64 {debug_id(build_id)} {name}", f"FILE 0 /src/{name}.c"]
    for n in range(SMALL_FUNCS):
        address = 0x1000 + n * SMALL_FUNC_SIZE
        lines.append(f"FUNC {address:x} {SMALL_FUNC_SIZE:x} 0 {name}_function_{n}")
        lines.append(f"{address:x} {SMALL_FUNC_SIZE:x} {10 + n} 0")
        lines.append(
            f"STACK CFI INIT {address:x} {SMALL_FUNC_SIZE:x} .cfa: $rsp 8 + .ra: .cfa -8 + ^"
        )
    return "\n".join(lines) + "\n"


# -- the dumps ---------------------------------------------------------------------------------


def build_dump(layout: list[tuple[int, int, int]], seed: int) -> tuple[bytes, int]:
    """A Firefox-shaped dump (and its frame count) whose stacks unwind through the CFI."""
    rnd = random.Random(seed)
    builder = DumpBuilder("amd64", "linux", cpu_count=8)
    xul_size = layout[-1][0] + layout[-1][1] + 0x1000
    builder.add_module(XUL_BASE, xul_size, f"/usr/lib/firefox/{XUL_NAME}", build_id=XUL_BUILD_ID)
    for index in range(1, MODULES):
        builder.add_module(
            SMALL_BASE + index * 0x100000,
            0x1000 + SMALL_FUNCS * SMALL_FUNC_SIZE,
            f"/usr/lib/firefox/libmod{index}.so",
            build_id=small_build_id(index),
        )
    frames_total = 0
    for thread in range(THREADS):
        depth = rnd.randint(*DEPTH)
        frames = []  # (pc, frame size: the CFA's offset from the frame's rsp)
        for _ in range(depth):
            if rnd.random() < 0.9:
                start, _size, rows = layout[rnd.randrange(len(layout))]
                # Past the last CFI row, so the pc and pc - 1 (a caller's lookup) agree.
                frames.append((XUL_BASE + start + rows + 1, 16 + 8 * (rows - 1)))
            else:
                module = rnd.randrange(1, MODULES)
                function = rnd.randrange(SMALL_FUNCS)
                pc = SMALL_BASE + module * 0x100000 + 0x1000 + function * SMALL_FUNC_SIZE + 0x10
                frames.append((pc, 8))
        stack = bytearray(sum(size for _, size in frames) + 64)
        offset = 0
        for position, (_pc, size) in enumerate(frames):
            caller = frames[position + 1][0] if position + 1 < len(frames) else 0
            struct.pack_into("<Q", stack, offset + size - 8, caller)  # .ra: .cfa -8 + ^
            if size >= 16:
                struct.pack_into("<Q", stack, offset + size - 16, STACK_BASE)  # $rbp: .cfa -16
            offset += size
        base = STACK_BASE + thread * 0x100000
        regs = {"rip": frames[0][0], "rsp": base, "rbp": base + 0x80000}
        builder.add_thread(1000 + thread, regs, stack=(base, bytes(stack)))
        frames_total += depth
    builder.set_exception(1000, code=11, address=0)
    return builder.build(), frames_total


def write_crashes(target: Path, layout: list[tuple[int, int, int]], count: int) -> list[Path]:
    dirs = []
    for index in range(count):
        directory = target / f"crash-{index:03d}"
        directory.mkdir(parents=True)
        dump, _ = build_dump(layout, seed=index)
        (directory / "upload_file_minidump").write_bytes(dump)
        raw = {
            "uuid": str(uuid.UUID(int=random.Random(index).getrandbits(128)))[:-7] + "2260101",
            "submitted_timestamp": "2026-01-01T12:00:00+00:00",
            "ProductName": "Firefox",
            "Version": "140.0",
            "ReleaseChannel": "release",
            "BuildID": "20260101000000",
        }
        (directory / "raw_crash.json").write_text(json.dumps(raw), encoding="utf-8")
        dirs.append(directory)
    return dirs


# -- measuring processes -----------------------------------------------------------------------


@dataclass
class Peaks:
    """Highest RSS seen per process (sampled from /proc), split into private and file pages."""

    rss: dict[int, int] = field(default_factory=dict)
    anon: dict[int, int] = field(default_factory=dict)
    file: dict[int, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    def sample(self, pid: int) -> None:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return
        fields = {}
        for line in status.splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) * 1024
        for key, table in (("VmRSS", self.rss), ("RssAnon", self.anon), ("RssFile", self.file)):
            if key in fields:
                table[pid] = max(table.get(pid, 0), fields[key])
        if cmdline[0]:  # a spawned process shows its parent's command line until its exec
            self.names[pid] = b" ".join(cmdline).decode(errors="replace")


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(child) for child in children)
    return found


def run_sampled(argv: list[str], env: dict[str, str]) -> tuple[float, Peaks, str]:
    """Run a command, sampling the RSS of it and its children; (seconds, peaks, stderr)."""
    peaks = Peaks()
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
    reader.start()
    while proc.poll() is None:
        for pid in descendants(proc.pid):
            peaks.sample(pid)
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    reader.join()
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv[:4])} failed ({proc.returncode}):\n{''.join(errors)[-3000:]}"
        )
    return seconds, peaks, "".join(errors)


def peer_once(peer: Path, store: Path, dump: Path) -> tuple[float, int, dict]:
    """One Socorro-style minidump-stackwalk run: seconds, peak RSS (bytes), its JSON."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(peer), "--json", "--verbose=error", "--symbols-path", str(store), str(dump)],
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"minidump-stackwalk failed with {proc.returncode}")
        out.seek(0)
        return seconds, usage.ru_maxrss * 1024, json.loads(out.read())


def frames_in(document: dict) -> int:
    return sum(len(thread.get("frames", [])) for thread in document.get("threads", []))


def our_walk_frames(dump: Path, store: Path, cache: Path) -> int:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stackwalk.cli",
            str(dump),
            str(store),
            "--symbols-cache",
            str(cache),
            "--json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return frames_in(json.loads(proc.stdout))


@dataclass
class Timeline:
    """When each crash's ruleset started and completed (the processed crashes' own fields)."""

    spans: list[tuple[float, float]]

    @classmethod
    def read(cls, storage: Path) -> Timeline:
        spans = []
        for path in (storage / "v1" / "processed_crash").rglob("*"):
            if path.is_file():
                crash = json.loads(path.read_text(encoding="utf-8"))
                spans.append(
                    (
                        datetime.fromisoformat(crash["started_datetime"]).timestamp(),
                        datetime.fromisoformat(crash["completed_datetime"]).timestamp(),
                    )
                )
        return cls(sorted(spans, key=lambda span: span[1]))

    def steady_rate(self, workers: int) -> float:
        """Crashes/s after every worker finished its first crash (start-up excluded)."""
        done = [end for _, end in self.spans]
        first = done[min(workers, len(done)) - 1]
        return (len(done) - workers) / max(done[-1] - first, 1e-9)

    def median_seconds(self) -> float:
        durations = sorted(end - start for start, end in self.spans)
        return durations[len(durations) // 2]


def daemon_run(
    site: Path, dirs: list[Path], workers: int, env: dict[str, str]
) -> tuple[float, Peaks, float]:
    """Submit ``dirs`` to a fresh site, then time ``daemon --once`` over them; (seconds,
    peaks, the rulesets' share of the workers' CPU time, from each worker's usage line)."""
    shutil.rmtree(site, ignore_errors=True)
    site_env = env | {
        "CRASHPROC_STORAGE": str(site / "crashes"),
        "CRASHPROC_QUEUE": f"sqlite:{site / 'queue.sqlite'}",
    }
    subprocess.run(
        [sys.executable, "-m", "processor", "submit", *map(str, dirs)],
        env=site_env, cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip
    argv = [sys.executable, "-m", "processor", "daemon", "--once", "--workers", str(workers)]
    seconds, peaks, stderr = run_sampled(argv, site_env)
    if f"processed {len(dirs)}, already done 0, failed 0" not in stderr:
        raise SystemExit(f"the daemon did not process every crash:\n{stderr[-2000:]}")
    usage = [tuple(map(float, m.groups())) for m in re.finditer(USAGE_PATTERN, stderr)]
    if len(usage) != workers:
        raise SystemExit(f"expected one usage line per worker:\n{stderr[-2000:]}")
    share = sum(u[2] for u in usage) / sum(u[1] for u in usage)
    return seconds, peaks, share


def workers_of(peaks: Peaks) -> list[int]:
    """The worker processes (spawned by multiprocessing; not its resource tracker)."""
    return sorted(
        pid
        for pid, name in peaks.names.items()
        if "spawn_main" in name or "multiprocessing.spawn" in name
    )


MB = 1 << 20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1, help="xul.sym size / 600 MB")
    parser.add_argument("--crashes", type=int, default=12, help="crashes per steady-state run")
    parser.add_argument("--peer-runs", type=int, default=3, help="peer processes timed")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--clean", action="store_true", help="delete the generated store after")
    args = parser.parse_args(argv)

    data = REPO / ".cache" / "bench-production" / f"scale-{args.scale:g}"
    layout = build_store(data, args.scale)
    store = data / "store"
    xul = next(store.glob(f"{XUL_NAME}/*/{XUL_NAME}.sym"))
    peer = Path(
        subprocess.run(
            ["bash", str(PEER), str(REPO / ".cache" / "peers")],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
    )
    peer = (REPO / peer).resolve() if not peer.is_absolute() else peer

    with tempfile.TemporaryDirectory(prefix="bench-production-") as tmp:
        work = Path(tmp)
        dirs = write_crashes(work / "crashes", layout, args.crashes + 1)
        _, frames = build_dump(layout, seed=0)
        print(
            f"xul.sym {xul.stat().st_size / 1e6:.0f} MB (kept in {data.relative_to(REPO)}); "
            f"{THREADS} threads, {MODULES} modules, ~{frames} frames per dump; "
            f"{len(dirs)} crashes; {os.cpu_count()} CPUs",
            flush=True,
        )

        # The peer, as Socorro runs it.
        peer_runs = [
            peer_once(peer, store, dirs[i % len(dirs)] / "upload_file_minidump")
            for i in range(args.peer_runs)
        ]
        peer_seconds = sorted(r[0] for r in peer_runs)[len(peer_runs) // 2]
        peer_peak = max(r[1] for r in peer_runs)
        peer_frames = frames_in(peer_runs[0][2])
        ours_frames = our_walk_frames(dirs[0] / "upload_file_minidump", store, work / "check-cache")
        shutil.rmtree(work / "check-cache", ignore_errors=True)
        print(
            f"peer minidump-stackwalk: {peer_seconds:.2f} s per crash (median of {len(peer_runs)}), peak RSS {peer_peak / MB:.0f} MB, {peer_frames} frames; ours walks {ours_frames} frames",
            flush=True,
        )

        env = dict(os.environ) | {
            "CRASHPROC_STACKWALKER": "builtin",
            "CRASHPROC_SYMBOLS_PATH": str(store),
            "CRASHPROC_SYMBOLS_CACHE": str(work / "symbols-cache"),
            "CRASHPROC_DAEMON_LOG_INTERVAL": "3600",
        }
        cold_seconds, cold_peaks, _ = daemon_run(work / "site-cold", dirs[:1], 1, env)
        cache_files = list((work / "symbols-cache").rglob("*.cpsym"))
        cache_mb = sum(f.stat().st_size for f in cache_files) / MB
        cold_peak = max(cold_peaks.rss.values())
        print(
            f"ours, first crash (cold, xul.sym converted into the cache, start-up included): {cold_seconds:.2f} s, peak RSS {cold_peak / MB:.0f} MB; cache {cache_mb:.0f} MB in {len(cache_files)} files",
            flush=True,
        )

        results = []
        for workers in [int(n) for n in args.workers.split(",") if n.strip()]:
            all_seconds, peaks, share = daemon_run(work / "site", dirs[1:], workers, env)
            timeline = Timeline.read(work / "site" / "crashes")
            rate = timeline.steady_rate(workers)
            one_seconds = timeline.median_seconds()
            pids = workers_of(peaks)
            results.append((workers, one_seconds, all_seconds, rate, peaks, pids, share))
            per_worker = [
                f"{peaks.rss[p] / MB:.0f} MB (private {peaks.anon.get(p, 0) / MB:.0f}, file {peaks.file.get(p, 0) / MB:.0f})"
                for p in pids
            ]
            print(
                f"ours, {workers} worker(s): {all_seconds:.1f} s for {len(dirs) - 1} crashes (start-up included), ruleset {one_seconds:.2f} s per crash (median), {share:.1%} of the workers' CPU time (start-up included); steady state {rate:.2f} crashes/s, {rate / workers:.2f} per worker; peak RSS per process: {', '.join(per_worker)}",
                flush=True,
            )

    base_rate = results[0][3]
    summary = {
        "scale": args.scale,
        "xul_sym_mb": xul.stat().st_size / 1e6,
        "frames_per_dump": frames,
        "peer": {
            "seconds_per_crash": peer_seconds,
            "peak_rss_mb": peer_peak / MB,
            "frames": peer_frames,
        },
        "ours_frames": ours_frames,
        "cold": {"seconds": cold_seconds, "peak_rss_mb": cold_peak / MB, "cache_mb": cache_mb},
        "steady": [
            {
                "workers": w,
                "crashes_per_second": rate,
                "per_worker": rate / w,
                "seconds_per_crash_per_worker": w / rate,
                "worker_peak_rss_mb": [peaks.rss[p] / MB for p in pids],
                "worker_private_mb": [peaks.anon.get(p, 0) / MB for p in pids],
                "worker_file_mb": [peaks.file.get(p, 0) / MB for p in pids],
                "rulesets_cpu_share": share,
            }
            for w, _one, _all, rate, peaks, pids, share in results
        ],
    }
    print()
    print(f"{'':34}{'seconds/crash':>14}{'peak RSS MB':>13}{'vs peer':>10}")
    print(f"{'peer minidump-stackwalk':34}{peer_seconds:14.2f}{peer_peak / MB:13.0f}{'1.00x':>10}")
    print(
        f"{'ours, first crash (cold)':34}{cold_seconds:14.2f}{cold_peak / MB:13.0f}{peer_seconds / cold_seconds:9.2f}x"
    )
    for w, _one, _all, rate, peaks, pids, _share in results:
        per_crash = w / rate
        peak = max(peaks.rss[p] for p in pids)
        print(
            f"{f'ours, steady, {w} worker(s), per worker':34}{per_crash:14.2f}{peak / MB:13.0f}{peer_seconds / per_crash:9.2f}x"
        )
    print(f"scaling 1 -> {results[-1][0]} workers: {results[-1][3] / base_rate:.2f}x")
    print(json.dumps(summary))
    if args.clean:
        shutil.rmtree(data)
        print(f"deleted {data}")
    return 0 if peer_frames == ours_frames else 1


if __name__ == "__main__":
    raise SystemExit(main())
