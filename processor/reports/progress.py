"""A one-line progress bar for long commands, drawn only for a person watching a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
INTERVAL = 0.1  # seconds between redraws: redrawing per item would cost more than the work


class ProgressBar:
    """``bar(done, total)`` redraws ``label [#####.....] 45% 450/1000`` on ``stream``.

    Does nothing when the stream is not a terminal (logs and pipes get the final count only).
    """

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < INTERVAL:
            return
        self._last = now
        self.stream.write("\r" + render_bar(self.label, done, total))
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """End the bar's line so the next output starts on a fresh one."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def render_bar(label: str, done: int, total: int) -> str:
    fraction = done / total if total else 1.0
    filled = round(WIDTH * fraction)
    return f"{label} [{'#' * filled}{'.' * (WIDTH - filled)}] {fraction:4.0%} {done}/{total}"
