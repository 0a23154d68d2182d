"""The metrics registry: its file, the filter, and every emitted metric being registered."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import markus
import pytest
import yaml
from markus.testing import MetricsMock

from processor.metrics import METRICS
from processor.observability.registry import (
    METRIC_PREFIX,
    RegisteredMetricsFilter,
    RegistryError,
    UnregisteredMetric,
    load_registry,
    parse_registry,
)
from processor.observability.scan import (
    other_metrics_interfaces,
    package_dirs,
    python_files,
    scan_source,
)
from tests.processor.observability.conftest import REPO, registry_problems

# -- the registry file ---------------------------------------------------------------------


def test_registry_file_describes_every_metric(registry):
    assert len(registry) >= 15
    for spec in registry.values():
        assert spec.name.startswith(METRIC_PREFIX)
        assert len(spec.description) > 20, spec.name
        for tag in spec.tags.values():
            assert tag.description


def test_the_metrics_interface_prefix_is_the_registry_prefix():
    assert METRICS.prefix + "." == METRIC_PREFIX


def _entry(**overrides):
    entry = {"type": "incr", "description": "A count of things."}
    entry.update(overrides)
    return entry


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be a mapping"),
        ({"other.thing": _entry()}, "names start with 'crashproc.'"),
        ({"crashproc.x": "incr"}, "expected a mapping"),
        ({"crashproc.x": _entry(type="counter")}, "type must be one of"),
        ({"crashproc.x": _entry(description=" ")}, "needs a description"),
        ({"crashproc.x": _entry(unit="ms")}, "unknown keys ['unit']"),
        ({"crashproc.x": _entry(tags=["queue"])}, "tags must be a mapping"),
        ({"crashproc.x": _entry(tags={"queue": {}})}, "tag 'queue': needs a description"),
        (
            {"crashproc.x": _entry(tags={"queue": {"description": "q", "values": "a"}})},
            "values must be a non-empty list of strings",
        ),
    ],
)
def test_malformed_registry_entries_are_named(document, message):
    with pytest.raises(RegistryError) as excinfo:
        parse_registry(document)
    assert message in str(excinfo.value)


def test_unreadable_registry_file_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "metrics.yaml"
    path.write_text("crashproc.x: [unclosed\n")
    with pytest.raises(RegistryError, match="cannot read the metrics registry"):
        load_registry(path)
    with pytest.raises(RegistryError, match="cannot read the metrics registry"):
        load_registry(tmp_path / "missing.yaml")


def test_a_registry_file_is_read(tmp_path: Path):
    path = tmp_path / "metrics.yaml"
    path.write_text(yaml.safe_dump({"crashproc.x": _entry(tags={"k": {"description": "d"}})}))
    spec = load_registry(path)["crashproc.x"]
    assert (spec.type, spec.tags["k"].values) == ("incr", None)


# -- the filter ----------------------------------------------------------------------------


def _emit_through(metrics_filter: RegisteredMetricsFilter, emit) -> MetricsMock:
    metrics = markus.get_metrics("crashproc", filters=[metrics_filter])
    with MetricsMock() as mock:
        emit(metrics)
    return mock


@pytest.mark.parametrize(
    ("emit", "problem"),
    [
        (lambda m: m.incr("processor.nonesuch"), "not in the metrics registry"),
        (lambda m: m.gauge("processor.denullrule.has_nulls", 3), "emitted as gauge"),
        (
            lambda m: m.incr("processor.symbols.cache", tags=["result:hit", "colour:blue"]),
            "tag 'colour' is not registered",
        ),
        (
            lambda m: m.incr("processor.symbols.cache", tags=["result:maybe"]),
            "tag 'result' value 'maybe' is not registered",
        ),
    ],
)
def test_strict_filter_refuses_what_the_registry_does_not_allow(emit, problem):
    with pytest.raises(UnregisteredMetric, match=problem):
        _emit_through(RegisteredMetricsFilter(strict=True), emit)


def test_strict_filter_lets_registered_metrics_through():
    mock = _emit_through(
        RegisteredMetricsFilter(strict=True),
        lambda m: m.incr("processor.symbols.cache", tags=["result:hit"]),
    )
    assert mock.has_record("incr", "crashproc.processor.symbols.cache", tags=["result:hit"])


def test_lenient_filter_warns_once_per_problem_and_keeps_the_metric(caplog):
    def emit(metrics):
        for _ in range(3):
            metrics.incr("processor.nonesuch")

    with caplog.at_level(logging.WARNING, logger="processor.observability.registry"):
        mock = _emit_through(RegisteredMetricsFilter(), emit)
    assert len(mock.filter_records("incr", "crashproc.processor.nonesuch")) == 3
    assert [r.getMessage() for r in caplog.records] == [
        "metrics registry: crashproc.processor.nonesuch: not in the metrics registry"
    ]


# -- what the code emits at run time -------------------------------------------------------


def test_sample_crashes_emit_per_crash_and_per_rule_timings(sample_run_metrics):
    keys = {(r.stat_type, r.key) for r in sample_run_metrics}
    assert ("timing", "crashproc.processor.process_crash") in keys
    assert ("timing", "crashproc.processor.rule.act.timing") in keys
    crashes = [r for r in sample_run_metrics if r.key == "crashproc.processor.process_crash"]
    assert len(crashes) == len(list((REPO / "examples" / "crashes").glob("*/raw_crash.json")))


def test_every_metric_the_sample_crashes_emit_is_registered(registry, sample_run_metrics):
    assert registry_problems(registry, sample_run_metrics) == []


def test_every_metric_a_real_stackwalk_emits_is_registered(registry, walked_run_metrics):
    assert any(r.key == "crashproc.processor.minidumpstackwalk.run" for r in walked_run_metrics)
    assert registry_problems(registry, walked_run_metrics) == []


def test_registry_check_catches_an_unregistered_runtime_metric(registry, sample_run_metrics):
    # The check above can fail: the same records against a registry missing one metric.
    smaller = {k: v for k, v in registry.items() if k != "crashproc.processor.process_crash"}
    problems = registry_problems(smaller, sample_run_metrics)
    assert problems == ["crashproc.processor.process_crash: not in the metrics registry"]


# -- what the code can emit (static) -------------------------------------------------------


@functools.cache
def _source_calls() -> tuple[list, list]:
    calls, interfaces = [], []
    for path in python_files(package_dirs(REPO)):
        source = path.read_text(encoding="utf-8")
        relative = str(path.relative_to(REPO))
        calls.extend(scan_source(source, relative))
        if relative != "crashproc/metrics.py":
            interfaces.extend(f"{relative}:{line}" for line in other_metrics_interfaces(source))
    return calls, interfaces


def test_every_metric_in_the_source_is_a_registered_literal(registry):
    calls, interfaces = _source_calls()
    assert len(calls) >= 10
    assert interfaces == [], "emit through crashproc.metrics.METRICS so the scan sees it"
    problems = []
    for call in calls:
        if call.name is None:
            problems.append(f"{call.where}: the metric name is not a string literal")
            continue
        spec = registry.get(METRIC_PREFIX + call.name)
        if spec is None:
            problems.append(f"{call.where}: {call.name} is not registered")
        elif spec.type != call.stat_type:
            problems.append(f"{call.where}: {call.name} is a {spec.type}, not {call.stat_type}")
        elif call.tag_keys is not None and not set(call.tag_keys) <= set(spec.tags):
            problems.append(f"{call.where}: {call.name} tags {call.tag_keys} not registered")
    assert problems == []


def test_every_registered_metric_is_emitted_somewhere(registry):
    calls, _ = _source_calls()
    emitted = {METRIC_PREFIX + call.name for call in calls if call.name}
    assert sorted(set(registry) - emitted) == [], "registered but never emitted: remove them"


def test_scan_reads_multiline_calls_tags_and_flags_computed_names():
    source = (
        "from processor.metrics import METRICS\n"
        "def f(name, n):\n"
        "    METRICS.incr(\n"
        '        "a.run",\n'
        '        tags=[f"outcome:{n}", "exitcode:0"],\n'
        "    )\n"
        '    with METRICS.timer("a.timing"):\n'
        "        METRICS.gauge(name, n)\n"
        '    METRICS.histogram(stat="a.size", value=n, tags=some_tags)\n'
        '    other.incr("not.ours")\n'
        "    markus.get_metrics('x')\n"
    )
    calls = [(c.line, c.stat_type, c.name, c.tag_keys) for c in scan_source(source, "m.py")]
    assert sorted(calls) == [
        (3, "incr", "a.run", ("outcome", "exitcode")),
        (7, "timing", "a.timing", ()),
        (8, "gauge", None, ()),
        (9, "histogram", "a.size", None),
    ]
    assert other_metrics_interfaces(source) == [11]
