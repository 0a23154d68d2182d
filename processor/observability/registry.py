"""The metrics registry: every metric name crashproc emits, its type and its tags.

Dashboards and alerts are built on metric names; a renamed or misspelt metric silently stops a
graph. The registry makes the names a reviewed list: tests fail on a metric that is not in it,
and in production ``RegisteredMetricsFilter`` logs one warning per unknown metric.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from markus.main import MetricsFilter, MetricsRecord

from crashproc import yamlfile

logger = logging.getLogger(__name__)

REGISTRY_FILE = Path(__file__).resolve().parent.parent / "metrics.yaml"
METRIC_PREFIX = "crashproc."
METRIC_TYPES = ("incr", "gauge", "timing", "histogram")


class RegistryError(ValueError):
    """The registry file is unreadable or an entry is malformed; the message names it."""


class UnregisteredMetric(AssertionError):
    """A metric was emitted that the registry does not allow (raised in strict mode only)."""


@dataclass(frozen=True)
class TagSpec:
    description: str
    # None: any value is allowed (rule names, exit codes, ...).
    values: frozenset[str] | None = None


@dataclass(frozen=True)
class MetricSpec:
    name: str
    type: str
    description: str
    tags: Mapping[str, TagSpec]


def _tag_spec(metric: str, name: Any, entry: Any) -> TagSpec:
    where = f"metric {metric!r} tag {name!r}"
    if not isinstance(name, str) or not name:
        raise RegistryError(f"metric {metric!r}: tag names must be non-empty strings")
    if not isinstance(entry, dict) or not isinstance(entry.get("description"), str):
        raise RegistryError(f"{where}: needs a description")
    unknown = set(entry) - {"description", "values"}
    if unknown:
        raise RegistryError(f"{where}: unknown keys {sorted(unknown)}")
    values = entry.get("values")
    if values is None:
        return TagSpec(entry["description"].strip())
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise RegistryError(f"{where}: values must be a non-empty list of strings")
    return TagSpec(entry["description"].strip(), frozenset(values))


def _metric_spec(name: Any, entry: Any) -> MetricSpec:
    if not isinstance(name, str) or not name.startswith(METRIC_PREFIX):
        raise RegistryError(f"metric {name!r}: names start with {METRIC_PREFIX!r}")
    if not isinstance(entry, dict):
        raise RegistryError(f"metric {name!r}: expected a mapping")
    unknown = set(entry) - {"type", "description", "tags"}
    if unknown:
        raise RegistryError(f"metric {name!r}: unknown keys {sorted(unknown)}")
    if entry.get("type") not in METRIC_TYPES:
        raise RegistryError(f"metric {name!r}: type must be one of {', '.join(METRIC_TYPES)}")
    description = entry.get("description")
    if not isinstance(description, str) or not description.strip():
        raise RegistryError(f"metric {name!r}: needs a description")
    tags = entry.get("tags") or {}
    if not isinstance(tags, dict):
        raise RegistryError(f"metric {name!r}: tags must be a mapping")
    return MetricSpec(
        name=name,
        type=entry["type"],
        description=description.strip(),
        tags={tag: _tag_spec(name, tag, spec) for tag, spec in tags.items()},
    )


def parse_registry(document: Any) -> dict[str, MetricSpec]:
    if not isinstance(document, dict):
        raise RegistryError("the metrics registry must be a mapping of metric names")
    return {name: _metric_spec(name, entry) for name, entry in document.items()}


@functools.cache
def _load_cached(path: str) -> dict[str, MetricSpec]:
    try:
        document = yamlfile.load(path)
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"cannot read the metrics registry {path}: {exc}") from exc
    return parse_registry(document)


def load_registry(path: str | Path | None = None) -> dict[str, MetricSpec]:
    """The registry (name -> spec), read once per file."""
    return _load_cached(str(Path(path or REGISTRY_FILE).resolve()))


def record_problems(
    registry: Mapping[str, MetricSpec], stat_type: str, name: str, tags: list[str] | None
) -> list[str]:
    """Why an emitted metric is not allowed by the registry (empty when it is)."""
    spec = registry.get(name)
    if spec is None:
        return [f"{name}: not in the metrics registry"]
    problems = []
    if stat_type != spec.type:
        problems.append(f"{name}: emitted as {stat_type}, registered as {spec.type}")
    for tag in tags or []:
        key, _, value = tag.partition(":")
        tag_spec = spec.tags.get(key)
        if tag_spec is None:
            problems.append(f"{name}: tag {key!r} is not registered")
        elif tag_spec.values is not None and value not in tag_spec.values:
            problems.append(f"{name}: tag {key!r} value {value!r} is not registered")
    return problems


class RegisteredMetricsFilter(MetricsFilter):
    """A markus filter that checks every metric against the registry.

    ``strict`` raises ``UnregisteredMetric`` (tests and development); otherwise each distinct
    problem is logged once and the metric still goes out, since losing a measurement in
    production helps nobody.
    """

    def __init__(self, registry: Mapping[str, MetricSpec] | None = None, strict: bool = False):
        self.registry = registry if registry is not None else load_registry()
        self.strict = strict
        self._warned: set[str] = set()

    def filter(self, record: MetricsRecord) -> MetricsRecord:
        problems = record_problems(self.registry, record.stat_type, record.key, record.tags)
        if problems and self.strict:
            raise UnregisteredMetric("; ".join(problems))
        for problem in problems:
            if problem not in self._warned:
                self._warned.add(problem)
                logger.warning("metrics registry: %s", problem)
        return record
