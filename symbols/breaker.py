"""A circuit breaker per symbols server: stop asking a server that does not answer.

Every lookup against a server that never answers costs its whole timeout, for every module of
every crash. After `failures` lookups in a row that got no answer at all (timeouts, refused or
broken connections; an HTTP error is an answer), the server is skipped for `cooldown` seconds.
Then one lookup is let through: an answer closes the breaker, silence opens it again at once.
"""

from __future__ import annotations

import time
from _thread import allocate_lock  # threading.Lock itself, without importing threading
from collections.abc import Callable


class CircuitBreaker:
    def __init__(
        self,
        failures: int = 3,
        cooldown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        on_open: Callable[[str], None] | None = None,
    ) -> None:
        """`on_open(source)` is told each time a source's breaker opens (metrics, logs)."""
        if failures < 1:
            raise ValueError("failures must be at least 1")
        self.failures = failures
        self.cooldown = cooldown
        self.clock = clock
        self.on_open = on_open
        self._silent: dict[str, int] = {}
        self._open_until: dict[str, float] = {}
        self._lock = allocate_lock()

    def cooling(self, source: str) -> float | None:
        """Seconds `source` is still skipped for, or None when it may be asked."""
        with self._lock:
            left = self._open_until.get(source, 0.0) - self.clock()
        return left if left > 0 else None

    def record(self, source: str, silent: bool) -> None:
        """One lookup's result: `silent` when the source gave no answer at all."""
        opened = False
        with self._lock:
            if not silent:
                self._silent.pop(source, None)
                self._open_until.pop(source, None)
                return
            count = self._silent[source] = self._silent.get(source, 0) + 1
            if count >= self.failures:
                self._open_until[source] = self.clock() + self.cooldown
                opened = True
        if opened and self.on_open is not None:
            self.on_open(source)

    def describe(self) -> str:
        return f"{self.failures} lookup(s) in a row got no answer; skipped for {self.cooldown:g} s"
