"""Fixtures for the observability tests: recorded metrics of real pipeline runs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from markus.main import MetricsRecord
from markus.testing import MetricsMock

from processor.config import Settings
from processor.crashdir import load_crash_dir
from processor.observability.metrics_setup import close_metrics
from processor.observability.registry import MetricSpec, load_registry, record_problems
from processor.runner import CrashProcessor

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "examples" / "crashes"
SAMPLE_DIRS = sorted(p for p in SAMPLES.iterdir() if (p / "raw_crash.json").is_file())


def registry_problems(registry: dict[str, MetricSpec], records: list[MetricsRecord]) -> list[str]:
    """Every way ``records`` break the registry (one line per problem, duplicates merged)."""
    return sorted(
        {
            problem
            for record in records
            for problem in record_problems(registry, record.stat_type, record.key, record.tags)
        }
    )


@pytest.fixture(scope="session")
def registry() -> dict[str, MetricSpec]:
    return load_registry()


@pytest.fixture
def checked_metrics(registry: dict[str, MetricSpec]) -> Iterator[MetricsMock]:
    """Records the test's metrics and fails it if any of them is not registered as emitted."""
    with MetricsMock() as mock:
        yield mock
    assert registry_problems(registry, mock.get_records()) == []


@pytest.fixture
def markus_reset() -> Iterator[None]:
    """For tests that configure markus for real: the suite runs with no backends."""
    yield
    close_metrics()


def _recorded_run(settings: Settings, crash_dirs: list[Path]) -> list[MetricsRecord]:
    processor = CrashProcessor(settings)
    with MetricsMock() as mock:
        for directory in crash_dirs:
            processor.process(load_crash_dir(directory))
        processor.close()
    return mock.get_records()


@pytest.fixture(scope="module")
def sample_run_metrics() -> list[MetricsRecord]:
    """Metrics recorded while the default ruleset processes every sample crash."""
    return _recorded_run(Settings(stackwalker="none"), SAMPLE_DIRS)


@pytest.fixture
def walked_run_metrics(
    tmp_path: Path, peer_stackwalker: Path, testdata_dir: Path
) -> list[MetricsRecord]:
    """Metrics recorded while the peer stackwalker walks a sample (its stored output removed)."""
    crash_dir = tmp_path / "crash"
    shutil.copytree(SAMPLES / "windows-x86-test-app", crash_dir)
    (crash_dir / "upload_file_minidump.json").unlink()
    settings = Settings(
        stackwalker="external",
        stackwalker_command=str(peer_stackwalker),
        symbols_paths=[str(testdata_dir / "symbols")],
    )
    return _recorded_run(settings, [crash_dir])
