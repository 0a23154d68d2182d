"""Servers and "hosts" for the multi-host test (its fixtures are in conftest.py): one
redis-server, one S3-compatible server (moto's, in a process of its own) and one PostgreSQL,
all real and on 127.0.0.1, shared by daemons that each play a machine. bench/scaling.py makes
its crashes here too.

A host is a working directory of its own (its ./var, scratch directory, symbols cache and the
record of crashes whose index rows it owes) and a host name (``processor.hostname``, what the
processing notes say); its daemon runs as a process group of its own, so killing the group is
the machine dying.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.daemonprocess import DaemonProcess
from tests.daemonprocess import wait_for as wait_daemon_condition
from tests.postgresserver import PostgresServer, free_port
from tests.s3credentials import AWS_ENV

REPO = Path(__file__).resolve().parents[2]
BUCKET = "crashes"
# Modules the synthetic stacks are made of: every crash has libtest.so and one of these, and
# one module without symbols, so each crash has rows in every table of the index.
MODULES = [f"mod{n}.so" for n in range(7)]


def load_redisserver():
    """tests/processor/queues/redisserver.py (test directories are not packages)."""
    name = "crashproc_tests_redisserver"
    if name not in sys.modules:
        path = REPO / "tests" / "processor" / "queues" / "redisserver.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def stackwalker_output(index: int) -> dict:
    """A small stackwalker output, stored beside the crash's dump (stackwalker mode none)."""
    frames = [
        {"frame": 0, "function": f"crashproc_test::Boom{index % 5}", "module": "libtest.so"},
        {"frame": 1, "function": "run", "module": MODULES[index % len(MODULES)]},
        {"frame": 2, "function": "main", "module": "libtest.so"},
    ]
    for frame in frames:
        frame.update(module_offset="0x10", offset="0x1010", trust="context")
        frame["missing_symbols"] = False
    modules = [
        {"filename": "libtest.so", "debug_file": "libtest.so", "loaded_symbols": True},
        {"filename": MODULES[index % len(MODULES)], "loaded_symbols": True},
        {
            "filename": "libnosyms.so",
            "debug_file": "libnosyms.so",
            "debug_id": f"{index % 3:033X}",
            "missing_symbols": True,
        },
    ]
    return {
        "status": "OK",
        "crash_info": {"type": "SIGSEGV /SEGV_MAPERR", "address": "0x0", "crashing_thread": 0},
        "crashing_thread": {"threads_index": 0, "frames": frames},
        "threads": [{"frame_count": len(frames), "frames": frames}],
        "modules": modules,
        "system_info": {"os": "Linux", "cpu_arch": "amd64", "cpu_count": 2},
    }


def make_crash_id() -> str:
    """A fresh crash id dated 2026-12-01."""
    return str(uuid.uuid4())[:-7] + "0261201"


def make_crashes(parent: Path, count: int, dump_every: int = 1) -> dict[str, int]:
    """``count`` small crash directories: a raw crash, and for every ``dump_every``-th one a
    tiny dump with its stored stackwalker output (4 S3 writes to submit instead of 2);
    returns crash id -> index."""
    crashes = {}
    for index in range(count):
        crash_id = make_crash_id()
        directory = parent / f"crash-{index:04d}"
        directory.mkdir(parents=True)
        raw_crash = {
            "uuid": crash_id,
            "ProductName": "Firefox",
            "Version": f"1.0.{index}",
            "submitted_timestamp": "2026-12-01T00:00:00+00:00",
        }
        (directory / "raw_crash.json").write_text(json.dumps(raw_crash))
        if index % dump_every == 0:
            (directory / "upload_file_minidump").write_bytes(b"MDMP" + bytes(28))
            output = json.dumps(stackwalker_output(index))
            (directory / "upload_file_minidump.json").write_text(output)
        crashes[crash_id] = index
    return crashes


class S3Server:
    """moto's S3-compatible server in a process of its own (the test process stays free to
    read the results while the hosts write)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> S3Server:
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"moto did not start: {self.log.read_text()}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


@dataclass
class Servers:
    redis: object
    s3_endpoint: str
    postgres: PostgresServer
    index_url: str

    @property
    def storage_url(self) -> str:
        return f"s3://{BUCKET}/site"

    def s3(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.s3_endpoint)


@dataclass
class Host:
    """One machine: its own directory and name, the shared servers."""

    name: str
    root: Path
    servers: Servers
    daemons: list[DaemonProcess] = field(default_factory=list)

    @property
    def owed_dir(self) -> Path:
        return self.root / "var" / "report-index-owed"

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CRASHPROC_", "AWS_"))}
        env.update(AWS_ENV)
        env.update(
            {
                "PYTHONPATH": str(REPO),
                "CRASHPROC_HOSTNAME": self.name,
                "CRASHPROC_STORAGE": self.servers.storage_url,
                "CRASHPROC_S3_ENDPOINT_URL": self.servers.s3_endpoint,
                "CRASHPROC_QUEUE": self.servers.redis.url,
                "CRASHPROC_REPORT_INDEX": self.servers.index_url,
                # Relative to the host's directory, as a daemon's ./var is on its machine.
                "CRASHPROC_REPORT_OWED": "var/report-index-owed",
                "CRASHPROC_SCRATCH_DIR": str(self.root / "scratch"),
                "CRASHPROC_SYMBOLS_CACHE": str(self.root / "symbols-cache"),
                "CRASHPROC_STACKWALKER": "none",
                "CRASHPROC_WORKERS": "2",
                "CRASHPROC_QUEUE_LEASE": "10",
                "CRASHPROC_QUEUE_RETRY_DELAY": "0.2",
                "CRASHPROC_DAEMON_LOG_INTERVAL": "1",
                "CRASHPROC_DAEMON_SHUTDOWN_GRACE": "5",
            }
        )
        env.update(overrides)
        return env

    def popen(self, *argv: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "processor", *argv],
            env=self.env(),
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def start_daemon(self, *flags: str, **env: str) -> DaemonProcess:
        log = self.root / f"daemon-{len(self.daemons)}.log"
        with open(log, "w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "processor", "daemon", *flags],
                env=self.env(**env),
                cwd=self.root,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # its own process group: the machine can die whole
            )
        daemon = DaemonProcess(process, log)
        self.daemons.append(daemon)
        return daemon


def wait_for(condition: Callable[[], object], timeout: float = 90.0, what: str = "") -> object:
    """tests.daemonprocess.wait_for with room for two hosts sharing two cores."""
    return wait_daemon_condition(condition, timeout=timeout, what=what)
