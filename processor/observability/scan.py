"""Find every metric the source code can emit, without running it.

Running the samples exercises only the metrics those crashes reach; a metric on a rare error
path would escape the registry until production. Reading the source finds them all, provided
names are literals: a computed name is reported as a problem, because no check can see it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# METRICS method -> the markus record type it emits.
EMITTERS = {
    "incr": "incr",
    "gauge": "gauge",
    "timing": "timing",
    "timer": "timing",
    "timer_decorator": "timing",
    "histogram": "histogram",
}
METRICS_NAME = "METRICS"


@dataclass(frozen=True)
class MetricCall:
    """One ``METRICS.<kind>(...)`` call in the source."""

    path: str
    line: int
    stat_type: str
    # The name as written (without the "crashproc." prefix); None when it is not a literal.
    name: str | None
    # Tag names given as literals or f-strings with a literal "key:" start; None if unknown.
    tag_keys: tuple[str, ...] | None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _tag_key(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif (
        isinstance(node, ast.JoinedStr)
        and node.values
        and isinstance(node.values[0], ast.Constant)
        and isinstance(node.values[0].value, str)
    ):
        text = node.values[0].value
    else:
        return None
    key, colon, _ = text.partition(":")
    return key if colon else None


def _tag_keys(call: ast.Call) -> tuple[str, ...] | None:
    tags = next((kw.value for kw in call.keywords if kw.arg == "tags"), None)
    if tags is None or (isinstance(tags, ast.Constant) and tags.value is None):
        return ()
    if not isinstance(tags, ast.List | ast.Tuple):
        return None
    keys = [_tag_key(element) for element in tags.elts]
    return None if any(key is None for key in keys) else tuple(k for k in keys if k is not None)


def _name(call: ast.Call) -> str | None:
    node = call.args[0] if call.args else None
    node = next((kw.value for kw in call.keywords if kw.arg == "stat"), node)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def scan_source(source: str, path: str) -> Iterator[MetricCall]:
    """The metric calls in one module's source."""
    for node in ast.walk(ast.parse(source, filename=path)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        target = node.func.value
        if not (isinstance(target, ast.Name) and target.id == METRICS_NAME):
            continue
        if node.func.attr not in EMITTERS:
            continue
        yield MetricCall(
            path=path,
            line=node.lineno,
            stat_type=EMITTERS[node.func.attr],
            name=_name(node),
            tag_keys=_tag_keys(node),
        )


def other_metrics_interfaces(source: str) -> list[int]:
    """Lines calling ``get_metrics``: metrics emitted through another interface escape the scan."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == "get_metrics")
            or (isinstance(node.func, ast.Name) and node.func.id == "get_metrics")
        )
    ]


def package_dirs(repo: Path) -> list[Path]:
    """The repository's top-level Python packages (tests excluded): where metrics come from."""
    return sorted(
        path
        for path in repo.iterdir()
        if path.is_dir() and (path / "__init__.py").is_file() and path.name != "tests"
    )


def python_files(roots: Iterable[Path]) -> Iterator[Path]:
    for root in roots:
        yield from sorted(root.rglob("*.py"))
