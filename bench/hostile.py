"""Hostile input and failing neighbours (issue 18): the worst cases, before and after the fixes.

Usage: ``make bench-hostile`` or ``.venv/bin/python bench/hostile.py [--before REV]``.

Each case runs the real command (``crashproc process``, ``submit``, ``daemon``) in a fresh
interpreter, twice: with this checkout's code ("after") and with the code of ``--before``
("before", by default the commit before this work's first fix, extracted with ``git
archive`` and put first on PYTHONPATH). Per run: wall-clock time, the child's peak resident
memory (``wait4``'s ru_maxrss) and what came out. "Before" runs are bounded so the benchmark
cannot hurt the machine: an address-space cap (a raw crash read until MemoryError stops at
the cap instead of at 3.7 GB) and a time cap (a read that hangs, a shutdown that waits on a
silent symbols server). A run that hits a cap is shown as such; the ratio is then a lower
bound.

The stackwalker-caps case (a 4.8 MB dump claiming 100,000 threads that share one stack,
processed with the built-in walker) runs this checkout both times: "before" with every
``stackwalker.max_*`` cap at 0 (no cap: what the walker did before the caps existed),
"after" with the defaults; its memory cap is raised so the uncapped run's real peak shows.
Its outcome is the size of the processed crash written; a second case walks the same dump
with the ``stackwalk`` command alone (cap flags at 0 for "before"), the walker's own cost.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
REPO = HERE.parent
SAMPLE = REPO / "examples" / "crashes" / "no-debug-id"
# The first file this work added: the commit before the one adding it is "before".
FIRST_FIX_FILE = "processor/service/reconcile.py"
MEMORY_CAP = 1 << 30  # address space of one run, bytes
TIME_CAP = 90.0
MiB = 1024 * 1024


@dataclass
class Run:
    seconds: float
    peak_mib: float
    status: int | None  # exit status (negative: signal); None: killed at the time cap
    stdout: str
    stderr: str
    started: float = 0.0  # monotonic

    @property
    def timed_out(self) -> bool:
        return self.status is None


@dataclass
class Code:
    label: str
    pythonpath: str


def git(*argv: str) -> str:
    return subprocess.run(
        ["git", *argv], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def default_before() -> str:
    added = git("log", "--diff-filter=A", "--format=%H", "--", FIRST_FIX_FILE).splitlines()
    if not added:
        raise SystemExit(f"cannot find the commit adding {FIRST_FIX_FILE}: give --before REV")
    return f"{added[-1]}^"


def extract(rev: str, target: Path) -> Path:
    """The tree of ``rev`` in ``target`` (code only: what PYTHONPATH needs)."""
    archive = subprocess.run(
        [
            "git",
            "archive",
            "--format=tar",
            rev,
            "crashproc",
            "processor",
            "schemas",
            "signature",
            "symbols",
            "stackwalk",
        ],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    target.mkdir(parents=True)
    tar_path = target / "code.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(target, filter="data")
    tar_path.unlink()
    return target


def measure(
    argv: list[str],
    code: Code,
    env: dict[str, str],
    cwd: Path,
    time_cap: float = TIME_CAP,
    during: Callable[[subprocess.Popen], None] | None = None,
    memory_cap: int = MEMORY_CAP,
    module: str = "processor",
) -> Run:
    """Run ``python -m MODULE ARGV`` (``processor``: the crashproc command) with ``code``
    under the caps; ``during`` acts on the running process (and may end it)."""
    full_env = {**os.environ, **env, "PYTHONPATH": code.pythonpath}

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_cap, memory_cap))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", module, *argv],
            env=full_env,
            cwd=cwd,
            stdout=out,
            stderr=err,
            preexec_fn=limits,
            start_new_session=True,
        )
        if during is not None:
            during(process)
        status: int | None = None
        usage = None
        deadline = started + time_cap
        while True:
            pid, raw, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                status = os.waitstatus_to_exitcode(raw)
                break
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                _, raw, usage = os.wait4(process.pid, 0)
                status = None
                break
            time.sleep(0.02)
        seconds = time.monotonic() - started
        process.returncode = status if status is not None else -9  # reaped by wait4
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # leftovers of the group
        out.seek(0)
        err.seek(0)
        return Run(
            seconds,
            usage.ru_maxrss / 1024.0,
            status,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            started,
        )


# -- the cases --------------------------------------------------------------------------------


def raw_crash_dir(parent: Path, name: str, text: str | None = None) -> Path:
    directory = parent / name
    directory.mkdir(parents=True)
    if text is not None:
        (directory / "raw_crash.json").write_text(text)
    return directory


def plain_raw(index: int) -> str:
    return json.dumps({"ProductName": "Firefox", "Version": f"1.0.{index}"})


def storage_env(root: Path) -> dict[str, str]:
    return {
        "CRASHPROC_STORAGE": str(root / "crashes"),
        "CRASHPROC_QUEUE": f"sqlite:{root / 'queue.sqlite'}",
        "CRASHPROC_STACKWALKER": "none",
        "CRASHPROC_SCRATCH_DIR": str(root / "scratch"),
    }


def stored_bytes(root: Path) -> int:
    crashes = root / "crashes"
    return sum(p.stat().st_size for p in crashes.rglob("*") if p.is_file()) if crashes else 0


def case_dev_zero(code: Code, work: Path) -> tuple[Run, str]:
    directory = raw_crash_dir(work, "zero")
    (directory / "raw_crash.json").symlink_to("/dev/zero")
    good = raw_crash_dir(work, "good", plain_raw(0))
    run = measure(["process", str(directory), str(good)], code, storage_env(work), work)
    if "MemoryError" in run.stderr:
        outcome = "MemoryError at the cap; batch lost"
    else:
        done = len(run.stdout.splitlines())
        outcome = f"refused; {done} of 1 other crash processed"
    return run, outcome


def case_named_pipe(code: Code, work: Path) -> tuple[Run, str]:
    directory = raw_crash_dir(work, "fifo")
    os.mkfifo(directory / "raw_crash.json")
    good = raw_crash_dir(work, "good", plain_raw(0))
    run = measure(
        ["process", str(directory), str(good)], code, storage_env(work), work, time_cap=10.0
    )
    if run.timed_out:
        return run, "hung (killed at the 10 s cap)"
    return run, f"refused; {len(run.stdout.splitlines())} of 1 other crash processed"


def case_sparse_dump(code: Code, work: Path) -> tuple[Run, str]:
    directory = raw_crash_dir(work, "huge", plain_raw(0))
    with open(directory / "upload_file_minidump", "wb") as fp:
        fp.truncate(512 * MiB)
    run = measure(["submit", str(directory)], code, storage_env(work), work)
    return run, f"{stored_bytes(work) / MiB:.0f} MiB stored"


def case_linked_dump(code: Code, work: Path) -> tuple[Run, str]:
    secret = work / "secret"
    secret.write_text("root:x:0:0:a secret outside the crash directory\n")
    directory = raw_crash_dir(work, "linked", plain_raw(0))
    (directory / "upload_file_minidump").symlink_to(secret)
    run = measure(["submit", str(directory)], code, storage_env(work), work)
    leaked = any(
        b"root:x:0:0" in p.read_bytes() for p in (work / "crashes").rglob("*") if p.is_file()
    )
    return run, "the secret was copied into storage" if leaked else "nothing outside was read"


def case_lone_surrogate(code: Code, work: Path) -> tuple[Run, str]:
    dirs = [raw_crash_dir(work, f"c{i}", plain_raw(i)) for i in range(10)]
    (dirs[3] / "raw_crash.json").write_text('{"ProductName":"Firefox","Notes":"\\ud800"}')
    run = measure(["submit", *map(str, dirs)], code, storage_env(work), work)
    queued = len(run.stdout.split())
    stored = len(list((work / "crashes" / "v1" / "raw_crash").glob("*/*")))
    tail = "; traceback" if "Traceback" in run.stderr else ""
    return run, f"{queued} of 10 queued, {stored} stored{tail}"


class Silent(BaseHTTPRequestHandler):
    """A symbols server that accepts every request and never answers."""

    release = threading.Event()

    def do_GET(self) -> None:
        Silent.release.wait(TIME_CAP + 30)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def silent_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Handler(Silent):
        def do_GET(self) -> None:
            hits.append(self.path)
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", hits
    finally:
        Silent.release.set()
        server.shutdown()
        server.server_close()
        Silent.release.clear()


def case_sigterm(code: Code, work: Path) -> tuple[Run, str]:
    """SIGTERM to a daemon whose worker waits on a silent symbols server, default timeouts."""
    directory = work / "incoming" / "no-debug-id"
    directory.mkdir(parents=True)
    shutil.copyfile(SAMPLE / "upload_file_minidump", directory / "upload_file_minidump")
    raw_crash = json.loads((SAMPLE / "raw_crash.json").read_text())
    raw_crash["uuid"] = str(uuid.uuid4())[:-7] + "0260918"
    (directory / "raw_crash.json").write_text(json.dumps(raw_crash))
    env = {**storage_env(work), "CRASHPROC_STACKWALKER": "builtin", "CRASHPROC_WORKERS": "1"}
    submitted = measure(["submit", str(directory)], code, env, work)
    if submitted.status != 0:
        raise SystemExit(f"submit failed:\n{submitted.stderr}")
    with silent_server() as (url, hits):
        env.update({"CRASHPROC_SYMBOLS_URL": url, "CRASHPROC_SYMBOLS_CACHE": str(work / "sc")})
        stop_sent: list[float] = []

        def stop_when_waiting(process: subprocess.Popen) -> None:
            deadline = time.monotonic() + 60
            while not hits and time.monotonic() < deadline:
                time.sleep(0.05)
            stop_sent.append(time.monotonic())
            process.send_signal(signal.SIGTERM)

        run = measure(["daemon"], code, env, work, during=stop_when_waiting)
    # Time from the SIGTERM to the exit, not from the start.
    run.seconds = run.started + run.seconds - stop_sent[0]
    return run, "exited" if not run.timed_out else f"still running at the {TIME_CAP:g} s cap"


STACKWALKER_CAPS = (
    "CRASHPROC_STACKWALKER_MAX_THREADS",
    "CRASHPROC_STACKWALKER_MAX_FRAMES_PER_THREAD",
    "CRASHPROC_STACKWALKER_MAX_TOTAL_FRAMES",
    "CRASHPROC_STACKWALKER_MAX_JSON_SIZE",
)


def many_threads_dump(path: Path) -> Path:
    """The 4.8 MB dump claiming 100,000 threads that share one stack, at ``path``."""
    sys.path.insert(0, str(REPO))
    from stackwalk.testing import shared_stack_dump

    path.write_bytes(shared_stack_dump(100_000, 8, crashing=99_001))
    return path


def case_many_threads_walk(code: Code, work: Path) -> tuple[Run, str]:
    """The same dump through the `stackwalk` command alone (--json): the walker's own cost,
    "before" with every cap flag at 0."""
    dump = many_threads_dump(work / "threads.dmp")
    caps = ["--max-threads", "--max-frames-per-thread", "--max-total-frames", "--max-json-size"]
    off = [arg for flag in caps for arg in (flag, "0")] if code.label.startswith("before") else []
    out = work / "out.json"
    run = measure(
        ["--json", *off, "--output-file", str(out), str(dump)],
        Code(code.label, str(REPO)),
        {},
        work,
        time_cap=300.0,
        memory_cap=8 << 30,
        module="stackwalk.cli",
    )
    if run.timed_out or run.status != 0:
        return run, f"no output (status {run.status})"
    return run, f"{out.stat().st_size / MiB:.1f} MiB of JSON"


def case_many_threads(code: Code, work: Path) -> tuple[Run, str]:
    """100,000 threads sharing one stack, `process` with the built-in walker: this checkout
    both times, "before" with the caps off (see the module docstring)."""
    directory = raw_crash_dir(work, "threads", plain_raw(0))
    many_threads_dump(directory / "upload_file_minidump")
    env = {**storage_env(work), "CRASHPROC_STACKWALKER": "builtin"}
    if code.label.startswith("before"):
        env.update(dict.fromkeys(STACKWALKER_CAPS, "0"))
    out = work / "out"
    run = measure(
        ["process", "--out", str(out), str(directory)],
        Code(code.label, str(REPO)),
        env,
        work,
        time_cap=300.0,
        memory_cap=8 << 30,
    )
    written = sum(p.stat().st_size for p in out.glob("*.json")) if out.exists() else 0
    if run.timed_out or run.status != 0:
        return run, f"no processed crash (status {run.status})"
    return run, f"{written / MiB:.1f} MiB processed crash"


CASES: list[tuple[str, Callable[[Code, Path], tuple[Run, str]]]] = [
    ("raw_crash.json -> /dev/zero (process)", case_dev_zero),
    ("raw_crash.json is a named pipe (process)", case_named_pipe),
    ("512 MiB sparse dump (submit)", case_sparse_dump),
    ("dump linked to a file outside (submit)", case_linked_dump),
    ("lone surrogate in 1 of 10 crashes (submit)", case_lone_surrogate),
    ("SIGTERM, symbols server silent (daemon)", case_sigterm),
    ("100,000 threads, one stack (stackwalk --json)", case_many_threads_walk),
    ("100,000 threads, one stack (process)", case_many_threads),
]


def shown(run: Run) -> str:
    seconds = f">{run.seconds:.1f}" if run.timed_out else f"{run.seconds:.1f}"
    return f"{seconds} s, {run.peak_mib:.0f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--before",
        help="the revision measured as 'before' (default: the "
        f"commit before the one adding {FIRST_FIX_FILE})",
    )
    parser.add_argument("--only", help="run the cases whose name contains this text")
    args = parser.parse_args()
    before_rev = args.before or default_before()
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        tmp_path = Path(tmp)
        before = Code(
            f"before ({git('rev-parse', '--short', before_rev)})",
            str(extract(before_rev, tmp_path / "before-code")),
        )
        after = Code("after (this checkout)", str(REPO))
        print(
            f"before: {before.label}; after: {after.label}; caps: {MEMORY_CAP >> 20} MiB of "
            f"address space, {TIME_CAP:g} s per run"
        )
        print(
            f"{'case':44} {'before':>18} {'after':>18} {'time ratio':>10}  outcome before -> after"
        )
        for name, case in CASES:
            if args.only and args.only not in name:
                continue
            results = []
            for code in (before, after):
                work = tmp_path / f"{case.__name__}-{len(results)}"
                work.mkdir()
                results.append(case(code, work))
            (old, old_outcome), (new, new_outcome) = results
            ratio = old.seconds / max(new.seconds, 1e-3)
            bound = ">" if old.timed_out or "cap" in old_outcome else ""
            print(
                f"{name:44} {shown(old):>18} {shown(new):>18} {bound + f'{ratio:.1f}x':>10}  "
                f"{old_outcome} -> {new_outcome}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
