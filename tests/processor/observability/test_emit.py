"""The metric helpers the daemon, stackwalker and symbols code call."""

from __future__ import annotations

import time

import pytest

from processor.observability import emit


@pytest.mark.parametrize("queue", emit.QUEUES)
def test_queue_depth_is_a_gauge_per_queue(checked_metrics, queue):
    emit.record_queue_depth(queue, 42)
    assert checked_metrics.has_record(
        "gauge", "crashproc.processor.queue.depth", value=42, tags=[f"queue:{queue}"]
    )


@pytest.mark.parametrize("stackwalker", emit.STACKWALKERS)
def test_stackwalk_timer_times_the_block(checked_metrics, stackwalker):
    with emit.stackwalk_timer(stackwalker):
        time.sleep(0.02)
    (record,) = checked_metrics.filter_records("timing", "crashproc.processor.stackwalk.timing")
    assert record.tags == [f"stackwalker:{stackwalker}"]
    assert 15 <= record.value < 2000  # milliseconds


def test_stackwalk_timer_records_a_failed_walk_too(checked_metrics):
    with pytest.raises(RuntimeError), emit.stackwalk_timer("external"):
        raise RuntimeError
    assert checked_metrics.has_record("timing", "crashproc.processor.stackwalk.timing")


@pytest.mark.parametrize("outcome", emit.DOWNLOAD_OUTCOMES)
def test_symbol_download_timing_is_in_milliseconds(checked_metrics, outcome):
    emit.record_symbol_download(0.25, outcome)
    assert checked_metrics.has_record(
        "timing",
        "crashproc.processor.symbols.download.timing",
        value=250.0,
        tags=[f"outcome:{outcome}"],
    )


def test_symbol_cache_hits_and_misses(checked_metrics):
    emit.record_symbol_cache(True)
    emit.record_symbol_cache(False)
    emit.record_symbol_cache(False)
    key = "crashproc.processor.symbols.cache"
    assert len(checked_metrics.filter_records("incr", key, tags=["result:hit"])) == 1
    assert len(checked_metrics.filter_records("incr", key, tags=["result:miss"])) == 2


def test_helper_tag_values_are_the_registered_ones(registry):
    # The helpers' documented vocabularies are exactly what the registry allows.
    tags = {
        "crashproc.processor.queue.depth": ("queue", emit.QUEUES),
        "crashproc.processor.stackwalk.timing": ("stackwalker", emit.STACKWALKERS),
        "crashproc.processor.symbols.download.timing": ("outcome", emit.DOWNLOAD_OUTCOMES),
    }
    for name, (tag, values) in tags.items():
        assert registry[name].tags[tag].values == frozenset(values), name
