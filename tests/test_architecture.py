"""The tree shows the pipeline: imports run one way (cli -> evaluate -> pipeline -> config -> stage
packages -> leaves) and no module imports another that imports it back (docs/architecture.md).

Read from the source with ``ast``, so imports inside functions and under ``TYPE_CHECKING`` count too:
a lazy import hides a cycle from Python, not from a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "detector"
LEAVES = {"errors", "params", "times", "io", "faults", "parallel", "languages", "limits", "engine_options"}
LEAVES |= {"resources"}  # the packaged files (detector/packaged/)
STAGES = {
    "sources",
    "store",
    "embed",
    "index",
    "narratives",
    "scoring",
    "themes",
    "report",
    "watch",
    "verdicts",
}
# Layer of each top-level part of the package: a module may import only its own layer or lower ones.
# The config is derived from the stage constructors (and the leaf parameter tables of the memory
# guard and the engines), so it sits above the stages and below the pipeline that reads it.
LAYER = {
    **dict.fromkeys(LEAVES, 0),
    **dict.fromkeys(STAGES, 1),
    "config": 2,
    "pipeline": 3,
    "evaluate": 4,
    "cli": 5,
}
LAYER_NAMES = ["leaves", "stage packages", "config", "pipeline", "evaluate", "cli"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The detector modules ``name`` imports (``from detector.x import y`` counts ``detector.x.y``
    when that is a module, else ``detector.x``)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return {m for m in found if m in MODULES and m != name}


GRAPH = nx.DiGraph([(m, i) for m in MODULES for i in imports_of(m)])
GRAPH.add_nodes_from(MODULES)


def part(name: str) -> str:
    """``detector.scoring.score`` -> ``scoring``; the package itself and ``__main__`` sit with cli."""
    parts = name.split(".")
    return "cli" if len(parts) == 1 or parts[1] == "__main__" else parts[1]


def test_every_part_of_the_package_has_a_layer() -> None:
    assert {part(m) for m in MODULES} <= set(LAYER)
    assert not [m for m in MODULES if m.startswith("pipelines")]


def test_no_import_cycle_between_modules() -> None:
    assert list(nx.simple_cycles(GRAPH)) == []


def test_no_import_cycle_between_stage_packages() -> None:
    packages = nx.DiGraph(
        (part(a), part(b)) for a, b in GRAPH.edges if part(a) != part(b) and part(a) in STAGES
    )
    assert list(nx.simple_cycles(packages)) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_run_one_way(name: str) -> None:
    upward = sorted(
        f"{i} ({LAYER_NAMES[LAYER[part(i)]]})"
        for i in GRAPH.successors(name)
        if LAYER[part(i)] > LAYER[part(name)]
    )
    assert upward == [], f"{name} ({LAYER_NAMES[LAYER[part(name)]]}) imports a higher layer"


def test_every_layer_holds_parts_no_other_layer_holds() -> None:
    """No two of config, pipeline, evaluate and cli share a layer: between them every arrow is
    either down (allowed) or up (refused by test_imports_run_one_way), none sideways."""
    upper = ["config", "pipeline", "evaluate", "cli"]
    assert sorted(LAYER[p] for p in upper) == list(range(2, 6))
    assert not [m for m in GRAPH.successors("detector.config") if part(m) in upper]


def test_nothing_in_the_package_imports_the_job_scripts() -> None:
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in modules if m.split(".")[0] == "pipelines"}, name


def test_the_graph_sees_lazy_imports() -> None:
    """The test itself: an import inside a function body counts (the cli imports the pipeline so)."""
    assert "detector.pipeline.daily" in GRAPH.successors("detector.cli.daily")
