"""A small thread-safe in-process cache whose entries expire, bounded in size.

The processor runs rules from several worker threads and keeps them for its whole life, so a
rule that caches lookups needs both a lock and a bound; entries carry their own time to live
so that answers and non-answers can be kept for different lengths of time.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

#: Returned by ``ExpiringCache.lookup`` on a miss; distinct from a cached ``None``.
MISSING = object()


class ExpiringCache:
    """Map keys to values for a limited time, holding at most ``max_size`` entries.

    When full, setting a new key drops the oldest-set entry. Expiry uses the monotonic
    clock, so wall-clock adjustments neither resurrect nor kill entries.
    """

    def __init__(self, max_size: int, default_ttl: float) -> None:
        if max_size <= 0:
            raise ValueError("max_size must be greater than 0")
        if default_ttl <= 0:
            raise ValueError("default_ttl must be greater than 0")
        self.max_size = max_size
        self.default_ttl = default_ttl
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The live value for ``key``, or ``default`` if absent or expired."""
        value = self.lookup(key)
        return default if value is MISSING else value

    def lookup(self, key: Hashable) -> Any:
        """Like ``get`` but returns ``MISSING`` on a miss.

        Lets callers cache ``None`` as a real value (a remembered "no answer").
        """
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return MISSING
            expires, value = entry
            if expires <= time.monotonic():
                del self._data[key]
                return MISSING
            return value

    def set(self, key: Hashable, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (the default TTL when None)."""
        ttl = self.default_ttl if ttl is None else ttl
        with self._lock:
            self._data.pop(key, None)
            self._data[key] = (time.monotonic() + ttl, value)
            while len(self._data) > self.max_size:
                self._data.popitem(last=False)

    def __contains__(self, key: Hashable) -> bool:
        return self.lookup(key) is not MISSING

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
