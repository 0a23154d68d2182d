"""The one progress bar every long command run draws: tqdm, set up the same way everywhere.

``crashproc reprocess``, ``crashproc report reindex`` and ``symbols index`` show how far they
are, how fast they go and when they will be done. The bar is drawn on stderr only when stderr
is a terminal: in CI logs, pipes and redirected output it writes nothing, so it never mixes
into what a script reads. ``close()`` always draws the final state (``3/3``, the overall rate)
and leaves it on the terminal, however the redraws were throttled.

tqdm does the drawing (rate, ETA, terminal width); this module fixes the conventions, and it
lives in the base package so that ``symbols`` and ``processor`` share it.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import TextIO

from tqdm import tqdm

# At most this often between redraws (close() draws the final state regardless).
REDRAW_SECONDS = 0.1
# The size assumed for a terminal that reports none (0x0: a pseudo-terminal nobody sized, as
# some CI runners and containers allocate); tqdm would draw nothing on it.
UNSIZED_TERMINAL = (80, 24)


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal device (a StringIO or a closed stream is not)."""
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def terminal_size(stream: TextIO) -> tuple[int, int] | None:
    """(columns, lines) of the terminal ``stream`` is, None when it reports no size."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return (size.columns, size.lines) if size.columns > 0 and size.lines > 0 else None


class ProgressBar(tqdm):
    """tqdm without its monitor thread.

    tqdm starts a thread per process to force redraws when its adaptive update interval grows
    too long; our bars check the time on every update instead (``miniters=1``), so commands that
    start worker processes carry no stray thread, and a disabled bar costs nothing.
    """

    monitor_interval = 0


def progress_bar(
    total: int, label: str, unit: str = "it", stream: TextIO | None = None
) -> ProgressBar:
    """A bar for ``total`` items: ``update(n)`` after each n items, ``close()`` at the end.

    Silent (every call a no-op) unless ``stream`` (default: the current ``sys.stderr``) is a
    terminal, and for a single item, where a bar tells nothing.
    """
    stream = stream if stream is not None else sys.stderr
    sized = terminal_size(stream) is not None
    # A sized terminal: follow its width as it is resized; else assume a common size.
    columns, lines = (None, None) if sized else UNSIZED_TERMINAL
    return ProgressBar(
        total=total,
        desc=label,
        unit=unit,
        file=stream,
        disable=total <= 1 or not is_terminal(stream),
        mininterval=REDRAW_SECONDS,
        miniters=1,
        leave=True,
        dynamic_ncols=sized,
        ncols=columns,
        nrows=lines,
    )


class ProgressCallback:
    """A ``progress(done, total)`` callback that draws a bar, for code reporting progress so.

    ``SymbolStore.reindex`` and the report index rebuild take such a callback (they know the
    total only once they have listed their files); the bar is made on the first call. Use it
    as a context manager, or call ``close()``, so the final state is drawn.
    """

    def __init__(self, label: str, unit: str = "it", stream: TextIO | None = None):
        self.label = label
        self.unit = unit
        self.stream = stream
        self.bar: ProgressBar | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = progress_bar(total, self.label, self.unit, self.stream)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> ProgressCallback:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
