"""The shape of the code, checked from its source: imports point one way, the way a sample flows (cli →
commands → experiments → engine/train → reports → tracking → config → methods → scoring → data →
options/formatting/console → errors; iph/, baselines/ and studies/ import no harness code), no import cycle
between packages or between modules, the models are plain PyTorch, no module over 400 lines. The graph is read
with `ast` from every file: imports inside functions and under TYPE_CHECKING count like any other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "iph", "baselines", "studies", "reports")

# Each unit may import units of its own rank or lower only. A unit is a top-level package, or for harness/ its
# sub-package or top-level module.
LAYERS = [
    {"harness.errors"},
    # how options become flags, how numbers are written, where output goes, Ray on a laptop or a cluster
    # storage: a location (folder, s3://, gs://) as a pyarrow filesystem and path
    {"harness.options", "harness.formatting", "harness.console", "harness.cluster", "harness.storage"},
    {"harness.data"},
    {"harness.scoring"},
    {"harness.methods"},
    {"harness.config"},  # the command configs: option groups + names from data, scoring, methods, studies
    {"harness.tracking"},  # MLflow: at the end of the pipeline; nothing below it knows where runs are stored
    {"reports"},  # reads finished runs back; the commands call it once a tracker has finished
    # user_study: the study builder collect-votes calls (reads data, method labels, MLflow runs)
    {"harness.engine", "harness.train", "harness.user_study"},
    {"harness.experiments"},  # run-ablation / sweep: trains (train) and evaluates (engine) each trial
    {"harness.commands"},
    {"harness.cli"},
]
STANDALONE = {"iph", "baselines", "studies"}  # import no harness code


def _files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every name imported anywhere in the file — at the top, inside functions, under TYPE_CHECKING — with
    `from pkg import name` also giving `pkg.name` (which is the module imported when `name` is a module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source:
                out.add(source)
                out.update(f"{source}.{a.name}" for a in node.names)
    return out


def _module_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports (an imported name that is not a module counts as its module)."""
    modules = {_module(p) for p in _files()}
    edges: dict[str, set[str]] = {}
    for path in _files():
        src = _module(path)
        for name in _imports(path):
            parts = name.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            target = ".".join(parts)
            if target and target != src and not src.startswith(target + "."):  # a package's own __init__
                edges.setdefault(src, set()).add(target)
    return edges


def _unit(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "harness" and len(parts) > 1 else parts[0]


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in _files():
        src = _unit(_module(path))
        for name in _imports(path):
            if name.split(".")[0] in PACKAGES and _unit(name) != src:
                edges.setdefault(src, set()).add(_unit(name))
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_the_graph_finds_real_edges():
    """Guard against a vacuous pass: known imports are in the graph."""
    edges = _graph()
    assert "harness.methods" in edges["harness.engine"]
    assert "iph" in edges["baselines"]  # the shared layers
    assert "harness.data" in edges["harness.scoring"]


def test_no_import_cycle_between_packages():
    assert _cycles(_graph()) == []


def test_no_import_cycle_between_modules():
    """Inside a package too, counting imports inside functions: a lazy import that closes a cycle is still a
    cycle (it only moves the failure from import time to the first call)."""
    assert _cycles(_module_graph()) == []


def test_module_graph_sees_imports_inside_functions():
    edges = _module_graph()
    assert "harness.data.relight" in edges["harness.data.references"]  # a top-level import
    assert "harness.engine.tiles" in edges["harness.engine.benchmark"]  # an import inside a function


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_point_down_the_layers():
    rank = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}
    edges = _graph()
    units = {u for u in edges} | {w for ws in edges.values() for w in ws}
    unknown = sorted(u for u in units if u.startswith("harness.") and u not in rank)
    assert not unknown, f"add these to LAYERS: {unknown}"
    upward = sorted(f"{a} → {b}" for a, bs in edges.items() if a in rank for b in bs
                    if b in rank and rank[b] > rank[a])
    assert not upward, upward
    for a in STANDALONE:
        assert not {b for b in edges.get(a, ()) if b.startswith("harness")}, f"{a} imports harness"
    assert edges.get("iph", set()) == set() and edges.get("studies", set()) == set()
    assert edges.get("baselines", set()) <= {"iph"}
    # reports reads runs; it never imports what makes them (engine, train, experiments)
    assert edges.get("reports", set()) <= {"harness.errors", "harness.formatting", "harness.scoring",
                                           "harness.tracking"}
    assert "harness.tracking" not in edges.get("harness.methods", set())  # the models:/ resolver is passed in


@pytest.mark.parametrize("package", ["iph", "baselines"])
def test_models_are_plain_pytorch(package):
    """iph/ and baselines/ import the standard library and torch (safetensors-free, no numpy, Ray, MLflow)."""
    import sys

    third_party = set()
    for path in (ROOT / package).rglob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in PACKAGES and top != "__future__":
                third_party.add(top)
    assert third_party <= {"torch"}, third_party


def test_no_module_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in _files() if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long
