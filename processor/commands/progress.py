"""A progress bar on stderr for long command runs, drawn only when stderr is a terminal."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

WIDTH = 30
REDRAW_SECONDS = 0.1


def is_terminal(stream: TextIO) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False


class Progress:
    """``advance()`` once per item; ``close()`` clears the bar. Silent unless on a terminal."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None):
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = total > 1 and is_terminal(self.stream)
        self.done = 0
        self.started = time.monotonic()
        self._drawn = 0.0

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and (now - self._drawn >= REDRAW_SECONDS or self.done >= self.total):
            self._drawn = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self.started, 1e-9)
        share = self.done / self.total if self.total else 1.0
        filled = int(WIDTH * share)
        rate = self.done / elapsed
        remaining = (self.total - self.done) / rate if rate > 0 else 0.0
        minutes, seconds = divmod(int(remaining), 60)
        return (
            f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {self.done}/{self.total}"
            f" {rate:.1f}/s eta {minutes}:{seconds:02d}"
        )

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()
