"""A crashproc daemon run as a subprocess in its own process group, and waiting on a condition.

Shared by the daemon tests (tests/processor/daemon) and the two-host test (tests/multihost).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class DaemonProcess:
    process: subprocess.Popen
    log: Path

    def kill_group(self) -> None:
        """SIGKILL the daemon and its workers together: the machine died."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def kill_main(self) -> None:
        """SIGKILL the daemon process alone: its workers are orphaned."""
        self.process.kill()
        self.process.wait(timeout=30)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def wait(self, timeout: float = 60) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as an operator stops a daemon; its exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text()


def wait_for(condition: Callable[[], object], timeout: float = 60.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")
