"""The house stays in order: which package may import which, and no import cycles.

Every import counts, function-local ones included (a cycle hidden inside a function is still
a cycle). Inside ``processor/`` the layers are ordered; a module may import its own layer or
the layers below it, never one above.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("crashproc", "processor", "schemas", "signature", "symbols", "stackwalk", "webstack")

# processor's layers, top first: the command line and services on top, the engine below them,
# then rules, the resources rules are built with, the storage/queue/observability adapters,
# and the base every layer uses.
PROCESSOR_LAYERS = [
    ("entry", ["processor.__main__"]),
    ("cli", ["processor.cli"]),
    ("service", ["processor.service", "processor.collector", "processor.web"]),
    ("reports", ["processor.reports"]),
    ("engine", ["processor.runner", "processor.rulesets", "processor.pipeline"]),
    ("rules", ["processor.rules"]),
    ("resources", ["processor.resources"]),
    ("adapters", ["processor.storage", "processor.queues", "processor.observability"]),
    (
        "base",
        [
            "processor.config",
            "processor.crashid",
            "processor.crashdir",
            "processor.status",
            "processor.metrics",
            "processor.errors",
            "processor",
        ],
    ),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            found[module_name(path)] = path
    return found


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Our modules ``path`` imports (anywhere in it), resolved to known module names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import submodule` imports the submodule (and runs the package's
            # __init__ first, which is not an edge of ours); `from module import name`, the module.
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in known else base)
    resolved = set()
    for target in targets:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            resolved.add(target)
    return resolved


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(path, name, known) for name, path in found.items()}


def layer_of(name: str) -> int:
    """Rank of a processor module's layer (0 = top); the longest matching prefix decides."""
    best, rank = -1, None
    for index, (_, prefixes) in enumerate(PROCESSOR_LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank is not None, f"{name} is in no layer: add it to PROCESSOR_LAYERS"
    return rank


def test_the_base_package_imports_nothing_of_ours():
    graph = import_graph()
    wrong = [
        f"{name} -> {target}"
        for name, targets in graph.items()
        if name.startswith("crashproc")
        for target in targets
        if not target.startswith("crashproc")
    ]
    assert wrong == []


def test_the_web_stack_imports_only_the_base_package():
    """webstack serves the symbols server and the processor's collector alike."""
    graph = import_graph()
    wrong = [
        f"{name} -> {target}"
        for name, targets in graph.items()
        if name.startswith("webstack")
        for target in targets
        if target.split(".")[0] not in ("webstack", "crashproc")
    ]
    assert wrong == []


def test_the_engine_below_never_imports_the_processor():
    graph = import_graph()
    wrong = [
        f"{name} -> {target}"
        for name, targets in graph.items()
        if name.split(".")[0] in ("schemas", "signature", "symbols", "stackwalk")
        for target in targets
        if target.split(".")[0] == "processor"
    ]
    assert wrong == []


def test_processor_layers_only_import_downwards():
    graph = import_graph()
    wrong = []
    for name, targets in graph.items():
        if name.split(".")[0] != "processor":
            continue
        for target in targets:
            if target.split(".")[0] == "processor" and layer_of(target) < layer_of(name):
                up = PROCESSOR_LAYERS[layer_of(target)][0]
                wrong.append(f"{name} -> {target} ({up} is above)")
    assert wrong == []


def test_no_import_cycles():
    graph = import_graph()
    # Tarjan's strongly connected components: any with more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_checks_see_imports():
    """The graph is not empty by accident (a broken parser would pass every check)."""
    graph = import_graph()
    assert "processor.cli.common" in graph["processor.cli.process"]
    assert "processor.config" in graph["processor.cli.common"]
    assert layer_of("processor.cli.process") < layer_of("processor.rules.general")
    edges = defaultdict(int)
    for targets in graph.values():
        for target in targets:
            edges[target.split(".")[0]] += 1
    assert edges["processor"] > 100
