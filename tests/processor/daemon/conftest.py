"""Helpers for the daemon tests: synthetic crash directories, a test rule, daemon processes.

The test rule (written to a temporary module and loaded through CRASHPROC_EXTRA_RULES) lets a
crash's raw data decide how its processing misbehaves: sleep a little (so a test can act while
the daemon is busy), hang, or kill its worker with SIGSEGV as a native crash would.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.daemonprocess import DaemonProcess, wait_for

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "examples" / "crashes"
STORED_OUTPUT = Path(__file__).with_name("data") / "upload_file_minidump.json"
STORED_SIGNATURE = "crashproc_test::Boom"

TEST_RULE = '''
import os
import resource
import signal
import time

from processor.rules.base import Rule


class MisbehaveRule(Rule):
    """Sleeps for the raw crash's SleepSeconds; Poison=segfault kills the process, =hang hangs."""

    def action(self, raw_crash, dumps, processed_crash, tmpdir, status):
        time.sleep(float(raw_crash.get("SleepSeconds", 0)))
        poison = raw_crash.get("Poison")
        if poison == "segfault":
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file
            os.kill(os.getpid(), signal.SIGSEGV)
        elif poison == "hang":
            time.sleep(3600)
'''


def make_crash_dir(parent: Path, index: int, **annotations: object) -> tuple[Path, str]:
    """A small crash directory (raw crash only) with a fresh crash id dated 2026-09-18."""
    crash_id = str(uuid.uuid4())[:-7] + "0260918"
    directory = parent / f"crash-{index:04d}"
    directory.mkdir(parents=True)
    raw_crash = {
        "uuid": crash_id,
        "ProductName": "Firefox",
        "Version": f"1.0.{index}",
        "submitted_timestamp": "2026-09-18T00:00:00+00:00",
        **annotations,
    }
    (directory / "raw_crash.json").write_text(json.dumps(raw_crash))
    return directory, crash_id


@pytest.fixture
def sample_dir(tmp_path) -> Callable[[str], Path]:
    """A copy of an example crash with the test's stored stackwalker output beside its dump,
    so processing without a stackwalker still has a stack (signature STORED_SIGNATURE)."""

    def copy(name: str) -> Path:
        target = tmp_path / "samples" / name
        shutil.copytree(SAMPLES / name, target)
        shutil.copyfile(STORED_OUTPUT, target / "upload_file_minidump.json")
        return target

    return copy


@dataclass
class Site:
    """A storage and a queue under one temporary directory, and how to run commands on them."""

    root: Path
    queue_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    daemons: list[DaemonProcess] = field(default_factory=list)
    wait_for = staticmethod(lambda *a, **k: wait_for(*a, **k))

    @property
    def storage_url(self) -> str:
        return str(self.root / "crashes")

    def env(self, **overrides: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": os.pathsep.join([str(self.root / "rules"), str(REPO)]),
                "CRASHPROC_STORAGE": self.storage_url,
                "CRASHPROC_QUEUE": self.queue_url,
                "CRASHPROC_EXTRA_RULES": "misbehave.MisbehaveRule",
                "CRASHPROC_STACKWALKER": "none",
                "CRASHPROC_QUEUE_LEASE": "1",
                "CRASHPROC_QUEUE_RETRY_DELAY": "0.2",
                "CRASHPROC_WORKERS": "2",
                "CRASHPROC_DAEMON_LOG_INTERVAL": "0.5",
            }
        )
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def crashes(self, count: int, **annotations: object) -> list[tuple[Path, str]]:
        parent = self.root / "incoming"
        start = len(list(parent.iterdir())) if parent.exists() else 0
        return [make_crash_dir(parent, start + i, **annotations) for i in range(count)]

    def crashproc(self, *argv: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "processor", *argv],
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def submit(self, dirs: list[Path], *flags: str) -> list[str]:
        result = self.crashproc("submit", *flags, *map(str, dirs))
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    def start_daemon(self, *flags: str, verbose: bool = False, **env: str) -> DaemonProcess:
        log = self.root / f"daemon-{time.monotonic_ns()}.log"
        with open(log, "w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "processor", *(["-v"] if verbose else []), "daemon", *flags],
                env=self.env(**env),
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # its own process group: the test can kill it whole
            )
        daemon = DaemonProcess(process, log)
        self.daemons.append(daemon)
        return daemon

    def processed_ids(self) -> list[str]:
        directory = self.root / "crashes" / "v1" / "processed_crash"
        if not directory.is_dir():
            return []
        return sorted(name for name in os.listdir(directory) if not name.startswith("."))


@pytest.fixture
def make_site(tmp_path) -> Iterator[Callable[..., Site]]:
    """Sites whose daemons are all killed at the end of the test, whatever happened."""
    sites: list[Site] = []

    def make(queue_url: str | None = None) -> Site:
        root = tmp_path / f"site{len(sites)}"
        (root / "rules").mkdir(parents=True)
        (root / "rules" / "misbehave.py").write_text(TEST_RULE)
        site = Site(root=root, queue_url=queue_url or f"sqlite:{root / 'queue.sqlite'}")
        sites.append(site)
        return site

    yield make
    # Orphaned workers keep their daemon's process group: killing the group gets them too.
    for site in sites:
        for daemon in site.daemons:
            daemon.kill_group()


@pytest.fixture
def own_redis_server(tmp_path):
    """A redis-server for the test (helper shared with tests/processor/queues, loaded by path)."""
    name = "crashproc_tests_redisserver"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "queues" / "redisserver.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    tools = sys.modules[name]
    server = tools.RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()
