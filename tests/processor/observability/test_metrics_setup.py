"""Choosing the markus backend: logging, statsd and datadog for real (UDP on 127.0.0.1)."""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
from collections.abc import Iterator

import pytest

from processor.config import ConfigError
from processor.metrics import METRICS
from processor.observability import metrics_setup
from processor.observability.metrics_setup import metrics_backends, setup_metrics
from tests.conftest import import_or_missing


@pytest.fixture
def udp_listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def _packets(sock: socket.socket, count: int) -> list[str]:
    return [sock.recv(4096).decode().strip() for _ in range(count)]


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_none_configures_no_backend(markus_reset):
    assert metrics_backends("none") == []
    setup_metrics("none")


def test_logging_backend_logs_registered_metrics(markus_reset, caplog):
    setup_metrics("logging")
    with caplog.at_level(logging.INFO, logger="markus"):
        METRICS.incr("processor.symbols.cache", tags=["result:hit"])
    assert any(
        "crashproc.processor.symbols.cache" in r.getMessage() and "result:hit" in r.getMessage()
        for r in caplog.records
    )


def test_every_backend_warns_about_unregistered_metrics(markus_reset, caplog):
    setup_metrics("logging")
    with caplog.at_level(logging.WARNING, logger="processor.observability.registry"):
        METRICS.incr("processor.not_in_the_registry")
    assert "crashproc.processor.not_in_the_registry: not in the metrics registry" in caplog.text


def test_statsd_backend_sends_udp(markus_reset, udp_listener):
    import_or_missing("statsd", "the statsd backend's client (markus[statsd])")
    host, port = udp_listener.getsockname()
    setup_metrics("statsd", host=host, port=port, hostname="worker-1")
    METRICS.incr("processor.symbols.cache", tags=["result:hit"])
    METRICS.gauge("processor.queue.depth", 7, tags=["queue:standard"])
    # statsd has no tags: markus drops them.
    assert _packets(udp_listener, 2) == [
        "crashproc.processor.symbols.cache:1|c",
        "crashproc.processor.queue.depth:7|g",
    ]


def test_datadog_backend_sends_tags_and_the_host(markus_reset, udp_listener):
    import_or_missing("datadog", "the datadog backend's client (markus[datadog])")
    host, port = udp_listener.getsockname()
    setup_metrics("datadog", host=host, port=port, hostname="worker-1")
    METRICS.gauge("processor.queue.depth", 7, tags=["queue:priority"])
    (packet,) = _packets(udp_listener, 1)
    assert packet.startswith("crashproc.processor.queue.depth:7|g|#")
    assert set(packet.split("|#")[1].split(",")) == {"queue:priority", "host:worker-1"}


def test_unknown_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="must be one of none, logging, statsd, datadog"):
        setup_metrics("prometheus")


def test_missing_client_package_is_a_config_error(monkeypatch):
    # The packages cannot be uninstalled here, so their absence is simulated.
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        metrics_setup.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "statsd" else real_find_spec(name, *a),
    )
    with pytest.raises(ConfigError, match=r"needs the 'statsd' package \(pip install"):
        setup_metrics("statsd")


def test_unresolvable_statsd_host_is_a_config_error(markus_reset):
    import_or_missing("statsd", "the statsd backend's client (markus[statsd])")
    with pytest.raises(ConfigError, match="cannot set up the statsd metrics backend"):
        setup_metrics("statsd", host="no-such-host.invalid", port=8125)


def test_reconfiguring_moves_metrics_and_closes_the_old_socket(markus_reset, udp_listener):
    import_or_missing("statsd", "the statsd backend's client (markus[statsd])")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
        second.bind(("127.0.0.1", 0))
        second.settimeout(5)
        open_before = _open_files()
        setup_metrics("statsd", host="127.0.0.1", port=udp_listener.getsockname()[1])
        setup_metrics("statsd", host="127.0.0.1", port=second.getsockname()[1])
        assert _open_files() == open_before + 1  # the first backend's socket was closed
        METRICS.incr("processor.denullrule.has_nulls")
        assert _packets(second, 1) == ["crashproc.processor.denullrule.has_nulls:1|c"]
    udp_listener.settimeout(0.2)
    with pytest.raises(TimeoutError):
        udp_listener.recv(4096)
