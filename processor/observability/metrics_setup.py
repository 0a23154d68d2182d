"""Choose where markus sends metrics: once per process, before any work.

markus drops metrics emitted before it is configured, and a forked worker must open its own
statsd socket, so each process that processes crashes (the CLI, every daemon worker) calls
``setup_metrics`` at start-up.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import markus
from markus.filters import AddTagFilter

from processor.config import METRICS_BACKENDS, ConfigError
from processor.observability.registry import RegisteredMetricsFilter

DEFAULT_STATSD_HOST = "localhost"
DEFAULT_STATSD_PORT = 8125

# Backend -> (markus class, the client module it needs, the pip extra that installs it).
_NETWORK_BACKENDS = {
    "statsd": ("markus.backends.statsd.StatsdMetrics", "statsd", "markus[statsd]"),
    "datadog": ("markus.backends.datadog.DatadogMetrics", "datadog", "markus[datadog]"),
}


def metrics_backends(
    backend: str,
    *,
    host: str = DEFAULT_STATSD_HOST,
    port: int = DEFAULT_STATSD_PORT,
    hostname: str | None = None,
) -> list[dict[str, Any]]:
    """The markus backend configuration for ``backend`` (one of METRICS_BACKENDS).

    Every backend checks metrics against the registry (a warning per unknown metric). Datadog
    keeps tags, so it also gets ``host:<hostname>`` to tell machines apart.
    """
    if backend == "none":
        return []
    filters: list[Any] = [RegisteredMetricsFilter()]
    if backend == "logging":
        return [{"class": "markus.backends.logging.LoggingMetrics", "filters": filters}]
    if backend not in _NETWORK_BACKENDS:
        raise ConfigError(
            f"metrics backend must be one of {', '.join(METRICS_BACKENDS)}, not {backend!r}"
        )
    class_path, module, extra = _NETWORK_BACKENDS[backend]
    if importlib.util.find_spec(module) is None:
        raise ConfigError(
            f"the {backend} metrics backend needs the {module!r} package (pip install '{extra}')"
        )
    if backend == "datadog" and hostname:
        filters.append(AddTagFilter(f"host:{hostname}"))
    return [
        {
            "class": class_path,
            "options": {"statsd_host": host, "statsd_port": port},
            "filters": filters,
        }
    ]


# The backends this module configured, so their sockets can be closed (markus keeps no handle).
_active: list[Any] = []


def _remembered(backend_class: Any) -> Any:
    """A markus backend factory that remembers each instance it makes."""

    def make(options: dict[str, Any], filters: list[Any]) -> Any:
        instance = backend_class(options=options, filters=filters)
        _active.append(instance)
        return instance

    return make


def close_metrics() -> None:
    """Stop sending metrics and close the statsd sockets (at exit, or before reconfiguring)."""
    markus.configure([])
    while _active:
        client = getattr(_active.pop(), "client", None)
        close = getattr(client, "close_socket", None) or getattr(client, "close", None)
        if close is not None:
            close()


def setup_metrics(
    backend: str,
    *,
    host: str = DEFAULT_STATSD_HOST,
    port: int = DEFAULT_STATSD_PORT,
    hostname: str | None = None,
) -> None:
    """Configure markus for this process; raises ConfigError for an unusable setting.

    Calling it again replaces the previous configuration (and closes its sockets).
    """
    config = metrics_backends(backend, host=host, port=port, hostname=hostname)
    close_metrics()
    for entry in config:
        module, _, name = entry["class"].rpartition(".")
        entry["class"] = _remembered(getattr(importlib.import_module(module), name))
    try:
        markus.configure(config, raise_errors=True)
    except Exception as exc:
        # Only settings are involved here (no crash data), so the message can be shown.
        raise ConfigError(f"cannot set up the {backend} metrics backend: {exc}") from exc
